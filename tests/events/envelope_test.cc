#include "events/envelope.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>
#include <set>

namespace cpts::events {
namespace {

using nlohmann::json;

TEST(Sha256Hex, MatchesTheStandardTestVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(CanonicalJson, SortsKeysWhateverTheInsertionOrder) {
  json a = json::object();
  a["zeta"] = 1;
  a["alpha"] = {{"y", true}, {"b", "x"}};
  json b = json::object();
  b["alpha"] = {{"b", "x"}, {"y", true}};
  b["zeta"] = 1;
  EXPECT_EQ(CanonicalJson(a), CanonicalJson(b));
  EXPECT_EQ(CanonicalJson(a), R"({"alpha":{"b":"x","y":true},"zeta":1})");
}

TEST(CanonicalJson, WritesUtf8AsIsAndEscapesOnlyWhatJsonRequires) {
  const json value = {{"name", "CPTS du Grand Besançon / Doubs"}, {"note", "a\"b\\c\n\x01"}};
  EXPECT_EQ(CanonicalJson(value),
            "{\"name\":\"CPTS du Grand Besançon / Doubs\",\"note\":\"a\\\"b\\\\c\\n\\u0001\"}");
}

TEST(CanonicalJson, IsTheSameAfterAParseRoundTrip) {
  const std::string canonical = R"({"a":[1,2,{"c":-3,"d":null}],"b":"é"})";
  EXPECT_EQ(CanonicalJson(json::parse(canonical)), canonical);
}

TEST(DeterministicEventId, IsTheSameForTheSameDecisionAtTheSamePosition) {
  EXPECT_EQ(DeterministicEventId("cpts-a", Sequence(7), "cmd-1"),
            DeterministicEventId("cpts-a", Sequence(7), "cmd-1"));
}

TEST(DeterministicEventId, DiffersAcrossPositionsStreamsAndCauses) {
  std::set<std::string> ids;
  for (const char* cpts : {"cpts-a", "cpts-a1", "cpts-b"}) {
    for (uint64_t seq : {1, 2, 12, 21}) {
      for (const char* cause : {"cmd-1", "cmd-2"}) {
        ids.insert(DeterministicEventId(cpts, Sequence(seq), cause));
      }
    }
  }
  EXPECT_EQ(ids.size(), 24u);  // "cpts-a"#12 and "cpts-a1"#2 do not collide
}

TEST(DeterministicEventId, IsAVersion8Uuid) {
  const std::string id = DeterministicEventId("cpts-a", Sequence(1), "cmd-1");
  EXPECT_TRUE(std::regex_match(
      id, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
      << id;
}

TEST(FormatEventTime, WritesUtcWithMilliseconds) {
  const auto t = std::chrono::sys_days(std::chrono::year(2026) / 11 / 22) + std::chrono::hours(16) +
                 std::chrono::minutes(5) + std::chrono::milliseconds(123);
  EXPECT_EQ(FormatEventTime(t), "2026-11-22T16:05:00.123Z");
}

TEST(FormatEventTime, TruncatesBelowTheMillisecond) {
  const auto t =
      std::chrono::sys_days(std::chrono::year(2026) / 1 / 2) + std::chrono::microseconds(1999);
  EXPECT_EQ(FormatEventTime(t), "2026-01-02T00:00:00.001Z");
}

}  // namespace
}  // namespace cpts::events
