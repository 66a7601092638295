#include "aggregates/actor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cpts::aggregates {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// ParseActor's message for `text`; "ok" when it parses.
std::string Error(std::string_view text) {
  const Result<Actor> actor = ParseActor(text);
  return actor.ok() ? "ok" : actor.status().message();
}

TEST(ParseActor, ReadsAnAdmin) {
  const Result<Actor> actor = ParseActor("admin:root");
  ASSERT_TRUE(actor.ok());
  EXPECT_EQ(actor->role, Role::kAdmin);
  EXPECT_EQ(actor->name, "root");
}

TEST(ParseActor, ReadsASystem) {
  const Result<Actor> actor = ParseActor("system:hl7-gateway");
  ASSERT_TRUE(actor.ok());
  EXPECT_EQ(actor->role, Role::kSystem);
  EXPECT_EQ(actor->name, "hl7-gateway");
}

TEST(ParseActor, ReadsACoordinatorWithItsCptsAndName) {
  const Result<Actor> actor = ParseActor("coordinator:cpts-haut-doubs:alice.martin@example.fr");
  ASSERT_TRUE(actor.ok());
  EXPECT_EQ(actor->role, Role::kCoordinator);
  EXPECT_EQ(actor->cpts, "cpts-haut-doubs");
  EXPECT_EQ(actor->name, "alice.martin@example.fr");
}

TEST(ParseActor, ReadsACoordinatorOfACptsWhoseIdHoldsAColon) {
  const Result<Actor> actor = ParseActor("coordinator:region:27:bob");
  ASSERT_TRUE(actor.ok());
  EXPECT_EQ(actor->cpts, "region:27");
  EXPECT_EQ(actor->name, "bob");
}

TEST(ParseActor, ReadsAHospitalByItsFiness) {
  const Result<Actor> actor = ParseActor("hospital:250000015");
  ASSERT_TRUE(actor.ok());
  EXPECT_EQ(actor->role, Role::kHospital);
  EXPECT_EQ(actor->finess, "250000015");
}

TEST(ParseActor, ReadsAProfessionalByRppsOrAdeli) {
  const Result<Actor> rpps = ParseActor("professional:rpps:10003456786");
  ASSERT_TRUE(rpps.ok());
  EXPECT_EQ(rpps->role, Role::kProfessional);
  EXPECT_EQ(rpps->member_id, "rpps:10003456786");
  const Result<Actor> adeli = ParseActor("professional:adeli:123456782");
  ASSERT_TRUE(adeli.ok());
  EXPECT_EQ(adeli->member_id, "adeli:123456782");
}

TEST(ParseActor, RejectsAnUnknownRole) {
  EXPECT_THAT(Error("user:alice"), HasSubstr("an actor reads admin:<name>"));
  EXPECT_THAT(Error("alice"), HasSubstr("an actor reads admin:<name>"));
}

TEST(ParseActor, RejectsAMissingOrMalformedName) {
  EXPECT_THAT(Error("admin:"), HasSubstr("the name of an admin is"));
  EXPECT_THAT(Error("system:hl7 gateway"), HasSubstr("the name of an system is"));
  EXPECT_THAT(Error("admin:" + std::string(65, 'a')), HasSubstr("1 to 64"));
  EXPECT_THAT(Error("coordinator:cpts-haut-doubs:"), HasSubstr("the name of a coordinator"));
}

TEST(ParseActor, RejectsACoordinatorWithoutAValidCpts) {
  EXPECT_THAT(Error("coordinator:alice"), HasSubstr("coordinator:<cptsid>:<name>"));
  EXPECT_THAT(Error("coordinator::alice"), HasSubstr("the CPTS of a coordinator"));
  EXPECT_THAT(Error("coordinator:cpts haut doubs:alice"), HasSubstr("the CPTS of a coordinator"));
}

TEST(ParseActor, RejectsAHospitalWithoutAValidFiness) {
  EXPECT_THAT(Error("hospital:250000016"), HasSubstr("FINESS"));
  EXPECT_THAT(Error("hospital:"), HasSubstr("FINESS"));
}

TEST(ParseActor, RejectsAProfessionalWithoutAValidRppsOrAdeli) {
  for (const char* actor : {"professional:rpps:10003456787", "professional:adeli:123456789",
                            "professional:finess:250000015", "professional:10003456786"}) {
    EXPECT_THAT(Error(actor), HasSubstr("rpps:<11 digits> or adeli:<9 digits>")) << actor;
  }
}

TEST(ParseActor, NeverShowsWhatItWasGiven) {
  for (const std::string actor : {"professional:253072B07300470", "hospital:253072B07300470",
                                  "admin:253072B0730047 0", "253072B07300470"}) {
    EXPECT_THAT(Error(actor), Not(HasSubstr("2530"))) << actor;
  }
}

}  // namespace
}  // namespace cpts::aggregates
