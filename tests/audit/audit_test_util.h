#pragma once
// Helpers for the audit tests: a real history (aggregates/scenario.h decided by
// aggregates/history_writer.h), the embedded log's RocksDB opened directly to tamper with it
// (the layout of connectors/embedded_log.cc), and `cpts` run as a process.

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "aggregates/history_writer.h"
#include "aggregates/scenario.h"
#include "connectors/embedded_log.h"
#include "events/codec.h"
#include "events/topics.h"
#include "tests/log/log_test_util.h"
#include "tests/support/subprocess.h"

namespace cpts::audittest {

inline constexpr int kPartitions = 4;
inline constexpr uint64_t kEvents = 3000;

// Where one event of a stream is.
struct At {
  int32_t partition = 0;
  int64_t offset = 0;
  uint64_t sequence = 0;
};

// A history's records and, per stream, where each of its events is (sequence order).
struct Census {
  std::vector<log::StoredRecord> records;
  std::map<std::string, std::vector<At>> streams;
  // A stream with at least `n` events: the first such in id order.
  std::string StreamWithAtLeast(size_t n, const std::string& other_than = "",
                                const std::string& nor = "") const {
    for (const auto& [id, events] : streams) {
      if (events.size() >= n && id != other_than && id != nor) return id;
    }
    return "";
  }
  const log::StoredRecord& Record(const At& at) const {
    for (const log::StoredRecord& r : records) {
      if (r.partition.value() == at.partition && r.offset.value() == at.offset) return r;
    }
    throw std::runtime_error("no record at the given position");
  }
};

inline Census TakeCensus(log::Log& log, int partitions = kPartitions) {
  Census census;
  auto records = logtest::ReadAll(log, std::string(topics::kEvents), partitions);
  EXPECT_TRUE(records.ok()) << records.status().ToString();
  if (!records.ok()) return census;
  census.records = std::move(*records);
  for (const log::StoredRecord& r : census.records) {
    auto decoded = events::Decode(r.value);
    if (!decoded.ok()) continue;
    census.streams[decoded->envelope.cptsid].push_back(
        {r.partition.value(), r.offset.value(), decoded->envelope.sequence.value()});
  }
  return census;
}

// Writes kEvents events of the 30-CPTS scenario to `log` on kPartitions partitions.
inline void WriteScenario(log::Log& log, uint64_t events = kEvents, uint64_t seed = 5) {
  auto scenario = aggregates::Scenario::Create({.seed = seed});
  ASSERT_TRUE(scenario.ok()) << scenario.status().ToString();
  auto written =
      aggregates::WriteHistory(log, *scenario, {.events = events, .partitions = kPartitions});
  ASSERT_TRUE(written.ok()) << written.status().ToString();
}

// The same event with one digit of its time changed: still valid JSON and a valid event, but
// not the bytes the next event's prevhash names.
inline std::string AlterTime(const std::string& event) {
  std::string out = event;
  const size_t at = out.find("Z\",\"type\"");
  EXPECT_NE(at, std::string::npos) << "no time attribute found";
  if (at == std::string::npos) return out;
  char& digit = out[at - 1];
  digit = digit == '9' ? '8' : static_cast<char>(digit + 1);
  return out;
}

// The embedded log's RocksDB, opened directly (the log itself must be closed): records are
// keyed topic \0 partition(be32) offset(be64) in column family "records"; a value is format(1)
// timestamp(8) key(len32 + bytes) value(len32 + bytes) headers.
class RawEmbeddedLog {
 public:
  explicit RawEmbeddedLog(const std::string& directory) {
    std::vector<rocksdb::ColumnFamilyDescriptor> families = {
        {rocksdb::kDefaultColumnFamilyName, {}}, {"topics", {}}, {"records", {}},
        {"group_offsets", {}}};
    rocksdb::DB* raw = nullptr;
    const rocksdb::Status s =
        rocksdb::DB::Open(rocksdb::DBOptions(), directory, families, &handles_, &raw);
    EXPECT_TRUE(s.ok()) << s.ToString();
    db_.reset(raw);
  }
  ~RawEmbeddedLog() {
    if (db_ == nullptr) return;
    for (auto* h : handles_) (void)db_->DestroyColumnFamilyHandle(h);
    (void)db_->Close();
  }

  // The event bytes stored at `at`.
  std::string Event(const At& at) {
    const std::string stored = Get(at);
    const size_t key_len = Be32(stored, 9);
    const size_t value_at = 13 + key_len;
    return stored.substr(value_at + 4, Be32(stored, value_at));
  }
  // Replaces the event bytes at `at`, keeping the rest of the stored record.
  void SetEvent(const At& at, const std::string& event) {
    const std::string stored = Get(at);
    const size_t key_len = Be32(stored, 9);
    const size_t value_at = 13 + key_len;
    const size_t old_len = Be32(stored, value_at);
    std::string out = stored.substr(0, value_at);
    for (int shift = 24; shift >= 0; shift -= 8) {
      out.push_back(static_cast<char>(event.size() >> shift));
    }
    out += event;
    out += stored.substr(value_at + 4 + old_len);
    Put(at, out);
  }
  void Delete(const At& at) {
    const rocksdb::Status s = db_->Delete(rocksdb::WriteOptions(), handles_[2], Key(at));
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  // Exchanges the stored records at a and b.
  void Swap(const At& a, const At& b) {
    const std::string first = Get(a), second = Get(b);
    Put(a, second);
    Put(b, first);
  }

 private:
  static std::string Key(const At& at) {
    std::string key(topics::kEvents);
    key.push_back('\0');
    for (int shift = 24; shift >= 0; shift -= 8) {
      key.push_back(static_cast<char>(static_cast<uint32_t>(at.partition) >> shift));
    }
    for (int shift = 56; shift >= 0; shift -= 8) {
      key.push_back(static_cast<char>(static_cast<uint64_t>(at.offset) >> shift));
    }
    return key;
  }
  static size_t Be32(const std::string& s, size_t at) {
    size_t v = 0;
    for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(s[at + i]);
    return v;
  }
  std::string Get(const At& at) {
    std::string value;
    const rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), handles_[2], Key(at), &value);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return value;
  }
  void Put(const At& at, const std::string& value) {
    const rocksdb::Status s = db_->Put(rocksdb::WriteOptions(), handles_[2], Key(at), value);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

// `cpts` with `args`, its stdout and stderr together, and its exit status.
struct CptsRun {
  int status = -1;
  std::string out;
};
inline CptsRun Cpts(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/bin/sh", "-c", "\"$0\" \"$@\" 2>&1; echo \"exit=$?\"",
                                   test::BinaryPath("cpts")};
  argv.insert(argv.end(), args.begin(), args.end());
  auto out = test::RunAndCapture(argv, std::chrono::seconds(300));
  CptsRun run;
  if (!out.ok()) {
    run.out = out.status().ToString();
    return run;
  }
  const size_t exit_at = out->rfind("exit=");
  if (exit_at == std::string::npos) return run;
  run.status = std::stoi(out->substr(exit_at + 5));
  run.out = out->substr(0, exit_at);
  return run;
}

// The JSON objects of `cpts audit verify --json` output: problems, then the summary.
inline std::vector<::cpts::Json> JsonLines(const std::string& out) {
  std::vector<::cpts::Json> lines;
  size_t from = 0;
  while (from < out.size()) {
    size_t nl = out.find('\n', from);
    if (nl == std::string::npos) nl = out.size();
    const std::string line = out.substr(from, nl - from);
    if (!line.empty() && line[0] == '{') lines.push_back(::cpts::Json::parse(line));
    from = nl + 1;
  }
  return lines;
}

}  // namespace cpts::audittest
