// LiveView: the positions handlers wait for, and the per-CPTS live feed with its resumption rule.

#include "connectors/api/live.h"

#include <gtest/gtest.h>

#include <thread>

namespace cpts::api {
namespace {

using std::chrono::milliseconds;

projections::AppliedEvent Applied(const std::string& cpts, uint64_t sequence, int64_t offset,
                                  const std::string& type = "fr.cpts.discharge.notified.v1") {
  projections::AppliedEvent a;
  a.event.cptsid = cpts;
  a.event.sequence = Sequence(sequence);
  a.event.type = type;
  a.event.data = {{"patient", "p" + std::to_string(sequence)}};
  a.partition = 3;
  a.offset = offset;
  return a;
}

std::chrono::steady_clock::time_point Soon() { return std::chrono::steady_clock::now() + milliseconds(50); }

TEST(LiveViewTest, APartitionWithNothingAppliedIsAtOffsetZero) {
  LiveView live;
  EXPECT_TRUE(live.Reached({{0, 0}, {15, 0}}));
  EXPECT_FALSE(live.Reached({{0, 1}}));
  live.SetStartPositions({{0, 5}});
  EXPECT_TRUE(live.Reached({{0, 5}}));
  EXPECT_FALSE(live.Reached({{0, 6}}));
}

TEST(LiveViewTest, AWaiterWakesOnTheCommitThatReachesItsPosition) {
  LiveView live;
  std::thread projector([&] {
    std::this_thread::sleep_for(milliseconds(20));
    live.OnCommit({{3, 8}}, {});
  });
  const bool reached = live.WaitUntil([&] { return live.Reached({{3, 8}}); },
                                      std::chrono::steady_clock::now() + std::chrono::seconds(30));
  projector.join();
  EXPECT_TRUE(reached);
}

TEST(LiveViewTest, TheFeedResumesAfterAnIdAndRefusesOneNoLongerKept) {
  LiveView live({.feed_events_per_cpts = 3});
  std::vector<projections::AppliedEvent> applied;
  for (uint64_t s = 1; s <= 5; ++s) applied.push_back(Applied("cpts-a", s, 10 + s));
  live.OnCommit({{3, 16}}, std::move(applied));  // keeps 3, 4, 5

  std::vector<FeedEvent> out;
  ASSERT_TRUE(live.ReadFeed("cpts-a", 3, Soon(), {}, &out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].sequence, 4u);
  EXPECT_EQ(out[0].kind, "handoff");
  EXPECT_EQ(out[0].patients, std::vector<std::string>{"p4"});
  EXPECT_TRUE(live.Resumable("cpts-a", 2));  // 3 is the next one, still kept
  EXPECT_FALSE(live.Resumable("cpts-a", 1));
  out.clear();
  const Status too_old = live.ReadFeed("cpts-a", 1, Soon(), {}, &out);
  EXPECT_EQ(too_old.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(too_old.message().find("too old"), std::string::npos);
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(live.Resumable("cpts-b", 1));  // nothing known yet: the stream decides later
}

TEST(LiveViewTest, StopEndsEveryWait) {
  LiveView live;
  std::thread stopper([&] {
    std::this_thread::sleep_for(milliseconds(20));
    live.Stop();
  });
  std::vector<FeedEvent> out;
  const Status read = live.ReadFeed("cpts-a", 0,
                                    std::chrono::steady_clock::now() + std::chrono::seconds(30),
                                    {}, &out);
  stopper.join();
  EXPECT_TRUE(read.ok());
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(live.stopped());
  EXPECT_FALSE(live.WaitUntil([] { return false; },
                              std::chrono::steady_clock::now() + std::chrono::seconds(30)));
}

}  // namespace
}  // namespace cpts::api
