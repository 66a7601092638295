#pragma once
// Projector: reads the events topic and keeps the read models of a ProjectionStore up to date.
//
// For each record, in log order per partition: decode it (events/codec.h), apply it when it is
// the next event of its stream (sequence = head + 1, prevhash = the head's hash: the rule of
// docs/pipeline.md, so read models agree with the deciders on what history is), then commit the
// batch's rows, the stream heads and the partition positions in one WriteBatch. A record
// re-delivered (a restart, a replay of any suffix) is at or below its stream's head and changes
// nothing. Records that cannot be applied (unreadable, a gap, another branch, a stream routed to
// another partition) are counted, never applied.
//
// Partitions are spread over worker threads (in a build, each worker replays one partition at a
// time and takes the largest left when done; following the log, partition p goes to worker
// p % threads); a CPTS lives in one partition and every row is keyed by its CPTS, so workers
// never share a row.
//
// As of a past moment (auditors, ARCHITECTURE.md decision 8): until_positions stops each
// partition at an offset; until_time_ms stops each stream at its first event later than that
// time (a stream is a chain: what follows its first later event is left out too).
// Thread-safety: Run on one thread; positions(), stats() and RequestStop() from any thread.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "events/envelope.h"
#include "events/log.h"
#include "events/status.h"
#include "projections/store.h"

namespace cpts::projections {

struct ProjectorStats {
  uint64_t records = 0;          // records read
  uint64_t applied = 0;          // events applied
  uint64_t already_applied = 0;  // at or below their stream's head: re-delivered
  uint64_t gaps = 0;             // beyond the next sequence: history is missing something
  uint64_t conflicts = 0;        // at the next sequence, chained to another history
  uint64_t unreadable = 0;       // not a valid event
  uint64_t misrouted = 0;        // a stream in a partition its key does not route to
  uint64_t after_until = 0;      // left out of an as-of build
};

// An event the projector applied, where it read it. Its data holds no sealed identity block (read
// models keep it apart: projections/read_models.h).
struct AppliedEvent {
  events::Envelope event;
  int32_t partition = 0;
  int64_t offset = 0;
};

struct ProjectorOptions {
  // Default: 2, one per core of the machines we size for. At most one per partition is used.
  int threads = 2;
  // Default: 5,000 records per poll and per commit.
  size_t max_batch = 20000;
  // Default: true: stop once every partition reaches the end it had when Run started (a build).
  // False: follow the log until RequestStop (the daemon).
  bool stop_at_end = true;
  // As-of builds; see the header comment.
  std::optional<Positions> until_positions;
  std::optional<int64_t> until_time_ms;
  // Default: true: commit after every batch, so a restart resumes where the last batch ended.
  // False for builds into a fresh directory, which are never resumed: rows are committed only
  // when the cache is full and at the end, so a row changed by many events is written once.
  bool commit_every_batch = true;
  // Default: 50,000 rows cached per worker; past that, the rows are committed and dropped.
  // Rows are hot for about a week of history (a discharge and its follow-ups), which 50,000
  // rows hold; 300,000 was as fast and took 1 GiB instead of 370 MiB (page faults included).
  size_t cache_rows = 50'000;
  // Default: none: every command's outcome is recorded. Builds set it: outcomes of events
  // before this time (ms since the epoch) have expired already (kOutcomeRetentionMs).
  std::optional<int64_t> outcomes_since_ms;
  // Default: none. Called about once a second from Run's thread while it works.
  std::function<void(uint64_t done, uint64_t total)> progress;
  // Default: none. Called from a worker thread after each commit, once its rows are readable,
  // with the positions it committed and the events it applied since the previous commit, in
  // log order per partition (the daemon's live feed and read-your-writes waits). Never called
  // concurrently for one partition; may be for two (one per worker).
  std::function<void(const Positions& committed, std::vector<AppliedEvent> applied)> on_commit;
};

class Projector {
 public:
  Projector(log::Log& log, ProjectionStore& store, ProjectorOptions options)
      : log_(log), store_(store), options_(std::move(options)) {}

  // Projects until done (stop_at_end) or RequestStop; the first error stops every worker.
  Status Run();
  void RequestStop() { stop_.store(true); }

  // The positions committed so far (next offset per partition).
  Positions positions() const;
  ProjectorStats stats() const;

 private:
  struct Worker;
  // A partition to replay and the offsets to replay it between.
  struct Share {
    int32_t partition;
    int64_t from, target;
  };
  Status RunWorker(Worker& worker);
  // The next partition of a build's queue, largest first; nullopt when none is left.
  std::optional<Share> NextShare();
  void Publish(const Positions& committed, const ProjectorStats& delta);

  log::Log& log_;
  ProjectionStore& store_;
  const ProjectorOptions options_;
  std::atomic<bool> stop_{false};
  int32_t partitions_ = 0;

  std::atomic<uint64_t> records_read_{0};  // for progress: builds commit rarely
  // A build's partitions, largest first: each worker takes the next when it finishes one.
  std::vector<Share> queue_;
  std::atomic<size_t> queue_next_{0};
  mutable std::mutex mu_;
  Positions positions_;
  ProjectorStats stats_;
};

}  // namespace cpts::projections
