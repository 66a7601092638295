// Ville-hôpital: admissions and discharges from hospitals, and the city follow-ups.
#include <gtest/gtest.h>

#include "tests/aggregates/decider_test_util.h"

namespace cpts::aggregates::testing {
namespace {

constexpr char kAdmission[] = "fr.cpts.stay.admission_notified.v1";
constexpr char kDischarge[] = "fr.cpts.discharge.notified.v1";
constexpr char kCancelled[] = "fr.cpts.discharge.cancelled.v1";
constexpr char kAssigned[] = "fr.cpts.followup.assigned.v1";

Command NotifyDischarge(std::string_view id, std::string_view movement,
                        std::string_view finess = kHospital) {
  return Cmd("discharge.notify",
             CommandSample("discharge.notify",
                           {{"discharge_id", id}, {"movement_id", movement}, {"finess", finess}}));
}

Command Cancel(std::string_view id, std::string_view movement) {
  return Cmd("discharge.cancel",
             CommandSample("discharge.cancel", {{"discharge_id", id}, {"movement_id", movement}}));
}

Command AssignFollowup(std::string_view id, std::string_view discharge,
                       std::string_view professional = kNurse) {
  return Cmd("followup.assign", CommandSample("followup.assign", {{"followup_id", id},
                                                                  {"discharge_id", discharge},
                                                                  {"professional", professional}}));
}

Command Acknowledge(std::string_view id) {
  return Cmd("followup.acknowledge", {{"followup_id", id}});
}

Command Complete(std::string_view id) {
  return Cmd("followup.complete",
             {{"followup_id", id}, {"visited_at", "2026-11-24T09:00:00+01:00"}});
}

// A nurse member and discharge D1 (movement M1) with follow-up F1 assigned to the nurse.
std::vector<NewEvent> WithFollowup() {
  return {Registered(), Joined(kNurse, "nurse"), DischargeNotified("D1", "M1"),
          FollowupAssigned("F1", "D1")};
}

std::vector<NewEvent> Plus(std::vector<NewEvent> history, const std::vector<NewEvent>& more) {
  history.insert(history.end(), more.begin(), more.end());
  return history;
}

// --- Admissions.

TEST(NotifyAdmission, RecordsTheAdmission) {
  Given({Registered()})
      .When(Cmd("stay.notify_admission", CommandSample("stay.notify_admission")))
      .Then(Event(kAdmission, Sample(kAdmission)));
}

TEST(NotifyAdmission, ChangesNothingForAMovementAlreadyReceived) {
  Given({Registered(), Event(kAdmission, Sample(kAdmission))})
      .When(Cmd("stay.notify_admission", CommandSample("stay.notify_admission")))
      .ThenNothing();
}

TEST(NotifyAdmission, TellsHospitalsApartWhenTheyUseTheSameMovementId) {
  Given({Registered(), Event(kAdmission, Sample(kAdmission))})
      .When(Cmd("stay.notify_admission",
                CommandSample("stay.notify_admission", {{"finess", kOtherHospital}})))
      .Then(Event(kAdmission, Sample(kAdmission, {{"finess", kOtherHospital}})));
}

// --- Discharges.

TEST(NotifyDischarge, RecordsTheDischarge) {
  Given({Registered()}).When(NotifyDischarge("D1", "M1")).Then(DischargeNotified("D1", "M1"));
}

TEST(NotifyDischarge, ChangesNothingForAMovementAlreadyReceived) {
  Given({Registered(), DischargeNotified("D1", "M1")})
      .When(NotifyDischarge("D1", "M1"))
      .ThenNothing();
}

TEST(NotifyDischarge, ChangesNothingForAMovementReceivedUnderAnotherDischargeId) {
  Given({Registered(), DischargeNotified("D1", "M1")})
      .When(NotifyDischarge("D2", "M1"))
      .ThenNothing();
}

TEST(NotifyDischarge, IsRejectedForADischargeIdReusedWithAnotherMovement) {
  Given({Registered(), DischargeNotified("D1", "M1")})
      .When(NotifyDischarge("D1", "M2"))
      .ThenRejected("duplicate_discharge");
}

TEST(NotifyDischarge, TellsHospitalsApartWhenTheyUseTheSameMovementId) {
  Given({Registered(), DischargeNotified("D1", "M1")})
      .When(NotifyDischarge("D2", "M1", kOtherHospital))
      .Then(DischargeNotified("D2", "M1", kOtherHospital));
}

TEST(CancelDischarge, RecordsTheCancellation) {
  Given({Registered(), DischargeNotified("D1", "M1")})
      .When(Cancel("D1", "M1"))
      .Then(DischargeCancelled("D1", "M1"));
}

TEST(CancelDischarge, IsRejectedForAnUnknownDischarge) {
  Given({Registered()}).When(Cancel("D1", "M1")).ThenRejected("unknown_discharge");
}

TEST(CancelDischarge, IsRejectedWhenItNamesAnotherMovement) {
  Given({Registered(), DischargeNotified("D1", "M1")})
      .When(Cancel("D1", "M2"))
      .ThenRejected("movement_mismatch");
}

TEST(CancelDischarge, ChangesNothingForADischargeAlreadyCancelled) {
  Given({Registered(), DischargeNotified("D1", "M1"), DischargeCancelled("D1", "M1")})
      .When(Cancel("D1", "M1"))
      .ThenNothing();
}

TEST(CancelDischarge, VoidsTheOpenFollowUps) {
  Given(Plus(WithFollowup(), {DischargeCancelled("D1", "M1")}))
      .When(Acknowledge("F1"))
      .ThenRejected("followup_voided");
}

TEST(CancelDischarge, LeavesACompletedFollowUpCompleted) {
  Given(Plus(WithFollowup(),
             {FollowupAcknowledged("F1"), FollowupCompleted("F1"), DischargeCancelled("D1", "M1")}))
      .When(Complete("F1"))
      .ThenRejected("already_completed");
}

// --- Follow-ups.

TEST(AssignFollowup, AssignsTheFollowUpToAMember) {
  Given({Registered(), Joined(kNurse, "nurse"), DischargeNotified("D1", "M1")})
      .When(AssignFollowup("F1", "D1"))
      .Then(FollowupAssigned("F1", "D1"));
}

TEST(AssignFollowup, IsRejectedForSomeoneWhoIsNotAMember) {
  Given({Registered(), DischargeNotified("D1", "M1")})
      .When(AssignFollowup("F1", "D1"))
      .ThenRejected("not_a_member");
}

TEST(AssignFollowup, IsRejectedForAnUnknownDischarge) {
  Given({Registered(), Joined(kNurse, "nurse")})
      .When(AssignFollowup("F1", "D1"))
      .ThenRejected("unknown_discharge");
}

TEST(AssignFollowup, IsRejectedForACancelledDischarge) {
  Given({Registered(), Joined(kNurse, "nurse"), DischargeNotified("D1", "M1"),
         DischargeCancelled("D1", "M1")})
      .When(AssignFollowup("F1", "D1"))
      .ThenRejected("discharge_cancelled");
}

TEST(AssignFollowup, IsRejectedForAFollowUpIdAlreadyUsed) {
  Given(WithFollowup()).When(AssignFollowup("F1", "D1")).ThenRejected("duplicate_followup");
}

TEST(AcknowledgeFollowup, RecordsTheAcknowledgementByTheAssignedProfessional) {
  Given(WithFollowup()).When(Acknowledge("F1")).Then(FollowupAcknowledged("F1"));
}

TEST(AcknowledgeFollowup, IsRejectedForAnUnknownFollowUp) {
  Given(WithFollowup()).When(Acknowledge("F9")).ThenRejected("unknown_followup");
}

TEST(AcknowledgeFollowup, IsRejectedTheSecondTime) {
  Given(Plus(WithFollowup(), {FollowupAcknowledged("F1")}))
      .When(Acknowledge("F1"))
      .ThenRejected("already_acknowledged");
}

TEST(CompleteFollowup, RecordsTheVisitAfterTheAcknowledgement) {
  Given(Plus(WithFollowup(), {FollowupAcknowledged("F1")}))
      .When(Complete("F1"))
      .Then(FollowupCompleted("F1"));
}

TEST(CompleteFollowup, IsRejectedBeforeTheAcknowledgement) {
  Given(WithFollowup()).When(Complete("F1")).ThenRejected("not_acknowledged");
}

TEST(CompleteFollowup, IsRejectedTheSecondTime) {
  Given(Plus(WithFollowup(), {FollowupAcknowledged("F1"), FollowupCompleted("F1")}))
      .When(Complete("F1"))
      .ThenRejected("already_completed");
}

TEST(CompleteFollowup, IsRejectedOnceTheDischargeWasCancelled) {
  Given(Plus(WithFollowup(), {FollowupAcknowledged("F1"), DischargeCancelled("D1", "M1")}))
      .When(Complete("F1"))
      .ThenRejected("followup_voided");
}

TEST(CompleteFollowup, IsRejectedForAnUnknownFollowUp) {
  Given(WithFollowup()).When(Complete("F9")).ThenRejected("unknown_followup");
}

TEST(Followup, IsAcknowledgedThenCompletedOnceEach) {
  Given(WithFollowup())
      .When(Acknowledge("F1"))
      .Then(FollowupAcknowledged("F1"))
      .When(Complete("F1"))
      .Then(FollowupCompleted("F1"))
      .When(Acknowledge("F1"))
      .ThenRejected("already_acknowledged")
      .When(Complete("F1"))
      .ThenRejected("already_completed");
}

TEST(Followup, StaysWithTheProfessionalWhoLeftTheCpts) {
  // A professional who leaves still answers for the follow-ups they were given.
  Given(Plus(WithFollowup(), {Left(kNurse)}))
      .When(Acknowledge("F1"))
      .Then(FollowupAcknowledged("F1"));
}

}  // namespace
}  // namespace cpts::aggregates::testing
