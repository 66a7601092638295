// The command pipeline end to end: commands on the log, deciders as separate processes,
// outcomes on the events topic, checked by an independent reading of history
// (tests/aggregates/history_check.h). On the embedded log: one process killed with SIGKILL and
// restarted. On the Kafka test broker: two decider processes, one killed, a third joining.

#include <gtest/gtest.h>

#include <csignal>
#include <functional>
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
// Two deciders share the partitions; one is frozen past its session timeout and resumed (a
// zombie: it may append for partitions it no longer owns), one is killed, a third joins. The
// acceptances racing for each GP's last unit come from a second, concurrent sender.
TEST(PipelineTest, OnKafkaDecidersFrozenKilledAndJoiningDecideEveryCommandOnce) {
  constexpr int kPartitions = 16;
  auto broker = test::TestBroker::Start({.brokers = 3});
  ASSERT_TRUE(broker.ok()) << broker.status().ToString();
  for (const auto& spec : topics::AllTopics(kPartitions)) {
    ASSERT_TRUE((*broker)->CreateTopic("cpts." + spec.name, kPartitions).ok());
  }
  auto log = log::OpenKafkaLog(logtest::KafkaTestOptions((*broker)->bootstrap()));
  ASSERT_TRUE(log.ok());
  const auto decider = [&](const std::string& name) {
    auto spawned = test::ChildProcess::Spawn(
        {test::BinaryPath("cpts"), "decide", "--kafka", (*broker)->bootstrap(), "--partitions",
         std::to_string(kPartitions), "--kafka-session-timeout-ms", "6000", "--kafka-property",
         "fetch.wait.max.ms=10", "--name", name});
    EXPECT_TRUE(spawned.ok());
    return std::move(*spawned);
  };
  auto first = decider("decider-1");
  auto second = decider("decider-2");

  const auto workload = test::GenerateWorkload({.cpts = kCpts, .commands = kCommands, .seed = 11});
  // Events appended so far, duplicates and conflicts included: a cheap "nearly done" signal.
  const auto outcomes_so_far = [&] {
    int64_t total = 0;
    for (int p = 0; p < kPartitions; ++p) {
      total += (*log)->EndOffset({std::string(topics::kEvents), Partition(p)})->value();
    }
    return total;
  };
  const auto batch_of = [&](size_t from, size_t to, std::function<bool(size_t)> take) {
    std::vector<log::Record> batch;
    for (size_t j = from; j < std::min(workload.size(), to); ++j) {
      if (!take(j)) continue;
      batch.push_back({.key = workload[j].cptsid, .value = aggregates::EncodeCommand(workload[j])});
    }
    return batch;
  };
  // Warm-up: the first tenth, until both deciders have decided something, so that the faults
  // below hit a group of two working members however loaded the machine is.
  const size_t warm_up = workload.size() / 10;
  ASSERT_TRUE(
      (*log)->Append(topics::kCommands, batch_of(0, warm_up, [](size_t) { return true; })).ok());
  const auto warm_deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  while (std::chrono::steady_clock::now() < warm_deadline) {
    auto by = test::CheckHistory(**log, kPartitions).appended_by;
    if (by["decider-1"] > 0 && by["decider-2"] > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  // Then two senders: the racing acceptances, and everything else, over about 20 s, so that
  // every fault below happens while commands flow.
  std::atomic<size_t> fed{warm_up};
  const auto feed = [&](bool races, Status* status) {
    for (size_t i = warm_up; i < workload.size() && status->ok(); i += 500) {
      if (!races) fed = i;
      *status =
          (*log)
              ->Append(
                  topics::kCommands,
                  batch_of(i, i + 500,
                           [&](size_t j) { return test::IsCapacityRace(workload[j]) == races; }))
              .status();
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  };
  Status fed_main = Status::Ok(), fed_races = Status::Ok();
  std::thread main_feeder(feed, false, &fed_main);
  std::thread race_feeder(feed, true, &fed_races);

  std::unique_ptr<test::ChildProcess> third;
  bool frozen = false, killed = false;
  const auto watch_deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
  while (third == nullptr && std::chrono::steady_clock::now() < watch_deadline) {
    const size_t sent = fed;
    if (!frozen && sent >= workload.size() / 5) {
      // Frozen past its session: its partitions move to decider-1; resumed, it is a zombie
      // until it notices.
      ASSERT_TRUE(second->Signal(SIGSTOP).ok());
      std::this_thread::sleep_for(seconds(8));
      ASSERT_TRUE(second->Signal(SIGCONT).ok());
      frozen = true;
    } else if (frozen && !killed && sent >= 2 * workload.size() / 3) {
      ASSERT_TRUE(first->Signal(SIGKILL).ok());
      killed = true;
    } else if (killed && sent >= 3 * workload.size() / 4) {
      third = decider("decider-3");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  main_feeder.join();
  race_feeder.join();
  ASSERT_TRUE(fed_main.ok() && fed_races.ok());
  ASSERT_TRUE(third != nullptr) << "the feed never got three quarters of the way";

  // Wait until every command has an outcome.
  test::HistoryCheck check;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  while (std::chrono::steady_clock::now() < deadline) {
    if (outcomes_so_far() >= kCommands) {
      check = test::CheckHistory(**log, kPartitions);
      if (check.outcomes.size() >= workload.size()) break;
    }
    std::this_thread::sleep_for(seconds(1));
  }
  for (auto* child : {second.get(), third.get()}) {
    ASSERT_TRUE(child->Signal(SIGTERM).ok());
    auto status = child->Wait(seconds(60));
    ASSERT_TRUE(status.ok());
    EXPECT_EQ(*status, 0);
  }
  ExpectCompleteHistory(check, workload);
  // Every decider did part of the work (the header names who appended each record).
  EXPECT_GT(check.appended_by["decider-1"], 0u);
  EXPECT_GT(check.appended_by["decider-2"], 0u);
  EXPECT_GT(check.appended_by["decider-3"], 0u);
}

}  // namespace
}  // namespace cpts
