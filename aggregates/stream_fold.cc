#include "aggregates/stream_fold.h"

#include <algorithm>
#include <charconv>

#include "aggregates/decide.h"
#include "events/codec.h"

namespace cpts::aggregates {

const char* FoldOutcomeName(FoldOutcome outcome) {
  switch (outcome) {
    case FoldOutcome::kApplied:
      return "applied";
    case FoldOutcome::kConfirmed:
      return "confirmed";
    case FoldOutcome::kAlreadyApplied:
      return "already applied";
    case FoldOutcome::kConflict:
      return "conflict";
    case FoldOutcome::kDiverged:
      return "diverged";
    case FoldOutcome::kGap:
      return "gap";
    case FoldOutcome::kUnreadable:
      return "unreadable";
  }
  return "unknown";
}

std::optional<int64_t> CommandOffsetOf(const log::StoredRecord& record) {
  for (const log::Header& h : record.headers) {
    if (h.key != kCommandOffsetHeader) continue;
    int64_t offset = -1;
    const auto [end, ec] = std::from_chars(h.value.data(), h.value.data() + h.value.size(), offset);
    if (ec == std::errc() && end == h.value.data() + h.value.size() && offset >= 0) return offset;
  }
  return std::nullopt;
}

FoldOutcome StreamFold::Report(FoldIncident incident) {
  const FoldOutcome outcome = incident.outcome;
  incidents_.push_back(std::move(incident));
  return outcome;
}

FoldOutcome StreamFold::Apply(const log::StoredRecord& record) {
  FoldIncident incident{.outcome = FoldOutcome::kUnreadable,
                        .where = {record.topic, record.partition},
                        .offset = record.offset};
  Result<events::DecodedEvent> decoded = events::Decode(record.value);
  if (!decoded.ok()) {
    incident.detail = decoded.status().message();
    return Report(std::move(incident));
  }
  const events::Envelope& e = decoded->envelope;
  incident.cptsid = e.cptsid;
  incident.sequence = e.sequence;
  incident.event_id = e.id;
  Stream& s = streams_[e.cptsid];
  const uint64_t seq = e.sequence.value();
  if (s.diverged) {
    incident.outcome = FoldOutcome::kDiverged;
    incident.detail = "read after the stream diverged";
    return incident.outcome;  // judged again after the rebuild; not an incident of its own
  }
  // Identity is id and bytes: two writers can decide the same command at the same position
  // (same id) with different outcomes or times.
  const auto same_as_held = [&] {
    return s.event_ids[seq - 1] == e.id && s.event_hashes[seq - 1] == decoded->hash;
  };

  if (seq <= s.confirmed.value()) {
    if (same_as_held()) return FoldOutcome::kAlreadyApplied;
    incident.outcome = FoldOutcome::kConflict;
    incident.applied_id = s.event_ids[seq - 1];
    incident.detail = incident.applied_id == e.id ? "same id, other content, position taken"
                                                  : "position already taken";
    return Report(std::move(incident));
  }
  if (seq == s.confirmed.value() + 1) {
    if (seq <= s.head.value()) {  // a position this process holds tentatively
      if (same_as_held()) {
        s.confirmed = e.sequence;
        return FoldOutcome::kConfirmed;
      }
      s.diverged = true;
      incident.outcome = FoldOutcome::kDiverged;
      incident.applied_id = s.event_ids[seq - 1];
      incident.detail = "another event reached the log first at a position decided here";
      return Report(std::move(incident));
    }
    if (e.prevhash != s.head_hash) {
      incident.outcome = FoldOutcome::kConflict;
      incident.detail = "prevhash is not the hash of the stream's head (a branch of history)";
      return Report(std::move(incident));
    }
    Evolve(s.state, e);
    s.head = s.confirmed = e.sequence;
    s.head_hash = decoded->hash;
    s.event_ids.push_back(e.id);
    s.event_hashes.push_back(decoded->hash);
    s.decided.insert(e.causationid);
    if (auto offset = CommandOffsetOf(record)) {
      s.last_command_offset = std::max(s.last_command_offset, *offset);
    }
    return FoldOutcome::kApplied;
  }
  incident.outcome = FoldOutcome::kGap;
  incident.detail = "expected sequence " + std::to_string(s.confirmed.value() + 1);
  return Report(std::move(incident));
}

void StreamFold::ApplyTentative(const events::Envelope& event, const std::string& bytes,
                                int64_t command_offset) {
  Stream& s = streams_[event.cptsid];
  Evolve(s.state, event);
  s.head = event.sequence;
  s.head_hash = events::Sha256Hex(bytes);
  s.event_ids.push_back(event.id);
  s.event_hashes.push_back(s.head_hash);
  s.decided.insert(event.causationid);
  s.last_command_offset = std::max(s.last_command_offset, command_offset);
}

}  // namespace cpts::aggregates
