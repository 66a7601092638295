// The OpenAPI document: docs/openapi.json is what BuildOpenApi() builds; the route table it is
// built from is exactly what the route groups register; the document is well formed (OpenAPI
// 3.0.3: every $ref resolves, every path parameter is declared, operation ids are unique).

#include "connectors/api/openapi.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <sstream>

#include "aggregates/command.h"
#include "connectors/api/daemon.h"
#include "connectors/api/feed_routes.h"
#include "connectors/api/query_routes.h"
#include "connectors/health_secrets.h"
#include "projections/queries.h"
#include "tests/support/subprocess.h"

namespace cpts::api {
namespace {

using json = ::cpts::Json;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(OpenApi, DocsOpenApiJsonIsTheBuiltDocument) {
  const std::string committed = ReadFile(std::string(CPTS_SOURCE_DIR) + "/docs/openapi.json");
  const std::string built = OpenApiText();
  if (committed != built) {
    const std::string fresh = std::string(CPTS_BINARY_DIR) + "/openapi.json";
    std::ofstream(fresh, std::ios::binary) << built;
    FAIL() << "docs/openapi.json is not the document the code builds. Regenerate it:\n  cp "
           << fresh << " " << CPTS_SOURCE_DIR << "/docs/openapi.json";
  }
}

// Route() refuses a method and pattern the server already has: so a route the table lists
// and Route() refuses is registered.
bool Registered(HttpServer& server, const RouteDoc& route) {
  return !server
              .Route(route.method, route.pattern,
                     [](const Request&) { return Response::NoContent(); })
              .ok();
}

TEST(OpenApi, TheQueryAndFeedGroupsRegisterEveryRouteOfTheirTable) {
  ApiContext context;  // registration reads none of it
  const std::vector<std::pair<RouteGroup, std::function<Status(HttpServer&)>>> groups = {
      {RouteGroup::kQueries, [&](HttpServer& s) { return RegisterQueryRoutes(s, context); }},
      {RouteGroup::kFeed, [&](HttpServer& s) { return RegisterFeedRoutes(s, context); }},
  };
  for (const auto& [group, register_routes] : groups) {
    HttpServer server(HttpServerOptions{});
    const Status registered = register_routes(server);
    ASSERT_TRUE(registered.ok()) << registered.ToString();
    for (const RouteDoc* route : RouteDocs(group)) {
      EXPECT_TRUE(Registered(server, *route)) << route->method << " " << route->pattern;
    }
  }
}

// "/v1/cpts/:cpts/feed" -> "/v1/cpts/x/feed".
std::string ConcretePath(const std::string& pattern) {
  static const std::regex param(":[a-z_]+");
  return std::regex_replace(pattern, param, "x");
}

bool Matches(const std::string& pattern, const std::string& path) {
  static const std::regex param(":[a-z_]+");
  return std::regex_match(path, std::regex(std::regex_replace(pattern, param, "[^/]+")));
}

// cptsd itself, in process: for every path of the document, a DELETE (no route has it) is
// answered 405 with Allow naming exactly the methods the document gives that path.
TEST(OpenApi, TheDaemonServesExactlyTheDocumentedMethodsOnEveryDocumentedPath) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("openapi-test-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  ASSERT_TRUE(GenerateSecretsFile((dir / "secrets.json").string()).ok());
  const json tokens = {
      {"tokens", {{{"name", "root"}, {"role", "admin"}, {"sha256", TokenSha256Hex(NewToken())}}}}};
  std::ofstream(dir / "tokens.json") << tokens.dump();
  fs::permissions(dir / "tokens.json", fs::perms::owner_read | fs::perms::owner_write);
  DaemonConfig config;
  config.port = 0;
  config.partitions = 2;
  config.access_log = false;
  config.data_dir = (dir / "data").string();
  config.tokens_file = (dir / "tokens.json").string();
  config.secrets_file = (dir / "secrets.json").string();
  Result<std::unique_ptr<Daemon>> daemon = Daemon::Open(config);
  ASSERT_TRUE(daemon.ok()) << daemon.status().ToString();
  ASSERT_TRUE((*daemon)->Start().ok());

  std::set<std::string> paths;
  for (const RouteDoc& route : RouteDocs()) paths.insert(ConcretePath(route.pattern));
  for (const std::string& path : paths) {
    std::set<std::string> documented;
    for (const RouteDoc& route : RouteDocs()) {
      if (Matches(route.pattern, path)) documented.insert(route.method);
    }
    Result<std::string> out =
        test::RunAndCapture({"curl", "-sS", "-i", "-X", "DELETE", "--max-time", "10",
                             "http://127.0.0.1:" + std::to_string((*daemon)->port()) + path},
                            std::chrono::seconds(15));
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(out->substr(0, 12), "HTTP/1.1 405") << path;
    std::set<std::string> allowed;
    static const std::regex allow_line("\\n[Aa]llow: ([^\\r]*)\\r");
    std::smatch m;
    if (std::regex_search(*out, m, allow_line)) {
      std::stringstream methods(m[1].str());
      for (std::string method; std::getline(methods, method, ',');) {
        method.erase(0, method.find_first_not_of(' '));
        if (method != "HEAD" && method != "OPTIONS") allowed.insert(method);
      }
    }
    EXPECT_EQ(allowed, documented) << path;
  }
  EXPECT_TRUE((*daemon)->Stop().ok());
  daemon->reset();
  fs::remove_all(dir);
}

// The other direction (nothing registered that the table leaves out) holds by construction for
// queries and the feed, which register from the table; command routes follow CommandTypes(),
// which the table follows too. HttpServer lists no routes, so that is what is checked here.
TEST(OpenApi, TheTableFollowsTheCommandTypesAndTheViews) {
  // Every command type has its route, and no other.
  std::set<std::string> documented;
  for (const RouteDoc* route : RouteDocs(RouteGroup::kCommands)) {
    if (!route->command_type.empty()) documented.insert(route->command_type);
  }
  std::set<std::string> types;
  for (const auto& spec : aggregates::CommandTypes()) types.insert(std::string(spec.type));
  EXPECT_EQ(documented, types);
  // Every view a query or the feed names is one AuthorizeQuery knows.
  for (const RouteDoc& route : RouteDocs()) {
    if (route.view.empty()) continue;
    EXPECT_NE(std::find(std::begin(kViews), std::end(kViews), route.view), std::end(kViews))
        << route.view;
  }
}

// Every {"$ref": "#/components/..."} in `node` resolves in `doc`.
void CheckRefs(const json& doc, const json& node, const std::string& where) {
  if (node.is_object()) {
    if (node.contains("$ref")) {
      const std::string ref = node["$ref"];
      ASSERT_EQ(ref.rfind("#/", 0), 0u) << where;
      EXPECT_TRUE(doc.contains(json::json_pointer(ref.substr(1)))) << ref << " at " << where;
    }
    for (const auto& [key, value] : node.items()) CheckRefs(doc, value, where + "/" + key);
  } else if (node.is_array()) {
    for (const auto& value : node) CheckRefs(doc, value, where);
  }
}

TEST(OpenApi, TheDocumentIsWellFormedOpenApi303) {
  const json doc =
      json::parse(ReadFile(std::string(CPTS_SOURCE_DIR) + "/docs/openapi.json"), nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << "docs/openapi.json is not JSON";
  EXPECT_EQ(doc["openapi"], "3.0.3");
  EXPECT_TRUE(doc["info"].contains("title") && doc["info"].contains("version"));
  EXPECT_EQ(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
  CheckRefs(doc, doc, "");

  std::set<std::string> operation_ids;
  size_t operations = 0;
  const std::regex path_param("\\{([a-z_]+)\\}");
  for (const auto& [path, item] : doc["paths"].items()) {
    std::set<std::string> in_path;
    for (auto it = std::sregex_iterator(path.begin(), path.end(), path_param);
         it != std::sregex_iterator(); ++it) {
      in_path.insert((*it)[1]);
    }
    for (const auto& [method, op] : item.items()) {
      ++operations;
      const std::string where = method + " " + path;
      EXPECT_TRUE(method == "get" || method == "post") << where;
      ASSERT_TRUE(op.contains("operationId")) << where;
      EXPECT_TRUE(operation_ids.insert(op["operationId"]).second) << where;
      ASSERT_TRUE(op.contains("responses") && !op["responses"].empty()) << where;
      std::set<std::string> declared;
      for (const json& p : op.value("parameters", json::array())) {
        EXPECT_TRUE(p.contains("schema")) << where;
        if (p["in"] == "path") {
          EXPECT_EQ(p["required"], true) << where;
          declared.insert(p["name"]);
        }
      }
      EXPECT_EQ(declared, in_path) << where;
    }
  }
  EXPECT_EQ(operations, RouteDocs().size());
  // The no-token routes say so; the others inherit the bearer requirement.
  EXPECT_EQ(doc["paths"]["/healthz"]["get"]["security"], json::array());
  EXPECT_FALSE(doc["paths"]["/v1/cpts/{cpts}/handoff"]["get"].contains("security"));
}

TEST(OpenApi, CommandDataSchemasFollowTheCatalogue) {
  const json doc = BuildOpenApi();
  const json& notify = doc["components"]["schemas"]["command.discharge.notify"];
  EXPECT_EQ(notify["additionalProperties"], false);
  // A patient by pseudonym or by INS, not both; the identity in clear.
  EXPECT_TRUE(notify["properties"].contains("patient"));
  EXPECT_TRUE(notify["properties"].contains("patient_ins"));
  EXPECT_EQ(notify["oneOf"].size(), 2u);
  EXPECT_EQ(notify["properties"]["identity"]["$ref"], "#/components/schemas/Identity");
  EXPECT_EQ(doc["paths"]["/v1/cpts/{cpts}/commands/discharge.notify"]["post"]["requestBody"]
               ["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/command.discharge.notify");
  // Query parameters carry their rules: the page limit's bound, the status values.
  bool found_limit = false;
  for (const json& p : doc["paths"]["/v1/cpts/{cpts}/handoff"]["get"]["parameters"]) {
    if (p["name"] == "limit") {
      found_limit = true;
      EXPECT_EQ(p["schema"]["maximum"], projections::kMaxPageLimit);
    }
    if (p["name"] == "status") {
      EXPECT_THAT(p["schema"]["enum"].dump(), ::testing::HasSubstr("overdue"));
    }
  }
  EXPECT_TRUE(found_limit);
}

}  // namespace
}  // namespace cpts::api
