// Who may send what (aggregates/actor.h): admins and systems anything, a coordinator anything in
// its own CPTS, a hospital its own admissions and discharges, a professional what is theirs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/aggregates/decider_test_util.h"

namespace cpts::aggregates::testing {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kGpActor = "professional:rpps:10003456786";       // kGp
constexpr std::string_view kOtherGpActor = "professional:rpps:10000000017";  // kOtherGp
constexpr std::string_view kNurseActor = "professional:rpps:10100000008";    // kNurse
constexpr std::string_view kHospitalActor = "hospital:250000015";            // kHospital
constexpr std::string_view kOtherHospitalActor = "hospital:250000023";       // kOtherHospital

// Two GPs with capacity, patient 1 referred to kGp (R1), a nurse with follow-up F1 of
// discharge D1 from kHospital, request SNP-5001 and campaign CAMP-2026-OR.
std::vector<NewEvent> Everything() {
  return {Registered(),
          Joined(kGp),
          Joined(kOtherGp),
          Joined(kNurse, "nurse"),
          CapacityDeclared(kGp, 5),
          CapacityDeclared(kOtherGp, 5),
          PatientRegistered(1),
          ReferralIssued("R1", 1),
          DischargeNotified("D1", "M1"),
          FollowupAssigned("F1", "D1"),
          SnpRequestReceived("SNP-5001"),
          CampaignLaunched("CAMP-2026-OR")};
}

Command As(std::string_view actor, std::string_view type, const json& changes = json::object()) {
  return Cmd(type, CommandSample(type, changes), actor);
}

json R1() { return {{"referral_id", "R1"}}; }
json F1() { return {{"followup_id", "F1"}}; }
json D1() { return {{"discharge_id", "D1"}, {"movement_id", "M1"}}; }

// --- Admins, systems, coordinators.

TEST(Scope, LetsAnAdminSendAnything) {
  Given(Everything())
      .When(As(kAdmin, "access.accept_referral", R1()))
      .Then(ReferralAccepted("R1", 1));
}

TEST(Scope, LetsASystemSendAnything) {
  Given(Everything())
      .When(As(kSystem, "discharge.cancel", D1()))
      .Then(DischargeCancelled("D1", "M1"));
}

TEST(Scope, LetsACoordinatorActForAProfessionalOfItsCpts) {
  Given(Everything())
      .When(As(kCoordinator, "followup.acknowledge", F1()))
      .Then(FollowupAcknowledged("F1"));
}

TEST(Scope, ForbidsACoordinatorAnotherCpts) {
  const std::string reason = Given(Everything())
                                 .When(As("coordinator:cpts-haut-doubs:bob", "membership.leave"))
                                 .ThenRejected("forbidden")
                                 .reason();
  EXPECT_EQ(reason, "Only an admin, a system or a coordinator of " + std::string(kCpts) +
                        " may send membership.leave.");
}

TEST(Scope, ForbidsACoordinatorAnotherCptsEvenBeforeItIsRegistered) {
  Given({}).When(As("coordinator:cpts-haut-doubs:bob", "cpts.register")).ThenRejected("forbidden");
}

// --- Hospitals.

TEST(Scope, LetsAHospitalNotifyItsOwnDischarge) {
  Given(Everything())
      .When(As(kHospitalActor, "discharge.notify", {{"discharge_id", "D2"}, {"movement_id", "M2"}}))
      .Then(DischargeNotified("D2", "M2"));
}

TEST(Scope, ForbidsAHospitalToNotifyAnotherHospitalsDischarge) {
  const std::string reason = Given(Everything())
                                 .When(As(kOtherHospitalActor, "discharge.notify",
                                          {{"discharge_id", "D2"}, {"movement_id", "M2"}}))
                                 .ThenRejected("forbidden")
                                 .reason();
  EXPECT_THAT(reason, HasSubstr("or the hospital named by data.finess may send discharge.notify"));
}

TEST(Scope, LetsAHospitalNotifyItsOwnAdmission) {
  Given(Everything())
      .When(As(kHospitalActor, "stay.notify_admission"))
      .Then(Event("fr.cpts.stay.admission_notified.v1",
                  Sample("fr.cpts.stay.admission_notified.v1")));
}

TEST(Scope, ForbidsAHospitalToNotifyAnotherHospitalsAdmission) {
  Given(Everything())
      .When(As(kOtherHospitalActor, "stay.notify_admission"))
      .ThenRejected("forbidden");
}

TEST(Scope, LetsAHospitalCancelItsOwnDischarge) {
  Given(Everything())
      .When(As(kHospitalActor, "discharge.cancel", D1()))
      .Then(DischargeCancelled("D1", "M1"));
}

TEST(Scope, ForbidsAHospitalToCancelAnotherHospitalsDischarge) {
  Given(Everything())
      .When(As(kOtherHospitalActor, "discharge.cancel", D1()))
      .ThenRejected("forbidden");
}

TEST(Scope, TellsAHospitalCancellingAnUnknownDischargeThatItIsUnknown) {
  Given(Everything())
      .When(As(kHospitalActor, "discharge.cancel", {{"discharge_id", "D9"}}))
      .ThenRejected("unknown_discharge");
}

TEST(Scope, ForbidsAHospitalAnythingElse) {
  Given(Everything()).When(As(kHospitalActor, "followup.assign")).ThenRejected("forbidden");
}

// --- Professionals.

TEST(Scope, LetsAGpAcceptAReferralAddressedToThem) {
  Given(Everything())
      .When(As(kGpActor, "access.accept_referral", R1()))
      .Then(ReferralAccepted("R1", 1));
}

TEST(Scope, ForbidsAGpToAcceptAReferralAddressedToAnotherGp) {
  const std::string reason = Given(Everything())
                                 .When(As(kOtherGpActor, "access.accept_referral", R1()))
                                 .ThenRejected("forbidden")
                                 .reason();
  EXPECT_THAT(reason, HasSubstr("or the GP the referral is addressed to may send"));
}

TEST(Scope, LetsAGpDeclineAReferralAddressedToThem) {
  Given(Everything())
      .When(As(kGpActor, "access.decline_referral", R1()))
      .Then(Event("fr.cpts.access.referral_declined.v1",
                  Sample("fr.cpts.access.referral_declined.v1", {{"referral_id", "R1"}})));
}

TEST(Scope, ForbidsAGpToDeclineAReferralAddressedToAnotherGp) {
  Given(Everything())
      .When(As(kOtherGpActor, "access.decline_referral", R1()))
      .ThenRejected("forbidden");
}

TEST(Scope, LetsAGpDeclareTheirOwnCapacity) {
  Given(Everything()).When(As(kGpActor, "access.declare_capacity")).Then(CapacityDeclared(kGp, 15));
}

TEST(Scope, ForbidsAGpToDeclareAnotherGpsCapacity) {
  Given(Everything()).When(As(kOtherGpActor, "access.declare_capacity")).ThenRejected("forbidden");
}

TEST(Scope, LetsAProfessionalAcknowledgeAndCompleteTheirFollowUp) {
  Given(Everything())
      .When(As(kNurseActor, "followup.acknowledge", F1()))
      .Then(FollowupAcknowledged("F1"))
      .When(As(kNurseActor, "followup.complete", F1()))
      .Then(FollowupCompleted("F1"));
}

TEST(Scope, ForbidsAProfessionalToAcknowledgeAnotherProfessionalsFollowUp) {
  Given(Everything()).When(As(kGpActor, "followup.acknowledge", F1())).ThenRejected("forbidden");
}

TEST(Scope, ForbidsAProfessionalToCompleteAnotherProfessionalsFollowUp) {
  Given(Everything()).When(As(kGpActor, "followup.complete", F1())).ThenRejected("forbidden");
}

TEST(Scope, LetsAProfessionalOfferASlotAndGiveCareAsThemselves) {
  Given(Everything())
      .When(As(kGpActor, "snp.offer_slot"))
      .Then(Event("fr.cpts.snp.slot_offered.v1", Sample("fr.cpts.snp.slot_offered.v1")))
      .When(As(kGpActor, "snp.give_care"))
      .Then(Event("fr.cpts.snp.care_given.v1", Sample("fr.cpts.snp.care_given.v1")));
}

TEST(Scope, ForbidsAProfessionalToOfferASlotInAnotherProfessionalsName) {
  Given(Everything()).When(As(kNurseActor, "snp.offer_slot")).ThenRejected("forbidden");
}

TEST(Scope, ForbidsAProfessionalToGiveCareInAnotherProfessionalsName) {
  Given(Everything()).When(As(kNurseActor, "snp.give_care")).ThenRejected("forbidden");
}

TEST(Scope, LetsAProfessionalRecordTheirOwnParticipation) {
  const char* type = "fr.cpts.prevention.participation_recorded.v1";
  Given(Everything())
      .When(As(kGpActor, "prevention.record_participation"))
      .Then(Event(type, Sample(type)));
}

TEST(Scope, ForbidsAProfessionalToRecordAParticipationNotTheirs) {
  Given(Everything())
      .When(As(kGpActor, "prevention.record_participation", {{"professional", nullptr}}))
      .ThenRejected("forbidden");
}

TEST(Scope, ForbidsAProfessionalAnythingElse) {
  Given(Everything())
      .When(As(kGpActor, "access.issue_referral", {{"referral_id", "R2"}}))
      .ThenRejected("forbidden");
}

TEST(Scope, TellsAGpAnsweringAnUnknownReferralThatItIsUnknown) {
  Given(Everything())
      .When(As(kGpActor, "access.accept_referral", {{"referral_id", "R9"}}))
      .ThenRejected("unknown_referral");
}

}  // namespace
}  // namespace cpts::aggregates::testing
