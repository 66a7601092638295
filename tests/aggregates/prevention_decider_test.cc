// Prevention campaigns: launch, participations at a site while open, close.
#include <gtest/gtest.h>

#include "tests/aggregates/decider_test_util.h"

namespace cpts::aggregates::testing {
namespace {

constexpr char kLaunched[] = "fr.cpts.prevention.campaign_launched.v1";
constexpr char kParticipation[] = "fr.cpts.prevention.participation_recorded.v1";
constexpr char kCampaign[] = "CAMP-2026-OR";  // the samples' campaign, sites S1 and S2

Command Record(const json& changes = json::object()) {
  return Cmd("prevention.record_participation",
             CommandSample("prevention.record_participation", changes));
}

Command Close() { return Cmd("prevention.close_campaign", {{"campaign_id", kCampaign}}); }

TEST(LaunchCampaign, RecordsTheCampaign) {
  Given({Registered()})
      .When(Cmd("prevention.launch_campaign", CommandSample("prevention.launch_campaign")))
      .Then(Event(kLaunched, Sample(kLaunched)));
}

TEST(LaunchCampaign, IsRejectedForACampaignIdAlreadyUsed) {
  Given({Registered(), CampaignLaunched(kCampaign)})
      .When(Cmd("prevention.launch_campaign", CommandSample("prevention.launch_campaign")))
      .ThenRejected("duplicate_campaign");
}

TEST(RecordParticipation, RecordsAParticipationAtASite) {
  Given({Registered(), Joined(kGp), CampaignLaunched(kCampaign)})
      .When(Record())
      .Then(Event(kParticipation, Sample(kParticipation)));
}

TEST(RecordParticipation, RecordsAnAnonymousParticipation) {
  const json anonymous = {{"participant", nullptr}, {"identity", nullptr}};
  Given({Registered(), Joined(kGp), CampaignLaunched(kCampaign)})
      .When(Record(anonymous))
      .Then(Event(kParticipation, Sample(kParticipation, anonymous)));
}

TEST(RecordParticipation, IsRejectedWhenTheProfessionalIsNotAMember) {
  Given({Registered(), CampaignLaunched(kCampaign)}).When(Record()).ThenRejected("not_a_member");
}

TEST(RecordParticipation, IsRejectedForAnUnknownCampaign) {
  Given({Registered()}).When(Record()).ThenRejected("unknown_campaign");
}

TEST(RecordParticipation, IsRejectedOnceTheCampaignIsClosed) {
  Given({Registered(), CampaignLaunched(kCampaign), CampaignClosed(kCampaign)})
      .When(Record())
      .ThenRejected("campaign_closed");
}

TEST(RecordParticipation, IsRejectedAtASiteTheCampaignDoesNotHave) {
  Given({Registered(), CampaignLaunched(kCampaign)})
      .When(Record({{"site_id", "S3"}}))
      .ThenRejected("unknown_site");
}

TEST(CloseCampaign, ClosesAnOpenCampaign) {
  Given({Registered(), CampaignLaunched(kCampaign)}).When(Close()).Then(CampaignClosed(kCampaign));
}

TEST(CloseCampaign, ChangesNothingTheSecondTime) {
  Given({Registered(), CampaignLaunched(kCampaign), CampaignClosed(kCampaign)})
      .When(Close())
      .ThenNothing();
}

TEST(CloseCampaign, IsRejectedForAnUnknownCampaign) {
  Given({Registered()}).When(Close()).ThenRejected("unknown_campaign");
}

}  // namespace
}  // namespace cpts::aggregates::testing
