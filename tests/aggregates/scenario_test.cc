// The scenario (aggregates/scenario.h) and the history written from it
// (aggregates/history_writer.h): deterministic, in time order, valid for the deciders, realistic
// enough to exercise every mission, and a history an independent check accepts.

#include "aggregates/scenario.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <unordered_map>

#include "aggregates/command_processor.h"
#include "aggregates/decide.h"
#include "aggregates/history_writer.h"
#include "connectors/embedded_log.h"
#include "events/catalogue.h"
#include "events/codec.h"
#include "events/identifiers.h"
#include "events/json_input.h"
#include "events/topics.h"
#include "tests/aggregates/history_check.h"
#include "tests/log/log_test_util.h"

namespace cpts::aggregates {
namespace {

Scenario MakeScenario(const ScenarioOptions& options = {}) {
  Result<Scenario> scenario = Scenario::Create(options);
  EXPECT_TRUE(scenario.ok()) << scenario.status().ToString();
  return std::move(*scenario);
}

// A command as one line: what a test compares.
std::string Render(const ScenarioCommand& c) {
  return std::to_string(c.timestamp_ms) + " " + EncodeCommand(c.command);
}

// What deciding a scenario's commands in order, per CPTS, gives.
struct Outcomes {
  std::map<std::string, int> types;       // event type -> count
  std::map<std::string, int> rejections;  // "command type: code" -> count
  int events = 0;
  int rejected = 0;
  int unchanged = 0;
};

Outcomes Decided(Scenario& scenario, int events) {
  struct Head {
    CptsState state;
    Sequence sequence{0};
    std::string hash = std::string(events::kGenesisHash);
  };
  std::unordered_map<std::string, Head> heads;
  Outcomes out;
  while (out.events < events) {
    const ScenarioCommand c = scenario.Next();
    Head& head = heads[c.command.cptsid];
    bool rejected = false;
    std::optional<events::Envelope> e =
        BuildOutcomeEnvelope(c.command, Decide(c.command, head.state), head.sequence, head.hash,
                             c.timestamp_ms, &rejected);
    if (!e) {
      ++out.unchanged;
      continue;
    }
    const std::string bytes = events::Encode(*e);
    Evolve(head.state, *e);
    head.sequence = e->sequence;
    head.hash = events::Sha256Hex(bytes);
    ++out.events;
    ++out.types[e->type];
    if (rejected) {
      ++out.rejected;
      ++out.rejections[c.command.type + ": " + e->data.at("code").get<std::string>()];
    }
  }
  return out;
}

TEST(ScenarioTest, TheSameSeedGivesTheSameCommandsAndAnotherSeedOthers) {
  Scenario a = MakeScenario({.seed = 7});
  Scenario b = MakeScenario({.seed = 7});
  Scenario c = MakeScenario({.seed = 8});
  int differ = 0;
  for (int i = 0; i < 20'000; ++i) {
    const std::string from_a = Render(a.Next());
    ASSERT_EQ(from_a, Render(b.Next())) << "command " << i;
    if (from_a != Render(c.Next())) ++differ;
  }
  EXPECT_GT(differ, 10'000);
}

TEST(ScenarioTest, CommandsComeInTimeOrderAndEachDecodes) {
  Scenario scenario = MakeScenario();
  int64_t last = 0;
  std::set<std::string> ids;
  for (int i = 0; i < 50'000; ++i) {
    const ScenarioCommand c = scenario.Next();
    ASSERT_GE(c.timestamp_ms, last) << "command " << i << " goes back in time";
    last = c.timestamp_ms;
    // What a sender would put on the log must read back as the same command.
    Result<Command> decoded = DecodeCommand(EncodeCommand(c.command));
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString() << "\n" << EncodeCommand(c.command);
    EXPECT_EQ(decoded->data, c.command.data);
    ASSERT_TRUE(ids.insert(c.command.cptsid + "/" + c.command.command_id).second)
        << "command id used twice: " << c.command.command_id;
    // The event's time is when the command entered the log: after the sender issued it.
    EXPECT_LE(c.command.issued_at, events::FormatEventTime(std::chrono::system_clock::time_point(
                                       std::chrono::milliseconds(c.timestamp_ms))));
  }
}

TEST(ScenarioTest, ThirtyCptsOfEverySizeMostlyInBourgogneFrancheComteWithValidTerritories) {
  Scenario scenario = MakeScenario();
  ASSERT_EQ(scenario.cpts().size(), 30u);
  ASSERT_EQ(scenario.cpts_ids().size(), 30u);
  std::set<std::string> ids;
  std::set<int> sizes;
  std::set<std::string> communes;
  int bfc = 0;
  for (const ScenarioCpts& c : scenario.cpts()) {
    EXPECT_TRUE(events::IsCptsId(c.id)) << c.id;
    ids.insert(c.id);
    sizes.insert(events::SizeCategory(c.population));
    EXPECT_GE(c.population, 25'000);
    EXPECT_LE(c.population, 300'000);
    if (c.region == "27") ++bfc;
    EXPECT_GE(c.territory.size(), 10u) << c.id;
    for (const std::string& commune : c.territory) {
      EXPECT_TRUE(ids::CheckInseeCommune(commune).ok()) << c.id << " " << commune;
      EXPECT_TRUE(communes.insert(commune).second) << commune << " is in two territories";
    }
  }
  EXPECT_EQ(ids.size(), 30u);
  EXPECT_EQ(sizes, (std::set<int>{1, 2, 3, 4}));
  EXPECT_GE(bfc, 20);
  EXPECT_LT(bfc, 30);
  for (const char* seed : {"cpts-haut-doubs", "cpts-grand-besancon", "cpts-bassin-vesulien",
                           "cpts-luxeuil", "cpts-atlantique-nord-loire"}) {
    EXPECT_TRUE(ids.count(seed)) << seed;
  }
}

TEST(ScenarioTest, CatalogueIdsSpreadOverSixtyFourPartitions) {
  // Each CPTS of the catalogue on its own partition: no two streams share one by accident.
  Scenario scenario = MakeScenario();
  std::set<int32_t> partitions;
  for (const std::string& id : scenario.cpts_ids()) {
    partitions.insert(log::PartitionForKey(id, 64).value());
  }
  EXPECT_EQ(partitions.size(), 30u);
}

TEST(ScenarioTest, MoreCptsThanTheCatalogueAreGeneratedInOtherRegions) {
  Scenario scenario = MakeScenario({.cpts = 64});
  ASSERT_EQ(scenario.cpts().size(), 64u);
  std::set<std::string> ids(scenario.cpts_ids().begin(), scenario.cpts_ids().end());
  EXPECT_EQ(ids.size(), 64u);
  for (size_t i = 30; i < 64; ++i) {
    const ScenarioCpts& c = scenario.cpts()[i];
    EXPECT_NE(c.region, "27") << c.id;
    for (const std::string& commune : c.territory) {
      EXPECT_TRUE(ids::CheckInseeCommune(commune).ok()) << c.id << " " << commune;
    }
  }
  // The catalogue comes first, unchanged.
  EXPECT_EQ(scenario.cpts_ids()[0], MakeScenario().cpts_ids()[0]);
  // Every generated CPTS registers within the first days, like the catalogue's.
  std::set<std::string> registered;
  for (int i = 0; i < 200'000 && registered.size() < 64; ++i) {
    const ScenarioCommand c = scenario.Next();
    if (c.command.type == "cpts.register") registered.insert(c.command.cptsid);
  }
  EXPECT_EQ(registered.size(), 64u);
}

TEST(ScenarioTest, DecidedInOrderAlmostEveryCommandIsAccepted) {
  Scenario scenario = MakeScenario();
  const Outcomes out = Decided(scenario, 50'000);
  std::string codes;
  for (const auto& [code, n] : out.rejections) codes += "\n  " + code + " x" + std::to_string(n);
  // Refused on purpose, the way real senders are: a small share, and for the rules' reasons.
  EXPECT_LT(out.rejected, out.events * 3 / 100) << codes;
  EXPECT_GT(out.rejected, 0) << codes;
  for (const auto& [code, n] : out.rejections) {
    EXPECT_EQ(code.find("forbidden"), std::string::npos) << codes;
    EXPECT_EQ(code.find("unknown_cpts"), std::string::npos) << codes;
    EXPECT_EQ(code.find("invalid_outcome"), std::string::npos) << codes;
    EXPECT_EQ(code.find("no_open_request"), std::string::npos) << codes;
    EXPECT_EQ(code.find("not_a_gp_member"), std::string::npos) << codes;
  }
  EXPECT_EQ(out.types.at("fr.cpts.cpts.registered.v1"), 30);
  EXPECT_LT(out.unchanged, out.events / 100);  // HL7 retries and the like
}

TEST(ScenarioTest, EveryMissionShowsUpInHalfAYearOfTheSeedsTerritories) {
  // The five seeds' CPTS: 50,000 events are about half a year, with campaigns run and closed.
  Scenario scenario = MakeScenario({.cpts = 5});
  const Outcomes out = Decided(scenario, 50'000);
  for (const char* type : {
           "fr.cpts.cpts.registered.v1",
           "fr.cpts.cpts.aci_signed.v1",
           "fr.cpts.membership.member_joined.v1",
           "fr.cpts.membership.member_left.v1",
           "fr.cpts.membership.member_updated.v1",
           "fr.cpts.access.gp_capacity_declared.v1",
           "fr.cpts.access.patient_registered.v2",
           "fr.cpts.access.referral_issued.v1",
           "fr.cpts.access.referral_accepted.v1",
           "fr.cpts.access.referral_declined.v1",
           "fr.cpts.access.gp_assigned.v1",
           "fr.cpts.access.request_withdrawn.v1",
           "fr.cpts.stay.admission_notified.v1",
           "fr.cpts.discharge.notified.v1",
           "fr.cpts.discharge.cancelled.v1",
           "fr.cpts.followup.assigned.v1",
           "fr.cpts.followup.acknowledged.v1",
           "fr.cpts.followup.completed.v1",
           "fr.cpts.snp.request_received.v1",
           "fr.cpts.snp.slot_offered.v1",
           "fr.cpts.snp.care_given.v1",
           "fr.cpts.snp.request_redirected.v1",
           "fr.cpts.prevention.campaign_launched.v1",
           "fr.cpts.prevention.participation_recorded.v1",
           "fr.cpts.prevention.campaign_closed.v1",
           "fr.cpts.command.rejected.v1",
       }) {
    EXPECT_GT(out.types.count(type) ? out.types.at(type) : 0, 0) << type;
  }
  // The ville-hôpital mission dominates, as in a real CPTS fed by its hospitals.
  EXPECT_GT(out.types.at("fr.cpts.discharge.notified.v1"),
            out.types.at("fr.cpts.access.patient_registered.v2"));
}

TEST(ScenarioTest, CreateRefusesOptionsOutOfRange) {
  EXPECT_FALSE(Scenario::Create({.cpts = 0}).ok());
  EXPECT_FALSE(Scenario::Create({.cpts = 1001}).ok());
  EXPECT_FALSE(Scenario::Create({.start = "next monday"}).ok());
  EXPECT_FALSE(Scenario::Create({.secret = "short"}).ok());
  EXPECT_TRUE(Scenario::Create({.start = "2026-09-01T08:00:00+02:00"}).ok());
}

TEST(HistoryWriterTest, WritesAGaplessHashChainedHistoryTheIndependentCheckAccepts) {
  logtest::TempDir dir("history");
  auto log = log::OpenEmbeddedLog({.directory = dir.path(), .create_if_missing = true});
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  Scenario scenario = MakeScenario({.cpts = 8, .seed = 3});
  std::vector<uint64_t> progress;
  Result<HistoryStats> stats = WriteHistory(
      **log, scenario,
      {.events = 20'000, .batch = 700, .progress = [&](uint64_t n) { progress.push_back(n); }});
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->events, 20'000u);
  EXPECT_GT(stats->rejections, 0u);
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.front(), 700u);
  EXPECT_EQ(progress.back(), 20'000u);

  // The topic was created with the default partition count.
  Result<int32_t> partitions = (*log)->PartitionCount(std::string(topics::kEvents));
  ASSERT_TRUE(partitions.ok());
  EXPECT_EQ(*partitions, topics::kDefaultPartitions);

  const test::HistoryCheck check = test::CheckHistory(**log, *partitions);
  EXPECT_TRUE(check.problems.empty()) << check.problems.front();
  EXPECT_TRUE(check.over_capacity.empty()) << check.over_capacity.front();
  EXPECT_EQ(check.applied, 20'000u);
  EXPECT_EQ(check.not_applied, 0u);
  EXPECT_EQ(check.stream_lengths.size(), 8u);
  int rejections = 0;
  for (const auto& [code, n] : check.rejections) rejections += n;
  EXPECT_EQ(static_cast<uint64_t>(rejections), stats->rejections);
  for (const auto& [command, n] : check.outcomes) EXPECT_EQ(n, 1) << command;

  // Records are keyed by their stream and stamped with their event's time.
  auto records = logtest::ReadAll(**log, std::string(topics::kEvents), *partitions);
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 20'000u);
  for (const log::StoredRecord& r : *records) {
    auto decoded = events::Decode(r.value);
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(r.key, decoded->envelope.cptsid);
    EXPECT_EQ(decoded->envelope.time, events::FormatEventTime(std::chrono::system_clock::time_point(
                                          std::chrono::milliseconds(r.timestamp_ms))));
  }
}

TEST(HistoryWriterTest, TheSameScenarioWritesTheSameBytes) {
  std::vector<std::string> values[2];
  for (std::vector<std::string>& out : values) {
    logtest::TempDir dir("history-same");
    auto log = log::OpenEmbeddedLog({.directory = dir.path(), .create_if_missing = true});
    ASSERT_TRUE(log.ok());
    Scenario scenario = MakeScenario({.cpts = 3, .seed = 11});
    ASSERT_TRUE(WriteHistory(**log, scenario, {.events = 3'000, .partitions = 4}).ok());
    auto records = logtest::ReadAll(**log, std::string(topics::kEvents), 4);
    ASSERT_TRUE(records.ok());
    for (const log::StoredRecord& r : *records) out.push_back(r.value);
  }
  EXPECT_EQ(values[0], values[1]);
}

TEST(HistoryWriterTest, RefusesAnEventsTopicThatAlreadyHoldsRecords) {
  logtest::TempDir dir("history-twice");
  auto log = log::OpenEmbeddedLog({.directory = dir.path(), .create_if_missing = true});
  ASSERT_TRUE(log.ok());
  Scenario scenario = MakeScenario({.cpts = 2});
  ASSERT_TRUE(WriteHistory(**log, scenario, {.events = 100}).ok());
  Result<HistoryStats> again = WriteHistory(**log, scenario, {.events = 100});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace cpts::aggregates
