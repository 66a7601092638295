// Access to a médecin traitant: capacity, registration, referrals, assignment, withdrawal.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "aggregates/internal.h"
#include "tests/aggregates/decider_test_util.h"

namespace cpts::aggregates::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kCapacity[] = "fr.cpts.access.gp_capacity_declared.v1";
constexpr char kPatientRegistered[] = "fr.cpts.access.patient_registered.v2";
constexpr char kIssued[] = "fr.cpts.access.referral_issued.v1";
constexpr char kAccepted[] = "fr.cpts.access.referral_accepted.v1";
constexpr char kDeclined[] = "fr.cpts.access.referral_declined.v1";
constexpr char kAssigned[] = "fr.cpts.access.gp_assigned.v1";
constexpr char kWithdrawn[] = "fr.cpts.access.request_withdrawn.v1";

// A GP member with `capacity` declared, and patient 1 waiting.
std::vector<NewEvent> GpWithCapacity(int capacity) {
  return {Registered(), Joined(kGp), CapacityDeclared(kGp, capacity), PatientRegistered(1)};
}

std::vector<NewEvent> Plus(std::vector<NewEvent> history, const std::vector<NewEvent>& more) {
  history.insert(history.end(), more.begin(), more.end());
  return history;
}

Command Issue(std::string_view id, int patient, std::string_view gp = kGp) {
  return Cmd("access.issue_referral",
             {{"referral_id", id}, {"patient", Patient(patient)}, {"gp", gp}});
}

Command AcceptCmd(std::string_view id) {
  return Cmd("access.accept_referral", {{"referral_id", id}});
}

Command Assign(int patient, std::string_view gp = kGp) {
  return Cmd("access.assign_gp", {{"patient", Patient(patient)}, {"gp", gp}});
}

int64_t CapacityLeftOf(const Scenario& scenario, std::string_view gp) {
  return internal::CapacityLeft(scenario.state().members.at(std::string(gp)));
}

// --- Capacity.

TEST(DeclareCapacity, RecordsTheCapacityOfAGpMember) {
  Given({Registered(), Joined(kGp)})
      .When(Cmd("access.declare_capacity", {{"gp", kGp}, {"new_patients_capacity", 15}}))
      .Then(Event(kCapacity, {{"gp", kGp}, {"new_patients_capacity", 15}}));
}

TEST(DeclareCapacity, IsRejectedForSomeoneWhoIsNotAMember) {
  Given({Registered()})
      .When(Cmd("access.declare_capacity", {{"gp", kGp}, {"new_patients_capacity", 15}}))
      .ThenRejected("not_a_gp_member");
}

TEST(DeclareCapacity, IsRejectedForAMemberWhoIsNotAGp) {
  Given({Registered(), Joined(kNurse, "nurse")})
      .When(Cmd("access.declare_capacity", {{"gp", kNurse}, {"new_patients_capacity", 15}}))
      .ThenRejected("not_a_gp_member");
}

TEST(DeclareCapacity, ResetsTheCountOfPatientsTaken) {
  const Scenario scenario =
      Given(Plus(GpWithCapacity(1),
                 {ReferralIssued("R1", 1), ReferralAccepted("R1", 1), CapacityDeclared(kGp, 2)}));
  EXPECT_EQ(CapacityLeftOf(scenario, kGp), 2);
}

TEST(DeclareCapacity, IsForgottenWhenTheGpLeavesAndJoinsAgain) {
  Given({Registered(), Joined(kGp), CapacityDeclared(kGp, 5), Left(kGp), Joined(kGp),
         PatientRegistered(1)})
      .When(Issue("R1", 1))
      .ThenRejected("gp_at_capacity");
}

// --- Registration.

TEST(RegisterPatient, OpensARequest) {
  Given({Registered()})
      .When(Cmd("access.register_patient", CommandSample("access.register_patient")))
      .Then(Event(kPatientRegistered, Sample(kPatientRegistered)));
}

TEST(RegisterPatient, IsRejectedWhileThePatientHasAnOpenRequest) {
  Given({Registered(), PatientRegistered(1)})
      .When(Cmd("access.register_patient", CommandSample("access.register_patient")))
      .ThenRejected("request_already_open");
}

TEST(RegisterPatient, OpensANewRequestAfterTheLastOneEnded) {
  Given({Registered(), PatientRegistered(1),
         Event(kWithdrawn, {{"patient", Patient(1)}, {"reason", "moved_out_of_area"}})})
      .When(Cmd("access.register_patient", CommandSample("access.register_patient")))
      .Then(Event(kPatientRegistered, Sample(kPatientRegistered)));
}

// --- Referrals.

TEST(IssueReferral, RefersAWaitingPatientToAGpWithCapacity) {
  Given(GpWithCapacity(1))
      .When(Issue("R1", 1))
      .Then(Event(kIssued, {{"referral_id", "R1"}, {"patient", Patient(1)}, {"gp", kGp}}));
}

TEST(IssueReferral, IsRejectedForAReferralIdAlreadyUsed) {
  Given(Plus(GpWithCapacity(5), {ReferralIssued("R1", 1), PatientRegistered(2)}))
      .When(Issue("R1", 2))
      .ThenRejected("duplicate_referral");
}

TEST(IssueReferral, IsRejectedForAPatientWithoutAnOpenRequest) {
  Given(GpWithCapacity(1)).When(Issue("R1", 2)).ThenRejected("no_open_request");
}

TEST(IssueReferral, IsRejectedWhileAReferralOfThePatientAwaitsAnAnswer) {
  Given(Plus(GpWithCapacity(5),
             {Joined(kOtherGp), CapacityDeclared(kOtherGp, 5), ReferralIssued("R1", 1)}))
      .When(Issue("R2", 1, kOtherGp))
      .ThenRejected("referral_pending");
}

TEST(IssueReferral, RefersAgainAfterADecline) {
  Given(Plus(GpWithCapacity(5),
             {ReferralIssued("R1", 1),
              Event(kDeclined, Sample(kDeclined, {{"referral_id", "R1"}, {"note", nullptr}}))}))
      .When(Issue("R2", 1))
      .Then(Event(kIssued, {{"referral_id", "R2"}, {"patient", Patient(1)}, {"gp", kGp}}));
}

TEST(IssueReferral, IsRejectedForAGpWhoIsNotAMember) {
  Given(GpWithCapacity(5)).When(Issue("R1", 1, kOtherGp)).ThenRejected("not_a_gp_member");
}

TEST(IssueReferral, IsRejectedForAMemberWhoIsNotAGp) {
  Given(Plus(GpWithCapacity(5), {Joined(kNurse, "nurse")}))
      .When(Issue("R1", 1, kNurse))
      .ThenRejected("not_a_gp_member");
}

TEST(IssueReferral, IsRejectedForAGpWithNoCapacityLeft) {
  const std::string reason =
      Given(Plus(GpWithCapacity(1),
                 {ReferralIssued("R1", 1), ReferralAccepted("R1", 1), PatientRegistered(2)}))
          .When(Issue("R2", 2))
          .ThenRejected("gp_at_capacity")
          .reason();
  EXPECT_THAT(reason, HasSubstr("declared 1, taken 1"));
}

TEST(IssueReferral, IsRejectedForAGpWhoNeverDeclaredACapacity) {
  const std::string reason = Given({Registered(), Joined(kGp), PatientRegistered(1)})
                                 .When(Issue("R1", 1))
                                 .ThenRejected("gp_at_capacity")
                                 .reason();
  EXPECT_THAT(reason, HasSubstr("has not declared a capacity"));
}

TEST(IssueReferral, DoesNotHoldAUnitOfCapacity) {
  // Two patients may be referred to the last unit; the GP's acceptances settle it.
  Given(Plus(GpWithCapacity(1), {ReferralIssued("R1", 1), PatientRegistered(2)}))
      .When(Issue("R2", 2))
      .Then(Event(kIssued, {{"referral_id", "R2"}, {"patient", Patient(2)}, {"gp", kGp}}));
}

TEST(AcceptReferral, RecordsTheAcceptanceWithThePatientAndTheGp) {
  Given(Plus(GpWithCapacity(1), {ReferralIssued("R1", 1)}))
      .When(AcceptCmd("R1"))
      .Then(ReferralAccepted("R1", 1));
}

TEST(AcceptReferral, UsesOneUnitOfTheGpsCapacity) {
  const Scenario scenario =
      Given(Plus(GpWithCapacity(3), {ReferralIssued("R1", 1), ReferralAccepted("R1", 1)}));
  EXPECT_EQ(CapacityLeftOf(scenario, kGp), 2);
}

TEST(AcceptReferral, IsRejectedForAnUnknownReferral) {
  Given(GpWithCapacity(1)).When(AcceptCmd("R9")).ThenRejected("unknown_referral");
}

TEST(AcceptReferral, IsRejectedForAReferralAlreadyAccepted) {
  Given(Plus(GpWithCapacity(5), {ReferralIssued("R1", 1), ReferralAccepted("R1", 1)}))
      .When(AcceptCmd("R1"))
      .ThenRejected("referral_not_pending");
}

TEST(AcceptReferral, IsRejectedForAReferralDeclined) {
  Given(Plus(GpWithCapacity(5), {ReferralIssued("R1", 1),
                                 Event(kDeclined, Sample(kDeclined, {{"referral_id", "R1"}}))}))
      .When(AcceptCmd("R1"))
      .ThenRejected("referral_not_pending");
}

TEST(AcceptReferral, IsRejectedOnceThePatientsRequestEnded) {
  Given(Plus(GpWithCapacity(5),
             {ReferralIssued("R1", 1),
              Event(kWithdrawn, {{"patient", Patient(1)}, {"reason", "found_gp_elsewhere"}})}))
      .When(AcceptCmd("R1"))
      .ThenRejected("referral_not_pending");
}

TEST(AcceptReferral, IsRejectedWhenTheGpLeftTheCpts) {
  Given(Plus(GpWithCapacity(5), {ReferralIssued("R1", 1), Left(kGp)}))
      .When(AcceptCmd("R1"))
      .ThenRejected("not_a_gp_member");
}

TEST(AcceptReferral, IsRejectedWhenTheLastUnitWentToAnotherReferral) {
  // The race: two referrals wait for the GP's last unit; the first acceptance takes it, the
  // second is refused, and the GP never goes above the declared capacity.
  Scenario scenario = Given(Plus(
      GpWithCapacity(1), {PatientRegistered(2), ReferralIssued("R1", 1), ReferralIssued("R2", 2)}));
  scenario.When(AcceptCmd("R1"))
      .Then(ReferralAccepted("R1", 1))
      .When(AcceptCmd("R2"))
      .ThenRejected("gp_at_capacity");
  EXPECT_EQ(CapacityLeftOf(scenario, kGp), 0);
}

TEST(DeclineReferral, RecordsTheDeclineWithThePatientAndTheGp) {
  Given(Plus(GpWithCapacity(1), {ReferralIssued("R1", 1)}))
      .When(Cmd("access.decline_referral",
                {{"referral_id", "R1"}, {"reason", "out_of_area"}, {"note", "Too far."}}))
      .Then(Event(kDeclined, {{"referral_id", "R1"},
                              {"patient", Patient(1)},
                              {"gp", kGp},
                              {"reason", "out_of_area"},
                              {"note", "Too far."}}));
}

TEST(DeclineReferral, IsRejectedForAnUnknownReferral) {
  Given(GpWithCapacity(1))
      .When(Cmd("access.decline_referral", {{"referral_id", "R9"}, {"reason", "other"}}))
      .ThenRejected("unknown_referral");
}

TEST(DeclineReferral, IsRejectedForAReferralAlreadyAccepted) {
  Given(Plus(GpWithCapacity(5), {ReferralIssued("R1", 1), ReferralAccepted("R1", 1)}))
      .When(Cmd("access.decline_referral", {{"referral_id", "R1"}, {"reason", "other"}}))
      .ThenRejected("referral_not_pending");
}

TEST(DeclineReferral, LeavesTheGpsCapacityUntouched) {
  const Scenario scenario = Given(Plus(
      GpWithCapacity(1),
      {ReferralIssued("R1", 1), Event(kDeclined, Sample(kDeclined, {{"referral_id", "R1"}}))}));
  EXPECT_EQ(CapacityLeftOf(scenario, kGp), 1);
}

// --- Assignment and withdrawal.

TEST(AssignGp, ClosesTheRequestThroughTheAcceptedReferral) {
  Given(Plus(GpWithCapacity(1), {ReferralIssued("R1", 1), ReferralAccepted("R1", 1)}))
      .When(Cmd("access.assign_gp", {{"patient", Patient(1)}, {"gp", kGp}, {"referral_id", "R1"}}))
      .Then(Event(kAssigned, {{"patient", Patient(1)}, {"gp", kGp}, {"referral_id", "R1"}}));
}

TEST(AssignGp, ThroughAnAcceptedReferralUsesNoSecondUnit) {
  const Scenario scenario = Given(
      Plus(GpWithCapacity(2),
           {ReferralIssued("R1", 1), ReferralAccepted("R1", 1),
            Event(kAssigned, {{"patient", Patient(1)}, {"gp", kGp}, {"referral_id", "R1"}})}));
  EXPECT_EQ(CapacityLeftOf(scenario, kGp), 1);
}

TEST(AssignGp, WithoutAReferralUsesAUnitOfCapacity) {
  Scenario scenario = Given(GpWithCapacity(2));
  scenario.When(Assign(1)).Then(Event(kAssigned, {{"patient", Patient(1)}, {"gp", kGp}}));
  EXPECT_EQ(CapacityLeftOf(scenario, kGp), 1);
}

TEST(AssignGp, WithoutAReferralIsRejectedForAGpWithNoCapacityLeft) {
  Given(Plus(GpWithCapacity(1),
             {PatientRegistered(2), ReferralIssued("R1", 1), ReferralAccepted("R1", 1)}))
      .When(Assign(2))
      .ThenRejected("gp_at_capacity");
}

TEST(AssignGp, IsRejectedForAPatientWithoutAnOpenRequest) {
  Given(GpWithCapacity(1)).When(Assign(2)).ThenRejected("no_open_request");
}

TEST(AssignGp, IsRejectedForAGpWhoIsNotAMember) {
  Given(GpWithCapacity(1)).When(Assign(1, kOtherGp)).ThenRejected("not_a_gp_member");
}

TEST(AssignGp, IsRejectedWithAReferralNotYetAccepted) {
  Given(Plus(GpWithCapacity(1), {ReferralIssued("R1", 1)}))
      .When(Cmd("access.assign_gp", {{"patient", Patient(1)}, {"gp", kGp}, {"referral_id", "R1"}}))
      .ThenRejected("referral_not_accepted");
}

TEST(AssignGp, IsRejectedWithAReferralAcceptedByAnotherGp) {
  Given(Plus(GpWithCapacity(1),
             {Joined(kOtherGp), CapacityDeclared(kOtherGp, 1), ReferralIssued("R1", 1, kOtherGp),
              ReferralAccepted("R1", 1, kOtherGp)}))
      .When(Cmd("access.assign_gp", {{"patient", Patient(1)}, {"gp", kGp}, {"referral_id", "R1"}}))
      .ThenRejected("referral_not_accepted");
}

TEST(AssignGp, EndsTheRequestSoNoFurtherReferralIsIssued) {
  Given(Plus(GpWithCapacity(5), {Event(kAssigned, {{"patient", Patient(1)}, {"gp", kGp}})}))
      .When(Issue("R1", 1))
      .ThenRejected("no_open_request");
}

TEST(AssignGp, VoidsAReferralStillAwaitingAnAnswer) {
  Given(Plus(GpWithCapacity(5),
             {Joined(kOtherGp), CapacityDeclared(kOtherGp, 5), ReferralIssued("R1", 1, kOtherGp),
              Event(kAssigned, {{"patient", Patient(1)}, {"gp", kGp}})}))
      .When(AcceptCmd("R1"))
      .ThenRejected("referral_not_pending");
}

TEST(WithdrawRequest, EndsTheRequest) {
  Given(GpWithCapacity(1))
      .When(Cmd("access.withdraw_request", {{"patient", Patient(1)}, {"reason", "deceased"}}))
      .Then(Event(kWithdrawn, {{"patient", Patient(1)}, {"reason", "deceased"}}));
}

TEST(WithdrawRequest, IsRejectedForAPatientWithoutAnOpenRequest) {
  Given(GpWithCapacity(1))
      .When(Cmd("access.withdraw_request", {{"patient", Patient(2)}, {"reason", "deceased"}}))
      .ThenRejected("no_open_request");
}

}  // namespace
}  // namespace cpts::aggregates::testing
