#include "aggregates/stream_fold.h"

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

  if (seq <= s.confirmed.value()) {
    const std::string& holder = s.event_ids[seq - 1];
    if (holder == e.id) return FoldOutcome::kAlreadyApplied;
    incident.outcome = FoldOutcome::kConflict;
    incident.applied_id = holder;
    incident.detail = "position already taken";
    return Report(std::move(incident));
  }
  if (seq == s.confirmed.value() + 1) {
    if (seq <= s.head.value()) {  // a position we hold tentatively
      if (s.event_ids[seq - 1] == e.id) {
        s.confirmed = e.sequence;
        return FoldOutcome::kConfirmed;
      }
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
    s.decided.insert(e.causationid);
    ++applied_;
    return FoldOutcome::kApplied;
  }
  incident.outcome = FoldOutcome::kGap;
  incident.detail = "expected sequence " + std::to_string(s.confirmed.value() + 1);
  return Report(std::move(incident));
}

void StreamFold::ApplyTentative(const events::Envelope& event, std::string hash) {
  Stream& s = streams_[event.cptsid];
  Evolve(s.state, event);
  s.head = event.sequence;
  s.head_hash = std::move(hash);
  s.event_ids.push_back(event.id);
  s.decided.insert(event.causationid);
}

}  // namespace cpts::aggregates
