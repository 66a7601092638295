#include "aggregates/command_processor.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "aggregates/command.h"
#include "aggregates/decide.h"
#include "events/codec.h"
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
  if (!options.clock) options.clock = [] { return std::chrono::system_clock::now(); };
  std::unique_ptr<CommandProcessor> p(new CommandProcessor(log, std::move(options)));
  p->partition_count_ = *commands;
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

ProcessorStats CommandProcessor::stats() const {
  std::lock_guard lock(stats_mu_);
  return stats_;
}

std::vector<FoldIncident> CommandProcessor::incidents() const {
  std::vector<FoldIncident> all;
  for (const auto& [p, ps] : partitions_) {
    all.insert(all.end(), ps.past_incidents.begin(), ps.past_incidents.end());
    all.insert(all.end(), ps.fold.incidents().begin(), ps.fold.incidents().end());
  }
  return all;
}

void CommandProcessor::OnPartitionsAssigned(const std::vector<log::TopicPartition>& partitions) {
  for (const log::TopicPartition& tp : partitions) {
    // Fold the partition's history before deciding anything there.
    Status s = Rebuild(tp.partition);
    if (!s.ok() && listener_error_.ok()) listener_error_ = s;
  }
}

void CommandProcessor::OnPartitionsRevoked(const std::vector<log::TopicPartition>& partitions) {
  // Last chance to save progress on these partitions (still owned during this call).
  CommitProgress(&partitions);
  for (const log::TopicPartition& tp : partitions) {
    partitions_.erase(tp.partition);
    uncommitted_.erase(tp.partition);
  }
}

Status CommandProcessor::Rebuild(Partition partition) {
  std::vector<FoldIncident> past;
  if (auto it = partitions_.find(partition); it != partitions_.end()) {
    past = std::move(it->second.past_incidents);
    const auto& recent = it->second.fold.incidents();
    past.insert(past.end(), recent.begin(), recent.end());
  }
  PartitionState& ps = partitions_[partition];
  ps = PartitionState();
  ps.past_incidents = std::move(past);
  Result<std::unique_ptr<log::LogReader>> reader = log_.OpenReader();
  if (!reader.ok()) return reader.status();
  ps.reader = std::move(*reader);
  CPTS_RETURN_IF_ERROR(ps.reader->Assign({kEvents, partition}, Offset(0)));
  bool diverged = false;
  CPTS_RETURN_IF_ERROR(CatchUp(partition, ps, &diverged));
  {
    std::lock_guard lock(stats_mu_);
    ++stats_.rebuilds;
  }
  return Status::Ok();
}

Status CommandProcessor::CatchUp(Partition partition, PartitionState& ps, bool* diverged) {
  Result<Offset> end = log_.EndOffset({kEvents, partition});
  if (!end.ok()) return end.status();
  while (ps.next_event < *end) {
    Result<std::vector<log::StoredRecord>> batch = ps.reader->Poll(std::chrono::seconds(10), 10000);
    if (!batch.ok()) return batch.status();
    if (batch->empty()) {
      return Status::TimedOut("events partition " + std::to_string(partition.value()) +
                              " stopped at offset " + std::to_string(ps.next_event.value()) +
                              " before its end " + std::to_string(end->value()));
    }
    for (const log::StoredRecord& r : *batch) {
      const FoldOutcome outcome = ps.fold.Apply(r);
      if (outcome == FoldOutcome::kDiverged) *diverged = true;
      if (outcome == FoldOutcome::kConflict) {
        std::lock_guard lock(stats_mu_);
        ++stats_.conflicts;
      }
      ps.next_event = r.offset.Next();
    }
  }
  return Status::Ok();
}

Status CommandProcessor::RunOnce() {
  if (member_ == nullptr) return Status::FailedPrecondition("the processor is closed");
  Result<std::vector<log::StoredRecord>> records =
      member_->Poll(options_.poll_timeout, options_.max_batch);
  if (!listener_error_.ok()) return std::exchange(listener_error_, Status::Ok());
  if (!records.ok()) return records.status();
  {
    std::lock_guard lock(stats_mu_);
    stats_.commands += records->size();
  }
  // Batches per partition, in log order within each.
  std::map<Partition, std::vector<log::StoredRecord>> by_partition;
  for (log::StoredRecord& r : *records) by_partition[r.partition].push_back(std::move(r));
  for (const auto& [partition, commands] : by_partition) {
    if (partitions_.count(partition) == 0) continue;  // revoked meanwhile: the next owner has it
    CPTS_RETURN_IF_ERROR(DecideBatch(partition, commands));
    uncommitted_[partition] = commands.back().offset.Next();
  }
  CommitProgress(/*only=*/nullptr);
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

Status CommandProcessor::Run(const std::atomic<bool>& stop) {
  while (!stop.load()) CPTS_RETURN_IF_ERROR(RunOnce());
  return Status::Ok();
}

Status CommandProcessor::DecideBatch(Partition partition,
                                     const std::vector<log::StoredRecord>& records) {
  // Decode once; a command that does not decode is rejected like any other.
  struct Pending {
    Command command;
    std::optional<Rejection> malformed;
  };
  std::vector<Pending> pending;
  pending.reserve(records.size());
  uint64_t unroutable = 0;
  for (const log::StoredRecord& r : records) {
    // Only a stream of this partition may be written: a record keyed elsewhere (a producer not
    // using the murmur2 partitioner) cannot be answered without breaking the single writer.
    if (!events::IsCptsId(r.key) || log::PartitionForKey(r.key, partition_count_) != partition) {
      ++unroutable;
      continue;
    }
    Result<Command> command = DecodeCommand(r.value);
    if (!command.ok()) {
      pending.push_back(
          {UndecodableCommand(r), Rejection{"malformed_command", command.status().message()}});
    } else if (command->cptsid != r.key) {
      Command misrouted = *command;
      misrouted.cptsid = r.key;
      pending.push_back(
          {std::move(misrouted),
           Rejection{"misrouted_command",
                     "the command is for CPTS " + command->cptsid + " but was keyed to " + r.key}});
    } else {
      pending.push_back({std::move(*command), std::nullopt});
    }
  }

  if (unroutable > 0) {
    std::lock_guard lock(stats_mu_);
    stats_.unroutable += unroutable;
  }
  PartitionState* ps = &partitions_.at(partition);
  bool diverged = false;
  CPTS_RETURN_IF_ERROR(CatchUp(partition, *ps, &diverged));
  if (diverged) {
    CPTS_RETURN_IF_ERROR(Rebuild(partition));
    ps = &partitions_.at(partition);
  }

  // Decide, append, read back; again for whatever another writer pre-empted. Each round either
  // lands every outcome or finds commands already decided by the other writer, so it ends.
  for (int round = 0; !pending.empty(); ++round) {
    if (round == 10) {
      return Status::Unavailable("another writer keeps pre-empting partition " +
                                 std::to_string(partition.value()) +
                                 " of the events topic: is a second decider group writing?");
    }
    std::vector<log::Record> out;
    std::vector<std::pair<size_t, std::string>> drafts;  // pending index, event id
    ProcessorStats counted;
    const std::string now = events::FormatEventTime(options_.clock());
    for (size_t i = 0; i < pending.size(); ++i) {
      const Command& c = pending[i].command;
      Stream& stream = ps->fold.StreamOf(c.cptsid);
      if (stream.decided.count(c.command_id) > 0) {
        ++counted.duplicates;
        continue;
      }
      Decision decision = pending[i].malformed ? Decision{.rejection = pending[i].malformed}
                                               : Decide(c, stream.state);
      if (!decision.event && !decision.rejection) {
        ++counted.unchanged;
        // Nothing reaches the log; remembered only while this process owns the partition, so a
        // retry gets the same answer.
        stream.decided.insert(c.command_id);
        continue;
      }
      events::Envelope e;
      e.cptsid = c.cptsid;
      e.sequence = stream.head.Next();
      e.prevhash = stream.head_hash;
      e.causationid = c.command_id;
      e.correlationid = c.correlation_id.value_or(c.command_id);
      e.actor = c.actor;
      e.source = "/cpts/" + c.cptsid;
      e.time = now;
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
      if (decision.rejection) {
        e.type = "fr.cpts.command.rejected.v1";
        e.subject = "command/" + c.command_id;
        e.data = {{"command_id", c.command_id},
                  {"command_type", c.type},
                  {"code", decision.rejection->code},
                  {"reason", decision.rejection->reason.substr(0, 500)}};
        ++counted.rejections;
      } else {
        ++counted.events;
      }
      if (Status valid = events::ValidateEnvelope(e); !valid.ok()) {
        return Status::Internal("cannot record the outcome of command " + c.command_id + ": " +
                                valid.message());
      }
      std::string bytes = events::Encode(e);
      ps->fold.ApplyTentative(e, events::Sha256Hex(bytes));
      out.push_back({.key = c.cptsid, .value = std::move(bytes)});
      drafts.push_back({i, e.id});
    }
    if (!out.empty()) {
      Result<std::vector<log::Position>> positions = log_.Append(kEvents, out);
      if (!positions.ok()) {
        // What landed, if anything, is found by the next owner's fold: restart cleanly.
        return positions.status().WithContext("appending outcomes");
      }
      for (const log::Position& pos : *positions) {
        if (pos.partition != partition) {
          return Status::Internal("an outcome landed on events partition " +
                                  std::to_string(pos.partition.value()) + " instead of " +
                                  std::to_string(partition.value()));
        }
      }
    }
    diverged = false;
    CPTS_RETURN_IF_ERROR(CatchUp(partition, *ps, &diverged));
    std::vector<Pending> again;
    if (diverged) {
      // Another writer's events came first: rebuild from the log, then decide again whatever
      // did not land. Commands the other writer decided are now in the decided set.
      CPTS_RETURN_IF_ERROR(Rebuild(partition));
      ps = &partitions_.at(partition);
      for (const auto& [index, id] : drafts) {
        const Stream& stream = ps->fold.StreamOf(pending[index].command.cptsid);
        if (stream.decided.count(pending[index].command.command_id) == 0) {
          again.push_back(pending[index]);
        }
      }
      counted.redecided = again.size();
    }
    {
      std::lock_guard lock(stats_mu_);
      stats_.duplicates += counted.duplicates;
      stats_.unchanged += counted.unchanged;
      stats_.redecided += counted.redecided;
      if (!diverged) {
        stats_.events += counted.events;
        stats_.rejections += counted.rejections;
      }
    }
    pending = std::move(again);
  }
  return Status::Ok();
}

}  // namespace cpts::aggregates
