// cpts::Json (events/json.h) keeps objects in a sorted vector instead of nlohmann's std::map: the
// canonical JSON of events, the MessagePack of rows and every digest depend on it giving the same
// order and the same bytes. Checked here against nlohmann::json itself, for objects built in any
// order, changed, and read back by the strict parser.

#include "events/json.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "events/json_input.h"

namespace cpts {
namespace {

// The same random document built in both types, members inserted in a shuffled order, some
// erased and some overwritten, objects nested two levels deep.
struct Twin {
  Json ours;
  nlohmann::json theirs;
};

Twin RandomObject(std::mt19937& random, int depth) {
  std::vector<std::string> keys;
  const int size = std::uniform_int_distribution<int>(0, 40)(random);
  for (int i = 0; i < size; ++i) {
    std::string key;
    const int length = std::uniform_int_distribution<int>(0, 6)(random);
    for (int c = 0; c < length; ++c) {
      // Letters, digits, '_', and a two-byte character: byte order, not char's sign, decides.
      static const std::vector<std::string> kAlphabet = {"a", "b", "A",        "B", "0",
                                                         "9", "_", "\xc3\xa9", "z"};
      key += kAlphabet[std::uniform_int_distribution<size_t>(0, kAlphabet.size() - 1)(random)];
    }
    keys.push_back(key);
  }
  std::shuffle(keys.begin(), keys.end(), random);
  Twin twin{Json::object(), nlohmann::json::object()};
  for (const std::string& key : keys) {
    const int kind = std::uniform_int_distribution<int>(0, 5)(random);
    if (kind == 0 && depth < 2) {
      Twin child = RandomObject(random, depth + 1);
      twin.ours[key] = std::move(child.ours);
      twin.theirs[key] = std::move(child.theirs);
    } else if (kind == 1) {
      twin.ours.erase(key);
      twin.theirs.erase(key);
    } else if (kind == 2) {
      twin.ours[key] = "text " + key;
      twin.theirs[key] = "text " + key;
    } else {
      const int64_t n = std::uniform_int_distribution<int64_t>(-70000, 70000)(random);
      twin.ours[key] = n;
      twin.theirs[key] = n;
    }
  }
  return twin;
}

TEST(JsonTest, ObjectsBuiltInAnyOrderGiveNlohmannsTextAndMessagePack) {
  std::mt19937 random(20261123);
  for (int round = 0; round < 300; ++round) {
    Twin twin = RandomObject(random, 0);
    ASSERT_EQ(twin.ours.dump(), twin.theirs.dump());
    std::vector<uint8_t> ours = Json::to_msgpack(twin.ours);
    std::vector<uint8_t> theirs = nlohmann::json::to_msgpack(twin.theirs);
    ASSERT_EQ(ours, theirs) << twin.theirs.dump();
    // update() and lookups by every key type agree too.
    Twin other = RandomObject(random, 1);
    twin.ours.update(other.ours);
    twin.theirs.update(other.theirs);
    ASSERT_EQ(twin.ours.dump(), twin.theirs.dump());
    for (const auto& [key, value] : twin.theirs.items()) {
      ASSERT_TRUE(twin.ours.contains(key));
      ASSERT_TRUE(twin.ours.contains(std::string_view(key)));
      ASSERT_EQ(twin.ours.at(key).dump(), value.dump());
    }
  }
}

TEST(JsonTest, TheStrictParserSortsAnObjectSentOutOfOrder) {
  std::mt19937 random(7);
  for (int round = 0; round < 100; ++round) {
    const std::string text = RandomObject(random, 0).theirs.dump();
    // The same members, written in reverse key order.
    const nlohmann::json expected = nlohmann::json::parse(text);
    std::string reversed = "{";
    std::vector<std::string> members;
    for (const auto& [key, value] : expected.items()) {
      members.push_back(nlohmann::json(key).dump() + ":" + value.dump());
    }
    std::reverse(members.begin(), members.end());
    for (size_t i = 0; i < members.size(); ++i) reversed += (i > 0 ? "," : "") + members[i];
    reversed += "}";
    Result<Json> parsed = events::ParseStrictJson(reversed, "the test document");
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(parsed->dump(), expected.dump());
  }
}

TEST(JsonTest, ALargeObjectOutOfOrderParsesInKeyOrder) {
  std::string text = "{";
  const int n = 50'000;
  for (int i = n - 1; i >= 0; --i) {
    text += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + (i > 0 ? "," : "}");
  }
  Result<Json> parsed = events::ParseStrictJson(text, "the test document");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->size(), static_cast<size_t>(n));
  EXPECT_EQ(parsed->dump(), nlohmann::json::parse(text).dump());
}

// The message names the key repeated first in the document, in or out of key order, nested or
// not, as when objects were std::maps filled as the parser met them.
TEST(JsonTest, ARepeatedKeyOutOfOrderIsNamedAsBefore) {
  const auto repeated = [](const std::string& text) {
    Result<Json> parsed = events::ParseStrictJson(text, "the test document");
    return parsed.ok() ? std::string("accepted") : parsed.status().message();
  };
  EXPECT_NE(repeated(R"({"b":1,"a":2,"b":3})").find("\"b\" twice"), std::string::npos);
  EXPECT_NE(repeated(R"({"a":1,"a":2})").find("\"a\" twice"), std::string::npos);
  // The outer "z" repeats before the inner "y" does.
  EXPECT_NE(repeated(R"({"z":1,"c":2,"z":3,"n":{"y":1,"x":2,"y":3}})").find("\"z\" twice"),
            std::string::npos);
  // The inner "y" repeats first; the outer object, closed later, repeats "z" after it.
  EXPECT_NE(repeated(R"({"z":1,"n":{"y":1,"x":2,"y":3},"c":2,"z":3})").find("\"y\" twice"),
            std::string::npos);
}

}  // namespace
}  // namespace cpts
