#include "events/json_input.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "events/catalogue.h"
#include "events/codec.h"
#include "tests/events/samples.h"

namespace cpts::events {
namespace {

using json = ::cpts::Json;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// The message of a failed ParseStrictJson; "ok" when it succeeded.
std::string ParseError(std::string_view bytes) {
  const Result<json> parsed = ParseStrictJson(bytes, "the document");
  return parsed.ok() ? "ok" : parsed.status().message();
}

json Parsed(std::string_view bytes) {
  Result<json> parsed = ParseStrictJson(bytes, "the document");
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  return parsed.ok() ? std::move(*parsed) : json();
}

// What ParseStrictJson said when it was nlohmann's json::parse with a callback: its parse_error
// without the "last read" excerpt. Our parser must say the same, byte position included.
std::string NlohmannMessage(std::string_view bytes) {
  try {
    const json parsed = json::parse(bytes.begin(), bytes.end());
    return parsed.is_discarded() ? "discarded" : "ok";
  } catch (const json::parse_error& e) {
    std::string text = e.what();
    text = text.substr(text.find(": ") + 2);
    const size_t last_read = text.find("; last read");
    if (last_read != std::string::npos) text.erase(last_read);
    return "the document is not valid JSON at byte " + std::to_string(e.byte) + ": " + text;
  }
}

// The same value with the same JSON types all the way down (json's == takes 1 and 1u as equal).
bool SameTypes(const json& a, const json& b) {
  if (a.type() != b.type() || a != b) return false;
  if (a.is_object()) {
    for (auto it = a.begin(); it != a.end(); ++it) {
      if (!SameTypes(*it, b.at(it.key()))) return false;
    }
  } else if (a.is_array()) {
    for (size_t i = 0; i < a.size(); ++i) {
      if (!SameTypes(a[i], b[i])) return false;
    }
  }
  return true;
}

// --- Values.

TEST(ParseStrictJson, ReadsEverySampleEventAsNlohmannDoes) {
  for (const auto& spec : EventTypes()) {
    const std::string bytes = Encode(testing::SampleEnvelope(spec.type));
    EXPECT_TRUE(SameTypes(Parsed(bytes), json::parse(bytes))) << spec.type;
    const std::string indented = json::parse(bytes).dump(2);
    EXPECT_TRUE(SameTypes(Parsed(indented), json::parse(bytes))) << spec.type;
  }
}

TEST(ParseStrictJson, GivesNonNegativeIntegersAsUnsignedAndNegativeOnesAsSigned) {
  const json value = Parsed(R"([0, 7, -0, -7, 18446744073709551615, -9223372036854775808])");
  EXPECT_TRUE(value[0].is_number_unsigned());
  EXPECT_TRUE(value[1].is_number_unsigned());
  EXPECT_TRUE(value[2].is_number_integer() && !value[2].is_number_unsigned());
  EXPECT_EQ(value[3].get<int64_t>(), -7);
  EXPECT_FALSE(value[3].is_number_unsigned());
  EXPECT_EQ(value[4].get<uint64_t>(), std::numeric_limits<uint64_t>::max());
  EXPECT_TRUE(value[4].is_number_unsigned());
  EXPECT_EQ(value[5].get<int64_t>(), std::numeric_limits<int64_t>::min());
}

TEST(ParseStrictJson, GivesFractionsExponentsAndIntegersBeyond64BitsAsDoubles) {
  const json value =
      Parsed(R"([1.5, 1e2, -2.5E-1, 18446744073709551616, -9223372036854775809, 0.0e-400])");
  for (const json& number : value) EXPECT_TRUE(number.is_number_float()) << number;
  EXPECT_EQ(value[0].get<double>(), 1.5);
  EXPECT_EQ(value[1].get<double>(), 100.0);
  EXPECT_EQ(value[2].get<double>(), -0.25);
  EXPECT_EQ(value[3].get<double>(), 18446744073709551616.0);
  EXPECT_EQ(value[4].get<double>(), -9223372036854775809.0);
  EXPECT_TRUE(SameTypes(value, json::parse(R"([1.5, 1e2, -2.5E-1, 18446744073709551616,
                                                -9223372036854775809, 0.0e-400])")));
}

TEST(ParseStrictJson, RefusesANumberTooLargeForADoubleWithoutQuotingIt) {
  const std::string message = ParseError(R"({"a": [1, 2530723073004701e400]})");
  EXPECT_EQ(message,
            "the document is not valid JSON at byte 30: a number is too large for a double");
  EXPECT_THAT(message, Not(HasSubstr("2530723")));
}

TEST(ParseStrictJson, UnescapesEveryEscape) {
  EXPECT_EQ(Parsed(R"("\" \\ \/ \b \f \n \r \t")").get<std::string>(), "\" \\ / \b \f \n \r \t");
  EXPECT_EQ(Parsed(R"("Besan\u00e7on \u20AC")").get<std::string>(), "Besançon €");
  EXPECT_EQ(Parsed(R"("a\u0000b")").get<std::string>(), std::string("a\0b", 3));
}

TEST(ParseStrictJson, JoinsASurrogatePairIntoOneCodePoint) {
  EXPECT_EQ(Parsed(R"("\ud834\udd1e")").get<std::string>(), "\xf0\x9d\x84\x9e");  // U+1D11E
  EXPECT_EQ(Parsed(R"("\uDBFF\uDFFF")").get<std::string>(), "\xf4\x8f\xbf\xbf");  // U+10FFFF
}

TEST(ParseStrictJson, RefusesALoneSurrogate) {
  EXPECT_EQ(ParseError(R"(["\ud834"])"),
            "the document is not valid JSON at byte 9: syntax error while parsing value - invalid "
            "string: surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF");
  EXPECT_EQ(ParseError(R"(["\udd1e\ud834"])"),
            "the document is not valid JSON at byte 8: syntax error while parsing value - invalid "
            "string: surrogate U+DC00..U+DFFF must follow U+D800..U+DBFF");
  EXPECT_THAT(ParseError(R"("\ud834\u0041")"), HasSubstr("must be followed by U+DC00..U+DFFF"));
  EXPECT_THAT(ParseError(R"("\u12g4")"), HasSubstr("'\\u' must be followed by 4 hex digits"));
}

TEST(ParseStrictJson, KeepsValidUtf8AsItIs) {
  const std::string text = "\"\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e \xef\xbf\xbd\x7f\"";
  EXPECT_EQ(Parsed(text).get<std::string>(), text.substr(1, text.size() - 2));
}

TEST(ParseStrictJson, RefusesInvalidUtf8AsNlohmannDoes) {
  for (const std::string& text : std::vector<std::string>{
           "\"\xc0\x80\"",          // overlong NUL
           "\"\xe0\x80\xaf\"",      // overlong '/'
           "\"\xed\xa0\x80\"",      // an encoded surrogate
           "\"\xf4\x90\x80\x80\"",  // above U+10FFFF
           "\"\xf5\x80\x80\x80\"",  // never a lead byte
           "\"\x80\"",              // a continuation byte alone
           "\"\xc3\"",              // a sequence cut short
           "\"\xe2\x82\"",          // another
           "\"\xff\"",              // never in UTF-8
           "{\"\xc3\x28\":1}",      // in a key
       }) {
    EXPECT_THAT(ParseError(text), HasSubstr("invalid string: ill-formed UTF-8 byte")) << text;
    EXPECT_EQ(ParseError(text), NlohmannMessage(text)) << text;
  }
}

TEST(ParseStrictJson, RefusesAControlCharacterInAString) {
  EXPECT_EQ(ParseError("[\"a\tb\"]"),
            "the document is not valid JSON at byte 4: syntax error while parsing value - invalid "
            "string: control character U+0009 (HT) must be escaped to \\u0009 or \\t");
  for (char c = 0; c < 0x20; ++c) {
    const std::string text = std::string("\"") + c + "\"";
    EXPECT_EQ(ParseError(text), NlohmannMessage(text)) << static_cast<int>(c);
  }
}

// --- Syntax errors: nlohmann's words and byte positions, which messages and tests rely on.

TEST(ParseStrictJson, NamesTheBytePositionAndWhatWasExpected) {
  EXPECT_EQ(ParseError(R"({"id": "x",)"),
            "the document is not valid JSON at byte 12: syntax error while parsing object key - "
            "unexpected end of input; expected string literal");
  EXPECT_EQ(ParseError(R"({"a": 1 "b": 2})"),
            "the document is not valid JSON at byte 11: syntax error while parsing object - "
            "unexpected string literal; expected '}'");
  EXPECT_EQ(ParseError("[1, 2"),
            "the document is not valid JSON at byte 6: syntax error while parsing array - "
            "unexpected end of input; expected ']'");
}

TEST(ParseStrictJson, SaysWhatNlohmannSaysForBrokenDocuments) {
  for (const std::string& text : std::vector<std::string>{
           "", " ", "{", "}", "[", "]", "{]", "[}", "{,}", "[,]", "[1,]", "{\"a\":1,}",
           "{\"a\"}", "{\"a\":}", "{\"a\" 1}", "{1:2}", "{:}", "[1 2]", "[true false]",
           "[null,nul]", "tru", "trux", "f", "nulll", "-", "-x", "01", "1.", "1.e3", "1e", "1e+",
           "1E-", "--1", "+1", ".5", "[1.5.3]", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\", "'a'",
           "NaN", "Infinity", "{} x", "{}}", "{}{}", "[] ,", "1 2", "\xef\xbb", "\xef\xbbx",
           "\xef\xbb\xbf\xef\xbb\xbf{}", "{\"a\":[1,{\"b\":[}]}", "[\"a\",\"b\"\"c\"]",
           "{\"a\":1,,\"b\":2}", "[[[[[]]]]", "{\"a\":{\"b\":{\"c\":}}}", "[1,\n2,\n3\n",
           "{\"patient\": 253072B07300470}", std::string("[\0]", 3), std::string("\0", 1),
       }) {
    EXPECT_EQ(ParseError(text), NlohmannMessage(text)) << "[" << text << "]";
  }
}

TEST(ParseStrictJson, DoesNotQuoteWhatItCouldNotParse) {
  const std::string message = ParseError(R"({"patient": 253072B07300470})");
  EXPECT_THAT(message, StartsWith("the document is not valid JSON at byte "));
  EXPECT_THAT(message, Not(HasSubstr("253072")));
  EXPECT_THAT(ParseError("{\"patient\": \"2530723073004\x01\"}"), Not(HasSubstr("253072")));
}

TEST(ParseStrictJson, RefusesTrailingData) {
  EXPECT_THAT(ParseError(R"({"a":1} {"b":2})"),
              HasSubstr("unexpected '{'; expected end of input"));
  EXPECT_THAT(ParseError(R"({"a":1},)"), HasSubstr("unexpected ','; expected end of input"));
  EXPECT_EQ(ParseError(" \t\r\n{\"a\":1} \n"), "ok");
}

TEST(ParseStrictJson, SkipsAByteOrderMarkLikeNlohmann) {
  EXPECT_EQ(Parsed("\xef\xbb\xbf{\"a\":1}"), json({{"a", 1}}));
}

// Inherited from nlohmann's lexer, which reads a NUL byte as the end of a C string; kept so the
// same stored bytes are accepted as before. Refusing them would be a separate decision.
TEST(ParseStrictJson, StopsAtANulByteOutsideStringsAsNlohmannDoes) {
  EXPECT_EQ(ParseError(std::string("{\"a\":1}\0garbage", 15)), "ok");
  EXPECT_EQ(ParseError(std::string("{\"a\":1}\0garbage", 15)),
            NlohmannMessage(std::string("{\"a\":1}\0garbage", 15)));
}

// --- Duplicate keys.

TEST(ParseStrictJson, RefusesAKeyGivenTwiceAtTheTop) {
  EXPECT_EQ(ParseError(R"({"a":1,"b":2,"a":3})"),
            "the document holds the key \"a\" twice in one object");
}

TEST(ParseStrictJson, RefusesAKeyGivenTwiceInANestedObject) {
  EXPECT_EQ(ParseError(R"({"a":{"b":{"c":1,"c":2}}})"),
            "the document holds the key \"c\" twice in one object");
  EXPECT_EQ(ParseError(R"({"sites":[{"id":1},{"id":2,"name":"x","id":3}]})"),
            "the document holds the key \"id\" twice in one object");
}

TEST(ParseStrictJson, AcceptsTheSameKeyInDifferentObjects) {
  EXPECT_EQ(ParseError(R"({"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]})"), "ok");
}

TEST(ParseStrictJson, ComparesKeysAfterUnescaping) {
  EXPECT_EQ(ParseError(R"({"gp":1,"g\u0070":2})"),
            "the document holds the key \"gp\" twice in one object");
}

TEST(ParseStrictJson, NamesTheFirstRepeatedKeyInDocumentOrder) {
  EXPECT_EQ(ParseError(R"({"z":{"y":1,"y":2},"z":3})"),
            "the document holds the key \"y\" twice in one object");
  EXPECT_EQ(ParseError(R"({"b":1,"a":2,"b":3,"a":4})"),
            "the document holds the key \"b\" twice in one object");
}

TEST(ParseStrictJson, ReportsASyntaxErrorAfterARepeatedKeyRatherThanTheKey) {
  EXPECT_THAT(ParseError(R"({"a":1,"a":2,)"), StartsWith("the document is not valid JSON at byte"));
}

TEST(ParseStrictJson, DoesNotQuoteARepeatedKeyThatCouldBeANir) {
  EXPECT_EQ(ParseError(R"({"253072B07300470":1,"253072B07300470":2})"),
            "the document holds the key (name not shown) twice in one object");
}

// --- Nesting.

TEST(ParseStrictJson, AcceptsNestingUpTo128Levels) {
  std::string text;
  for (int i = 0; i < 64; ++i) text += "{\"a\":[";
  text += "1";
  for (int i = 0; i < 64; ++i) text += "]}";
  EXPECT_EQ(ParseError(text), "ok");  // 128 levels
}

TEST(ParseStrictJson, RefusesDeeperNestingWithoutExhaustingTheStack) {
  EXPECT_EQ(ParseError(std::string(129, '[') + std::string(129, ']')),
            "the document is not valid JSON at byte 129: arrays and objects nested deeper than "
            "128 levels");
  EXPECT_THAT(ParseError(std::string(1'000'000, '[')), HasSubstr("nested deeper than 128"));
}

// --- ParseStrictJsonMembers.

struct Members {
  std::string text;
  json value;
  std::vector<std::string> keys;
};

Result<std::optional<json>> ParseMembers(std::string_view bytes, Members* members) {
  return ParseStrictJsonMembers(bytes, "the document", [members](std::string_view key) {
    members->keys.emplace_back(key);
    if (key == "t") return MemberSlot{.text = &members->text, .value = &members->value};
    if (key == "v") return MemberSlot{.value = &members->value};
    const bool repeated =
        std::count(members->keys.begin(), members->keys.end(), std::string(key)) > 1;
    return MemberSlot{.repeated = repeated};
  });
}

TEST(ParseStrictJsonMembers, ReadsAStringIntoItsTextSlotAndOtherValuesIntoTheJsonSlot) {
  Members members;
  const auto parsed = ParseMembers(R"({"x":[1,{"y":2}],"t":"caf\u00e9","z":null})", &members);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_FALSE(parsed->has_value());
  EXPECT_EQ(members.text, "café");
  EXPECT_TRUE(members.value.is_null());
  EXPECT_THAT(members.keys, ::testing::ElementsAre("x", "t", "z"));

  Members other;
  ASSERT_TRUE(ParseMembers(R"({"t":[1],"v":{"a":-1}})", &other).ok());
  EXPECT_EQ(other.value, json({{"a", -1}}));  // the later "v" replaced the array "t" gave
}

TEST(ParseStrictJsonMembers, ReturnsADocumentThatIsNotAnObject) {
  Members members;
  const auto parsed = ParseMembers(R"([1,"a"])", &members);
  ASSERT_TRUE(parsed.ok());
  ASSERT_TRUE(parsed->has_value());
  EXPECT_EQ(**parsed, json::parse(R"([1,"a"])"));
  EXPECT_TRUE(members.keys.empty());
}

TEST(ParseStrictJsonMembers, RefusesAKeyTheCallerHasSeenTwice) {
  Members members;
  EXPECT_EQ(ParseMembers(R"({"k":1,"k":2})", &members).status().message(),
            "the document holds the key \"k\" twice in one object");
}

TEST(ParseStrictJsonMembers, RefusesKeysRepeatedBelowTheTopLikeParseStrictJson) {
  Members members;
  EXPECT_EQ(ParseMembers(R"({"v":{"a":1,"a":2}})", &members).status().message(),
            "the document holds the key \"a\" twice in one object");
}

TEST(ParseStrictJsonMembers, GivesTheSameSyntaxErrorsAsParseStrictJson) {
  for (const std::string& text : std::vector<std::string>{
           "{", "{\"t\":", "{\"t\":\"a", "{\"t\":\"\xff\"}", "{\"t\":1 }x", "{\"v\":[}", "{} {}",
        "{\"t\":tru}", "{\"x\":1,}", "{\"a\":1e999}"}) {
    Members members;
    const auto parsed = ParseMembers(text, &members);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().message(), ParseError(text)) << text;
  }
}

}  // namespace
}  // namespace cpts::events
