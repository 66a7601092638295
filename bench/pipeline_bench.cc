// cpts-pipeline-bench: commands decided and appended per second by one command processor, on
// the embedded log and on the Kafka test broker, min/median/max over several runs.
//
// Each run: a fresh log, the workload's commands appended up front (not timed), then one
// processor decides them all: decode, decide, append the outcomes in batches, read them back,
// commit. Timed from its first batch to the moment every command partition is decided to its
// end. The history is then checked: one outcome per command, gapless hash chains.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <iostream>

#include "aggregates/command.h"
#include "aggregates/command_processor.h"
#include "connectors/embedded_log.h"
#include "connectors/kafka_log.h"
#include "events/topics.h"
#include "tests/aggregates/history_check.h"
#include "tests/log/log_test_util.h"
#include "tests/support/test_broker.h"
#include "tests/support/workload.h"

namespace cpts::bench {
namespace {

struct Options {
  int runs = 3;
  int commands = 50'000;
  int cpts = 20;
  int partitions = 16;
  size_t max_batch = 1000;
};

Status Fill(log::Log& log, const std::vector<aggregates::Command>& workload) {
  for (size_t i = 0; i < workload.size(); i += 1000) {
    std::vector<log::Record> batch;
    for (size_t j = i; j < std::min(workload.size(), i + 1000); ++j) {
      batch.push_back({.key = workload[j].cptsid, .value = aggregates::EncodeCommand(workload[j])});
    }
    Result<std::vector<log::Position>> appended = log.Append(topics::kCommands, batch);
    if (!appended.ok()) return appended.status();
  }
  return Status::Ok();
}

// Decides everything in `log`; returns commands per second, timed from the first batch (so the
// consumer group's join, about 3 s on Kafka, is not counted) to the last.
Result<double> DecideAll(log::Log& log, const Options& options,
                         const std::vector<aggregates::Command>& workload) {
  auto processor = aggregates::CommandProcessor::Start(log, {.max_batch = options.max_batch});
  if (!processor.ok()) return processor.status();
  while ((*processor)->stats().commands == 0) CPTS_RETURN_IF_ERROR((*processor)->RunOnce());
  const uint64_t untimed = (*processor)->stats().commands;
  const auto start = std::chrono::steady_clock::now();
  while (true) {
    CPTS_RETURN_IF_ERROR((*processor)->RunOnce());
    // CaughtUp asks the log for every partition's offsets: only worth it once all were read.
    if ((*processor)->stats().commands < workload.size()) continue;
    Result<bool> done = (*processor)->CaughtUp();
    if (!done.ok()) return done.status();
    if (*done) break;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CPTS_RETURN_IF_ERROR((*processor)->Close());
  const test::HistoryCheck check = test::CheckHistory(log, options.partitions);
  const bool each_once = std::all_of(workload.begin(), workload.end(), [&](const auto& c) {
    auto it = check.outcomes.find(c.command_id);
    return it != check.outcomes.end() && it->second == 1;
  });
  if (!each_once || !check.problems.empty() || check.applied != workload.size()) {
    return Status::Internal("history check failed: not exactly one outcome per command");
  }
  return static_cast<double>(workload.size() - untimed) / seconds;
}

void PrintRow(const std::string& name, std::vector<double> values) {
  std::sort(values.begin(), values.end());
  std::printf("%-44s %12.0f %12.0f %12.0f\n", name.c_str(), values.front(),
              values[values.size() / 2], values.back());
}

int Main(int argc, char** argv) {
  Options options;
  CLI::App app{"cpts-pipeline-bench: commands decided and appended per second, both logs"};
  app.add_option("--runs", options.runs, "runs per log")->capture_default_str();
  app.add_option("--commands", options.commands, "commands per run")->capture_default_str();
  app.add_option("--cpts", options.cpts, "CPTS streams")->capture_default_str();
  app.add_option("--partitions", options.partitions, "partitions per topic")->capture_default_str();
  app.add_option("--max-batch", options.max_batch, "commands decided per append")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  const auto workload =
      test::GenerateWorkload({.cpts = options.cpts, .commands = options.commands, .seed = 3});
  std::vector<double> embedded, kafka;
  for (int run = 1; run <= options.runs; ++run) {
    std::cerr << "run " << run << "/" << options.runs << ": embedded log\n";
    logtest::TempDir dir("pipeline-bench");
    auto log = log::OpenEmbeddedLog({.directory = dir.path()});
    if (!log.ok()) return std::cerr << log.status().ToString() << "\n", 1;
    for (const auto& spec : topics::AllTopics(options.partitions)) (void)(*log)->EnsureTopic(spec);
    if (Status s = Fill(**log, workload); !s.ok()) return std::cerr << s.ToString() << "\n", 1;
    auto rate = DecideAll(**log, options, workload);
    if (!rate.ok()) return std::cerr << rate.status().ToString() << "\n", 1;
    embedded.push_back(*rate);
  }
  for (int run = 1; run <= options.runs; ++run) {
    std::cerr << "run " << run << "/" << options.runs << ": Kafka test broker\n";
    auto broker = test::TestBroker::Start({.brokers = 3});
    if (!broker.ok()) return std::cerr << broker.status().ToString() << "\n", 1;
    for (const auto& spec : topics::AllTopics(options.partitions)) {
      (void)(*broker)->CreateTopic("cpts." + spec.name, options.partitions);
    }
    auto log = log::OpenKafkaLog(logtest::KafkaTestOptions((*broker)->bootstrap()));
    if (!log.ok()) return std::cerr << log.status().ToString() << "\n", 1;
    if (Status s = Fill(**log, workload); !s.ok()) return std::cerr << s.ToString() << "\n", 1;
    auto rate = DecideAll(**log, options, workload);
    if (!rate.ok()) return std::cerr << rate.status().ToString() << "\n", 1;
    kafka.push_back(*rate);
  }
  std::printf(
      "workload: %zu commands over %d CPTS, %d partitions, up to %zu decided per append, "
      "%d runs\n\n",
      workload.size(), options.cpts, options.partitions, options.max_batch, options.runs);
  std::printf("%-44s %12s %12s %12s\n", "commands decided and appended per second", "min", "median",
              "max");
  PrintRow("embedded log (fsync per append)", embedded);
  PrintRow("Kafka test broker (acks=all, 3 brokers)", kafka);
  std::printf("\nEvery run checked afterwards: one outcome per command, gapless hash chains.\n");
  return 0;
}

}  // namespace
}  // namespace cpts::bench

int main(int argc, char** argv) { return cpts::bench::Main(argc, argv); }
