#include "connectors/embedded_log.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>

namespace cpts::log {
namespace {

// Column families. Records are keyed topic \0 partition(be32) offset(be64), so one partition is
// one contiguous, offset-ordered key range.
constexpr char kTopicsCf[] = "topics";
constexpr char kRecordsCf[] = "records";
constexpr char kGroupsCf[] = "group_offsets";
constexpr uint8_t kRecordFormat = 1;

void PutBe32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}
void PutBe64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}
uint64_t GetBe(std::string_view in, size_t bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

std::string PartitionPrefix(std::string_view topic, Partition p) {
  std::string key(topic);
  key.push_back('\0');
  PutBe32(key, static_cast<uint32_t>(p.value()));
  return key;
}
std::string RecordKey(std::string_view topic, Partition p, Offset o) {
  std::string key = PartitionPrefix(topic, p);
  PutBe64(key, static_cast<uint64_t>(o.value()));
  return key;
}
Offset OffsetOfKey(std::string_view key) {
  return Offset(static_cast<int64_t>(GetBe(key.substr(key.size() - 8), 8)));
}

std::string GroupKey(std::string_view group, const TopicPartition& tp) {
  std::string key(group);
  key.push_back('\0');
  key += PartitionPrefix(tp.topic, tp.partition);
  return key;
}

void PutBytes(std::string& out, std::string_view s) {
  PutBe32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

std::string EncodeRecord(const Record& r, int64_t timestamp_ms) {
  std::string out;
  out.reserve(32 + RecordBytes(r));
  out.push_back(static_cast<char>(kRecordFormat));
  PutBe64(out, static_cast<uint64_t>(timestamp_ms));
  PutBytes(out, r.key);
  PutBytes(out, r.value);
  PutBe32(out, static_cast<uint32_t>(r.headers.size()));
  for (const Header& h : r.headers) {
    PutBytes(out, h.key);
    PutBytes(out, h.value);
  }
  return out;
}

// Reads the stored form back; a short or unknown value is corruption, never a crash.
class RecordDecoder {
 public:
  explicit RecordDecoder(std::string_view in) : in_(in) {}
  bool Bytes(std::string& out) {
    if (in_.size() < 4) return false;
    const size_t n = GetBe(in_, 4);
    in_.remove_prefix(4);
    if (in_.size() < n) return false;
    out.assign(in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  bool U32(uint32_t& v) { return Fixed(v, 4); }
  bool U64(uint64_t& v) { return Fixed(v, 8); }
  bool U8(uint8_t& v) { return Fixed(v, 1); }
  bool done() const { return in_.empty(); }

 private:
  template <typename T>
  bool Fixed(T& v, size_t n) {
    if (in_.size() < n) return false;
    v = static_cast<T>(GetBe(in_, n));
    in_.remove_prefix(n);
    return true;
  }
  std::string_view in_;
};

Status DecodeRecord(std::string_view value, StoredRecord& out) {
  RecordDecoder d(value);
  uint8_t format = 0;
  uint64_t ts = 0;
  uint32_t header_count = 0;
  if (!d.U8(format) || format != kRecordFormat || !d.U64(ts) || !d.Bytes(out.key) ||
      !d.Bytes(out.value) || !d.U32(header_count)) {
    return Status::Corruption("stored record at " + out.topic + "/" +
                              std::to_string(out.partition.value()) + "@" +
                              std::to_string(out.offset.value()) + " does not decode");
  }
  out.timestamp_ms = static_cast<int64_t>(ts);
  // Each header takes at least 8 bytes: a count beyond that is corruption, not an allocation.
  if (header_count > value.size() / 8) {
    return Status::Corruption("stored record at " + out.topic + "/" +
                              std::to_string(out.partition.value()) + "@" +
                              std::to_string(out.offset.value()) + " claims " +
                              std::to_string(header_count) + " headers");
  }
  out.headers.resize(header_count);
  for (Header& h : out.headers) {
    if (!d.Bytes(h.key) || !d.Bytes(h.value)) {
      return Status::Corruption("stored record headers at " + out.topic + "/" +
                                std::to_string(out.partition.value()) + "@" +
                                std::to_string(out.offset.value()) + " do not decode");
    }
  }
  return Status::Ok();
}

Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::Ok();
  if (s.IsCorruption()) return Status::Corruption(what + ": " + s.ToString());
  if (s.IsIOError()) return Status::IoError(what + ": " + s.ToString());
  return Status::Internal(what + ": " + s.ToString());
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct TopicInfo {
  int32_t partitions = 0;
  bool compacted = false;
};

}  // namespace

class EmbeddedLog final : public Log {
 public:
  static Result<std::unique_ptr<Log>> Open(const EmbeddedLogOptions& options);
  ~EmbeddedLog() override;

  Status EnsureTopic(const TopicSpec& spec) override;
  Result<int32_t> PartitionCount(std::string_view topic) override;
  Result<std::vector<Position>> Append(std::string_view topic,
                                       std::span<const Record> records) override;
  Result<Offset> BeginOffset(const TopicPartition& tp) override;
  Result<Offset> EndOffset(const TopicPartition& tp) override;
  Result<std::unique_ptr<LogReader>> OpenReader() override;
  Result<std::unique_ptr<GroupConsumer>> JoinGroup(const GroupOptions& options,
                                                   GroupListener* listener) override;
  Result<std::optional<Offset>> GroupOffset(std::string_view group,
                                            const TopicPartition& tp) override;
  std::optional<uint64_t> IntProperty(const std::string& property) const {
    uint64_t value = 0;
    if (!db_->GetIntProperty(property, &value)) return std::nullopt;
    return value;
  }
  size_t MaxRecordBytes() const override { return options_.max_record_bytes; }

  // For readers and group members.
  Status ReadPartition(const TopicPartition& tp, Offset from, size_t max_records,
                       std::vector<StoredRecord>& out);
  // Blocks until an append after `seen_generation` or the deadline; returns the generation.
  uint64_t WaitForAppend(uint64_t seen_generation, std::chrono::steady_clock::time_point deadline);
  uint64_t append_generation();
  Status StoreGroupOffset(const std::string& group,
                          const std::vector<std::pair<TopicPartition, Offset>>& offsets);
  Result<std::optional<Offset>> LoadGroupOffset(const std::string& group, const TopicPartition& tp);
  Status CheckPartition(const TopicPartition& tp);

  // In-process group coordination (see the header's note on ownership).
  struct GroupState {
    std::vector<uint64_t> members;  // join order
    std::vector<std::string> topics;
    std::map<TopicPartition, uint64_t> owner;  // absent = free
  };
  std::mutex group_mu_;
  std::map<std::string, GroupState> groups_;
  uint64_t next_member_id_ = 1;
  // The partitions `member` should own now: the group's partitions spread round-robin over its
  // members, in join order. Caller holds group_mu_.
  std::vector<TopicPartition> TargetAssignment(const GroupState& g, uint64_t member);

 private:
  explicit EmbeddedLog(EmbeddedLogOptions options) : options_(std::move(options)) {}
  Status LoadTopics();

  struct Writer {
    std::string_view topic;
    std::span<const Record> records;
    int32_t partitions = 0;
    bool done = false;
    Result<std::vector<Position>> result = Status::Internal("not written");
    std::condition_variable cv;
  };

  EmbeddedLogOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // owned by db_, destroyed in ~EmbeddedLog
  rocksdb::ColumnFamilyHandle* topics_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* records_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* groups_cf_ = nullptr;

  std::mutex mu_;  // guards everything below
  std::map<std::string, TopicInfo, std::less<>> topics_;
  std::map<TopicPartition, Offset> end_offsets_;
  std::deque<Writer*> writers_;
  uint64_t append_generation_ = 0;
  std::condition_variable appended_cv_;
};

std::optional<uint64_t> EmbeddedLogIntProperty(Log& log, const std::string& property) {
  auto* embedded = dynamic_cast<EmbeddedLog*>(&log);
  if (embedded == nullptr) return std::nullopt;
  return embedded->IntProperty(property);
}

Result<std::unique_ptr<Log>> OpenEmbeddedLog(const EmbeddedLogOptions& options) {
  return EmbeddedLog::Open(options);
}

Result<std::unique_ptr<Log>> EmbeddedLog::Open(const EmbeddedLogOptions& options) {
  if (options.directory.empty()) {
    return Status::InvalidArgument("the embedded log needs a data directory");
  }
  if (options.max_record_bytes == 0) {
    return Status::InvalidArgument("max_record_bytes must be positive");
  }
  if (!options.create_if_missing &&
      !std::filesystem::exists(std::filesystem::path(options.directory) / "CURRENT")) {
    return Status::NotFound("there is no embedded log in " + options.directory +
                            ": check the data directory, or create the log by running the "
                            "service (or cpts demo) first");
  }
  std::error_code ec;
  std::filesystem::create_directories(options.directory, ec);
  if (ec) {
    return Status::IoError("cannot create the data directory " + options.directory + ": " +
                           ec.message());
  }
  std::unique_ptr<EmbeddedLog> log(new EmbeddedLog(options));

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  rocksdb::ColumnFamilyOptions records_options;
  records_options.compression = rocksdb::kLZ4Compression;
  records_options.write_buffer_size = 64 << 20;
  // Records are read in offset order, a partition at a time: 64 KiB blocks (RocksDB's default is
  // 4 KiB, for point reads) mean a sixteenth of the reads, checksums and block-cache entries per
  // record, and compress a quarter smaller. A rebuild spent 4% of its CPU on those per-block costs.
  rocksdb::BlockBasedTableOptions records_table;
  records_table.block_size = 64 << 10;
  records_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(records_table));
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {kTopicsCf, rocksdb::ColumnFamilyOptions()},
      {kRecordsCf, records_options},
      {kGroupsCf, rocksdb::ColumnFamilyOptions()},
  };
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      rocksdb::DB::Open(db_options, options.directory, families, &log->handles_, &raw);
  if (!s.ok()) {
    if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
      return Status::Unavailable("the data directory " + options.directory +
                                 " is in use by another process; stop it first (" + s.ToString() +
                                 ")");
    }
    return FromRocks(s, "cannot open the embedded log in " + options.directory);
  }
  log->db_.reset(raw);
  log->topics_cf_ = log->handles_[1];
  log->records_cf_ = log->handles_[2];
  log->groups_cf_ = log->handles_[3];
  CPTS_RETURN_IF_ERROR(log->LoadTopics());
  return std::unique_ptr<Log>(std::move(log));
}

EmbeddedLog::~EmbeddedLog() {
  if (db_ == nullptr) return;
  for (rocksdb::ColumnFamilyHandle* h : handles_) {
    // Best effort at shutdown: the handle is released either way.
    (void)db_->DestroyColumnFamilyHandle(h);
  }
  (void)db_->Close();
}

Status EmbeddedLog::LoadTopics() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), topics_cf_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string name = it->key().ToString();
    const std::string_view v(it->value().data(), it->value().size());
    if (v.size() != 5) return Status::Corruption("topic entry for " + name + " does not decode");
    TopicInfo info{static_cast<int32_t>(GetBe(v, 4)), v[4] != 0};
    topics_[name] = info;
    // The end of each partition is one past its last stored key.
    std::unique_ptr<rocksdb::Iterator> rit(db_->NewIterator(rocksdb::ReadOptions(), records_cf_));
    for (int32_t p = 0; p < info.partitions; ++p) {
      const TopicPartition tp{name, Partition(p)};
      const std::string prefix = PartitionPrefix(name, Partition(p));
      rit->SeekForPrev(RecordKey(name, Partition(p), Offset(INT64_MAX)));
      Offset end(0);
      if (rit->Valid() && rit->key().starts_with(prefix)) {
        end = OffsetOfKey(std::string_view(rit->key().data(), rit->key().size())).Next();
      }
      CPTS_RETURN_IF_ERROR(FromRocks(rit->status(), "reading partition ends"));
      end_offsets_[tp] = end;
    }
  }
  return FromRocks(it->status(), "reading the topic list");
}

Status EmbeddedLog::EnsureTopic(const TopicSpec& spec) {
  CPTS_RETURN_IF_ERROR(ValidateTopicSpec(spec));
  std::lock_guard lock(mu_);
  if (auto it = topics_.find(spec.name); it != topics_.end()) {
    if (it->second.partitions != spec.partitions) {
      return PartitionCountMismatch("topic " + spec.name, it->second.partitions, spec.partitions);
    }
    return Status::Ok();
  }
  std::string value;
  PutBe32(value, static_cast<uint32_t>(spec.partitions));
  value.push_back(spec.compacted ? 1 : 0);
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync_writes;
  CPTS_RETURN_IF_ERROR(
      FromRocks(db_->Put(wo, topics_cf_, spec.name, value), "creating topic " + spec.name));
  topics_[spec.name] = TopicInfo{spec.partitions, spec.compacted};
  for (int32_t p = 0; p < spec.partitions; ++p) end_offsets_[{spec.name, Partition(p)}] = Offset(0);
  return Status::Ok();
}

Result<int32_t> EmbeddedLog::PartitionCount(std::string_view topic) {
  std::lock_guard lock(mu_);
  auto it = topics_.find(topic);
  if (it == topics_.end())
    return Status::NotFound("topic " + std::string(topic) + " does not exist");
  return it->second.partitions;
}

Status EmbeddedLog::CheckPartition(const TopicPartition& tp) {
  Result<int32_t> count = PartitionCount(tp.topic);
  if (!count.ok()) return count.status();
  return ValidatePartition(tp, *count);
}

Result<std::vector<Position>> EmbeddedLog::Append(std::string_view topic,
                                                  std::span<const Record> records) {
  Result<int32_t> partitions = PartitionCount(topic);
  if (!partitions.ok()) return partitions.status();
  CPTS_RETURN_IF_ERROR(ValidateRecords(topic, records, *partitions, options_.max_record_bytes));
  if (records.empty()) return std::vector<Position>{};

  Writer w;
  w.topic = topic;
  w.records = records;
  w.partitions = *partitions;

  std::unique_lock lock(mu_);
  writers_.push_back(&w);
  while (!w.done && &w != writers_.front()) w.cv.wait(lock);
  if (w.done) return std::move(w.result);

  // This writer leads: it writes its own records and those of every writer queued behind it
  // in one batch, then wakes them. Offsets are given under the lock, in queue order, and made
  // visible (end_offsets_) only once the batch is durable.
  const std::vector<Writer*> group(writers_.begin(), writers_.end());
  std::map<TopicPartition, Offset> next;
  rocksdb::WriteBatch batch;
  const int64_t now = NowMs();
  for (Writer* writer : group) {
    std::vector<Position> positions;
    positions.reserve(writer->records.size());
    for (const Record& r : writer->records) {
      const Partition p = RouteRecord(r, writer->partitions);
      const TopicPartition tp{std::string(writer->topic), p};
      auto [it, inserted] = next.try_emplace(tp, Offset(0));
      if (inserted) it->second = end_offsets_[tp];
      const Offset offset = it->second;
      it->second = offset.Next();
      batch.Put(records_cf_, RecordKey(writer->topic, p, offset),
                EncodeRecord(r, r.timestamp_ms != 0 ? r.timestamp_ms : now));
      positions.push_back(Position{p, offset});
    }
    writer->result = std::move(positions);
  }
  lock.unlock();
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync_writes;
  const Status written = FromRocks(db_->Write(wo, &batch), "appending to the embedded log");
  lock.lock();
  if (written.ok()) {
    for (const auto& [tp, end] : next) end_offsets_[tp] = end;
    ++append_generation_;
    appended_cv_.notify_all();
  }
  for (Writer* writer : group) {
    if (!written.ok()) writer->result = written;
    writer->done = true;
    writers_.pop_front();
    if (writer != &w) writer->cv.notify_one();
  }
  if (!writers_.empty()) writers_.front()->cv.notify_one();
  return std::move(w.result);
}

Result<Offset> EmbeddedLog::BeginOffset(const TopicPartition& tp) {
  CPTS_RETURN_IF_ERROR(CheckPartition(tp));
  return Offset(0);  // the embedded log keeps everything (ARCHITECTURE.md, 10)
}

Result<Offset> EmbeddedLog::EndOffset(const TopicPartition& tp) {
  CPTS_RETURN_IF_ERROR(CheckPartition(tp));
  std::lock_guard lock(mu_);
  return end_offsets_[tp];
}

Status EmbeddedLog::ReadPartition(const TopicPartition& tp, Offset from, size_t max_records,
                                  std::vector<StoredRecord>& out) {
  Offset end;
  {
    std::lock_guard lock(mu_);
    end = end_offsets_[tp];
  }
  if (from >= end || max_records == 0) return Status::Ok();
  const std::string upper = RecordKey(tp.topic, tp.partition, end);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, records_cf_));
  size_t n = 0;
  Offset expected = from;
  for (it->Seek(RecordKey(tp.topic, tp.partition, from)); it->Valid() && n < max_records;
       it->Next(), ++n) {
    StoredRecord r;
    r.topic = tp.topic;
    r.partition = tp.partition;
    r.offset = OffsetOfKey(std::string_view(it->key().data(), it->key().size()));
    if (r.offset != expected) {
      return Status::Corruption("partition " + tp.topic + "/" +
                                std::to_string(tp.partition.value()) + " lacks offset " +
                                std::to_string(expected.value()) + " (next stored is " +
                                std::to_string(r.offset.value()) + ")");
    }
    expected = expected.Next();
    CPTS_RETURN_IF_ERROR(DecodeRecord(std::string_view(it->value().data(), it->value().size()), r));
    out.push_back(std::move(r));
  }
  return FromRocks(it->status(), "reading " + tp.topic);
}

uint64_t EmbeddedLog::append_generation() {
  std::lock_guard lock(mu_);
  return append_generation_;
}

uint64_t EmbeddedLog::WaitForAppend(uint64_t seen_generation,
                                    std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  appended_cv_.wait_until(lock, deadline, [&] { return append_generation_ != seen_generation; });
  return append_generation_;
}

Status EmbeddedLog::StoreGroupOffset(
    const std::string& group, const std::vector<std::pair<TopicPartition, Offset>>& offsets) {
  rocksdb::WriteBatch batch;
  for (const auto& [tp, offset] : offsets) {
    CPTS_RETURN_IF_ERROR(CheckPartition(tp));
    if (offset.value() < 0) return Status::InvalidArgument("a committed offset cannot be negative");
    std::string value;
    PutBe64(value, static_cast<uint64_t>(offset.value()));
    batch.Put(groups_cf_, GroupKey(group, tp), value);
  }
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync_writes;
  return FromRocks(db_->Write(wo, &batch), "committing offsets of group " + group);
}

Result<std::optional<Offset>> EmbeddedLog::LoadGroupOffset(const std::string& group,
                                                           const TopicPartition& tp) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), groups_cf_, GroupKey(group, tp), &value);
  if (s.IsNotFound()) return std::optional<Offset>();
  CPTS_RETURN_IF_ERROR(FromRocks(s, "reading offsets of group " + group));
  if (value.size() != 8)
    return Status::Corruption("committed offset of group " + group + " does not decode");
  return std::optional<Offset>(Offset(static_cast<int64_t>(GetBe(value, 8))));
}

Result<std::optional<Offset>> EmbeddedLog::GroupOffset(std::string_view group,
                                                       const TopicPartition& tp) {
  if (group.empty()) return Status::InvalidArgument("a consumer group needs a name");
  CPTS_RETURN_IF_ERROR(CheckPartition(tp));
  // Offsets are stored as members commit them: the same read as a member's Committed.
  return LoadGroupOffset(std::string(group), tp);
}

std::vector<TopicPartition> EmbeddedLog::TargetAssignment(const GroupState& g, uint64_t member) {
  std::vector<TopicPartition> all;
  {
    std::lock_guard lock(mu_);  // lock order: group_mu_, then mu_
    for (const std::string& topic : g.topics) {
      auto it = topics_.find(topic);
      if (it == topics_.end()) continue;
      for (int32_t p = 0; p < it->second.partitions; ++p) all.push_back({topic, Partition(p)});
    }
  }
  std::vector<TopicPartition> mine;
  const auto pos = std::find(g.members.begin(), g.members.end(), member);
  if (pos == g.members.end()) return mine;
  const size_t index = static_cast<size_t>(pos - g.members.begin());
  for (size_t i = 0; i < all.size(); ++i) {
    if (i % g.members.size() == index) mine.push_back(all[i]);
  }
  return mine;
}

namespace {

// Reads a set of partitions from positions, round-robin so one busy partition cannot starve
// the others. Shared by the plain reader and the group member.
class PartitionCursor {
 public:
  explicit PartitionCursor(EmbeddedLog* log) : log_(log) {}

  void Set(const TopicPartition& tp, Offset from) { next_[tp] = from; }
  void Remove(const TopicPartition& tp) { next_.erase(tp); }
  bool Has(const TopicPartition& tp) const { return next_.count(tp) > 0; }

  Result<std::vector<StoredRecord>> Poll(std::chrono::milliseconds timeout, size_t max_records) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::vector<StoredRecord> out;
    while (true) {
      const uint64_t generation = log_->append_generation();
      CPTS_RETURN_IF_ERROR(ReadAvailable(max_records, out));
      if (!out.empty() || std::chrono::steady_clock::now() >= deadline) return out;
      log_->WaitForAppend(generation, deadline);
    }
  }

 private:
  Status ReadAvailable(size_t max_records, std::vector<StoredRecord>& out) {
    if (next_.empty()) return Status::Ok();
    // A fair share per partition first, then whatever room is left.
    const size_t share = std::max<size_t>(1, max_records / next_.size());
    for (int round = 0; round < 2 && out.size() < max_records; ++round) {
      for (auto& [tp, offset] : next_) {
        const size_t room = max_records - out.size();
        if (room == 0) break;
        const size_t before = out.size();
        CPTS_RETURN_IF_ERROR(
            log_->ReadPartition(tp, offset, round == 0 ? std::min(share, room) : room, out));
        if (out.size() > before) offset = out.back().offset.Next();
      }
    }
    return Status::Ok();
  }

  EmbeddedLog* log_;
  std::map<TopicPartition, Offset> next_;
};

class EmbeddedReader final : public LogReader {
 public:
  explicit EmbeddedReader(EmbeddedLog* log) : log_(log), cursor_(log) {}
  Status Assign(const TopicPartition& tp, Offset from) override {
    Result<Offset> end = log_->EndOffset(tp);
    if (!end.ok()) return end.status();
    CPTS_RETURN_IF_ERROR(ValidateReadPosition(tp, from, *end));
    cursor_.Set(tp, from);
    return Status::Ok();
  }
  Status Unassign(const TopicPartition& tp) override {
    cursor_.Remove(tp);
    return Status::Ok();
  }
  Result<std::vector<StoredRecord>> Poll(std::chrono::milliseconds timeout,
                                         size_t max_records) override {
    return cursor_.Poll(timeout, max_records);
  }

 private:
  EmbeddedLog* log_;
  PartitionCursor cursor_;
};

class EmbeddedGroupMember final : public GroupConsumer {
 public:
  EmbeddedGroupMember(EmbeddedLog* log, std::string group, uint64_t id, GroupListener* listener)
      : log_(log), group_(std::move(group)), id_(id), listener_(listener), cursor_(log) {}
  ~EmbeddedGroupMember() override { (void)Close(); }

  Result<std::vector<StoredRecord>> Poll(std::chrono::milliseconds timeout,
                                         size_t max_records) override {
    if (closed_) return Status::FailedPrecondition("this group member has left its group");
    CPTS_RETURN_IF_ERROR(Rebalance());
    return cursor_.Poll(timeout, max_records);
  }

  Status Commit(const std::vector<std::pair<TopicPartition, Offset>>& next_offsets) override {
    for (const auto& [tp, offset] : next_offsets) {
      (void)offset;
      if (std::find(owned_.begin(), owned_.end(), tp) == owned_.end()) {
        return Status::FailedPrecondition("cannot commit " + tp.topic + "/" +
                                          std::to_string(tp.partition.value()) +
                                          ": this member does not own it (any more)");
      }
    }
    return log_->StoreGroupOffset(group_, next_offsets);
  }

  Result<std::optional<Offset>> Committed(const TopicPartition& tp) override {
    return log_->LoadGroupOffset(group_, tp);
  }

  std::vector<TopicPartition> Assignment() const override { return owned_; }

  Status Close() override {
    if (closed_) return Status::Ok();
    // The listener hears of the loss while the partitions are still owned, so it may commit.
    if (!owned_.empty() && listener_ != nullptr) listener_->OnPartitionsRevoked(owned_);
    closed_ = true;
    std::lock_guard lock(log_->group_mu_);
    auto& g = log_->groups_[group_];
    for (auto it = g.owner.begin(); it != g.owner.end();) {
      it = it->second == id_ ? g.owner.erase(it) : std::next(it);
    }
    g.members.erase(std::remove(g.members.begin(), g.members.end(), id_), g.members.end());
    owned_.clear();
    return Status::Ok();
  }

 private:
  // Gives up partitions no longer meant for this member, then takes the free ones that are.
  // A partition is released only after the listener heard of its revocation (and could commit
  // its progress), so its next owner resumes exactly where this one stopped.
  Status Rebalance() {
    std::vector<TopicPartition> revoked;
    {
      std::lock_guard lock(log_->group_mu_);
      const std::vector<TopicPartition> target = log_->TargetAssignment(log_->groups_[group_], id_);
      for (const TopicPartition& tp : owned_) {
        if (std::find(target.begin(), target.end(), tp) == target.end()) revoked.push_back(tp);
      }
    }
    if (!revoked.empty()) {
      if (listener_ != nullptr) listener_->OnPartitionsRevoked(revoked);
      std::lock_guard lock(log_->group_mu_);
      auto& g = log_->groups_[group_];
      for (const TopicPartition& tp : revoked) {
        g.owner.erase(tp);
        cursor_.Remove(tp);
        owned_.erase(std::remove(owned_.begin(), owned_.end(), tp), owned_.end());
      }
    }
    std::vector<TopicPartition> assigned;
    {
      std::lock_guard lock(log_->group_mu_);
      auto& g = log_->groups_[group_];
      for (const TopicPartition& tp : log_->TargetAssignment(g, id_)) {
        if (g.owner.count(tp) == 0) {
          g.owner[tp] = id_;
          assigned.push_back(tp);
        }
      }
    }
    for (const TopicPartition& tp : assigned) {
      Result<std::optional<Offset>> committed = log_->LoadGroupOffset(group_, tp);
      if (!committed.ok()) return committed.status();
      cursor_.Set(tp, committed->value_or(Offset(0)));
      owned_.push_back(tp);
    }
    if (!assigned.empty() && listener_ != nullptr) listener_->OnPartitionsAssigned(assigned);
    return Status::Ok();
  }

  EmbeddedLog* log_;
  std::string group_;
  uint64_t id_;
  GroupListener* listener_;
  PartitionCursor cursor_;
  std::vector<TopicPartition> owned_;
  bool closed_ = false;
};

}  // namespace

Result<std::unique_ptr<LogReader>> EmbeddedLog::OpenReader() {
  return std::unique_ptr<LogReader>(new EmbeddedReader(this));
}

Result<std::unique_ptr<GroupConsumer>> EmbeddedLog::JoinGroup(const GroupOptions& options,
                                                              GroupListener* listener) {
  if (options.group.empty()) return Status::InvalidArgument("a consumer group needs a name");
  if (options.topics.empty()) return Status::InvalidArgument("a consumer group needs topics");
  for (const std::string& topic : options.topics) {
    Result<int32_t> count = PartitionCount(topic);
    if (!count.ok()) return count.status();
  }
  std::lock_guard lock(group_mu_);
  GroupState& g = groups_[options.group];
  if (!g.members.empty() && g.topics != options.topics) {
    return Status::InvalidArgument("group " + options.group +
                                   " already consumes other topics; one group, one topic list");
  }
  g.topics = options.topics;
  const uint64_t id = next_member_id_++;
  g.members.push_back(id);
  return std::unique_ptr<GroupConsumer>(new EmbeddedGroupMember(this, options.group, id, listener));
}

}  // namespace cpts::log
