#pragma once
// Daemon: cptsd in one object, so the binary (connectors/cptsd_main.cc) and the tests run the
// same wiring (ARCHITECTURE.md, 4-5, 9):
//
//   HTTP API ──commands──> log: commands topic ──> CommandProcessor (decider group member)
//      ▲                                                   │ events
//      │ reads, waits, feeds                               ▼
//   LiveView <── on_commit ── Projector (--follow) <── log: events topic
//
// Open() loads and checks everything (log, topics, secrets, key store, tokens, read models)
// before anything listens, so a wrong setting fails at start with a message saying what to fix.
// Start() runs the decider and the projector on threads of their own, then the HTTP server.
// Stop() (SIGTERM, SIGINT) stops in the reverse order: the server drains its requests, the
// projector commits what it applied, the decider leaves its group (its partitions move to the
// other cptsd at once) — nothing acknowledged is lost, and a restart resumes where it stopped.
// Thread-safety: Open/Start/Stop from one thread; Ready() and context() from any.

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "connectors/api/api.h"
#include "events/status.h"

namespace cpts::api {

class Daemon {
 public:
  static Result<std::unique_ptr<Daemon>> Open(const DaemonConfig& config);
  ~Daemon();

  // Starts the decider, the projector and the HTTP server; returns once the server listens.
  Status Start();
  // Stops everything, in order; idempotent. The first error any component met, if any.
  Status Stop();

  int port() const;  // the HTTP port, once started (config.port 0: the kernel's choice)
  // Ready to serve: the read models have caught up with the log as it was at start, and the
  // decider runs. /readyz says the same, with details.
  bool Ready() const;
  ApiContext& context();

 private:
  struct Impl;
  explicit Daemon(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cpts::api
