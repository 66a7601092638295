// cpts-projection-bench: how fast every read model is rebuilt from the events topic, against how
// fast the same topic can merely be read, on the embedded log and on Kafka, side by side.
//
// One realistic history (aggregates/scenario.h, 1,000,000 events by default) is written once into
// an embedded log (not timed). Then, --runs times each:
//   - raw scan: one LogReader over every partition from offset 0 to the end, counting records and
//     bytes, decoding nothing: the floor a rebuild cannot go below;
//   - rebuild: projections::BuildReadModels into a fresh directory (what `cpts rebuild` runs).
// The same history is then copied to cpts-test-broker (the Kafka-protocol test broker) and both
// measured again through the Kafka log. The rebuilds must agree: same history, same digest.
//
// Each measurement runs in a child process (this binary again, with a hidden --child mode) so that
// its peak RSS, read by wait4(), is its own and not the parent's, which holds the history's index.
// The child prints one JSON line of results on stdout. See bench/README.md.

#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <rocksdb/version.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "aggregates/history_writer.h"
#include "aggregates/scenario.h"
#include "connectors/embedded_log.h"
#include "connectors/kafka_log.h"
#include "events/json.h"
#include "events/log.h"
#include "events/topics.h"
#include "projections/clock.h"
#include "projections/read_models.h"
#include "projections/replay.h"
#include "tests/log/log_test_util.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_broker.h"

extern char** environ;

namespace cpts::bench {
namespace {

using Clock = std::chrono::steady_clock;
using log::Log;
using log::LogReader;
using log::Record;
using log::StoredRecord;
using log::TopicPartition;
using json = ::cpts::Json;
using projections::WithThousands;

struct BenchOptions {
  // Events in the generated history. Default: 1,000,000.
  uint64_t events = 1'000'000;
  // Timed passes per measurement. Default: 3.
  int runs = 3;
  // Partitions of the events topic, in both logs. Default: 64.
  int partitions = 64;
  // Worker threads of each rebuild (BuildOptions::threads). Default: 2.
  int threads = 2;
  // Threads copying the history to Kafka, one partition at a time each. Default: 4.
  int copy_threads = 4;
  // Brokers of the Kafka test cluster. Default: 3.
  int brokers = 3;
  // CPTS of the simulated history. Default: 30 (a region). The test broker keeps at most 5 MiB
  // per partition: 150 CPTS spread 1,000,000 events thinly enough for it to hold them all.
  int cpts = 30;
};

// What a child process is asked to do (the hidden --child mode).
struct ChildOptions {
  std::string mode;       // "scan" or "rebuild"
  std::string data_dir;   // the embedded log, when kafka is empty
  std::string kafka;      // bootstrap servers of the test broker
  std::string out;        // rebuild: the fresh read-model directory
  std::string until;      // rebuild: "0:120,1:98,...": an as-of build (the digest reference)
  // rebuild: leave out the outcomes decided before this (ms); none: every outcome.
  std::optional<int64_t> outcomes_since_ms;
  bool measured = false;  // false: the launcher, which runs the measuring process
  int threads = 2;
};

constexpr std::string_view kEventsTopic = topics::kEvents;
// Records per Append when copying to Kafka, and per Poll of a raw scan (the projector's batch).
constexpr size_t kCopyBatch = 1000;
constexpr size_t kScanBatch = 20'000;
// A read that brings nothing new for this long has stalled: fail rather than wait forever.
constexpr auto kStallTimeout = std::chrono::seconds(30);
// librdkafka's mock cluster keeps at most this much per partition (compressed batches) and
// silently drops the oldest beyond it (KAFKA-TEST-BROKER.md).
constexpr int64_t kBrokerPartitionBytes = 5 * 1024 * 1024;
// Copies that overflow the broker are retried with a shorter prefix of the history, this many
// times at most.
constexpr int kMaxCopyAttempts = 4;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string Mib(double bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", bytes / 1024 / 1024);
  return text;
}

// --- The child: one measurement, one JSON line ---------------------------------------------

Result<std::unique_ptr<Log>> OpenChildLog(const ChildOptions& options) {
  if (!options.kafka.empty()) return log::OpenKafkaLog(logtest::KafkaTestOptions(options.kafka));
  return log::OpenEmbeddedLog(
      {.directory = options.data_dir, .create_if_missing = false, .sync_writes = false});
}

// Reads every partition of the events topic from offset 0 to the end it has now, checking each
// comes back gapless and in order. Timed from opening the reader to the last record (as
// cpts-log-bench times its reads) and its close (a millisecond), as a rebuild closes its readers.
Result<json> RawScan(Log& log) {
  const std::string topic(kEventsTopic);
  Result<int32_t> partitions = log.PartitionCount(topic);
  if (!partitions.ok()) return partitions.status();
  std::vector<int64_t> end(static_cast<size_t>(*partitions));
  int64_t want = 0;
  for (int32_t p = 0; p < *partitions; ++p) {
    Result<Offset> e = log.EndOffset({topic, Partition(p)});
    if (!e.ok()) return e.status();
    end[static_cast<size_t>(p)] = e->value();
    want += e->value();
  }
  const Clock::time_point began = Clock::now();
  Result<std::unique_ptr<LogReader>> reader = log.OpenReader();
  if (!reader.ok()) return reader.status();
  for (int32_t p = 0; p < *partitions; ++p) {
    CPTS_RETURN_IF_ERROR((*reader)->Assign({topic, Partition(p)}, Offset(0)));
  }
  std::vector<int64_t> next(end.size(), 0);
  int64_t records = 0;
  int64_t bytes = 0;
  Clock::time_point last_progress = Clock::now();
  while (records < want) {
    Result<std::vector<StoredRecord>> got = (*reader)->Poll(std::chrono::seconds(1), kScanBatch);
    if (!got.ok()) return got.status();
    if (got->empty()) {
      if (Clock::now() - last_progress > kStallTimeout) {
        return Status::TimedOut("read " + std::to_string(records) + " of " + std::to_string(want) +
                                " records, then nothing more came");
      }
      continue;
    }
    last_progress = Clock::now();
    for (const StoredRecord& r : *got) {
      int64_t& expected = next[static_cast<size_t>(r.partition.value())];
      if (r.offset.value() != expected) {
        return Status::Internal("partition " + std::to_string(r.partition.value()) +
                                ": read offset " + std::to_string(r.offset.value()) +
                                ", expected " + std::to_string(expected));
      }
      ++expected;
      ++records;
      bytes += static_cast<int64_t>(r.key.size() + r.value.size());
    }
  }
  reader->reset();  // closed inside the timing, as a rebuild closes its readers
  const double seconds = Seconds(Clock::now() - began);
  return json{{"records", records}, {"bytes", bytes}, {"seconds", seconds}};
}

Result<json> Rebuild(Log& log, const ChildOptions& options) {
  projections::BuildOptions build{.directory = options.out,
                                  .threads = options.threads,
                                  .outcomes_since_ms = options.outcomes_since_ms};
  if (!options.until.empty()) {
    Result<int32_t> partitions = log.PartitionCount(kEventsTopic);
    if (!partitions.ok()) return partitions.status();
    Result<projections::Until> until = projections::ParseUntil(options.until, *partitions);
    if (!until.ok()) return until.status();
    build.until_positions = until->positions;
  }
  const Clock::time_point began = Clock::now();
  Result<projections::BuildReport> report = projections::BuildReadModels(log, build);
  const double seconds = Seconds(Clock::now() - began);
  if (!report.ok()) return report.status();
  const projections::ProjectorStats& s = report->stats;
  return json{{"records", s.records},
              {"applied", s.applied},
              {"already_applied", s.already_applied},
              {"gaps", s.gaps},
              {"conflicts", s.conflicts},
              {"unreadable", s.unreadable},
              {"misrouted", s.misrouted},
              {"after_until", s.after_until},
              {"seconds", seconds},
              {"digest", report->digest}};
}

// The peak RSS of this process so far, in KiB: VmHWM of its own (post-exec) mm.
int64_t OwnPeakRssKib() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return -1;
  char line[256];
  long long kib = -1;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::sscanf(line, "VmHWM: %lld kB", &kib) == 1) break;
  }
  std::fclose(f);
  return kib;
}

int RunChild(const ChildOptions& options) {
  Result<std::unique_ptr<Log>> log = OpenChildLog(options);
  Result<json> out = Status::Internal("unknown --child mode " + options.mode);
  if (!log.ok()) {
    out = log.status();
  } else if (options.mode == "scan") {
    out = RawScan(**log);
  } else if (options.mode == "rebuild") {
    out = Rebuild(**log, options);
  }
  if (!out.ok()) {
    std::fprintf(stderr, "cpts-projection-bench --child %s: %s\n", options.mode.c_str(),
                 out.status().ToString().c_str());
    return 1;
  }
  (*out)["vm_hwm_kib"] = OwnPeakRssKib();
  std::printf("%s\n", out->dump().c_str());
  return 0;
}

// --- Running a child: its JSON line and its own peak RSS --------------------------------------
//
// Why two levels of processes: Linux carries the peak RSS of the image a process replaces over
// exec (exec_mmap() folds the old mm's high-water mark into the process's maxrss), and a child
// of posix_spawn (or fork) starts from its parent's mm. So a child of the benchmark, which by
// then holds the history's census and has written a million events, reports through wait4() at
// least the benchmark's own peak (a 47 MiB scan showed as 116 MiB). Each measurement therefore
// goes through a small launcher, this binary freshly started, which spawns the measuring process
// and reads its rusage with wait4(): the floor is then the launcher's few MiB. The measuring
// process also reports its VmHWM (/proc/self/status), which the parent checks against it.

struct Spawned {
  std::string out;  // stdout
  int wait_status = 0;
  rusage usage{};
};

// Runs this binary again with `args`, stdin from /dev/null, stderr shared, and waits for it.
// Not tests/support's ChildProcess: its waitpid() discards the child's rusage.
Result<Spawned> SpawnSelf(const std::vector<std::string>& args) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return Status::IoError(std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  std::vector<std::string> argv_strings = {"/proc/self/exe"};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (spawned != 0) {
    close(pipe_fds[0]);
    return Status::Unavailable(std::string("cannot start a child: ") + std::strerror(spawned));
  }
  Spawned result;
  char buffer[4096];
  while (true) {
    const ssize_t n = read(pipe_fds[0], buffer, sizeof buffer);
    if (n > 0) {
      result.out.append(buffer, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(pipe_fds[0]);
  while (wait4(pid, &result.wait_status, 0, &result.usage) < 0) {
    if (errno != EINTR) return Status::Internal(std::string("wait4: ") + std::strerror(errno));
  }
  if (!WIFEXITED(result.wait_status) || WEXITSTATUS(result.wait_status) != 0) {
    return Status::Internal("child (" + args[1] + ") failed (" +
                            (WIFEXITED(result.wait_status)
                                 ? "exit status " + std::to_string(WEXITSTATUS(result.wait_status))
                                 : "signal " + std::to_string(WTERMSIG(result.wait_status))) +
                            "); its error is on stderr above");
  }
  return result;
}

// The last line of `out` that is a JSON object: nothing else should be on stdout, but be lenient.
Result<json> LastJsonLine(const std::string& out) {
  size_t begin = out.rfind("\n{");
  begin = begin == std::string::npos ? 0 : begin + 1;
  try {
    return json::parse(out.substr(begin));
  } catch (const json::exception& e) {
    return Status::Internal(std::string("a child printed no JSON result: ") + e.what());
  }
}

// The launcher: runs the measurement (`args` plus --measured) and prints its JSON line with the
// measuring process's peak RSS from wait4() added as "max_rss_kib".
int RunLauncher(std::vector<std::string> args) {
  args.push_back("--measured");
  Result<Spawned> spawned = SpawnSelf(args);
  Result<json> out = spawned.ok() ? LastJsonLine(spawned->out) : Result<json>(spawned.status());
  if (!out.ok()) {
    std::fprintf(stderr, "cpts-projection-bench launcher: %s\n", out.status().ToString().c_str());
    return 1;
  }
  (*out)["max_rss_kib"] = spawned->usage.ru_maxrss;  // KiB on Linux
  std::printf("%s\n", out->dump().c_str());
  return 0;
}

struct ChildResult {
  json out;
  double max_rss_mib = 0;
};

// One measurement: this binary as a launcher, running it again as the measuring process.
Result<ChildResult> RunMeasurement(const std::vector<std::string>& args) {
  Result<Spawned> spawned = SpawnSelf(args);
  if (!spawned.ok()) return spawned.status();
  Result<json> out = LastJsonLine(spawned->out);
  if (!out.ok()) return out.status();
  const auto max_rss_kib = out->at("max_rss_kib").get<int64_t>();
  const auto hwm_kib = out->at("vm_hwm_kib").get<int64_t>();
  // wait4() sees everything up to exit, VmHWM up to the JSON line (and the kernel's RSS counters
  // are approximate): they stay close. Far apart, the launcher no longer shields the measurement
  // from the parent's peak, and the RSS column would lie.
  const int64_t slack_kib = std::max<int64_t>(16 * 1024, hwm_kib / 10);
  if (hwm_kib < 0 || max_rss_kib - hwm_kib > slack_kib || hwm_kib - max_rss_kib > 4 * 1024) {
    return Status::Internal("peak RSS from wait4() (" + std::to_string(max_rss_kib) +
                            " KiB) and the child's own VmHWM (" + std::to_string(hwm_kib) +
                            " KiB) disagree");
  }
  return ChildResult{*out, static_cast<double>(max_rss_kib) / 1024.0};
}

// --- The history --------------------------------------------------------------------------------

// What the embedded log holds, per partition, read once after generation: enough to check the
// scans, size the copy to Kafka, and cut the history short when the broker cannot hold it all.
struct Census {
  struct PartitionCensus {
    std::vector<int64_t> timestamps;  // per offset: the record's timestamp (never decreasing)
    std::vector<int64_t> end_bytes;   // end_bytes[o]: key + value bytes of offsets [0, o]
    int64_t Count() const { return static_cast<int64_t>(timestamps.size()); }
    // Key + value bytes of offsets [from, to).
    int64_t Bytes(int64_t from, int64_t to) const {
      if (to <= from) return 0;
      return end_bytes[static_cast<size_t>(to - 1)] -
             (from == 0 ? 0 : end_bytes[static_cast<size_t>(from - 1)]);
    }
  };
  std::vector<PartitionCensus> partitions;
  int64_t records = 0;
  int64_t bytes = 0;  // key + value

  // Per partition: how many records come before the first with a timestamp >= `cut_ms`. The
  // history is appended in time order, so this is a prefix of it, the same in every partition.
  std::vector<int64_t> EndsBefore(int64_t cut_ms) const {
    std::vector<int64_t> ends;
    for (const PartitionCensus& p : partitions) {
      ends.push_back(std::lower_bound(p.timestamps.begin(), p.timestamps.end(), cut_ms) -
                     p.timestamps.begin());
    }
    return ends;
  }
  std::vector<int64_t> Ends() const {
    std::vector<int64_t> ends;
    for (const PartitionCensus& p : partitions) ends.push_back(p.Count());
    return ends;
  }
};

Result<Census> TakeCensus(Log& log, int partitions) {
  Census census;
  census.partitions.resize(static_cast<size_t>(partitions));
  Result<std::unique_ptr<LogReader>> reader = log.OpenReader();
  if (!reader.ok()) return reader.status();
  const std::string topic(kEventsTopic);
  for (int32_t p = 0; p < partitions; ++p) {
    Result<Offset> end = log.EndOffset({topic, Partition(p)});
    if (!end.ok()) return end.status();
    if (end->value() == 0) continue;
    census.records += end->value();
    CPTS_RETURN_IF_ERROR((*reader)->Assign({topic, Partition(p)}, Offset(0)));
  }
  int64_t seen = 0;
  while (seen < census.records) {
    Result<std::vector<StoredRecord>> got = (*reader)->Poll(std::chrono::seconds(1), kScanBatch);
    if (!got.ok()) return got.status();
    if (got->empty()) return Status::Internal("the embedded log stopped short of its end");
    for (const StoredRecord& r : *got) {
      Census::PartitionCensus& p = census.partitions[static_cast<size_t>(r.partition.value())];
      if (r.offset.value() != p.Count()) return Status::Internal("the embedded log has a gap");
      if (!p.timestamps.empty() && r.timestamp_ms < p.timestamps.back()) {
        return Status::Internal("timestamps go back in time in partition " +
                                std::to_string(r.partition.value()) +
                                ": the history cannot be cut by time");
      }
      const auto bytes = static_cast<int64_t>(r.key.size() + r.value.size());
      p.timestamps.push_back(r.timestamp_ms);
      p.end_bytes.push_back((p.end_bytes.empty() ? 0 : p.end_bytes.back()) + bytes);
      census.bytes += bytes;
      ++seen;
    }
  }
  return census;
}

// "0:120,1:98,...": the --until positions an as-of build takes.
std::string PositionsText(const std::vector<int64_t>& ends) {
  std::string text;
  for (size_t p = 0; p < ends.size(); ++p) {
    if (!text.empty()) text += ",";
    text += std::to_string(p) + ":" + std::to_string(ends[p]);
  }
  return text;
}

// Copies offsets [0, ends[p]) of every partition of the embedded events topic to Kafka: same
// keys (so the same partitions), values, headers and timestamps. Each thread copies whole
// partitions, in Appends of kCopyBatch records of one partition: big single-partition batches
// compress best, which matters against the broker's per-partition limit.
Status CopyToKafka(Log& embedded, Log& kafka, const std::vector<int64_t>& ends, int threads) {
  const std::string topic(kEventsTopic);
  int64_t total = 0;
  std::vector<int32_t> order;  // largest partitions first, for an even finish
  for (size_t p = 0; p < ends.size(); ++p) {
    total += ends[p];
    if (ends[p] > 0) order.push_back(static_cast<int32_t>(p));
  }
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return ends[static_cast<size_t>(a)] > ends[static_cast<size_t>(b)];
  });
  std::atomic<size_t> next_partition{0};
  std::atomic<int64_t> copied{0};
  std::atomic<int> running{threads};
  std::mutex mu;
  Status first_error;  // guarded by mu
  auto copy_partition = [&](LogReader& reader, int32_t p) -> Status {
    const int64_t end = ends[static_cast<size_t>(p)];
    CPTS_RETURN_IF_ERROR(reader.Assign({topic, Partition(p)}, Offset(0)));
    int64_t next = 0;
    std::vector<Record> batch;
    while (next < end) {
      Result<std::vector<StoredRecord>> got = reader.Poll(
          std::chrono::seconds(1), std::min<size_t>(kCopyBatch, static_cast<size_t>(end - next)));
      if (!got.ok()) return got.status();
      if (got->empty()) return Status::Internal("the embedded log stopped short of its end");
      batch.clear();
      for (StoredRecord& r : *got) {
        if (r.offset.value() >= end) break;
        if (r.offset.value() != next) return Status::Internal("the embedded log has a gap");
        ++next;
        batch.push_back({.key = std::move(r.key),
                         .value = std::move(r.value),
                         .headers = std::move(r.headers),
                         .timestamp_ms = r.timestamp_ms});
      }
      Result<std::vector<log::Position>> appended = kafka.Append(topic, batch);
      if (!appended.ok()) return appended.status();
      for (const log::Position& at : *appended) {
        if (at.partition.value() != p) {
          return Status::Internal("a record of partition " + std::to_string(p) +
                                  " went to Kafka partition " +
                                  std::to_string(at.partition.value()));
        }
      }
      copied += static_cast<int64_t>(batch.size());
    }
    return reader.Unassign({topic, Partition(p)});
  };
  std::vector<std::thread> copiers;
  for (int t = 0; t < threads; ++t) {
    copiers.emplace_back([&] {
      Status status;
      Result<std::unique_ptr<LogReader>> reader = embedded.OpenReader();
      if (!reader.ok()) status = reader.status();
      while (status.ok()) {
        const size_t i = next_partition++;
        if (i >= order.size()) break;
        status = copy_partition(**reader, order[i])
                     .WithContext("copying partition " + std::to_string(order[i]));
        std::lock_guard lock(mu);
        if (!first_error.ok()) break;
      }
      if (!status.ok()) {
        std::lock_guard lock(mu);
        if (first_error.ok()) first_error = status;
      }
      --running;
    });
  }
  projections::ProgressLine progress("copying to Kafka");
  while (running.load() > 0) {
    for (int i = 0; i < 10 && running.load() > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    progress(static_cast<uint64_t>(copied.load()), static_cast<uint64_t>(total));
  }
  for (std::thread& t : copiers) t.join();
  return first_error;
}

// After a copy: each partition must hold exactly offsets [0, ends[p]). A begin offset above 0 is
// the broker's retention dropping the oldest data (it keeps the end offset as it was); a short
// end is data lost on the way. Returns the partitions that lost their beginning, with what they
// kept; fails on anything else.
struct Overflow {
  int32_t partition;
  int64_t begin;  // the first offset still kept
};
Result<std::vector<Overflow>> CheckCopy(Log& kafka, const std::vector<int64_t>& ends) {
  std::vector<Overflow> overflows;
  for (size_t p = 0; p < ends.size(); ++p) {
    const TopicPartition tp{std::string(kEventsTopic), Partition(static_cast<int32_t>(p))};
    Result<Offset> begin = kafka.BeginOffset(tp);
    if (!begin.ok()) return begin.status();
    Result<Offset> end = kafka.EndOffset(tp);
    if (!end.ok()) return end.status();
    if (end->value() != ends[p]) {
      return Status::Internal("Kafka partition " + std::to_string(p) + " ends at offset " +
                              std::to_string(end->value()) + ", the embedded log's at " +
                              std::to_string(ends[p]) + ": records were lost or duplicated");
    }
    if (begin->value() != 0) overflows.push_back({static_cast<int32_t>(p), begin->value()});
  }
  return overflows;
}

// The broker dropped the beginning of some partitions: a history that fits ends before the first
// record, in any of them, past 90% of the (uncompressed) bytes the partition did keep.
int64_t CutThatFits(const Census& census, const std::vector<int64_t>& ends,
                    const std::vector<Overflow>& overflows) {
  int64_t cut_ms = INT64_MAX;
  for (const Overflow& o : overflows) {
    const Census::PartitionCensus& p = census.partitions[static_cast<size_t>(o.partition)];
    const int64_t budget = p.Bytes(o.begin, ends[static_cast<size_t>(o.partition)]) * 9 / 10;
    // The first offset whose record takes the partition's bytes over the budget.
    const auto over = std::upper_bound(p.end_bytes.begin(), p.end_bytes.end(), budget);
    cut_ms = std::min(cut_ms, p.timestamps[static_cast<size_t>(over - p.end_bytes.begin())]);
  }
  return cut_ms;
}

// --- Results ----------------------------------------------------------------------------------

struct Spread {
  double min = 0, median = 0, max = 0;
};

Spread SpreadOf(std::vector<double> values) {
  if (values.empty()) return {};
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  const double median = n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  return {values.front(), median, values.back()};
}

struct Row {
  std::string name;
  std::vector<double> events_per_second;
  std::vector<double> rss_mib;
};

void PrintRows(const std::vector<Row>& rows) {
  std::printf("%-50s %38s   %20s\n", "", "------------- events/s -------------",
              "--- peak RSS MiB ---");
  std::printf("%-50s %12s %12s %12s   %6s %6s %6s\n", "measurement", "min", "median", "max", "min",
              "median", "max");
  for (const Row& row : rows) {
    const Spread e = SpreadOf(row.events_per_second);
    const Spread m = SpreadOf(row.rss_mib);
    std::printf("%-50s %12s %12s %12s   %6.0f %6.0f %6.0f\n", row.name.c_str(),
                WithThousands(static_cast<uint64_t>(std::llround(e.min))).c_str(),
                WithThousands(static_cast<uint64_t>(std::llround(e.median))).c_str(),
                WithThousands(static_cast<uint64_t>(std::llround(e.max))).c_str(), m.min, m.median,
                m.max);
  }
}

// One measurement in a child, checked: every record read (and, for a rebuild, applied or
// accounted for), and the same digest every time.
class Measurer {
 public:
  Measurer(const BenchOptions& options, std::string work_dir)
      : options_(options), work_dir_(std::move(work_dir)) {}

  // `log_args`: ["--data-dir", D] or ["--kafka", B].
  Status Scan(Row& row, const std::string& label, int run, const std::vector<std::string>& log_args,
              int64_t want_records, int64_t want_bytes) {
    std::vector<std::string> args = {"--child", "scan"};
    args.insert(args.end(), log_args.begin(), log_args.end());
    Result<ChildResult> got = RunMeasurement(args);
    if (!got.ok()) return got.status().WithContext(label);
    const int64_t records = got->out.at("records").get<int64_t>();
    const int64_t bytes = got->out.at("bytes").get<int64_t>();
    const double seconds = got->out.at("seconds").get<double>();
    if (records != want_records || bytes != want_bytes) {
      return Status::Internal(label + ": read " + std::to_string(records) + " records (" +
                              std::to_string(bytes) + " B), the log holds " +
                              std::to_string(want_records) + " (" + std::to_string(want_bytes) +
                              " B)");
    }
    Report(row, label, run, static_cast<double>(records) / seconds, got->max_rss_mib, seconds);
    return Status::Ok();
  }

  // Returns the build's digest. `outcomes_since_ms`: BuildOptions::outcomes_since_ms.
  Result<std::string> Rebuild(Row& row, const std::string& label, int run,
                              const std::vector<std::string>& log_args, int64_t want_records,
                              std::optional<int64_t> outcomes_since_ms,
                              const std::string& until = {}) {
    const std::string out = work_dir_ + "/read-models-" + std::to_string(builds_++);
    std::vector<std::string> args = {"--child", "rebuild",   "--out",
                                     out,       "--threads", std::to_string(options_.threads)};
    args.insert(args.end(), log_args.begin(), log_args.end());
    if (!until.empty()) args.insert(args.end(), {"--until", until});
    if (outcomes_since_ms) {
      args.insert(args.end(), {"--outcomes-since", std::to_string(*outcomes_since_ms)});
    }
    Result<ChildResult> got = RunMeasurement(args);
    std::error_code ec;
    std::filesystem::remove_all(out, ec);  // a million events' read models are ~GBs on disk
    if (!got.ok()) return got.status().WithContext(label);
    const json& r = got->out;
    const auto records = r.at("records").get<int64_t>();
    const uint64_t lost = r.at("gaps").get<uint64_t>() + r.at("conflicts").get<uint64_t>() +
                          r.at("unreadable").get<uint64_t>() + r.at("misrouted").get<uint64_t>() +
                          r.at("already_applied").get<uint64_t>();
    // A generated history is valid by construction: every record is the next of its stream.
    if (records != want_records || lost != 0 || r.at("applied").get<int64_t>() != want_records) {
      return Status::Internal(label + ": the build read " + std::to_string(records) + " of " +
                              std::to_string(want_records) +
                              " records and did not apply all: " + r.dump());
    }
    const double seconds = r.at("seconds").get<double>();
    Report(row, label, run, static_cast<double>(records) / seconds, got->max_rss_mib, seconds);
    return r.at("digest").get<std::string>();
  }

 private:
  void Report(Row& row, const std::string& label, int run, double rate, double rss_mib,
              double seconds) {
    row.events_per_second.push_back(rate);
    row.rss_mib.push_back(rss_mib);
    std::fprintf(stderr, "run %d/%d  %-44s %12s events/s  %6.0f MiB peak RSS  (%.2f s)\n", run,
                 options_.runs, label.c_str(),
                 WithThousands(static_cast<uint64_t>(std::llround(rate))).c_str(), rss_mib,
                 seconds);
  }

  const BenchOptions& options_;
  std::string work_dir_;
  int builds_ = 0;
};

// --- Environment ------------------------------------------------------------------------------

std::string LoadAverage() {
  double load[3] = {0, 0, 0};
  if (getloadavg(load, 3) != 3) return "unknown";
  char text[64];
  std::snprintf(text, sizeof text, "%.2f %.2f %.2f", load[0], load[1], load[2]);
  return text;
}

// The filesystem under `path`: on tmpfs the embedded log would be read from memory.
std::string FilesystemType(const std::string& path) {
  Result<std::string> out =
      test::RunAndCapture({"findmnt", "-n", "-o", "FSTYPE", "-T", path}, std::chrono::seconds(10));
  if (!out.ok()) return "unknown filesystem";
  std::string type = *out;
  while (!type.empty() && type.back() == '\n') type.pop_back();
  return type;
}

// --- The benchmark ------------------------------------------------------------------------------

int Fail(const Status& status) {
  std::fprintf(stderr, "cpts-projection-bench: FAILED: %s\n", status.ToString().c_str());
  return 1;
}

int RunBench(const BenchOptions& options) {
  const std::string load_before = LoadAverage();
  logtest::TempDir work("projection-bench");
  const std::string data_dir = work.path() + "/log";
  const std::vector<std::string> embedded_args = {"--data-dir", data_dir};

  // 1. The history, once.
  std::fprintf(stderr, "generating %s events over %d partitions into %s ...\n",
               WithThousands(options.events).c_str(), options.partitions, data_dir.c_str());
  Result<aggregates::Scenario> scenario = aggregates::Scenario::Create({.cpts = options.cpts});
  if (!scenario.ok()) return Fail(scenario.status());
  double generate_seconds = 0;
  Census census;
  {
    Result<std::unique_ptr<Log>> embedded =
        log::OpenEmbeddedLog({.directory = data_dir, .sync_writes = false});
    if (!embedded.ok()) return Fail(embedded.status());
    projections::ProgressLine progress("generating");
    Clock::time_point last = Clock::now();
    const Clock::time_point began = Clock::now();
    Result<aggregates::HistoryStats> written = aggregates::WriteHistory(
        **embedded, *scenario,
        {.events = options.events,
         .partitions = options.partitions,
         .progress = [&](uint64_t done) {
           if (done == options.events || Clock::now() - last > std::chrono::seconds(1)) {
             progress(done, options.events);
             last = Clock::now();
           }
         }});
    generate_seconds = Seconds(Clock::now() - began);
    if (!written.ok()) return Fail(written.status());
    Result<Census> taken = TakeCensus(**embedded, options.partitions);
    if (!taken.ok()) return Fail(taken.status().WithContext("reading the history back"));
    census = std::move(*taken);
    if (census.records != static_cast<int64_t>(options.events)) {
      return Fail(Status::Internal("the embedded log holds " + std::to_string(census.records) +
                                   " events, " + std::to_string(options.events) + " written"));
    }
  }  // closed: the children open it
  int64_t largest_bytes = 0;
  int32_t largest = 0;
  int used_partitions = 0;
  for (size_t p = 0; p < census.partitions.size(); ++p) {
    const int64_t bytes = census.partitions[p].Bytes(0, census.partitions[p].Count());
    if (bytes > 0) ++used_partitions;
    if (bytes > largest_bytes) largest_bytes = bytes, largest = static_cast<int32_t>(p);
  }
  std::fprintf(stderr,
               "generated in %.1f s; %d of %d partitions hold events, the largest (%d) %s\n",
               generate_seconds, used_partitions, options.partitions, largest,
               Mib(static_cast<double>(largest_bytes)).c_str());

  Measurer measurer(options, work.path());
  Row embedded_scan{"embedded raw scan (LogReader, no decoding)", {}, {}};
  Row embedded_rebuild{
      "embedded rebuild (BuildReadModels, " + std::to_string(options.threads) + " threads)",
      {},
      {}};
  Row kafka_scan{"kafka raw scan (LogReader, no decoding)", {}, {}};
  Row kafka_rebuild{
      "kafka rebuild (BuildReadModels, " + std::to_string(options.threads) + " threads)", {}, {}};
  Row reference_rebuild{"", {}, {}};
  Row every_outcome_rebuild{"embedded rebuild, every command outcome kept", {}, {}};
  // Rebuilds run as `cpts rebuild` would when the history ends: the command outcomes older than
  // their retention are left out (projections::kOutcomeRetentionMs). The history spans months,
  // so most are; the "every command outcome kept" row measures a history younger than that.
  int64_t newest_ms = 0;
  for (const Census::PartitionCensus& p : census.partitions) {
    if (!p.timestamps.empty()) newest_ms = std::max(newest_ms, p.timestamps.back());
  }
  const int64_t outcomes_since_ms = newest_ms - projections::kOutcomeRetentionMs;

  // 2. The embedded log.
  std::string embedded_digest;
  for (int run = 1; run <= options.runs; ++run) {
    Status scanned = measurer.Scan(embedded_scan, "embedded raw scan", run, embedded_args,
                                   census.records, census.bytes);
    if (!scanned.ok()) return Fail(scanned);
    Result<std::string> digest = measurer.Rebuild(embedded_rebuild, "embedded rebuild", run,
                                                  embedded_args, census.records, outcomes_since_ms);
    if (!digest.ok()) return Fail(digest.status());
    if (!embedded_digest.empty() && *digest != embedded_digest) {
      return Fail(Status::Internal(
          "two embedded rebuilds of one history differ: " + embedded_digest + " then " + *digest));
    }
    embedded_digest = *digest;
    // The outcomes are no read model: with or without them, the read models are the same.
    Result<std::string> every = measurer.Rebuild(every_outcome_rebuild,
                                                 "embedded rebuild, every outcome", run,
                                                 embedded_args, census.records, std::nullopt);
    if (!every.ok()) return Fail(every.status());
    if (*every != embedded_digest) {
      return Fail(Status::Internal("keeping every command outcome changed the read models: " +
                                   embedded_digest + " then " + *every));
    }
  }

  // 3. Kafka: copy the history (all of it, or the longest prefix the broker keeps whole).
  std::unique_ptr<test::TestBroker> broker;
  std::vector<int64_t> ends = census.Ends();
  std::optional<int64_t> cut_ms;
  double copy_seconds = 0;
  std::vector<std::string> notes;
  for (int attempt = 1;; ++attempt) {
    broker.reset();  // a fresh broker for each attempt: the mock never frees a topic
    Result<std::unique_ptr<test::TestBroker>> started = test::TestBroker::Start(
        {.brokers = options.brokers,
         .topics = {{"cpts." + std::string(kEventsTopic), options.partitions}}});
    if (!started.ok()) return Fail(started.status());
    broker = std::move(*started);
    Result<std::unique_ptr<Log>> kafka =
        log::OpenKafkaLog(logtest::KafkaTestOptions(broker->bootstrap()));
    if (!kafka.ok()) return Fail(kafka.status());
    Status ensured = (*kafka)->EnsureTopic({std::string(kEventsTopic), options.partitions});
    if (!ensured.ok()) return Fail(ensured);
    Result<std::unique_ptr<Log>> embedded = log::OpenEmbeddedLog(
        {.directory = data_dir, .create_if_missing = false, .sync_writes = false});
    if (!embedded.ok()) return Fail(embedded.status());
    int64_t to_copy = 0;
    for (int64_t e : ends) to_copy += e;
    std::fprintf(stderr, "copying %s events to the Kafka test broker (attempt %d) ...\n",
                 WithThousands(static_cast<uint64_t>(to_copy)).c_str(), attempt);
    const Clock::time_point began = Clock::now();
    Status copied = CopyToKafka(**embedded, **kafka, ends, options.copy_threads);
    copy_seconds = Seconds(Clock::now() - began);
    if (!copied.ok()) return Fail(copied.WithContext("copying the history to Kafka"));
    Result<std::vector<Overflow>> overflows = CheckCopy(**kafka, ends);
    if (!overflows.ok()) return Fail(overflows.status());
    if (overflows->empty()) {
      std::fprintf(stderr, "copied in %.1f s (%s events/s); every partition holds [0, end)\n",
                   copy_seconds,
                   WithThousands(static_cast<uint64_t>(static_cast<double>(to_copy) / copy_seconds))
                       .c_str());
      break;
    }
    std::string what;
    for (const Overflow& o : *overflows) {
      const size_t p = static_cast<size_t>(o.partition);
      what += (what.empty() ? "" : "; ") + std::string("partition ") + std::to_string(p) +
              " kept offsets [" + std::to_string(o.begin) + ", " + std::to_string(ends[p]) +
              ") of " + Mib(static_cast<double>(census.partitions[p].Bytes(0, ends[p]))) +
              " uncompressed";
    }
    const std::string note = "the broker dropped the oldest records of " +
                             std::to_string(overflows->size()) + " partition(s) (" + what + ")";
    std::fprintf(stderr, "%s\n", note.c_str());
    notes.push_back("attempt " + std::to_string(attempt) + ": " + note);
    if (attempt == kMaxCopyAttempts) {
      return Fail(Status::Internal("the history does not fit the Kafka test broker after " +
                                   std::to_string(attempt) + " attempts: " + note));
    }
    cut_ms = std::min(cut_ms.value_or(INT64_MAX), CutThatFits(census, ends, *overflows));
    ends = census.EndsBefore(*cut_ms);
  }
  int64_t kafka_records = 0;
  int64_t kafka_bytes = 0;
  for (size_t p = 0; p < ends.size(); ++p) {
    kafka_records += ends[p];
    kafka_bytes += census.partitions[p].Bytes(0, ends[p]);
  }
  const std::vector<std::string> kafka_args = {"--kafka", broker->bootstrap()};

  // The digest the Kafka rebuilds must give: the embedded rebuild's, or, for a prefix, an as-of
  // build of the embedded log stopped at the same positions.
  std::string reference_digest = embedded_digest;
  if (cut_ms) {
    reference_rebuild.name = "embedded rebuild, first " +
                             WithThousands(static_cast<uint64_t>(kafka_records)) +
                             " events (as-of)";
    Result<std::string> digest =
        measurer.Rebuild(reference_rebuild, "embedded as-of rebuild (reference)", 1, embedded_args,
                         kafka_records, outcomes_since_ms, PositionsText(ends));
    if (!digest.ok()) return Fail(digest.status());
    reference_digest = *digest;
  }

  // 4. Kafka measurements.
  for (int run = 1; run <= options.runs; ++run) {
    Status scanned =
        measurer.Scan(kafka_scan, "kafka raw scan", run, kafka_args, kafka_records, kafka_bytes);
    if (!scanned.ok()) return Fail(scanned);
    Result<std::string> digest =
        measurer.Rebuild(kafka_rebuild, "kafka rebuild", run, kafka_args, kafka_records,
                         outcomes_since_ms);
    if (!digest.ok()) return Fail(digest.status());
    if (*digest != reference_digest) {
      return Fail(Status::Internal("the Kafka rebuild's digest " + *digest +
                                   " differs from the embedded log's " + reference_digest +
                                   " for the same " + std::to_string(kafka_records) + " events"));
    }
  }
  const std::string load_after = LoadAverage();

  // 5. The summary.
  std::printf(
      "environment: nproc %ld, build %s, librdkafka %s, RocksDB %d.%d.%d, logs and read models "
      "under %s (%s); load average before %s, after %s\n",
      sysconf(_SC_NPROCESSORS_ONLN), CPTS_BUILD_TYPE, rd_kafka_version_str(), ROCKSDB_MAJOR,
      ROCKSDB_MINOR, ROCKSDB_PATCH, std::filesystem::temp_directory_path().c_str(),
      FilesystemType(std::filesystem::temp_directory_path()).c_str(), load_before.c_str(),
      load_after.c_str());
  std::printf(
      "history: %s events (Scenario, %d CPTS), avg event %lld B (key + value), %s in all; "
      "%d partitions, %d holding events, the largest %s; generated in %.1f s (not timed below)\n",
      WithThousands(static_cast<uint64_t>(census.records)).c_str(), options.cpts,
      static_cast<long long>(census.bytes / std::max<int64_t>(1, census.records)),
      Mib(static_cast<double>(census.bytes)).c_str(), options.partitions, used_partitions,
      Mib(static_cast<double>(largest_bytes)).c_str(), generate_seconds);
  if (cut_ms) {
    std::printf(
        "kafka: the history does NOT fit cpts-test-broker (at most %s of lz4 batches per "
        "partition, the oldest silently dropped): measured with the first %s events (%.1f%%), "
        "copied in %.1f s\n",
        Mib(static_cast<double>(kBrokerPartitionBytes)).c_str(),
        WithThousands(static_cast<uint64_t>(kafka_records)).c_str(),
        100.0 * static_cast<double>(kafka_records) / static_cast<double>(census.records),
        copy_seconds);
    for (const std::string& note : notes) std::printf("  %s\n", note.c_str());
  } else {
    std::printf("kafka: all %s events copied to cpts-test-broker (%d brokers) in %.1f s\n",
                WithThousands(static_cast<uint64_t>(kafka_records)).c_str(), options.brokers,
                copy_seconds);
  }
  std::printf("runs: %d per measurement, each in its own process; rebuild threads: %d\n\n",
              options.runs, options.threads);
  std::printf("command outcomes: kept %lld days; the history ends %s, so rebuilds leave out those "
              "decided before %s, except in the row \"every command outcome kept\"\n",
              static_cast<long long>(projections::kOutcomeRetentionMs / projections::kDayMs),
              projections::FormatUtcMs(newest_ms).c_str(),
              projections::FormatUtcMs(outcomes_since_ms).c_str());
  std::vector<Row> rows = {embedded_scan, embedded_rebuild, every_outcome_rebuild, kafka_scan,
                           kafka_rebuild};
  if (cut_ms) rows.push_back(reference_rebuild);
  PrintRows(rows);
  auto ratio = [](const Row& rebuild, const Row& scan) {
    const double r =
        SpreadOf(rebuild.events_per_second).median / SpreadOf(scan.events_per_second).median;
    char text[128];
    std::snprintf(text, sizeof text, "%.3f (a rebuild takes %.1fx the time of a raw scan)", r,
                  1 / r);
    return std::string(text);
  };
  std::printf("\nrebuild / raw scan, events/s medians: embedded %s\n",
              ratio(embedded_rebuild, embedded_scan).c_str());
  std::printf("                                      kafka    %s\n",
              ratio(kafka_rebuild, kafka_scan).c_str());
  std::printf(
      "digest: every embedded rebuild %s; every kafka rebuild equals %s\n", embedded_digest.c_str(),
      cut_ms ? ("the embedded as-of build of the same events, " + reference_digest).c_str() : "it");
  std::printf(
      "Every pass was checked: scans read every record once, in order (records and bytes); "
      "rebuilds applied every event.\nevents/s counts records; a scan is timed from opening "
      "the reader to the last record and its close, a rebuild over BuildReadModels (store open to "
      "digest and "
      "close). Peak RSS is each child process's own (wait4).\n");
  return 0;
}

int Main(int argc, char** argv) {
  BenchOptions options;
  ChildOptions child;
  CLI::App app{
      "Rebuild of every read model (projections::BuildReadModels) against a raw scan of the "
      "events topic, on the embedded log and on Kafka (cpts-test-broker), from one generated "
      "history. Data lives under $TMPDIR (default /tmp)."};
  app.add_option("--events", options.events, "events in the generated history")
      ->check(CLI::Range(uint64_t{1}, uint64_t{100'000'000}))
      ->capture_default_str();
  app.add_option("--runs", options.runs, "timed passes per measurement")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  app.add_option("--partitions", options.partitions, "partitions of the events topic")
      ->check(CLI::Range(1, 10'000))
      ->capture_default_str();
  app.add_option("--threads", options.threads, "worker threads of each rebuild")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--copy-threads", options.copy_threads, "threads copying the history to Kafka")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--cpts", options.cpts, "CPTS in the simulated history (150 fits the test broker)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--brokers", options.brokers, "brokers of the Kafka test cluster")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  // The child's side (hidden): one measurement, one JSON line on stdout.
  app.add_option("--child", child.mode)->group("")->check(CLI::IsMember({"scan", "rebuild"}));
  app.add_option("--data-dir", child.data_dir)->group("");
  app.add_option("--kafka", child.kafka)->group("");
  app.add_option("--out", child.out)->group("");
  app.add_option("--until", child.until)->group("");
  app.add_option("--outcomes-since", child.outcomes_since_ms)->group("");
  app.add_flag("--measured", child.measured)->group("");
  CLI11_PARSE(app, argc, argv);
  if (!child.mode.empty()) {
    if (!child.measured) return RunLauncher(std::vector<std::string>(argv + 1, argv + argc));
    child.threads = options.threads;
    return RunChild(child);
  }
  return RunBench(options);
}

}  // namespace
}  // namespace cpts::bench

int main(int argc, char** argv) { return cpts::bench::Main(argc, argv); }
