// cpts-pipeline-driver: the whole pipeline on the embedded log in one process, as a single
// machine runs it. A feeder thread appends a deterministic workload of commands (resuming
// after those already in the log), while the main thread runs the command processor. Prints
// "PROGRESS <outcomes>" as it goes and "DONE" once every command is decided, so a test can kill
// it with SIGKILL at any moment and start it again.
//
//   cpts-pipeline-driver DIR CPTS COMMANDS SEED

#include <atomic>
#include <iostream>
#include <thread>

#include "aggregates/command.h"
#include "aggregates/command_processor.h"
#include "connectors/embedded_log.h"
#include "events/topics.h"
#include "tests/support/workload.h"

namespace {

constexpr int32_t kPartitions = 8;

int Fail(const cpts::Status& s) {
  std::cerr << "cpts-pipeline-driver: " << s.ToString() << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace cpts;
  if (argc != 5) {
    std::cerr << "usage: cpts-pipeline-driver DIR CPTS COMMANDS SEED\n";
    return 2;
  }
  auto log = log::OpenEmbeddedLog({.directory = argv[1]});
  if (!log.ok()) return Fail(log.status());
  for (const auto& spec : topics::AllTopics(kPartitions)) {
    if (Status s = (*log)->EnsureTopic(spec); !s.ok()) return Fail(s);
  }
  const std::vector<aggregates::Command> workload = test::GenerateWorkload(
      {.cpts = std::stoi(argv[2]), .commands = std::stoi(argv[3]), .seed = std::stoull(argv[4])});

  // Commands already appended by an earlier run: the feeder wrote them in workload order, in
  // all-or-nothing batches, so they are a prefix of the workload.
  size_t already = 0;
  for (int32_t p = 0; p < kPartitions; ++p) {
    already += static_cast<size_t>(
        (*log)->EndOffset({std::string(topics::kCommands), Partition(p)})->value());
  }
  std::atomic<bool> fed{false};
  Status feed_status = Status::Ok();
  std::thread feeder([&] {
    for (size_t i = already; i < workload.size(); i += 200) {
      std::vector<log::Record> batch;
      for (size_t j = i; j < std::min(workload.size(), i + 200); ++j) {
        batch.push_back(
            {.key = workload[j].cptsid, .value = aggregates::EncodeCommand(workload[j])});
      }
      auto appended = (*log)->Append(topics::kCommands, batch);
      if (!appended.ok()) {
        feed_status = appended.status();
        break;
      }
    }
    fed = true;
  });

  auto processor = aggregates::CommandProcessor::Start(**log, {});
  if (!processor.ok()) {
    feeder.join();
    return Fail(processor.status());
  }
  uint64_t reported = 0;
  Status status = Status::Ok();
  while (status.ok()) {
    status = (*processor)->RunOnce();
    const auto stats = (*processor)->stats();
    const uint64_t outcomes = stats.events + stats.rejections;
    if (outcomes >= reported + 1000) {
      std::cout << "PROGRESS " << outcomes << std::endl;
      reported = outcomes;
    }
    if (fed) {
      auto caught_up = (*processor)->CaughtUp();
      if (!caught_up.ok())
        status = caught_up.status();
      else if (*caught_up)
        break;
    }
  }
  feeder.join();
  if (!feed_status.ok()) return Fail(feed_status);
  if (!status.ok()) return Fail(status);
  const auto stats = (*processor)->stats();
  std::cout << "DONE commands=" << stats.commands << " events=" << stats.events
            << " rejections=" << stats.rejections << " duplicates=" << stats.duplicates
            << std::endl;
  return 0;
}
