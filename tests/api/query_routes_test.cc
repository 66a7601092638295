// The query routes and the live feed over loopback, with curl as the client: a real embedded
// log, a following Projector into a real RocksDB store feeding a LiveView (as in cptsd), the
// access topic for traces, and a tokens store with one principal of each role.

#include "connectors/api/query_routes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "connectors/api/feed_routes.h"
#include "events/json.h"
#include "projections/access_log.h"
#include "tests/projections/projection_test_util.h"
#include "tests/support/subprocess.h"

namespace cpts::api {
namespace {

using json = ::cpts::Json;
using projections::testing::Patient;
using projections::testing::Rpps;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr char kCpts[] = "cpts-grand-besancon";  // the samples' CPTS
constexpr char kOtherCpts[] = "cpts-haut-doubs";
constexpr int64_t kClock = 1'795'000'000'000;  // 2026-11-18, after every event below

struct HttpResult {
  int status = 0;
  std::string body;
  json Json() const { return json::parse(body, nullptr, false); }
};

class QueryRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(h.log().EnsureTopic({std::string(topics::kAccess), 4, false}).ok());
    h.Add("fr.cpts.cpts.registered.v1", {}, "2026-01-05T08:00:00.000Z");
    h.Add("fr.cpts.membership.member_joined.v1", {{"member_id", Rpps(1)}},
          "2026-01-06T08:00:00.000Z");
    h.Add("fr.cpts.membership.member_joined.v1", {{"member_id", Rpps(2)}, {"profession", "nurse"}},
          "2026-01-06T08:00:00.000Z");
    h.Add("fr.cpts.access.patient_registered.v2", {{"patient", Patient(1)}, {"identity", nullptr}},
          "2026-02-01T08:00:00.000Z");
    h.Add(
        "fr.cpts.access.referral_issued.v1",
        {{"referral_id", "REF-1"}, {"patient", Patient(1)}, {"gp", Rpps(1)}, {"identity", nullptr}},
        "2026-02-02T08:00:00.000Z");
    h.Add("fr.cpts.discharge.notified.v1",
          {{"discharge_id", "DIS-1"},
           {"patient", Patient(1)},
           {"gp", Rpps(1)},
           {"discharged_at", "2026-03-02T10:00:00Z"},
           {"identity", nullptr}},
          "2026-03-02T10:05:00.000Z");
    h.Add("fr.cpts.followup.assigned.v1",
          {{"followup_id", "FU-1"}, {"discharge_id", "DIS-1"}, {"professional", Rpps(2)}},
          "2026-03-02T11:00:00.000Z");
    h.Add("fr.cpts.snp.request_received.v1",
          {{"request_id", "SNP-1"},
           {"patient", Patient(2)},
           {"identity", nullptr},
           {"received_at", "2026-03-03T08:00:00Z"}},
          "2026-03-03T08:00:00.000Z");
    h.Add("fr.cpts.prevention.campaign_launched.v1", {}, "2026-03-04T08:00:00.000Z");
    events_before_tests = 9;

    // The daemon's wiring: a following projector feeding the live view.
    projector = std::make_unique<projections::Projector>(
        h.log(), h.Store(),
        projections::ProjectorOptions{
            .threads = 1,
            .stop_at_end = false,
            .on_commit = [this](const projections::Positions& committed,
                                std::vector<projections::AppliedEvent> applied) {
              live.OnCommit(committed, std::move(applied));
            }});
    projector_thread = std::thread([this] { projector_status = projector->Run(); });
    ASSERT_TRUE(CaughtUp());

    json tokens = json::array();
    const auto add = [&](const std::string& name, json entry) {
      tokens_by_name[name] = NewToken();
      entry["name"] = name;
      entry["sha256"] = TokenSha256Hex(tokens_by_name[name]);
      tokens.push_back(entry);
    };
    add("claire", {{"role", "coordinator"}, {"cptsid", kCpts}});
    add("odile", {{"role", "coordinator"}, {"cptsid", kOtherCpts}});
    add("wallboard", {{"role", "dashboard"}});
    add("drb", {{"role", "professional"}, {"professional", Rpps(2)}});
    add("dra", {{"role", "professional"}, {"professional", Rpps(1)}});
    add("audrey", {{"role", "auditor"}});
    add("root", {{"role", "admin"}});
    Result<TokenStore> store = TokenStore::FromJson({{"tokens", tokens}}, "test tokens");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    token_store.emplace(std::move(*store));

    access = std::make_unique<projections::AccessLog>(h.log());
    context.log = &h.log();
    context.store = &h.Store();
    context.access = access.get();
    context.tokens = &*token_store;
    context.live = &live;
    context.config.read_your_writes_wait_ms = 2000;
    context.now_ms = [] { return kClock; };

    server = std::make_unique<HttpServer>(HttpServerOptions{.access_log = false});
    ASSERT_TRUE(RegisterQueryRoutes(*server, context).ok());
    ASSERT_TRUE(RegisterFeedRoutes(*server, context).ok());
    ASSERT_TRUE(server->Start().ok());
  }

  void TearDown() override {
    if (server) server->Stop();
    live.Stop();
    if (projector) projector->RequestStop();
    if (projector_thread.joinable()) projector_thread.join();
    EXPECT_TRUE(projector_status.ok()) << projector_status.ToString();
  }

  bool CaughtUp() {
    projections::Positions end;
    // LiveView knows the partitions the projector committed: empty ones are left out.
    for (const auto& [partition, offset] : h.End()) {
      if (offset > 0) end[partition] = offset;
    }
    return live.WaitUntil([&] { return live.Reached(end); },
                          std::chrono::steady_clock::now() + 20s);
  }

  std::vector<std::string> Auth(const std::string& who) {
    return {"-H", "Authorization: Bearer " + tokens_by_name.at(who)};
  }

  HttpResult Get(const std::string& who, const std::string& path,
                 std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {"curl", "-sS", "--max-time", "20", "-w", "\n%{http_code}"};
    if (!who.empty()) {
      for (std::string& a : Auth(who)) argv.push_back(std::move(a));
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back("http://127.0.0.1:" + std::to_string(server->port()) + path);
    Result<std::string> out = test::RunAndCapture(argv, 30s);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    if (!out.ok()) return {};
    const size_t newline = out->rfind('\n');
    return {std::stoi(out->substr(newline + 1)), out->substr(0, newline)};
  }

  // The error's field, or "" when the answer is not an error.
  static std::string Field(const HttpResult& r) {
    const json body = r.Json();
    return body.is_object() && body.contains("error") ? body["error"].value("field", "") : "";
  }

  std::vector<projections::AccessTrace> Traces() {
    std::vector<projections::AccessTrace> traces;
    EXPECT_TRUE(access
                    ->Scan([&](const projections::AccessTrace& t) {
                      traces.push_back(t);
                      return true;
                    })
                    .ok());
    return traces;
  }

  projections::testing::History h;
  int events_before_tests = 0;
  LiveView live;
  std::unique_ptr<projections::Projector> projector;
  std::thread projector_thread;
  Status projector_status;
  std::map<std::string, std::string> tokens_by_name;
  std::optional<TokenStore> token_store;
  std::unique_ptr<projections::AccessLog> access;
  ApiContext context;
  std::unique_ptr<HttpServer> server;
};

TEST_F(QueryRoutesTest, EveryRouteAnswersItsViewToWhoMayReadIt) {
  const std::string cpts = std::string("/v1/cpts/") + kCpts;
  const std::vector<std::pair<std::string, std::string>> reads = {
      {"wallboard", "/v1/cpts"},
      {"wallboard", "/v1/cpts?region=27"},
      {"wallboard", cpts},
      {"wallboard", cpts + "/roster?profession=nurse&include_left=true&limit=10&offset=0"},
      {"wallboard", cpts + "/roster/history"},
      {"wallboard", cpts + "/gps"},
      {"wallboard", cpts + "/access"},
      {"wallboard", cpts + "/campaigns"},
      {"wallboard", cpts + "/campaigns/CAMP-2026-OR"},
      {"wallboard", cpts + "/indicators?at=2026-11-01T00:00:00Z"},
      {"wallboard", "/v1/regions/27/indicators"},
      {"claire", cpts + "/queue"},
      {"claire", cpts + "/referrals?status=pending"},
      {"claire", cpts + "/handoff?status=pending&professional=" + Rpps(2) +
                     "&from=2026-03-01T00:00:00Z&until=2026-04-01T00:00:00Z"},
      {"claire", cpts + "/snp?status=open"},
      {"drb", "/v1/professionals/" + Rpps(2) + "/worklist?include_closed=true"},
      {"audrey", cpts + "/handoff"},
      {"root", cpts + "/queue"},
  };
  for (const auto& [who, path] : reads) {
    const HttpResult r = Get(who, path);
    EXPECT_EQ(r.status, 200) << who << " " << path << ": " << r.body;
    EXPECT_TRUE(r.Json().is_object()) << path;
  }
}

TEST_F(QueryRoutesTest, AnswersHoldTheProjectedData) {
  const std::string cpts = std::string("/v1/cpts/") + kCpts;
  EXPECT_THAT(Get("wallboard", "/v1/cpts").body, HasSubstr(kCpts));
  EXPECT_THAT(Get("claire", cpts + "/handoff").body, HasSubstr("DIS-1"));
  EXPECT_THAT(Get("claire", cpts + "/referrals").body, HasSubstr("REF-1"));
  EXPECT_THAT(Get("claire", cpts + "/snp").body, HasSubstr("SNP-1"));
  EXPECT_THAT(Get("drb", "/v1/professionals/" + Rpps(2) + "/worklist").body, HasSubstr("FU-1"));
  // A filter that matches nothing: the discharge is left out.
  EXPECT_THAT(Get("claire", cpts + "/handoff?status=done").body,
              ::testing::Not(HasSubstr("DIS-1")));
}

TEST_F(QueryRoutesTest, RolesAreRefusedWhatTheyMayNotRead) {
  const std::string cpts = std::string("/v1/cpts/") + kCpts;
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"wallboard", cpts + "/handoff"},
      {"wallboard", cpts + "/queue"},
      {"dra", "/v1/professionals/" + Rpps(2) + "/worklist"},
      {"drb", cpts + "/handoff"},
      {"odile", cpts + "/handoff"},
      {"odile", cpts + "/roster"},
      {"claire", "/v1/professionals/" + Rpps(2) + "/worklist"},
      {"wallboard", cpts + "/feed"},
      {"drb", cpts + "/feed"},
      {"odile", cpts + "/feed"},
  };
  for (const auto& [who, path] : refused) {
    const HttpResult r = Get(who, path);
    EXPECT_EQ(r.status, 403) << who << " " << path << ": " << r.body;
    EXPECT_EQ(r.Json()["error"]["code"], "forbidden") << path;
  }
  EXPECT_EQ(Get("", cpts).status, 401);
  EXPECT_EQ(Get("", cpts, {"-H", "Authorization: Bearer cpts_nope"}).status, 401);
}

TEST_F(QueryRoutesTest, BadQueryParametersAreRefusedNamingTheKey) {
  const std::string cpts = std::string("/v1/cpts/") + kCpts;
  const std::vector<std::pair<std::string, std::string>> bad = {
      {cpts + "/roster?colour=blue", "query.colour"},
      {cpts + "?limit=5", "query.limit"},  // not a list
      {cpts + "/roster?limit=0", "query.limit"},
      {cpts + "/roster?limit=1001", "query.limit"},
      {cpts + "/roster?limit=ten", "query.limit"},
      {cpts + "/roster?offset=-1", "query.offset"},
      {cpts + "/roster?include_left=yes", "query.include_left"},
      {cpts + "/handoff?status=lost", "query.status"},
      {cpts + "/handoff?from=yesterday", "query.from"},
      {cpts + "/handoff?at=2026-11-01", "query.at"},
      {cpts + "/snp?status=closed", "query.status"},
      {cpts + "/indicators?position=0", "query.position"},
      {cpts + "/roster?profession=", "query.profession"},
  };
  for (const auto& [path, field] : bad) {
    const HttpResult r = Get("claire", path);
    EXPECT_EQ(r.status, 400) << path << ": " << r.body;
    EXPECT_EQ(Field(r), field) << path << ": " << r.body;
  }
  const HttpResult purpose =
      Get("claire", cpts + "/handoff", {"-H", "X-Purpose: " + std::string(201, 'x')});
  EXPECT_EQ(purpose.status, 400) << purpose.body;
  EXPECT_EQ(Field(purpose), "header.X-Purpose");
  const HttpResult r = Get("claire", cpts + "/feed", {"-H", "Last-Event-ID: seven"});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(Field(r), "header.Last-Event-ID");
}

TEST_F(QueryRoutesTest, UnknownThingsAreNotFound) {
  EXPECT_EQ(Get("wallboard", "/v1/cpts/cpts-nulle-part").status, 404);
  EXPECT_EQ(Get("wallboard", std::string("/v1/cpts/") + kCpts + "/campaigns/NOPE").status, 404);
  EXPECT_EQ(Get("wallboard", "/v1/regions/99/indicators").status, 404);
}

TEST_F(QueryRoutesTest, APositionWaitsForTheReadModelsToHoldTheEvent) {
  // Appended now: the projector applies it while the query waits (or before it arrives).
  const log::Position at = h.Add("fr.cpts.discharge.notified.v1",
                                 {{"discharge_id", "DIS-2"},
                                  {"patient", Patient(3)},
                                  {"gp", Rpps(1)},
                                  {"discharged_at", "2026-03-05T10:00:00Z"},
                                  {"identity", nullptr}},
                                 "2026-03-05T10:05:00.000Z");
  const std::string position =
      std::to_string(at.partition.value()) + ":" + std::to_string(at.offset.value() + 1);
  const HttpResult r =
      Get("claire", std::string("/v1/cpts/") + kCpts + "/handoff?position=" + position);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr("DIS-2"));
}

TEST_F(QueryRoutesTest, APositionNeverReachedTimesOut) {
  const HttpResult r =
      Get("claire", std::string("/v1/cpts/") + kCpts + "/indicators?position=0:999999");
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_EQ(r.Json()["error"]["code"], "timed_out");
  EXPECT_EQ(Field(r), "query.position");
}

TEST_F(QueryRoutesTest, PatientLevelReadsLeaveAnAccessTraceAndAggregatesNone) {
  ASSERT_EQ(Get("wallboard", std::string("/v1/cpts/") + kCpts + "/roster").status, 200);
  EXPECT_TRUE(Traces().empty());
  ASSERT_EQ(Get("claire", std::string("/v1/cpts/") + kCpts + "/handoff",
                {"-H", "X-Purpose: suivi des sorties"})
                .status,
            200);
  ASSERT_EQ(Get("drb", "/v1/professionals/" + Rpps(2) + "/worklist").status, 200);
  const std::vector<projections::AccessTrace> traces = Traces();
  ASSERT_EQ(traces.size(), 2u);
  std::map<std::string, projections::AccessTrace> by_view;
  for (const auto& t : traces) by_view[t.view] = t;
  ASSERT_TRUE(by_view.contains("handoff"));
  EXPECT_EQ(by_view["handoff"].user, std::string("coordinator:") + kCpts + ":claire");
  EXPECT_EQ(by_view["handoff"].role, "coordinator");
  EXPECT_EQ(by_view["handoff"].purpose, "suivi des sorties");
  EXPECT_EQ(by_view["handoff"].patients, std::vector<std::string>{Patient(1)});
  ASSERT_TRUE(by_view.contains("worklist"));
  EXPECT_EQ(by_view["worklist"].user, "professional:" + Rpps(2));
  EXPECT_EQ(by_view["worklist"].purpose, "worklist (API)");
}

// A live feed read through curl -N, line by line.
class FeedClient {
 public:
  FeedClient(int port, const std::string& token, const std::string& last_event_id = "") {
    std::vector<std::string> argv = {"curl", "-sS", "-N", "-H", "Authorization: Bearer " + token};
    if (!last_event_id.empty()) {
      argv.push_back("-H");
      argv.push_back("Last-Event-ID: " + last_event_id);
    }
    argv.push_back("http://127.0.0.1:" + std::to_string(port) + "/v1/cpts/" + kCpts + "/feed");
    auto child = test::ChildProcess::Spawn(argv);
    EXPECT_TRUE(child.ok()) << child.status().ToString();
    if (child.ok()) child_ = std::move(*child);
  }

  struct Event {
    std::string id, type;
    json data;
  };
  // The next event (comments and blank lines skipped); an empty id when none came in time.
  Event Next() {
    Event event;
    while (child_) {
      Result<std::string> line = child_->ReadLine(20s);
      if (!line.ok()) break;
      if (line->rfind("id: ", 0) == 0) event.id = line->substr(4);
      if (line->rfind("event: ", 0) == 0) event.type = line->substr(7);
      if (line->rfind("data: ", 0) == 0) event.data = json::parse(line->substr(6), nullptr, false);
      if (line->empty() && !event.id.empty()) break;
    }
    return event;
  }

 private:
  std::unique_ptr<test::ChildProcess> child_;
};

TEST_F(QueryRoutesTest, TheFeedStreamsEventsAsTheyAreProjectedAndResumesAfterLastEventId) {
  FeedClient feed(server->port(), tokens_by_name.at("claire"));
  // Every retained event first, ids = the stream's sequence numbers.
  for (int sequence = 1; sequence <= events_before_tests; ++sequence) {
    const FeedClient::Event e = feed.Next();
    ASSERT_EQ(e.id, std::to_string(sequence));
    EXPECT_EQ(e.data.value("sequence", 0), sequence);
  }
  // Then what is appended while the client listens.
  h.Add("fr.cpts.discharge.notified.v1",
        {{"discharge_id", "DIS-3"},
         {"patient", Patient(4)},
         {"gp", Rpps(1)},
         {"discharged_at", "2026-03-06T10:00:00Z"},
         {"identity", nullptr}},
        "2026-03-06T10:05:00.000Z");
  const FeedClient::Event live_event = feed.Next();
  EXPECT_EQ(live_event.id, std::to_string(events_before_tests + 1));
  EXPECT_EQ(live_event.type, "handoff");
  // The event's data, without its sealed identity.
  const json::json_pointer discharge_id("/data/discharge_id");
  EXPECT_EQ(live_event.data.contains(discharge_id) ? live_event.data.at(discharge_id) : json(),
            "DIS-3")
      << live_event.data.dump();
  EXPECT_THAT(live_event.data.dump(), ::testing::Not(HasSubstr("identity")));

  // A client that saw event 7 resumes exactly after it.
  FeedClient resumed(server->port(), tokens_by_name.at("audrey"), "7");
  EXPECT_EQ(resumed.Next().id, "8");
  EXPECT_EQ(resumed.Next().id, "9");
  EXPECT_EQ(resumed.Next().id, "10");

  // Each batch delivered left a trace naming its patients, before it was sent.
  std::set<std::string> traced;
  for (const auto& t : Traces()) {
    EXPECT_EQ(t.view, "feed");
    EXPECT_EQ(t.cptsid, kCpts);
    EXPECT_FALSE(t.identities);
    traced.insert(t.patients.begin(), t.patients.end());
  }
  EXPECT_TRUE(traced.contains(Patient(1)));
  EXPECT_TRUE(traced.contains(Patient(4)));
}

}  // namespace
}  // namespace cpts::api
