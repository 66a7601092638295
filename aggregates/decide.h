#pragma once
// The deciders: the business rules of a CPTS as pure functions (STYLE.md, "Shape of the code").
//   Decide(command, state) -> one new event, or a rejection, or nothing (the command changes
//                             nothing: joining twice, a discharge notice already received)
//   Evolve(state, event)   -> the state with the event applied; never fails, no I/O: it runs
//                             during every replay, over history that was valid when written.
// One command yields at most one event, so a command's outcome is one record on the log,
// applied whole or not at all (aggregates/command_processor.h relies on it).
// Thread-safety: pure functions; a CptsState is a plain value.

#include <optional>
#include <string>

#include "aggregates/command.h"
#include "aggregates/state.h"
#include "events/envelope.h"
#include "events/json.h"

namespace cpts::aggregates {

struct Rejection {
  std::string code;    // short and stable, for programs: "gp_at_capacity"
  std::string reason;  // a sentence a coordinator understands
};

struct NewEvent {
  std::string type;  // a current catalogue type, "fr.cpts.access.referral_accepted.v1"
  ::cpts::Json data;
  std::optional<std::string> subject;  // the entity within the stream: "referral/REF-1"
};

struct Decision {
  std::optional<NewEvent> event;
  std::optional<Rejection> rejection;
  // Neither: accepted, and nothing changes.
};

// Precondition: `command` passed DecodeCommand.
Decision Decide(const Command& command, const CptsState& state);

// The actor check Decide runs first, alone: nullopt when `command.actor` may send `command.type`
// in `command.cptsid`, else the rejection Decide would give ("forbidden", or "unknown_command").
// Edges (the HTTP API) call it with an empty state to refuse early what the command alone
// decides; a target only the state resolves (the GP of a referral) then passes, and Decide,
// which runs the same check on the real state, stays the final word.
std::optional<Rejection> CheckSender(const Command& command, const CptsState& state);

// Applies an event of this CPTS's stream (any current catalogue type, upcast when older).
void Evolve(CptsState& state, const events::Envelope& event);

}  // namespace cpts::aggregates
