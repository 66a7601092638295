#pragma once
// StreamFold: the state of CPTS streams, folded from the events topic in log order, with the
// rule that makes the log the only arbiter between writers (ARCHITECTURE.md, decision 3):
//
//   An event is applied when it is the next of its stream: sequence = head + 1 and
//   prevhash = hash of the head. The first such event in log order wins. A later event claiming
//   a position already taken (a zombie writer after a rebalance) is not applied: it is counted
//   and reported with both events' ids. The same event read twice (a producer retry, a replay)
//   is recognised by its id and skipped.
//
// The command processor also applies its own decisions tentatively, before they reach the log,
// so that the next command of a batch sees them; reading them back confirms them. If the log
// holds another event at a tentative position first, the fold has diverged from the log: the
// caller rebuilds it from the log and decides again.
// Thread-safety: none; one thread owns a fold.

#include <cstdint>
#include <map>
#include <string>
#include <unordered_set>
#include <vector>

#include "aggregates/state.h"
#include "events/envelope.h"
#include "events/log.h"

namespace cpts::aggregates {

struct Stream {
  CptsState state;
  Sequence head{0};       // last event applied, confirmed or tentative
  Sequence confirmed{0};  // last event read back from the log; <= head
  std::string head_hash = std::string(events::kGenesisHash);
  std::vector<std::string> event_ids;       // of applied events, by sequence - 1
  std::unordered_set<std::string> decided;  // command ids with an outcome in the stream
};

// What reading one record did.
enum class FoldOutcome {
  kApplied,         // a new event, applied
  kConfirmed,       // one of our tentative events, now on the log
  kAlreadyApplied,  // an event read before (same id at the same position): skipped
  kConflict,        // another event at a position already taken: not applied (zombie)
  kDiverged,        // another event at one of our tentative positions came first: rebuild
  kGap,             // a sequence beyond the next: not applied (history is missing something)
  kUnreadable,      // not a valid event: not applied
};

// A record that was not applied, for the report (never holds patient data).
struct FoldIncident {
  FoldOutcome outcome;
  log::TopicPartition where;
  Offset offset;
  std::string cptsid;
  Sequence sequence{0};
  std::string event_id;    // of the record not applied (empty when unreadable)
  std::string applied_id;  // of the event holding that position (empty when none)
  std::string detail;
};

class StreamFold {
 public:
  // Reads one record of the events topic. Incidents (conflicts, gaps, unreadable records) are
  // also kept in incidents().
  FoldOutcome Apply(const log::StoredRecord& record);

  // Applies an event this process decided and is about to append; `hash` is the SHA-256 of the
  // bytes it will append (events::Sha256Hex(events::Encode(event))).
  void ApplyTentative(const events::Envelope& event, std::string hash);

  // The stream of a CPTS, created empty when first asked for.
  Stream& StreamOf(const std::string& cptsid) { return streams_[cptsid]; }
  const std::map<std::string, Stream>& streams() const { return streams_; }
  const std::vector<FoldIncident>& incidents() const { return incidents_; }
  uint64_t applied() const { return applied_; }

 private:
  FoldOutcome Report(FoldIncident incident);

  std::map<std::string, Stream> streams_;
  std::vector<FoldIncident> incidents_;
  uint64_t applied_ = 0;
};

const char* FoldOutcomeName(FoldOutcome outcome);

}  // namespace cpts::aggregates
