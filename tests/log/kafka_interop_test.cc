// The project's Kafka log (connectors/kafka_log.h) against clients it shares no code with, over
// real sockets to the Kafka-protocol test broker (tests/support/test_broker.h):
//   - kcat (librdkafka, like the project, but none of the project's code);
//   - python3-kafka, a pure-Python client written from the Kafka protocol, independent of
//     librdkafka, through tests/log/interop_consume.py and interop_produce.py.
// What others write, the project reads unchanged; what the project writes, others read
// unchanged; and a key goes to the partition a Java client would choose, whoever produces it.
//
// Every comparison is between one-line renderings of whole records, so a failure shows the
// records that differ, not just a field.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "connectors/kafka_log.h"
#include "events/json.h"
#include "events/log.h"
#include "tests/log/log_test_util.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_broker.h"

namespace cpts::log {
namespace {

static_assert(sizeof("é") == 3, "tests/log/kafka_interop_test.cc must be compiled as UTF-8");

using json = ::cpts::Json;

// How long a kcat or python3 run may take before the test gives up on it. The Python scripts
// stop themselves, with a message, after kScriptTimeoutSeconds; the margin lets them say why.
constexpr std::chrono::seconds kToolTimeout{60};
constexpr const char* kScriptTimeoutSeconds = "30";

std::string ScriptPath(const std::string& name) {
  return std::string(CPTS_TEST_SOURCE_DIR) + "/" + name;
}

// CPTS ids in ASCII and in UTF-8, as keys; on 4 partitions they land on 1, 2 and 3, which
// leaves partition 0 to the record placed there explicitly.
const std::vector<std::string>& CptsIds() {
  static const std::vector<std::string> ids = {
      "cpts-haut-doubs",         "cpts-grand-besancon",      "cpts-vésoul",
      "cpts-nord-franche-comté", "cpts-pays-de-montbéliard", "cpts-lons-le-saunier"};
  return ids;
}

std::string EventJson(const std::string& cpts_id, int sequence) {
  return json{{"type", "fr.cpts.discharge.notified.v1"},
              {"cpts_id", cpts_id},
              {"sequence", sequence},
              {"data",
               {{"patient_ref", "ipp-" + std::to_string(1000 + sequence)},
                {"service", "Médecine polyvalente"},
                {"note", "sortie d'hôpital, retour à domicile"}}}}
      .dump();
}

// Events as the project appends them: JSON values keyed by CPTS id, with headers, on a topic of
// 4 partitions. A few records carry what a client could read differently: a header with an empty
// value, a header name repeated (Kafka keeps both, in order), and an explicit partition.
std::vector<Record> CptsEvents() {
  std::vector<Record> events;
  for (int i = 0; i < 48; ++i) {
    const std::string& id = CptsIds()[static_cast<size_t>(i) % CptsIds().size()];
    const int sequence = i / static_cast<int>(CptsIds().size()) + 1;
    events.push_back(Record{.key = id,
                            .value = EventJson(id, sequence),
                            .headers = {{"event-type", "fr.cpts.discharge.notified.v1"},
                                        {"event-id", id + ":" + std::to_string(sequence)},
                                        {"content-type", "application/json"},
                                        {"origine", "médecin traitant"}},
                            .timestamp_ms = 1'700'000'000'000 + i});
  }
  events[5].headers.push_back({"trace", ""});
  events[7].headers.push_back({"trace", "a"});
  events[7].headers.push_back({"trace", "b"});
  events.push_back(Record{.key = "cpts-haut-doubs",
                          .value = EventJson("cpts-haut-doubs", 99),
                          .headers = {{"event-type", "fr.cpts.discharge.notified.v1"}},
                          .timestamp_ms = 1'700'000'001'000,
                          .partition = Partition(0)});
  return events;
}

// One record as some client saw it, reduced to what every client reports.
struct Seen {
  int32_t partition = -1;
  int64_t offset = -1;
  std::optional<std::string> key;    // nullopt: a null key
  std::optional<std::string> value;  // nullopt: a null value
  std::vector<Header> headers;
  std::optional<int64_t> timestamp_ms;  // left out of the rendering when unknown
};

// One line per record, ordered by partition then offset.
std::string Render(std::vector<Seen> records) {
  std::sort(records.begin(), records.end(), [](const Seen& a, const Seen& b) {
    return std::pair(a.partition, a.offset) < std::pair(b.partition, b.offset);
  });
  std::string out;
  for (const Seen& r : records) {
    out += "p" + std::to_string(r.partition) + "@" + std::to_string(r.offset) +
           " key=" + r.key.value_or("(null)");
    if (r.timestamp_ms) out += " ts=" + std::to_string(*r.timestamp_ms);
    out += " value=" + r.value.value_or("(null)") + " headers=[";
    for (size_t i = 0; i < r.headers.size(); ++i) {
      out += (i > 0 ? ", " : "") + r.headers[i].key + "=" + r.headers[i].value;
    }
    out += "]\n";
  }
  return out;
}

std::vector<Seen> WithoutTimestamps(std::vector<Seen> records) {
  for (Seen& r : records) r.timestamp_ms.reset();
  return records;
}

std::vector<Seen> FromAppended(const std::vector<Record>& records,
                               const std::vector<Position>& positions) {
  std::vector<Seen> out;
  for (size_t i = 0; i < records.size(); ++i) {
    out.push_back(Seen{positions[i].partition.value(), positions[i].offset.value(), records[i].key,
                       records[i].value, records[i].headers, records[i].timestamp_ms});
  }
  return out;
}

std::vector<Seen> FromStored(const std::vector<StoredRecord>& records) {
  std::vector<Seen> out;
  for (const StoredRecord& r : records) {
    out.push_back(
        Seen{r.partition.value(), r.offset.value(), r.key, r.value, r.headers, r.timestamp_ms});
  }
  return out;
}

std::optional<std::string> OptionalString(const json& j) {
  if (j.is_null()) return std::nullopt;
  return j.get<std::string>();
}

// Parses one JSON document per line with `convert`; nlohmann's exceptions stop here.
template <typename Convert>
Result<std::vector<Seen>> ParseJsonLines(const std::string& text, const std::string& source,
                                         Convert convert) {
  std::vector<Seen> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    try {
      out.push_back(convert(json::parse(line)));
    } catch (const json::exception& e) {
      return Status::Corruption("unexpected output from " + source + " (" + e.what() +
                                "): " + line);
    }
  }
  return out;
}

// kcat -J: {"partition":1,"offset":0,"ts":...,"key":"...","payload":"...",
//           "headers":["name","value",...]} (no "headers" when there are none).
Result<std::vector<Seen>> ParseKcat(const std::string& output) {
  return ParseJsonLines(output, "kcat", [](const json& j) {
    Seen seen{j.at("partition").get<int32_t>(), j.at("offset").get<int64_t>(),
              OptionalString(j.at("key")), OptionalString(j.at("payload"))};
    if (j.contains("headers")) {
      const json& flat = j.at("headers");
      for (size_t i = 0; i + 1 < flat.size(); i += 2) {
        seen.headers.push_back(
            Header{flat[i].get<std::string>(), OptionalString(flat[i + 1]).value_or("(null)")});
      }
    }
    seen.timestamp_ms = j.at("ts").get<int64_t>();
    return seen;
  });
}

// interop_consume.py: see the format at the top of the script.
Result<std::vector<Seen>> ParsePythonConsumer(const std::string& output) {
  return ParseJsonLines(output, "interop_consume.py", [](const json& j) {
    Seen seen{j.at("partition").get<int32_t>(), j.at("offset").get<int64_t>(),
              OptionalString(j.at("key")), OptionalString(j.at("value"))};
    for (const json& header : j.at("headers")) {
      seen.headers.push_back(
          Header{header.at(0).get<std::string>(), OptionalString(header.at(1)).value_or("(null)")});
    }
    seen.timestamp_ms = j.at("timestamp").get<int64_t>();
    return seen;
  });
}

class KafkaInteropTest : public ::testing::Test {
 protected:
  // One broker for the suite: starting one takes a while, and each test has its own topics.
  static void SetUpTestSuite() {
    auto started = test::TestBroker::Start({.brokers = 3});
    if (started.ok()) {
      broker_ = std::move(*started);
    } else {
      broker_error_ = started.status().ToString();
    }
  }
  static void TearDownTestSuite() { broker_.reset(); }

  void SetUp() override {
    ASSERT_NE(broker_, nullptr) << "the test broker did not start: " << broker_error_;
    auto log = OpenKafkaLog(logtest::KafkaTestOptions(broker_->bootstrap()));
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(*log);
    topic_ =
        logtest::UniqueTopicName(::testing::UnitTest::GetInstance()->current_test_info()->name());
  }

  // The test broker has no Admin API (KAFKA-TEST-BROKER.md): the topic is made through its
  // control channel, then EnsureTopic must find it with that partition count.
  void CreateTopic(const std::string& topic, int partitions) {
    const Status created = broker_->CreateTopic(Physical(topic), partitions);
    ASSERT_TRUE(created.ok()) << created.ToString();
    const Status ensured = log_->EnsureTopic({topic, partitions});
    ASSERT_TRUE(ensured.ok()) << ensured.ToString();
  }

  static std::string Physical(const std::string& topic) { return "cpts." + topic; }

  Result<std::string> Kcat(std::vector<std::string> args, const std::string& input = {}) {
    args.insert(args.begin(), {"kcat", "-b", broker_->bootstrap()});
    return test::RunAndCapture(args, kToolTimeout, input);
  }

  Result<std::vector<Seen>> ReadWithKcat(const std::string& topic) {
    // fetch.wait.max.ms: an empty fetch waits that long on the mock broker, and -e waits for
    // the end of every partition, most of them empty.
    auto output = Kcat(
        {"-C", "-t", Physical(topic), "-o", "beginning", "-e", "-J", "-X", "fetch.wait.max.ms=10"});
    if (!output.ok()) return output.status();
    return ParseKcat(*output);
  }

  // Runs tests/log/`script` (interop_consume.py or interop_produce.py) on a topic; its stdout.
  Result<std::string> RunPythonScript(const std::string& script, const std::string& topic,
                                      const std::string& input = {}) {
    return test::RunAndCapture({"/usr/bin/python3", ScriptPath(script), broker_->bootstrap(),
                                Physical(topic), "--timeout", kScriptTimeoutSeconds},
                               kToolTimeout, input);
  }

  Result<std::vector<Seen>> ReadWithPython(const std::string& topic) {
    auto output = RunPythonScript("interop_consume.py", topic);
    if (!output.ok()) return output.status();
    return ParsePythonConsumer(*output);
  }

  // Every record of the topic through the project's LogReader.
  Result<std::vector<Seen>> ReadWithProject(const std::string& topic, int partitions) {
    auto read = logtest::ReadAll(*log_, topic, partitions);
    if (!read.ok()) return read.status();
    return FromStored(*read);
  }

  static std::unique_ptr<test::TestBroker> broker_;
  static std::string broker_error_;
  std::unique_ptr<Log> log_;
  std::string topic_;
};

std::unique_ptr<test::TestBroker> KafkaInteropTest::broker_;
std::string KafkaInteropTest::broker_error_;

// --- What the project appends, others read -------------------------------------------------

TEST_F(KafkaInteropTest, KcatReadsEveryAppendedEventWithItsKeyValueHeadersPartitionAndOffset) {
  ASSERT_NO_FATAL_FAILURE(CreateTopic(topic_, 4));
  const std::vector<Record> events = CptsEvents();
  auto positions = log_->Append(topic_, events);
  ASSERT_TRUE(positions.ok()) << positions.status().ToString();

  auto seen = ReadWithKcat(topic_);
  ASSERT_TRUE(seen.ok()) << seen.status().ToString();
  EXPECT_EQ(Render(*seen), Render(FromAppended(events, *positions)));
}

TEST_F(KafkaInteropTest,
       Python3KafkaReadsEveryAppendedEventWithItsKeyValueHeadersPartitionAndOffset) {
  ASSERT_NO_FATAL_FAILURE(CreateTopic(topic_, 4));
  const std::vector<Record> events = CptsEvents();
  auto positions = log_->Append(topic_, events);
  ASSERT_TRUE(positions.ok()) << positions.status().ToString();

  auto seen = ReadWithPython(topic_);
  ASSERT_TRUE(seen.ok()) << seen.status().ToString();
  EXPECT_EQ(Render(*seen), Render(FromAppended(events, *positions)));
}

// --- What others produce, the project reads --------------------------------------------------

TEST_F(KafkaInteropTest, RecordsKcatProducesToAChosenPartitionAreReadWithKeyValueAndHeaders) {
  ASSERT_NO_FATAL_FAILURE(CreateTopic(topic_, 4));
  // kcat -P: one record per line, "key|value" with -K '|'; -H adds the headers to every record;
  // -p 2 places every record on partition 2, whatever its key.
  const std::vector<Header> headers = {{"event-type", "fr.cpts.discharge.notified.v1"},
                                       {"origine", "médecin traitant"},
                                       {"content-type", "application/json"}};
  std::vector<std::string> args = {"-P", "-t", Physical(topic_), "-p", "2", "-K", "|"};
  for (const Header& h : headers) args.insert(args.end(), {"-H", h.key + "=" + h.value});
  std::string input;
  std::vector<Seen> expected;
  for (int i = 0; i < 12; ++i) {
    const std::string& id = CptsIds()[static_cast<size_t>(i) % CptsIds().size()];
    const std::string value = EventJson(id, i + 1);
    input += id + "|" + value + "\n";
    expected.push_back(Seen{2, i, id, value, headers});
  }
  auto produced = Kcat(args, input);
  ASSERT_TRUE(produced.ok()) << produced.status().ToString();

  auto seen = ReadWithProject(topic_, 4);
  ASSERT_TRUE(seen.ok()) << seen.status().ToString();
  // kcat stamps records with its own clock, so timestamps are not compared.
  EXPECT_EQ(Render(WithoutTimestamps(*seen)), Render(expected));
}

TEST_F(KafkaInteropTest, KeysKcatProducesWithLibrdkafkasMurmur2PartitionerAreReadOnTheirPartition) {
  constexpr int kPartitions = 8;
  ASSERT_NO_FATAL_FAILURE(CreateTopic(topic_, kPartitions));
  // librdkafka's own default (consistent_random, a CRC32) differs from Java's; its "murmur2"
  // partitioner is the Java client's, so PartitionForKey must agree with it key by key.
  std::string input;
  std::vector<Seen> expected;
  std::map<int32_t, int64_t> next_offset;
  for (int i = 0; i < 40; ++i) {
    const std::string key =
        CptsIds()[static_cast<size_t>(i) % CptsIds().size()] + "-" + std::to_string(i);
    const std::string value = EventJson(key, 1);
    input += key + "|" + value + "\n";
    const int32_t partition = PartitionForKey(key, kPartitions).value();
    expected.push_back(Seen{partition, next_offset[partition]++, key, value});
  }
  ASSERT_GT(next_offset.size(), 1u) << "the keys must spread over partitions to test anything";
  auto produced =
      Kcat({"-P", "-t", Physical(topic_), "-K", "|", "-X", "partitioner=murmur2"}, input);
  ASSERT_TRUE(produced.ok()) << produced.status().ToString();

  auto seen = ReadWithProject(topic_, kPartitions);
  ASSERT_TRUE(seen.ok()) << seen.status().ToString();
  EXPECT_EQ(Render(WithoutTimestamps(*seen)), Render(expected));
}

// --- Keys land where a Java client would put them ---------------------------------------------

TEST_F(KafkaInteropTest, EachAppendedKeyLandsWherePython3KafkasDefaultPartitionerPutsIt) {
  // interop_consume.py asks python3-kafka's DefaultPartitioner (the Java client's murmur2, in
  // Python) where each key it reads belongs, for the partition count the broker reports.
  for (int partitions : {3, 8, 64}) {
    SCOPED_TRACE(std::to_string(partitions) + " partitions");
    const std::string topic = topic_ + "-" + std::to_string(partitions);
    ASSERT_NO_FATAL_FAILURE(CreateTopic(topic, partitions));
    std::vector<Record> records;
    for (int i = 0; i < 200; ++i) {
      records.push_back(Record{.key = CptsIds()[static_cast<size_t>(i) % CptsIds().size()] +
                                      "/patient-é" + std::to_string(i),
                               .value = "{}"});
    }
    auto positions = log_->Append(topic, records);
    ASSERT_TRUE(positions.ok()) << positions.status().ToString();

    auto output = RunPythonScript("interop_consume.py", topic);
    ASSERT_TRUE(output.ok()) << output.status().ToString();
    std::map<std::string, int32_t> landed;  // key -> partition, as python3-kafka read it
    std::string mismatches;
    std::istringstream lines(*output);
    std::string line;
    while (std::getline(lines, line)) {
      std::string key;
      int32_t partition = -1, java = -1;
      try {
        const json j = json::parse(line);
        key = j.at("key").get<std::string>();
        partition = j.at("partition").get<int32_t>();
        java = j.at("default_partition").get<int32_t>();
      } catch (const json::exception& e) {
        FAIL() << "unexpected output from interop_consume.py (" << e.what() << "): " << line;
      }
      landed[key] = partition;
      if (partition != java) {
        mismatches += key + " landed on " + std::to_string(partition) +
                      ", DefaultPartitioner says " + std::to_string(java) + "\n";
      }
    }
    ASSERT_EQ(landed.size(), records.size()) << "python3-kafka did not read every key";
    EXPECT_EQ(mismatches, "");
    std::set<int32_t> used;
    for (size_t i = 0; i < records.size(); ++i) {
      EXPECT_EQ(landed[records[i].key], (*positions)[i].partition.value()) << records[i].key;
      used.insert((*positions)[i].partition.value());
    }
    EXPECT_GT(used.size(), 1u) << "the keys must spread over partitions to test anything";
  }
}

TEST_F(KafkaInteropTest, RecordsPython3KafkaProducesByKeyAreReadOnThePartitionForKey) {
  constexpr int kPartitions = 8;
  ASSERT_NO_FATAL_FAILURE(CreateTopic(topic_, kPartitions));
  // No "partition" in the input: python3-kafka's default partitioner chooses, from the key.
  std::vector<json> inputs;
  std::string input;
  for (int i = 0; i < 30; ++i) {
    const std::string key = CptsIds()[static_cast<size_t>(i) % CptsIds().size()] +
                            (i < 6 ? "" : "-" + std::to_string(i));
    inputs.push_back(json{{"key", key},
                          {"value", EventJson(key, i + 1)},
                          {"headers", json::array({json::array({"event-type", "fr.cpts.x.v1"}),
                                                   json::array({"origine", "médecin"})})}});
    input += inputs.back().dump() + "\n";
  }
  auto output = RunPythonScript("interop_produce.py", topic_, input);
  ASSERT_TRUE(output.ok()) << output.status().ToString();
  // Where python3-kafka says each record went, with what was sent: what the project must read.
  std::vector<Seen> expected;
  std::istringstream lines(*output);
  std::string line;
  for (const json& sent : inputs) {
    ASSERT_TRUE(std::getline(lines, line)) << "interop_produce.py printed too few lines";
    Seen seen{-1, -1, sent.at("key").get<std::string>(), sent.at("value").get<std::string>()};
    for (const json& h : sent.at("headers")) {
      seen.headers.push_back({h.at(0).get<std::string>(), h.at(1).get<std::string>()});
    }
    try {
      const json where = json::parse(line);
      seen.partition = where.at("partition").get<int32_t>();
      seen.offset = where.at("offset").get<int64_t>();
    } catch (const json::exception& e) {
      FAIL() << "unexpected output from interop_produce.py (" << e.what() << "): " << line;
    }
    expected.push_back(seen);
  }

  auto seen = ReadWithProject(topic_, kPartitions);
  ASSERT_TRUE(seen.ok()) << seen.status().ToString();
  EXPECT_EQ(Render(WithoutTimestamps(*seen)), Render(expected));
  std::string misplaced;
  std::set<int32_t> used;
  for (const Seen& r : *seen) {
    const int32_t ours = PartitionForKey(r.key.value_or(""), kPartitions).value();
    used.insert(r.partition);
    if (r.partition != ours) {
      misplaced += r.key.value_or("(null)") + " is on " + std::to_string(r.partition) +
                   ", PartitionForKey says " + std::to_string(ours) + "\n";
    }
  }
  EXPECT_EQ(misplaced, "");
  EXPECT_GT(used.size(), 1u) << "the keys must spread over partitions to test anything";
}

}  // namespace
}  // namespace cpts::log
