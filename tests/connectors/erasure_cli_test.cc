// Health data end to end, through the `cpts` tool as separate processes on a real embedded log:
// patients registered with identities (sent by INS, in clear, through the patient edge), referred
// and discharged; one is erased. Her name is then gone from every read model and every later
// replay, the other patient is intact, the history still verifies, and neither her name nor her
// NIR is anywhere in the log, the read models or the key store's files.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "events/json.h"
#include "tests/log/log_test_util.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_broker.h"

namespace cpts {
namespace {

using json = ::cpts::Json;
using std::chrono::seconds;

const std::string kCpts = "cpts-haut-doubs";
const std::string kGp = "rpps:10001234565";
const std::string kHospital = "250000452";
// DOMAIN.md's example NIRs.
const std::string kAliceNir = "253072B07300470";
const std::string kBrunoNir = "295109912611193";
const std::string kAliceName = "Quelmaroux";  // unusual on purpose: found only if leaked
const std::string kBrunoName = "Vandoeuvre";

json Line(const std::string& type, const std::string& actor, json data) {
  return {{"type", type}, {"cptsid", kCpts}, {"actor", actor}, {"data", std::move(data)}};
}

json Identity(const std::string& family) {
  return {{"family_name", family}, {"given_names", "Camille"}, {"birth_date", "1948-05-17"},
          {"phone", "+33 3 81 00 00 00"}};
}

std::string Story() {
  const std::string coordinator = "coordinator:" + kCpts + ":claire";
  std::vector<json> lines = {
      Line("cpts.register", "admin:ars-bfc",
           {{"name", "CPTS du Haut-Doubs"}, {"territory", {"25462", "25411"}},
            {"population", 68000}, {"region", "27"}}),
      Line("membership.join", coordinator,
           {{"member_id", kGp}, {"member_kind", "professional"},
            {"profession", "general_practitioner"}, {"practice_mode", "maison_de_sante"},
            {"commune", "25462"}, {"display_name", "Dr Claire Bourgeois"}}),
      Line("access.declare_capacity", "professional:" + kGp,
           {{"gp", kGp}, {"new_patients_capacity", 12}}),
  };
  int n = 0;
  for (const auto& [nir, name] : {std::pair{kAliceNir, kAliceName}, {kBrunoNir, kBrunoName}}) {
    ++n;
    const json identity = Identity(name);
    lines.push_back(Line("access.register_patient", coordinator,
                         {{"patient_ins", nir}, {"age_band", "70-79"}, {"ald", true},
                          {"c2s", false}, {"commune", "25411"},
                          {"registered_at", "2026-11-02T09:30:00+01:00"},
                          {"identity", identity}}));
    lines.push_back(Line("access.issue_referral", coordinator,
                         {{"referral_id", "REF-" + std::to_string(n)}, {"patient_ins", nir},
                          {"gp", kGp}}));
    lines.push_back(Line("discharge.notify", "hospital:" + kHospital,
                         {{"discharge_id", "DIS-" + std::to_string(n)}, {"finess", kHospital},
                          {"movement_id", "MVT-" + std::to_string(n)},
                          {"visit_id", "VIS-" + std::to_string(n)}, {"patient_ins", nir},
                          {"unit", "CARDIO"}, {"commune", "25411"},
                          {"discharged_at", "2026-11-20T17:45:00+01:00"},
                          {"destination", "home"}, {"exit_mode", "8"}, {"gp", kGp},
                          {"needs", {"home_nursing", "gp_visit"}}, {"identity", identity}}));
  }
  std::string out;
  for (const json& line : lines) out += line.dump() + "\n";
  return out;
}

// Every file under `dir` that holds `needle` (raw bytes).
std::vector<std::string> FilesHolding(const std::string& dir, const std::string& needle) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.find(needle) != std::string::npos) found.push_back(entry.path().string());
  }
  return found;
}

// Runs on the embedded log, and on Kafka (the test broker, started per test): there the keys
// live in the keys topic and only the read models are under the data directory.
class ErasureCliTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam()) {
      // The test broker cannot create topics through the Admin API: they exist beforehand,
      // as an operator would create them on a real cluster (docs/log.md).
      std::vector<std::pair<std::string, int>> topics;
      for (const char* name : {"commands", "events", "access", "keys"}) {
        topics.emplace_back(std::string("cpts.") + name, 16);
      }
      auto started = test::TestBroker::Start({.brokers = 1, .topics = topics});
      ASSERT_TRUE(started.ok()) << started.status().ToString();
      broker_ = std::move(*started);
    }
  }
  // Every command names the log: --data-dir always (the read models), --kafka on Kafka.
  Result<std::string> Cpts(std::vector<std::string> args, const std::string& stdin_data = {}) {
    args.insert(args.begin(), test::BinaryPath("cpts"));
    if (broker_ && args[1] != "secrets" && args[1] != "digest") {  // they read no log
      args.insert(args.end(), {"--kafka", broker_->bootstrap()});
    }
    return test::RunAndCapture(args, seconds(120), stdin_data);
  }
  json Query(const std::string& view, const std::string& projections) {
    auto out = Cpts({"query", view, "--cpts", kCpts, "--data-dir", data, "--projections",
                     projections, "--purpose", "erasure test", "--show-identity", "--secrets",
                     secrets});
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? json::parse(*out) : json();
  }
  // The identity shown for each patient of a view, by family name ("erased" when erased).
  std::map<std::string, int> NamesShown(const json& answer) {
    std::map<std::string, int> shown;
    for (const json& item : answer["items"]) {
      if (item.contains("identity")) ++shown[item["identity"]["family_name"]];
      else ++shown[item["identity_status"]];
    }
    return shown;
  }

  std::unique_ptr<test::TestBroker> broker_;
  logtest::TempDir dir_{"erasure-cli"};
  const std::string data = dir_.path() + "/data";
  const std::string secrets = dir_.path() + "/secrets.json";
};

TEST_P(ErasureCliTest, ErasedPatientIsGoneFromEveryReadModelAndReplayAndHistoryStillVerifies) {
  ASSERT_TRUE(Cpts({"secrets", "init", secrets}).ok());
  auto sent = Cpts({"submit", "--file", "-", "--decide", "--data-dir", data, "--secrets", secrets},
                   Story());
  ASSERT_TRUE(sent.ok()) << sent.status().ToString();
  ASSERT_TRUE(Cpts({"project", "--data-dir", data}).ok());
  auto before_erasure = Cpts({"digest", "--data-dir", data});
  ASSERT_TRUE(before_erasure.ok());
  const json positions_before = json::parse(*before_erasure)["positions"];

  // Both identities open for a coordinator before the erasure.
  const std::map<std::string, int> both = {{kAliceName, 1}, {kBrunoName, 1}};
  EXPECT_EQ(NamesShown(Query("queue", data + "/projections")), both);
  EXPECT_EQ(NamesShown(Query("handoff", data + "/projections")), both);

  auto erased = Cpts({"patient", "erase", "--cpts", kCpts, "--ins", kAliceNir, "--actor",
                      "coordinator:" + kCpts + ":claire", "--decide", "--data-dir", data,
                      "--secrets", secrets});
  ASSERT_TRUE(erased.ok()) << erased.status().ToString();
  ASSERT_TRUE(Cpts({"project", "--data-dir", data}).ok());

  const std::map<std::string, int> bruno_only = {{"erased", 1}, {kBrunoName, 1}};
  for (const char* view : {"queue", "referrals", "handoff"}) {
    EXPECT_EQ(NamesShown(Query(view, data + "/projections")), bruno_only) << view;
  }
  // A replay as of a moment BEFORE the erasure: the erasure holds there too (the key is gone).
  std::string until;
  for (const auto& [p, offset] : positions_before.items()) {
    until += (until.empty() ? "" : ",") + p + ":" + std::to_string(offset.get<int64_t>());
  }
  ASSERT_TRUE(Cpts({"replay", "--data-dir", data, "--until", until, "--out", data + "/asof"}).ok());
  EXPECT_EQ(NamesShown(Query("handoff", data + "/asof")), bruno_only);
  // A full rebuild: the same.
  ASSERT_TRUE(Cpts({"rebuild", "--data-dir", data}).ok());
  EXPECT_EQ(NamesShown(Query("queue", data + "/projections")), bruno_only);

  // Her right of access: every event about her, then every read of her data, in time order.
  auto history = Cpts({"audit", "history", "--ins", kAliceNir, "--secrets", secrets, "--data-dir",
                       data, "--purpose", "demande du patient"});
  ASSERT_TRUE(history.ok()) << history.status().ToString();
  std::vector<std::string> event_types;
  std::map<std::string, int> reads_by_view;
  std::string pseudonym, previous_at;
  std::istringstream lines(*history);
  for (std::string line; std::getline(lines, line);) {
    const json j = json::parse(line);
    EXPECT_LE(previous_at, j["at"].get<std::string>());
    previous_at = j["at"];
    if (j["kind"] == "event") {
      event_types.push_back(j["event"]["type"]);
      if (j["event"]["data"].contains("patient")) pseudonym = j["event"]["data"]["patient"];
    } else {
      ++reads_by_view[j["trace"]["view"]];
    }
  }
  EXPECT_EQ(event_types, (std::vector<std::string>{"fr.cpts.access.patient_registered.v2",
                                                   "fr.cpts.access.referral_issued.v1",
                                                   "fr.cpts.discharge.notified.v1",
                                                   "fr.cpts.patient.erased.v1"}));
  // One trace per read that showed her: queue and handoff before the erasure; queue, referrals
  // and handoff after; the as-of handoff; the queue after the rebuild.
  EXPECT_EQ(reads_by_view, (std::map<std::string, int>{{"access_queue", 3}, {"handoff", 3},
                                                        {"referrals", 1}}));
  // The history read is traced too.
  auto traces = Cpts({"audit", "access", "--patient", pseudonym, "--data-dir", data, "--purpose",
                      "contrôle CNIL"});
  ASSERT_TRUE(traces.ok()) << traces.status().ToString();
  EXPECT_NE(traces->find("\"view\":\"history\""), std::string::npos);

  // History is untouched by the erasure: it still verifies.
  auto verify = Cpts({"audit", "verify", "--data-dir", data});
  EXPECT_TRUE(verify.ok()) << verify.status().ToString();

  // Nothing of her in clear anywhere on disk: log, read models, key store. Nor of him: his
  // identity is sealed, his NIR never left the edge.
  for (const std::string& needle : {kAliceName, kAliceNir, kBrunoName, kBrunoNir}) {
    EXPECT_EQ(FilesHolding(data, needle), std::vector<std::string>()) << needle;
  }
}

TEST_P(ErasureCliTest, BadPatientInputIsNamedAndNothingIsSent) {
  ASSERT_TRUE(Cpts({"secrets", "init", secrets}).ok());
  const std::string bad_nir =
      Line("access.register_patient", "admin:x",
           {{"patient_ins", "253072B07300471"}, {"age_band", "70-79"}, {"ald", true},
            {"c2s", false}, {"commune", "25411"}, {"registered_at", "2026-11-02T09:30:00Z"}})
          .dump();
  auto refused = Cpts({"submit", "--file", "-", "--data-dir", data, "--secrets", secrets},
                      Story() + bad_nir + "\n");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("line 10: access.register_patient: data.patient_ins: "
                                            "is not a valid INS/NIR"),
            std::string::npos)
      << refused.status().message();
  EXPECT_EQ(refused.status().message().find("253072B07300471"), std::string::npos);
  const std::string bad_identity =
      Line("access.register_patient", "admin:x",
           {{"patient_ins", kAliceNir}, {"age_band", "70-79"}, {"ald", true}, {"c2s", false},
            {"commune", "25411"}, {"registered_at", "2026-11-02T09:30:00Z"},
            {"identity", {{"family_name", "X"}, {"birth_date", "1948-13-45"}}}})
          .dump();
  refused = Cpts({"submit", "--file", "-", "--data-dir", data, "--secrets", secrets},
                 bad_identity + "\n");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("data.identity.birth_date"), std::string::npos)
      << refused.status().message();
  // Nothing was sent: a good story sent now is decided from the first command on.
  auto sent = Cpts({"submit", "--file", "-", "--decide", "--data-dir", data, "--secrets", secrets},
                   Story());
  ASSERT_TRUE(sent.ok()) << sent.status().ToString();
  EXPECT_EQ(json::parse(sent->substr(0, sent->find('\n')))["offset"], 0) << *sent;

  auto no_secrets = Cpts({"submit", "--file", "-", "--data-dir", data}, Story());
  ASSERT_FALSE(no_secrets.ok());
  EXPECT_NE(no_secrets.status().message().find("--secrets"), std::string::npos)
      << no_secrets.status().message();
}

INSTANTIATE_TEST_SUITE_P(Logs, ErasureCliTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Kafka" : "Embedded";
                         });

}  // namespace
}  // namespace cpts
