// The projector on the Kafka log (the test broker, a separate process), against the same
// history on the embedded log: the read models must not depend on the log they were built from.

#include <gtest/gtest.h>

#include "aggregates/history_writer.h"
#include "aggregates/scenario.h"
#include "connectors/embedded_log.h"
#include "connectors/kafka_log.h"
#include "events/topics.h"
#include "projections/replay.h"
#include "tests/log/log_test_util.h"
#include "tests/support/test_broker.h"

namespace cpts::projections {
namespace {

constexpr int kPartitions = 8;
constexpr uint64_t kEvents = 20'000;

// Writes the same simulated history to `log`.
void WriteSameHistory(log::Log& log) {
  Result<aggregates::Scenario> scenario = aggregates::Scenario::Create({.seed = 7});
  ASSERT_TRUE(scenario.ok()) << scenario.status().ToString();
  auto written =
      aggregates::WriteHistory(log, *scenario, {.events = kEvents, .partitions = kPartitions});
  ASSERT_TRUE(written.ok()) << written.status().ToString();
}

TEST(ProjectorKafkaTest, TheSameHistoryOnKafkaAndOnTheEmbeddedLogGivesTheSameReadModels) {
  logtest::TempDir dir("projector-kafka");
  auto broker = test::TestBroker::Start(
      {.topics = {{"cpts." + std::string(topics::kEvents), kPartitions}}});
  ASSERT_TRUE(broker.ok()) << broker.status().ToString();
  auto kafka = log::OpenKafkaLog(logtest::KafkaTestOptions((*broker)->bootstrap()));
  ASSERT_TRUE(kafka.ok()) << kafka.status().ToString();
  WriteSameHistory(**kafka);
  auto embedded = log::OpenEmbeddedLog({.directory = dir.path() + "/log", .sync_writes = false});
  ASSERT_TRUE(embedded.ok());
  WriteSameHistory(**embedded);

  Result<BuildReport> from_embedded =
      BuildReadModels(**embedded, {.directory = dir.path() + "/embedded"});
  ASSERT_TRUE(from_embedded.ok()) << from_embedded.status().ToString();
  Result<BuildReport> from_kafka = BuildReadModels(**kafka, {.directory = dir.path() + "/kafka"});
  ASSERT_TRUE(from_kafka.ok()) << from_kafka.status().ToString();
  EXPECT_EQ(from_kafka->stats.applied, kEvents);
  EXPECT_EQ(from_kafka->digest, from_embedded->digest);

  // A live store on Kafka, rewound: the suffix delivered again changes nothing.
  auto live = ProjectionStore::Open({.directory = dir.path() + "/live"});
  ASSERT_TRUE(live.ok());
  Projector first(**kafka, **live, {});
  ASSERT_TRUE(first.Run().ok());
  EXPECT_EQ(*(*live)->Digest(), from_kafka->digest);
  Positions back;
  for (const auto& [p, offset] : first.positions()) back[p] = offset / 3;
  RowBatch rewind(live->get());
  ASSERT_TRUE(rewind.Commit(back).ok());
  Projector again(**kafka, **live, {});
  ASSERT_TRUE(again.Run().ok());
  EXPECT_EQ(again.stats().applied, 0u);
  EXPECT_GT(again.stats().already_applied, 0u);
  EXPECT_EQ(*(*live)->Digest(), from_kafka->digest);
}

}  // namespace
}  // namespace cpts::projections
