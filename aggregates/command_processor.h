#pragma once
// The command processor: the single writer of the CPTS streams whose commands it owns
// (ARCHITECTURE.md, decisions 1-3). docs/pipeline.md tells the whole story; in short:
//
//   - It is a member of the consumer group over the commands topic. For each commands partition
//     it owns, it folds the events partition of the same number (same key, same partition
//     count) from the start before deciding anything there.
//   - It decides each command in log order on the folded state: at most one event, or a
//     command-rejected event, or nothing. The event gets the stream's next sequence, the hash of
//     the previous event, the command id as causation, a deterministic id, and as its time the
//     moment the command entered the log, so the same decision taken twice is the same bytes.
//   - A batch of outcomes is appended at once, then read back: the log, not this process,
//     decides which events count (aggregates/stream_fold.h). If another writer got there first
//     (a zombie after a rebalance), the fold is rebuilt from the log and the commands whose
//     outcome did not land are decided again; a command already decided is never decided twice.
//   - Command offsets are committed after their outcomes are confirmed on the log, so a crash
//     re-delivers commands, which each stream then skips: effectively once.
//   - Any error leaves the processor unusable (every later call returns it): the state it holds
//     may be ahead of the log, so the process restarts and folds the log afresh.
// Thread-safety: one thread runs a processor (RunOnce / Run); stats() may be read from any.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "aggregates/decide.h"
#include "aggregates/stream_fold.h"
#include "events/log.h"

namespace cpts::aggregates {

struct ProcessorOptions {
  // Default: "deciders".
  std::string group = "deciders";
  // This member's name, stamped on the records it appends (header cpts-decider), for operators.
  // Default: "<hostname>:<pid>".
  std::string name;
  // Commands decided together, appended in one batch. Default: 1000.
  size_t max_batch = 1000;
  // How long one RunOnce waits for commands. Default: 100 ms.
  std::chrono::milliseconds poll_timeout{100};
};

struct ProcessorStats {
  uint64_t commands = 0;        // read from the commands topic
  uint64_t events = 0;          // accepted outcomes appended and confirmed
  uint64_t rejections = 0;      // command-rejected events appended and confirmed
  uint64_t unchanged = 0;       // accepted, nothing to record
  uint64_t duplicates = 0;      // commands already decided: skipped
  uint64_t redecided = 0;       // outcomes another writer pre-empted: decided again
  uint64_t conflicts = 0;       // events read that claimed a taken position (zombies), once each
  uint64_t rebuilds = 0;        // partition folds rebuilt from the log
  uint64_t unroutable = 0;      // commands keyed to no stream of their partition: skipped
  uint64_t commit_retries = 0;  // progress commits refused (a rebalance): kept for later
};

// The event recording `decision` on `command` at the next position of its stream, whose last
// event is `head` with hash `head_hash`: sequence, prevhash, causation, correlation, actor,
// source, a deterministic id, and as time `timestamp_ms`, when the command entered the log (the
// same decision taken twice is then the same bytes). A rejection becomes
// fr.cpts.command.rejected.v1; an event that does not validate (a decider bug) becomes the
// rejection "invalid_outcome" rather than corrupt history. Nullopt when nothing changes.
// *rejected tells which. Shared by the processor and by writers of whole histories
// (aggregates/history_writer.h), so both build events alike.
std::optional<events::Envelope> BuildOutcomeEnvelope(const Command& command, Decision decision,
                                                     Sequence head, const std::string& head_hash,
                                                     int64_t timestamp_ms, bool* rejected);

class CommandProcessor : public log::GroupListener {
 public:
  // Joins the group. Fails when the commands and events topics differ in partition count.
  static Result<std::unique_ptr<CommandProcessor>> Start(log::Log& log, ProcessorOptions options);
  ~CommandProcessor() override;

  // One poll of the commands topic, and the decisions it brings.
  Status RunOnce();
  // RunOnce until `stop` is set or an error occurs (which is returned).
  Status Run(const std::atomic<bool>& stop);
  // Leaves the group (partitions move to other members at once).
  Status Close();

  // True when every commands partition this member owns is decided to its end (its committed
  // offset is the partition's end offset); false while it owns none.
  Result<bool> CaughtUp();

  ProcessorStats stats() const;
  // Events read that were not applied (conflicts, gaps, unreadable), in the owned partitions.
  std::vector<FoldIncident> incidents() const;

  void OnPartitionsAssigned(const std::vector<log::TopicPartition>& partitions) override;
  void OnPartitionsRevoked(const std::vector<log::TopicPartition>& partitions) override;

 private:
  struct PartitionState {
    StreamFold fold;
    Offset next_event{0};     // next events offset to fold
    Offset counted_until{0};  // conflicts before this offset are already counted
  };
  // A command waiting for its outcome.
  struct Pending {
    Command command;
    int64_t offset = 0;               // in the commands topic
    int64_t timestamp_ms = 0;         // when it entered the log: the time of its outcome
    std::optional<Rejection> forced;  // a command that did not decode: its rejection
  };

  CommandProcessor(log::Log& log, ProcessorOptions options) : log_(log), options_(options) {}
  Status RunOnceUnchecked();
  Status Rebuild(Partition partition);
  // Folds `partitions` of the events topic up to their current ends; records of the other owned
  // partitions read meanwhile are folded too. Sets *diverged when a tentative event lost.
  Status CatchUp(const std::vector<Partition>& partitions, bool* diverged);
  std::vector<Pending> ToPending(Partition partition,
                                 const std::vector<log::StoredRecord>& records);
  Status DecideBatch(Partition partition, const std::vector<Pending>& pending);
  // The outcome of one command on its stream, or nullopt when nothing changes.
  std::optional<events::Envelope> BuildOutcome(const Pending& p, const Stream& stream,
                                               bool* rejected);
  // Commits the decided progress of the owned partitions (or of `only`); keeps what fails.
  void CommitProgress(const std::vector<log::TopicPartition>* only);

  log::Log& log_;
  ProcessorOptions options_;
  int32_t partition_count_ = 0;
  std::unique_ptr<log::GroupConsumer> member_;
  std::unique_ptr<log::LogReader> reader_;  // the events topic, every owned partition
  std::map<Partition, PartitionState> partitions_;
  std::map<Partition, Offset> uncommitted_;  // decided up to here, not yet committed
  Status broken_;                            // the first error; sticky
  mutable std::mutex stats_mu_;
  ProcessorStats stats_;
};

}  // namespace cpts::aggregates
