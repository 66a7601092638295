#include "aggregates/command_processor.h"

#include <unistd.h>

#include <algorithm>
#include <set>

#include "aggregates/command.h"
#include "events/codec.h"
#include "events/json.h"
#include "events/json_input.h"
#include "events/topics.h"

namespace cpts::aggregates {
namespace {

const std::string kCommands(topics::kCommands);
const std::string kEvents(topics::kEvents);

// A command that could not be decoded still gets an outcome, in the stream its record was
// keyed to (the only stream this processor may write for it), under an id derived from where
// it sits, so re-delivery finds it decided.
Command UndecodableCommand(const log::StoredRecord& record) {
  Command c;
  c.command_id = "commands/" + std::to_string(record.partition.value()) + "@" +
                 std::to_string(record.offset.value());
  c.type = "unknown";
  c.cptsid = record.key;
  c.actor = "system:decider";
  return c;
}

std::string DefaultMemberName() {
  char host[256] = "localhost";
  (void)gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + std::to_string(getpid());
}

}  // namespace

Result<std::unique_ptr<CommandProcessor>> CommandProcessor::Start(log::Log& log,
                                                                  ProcessorOptions options) {
  Result<int32_t> commands = log.PartitionCount(kCommands);
  if (!commands.ok()) return commands.status();
  Result<int32_t> events = log.PartitionCount(kEvents);
  if (!events.ok()) return events.status();
  if (*commands != *events) {
    return Status::FailedPrecondition(
        "the commands topic has " + std::to_string(*commands) + " partitions and the events " +
        "topic " + std::to_string(*events) +
        ": they must match, so a CPTS's commands and events share a partition");
  }
  if (options.max_batch == 0) return Status::InvalidArgument("max_batch must be positive");
  if (options.name.empty()) options.name = DefaultMemberName();
  std::unique_ptr<CommandProcessor> p(new CommandProcessor(log, std::move(options)));
  p->partition_count_ = *commands;
  Result<std::unique_ptr<log::LogReader>> reader = log.OpenReader();
  if (!reader.ok()) return reader.status();
  p->reader_ = std::move(*reader);
  Result<std::unique_ptr<log::GroupConsumer>> member =
      log.JoinGroup({p->options_.group, {kCommands}}, p.get());
  if (!member.ok()) return member.status();
  p->member_ = std::move(*member);
  return p;
}

CommandProcessor::~CommandProcessor() { (void)Close(); }

Status CommandProcessor::Close() {
  if (member_ == nullptr) return Status::Ok();
  Status s = member_->Close();
  member_.reset();
  partitions_.clear();
  return s;
}

ProcessorStats CommandProcessor::stats() const {
  std::lock_guard lock(stats_mu_);
  return stats_;
}

std::vector<FoldIncident> CommandProcessor::incidents() const {
  std::vector<FoldIncident> all;
  for (const auto& [p, ps] : partitions_) {
    all.insert(all.end(), ps.fold.incidents().begin(), ps.fold.incidents().end());
  }
  return all;
}

Result<bool> CommandProcessor::CaughtUp() {
  if (member_ == nullptr || partitions_.empty()) return false;
  for (const auto& [partition, ps] : partitions_) {
    Result<std::optional<Offset>> committed = member_->Committed({kCommands, partition});
    if (!committed.ok()) return committed.status();
    Result<Offset> end = log_.EndOffset({kCommands, partition});
    if (!end.ok()) return end.status();
    if (committed->value_or(Offset(0)) < *end) return false;
  }
  return true;
}

void CommandProcessor::OnPartitionsAssigned(const std::vector<log::TopicPartition>& partitions) {
  for (const log::TopicPartition& tp : partitions) {
    // Fold the partition's history before deciding anything there.
    Status s = Rebuild(tp.partition);
    if (!s.ok() && broken_.ok()) broken_ = s;
  }
}

void CommandProcessor::OnPartitionsRevoked(const std::vector<log::TopicPartition>& partitions) {
  // Last chance to save progress on these partitions (still owned during this call).
  CommitProgress(&partitions);
  for (const log::TopicPartition& tp : partitions) {
    partitions_.erase(tp.partition);
    uncommitted_.erase(tp.partition);
    Status s = reader_->Unassign({kEvents, tp.partition});
    if (!s.ok() && broken_.ok()) broken_ = s;
  }
}

Status CommandProcessor::Rebuild(Partition partition) {
  // Conflicts already counted stay counted: the rebuilt fold reads them again.
  const Offset counted =
      partitions_.count(partition) ? partitions_[partition].counted_until : Offset(0);
  partitions_[partition] = PartitionState{.counted_until = counted};
  CPTS_RETURN_IF_ERROR(reader_->Assign({kEvents, partition}, Offset(0)));
  bool diverged = false;
  CPTS_RETURN_IF_ERROR(CatchUp({partition}, &diverged));
  std::lock_guard lock(stats_mu_);
  ++stats_.rebuilds;
  return Status::Ok();
}

Status CommandProcessor::CatchUp(const std::vector<Partition>& partitions, bool* diverged) {
  std::map<Partition, Offset> ends;
  for (Partition p : partitions) {
    Result<Offset> end = log_.EndOffset({kEvents, p});
    if (!end.ok()) return end.status();
    ends[p] = *end;
  }
  const auto behind = [&] {
    return std::any_of(ends.begin(), ends.end(), [&](const auto& e) {
      return partitions_.count(e.first) > 0 && partitions_[e.first].next_event < e.second;
    });
  };
  uint64_t conflicts = 0;
  std::set<Partition> diverged_partitions;  // read again after the rebuild: not counted yet
  while (behind()) {
    Result<std::vector<log::StoredRecord>> batch = reader_->Poll(std::chrono::seconds(10), 10000);
    if (!batch.ok()) return batch.status();
    if (batch->empty()) {
      return Status::TimedOut("the events topic stopped before the end of the owned partitions");
    }
    for (const log::StoredRecord& r : *batch) {
      auto it = partitions_.find(r.partition);
      if (it == partitions_.end() || r.offset < it->second.next_event) continue;
      PartitionState& ps = it->second;
      const FoldOutcome outcome = ps.fold.Apply(r);
      if (outcome == FoldOutcome::kDiverged) {
        *diverged = true;
        diverged_partitions.insert(r.partition);
      }
      ps.next_event = r.offset.Next();
      if (diverged_partitions.count(r.partition) > 0) continue;
      if (outcome == FoldOutcome::kConflict && r.offset >= ps.counted_until) ++conflicts;
      ps.counted_until = std::max(ps.counted_until, ps.next_event);
    }
  }
  if (conflicts > 0) {
    std::lock_guard lock(stats_mu_);
    stats_.conflicts += conflicts;
  }
  return Status::Ok();
}

Status CommandProcessor::RunOnce() {
  if (member_ == nullptr) return Status::FailedPrecondition("the processor is closed");
  if (broken_.ok()) broken_ = RunOnceUnchecked();
  if (!broken_.ok()) {
    return broken_.WithContext(
        "the command processor stopped; restart it, it resumes from the log");
  }
  return Status::Ok();
}

Status CommandProcessor::RunOnceUnchecked() {
  Result<std::vector<log::StoredRecord>> records =
      member_->Poll(options_.poll_timeout, options_.max_batch);
  CPTS_RETURN_IF_ERROR(broken_);  // from a rebalance callback during the poll
  if (!records.ok()) return records.status();
  {
    std::lock_guard lock(stats_mu_);
    stats_.commands += records->size();
  }
  std::map<Partition, std::vector<log::StoredRecord>> by_partition;
  for (log::StoredRecord& r : *records) by_partition[r.partition].push_back(std::move(r));
  for (const auto& [partition, commands] : by_partition) {
    if (partitions_.count(partition) == 0) continue;  // revoked meanwhile: the next owner has it
    CPTS_RETURN_IF_ERROR(DecideBatch(partition, ToPending(partition, commands)));
    uncommitted_[partition] = commands.back().offset.Next();
  }
  CommitProgress(/*only=*/nullptr);
  return Status::Ok();
}

Status CommandProcessor::Run(const std::atomic<bool>& stop) {
  while (!stop.load()) CPTS_RETURN_IF_ERROR(RunOnce());
  return Status::Ok();
}

void CommandProcessor::CommitProgress(const std::vector<log::TopicPartition>* only) {
  std::vector<std::pair<log::TopicPartition, Offset>> progress;
  for (const auto& [partition, next] : uncommitted_) {
    const log::TopicPartition tp{kCommands, partition};
    if (only == nullptr || std::find(only->begin(), only->end(), tp) != only->end()) {
      progress.push_back({tp, next});
    }
  }
  if (progress.empty()) return;
  // A commit only saves re-reading: a command read again is skipped as already decided. So a
  // commit refused during a rebalance is kept and tried again, never fatal.
  if (member_->Commit(progress).ok()) {
    for (const auto& [tp, next] : progress) uncommitted_.erase(tp.partition);
  } else {
    std::lock_guard lock(stats_mu_);
    ++stats_.commit_retries;
  }
}

std::vector<CommandProcessor::Pending> CommandProcessor::ToPending(
    Partition partition, const std::vector<log::StoredRecord>& records) {
  std::vector<Pending> pending;
  uint64_t unroutable = 0;
  for (const log::StoredRecord& r : records) {
    // Only a stream of this partition may be written: a record keyed elsewhere (a producer not
    // using the murmur2 partitioner) cannot be answered without breaking the single writer.
    if (!events::IsCptsId(r.key) || log::PartitionForKey(r.key, partition_count_) != partition) {
      ++unroutable;
      continue;
    }
    Pending p{.offset = r.offset.value(), .timestamp_ms = r.timestamp_ms};
    Result<Command> command = DecodeCommand(r.value);
    if (!command.ok()) {
      p.command = UndecodableCommand(r);
      p.forced = Rejection{"malformed_command", command.status().message()};
    } else if (command->cptsid != r.key) {
      p.forced = Rejection{"misrouted_command", "the command is for CPTS " + command->cptsid +
                                                    " but was keyed to " + r.key};
      p.command = std::move(*command);
      p.command.cptsid = r.key;
    } else {
      p.command = std::move(*command);
    }
    pending.push_back(std::move(p));
  }
  if (unroutable > 0) {
    std::lock_guard lock(stats_mu_);
    stats_.unroutable += unroutable;
  }
  return pending;
}

std::optional<events::Envelope> BuildOutcomeEnvelope(const Command& c, Decision decision,
                                                     Sequence head, const std::string& head_hash,
                                                     int64_t timestamp_ms, bool* rejected) {
  if (!decision.event && !decision.rejection) return std::nullopt;
  events::Envelope e;
  e.cptsid = c.cptsid;
  e.sequence = head.Next();
  e.prevhash = head_hash;
  e.causationid = c.command_id;
  e.correlationid = c.correlation_id.value_or(c.command_id);
  e.actor = c.actor;
  e.source = "/cpts/" + c.cptsid;
  // The command's time on the log, not this process's clock: deciding the same command on the
  // same state twice (a retry, a zombie) gives the same bytes, which readers skip as one event.
  e.time = events::FormatEventTime(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(timestamp_ms)));
  e.id = events::DeterministicEventId(e.cptsid, e.sequence, e.causationid);
  if (decision.event) {
    e.type = decision.event->type;
    e.data = std::move(decision.event->data);
    e.subject = decision.event->subject;
    // A decider bug must not corrupt history: an invalid outcome becomes a rejection.
    if (Status valid = events::ValidateEnvelope(e); !valid.ok()) {
      decision.rejection = Rejection{
          "invalid_outcome", "the decision could not be recorded (" + valid.message() + ")"};
    }
  }
  *rejected = decision.rejection.has_value();
  if (decision.rejection) {
    e.type = "fr.cpts.command.rejected.v1";
    e.subject = "command/" + c.command_id;
    e.data = {{"command_id", c.command_id},
              {"command_type", c.type},
              {"code", decision.rejection->code},
              {"reason", decision.rejection->reason.substr(0, 500)}};
  }
  return e;
}

std::optional<events::Envelope> CommandProcessor::BuildOutcome(const Pending& p,
                                                               const Stream& stream,
                                                               bool* rejected) {
  Decision decision = p.forced ? Decision{.rejection = p.forced} : Decide(p.command, stream.state);
  return BuildOutcomeEnvelope(p.command, std::move(decision), stream.head, stream.head_hash,
                              p.timestamp_ms, rejected);
}

Status CommandProcessor::DecideBatch(Partition partition, const std::vector<Pending>& pending) {
  bool diverged = false;
  CPTS_RETURN_IF_ERROR(CatchUp({partition}, &diverged));
  if (diverged) CPTS_RETURN_IF_ERROR(Rebuild(partition));

  // Decide, append, read back. When another writer pre-empted a position, rebuild from the log
  // and go again: every pending command not yet decided on the log is decided on the true
  // state (those decided, by anyone, are skipped), so each round makes progress.
  for (int round = 0;; ++round) {
    if (round == 10) {
      return Status::Unavailable("another writer keeps pre-empting partition " +
                                 std::to_string(partition.value()) +
                                 " of the events topic: is a second decider group writing?");
    }
    StreamFold& fold = partitions_.at(partition).fold;
    ProcessorStats counted;
    std::vector<log::Record> out;
    struct Draft {
      std::string cptsid;
      Sequence sequence;
      bool rejected;
    };
    std::vector<Draft> drafts;
    for (const Pending& p : pending) {
      Stream& stream = fold.StreamOf(p.command.cptsid);
      if (stream.decided.count(p.command.command_id) > 0 ||
          p.offset <= stream.last_command_offset) {
        ++counted.duplicates;
        continue;
      }
      bool rejected = false;
      std::optional<events::Envelope> e = BuildOutcome(p, stream, &rejected);
      if (!e) {
        ++counted.unchanged;
        continue;
      }
      if (Status valid = events::ValidateEnvelope(*e); !valid.ok()) {
        return Status::Internal("cannot record the outcome of command " + p.command.command_id +
                                ": " + valid.message());
      }
      std::string bytes = events::Encode(*e);
      fold.ApplyTentative(*e, bytes, p.offset);
      drafts.push_back({e->cptsid, e->sequence, rejected});
      out.push_back({.key = e->cptsid,
                     .value = std::move(bytes),
                     .headers = {{kCommandOffsetHeader, std::to_string(p.offset)},
                                 {kDeciderHeader, options_.name}}});
    }
    if (round > 0) counted.redecided = drafts.size();
    if (!out.empty()) {
      Result<std::vector<log::Position>> positions = log_.Append(kEvents, out);
      if (!positions.ok()) return positions.status().WithContext("appending outcomes");
      for (const log::Position& pos : *positions) {
        if (pos.partition != partition) {
          return Status::Internal("an outcome landed on events partition " +
                                  std::to_string(pos.partition.value()) + " instead of " +
                                  std::to_string(partition.value()));
        }
      }
      CPTS_RETURN_IF_ERROR(CatchUp({partition}, &diverged));
    }
    // Every stream touched must now be confirmed up to its head: anything less (a gap, another
    // branch) means the log does not hold what this process decided.
    StreamFold& after = partitions_.at(partition).fold;
    for (const Draft& d : drafts) {
      const Stream& s = after.StreamOf(d.cptsid);
      if (s.confirmed < s.head) diverged = true;
      if (s.confirmed >= d.sequence) ++(d.rejected ? counted.rejections : counted.events);
    }
    {
      std::lock_guard lock(stats_mu_);
      stats_.duplicates += counted.duplicates;
      stats_.unchanged += counted.unchanged;
      stats_.redecided += counted.redecided;
      stats_.events += counted.events;
      stats_.rejections += counted.rejections;
    }
    if (!diverged) return Status::Ok();
    CPTS_RETURN_IF_ERROR(Rebuild(partition));
    diverged = false;
  }
}

}  // namespace cpts::aggregates
