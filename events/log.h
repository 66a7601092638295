#pragma once
// The event log: named topics split into partitions, each partition an ordered, append-only
// sequence of records addressed by offset. Two implementations share this contract and one
// conformance suite (tests/log_conformance_test.cc):
//   - connectors/kafka_log.h: Apache Kafka through librdkafka, for clusters;
//   - connectors/embedded_log.h: RocksDB on local disk, for a single machine.
// Topic names given here are logical ("events"); an implementation may prefix them ("cpts.events").
//
// Contract:
//   - A record goes to the partition murmur2(key) % partitions, as Kafka's Java client would put
//     it (PartitionForKey), unless it names a partition explicitly. A record needs one of the two.
//   - Append returns only once every record is durable, with one position per record, in the
//     order given. Records of one Append that land in one partition keep their order there.
//   - On failure nothing is acknowledged. On the embedded log the batch is not visible; it may
//     still appear whole (never in part) after a restart, if only the final fsync failed. On
//     Kafka a failed Append may have written any subset of its records (a timeout after the
//     write); with the gapless guarantee the producer then stops for good rather than write
//     past a hole. Callers make appends idempotent above the log (ARCHITECTURE.md, decision 3).
//   - Readers see records in offset order per partition, from any position.
// Thread-safety: Log is thread-safe. LogReader and GroupConsumer are used by one thread at a time.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "events/status.h"
#include "events/types.h"

namespace cpts::log {

struct Header {
  std::string key;
  std::string value;
  bool operator==(const Header&) const = default;
};

// What a producer appends.
struct Record {
  std::string key;  // routes the record; the CPTS id for events and commands
  std::string value;
  std::vector<Header> headers;
  int64_t timestamp_ms = 0;            // creation time, ms since the epoch; 0 means now
  std::optional<Partition> partition;  // overrides the key's partition when set
  // Deletes the key from a compacted topic (the keys topic): sent to Kafka as a NULL value, the
  // tombstone that compaction removes with the key's older records; an empty value on the
  // embedded log. Readers see an empty value on both. The value must be empty.
  bool tombstone = false;
};

// A record as read back.
struct StoredRecord {
  std::string topic;
  Partition partition;
  Offset offset;
  int64_t timestamp_ms = 0;
  std::string key;
  std::string value;
  std::vector<Header> headers;
};

struct TopicPartition {
  std::string topic;
  Partition partition;
  auto operator<=>(const TopicPartition&) const = default;
};

// Where an appended record landed.
struct Position {
  Partition partition;
  Offset offset;
  bool operator==(const Position&) const = default;
};

struct TopicSpec {
  std::string name;
  int32_t partitions = 0;
  // Keep only the newest record per key (the keys topic); every other topic keeps everything.
  bool compacted = false;
};

// Told of partitions a group member gains and loses. Called from inside GroupConsumer::Poll (and
// Close), on the polling thread: a member may catch up on a partition before returning, and may
// Commit its progress on a partition being revoked, which it still owns during the call.
class GroupListener {
 public:
  virtual ~GroupListener() = default;
  virtual void OnPartitionsAssigned(const std::vector<TopicPartition>& partitions) = 0;
  virtual void OnPartitionsRevoked(const std::vector<TopicPartition>& partitions) = 0;
  // The partitions were taken away without a revocation (the member's session timed out on
  // Kafka): another member may own them already, so committing for them will fail. By default,
  // treated like a revocation.
  virtual void OnPartitionsLost(const std::vector<TopicPartition>& partitions) {
    OnPartitionsRevoked(partitions);
  }
};

// Reads chosen partitions from chosen offsets, outside any group.
class LogReader {
 public:
  virtual ~LogReader() = default;
  // Starts (or restarts) reading `partition` at `from`.
  virtual Status Assign(const TopicPartition& partition, Offset from) = 0;
  virtual Status Unassign(const TopicPartition& partition) = 0;
  // Up to max_records records from the assigned partitions, in offset order per partition;
  // waits up to `timeout` when none is available, then returns an empty batch.
  virtual Result<std::vector<StoredRecord>> Poll(std::chrono::milliseconds timeout,
                                                 size_t max_records) = 0;
};

// A member of a consumer group over some topics: the group spreads the topics' partitions over
// its members so each partition has one owner at a time. A member reads its partitions from the
// group's committed offsets (from the beginning when none is committed).
class GroupConsumer {
 public:
  virtual ~GroupConsumer() = default;
  // Records of the owned partitions. Assignment changes are reported to the listener from here.
  virtual Result<std::vector<StoredRecord>> Poll(std::chrono::milliseconds timeout,
                                                 size_t max_records) = 0;
  // Stores, for each partition, the offset of the next record to read.
  virtual Status Commit(const std::vector<std::pair<TopicPartition, Offset>>& next_offsets) = 0;
  // The committed next offset of a partition, or nullopt when the group never committed one.
  virtual Result<std::optional<Offset>> Committed(const TopicPartition& partition) = 0;
  virtual std::vector<TopicPartition> Assignment() const = 0;
  // Leaves the group so its partitions move to other members at once. Idempotent.
  virtual Status Close() = 0;
};

struct GroupOptions {
  std::string group;
  std::vector<std::string> topics;
};

class Log {
 public:
  virtual ~Log() = default;

  // Creates the topic when absent. When present with another partition count, fails: changing
  // the count moves keys between partitions and breaks per-key order (ARCHITECTURE.md, 10).
  virtual Status EnsureTopic(const TopicSpec& spec) = 0;
  virtual Result<int32_t> PartitionCount(std::string_view topic) = 0;

  virtual Result<std::vector<Position>> Append(std::string_view topic,
                                               std::span<const Record> records) = 0;

  // The offset of the first record still kept, and one past the last record written.
  virtual Result<Offset> BeginOffset(const TopicPartition& partition) = 0;
  virtual Result<Offset> EndOffset(const TopicPartition& partition) = 0;

  virtual Result<std::unique_ptr<LogReader>> OpenReader() = 0;
  virtual Result<std::unique_ptr<GroupConsumer>> JoinGroup(const GroupOptions& options,
                                                           GroupListener* listener) = 0;

  // The committed next offset of consumer group `group` for `partition` (what its members
  // committed), or nullopt when the group never committed one. Read from outside the group: the
  // caller need not be a member and does not join (the HTTP API reads the deciders' progress to
  // tell "decided, nothing changed" from "not decided yet").
  virtual Result<std::optional<Offset>> GroupOffset(std::string_view group,
                                                    const TopicPartition& partition) = 0;

  // The largest record (key + value + headers) an Append accepts.
  virtual size_t MaxRecordBytes() const = 0;
};

// Default: 1,000,000 bytes, just under Kafka's default broker limit (message.max.bytes,
// 1,048,588) once batch overhead is added, so a record the embedded log takes fits a default
// Kafka cluster too.
inline constexpr size_t kDefaultMaxRecordBytes = 1'000'000;

// Kafka's Java client partitioner: murmur2 of the key, made positive, modulo the partition count.
uint32_t Murmur2(std::string_view data);
// Precondition: partitions > 0 (topics are validated when created).
Partition PartitionForKey(std::string_view key, int32_t partitions);

// The checks both implementations run before an append: topic name shape, each record routable,
// explicit partitions in range, sizes within the limit. Names the offending record by index.
Status ValidateTopicName(std::string_view topic);
Status ValidateRecords(std::string_view topic, std::span<const Record> records, int32_t partitions,
                       size_t max_record_bytes);
// Shared by both implementations so they accept, refuse and word things alike.
Status ValidateTopicSpec(const TopicSpec& spec);
// The refusal of a topic that exists with another partition count; `where` names the topic as
// the operator sees it ("topic events", "Kafka topic cpts.events").
Status PartitionCountMismatch(const std::string& where, int32_t existing, int32_t wanted);
Status ValidatePartition(const TopicPartition& tp, int32_t partitions);
// A read may start anywhere from 0 to the end offset, inclusive.
Status ValidateReadPosition(const TopicPartition& tp, Offset from, Offset end);

// The partition a valid record goes to.
Partition RouteRecord(const Record& record, int32_t partitions);
size_t RecordBytes(const Record& record);

// Reads every record of a topic as it is now (up to each partition's end offset when called),
// partition by partition in offset order, until `visit` returns false. From each partition's
// begin offset. Fails when a partition stops short of its end offset.
Status ForEachRecord(Log& log, std::string_view topic,
                     const std::function<bool(const StoredRecord&)>& visit);

}  // namespace cpts::log
