// The read-model commands of the cpts tool, run as separate processes: a projection killed with
// SIGKILL mid-run ends equal to an uninterrupted one; replay and query from the command line;
// bad flags named.

#include <gtest/gtest.h>
#include <signal.h>

#include <iostream>
#include <random>
#include <thread>

#include "events/json.h"
#include "tests/log/log_test_util.h"
#include "tests/support/subprocess.h"

namespace cpts {
namespace {

using json = ::cpts::Json;
using std::chrono::milliseconds;
using std::chrono::seconds;

json Digest(const std::string& data_dir, const std::string& projections) {
  auto out = test::RunAndCapture({test::BinaryPath("cpts"), "digest", "--data-dir", data_dir,
                                  "--projections", projections},
                                 seconds(120));
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? json::parse(*out) : json();
}

int64_t Sum(const json& positions) {
  int64_t sum = 0;
  for (const auto& [p, offset] : positions.items()) sum += offset.get<int64_t>();
  return sum;
}

class ProjectionCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new logtest::TempDir("projection-cli");
    auto out = test::RunAndCapture({test::BinaryPath("cpts"), "generate", "--events", "150000",
                                    "--data-dir", dir_->path()},
                                   seconds(600));
    ASSERT_TRUE(out.ok()) << out.status().ToString();
  }
  static void TearDownTestSuite() { delete dir_; }
  static logtest::TempDir* dir_;
  const std::string cpts = test::BinaryPath("cpts");
};
logtest::TempDir* ProjectionCliTest::dir_ = nullptr;

TEST_F(ProjectionCliTest, ProjectionKilledMidRunAndRestartedEqualsAnUninterruptedRun) {
  const std::string data = dir_->path();
  auto whole = test::RunAndCapture(
      {cpts, "project", "--data-dir", data, "--projections", data + "/whole"}, seconds(600));
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  const json expected = Digest(data, data + "/whole");
  const int64_t end = Sum(expected["positions"]);
  ASSERT_EQ(end, 150000);

  std::mt19937 random(20261122);
  int killed_mid_run = 0;
  for (int attempt = 0; attempt < 6; ++attempt) {
    auto child = test::ChildProcess::Spawn(
        {cpts, "project", "--data-dir", data, "--projections", data + "/killed"});
    ASSERT_TRUE(child.ok()) << child.status().ToString();
    std::this_thread::sleep_for(milliseconds(50 + random() % 350));
    // A refused signal means the child has exited already: it finished first.
    const bool signalled = (*child)->Signal(SIGKILL).ok();
    auto status = (*child)->Wait(seconds(30));
    ASSERT_TRUE(status.ok());
    if (!signalled || *status != -SIGKILL) continue;
    const int64_t reached = Sum(Digest(data, data + "/killed")["positions"]);
    if (reached < end) ++killed_mid_run;
  }
  std::cerr << killed_mid_run << " of 6 kills landed mid-run\n";
  EXPECT_GE(killed_mid_run, 2) << "the kills should land while the projection runs";
  auto finish = test::RunAndCapture(
      {cpts, "project", "--data-dir", data, "--projections", data + "/killed"}, seconds(600));
  ASSERT_TRUE(finish.ok()) << finish.status().ToString();
  const json after = Digest(data, data + "/killed");
  EXPECT_EQ(after["digest"], expected["digest"]);
  EXPECT_EQ(after["positions"], expected["positions"]);
}

TEST_F(ProjectionCliTest, ReplayAsOfTheLivePositionsGivesTheLiveDigestAndAnswersQueries) {
  const std::string data = dir_->path();
  auto live = test::RunAndCapture(
      {cpts, "project", "--data-dir", data, "--projections", data + "/live"}, seconds(600));
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  const json captured = Digest(data, data + "/live");
  std::string until;
  for (const auto& [p, offset] : captured["positions"].items()) {
    until += (until.empty() ? "" : ",") + p + ":" + std::to_string(offset.get<int64_t>());
  }
  auto replay = test::RunAndCapture(
      {cpts, "replay", "--data-dir", data, "--until", until, "--out", data + "/asof"},
      seconds(600));
  ASSERT_TRUE(replay.ok()) << replay.status().ToString();
  EXPECT_EQ(json::parse(*replay)["digest"], captured["digest"]);

  auto list = test::RunAndCapture(
      {cpts, "query", "list", "--data-dir", data, "--projections", data + "/asof"}, seconds(60));
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  const json cpts_list = json::parse(*list)["items"];
  ASSERT_EQ(cpts_list.size(), 30u);
  const std::string first = cpts_list[0]["cptsid"];
  auto handoff = test::RunAndCapture({cpts, "query", "handoff", "--cpts", first, "--data-dir",
                                      data, "--projections", data + "/asof", "--limit", "5",
                                      "--purpose", "audit of the handoff"},
                                     seconds(60));
  ASSERT_TRUE(handoff.ok()) << handoff.status().ToString();
  EXPECT_GT(json::parse(*handoff)["total"].get<int64_t>(), 0);
  auto region = test::RunAndCapture(
      {cpts, "query", "region", "--region", "27", "--data-dir", data, "--projections",
       data + "/asof"},
      seconds(60));
  ASSERT_TRUE(region.ok()) << region.status().ToString();
  EXPECT_GT(json::parse(*region)["cpts"].get<int64_t>(), 10);
}

TEST_F(ProjectionCliTest, BadFlagsAreNamedAndNothingIsCreated) {
  const std::string data = dir_->path();
  auto bad_until = test::RunAndCapture(
      {cpts, "replay", "--data-dir", data, "--until", "yesterday", "--out", data + "/x"},
      seconds(60));
  ASSERT_FALSE(bad_until.ok());
  EXPECT_NE(bad_until.status().message().find("--until \"yesterday\""), std::string::npos)
      << bad_until.status().message();
  EXPECT_FALSE(std::filesystem::exists(data + "/x"));

  auto no_store = test::RunAndCapture(
      {cpts, "query", "indicators", "--cpts", "x", "--projections", data + "/typo"}, seconds(60));
  ASSERT_FALSE(no_store.ok());
  EXPECT_NE(no_store.status().message().find("there are no read models"), std::string::npos)
      << no_store.status().message();
  EXPECT_FALSE(std::filesystem::exists(data + "/typo"));

  auto no_cpts = test::RunAndCapture({cpts, "query", "handoff", "--data-dir", data}, seconds(60));
  ASSERT_FALSE(no_cpts.ok());
  EXPECT_NE(no_cpts.status().message().find("needs --cpts"), std::string::npos)
      << no_cpts.status().message();

  auto no_purpose = test::RunAndCapture(
      {cpts, "query", "handoff", "--cpts", "x", "--data-dir", data}, seconds(60));
  ASSERT_FALSE(no_purpose.ok());
  EXPECT_NE(no_purpose.status().message().find("needs --purpose"), std::string::npos)
      << no_purpose.status().message();

  auto bad_at = test::RunAndCapture(
      {cpts, "query", "indicators", "--cpts", "x", "--at", "noon", "--data-dir", data},
      seconds(60));
  ASSERT_FALSE(bad_at.ok());
  EXPECT_NE(bad_at.status().message().find("--at \"noon\""), std::string::npos)
      << bad_at.status().message();
}

}  // namespace
}  // namespace cpts
