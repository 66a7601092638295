// cpts-audit-verify-bench: how fast `cpts audit verify` checks a large log, against how fast the
// same log can merely be read, min/median/max over several runs (docs/audit.md).
//
// A realistic history (aggregates/scenario.h, 1,000,000 events by default) is written once into
// an embedded log (not timed; --dir reuses one written earlier). Then, --runs times each:
//   - raw scan: one LogReader over every partition from the first offset to the end, counting
//     records, decoding nothing: the floor;
//   - cpts audit verify: the real binary, as an auditor runs it (process start to exit), which
//     must find the history intact;
//   - cpts audit verify --deep: the same with the full codec on every event.

#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <thread>

#include "aggregates/history_writer.h"
#include "aggregates/scenario.h"
#include "connectors/embedded_log.h"
#include "events/json.h"
#include "events/topics.h"
#include "projections/replay.h"
#include "tests/log/log_test_util.h"  // TempDir
#include "tests/support/subprocess.h"

namespace cpts::bench {
namespace {

using Clock = std::chrono::steady_clock;
using json = ::cpts::Json;
using projections::WithThousands;

struct Options {
  uint64_t events = 1'000'000;
  int runs = 3;
  int partitions = 16;
  int cpts = 30;
  int threads = 2;
  std::string dir;  // empty: a temporary directory, removed at the end
  bool deep = true;
};

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// CPU seconds (user + system) of this process, or of its finished children: what a measurement
// costs whatever else the machine runs meanwhile.
double CpuSeconds(int who) {
  rusage u{};
  getrusage(who, &u);
  const auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

Status Generate(const std::string& log_dir, const Options& options) {
  auto log = log::OpenEmbeddedLog({.directory = log_dir, .sync_writes = false});
  if (!log.ok()) return log.status();
  auto scenario = aggregates::Scenario::Create({.cpts = options.cpts, .seed = 1});
  if (!scenario.ok()) return scenario.status();
  projections::ProgressLine progress("writing the history");
  auto last = Clock::now();
  auto written = aggregates::WriteHistory(
      **log, *scenario,
      {.events = options.events,
       .partitions = options.partitions,
       .progress = [&](uint64_t n) {
         if (n == options.events || Clock::now() - last > std::chrono::seconds(2)) {
           progress(n, options.events);
           last = Clock::now();
         }
       }});
  return written.ok() ? Status::Ok() : written.status();
}

// Every record of the events topic through one reader, counted, not kept: records read, and
// the time it took (from opening the log, as the verify timing includes it).
Result<std::pair<uint64_t, double>> RawScan(const std::string& log_dir, double& cpu) {
  const Clock::time_point began = Clock::now();
  const double cpu_began = CpuSeconds(RUSAGE_SELF);
  auto log = log::OpenEmbeddedLog({.directory = log_dir, .create_if_missing = false});
  if (!log.ok()) return log.status();
  Result<int32_t> partitions = (*log)->PartitionCount(topics::kEvents);
  if (!partitions.ok()) return partitions.status();
  auto reader = (*log)->OpenReader();
  if (!reader.ok()) return reader.status();
  uint64_t want = 0, records = 0;
  for (int32_t p = 0; p < *partitions; ++p) {
    const log::TopicPartition tp{std::string(topics::kEvents), Partition(p)};
    auto end = (*log)->EndOffset(tp);
    if (!end.ok()) return end.status();
    want += static_cast<uint64_t>(end->value());
    CPTS_RETURN_IF_ERROR((*reader)->Assign(tp, Offset(0)));
  }
  while (records < want) {
    auto got = (*reader)->Poll(std::chrono::seconds(1), 20'000);
    if (!got.ok()) return got.status();
    if (got->empty()) return Status::TimedOut("the scan stopped before the end");
    records += got->size();
  }
  reader->reset();
  log->reset();
  cpu = CpuSeconds(RUSAGE_SELF) - cpu_began;
  return std::make_pair(records, Seconds(Clock::now() - began));
}

// `cpts audit verify` on the data directory: records verified and the process's wall time.
Result<std::pair<uint64_t, double>> Verify(const std::string& data_dir, const Options& options,
                                           bool deep, double& cpu) {
  std::vector<std::string> argv = {test::BinaryPath("cpts"), "audit", "verify", "--data-dir",
                                   data_dir, "--json", "--threads", std::to_string(options.threads)};
  if (deep) argv.push_back("--deep");
  const Clock::time_point began = Clock::now();
  const double cpu_began = CpuSeconds(RUSAGE_CHILDREN);
  auto out = test::RunAndCapture(argv, std::chrono::minutes(30));
  const double seconds = Seconds(Clock::now() - began);
  cpu = CpuSeconds(RUSAGE_CHILDREN) - cpu_began;
  if (!out.ok()) return out.status();
  const size_t last = out->rfind("{\"heads\"");
  const json summary = json::parse(out->substr(last == std::string::npos ? 0 : last))["summary"];
  if (!summary["intact"].get<bool>()) return Status::Internal("the history is not intact");
  return std::make_pair(summary["records"].get<uint64_t>(), seconds);
}

struct Row {
  std::string label;
  std::vector<double> rates;
  std::vector<double> cpu_us;  // CPU microseconds per event
};

void Print(const Row& row) {
  std::vector<double> r = row.rates;
  std::sort(r.begin(), r.end());
  const auto f = [](double v) { return WithThousands(static_cast<uint64_t>(v)); };
  std::vector<double> c = row.cpu_us;
  std::sort(c.begin(), c.end());
  std::printf("| %-38s | %12s | %12s | %12s | %13.2f |\n", row.label.c_str(), f(r.front()).c_str(),
              f(r[r.size() / 2]).c_str(), f(r.back()).c_str(), c[c.size() / 2]);
}

int Main(const Options& options) {
  std::unique_ptr<logtest::TempDir> temp;
  std::string data_dir = options.dir;
  if (data_dir.empty()) {
    temp = std::make_unique<logtest::TempDir>("audit-bench");
    data_dir = temp->path();
  }
  const std::string log_dir = data_dir + "/log";
  if (!std::filesystem::exists(log_dir + "/CURRENT")) {
    if (Status s = Generate(log_dir, options); !s.ok()) {
      std::cerr << "cpts-audit-verify-bench: " << s.ToString() << "\n";
      return 1;
    }
  }
  std::vector<Row> rows = {{"raw scan (1 reader, no decoding)", {}},
                           {"cpts audit verify (" + std::to_string(options.threads) + " threads)", {}}};
  if (options.deep) rows.push_back({"cpts audit verify --deep", {}});
  uint64_t records = 0;
  for (int run = 1; run <= options.runs; ++run) {
    std::cerr << "run " << run << "/" << options.runs << "\n";
    double cpu[3] = {0, 0, 0};
    auto scan = RawScan(log_dir, cpu[0]);
    auto verify = scan.ok() ? Verify(data_dir, options, false, cpu[1])
                            : Result<std::pair<uint64_t, double>>(scan.status());
    auto deep = verify.ok() && options.deep ? Verify(data_dir, options, true, cpu[2]) : verify;
    for (const auto* r : {&scan, &verify, &deep}) {
      if (!r->ok()) {
        std::cerr << "cpts-audit-verify-bench: " << r->status().ToString() << "\n";
        return 1;
      }
    }
    if (scan->first != verify->first || verify->first != deep->first) {
      std::cerr << "cpts-audit-verify-bench: the scan read " << scan->first
                << " records, verify " << verify->first << "\n";
      return 1;
    }
    records = scan->first;
    const auto per_event = [&](double seconds) { return seconds * 1e6 / static_cast<double>(records); };
    rows[0].rates.push_back(static_cast<double>(scan->first) / scan->second);
    rows[0].cpu_us.push_back(per_event(cpu[0]));
    rows[1].rates.push_back(static_cast<double>(verify->first) / verify->second);
    rows[1].cpu_us.push_back(per_event(cpu[1]));
    if (options.deep) {
      rows[2].rates.push_back(static_cast<double>(deep->first) / deep->second);
      rows[2].cpu_us.push_back(per_event(cpu[2]));
    }
  }
  std::printf("cpts-audit-verify-bench: %s events, %d partitions, %d CPTS, %d runs, build %s, %u cores\n",
              WithThousands(records).c_str(), options.partitions, options.cpts, options.runs,
              CPTS_BUILD_TYPE, std::thread::hardware_concurrency());
  std::printf("| %-38s | %12s | %12s | %12s | %13s |\n", "events/s (wall clock)", "min", "median",
              "max", "CPU us/event");
  std::printf("|%s|%s|%s|%s|%s|\n", std::string(40, '-').c_str(), std::string(14, '-').c_str(),
              std::string(14, '-').c_str(), std::string(14, '-').c_str(),
              std::string(15, '-').c_str());
  for (const Row& row : rows) Print(row);
  return 0;
}

}  // namespace
}  // namespace cpts::bench

int main(int argc, char** argv) {
  cpts::bench::Options options;
  CLI::App app{"cpts-audit-verify-bench: cpts audit verify against a raw scan of the same log"};
  app.add_option("--events", options.events, "Events in the generated history")
      ->capture_default_str();
  app.add_option("--runs", options.runs, "Timed passes per measurement")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  app.add_option("--partitions", options.partitions, "Partitions of the events topic")
      ->capture_default_str();
  app.add_option("--cpts", options.cpts, "CPTS of the simulated history")->capture_default_str();
  app.add_option("--threads", options.threads, "Threads of cpts audit verify")
      ->capture_default_str();
  app.add_option("--dir", options.dir,
                 "Data directory: reused when it holds a log, else the history is written there "
                 "and kept (default: a temporary directory)");
  app.add_flag("!--no-deep", options.deep, "Skip the --deep measurement");
  CLI11_PARSE(app, argc, argv);
  return cpts::bench::Main(options);
}
