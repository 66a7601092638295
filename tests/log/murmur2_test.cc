// Murmur2 and PartitionForKey (events/log.h) must be bit-for-bit the Java client's partitioner:
// a key appended by the project and the same key produced by a Java (or any Java-compatible)
// client must land on the same partition, or per-key order across producers is lost.
//
// Three independent references: vectors from Apache Kafka's own UtilsTest and from librdkafka's
// rdmurmur2.c unit test, and python3-kafka's pure-Python port of the Java code, run as a
// subprocess over about a thousand generated keys.

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "events/log.h"
#include "tests/support/subprocess.h"

namespace cpts::log {
namespace {

// The keys below are written as UTF-8 literals; this fails to compile if the source file or the
// compiler's execution character set were to turn "é" into anything but its two UTF-8 bytes.
static_assert(sizeof("é") == 3, "tests/log/murmur2_test.cc must be compiled as UTF-8");

// Java's murmur2 returns an int; the vectors are written as Java prints them.
int32_t JavaMurmur2(std::string_view key) { return static_cast<int32_t>(Murmur2(key)); }

TEST(Murmur2Test, MatchesTheVectorsOfKafkasOwnUtilsTest) {
  // org.apache.kafka.common.utils.UtilsTest#testMurmur2.
  EXPECT_EQ(JavaMurmur2("21"), -973932308);
  EXPECT_EQ(JavaMurmur2("foobar"), -790332482);
  EXPECT_EQ(JavaMurmur2("a-little-bit-long-string"), -985981536);
  EXPECT_EQ(JavaMurmur2("a-little-bit-longer-string"), -1486304829);
  EXPECT_EQ(JavaMurmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
  EXPECT_EQ(JavaMurmur2("abc"), 479470107);
}

TEST(Murmur2Test, MatchesTheVectorsOfLibrdkafkasJavaCompatiblePartitioner) {
  // librdkafka's rdmurmur2.c unit test (a C implementation, written apart from Kafka's Java):
  // "1234" and its suffixes cover every tail length (0 to 3 bytes after the last whole 4-byte
  // block), and the empty key hashes only the seed.
  EXPECT_EQ(Murmur2("kafka"), 0xd067cf64u);
  EXPECT_EQ(Murmur2("giberish123456789"), 0x8f552b0cu);
  EXPECT_EQ(Murmur2("1234"), 0x9fc97b14u);
  EXPECT_EQ(Murmur2("234"), 0xe7c009cau);
  EXPECT_EQ(Murmur2("34"), 0x873930dau);
  EXPECT_EQ(Murmur2("4"), 0x5a4b5ca1u);
  EXPECT_EQ(Murmur2("PreAmbleWillBeRemoved,ThePrePartThatIs"), 0x78424f1cu);
  EXPECT_EQ(Murmur2(""), 0x106e08d9u);
}

struct KeyPartition {
  std::string key;
  int32_t partitions;
  int32_t partition;
};

TEST(PartitionForKeyTest, PutsCptsIdsOnThePartitionsTheJavaClientChooses) {
  // (murmur2 & 0x7fffffff) % n, computed with python3-kafka's DefaultPartitioner. Keys whose
  // hash is negative as a Java int (cpts-nord-franche-comté, "c", "cp", "cpt") tell the Java
  // client's mask apart from Math.abs or a signed modulo, which give other partitions.
  const std::vector<KeyPartition> table = {
      {"cpts-haut-doubs", 1, 0},
      {"cpts-haut-doubs", 3, 0},
      {"cpts-haut-doubs", 8, 3},
      {"cpts-haut-doubs", 12, 3},
      {"cpts-haut-doubs", 64, 43},
      {"cpts-grand-besancon", 3, 1},
      {"cpts-grand-besancon", 8, 5},
      {"cpts-grand-besancon", 12, 1},
      {"cpts-grand-besancon", 64, 5},
      {"cpts-vésoul", 3, 0},
      {"cpts-vésoul", 8, 3},
      {"cpts-vésoul", 12, 3},
      {"cpts-vésoul", 64, 11},
      {"cpts-nord-franche-comté", 3, 0},
      {"cpts-nord-franche-comté", 8, 1},
      {"cpts-nord-franche-comté", 12, 9},
      {"cpts-nord-franche-comté", 64, 57},
      {"cpts-pays-de-montbéliard", 3, 1},
      {"cpts-pays-de-montbéliard", 8, 2},
      {"cpts-pays-de-montbéliard", 12, 10},
      {"cpts-pays-de-montbéliard", 64, 18},
      {"cpts-🚑", 3, 2},
      {"cpts-🚑", 8, 0},
      {"cpts-🚑", 64, 56},
      {"c", 3, 1},
      {"c", 8, 2},
      {"c", 64, 10},
      {"cp", 3, 2},
      {"cp", 8, 0},
      {"cp", 64, 8},
      {"cpt", 3, 1},
      {"cpt", 8, 1},
      {"cpt", 64, 9},
      {"foobar", 50, 16},
  };
  for (const KeyPartition& row : table) {
    EXPECT_EQ(PartitionForKey(row.key, row.partitions).value(), row.partition)
        << row.key << " over " << row.partitions << " partitions";
  }
}

// About a thousand keys that exercise what a port of murmur2 can get wrong: every length from 0
// to 40 (so every tail length, over several blocks), CPTS-like ids in ASCII and UTF-8, uuids,
// and raw bytes with the high bit set (Java's bytes are signed; its `& 0xff` must be matched).
// std::mt19937's raw output is fixed by the standard, so the keys are the same on every machine.
std::vector<std::string> GeneratedKeys() {
  std::vector<std::string> keys;
  const std::string long_id = "cpts-franche-comte-sante-territoriale-0123456789";
  for (size_t length = 0; length <= 40; ++length) keys.push_back(long_id.substr(0, length));
  for (int i = 0; i < 300; ++i) keys.push_back("cpts-" + std::to_string(i));
  const std::vector<std::string> territories = {
      "haut-doubs",         "grand-besançon",      "vésoul",
      "nord-franche-comté", "pays-de-montbéliard", "lons-le-saunier",
      "dole-et-région",     "saint-claude",        "gray-vesoul-sud",
      "héricourt",          "pontarlier",          "champagnole",
      "belfort-cœur",       "jura-nord",           "plateau-de-maîche",
      "ornans-loue",        "baume-les-dames",     "morteau",
      "luxeuil-les-bains",  "île-de-france-94"};
  for (const std::string& territory : territories) {
    for (int i = 0; i < 10; ++i) keys.push_back("cpts-" + territory + "-" + std::to_string(i));
  }
  std::mt19937 random(20240611);
  const char* hex = "0123456789abcdef";
  for (int i = 0; i < 200; ++i) {
    std::string uuid;
    for (int n = 0; n < 32; ++n) {
      if (n == 8 || n == 12 || n == 16 || n == 20) uuid.push_back('-');
      uuid.push_back(hex[random() % 16]);
    }
    keys.push_back(uuid);
  }
  for (int i = 0; i < 250; ++i) {
    std::string bytes(1 + random() % 32, '\0');
    for (char& c : bytes) c = static_cast<char>(random() & 0xff);
    keys.push_back(bytes);
  }
  return keys;
}

std::string Hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 0xf]);
  }
  return out;
}

// Printable ASCII as is, anything else as \xHH, so a failing key can be read and copied.
std::string Printable(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x" + Hex(std::string_view(reinterpret_cast<const char*>(&c), 1));
    }
  }
  return "\"" + out + "\"";
}

// python3-kafka's murmur2 and its DefaultPartitioner over each key (given as hex, one per line,
// so any byte survives the pipe), for each partition count on the command line.
constexpr const char* kPythonPartitioner = R"py(
import sys
from kafka.partitioner import DefaultPartitioner
from kafka.partitioner.default import murmur2
counts = [int(n) for n in sys.argv[1:]]
partitioner = DefaultPartitioner()
for line in sys.stdin:
    key = bytes.fromhex(line.strip())
    partitions = [partitioner(key, list(range(n)), list(range(n))) for n in counts]
    print(murmur2(key), *partitions)
)py";

const std::vector<int32_t> kPartitionCounts = {1, 3, 8, 64};

struct PythonAnswer {
  uint32_t murmur2 = 0;
  std::vector<int32_t> partitions;  // one per kPartitionCounts entry
};

Result<std::vector<PythonAnswer>> AskPython3Kafka(const std::vector<std::string>& keys) {
  std::vector<std::string> argv = {"/usr/bin/python3", "-c", kPythonPartitioner};
  for (int32_t n : kPartitionCounts) argv.push_back(std::to_string(n));
  std::string input;
  for (const std::string& key : keys) input += Hex(key) + "\n";
  Result<std::string> output = test::RunAndCapture(argv, std::chrono::seconds(60), input);
  if (!output.ok()) return output.status();
  std::vector<PythonAnswer> answers;
  std::istringstream lines(*output);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    PythonAnswer answer;
    answer.partitions.resize(kPartitionCounts.size());
    fields >> answer.murmur2;
    for (int32_t& p : answer.partitions) fields >> p;
    if (fields.fail()) return Status::Internal("unexpected line from python3-kafka: " + line);
    answers.push_back(std::move(answer));
  }
  if (answers.size() != keys.size()) {
    return Status::Internal("python3-kafka answered " + std::to_string(answers.size()) +
                            " lines for " + std::to_string(keys.size()) + " keys");
  }
  return answers;
}

TEST(Murmur2Test, AgreesWithPython3KafkaOnAThousandGeneratedKeys) {
  const std::vector<std::string> keys = GeneratedKeys();
  ASSERT_GE(keys.size(), 950u);
  const auto answers = AskPython3Kafka(keys);
  ASSERT_TRUE(answers.ok()) << answers.status().ToString();
  std::string mismatches;
  int count = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (Murmur2(keys[i]) != (*answers)[i].murmur2 && ++count <= 20) {
      mismatches += Printable(keys[i]) + ": ours " + std::to_string(Murmur2(keys[i])) +
                    ", python3-kafka " + std::to_string((*answers)[i].murmur2) + "\n";
    }
  }
  EXPECT_EQ(count, 0) << "first mismatches:\n" << mismatches;
}

TEST(PartitionForKeyTest, AgreesWithPython3KafkasDefaultPartitionerOnAThousandGeneratedKeys) {
  const std::vector<std::string> keys = GeneratedKeys();
  const auto answers = AskPython3Kafka(keys);
  ASSERT_TRUE(answers.ok()) << answers.status().ToString();
  std::string mismatches;
  int count = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    for (size_t c = 0; c < kPartitionCounts.size(); ++c) {
      const int32_t ours = PartitionForKey(keys[i], kPartitionCounts[c]).value();
      const int32_t theirs = (*answers)[i].partitions[c];
      if (ours != theirs && ++count <= 20) {
        mismatches += Printable(keys[i]) + " over " + std::to_string(kPartitionCounts[c]) +
                      " partitions: ours " + std::to_string(ours) + ", python3-kafka " +
                      std::to_string(theirs) + "\n";
      }
    }
  }
  EXPECT_EQ(count, 0) << "first mismatches:\n" << mismatches;
}

}  // namespace
}  // namespace cpts::log
