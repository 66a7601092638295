// Unscheduled care: a request, slots, then care given or a redirection.
#include <gtest/gtest.h>

#include "tests/aggregates/decider_test_util.h"

namespace cpts::aggregates::testing {
namespace {

constexpr char kReceived[] = "fr.cpts.snp.request_received.v1";
constexpr char kSlot[] = "fr.cpts.snp.slot_offered.v1";
constexpr char kCare[] = "fr.cpts.snp.care_given.v1";
constexpr char kRedirected[] = "fr.cpts.snp.request_redirected.v1";

// A GP member and request SNP-5001 (the samples' id), open.
std::vector<NewEvent> WithRequest() {
  return {Registered(), Joined(kGp), SnpRequestReceived("SNP-5001")};
}

std::vector<NewEvent> Plus(std::vector<NewEvent> history, const std::vector<NewEvent>& more) {
  history.insert(history.end(), more.begin(), more.end());
  return history;
}

TEST(ReceiveRequest, RecordsTheRequest) {
  Given({Registered()})
      .When(Cmd("snp.receive_request", CommandSample("snp.receive_request")))
      .Then(Event(kReceived, Sample(kReceived)));
}

TEST(ReceiveRequest, IsRejectedForARequestIdAlreadyUsed) {
  Given(WithRequest())
      .When(Cmd("snp.receive_request", CommandSample("snp.receive_request")))
      .ThenRejected("duplicate_request");
}

TEST(OfferSlot, RecordsTheSlotOfAMember) {
  Given(WithRequest())
      .When(Cmd("snp.offer_slot", CommandSample("snp.offer_slot")))
      .Then(Event(kSlot, Sample(kSlot)));
}

TEST(OfferSlot, LeavesTheRequestOpenForAnotherSlot) {
  Given(Plus(WithRequest(), {Event(kSlot, Sample(kSlot))}))
      .When(Cmd("snp.offer_slot", CommandSample("snp.offer_slot")))
      .Then(Event(kSlot, Sample(kSlot)));
}

TEST(OfferSlot, IsRejectedForSomeoneWhoIsNotAMember) {
  Given(WithRequest())
      .When(Cmd("snp.offer_slot", CommandSample("snp.offer_slot", {{"professional", kNurse}})))
      .ThenRejected("not_a_member");
}

TEST(OfferSlot, IsRejectedForAnUnknownRequest) {
  Given({Registered(), Joined(kGp)})
      .When(Cmd("snp.offer_slot", CommandSample("snp.offer_slot")))
      .ThenRejected("unknown_request");
}

TEST(OfferSlot, IsRejectedForAClosedRequest) {
  Given(Plus(WithRequest(), {Event(kCare, Sample(kCare))}))
      .When(Cmd("snp.offer_slot", CommandSample("snp.offer_slot")))
      .ThenRejected("request_closed");
}

TEST(GiveCare, RecordsTheCareAndClosesTheRequest) {
  Given(WithRequest())
      .When(Cmd("snp.give_care", CommandSample("snp.give_care")))
      .Then(Event(kCare, Sample(kCare)))
      .When(Cmd("snp.give_care", CommandSample("snp.give_care")))
      .ThenRejected("request_closed");
}

TEST(GiveCare, IsRejectedForSomeoneWhoIsNotAMember) {
  Given(WithRequest())
      .When(Cmd("snp.give_care", CommandSample("snp.give_care", {{"professional", kNurse}})))
      .ThenRejected("not_a_member");
}

TEST(GiveCare, IsRejectedForAnUnknownRequest) {
  Given({Registered(), Joined(kGp)})
      .When(Cmd("snp.give_care", CommandSample("snp.give_care")))
      .ThenRejected("unknown_request");
}

TEST(Redirect, RecordsTheRedirectionAndClosesTheRequest) {
  Given(WithRequest())
      .When(Cmd("snp.redirect", CommandSample("snp.redirect")))
      .Then(Event(kRedirected, Sample(kRedirected)))
      .When(Cmd("snp.give_care", CommandSample("snp.give_care")))
      .ThenRejected("request_closed");
}

TEST(Redirect, IsRejectedForAnUnknownRequest) {
  Given({Registered()})
      .When(Cmd("snp.redirect", CommandSample("snp.redirect")))
      .ThenRejected("unknown_request");
}

TEST(Redirect, IsRejectedForAClosedRequest) {
  Given(Plus(WithRequest(), {Event(kRedirected, Sample(kRedirected))}))
      .When(Cmd("snp.redirect", CommandSample("snp.redirect")))
      .ThenRejected("request_closed");
}

}  // namespace
}  // namespace cpts::aggregates::testing
