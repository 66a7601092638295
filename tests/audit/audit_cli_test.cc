// `cpts audit` run as a process: verify on tampered embedded logs (positions named, exit 1),
// an untouched one (exit 0), export and offline verification, heads, as-of replay, bad flags.

#include <gtest/gtest.h>

#include <fstream>

#include "events/json.h"
#include "projections/clock.h"
#include "tests/audit/audit_test_util.h"

namespace cpts::audittest {
namespace {

namespace fs = std::filesystem;
using json = ::cpts::Json;

std::string Pos(const At& at) {
  return "p" + std::to_string(at.partition) + "@" + std::to_string(at.offset);
}

class AuditCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new logtest::TempDir("audit-cli");
    auto log = log::OpenEmbeddedLog({.directory = Pristine() + "/log", .sync_writes = false});
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    WriteScenario(**log);
    census_ = new Census(TakeCensus(**log));
    std::vector<int64_t> times;
    for (const log::StoredRecord& r : census_->records) times.push_back(r.timestamp_ms);
    std::sort(times.begin(), times.end());
    middle_ = projections::FormatUtcMs(times[times.size() / 2]);
    third_ = projections::FormatUtcMs(times[times.size() / 3]);
  }
  static void TearDownTestSuite() {
    delete census_;
    delete dir_;
  }
  static std::string Pristine() { return dir_->path() + "/pristine"; }
  std::string Copy(const std::string& name) {
    const std::string to = dir_->path() + "/" + name;
    fs::copy(Pristine(), to, fs::copy_options::recursive);
    return to;
  }
  std::string Path(const std::string& name) { return dir_->path() + "/" + name; }

  static logtest::TempDir* dir_;
  static Census* census_;
  static std::string middle_, third_;
};
logtest::TempDir* AuditCliTest::dir_ = nullptr;
Census* AuditCliTest::census_ = nullptr;
std::string AuditCliTest::middle_, AuditCliTest::third_;

TEST_F(AuditCliTest, AnUntouchedHistoryPassesWithExitZero) {
  const CptsRun run = Cpts({"audit", "verify", "--data-dir", Pristine()});
  EXPECT_EQ(run.status, 0) << run.out;
  EXPECT_NE(run.out.find("INTACT"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find("NOT INTACT"), std::string::npos) << run.out;
}

TEST_F(AuditCliTest, AlteredDeletedAndSwappedEventsAreEachNamedWithTheirPositionAndExitOne) {
  const std::string s1 = census_->StreamWithAtLeast(20);
  const std::string s2 = census_->StreamWithAtLeast(20, s1);
  const std::string s3 = census_->StreamWithAtLeast(20, s1, s2);
  const At altered = census_->streams.at(s1)[12];
  const At deleted = census_->streams.at(s2)[2];
  const At a = census_->streams.at(s3)[5], b = census_->streams.at(s3)[6];
  const std::string data = Copy("tampered");
  {
    RawEmbeddedLog raw(data + "/log");
    raw.SetEvent(altered, AlterTime(raw.Event(altered)));
    raw.Delete(deleted);
    raw.Swap(a, b);
  }
  const CptsRun human = Cpts({"audit", "verify", "--data-dir", data});
  EXPECT_EQ(human.status, 1) << human.out;
  EXPECT_NE(human.out.find("ALTERED    " + Pos(altered) + "  " + s1 + " #" +
                           std::to_string(altered.sequence)),
            std::string::npos)
      << human.out;
  EXPECT_NE(human.out.find("MISSING    " + Pos(deleted) + "  " + s2 + " #" +
                           std::to_string(deleted.sequence)),
            std::string::npos)
      << human.out;
  EXPECT_NE(human.out.find("REORDERED  "), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("NOT INTACT: 1 altered, 1 missing, 1 reordered"), std::string::npos)
      << human.out;

  const CptsRun as_json = Cpts({"audit", "verify", "--data-dir", data, "--json", "--threads", "1"});
  EXPECT_EQ(as_json.status, 1) << as_json.out;
  const std::vector<json> lines = JsonLines(as_json.out);
  ASSERT_EQ(lines.size(), 4u) << as_json.out;
  std::map<std::string, json> by_kind;
  for (size_t i = 0; i < 3; ++i) by_kind[lines[i]["kind"]] = lines[i];
  EXPECT_EQ(by_kind["altered"]["partition"], altered.partition);
  EXPECT_EQ(by_kind["altered"]["offset"], altered.offset);
  EXPECT_EQ(by_kind["missing"]["offset"], deleted.offset);
  EXPECT_EQ(by_kind["missing"]["sequence"], deleted.sequence);
  EXPECT_EQ(by_kind["reordered"]["cptsid"], s3);
  EXPECT_EQ(lines[3]["summary"]["intact"], false);
  EXPECT_EQ(lines[3]["summary"]["problems"]["altered"], 1);
  // Reports carry positions, ids and types, never event data.
  EXPECT_EQ(as_json.out.find("\"data\""), std::string::npos);
  EXPECT_EQ(as_json.out.find("patient"), std::string::npos);
}

TEST_F(AuditCliTest, AnExportVerifiesOfflineAndATamperedLineFailsNamingTheLine) {
  const std::string out = Path("export");
  CptsRun run = Cpts({"audit", "export", "--data-dir", Pristine(), "--from", third_, "--until", middle_,
                  "--out", out});
  ASSERT_EQ(run.status, 0) << run.out;
  EXPECT_NE(run.out.find("cpts audit verify --export"), std::string::npos) << run.out;
  json manifest;
  std::ifstream(out + "/manifest.json") >> manifest;
  EXPECT_EQ(manifest["window"]["from"], third_);
  EXPECT_EQ(manifest["window"]["until"], middle_);
  EXPECT_GT(manifest["events"].get<int>(), 0);
  EXPECT_EQ(manifest.at("file").at("lines"), manifest.at("events"));

  run = Cpts({"audit", "verify", "--export", out});
  EXPECT_EQ(run.status, 0) << run.out;

  std::vector<std::string> lines;
  {
    std::ifstream in(out + "/events.jsonl");
    for (std::string line; std::getline(in, line);) lines.push_back(line);
  }
  // A line whose stream goes on later in the file: its successor's prevhash covers it.
  size_t victim = 0;
  for (size_t i = 0; i < lines.size() && victim == 0; ++i) {
    const std::string id = events::Decode(lines[i])->envelope.cptsid;
    for (size_t j = i + 1; j < lines.size(); ++j) {
      if (events::Decode(lines[j])->envelope.cptsid == id) {
        victim = i + 1;  // 1-based
        break;
      }
    }
  }
  ASSERT_GT(victim, 0u);
  lines[victim - 1] = AlterTime(lines[victim - 1]);
  {
    std::ofstream rewrite(out + "/events.jsonl", std::ios::trunc);
    for (const std::string& line : lines) rewrite << line << "\n";
  }
  run = Cpts({"audit", "verify", "--export", out});
  EXPECT_EQ(run.status, 1) << run.out;
  EXPECT_NE(run.out.find("ALTERED    line " + std::to_string(victim)), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("events.jsonl is not the file the manifest describes"), std::string::npos)
      << run.out;
}

TEST_F(AuditCliTest, TheLastEventOfAStreamAlteredIsCaughtWithHeads) {
  const std::string data = Copy("last");
  const std::string out = Path("last-export");
  CptsRun run = Cpts({"audit", "export", "--data-dir", data, "--out", out});
  ASSERT_EQ(run.status, 0) << run.out;
  const std::string stream = census_->StreamWithAtLeast(5);
  const At last = census_->streams.at(stream).back();
  {
    RawEmbeddedLog raw(data + "/log");
    raw.SetEvent(last, AlterTime(raw.Event(last)));
  }
  run = Cpts({"audit", "verify", "--data-dir", data});
  EXPECT_EQ(run.status, 0) << "no later prevhash covers it: " << run.out;
  run = Cpts({"audit", "verify", "--data-dir", data, "--heads", out + "/manifest.json"});
  EXPECT_EQ(run.status, 1) << run.out;
  EXPECT_NE(run.out.find("ALTERED    " + Pos(last) + "  " + stream), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("differs from the head recorded"), std::string::npos) << run.out;
}

TEST_F(AuditCliTest, ReplayBuildsAsOfReadModelsAndSaysHowToQueryThem) {
  const std::string out = Path("asof");
  CptsRun run = Cpts({"audit", "replay", "--data-dir", Pristine(), "--until", middle_, "--out", out});
  ASSERT_EQ(run.status, 0) << run.out;
  EXPECT_NE(run.out.find("cpts query VIEW --projections " + out), std::string::npos) << run.out;
  // The same build as cpts replay, which keeps working as it was.
  const std::string plain = Path("asof-plain");
  CptsRun replay = Cpts({"replay", "--data-dir", Pristine(), "--until", middle_, "--out", plain});
  ASSERT_EQ(replay.status, 0) << replay.out;
  const std::vector<json> built = JsonLines(replay.out);
  ASSERT_EQ(built.size(), 1u) << replay.out;
  EXPECT_NE(run.out.find(built[0]["digest"].get<std::string>()), std::string::npos)
      << run.out << replay.out;
  run = Cpts({"query", "list", "--projections", out});
  EXPECT_EQ(run.status, 0) << run.out;
  EXPECT_NE(run.out.find(census_->streams.begin()->first), std::string::npos) << run.out;
}

TEST_F(AuditCliTest, BadFlagsAreNamedExitTwoAndCreateNothing) {
  const std::string nowhere = Path("nowhere");
  const std::string not_empty = Path("not-empty");
  fs::create_directories(not_empty);
  std::ofstream(not_empty + "/file") << "x";
  struct Case {
    std::vector<std::string> args;
    std::string named;
  };
  const std::vector<Case> cases = {
      {{"audit", "verify", "--data-dir", nowhere}, "--data-dir"},
      {{"audit", "verify", "--data-dir", Pristine(), "--threads", "0"}, "--threads"},
      {{"audit", "verify", "--data-dir", Pristine(), "--bogus"}, "--bogus"},
      {{"audit", "verify", "--export", nowhere}, "--export"},
      {{"audit", "verify", "--data-dir", Pristine(), "--heads", nowhere + "/manifest.json"},
       "--heads"},
      {{"audit", "verify", "--export", not_empty, "--data-dir", Pristine()}, "--data-dir"},
      {{"audit", "export", "--data-dir", Pristine(), "--from", "yesterday", "--out", nowhere},
       "--from"},
      {{"audit", "export", "--data-dir", Pristine(), "--until", "2026-13-45T00:00:00Z", "--out",
        nowhere},
       "--until"},
      {{"audit", "export", "--data-dir", Pristine(), "--from", middle_, "--until", third_, "--out",
        nowhere},
       "--from"},
      {{"audit", "export", "--data-dir", Pristine(), "--out", not_empty}, "--out"},
      {{"audit", "export", "--data-dir", Pristine()}, "--out"},
      {{"audit", "export", "--data-dir", nowhere, "--out", Path("x")}, "--data-dir"},
      {{"audit", "replay", "--data-dir", Pristine(), "--until", "soon", "--out", nowhere},
       "--until"},
      {{"audit", "replay", "--data-dir", Pristine(), "--out", nowhere}, "--until"},
      {{"audit", "replay", "--data-dir", Pristine(), "--until", middle_, "--out", not_empty},
       "--out"},
      {{"audit"}, "name a subcommand"},
  };
  for (const Case& c : cases) {
    const CptsRun run = Cpts(c.args);
    std::string line;
    for (const std::string& a : c.args) line += a + " ";
    EXPECT_EQ(run.status, 2) << line << "\n" << run.out;
    EXPECT_NE(run.out.find(c.named), std::string::npos) << line << "\n" << run.out;
    EXPECT_FALSE(fs::exists(nowhere)) << line;
    EXPECT_FALSE(fs::exists(Path("x"))) << line;
  }
}

}  // namespace
}  // namespace cpts::audittest
