// The embedded log after SIGKILL: a child process appends from two threads and is killed at
// several moments; after each restart every acknowledged batch is there exactly once, no batch
// is half-written, offsets have no gap, and the log takes new appends.

#include <gtest/gtest.h>

#include <csignal>
#include <map>
#include <set>

#include "connectors/embedded_log.h"
#include "tests/log/log_test_util.h"
#include "tests/support/subprocess.h"

namespace cpts::log {
namespace {

constexpr int kThreads = 2;
constexpr int kBatchSize = 7;

struct Found {
  std::map<std::string, int> records_per_batch;  // "t0-b12" -> records
  size_t duplicates = 0;
  size_t total = 0;
};

Found Inspect(Log& log) {
  Found found;
  auto all = logtest::ReadAll(log, "crash", 4);
  EXPECT_TRUE(all.ok()) << all.status().ToString();  // a gap in offsets is reported here
  if (!all.ok()) return found;
  std::set<std::string> values;
  for (const StoredRecord& r : *all) {
    if (!values.insert(r.value).second) ++found.duplicates;
    found.records_per_batch[r.value.substr(0, r.value.rfind("-r"))]++;
  }
  found.total = all->size();
  return found;
}

TEST(EmbeddedLogCrashTest, EveryAcknowledgedBatchSurvivesSigkillWholeAndExactlyOnce) {
  logtest::TempDir dir("crash");
  std::set<std::string> acked;
  std::set<std::string> in_flight_at_earlier_kills;  // written, never acknowledged
  // Kill after a different number of acknowledgements each round, restarting on the same data.
  for (int kill_after : {40, 150, 5, 300}) {
    auto child = test::ChildProcess::Spawn({test::BinaryPath("cpts-log-crash-writer"), dir.path(),
                                            std::to_string(kThreads), std::to_string(kBatchSize)});
    ASSERT_TRUE(child.ok()) << child.status().ToString();
    int acks_this_round = 0;
    while (acks_this_round < kill_after) {
      auto line = (*child)->ReadLine(std::chrono::seconds(30));
      ASSERT_TRUE(line.ok()) << line.status().ToString();
      ASSERT_EQ(line->rfind("ACK ", 0), 0u) << *line;
      acked.insert(line->substr(4));
      ++acks_this_round;
    }
    ASSERT_TRUE((*child)->Signal(SIGKILL).ok());
    // Acknowledgements printed before the kill may still sit in the pipe: they count too.
    while (true) {
      auto line = (*child)->ReadLine(std::chrono::seconds(5));
      if (!line.ok()) break;
      if (line->rfind("ACK ", 0) == 0) acked.insert(line->substr(4));
    }
    auto status = (*child)->Wait(std::chrono::seconds(10));
    ASSERT_TRUE(status.ok());
    EXPECT_EQ(*status, -SIGKILL);

    auto log = OpenEmbeddedLog({.directory = dir.path()});
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    const Found found = Inspect(**log);
    EXPECT_EQ(found.duplicates, 0u);
    for (const std::string& batch : acked) {
      ASSERT_EQ(found.records_per_batch.count(batch), 1u) << "acknowledged batch lost: " << batch;
    }
    size_t unacked = 0;
    for (const auto& [batch, count] : found.records_per_batch) {
      EXPECT_EQ(count, kBatchSize) << "batch " << batch << " is half-written";
      if (acked.count(batch) == 0 && in_flight_at_earlier_kills.insert(batch).second) ++unacked;
    }
    // Only batches in flight at this kill may be there unacknowledged: at most one per thread.
    EXPECT_LE(unacked, static_cast<size_t>(kThreads));
    EXPECT_EQ(found.total % kBatchSize, 0u);
  }
  // After the last crash the log still takes appends, at the offsets that follow.
  auto log = OpenEmbeddedLog({.directory = dir.path()});
  ASSERT_TRUE(log.ok());
  const TopicPartition p0{"crash", Partition(0)};
  const Offset end = *(*log)->EndOffset(p0);
  auto positions =
      (*log)->Append("crash", std::vector<Record>{{.value = "after", .partition = Partition(0)}});
  ASSERT_TRUE(positions.ok());
  EXPECT_EQ((*positions)[0].offset, end);
}

TEST(EmbeddedLogCrashTest, ASecondProcessCannotOpenADirectoryInUse) {
  logtest::TempDir dir("locked");
  auto first = OpenEmbeddedLog({.directory = dir.path()});
  ASSERT_TRUE(first.ok());
  // RocksDB's lock is per process; a child process is the honest way to test it.
  auto second = test::RunAndCapture(
      {test::BinaryPath("cpts-log-crash-writer"), dir.path(), "1", "1"}, std::chrono::seconds(30));
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("in use by another process"), std::string::npos)
      << second.status().message();
}

}  // namespace
}  // namespace cpts::log
