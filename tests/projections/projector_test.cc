// The projector's guarantees: re-delivery changes nothing, positions resume a stopped run,
// events that are not the next of their stream are counted and not applied, as-of builds
// equal the live read models captured at that moment, and a rebuild swaps in.

#include <gtest/gtest.h>

#include <filesystem>

#include "projections/clock.h"
#include "projections/read_models.h"
#include "projections/replay.h"
#include "tests/projections/projection_test_util.h"

namespace cpts::projections::testing {
namespace {

constexpr char kRegistered[] = "fr.cpts.cpts.registered.v1";
constexpr char kJoined[] = "fr.cpts.membership.member_joined.v1";
constexpr char kPatient[] = "fr.cpts.access.patient_registered.v2";
constexpr char kDischarge[] = "fr.cpts.discharge.notified.v1";
constexpr char kFollowup[] = "fr.cpts.followup.assigned.v1";

std::string Digest(ProjectionStore& store) {
  Result<std::string> digest = store.Digest();
  EXPECT_TRUE(digest.ok()) << digest.status().ToString();
  return digest.ok() ? *digest : "";
}

// Six CPTS, each with members, patients and discharges, times one minute apart from `start`.
void AddStories(History& h, int rounds, int64_t start_ms) {
  int minute = 0;
  const auto at = [&] { return FormatUtcMs(start_ms + 60'000LL * minute++); };
  for (int round = 0; round < rounds; ++round) {
    for (int c = 0; c < 6; ++c) {
      const std::string cpts = "cpts-" + std::to_string(c);
      if (round == 0) h.Add(kRegistered, {{"name", "CPTS " + std::to_string(c)}}, at(), cpts);
      h.Add(kJoined, {{"member_id", Rpps(round * 10 + c)}}, at(), cpts);
      h.Add(kPatient, {{"patient", Patient(round * 10 + c)}}, at(), cpts);
      const std::string d = "D" + std::to_string(round);
      h.Add(kDischarge, {{"discharge_id", d}, {"movement_id", "M" + d}}, at(), cpts);
      h.Add(kFollowup, {{"followup_id", "F" + d}, {"discharge_id", d},
                        {"professional", Rpps(round * 10 + c)}},
            at(), cpts);
    }
  }
}

constexpr int64_t kStart = 1'780'000'000'000;  // 2026-05-28

TEST(ProjectorTest, RedeliveringAnySuffixOfTheLogChangesNothing) {
  History h;
  AddStories(h, 5, kStart);
  const ProjectorStats first = h.Project(h.Store());
  EXPECT_EQ(first.applied, first.records);
  const std::string expected = Digest(h.Store());
  const Positions end = h.End();
  for (int64_t back : {1, 3, 7, 1000}) {
    // Move every partition's position back: the suffix is delivered again.
    Positions earlier;
    for (const auto& [p, offset] : end) earlier[p] = std::max<int64_t>(0, offset - back);
    RowBatch rewind(&h.Store());
    ASSERT_TRUE(rewind.Commit(earlier).ok());
    const ProjectorStats again = h.Project(h.Store());
    EXPECT_EQ(again.applied, 0u) << back;
    EXPECT_GT(again.already_applied, 0u) << back;
    EXPECT_EQ(Digest(h.Store()), expected) << "after re-delivering the last " << back;
  }
}

TEST(ProjectorTest, AStoppedRunResumesFromItsPositionsToTheSameReadModels) {
  History h;
  AddStories(h, 4, kStart);
  const Positions end = h.End();
  Positions half;
  for (const auto& [p, offset] : end) half[p] = offset / 2;
  h.Project(h.Store("stepwise"), {.until_positions = half});
  EXPECT_EQ(*h.Store("stepwise").ReadPositions(), half);
  h.Project(h.Store("stepwise"), {.threads = 1});
  h.Project(h.Store("whole"), {.threads = 3});
  EXPECT_EQ(*h.Store("stepwise").ReadPositions(), end);
  EXPECT_EQ(Digest(h.Store("stepwise")), Digest(h.Store("whole")));
}

TEST(ProjectorTest, EventsThatAreNotTheNextOfTheirStreamAreCountedNotApplied) {
  History h(1);
  h.Add(kRegistered, {}, "2026-01-05T08:00:00.000Z", "cpts-a");
  // A zombie's event at sequence 2 first, chained to another history.
  events::Envelope zombie = h.Next(kJoined, {}, "2026-01-05T08:01:00.000Z", "cpts-a");
  zombie.prevhash = std::string(64, 'a');
  h.AddRaw("cpts-a", events::Encode(zombie));
  // An event beyond a gap (sequence 3 of another writer's numbering).
  events::Envelope beyond = h.Next(kJoined, {}, "2026-01-05T08:02:00.000Z", "cpts-a");
  beyond.sequence = Sequence(3);
  beyond.id = events::DeterministicEventId("cpts-a", beyond.sequence, beyond.causationid);
  h.AddRaw("cpts-a", events::Encode(beyond));
  h.AddRaw("cpts-a", "{not json");
  h.Add(kJoined, {}, "2026-01-05T08:03:00.000Z", "cpts-a");  // the true sequence 2
  const ProjectorStats stats = h.Project(h.Store());
  EXPECT_EQ(stats.applied, 2u);
  EXPECT_EQ(stats.conflicts, 1u);
  EXPECT_EQ(stats.gaps, 1u);
  EXPECT_EQ(stats.unreadable, 1u);
  EXPECT_EQ((*h.Models().Roster("cpts-a", {}, {}))["total"], 1);
}

TEST(ProjectorTest, AStreamInAPartitionItsKeyDoesNotRouteToIsNotApplied) {
  History h(4);
  events::Envelope e = h.Next(kRegistered, {}, "2026-01-05T08:00:00.000Z", "cpts-a");
  const Partition right = log::PartitionForKey("cpts-a", 4);
  const log::Record forged{.key = "cpts-a", .value = events::Encode(e),
                           .partition = Partition((right.value() + 1) % 4)};
  ASSERT_TRUE(h.log().Append(topics::kEvents, std::span(&forged, 1)).ok());
  EXPECT_EQ(h.Project(h.Store()).misrouted, 1u);
  EXPECT_FALSE(h.Models().Cpts("cpts-a").ok());
}

TEST(ProjectorTest, AsOfPositionEqualsTheLiveReadModelsCapturedThere) {
  History h;
  AddStories(h, 3, kStart);
  h.Project(h.Store());
  const Positions captured = *h.Store().ReadPositions();
  const std::string live_then = Digest(h.Store());
  AddStories(h, 2, kStart + 3'600'000);
  h.Project(h.Store());
  ASSERT_NE(Digest(h.Store()), live_then);
  Result<BuildReport> asof = BuildReadModels(
      h.log(), {.directory = h.path("asof"), .until_positions = captured});
  ASSERT_TRUE(asof.ok()) << asof.status().ToString();
  EXPECT_EQ(asof->digest, live_then);
  EXPECT_EQ(asof->positions, captured);
}

TEST(ProjectorTest, AsOfTimeEqualsTheLiveReadModelsCapturedAtThatTime) {
  History h;
  AddStories(h, 3, kStart);  // 6 + 3 * 24 events, one minute apart
  const int64_t t = kStart + 60'000LL * 77;
  h.Project(h.Store());
  const std::string live_at_t = Digest(h.Store());
  AddStories(h, 2, t + 60'000);  // strictly later
  h.Project(h.Store());
  Result<BuildReport> asof =
      BuildReadModels(h.log(), {.directory = h.path("asof"), .until_time_ms = t});
  ASSERT_TRUE(asof.ok()) << asof.status().ToString();
  EXPECT_EQ(asof->digest, live_at_t);
  EXPECT_GT(asof->stats.after_until, 0u);
  // The live read models were not touched, and a later bound gives today's state.
  Result<BuildReport> now =
      BuildReadModels(h.log(), {.directory = h.path("now"), .until_time_ms = t + 86'400'000});
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->digest, Digest(h.Store()));
}

// Command outcomes are an index for the API that expires (kOutcomeRetentionMs), not a read model:
// a build leaves out those already expired, the digest leaves all of them out, and the daemon's
// sweep deletes the expired ones.
TEST(ProjectorTest, ABuildLeavesOutExpiredOutcomesWhichTheDigestIgnores) {
  History h;
  AddStories(h, 2, kStart);  // 54 events, commands cmd-1 to cmd-54, one minute apart
  const int64_t last = kStart + 60'000LL * 53;
  const int64_t since = kStart + 60'000LL * 30;  // cmd-31 on
  Result<BuildReport> all = BuildReadModels(h.log(), {.directory = h.path("all")});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  Result<BuildReport> recent =
      BuildReadModels(h.log(), {.directory = h.path("recent"), .outcomes_since_ms = since});
  ASSERT_TRUE(recent.ok()) << recent.status().ToString();
  EXPECT_EQ(recent->digest, all->digest);
  EXPECT_EQ(recent->stats.applied, 54u);

  const auto outcome = [&](const std::string& store, const std::string& cpts,
                           const std::string& command, int64_t clock_ms) {
    Result<std::optional<json>> row = h.Models(store).CommandOutcome(cpts, command, clock_ms);
    EXPECT_TRUE(row.ok()) << row.status().ToString();
    return row.ok() && row->has_value();
  };
  // cmd-1 registered cpts-0 at kStart; cmd-54 is cpts-5's last follow-up.
  EXPECT_TRUE(outcome("all", "cpts-0", "cmd-1", last));
  EXPECT_FALSE(outcome("recent", "cpts-0", "cmd-1", last));
  EXPECT_TRUE(outcome("recent", "cpts-0", "cmd-31", last));
  EXPECT_TRUE(outcome("recent", "cpts-5", "cmd-54", last));
  // Looked up 30 days on, an outcome decided exactly then is kept, an older one has expired.
  const int64_t later = kStart + 60'000LL * 30 + kOutcomeRetentionMs;
  EXPECT_FALSE(outcome("all", "cpts-5", "cmd-30", later));
  EXPECT_TRUE(outcome("all", "cpts-0", "cmd-31", later));

  // The sweep deletes what a build would have left out; the read models do not change.
  Result<uint64_t> deleted = h.Store("all").ExpireOutcomes(since);
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(*deleted, 30u);
  EXPECT_FALSE(outcome("all", "cpts-0", "cmd-1", kStart));
  EXPECT_TRUE(outcome("all", "cpts-0", "cmd-31", kStart));
  EXPECT_EQ(Digest(h.Store("all")), all->digest);
  EXPECT_EQ(*h.Store("all").ExpireOutcomes(since), 0u);
}

TEST(ProjectorTest, AnAsOfBuildRefusesADirectoryThatHoldsSomething) {
  History h;
  AddStories(h, 1, kStart);
  h.Project(h.Store());
  Result<BuildReport> over = BuildReadModels(h.log(), {.directory = h.path("live")});
  EXPECT_EQ(over.status().code(), StatusCode::kAlreadyExists);
}

TEST(ProjectorTest, RebuildBuildsAsideAndSwapsIn) {
  History h;
  AddStories(h, 2, kStart);
  Result<BuildReport> first = RebuildReadModels(h.log(), h.path("rebuilt"), {});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  AddStories(h, 1, kStart + 3'600'000);
  uint64_t last_done = 0, last_total = 0;
  Result<BuildReport> second = RebuildReadModels(h.log(), h.path("rebuilt"), {
      .progress = [&](uint64_t done, uint64_t total) { last_done = done, last_total = total; }});
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_NE(second->digest, first->digest);
  EXPECT_EQ(last_done, last_total);
  EXPECT_FALSE(std::filesystem::exists(h.path("rebuilt.rebuild")));
  EXPECT_FALSE(std::filesystem::exists(h.path("rebuilt.old")));
  h.Project(h.Store());
  auto reopened = ProjectionStore::Open({.directory = h.path("rebuilt"), .create_if_missing = false});
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(Digest(**reopened), Digest(h.Store()));
}

TEST(ProjectorTest, UntilIsATimeOrEveryPartitionsPosition) {
  EXPECT_EQ(ParseUntil("2026-11-22T16:05:00+01:00", 2)->time_ms,
            ParseTimestampMs("2026-11-22T15:05:00Z"));
  EXPECT_EQ(*ParseUntil("0:12,1:0", 2)->positions, (Positions{{0, 12}, {1, 0}}));
  for (const char* bad : {"0:12", "0:12,0:3", "0:12,2:1", "yesterday", "0:-1,1:2", "0:1x,1:2",
                          ""}) {
    EXPECT_EQ(ParseUntil(bad, 2).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace cpts::projections::testing
