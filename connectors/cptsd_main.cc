// cptsd: the CPTS daemon. The log (embedded under --data-dir, or Kafka with --kafka), the
// deciders, the read models and the HTTP API in one process (connectors/api/daemon.h).
// Configuration: --config FILE < CPTSD_* environment < flags (connectors/api/config.h,
// deploy/cptsd.example.json). Stops cleanly on SIGTERM or SIGINT.
//
// Once it accepts requests it prints one line on stdout, for people and for scripts:
//   listening http://127.0.0.1:8080

#include <signal.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>

#include "connectors/api/config.h"
#include "connectors/api/daemon.h"
#include "connectors/api/demo.h"

int main(int argc, char** argv) {
  CLI::App app{"cptsd: the CPTS event-sourced backend and its HTTP API"};
  cpts::api::DaemonFlags flags;
  cpts::api::AddDaemonFlags(app, flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  cpts::Result<cpts::api::DaemonConfig> config =
      cpts::api::LoadDaemonConfig(flags, cpts::api::ProcessEnvironment());
  if (!config.ok()) {
    std::cerr << "cptsd: " << config.status().message() << "\n";
    return 2;
  }

  // Signals are taken by this thread alone (sigwait below): every thread started from here on
  // inherits the mask, so none is interrupted half-way through a write.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client gone mid-answer is a failed write, not a dead daemon
  // A core dump would hold opened identities and secrets: health data must not land on disk.
  const rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);

  std::optional<cpts::api::DemoFiles> demo;
  if (config->demo) {
    cpts::Result<cpts::api::DemoFiles> files = cpts::api::PrepareDemo(*config);
    if (!files.ok()) {
      std::cerr << "cptsd --demo: " << files.status().message() << "\n";
      return 1;
    }
    demo = std::move(*files);
  }

  cpts::Result<std::unique_ptr<cpts::api::Daemon>> daemon = cpts::api::Daemon::Open(*config);
  if (!daemon.ok()) {
    std::cerr << "cptsd: " << daemon.status().message() << "\n";
    return 1;
  }
  if (cpts::Status s = (*daemon)->Start(); !s.ok()) {
    std::cerr << "cptsd: " << s.message() << "\n";
    return 1;
  }
  const std::string base_url =
      "http://" + config->host + ":" + std::to_string((*daemon)->port());
  std::cout << "listening " << base_url << std::endl;
  std::unique_ptr<cpts::api::DemoTraffic> traffic;
  if (demo) {
    std::cout << cpts::api::WelcomeText(*demo, base_url) << std::flush;
    traffic = std::make_unique<cpts::api::DemoTraffic>(*demo, base_url);
  }
  std::cerr << "cptsd: " << (config->kafka.empty() ? "embedded log in " + config->data_dir
                                                   : "Kafka at " + config->kafka)
            << "; stop with SIGTERM or Ctrl-C\n";

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  std::cerr << "cptsd: " << (signal_number == SIGINT ? "SIGINT" : "SIGTERM")
            << " received, stopping\n";
  if (traffic) traffic->Stop();  // its requests in flight finish while the server still runs
  const cpts::Status stopped = (*daemon)->Stop();
  if (!stopped.ok()) {
    std::cerr << "cptsd: stopped with an error: " << stopped.message() << "\n";
    return 1;
  }
  std::cerr << "cptsd: stopped\n";
  return 0;
}
