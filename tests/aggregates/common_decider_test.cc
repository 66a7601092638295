// What holds for every command and every event: accepted data is valid for its event type,
// subjects never name a patient, Evolve takes any history without failing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "aggregates/internal.h"
#include "events/catalogue.h"
#include "events/codec.h"
#include "tests/aggregates/decider_test_util.h"

namespace cpts::aggregates::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A history in which the command's sample data (CommandSample) is accepted.
std::vector<NewEvent> HistoryAccepting(std::string_view command_type) {
  if (command_type == "cpts.register") return {};
  const NewEvent referral = ReferralIssued("REF-0001", 1);
  const NewEvent discharge = DischargeNotified("DIS-3001", "MVT-1002");
  const NewEvent followup = FollowupAssigned("FU-4001", "DIS-3001");
  const std::map<std::string_view, std::vector<NewEvent>> needs = {
      {"access.issue_referral", {PatientRegistered(1)}},
      {"access.accept_referral", {PatientRegistered(1), referral}},
      {"access.decline_referral", {PatientRegistered(1), referral}},
      {"access.assign_gp", {PatientRegistered(1), referral, ReferralAccepted("REF-0001", 1)}},
      {"access.withdraw_request", {PatientRegistered(1)}},
      {"discharge.cancel", {discharge}},
      {"followup.assign", {discharge}},
      {"followup.acknowledge", {discharge, followup}},
      {"followup.complete", {discharge, followup, FollowupAcknowledged("FU-4001")}},
      {"snp.offer_slot", {SnpRequestReceived("SNP-5001")}},
      {"snp.give_care", {SnpRequestReceived("SNP-5001")}},
      {"snp.redirect", {SnpRequestReceived("SNP-5001")}},
      {"prevention.record_participation", {CampaignLaunched("CAMP-2026-OR")}},
      {"prevention.close_campaign", {CampaignLaunched("CAMP-2026-OR")}},
  };
  // The samples' GP is not yet a member: membership.join must admit them.
  std::vector<NewEvent> history = {Registered(), Joined(kNurse, "nurse")};
  if (command_type != "membership.join") {
    history.push_back(Joined(kGp));
    history.push_back(CapacityDeclared(kGp, 5));
  }
  if (const auto it = needs.find(command_type); it != needs.end()) {
    history.insert(history.end(), it->second.begin(), it->second.end());
  }
  return history;
}

// Decides every command type's sample in a history that accepts it.
std::map<std::string, Decision> AcceptedSamples() {
  std::map<std::string, Decision> decisions;
  for (const auto& spec : CommandTypes()) {
    const std::string type(spec.type);
    decisions[type] = Given(HistoryAccepting(type)).When(Cmd(type, CommandSample(type))).decision();
  }
  return decisions;
}

TEST(EveryCommandType, YieldsAnEventWhoseDataIsValidForItsType) {
  for (const auto& [type, decision] : AcceptedSamples()) {
    ASSERT_TRUE(decision.event) << type << ": " << Render(decision) << " "
                                << (decision.rejection ? decision.rejection->reason : "");
    EXPECT_EQ(decision.event->type, internal::EventTypeFor(type)) << type;
    const events::EventTypeSpec* spec = events::FindEventType(decision.event->type);
    ASSERT_NE(spec, nullptr) << type;
    const Status valid = events::ValidateData(*spec, decision.event->data);
    EXPECT_TRUE(valid.ok()) << type << ": " << valid.ToString();
  }
}

TEST(EveryCommandType, YieldsAnEventThatPassesValidateEnvelope) {
  for (const auto& [type, decision] : AcceptedSamples()) {
    ASSERT_TRUE(decision.event) << type;
    const Status valid = events::ValidateEnvelope(Wrap(*decision.event, 7));
    EXPECT_TRUE(valid.ok()) << type << ": " << valid.ToString();
  }
}

TEST(EveryCommandType, YieldsASubjectThatNeverNamesAPatient) {
  for (const auto& [type, decision] : AcceptedSamples()) {
    ASSERT_TRUE(decision.event) << type;
    if (!decision.event->subject) continue;
    EXPECT_THAT(*decision.event->subject, Not(HasSubstr(Patient(1)))) << type;
    EXPECT_THAT(*decision.event->subject, Not(HasSubstr(Patient(2)))) << type;
  }
}

TEST(EveryCommandType, IsRejectedForAnUnregisteredCptsButRegister) {
  for (const auto& spec : CommandTypes()) {
    if (spec.type == "cpts.register") continue;
    const Decision decision = Decide(Cmd(spec.type, CommandSample(spec.type)), CptsState{});
    EXPECT_EQ(Render(decision), "rejected: unknown_cpts") << spec.type;
  }
}

TEST(Subject, NamesTheEntityTheEventIsAbout) {
  const auto decisions = AcceptedSamples();
  const std::map<std::string, std::string> expected = {
      {"access.accept_referral", "referral/REF-0001"},
      {"discharge.notify", "discharge/DIS-3001"},
      {"followup.complete", "followup/FU-4001"},
      {"membership.join", "member/rpps:10003456786"},
      {"snp.give_care", "snp/SNP-5001"},
      {"prevention.close_campaign", "campaign/CAMP-2026-OR"},
      {"stay.notify_admission", "admission/250000015/MVT-1001"},
  };
  for (const auto& [type, subject] : expected) {
    EXPECT_EQ(decisions.at(type).event->subject.value_or("(none)"), subject) << type;
  }
}

TEST(Subject, IsLeftOutForAPatientRequest) {
  EXPECT_FALSE(AcceptedSamples().at("access.register_patient").event->subject);
}

TEST(Subject, IsLeftOutWhenItWouldExceedTheEnvelopeLimit) {
  std::string id;
  for (int i = 0; i < 100; ++i) id += "é";  // 100 characters, 200 bytes
  Scenario scenario = Given({Registered()});
  scenario.When(
      Cmd("snp.receive_request", CommandSample("snp.receive_request", {{"request_id", id}})));
  ASSERT_TRUE(scenario.decision().event);
  EXPECT_FALSE(scenario.decision().event->subject);
  EXPECT_TRUE(events::ValidateEnvelope(Wrap(*scenario.decision().event, 2)).ok());
}

TEST(Decide, RejectsAnUnknownCommandType) {
  Given({Registered()})
      .When(Cmd("access.teleport_patient", json::object()))
      .ThenRejected("unknown_command");
}

TEST(Decide, RejectsAnInvalidActorAsForbidden) {
  Given({Registered()})
      .When(Cmd("cpts.sign_aci", CommandSample("cpts.sign_aci"), "nobody"))
      .ThenRejected("forbidden");
}

// --- Evolve over history that does not fit today's rules.

TEST(Evolve, IgnoresEventsAboutThingsItDoesNotKnow) {
  Scenario scenario =
      Given({Registered(), FollowupAcknowledged("F-unknown"), FollowupCompleted("F-unknown"),
             ReferralAccepted("R-unknown", 1), DischargeCancelled("D-unknown", "M1"), Left(kNurse),
             CapacityDeclared(kGp, 3), CampaignClosed("C-unknown"),
             Event("fr.cpts.snp.care_given.v1", Sample("fr.cpts.snp.care_given.v1")),
             Event("fr.cpts.access.gp_assigned.v1", {{"patient", Patient(3)}, {"gp", kGp}})});
  EXPECT_TRUE(scenario.state().followups.empty());
  EXPECT_TRUE(scenario.state().referrals.empty());
  EXPECT_TRUE(scenario.state().discharges.empty());
  EXPECT_TRUE(scenario.state().members.empty());
  EXPECT_TRUE(scenario.state().campaigns.empty());
  EXPECT_TRUE(scenario.state().snp_requests.empty());
}

TEST(Evolve, IgnoresRejectionsAndTypesItDoesNotRead) {
  const Scenario scenario = Given(
      {Registered(), Event("fr.cpts.command.rejected.v1", Sample("fr.cpts.command.rejected.v1")),
       Event("fr.cpts.unknown.thing_happened.v1", {{"x", 1}})});
  EXPECT_TRUE(scenario.state().registered);
}

TEST(Evolve, TakesDataMissingFieldsOrOfTheWrongShapeWithoutFailing) {
  CptsState state;
  uint64_t sequence = 0;
  for (const auto& spec : events::EventTypes()) {
    for (const json& data : {json::object(), json::array(), json("text"), json(nullptr),
                             json{{"referral_id", 7}, {"sites", "S1"}, {"territory", {1, 2}}}}) {
      events::Envelope envelope = Wrap(Event(spec.type, data), ++sequence);
      Evolve(state, envelope);
    }
  }
  // Still a usable state: a CPTS registers and decides as usual.
  Evolve(state, Wrap(Registered(), ++sequence));
  EXPECT_EQ(Render(Decide(Cmd("membership.leave", {{"member_id", kGp}}), state)),
            "rejected: not_a_member");
}

TEST(Evolve, KeepsTheFirstDischargeWhenAnIdComesTwice) {
  // Written before the duplicate_discharge rule existed: the first movement stays the one.
  Given({Registered(), DischargeNotified("D1", "M1"), DischargeNotified("D1", "M2")})
      .When(Cmd("discharge.cancel",
                CommandSample("discharge.cancel", {{"discharge_id", "D1"}, {"movement_id", "M1"}})))
      .Then(DischargeCancelled("D1", "M1"));
}

}  // namespace
}  // namespace cpts::aggregates::testing
