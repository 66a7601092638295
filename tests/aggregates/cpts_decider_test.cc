// The CPTS itself, and the rule common to every command: the CPTS must be registered.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/aggregates/decider_test_util.h"

namespace cpts::aggregates::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kRegisteredType[] = "fr.cpts.cpts.registered.v1";
constexpr char kAciSigned[] = "fr.cpts.cpts.aci_signed.v1";

TEST(RegisterCpts, RegistersANewCpts) {
  Given({})
      .When(Cmd("cpts.register", CommandSample("cpts.register")))
      .Then(Event(kRegisteredType, Sample(kRegisteredType)));
}

TEST(RegisterCpts, IsRejectedWhenTheCptsIsAlreadyRegistered) {
  Given({Registered()})
      .When(Cmd("cpts.register", CommandSample("cpts.register")))
      .ThenRejected("already_registered");
}

TEST(RegisterCpts, RecordsNameTerritoryAndPopulationInTheState) {
  const Scenario scenario = Given({Registered()});
  EXPECT_TRUE(scenario.state().registered);
  EXPECT_EQ(scenario.state().name, "CPTS du Grand Besançon");
  EXPECT_EQ(scenario.state().territory, (std::vector<std::string>{"25056", "25031", "25212"}));
  EXPECT_EQ(scenario.state().population, 195000);
  EXPECT_EQ(scenario.state().region, "27");
}

TEST(SignAci, RecordsTheContract) {
  Given({Registered()})
      .When(Cmd("cpts.sign_aci", CommandSample("cpts.sign_aci")))
      .Then(Event(kAciSigned, Sample(kAciSigned)));
}

TEST(SignAci, RecordsARenewalAsANewSigning) {
  Given({Registered(), Event(kAciSigned, Sample(kAciSigned))})
      .When(Cmd("cpts.sign_aci", CommandSample("cpts.sign_aci", {{"signed_on", "2031-03-01"},
                                                                 {"starts_on", "2031-04-01"},
                                                                 {"ends_on", "2036-03-31"}})))
      .Then(Event(kAciSigned, Sample(kAciSigned, {{"signed_on", "2031-03-01"},
                                                  {"starts_on", "2031-04-01"},
                                                  {"ends_on", "2036-03-31"}})));
}

TEST(UnknownCpts, RejectsAnyCommandButRegisterNamingTheCpts) {
  const std::string reason = Given({})
                                 .When(Cmd("cpts.sign_aci", CommandSample("cpts.sign_aci")))
                                 .ThenRejected("unknown_cpts")
                                 .reason();
  EXPECT_THAT(reason, HasSubstr(std::string(kCpts)));
}

TEST(UnknownCpts, RejectsAHospitalDischargeForAnUnregisteredCpts) {
  Given({})
      .When(Cmd("discharge.notify", CommandSample("discharge.notify"), HospitalActor(kHospital)))
      .ThenRejected("unknown_cpts");
}

}  // namespace
}  // namespace cpts::aggregates::testing
