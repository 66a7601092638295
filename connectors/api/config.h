#pragma once
// The configuration of cptsd, the daemon (docs/api-security.md, "Configuration").
//
// Every setting has one snake_case name, used everywhere:
//   in the JSON config file (--config FILE, or CPTSD_CONFIG)   "max_body_bytes": 1048576
//   in the environment                                         CPTSD_MAX_BODY_BYTES=1048576
//   on the command line                                        --max-body-bytes 1048576
// Later sources win: defaults < config file < environment < command line. Everything is
// checked once, at start-up; a message names the setting, its value (settings hold no secret:
// secrets live in the secrets and tokens files) and where it came from, and says what to fix.
// Relative paths in the config file are relative to the file's directory; elsewhere, to the
// working directory. deploy/cptsd.example.json documents every setting.
// Thread-safety: plain values and functions; LoadDaemonConfig reads the file system only.

#include <CLI/CLI.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "connectors/health_secrets.h"
#include "connectors/log_flags.h"
#include "events/status.h"

namespace cpts::api {

struct DaemonConfig {
  // Listening.
  std::string host = "127.0.0.1";  // Default: loopback only
  int port = 8080;                 // Default: 8080; 0 = any free port (cptsd prints it)
  // TLS: both files or neither. Without TLS, cptsd listens on a loopback host only, unless
  // allow_plain_http_on_network (see the check in config.cc for why).
  std::string tls_cert_file;  // Default: none (plain HTTP)
  std::string tls_key_file;   // Default: none
  bool allow_plain_http_on_network = false;

  // The log and the read models (connectors/log_flags.h).
  std::string data_dir = "data";  // Default: ./data
  std::string kafka;              // bootstrap servers; Default: empty = the embedded log
  std::string kafka_topic_prefix = "cpts.";
  std::map<std::string, std::string> kafka_properties;  // librdkafka name -> value
  int partitions = topics::kDefaultPartitions;          // Default: 16, when creating the topics

  // Files holding secrets, both mode 0600.
  std::string tokens_file;   // Default: <data_dir>/tokens.json
  std::string secrets_file;  // Default: none (CPTS_PSEUDONYM_SECRET and CPTS_MASTER_KEY)

  // Limits of the HTTP server.
  int64_t max_body_bytes = 1 << 20;    // Default: 1 MiB
  int64_t max_header_bytes = 8 << 10;  // Default: 8 KiB, request line and headers together
  int max_connections = 256;           // Default: 256 open connections
  int worker_threads = 0;              // Default: 0 = one per core, at least 8
  int read_timeout_seconds = 10;       // Default: 10 s to receive a request
  int idle_timeout_seconds = 60;       // Default: 60 s for a kept-alive connection
  // How long a read with a position waits for the read models to catch up (read-your-writes).
  int read_your_writes_wait_ms = 5000;  // Default: 5 s; at most 60 s
  int sse_heartbeat_seconds = 15;       // Default: 15 s between comments on a quiet live feed
  // One line per answered request on stderr (docs/api.md, "Access log"). Off in demo mode,
  // whose own traffic would bury everything else on the terminal.
  bool access_log = true;  // Default: true

  // Demo mode: cptsd fills itself with simulated data (the README's run command).
  bool demo = false;

  // Where the configuration came from, for logs: the config file, or empty.
  std::string config_file;

  // The configuration as the shared flag structs of the other binaries.
  LogFlags Log() const;
  HealthFlags Health() const { return HealthFlags{.secrets_file = secrets_file}; }
  // worker_threads with 0 resolved.
  int WorkerThreads() const;
};

// What the command line gave, as text: parsed and checked by LoadDaemonConfig with the other
// sources, so every source gets the same checks and the same messages.
struct DaemonFlags {
  std::string config_file;                    // --config FILE
  std::map<std::string, std::string> values;  // setting name -> text ("port" -> "8443")
  std::vector<std::string> kafka_properties;  // --kafka-property name=value, repeatable
};

// The environment, as the variables that start with CPTSD_ (tests pass a map of their own).
using Environment = std::map<std::string, std::string>;
Environment ProcessEnvironment();

// Adds --config and one flag per setting (--port, --max-body-bytes, --demo...).
void AddDaemonFlags(CLI::App& app, DaemonFlags& flags);

// The configuration from the defaults, the config file (flags.config_file, else CPTSD_CONFIG),
// the environment and the flags. InvalidArgument naming the setting and its source when a value
// is wrong, a setting unknown (with the nearest known name) or a file unreadable;
// FailedPrecondition when the config file is writable by group or others.
Result<DaemonConfig> LoadDaemonConfig(const DaemonFlags& flags, const Environment& environment);

// The names of every setting, in the order of deploy/cptsd.example.json.
std::vector<std::string> DaemonSettingNames();

}  // namespace cpts::api
