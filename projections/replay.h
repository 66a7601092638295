#pragma once
// Building read models from the start of the log: a rebuild of the live ones (swapped in when
// complete), or an as-of build for auditors (ARCHITECTURE.md decision 8), into its own
// directory, never touching the live read models. Both run the same Projector as the live
// service, so they apply history by the same rules.
// Thread-safety: one build per directory at a time (RocksDB's lock enforces it).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "events/log.h"
#include "events/status.h"
#include "projections/projector.h"
#include "projections/store.h"

namespace cpts::projections {

struct BuildOptions {
  std::string directory;  // must not hold read models yet
  // Default: 2 worker threads (partitions replay in parallel).
  int threads = 2;
  std::optional<Positions> until_positions;
  std::optional<int64_t> until_time_ms;
  // Default: none: every command's outcome. The caller's clock minus kOutcomeRetentionMs leaves
  // out the outcomes expired already (cpts rebuild and cpts replay do).
  std::optional<int64_t> outcomes_since_ms;
  // Default: none. Called about once a second: events done and the total to do.
  std::function<void(uint64_t done, uint64_t total)> progress;
};

struct BuildReport {
  ProjectorStats stats;
  Positions positions;
  double seconds = 0;
  std::string digest;  // ProjectionStore::Digest of the result
};

// Builds every read model from the start of the events topic into options.directory, up to the
// end the log has when the build starts (or up to the as-of bound). Records what it was built
// up to in the store's meta rows ("build").
Result<BuildReport> BuildReadModels(log::Log& log, const BuildOptions& options);

// Rebuilds the live read models in `live_directory`: builds into a sibling directory, then
// swaps it in (the old one is removed only once the new one is in place). The live read models
// must not be open (stop the service first).
Result<BuildReport> RebuildReadModels(log::Log& log, const std::string& live_directory,
                                      const BuildOptions& options);

// "--until" as auditors write it: a time ("2026-11-22T16:05:00Z", RFC 3339 with a zone) or
// positions ("0:120,1:98,..." naming every partition: the offset each partition stops before).
struct Until {
  std::optional<int64_t> time_ms;
  std::optional<Positions> positions;
};
Result<Until> ParseUntil(std::string_view text, int32_t partitions);

// A progress line for a terminal: "412,318 / 1,000,000 events (41%), 205,113 events/s, ~3 s left".
class ProgressLine {
 public:
  explicit ProgressLine(std::string what);
  void operator()(uint64_t done, uint64_t total);

 private:
  std::string what_;
  int64_t start_ms_;
  bool tty_;
};

std::string WithThousands(uint64_t n);

}  // namespace cpts::projections
