#pragma once
// cptsd --demo: the README's run command. A newcomer gets a running service that fills itself
// with a realistic life of the seeds' territories (connectors/api/simulate.h), and one token per
// role to look at it with.
//
//   PrepareDemo   before Daemon::Open: creates the data directory, the secrets file and, on
//                 the first run, the demo tokens and their credentials file (clear tokens, 0600,
//                 <data-dir>/demo-credentials.json). A second run reuses them: the same tokens
//                 keep working and the simulation continues where its idempotency keys left off.
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
