#include "events/envelope.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sodium.h>

#include <array>
#include <regex>
#include <set>

namespace cpts::events {
namespace {

using json = ::cpts::Json;

TEST(Sha256Hex, MatchesTheStandardTestVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Hex, MatchesLibsodiumForEveryLengthAcrossSeveralBlocks) {
  // OpenSSL computes it (SHA-NI where the CPU has it); libsodium did before, and is the fallback.
  std::string bytes;
  for (int length = 0; length <= 300; ++length) {
    std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
    crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(bytes.data()),
                       bytes.size());
    std::array<char, 2 * crypto_hash_sha256_BYTES + 1> hex{};
    sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
    ASSERT_EQ(Sha256Hex(bytes), std::string(hex.data())) << length;
    bytes.push_back(static_cast<char>(length * 7 + 1));
  }
}

TEST(Sha256Hex, MatchesTheTwoBlockTestVector) {
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
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

// The id as docs/events.md defines it, spelled out: the first 128 bits of SHA-256 over the
// canonical JSON array, version and variant set.
std::string IdFromTheDefinition(std::string_view cpts, uint64_t seq, std::string_view cause) {
  std::string hex = Sha256Hex(
      CanonicalJson(json::array({"fr.cpts.event", std::string(cpts), seq, std::string(cause)})));
  const auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  hex[12] = '8';                                                // version 8
  hex[16] = "0123456789abcdef"[(nibble(hex[16]) & 0x3) | 0x8];  // variant 10
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

TEST(DeterministicEventId, FollowsItsDefinitionForPlainAndEscapedParts) {
  // Plain ASCII parts take a shortcut past nlohmann; anything JSON escapes does not.
  for (const char* cause : {"cmd-1", "", "a b ~\x7f", "quote\"", "back\\slash", "tab\t",
                            "nul\x01", "café", "bad\xff utf-8", "/slash"}) {
    EXPECT_EQ(DeterministicEventId("cpts-a", Sequence(12), cause),
              IdFromTheDefinition("cpts-a", 12, cause))
        << cause;
    EXPECT_EQ(DeterministicEventId(cause, Sequence(18446744073709551615u), "cmd-1"),
              IdFromTheDefinition(cause, 18446744073709551615u, "cmd-1"))
        << cause;
  }
}

TEST(DeterministicEventId, KeepsTheIdsOfStoredEvents) {
  // Computed by the first implementation (libsodium, through nlohmann's dump): stored events
  // carry these, and Decode recomputes them.
  EXPECT_EQ(DeterministicEventId("cpts-grand-besancon", Sequence(12), "cmd-8f2c"),
            "873417bd-a9c9-886e-b77c-8dede7d250cd");
  EXPECT_EQ(DeterministicEventId("cpts-a", Sequence(1), "cmd \"é\""),
            "9ca24d7b-636e-8092-922d-7d112b6f571c");
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
