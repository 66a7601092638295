#pragma once
// The command-line flags that choose a log (the embedded one under --data-dir, or Kafka with
// --kafka) and the read models beside it, shared by the binaries' subcommands.
//
// Layout of a data directory: <data-dir>/log holds the embedded log, <data-dir>/projections the
// live read models, <data-dir>/keys the patients' data keys (on Kafka, the keys topic holds them).

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/key_store.h"
#include "events/log.h"
#include "events/topics.h"

namespace cpts {

struct LogFlags {
  std::string data_dir = "data";  // Default: ./data
  std::string kafka;              // bootstrap servers; empty = the embedded log
  std::string topic_prefix = "cpts.";
  std::vector<std::string> kafka_properties;  // "name=value"
  int32_t partitions = topics::kDefaultPartitions;
  int session_timeout_ms = 10000;  // Default: 10 s
  std::string projections_dir;    // Default: <data-dir>/projections

  std::string LogDirectory() const { return data_dir + "/log"; }
  std::string KeysDirectory() const { return data_dir + "/keys"; }
  std::string ProjectionsDirectory() const {
    return projections_dir.empty() ? data_dir + "/projections" : projections_dir;
  }
};

// `creates_topics`: the command may create the topics, so it takes their partition count.
void AddLogFlags(CLI::App& app, LogFlags& flags, bool creates_topics);

enum class OpenMode { kCreateTopics, kReadOnly };

// What a long-running process adds when it opens the log, beside the flags: the daemon's metrics.
struct LogObservers {
  // librdkafka's statistics JSON, every 15 s (Kafka only; log::KafkaLogOptions::statistics).
  std::function<void(std::string_view json)> kafka_statistics;
};

// Opens the log the flags name. kCreateTopics makes sure every topic exists with the expected
// partitions; kReadOnly changes nothing and fails when there is no log to read.
Result<std::unique_ptr<log::Log>> OpenLog(const LogFlags& flags, OpenMode mode,
                                          const LogObservers& observers = {});

// The optional time a flag gives (RFC 3339, e.g. 2026-11-22T16:05:00Z): nullopt when empty,
// InvalidArgument naming the flag and its value when it is not a time.
Result<std::optional<int64_t>> ParseTimeFlag(const std::string& text, const char* flag);

// Who runs a tool by hand, for access traces: "operator:<login>".
std::string OperatorName();

// The key store that follows the log (docs/health-data.md): <data-dir>/keys beside the embedded
// log, the keys topic of `log` on Kafka. `log` must outlive the store.
Result<std::unique_ptr<keys::KeyStore>> OpenKeyStore(const LogFlags& flags, log::Log& log,
                                                     const std::array<unsigned char, 32>& master_key);

}  // namespace cpts
