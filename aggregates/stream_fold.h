#pragma once
// StreamFold: the state of CPTS streams, folded from the events topic in log order, with the
// rule that makes the log the only arbiter between writers (ARCHITECTURE.md, decision 3):
//
//   An event is applied when it is the next of its stream: sequence = head + 1 and
//   prevhash = hash of the head. The first such event in log order wins. A later event claiming
//   a position already taken (a zombie writer after a rebalance), or chained to another history,
//   is not applied: it is counted and reported with both events' ids. The very same event read
//   twice (same id and same stored bytes: a producer retry, a replay) is skipped.
//
// The command processor also applies its own decisions tentatively, before they reach the log,
// so that the next command of a batch sees them; reading them back confirms them, byte for
// byte. If the log holds anything else at a tentative position first, the fold has diverged
// from the log: the caller rebuilds it from the log and decides again.
//
// Each event record may carry the commands-topic offset of the command that caused it (record
// header kCommandOffsetHeader). A stream remembers the highest one applied: a command at or
// below it was decided already, even when its decision recorded nothing.
// Thread-safety: none; one thread owns a fold.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "aggregates/state.h"
#include "events/envelope.h"
#include "events/log.h"

namespace cpts::aggregates {

inline constexpr char kCommandOffsetHeader[] = "cpts-command-offset";
inline constexpr char kDeciderHeader[] = "cpts-decider";

struct Stream {
  CptsState state;
  Sequence head{0};       // last event applied, confirmed or tentative
  Sequence confirmed{0};  // last event read back from the log; <= head
  std::string head_hash = std::string(events::kGenesisHash);
  std::vector<std::string> event_ids;       // of applied events, by sequence - 1
  std::vector<std::string> event_hashes;    // SHA-256 of their stored bytes, by sequence - 1
  std::unordered_set<std::string> decided;  // command ids with an outcome in the stream
  int64_t last_command_offset = -1;         // highest causing command offset applied
  bool diverged = false;  // the log contradicted a tentative event: only a rebuild helps
};

// What reading one record did.
enum class FoldOutcome {
  kApplied,         // a new event, applied
  kConfirmed,       // one of our tentative events, now on the log
  kAlreadyApplied,  // the same event read before (same id, same bytes): skipped
  kConflict,        // another event at a position already taken, or on another branch
  kDiverged,        // something else came first at one of our tentative positions: rebuild
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
  // Reads one record of the events topic. Incidents (all but applied, confirmed and already
  // applied) are also kept in incidents().
  FoldOutcome Apply(const log::StoredRecord& record);

  // Applies an event this process decided and is about to append as `bytes` (its Encode), for
  // the command at `command_offset` of the commands topic.
  void ApplyTentative(const events::Envelope& event, const std::string& bytes,
                      int64_t command_offset);

  // The stream of a CPTS, created empty when first asked for.
  Stream& StreamOf(const std::string& cptsid) { return streams_[cptsid]; }
  const std::map<std::string, Stream>& streams() const { return streams_; }
  const std::vector<FoldIncident>& incidents() const { return incidents_; }

 private:
  FoldOutcome Report(FoldIncident incident);

  std::map<std::string, Stream> streams_;
  std::vector<FoldIncident> incidents_;
};

const char* FoldOutcomeName(FoldOutcome outcome);

// The causing command's offset carried by an event record, if any.
std::optional<int64_t> CommandOffsetOf(const log::StoredRecord& record);

}  // namespace cpts::aggregates
