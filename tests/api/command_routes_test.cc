// The command routes over loopback, with curl, on a whole pipeline in this process: the
// embedded log, the deciders (CommandProcessor) and the projector following the log into RocksDB
// read models, woken waiters through the LiveView, the patient edge on an embedded key store.

#include "connectors/api/command_routes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sodium.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "aggregates/command_processor.h"
#include "connectors/embedded_key_store.h"
#include "connectors/embedded_log.h"
#include "events/json.h"
#include "events/topics.h"
#include "projections/clock.h"
#include "projections/projector.h"
#include "projections/read_models.h"
#include "tests/log/log_test_util.h"
#include "tests/support/subprocess.h"

namespace cpts::api {
namespace {

using json = ::cpts::Json;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

constexpr int kPartitions = 2;
const std::string kCpts = "cpts-haut-doubs";
const std::string kOtherCpts = "cpts-grand-besancon";
const std::string kFiness = "250000452";
const std::string kOtherFiness = "250000015";
const std::string kGp = "rpps:10001234565";
const std::string kNir = "253072B07300470";
const std::string kBadNir = "253072B07300471";  // its key is wrong

struct HttpResult {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  json Json() const { return json::parse(body, nullptr, /*allow_exceptions=*/false); }
};

HttpResult ParseResponse(std::string raw) {
  while (raw.rfind("HTTP/1.1 100", 0) == 0) raw = raw.substr(raw.find("\r\n\r\n") + 4);
  HttpResult r;
  const size_t head_end = raw.find("\r\n\r\n");
  const std::string head = raw.substr(0, head_end);
  r.body = head_end == std::string::npos ? "" : raw.substr(head_end + 4);
  if (head.size() >= 12) r.status = std::stoi(head.substr(9, 3));
  size_t line_end = head.find("\r\n");
  while (line_end != std::string::npos) {
    const size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string line = head.substr(start, line_end - start);
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    r.headers[name] = value;
  }
  return r;
}

// The pipeline of cptsd, in this process, with the command routes on an HttpServer.
class Pipeline {
 public:
  explicit Pipeline(bool run_deciders = true) : dir_("api-commands") {
    auto log = log::OpenEmbeddedLog({.directory = dir_.path() + "/log", .sync_writes = false});
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(*log);
    for (const auto& spec : topics::AllTopics(kPartitions)) {
      EXPECT_TRUE(log_->EnsureTopic(spec).ok());
    }
    std::array<unsigned char, 32> master_key;
    randombytes_buf(master_key.data(), master_key.size());
    auto keys = keys::OpenEmbeddedKeyStore(dir_.path() + "/keys", master_key);
    EXPECT_TRUE(keys.ok()) << keys.status().ToString();
    keys_ = std::move(*keys);
    edge_ = std::make_unique<PatientEdge>(std::string(32, 's'), *keys_);
    auto store = projections::ProjectionStore::Open({.directory = dir_.path() + "/projections"});
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    access_ = std::make_unique<projections::AccessLog>(*log_);

    json entries = json::array();
    const auto add = [&](const std::string& name, const std::string& role, json scope) {
      tokens_[name] = NewToken();
      json entry = {{"name", name}, {"role", role}, {"sha256", TokenSha256Hex(tokens_[name])}};
      entry.update(scope);
      entries.push_back(entry);
    };
    add("root", "admin", json::object());
    add("claire", "coordinator", {{"cptsid", kCpts}});
    add("ch-pontarlier", "hospital", {{"finess", kFiness}});
    add("wallboard", "dashboard", json::object());
    auto tokens = TokenStore::FromJson({{"tokens", entries}}, "the test's tokens");
    EXPECT_TRUE(tokens.ok()) << tokens.status().ToString();
    token_store_ = std::make_unique<TokenStore>(std::move(*tokens));

    auto positions = store_->ReadPositions();
    EXPECT_TRUE(positions.ok());
    live_.SetStartPositions(*positions);

    context_.log = log_.get();
    context_.store = store_.get();
    context_.access = access_.get();
    context_.keys = keys_.get();
    context_.edge = edge_.get();
    context_.tokens = token_store_.get();
    context_.metrics = &metrics_;
    context_.live = &live_;
    context_.decider_group = "deciders";
    context_.now_ms = [this] { return projections::WallClockMs() + clock_offset_ms_.load(); };

    if (run_deciders) StartDeciders();
    projector_ = std::make_unique<projections::Projector>(
        *log_, *store_,
        projections::ProjectorOptions{
            .threads = 1,
            .stop_at_end = false,
            .on_commit = [this](const projections::Positions& committed,
                                std::vector<projections::AppliedEvent> applied) {
              live_.OnCommit(committed, std::move(applied));
            }});
    projector_thread_ = std::thread([this] {
      Status s = projector_->Run();
      EXPECT_TRUE(s.ok()) << s.ToString();
    });

    server_ = std::make_unique<HttpServer>(HttpServerOptions{.access_log = false});
    EXPECT_TRUE(RegisterCommandRoutes(*server_, context_).ok());
    EXPECT_TRUE(server_->Start().ok());
  }

  ~Pipeline() {
    server_->Stop();
    live_.Stop();
    stop_deciders_ = true;
    if (decider_thread_.joinable()) decider_thread_.join();
    projector_->RequestStop();
    projector_thread_.join();
    if (processor_) (void)processor_->Close();
  }

  // Moves the API's clock forward (the read models' retention of outcomes is counted on it).
  void AdvanceClock(int64_t ms) { clock_offset_ms_ += ms; }

  void StartDeciders() {
    auto processor = aggregates::CommandProcessor::Start(*log_, {.group = "deciders"});
    ASSERT_TRUE(processor.ok()) << processor.status().ToString();
    processor_ = std::move(*processor);
    decider_thread_ = std::thread([this] {
      Status s = processor_->Run(stop_deciders_);
      EXPECT_TRUE(s.ok()) << s.ToString();
    });
  }

  // POSTs `body` (text, sent as is) as `token_name`; extra curl arguments before the URL.
  HttpResult Post(const std::string& token_name, const std::string& path, const std::string& body,
                  std::vector<std::string> args = {}) {
    args.insert(args.end(),
                {"-X", "POST", "-H", "Content-Type: application/json", "--data-binary", "@-"});
    return Curl(token_name, path, args, body);
  }
  HttpResult Command(const std::string& token_name, const std::string& cpts,
                     const std::string& type, const json& data,
                     std::vector<std::string> args = {}) {
    return Post(token_name, "/v1/cpts/" + cpts + "/commands/" + type, data.dump(), args);
  }
  HttpResult Get(const std::string& token_name, const std::string& path) {
    return Curl(token_name, path, {}, {});
  }

  HttpResult Curl(const std::string& token_name, const std::string& path,
                  std::vector<std::string> args, const std::string& stdin_data) {
    std::vector<std::string> argv = {"curl", "-sS", "-i", "--max-time", "30"};
    if (!token_name.empty()) {
      argv.insert(argv.end(), {"-H", "Authorization: Bearer " + tokens_.at(token_name)});
    }
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("http://127.0.0.1:" + std::to_string(server_->port()) + path);
    Result<std::string> out = test::RunAndCapture(argv, 40s, stdin_data);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    if (!out.ok()) return {};
    return ParseResponse(*out);
  }

  // The events appended so far, all partitions.
  int64_t EventCount() {
    int64_t n = 0;
    for (int p = 0; p < kPartitions; ++p) {
      auto end = log_->EndOffset({std::string(topics::kEvents), Partition(p)});
      EXPECT_TRUE(end.ok());
      n += end->value();
    }
    return n;
  }

  // The commands on the log, as the deciders read them.
  std::vector<json> Commands() {
    auto records = logtest::ReadAll(*log_, std::string(topics::kCommands), kPartitions);
    EXPECT_TRUE(records.ok()) << records.status().ToString();
    std::vector<json> out;
    if (records.ok()) {
      for (const auto& r : *records) out.push_back(json::parse(r.value));
    }
    return out;
  }

  PatientEdge& edge() { return *edge_; }
  Metrics& metrics() { return metrics_; }

 private:
  logtest::TempDir dir_;
  std::unique_ptr<log::Log> log_;
  std::unique_ptr<keys::KeyStore> keys_;
  std::unique_ptr<PatientEdge> edge_;
  std::unique_ptr<projections::ProjectionStore> store_;
  std::unique_ptr<projections::AccessLog> access_;
  std::map<std::string, std::string> tokens_;
  std::unique_ptr<TokenStore> token_store_;
  Metrics metrics_;
  LiveView live_;
  ApiContext context_;
  std::atomic<int64_t> clock_offset_ms_{0};
  std::unique_ptr<aggregates::CommandProcessor> processor_;
  std::atomic<bool> stop_deciders_{false};
  std::thread decider_thread_;
  std::unique_ptr<projections::Projector> projector_;
  std::thread projector_thread_;
  std::unique_ptr<HttpServer> server_;
};

json Register() {
  return {{"name", "CPTS du Haut-Doubs"},
          {"territory", {"25462", "25411"}},
          {"population", 68000},
          {"region", "27"}};
}
json Join(const std::string& member = kGp) {
  return {{"member_id", member},
          {"member_kind", "professional"},
          {"profession", "general_practitioner"},
          {"practice_mode", "maison_de_sante"},
          {"commune", "25462"},
          {"display_name", "Dr Claire Bourgeois"}};
}
json RegisterPatient(const std::string& nir) {
  return {{"patient_ins", nir},
          {"age_band", "70-79"},
          {"ald", true},
          {"c2s", false},
          {"commune", "25411"},
          {"registered_at", "2026-11-02T09:30:00+01:00"},
          {"identity",
           {{"family_name", "Quelmaroux"},
            {"given_names", "Camille"},
            {"birth_date", "1948-05-17"},
            {"phone", "+33 3 81 00 00 00"}}}};
}
json Discharge(const std::string& finess) {
  return {{"discharge_id", "DIS-1"},
          {"finess", finess},
          {"movement_id", "MVT-1"},
          {"visit_id", "VIS-1"},
          {"patient_ins", kNir},
          {"unit", "CARDIO"},
          {"commune", "25411"},
          {"discharged_at", "2026-11-20T17:45:00+01:00"},
          {"destination", "home"},
          {"exit_mode", "8"},
          {"gp", kGp},
          {"needs", {"home_nursing", "gp_visit"}}};
}

// Positions are "partition:offset" with offset one past the event's.
void ExpectPosition(const json& answer) {
  ASSERT_TRUE(answer.contains("position")) << answer.dump();
  const std::string position = answer["position"];
  const size_t colon = position.find(':');
  ASSERT_NE(colon, std::string::npos) << position;
  EXPECT_GE(std::stoi(position.substr(colon + 1)), 1) << position;
}

class CommandRoutesTest : public ::testing::Test {
 protected:
  void RegisterCpts() {
    HttpResult r = p_.Command("root", kCpts, "cpts.register", Register());
    ASSERT_EQ(r.status, 201) << r.body;
  }
  Pipeline p_;
};

TEST_F(CommandRoutesTest, AnAcceptedCommandAnswers201WithItsEventAndPosition) {
  HttpResult r = p_.Command("root", kCpts, "cpts.register", Register());
  ASSERT_EQ(r.status, 201) << r.body;
  const json answer = r.Json();
  EXPECT_EQ(answer["outcome"], "accepted");
  EXPECT_THAT(answer["command_id"].get<std::string>(), ::testing::StartsWith("api-"));
  EXPECT_EQ(answer["event"]["type"], "fr.cpts.cpts.registered.v1");
  EXPECT_EQ(answer["event"]["sequence"], 1);
  EXPECT_FALSE(answer["event"]["id"].get<std::string>().empty());
  ExpectPosition(answer);
  EXPECT_EQ(p_.EventCount(), 1);
  EXPECT_THAT(p_.metrics().Render(), HasSubstr("outcome=\"accepted\""));

  // GET of the command gives the same outcome.
  HttpResult again =
      p_.Get("root", "/v1/cpts/" + kCpts + "/commands/" + answer["command_id"].get<std::string>());
  ASSERT_EQ(again.status, 201) << again.body;
  EXPECT_EQ(again.Json()["event"], answer["event"]);
  EXPECT_EQ(again.Json()["position"], answer["position"]);
}

TEST_F(CommandRoutesTest, ARejectionConflictingWithTheStateIs409WithItsEvent) {
  RegisterCpts();
  HttpResult r = p_.Command("root", kCpts, "cpts.register", Register());
  ASSERT_EQ(r.status, 409) << r.body;
  const json answer = r.Json();
  EXPECT_EQ(answer["outcome"], "rejected");
  EXPECT_EQ(answer["error"]["code"], "already_registered");
  EXPECT_THAT(answer["error"]["message"].get<std::string>(), HasSubstr("already registered"));
  EXPECT_EQ(answer["event"]["type"], "fr.cpts.command.rejected.v1");
  EXPECT_FALSE(answer["error"]["request_id"].get<std::string>().empty());
  ExpectPosition(answer);
  EXPECT_THAT(p_.metrics().Render(), HasSubstr("code=\"already_registered\""));
}

TEST_F(CommandRoutesTest, ARejectionNamingWhatDoesNotExistIs422) {
  RegisterCpts();
  HttpResult r =
      p_.Command("claire", kCpts, "membership.leave", {{"member_id", kGp}, {"reason", "retired"}});
  ASSERT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(r.Json()["error"]["code"], "not_a_member");
  EXPECT_EQ(r.Json()["outcome"], "rejected");
  // A command for a CPTS never registered names what does not exist too.
  HttpResult unknown = p_.Command("root", kOtherCpts, "membership.join", Join());
  ASSERT_EQ(unknown.status, 422) << unknown.body;
  EXPECT_EQ(unknown.Json()["error"]["code"], "unknown_cpts");
}

TEST_F(CommandRoutesTest, ACommandThatChangesNothingAnswers200Unchanged) {
  RegisterCpts();
  ASSERT_EQ(p_.Command("claire", kCpts, "membership.join", Join()).status, 201);
  const int64_t events = p_.EventCount();
  HttpResult r = p_.Command("claire", kCpts, "membership.join", Join());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["outcome"], "unchanged");
  EXPECT_EQ(p_.EventCount(), events);
  EXPECT_THAT(p_.metrics().Render(), HasSubstr("outcome=\"unchanged\""));
  // GET on this cptsd, which appended it, says so too.
  HttpResult again = p_.Get(
      "claire", "/v1/cpts/" + kCpts + "/commands/" + r.Json()["command_id"].get<std::string>());
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.Json()["outcome"], "unchanged");
}

TEST_F(CommandRoutesTest, ARetryWithTheSameIdempotencyKeyGetsTheFirstOutcomeWithoutASecondEvent) {
  RegisterCpts();
  const std::vector<std::string> key = {"-H", "Idempotency-Key: join-gp-2026-11-22"};
  HttpResult first = p_.Command("claire", kCpts, "membership.join", Join(), key);
  ASSERT_EQ(first.status, 201) << first.body;
  const int64_t events = p_.EventCount();
  HttpResult retry = p_.Command("claire", kCpts, "membership.join", Join(), key);
  ASSERT_EQ(retry.status, 201) << retry.body;
  EXPECT_EQ(retry.Json()["command_id"], first.Json()["command_id"]);
  EXPECT_EQ(retry.Json()["event"], first.Json()["event"]);
  EXPECT_EQ(first.headers.count("idempotent-replayed"), 0u);
  EXPECT_EQ(retry.headers["idempotent-replayed"], "true");
  EXPECT_EQ(p_.EventCount(), events);
  EXPECT_EQ(first.Json()["command_id"],
            IdempotentCommandId("coordinator:" + kCpts + ":claire", "join-gp-2026-11-22"));
}

// Outcomes are kept 30 days (projections::kOutcomeRetentionMs). A retry after that still applies
// nothing twice, since the deciders know the command id, and answers "unchanged".
TEST_F(CommandRoutesTest, AnOutcomeIsKept30DaysAndARetryAfterThemIsStillNotAppliedTwice) {
  RegisterCpts();
  const std::vector<std::string> key = {"-H", "Idempotency-Key: join-gp-expiring"};
  HttpResult first = p_.Command("claire", kCpts, "membership.join", Join(), key);
  ASSERT_EQ(first.status, 201) << first.body;
  const std::string path =
      "/v1/cpts/" + kCpts + "/commands/" + first.Json()["command_id"].get<std::string>();
  const int64_t events = p_.EventCount();

  // An hour before the end of the 30 days, then an hour after.
  p_.AdvanceClock(projections::kOutcomeRetentionMs - projections::kHourMs);
  EXPECT_EQ(p_.Get("claire", path).status, 201);
  HttpResult replay = p_.Command("claire", kCpts, "membership.join", Join(), key);
  ASSERT_EQ(replay.status, 201) << replay.body;
  EXPECT_EQ(replay.headers["idempotent-replayed"], "true");

  p_.AdvanceClock(2 * projections::kHourMs);
  HttpResult gone = p_.Get("claire", path);
  ASSERT_EQ(gone.status, 404) << gone.body;
  EXPECT_THAT(gone.Json()["error"]["message"].get<std::string>(),
              HasSubstr("outcomes are kept 30 days"));
  HttpResult retry = p_.Command("claire", kCpts, "membership.join", Join(), key);
  ASSERT_EQ(retry.status, 200) << retry.body;
  EXPECT_EQ(retry.Json()["outcome"], "unchanged");
  EXPECT_EQ(retry.headers.count("idempotent-replayed"), 0u);
  EXPECT_EQ(p_.EventCount(), events);
}

TEST_F(CommandRoutesTest, AnIdempotencyKeyReusedWithAnotherBodyIsRefused) {
  RegisterCpts();
  const std::vector<std::string> key = {"-H", "Idempotency-Key: k-1"};
  ASSERT_EQ(p_.Command("claire", kCpts, "membership.join", Join(), key).status, 201);
  const int64_t events = p_.EventCount();
  json other = Join();
  other["display_name"] = "Dr Someone Else";
  HttpResult r = p_.Command("claire", kCpts, "membership.join", other, key);
  ASSERT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(r.Json()["error"]["code"], "idempotency_key_reused");
  EXPECT_EQ(r.Json()["error"]["field"], "header.Idempotency-Key");
  EXPECT_EQ(p_.EventCount(), events);
}

TEST_F(CommandRoutesTest, TheCommandOnTheLogCarriesTheCallerTheCptsAndTheCorrelationId) {
  HttpResult r = p_.Command("root", kCpts, "cpts.register", Register(),
                            {"-H", "X-Correlation-Id: hl7-MSG00042"});
  ASSERT_EQ(r.status, 201) << r.body;
  // A correlation id in another format is left out, not refused.
  HttpResult other =
      p_.Command("claire", kCpts, "membership.join", Join(), {"-H", "X-Correlation-Id: {a b}"});
  ASSERT_EQ(other.status, 201) << other.body;
  const std::vector<json> commands = p_.Commands();
  ASSERT_EQ(commands.size(), 2u);
  EXPECT_EQ(commands[0]["command_id"], r.Json()["command_id"]);
  EXPECT_EQ(commands[0]["actor"], "admin:root");
  EXPECT_EQ(commands[0]["cptsid"], kCpts);
  EXPECT_EQ(commands[0]["correlation_id"], "hl7-MSG00042");
  EXPECT_EQ(commands[0]["data"], Register());
  EXPECT_EQ(commands[1]["actor"], "coordinator:" + kCpts + ":claire");
  EXPECT_FALSE(commands[1].contains("correlation_id"));
}

TEST_F(CommandRoutesTest, AnUnknownCommandIdIs404) {
  HttpResult r = p_.Get("root", "/v1/cpts/" + kCpts + "/commands/api-0123456789abcdef");
  ASSERT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(r.Json()["error"]["code"], "not_found");
}

TEST_F(CommandRoutesTest, MalformedJsonIs400) {
  HttpResult r = p_.Post("root", "/v1/cpts/" + kCpts + "/commands/cpts.register", "{\"name\":");
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(p_.EventCount(), 0);
}

TEST_F(CommandRoutesTest, ABodyThatIsNotAnObjectIs400OnData) {
  HttpResult r = p_.Post("root", "/v1/cpts/" + kCpts + "/commands/cpts.register", "[1,2]");
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.Json()["error"]["field"], "data");
}

TEST_F(CommandRoutesTest, AFieldOfTheWrongTypeIs400NamingIt) {
  json data = Register();
  data["population"] = "many";
  HttpResult r = p_.Command("root", kCpts, "cpts.register", data);
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.Json()["error"]["field"], "data.population");
  EXPECT_EQ(p_.EventCount(), 0);
}

TEST_F(CommandRoutesTest, AnUnknownFieldIs400) {
  json data = Register();
  data["colour"] = "blue";
  HttpResult r = p_.Command("root", kCpts, "cpts.register", data);
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.Json()["error"]["field"], "data.colour");
  EXPECT_THAT(r.Json()["error"]["message"].get<std::string>(), HasSubstr("colour"));
}

TEST_F(CommandRoutesTest, AnInvalidNirIs400NamingTheFieldWithoutEchoingIt) {
  RegisterCpts();
  HttpResult r = p_.Command("claire", kCpts, "access.register_patient", RegisterPatient(kBadNir));
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.Json()["error"]["field"], "data.patient_ins");
  EXPECT_THAT(r.body, Not(HasSubstr(kBadNir)));
  EXPECT_THAT(r.body, Not(HasSubstr("Quelmaroux")));
}

TEST_F(CommandRoutesTest, AMalformedIdempotencyKeyIs400) {
  HttpResult r = p_.Command("root", kCpts, "cpts.register", Register(),
                            {"-H", "Idempotency-Key: " + std::string(129, 'k')});
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.Json()["error"]["field"], "header.Idempotency-Key");
  HttpResult spaced =
      p_.Command("root", kCpts, "cpts.register", Register(), {"-H", "Idempotency-Key: two words"});
  ASSERT_EQ(spaced.status, 400) << spaced.body;
  EXPECT_EQ(p_.EventCount(), 0);
}

TEST_F(CommandRoutesTest, AHospitalNotifyingADischargeForAnotherFinessIs403) {
  RegisterCpts();
  HttpResult r = p_.Command("ch-pontarlier", kCpts, "discharge.notify", Discharge(kOtherFiness));
  ASSERT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.Json()["error"]["code"], "forbidden");
  EXPECT_THAT(r.body, Not(HasSubstr(kNir)));
  // Its own FINESS is accepted, and the NIR became a pseudonym before the log saw it.
  HttpResult own = p_.Command("ch-pontarlier", kCpts, "discharge.notify", Discharge(kFiness));
  ASSERT_EQ(own.status, 201) << own.body;
  EXPECT_EQ(own.Json()["event"]["type"], "fr.cpts.discharge.notified.v1");
  for (const json& command : p_.Commands()) EXPECT_THAT(command.dump(), Not(HasSubstr(kNir)));
}

TEST_F(CommandRoutesTest, ADashboardSendingACommandIs403) {
  HttpResult r = p_.Command("wallboard", kCpts, "cpts.register", Register());
  ASSERT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(p_.EventCount(), 0);
  HttpResult get = p_.Get("wallboard", "/v1/cpts/" + kCpts + "/commands/api-0123");
  EXPECT_EQ(get.status, 403) << get.body;
}

TEST_F(CommandRoutesTest, ACoordinatorOfAnotherCptsIs403) {
  HttpResult r = p_.Command("claire", kOtherCpts, "cpts.register", Register());
  ASSERT_EQ(r.status, 403) << r.body;
}

TEST_F(CommandRoutesTest, NoTokenIs401) {
  HttpResult r = p_.Command("", kCpts, "cpts.register", Register());
  ASSERT_EQ(r.status, 401) << r.body;
  EXPECT_THAT(r.headers["www-authenticate"], HasSubstr("Bearer"));
  EXPECT_EQ(p_.EventCount(), 0);
}

TEST_F(CommandRoutesTest, PatientEraseDestroysTheKeysThenRecordsTheErasure) {
  RegisterCpts();
  ASSERT_EQ(p_.Command("claire", kCpts, "access.register_patient", RegisterPatient(kNir)).status,
            201);
  // A hospital may not erase.
  HttpResult refused = p_.Command("ch-pontarlier", kCpts, "patient.erase",
                                  {{"patient_ins", kNir}, {"basis", "erasure_request"}});
  ASSERT_EQ(refused.status, 403) << refused.body;
  auto pseudonym = p_.edge().Pseudonym(kNir);
  ASSERT_TRUE(pseudonym.ok());
  HttpResult r = p_.Command("root", kCpts, "patient.erase",
                            {{"patient_ins", kNir}, {"basis", "erasure_request"}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.Json()["event"]["type"], "fr.cpts.patient.erased.v1");
  // The registration's data key is gone: destroying again finds nothing.
  auto again = p_.edge().DestroyKeys(*pseudonym);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);
}

TEST(CommandRoutesPending, UndecidedAfterTheWaitIs202AndGetTellsTheOutcomeOnceDecided) {
  Pipeline p(/*run_deciders=*/false);
  HttpResult r = p.Command("root", kCpts, "cpts.register", Register());
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(r.Json()["outcome"], "pending");
  const std::string path =
      "/v1/cpts/" + kCpts + "/commands/" + r.Json()["command_id"].get<std::string>();
  HttpResult before = p.Get("root", path);
  EXPECT_EQ(before.status, 202) << before.body;  // this cptsd knows it was appended
  p.StartDeciders();
  HttpResult after;
  for (int i = 0; i < 200 && after.status != 201; ++i) {
    after = p.Get("root", path);
    if (after.status != 201) std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(after.status, 201) << after.body;
  EXPECT_EQ(after.Json()["event"]["type"], "fr.cpts.cpts.registered.v1");
}

TEST(RejectionHttpStatus, SortsCodesByWhatTheCallerMustChange) {
  EXPECT_EQ(RejectionHttpStatus("already_registered"), 409);
  EXPECT_EQ(RejectionHttpStatus("gp_at_capacity"), 409);
  EXPECT_EQ(RejectionHttpStatus("campaign_closed"), 409);
  EXPECT_EQ(RejectionHttpStatus("unknown_referral"), 422);
  EXPECT_EQ(RejectionHttpStatus("not_acknowledged"), 422);
  EXPECT_EQ(RejectionHttpStatus("forbidden"), 403);
  EXPECT_EQ(RejectionHttpStatus("a_code_added_later"), 422);
}

TEST(RejectionHttpStatus, ClassifiesEveryCodeTheDecidersGive) {
  // Every Reject("code", ...) and Rejection{"code", ...} of the deciders and the processor.
  const std::regex rejection(R"re((Reject\(|Rejection\{)\s*"([a-z_]+)")re");
  std::set<std::string> codes;
  for (const auto& file :
       std::filesystem::directory_iterator(std::string(CPTS_SOURCE_DIR) + "/aggregates")) {
    if (file.path().extension() != ".cc") continue;
    std::ifstream in(file.path());
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (std::sregex_iterator it(text.begin(), text.end(), rejection), end; it != end; ++it) {
      codes.insert((*it)[2]);
    }
  }
  ASSERT_GE(codes.size(), 20u) << "the deciders' sources were not found";
  for (const std::string& code : codes) {
    EXPECT_TRUE(RejectionHttpStatuses().contains(code))
        << code << " has no HTTP status: add it to RejectionHttpStatuses (command_routes.cc)";
  }
}

}  // namespace
}  // namespace cpts::api
