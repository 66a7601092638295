#pragma once
// cptsd --demo: the README's run command. A newcomer gets a running service that fills itself
// with a realistic life of the seeds' territories (connectors/api/simulate.h), and one token per
// role to look at it with.
//
//   PrepareDemo   before Daemon::Open: creates the data directory, the secrets file and, on
//                 the first run, the demo tokens and their credentials file (clear tokens, 0600,
//                 <data-dir>/demo-credentials.json) and the scenario's start
//                 (<data-dir>/demo-scenario.json). A second run reuses them: the same tokens
//                 keep working and the simulation continues where its idempotency keys left off.
// Dates: the scenario's clock runs much faster than the wall clock (about a simulated day every
// 10 s at the demo's rate). It starts 60 days before the first run, so the first views look
// like today's work (some follow-ups overdue, others pending) and the clock reaches today after
// about ten minutes; later data is dated ahead of the wall clock.
//   DemoTraffic   after Start: sends the simulated commands through the HTTP API, like any
//                 client, on a thread of its own, until stopped.
// Never on real data: the demo's tokens are written in clear in the data directory.
// Thread-safety: PrepareDemo and WelcomeText from one thread; DemoTraffic owns its thread.

#include <atomic>
#include <string>
#include <thread>

#include "connectors/api/config.h"
#include "connectors/api/simulate.h"
#include "events/status.h"

namespace cpts::api {

struct DemoFiles {
  std::string credentials_file;  // <data-dir>/demo-credentials.json
  Credentials credentials;
  int64_t commands = 0;  // how many commands the simulation sends in all
  std::string start;     // the simulated clock's start, fixed at the first run
};

// Fills in config.secrets_file and config.tokens_file when empty (files in the data directory)
// and creates what is missing.
Result<DemoFiles> PrepareDemo(DaemonConfig& config);

// What to print once the daemon listens: the URLs, one token per role, commands to try.
std::string WelcomeText(const DemoFiles& files, const std::string& base_url);

class DemoTraffic {
 public:
  DemoTraffic(const DemoFiles& files, std::string base_url);
  ~DemoTraffic();  // stops and joins
  void Stop();

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace cpts::api
