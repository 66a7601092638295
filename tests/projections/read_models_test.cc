// Each read model from a sequence of events, through the real path: events appended to an
// embedded log, projected into a RocksDB store, read back through the query interface.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "projections/clock.h"
#include "projections/read_models.h"
#include "tests/projections/projection_test_util.h"

namespace cpts::projections::testing {
namespace {

using ::testing::ElementsAre;

constexpr char kCpts[] = "cpts-grand-besancon";
constexpr char kRegistered[] = "fr.cpts.cpts.registered.v1";
constexpr char kJoined[] = "fr.cpts.membership.member_joined.v1";
constexpr char kLeft[] = "fr.cpts.membership.member_left.v1";
constexpr char kUpdated[] = "fr.cpts.membership.member_updated.v1";
constexpr char kCapacity[] = "fr.cpts.access.gp_capacity_declared.v1";
constexpr char kPatient[] = "fr.cpts.access.patient_registered.v2";
constexpr char kIssued[] = "fr.cpts.access.referral_issued.v1";
constexpr char kAccepted[] = "fr.cpts.access.referral_accepted.v1";
constexpr char kDeclined[] = "fr.cpts.access.referral_declined.v1";
constexpr char kAssigned[] = "fr.cpts.access.gp_assigned.v1";
constexpr char kDischarge[] = "fr.cpts.discharge.notified.v1";
constexpr char kCancelled[] = "fr.cpts.discharge.cancelled.v1";
constexpr char kFollowup[] = "fr.cpts.followup.assigned.v1";
constexpr char kAck[] = "fr.cpts.followup.acknowledged.v1";
constexpr char kDone[] = "fr.cpts.followup.completed.v1";
constexpr char kSnp[] = "fr.cpts.snp.request_received.v1";
constexpr char kGiven[] = "fr.cpts.snp.care_given.v1";
constexpr char kRedirected[] = "fr.cpts.snp.request_redirected.v1";
constexpr char kCampaign[] = "fr.cpts.prevention.campaign_launched.v1";
constexpr char kParticipation[] = "fr.cpts.prevention.participation_recorded.v1";

int64_t At(const char* text) { return ParseTimestampMs(text).value(); }

json Ok(Result<json> r) {
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : json();
}

std::vector<std::string> Ids(const json& page, const char* field) {
  std::vector<std::string> ids;
  for (const json& item : page["items"]) ids.push_back(item[field].get<std::string>());
  return ids;
}

class ReadModelsTest : public ::testing::Test {
 protected:
  void SetUp() override { h.Add(kRegistered, {}, "2026-01-05T08:00:00.000Z"); }
  void Join(const std::string& id, const std::string& profession, const std::string& commune,
            const char* time = "2026-01-06T08:00:00.000Z") {
    h.Add(kJoined, {{"member_id", id}, {"profession", profession}, {"commune", commune}}, time);
  }
  ReadModels Project() {
    h.Project(h.Store());
    return h.Models();
  }
  History h;
};

// --- Roster.

TEST_F(ReadModelsTest, RosterCountsCurrentMembersByProfessionCommuneCollegeAndMode) {
  Join(Rpps(1), "general_practitioner", "25056");
  Join(Rpps(2), "nurse", "25056");
  Join(Rpps(3), "nurse", "25031");
  h.Add(kJoined, {{"member_id", "finess:" + Finess(1)}, {"member_kind", "structure"},
                  {"profession", nullptr}, {"practice_mode", nullptr},
                  {"structure_kind", "ehpad"}, {"display_name", "EHPAD Les Tilleuls"}},
        "2026-01-07T08:00:00.000Z");
  const json roster = Ok(Project().Roster(kCpts, {}, {}));
  EXPECT_EQ(roster["total"], 4);
  EXPECT_EQ(roster["counts"]["active"], 4);
  EXPECT_EQ(roster["counts"]["by_profession"],
            json({{"general_practitioner", 1}, {"nurse", 2}}));
  EXPECT_EQ(roster["counts"]["by_commune"], json({{"25031", 1}, {"25056", 3}}));
  EXPECT_EQ(roster["counts"]["by_practice_mode"], json({{"maison_de_sante", 3}}));
  EXPECT_EQ(roster["counts"]["by_structure_kind"], json({{"ehpad", 1}}));
  EXPECT_EQ(roster["counts"]["by_college"], json({{"Professionnels de santé libéraux", 4}}));
  const json nurses = Ok(h.Models().Roster(kCpts, {.profession = "nurse"}, {}));
  EXPECT_EQ(nurses["total"], 2);
}

TEST_F(ReadModelsTest, LeavingAndUpdatingMoveTheCountsAndTheMonthlyHistory) {
  Join(Rpps(1), "general_practitioner", "25056", "2026-01-06T08:00:00.000Z");
  Join(Rpps(2), "nurse", "25056", "2026-02-10T08:00:00.000Z");
  h.Add(kUpdated, {{"member_id", Rpps(2)}, {"commune", "25031"}}, "2026-02-11T08:00:00.000Z");
  h.Add(kLeft, {{"member_id", Rpps(1)}}, "2026-02-28T23:30:00.000Z");  // 1 March in Paris
  const ReadModels models = Project();
  const json roster = Ok(models.Roster(kCpts, {}, {}));
  EXPECT_EQ(roster["counts"]["active"], 1);
  EXPECT_EQ(roster["counts"]["by_commune"], json({{"25031", 1}}));
  EXPECT_EQ(roster["counts"]["by_profession"], json({{"nurse", 1}}));
  EXPECT_EQ(Ok(models.Roster(kCpts, {.include_left = true}, {}))["total"], 2);
  const json history = Ok(models.RosterHistory(kCpts));
  EXPECT_EQ(history["months"], json::parse(R"([{"joined":1,"left":0,"month":"2026-01"},
      {"joined":1,"left":0,"month":"2026-02"},{"joined":0,"left":1,"month":"2026-03"}])"));
}

// --- Access to a médecin traitant.

TEST_F(ReadModelsTest, GpsWithCapacityLeftCountAcceptedReferralsAndDirectAssignments) {
  Join(Rpps(1), "general_practitioner", "25056");
  Join(Rpps(2), "general_practitioner", "25056");
  h.Add(kCapacity, {{"gp", Rpps(1)}, {"new_patients_capacity", 2}}, "2026-01-07T08:00:00.000Z");
  h.Add(kCapacity, {{"gp", Rpps(2)}, {"new_patients_capacity", 1}}, "2026-01-07T08:00:00.000Z");
  h.Add(kPatient, {{"patient", Patient(1)}}, "2026-01-08T08:00:00.000Z");
  h.Add(kPatient, {{"patient", Patient(2)}}, "2026-01-08T08:00:00.000Z");
  h.Add(kIssued, {{"referral_id", "R1"}, {"patient", Patient(1)}, {"gp", Rpps(1)}},
        "2026-01-09T08:00:00.000Z");
  h.Add(kAccepted, {{"referral_id", "R1"}, {"patient", Patient(1)}, {"gp", Rpps(1)}},
        "2026-01-10T08:00:00.000Z");
  h.Add(kAssigned, {{"referral_id", "R1"}, {"patient", Patient(1)}, {"gp", Rpps(1)}},
        "2026-01-10T09:00:00.000Z");
  h.Add(kAssigned, {{"referral_id", nullptr}, {"patient", Patient(2)}, {"gp", Rpps(2)}},
        "2026-01-11T09:00:00.000Z");
  const json gps = Ok(Project().GpsWithCapacity(kCpts));
  ASSERT_EQ(gps["items"].size(), 1u);  // Rpps(2) took its only place
  EXPECT_EQ(gps["items"][0]["gp"], Rpps(1));
  EXPECT_EQ(gps["items"][0]["capacity_left"], 1);
}

TEST_F(ReadModelsTest, QueueIsInPriorityOrderAldThenC2sThen70PlusThenOldestRequest) {
  const auto reg = [&](int n, bool ald, bool c2s, const char* band, const char* at) {
    h.Add(kPatient, {{"patient", Patient(n)}, {"ald", ald}, {"c2s", c2s}, {"age_band", band},
                     {"registered_at", at}},
          "2026-02-01T08:00:00.000Z");
  };
  reg(1, false, false, "40-59", "2026-01-01T08:00:00+01:00");  // other, oldest of all
  reg(2, false, false, "80+", "2026-01-20T08:00:00+01:00");    // 70+
  reg(3, false, true, "18-39", "2026-01-25T08:00:00+01:00");   // C2S
  reg(4, true, false, "40-59", "2026-01-30T08:00:00+01:00");   // ALD, newer
  reg(5, true, true, "70-79", "2026-01-10T08:00:00+01:00");    // ALD, older
  reg(6, false, false, "70-79", "2026-01-15T08:00:00Z");       // 70+, older than 2
  const json queue = Ok(Project().AccessQueue(kCpts, {}));
  EXPECT_THAT(Ids(queue, "patient"), ElementsAre(Patient(5), Patient(4), Patient(3), Patient(6),
                                                 Patient(2), Patient(1)));
  EXPECT_EQ(queue["items"][0]["priority"], "ald");
  EXPECT_EQ(queue["items"][0]["position"], 1);
  const json page = Ok(h.Models().AccessQueue(kCpts, {.offset = 4, .limit = 10}));
  EXPECT_THAT(Ids(page, "patient"), ElementsAre(Patient(2), Patient(1)));
}

TEST_F(ReadModelsTest, ReferralsKeepTheirStateAndFoundPatientsCountByGroupWithMedianDays) {
  Join(Rpps(1), "general_practitioner", "25056");
  const auto reg = [&](int n, bool ald, const char* band, const char* at) {
    h.Add(kPatient, {{"patient", Patient(n)}, {"ald", ald}, {"c2s", false}, {"age_band", band},
                     {"registered_at", at}},
          at);
  };
  reg(1, true, "40-59", "2026-03-01T08:00:00.000Z");
  reg(2, false, "80+", "2026-03-01T08:00:00.000Z");
  reg(3, false, "18-39", "2026-03-01T08:00:00.000Z");
  h.Add(kIssued, {{"referral_id", "R1"}, {"patient", Patient(1)}, {"gp", Rpps(1)}},
        "2026-03-02T08:00:00.000Z");
  h.Add(kDeclined, {{"referral_id", "R1"}, {"patient", Patient(1)}, {"gp", Rpps(1)}},
        "2026-03-03T08:00:00.000Z");
  h.Add(kIssued, {{"referral_id", "R2"}, {"patient", Patient(1)}, {"gp", Rpps(1)}},
        "2026-03-04T08:00:00.000Z");
  h.Add(kAssigned, {{"referral_id", nullptr}, {"patient", Patient(1)}, {"gp", Rpps(1)}},
        "2026-03-11T08:00:00.000Z");  // 10 days; R2 was still pending: voided
  h.Add(kAssigned, {{"referral_id", nullptr}, {"patient", Patient(2)}, {"gp", Rpps(1)}},
        "2026-03-21T09:00:00.000Z");  // 20 days
  const ReadModels models = Project();
  const json referrals = Ok(models.Referrals(kCpts, std::nullopt, {}));
  EXPECT_THAT(Ids(referrals, "status"), ElementsAre("declined", "voided"));
  EXPECT_EQ(referrals["items"][0]["reason"], "no_capacity");
  const json summary = Ok(models.AccessSummary(kCpts));
  EXPECT_EQ(summary["waiting"], 1);
  EXPECT_EQ(summary["found_by_priority"], json({{"70+", 1}, {"ald", 1}}));
  EXPECT_EQ(summary["median_days_to_find"], 15.0);
  EXPECT_THAT(Ids(Ok(models.AccessQueue(kCpts, {})), "patient"), ElementsAre(Patient(3)));
}

// --- Ville-hôpital handoff.

class HandoffTest : public ReadModelsTest {
 protected:
  void SetUp() override {
    ReadModelsTest::SetUp();
    Join(std::string(events::testing::kSampleGp), "general_practitioner", "25056");
    Join(std::string(events::testing::kSampleNurse), "nurse", "25056");
  }
  void Discharge(const std::string& id, const char* at, json patch = json::object()) {
    patch["discharge_id"] = id;
    patch["movement_id"] = "MVT-" + id;
    patch["discharged_at"] = at;
    h.Add(kDischarge, patch, FormatUtcMs(At(at) + 10 * 60'000));
  }
  void Followup(const std::string& fu, const std::string& discharge, const std::string& who,
                const char* need, const char* at) {
    h.Add(kFollowup, {{"followup_id", fu}, {"discharge_id", discharge}, {"professional", who},
                      {"need", need}},
          at);
  }
  void Ack(const std::string& fu, const std::string& who, const char* at) {
    h.Add(kAck, {{"followup_id", fu}, {"professional", who}}, at);
  }
  void Done(const std::string& fu, const std::string& who, const char* visited, const char* at) {
    h.Add(kDone, {{"followup_id", fu}, {"professional", who}, {"visited_at", visited}}, at);
  }
  json Item(const std::string& id, const char* clock) {
    const json view = Ok(h.Models().Handoff(kCpts, {}, At(clock), {}));
    for (const json& item : view["items"]) {
      if (item["discharge_id"] == id) return item;
    }
    ADD_FAILURE() << id << " not in the handoff view";
    return json();
  }
  const std::string gp = std::string(events::testing::kSampleGp);
  const std::string nurse = std::string(events::testing::kSampleNurse);
};

TEST_F(HandoffTest, FridayEveningDischargeIsDueTheSameDayAndWithin48HoursAcrossTheWeekend) {
  // Friday 20 November 2026, 21:30 in Paris (UTC+1).
  Discharge("D1", "2026-11-20T21:30:00+01:00");
  Project();
  json item = Item("D1", "2026-11-20T23:00:00+01:00");
  EXPECT_EQ(item["status"], "pending");
  EXPECT_EQ(item["deadlines"]["gp_informed"]["due"], "2026-11-20T22:59:59.999Z");
  EXPECT_EQ(item["deadlines"]["first_contact"]["due"], "2026-11-22T20:30:00.000Z");  // Sunday
  EXPECT_EQ(item["deadlines"]["gp_visit"]["due"], "2026-11-27T20:30:00.000Z");
  // Saturday 00:01 in Paris: the médecin traitant was not informed on Friday.
  item = Item("D1", "2026-11-21T00:01:00+01:00");
  EXPECT_EQ(item["status"], "overdue");
  EXPECT_EQ(item["deadlines"]["gp_informed"]["state"], "overdue");
  EXPECT_EQ(item["deadlines"]["first_contact"]["state"], "pending");
  // The GP acknowledges on Saturday morning: informed, but late; first contact on time.
  Followup("F1", "D1", gp, "gp_visit", "2026-11-21T08:00:00.000Z");
  Ack("F1", gp, "2026-11-21T09:00:00.000Z");
  Project();
  item = Item("D1", "2026-11-21T12:00:00+01:00");
  EXPECT_EQ(item["deadlines"]["gp_informed"]["state"], "met_late");
  EXPECT_EQ(item["deadlines"]["first_contact"]["state"], "met");
  EXPECT_EQ(item["deadlines"]["gp_visit"]["state"], "pending");
  EXPECT_EQ(item["status"], "pending");
  EXPECT_TRUE(item["gp_informed"].get<bool>());
  // Monday 30 November: the 7-day visit never came.
  EXPECT_EQ(Item("D1", "2026-11-30T08:00:00+01:00")["status"], "overdue");
}

TEST_F(HandoffTest, SameDayDeadlineFollowsParisSummerTime) {
  Discharge("D1", "2026-07-14T23:30:00+02:00", {{"needs", json::array()}});
  Project();
  const json item = Item("D1", "2026-07-14T23:45:00+02:00");
  EXPECT_EQ(item["deadlines"]["gp_informed"]["due"], "2026-07-14T21:59:59.999Z");
  EXPECT_EQ(item["deadlines"]["first_contact"]["state"], "not_applicable");  // no needs
}

TEST_F(HandoffTest, CancelledDischargeLeavesTheWorklistsAndTheIndicator) {
  Discharge("D1", "2026-11-16T10:00:00+01:00");
  Discharge("D2", "2026-11-16T11:00:00+01:00");
  Followup("F1", "D1", nurse, "home_nursing", "2026-11-16T12:00:00.000Z");
  Followup("F2", "D2", nurse, "home_nursing", "2026-11-16T12:00:00.000Z");
  h.Add(kCancelled, {{"discharge_id", "D1"}, {"movement_id", "MVT-D1"}},
        "2026-11-16T15:00:00.000Z");
  const ReadModels models = Project();
  const json d1 = Item("D1", "2026-11-30T08:00:00Z");
  EXPECT_EQ(d1["status"], "cancelled");
  EXPECT_EQ(d1["followups"][0]["status"], "voided");
  EXPECT_EQ(d1["deadlines"]["gp_informed"]["state"], "not_applicable");
  EXPECT_THAT(Ids(Ok(models.Worklist(nurse, At("2026-11-30T08:00:00Z"), false, {})),
                  "discharge_id"),
              ElementsAre("D2"));
  const json indicators = Ok(models.Indicators(kCpts, At("2026-11-30T08:00:00Z")));
  EXPECT_EQ(indicators["handoff"]["discharges"], 2);
  EXPECT_EQ(indicators["handoff"]["cancelled"], 1);
  EXPECT_EQ(indicators["handoff"]["counted"], 1);  // D2 only: its 7 days are over
  EXPECT_EQ(indicators["handoff"]["followed_up_within_7d"], 0);
}

TEST_F(HandoffTest, FollowupCompletedLateIsMetLateAndNotCountedWithin7Days) {
  Discharge("D1", "2026-11-02T10:00:00+01:00");
  Followup("F1", "D1", gp, "gp_visit", "2026-11-02T12:00:00.000Z");
  Ack("F1", gp, "2026-11-02T15:00:00.000Z");
  Done("F1", gp, "2026-11-10T10:00:00+01:00", "2026-11-10T12:00:00.000Z");  // day 8
  Discharge("D2", "2026-11-03T10:00:00+01:00");
  Followup("F2", "D2", gp, "gp_visit", "2026-11-03T12:00:00.000Z");
  Ack("F2", gp, "2026-11-03T13:00:00.000Z");
  // Recorded late (day 9), but the visit itself was on day 6: on time.
  Done("F2", gp, "2026-11-09T10:00:00+01:00", "2026-11-12T12:00:00.000Z");
  const ReadModels models = Project();
  const json d1 = Item("D1", "2026-11-20T00:00:00Z");
  EXPECT_EQ(d1["deadlines"]["gp_visit"]["state"], "met_late");
  EXPECT_EQ(d1["deadlines"]["gp_visit"]["met"], "2026-11-10T09:00:00.000Z");
  EXPECT_EQ(d1["status"], "done");
  EXPECT_EQ(Item("D2", "2026-11-20T00:00:00Z")["deadlines"]["gp_visit"]["state"], "met");
  const json indicators = Ok(models.Indicators(kCpts, At("2026-11-20T00:00:00Z")));
  EXPECT_EQ(indicators["handoff"]["counted"], 2);
  EXPECT_EQ(indicators["handoff"]["followed_up_within_7d"], 1);
  EXPECT_EQ(indicators["handoff"]["share_followed_up_within_7d"], 0.5);
}

TEST_F(HandoffTest, OverdueComesFirstAndFiltersSelectStatusHospitalProfessionalAndPeriod) {
  Discharge("D-old-done", "2026-11-01T10:00:00+01:00");
  Followup("F1", "D-old-done", gp, "gp_visit", "2026-11-01T12:00:00.000Z");
  Ack("F1", gp, "2026-11-01T13:00:00.000Z");
  Done("F1", gp, "2026-11-03T10:00:00+01:00", "2026-11-03T12:00:00.000Z");
  Discharge("D-overdue-a", "2026-11-10T10:00:00+01:00");
  Discharge("D-overdue-b", "2026-11-05T10:00:00+01:00", {{"finess", Finess(7)}});
  Discharge("D-pending", "2026-11-20T06:00:00+01:00", {{"needs", {"home_nursing"}}});
  Followup("F2", "D-pending", nurse, "home_nursing", "2026-11-20T05:30:00.000Z");
  Ack("F2", nurse, "2026-11-20T06:00:00.000Z");  // first contact; the GP is not told yet
  Ack("F1x", gp, "2026-11-20T06:00:00.000Z");   // unknown follow-up: changes nothing
  Discharge("D-death", "2026-11-18T10:00:00+01:00",
            {{"destination", "death"}, {"needs", json::array()}, {"exit_mode", "9"}});
  const ReadModels models = Project();
  const int64_t clock = At("2026-11-20T08:00:00+01:00");
  const json all = Ok(models.Handoff(kCpts, {}, clock, {}));
  EXPECT_THAT(Ids(all, "discharge_id"),
              ElementsAre("D-overdue-b", "D-overdue-a", "D-pending", "D-old-done", "D-death"));
  EXPECT_EQ(all["by_status"], json({{"overdue", 2}, {"pending", 1}, {"done", 1},
                                    {"not_applicable", 1}}));
  EXPECT_THAT(Ids(Ok(models.Handoff(kCpts, {.status = "overdue"}, clock, {})), "discharge_id"),
              ElementsAre("D-overdue-b", "D-overdue-a"));
  EXPECT_THAT(Ids(Ok(models.Handoff(kCpts, {.finess = Finess(7)}, clock, {})), "discharge_id"),
              ElementsAre("D-overdue-b"));
  EXPECT_THAT(Ids(Ok(models.Handoff(kCpts, {.professional = nurse}, clock, {})), "discharge_id"),
              ElementsAre("D-pending"));
  EXPECT_THAT(Ids(Ok(models.Handoff(kCpts,
                                    {.from_ms = At("2026-11-05T00:00:00Z"),
                                     .until_ms = At("2026-11-11T00:00:00Z")},
                                    clock, {})),
                  "discharge_id"),
              ElementsAre("D-overdue-b", "D-overdue-a"));
  const json page = Ok(models.Handoff(kCpts, {}, clock, {.offset = 0, .limit = 2}));
  EXPECT_EQ(page["total"], 5);
  EXPECT_EQ(page["next_offset"], 2);
  EXPECT_FALSE(models.Handoff(kCpts, {}, clock, {.limit = 0}).ok());
  EXPECT_EQ(models.Handoff("cpts-unknown", {}, clock, {}).status().code(),
            StatusCode::kNotFound);
}

TEST_F(HandoffTest, WorklistShowsAProfessionalsOpenFollowupsAcrossCpts) {
  h.Add(kRegistered, {{"name", "CPTS du Haut-Doubs"}}, "2026-01-05T08:00:00.000Z",
        "cpts-haut-doubs");
  h.Add(kJoined, {{"member_id", nurse}, {"profession", "nurse"}}, "2026-01-06T08:00:00.000Z",
        "cpts-haut-doubs");
  Discharge("D1", "2026-11-16T10:00:00+01:00");
  Discharge("D2", "2026-11-17T10:00:00+01:00");
  Followup("F1", "D1", nurse, "home_nursing", "2026-11-16T12:00:00.000Z");
  Followup("F2", "D2", nurse, "home_nursing", "2026-11-17T12:00:00.000Z");
  Ack("F2", nurse, "2026-11-17T13:00:00.000Z");
  Done("F2", nurse, "2026-11-18T10:00:00+01:00", "2026-11-18T12:00:00.000Z");
  h.Add(kDischarge, {{"discharge_id", "P1"}, {"discharged_at", "2026-11-17T09:00:00+01:00"}},
        "2026-11-17T09:00:00.000Z", "cpts-haut-doubs");
  h.Add(kFollowup, {{"followup_id", "F9"}, {"discharge_id", "P1"}, {"professional", nurse}},
        "2026-11-17T12:00:00.000Z", "cpts-haut-doubs");
  const ReadModels models = Project();
  const int64_t clock = At("2026-11-18T18:00:00Z");
  const json open = Ok(models.Worklist(nurse, clock, false, {}));
  EXPECT_THAT(Ids(open, "discharge_id"), ElementsAre("D1", "P1"));
  EXPECT_THAT(Ids(open, "cptsid"), ElementsAre(kCpts, "cpts-haut-doubs"));
  EXPECT_EQ(open["items"][0]["followup"]["followup_id"], "F1");
  EXPECT_EQ(Ok(models.Worklist(nurse, clock, true, {}))["total"], 3);
  EXPECT_EQ(Ok(models.Worklist(gp, clock, false, {}))["total"], 0);
}

// --- Unscheduled care, prevention, indicators.

TEST_F(ReadModelsTest, UnscheduledCareShareWithin48HoursCountsOpenRequestsOnlyOnceLate) {
  const auto received = [&](const char* id, const char* at) {
    h.Add(kSnp, {{"request_id", id}, {"received_at", at}}, at);
  };
  received("S1", "2026-11-10T08:00:00.000Z");
  received("S2", "2026-11-10T08:00:00.000Z");
  received("S3", "2026-11-12T08:00:00.000Z");  // open, past 48 h at the clock
  received("S4", "2026-11-14T20:00:00.000Z");  // open, within its 48 h at the clock
  received("S5", "2026-11-10T08:00:00.000Z");
  h.Add(kGiven, {{"request_id", "S1"}, {"given_at", "2026-11-11T08:00:00.000Z"}},
        "2026-11-11T09:00:00.000Z");
  h.Add(kGiven, {{"request_id", "S2"}, {"given_at", "2026-11-13T08:00:00.000Z"}},
        "2026-11-13T09:00:00.000Z");  // 72 h
  h.Add(kRedirected, {{"request_id", "S5"}, {"redirected_at", "2026-11-10T09:00:00.000Z"}},
        "2026-11-10T09:00:00.000Z");
  const json snp = Ok(Project().Snp(kCpts, std::nullopt, At("2026-11-15T08:00:00Z"), {}));
  EXPECT_EQ(snp["summary"]["received"], 5);
  EXPECT_EQ(snp["summary"]["counted"], 4);  // S4 is not due yet
  EXPECT_EQ(snp["summary"]["given_within_48h"], 1);
  EXPECT_EQ(snp["summary"]["share_within_48h"], 0.25);
  EXPECT_THAT(Ids(snp, "status"), ElementsAre("given", "given", "open", "open", "redirected"));
  EXPECT_TRUE(snp["items"][2]["overdue"].get<bool>());
  EXPECT_FALSE(snp["items"][3]["overdue"].get<bool>());
}

TEST_F(ReadModelsTest, CampaignParticipationsBySiteAndParisDayAgainstTarget) {
  h.Add(kCampaign, {{"target_population", 400}}, "2026-09-20T08:00:00.000Z");
  const auto took_part = [&](const char* site, const char* at) {
    h.Add(kParticipation, {{"site_id", site}, {"participated_at", at}}, FormatUtcMs(At(at)));
  };
  took_part("S1", "2026-10-12T11:00:00+02:00");
  took_part("S1", "2026-10-12T23:30:00Z");  // 13 October in Paris
  took_part("S2", "2026-10-12T09:00:00+02:00");
  h.Add("fr.cpts.prevention.campaign_closed.v1", {}, "2026-11-02T08:00:00.000Z");
  const json campaign = Ok(Project().Campaign(kCpts, "CAMP-2026-OR"));
  EXPECT_EQ(campaign["status"], "closed");
  EXPECT_EQ(campaign["participations"], 3);
  EXPECT_EQ(campaign["rate"], 3.0 / 400);
  EXPECT_EQ(campaign["sites"][0]["participations"], 2);
  EXPECT_EQ(campaign["sites"][1]["participations"], 1);
  EXPECT_EQ(campaign["by_day"], json::parse(R"([
      {"day":"2026-10-12","participations":1,"site_id":"S1"},
      {"day":"2026-10-12","participations":1,"site_id":"S2"},
      {"day":"2026-10-13","participations":1,"site_id":"S1"}])"));
}

TEST_F(ReadModelsTest, IndicatorsRollUpAcrossTheCptsOfARegion) {
  h.Add(kRegistered, {{"name", "CPTS du Haut-Doubs"}, {"population", 30000}},
        "2026-01-05T08:00:00.000Z", "cpts-haut-doubs");
  h.Add(kRegistered, {{"name", "CPTS Atlantique Nord Loire"}, {"region", "52"}},
        "2026-01-05T08:00:00.000Z", "cpts-atlantique");
  Join(Rpps(1), "general_practitioner", "25056");
  h.Add(kJoined, {{"member_id", Rpps(2)}, {"profession", "nurse"}},
        "2026-01-06T08:00:00.000Z", "cpts-haut-doubs");
  h.Add(kPatient, {{"patient", Patient(1)}}, "2026-01-08T08:00:00.000Z");
  h.Add(kPatient, {{"patient", Patient(2)}}, "2026-01-08T08:00:00.000Z", "cpts-haut-doubs");
  h.Add(kPatient, {{"patient", Patient(3)}}, "2026-01-08T08:00:00.000Z", "cpts-haut-doubs");
  const ReadModels models = Project();
  const json one = Ok(models.Indicators("cpts-haut-doubs", At("2026-02-01T00:00:00Z")));
  EXPECT_EQ(one["size_category"], 1);
  EXPECT_EQ(one["access"]["waiting"], 2);
  EXPECT_EQ(one["access"]["waiting_share_of_population"], 2.0 / 30000);
  const json region = Ok(models.RegionIndicators("27", At("2026-02-01T00:00:00Z")));
  EXPECT_EQ(region["cpts"], 2);
  EXPECT_EQ(region["population"], 195000 + 30000);
  EXPECT_EQ(region["size_categories"], json({{"1", 1}, {"4", 1}}));
  EXPECT_EQ(region["members"]["by_profession"],
            json({{"general_practitioner", 1}, {"nurse", 1}}));
  EXPECT_EQ(region["access"]["waiting"], 3);
  EXPECT_EQ(Ok(models.ListCpts(std::string("52")))["items"].size(), 1u);
  EXPECT_EQ(models.RegionIndicators("11", 0).status().code(), StatusCode::kNotFound);
}

// --- The clock of Paris.

TEST(ParisClockTest, SummerTimeStartsAndEndsOnTheLastSundaysAtOneUtc) {
  EXPECT_EQ(ParisOffsetMs(At("2026-03-29T00:59:59Z")), kHourMs);
  EXPECT_EQ(ParisOffsetMs(At("2026-03-29T01:00:00Z")), 2 * kHourMs);
  EXPECT_EQ(ParisOffsetMs(At("2026-10-25T00:59:59Z")), 2 * kHourMs);
  EXPECT_EQ(ParisOffsetMs(At("2026-10-25T01:00:00Z")), kHourMs);
  // The day summer time ends has 25 hours: it ends at 23:00 UTC.
  EXPECT_EQ(FormatUtcMs(EndOfParisDayMs(At("2026-10-25T10:00:00Z"))), "2026-10-25T23:00:00.000Z");
  EXPECT_EQ(FormatUtcMs(EndOfParisDayMs(At("2026-03-29T10:00:00Z"))), "2026-03-29T22:00:00.000Z");
  EXPECT_EQ(ParisDate(At("2026-12-31T23:30:00Z")), "2027-01-01");
}

TEST(ParisClockTest, TimestampsParseWithZonesAndFractions) {
  EXPECT_EQ(ParseTimestampMs("2026-11-22T16:05:00+01:00"), At("2026-11-22T15:05:00Z"));
  EXPECT_EQ(ParseTimestampMs("2026-11-22T15:05:00.123456789Z"), At("2026-11-22T15:05:00.123Z"));
  EXPECT_EQ(FormatUtcMs(At("1969-12-31T23:59:59.999Z")), "1969-12-31T23:59:59.999Z");
  EXPECT_FALSE(ParseTimestampMs("2026-11-22 16:05:00Z"));
  EXPECT_FALSE(ParseTimestampMs("2026-02-30T16:05:00Z"));
  EXPECT_FALSE(ParseTimestampMs("2026-11-22T16:05:00"));
}

}  // namespace
}  // namespace cpts::projections::testing
