// Membership: a CPTS cannot refuse an adhesion; a member may leave at any time.
#include <gtest/gtest.h>

#include "tests/aggregates/decider_test_util.h"

namespace cpts::aggregates::testing {
namespace {

constexpr char kJoined[] = "fr.cpts.membership.member_joined.v1";
constexpr char kLeft[] = "fr.cpts.membership.member_left.v1";
constexpr char kUpdated[] = "fr.cpts.membership.member_updated.v1";

TEST(Join, AdmitsAProfessional) {
  Given({Registered()})
      .When(Cmd("membership.join", CommandSample("membership.join")))
      .Then(Event(kJoined, Sample(kJoined)));
}

TEST(Join, AdmitsAStructure) {
  const json hospital = {{"member_id", "finess:250000015"},
                         {"member_kind", "structure"},
                         {"structure_kind", "hospital"},
                         {"commune", "25056"},
                         {"display_name", "CHU de Besançon"}};
  Given({Registered()}).When(Cmd("membership.join", hospital)).Then(Event(kJoined, hospital));
}

TEST(Join, ChangesNothingForSomeoneAlreadyAMember) {
  Given({Registered(), Joined(kGp)})
      .When(Cmd("membership.join", CommandSample("membership.join")))
      .ThenNothing();
}

TEST(Join, AdmitsAgainAMemberWhoLeft) {
  Given({Registered(), Joined(kGp), Left(kGp)})
      .When(Cmd("membership.join", CommandSample("membership.join")))
      .Then(Event(kJoined, Sample(kJoined)));
}

TEST(Leave, RecordsTheDeparture) {
  Given({Registered(), Joined(kGp)})
      .When(Cmd("membership.leave", CommandSample("membership.leave")))
      .Then(Event(kLeft, Sample(kLeft)));
}

TEST(Leave, IsRejectedForSomeoneWhoIsNotAMember) {
  Given({Registered()})
      .When(Cmd("membership.leave", CommandSample("membership.leave")))
      .ThenRejected("not_a_member");
}

TEST(Leave, IsRejectedForAMemberWhoAlreadyLeft) {
  Given({Registered(), Joined(kGp), Left(kGp)})
      .When(Cmd("membership.leave", CommandSample("membership.leave")))
      .ThenRejected("not_a_member");
}

TEST(Update, RecordsTheChangedFields) {
  Given({Registered(), Joined(kGp)})
      .When(Cmd("membership.update", CommandSample("membership.update")))
      .Then(Event(kUpdated, Sample(kUpdated)));
}

TEST(Update, IsRejectedForSomeoneWhoIsNotAMember) {
  Given({Registered()})
      .When(Cmd("membership.update", CommandSample("membership.update")))
      .ThenRejected("not_a_member");
}

TEST(Update, ChangesTheDisplayNameUsedInReasons) {
  const Scenario scenario =
      Given({Registered(), Joined(kGp),
             Event(kUpdated, {{"member_id", kGp}, {"display_name", "Dr Alice Martin-Roy"}})});
  EXPECT_EQ(scenario.state().members.at(std::string(kGp)).display_name, "Dr Alice Martin-Roy");
}

}  // namespace
}  // namespace cpts::aggregates::testing
