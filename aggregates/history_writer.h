#pragma once
// WriteHistory: a big, valid, hash-chained history written straight to the events topic, from a
// Scenario's commands decided in-process. For benchmarks and tests that need millions of events
// fast: no commands topic, no consumer group, no read-back.
//
// Each command is decided on its CPTS's state (Decide), and its outcome built exactly as the
// command processor builds it (BuildOutcomeEnvelope, aggregates/command_processor.h): sequence,
// prevhash over the previous stored bytes, causation, deterministic id, time = when the command
// entered the log. A command that changes nothing is skipped. Events are validated, encoded and
// appended in batches, keyed by CPTS id, with the command's time as record timestamp: a reader
// (StreamFold, tests/aggregates/history_check.h, a projection) cannot tell it from a history the
// deciders wrote, except that records carry no command-offset header (there were no commands on
// the log).
//
// Precondition: the events topic holds no record yet (the streams start at sequence 1); it is
// created when missing.
// Thread-safety: one call at a time per log and scenario.

#include <cstddef>
#include <cstdint>
#include <functional>

#include "aggregates/scenario.h"
#include "events/log.h"
#include "events/status.h"

namespace cpts::aggregates {

struct WriteHistoryOptions {
  // Stop once this many events (accepted and rejected outcomes) are appended. Default: 1,000,000.
  uint64_t events = 1'000'000;
  // Events per Append. Default: 1000.
  size_t batch = 1000;
  // Partitions of the events topic when it must be created, 0 for topics::kDefaultPartitions;
  // an existing topic keeps its count. Default: 0.
  int32_t partitions = 0;
  // Called after each batch is appended, with the events written so far. Default: none.
  std::function<void(uint64_t events_written)> progress;
};

// What was written.
struct HistoryStats {
  uint64_t events = 0;      // appended
  uint64_t rejections = 0;  // of which fr.cpts.command.rejected.v1
  uint64_t unchanged = 0;   // commands that changed nothing: not written
  uint64_t bytes = 0;       // encoded event bytes appended
};

// Fails when the events topic already holds records, or on any log error (the history is then
// cut short at the last batch appended).
Result<HistoryStats> WriteHistory(log::Log& log, Scenario& scenario,
                                  const WriteHistoryOptions& options);

}  // namespace cpts::aggregates
