#pragma once
// The command-line flags that choose a log (the embedded one under --data-dir, or Kafka with
// --kafka) and the read models beside it, shared by the binaries' subcommands.
//
// Layout of a data directory: <data-dir>/log holds the embedded log, <data-dir>/projections the
// live read models.

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

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
  std::string ProjectionsDirectory() const {
    return projections_dir.empty() ? data_dir + "/projections" : projections_dir;
  }
};

// `creates_topics`: the command may create the topics, so it takes their partition count.
void AddLogFlags(CLI::App& app, LogFlags& flags, bool creates_topics);

enum class OpenMode { kCreateTopics, kReadOnly };

// Opens the log the flags name. kCreateTopics makes sure every topic exists with the expected
// partitions; kReadOnly changes nothing and fails when there is no log to read.
Result<std::unique_ptr<log::Log>> OpenLog(const LogFlags& flags, OpenMode mode);

}  // namespace cpts
