#pragma once
// The route table of cptsd and its OpenAPI 3.0.3 document (docs/openapi.json, GET /openapi.json).
//
// One source of truth: RouteDocs() declares every route (method, pattern, the view it reads,
// the query parameters it takes); the query and feed routes register themselves from it and
// check query parameters against it, the command routes follow aggregates::CommandTypes() as it
// does, and BuildOpenApi() writes the document from it. tests/api/openapi_test.cc checks that
// the routes a server gets are exactly those of the table, and that docs/openapi.json is the
// document built here.
// Thread-safety: the table is built once (thread-safely) and immutable; functions are pure.

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "events/json.h"

namespace cpts::api {

enum class ParamKind {
  kString,     // any non-empty text
  kEnum,       // one of `values`
  kInteger,    // digits, within [min, max]
  kBoolean,    // "true" or "false"
  kTime,       // RFC 3339 with a zone
  kPositions,  // "p:o,p:o": a command answer's "position" (read-your-writes)
};

struct ParamDoc {
  std::string_view name;
  ParamKind kind = ParamKind::kString;
  std::string_view description;
  std::vector<std::string_view> values;  // kEnum
  int64_t min = 0;                       // kInteger
  int64_t max = std::numeric_limits<int32_t>::max();
};

enum class RouteGroup { kOperations, kCommands, kQueries, kFeed };

struct RouteDoc {
  std::string method;   // "GET" or "POST"
  std::string pattern;  // "/v1/cpts/:cpts/handoff", as HttpServer::Route takes it
  RouteGroup group = RouteGroup::kQueries;
  // Queries and the feed: the view AuthorizeQuery checks (auth.h kViews).
  std::string view;
  // Commands: the command type of POST .../commands/<type>; empty for the outcome route.
  std::string command_type;
  std::string summary;
  // Every query key the route takes; any other is refused (400, field "query.<key>").
  std::vector<ParamDoc> query;
};

// Every route, operations first, then commands (in aggregates::CommandTypes() order), queries
// and the feed.
const std::vector<RouteDoc>& RouteDocs();
// The routes of one group, in table order.
std::vector<const RouteDoc*> RouteDocs(RouteGroup group);

// The OpenAPI 3.0.3 document of RouteDocs(). Deterministic: docs/openapi.json is this, dumped
// with an indent of 2 and a final newline (OpenApiText()).
::cpts::Json BuildOpenApi();
std::string OpenApiText();

}  // namespace cpts::api
