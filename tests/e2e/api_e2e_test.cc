// cptsd end to end: real cptsd processes, curl over loopback, nothing of cptsd's insides.
//
// One suite, instantiated twice:
//   Embedded  one cptsd on the embedded log: writes and reads go to the same process;
//   Kafka     two cptsd on the test broker, each with its own read models: every command is
//             sent to the first (the writer) and every read goes to the second (the reader),
//             with the command's position (read-your-writes), so every test also shows that a
//             write through one instance is read through the other.
// The cptsd processes serve the whole suite (started by the first test, stopped after the
// last), so tests use ids of their own (discharges, referrals, CPTS) and never count what other
// tests may have added, except in the CPTS a test owns.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "aggregates/command.h"
#include "connectors/api/openapi.h"
#include "connectors/health_secrets.h"
#include "events/json.h"
#include "tests/e2e/cptsd_harness.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_broker.h"

namespace cpts::e2e {
namespace {

using api::RouteDoc;
using api::RouteDocs;
using api::RouteGroup;
using json = ::cpts::Json;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

// The CPTS the suite sets up (registered, two members); the other one scopes coordinators.
const std::string kCpts = "cpts-haut-doubs";
const std::string kOtherCpts = "cpts-vesoul";
const std::string kRegion = "27";
const std::string kGp = "rpps:10001234565";
const std::string kNurse = "rpps:10100000008";
const std::string kOtherGp = "rpps:10003456786";  // joins and leaves in the commands test
const std::string kHospital = "250000452";        // CH Pontarlier
const std::string kOtherHospital = "250000015";
// Valid NIRs (key = 97 - number mod 97), each patient a test's own.
const std::string kAliceNir = "253072B07300470";
const std::string kBrunoNir = "295109912611193";
const std::string kCarlaNir = "290126938801215";
const std::string kDenisNir = "185057512345673";
const std::string kEmmaNir = "265091305522268";
const std::string kBadNir = "253072B07300471";  // a wrong key

enum class LogKind { kEmbedded, kKafka };
void PrintTo(LogKind kind, std::ostream* out) {
  *out << (kind == LogKind::kKafka ? "Kafka" : "Embedded");
}

json Identity(const std::string& family) {
  return {{"family_name", family},
          {"given_names", "Camille"},
          {"birth_date", "1948-05-17"},
          {"phone", "+33 3 81 00 00 00"}};
}

json DischargeData(const std::string& id, const std::string& movement, const std::string& nir,
                   const std::string& finess = kHospital) {
  return {{"discharge_id", id},
          {"finess", finess},
          {"movement_id", movement},
          {"visit_id", "VIS-" + id},
          {"patient_ins", nir},
          {"unit", "CARDIO"},
          {"commune", "25411"},
          {"discharged_at", "2026-11-20T17:45:00+01:00"},
          {"destination", "home"},
          {"exit_mode", "8"},
          {"gp", kGp},
          {"needs", {"home_nursing", "gp_visit"}},
          {"identity", Identity("Quelmaroux")}};
}

json RegisterData(const std::string& name) {
  return {{"name", name},
          {"territory", {"25462", "25411"}},
          {"population", 68000},
          {"region", kRegion}};
}

// Everything a suite runs against: the temp dir, the broker (Kafka), the cptsd processes and
// the tokens.
struct Cluster {
  TempDir dir{"api"};
  std::unique_ptr<test::TestBroker> broker;
  std::vector<std::unique_ptr<CptsdProcess>> cptsd;
  std::map<std::string, std::string> tokens;  // holder name -> token
};

class CptsdE2eTest : public ::testing::TestWithParam<LogKind> {
 protected:
  static void TearDownTestSuite() { StopCluster(); }

  void SetUp() override {
    if (!cluster_ || kind_ != GetParam()) StartCluster(GetParam());
    ASSERT_TRUE(cluster_error_.empty()) << cluster_error_;
  }

  // ---- the processes ----

  static void StartCluster(LogKind kind) {
    StopCluster();
    kind_ = kind;
    cluster_error_.clear();
    positions_.clear();
    cluster_ = std::make_unique<Cluster>();
    if (Status s = TryStartCluster(); !s.ok()) cluster_error_ = s.ToString();
  }

  static Status TryStartCluster() {
    Cluster& c = *cluster_;
    const std::string dir = c.dir.path();
    CPTS_RETURN_IF_ERROR(GenerateSecretsFile(dir + "/secrets.json"));
    auto tokens = MakeTokensFile(dir + "/tokens.json",
                                 {{"root", "admin"},
                                  {"claire", "coordinator", "cptsid", kCpts},
                                  {"victor", "coordinator", "cptsid", kOtherCpts},
                                  {"ch-pontarlier", "hospital", "finess", kHospital},
                                  {"dr-bourgeois", "professional", "professional", kGp},
                                  {"nurse-martin", "professional", "professional", kNurse},
                                  {"wallboard", "dashboard"},
                                  {"cnil", "auditor"}});
    if (!tokens.ok()) return tokens.status();
    c.tokens = std::move(*tokens);

    std::vector<std::string> common = {
        "--tokens-file", dir + "/tokens.json", "--secrets-file", dir + "/secrets.json",
        // Small enough that a test can cross it cheaply (the smallest allowed is 1 KiB).
        "--max-body-bytes", "65536",
        // A read waiting for a position nobody wrote gives up after this (504).
        "--read-your-writes-wait-ms", "5000",
        // A feed client that went away is noticed at the next heartbeat: keep streams few.
        "--sse-heartbeat-seconds", "1"};
    const int instances = kind_ == LogKind::kKafka ? 2 : 1;
    if (kind_ == LogKind::kKafka) {
      // The test broker cannot create topics through the Admin API: they exist beforehand, as
      // an operator would create them on a real cluster (docs/log.md).
      std::vector<std::pair<std::string, int>> topics;
      for (const char* name : {"commands", "events", "access", "keys"}) {
        topics.emplace_back(std::string("cpts.") + name, 16);
      }
      auto broker = test::TestBroker::Start({.brokers = 1, .topics = topics});
      if (!broker.ok()) return broker.status();
      c.broker = std::move(*broker);
      // An empty fetch waits fetch.wait.max.ms on the test broker (500 ms by default): the
      // followers would idle between records.
      common.insert(common.end(),
                    {"--kafka", c.broker->bootstrap(), "--kafka-property", "fetch.wait.max.ms=10",
                     "--kafka-property", "reconnect.backoff.max.ms=500"});
    }
    for (int i = 0; i < instances; ++i) {
      std::vector<std::string> args = common;
      args.insert(args.end(), {"--data-dir", dir + "/data-" + std::to_string(i)});
      auto started = CptsdProcess::Start(args);
      if (!started.ok()) return started.status().WithContext("starting cptsd " + std::to_string(i));
      c.cptsd.push_back(std::move(*started));
    }
    // Both decider group members joined and the read models caught up (first join, then a
    // rebalance when the second arrives, on Kafka). A cptsd never ready is reported by
    // OperationalEndpointsAnswerWithoutAToken; the other tests go on (a command not decided in
    // time answers 202 and SendCommand follows it up).
    for (const auto& cptsd : c.cptsd) {
      Reply ready = WaitForStatus(cptsd->url() + "/readyz", 200, 60s);
      if (ready.status != 200) {
        std::fprintf(stderr, "e2e: %s never ready: %s\n", cptsd->url().c_str(),
                     ready.Show().c_str());
      }
    }
    return SetUpCpts();
  }

  // The suite's data: two CPTS, a GP and a nurse members of the first, the GP's capacity.
  static Status SetUpCpts() {
    struct Step {
      std::string who, cpts, type;
      json data;
    };
    const std::vector<Step> steps = {
        {"root", kCpts, "cpts.register", RegisterData("CPTS du Haut-Doubs")},
        {"root", kOtherCpts, "cpts.register", RegisterData("CPTS de Vesoul")},
        {"claire",
         kCpts,
         "membership.join",
         {{"member_id", kGp},
          {"member_kind", "professional"},
          {"profession", "general_practitioner"},
          {"practice_mode", "maison_de_sante"},
          {"commune", "25462"},
          {"display_name", "Dr Claire Bourgeois"}}},
        {"claire",
         kCpts,
         "membership.join",
         {{"member_id", kNurse},
          {"member_kind", "professional"},
          {"profession", "nurse"},
          {"practice_mode", "alone"},
          {"commune", "25411"},
          {"display_name", "Martin"}}},
        {"dr-bourgeois",
         kCpts,
         "access.declare_capacity",
         {{"gp", kGp}, {"new_patients_capacity", 100}}},
    };
    for (const Step& step : steps) {
      Reply r = SendCommand(step.who, step.cpts, step.type, step.data);
      if (r.status != 201) {
        return Status::Internal("setting up: " + step.type + " answered " + r.Show());
      }
    }
    return Status::Ok();
  }

  static void StopCluster() {
    if (!cluster_) return;
    // Each cptsd stops cleanly on SIGTERM: exit 0. Checked here rather than in a test of its
    // own, so that it holds after everything the suite did.
    for (auto& cptsd : cluster_->cptsd) {
      Result<int> exit_status = cptsd->Stop();
      EXPECT_TRUE(exit_status.ok()) << exit_status.status().ToString();
      if (exit_status.ok()) {
        EXPECT_EQ(*exit_status, 0) << "cptsd did not stop cleanly";
      }
    }
    cluster_.reset();
  }

  // ---- requests ----

  static std::string Token(const std::string& who) { return cluster_->tokens.at(who); }
  static const std::string& WriterUrl() { return cluster_->cptsd.front()->url(); }
  static const std::string& ReaderUrl() { return cluster_->cptsd.back()->url(); }
  static std::string CommandUrl(const std::string& cpts, const std::string& type) {
    return WriterUrl() + "/v1/cpts/" + cpts + "/commands/" + type;
  }

  // Sends a command to the writer. A 202 (not decided within the wait: a rebalance on Kafka) is
  // followed up on the outcome route until decided. Records the answer's position.
  static Reply SendCommand(const std::string& who, const std::string& cpts, const std::string& type,
                           const json& data, const std::vector<std::string>& headers = {},
                           const std::string& base_url = {}) {
    const std::string base = base_url.empty() ? WriterUrl() : base_url;
    Reply r = Curl("POST", base + "/v1/cpts/" + cpts + "/commands/" + type,
                   {.token = Token(who), .body = data.dump(), .headers = headers});
    if (r.status == 202 && r.json.is_object() && r.json.contains("command_id")) {
      const std::string outcome_url =
          base + "/v1/cpts/" + cpts + "/commands/" + r.json["command_id"].get<std::string>();
      for (auto deadline = std::chrono::steady_clock::now() + 60s;
           std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(200ms)) {
        Reply outcome = Curl("GET", outcome_url, {.token = Token(who)});
        if (outcome.status != 404 && outcome.status != 202) {
          r = outcome;
          break;
        }
      }
    }
    RecordPosition(r);
    return r;
  }

  static void RecordPosition(const Reply& r) {
    if (!r.json.is_object() || !r.json.contains("position") || !r.json["position"].is_string()) {
      return;
    }
    static const std::regex kPosition(R"((\d+):(\d+))");
    const std::string text = r.json["position"];
    for (std::sregex_iterator it(text.begin(), text.end(), kPosition), end; it != end; ++it) {
      const int partition = std::stoi((*it)[1]);
      const int64_t offset = std::stoll((*it)[2]);
      positions_[partition] = std::max(positions_[partition], offset);
    }
  }

  // "p:o,p:o": every position this suite's commands reached.
  static std::string Positions() {
    std::string text;
    for (const auto& [partition, offset] : positions_) {
      text += (text.empty() ? "" : ",") + std::to_string(partition) + ":" + std::to_string(offset);
    }
    return text;
  }

  // A command that must be accepted: 201 with the contract's fields; returns the answer.
  static json Accepted(const std::string& who, const std::string& cpts, const std::string& type,
                       const json& data, const std::vector<std::string>& headers = {}) {
    Reply r = SendCommand(who, cpts, type, data, headers);
    EXPECT_EQ(r.status, 201) << type << ": " << r.Show();
    if (r.status != 201) return json();
    EXPECT_EQ(r.json["outcome"], "accepted") << r.Show();
    EXPECT_TRUE(r.json["command_id"].is_string()) << r.Show();
    EXPECT_TRUE(r.json["event"]["id"].is_string()) << r.Show();
    EXPECT_TRUE(r.json["event"]["type"].is_string()) << r.Show();
    EXPECT_TRUE(r.json["event"]["sequence"].is_number_integer()) << r.Show();
    EXPECT_TRUE(r.json["event"]["time"].is_string()) << r.Show();
    EXPECT_THAT(r.json.value("position", ""), ::testing::MatchesRegex("[0-9]+:[0-9]+")) << r.Show();
    return r.json;
  }

  // A GET on the reader, waiting (?position=) for every command sent so far.
  static Reply Get(const std::string& who, const std::string& path, bool wait = true) {
    std::string url = ReaderUrl() + path;
    if (wait && !positions_.empty()) {
      url += (path.find('?') == std::string::npos ? "?" : "&") + std::string("position=") +
             Positions();
    }
    return Curl("GET", url, {.token = who.empty() ? "" : Token(who)});
  }

  static bool kafka() { return kind_ == LogKind::kKafka; }

  static inline std::unique_ptr<Cluster> cluster_;
  static inline LogKind kind_ = LogKind::kEmbedded;
  static inline std::string cluster_error_;
  static inline std::map<int, int64_t> positions_;
};

// The route patterns of the contract, with their parameters filled: ":cpts" -> `cpts`...
std::string Fill(std::string pattern, const std::map<std::string, std::string>& values) {
  for (const auto& [name, value] : values) {
    const std::string param = ":" + name;
    for (size_t at; (at = pattern.find(param)) != std::string::npos;) {
      pattern.replace(at, param.size(), value);
    }
  }
  return pattern;
}

// ---- operations ----

TEST_P(CptsdE2eTest, OperationalEndpointsAnswerWithoutAToken) {
  for (const auto& cptsd : cluster_->cptsd) {
    Reply health = Curl("GET", cptsd->url() + "/healthz");
    EXPECT_EQ(health.status, 200) << health.Show();
    EXPECT_EQ(health.json["status"], "ok") << health.Show();

    Reply ready = Curl("GET", cptsd->url() + "/readyz");
    EXPECT_EQ(ready.status, 200) << ready.Show();

    Reply openapi = Curl("GET", cptsd->url() + "/openapi.json");
    ASSERT_EQ(openapi.status, 200) << openapi.Show();
    EXPECT_THAT(openapi.json.value("openapi", ""), ::testing::StartsWith("3."));
    EXPECT_TRUE(openapi.json["paths"].is_object() && !openapi.json["paths"].empty());

    Reply metrics = Curl("GET", cptsd->url() + "/metrics");
    ASSERT_EQ(metrics.status, 200) << metrics.Show();
    EXPECT_THAT(metrics.Header("content-type"), HasSubstr("text/plain"));
    EXPECT_THAT(metrics.body, HasSubstr("cpts_http_request_duration_seconds_bucket{"));
    // promtool exits non-zero on a parse error or any lint problem (names, units, help).
    Result<std::string> lint =
        test::RunAndCapture({"promtool", "check", "metrics"}, 30s, metrics.body);
    EXPECT_TRUE(lint.ok()) << lint.status().message();
  }
  // The suite's set-up commands were decided (on Kafka, by whichever cptsd owns the CPTS's
  // partition) and their events applied by every cptsd's projector.
  std::string all;
  for (const auto& cptsd : cluster_->cptsd) {
    Reply metrics = Curl("GET", cptsd->url() + "/metrics");
    EXPECT_THAT(metrics.body, HasSubstr("cpts_events_appended_total{"));
    EXPECT_THAT(metrics.body, HasSubstr("cpts_projection_lag_records{"));
    all += metrics.body;
  }
  EXPECT_THAT(all, HasSubstr("cpts_commands_total{"));
}

// ---- commands ----

TEST_P(CptsdE2eTest, EveryCommandTypeAnswersWithItsOutcome) {
  std::set<std::string> sent;  // the command types accepted below
  auto accept = [&](const std::string& who, const std::string& type, const json& data,
                    const std::string& event_type) {
    json answer = Accepted(who, kCpts, type, data);
    EXPECT_EQ(answer["event"]["type"], event_type) << type;
    sent.insert(type);
    return answer;
  };
  const json registered = Accepted("root", "cpts-e2e-commands", "cpts.register",
                                   RegisterData("CPTS du Grand Besançon"));
  EXPECT_EQ(registered["event"]["type"], "fr.cpts.cpts.registered.v1");
  sent.insert("cpts.register");

  accept("claire", "cpts.sign_aci",
         {{"signed_on", "2026-03-02"},
          {"starts_on", "2026-04-01"},
          {"ends_on", "2031-03-31"},
          {"cpam_signatory", "CPAM du Doubs"},
          {"ars_signatory", "ARS Bourgogne-Franche-Comté"}},
         "fr.cpts.cpts.aci_signed.v1");
  const json join = {{"member_id", kOtherGp},
                     {"member_kind", "professional"},
                     {"profession", "general_practitioner"},
                     {"practice_mode", "group"},
                     {"commune", "25462"},
                     {"display_name", "Dr Autre"}};
  accept("claire", "membership.join", join, "fr.cpts.membership.member_joined.v1");
  // Joining again while a member: accepted, nothing changes.
  Reply again = SendCommand("claire", kCpts, "membership.join", join);
  EXPECT_EQ(again.status, 200) << again.Show();
  EXPECT_EQ(again.json["outcome"], "unchanged") << again.Show();
  EXPECT_TRUE(again.json["command_id"].is_string()) << again.Show();
  accept("claire", "membership.update", {{"member_id", kOtherGp}, {"practice_mode", "alone"}},
         "fr.cpts.membership.member_updated.v1");
  accept("dr-bourgeois", "access.declare_capacity", {{"gp", kGp}, {"new_patients_capacity", 100}},
         "fr.cpts.access.gp_capacity_declared.v1");

  // Access to a médecin traitant: Carla is referred, declined, referred again, accepted,
  // assigned; Denis registers and withdraws.
  const json carla = {{"patient_ins", kCarlaNir},
                      {"age_band", "70-79"},
                      {"ald", true},
                      {"c2s", false},
                      {"commune", "25411"},
                      {"registered_at", "2026-11-02T09:30:00+01:00"},
                      {"identity", Identity("Carla")}};
  accept("claire", "access.register_patient", carla, "fr.cpts.access.patient_registered.v2");
  accept("claire", "access.issue_referral",
         {{"referral_id", "REF-C1"}, {"patient_ins", kCarlaNir}, {"gp", kGp}},
         "fr.cpts.access.referral_issued.v1");
  accept("dr-bourgeois", "access.decline_referral",
         {{"referral_id", "REF-C1"}, {"reason", "other"}}, "fr.cpts.access.referral_declined.v1");
  accept("claire", "access.issue_referral",
         {{"referral_id", "REF-C2"}, {"patient_ins", kCarlaNir}, {"gp", kGp}},
         "fr.cpts.access.referral_issued.v1");
  accept("dr-bourgeois", "access.accept_referral", {{"referral_id", "REF-C2"}},
         "fr.cpts.access.referral_accepted.v1");
  accept("claire", "access.assign_gp",
         {{"patient_ins", kCarlaNir}, {"gp", kGp}, {"referral_id", "REF-C2"}},
         "fr.cpts.access.gp_assigned.v1");
  json denis = carla;
  denis["patient_ins"] = kDenisNir;
  denis["identity"] = Identity("Denis");
  accept("claire", "access.register_patient", denis, "fr.cpts.access.patient_registered.v2");
  accept("claire", "access.withdraw_request",
         {{"patient_ins", kDenisNir}, {"reason", "found_gp_elsewhere"}},
         "fr.cpts.access.request_withdrawn.v1");

  // Ville-hôpital: an admission (sent twice, as hospitals do), a discharge followed up to the
  // end, another cancelled.
  const json admission = {{"finess", kHospital},  {"movement_id", "MVT-C0"},
                          {"visit_id", "VIS-C0"}, {"patient_ins", kCarlaNir},
                          {"unit", "CARDIO"},     {"admitted_at", "2026-11-18T10:12:00+01:00"},
                          {"commune", "25411"}};
  accept("ch-pontarlier", "stay.notify_admission", admission, "fr.cpts.stay.admission_notified.v1");
  Reply repeated = SendCommand("ch-pontarlier", kCpts, "stay.notify_admission", admission);
  EXPECT_EQ(repeated.status, 200) << repeated.Show();
  EXPECT_EQ(repeated.json["outcome"], "unchanged") << repeated.Show();
  accept("ch-pontarlier", "discharge.notify", DischargeData("DIS-C1", "MVT-C1", kCarlaNir),
         "fr.cpts.discharge.notified.v1");
  accept("claire", "followup.assign",
         {{"followup_id", "FU-C1"},
          {"discharge_id", "DIS-C1"},
          {"professional", kNurse},
          {"need", "home_nursing"}},
         "fr.cpts.followup.assigned.v1");
  accept("nurse-martin", "followup.acknowledge", {{"followup_id", "FU-C1"}},
         "fr.cpts.followup.acknowledged.v1");
  // Twice: a rejection conflicting with the state, 409, recorded as an event too.
  Reply twice =
      SendCommand("nurse-martin", kCpts, "followup.acknowledge", {{"followup_id", "FU-C1"}});
  EXPECT_EQ(twice.status, 409) << twice.Show();
  EXPECT_EQ(twice.ErrorCode(), "already_acknowledged") << twice.Show();
  EXPECT_EQ(twice.json["outcome"], "rejected") << twice.Show();
  EXPECT_EQ(twice.json["event"]["type"], "fr.cpts.command.rejected.v1") << twice.Show();
  EXPECT_TRUE(twice.json["command_id"].is_string()) << twice.Show();
  EXPECT_TRUE(twice.json["position"].is_string()) << twice.Show();
  accept("nurse-martin", "followup.complete",
         {{"followup_id", "FU-C1"}, {"visited_at", "2026-11-21T09:00:00+01:00"}},
         "fr.cpts.followup.completed.v1");
  accept("ch-pontarlier", "discharge.notify", DischargeData("DIS-C2", "MVT-C2", kCarlaNir),
         "fr.cpts.discharge.notified.v1");
  accept("ch-pontarlier", "discharge.cancel",
         {{"discharge_id", "DIS-C2"}, {"movement_id", "MVT-C2"}, {"reason", "A13"}},
         "fr.cpts.discharge.cancelled.v1");

  // Unscheduled care: one request given care, one redirected.
  const json request = {{"request_id", "SNP-C1"},
                        {"patient_ins", kCarlaNir},
                        {"received_at", "2026-11-22T08:00:00+01:00"},
                        {"motive", "fever for two days"},
                        {"commune", "25411"}};
  accept("claire", "snp.receive_request", request, "fr.cpts.snp.request_received.v1");
  accept(
      "dr-bourgeois", "snp.offer_slot",
      {{"request_id", "SNP-C1"}, {"professional", kGp}, {"slot_at", "2026-11-22T17:30:00+01:00"}},
      "fr.cpts.snp.slot_offered.v1");
  accept(
      "dr-bourgeois", "snp.give_care",
      {{"request_id", "SNP-C1"}, {"professional", kGp}, {"given_at", "2026-11-22T17:40:00+01:00"}},
      "fr.cpts.snp.care_given.v1");
  json request2 = request;
  request2["request_id"] = "SNP-C2";
  accept("claire", "snp.receive_request", request2, "fr.cpts.snp.request_received.v1");
  accept("claire", "snp.redirect",
         {{"request_id", "SNP-C2"},
          {"redirected_to", "sos_medecins"},
          {"redirected_at", "2026-11-22T08:20:00+01:00"}},
         "fr.cpts.snp.request_redirected.v1");

  // Prevention.
  accept("claire", "prevention.launch_campaign",
         {{"campaign_id", "CAMP-C"},
          {"theme", "breast_cancer"},
          {"title", "Octobre rose"},
          {"target_population", 12000},
          {"sites", {{{"site_id", "S1"}, {"name", "MSP Pontarlier"}, {"commune", "25462"}}}},
          {"partners", {"CPAM du Doubs"}},
          {"starts_on", "2026-10-01"},
          {"ends_on", "2026-10-31"}},
         "fr.cpts.prevention.campaign_launched.v1");
  accept("dr-bourgeois", "prevention.record_participation",
         {{"campaign_id", "CAMP-C"},
          {"site_id", "S1"},
          {"professional", kGp},
          {"participated_at", "2026-10-12T11:00:00+02:00"}},
         "fr.cpts.prevention.participation_recorded.v1");
  accept("claire", "prevention.close_campaign", {{"campaign_id", "CAMP-C"}},
         "fr.cpts.prevention.campaign_closed.v1");

  accept("claire", "membership.leave", {{"member_id", kOtherGp}},
         "fr.cpts.membership.member_left.v1");
  accept("claire", "patient.erase", {{"patient_ins", kDenisNir}, {"basis", "erasure_request"}},
         "fr.cpts.patient.erased.v1");

  // Every command route of the contract was exercised above.
  std::set<std::string> routes;
  for (const RouteDoc* doc : RouteDocs(RouteGroup::kCommands)) {
    if (!doc->command_type.empty()) routes.insert(doc->command_type);
  }
  EXPECT_EQ(sent, routes);
  std::set<std::string> types;
  for (const auto& spec : aggregates::CommandTypes()) types.insert(std::string(spec.type));
  EXPECT_EQ(sent, types);
}

TEST_P(CptsdE2eTest, RejectionsAnswer409Or422WithTheDecidersReason) {
  // Refers to something that does not exist: 422.
  Reply unknown =
      SendCommand("claire", kCpts, "access.accept_referral", {{"referral_id", "REF-NOWHERE"}});
  EXPECT_EQ(unknown.status, 422) << unknown.Show();
  EXPECT_EQ(unknown.ErrorCode(), "unknown_referral") << unknown.Show();
  EXPECT_THAT(unknown.ErrorMessage(), HasSubstr("REF-NOWHERE"));
  EXPECT_EQ(unknown.json["outcome"], "rejected") << unknown.Show();
  EXPECT_EQ(unknown.json["error"]["status"], 422) << unknown.Show();
  // Conflicts with the state: 409.
  Reply registered = SendCommand("root", kCpts, "cpts.register", RegisterData("Encore"));
  EXPECT_EQ(registered.status, 409) << registered.Show();
  EXPECT_EQ(registered.ErrorCode(), "already_registered") << registered.Show();
  // A CPTS nobody registered: 422.
  Reply unregistered =
      SendCommand("root", "cpts-nowhere", "membership.leave", {{"member_id", kGp}});
  EXPECT_EQ(unregistered.status, 422) << unregistered.Show();
  EXPECT_EQ(unregistered.ErrorCode(), "unknown_cpts") << unregistered.Show();
}

TEST_P(CptsdE2eTest, TheOutcomeRouteAnswersWhatACommandBecame) {
  const json first = Accepted("ch-pontarlier", kCpts, "discharge.notify",
                              DischargeData("DIS-O1", "MVT-O1", kAliceNir));
  ASSERT_TRUE(first.is_object());
  const std::string path =
      "/v1/cpts/" + kCpts + "/commands/" + first["command_id"].get<std::string>();
  // Asked of the reader: its read models hold the outcome once they reach the position.
  Reply outcome;
  for (auto deadline = std::chrono::steady_clock::now() + 30s;
       std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(200ms)) {
    outcome = Get("ch-pontarlier", path, /*wait=*/false);
    if (outcome.status != 404) break;
  }
  EXPECT_THAT(outcome.status, ::testing::AnyOf(200, 201)) << outcome.Show();
  EXPECT_EQ(outcome.json["outcome"], "accepted") << outcome.Show();
  EXPECT_EQ(outcome.json["command_id"], first["command_id"]) << outcome.Show();
  EXPECT_EQ(outcome.json["event"]["id"], first["event"]["id"]) << outcome.Show();
  EXPECT_EQ(outcome.json["position"], first["position"]) << outcome.Show();

  Reply unknown = Get("root", "/v1/cpts/" + kCpts + "/commands/api-nothing-of-the-sort");
  EXPECT_EQ(unknown.status, 404) << unknown.Show();
  // No such command type: the path is the outcome route's, which takes GET only.
  Reply no_route = SendCommand("root", kCpts, "discharge.teleport", {{"x", 1}});
  EXPECT_EQ(no_route.status, 405) << no_route.Show();
  EXPECT_THAT(no_route.Header("allow"), HasSubstr("GET"));
}

// ---- queries ----

TEST_P(CptsdE2eTest, EveryQueryRouteAnswersWithFiltersAndPages) {
  Accepted("ch-pontarlier", kCpts, "discharge.notify", DischargeData("DIS-Q1", "MVT-Q1", kEmmaNir));
  Accepted("claire", kCpts, "followup.assign",
           {{"followup_id", "FU-Q1"},
            {"discharge_id", "DIS-Q1"},
            {"professional", kNurse},
            {"need", "home_nursing"}});
  Accepted("claire", kCpts, "prevention.launch_campaign",
           {{"campaign_id", "CAMP-Q"},
            {"theme", "breast_cancer"},
            {"title", "Octobre rose"},
            {"target_population", 1000},
            {"sites", {{{"site_id", "S1"}, {"name", "MSP"}, {"commune", "25462"}}}},
            {"partners", {"CPAM du Doubs"}},
            {"starts_on", "2026-10-01"},
            {"ends_on", "2026-10-31"}});

  const std::map<std::string, std::string> params = {
      {"cpts", kCpts}, {"professional", kNurse}, {"region", kRegion}, {"campaign", "CAMP-Q"}};
  int routes = 0;
  for (const RouteDoc* doc : RouteDocs(RouteGroup::kQueries)) {
    if (doc->method != "GET" || doc->pattern.find(":command_id") != std::string::npos) continue;
    ++routes;
    Reply r = Get("root", Fill(doc->pattern, params));
    EXPECT_EQ(r.status, 200) << doc->pattern << ": " << r.Show();
    EXPECT_TRUE(r.json.is_object()) << doc->pattern << ": " << r.Show();
  }
  EXPECT_GE(routes, 15);

  // What the writes made, read through the reader.
  Reply cpts_list = Get("wallboard", "/v1/cpts?region=" + kRegion);
  ASSERT_EQ(cpts_list.status, 200) << cpts_list.Show();
  EXPECT_THAT(cpts_list.body, HasSubstr(kCpts));
  Reply one = Get("wallboard", "/v1/cpts/" + kCpts);
  EXPECT_EQ(one.status, 200) << one.Show();
  EXPECT_THAT(one.body, HasSubstr("CPTS du Haut-Doubs"));

  Reply roster = Get("claire", "/v1/cpts/" + kCpts + "/roster?profession=general_practitioner");
  ASSERT_EQ(roster.status, 200) << roster.Show();
  EXPECT_THAT(roster.body, HasSubstr(kGp));
  EXPECT_THAT(roster.body, Not(HasSubstr(kNurse)));
  Reply page = Get("claire", "/v1/cpts/" + kCpts + "/roster?offset=0&limit=1");
  ASSERT_EQ(page.status, 200) << page.Show();
  EXPECT_EQ(page.json["items"].size(), 1u) << page.Show();
  EXPECT_GE(page.json.value("total", 0), 2) << page.Show();

  Reply gps = Get("claire", "/v1/cpts/" + kCpts + "/gps");
  EXPECT_THAT(gps.body, HasSubstr(kGp));
  Reply handoff = Get("claire", "/v1/cpts/" + kCpts + "/handoff?finess=" + kHospital);
  ASSERT_EQ(handoff.status, 200) << handoff.Show();
  EXPECT_THAT(handoff.body, HasSubstr("DIS-Q1"));
  // A coordinator opens identities in its CPTS; the NIR itself is never shown.
  EXPECT_THAT(handoff.body, HasSubstr("Quelmaroux"));
  EXPECT_THAT(handoff.body, Not(HasSubstr(kEmmaNir)));
  Reply other_hospital = Get("claire", "/v1/cpts/" + kCpts + "/handoff?finess=" + kOtherHospital);
  EXPECT_THAT(other_hospital.body, Not(HasSubstr("DIS-Q1")));
  Reply worklist = Get("nurse-martin", "/v1/professionals/" + kNurse + "/worklist");
  ASSERT_EQ(worklist.status, 200) << worklist.Show();
  EXPECT_THAT(worklist.body, HasSubstr("FU-Q1"));
  Reply campaign = Get("claire", "/v1/cpts/" + kCpts + "/campaigns/CAMP-Q");
  EXPECT_EQ(campaign.status, 200) << campaign.Show();
  Reply no_campaign = Get("claire", "/v1/cpts/" + kCpts + "/campaigns/CAMP-NONE");
  EXPECT_EQ(no_campaign.status, 404) << no_campaign.Show();
  Reply at = Get("claire", "/v1/cpts/" + kCpts + "/indicators?at=2026-12-01T00:00:00Z");
  EXPECT_EQ(at.status, 200) << at.Show();
}

TEST_P(CptsdE2eTest, AWriteIsReadWithItsPositionThroughTheOtherInstance) {
  // On Kafka the command goes to one cptsd and the read to the other, whose read models follow
  // the events topic on their own: the position makes the read wait for the write.
  const json sent = Accepted("ch-pontarlier", kCpts, "discharge.notify",
                             DischargeData("DIS-RYW", "MVT-RYW", kBrunoNir));
  ASSERT_TRUE(sent.is_object());
  const std::string position = sent["position"];
  Reply read = Curl("GET", ReaderUrl() + "/v1/cpts/" + kCpts + "/handoff?position=" + position,
                    {.token = Token("claire")});
  ASSERT_EQ(read.status, 200) << read.Show();
  EXPECT_THAT(read.body, HasSubstr("DIS-RYW"));

  // A position no write reached: the read waits its bound, then 504.
  Reply beyond = Curl("GET", ReaderUrl() + "/v1/cpts/" + kCpts + "/handoff?position=0:999999999",
                      {.token = Token("claire")});
  EXPECT_EQ(beyond.status, 504) << beyond.Show();
  EXPECT_EQ(beyond.ErrorCode(), "timed_out") << beyond.Show();
}

// ---- authentication and roles ----

TEST_P(CptsdE2eTest, RequestsWithoutAValidTokenGet401WithWwwAuthenticate) {
  const std::string url = ReaderUrl() + "/v1/cpts/" + kCpts;
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"no header", {}},
      {"unknown token", {"Authorization: Bearer cpts_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}},
      {"malformed header", {"Authorization: Basic cm9vdDpyb290"}},
      {"empty bearer", {"Authorization: Bearer "}},
  };
  for (const auto& [name, headers] : cases) {
    Reply r = Curl("GET", url, {.headers = headers});
    EXPECT_EQ(r.status, 401) << name << ": " << r.Show();
    EXPECT_THAT(r.Header("www-authenticate"), HasSubstr("Bearer")) << name;
    EXPECT_EQ(r.json["error"]["status"], 401) << name << ": " << r.Show();
    EXPECT_FALSE(r.ErrorMessage().empty()) << name;
  }
  // Commands too: nothing is sent without a caller.
  Reply command = Curl("POST", CommandUrl(kCpts, "discharge.notify"),
                       {.body = DischargeData("DIS-401", "MVT-401", kAliceNir).dump()});
  EXPECT_EQ(command.status, 401) << command.Show();
  EXPECT_THAT(command.body, Not(HasSubstr(kAliceNir)));
}

TEST_P(CptsdE2eTest, AHospitalNotifiesItsOwnDischargesOnlyAndReadsAggregates) {
  Accepted("ch-pontarlier", kCpts, "discharge.notify",
           DischargeData("DIS-H1", "MVT-H1", kAliceNir));
  Reply other = SendCommand("ch-pontarlier", kCpts, "discharge.notify",
                            DischargeData("DIS-H2", "MVT-H2", kAliceNir, kOtherHospital));
  EXPECT_EQ(other.status, 403) << other.Show();
  EXPECT_EQ(other.json["error"]["status"], 403) << other.Show();
  EXPECT_THAT(other.body, Not(HasSubstr(kAliceNir)));
  // A discharge another hospital notified: the decider alone knows whose it is (forbidden, 403).
  Accepted("root", kCpts, "discharge.notify",
           DischargeData("DIS-H3", "MVT-H3", kAliceNir, kOtherHospital));
  Reply cancel =
      SendCommand("ch-pontarlier", kCpts, "discharge.cancel",
                  {{"discharge_id", "DIS-H3"}, {"movement_id", "MVT-H3"}, {"reason", "A13"}});
  EXPECT_EQ(cancel.status, 403) << cancel.Show();
  EXPECT_EQ(cancel.ErrorCode(), "forbidden") << cancel.Show();
  Accepted("ch-pontarlier", kCpts, "discharge.cancel",
           {{"discharge_id", "DIS-H1"}, {"movement_id", "MVT-H1"}, {"reason", "A13"}});
  // Other commands are not a hospital's.
  Reply join = SendCommand("ch-pontarlier", kCpts, "membership.leave", {{"member_id", kGp}});
  EXPECT_EQ(join.status, 403) << join.Show();

  EXPECT_EQ(Get("ch-pontarlier", "/v1/cpts/" + kCpts + "/indicators").status, 200);
  EXPECT_EQ(Get("ch-pontarlier", "/v1/cpts/" + kOtherCpts).status, 200);
  for (const std::string view : {"handoff", "queue", "referrals", "snp"}) {
    Reply r = Get("ch-pontarlier", "/v1/cpts/" + kCpts + "/" + view);
    EXPECT_EQ(r.status, 403) << view << ": " << r.Show();
  }
  Reply feed = Curl("GET", ReaderUrl() + "/v1/cpts/" + kCpts + "/feed",
                    {.token = Token("ch-pontarlier"), .max_time = 10s});
  EXPECT_EQ(feed.status, 403) << feed.Show();
}

TEST_P(CptsdE2eTest, ACoordinatorActsAndReadsInItsOwnCptsOnly) {
  Accepted("claire", kCpts, "snp.receive_request",
           {{"request_id", "SNP-K1"},
            {"patient_ins", kAliceNir},
            {"received_at", "2026-11-22T08:00:00+01:00"},
            {"motive", "fièvre"},
            {"commune", "25411"}});
  Reply elsewhere = SendCommand("claire", kOtherCpts, "snp.receive_request",
                                {{"request_id", "SNP-K2"},
                                 {"patient_ins", kAliceNir},
                                 {"received_at", "2026-11-22T08:00:00+01:00"},
                                 {"motive", "fièvre"},
                                 {"commune", "25411"}});
  EXPECT_EQ(elsewhere.status, 403) << elsewhere.Show();
  EXPECT_THAT(elsewhere.body, Not(HasSubstr(kAliceNir)));
  // The other CPTS's coordinator may.
  Accepted("victor", kOtherCpts, "snp.receive_request",
           {{"request_id", "SNP-K2"},
            {"patient_ins", kAliceNir},
            {"received_at", "2026-11-22T08:00:00+01:00"},
            {"motive", "fièvre"},
            {"commune", "25411"}});

  for (const std::string view : {"queue", "snp", "handoff", "referrals", "roster", "gps"}) {
    EXPECT_EQ(Get("claire", "/v1/cpts/" + kCpts + "/" + view).status, 200) << view;
    EXPECT_EQ(Get("claire", "/v1/cpts/" + kOtherCpts + "/" + view).status, 403) << view;
  }
  Reply snp = Get("claire", "/v1/cpts/" + kCpts + "/snp");
  EXPECT_THAT(snp.body, HasSubstr("SNP-K1"));
  EXPECT_THAT(snp.body, Not(HasSubstr("SNP-K2")));
  // Worklists span CPTS: not a coordinator's (docs/api-security.md).
  EXPECT_EQ(Get("claire", "/v1/professionals/" + kNurse + "/worklist").status, 403);
  Reply feed = Curl("GET", ReaderUrl() + "/v1/cpts/" + kOtherCpts + "/feed",
                    {.token = Token("claire"), .max_time = 10s});
  EXPECT_EQ(feed.status, 403) << feed.Show();
}

TEST_P(CptsdE2eTest, AProfessionalReadsItsOwnWorklistAndActsForItself) {
  Accepted("ch-pontarlier", kCpts, "discharge.notify",
           DischargeData("DIS-P1", "MVT-P1", kBrunoNir));
  Accepted("claire", kCpts, "followup.assign",
           {{"followup_id", "FU-P1"},
            {"discharge_id", "DIS-P1"},
            {"professional", kNurse},
            {"need", "home_nursing"}});

  Reply own = Get("nurse-martin", "/v1/professionals/" + kNurse + "/worklist");
  ASSERT_EQ(own.status, 200) << own.Show();
  EXPECT_THAT(own.body, HasSubstr("FU-P1"));
  // Its own worklist shows its patients' identities; never a NIR.
  EXPECT_THAT(own.body, HasSubstr("Quelmaroux"));
  EXPECT_THAT(own.body, Not(HasSubstr(kBrunoNir)));
  Reply others = Get("dr-bourgeois", "/v1/professionals/" + kNurse + "/worklist");
  EXPECT_EQ(others.status, 403) << others.Show();
  EXPECT_EQ(Get("dr-bourgeois", "/v1/cpts/" + kOtherCpts + "/indicators").status, 200);
  EXPECT_EQ(Get("dr-bourgeois", "/v1/cpts/" + kCpts + "/handoff").status, 403);

  // A follow-up assigned to someone else: the decider's word (forbidden, 403).
  Reply not_mine =
      SendCommand("dr-bourgeois", kCpts, "followup.acknowledge", {{"followup_id", "FU-P1"}});
  EXPECT_EQ(not_mine.status, 403) << not_mine.Show();
  Accepted("nurse-martin", kCpts, "followup.acknowledge", {{"followup_id", "FU-P1"}});
  // Capacity for someone else: refused before the log.
  Reply capacity = SendCommand("nurse-martin", kCpts, "access.declare_capacity",
                               {{"gp", kGp}, {"new_patients_capacity", 1}});
  EXPECT_EQ(capacity.status, 403) << capacity.Show();
}

TEST_P(CptsdE2eTest, ADashboardReadsAggregatesOnly) {
  const std::map<std::string, std::string> params = {
      {"cpts", kCpts}, {"professional", kNurse}, {"region", kRegion}, {"campaign", "CAMP-D"}};
  Accepted("claire", kCpts, "prevention.launch_campaign",
           {{"campaign_id", "CAMP-D"},
            {"theme", "breast_cancer"},
            {"title", "Dépistage"},
            {"target_population", 1000},
            {"sites", {{{"site_id", "S1"}, {"name", "MSP"}, {"commune", "25462"}}}},
            {"partners", {"CPAM du Doubs"}},
            {"starts_on", "2026-10-01"},
            {"ends_on", "2026-10-31"}});
  int aggregates = 0, patient_level = 0;
  for (const RouteDoc* doc : RouteDocs(RouteGroup::kQueries)) {
    if (doc->method != "GET" || doc->view.empty() || doc->view == "audit") continue;
    const bool patient = doc->view == "queue" || doc->view == "referrals" ||
                         doc->view == "handoff" || doc->view == "worklist" || doc->view == "snp";
    Reply r = Get("wallboard", Fill(doc->pattern, params));
    EXPECT_EQ(r.status, patient ? 403 : 200) << doc->pattern << ": " << r.Show();
    ++(patient ? patient_level : aggregates);
  }
  EXPECT_EQ(patient_level, 5);
  EXPECT_GE(aggregates, 10);
  Reply feed = Curl("GET", ReaderUrl() + "/v1/cpts/" + kCpts + "/feed",
                    {.token = Token("wallboard"), .max_time = 10s});
  EXPECT_EQ(feed.status, 403) << feed.Show();
  Reply command =
      SendCommand("wallboard", kCpts, "prevention.close_campaign", {{"campaign_id", "CAMP-D"}});
  EXPECT_EQ(command.status, 403) << command.Show();
}

TEST_P(CptsdE2eTest, AnAuditorReadsEverythingWithoutIdentitiesAndSendsNothing) {
  Accepted("ch-pontarlier", kCpts, "discharge.notify",
           DischargeData("DIS-A1", "MVT-A1", kBrunoNir));
  Accepted("claire", kCpts, "followup.assign",
           {{"followup_id", "FU-A1"},
            {"discharge_id", "DIS-A1"},
            {"professional", kNurse},
            {"need", "home_nursing"}});
  for (const std::string& path :
       {"/v1/cpts/" + kCpts + "/handoff", "/v1/cpts/" + kCpts + "/queue",
        "/v1/cpts/" + kCpts + "/snp", "/v1/professionals/" + kNurse + "/worklist",
        "/v1/cpts/" + kCpts + "/indicators"}) {
    Reply r = Get("cnil", path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.Show();
    EXPECT_THAT(r.body, Not(HasSubstr("Quelmaroux"))) << path;
  }
  Reply handoff = Get("cnil", "/v1/cpts/" + kCpts + "/handoff");
  EXPECT_THAT(handoff.body, HasSubstr("DIS-A1"));
  Reply command = SendCommand("cnil", kCpts, "followup.acknowledge", {{"followup_id", "FU-A1"}});
  EXPECT_EQ(command.status, 403) << command.Show();
}

TEST_P(CptsdE2eTest, AnAdminMayDoAnythingAnywhere) {
  Accepted("root", kOtherCpts, "membership.join",
           {{"member_id", kGp},
            {"member_kind", "professional"},
            {"profession", "general_practitioner"},
            {"practice_mode", "maison_de_sante"},
            {"commune", "70550"},
            {"display_name", "Dr Claire Bourgeois"}});
  EXPECT_EQ(Get("root", "/v1/cpts/" + kOtherCpts + "/roster").status, 200);
  EXPECT_EQ(Get("root", "/v1/professionals/" + kNurse + "/worklist").status, 200);
  EXPECT_EQ(Get("root", "/v1/cpts/" + kCpts + "/queue").status, 200);
}

// ---- bad input ----

TEST_P(CptsdE2eTest, BadInputIs400NamingTheFieldAndNeverEchoesANir) {
  struct Case {
    std::string name, type, body, field;
  };
  json wrong_type = RegisterData("CPTS");
  wrong_type["population"] = "many";
  json unknown_field = {{"member_id", kGp}, {"colour", "blue"}};
  json missing = {{"referral_id", "REF-X"}, {"patient_ins", kAliceNir}};
  json bad_nir = DischargeData("DIS-B1", "MVT-B1", kBadNir);
  json bad_finess = DischargeData("DIS-B2", "MVT-B2", kAliceNir, "250000453");
  json bad_rpps = {{"gp", "rpps:10001234566"}, {"new_patients_capacity", 3}};
  json bad_followup = {{"followup_id", "FU-B"},
                       {"discharge_id", "DIS-B"},
                       {"professional", "rpps:123"},
                       {"need", "home_nursing"}};
  json bad_identity = DischargeData("DIS-B3", "MVT-B3", kAliceNir);
  bad_identity["identity"]["birth_date"] = "1948-13-45";
  const std::vector<Case> cases = {
      {"malformed JSON", "membership.leave", R"({"member_id": )", ""},
      {"not an object", "membership.leave", "[1, 2]", ""},
      {"a key twice", "membership.leave",
       R"({"member_id": "rpps:10001234565", "member_id": "rpps:10003456786"})", ""},
      {"wrong type", "cpts.register", wrong_type.dump(), "data.population"},
      {"unknown field", "membership.leave", unknown_field.dump(), "data.colour"},
      {"missing field", "access.issue_referral", missing.dump(), "data.gp"},
      {"invalid NIR", "discharge.notify", bad_nir.dump(), "data.patient_ins"},
      {"invalid FINESS", "discharge.notify", bad_finess.dump(), "data.finess"},
      {"invalid RPPS", "access.declare_capacity", bad_rpps.dump(), "data.gp"},
      {"invalid professional", "followup.assign", bad_followup.dump(), "data.professional"},
      {"invalid identity", "discharge.notify", bad_identity.dump(), "data.identity.birth_date"},
  };
  for (const Case& c : cases) {
    Reply r = Curl("POST", CommandUrl(kCpts, c.type), {.token = Token("root"), .body = c.body});
    EXPECT_EQ(r.status, 400) << c.name << ": " << r.Show();
    EXPECT_EQ(r.json["error"]["status"], 400) << c.name << ": " << r.Show();
    EXPECT_FALSE(r.ErrorMessage().empty()) << c.name;
    if (!c.field.empty()) {
      EXPECT_EQ(r.ErrorField(), c.field) << c.name << ": " << r.Show();
      EXPECT_THAT(r.ErrorMessage(), HasSubstr(c.field.substr(c.field.rfind('.') + 1)))
          << c.name << ": " << r.Show();
    }
    for (const std::string& nir : {kAliceNir, kBadNir}) {
      EXPECT_THAT(r.body, Not(HasSubstr(nir))) << c.name;
    }
  }

  // Not JSON at all: 415.
  Reply text = Curl("POST", CommandUrl(kCpts, "membership.leave"),
                    {.token = Token("root"),
                     .body = "member_id=x",
                     .json_body = false,
                     .headers = {"Content-Type: text/plain"}});
  EXPECT_EQ(text.status, 415) << text.Show();
  // A malformed Idempotency-Key.
  Reply key = Curl("POST", CommandUrl(kCpts, "membership.leave"),
                   {.token = Token("root"),
                    .body = unknown_field.dump(),
                    .headers = {"Idempotency-Key: " + std::string(200, 'k')}});
  EXPECT_EQ(key.status, 400) << key.Show();

  // Query parameters: "query.<key>".
  const std::vector<std::pair<std::string, std::string>> queries = {
      {"/v1/cpts/" + kCpts + "/roster?colour=blue", "query.colour"},
      {"/v1/cpts/" + kCpts + "/roster?limit=many", "query.limit"},
      {"/v1/cpts/" + kCpts + "/handoff?status=late-ish", "query.status"},
      {"/v1/cpts/" + kCpts + "/handoff?at=yesterday", "query.at"},
      {"/v1/cpts/" + kCpts + "/handoff?position=somewhere", "query.position"},
      {"/v1/cpts/" + kCpts + "/roster?limit=1&limit=2", "query.limit"},
  };
  for (const auto& [path, field] : queries) {
    Reply r = Curl("GET", ReaderUrl() + path, {.token = Token("root")});
    EXPECT_EQ(r.status, 400) << path << ": " << r.Show();
    EXPECT_EQ(r.ErrorField(), field) << path << ": " << r.Show();
  }
  // A known path with another method: 405.
  Reply method = Curl("DELETE", ReaderUrl() + "/v1/cpts/" + kCpts, {.token = Token("root")});
  EXPECT_EQ(method.status, 405) << method.Show();
}

TEST_P(CptsdE2eTest, AnOversizedBodyIs413) {
  json big = DischargeData("DIS-BIG", "MVT-BIG", kAliceNir);
  big["circumstance"] = std::string(70 * 1024, 'x');  // beyond --max-body-bytes 65536
  Reply r = Curl("POST", CommandUrl(kCpts, "discharge.notify"),
                 {.token = Token("ch-pontarlier"), .body = big.dump()});
  EXPECT_EQ(r.status, 413) << r.Show();
  EXPECT_EQ(r.ErrorCode(), "payload_too_large") << r.Show();
  EXPECT_THAT(r.body, Not(HasSubstr(kAliceNir)));
  // The server is fine afterwards.
  EXPECT_EQ(Curl("GET", WriterUrl() + "/healthz").status, 200);
}

// ---- idempotency ----

TEST_P(CptsdE2eTest, AnIdempotentRetryGetsTheFirstOutcomeAndOneEventExists) {
  // A CPTS of this test's own, so its stream's sequence counts every event in it.
  const std::string cpts = "cpts-e2e-idempotency";
  Accepted("root", cpts, "cpts.register", RegisterData("CPTS idempotente"));
  const std::vector<std::string> key = {"Idempotency-Key: hl7-MSG00042"};
  const json first =
      Accepted("root", cpts, "discharge.notify", DischargeData("DIS-I1", "MVT-I1", kAliceNir), key);
  ASSERT_TRUE(first.is_object());
  // The retry, through the other instance on Kafka: the same command, the first outcome.
  for (const std::string& base : {ReaderUrl(), WriterUrl()}) {
    Reply retry = SendCommand("root", cpts, "discharge.notify",
                              DischargeData("DIS-I1", "MVT-I1", kAliceNir), key, base);
    EXPECT_EQ(retry.status, 201) << retry.Show();
    EXPECT_EQ(retry.json["command_id"], first["command_id"]) << retry.Show();
    EXPECT_EQ(retry.json["event"], first["event"]) << retry.Show();
    EXPECT_EQ(retry.json["position"], first["position"]) << retry.Show();
  }
  // The key names one command: the same key with another body is refused, and sends nothing.
  Reply changed = SendCommand("root", cpts, "discharge.notify",
                              DischargeData("DIS-I9", "MVT-I9", kAliceNir), key);
  EXPECT_EQ(changed.status, 422) << changed.Show();
  EXPECT_EQ(changed.ErrorCode(), "idempotency_key_reused") << changed.Show();
  EXPECT_EQ(changed.ErrorField(), "header.Idempotency-Key") << changed.Show();
  // Another caller with the same key sends another command.
  Reply hospital = SendCommand("ch-pontarlier", cpts, "discharge.notify",
                               DischargeData("DIS-I2", "MVT-I2", kAliceNir), key);
  EXPECT_EQ(hospital.status, 201) << hospital.Show();
  EXPECT_NE(hospital.json["command_id"], first["command_id"]) << hospital.Show();
  // Only one event came of the retries: the next one follows it in the stream.
  EXPECT_EQ(hospital.json["event"]["sequence"], first["event"]["sequence"].get<int64_t>() + 1)
      << hospital.Show();
  Reply handoff = Get("root", "/v1/cpts/" + cpts + "/handoff");
  ASSERT_EQ(handoff.status, 200) << handoff.Show();
  EXPECT_EQ(handoff.json["items"].size(), 2u) << handoff.Show();
  EXPECT_THAT(handoff.body, Not(HasSubstr("DIS-I9")));

  // A rejection is an outcome too: the retry gets the same one.
  const std::vector<std::string> key2 = {"Idempotency-Key: retry-of-a-rejection"};
  Reply rejected =
      SendCommand("root", cpts, "access.accept_referral", {{"referral_id", "REF-NONE"}}, key2);
  EXPECT_EQ(rejected.status, 422) << rejected.Show();
  Reply rejected_again = SendCommand("root", cpts, "access.accept_referral",
                                     {{"referral_id", "REF-NONE"}}, key2, ReaderUrl());
  EXPECT_EQ(rejected_again.status, 422) << rejected_again.Show();
  EXPECT_EQ(rejected_again.json["event"], rejected.json["event"]) << rejected_again.Show();
}

// ---- the live feed ----

TEST_P(CptsdE2eTest, TheFeedResumesAfterAReconnectWithLastEventId) {
  const std::string cpts = "cpts-e2e-feed";
  const std::string path = "/v1/cpts/" + cpts + "/feed";
  Accepted("root", cpts, "cpts.register", RegisterData("CPTS du flux"));
  Accepted("ch-pontarlier", cpts, "discharge.notify", DischargeData("DIS-F1", "MVT-F1", kAliceNir));
  Accepted("ch-pontarlier", cpts, "discharge.notify", DischargeData("DIS-F2", "MVT-F2", kBrunoNir));

  // Every event retained, from the writer.
  auto first = SseClient::Open(WriterUrl() + path, Token("root"), std::nullopt);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto events = (*first)->Next(3, 30s);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  (*first)->Close();
  std::vector<std::string> kinds, types;
  for (const SseEvent& e : *events) {
    kinds.push_back(e.event);
    types.push_back(e.json.value("type", "?"));
    EXPECT_THAT(e.data, Not(HasSubstr(kAliceNir)));
    EXPECT_THAT(e.data, Not(HasSubstr("Quelmaroux")));  // never a sealed or clear identity
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"event", "handoff", "handoff"}));
  EXPECT_EQ(types,
            (std::vector<std::string>{"fr.cpts.cpts.registered.v1", "fr.cpts.discharge.notified.v1",
                                      "fr.cpts.discharge.notified.v1"}));
  const std::string last_id = events->back().id;
  ASSERT_FALSE(last_id.empty());
  EXPECT_EQ(std::stoll(events->at(1).id), std::stoll(events->at(0).id) + 1);

  // While disconnected, more happens.
  const json f3 = Accepted("ch-pontarlier", cpts, "discharge.notify",
                           DischargeData("DIS-F3", "MVT-F3", kAliceNir));
  const json f4 =
      Accepted("ch-pontarlier", cpts, "discharge.cancel",
               {{"discharge_id", "DIS-F3"}, {"movement_id", "MVT-F3"}, {"reason", "A13"}});

  // Reconnect (to the other cptsd on Kafka) with the last id: exactly the events after it.
  auto resumed = SseClient::Open(ReaderUrl() + path, Token("root"), last_id);
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  auto after = (*resumed)->Next(2, 30s);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->at(0).id, std::to_string(std::stoll(last_id) + 1));
  EXPECT_EQ(after->at(0).json["id"], f3["event"]["id"]) << after->at(0).data;
  EXPECT_EQ(after->at(1).json["id"], f4["event"]["id"]) << after->at(1).data;
  EXPECT_EQ(after->at(1).event, "handoff");
  // And then live: the next event is the next command's, nothing repeated in between.
  const json f5 = Accepted("ch-pontarlier", cpts, "discharge.notify",
                           DischargeData("DIS-F5", "MVT-F5", kBrunoNir));
  auto live = (*resumed)->Next(1, 30s);
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  EXPECT_EQ(live->at(0).json["id"], f5["event"]["id"]) << live->at(0).data;
  EXPECT_EQ(live->at(0).id, std::to_string(std::stoll(last_id) + 3));
  (*resumed)->Close();

  // Resuming from the middle gives the rest, in order.
  auto from_first = SseClient::Open(WriterUrl() + path, Token("cnil"), events->at(0).id);
  ASSERT_TRUE(from_first.ok()) << from_first.status().ToString();
  auto rest = (*from_first)->Next(5, 30s);
  ASSERT_TRUE(rest.ok()) << rest.status().ToString();
  std::vector<std::string> ids;
  for (const SseEvent& e : *rest) ids.push_back(e.id);
  const long long base = std::stoll(events->at(0).id);
  std::vector<std::string> expected;
  for (long long i = 1; i <= 5; ++i) expected.push_back(std::to_string(base + i));
  EXPECT_EQ(ids, expected);
}

std::string LogName(const ::testing::TestParamInfo<LogKind>& info) {
  return info.param == LogKind::kKafka ? "Kafka" : "Embedded";
}
// Two suites rather than one with two values: each suite gets its own cptsd processes, started
// once for its tests (a suite's tests run together; values of one suite would interleave).
INSTANTIATE_TEST_SUITE_P(Embedded, CptsdE2eTest, ::testing::Values(LogKind::kEmbedded), LogName);
INSTANTIATE_TEST_SUITE_P(Kafka, CptsdE2eTest, ::testing::Values(LogKind::kKafka), LogName);

}  // namespace
}  // namespace cpts::e2e
