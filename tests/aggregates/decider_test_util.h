#pragma once
// Given/When/Then for the deciders (STYLE.md, "Tests"):
//
//   Given({Registered(), Joined(kGp)})
//       .When(Cmd("access.declare_capacity", {{"gp", kGp}, {"new_patients_capacity", 3}}))
//       .Then(Event("fr.cpts.access.gp_capacity_declared.v1", {...}));
//
// Given folds the history with Evolve. When decides one command. Then compares one-line
// renderings ("<type> <canonical data>", patient pseudonyms shown as patient-<n>), checks the
// event would pass the processor's ValidateEnvelope, and applies it, so a scenario can go on:
// .When(...).Then(...).When(...).ThenRejected(...). Failures point at the caller's line.
// Thread-safety: none needed; one test owns a scenario.

#include <source_location>
#include <string>
#include <string_view>
#include <vector>

#include "aggregates/command.h"
#include "aggregates/decide.h"
#include "aggregates/state.h"
#include "events/json.h"
#include "tests/events/samples.h"

namespace cpts::aggregates::testing {

using json = ::cpts::Json;

inline constexpr std::string_view kCpts = events::testing::kSampleCptsId;
inline constexpr std::string_view kCoordinator = "coordinator:cpts-grand-besancon:alice";
inline constexpr std::string_view kAdmin = "admin:root";
inline constexpr std::string_view kSystem = "system:hl7-gateway";
inline constexpr std::string_view kGp = events::testing::kSampleGp;  // Dr Alice Martin
inline constexpr std::string_view kOtherGp = "rpps:10000000017";
inline constexpr std::string_view kNurse = events::testing::kSampleNurse;
inline constexpr std::string_view kHospital = events::testing::kSampleHospital;  // a FINESS
inline constexpr std::string_view kOtherHospital = "250000023";

// The sample pseudonym of patient n (events::testing::SamplePseudonym).
std::string Patient(int n);
// "professional:<member id>", "hospital:<finess>".
std::string ProfessionalActor(std::string_view member_id);
std::string HospitalActor(std::string_view finess);

// The sample data of an event type (tests/events/samples.h) with `changes` merged in; a null
// change removes the field.
json Sample(std::string_view event_type, const json& changes = json::object());
// Sample data for a command type: its event's sample limited to the command's fields, with
// `changes` merged in the same way.
json CommandSample(std::string_view command_type, const json& changes = json::object());

NewEvent Event(std::string_view type, json data);
// A command for the sample CPTS.
Command Cmd(std::string_view type, json data, std::string_view actor = kCoordinator);

// Histories that many tests start from (sample data, with the given ids).
NewEvent Registered();
NewEvent Joined(std::string_view member_id, std::string_view profession = "general_practitioner");
NewEvent Left(std::string_view member_id);
NewEvent CapacityDeclared(std::string_view gp, int capacity);
NewEvent PatientRegistered(int patient);
NewEvent ReferralIssued(std::string_view id, int patient, std::string_view gp = kGp);
NewEvent ReferralAccepted(std::string_view id, int patient, std::string_view gp = kGp);
NewEvent DischargeNotified(std::string_view id, std::string_view movement,
                           std::string_view finess = kHospital);
NewEvent DischargeCancelled(std::string_view id, std::string_view movement);
NewEvent FollowupAssigned(std::string_view id, std::string_view discharge,
                          std::string_view professional = kNurse);
NewEvent FollowupAcknowledged(std::string_view id, std::string_view professional = kNurse);
NewEvent FollowupCompleted(std::string_view id, std::string_view professional = kNurse);
NewEvent SnpRequestReceived(std::string_view id);
NewEvent CampaignLaunched(std::string_view id);  // sites S1 and S2
NewEvent CampaignClosed(std::string_view id);

// The envelope the command processor would write for `event` at `sequence`.
events::Envelope Wrap(const NewEvent& event, uint64_t sequence);

// One line: "<type> <canonical data>", patient pseudonyms shown as patient-<n>.
std::string Render(const NewEvent& event);
// Render(event), "rejected: <code>" or "nothing".
std::string Render(const Decision& decision);

class Scenario {
 public:
  explicit Scenario(const std::vector<NewEvent>& history);

  Scenario& When(Command command);
  Scenario& Then(const NewEvent& expected,
                 std::source_location where = std::source_location::current());
  Scenario& ThenRejected(std::string_view code,
                         std::source_location where = std::source_location::current());
  Scenario& ThenNothing(std::source_location where = std::source_location::current());

  const Decision& decision() const { return decision_; }
  // The last decision's rejection reason; empty when it was not a rejection.
  std::string reason() const;
  const CptsState& state() const { return state_; }

 private:
  void Apply(const NewEvent& event);
  std::string Trace() const;  // what a failure shows beside the caller's line

  CptsState state_;
  uint64_t sequence_ = 0;
  Decision decision_;
};

Scenario Given(const std::vector<NewEvent>& history);

}  // namespace cpts::aggregates::testing
