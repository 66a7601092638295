// The dispatch common to every command and event; the rules themselves live in one file per area
// (decide_<area>.cc), declared through aggregates/internal.h.
#include "aggregates/decide.h"

#include <unordered_map>
#include <utility>

#include "aggregates/actor.h"
#include "aggregates/internal.h"

namespace cpts::aggregates {
namespace internal {

std::string Str(const json& data, std::string_view field) {
  const auto it = data.find(field);
  return it != data.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t Int(const json& data, std::string_view field) {
  const auto it = data.find(field);
  return it != data.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

bool Has(const json& data, std::string_view field) { return data.find(field) != data.end(); }

Decision Accept(const Context& ctx, json event_data, std::optional<std::string> subject) {
  return {.event = NewEvent{.type = std::string(EventTypeFor(ctx.command.type)),
                            .data = std::move(event_data),
                            .subject = std::move(subject)}};
}

Decision Reject(std::string code, std::string reason) {
  return {.rejection = Rejection{.code = std::move(code), .reason = std::move(reason)}};
}

Decision Nothing() { return {}; }

std::optional<std::string> Subject(std::string_view kind, std::string_view id) {
  constexpr size_t kMaxSubjectBytes = 200;  // the envelope's limit on text attributes
  if (kind.size() + 1 + id.size() > kMaxSubjectBytes) return std::nullopt;
  return std::string(kind) + "/" + std::string(id);
}

const Member* FindMember(const CptsState& state, std::string_view member_id) {
  const auto it = state.members.find(std::string(member_id));
  return it == state.members.end() ? nullptr : &it->second;
}

bool IsGp(const Member& member) { return member.profession == "general_practitioner"; }

int64_t CapacityLeft(const Member& gp) {
  return gp.declared_capacity.value_or(0) - gp.taken_since_declaration;
}

std::optional<Rejection> CheckGp(const CptsState& state, std::string_view gp, bool needs_capacity) {
  const Member* member = FindMember(state, gp);
  if (member == nullptr || !IsGp(*member)) {
    return Rejection{"not_a_gp_member",
                     std::string(gp) + " is not a general practitioner member of the CPTS."};
  }
  if (needs_capacity && CapacityLeft(*member) <= 0) {
    const std::string name = MemberName(state, gp);
    if (!member->declared_capacity) {
      return Rejection{"gp_at_capacity", name + " has not declared a capacity for new patients."};
    }
    return Rejection{"gp_at_capacity", name + " has no capacity left for new patients (declared " +
                                           std::to_string(*member->declared_capacity) + ", taken " +
                                           std::to_string(member->taken_since_declaration) +
                                           " since)."};
  }
  return std::nullopt;
}

std::string MemberName(const CptsState& state, std::string_view member_id) {
  const Member* member = FindMember(state, member_id);
  if (member == nullptr) return std::string(member_id);
  return member->display_name + " (" + std::string(member_id) + ")";
}

}  // namespace internal

namespace {

using internal::CommandHandler;
using internal::Context;
using internal::EventHandler;

template <typename Handler>
std::unordered_map<std::string_view, Handler> Index(
    std::initializer_list<std::vector<Handler>> areas) {
  std::unordered_map<std::string_view, Handler> index;
  for (const auto& area : areas) {
    for (const auto& handler : area) index.emplace(handler.type, handler);
  }
  return index;
}

const CommandHandler* FindCommandHandler(std::string_view type) {
  // Never destroyed, like the catalogue: static objects' destructors may still decide.
  static const auto* const kHandlers = new std::unordered_map<std::string_view, CommandHandler>(
      Index<CommandHandler>({internal::CptsCommands(), internal::MembershipCommands(),
                             internal::AccessCommands(), internal::VilleHopitalCommands(),
                             internal::SnpCommands(), internal::PreventionCommands(),
                             internal::PatientCommands()}));
  const auto it = kHandlers->find(type);
  return it == kHandlers->end() ? nullptr : &it->second;
}

const EventHandler* FindEventHandler(std::string_view type) {
  static const auto* const kHandlers =
      new std::unordered_map<std::string_view, EventHandler>(Index<EventHandler>(
          {internal::CptsEvents(), internal::MembershipEvents(), internal::AccessEvents(),
           internal::VilleHopitalEvents(), internal::SnpEvents(), internal::PreventionEvents(),
           internal::PatientEvents()}));
  const auto it = kHandlers->find(type);
  return it == kHandlers->end() ? nullptr : &it->second;
}

// Admins and systems may do anything; a coordinator anything in its own CPTS; a hospital or a
// professional only what the handler delegates to them, on what is theirs.
std::optional<Rejection> Authorize(const CommandHandler& handler, const Actor& actor,
                                   const Context& ctx) {
  bool allowed = false;
  switch (actor.role) {
    case Role::kAdmin:
    case Role::kSystem:
      allowed = true;
      break;
    case Role::kCoordinator:
      allowed = actor.cpts == ctx.command.cptsid;
      break;
    case Role::kHospital:
    case Role::kProfessional:
      if (handler.delegate == actor.role && handler.owner != nullptr) {
        const std::optional<std::string> owner = handler.owner(ctx);
        const std::string& self = actor.role == Role::kHospital ? actor.finess : actor.member_id;
        // An unknown target is the rule's to refuse, with a reason that says so.
        allowed = !owner || *owner == self;
      }
      break;
  }
  if (allowed) return std::nullopt;
  std::string who = "an admin, a system";
  who += handler.delegate ? ", a coordinator of " + ctx.command.cptsid + " or " +
                                std::string(handler.delegate_who)
                          : " or a coordinator of " + ctx.command.cptsid;
  return Rejection{"forbidden", "Only " + who + " may send " + ctx.command.type + "."};
}

}  // namespace

Decision Decide(const Command& command, const CptsState& state) {
  const CommandHandler* handler = FindCommandHandler(command.type);
  if (handler == nullptr) {
    return internal::Reject("unknown_command",
                            "The command type is not known (docs/commands.md lists them).");
  }
  const Result<Actor> actor = ParseActor(command.actor);
  if (!actor.ok()) {
    return internal::Reject("forbidden", "The actor is not valid: " + actor.status().message());
  }
  const Context ctx{.command = command, .state = state, .data = command.data};
  if (std::optional<Rejection> refused = Authorize(*handler, *actor, ctx)) {
    return {.rejection = std::move(refused)};
  }
  if (!state.registered && command.type != "cpts.register") {
    return internal::Reject("unknown_cpts", "The CPTS " + command.cptsid +
                                                " is not registered: register it first "
                                                "(cpts.register).");
  }
  return handler->decide(ctx);
}

std::optional<Rejection> CheckSender(const Command& command, const CptsState& state) {
  const CommandHandler* handler = FindCommandHandler(command.type);
  if (handler == nullptr) {
    return Rejection{"unknown_command",
                     "The command type is not known (docs/commands.md lists them)."};
  }
  const Result<Actor> actor = ParseActor(command.actor);
  if (!actor.ok()) {
    return Rejection{"forbidden", "The actor is not valid: " + actor.status().message()};
  }
  return Authorize(*handler, *actor,
                   Context{.command = command, .state = state, .data = command.data});
}

void Evolve(CptsState& state, const events::Envelope& event) {
  // fr.cpts.command.rejected.v1 changes nothing, and has no handler.
  const EventHandler* handler = FindEventHandler(event.type);
  if (handler == nullptr || !event.data.is_object()) return;
  handler->evolve(state, event.data);
}

}  // namespace cpts::aggregates
