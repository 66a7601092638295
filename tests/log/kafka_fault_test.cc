// The Kafka log under faults on the test broker: brokers going down and up, partition leaders
// moving and produce requests failing while 10,000 events are appended. Afterwards no
// acknowledged event is missing, none is duplicated, and none is reordered within its stream.

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "connectors/kafka_log.h"
#include "tests/log/log_test_util.h"
#include "tests/support/test_broker.h"

namespace cpts::log {
namespace {

constexpr int kEvents = 10'000;
constexpr int kStreams = 20;
constexpr int kPartitions = 8;
constexpr int kBatch = 50;

TEST(KafkaLogFaultTest, NoAcknowledgedEventIsLostOrReorderedThroughBrokerAndLeaderFaults) {
  auto broker = test::TestBroker::Start({.brokers = 3});
  ASSERT_TRUE(broker.ok()) << broker.status().ToString();
  ASSERT_TRUE((*broker)->CreateTopic("cpts.faults", kPartitions).ok());
  auto log = OpenKafkaLog(logtest::KafkaTestOptions((*broker)->bootstrap()));
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  ASSERT_TRUE((*log)->EnsureTopic({"faults", kPartitions}).ok());

  std::atomic<bool> done{false};
  std::atomic<int> faults{0};
  // Faults run while the appends go on, cycling through every kind the broker can inject.
  // The mock never elects a new leader by itself, so a failover is played as a real
  // controller would: leadership moves off the broker, then it goes down and comes back.
  const auto set_all_leaders_except = [&](int excluded) {
    Status s = Status::Ok();
    for (int p = 0; p < kPartitions && s.ok(); ++p) {
      int leader = 1 + p % 3;
      if (leader == excluded) leader = 1 + (leader % 3);
      s = (*broker)->SetLeader("cpts.faults", p, leader);
    }
    return s;
  };
  std::thread chaos([&] {
    for (int round = 0; !done; ++round) {
      const int victim = 1 + round % 3;
      Status s = Status::Ok();
      switch (round % 5) {
        case 0:  // controlled failover: leaders move away, the broker restarts
          s = set_all_leaders_except(victim);
          if (s.ok()) s = (*broker)->BrokerDown(victim);
          std::this_thread::sleep_for(std::chrono::milliseconds(500));
          if (s.ok()) s = (*broker)->BrokerUp(victim);
          break;
        case 1:  // leaders move between live brokers
          for (int p = 0; p < kPartitions && s.ok(); ++p) {
            s = (*broker)->SetLeader("cpts.faults", p, 1 + (p + round) % 3);
          }
          break;
        case 2:  // a leader goes away with no failover: its partitions wait for it
          s = (*broker)->BrokerDown(victim);
          std::this_thread::sleep_for(std::chrono::milliseconds(500));
          if (s.ok()) s = (*broker)->BrokerUp(victim);
          break;
        case 3:
          s = (*broker)->PushRequestErrors(/*Produce=*/0, /*NOT_LEADER_FOR_PARTITION=*/6, 5);
          break;
        case 4:
          s = (*broker)->PushRequestErrors(/*Produce=*/0, /*REQUEST_TIMED_OUT=*/7, 3);
          break;
      }
      EXPECT_TRUE(s.ok()) << s.ToString();
      ++faults;
      std::this_thread::sleep_for(std::chrono::milliseconds(700));
    }
  });
  // Stops the fault thread on every exit path, so a failed ASSERT cannot leave it joinable.
  struct StopChaos {
    std::atomic<bool>& done;
    std::thread& chaos;
    ~StopChaos() {
      done = true;
      if (chaos.joinable()) chaos.join();
    }
  } stop_chaos{done, chaos};

  std::map<std::string, int> next_seq;  // per stream
  std::vector<std::string> acknowledged;
  for (int i = 0; i < kEvents; i += kBatch) {
    std::vector<Record> batch;
    for (int j = i; j < i + kBatch; ++j) {
      const std::string stream = "cpts-" + std::to_string(j % kStreams);
      batch.push_back({.key = stream, .value = stream + "#" + std::to_string(next_seq[stream]++)});
    }
    auto positions = (*log)->Append("faults", batch);
    ASSERT_TRUE(positions.ok()) << "append " << i << ": " << positions.status().ToString();
    for (const Record& r : batch) acknowledged.push_back(r.value);
    // Paced so the appends span every kind of fault (about 6 s in all).
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  done = true;
  chaos.join();
  EXPECT_GE(faults.load(), 5) << "every kind of fault must overlap the appends";

  auto read = logtest::ReadAll(**log, "faults", kPartitions);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  std::map<std::string, int> last_seq;
  std::map<std::string, int> seen;
  for (const StoredRecord& r : *read) {
    const std::string stream = r.value.substr(0, r.value.find('#'));
    const int seq = std::stoi(r.value.substr(r.value.find('#') + 1));
    EXPECT_EQ(r.key, stream);
    auto [it, first] = last_seq.try_emplace(stream, -1);
    EXPECT_EQ(seq, it->second + 1) << "stream " << stream << " out of order or with a gap";
    it->second = seq;
    ++seen[r.value];
  }
  for (const std::string& value : acknowledged) {
    ASSERT_EQ(seen[value], 1) << "acknowledged event " << value << " is missing or duplicated";
  }
  EXPECT_EQ(read->size(), acknowledged.size());
}

}  // namespace
}  // namespace cpts::log
