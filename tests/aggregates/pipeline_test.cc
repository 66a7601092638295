// The command pipeline end to end: commands on the log, deciders as separate processes,
// outcomes on the events topic, checked by an independent reading of history
// (tests/aggregates/history_check.h). On the embedded log: one process killed with SIGKILL and
// restarted. On the Kafka test broker: two decider processes, one killed, a third joining.

#include <gtest/gtest.h>

#include <csignal>
#include <set>
#include <thread>

#include "aggregates/command.h"
#include "aggregates/command_processor.h"
#include "connectors/embedded_log.h"
#include "connectors/kafka_log.h"
#include "events/codec.h"
#include "events/topics.h"
#include "tests/aggregates/history_check.h"
#include "tests/log/log_test_util.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_broker.h"
#include "tests/support/workload.h"

namespace cpts {
namespace {

using std::chrono::seconds;

constexpr int kCpts = 20;
constexpr int kCommands = 50'000;

// Every command of the workload has exactly one outcome in the chains, the chains are whole,
// no GP went above capacity, and the capacity race was really run.
void ExpectCompleteHistory(const test::HistoryCheck& check,
                           const std::vector<aggregates::Command>& workload) {
  EXPECT_TRUE(check.problems.empty()) << check.problems.front();
  EXPECT_TRUE(check.over_capacity.empty()) << check.over_capacity.front();
  size_t missing = 0, repeated = 0;
  for (const aggregates::Command& c : workload) {
    auto it = check.outcomes.find(c.command_id);
    if (it == check.outcomes.end()) {
      ++missing;
    } else if (it->second != 1) {
      ++repeated;
    }
  }
  EXPECT_EQ(missing, 0u) << "commands without an outcome";
  EXPECT_EQ(repeated, 0u) << "commands with more than one outcome";
  EXPECT_EQ(check.applied, workload.size());
  EXPECT_GT(check.rejections.count("gp_at_capacity") ? check.rejections.at("gp_at_capacity") : 0, 0)
      << "the workload's acceptances must race for the last unit of capacity";
  EXPECT_EQ(check.stream_lengths.size(), static_cast<size_t>(kCpts));
}

TEST(PipelineTest, OnTheEmbeddedLogEveryCommandIsDecidedOnceThroughASigkillAndARestart) {
  logtest::TempDir dir("pipeline");
  const std::vector<std::string> argv = {test::BinaryPath("cpts-pipeline-driver"), dir.path(),
                                         std::to_string(kCpts), std::to_string(kCommands), "7"};
  auto first = test::ChildProcess::Spawn(argv);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  // Kill it a third of the way through, mid-batch as likely as not.
  while (true) {
    auto line = (*first)->ReadLine(seconds(120));
    ASSERT_TRUE(line.ok()) << line.status().ToString();
    ASSERT_NE(line->rfind("DONE", 0), 0u) << "finished before it could be killed";
    if (line->rfind("PROGRESS ", 0) == 0 && std::stoi(line->substr(9)) >= kCommands / 3) break;
  }
  ASSERT_TRUE((*first)->Signal(SIGKILL).ok());
  ASSERT_EQ(*(*first)->Wait(seconds(30)), -SIGKILL);

  auto second = test::ChildProcess::Spawn(argv);
  ASSERT_TRUE(second.ok());
  std::string last;
  while (last.rfind("DONE", 0) != 0) {
    auto line = (*second)->ReadLine(seconds(300));
    ASSERT_TRUE(line.ok()) << line.status().ToString();
    last = *line;
  }
  ASSERT_EQ(*(*second)->Wait(seconds(30)), 0);

  auto log = log::OpenEmbeddedLog({.directory = dir.path()});
  ASSERT_TRUE(log.ok());
  const auto workload = test::GenerateWorkload({.cpts = kCpts, .commands = kCommands, .seed = 7});
  ExpectCompleteHistory(test::CheckHistory(**log, 8), workload);
}

// Commands appended by the test, read by decider processes (`cpts decide`) on the test broker.
TEST(PipelineTest, OnKafkaTwoDecidersOneKilledAndAThirdJoiningDecideEveryCommandOnce) {
  constexpr int kPartitions = 16;
  auto broker = test::TestBroker::Start({.brokers = 3});
  ASSERT_TRUE(broker.ok()) << broker.status().ToString();
  for (const auto& spec : topics::AllTopics(kPartitions)) {
    ASSERT_TRUE((*broker)->CreateTopic("cpts." + spec.name, kPartitions).ok());
  }
  auto log = log::OpenKafkaLog(logtest::KafkaTestOptions((*broker)->bootstrap()));
  ASSERT_TRUE(log.ok());
  const std::vector<std::string> decider = {
      test::BinaryPath("cpts"),     "decide",       "--kafka",
      (*broker)->bootstrap(),       "--partitions", std::to_string(kPartitions),
      "--kafka-session-timeout-ms", "6000",         "--kafka-property",
      "fetch.wait.max.ms=10"};
  auto first = test::ChildProcess::Spawn(decider);
  auto second = test::ChildProcess::Spawn(decider);
  ASSERT_TRUE(first.ok() && second.ok());

  const auto workload = test::GenerateWorkload({.cpts = kCpts, .commands = kCommands, .seed = 11});
  const auto outcomes_so_far = [&] {
    int64_t total = 0;
    for (int p = 0; p < kPartitions; ++p) {
      total += (*log)->EndOffset({std::string(topics::kEvents), Partition(p)})->value();
    }
    return total;
  };
  // Commands flow in from a feeder thread while this one watches the outcomes: a decider is
  // killed a third of the way through, another starts at two thirds.
  Status fed = Status::Ok();
  std::thread feeder([&] {
    for (size_t i = 0; i < workload.size() && fed.ok(); i += 500) {
      std::vector<log::Record> batch;
      for (size_t j = i; j < std::min(workload.size(), i + 500); ++j) {
        batch.push_back(
            {.key = workload[j].cptsid, .value = aggregates::EncodeCommand(workload[j])});
      }
      fed = (*log)->Append(topics::kCommands, batch).status();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  std::unique_ptr<test::ChildProcess> third;
  bool killed = false;
  const auto watch_deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
  while (third == nullptr && std::chrono::steady_clock::now() < watch_deadline) {
    const int64_t outcomes = outcomes_so_far();
    if (!killed && outcomes >= kCommands / 3) {
      ASSERT_TRUE((*first)->Signal(SIGKILL).ok());
      killed = true;
    }
    if (killed && outcomes >= 2 * kCommands / 3) {
      auto spawned = test::ChildProcess::Spawn(decider);
      ASSERT_TRUE(spawned.ok());
      third = std::move(*spawned);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  feeder.join();
  ASSERT_TRUE(fed.ok()) << fed.ToString();
  ASSERT_TRUE(killed && third != nullptr) << "the deciders never got two thirds of the way";
  // Wait until every command has an outcome (a killed member's partitions move after its
  // session times out).
  test::HistoryCheck check;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  while (std::chrono::steady_clock::now() < deadline) {
    if (outcomes_so_far() >= kCommands) {
      check = test::CheckHistory(**log, kPartitions);
      if (check.outcomes.size() >= workload.size()) break;
    }
    std::this_thread::sleep_for(seconds(1));
  }
  for (auto* child : {second->get(), third.get()}) {
    ASSERT_TRUE(child->Signal(SIGTERM).ok());
    auto status = child->Wait(seconds(60));
    ASSERT_TRUE(status.ok());
    EXPECT_EQ(*status, 0);
  }
  ExpectCompleteHistory(check, workload);
}

}  // namespace
}  // namespace cpts
