// Ville-hôpital: hospitals notify admissions and discharges (deduplicated on their own movement
// ids, since HL7 senders retry), the CPTS assigns each discharge's city follow-ups to members,
// who acknowledge them and record the visit. A cancelled discharge voids its open follow-ups.
#include "aggregates/internal.h"

namespace cpts::aggregates::internal {
namespace {

const Discharge* FindDischarge(const CptsState& state, const std::string& id) {
  const auto it = state.discharges.find(id);
  return it == state.discharges.end() ? nullptr : &it->second;
}

const Followup* FindFollowup(const Context& ctx) {
  const auto it = ctx.state.followups.find(Str(ctx.data, "followup_id"));
  return it == ctx.state.followups.end() ? nullptr : &it->second;
}

Decision NotifyAdmission(const Context& ctx) {
  const std::string finess = Str(ctx.data, "finess");
  const std::string movement = Str(ctx.data, "movement_id");
  if (ctx.state.admissions.contains(MovementKey(finess, movement))) return Nothing();
  return Accept(ctx, ctx.data, Subject("admission", MovementKey(finess, movement)));
}

Decision NotifyDischarge(const Context& ctx) {
  const std::string id = Str(ctx.data, "discharge_id");
  const std::string finess = Str(ctx.data, "finess");
  const std::string movement = Str(ctx.data, "movement_id");
  // The same movement again is the hospital repeating itself: already known, nothing to do.
  if (ctx.state.discharge_by_movement.contains(MovementKey(finess, movement))) return Nothing();
  if (const Discharge* existing = FindDischarge(ctx.state, id)) {
    return Reject("duplicate_discharge", "Discharge " + id + " already exists, for movement " +
                                             existing->movement_id + " of " + existing->finess +
                                             ".");
  }
  return Accept(ctx, ctx.data, Subject("discharge", id));
}

std::optional<std::string> DischargeFiness(const Context& ctx) {
  const Discharge* discharge = FindDischarge(ctx.state, Str(ctx.data, "discharge_id"));
  if (discharge == nullptr) return std::nullopt;
  return discharge->finess;
}

Decision CancelDischarge(const Context& ctx) {
  const std::string id = Str(ctx.data, "discharge_id");
  const Discharge* discharge = FindDischarge(ctx.state, id);
  if (discharge == nullptr) return Reject("unknown_discharge", "Discharge " + id + " is unknown.");
  // An A13 names the movement it cancels: another one is a mistake, not a repeat.
  if (discharge->movement_id != Str(ctx.data, "movement_id")) {
    return Reject("movement_mismatch", "Discharge " + id + " is movement " +
                                           discharge->movement_id + ", not the one named.");
  }
  if (discharge->cancelled) return Nothing();
  return Accept(ctx, ctx.data, Subject("discharge", id));
}

Decision AssignFollowup(const Context& ctx) {
  const std::string id = Str(ctx.data, "followup_id");
  if (ctx.state.followups.contains(id)) {
    return Reject("duplicate_followup", "Follow-up " + id + " already exists.");
  }
  const std::string discharge_id = Str(ctx.data, "discharge_id");
  const Discharge* discharge = FindDischarge(ctx.state, discharge_id);
  if (discharge == nullptr) {
    return Reject("unknown_discharge", "Discharge " + discharge_id + " is unknown.");
  }
  if (discharge->cancelled) {
    return Reject("discharge_cancelled", "Discharge " + discharge_id +
                                             " was cancelled by the hospital: it needs no "
                                             "follow-up.");
  }
  const std::string professional = Str(ctx.data, "professional");
  if (FindMember(ctx.state, professional) == nullptr) {
    return Reject("not_a_member", professional + " is not a member of the CPTS " +
                                      ctx.command.cptsid + ": follow-ups go to members only.");
  }
  return Accept(ctx, ctx.data, Subject("followup", id));
}

std::optional<std::string> FollowupProfessional(const Context& ctx) {
  const Followup* followup = FindFollowup(ctx);
  if (followup == nullptr) return std::nullopt;
  return followup->professional;
}

Decision Voided(const std::string& id) {
  return Reject("followup_voided",
                "Follow-up " + id + " is void: the hospital cancelled its discharge.");
}

Decision AcknowledgeFollowup(const Context& ctx) {
  const std::string id = Str(ctx.data, "followup_id");
  const Followup* followup = FindFollowup(ctx);
  if (followup == nullptr) return Reject("unknown_followup", "Follow-up " + id + " is unknown.");
  switch (followup->status) {
    case FollowupStatus::kVoided:
      return Voided(id);
    case FollowupStatus::kAcknowledged:
    case FollowupStatus::kCompleted:
      return Reject("already_acknowledged", "Follow-up " + id + " was already acknowledged.");
    case FollowupStatus::kAssigned:
      break;
  }
  return Accept(ctx, {{"followup_id", id}, {"professional", followup->professional}},
                Subject("followup", id));
}

Decision CompleteFollowup(const Context& ctx) {
  const std::string id = Str(ctx.data, "followup_id");
  const Followup* followup = FindFollowup(ctx);
  if (followup == nullptr) return Reject("unknown_followup", "Follow-up " + id + " is unknown.");
  switch (followup->status) {
    case FollowupStatus::kCompleted:
      return Reject("already_completed", "Follow-up " + id + " was already completed.");
    case FollowupStatus::kVoided:
      return Voided(id);
    case FollowupStatus::kAssigned:
      return Reject("not_acknowledged",
                    "Follow-up " + id + " must be acknowledged before it is completed.");
    case FollowupStatus::kAcknowledged:
      break;
  }
  return Accept(ctx,
                {{"followup_id", id},
                 {"professional", followup->professional},
                 {"visited_at", Str(ctx.data, "visited_at")}},
                Subject("followup", id));
}

// --- Evolve.

void AdmissionNotified(CptsState& state, const json& data) {
  state.admissions.insert(MovementKey(Str(data, "finess"), Str(data, "movement_id")));
}

void DischargeNotified(CptsState& state, const json& data) {
  const std::string id = Str(data, "discharge_id");
  const std::string finess = Str(data, "finess");
  const std::string movement = Str(data, "movement_id");
  state.discharges.try_emplace(id, Discharge{.finess = finess, .movement_id = movement});
  state.discharge_by_movement.try_emplace(MovementKey(finess, movement), id);
}

void DischargeCancelled(CptsState& state, const json& data) {
  const auto discharge = state.discharges.find(Str(data, "discharge_id"));
  if (discharge == state.discharges.end()) return;
  discharge->second.cancelled = true;
  for (const std::string& id : discharge->second.followups) {
    const auto followup = state.followups.find(id);
    if (followup != state.followups.end() &&
        followup->second.status != FollowupStatus::kCompleted) {
      followup->second.status = FollowupStatus::kVoided;
    }
  }
}

void FollowupAssigned(CptsState& state, const json& data) {
  const std::string id = Str(data, "followup_id");
  const std::string discharge_id = Str(data, "discharge_id");
  const auto [unused, inserted] = state.followups.try_emplace(
      id, Followup{.discharge_id = discharge_id, .professional = Str(data, "professional")});
  const auto discharge = state.discharges.find(discharge_id);
  if (inserted && discharge != state.discharges.end()) {
    discharge->second.followups.push_back(id);
  }
}

// Moves a follow-up forward from `from` only: an acknowledgement of a void or unknown follow-up,
// in history written before a rule existed, changes nothing.
void Advance(CptsState& state, const json& data, FollowupStatus from, FollowupStatus to) {
  const auto followup = state.followups.find(Str(data, "followup_id"));
  if (followup != state.followups.end() && followup->second.status == from) {
    followup->second.status = to;
  }
}

void FollowupAcknowledged(CptsState& state, const json& data) {
  Advance(state, data, FollowupStatus::kAssigned, FollowupStatus::kAcknowledged);
}

void FollowupCompleted(CptsState& state, const json& data) {
  Advance(state, data, FollowupStatus::kAcknowledged, FollowupStatus::kCompleted);
}

}  // namespace

std::vector<CommandHandler> VilleHopitalCommands() {
  const auto data_finess = [](const Context& ctx) -> std::optional<std::string> {
    return Str(ctx.data, "finess");
  };
  return {
      {.type = "stay.notify_admission",
       .delegate = Role::kHospital,
       .delegate_who = "the hospital named by data.finess",
       .owner = data_finess,
       .decide = &NotifyAdmission},
      {.type = "discharge.notify",
       .delegate = Role::kHospital,
       .delegate_who = "the hospital named by data.finess",
       .owner = data_finess,
       .decide = &NotifyDischarge},
      {.type = "discharge.cancel",
       .delegate = Role::kHospital,
       .delegate_who = "the hospital that notified the discharge",
       .owner = &DischargeFiness,
       .decide = &CancelDischarge},
      {.type = "followup.assign", .decide = &AssignFollowup},
      {.type = "followup.acknowledge",
       .delegate = Role::kProfessional,
       .delegate_who = "the professional the follow-up is assigned to",
       .owner = &FollowupProfessional,
       .decide = &AcknowledgeFollowup},
      {.type = "followup.complete",
       .delegate = Role::kProfessional,
       .delegate_who = "the professional the follow-up is assigned to",
       .owner = &FollowupProfessional,
       .decide = &CompleteFollowup},
  };
}

std::vector<EventHandler> VilleHopitalEvents() {
  return {
      {"fr.cpts.stay.admission_notified.v1", &AdmissionNotified},
      {"fr.cpts.discharge.notified.v1", &DischargeNotified},
      {"fr.cpts.discharge.cancelled.v1", &DischargeCancelled},
      {"fr.cpts.followup.assigned.v1", &FollowupAssigned},
      {"fr.cpts.followup.acknowledged.v1", &FollowupAcknowledged},
      {"fr.cpts.followup.completed.v1", &FollowupCompleted},
  };
}

}  // namespace cpts::aggregates::internal
