#pragma once
// Commands: what a person or a system asks a CPTS to do. A command is a request, not a fact: the
// decider turns it into at most one event, or a rejection (aggregates/decide.h).
//
// On the log a command is canonical JSON on the commands topic, keyed by its CPTS id:
//   {"command_id": "...", "type": "membership.join", "cptsid": "cpts-haut-doubs",
//    "actor": "coordinator:cpts-haut-doubs:alice", "issued_at": "2026-11-22T16:05:00Z",
//    "correlation_id": "..." (optional), "data": {...}}
// Command types are declared like event types (events::EventTypeSpec, whose fields and rules
// they reuse); docs/commands.md lists them.
// Thread-safety: pure functions over immutable declarations.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/catalogue.h"
#include "events/json.h"
#include "events/status.h"

namespace cpts::aggregates {

struct Command {
  std::string command_id;  // chosen by the sender, unique: a retry reuses it
  std::string type;        // "<area>.<verb>", e.g. "access.issue_referral"
  std::string cptsid;      // the stream the command is for
  std::string actor;       // who asks: see aggregates/actor.h
  std::string issued_at;   // RFC 3339
  std::optional<std::string> correlation_id;  // the wider flow; the command id when absent
  ::cpts::Json data = ::cpts::Json::object();
};

// Every command type, and the one for a name (null when unknown).
const std::vector<events::EventTypeSpec>& CommandTypes();
const events::EventTypeSpec* FindCommandType(std::string_view type);

std::string EncodeCommand(const Command& command);
// Parses and checks a command: attributes, actor syntax, known type, data against its
// declaration. Messages name the attribute or the field ("data.gp: ...") and never a NIR.
Result<Command> DecodeCommand(std::string_view bytes);

}  // namespace cpts::aggregates
