#pragma once
// Helpers shared by the log tests: temporary directories, sample records, read-everything loops
// and one-line renderings that make failures readable.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "connectors/kafka_log.h"
#include "events/log.h"

namespace cpts::logtest {
using namespace cpts::log;  // the helpers speak the log's vocabulary

// A fresh directory under the system's temp dir, removed with its content on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    static std::atomic<int> counter{0};
    path_ = (std::filesystem::temp_directory_path() /
             ("cpts-" + tag + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++)))
                .string();
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::string UniqueTopicName(std::string_view test_name) {
  static std::atomic<int> counter{0};
  std::string name = "t" + std::to_string(getpid()) + "-" + std::to_string(counter++) + "-";
  for (char c : test_name) {
    name.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '-');
  }
  return name.substr(0, 150);
}

// Options for the Kafka log against the test broker: short waits so tests do not idle.
inline KafkaLogOptions KafkaTestOptions(const std::string& bootstrap) {
  KafkaLogOptions options;
  options.bootstrap_servers = bootstrap;
  // Brokers restart within a second in the fault tests: reconnect quickly rather than back off
  // for up to 10 s as librdkafka does by default.
  options.properties = {{"fetch.wait.max.ms", "10"}, {"reconnect.backoff.max.ms", "500"}};
  options.session_timeout = std::chrono::milliseconds(6000);
  return options;
}

// n records spread over `streams` keys, each with a header and a distinct timestamp.
inline std::vector<Record> MakeRecords(int n, int streams) {
  std::vector<Record> records;
  for (int i = 0; i < n; ++i) {
    records.push_back(Record{.key = "cpts-" + std::to_string(i % streams),
                             .value = "{\"n\":" + std::to_string(i) + "}",
                             .headers = {{"origin", "test"}, {"n", std::to_string(i)}},
                             .timestamp_ms = 1'700'000'000'000 + i});
  }
  return records;
}

// Polls until `want` records arrived or 30 s passed (the caller checks the count).
template <typename Source>
Result<std::vector<StoredRecord>> PollUntil(Source& source, size_t want) {
  std::vector<StoredRecord> out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (out.size() < want && std::chrono::steady_clock::now() < deadline) {
    auto got = source.Poll(std::chrono::milliseconds(100), want - out.size());
    if (!got.ok()) return got.status();
    out.insert(out.end(), std::make_move_iterator(got->begin()),
               std::make_move_iterator(got->end()));
  }
  return out;
}

// Every record of the topic, ordered by partition then offset.
inline Result<std::vector<StoredRecord>> ReadAll(Log& log, const std::string& topic,
                                                 int partitions) {
  auto reader = log.OpenReader();
  if (!reader.ok()) return reader.status();
  size_t total = 0;
  for (int p = 0; p < partitions; ++p) {
    auto end = log.EndOffset({topic, Partition(p)});
    if (!end.ok()) return end.status();
    total += static_cast<size_t>(end->value());
    CPTS_RETURN_IF_ERROR((*reader)->Assign({topic, Partition(p)}, Offset(0)));
  }
  auto records = PollUntil(**reader, total);
  if (!records.ok()) return records;
  std::stable_sort(records->begin(), records->end(), [](const auto& a, const auto& b) {
    return std::pair(a.partition, a.offset) < std::pair(b.partition, b.offset);
  });
  return records;
}

inline std::string RenderLine(int32_t partition, int64_t offset, const std::string& key,
                              const std::string& value, const std::vector<Header>& headers,
                              int64_t timestamp_ms) {
  std::string line = "p" + std::to_string(partition) + "@" + std::to_string(offset) + " " + key +
                     " " + value + " ts=" + std::to_string(timestamp_ms);
  for (const Header& h : headers) line += " " + h.key + "=" + h.value;
  return line;
}

inline std::string Render(const std::vector<StoredRecord>& records) {
  std::string out;
  for (const StoredRecord& r : records) {
    out += RenderLine(r.partition.value(), r.offset.value(), r.key, r.value, r.headers,
                      r.timestamp_ms) +
           "\n";
  }
  return out;
}

// What Render of a fresh topic should show after appending `records` in one go.
inline std::string RenderExpected(const std::vector<Record>& records, int partitions) {
  std::vector<std::string> lines;
  std::vector<int64_t> next(static_cast<size_t>(partitions), 0);
  std::vector<std::vector<std::string>> by_partition(static_cast<size_t>(partitions));
  for (const Record& r : records) {
    const int32_t p = RouteRecord(r, partitions).value();
    by_partition[static_cast<size_t>(p)].push_back(
        RenderLine(p, next[static_cast<size_t>(p)]++, r.key, r.value, r.headers, r.timestamp_ms));
  }
  std::string out;
  for (const auto& part : by_partition) {
    for (const std::string& line : part) out += line + "\n";
  }
  return out;
}

}  // namespace cpts::logtest
