#include "tests/aggregates/decider_test_util.h"

#include <gtest/gtest.h>

#include <utility>

#include "aggregates/internal.h"
#include "events/codec.h"

namespace cpts::aggregates::testing {

using events::testing::SampleData;
using events::testing::SamplePseudonym;

std::string Patient(int n) { return SamplePseudonym(n); }

std::string ProfessionalActor(std::string_view member_id) {
  return "professional:" + std::string(member_id);
}

std::string HospitalActor(std::string_view finess) { return "hospital:" + std::string(finess); }

json Sample(std::string_view event_type, const json& changes) {
  json data = SampleData(event_type);
  data.merge_patch(changes);
  return data;
}

json CommandSample(std::string_view command_type, const json& changes) {
  const events::EventTypeSpec* spec = FindCommandType(command_type);
  if (spec == nullptr) return json();
  const json event_sample = SampleData(internal::EventTypeFor(command_type));
  json data = json::object();
  for (const auto& field : spec->fields) {
    const auto it = event_sample.find(field.name);
    if (it != event_sample.end()) data[std::string(field.name)] = *it;
  }
  data.merge_patch(changes);
  return data;
}

NewEvent Event(std::string_view type, json data) {
  return NewEvent{.type = std::string(type), .data = std::move(data), .subject = std::nullopt};
}

Command Cmd(std::string_view type, json data, std::string_view actor) {
  static int next_id = 0;
  return Command{.command_id = "cmd-" + std::to_string(++next_id),
                 .type = std::string(type),
                 .cptsid = std::string(kCpts),
                 .actor = std::string(actor),
                 .issued_at = "2026-11-22T16:05:00+01:00",
                 .correlation_id = std::nullopt,
                 .data = std::move(data)};
}

NewEvent Registered() {
  return Event("fr.cpts.cpts.registered.v1", SampleData("fr.cpts.cpts.registered.v1"));
}

NewEvent Joined(std::string_view member_id, std::string_view profession) {
  return Event("fr.cpts.membership.member_joined.v1",
               Sample("fr.cpts.membership.member_joined.v1",
                      {{"member_id", member_id},
                       {"profession", profession},
                       {"display_name", "Member " + std::string(member_id)}}));
}

NewEvent Left(std::string_view member_id) {
  return Event("fr.cpts.membership.member_left.v1",
               Sample("fr.cpts.membership.member_left.v1", {{"member_id", member_id}}));
}

NewEvent CapacityDeclared(std::string_view gp, int capacity) {
  return Event("fr.cpts.access.gp_capacity_declared.v1",
               {{"gp", gp}, {"new_patients_capacity", capacity}});
}

NewEvent PatientRegistered(int patient) {
  return Event("fr.cpts.access.patient_registered.v2",
               Sample("fr.cpts.access.patient_registered.v2", {{"patient", Patient(patient)}}));
}

NewEvent ReferralIssued(std::string_view id, int patient, std::string_view gp) {
  return Event("fr.cpts.access.referral_issued.v1",
               {{"referral_id", id}, {"patient", Patient(patient)}, {"gp", gp}});
}

NewEvent ReferralAccepted(std::string_view id, int patient, std::string_view gp) {
  return Event("fr.cpts.access.referral_accepted.v1",
               {{"referral_id", id}, {"patient", Patient(patient)}, {"gp", gp}});
}

NewEvent DischargeNotified(std::string_view id, std::string_view movement,
                           std::string_view finess) {
  return Event("fr.cpts.discharge.notified.v1",
               Sample("fr.cpts.discharge.notified.v1",
                      {{"discharge_id", id}, {"movement_id", movement}, {"finess", finess}}));
}

NewEvent DischargeCancelled(std::string_view id, std::string_view movement) {
  return Event(
      "fr.cpts.discharge.cancelled.v1",
      Sample("fr.cpts.discharge.cancelled.v1", {{"discharge_id", id}, {"movement_id", movement}}));
}

NewEvent FollowupAssigned(std::string_view id, std::string_view discharge,
                          std::string_view professional) {
  return Event(
      "fr.cpts.followup.assigned.v1",
      Sample("fr.cpts.followup.assigned.v1",
             {{"followup_id", id}, {"discharge_id", discharge}, {"professional", professional}}));
}

NewEvent FollowupAcknowledged(std::string_view id, std::string_view professional) {
  return Event("fr.cpts.followup.acknowledged.v1",
               {{"followup_id", id}, {"professional", professional}});
}

NewEvent FollowupCompleted(std::string_view id, std::string_view professional) {
  return Event("fr.cpts.followup.completed.v1",
               Sample("fr.cpts.followup.completed.v1",
                      {{"followup_id", id}, {"professional", professional}}));
}

NewEvent SnpRequestReceived(std::string_view id) {
  return Event("fr.cpts.snp.request_received.v1",
               Sample("fr.cpts.snp.request_received.v1", {{"request_id", id}}));
}

NewEvent CampaignLaunched(std::string_view id) {
  return Event("fr.cpts.prevention.campaign_launched.v1",
               Sample("fr.cpts.prevention.campaign_launched.v1", {{"campaign_id", id}}));
}

NewEvent CampaignClosed(std::string_view id) {
  return Event("fr.cpts.prevention.campaign_closed.v1", {{"campaign_id", id}});
}

events::Envelope Wrap(const NewEvent& event, uint64_t sequence) {
  events::Envelope e;
  e.cptsid = std::string(kCpts);
  e.sequence = Sequence(sequence);
  e.source = "/cpts/" + e.cptsid;
  e.type = event.type;
  e.time = "2026-11-22T15:05:00.123Z";
  e.subject = event.subject;
  e.prevhash = sequence == 1 ? std::string(events::kGenesisHash)
                             : events::Sha256Hex(std::to_string(sequence - 1));
  e.causationid = "cmd-" + std::to_string(sequence);
  e.correlationid = e.causationid;
  e.id = events::DeterministicEventId(e.cptsid, e.sequence, e.causationid);
  e.actor = std::string(kCoordinator);
  e.data = event.data;
  return e;
}

std::string Render(const NewEvent& event) {
  std::string line = event.type + " " + events::CanonicalJson(event.data);
  for (int n = 1; n <= 9; ++n) {
    const std::string pseudonym = Patient(n);
    const std::string shown = "patient-" + std::to_string(n);
    for (size_t at = line.find(pseudonym); at != std::string::npos; at = line.find(pseudonym)) {
      line.replace(at, pseudonym.size(), shown);
    }
  }
  return line;
}

std::string Render(const Decision& decision) {
  if (decision.event) return Render(*decision.event);
  if (decision.rejection) return "rejected: " + decision.rejection->code;
  return "nothing";
}

Scenario::Scenario(const std::vector<NewEvent>& history) {
  for (const NewEvent& event : history) Apply(event);
}

void Scenario::Apply(const NewEvent& event) { Evolve(state_, Wrap(event, ++sequence_)); }

Scenario& Scenario::When(Command command) {
  decision_ = Decide(command, state_);
  return *this;
}

Scenario& Scenario::Then(const NewEvent& expected, std::source_location where) {
  const ::testing::ScopedTrace trace(where.file_name(), static_cast<int>(where.line()), Trace());
  EXPECT_EQ(Render(decision_), Render(expected));
  if (decision_.event) {
    // What the command processor will check before it appends.
    const Status valid = events::ValidateEnvelope(Wrap(*decision_.event, sequence_ + 1));
    EXPECT_TRUE(valid.ok()) << valid.ToString();
    Apply(*decision_.event);
  }
  return *this;
}

Scenario& Scenario::ThenRejected(std::string_view code, std::source_location where) {
  const ::testing::ScopedTrace trace(where.file_name(), static_cast<int>(where.line()), Trace());
  EXPECT_EQ(Render(decision_), "rejected: " + std::string(code));
  if (decision_.rejection) {
    EXPECT_FALSE(decision_.rejection->reason.empty());
    EXPECT_LE(decision_.rejection->reason.size(), 500u);  // command.rejected.v1's limit
  }
  return *this;
}

Scenario& Scenario::ThenNothing(std::source_location where) {
  const ::testing::ScopedTrace trace(where.file_name(), static_cast<int>(where.line()), Trace());
  EXPECT_EQ(Render(decision_), "nothing");
  return *this;
}

std::string Scenario::Trace() const {
  return decision_.rejection ? "the scenario; reason given: " + reason() : "the scenario";
}

std::string Scenario::reason() const {
  return decision_.rejection ? decision_.rejection->reason : std::string();
}

Scenario Given(const std::vector<NewEvent>& history) { return Scenario(history); }

}  // namespace cpts::aggregates::testing
