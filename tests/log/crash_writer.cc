// cpts-log-crash-writer: appends numbered batches to an embedded log and prints "ACK" for each
// batch once Append has returned, so a test can kill it with SIGKILL at any moment and check
// that every acknowledged batch survived whole and nothing else was half-written.
//
//   cpts-log-crash-writer DIR THREADS BATCH_SIZE
// Each thread t appends batches t-0, t-1, ... forever, each of BATCH_SIZE records with the key
// "cpts-<t>" and values "t<t>-b<batch>-r<i>"; it resumes after the last batch found in DIR.

#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "connectors/embedded_log.h"

namespace {

constexpr char kTopic[] = "crash";
constexpr int kPartitions = 4;

// The next batch number of each thread: one past the highest found in the log.
std::map<int, int> NextBatches(cpts::log::Log& log) {
  std::map<int, int> next;
  auto reader = log.OpenReader();
  if (!reader.ok()) return next;
  size_t total = 0;
  for (int p = 0; p < kPartitions; ++p) {
    total += static_cast<size_t>(log.EndOffset({kTopic, cpts::Partition(p)})->value());
    (void)(*reader)->Assign({kTopic, cpts::Partition(p)}, cpts::Offset(0));
  }
  size_t seen = 0;
  while (seen < total) {
    auto got = (*reader)->Poll(std::chrono::milliseconds(100), 10000);
    if (!got.ok() || got->empty()) break;
    for (const auto& r : *got) {
      int t = 0, b = 0, i = 0;
      if (std::sscanf(r.value.c_str(), "t%d-b%d-r%d", &t, &b, &i) == 3) {
        next[t] = std::max(next[t], b + 1);
      }
      ++seen;
    }
  }
  return next;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: cpts-log-crash-writer DIR THREADS BATCH_SIZE\n";
    return 2;
  }
  const int threads = std::stoi(argv[2]);
  const int batch_size = std::stoi(argv[3]);
  auto log = cpts::log::OpenEmbeddedLog({.directory = argv[1]});
  if (!log.ok()) {
    std::cerr << log.status().ToString() << "\n";
    return 1;
  }
  if (auto s = (*log)->EnsureTopic({kTopic, kPartitions}); !s.ok()) {
    std::cerr << s.ToString() << "\n";
    return 1;
  }
  const std::map<int, int> next = NextBatches(**log);
  std::mutex out_mu;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int b = next.count(t) ? next.at(t) : 0;; ++b) {
        std::vector<cpts::log::Record> batch;
        for (int i = 0; i < batch_size; ++i) {
          batch.push_back({.key = "cpts-" + std::to_string(t),
                           .value = "t" + std::to_string(t) + "-b" + std::to_string(b) + "-r" +
                                    std::to_string(i)});
        }
        auto positions = (*log)->Append(kTopic, batch);
        if (!positions.ok()) {
          std::cerr << positions.status().ToString() << "\n";
          std::exit(1);
        }
        std::lock_guard lock(out_mu);
        std::cout << "ACK t" << t << "-b" << b << std::endl;  // flushed: the test reads it live
      }
    });
  }
  for (auto& w : workers) w.join();
}
