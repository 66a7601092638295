#include "projections/read_models.h"

#include <algorithm>
#include <functional>
#include <unordered_map>

#include "events/catalogue.h"
#include "projections/clock.h"

namespace cpts::projections {
namespace {

using json = ::cpts::Json;
using keys::Key;

// Field readers that never throw: the event was validated when decoded, but a read model must
// not stop on a surprise either.
// A view into `object`: copy it before changing or moving the object.
std::string_view Str(const json& object, const char* name) {
  const auto it = object.find(name);
  return it != object.end() && it->is_string() ? std::string_view(it->get_ref<const std::string&>())
                                               : std::string_view();
}
int64_t Int(const json& object, const char* name) {
  const auto it = object.find(name);
  return it != object.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}
bool Bool(const json& object, const char* name) {
  const auto it = object.find(name);
  return it != object.end() && it->is_boolean() && it->get<bool>();
}
// Copies the optional field `name` when present.
void CopyIf(const json& from, json& to, const char* name) {
  const auto it = from.find(name);
  if (it != from.end()) to[name] = *it;
}
int64_t TimeMs(std::string_view text) { return ParseTimestampMs(text).value_or(0); }

// Adds `delta` to the counter object[name] (created at 0), dropping it when it falls to 0 so
// that a count and its undo leave the row as it was.
void Add(json& object, std::string_view name, int64_t delta) {
  if (name.empty() || delta == 0) return;
  json& counter = object[name];
  const int64_t value = (counter.is_number_integer() ? counter.get<int64_t>() : 0) + delta;
  if (value == 0) {
    object.erase(name);
  } else {
    counter = value;
  }
}

// Earliest of an optional instant field and `ms`.
void KeepEarliest(json& row, const char* name, int64_t ms) {
  const auto it = row.find(name);
  if (it == row.end() || !it->is_number_integer() || it->get<int64_t>() > ms) row[name] = ms;
}

// Everything one event's handler needs.
// Handlers may move `data` into a row once they have read what they need from it: the event
// is not used after Apply.
struct Ctx {
  const events::Envelope& event;
  json& data;
  const std::string& cpts;
  int64_t at_ms;  // the event's time: when the CPTS learned the fact
  RowBatch& rows;
};

#define CPTS_ASSIGN_ROW(var, expr)      \
  auto var##_result = (expr);           \
  if (!var##_result.ok()) return var##_result.status(); \
  auto var = *var##_result

// --- The CPTS.

Status CptsRegistered(const Ctx& c) {
  json row = {{"cptsid", c.cpts},
              {"name", Str(c.data, "name")},
              {"territory", c.data.value("territory", json::array())},
              {"population", Int(c.data, "population")},
              {"size_category", events::SizeCategory(Int(c.data, "population"))},
              {"region", Str(c.data, "region")},
              {"registered_at", c.event.time}};
  c.rows.Put(Key({rows::kCpts, c.cpts}), std::move(row));
  return Status::Ok();
}

Status AciSigned(const Ctx& c) {
  CPTS_ASSIGN_ROW(row, c.rows.Edit(Key({rows::kCpts, c.cpts})));
  if (row == nullptr) return Status::Ok();
  (*row)["aci"] = std::move(c.data);
  return Status::Ok();
}

// --- Membership.

// Adds (delta 1) or removes (-1) an active member from the roster counts.
void CountMember(json& stats, const json& member, int delta) {
  Add(stats, "active", delta);
  Add(stats["by_kind"], Str(member, "member_kind"), delta);
  Add(stats["by_profession"], Str(member, "profession"), delta);
  Add(stats["by_practice_mode"], Str(member, "practice_mode"), delta);
  Add(stats["by_structure_kind"], Str(member, "structure_kind"), delta);
  Add(stats["by_commune"], Str(member, "commune"), delta);
  Add(stats["by_college"], Str(member, "college"), delta);
}

Result<json*> RosterStats(const Ctx& c) {
  return c.rows.EditOrCreate(Key({rows::kRosterStats, c.cpts}), [] {
    return json{{"active", 0}, {"joined", 0}, {"left", 0}};
  });
}

Status CountMonth(const Ctx& c, const char* what) {
  const std::string name = ParisMonth(c.at_ms);
  CPTS_ASSIGN_ROW(month, c.rows.EditOrCreate(Key({rows::kRosterMonth, c.cpts, name}), [&] {
    return json{{"month", name}, {"joined", 0}, {"left", 0}};
  }));
  Add(*month, what, 1);
  return Status::Ok();
}

Status MemberJoined(const Ctx& c) {
  std::string key = Key({rows::kMember, c.cpts, Str(c.data, "member_id")});
  CPTS_ASSIGN_ROW(stats, RosterStats(c));
  CPTS_ASSIGN_ROW(previous, c.rows.Read(key));
  if (previous != nullptr && Bool(*previous, "active")) CountMember(*stats, *previous, -1);
  json member = std::move(c.data);
  member["active"] = true;
  member["joined_at"] = c.event.time;
  CountMember(*stats, member, 1);
  Add(*stats, "joined", 1);
  c.rows.Put(std::move(key), std::move(member));
  return CountMonth(c, "joined");
}

Status MemberLeft(const Ctx& c) {
  CPTS_ASSIGN_ROW(member, c.rows.Edit(Key({rows::kMember, c.cpts, Str(c.data, "member_id")})));
  if (member == nullptr || !Bool(*member, "active")) return Status::Ok();
  CPTS_ASSIGN_ROW(stats, RosterStats(c));
  CountMember(*stats, *member, -1);
  Add(*stats, "left", 1);
  (*member)["active"] = false;
  (*member)["left_at"] = c.event.time;
  CopyIf(c.data, *member, "reason");
  return CountMonth(c, "left");
}

Status MemberUpdated(const Ctx& c) {
  CPTS_ASSIGN_ROW(member, c.rows.Edit(Key({rows::kMember, c.cpts, Str(c.data, "member_id")})));
  if (member == nullptr) return Status::Ok();
  const bool active = Bool(*member, "active");
  CPTS_ASSIGN_ROW(stats, RosterStats(c));
  if (active) CountMember(*stats, *member, -1);
  for (const char* field : {"practice_mode", "commune", "college", "display_name"}) {
    CopyIf(c.data, *member, field);
  }
  (*member)["updated_at"] = c.event.time;
  if (active) CountMember(*stats, *member, 1);
  return Status::Ok();
}

// --- Access to a médecin traitant.

Result<json*> AccessStats(const Ctx& c) {
  return c.rows.EditOrCreate(Key({rows::kAccessStats, c.cpts}), [] {
    return json{{"registered", 0}, {"waiting", 0}, {"found", json::object()}, {"withdrawn", 0},
                {"days_to_find", json::object()}};
  });
}

std::string QueueKey(const std::string& cpts, const json& patient) {
  return Key({rows::kQueue, cpts, std::to_string(Int(patient, "priority_rank")),
              FormatUtcMs(Int(patient, "registered_ms")), Str(patient, "patient")});
}

Status CapacityDeclared(const Ctx& c) {
  CPTS_ASSIGN_ROW(gp, c.rows.Edit(Key({rows::kMember, c.cpts, Str(c.data, "gp")})));
  if (gp == nullptr) return Status::Ok();
  (*gp)["declared_capacity"] = Int(c.data, "new_patients_capacity");
  (*gp)["taken_since_declaration"] = 0;
  (*gp)["capacity_declared_at"] = c.event.time;
  return Status::Ok();
}

Status TakeNewPatient(const Ctx& c, std::string_view gp_id) {
  CPTS_ASSIGN_ROW(gp, c.rows.Edit(Key({rows::kMember, c.cpts, gp_id})));
  if (gp != nullptr) Add(*gp, "taken_since_declaration", 1);
  return Status::Ok();
}

Status PatientRegistered(const Ctx& c) {
  std::string key = Key({rows::kPatient, c.cpts, Str(c.data, "patient")});
  CPTS_ASSIGN_ROW(stats, AccessStats(c));
  CPTS_ASSIGN_ROW(previous, c.rows.Read(key));
  int64_t requests = 0;
  if (previous != nullptr) {
    requests = Int(*previous, "requests");
    if (Str(*previous, "status") == "waiting") {  // a repeat: the decider forbids it today
      c.rows.Erase(QueueKey(c.cpts, *previous));
      Add(*stats, "waiting", -1);
    }
  }
  const PriorityGroup group =
      PriorityOf(Bool(c.data, "ald"), Bool(c.data, "c2s"), Str(c.data, "age_band"));
  const std::string pseudonym(Str(c.data, "patient"));
  const int64_t registered_ms = TimeMs(Str(c.data, "registered_at"));
  json patient = std::move(c.data);
  patient["registered_ms"] = registered_ms;
  patient["priority"] = PriorityGroupName(group);
  patient["priority_rank"] = static_cast<int>(group);
  patient["status"] = "waiting";
  patient["requests"] = requests + 1;
  c.rows.Put(QueueKey(c.cpts, patient), pseudonym);
  c.rows.Put(std::move(key), std::move(patient));
  Add(*stats, "registered", 1);
  Add(*stats, "waiting", 1);
  return Status::Ok();
}

Status ReferralIssued(const Ctx& c) {
  const std::string id(Str(c.data, "referral_id"));
  c.rows.Put(Key({rows::kReferral, c.cpts, id}), {{"referral_id", id},
                                                  {"patient", Str(c.data, "patient")},
                                                  {"gp", Str(c.data, "gp")},
                                                  {"status", "pending"},
                                                  {"issued_at", c.event.time}});
  CPTS_ASSIGN_ROW(patient, c.rows.Edit(Key({rows::kPatient, c.cpts, Str(c.data, "patient")})));
  if (patient != nullptr && Str(*patient, "status") == "waiting") {
    (*patient)["pending_referral"] = id;
    Add(*patient, "referrals", 1);
  }
  return Status::Ok();
}

// A pending referral gets its answer (or is voided when the request ends first).
Status Answer(const Ctx& c, std::string_view id, const char* status) {
  CPTS_ASSIGN_ROW(referral, c.rows.Edit(Key({rows::kReferral, c.cpts, id})));
  if (referral == nullptr || Str(*referral, "status") != "pending") return Status::Ok();
  (*referral)["status"] = status;
  (*referral)["answered_at"] = c.event.time;
  if (std::string_view(status) == "declined") {
    CopyIf(c.data, *referral, "reason");
    CopyIf(c.data, *referral, "note");
  }
  CPTS_ASSIGN_ROW(patient, c.rows.Edit(Key({rows::kPatient, c.cpts, Str(*referral, "patient")})));
  if (patient != nullptr && Str(*patient, "pending_referral") == id) {
    patient->erase("pending_referral");
  }
  if (std::string_view(status) == "accepted") return TakeNewPatient(c, Str(*referral, "gp"));
  return Status::Ok();
}

// The patient's request ends: found a GP ("found") or withdrawn.
Status CloseRequest(const Ctx& c, const std::string& status) {
  CPTS_ASSIGN_ROW(patient, c.rows.Edit(Key({rows::kPatient, c.cpts, Str(c.data, "patient")})));
  if (patient == nullptr || Str(*patient, "status") != "waiting") return Status::Ok();
  const std::string pending(Str(*patient, "pending_referral"));
  if (!pending.empty()) CPTS_RETURN_IF_ERROR(Answer(c, pending, "voided"));
  CPTS_ASSIGN_ROW(stats, AccessStats(c));
  c.rows.Erase(QueueKey(c.cpts, *patient));
  Add(*stats, "waiting", -1);
  (*patient)["status"] = status;
  (*patient)["closed_at"] = c.event.time;
  if (status == "found") {
    const int64_t days = std::max<int64_t>(0, (c.at_ms - Int(*patient, "registered_ms")) / kDayMs);
    (*patient)["gp"] = Str(c.data, "gp");
    (*patient)["days_to_find"] = days;
    Add((*stats)["found"], Str(*patient, "priority"), 1);
    Add((*stats)["days_to_find"], std::to_string(days), 1);
  } else {
    (*patient)["withdrawn_reason"] = Str(c.data, "reason");
    Add(*stats, "withdrawn", 1);
  }
  return Status::Ok();
}

Status GpAssigned(const Ctx& c) {
  bool through_accepted_referral = false;
  if (c.data.contains("referral_id")) {
    CPTS_ASSIGN_ROW(referral,
                    c.rows.Read(Key({rows::kReferral, c.cpts, Str(c.data, "referral_id")})));
    through_accepted_referral = referral != nullptr && Str(*referral, "status") == "accepted";
  }
  if (!through_accepted_referral) CPTS_RETURN_IF_ERROR(TakeNewPatient(c, Str(c.data, "gp")));
  return CloseRequest(c, "found");
}

// --- Ville-hôpital.

bool CityHandoff(const json& discharge) {
  const std::string_view destination = Str(discharge, "destination");
  return destination == "home" || destination == "ehpad";
}
// The discharges the "followed up within 7 days" indicator counts.
bool AwaitsVisit(const json& discharge) {
  const auto needs = discharge.find("needs");
  return CityHandoff(discharge) && needs != discharge.end() && !needs->empty();
}

Result<json*> HandoffStats(const Ctx& c) {
  return c.rows.EditOrCreate(Key({rows::kHandoffStats, c.cpts}), [] {
    return json{{"discharges", 0}, {"cancelled", 0}, {"awaiting_visit", 0},
                {"visited_within_7d", 0}, {"visited_late", 0}};
  });
}

// Which side of the 7-day line the first visit of a discharge falls: "" when none yet.
std::string VisitClass(const json& discharge) {
  if (!discharge.contains("first_visit_ms")) return "";
  return Int(discharge, "first_visit_ms") <= Int(discharge, "discharged_ms") + 7 * kDayMs
             ? "visited_within_7d"
             : "visited_late";
}

Status AdmissionNotified(const Ctx& c) {
  std::string key =
      Key({rows::kStay, c.cpts, Str(c.data, "finess"), Str(c.data, "visit_id")});
  json stay = std::move(c.data);
  stay["notified_at"] = c.event.time;
  c.rows.Put(std::move(key), std::move(stay));
  return Status::Ok();
}

Status DischargeNotified(const Ctx& c) {
  const std::string id(Str(c.data, "discharge_id"));
  std::string key = Key({rows::kDischarge, c.cpts, id});
  CPTS_ASSIGN_ROW(existing, c.rows.Read(key));
  if (existing != nullptr) return Status::Ok();  // the first notice stands, as for the decider
  std::string stay_key =
      Key({rows::kStay, c.cpts, Str(c.data, "finess"), Str(c.data, "visit_id")});
  json discharge = std::move(c.data);
  discharge["discharged_ms"] = TimeMs(Str(discharge, "discharged_at"));
  discharge["notified_at"] = c.event.time;
  discharge["cancelled"] = false;
  discharge["followups"] = json::array();
  CPTS_ASSIGN_ROW(stats, HandoffStats(c));
  Add(*stats, "discharges", 1);
  if (AwaitsVisit(discharge)) {
    Add(*stats, "awaiting_visit", 1);
    c.rows.Put(Key({rows::kAwaitingVisit, c.cpts, id}), discharge["discharged_ms"]);
  }
  CPTS_ASSIGN_ROW(stay, c.rows.Edit(std::move(stay_key)));
  if (stay != nullptr) (*stay)["discharge_id"] = id;
  c.rows.Put(std::move(key), std::move(discharge));
  return Status::Ok();
}

Status DischargeCancelled(const Ctx& c) {
  const std::string id(Str(c.data, "discharge_id"));
  CPTS_ASSIGN_ROW(discharge, c.rows.Edit(Key({rows::kDischarge, c.cpts, id})));
  if (discharge == nullptr || Bool(*discharge, "cancelled")) return Status::Ok();
  CPTS_ASSIGN_ROW(stats, HandoffStats(c));
  Add(*stats, "cancelled", 1);
  if (AwaitsVisit(*discharge)) {
    const std::string visit = VisitClass(*discharge);
    Add(*stats, visit.empty() ? "awaiting_visit" : visit, -1);
    c.rows.Erase(Key({rows::kAwaitingVisit, c.cpts, id}));
  }
  (*discharge)["cancelled"] = true;
  (*discharge)["cancelled_at"] = c.event.time;
  (*discharge)["cancel_reason"] = Str(c.data, "reason");
  for (json& followup : (*discharge)["followups"]) {
    if (Str(followup, "status") != "completed") followup["status"] = "voided";
  }
  return Status::Ok();
}

Status FollowupAssigned(const Ctx& c) {
  const std::string id(Str(c.data, "followup_id"));
  const std::string discharge_id(Str(c.data, "discharge_id"));
  const std::string professional(Str(c.data, "professional"));
  CPTS_ASSIGN_ROW(known, c.rows.Read(Key({rows::kFollowup, c.cpts, id})));
  if (known != nullptr) return Status::Ok();
  c.rows.Put(Key({rows::kFollowup, c.cpts, id}), discharge_id);
  c.rows.Put(Key({rows::kWorklist, professional, c.cpts, id}), discharge_id);
  CPTS_ASSIGN_ROW(discharge, c.rows.Edit(Key({rows::kDischarge, c.cpts, discharge_id})));
  if (discharge == nullptr) return Status::Ok();
  (*discharge)["followups"].push_back({{"followup_id", id},
                                      {"professional", professional},
                                      {"need", Str(c.data, "need")},
                                      {"assigned_at", c.event.time},
                                      {"status", "assigned"}});
  return Status::Ok();
}

// The follow-up `id` inside its discharge row, with the row; nullptrs when unknown.
struct FollowupRef {
  json* discharge = nullptr;
  json* followup = nullptr;
};
Result<FollowupRef> FindFollowup(const Ctx& c) {
  const std::string id(Str(c.data, "followup_id"));
  CPTS_ASSIGN_ROW(pointer, c.rows.Read(Key({rows::kFollowup, c.cpts, id})));
  if (pointer == nullptr || !pointer->is_string()) return FollowupRef{};
  CPTS_ASSIGN_ROW(discharge,
                  c.rows.Edit(Key({rows::kDischarge, c.cpts, pointer->get<std::string>()})));
  if (discharge == nullptr) return FollowupRef{};
  for (json& followup : (*discharge)["followups"]) {
    if (Str(followup, "followup_id") == id) return FollowupRef{discharge, &followup};
  }
  return FollowupRef{};
}

// The médecin traitant is informed when it takes the follow-up itself: the discharge's GP (or,
// when the hospital named none, any GP given the GP visit) acknowledges or completes it.
bool InformsGp(const json& discharge, const json& followup) {
  const std::string_view gp = Str(discharge, "gp");
  return gp.empty() ? Str(followup, "need") == "gp_visit" : Str(followup, "professional") == gp;
}

Status FollowupAcknowledged(const Ctx& c) {
  CPTS_ASSIGN_ROW(ref, FindFollowup(c));
  if (ref.followup == nullptr || Str(*ref.followup, "status") != "assigned") return Status::Ok();
  (*ref.followup)["status"] = "acknowledged";
  (*ref.followup)["acknowledged_at"] = c.event.time;
  KeepEarliest(*ref.discharge, "first_contact_ms", c.at_ms);
  if (InformsGp(*ref.discharge, *ref.followup)) {
    KeepEarliest(*ref.discharge, "gp_informed_ms", c.at_ms);
  }
  return Status::Ok();
}

Status FollowupCompleted(const Ctx& c) {
  CPTS_ASSIGN_ROW(ref, FindFollowup(c));
  if (ref.followup == nullptr || Str(*ref.followup, "status") != "acknowledged") {
    return Status::Ok();
  }
  json& discharge = *ref.discharge;
  const int64_t visited_ms = TimeMs(Str(c.data, "visited_at"));
  (*ref.followup)["status"] = "completed";
  (*ref.followup)["visited_at"] = Str(c.data, "visited_at");
  (*ref.followup)["completed_at"] = c.event.time;
  KeepEarliest(discharge, "first_contact_ms", std::min(visited_ms, c.at_ms));
  if (InformsGp(discharge, *ref.followup)) KeepEarliest(discharge, "gp_informed_ms", c.at_ms);
  if (Str(*ref.followup, "need") == "gp_visit") KeepEarliest(discharge, "gp_visit_ms", visited_ms);
  const std::string before = VisitClass(discharge);
  KeepEarliest(discharge, "first_visit_ms", visited_ms);
  const std::string after = VisitClass(discharge);
  if (AwaitsVisit(discharge) && !Bool(discharge, "cancelled") && before != after) {
    CPTS_ASSIGN_ROW(stats, HandoffStats(c));
    Add(*stats, before.empty() ? "awaiting_visit" : before, -1);
    Add(*stats, after, 1);
    if (before.empty()) {
      c.rows.Erase(Key({rows::kAwaitingVisit, c.cpts, Str(discharge, "discharge_id")}));
    }
  }
  return Status::Ok();
}

// --- Unscheduled care.

Result<json*> SnpStats(const Ctx& c) {
  return c.rows.EditOrCreate(Key({rows::kSnpStats, c.cpts}), [] {
    return json{{"received", 0}, {"given", 0}, {"given_within_48h", 0}, {"redirected", 0}};
  });
}

Status SnpReceived(const Ctx& c) {
  const std::string id(Str(c.data, "request_id"));
  json request = std::move(c.data);
  request["received_ms"] = TimeMs(Str(request, "received_at"));
  request["status"] = "open";
  request["slots"] = json::array();
  c.rows.Put(Key({rows::kSnpOpen, c.cpts, id}), request["received_ms"]);
  c.rows.Put(Key({rows::kSnp, c.cpts, id}), std::move(request));
  CPTS_ASSIGN_ROW(stats, SnpStats(c));
  Add(*stats, "received", 1);
  return Status::Ok();
}

Result<json*> OpenSnp(const Ctx& c) {
  CPTS_ASSIGN_ROW(request, c.rows.Edit(Key({rows::kSnp, c.cpts, Str(c.data, "request_id")})));
  if (request == nullptr) return request;
  const std::string_view status = Str(*request, "status");
  return status == "open" || status == "slot_offered" ? request : nullptr;
}

Status SnpSlotOffered(const Ctx& c) {
  CPTS_ASSIGN_ROW(request, OpenSnp(c));
  if (request == nullptr) return Status::Ok();
  (*request)["status"] = "slot_offered";
  (*request)["slots"].push_back(
      {{"professional", Str(c.data, "professional")}, {"slot_at", Str(c.data, "slot_at")}});
  return Status::Ok();
}

Status SnpClosed(const Ctx& c, const char* status) {
  CPTS_ASSIGN_ROW(request, OpenSnp(c));
  if (request == nullptr) return Status::Ok();
  CPTS_ASSIGN_ROW(stats, SnpStats(c));
  (*request)["status"] = status;
  if (std::string_view(status) == "given") {
    const int64_t given_ms = TimeMs(Str(c.data, "given_at"));
    const bool within = given_ms - Int(*request, "received_ms") <= 48 * kHourMs;
    (*request)["given_at"] = Str(c.data, "given_at");
    (*request)["professional"] = Str(c.data, "professional");
    (*request)["within_48h"] = within;
    Add(*stats, "given", 1);
    if (within) Add(*stats, "given_within_48h", 1);
  } else {
    (*request)["redirected_to"] = Str(c.data, "redirected_to");
    (*request)["redirected_at"] = Str(c.data, "redirected_at");
    CopyIf(c.data, *request, "note");
    Add(*stats, "redirected", 1);
  }
  c.rows.Erase(Key({rows::kSnpOpen, c.cpts, Str(c.data, "request_id")}));
  return Status::Ok();
}

// --- Prevention.

Status CampaignLaunched(const Ctx& c) {
  std::string key = Key({rows::kCampaign, c.cpts, Str(c.data, "campaign_id")});
  json campaign = std::move(c.data);
  for (json& site : campaign["sites"]) site["participations"] = 0;
  campaign["participations"] = 0;
  campaign["status"] = "open";
  campaign["launched_at"] = c.event.time;
  c.rows.Put(std::move(key), std::move(campaign));
  return Status::Ok();
}

Status ParticipationRecorded(const Ctx& c) {
  const std::string id(Str(c.data, "campaign_id"));
  const std::string site_id(Str(c.data, "site_id"));
  CPTS_ASSIGN_ROW(campaign, c.rows.Edit(Key({rows::kCampaign, c.cpts, id})));
  if (campaign == nullptr) return Status::Ok();
  Add(*campaign, "participations", 1);
  for (json& site : (*campaign)["sites"]) {
    if (Str(site, "site_id") == site_id) Add(site, "participations", 1);
  }
  const std::string day = ParisDate(TimeMs(Str(c.data, "participated_at")));
  std::string key = Key({rows::kCampaignDay, c.cpts, id, day, site_id});
  CPTS_ASSIGN_ROW(count, c.rows.EditOrCreate(std::move(key), [&] {
    return json{{"day", day}, {"site_id", site_id}, {"participations", 0}};
  }));
  Add(*count, "participations", 1);
  return Status::Ok();
}

Status CampaignClosed(const Ctx& c) {
  CPTS_ASSIGN_ROW(campaign,
                  c.rows.Edit(Key({rows::kCampaign, c.cpts, Str(c.data, "campaign_id")})));
  if (campaign == nullptr) return Status::Ok();
  (*campaign)["status"] = "closed";
  (*campaign)["closed_at"] = c.event.time;
  return Status::Ok();
}

// --- Commands refused.

Status CommandRejected(const Ctx& c) {
  CPTS_ASSIGN_ROW(row, c.rows.EditOrCreate(Key({rows::kRejections, c.cpts}), [] {
    return json{{"total", 0}, {"by_code", json::object()}, {"by_command_type", json::object()}};
  }));
  Add(*row, "total", 1);
  Add((*row)["by_code"], Str(c.data, "code"), 1);
  Add((*row)["by_command_type"], Str(c.data, "command_type"), 1);
  return Status::Ok();
}

// --- Health data: identities (sealed) and erasure.

// Moves an event's sealed identity block out of its data into identity/<cpts>/<patient>: the
// latest block wins (a new admission may carry a new phone number). Read models never see a
// clear identity: queries open the block with the patient's key (projections/patient_reads.h).
void TakeIdentity(events::Envelope& event, RowBatch& rows) {
  const auto block = event.data.find("identity");
  if (block == event.data.end()) return;
  std::string_view patient = Str(event.data, "patient");  // a view into data, which outlives it
  if (patient.empty()) patient = Str(event.data, "participant");
  if (!patient.empty()) {
    rows.Put(Key({rows::kIdentity, event.cptsid, patient}),
             {{"sealed", std::move(*block)}, {"updated_at", event.time}});
  }
  event.data.erase(block);
}

// The identity row keeps only the fact of the erasure: the sealed block (which no key opens any
// more) goes too, so a read model holds nothing of the person. Their pseudonym stays in the other
// rows, as in the log: it identifies no one without the pseudonymisation secret.
Status PatientErased(const Ctx& c) {
  c.rows.Put(Key({rows::kIdentity, c.cpts, Str(c.data, "patient")}),
             {{"erased", true}, {"erased_at", c.event.time}, {"basis", Str(c.data, "basis")}});
  return Status::Ok();
}

using Handler = std::function<Status(const Ctx&)>;

const std::unordered_map<std::string, Handler>& Handlers() {
  static const auto* handlers = new std::unordered_map<std::string, Handler>{
      {"fr.cpts.cpts.registered.v1", &CptsRegistered},
      {"fr.cpts.cpts.aci_signed.v1", &AciSigned},
      {"fr.cpts.membership.member_joined.v1", &MemberJoined},
      {"fr.cpts.membership.member_left.v1", &MemberLeft},
      {"fr.cpts.membership.member_updated.v1", &MemberUpdated},
      {"fr.cpts.access.gp_capacity_declared.v1", &CapacityDeclared},
      {"fr.cpts.access.patient_registered.v2", &PatientRegistered},
      {"fr.cpts.access.referral_issued.v1", &ReferralIssued},
      {"fr.cpts.access.referral_accepted.v1",
       [](const Ctx& c) { return Answer(c, Str(c.data, "referral_id"), "accepted"); }},
      {"fr.cpts.access.referral_declined.v1",
       [](const Ctx& c) { return Answer(c, Str(c.data, "referral_id"), "declined"); }},
      {"fr.cpts.access.gp_assigned.v1", &GpAssigned},
      {"fr.cpts.access.request_withdrawn.v1",
       [](const Ctx& c) { return CloseRequest(c, "withdrawn"); }},
      {"fr.cpts.stay.admission_notified.v1", &AdmissionNotified},
      {"fr.cpts.discharge.notified.v1", &DischargeNotified},
      {"fr.cpts.discharge.cancelled.v1", &DischargeCancelled},
      {"fr.cpts.followup.assigned.v1", &FollowupAssigned},
      {"fr.cpts.followup.acknowledged.v1", &FollowupAcknowledged},
      {"fr.cpts.followup.completed.v1", &FollowupCompleted},
      {"fr.cpts.snp.request_received.v1", &SnpReceived},
      {"fr.cpts.snp.slot_offered.v1", &SnpSlotOffered},
      {"fr.cpts.snp.care_given.v1", [](const Ctx& c) { return SnpClosed(c, "given"); }},
      {"fr.cpts.snp.request_redirected.v1",
       [](const Ctx& c) { return SnpClosed(c, "redirected"); }},
      {"fr.cpts.prevention.campaign_launched.v1", &CampaignLaunched},
      {"fr.cpts.prevention.participation_recorded.v1", &ParticipationRecorded},
      {"fr.cpts.prevention.campaign_closed.v1", &CampaignClosed},
      {"fr.cpts.patient.erased.v1", &PatientErased},
      {"fr.cpts.command.rejected.v1", &CommandRejected},
  };
  return *handlers;
}

}  // namespace

Status Apply(events::Envelope& event, RowBatch& rows) {
  const auto handler = Handlers().find(event.type);
  // A type this build has no read model for changes no row (the catalogue test keeps the list
  // complete for the types of today).
  if (handler == Handlers().end()) return Status::Ok();
  // The sealed identity goes to its own row, and nowhere else, before any handler copies the
  // data into a row: erasure then has one row per patient to clear.
  TakeIdentity(event, rows);
  const Ctx ctx{event, event.data, event.cptsid, TimeMs(event.time), rows};
  return handler->second(ctx);
}

PriorityGroup PriorityOf(bool ald, bool c2s, std::string_view age_band) {
  if (ald) return PriorityGroup::kAld;
  if (c2s) return PriorityGroup::kC2s;
  if (age_band == "70-79" || age_band == "80+") return PriorityGroup::kSeventyPlus;
  return PriorityGroup::kOther;
}

const char* PriorityGroupName(PriorityGroup group) {
  switch (group) {
    case PriorityGroup::kAld:
      return "ald";
    case PriorityGroup::kC2s:
      return "c2s";
    case PriorityGroup::kSeventyPlus:
      return "70+";
    case PriorityGroup::kOther:
      return "other";
  }
  return "other";
}

const char* DeadlineStateName(DeadlineState state) {
  switch (state) {
    case DeadlineState::kNotApplicable:
      return "not_applicable";
    case DeadlineState::kPending:
      return "pending";
    case DeadlineState::kOverdue:
      return "overdue";
    case DeadlineState::kMet:
      return "met";
    case DeadlineState::kMetLate:
      return "met_late";
  }
  return "not_applicable";
}

HandoffDeadlines ComputeDeadlines(const json& discharge, int64_t clock_ms) {
  HandoffDeadlines d;
  if (Bool(discharge, "cancelled")) {
    d.status = "cancelled";
    return d;
  }
  if (!CityHandoff(discharge)) {
    d.status = "not_applicable";
    return d;
  }
  const int64_t discharged = Int(discharge, "discharged_ms");
  const json needs = discharge.value("needs", json::array());
  const auto judge = [&](Deadline& deadline, int64_t due, const char* met_field) {
    deadline.due_ms = due;
    if (discharge.contains(met_field)) {
      deadline.met_ms = Int(discharge, met_field);
      deadline.state = *deadline.met_ms <= due ? DeadlineState::kMet : DeadlineState::kMetLate;
    } else {
      deadline.state = clock_ms > due ? DeadlineState::kOverdue : DeadlineState::kPending;
    }
  };
  judge(d.gp_informed, EndOfParisDayMs(discharged) - 1, "gp_informed_ms");
  if (!needs.empty()) judge(d.first_contact, discharged + 48 * kHourMs, "first_contact_ms");
  if (std::find(needs.begin(), needs.end(), "gp_visit") != needs.end()) {
    judge(d.gp_visit, discharged + 7 * kDayMs, "gp_visit_ms");
  }
  bool overdue = false, pending = false;
  for (const Deadline* x : {&d.gp_informed, &d.first_contact, &d.gp_visit}) {
    if (x->state == DeadlineState::kOverdue) overdue = true;
    if (x->state == DeadlineState::kPending) pending = true;
    if ((x->state == DeadlineState::kOverdue || x->state == DeadlineState::kPending) &&
        (!d.next_due_ms || *x->due_ms < *d.next_due_ms)) {
      d.next_due_ms = x->due_ms;
    }
  }
  d.status = overdue ? "overdue" : pending ? "pending" : "done";
  return d;
}

}  // namespace cpts::projections
