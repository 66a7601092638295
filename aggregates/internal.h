#pragma once
// Internals shared by the aggregates' sources; not part of the module's API.
//   - checks shared by commands and actors (the cptsid and command id rules);
//   - the link from a command type to the event type it yields (declared once, in command.cc);
//   - the deciders' handler tables: one file per area (decide_<area>.cc) declares, for each
//     command type, who besides admins, systems and coordinators may send it and its rules, and
//     for each event type how it changes the state. decide.cc dispatches.
// Thread-safety: pure functions over immutable tables.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aggregates/actor.h"
#include "aggregates/command.h"
#include "aggregates/decide.h"
#include "aggregates/state.h"
#include "events/json.h"

namespace cpts::aggregates::internal {

using json = ::cpts::Json;

// A command or correlation id: 1-100 letters, digits, '.', '_', ':', '-'.
bool IsCommandId(std::string_view s);

// The event type a command type yields; empty for an unknown command type.
std::string_view EventTypeFor(std::string_view command_type);

// Reads of data that never throw, whatever the data holds. Decide reads commands that passed
// DecodeCommand, and Evolve events that passed the codec, so a field is normally there with its
// type; Evolve must still never fail on history, hence defaults rather than exceptions.
std::string Str(const json& data, std::string_view field);  // "" when absent or not a string
int64_t Int(const json& data, std::string_view field);      // 0 when absent or not an integer
bool Has(const json& data, std::string_view field);

// What a rule sees.
struct Context {
  const Command& command;
  const CptsState& state;
  const json& data;  // command.data
};

// The three outcomes. Accept takes the event type from the command type (EventTypeFor).
Decision Accept(const Context& ctx, json event_data, std::optional<std::string> subject);
Decision Reject(std::string code, std::string reason);
Decision Nothing();

// The envelope subject "<kind>/<id>"; none when it would exceed the envelope's 200 bytes (ids
// are at most 100 characters, but a character may take 4 bytes).
std::optional<std::string> Subject(std::string_view kind, std::string_view id);

// A current member, or null.
const Member* FindMember(const CptsState& state, std::string_view member_id);
bool IsGp(const Member& member);
// The new patients a GP may still take: declared capacity minus those taken since.
int64_t CapacityLeft(const Member& gp);
// The GP named `gp`, or a rejection: not a current GP member ("not_a_gp_member"), or, when
// `needs_capacity`, no capacity left ("gp_at_capacity").
std::optional<Rejection> CheckGp(const CptsState& state, std::string_view gp, bool needs_capacity);
// "Dr Alice Martin (rpps:10003456786)", or the id alone for someone who is not a member.
std::string MemberName(const CptsState& state, std::string_view member_id);

struct CommandHandler {
  std::string_view type;  // a command type of CommandTypes()
  // Who, besides admins, systems and the CPTS's coordinators, may send it: a hospital (its
  // FINESS) or a professional (their member id) that `owner` names. None: nobody else.
  std::optional<Role> delegate;
  std::string_view delegate_who;  // for the refusal: "the GP the referral is addressed to"
  // The FINESS or member id the command's target belongs to; nullopt when the target is unknown,
  // which the rule then rejects on its own terms ("unknown_referral").
  std::optional<std::string> (*owner)(const Context&) = nullptr;
  Decision (*decide)(const Context&) = nullptr;
};

struct EventHandler {
  std::string_view type;  // a current catalogue type
  void (*evolve)(CptsState& state, const json& data) = nullptr;
};

// One pair per area, each in its own file.
std::vector<CommandHandler> CptsCommands();
std::vector<EventHandler> CptsEvents();
std::vector<CommandHandler> MembershipCommands();
std::vector<EventHandler> MembershipEvents();
std::vector<CommandHandler> AccessCommands();
std::vector<EventHandler> AccessEvents();
std::vector<CommandHandler> VilleHopitalCommands();
std::vector<EventHandler> VilleHopitalEvents();
std::vector<CommandHandler> SnpCommands();
std::vector<EventHandler> SnpEvents();
std::vector<CommandHandler> PreventionCommands();
std::vector<EventHandler> PreventionEvents();
std::vector<CommandHandler> PatientCommands();
std::vector<EventHandler> PatientEvents();

}  // namespace cpts::aggregates::internal
