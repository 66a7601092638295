#include "aggregates/command.h"

#include "events/json_input.h"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <set>
#include <utility>

#include "aggregates/actor.h"
#include "aggregates/internal.h"
#include "events/envelope.h"

namespace cpts::aggregates {
namespace {

using json = ::cpts::Json;

// Each command type yields one event type, and takes its fields from it: the field rules are
// the catalogue's, so an accepted command's data needs no second set of checks, and a change of
// an event's rule reaches its command.
struct Declaration {
  std::string_view type;
  std::string_view event_type;
  std::string_view description;
  // The event's fields the command carries, in this order. Empty: all of them, with the
  // event's cross-field rules (the command states the whole fact).
  std::vector<std::string_view> fields;
};

const std::vector<Declaration>& Declarations() {
  // Never destroyed: read by other static objects' destructors at exit.
  static const auto* const kDeclarations = new std::vector<Declaration>{
      // --- The CPTS itself.
      {"cpts.register", "fr.cpts.cpts.registered.v1",
       "Register the CPTS: its name, territory, population and region."},
      {"cpts.sign_aci", "fr.cpts.cpts.aci_signed.v1",
       "Record the ACI contract signed with the CPAM and the ARS."},

      // --- Membership.
      {"membership.join", "fr.cpts.membership.member_joined.v1",
       "A professional or a structure joins the CPTS."},
      {"membership.leave", "fr.cpts.membership.member_left.v1", "A member leaves the CPTS."},
      {"membership.update", "fr.cpts.membership.member_updated.v1",
       "Change a member's details (only the changed fields)."},

      // --- Access to a médecin traitant.
      {"access.declare_capacity", "fr.cpts.access.gp_capacity_declared.v1",
       "A GP declares how many new patients they can take."},
      {"access.register_patient", "fr.cpts.access.patient_registered.v2",
       "Register a patient looking for a médecin traitant."},
      {"access.issue_referral",
       "fr.cpts.access.referral_issued.v1",
       "Refer a registered patient to a GP.",
       {"referral_id", "patient", "gp"}},
      {"access.accept_referral",
       "fr.cpts.access.referral_accepted.v1",
       "The GP accepts the referred patient.",
       {"referral_id"}},
      {"access.decline_referral",
       "fr.cpts.access.referral_declined.v1",
       "The GP declines the referred patient.",
       {"referral_id", "reason", "note"}},
      {"access.assign_gp",
       "fr.cpts.access.gp_assigned.v1",
       "Record the patient's médecin traitant: the request is fulfilled.",
       {"patient", "gp", "referral_id"}},
      {"access.withdraw_request",
       "fr.cpts.access.request_withdrawn.v1",
       "End a patient's request without an assignment.",
       {"patient", "reason", "note"}},

      // --- Ville-hôpital.
      {"stay.notify_admission", "fr.cpts.stay.admission_notified.v1",
       "A hospital notifies a patient's admission (HL7 A01)."},
      {"discharge.notify", "fr.cpts.discharge.notified.v1",
       "A hospital notifies a patient's discharge (HL7 A03)."},
      {"discharge.cancel", "fr.cpts.discharge.cancelled.v1",
       "A hospital cancels a discharge it notified (HL7 A13)."},
      {"followup.assign", "fr.cpts.followup.assigned.v1",
       "Assign a discharge's city follow-up to a member."},
      {"followup.acknowledge",
       "fr.cpts.followup.acknowledged.v1",
       "The professional acknowledges the follow-up assigned to them.",
       {"followup_id"}},
      {"followup.complete",
       "fr.cpts.followup.completed.v1",
       "The professional records the follow-up visit.",
       {"followup_id", "visited_at"}},

      // --- Unscheduled care.
      {"snp.receive_request", "fr.cpts.snp.request_received.v1",
       "Record a request for unscheduled care."},
      {"snp.offer_slot", "fr.cpts.snp.slot_offered.v1", "A member offers a slot for a request."},
      {"snp.give_care", "fr.cpts.snp.care_given.v1",
       "A member saw the patient: the request is handled."},
      {"snp.redirect", "fr.cpts.snp.request_redirected.v1",
       "Send a request elsewhere: the request is closed."},

      // --- Prevention.
      {"prevention.launch_campaign", "fr.cpts.prevention.campaign_launched.v1",
       "Launch a prevention campaign with its sites and dates."},
      {"prevention.record_participation", "fr.cpts.prevention.participation_recorded.v1",
       "Record a participation at one of a campaign's sites."},
      {"prevention.close_campaign", "fr.cpts.prevention.campaign_closed.v1",
       "Close a campaign: no more participations."},

      // --- Health data.
      {"patient.erase", "fr.cpts.patient.erased.v1",
       "Erase a patient's identity (right to erasure): the key is destroyed at the edge first."},
  };
  return *kDeclarations;
}

events::EventTypeSpec BuildSpec(const Declaration& declaration) {
  events::EventTypeSpec spec{.type = declaration.type, .description = declaration.description};
  const events::EventTypeSpec* event = events::FindEventType(declaration.event_type);
  // A declaration names a catalogue type and its fields (command_test checks every one).
  if (event == nullptr) return spec;
  if (declaration.fields.empty()) {
    spec.fields = event->fields;
    spec.cross_check = event->cross_check;
    return spec;
  }
  for (const std::string_view name : declaration.fields) {
    const auto field = std::find_if(event->fields.begin(), event->fields.end(),
                                    [&](const events::FieldSpec& f) { return f.name == name; });
    if (field != event->fields.end()) spec.fields.push_back(*field);
  }
  return spec;
}

// --- Decoding.

constexpr std::string_view kAttributes[] = {"command_id", "type",           "cptsid", "actor",
                                            "issued_at",  "correlation_id", "data"};

Status Fail(std::string_view attribute, const std::string& what) {
  return Status::InvalidArgument("attribute " + std::string(attribute) + ": " + what);
}

Result<std::string> GetString(const json& j, std::string_view name) {
  const auto it = j.find(name);
  if (it == j.end()) return Fail(name, "is missing");
  if (!it->is_string()) return Fail(name, "must be a string, got " + std::string(it->type_name()));
  return it->get<std::string>();
}

constexpr char kIdRule[] = "must be 1 to 100 letters, digits, '.', '_', ':' or '-'";

Result<Command> FromJson(json&& j) {
  if (!j.is_object()) {
    return Status::InvalidArgument("a command is a JSON object, got " + std::string(j.type_name()));
  }
  for (const auto& [key, unused] : j.items()) {
    if (std::find(std::begin(kAttributes), std::end(kAttributes), key) == std::end(kAttributes)) {
      std::string names;
      for (const auto& name : kAttributes) names += (names.empty() ? "" : ", ") + std::string(name);
      return Status::InvalidArgument("unknown attribute " + events::QuotedName(key) +
                                     " (attributes are: " + names + ")");
    }
  }
  // Attribute values are never quoted back: any of them could hold a NIR typed by mistake.
  Command command;
  for (const auto& [name, out] :
       {std::pair{"command_id", &command.command_id}, std::pair{"type", &command.type},
        std::pair{"cptsid", &command.cptsid}, std::pair{"actor", &command.actor},
        std::pair{"issued_at", &command.issued_at}}) {
    Result<std::string> value = GetString(j, name);
    if (!value.ok()) return value.status();
    *out = std::move(*value);
  }
  if (!internal::IsCommandId(command.command_id)) return Fail("command_id", kIdRule);
  const events::EventTypeSpec* spec = FindCommandType(command.type);
  if (spec == nullptr) {
    return Fail("type", events::QuotedName(command.type) + " is not a command type (docs/commands.md)");
  }
  if (!events::IsCptsId(command.cptsid)) {
    return Fail("cptsid", "must be 1 to 64 letters, digits, '.', '_', ':' or '-'");
  }
  if (Result<Actor> actor = ParseActor(command.actor); !actor.ok()) {
    return Fail("actor", actor.status().message());
  }
  if (!events::IsTimestamp(command.issued_at)) {
    return Fail("issued_at",
                "is not an RFC 3339 timestamp with a zone (e.g. 2026-11-22T16:05:00+01:00)");
  }
  if (j.contains("correlation_id")) {
    Result<std::string> correlation = GetString(j, "correlation_id");
    if (!correlation.ok()) return correlation.status();
    if (!internal::IsCommandId(*correlation)) return Fail("correlation_id", kIdRule);
    command.correlation_id = std::move(*correlation);
  }
  const auto data = j.find("data");
  if (data == j.end()) return Fail("data", "is missing");
  CPTS_RETURN_IF_ERROR(events::ValidateData(*spec, *data).WithContext(command.type));
  command.data = std::move(*data);
  return command;
}

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '-';
}

}  // namespace

namespace internal {

bool IsCommandId(std::string_view s) {
  return !s.empty() && s.size() <= 100 && std::all_of(s.begin(), s.end(), IsIdChar);
}

std::string_view EventTypeFor(std::string_view command_type) {
  for (const auto& declaration : Declarations()) {
    if (declaration.type == command_type) return declaration.event_type;
  }
  return {};
}

}  // namespace internal

const std::vector<events::EventTypeSpec>& CommandTypes() {
  static const auto* const kTypes = [] {
    auto* types = new std::vector<events::EventTypeSpec>();
    for (const auto& declaration : Declarations()) types->push_back(BuildSpec(declaration));
    return types;
  }();
  return *kTypes;
}

const events::EventTypeSpec* FindCommandType(std::string_view type) {
  for (const auto& spec : CommandTypes()) {
    if (spec.type == type) return &spec;
  }
  return nullptr;
}

std::string EncodeCommand(const Command& command) {
  json j = {{"command_id", command.command_id}, {"type", command.type},
            {"cptsid", command.cptsid},         {"actor", command.actor},
            {"issued_at", command.issued_at},   {"data", command.data}};
  if (command.correlation_id) j["correlation_id"] = *command.correlation_id;
  return events::CanonicalJson(j);
}

Result<Command> DecodeCommand(std::string_view bytes) {
  try {
    Result<json> parsed = events::ParseStrictJson(bytes, "the command");
    if (!parsed.ok()) return parsed.status();
    return FromJson(std::move(*parsed));
  } catch (const json::exception& e) {
    // Every access above follows a type check; reaching here is a bug in this file.
    return Status::Internal(std::string("decoding a command: ") + e.what());
  }
}

}  // namespace cpts::aggregates
