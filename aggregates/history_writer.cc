#include "aggregates/history_writer.h"

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "aggregates/command_processor.h"
#include "aggregates/decide.h"
#include "events/codec.h"
#include "events/topics.h"

namespace cpts::aggregates {
namespace {

// What a single writer needs of a stream: the deciders' state and the chain's head. Unlike the
// processor's Stream, no record of ids: nothing is read back here.
struct Head {
  CptsState state;
  Sequence sequence{0};
  std::string hash = std::string(events::kGenesisHash);
};

// Creates the events topic when missing; refuses one that already holds records, whose streams
// this writer would fork (it starts each at sequence 1).
Status PrepareTopic(log::Log& log, int32_t partitions) {
  const std::string topic(topics::kEvents);
  Result<int32_t> count = log.PartitionCount(topic);
  if (!count.ok() && count.status().code() != StatusCode::kNotFound) return count.status();
  if (!count.ok()) {
    return log.EnsureTopic(
        {.name = topic, .partitions = partitions > 0 ? partitions : topics::kDefaultPartitions});
  }
  for (int32_t p = 0; p < *count; ++p) {
    Result<Offset> end = log.EndOffset({topic, Partition(p)});
    if (!end.ok()) return end.status();
    if (end->value() > 0) {
      return Status::FailedPrecondition(
          "the events topic already holds records (partition " + std::to_string(p) +
          "): a history is written into an empty one, from sequence 1");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<HistoryStats> WriteHistory(log::Log& log, Scenario& scenario,
                                  const WriteHistoryOptions& options) {
  if (options.batch == 0) return Status::InvalidArgument("batch must be positive");
  CPTS_RETURN_IF_ERROR(PrepareTopic(log, options.partitions).WithContext("writing a history"));
  const std::string topic(topics::kEvents);
  std::unordered_map<std::string, Head> heads;
  HistoryStats stats;
  std::vector<log::Record> batch;
  batch.reserve(options.batch);
  const auto flush = [&]() -> Status {
    if (batch.empty()) return Status::Ok();
    Result<std::vector<log::Position>> appended = log.Append(topic, batch);
    if (!appended.ok()) {
      return appended.status().WithContext("appending events " +
                                           std::to_string(stats.events - batch.size() + 1) +
                                           " to " + std::to_string(stats.events));
    }
    batch.clear();
    if (options.progress) options.progress(stats.events);
    return Status::Ok();
  };
  while (stats.events < options.events) {
    ScenarioCommand next = scenario.Next();
    const Command& command = next.command;
    Head& head = heads[command.cptsid];
    bool rejected = false;
    std::optional<events::Envelope> event =
        BuildOutcomeEnvelope(command, Decide(command, head.state), head.sequence, head.hash,
                             next.timestamp_ms, &rejected);
    if (!event) {
      ++stats.unchanged;
      continue;
    }
    // BuildOutcomeEnvelope validated an accepted event already; the rejection is checked here,
    // as the processor checks every outcome before it appends.
    if (rejected) {
      if (Status valid = events::ValidateEnvelope(*event); !valid.ok()) {
        return Status::Internal("cannot record the outcome of command " + command.command_id +
                                ": " + valid.message());
      }
      ++stats.rejections;
    }
    std::string bytes = events::Encode(*event);
    Evolve(head.state, *event);
    head.sequence = event->sequence;
    head.hash = events::Sha256Hex(bytes);  // the chain is over the stored bytes
    stats.bytes += bytes.size();
    ++stats.events;
    batch.push_back(
        {.key = command.cptsid, .value = std::move(bytes), .timestamp_ms = next.timestamp_ms});
    if (batch.size() >= options.batch) CPTS_RETURN_IF_ERROR(flush());
  }
  CPTS_RETURN_IF_ERROR(flush());
  return stats;
}

}  // namespace cpts::aggregates
