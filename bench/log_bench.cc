// cpts-log-bench: append and read throughput of both event logs (events/log.h): the embedded log
// on RocksDB, and the Kafka log on the Kafka-protocol test broker, with kcat reading the same
// Kafka topics as an independent yardstick. Each measurement is a full pass over a fresh topic
// (and, for the embedded log, a fresh data directory), repeated --runs times; the table shows
// min/median/max. Every pass checks that all it appended is stored and read back exactly once:
// a benchmark that silently reads less reports a fast lie. See bench/README.md.

#include <librdkafka/rdkafka.h>
#include <rocksdb/version.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <latch>
#include <memory>
#include <mutex>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "connectors/embedded_log.h"
#include "connectors/kafka_log.h"
#include "events/log.h"
#include "tests/log/log_test_util.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_broker.h"

namespace cpts::bench {
namespace {

using Clock = std::chrono::steady_clock;
using log::Log;
using log::LogReader;
using log::Position;
using log::Record;
using log::StoredRecord;
using log::TopicPartition;

struct BenchOptions {
  // Full passes per measurement. Default: 5.
  int runs = 5;
  // Events appended (and read) per measurement. Default: 200,000.
  int events = 200'000;
  // Records per Append call. Default: 1,000.
  int batch = 1'000;
  // Appender threads of the concurrent rows. Default: 4.
  int threads = 4;
  // Partitions of every topic. Default: 8.
  int partitions = 8;
  // Distinct record keys (CPTS ids). Default: 100.
  int cpts = 100;
  // Brokers of the Kafka test cluster; 3 is the smallest cluster where acks=all means anything.
  // Default: 3.
  int brokers = 3;
};

// A read that brings nothing new for this long has stalled: fail rather than wait forever.
constexpr auto kStallTimeout = std::chrono::seconds(30);
constexpr auto kKcatTimeout = std::chrono::minutes(5);

// --- Workload ----------------------------------------------------------------------------------

// "2026-11-22T16:05:00.123Z", the envelope's time format.
std::string Rfc3339(int64_t ms_since_epoch) {
  const time_t seconds = static_cast<time_t>(ms_since_epoch / 1000);
  tm utc{};
  gmtime_r(&seconds, &utc);
  char text[64];  // room for any int fields, as -Wformat-truncation asks
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(ms_since_epoch % 1000));
  return text;
}

// A discharge-notified event in its CloudEvents structured-JSON envelope, about 315 bytes. Built
// here rather than with events/codec.h so the benchmark measures the logs alone. The fields that
// differ between real events (ids, times, patient) are random, so lz4 (used by both logs) sees
// realistic entropy instead of one string repeated.
std::string DischargeNotified(const std::string& cpts_id, uint64_t sequence, int64_t time_ms,
                              std::mt19937_64& rng) {
  const int64_t discharged_ms = time_ms - static_cast<int64_t>(rng() % 86'400'000);
  char value[512];
  std::snprintf(value, sizeof value,
                R"({"specversion":"1.0","id":"%016llx","source":"/cpts/%s",)"
                R"("type":"fr.cpts.discharge.notified.v1","time":"%s","cptsid":"%s",)"
                R"("sequence":%llu,"actor":"hospital:%09llu","data":{"discharge":"D-%07llu",)"
                R"("patient_ins":"%013llu","discharged_at":"%s"}})",
                static_cast<unsigned long long>(rng()), cpts_id.c_str(), Rfc3339(time_ms).c_str(),
                cpts_id.c_str(), static_cast<unsigned long long>(sequence),
                static_cast<unsigned long long>(rng() % 1'000'000'000),
                static_cast<unsigned long long>(rng() % 10'000'000),
                static_cast<unsigned long long>(rng() % 10'000'000'000'000),
                Rfc3339(discharged_ms).c_str());
  return value;
}

// The events every measurement appends: the same records each time, so passes compare alike.
struct Workload {
  std::vector<Record> records;
  int64_t bytes = 0;                         // key + value bytes of all records
  int64_t value_bytes = 0;                   // what kcat prints with -f '%s\n', newlines aside
  std::vector<int64_t> per_partition;        // records each partition receives
  std::vector<int64_t> per_partition_bytes;  // their key + value bytes, before compression
};

Workload MakeWorkload(const BenchOptions& options) {
  Workload w;
  w.per_partition.assign(static_cast<size_t>(options.partitions), 0);
  w.per_partition_bytes.assign(static_cast<size_t>(options.partitions), 0);
  w.records.reserve(static_cast<size_t>(options.events));
  // A fixed seed: every pass and every machine writes the same events.
  std::mt19937_64 rng(20261122);
  std::vector<uint64_t> next_sequence(static_cast<size_t>(options.cpts), 1);
  constexpr int64_t kFirstEventMs = 1'795'000'000'000;  // November 2026
  for (int i = 0; i < options.events; ++i) {
    const size_t cpts = static_cast<size_t>(rng() % static_cast<uint64_t>(options.cpts));
    char key[32];
    std::snprintf(key, sizeof key, "cpts-%03zu", cpts);
    const int64_t time_ms = kFirstEventMs + 40LL * i;  // 25 events/s across the region
    Record r{.key = key,
             .value = DischargeNotified(key, next_sequence[cpts]++, time_ms, rng),
             .timestamp_ms = time_ms};
    const auto p = static_cast<size_t>(log::RouteRecord(r, options.partitions).value());
    const auto bytes = static_cast<int64_t>(r.key.size() + r.value.size());
    ++w.per_partition[p];
    w.per_partition_bytes[p] += bytes;
    w.bytes += bytes;
    w.value_bytes += static_cast<int64_t>(r.value.size());
    w.records.push_back(std::move(r));
  }
  return w;
}

// --- Results -----------------------------------------------------------------------------------

// One timed pass.
struct Sample {
  double seconds = 0;
  int64_t events = 0;
  int64_t bytes = 0;  // key + value bytes of those events
  double EventsPerSecond() const { return static_cast<double>(events) / seconds; }
  double MegabytesPerSecond() const { return static_cast<double>(bytes) / seconds / 1e6; }
};

// The table's rows, in print order.
enum class Row {
  kEmbeddedAppendOne,
  kEmbeddedAppendMany,
  kEmbeddedAppendNoSync,
  kEmbeddedRead,
  kKafkaAppendOne,
  kKafkaAppendMany,
  kKafkaRead,
  kKcatRead,
};
constexpr size_t kRowCount = 8;

std::string RowName(Row row, int threads) {
  const std::string many = std::to_string(threads) + " threads";
  switch (row) {
    case Row::kEmbeddedAppendOne:
      return "embedded append 1 thread (sync)";
    case Row::kEmbeddedAppendMany:
      return "embedded append " + many + " (sync)";
    case Row::kEmbeddedAppendNoSync:
      return "embedded append 1 thread (no sync)";
    case Row::kEmbeddedRead:
      return "embedded read (LogReader)";
    case Row::kKafkaAppendOne:
      return "kafka append 1 thread";
    case Row::kKafkaAppendMany:
      return "kafka append " + many;
    case Row::kKafkaRead:
      return "kafka read (LogReader)";
    case Row::kKcatRead:
      return "kafka read (kcat)";
  }
  return "?";
}

// "1,234,567".
std::string Grouped(double value) {
  std::string digits = std::to_string(std::llround(value));
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) {
    digits.insert(static_cast<size_t>(i), ",");
  }
  return digits;
}

struct Spread {
  double min, median, max;
};

Spread SpreadOf(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  const double median = n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  return {values.front(), median, values.back()};
}

// Collects every row's samples, reporting each on stderr as it comes so a long run shows life.
class Results {
 public:
  explicit Results(const BenchOptions& options) : options_(options) {}

  // Records a successful pass; a failed one becomes the Status, named after its row and run.
  Status Add(int run, Row row, const Result<Sample>& sample) {
    const std::string name = RowName(row, options_.threads);
    if (!sample.ok()) {
      return sample.status().WithContext("run " + std::to_string(run) + ", " + name);
    }
    samples_[static_cast<size_t>(row)].push_back(*sample);
    std::fprintf(stderr, "run %d/%d  %-36s %12s events/s %8.1f MB/s  (%.2f s)\n", run,
                 options_.runs, name.c_str(), Grouped(sample->EventsPerSecond()).c_str(),
                 sample->MegabytesPerSecond(), sample->seconds);
    return Status::Ok();
  }

  void PrintTable() const {
    std::printf("%-38s %38s   %26s\n", "", "------------- events/s -------------",
                "---------- MB/s ----------");
    std::printf("%-38s %12s %12s %12s   %8s %8s %8s\n", "measurement", "min", "median", "max",
                "min", "median", "max");
    for (size_t i = 0; i < kRowCount; ++i) {
      const std::vector<Sample>& samples = samples_[i];
      std::vector<double> events_per_second, megabytes_per_second;
      for (const Sample& s : samples) {
        events_per_second.push_back(s.EventsPerSecond());
        megabytes_per_second.push_back(s.MegabytesPerSecond());
      }
      const Spread e = SpreadOf(events_per_second);
      const Spread m = SpreadOf(megabytes_per_second);
      std::printf("%-38s %12s %12s %12s   %8.1f %8.1f %8.1f\n",
                  RowName(static_cast<Row>(i), options_.threads).c_str(), Grouped(e.min).c_str(),
                  Grouped(e.median).c_str(), Grouped(e.max).c_str(), m.min, m.median, m.max);
    }
  }

 private:
  const BenchOptions& options_;
  std::array<std::vector<Sample>, kRowCount> samples_;
};

// --- Measurements ------------------------------------------------------------------------------

// Checks that each partition holds exactly what the workload sent it, from offset 0. The test
// broker silently drops a partition's oldest data beyond 5 MiB; a pass over lost data is void.
Status CheckStored(Log& log, const std::string& topic, const Workload& w) {
  for (size_t p = 0; p < w.per_partition.size(); ++p) {
    const TopicPartition tp{topic, Partition(static_cast<int32_t>(p))};
    Result<Offset> begin = log.BeginOffset(tp);
    if (!begin.ok()) return begin.status();
    Result<Offset> end = log.EndOffset(tp);
    if (!end.ok()) return end.status();
    if (begin->value() != 0 || end->value() != w.per_partition[p]) {
      return Status::Internal(
          topic + "/" + std::to_string(p) + " holds offsets [" + std::to_string(begin->value()) +
          ", " + std::to_string(end->value()) + "), expected [0, " +
          std::to_string(w.per_partition[p]) +
          "): records were lost or duplicated (the Kafka test broker drops a partition's data "
          "beyond 5 MiB: use more --partitions or fewer --events)");
    }
  }
  return Status::Ok();
}

// Appends the workload in Append calls of `batch` records from `threads` threads, each taking one
// contiguous slice in order. Timed from the release of the threads to the last acknowledgement;
// then checks the topic holds everything.
Result<Sample> TimedAppend(Log& log, const std::string& topic, const Workload& w, int batch,
                           int threads) {
  const std::span<const Record> all(w.records);
  std::mutex mu;
  Status first_error;  // guarded by mu
  std::latch go(1);
  std::vector<std::thread> appenders;
  for (size_t t = 0; t < static_cast<size_t>(threads); ++t) {
    const size_t begin = all.size() * t / static_cast<size_t>(threads);
    const size_t end = all.size() * (t + 1) / static_cast<size_t>(threads);
    appenders.emplace_back([&, slice = all.subspan(begin, end - begin)] {
      go.wait();
      for (size_t i = 0; i < slice.size(); i += static_cast<size_t>(batch)) {
        const auto chunk = slice.subspan(i, std::min(static_cast<size_t>(batch), slice.size() - i));
        Result<std::vector<Position>> positions = log.Append(topic, chunk);
        Status status = positions.status();
        if (status.ok() && positions->size() != chunk.size()) {
          status = Status::Internal("Append returned " + std::to_string(positions->size()) +
                                    " positions for " + std::to_string(chunk.size()) + " records");
        }
        if (!status.ok()) {
          std::lock_guard lock(mu);
          if (first_error.ok()) first_error = status;
          return;
        }
      }
    });
  }
  const Clock::time_point began = Clock::now();
  go.count_down();
  for (std::thread& appender : appenders) appender.join();
  const std::chrono::duration<double> elapsed = Clock::now() - began;
  CPTS_RETURN_IF_ERROR(first_error);
  CPTS_RETURN_IF_ERROR(CheckStored(log, topic, w));
  return Sample{elapsed.count(), static_cast<int64_t>(w.records.size()), w.bytes};
}

// Reads the whole topic with a LogReader assigned to every partition from offset 0, timed from
// OpenReader to the last record, as a projection replaying the log would. Each partition must
// come back gapless, in order and exactly once.
Result<Sample> TimedRead(Log& log, const std::string& topic, const Workload& w) {
  const Clock::time_point began = Clock::now();
  Result<std::unique_ptr<LogReader>> reader = log.OpenReader();
  if (!reader.ok()) return reader.status();
  for (size_t p = 0; p < w.per_partition.size(); ++p) {
    CPTS_RETURN_IF_ERROR((*reader)->Assign({topic, Partition(static_cast<int32_t>(p))}, Offset(0)));
  }
  const auto want = static_cast<int64_t>(w.records.size());
  std::vector<int64_t> next(w.per_partition.size(), 0);
  int64_t events = 0;
  int64_t bytes = 0;
  Clock::time_point last_progress = Clock::now();
  while (events < want) {
    Result<std::vector<StoredRecord>> got = (*reader)->Poll(std::chrono::seconds(1), 10'000);
    if (!got.ok()) return got.status();
    if (got->empty()) {
      if (Clock::now() - last_progress > kStallTimeout) {
        return Status::TimedOut("read " + std::to_string(events) + " of " + std::to_string(want) +
                                " records of " + topic + ", then nothing more came");
      }
      continue;
    }
    last_progress = Clock::now();
    for (const StoredRecord& r : *got) {
      int64_t& expected = next[static_cast<size_t>(r.partition.value())];
      if (r.offset.value() != expected) {
        return Status::Internal(topic + "/" + std::to_string(r.partition.value()) +
                                ": read offset " + std::to_string(r.offset.value()) +
                                ", expected " + std::to_string(expected));
      }
      ++expected;
      bytes += static_cast<int64_t>(r.key.size() + r.value.size());
    }
    events += static_cast<int64_t>(got->size());
  }
  const std::chrono::duration<double> elapsed = Clock::now() - began;
  if (events != want || bytes != w.bytes) {
    return Status::Internal("read " + std::to_string(events) + " records (" +
                            std::to_string(bytes) + " B) of " + topic + ", appended " +
                            std::to_string(want) + " (" + std::to_string(w.bytes) + " B)");
  }
  return Sample{elapsed.count(), events, bytes};
}

// kcat reading the same Kafka topic, one value per line. Timed over its whole process (start,
// metadata, fetches, printing), with the same short fetch wait as our reader: the test broker
// holds an empty fetch for all of fetch.wait.max.ms (500 ms by default).
Result<Sample> TimedKcatRead(const std::string& bootstrap, const std::string& kafka_topic,
                             const Workload& w) {
  const Clock::time_point began = Clock::now();
  Result<std::string> out =
      test::RunAndCapture({"kcat", "-C", "-b", bootstrap, "-t", kafka_topic, "-o", "beginning",
                           "-e", "-q", "-f", "%s\\n", "-X", "fetch.wait.max.ms=10"},
                          kKcatTimeout);
  const std::chrono::duration<double> elapsed = Clock::now() - began;
  if (!out.ok()) return out.status();
  const auto want = static_cast<int64_t>(w.records.size());
  const auto lines = static_cast<int64_t>(std::count(out->begin(), out->end(), '\n'));
  // The values hold no newline: one line per record, and exactly the values' bytes.
  if (lines != want || static_cast<int64_t>(out->size()) != w.value_bytes + want) {
    return Status::Internal("kcat printed " + std::to_string(lines) + " values (" +
                            std::to_string(out->size()) + " B) of " + kafka_topic + ", expected " +
                            std::to_string(want) + " (" + std::to_string(w.value_bytes + want) +
                            " B)");
  }
  return Sample{elapsed.count(), lines, w.bytes};
}

// One fresh embedded log, in its own data directory, per append measurement: none pays for the
// flushes and compactions of the one before.
Status RunEmbedded(int run, const BenchOptions& options, const Workload& w, Results& results) {
  struct Case {
    Row row;
    bool sync_writes;
    int threads;
  };
  const Case cases[] = {{Row::kEmbeddedAppendOne, true, 1},
                        {Row::kEmbeddedAppendMany, true, options.threads},
                        {Row::kEmbeddedAppendNoSync, false, 1}};
  const std::string topic = "events";
  for (const Case& c : cases) {
    logtest::TempDir dir("log-bench");
    Result<std::unique_ptr<Log>> opened =
        log::OpenEmbeddedLog({.directory = dir.path(), .sync_writes = c.sync_writes});
    if (!opened.ok()) return opened.status();
    Log& log = **opened;
    CPTS_RETURN_IF_ERROR(log.EnsureTopic({topic, options.partitions}));
    CPTS_RETURN_IF_ERROR(
        results.Add(run, c.row, TimedAppend(log, topic, w, options.batch, c.threads)));
    // The read needs one pass's data; the product's default (sync) log provides it.
    if (c.row == Row::kEmbeddedAppendOne) {
      CPTS_RETURN_IF_ERROR(results.Add(run, Row::kEmbeddedRead, TimedRead(log, topic, w)));
    }
  }
  return Status::Ok();
}

// The Kafka side of one pass, on fresh topics. The topics are created on the test broker
// directly: it has no Admin API for EnsureTopic to create them (KAFKA-TEST-BROKER.md), so
// EnsureTopic only finds each one and checks its partition count.
Status RunKafka(int run, const BenchOptions& options, const Workload& w, test::TestBroker& broker,
                Log& log, const std::string& topic_prefix, Results& results) {
  auto create = [&](const std::string& topic) -> Status {
    CPTS_RETURN_IF_ERROR(broker.CreateTopic(topic_prefix + topic, options.partitions));
    return log.EnsureTopic({topic, options.partitions});
  };
  const std::string one = "bench-run" + std::to_string(run) + "-one-thread";
  CPTS_RETURN_IF_ERROR(create(one));
  CPTS_RETURN_IF_ERROR(
      results.Add(run, Row::kKafkaAppendOne, TimedAppend(log, one, w, options.batch, 1)));
  CPTS_RETURN_IF_ERROR(results.Add(run, Row::kKafkaRead, TimedRead(log, one, w)));
  CPTS_RETURN_IF_ERROR(
      results.Add(run, Row::kKcatRead, TimedKcatRead(broker.bootstrap(), topic_prefix + one, w)));

  const std::string many = "bench-run" + std::to_string(run) + "-threads";
  CPTS_RETURN_IF_ERROR(create(many));
  return results.Add(run, Row::kKafkaAppendMany,
                     TimedAppend(log, many, w, options.batch, options.threads));
}

// --- Environment -------------------------------------------------------------------------------

// "1.7.1", from kcat's "Version 1.7.1 (JSON, ...)" line; fails when kcat is missing.
Result<std::string> KcatVersion() {
  Result<std::string> out = test::RunAndCapture({"kcat", "-V"}, std::chrono::seconds(10));
  if (!out.ok()) return out.status();
  const size_t at = out->find("Version ");
  if (at == std::string::npos) return Status::Internal("kcat -V printed no version: " + *out);
  const size_t begin = at + 8;
  return out->substr(begin, out->find(' ', begin) - begin);
}

// The filesystem under `path`: on tmpfs an fsync costs nothing and the sync rows would mislead.
std::string FilesystemType(const std::string& path) {
  Result<std::string> out =
      test::RunAndCapture({"findmnt", "-n", "-o", "FSTYPE", "-T", path}, std::chrono::seconds(10));
  if (!out.ok()) return "unknown filesystem";
  std::string type = *out;
  while (!type.empty() && type.back() == '\n') type.pop_back();
  return type;
}

std::string Environment(const std::string& kcat_version, const std::string& embedded_dir) {
  char text[512];
  std::snprintf(text, sizeof text,
                "environment: nproc %ld, librdkafka %s, RocksDB %d.%d.%d, kcat %s, build %s, "
                "embedded log under %s (%s)",
                sysconf(_SC_NPROCESSORS_ONLN), rd_kafka_version_str(), ROCKSDB_MAJOR, ROCKSDB_MINOR,
                ROCKSDB_PATCH, kcat_version.c_str(), CPTS_BUILD_TYPE, embedded_dir.c_str(),
                FilesystemType(embedded_dir).c_str());
  return text;
}

int Main(int argc, char** argv) {
  BenchOptions options;
  CLI::App app{
      "Append and read throughput of the embedded (RocksDB) and Kafka event logs, with kcat "
      "reading the same Kafka topics. The embedded log lives under $TMPDIR (default /tmp); Kafka "
      "is cpts-test-broker on 127.0.0.1."};
  app.add_option("--runs", options.runs, "full passes per measurement")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--events", options.events, "events appended and read per measurement")
      ->check(CLI::Range(1, 100'000'000))
      ->capture_default_str();
  app.add_option("--batch", options.batch, "records per Append call")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  app.add_option("--threads", options.threads, "appender threads of the concurrent rows")
      ->check(CLI::Range(2, 256))
      ->capture_default_str();
  app.add_option("--partitions", options.partitions, "partitions of every topic")
      ->check(CLI::Range(1, 10'000))
      ->capture_default_str();
  app.add_option("--cpts", options.cpts, "distinct keys (CPTS ids) the events spread over")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  app.add_option("--brokers", options.brokers, "brokers of the Kafka test cluster")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  auto fail = [](const Status& status) {
    std::fprintf(stderr, "cpts-log-bench: FAILED: %s\n", status.ToString().c_str());
    return 1;
  };
  Result<std::string> kcat = KcatVersion();
  if (!kcat.ok()) {
    return fail(
        kcat.status().WithContext("kcat reads the Kafka topics for comparison; install it"));
  }

  std::fprintf(stderr, "generating %s events over %d CPTS ...\n", Grouped(options.events).c_str(),
               options.cpts);
  const Workload workload = MakeWorkload(options);

  Result<std::unique_ptr<test::TestBroker>> broker =
      test::TestBroker::Start({.brokers = options.brokers});
  if (!broker.ok()) return fail(broker.status());
  const log::KafkaLogOptions kafka_options = logtest::KafkaTestOptions((*broker)->bootstrap());
  // One producer for all passes, as a service keeps one: each pass measures appends, not start-up.
  Result<std::unique_ptr<Log>> kafka = log::OpenKafkaLog(kafka_options);
  if (!kafka.ok()) return fail(kafka.status());

  Results results(options);
  for (int run = 1; run <= options.runs; ++run) {
    std::fprintf(stderr, "run %d/%d ...\n", run, options.runs);
    Status status = RunEmbedded(run, options, workload, results);
    if (status.ok()) {
      status =
          RunKafka(run, options, workload, **broker, **kafka, kafka_options.topic_prefix, results);
    }
    if (!status.ok()) return fail(status);
  }

  const int64_t largest_partition =
      *std::max_element(workload.per_partition_bytes.begin(), workload.per_partition_bytes.end());
  std::printf("%s\n", Environment(*kcat, std::filesystem::temp_directory_path().string()).c_str());
  std::printf(
      "workload: %s events per measurement, avg record %lld B (key + value), %d CPTS keys, %d "
      "partitions (largest %.1f MB before compression), %d records per Append, runs: %d\n",
      Grouped(options.events).c_str(),
      static_cast<long long>(workload.bytes / static_cast<int64_t>(workload.records.size())),
      options.cpts, options.partitions, static_cast<double>(largest_partition) / 1e6, options.batch,
      options.runs);
  std::printf(
      "kafka: cpts-test-broker (librdkafka mock cluster in memory on 127.0.0.1, brokers: %d); "
      "producer idempotent, acks=all, lz4, linger.ms=5\n\n",
      options.brokers);
  results.PrintTable();
  std::printf(
      "\nkcat reads Kafka only: the embedded log is RocksDB files in this process, not the Kafka "
      "protocol, so it has no kcat row.\n"
      "Every pass checked its counts: each partition stored from offset 0 exactly what was "
      "appended, and read back gapless, in order, once (kcat: one line per event, all bytes).\n"
      "MB/s counts key + value bytes (1 MB = 10^6 B). Reads are timed from opening the reader to "
      "the last record; kcat over its whole process.\n");
  return 0;
}

}  // namespace
}  // namespace cpts::bench

int main(int argc, char** argv) { return cpts::bench::Main(argc, argv); }
