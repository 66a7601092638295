// `cpts audit verify` on Kafka (cpts-test-broker, a separate process): a real history copied
// with one event altered, one left out and two swapped, then a forged event reusing a sequence
// appended by a second, independent producer (python3-kafka). Each is named; an untouched copy
// passes.

#include <gtest/gtest.h>

#include "connectors/kafka_log.h"
#include "events/json.h"
#include "tests/audit/audit_test_util.h"
#include "tests/support/test_broker.h"

namespace cpts::audittest {
namespace {

using json = ::cpts::Json;

class AuditKafkaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto source = log::OpenEmbeddedLog({.directory = dir_.path() + "/log", .sync_writes = false});
    ASSERT_TRUE(source.ok()) << source.status().ToString();
    WriteScenario(**source);
    census_ = TakeCensus(**source);
    auto broker = test::TestBroker::Start(
        {.brokers = 1, .topics = {{"cpts." + std::string(topics::kEvents), kPartitions}}});
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(*broker);
    auto kafka = log::OpenKafkaLog(logtest::KafkaTestOptions(broker_->bootstrap()));
    ASSERT_TRUE(kafka.ok()) << kafka.status().ToString();
    kafka_ = std::move(*kafka);
    ASSERT_TRUE(kafka_->EnsureTopic({std::string(topics::kEvents), kPartitions}).ok());
  }

  // Copies the census's records to Kafka partition by partition, through `edit`, which may
  // change a record's value or leave it out (returning false). Returns where each went.
  std::map<std::pair<int32_t, int64_t>, log::Position> CopyToKafka(
      const std::function<bool(const log::StoredRecord&, std::string&)>& edit) {
    std::vector<log::Record> records;
    std::vector<std::pair<int32_t, int64_t>> from;
    for (const log::StoredRecord& r : census_.records) {
      std::string value = r.value;
      if (!edit(r, value)) continue;
      records.push_back({.key = r.key, .value = value, .timestamp_ms = r.timestamp_ms,
                         .partition = r.partition});
      from.emplace_back(r.partition.value(), r.offset.value());
    }
    std::map<std::pair<int32_t, int64_t>, log::Position> where;
    auto positions = kafka_->Append(topics::kEvents, records);
    EXPECT_TRUE(positions.ok()) << positions.status().ToString();
    if (!positions.ok()) return where;
    for (size_t i = 0; i < from.size(); ++i) where[from[i]] = (*positions)[i];
    return where;
  }

  CptsRun Verify() {
    return Cpts({"audit", "verify", "--kafka", broker_->bootstrap(), "--kafka-property",
                 "fetch.wait.max.ms=10", "--json"});
  }

  logtest::TempDir dir_{"audit-kafka"};
  Census census_;
  std::unique_ptr<test::TestBroker> broker_;
  std::unique_ptr<log::Log> kafka_;
};

TEST_F(AuditKafkaTest, AnUntouchedCopyPasses) {
  CopyToKafka([](const log::StoredRecord&, std::string&) { return true; });
  const CptsRun run = Verify();
  EXPECT_EQ(run.status, 0) << run.out;
  const std::vector<json> lines = JsonLines(run.out);
  ASSERT_EQ(lines.size(), 1u) << run.out;
  EXPECT_EQ(lines[0]["summary"]["intact"], true);
  EXPECT_EQ(lines[0]["summary"]["events"], kEvents);
}

TEST_F(AuditKafkaTest, AlteredLeftOutSwappedAndForgedBySecondProducerAreEachNamed) {
  const std::string s1 = census_.StreamWithAtLeast(20);
  const std::string s2 = census_.StreamWithAtLeast(20, s1);
  const std::string s3 = census_.StreamWithAtLeast(20, s1, s2);
  const At altered = census_.streams.at(s1)[8];
  const At left_out = census_.streams.at(s2)[6];
  const At after_left_out = census_.streams.at(s2)[7];
  const At a = census_.streams.at(s3)[3], b = census_.streams.at(s3)[4];
  const std::string a_value = census_.Record(a).value, b_value = census_.Record(b).value;
  const auto key = [](const At& at) { return std::make_pair(at.partition, at.offset); };
  auto where = CopyToKafka([&](const log::StoredRecord& r, std::string& value) {
    const auto k = std::make_pair(r.partition.value(), r.offset.value());
    if (k == key(left_out)) return false;
    if (k == key(altered)) value = AlterTime(value);
    if (k == key(a)) value = b_value;
    if (k == key(b)) value = a_value;
    return true;
  });
  ASSERT_FALSE(where.empty());

  // A zombie writer: another process, another client library, reusing s1's sequence 5 for a
  // decision of its own (a valid event with its own id, chained to #4).
  const At reused = census_.streams.at(s1)[4];
  auto forged = events::Decode(census_.Record(reused).value);
  ASSERT_TRUE(forged.ok());
  forged->envelope.causationid = "cmd-zombie-42";
  forged->envelope.id = events::DeterministicEventId(
      forged->envelope.cptsid, forged->envelope.sequence, forged->envelope.causationid);
  ASSERT_TRUE(events::ValidateEnvelope(forged->envelope).ok());
  const json line = {{"key", s1}, {"value", events::Encode(forged->envelope)}};
  auto produced = test::RunAndCapture(
      {"/usr/bin/python3", std::string(CPTS_SOURCE_DIR) + "/tests/log/interop_produce.py",
       broker_->bootstrap(), "cpts." + std::string(topics::kEvents), "--timeout", "60"},
      std::chrono::seconds(90), line.dump() + "\n");
  ASSERT_TRUE(produced.ok()) << produced.status().ToString();
  const json landed = json::parse(*produced);
  EXPECT_EQ(landed["partition"], reused.partition) << "python3-kafka routes by the same murmur2";

  const CptsRun run = Verify();
  EXPECT_EQ(run.status, 1) << run.out;
  const std::vector<json> lines = JsonLines(run.out);
  std::map<std::string, std::vector<json>> by_kind;
  for (const json& j : lines) {
    if (j.contains("kind")) by_kind[j["kind"]].push_back(j);
  }
  ASSERT_EQ(lines.size(), 5u) << run.out;
  ASSERT_EQ(by_kind["altered"].size(), 1u) << run.out;
  EXPECT_EQ(by_kind["altered"][0]["offset"], where[key(altered)].offset.value());
  EXPECT_EQ(by_kind["altered"][0]["sequence"], altered.sequence);
  ASSERT_EQ(by_kind["missing"].size(), 1u) << run.out;
  EXPECT_EQ(by_kind["missing"][0]["cptsid"], s2);
  EXPECT_EQ(by_kind["missing"][0]["sequence"], left_out.sequence);
  // Kafka keeps no hole: the gap shows where the stream's next event is.
  EXPECT_EQ(by_kind["missing"][0]["offset"], where[key(after_left_out)].offset.value());
  ASSERT_EQ(by_kind["reordered"].size(), 1u) << run.out;
  EXPECT_EQ(by_kind["reordered"][0]["cptsid"], s3);
  ASSERT_EQ(by_kind["forged"].size(), 1u) << run.out;
  EXPECT_EQ(by_kind["forged"][0]["cptsid"], s1);
  EXPECT_EQ(by_kind["forged"][0]["sequence"], reused.sequence);
  EXPECT_EQ(by_kind["forged"][0]["offset"], landed["offset"]);
  EXPECT_EQ(by_kind["forged"][0]["partition"], reused.partition);
}

}  // namespace
}  // namespace cpts::audittest
