// One conformance suite, run unchanged against both log implementations (events/log.h):
// the embedded log on RocksDB in a fresh directory, and the Kafka log on the Kafka-protocol
// test broker (a separate process, tests/support/test_broker.h).

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "connectors/embedded_log.h"
#include "connectors/kafka_log.h"
#include "tests/log/log_test_util.h"
#include "tests/support/test_broker.h"

namespace cpts::log {
namespace {

using std::chrono::milliseconds;

// Where a test's log lives. A test asks for topics through CreateTopic so the Kafka variant can
// provision them on the broker (the test broker has no Admin API, KAFKA-TEST-BROKER.md).
class LogEnvironment {
 public:
  virtual ~LogEnvironment() = default;
  virtual Log& log() = 0;
  virtual void CreateTopic(const std::string& name, int partitions) = 0;
  virtual std::string name() const = 0;
};

class EmbeddedEnvironment : public LogEnvironment {
 public:
  EmbeddedEnvironment() : dir_(logtest::TempDir("conformance")) {
    auto log = OpenEmbeddedLog({.directory = dir_.path()});
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(*log);
  }
  Log& log() override { return *log_; }
  void CreateTopic(const std::string& name, int partitions) override {
    ASSERT_TRUE(log_->EnsureTopic({name, partitions}).ok());
  }
  std::string name() const override { return "embedded"; }

 private:
  logtest::TempDir dir_;
  std::unique_ptr<Log> log_;
};

class KafkaEnvironment : public LogEnvironment {
 public:
  // One broker process for the whole suite; each test uses its own topic names.
  static cpts::test::TestBroker& Broker() {
    static std::unique_ptr<cpts::test::TestBroker> broker = [] {
      auto started = cpts::test::TestBroker::Start({.brokers = 3});
      if (!started.ok()) {
        ADD_FAILURE() << started.status().ToString();
        std::abort();
      }
      return std::move(*started);
    }();
    return *broker;
  }

  KafkaEnvironment() {
    auto log = OpenKafkaLog(logtest::KafkaTestOptions(Broker().bootstrap()));
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(*log);
  }
  Log& log() override { return *log_; }
  void CreateTopic(const std::string& name, int partitions) override {
    auto created = Broker().CreateTopic("cpts." + name, partitions);
    ASSERT_TRUE(created.ok()) << created.ToString();
    ASSERT_TRUE(log_->EnsureTopic({name, partitions}).ok());
  }
  std::string name() const override { return "kafka"; }

 private:
  std::unique_ptr<Log> log_;
};

class LogConformanceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "embedded") {
      env_ = std::make_unique<EmbeddedEnvironment>();
    } else {
      env_ = std::make_unique<KafkaEnvironment>();
    }
    // A topic name unique to this test, so tests sharing one broker never see each other.
    topic_ =
        logtest::UniqueTopicName(::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  Log& log() { return env_->log(); }

  std::unique_ptr<LogEnvironment> env_;
  std::string topic_;
};

TEST_P(LogConformanceTest, AppendPlacesEachKeyOnItsMurmur2PartitionWithContiguousOffsets) {
  env_->CreateTopic(topic_, 4);
  const std::vector<Record> records = logtest::MakeRecords(200, /*streams=*/7);
  auto positions = log().Append(topic_, records);
  ASSERT_TRUE(positions.ok()) << positions.status().ToString();
  ASSERT_EQ(positions->size(), records.size());
  std::map<int32_t, int64_t> next;
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ((*positions)[i].partition, PartitionForKey(records[i].key, 4));
    EXPECT_EQ((*positions)[i].offset.value(), next[(*positions)[i].partition.value()]++);
  }
}

TEST_P(LogConformanceTest, ReadsBackEveryRecordInOrderWithItsKeyValueHeadersAndTimestamp) {
  env_->CreateTopic(topic_, 3);
  const std::vector<Record> records = logtest::MakeRecords(300, 11);
  ASSERT_TRUE(log().Append(topic_, records).ok());
  const auto read = logtest::ReadAll(log(), topic_, 3);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(logtest::Render(*read), logtest::RenderExpected(records, 3));
}

TEST_P(LogConformanceTest, ReadsFromAnyPosition) {
  env_->CreateTopic(topic_, 1);
  const std::vector<Record> records = logtest::MakeRecords(50, 1);
  ASSERT_TRUE(log().Append(topic_, records).ok());
  for (int64_t from : {0, 1, 17, 49, 50}) {
    auto reader = log().OpenReader();
    ASSERT_TRUE(reader.ok());
    ASSERT_TRUE((*reader)->Assign({topic_, Partition(0)}, Offset(from)).ok());
    auto got = logtest::PollUntil(**reader, static_cast<size_t>(50 - from));
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_EQ(got->size(), static_cast<size_t>(50 - from)) << "from " << from;
    if (!got->empty()) {
      EXPECT_EQ(got->front().offset.value(), from);
      EXPECT_EQ(got->front().value, records[static_cast<size_t>(from)].value);
    }
  }
}

TEST_P(LogConformanceTest, EndOffsetsAdvanceWithEachAppendAndBeginAtZero) {
  env_->CreateTopic(topic_, 2);
  const TopicPartition p0{topic_, Partition(0)};
  ASSERT_EQ(log().EndOffset(p0)->value(), 0);
  ASSERT_EQ(log().BeginOffset(p0)->value(), 0);
  std::vector<Record> batch(5, Record{.key = "", .value = "x", .partition = Partition(0)});
  ASSERT_TRUE(log().Append(topic_, batch).ok());
  EXPECT_EQ(log().EndOffset(p0)->value(), 5);
  ASSERT_TRUE(log().Append(topic_, batch).ok());
  EXPECT_EQ(log().EndOffset(p0)->value(), 10);
  EXPECT_EQ(log().EndOffset({topic_, Partition(1)})->value(), 0);
}

TEST_P(LogConformanceTest, AnExplicitPartitionOverridesTheKey) {
  env_->CreateTopic(topic_, 4);
  const Record r{.key = "cpts-a", .value = "v", .partition = Partition(3)};
  auto positions = log().Append(topic_, std::vector<Record>{r});
  ASSERT_TRUE(positions.ok());
  EXPECT_EQ((*positions)[0].partition, Partition(3));
}

TEST_P(LogConformanceTest, ARecordWithNeitherKeyNorPartitionIsRejected) {
  env_->CreateTopic(topic_, 2);
  auto result = log().Append(topic_, std::vector<Record>{Record{.value = "v"}});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("needs a key"), std::string::npos)
      << result.status().message();
}

TEST_P(LogConformanceTest, AnOversizedRecordIsRejectedAndNothingOfItsBatchIsWritten) {
  env_->CreateTopic(topic_, 1);
  std::vector<Record> batch = logtest::MakeRecords(3, 1);
  batch[1].value.assign(log().MaxRecordBytes() + 1, 'x');
  auto result = log().Append(topic_, batch);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("record 1"), std::string::npos);
  EXPECT_NE(result.status().message().find("exceeds the limit"), std::string::npos);
  EXPECT_EQ(log().EndOffset({topic_, Partition(0)})->value(), 0);
}

TEST_P(LogConformanceTest, ARecordAtTheSizeLimitIsAccepted) {
  env_->CreateTopic(topic_, 1);
  Record big{.key = "cpts-big", .value = ""};
  big.value.assign(log().MaxRecordBytes() - big.key.size(), 'y');
  auto result = log().Append(topic_, std::vector<Record>{big});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  auto read = logtest::ReadAll(log(), topic_, 1);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->size(), 1u);
  EXPECT_EQ((*read)[0].value, big.value);
}

TEST_P(LogConformanceTest, APartitionOutOfRangeIsRejected) {
  env_->CreateTopic(topic_, 2);
  auto result =
      log().Append(topic_, std::vector<Record>{Record{.value = "v", .partition = Partition(2)}});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("partition 2 does not exist"), std::string::npos);
  EXPECT_FALSE(log().EndOffset({topic_, Partition(5)}).ok());
}

TEST_P(LogConformanceTest, AnUnknownTopicIsNotFound) {
  auto result = log().Append(topic_ + "-missing", logtest::MakeRecords(1, 1));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound) << result.status().ToString();
}

TEST_P(LogConformanceTest, AnInvalidTopicNameIsRejected) {
  auto result = log().EnsureTopic({"bad topic/name", 1});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(log().EnsureTopic({topic_, 0}).ok());
}

TEST_P(LogConformanceTest, ATopicWithAnotherPartitionCountIsRefusedWithMigrationAdvice) {
  env_->CreateTopic(topic_, 4);
  const Status status = log().EnsureTopic({topic_, 8});
  ASSERT_EQ(status.code(), StatusCode::kFailedPrecondition) << status.ToString();
  EXPECT_NE(status.message().find("has 4 partitions"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("migrate"), std::string::npos);
  EXPECT_TRUE(log().EnsureTopic({topic_, 4}).ok());
}

TEST_P(LogConformanceTest, AReadPositionPastTheEndIsRejected) {
  env_->CreateTopic(topic_, 1);
  ASSERT_TRUE(log().Append(topic_, logtest::MakeRecords(3, 1)).ok());
  auto reader = log().OpenReader();
  ASSERT_TRUE(reader.ok());
  const Status status = (*reader)->Assign({topic_, Partition(0)}, Offset(4));
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
  EXPECT_NE(status.message().find("outside the log"), std::string::npos);
}

TEST_P(LogConformanceTest, AReaderAtTheEndWaitsAndThenSeesNewRecords) {
  env_->CreateTopic(topic_, 1);
  auto reader = log().OpenReader();
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE((*reader)->Assign({topic_, Partition(0)}, Offset(0)).ok());
  auto empty = (*reader)->Poll(milliseconds(200), 10);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  std::thread appender([&] {
    std::this_thread::sleep_for(milliseconds(100));
    EXPECT_TRUE(log().Append(topic_, logtest::MakeRecords(2, 1)).ok());
  });
  auto got = logtest::PollUntil(**reader, 2);
  appender.join();
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->size(), 2u);
}

TEST_P(LogConformanceTest, ConcurrentAppendersGetDistinctPositionsAndKeepTheirOwnOrder) {
  env_->CreateTopic(topic_, 2);
  constexpr int kThreads = 4, kBatches = 25, kPerBatch = 8;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        std::vector<Record> batch;
        for (int i = 0; i < kPerBatch; ++i) {
          batch.push_back(Record{.key = "writer-" + std::to_string(t),
                                 .value = std::to_string(b * kPerBatch + i)});
        }
        if (!log().Append(topic_, batch).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);
  auto read = logtest::ReadAll(log(), topic_, 2);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->size(), static_cast<size_t>(kThreads * kBatches * kPerBatch));
  std::map<std::string, int> next;  // each writer's values appear in its own order
  for (const StoredRecord& r : *read) {
    EXPECT_EQ(std::stoi(r.value), next[r.key]++) << r.key;
  }
}

TEST_P(LogConformanceTest, AnEmptyAppendSucceedsAndWritesNothing) {
  env_->CreateTopic(topic_, 1);
  auto result = log().Append(topic_, std::vector<Record>{});
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->empty());
  EXPECT_EQ(log().EndOffset({topic_, Partition(0)})->value(), 0);
}

// Records what a group member was told, for the group tests.
struct RecordingListener : GroupListener {
  void OnPartitionsAssigned(const std::vector<TopicPartition>& p) override {
    owned.insert(p.begin(), p.end());
  }
  void OnPartitionsRevoked(const std::vector<TopicPartition>& p) override {
    for (const auto& tp : p) owned.erase(tp);
  }
  std::set<TopicPartition> owned;
};

TEST_P(LogConformanceTest, AGroupMemberOwnsEveryPartitionAloneAndResumesFromCommittedOffsets) {
  env_->CreateTopic(topic_, 3);
  ASSERT_TRUE(log().Append(topic_, logtest::MakeRecords(30, 9)).ok());
  const std::string group = topic_ + "-group";
  {
    RecordingListener listener;
    auto member = log().JoinGroup({group, {topic_}}, &listener);
    ASSERT_TRUE(member.ok()) << member.status().ToString();
    auto got = logtest::PollUntil(**member, 30);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_EQ(got->size(), 30u);
    EXPECT_EQ(listener.owned.size(), 3u);
    // Commit only up to offset 2 of each partition: the next member must resume there.
    std::vector<std::pair<TopicPartition, Offset>> commits;
    for (int p = 0; p < 3; ++p) commits.push_back({{topic_, Partition(p)}, Offset(2)});
    ASSERT_TRUE((*member)->Commit(commits).ok());
    auto committed = (*member)->Committed({topic_, Partition(1)});
    ASSERT_TRUE(committed.ok());
    ASSERT_TRUE(committed->has_value());
    EXPECT_EQ((*committed)->value(), 2);
    ASSERT_TRUE((*member)->Close().ok());
    EXPECT_TRUE(listener.owned.empty());
  }
  RecordingListener listener;
  auto member = log().JoinGroup({group, {topic_}}, &listener);
  ASSERT_TRUE(member.ok());
  auto got = logtest::PollUntil(**member, 24);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->size(), 24u);  // 30 records minus the first 2 of each partition
  for (const StoredRecord& r : *got) EXPECT_GE(r.offset.value(), 2);
}

TEST_P(LogConformanceTest, TwoGroupMembersSplitThePartitionsWithoutOverlap) {
  env_->CreateTopic(topic_, 4);
  ASSERT_TRUE(log().Append(topic_, logtest::MakeRecords(40, 13)).ok());
  const std::string group = topic_ + "-group";
  RecordingListener la, lb;
  auto a = log().JoinGroup({group, {topic_}}, &la);
  auto b = log().JoinGroup({group, {topic_}}, &lb);
  ASSERT_TRUE(a.ok() && b.ok());
  std::vector<StoredRecord> seen;
  // Poll both until they have settled on a split and everything was read once.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline &&
         (la.owned.size() + lb.owned.size() != 4 || la.owned.empty() || lb.owned.empty() ||
          seen.size() < 40)) {
    for (auto* m : {a->get(), b->get()}) {
      auto got = m->Poll(milliseconds(100), 100);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      seen.insert(seen.end(), got->begin(), got->end());
    }
  }
  EXPECT_EQ(la.owned.size() + lb.owned.size(), 4u);
  EXPECT_FALSE(la.owned.empty());
  EXPECT_FALSE(lb.owned.empty());
  for (const auto& tp : la.owned) EXPECT_EQ(lb.owned.count(tp), 0u);
  std::set<std::pair<int32_t, int64_t>> distinct;
  for (const StoredRecord& r : seen) distinct.insert({r.partition.value(), r.offset.value()});
  EXPECT_EQ(distinct.size(), 40u);
}

// Commits a member's progress on the partitions it is losing, from inside the revocation, as
// the deciders will: the next owner must resume exactly there.
struct CommittingListener : GroupListener {
  void OnPartitionsAssigned(const std::vector<TopicPartition>& p) override {
    owned.insert(p.begin(), p.end());
  }
  void OnPartitionsRevoked(const std::vector<TopicPartition>& p) override {
    std::vector<std::pair<TopicPartition, Offset>> progress;
    for (const auto& tp : p) {
      if (auto it = next.find(tp); it != next.end()) progress.push_back(*it);
      owned.erase(tp);
    }
    if (!progress.empty()) commits.push_back(member->Commit(progress));
  }
  void Consumed(const std::vector<StoredRecord>& records) {
    for (const auto& r : records) next[{r.topic, r.partition}] = r.offset.Next();
  }
  GroupConsumer* member = nullptr;
  std::set<TopicPartition> owned;
  std::map<TopicPartition, Offset> next;
  std::vector<Status> commits;
};

TEST_P(LogConformanceTest, AMemberLeavingCommitsInItsRevocationAndTheNextOwnerResumesThere) {
  env_->CreateTopic(topic_, 4);
  ASSERT_TRUE(log().Append(topic_, logtest::MakeRecords(40, 9)).ok());
  const std::string group = topic_ + "-group";
  CommittingListener la;
  auto a = log().JoinGroup({group, {topic_}}, &la);
  ASSERT_TRUE(a.ok());
  la.member = a->get();
  auto got = logtest::PollUntil(**a, 40);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 40u);
  la.Consumed(*got);
  ASSERT_TRUE((*a)->Close().ok());
  ASSERT_EQ(la.commits.size(), 1u);
  EXPECT_TRUE(la.commits[0].ok()) << la.commits[0].ToString();

  RecordingListener lb;
  auto b = log().JoinGroup({group, {topic_}}, &lb);
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(log().Append(topic_, logtest::MakeRecords(8, 9)).ok());
  auto after = logtest::PollUntil(**b, 8);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->size(), 8u) << "the next owner must read only what came after the commit";
  auto extra = (*b)->Poll(milliseconds(500), 100);
  ASSERT_TRUE(extra.ok());
  EXPECT_TRUE(extra->empty());
}

TEST_P(LogConformanceTest, APartitionMovesOnlyAfterItsOwnerCommittedInTheRevocation) {
  env_->CreateTopic(topic_, 4);
  ASSERT_TRUE(log().Append(topic_, logtest::MakeRecords(40, 9)).ok());
  const std::string group = topic_ + "-group";
  CommittingListener la;
  auto a = log().JoinGroup({group, {topic_}}, &la);
  ASSERT_TRUE(a.ok());
  la.member = a->get();
  auto got = logtest::PollUntil(**a, 40);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 40u);
  la.Consumed(*got);

  RecordingListener lb;
  auto b = log().JoinGroup({group, {topic_}}, &lb);
  ASSERT_TRUE(b.ok());
  std::vector<StoredRecord> read_by_b;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline &&
         (lb.owned.empty() || la.owned.size() + lb.owned.size() != 4)) {
    auto ga = (*a)->Poll(milliseconds(100), 100);
    ASSERT_TRUE(ga.ok()) << ga.status().ToString();
    la.Consumed(*ga);
    auto gb = (*b)->Poll(milliseconds(100), 100);
    ASSERT_TRUE(gb.ok()) << gb.status().ToString();
    read_by_b.insert(read_by_b.end(), gb->begin(), gb->end());
  }
  ASSERT_FALSE(lb.owned.empty()) << "the second member never got a partition";
  ASSERT_FALSE(la.commits.empty());
  for (const Status& s : la.commits) EXPECT_TRUE(s.ok()) << s.ToString();
  auto more = (*b)->Poll(milliseconds(500), 100);
  ASSERT_TRUE(more.ok());
  read_by_b.insert(read_by_b.end(), more->begin(), more->end());
  EXPECT_TRUE(read_by_b.empty()) << "B re-read " << read_by_b.size()
                                 << " records its predecessor had committed";
}

TEST_P(LogConformanceTest, AGroupsCommittedOffsetsAreReadableFromOutsideTheGroup) {
  env_->CreateTopic(topic_, 3);
  ASSERT_TRUE(log().Append(topic_, logtest::MakeRecords(30, 9)).ok());
  const std::string group = topic_ + "-group";
  auto before = log().GroupOffset(group, {topic_, Partition(1)});
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  EXPECT_FALSE(before->has_value()) << "a group that never committed has no offset";

  RecordingListener listener;
  auto member = log().JoinGroup({group, {topic_}}, &listener);
  ASSERT_TRUE(member.ok()) << member.status().ToString();
  ASSERT_TRUE(logtest::PollUntil(**member, 30).ok());
  const std::vector<std::pair<TopicPartition, Offset>> commits = {
      {{topic_, Partition(0)}, Offset(4)}, {{topic_, Partition(1)}, Offset(7)}};
  ASSERT_TRUE((*member)->Commit(commits).ok());
  std::map<int, std::optional<int64_t>> seen;
  for (int p = 0; p < 3; ++p) {
    auto offset = log().GroupOffset(group, {topic_, Partition(p)});
    ASSERT_TRUE(offset.ok()) << offset.status().ToString();
    seen[p] = offset->has_value() ? std::optional<int64_t>((*offset)->value()) : std::nullopt;
  }
  EXPECT_EQ(seen, (std::map<int, std::optional<int64_t>>{{0, 4}, {1, 7}, {2, std::nullopt}}));
  // Reading joined nothing: the member still owns every partition, and its next commit shows.
  EXPECT_EQ(listener.owned.size(), 3u);
  ASSERT_TRUE((*member)->Poll(milliseconds(100), 10).ok());
  EXPECT_EQ((*member)->Assignment().size(), 3u);
  ASSERT_TRUE((*member)->Commit({{{topic_, Partition(1)}, Offset(9)}}).ok());
  auto later = log().GroupOffset(group, {topic_, Partition(1)});
  ASSERT_TRUE(later.ok()) << later.status().ToString();
  ASSERT_TRUE(later->has_value());
  EXPECT_EQ((*later)->value(), 9);
  // Another group's progress is its own.
  auto other = log().GroupOffset(group + "-other", {topic_, Partition(1)});
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_FALSE(other->has_value());
  ASSERT_TRUE((*member)->Close().ok());
}

TEST_P(LogConformanceTest, AGroupOffsetOfAPartitionOutOfRangeIsRefused) {
  env_->CreateTopic(topic_, 2);
  EXPECT_FALSE(log().GroupOffset("some-group", {topic_, Partition(2)}).ok());
  EXPECT_FALSE(log().GroupOffset("", {topic_, Partition(0)}).ok());
}

INSTANTIATE_TEST_SUITE_P(BothLogs, LogConformanceTest, ::testing::Values("embedded", "kafka"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace cpts::log
