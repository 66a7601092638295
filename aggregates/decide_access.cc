// Access to a médecin traitant: GPs declare a capacity, the coordinator registers patients and
// refers them to GPs, who accept or decline; an assignment or a withdrawal ends the request.
//
// Capacity: a declaration states how many new patients the GP takes from now on, and resets the
// count. Each new patient the GP takes through the CPTS uses one unit: an accepted referral, or
// an assignment without one. A referral is issued only while a unit is left, but does not hold
// one: two referrals may wait for the last unit, and the second acceptance is refused. No GP is
// ever given more new patients than they declared.
#include "aggregates/internal.h"

namespace cpts::aggregates::internal {
namespace {

std::string_view StatusName(ReferralStatus status) {
  switch (status) {
    case ReferralStatus::kPending:
      return "awaiting the GP's answer";
    case ReferralStatus::kAccepted:
      return "already accepted";
    case ReferralStatus::kDeclined:
      return "already declined";
    case ReferralStatus::kVoided:
      return "void: the patient's request ended first";
  }
  return "in an unknown state";
}

Decision NoOpenRequest() {
  return Reject("no_open_request",
                "The patient has no open request for a médecin traitant (register them first).");
}

// The referral named by data.referral_id, or null.
const Referral* FindReferral(const Context& ctx) {
  const auto it = ctx.state.referrals.find(Str(ctx.data, "referral_id"));
  return it == ctx.state.referrals.end() ? nullptr : &it->second;
}

// The referral a GP answers: it must exist and await that answer.
std::optional<Rejection> CheckPending(const Context& ctx, const Referral* referral) {
  const std::string id = Str(ctx.data, "referral_id");
  if (referral == nullptr) return Rejection{"unknown_referral", "Referral " + id + " is unknown."};
  if (referral->status != ReferralStatus::kPending) {
    return Rejection{"referral_not_pending",
                     "Referral " + id + " is " + std::string(StatusName(referral->status)) + "."};
  }
  return std::nullopt;
}

std::optional<std::string> ReferralGp(const Context& ctx) {
  const Referral* referral = FindReferral(ctx);
  if (referral == nullptr) return std::nullopt;
  return referral->gp;
}

Decision DeclareCapacity(const Context& ctx) {
  const std::string gp = Str(ctx.data, "gp");
  if (auto rejection = CheckGp(ctx.state, gp, /*needs_capacity=*/false)) {
    return {.rejection = rejection};
  }
  return Accept(ctx, ctx.data, Subject("member", gp));
}

Decision RegisterPatient(const Context& ctx) {
  if (ctx.state.open_requests.contains(Str(ctx.data, "patient"))) {
    return Reject("request_already_open",
                  "The patient already has an open request for a médecin traitant.");
  }
  // No subject: the entity is the patient, and a subject never names one.
  return Accept(ctx, ctx.data, std::nullopt);
}

Decision IssueReferral(const Context& ctx) {
  const std::string id = Str(ctx.data, "referral_id");
  if (ctx.state.referrals.contains(id)) {
    return Reject("duplicate_referral", "Referral " + id + " already exists.");
  }
  const auto request = ctx.state.open_requests.find(Str(ctx.data, "patient"));
  if (request == ctx.state.open_requests.end()) return NoOpenRequest();
  if (!request->second.pending_referral.empty()) {
    return Reject("referral_pending", "The patient's referral " + request->second.pending_referral +
                                          " still awaits the GP's answer.");
  }
  if (auto rejection = CheckGp(ctx.state, Str(ctx.data, "gp"), /*needs_capacity=*/true)) {
    return {.rejection = rejection};
  }
  return Accept(ctx, ctx.data, Subject("referral", id));
}

Decision AcceptReferral(const Context& ctx) {
  const Referral* referral = FindReferral(ctx);
  if (auto rejection = CheckPending(ctx, referral)) return {.rejection = rejection};
  // The capacity is checked again here: it may have gone since the referral was issued.
  if (auto rejection = CheckGp(ctx.state, referral->gp, /*needs_capacity=*/true)) {
    return {.rejection = rejection};
  }
  const std::string id = Str(ctx.data, "referral_id");
  return Accept(ctx, {{"referral_id", id}, {"patient", referral->patient}, {"gp", referral->gp}},
                Subject("referral", id));
}

Decision DeclineReferral(const Context& ctx) {
  const Referral* referral = FindReferral(ctx);
  if (auto rejection = CheckPending(ctx, referral)) return {.rejection = rejection};
  json data = ctx.data;
  data["patient"] = referral->patient;
  data["gp"] = referral->gp;
  return Accept(ctx, std::move(data), Subject("referral", Str(ctx.data, "referral_id")));
}

Decision AssignGp(const Context& ctx) {
  const std::string patient = Str(ctx.data, "patient");
  const std::string gp = Str(ctx.data, "gp");
  if (!ctx.state.open_requests.contains(patient)) return NoOpenRequest();
  if (!Has(ctx.data, "referral_id")) {
    // A GP found without a referral takes a new patient all the same: it uses a unit.
    if (auto rejection = CheckGp(ctx.state, gp, /*needs_capacity=*/true)) {
      return {.rejection = rejection};
    }
    return Accept(ctx, ctx.data, std::nullopt);
  }
  // The accepted referral already used its unit.
  if (auto rejection = CheckGp(ctx.state, gp, /*needs_capacity=*/false)) {
    return {.rejection = rejection};
  }
  const std::string id = Str(ctx.data, "referral_id");
  const Referral* referral = FindReferral(ctx);
  if (referral == nullptr || referral->patient != patient || referral->gp != gp ||
      referral->status != ReferralStatus::kAccepted) {
    return Reject("referral_not_accepted",
                  "Referral " + id + " is not this patient's referral accepted by " + gp + ".");
  }
  return Accept(ctx, ctx.data, Subject("referral", id));
}

Decision WithdrawRequest(const Context& ctx) {
  if (!ctx.state.open_requests.contains(Str(ctx.data, "patient"))) return NoOpenRequest();
  return Accept(ctx, ctx.data, std::nullopt);
}

// --- Evolve.

Member* FindMutableMember(CptsState& state, const std::string& member_id) {
  const auto it = state.members.find(member_id);
  return it == state.members.end() ? nullptr : &it->second;
}

void CapacityDeclared(CptsState& state, const json& data) {
  if (Member* gp = FindMutableMember(state, Str(data, "gp"))) {
    gp->declared_capacity = Int(data, "new_patients_capacity");
    gp->taken_since_declaration = 0;
  }
}

void TakeNewPatient(CptsState& state, const std::string& gp_id) {
  if (Member* gp = FindMutableMember(state, gp_id)) ++gp->taken_since_declaration;
}

void PatientRegistered(CptsState& state, const json& data) {
  state.open_requests[Str(data, "patient")] = OpenRequest{};
}

void ReferralIssued(CptsState& state, const json& data) {
  const std::string id = Str(data, "referral_id");
  const std::string patient = Str(data, "patient");
  state.referrals[id] = Referral{.patient = patient, .gp = Str(data, "gp")};
  if (const auto request = state.open_requests.find(patient);
      request != state.open_requests.end()) {
    request->second.pending_referral = id;
  }
}

// A pending referral gets its answer (or is voided): the patient may be referred again.
void Answer(CptsState& state, const std::string& id, ReferralStatus status) {
  const auto referral = state.referrals.find(id);
  if (referral == state.referrals.end() || referral->second.status != ReferralStatus::kPending) {
    return;
  }
  referral->second.status = status;
  const auto request = state.open_requests.find(referral->second.patient);
  if (request != state.open_requests.end() && request->second.pending_referral == id) {
    request->second.pending_referral.clear();
  }
  if (status == ReferralStatus::kAccepted) TakeNewPatient(state, referral->second.gp);
}

void ReferralAccepted(CptsState& state, const json& data) {
  Answer(state, Str(data, "referral_id"), ReferralStatus::kAccepted);
}

void ReferralDeclined(CptsState& state, const json& data) {
  Answer(state, Str(data, "referral_id"), ReferralStatus::kDeclined);
}

// The request ends; a referral still awaiting an answer can no longer be accepted.
void CloseRequest(CptsState& state, const std::string& patient) {
  const auto request = state.open_requests.find(patient);
  if (request == state.open_requests.end()) return;
  const std::string pending = request->second.pending_referral;
  if (!pending.empty()) Answer(state, pending, ReferralStatus::kVoided);
  state.open_requests.erase(patient);
}

void GpAssigned(CptsState& state, const json& data) {
  const auto referral = state.referrals.find(Str(data, "referral_id"));
  const bool through_accepted_referral =
      referral != state.referrals.end() && referral->second.status == ReferralStatus::kAccepted;
  if (!through_accepted_referral) TakeNewPatient(state, Str(data, "gp"));
  CloseRequest(state, Str(data, "patient"));
}

void RequestWithdrawn(CptsState& state, const json& data) {
  CloseRequest(state, Str(data, "patient"));
}

}  // namespace

std::vector<CommandHandler> AccessCommands() {
  const auto data_gp = [](const Context& ctx) -> std::optional<std::string> {
    return Str(ctx.data, "gp");
  };
  return {
      {.type = "access.declare_capacity",
       .delegate = Role::kProfessional,
       .delegate_who = "the GP themselves (data.gp)",
       .owner = data_gp,
       .decide = &DeclareCapacity},
      {.type = "access.register_patient", .decide = &RegisterPatient},
      {.type = "access.issue_referral", .decide = &IssueReferral},
      {.type = "access.accept_referral",
       .delegate = Role::kProfessional,
       .delegate_who = "the GP the referral is addressed to",
       .owner = &ReferralGp,
       .decide = &AcceptReferral},
      {.type = "access.decline_referral",
       .delegate = Role::kProfessional,
       .delegate_who = "the GP the referral is addressed to",
       .owner = &ReferralGp,
       .decide = &DeclineReferral},
      {.type = "access.assign_gp", .decide = &AssignGp},
      {.type = "access.withdraw_request", .decide = &WithdrawRequest},
  };
}

std::vector<EventHandler> AccessEvents() {
  return {
      {"fr.cpts.access.gp_capacity_declared.v1", &CapacityDeclared},
      {"fr.cpts.access.patient_registered.v2", &PatientRegistered},
      {"fr.cpts.access.referral_issued.v1", &ReferralIssued},
      {"fr.cpts.access.referral_accepted.v1", &ReferralAccepted},
      {"fr.cpts.access.referral_declined.v1", &ReferralDeclined},
      {"fr.cpts.access.gp_assigned.v1", &GpAssigned},
      {"fr.cpts.access.request_withdrawn.v1", &RequestWithdrawn},
  };
}

}  // namespace cpts::aggregates::internal
