#include "events/json_input.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <clocale>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <utility>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace cpts::events {
namespace {

using json = ::cpts::Json;

// Why a parser of our own rather than json::parse with a callback: Decode runs once per event on
// every replay, and nlohmann's lexer (byte at a time, copying every byte it reads for its error
// messages) plus a std::set of keys per object made parsing half of Decode's cost. This parser
// builds the same JSON values and keeps nlohmann 3.11's observable behaviour: the same
// inputs accepted, the same values (non-negative integers unsigned, negative ones signed, others
// double), and for syntax errors the same byte position and text, which messages and tests rely
// on (json_input_test.cc compares the two). Where it differs, on purpose: nesting is limited
// (kMaxDepth), and a number too large for a double is refused like a syntax error, where
// nlohmann threw an exception whose text quoted the number.

// Deeper nesting is refused: it stops a hostile document from exhausting the stack of this
// recursive parser. 128 is serde_json's default; our events and commands nest 5 levels at most.
constexpr int kMaxDepth = 128;

// nlohmann's token kinds, to name what was found where something else was expected.
enum class Token {
  kTrue,
  kFalse,
  kNull,
  kString,
  kNumber,
  kBeginArray,
  kBeginObject,
  kEndArray,
  kEndObject,
  kNameSeparator,
  kValueSeparator,
  kError,  // the lexer could not read a token: the message says why
  kEnd,
  kValue,  // only as what was expected: any value
};

// nlohmann's token_type_name, word for word.
const char* TokenName(Token token) {
  switch (token) {
    case Token::kTrue:
      return "true literal";
    case Token::kFalse:
      return "false literal";
    case Token::kNull:
      return "null literal";
    case Token::kString:
      return "string literal";
    case Token::kNumber:
      return "number literal";
    case Token::kBeginArray:
      return "'['";
    case Token::kBeginObject:
      return "'{'";
    case Token::kEndArray:
      return "']'";
    case Token::kEndObject:
      return "'}'";
    case Token::kNameSeparator:
      return "':'";
    case Token::kValueSeparator:
      return "','";
    case Token::kError:
      return "<parse error>";
    case Token::kEnd:
      return "end of input";
    case Token::kValue:
      return "'[', '{', or a literal";
  }
  return "unknown token";
}

// Bytes a string holds as they are: printable ASCII and DEL, but the quote and the backslash.
// Control characters must be escaped; bytes from 0x80 start a UTF-8 sequence, checked apart.
constexpr auto kPlainStringByte = [] {
  std::array<bool, 256> plain{};
  for (int c = 0x20; c < 0x80; ++c) plain[c] = c != '"' && c != '\\';
  return plain;
}();

bool IsWhitespace(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }

int HexValue(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

// nlohmann's message for an unescaped control character in a string.
std::string ControlCharacterMessage(unsigned char c) {
  static constexpr const char* kNames[32] = {
      "NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS", "HT", "LF",
      "VT",  "FF",  "CR",  "SO",  "SI",  "DLE", "DC1", "DC2", "DC3", "DC4", "NAK",
      "SYN", "ETB", "CAN", "EM",  "SUB", "ESC", "FS",  "GS",  "RS",  "US"};
  static constexpr char kHex[] = "0123456789ABCDEF";
  const std::string code = std::string("00") + kHex[c >> 4] + kHex[c & 0xf];
  std::string message = "invalid string: control character U+" + code + " (" + kNames[c] +
                        ") must be escaped to \\u" + code;
  switch (c) {
    case '\b':
      return message + " or \\b";
    case '\t':
      return message + " or \\t";
    case '\n':
      return message + " or \\n";
    case '\f':
      return message + " or \\f";
    case '\r':
      return message + " or \\r";
    default:
      return message;
  }
}

struct NumberToken {
  const unsigned char* end = nullptr;  // one past its last byte
  bool negative = false;
  bool integral = true;  // no fraction, no exponent
};

// A strict JSON reader (RFC 8259) into ::cpts::Json; see the note at the top of this file.
// Positions follow nlohmann: the byte of an error is the 1-based position of the last byte the
// lexer read, the input's size + 1 when it ran out of input.
class Parser {
 public:
  explicit Parser(std::string_view bytes)
      : begin_(reinterpret_cast<const unsigned char*>(bytes.data())),
        end_(begin_ + bytes.size()),
        p_(begin_) {}

  // Reads the whole input into *out. False on a syntax error: error_byte() and error() say
  // where and what. A key repeated in an object does not stop the reading (a later syntax error
  // wins, as it did with nlohmann); duplicate() names the first one.
  // With `members` set, the members of a top-level object go where it says (and *out is left
  // alone); see ParseStrictJsonMembers.
  bool Parse(json* out, const MemberSlotFor* members = nullptr) {
    // A UTF-8 byte order mark is skipped, as nlohmann does.
    if (p_ < end_ && *p_ == 0xef) {
      for (const unsigned char expected : {0xbb, 0xbf}) {
        ++p_;
        if (p_ == end_ || *p_ != expected) {
          return Fail(p_, "value", "invalid BOM; must be 0xEF 0xBB 0xBF if given");
        }
      }
      ++p_;
    }
    SkipWhitespace();
    if (members != nullptr && p_ < end_ && *p_ == '{') {
      if (!ParseMembers(*members)) return false;
    } else if (!ParseValue(out)) {
      return false;
    }
    SkipWhitespace();
    // nlohmann's lexer reads a NUL byte as the end of the input (for C strings): what follows
    // it is never looked at. Kept, so these bytes are accepted exactly when they were.
    if (p_ == end_ || *p_ == '\0') return true;
    return Unexpected("value", Token::kEnd);
  }

  size_t error_byte() const { return error_byte_; }
  const std::string& error() const { return error_; }
  const std::optional<std::string>& duplicate() const { return duplicate_; }

 private:
  // --- Errors.

  bool Fail(const unsigned char* at, std::string_view context, std::string_view what) {
    error_byte_ = static_cast<size_t>(at - begin_) + 1;
    error_ = "syntax error while parsing " + std::string(context) + " - " + std::string(what);
    return false;
  }

  // The token at p_ is not `expected`: names what it is, or why it is not a token, and where it
  // ends, by reading it again with the lexer alone (errors only, so speed does not matter).
  bool Unexpected(std::string_view context, Token expected) {
    const unsigned char* at = p_;
    const Token found = ScanToken(&at);
    if (found == Token::kError) return Fail(lex_error_at_, context, lex_error_);
    // nlohmann reports a token at its last byte (the end of input counts as one byte).
    const unsigned char* last = found == Token::kEnd ? at : at - 1;
    return Fail(
        last, context,
        std::string("unexpected ") + TokenName(found) + "; expected " + TokenName(expected));
  }

  bool TooDeep() {
    error_byte_ = static_cast<size_t>(p_ - begin_) + 1;
    error_ = "arrays and objects nested deeper than " + std::to_string(kMaxDepth) + " levels";
    return false;
  }

  // Records a lexer error at `at`; returns null for the caller to pass on.
  const unsigned char* LexError(const unsigned char* at, std::string message) {
    lex_error_at_ = at;
    lex_error_ = std::move(message);
    return nullptr;
  }

  // --- Lexer: each function reads one token starting at `q` and returns the position after it,
  // or null after LexError.

  void SkipWhitespace() {
    while (p_ < end_ && IsWhitespace(*p_)) ++p_;
  }

  // Reads the token at *q (after whitespace); *q moves past it. For error messages only.
  Token ScanToken(const unsigned char** q) {
    while (*q < end_ && IsWhitespace(**q)) ++*q;
    const unsigned char* at = *q;
    if (at == end_) return Token::kEnd;
    const unsigned char* after = at + 1;
    Token token;
    switch (*at) {
      case '[':
        token = Token::kBeginArray;
        break;
      case ']':
        token = Token::kEndArray;
        break;
      case '{':
        token = Token::kBeginObject;
        break;
      case '}':
        token = Token::kEndObject;
        break;
      case ':':
        token = Token::kNameSeparator;
        break;
      case ',':
        token = Token::kValueSeparator;
        break;
      case '\0':
        *q = at;  // the NUL is the end of input, and its byte is where it was read
        return Token::kEnd;
      case 't':
        token = Token::kTrue;
        after = ScanLiteral(at, "true");
        break;
      case 'f':
        token = Token::kFalse;
        after = ScanLiteral(at, "false");
        break;
      case 'n':
        token = Token::kNull;
        after = ScanLiteral(at, "null");
        break;
      case '"':
        token = Token::kString;
        after = ScanString(at + 1, nullptr);
        break;
      case '-':
      case '0':
      case '1':
      case '2':
      case '3':
      case '4':
      case '5':
      case '6':
      case '7':
      case '8':
      case '9': {
        token = Token::kNumber;
        NumberToken number;
        after = ScanNumber(at, &number) ? number.end : nullptr;
        break;
      }
      default:
        LexError(at, "invalid literal");
        return Token::kError;
    }
    if (after == nullptr) return Token::kError;
    *q = after;
    return token;
  }

  const unsigned char* ScanLiteral(const unsigned char* q, std::string_view literal) {
    for (size_t i = 1; i < literal.size(); ++i) {
      if (q + i == end_ || q[i] != static_cast<unsigned char>(literal[i])) {
        return LexError(q + i, "invalid literal");
      }
    }
    return q + literal.size();
  }

  // The length of the UTF-8 sequence whose lead byte (0x80 or above) is at q, with nlohmann's
  // ranges (RFC 3629: no overlong form, no surrogate, nothing above U+10FFFF); 0 after LexError.
  size_t Utf8Length(const unsigned char* q) {
    const unsigned char lead = *q;
    unsigned char low = 0x80;
    unsigned char high = 0xbf;
    size_t length;
    if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2;
    } else if (lead == 0xe0) {
      length = 3;
      low = 0xa0;
    } else if ((lead >= 0xe1 && lead <= 0xec) || lead == 0xee || lead == 0xef) {
      length = 3;
    } else if (lead == 0xed) {
      length = 3;
      high = 0x9f;
    } else if (lead == 0xf0) {
      length = 4;
      low = 0x90;
    } else if (lead >= 0xf1 && lead <= 0xf3) {
      length = 4;
    } else if (lead == 0xf4) {
      length = 4;
      high = 0x8f;
    } else {
      LexError(q, "invalid string: ill-formed UTF-8 byte");
      return 0;
    }
    for (size_t i = 1; i < length; ++i) {
      if (q + i == end_ || q[i] < low || q[i] > high) {
        LexError(q + i, "invalid string: ill-formed UTF-8 byte");
        return 0;
      }
      low = 0x80;
      high = 0xbf;
    }
    return length;
  }

  // The first byte from q on that is not kept as it is (or end_). Eight bytes at a time: strings
  // are most of an event's bytes.
  const unsigned char* SkipPlainBytes(const unsigned char* q) const {
#if defined(__SSE2__)
    // Sixteen at a time where SSE2 is there (every x86-64): most strings then end within the
    // first block. A signed compare below 0x20 catches control characters and, as negative
    // numbers, the bytes from 0x80 up.
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    while (end_ - q >= 16) {
      const __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
      const __m128i special =
          _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(chunk, quote), _mm_cmpeq_epi8(chunk, backslash)),
                       _mm_cmplt_epi8(chunk, space));
      const int mask = _mm_movemask_epi8(special);
      if (mask != 0) return q + std::countr_zero(static_cast<unsigned>(mask));
      q += 16;
    }
#endif
    if constexpr (std::endian::native == std::endian::little) {
      constexpr uint64_t kOnes = 0x0101010101010101;
      constexpr uint64_t kHighBits = 0x8080808080808080;
      // The high bit of each byte below `n` (n <= 0x80). Exact for the lowest such byte, which
      // is all we use: a borrow can only mark bytes above a true one.
      const auto below = [](uint64_t x, uint64_t n) { return (x - kOnes * n) & ~x & kHighBits; };
      while (end_ - q >= 8) {
        uint64_t chunk;
        std::memcpy(&chunk, q, sizeof chunk);
        const uint64_t special = below(chunk ^ (kOnes * '"'), 1) |   // a quote
                                 below(chunk ^ (kOnes * '\\'), 1) |  // a backslash
                                 below(chunk, 0x20) |                // a control character
                                 (chunk & kHighBits);                // 0x80 and up
        if (special != 0) return q + std::countr_zero(special) / 8;
        q += 8;
      }
    }
    while (q < end_ && kPlainStringByte[*q]) ++q;
    return q;
  }

  // Four hex digits at q as a number, or -1 after LexError.
  int Hex4(const unsigned char* q) {
    int value = 0;
    for (int i = 0; i < 4; ++i) {
      const int digit = q + i == end_ ? -1 : HexValue(q[i]);
      if (digit < 0) {
        LexError(q + i, "invalid string: '\\u' must be followed by 4 hex digits");
        return -1;
      }
      value = value * 16 + digit;
    }
    return value;
  }

  // Reads a string whose opening quote is just before q, appending its bytes, unescaped, to
  // *out when out is not null. Returns the position after the closing quote.
  const unsigned char* ScanString(const unsigned char* q, std::string* out) {
    while (true) {
      // Most strings are one run of bytes kept as they are: appended at once.
      const unsigned char* run = q;
      while (true) {
        q = SkipPlainBytes(q);
        if (q == end_ || *q < 0x80) break;
        const size_t length = Utf8Length(q);
        if (length == 0) return nullptr;
        q += length;
      }
      if (out != nullptr) out->append(reinterpret_cast<const char*>(run), q - run);
      if (q == end_) return LexError(q, "invalid string: missing closing quote");
      if (*q == '"') return q + 1;
      if (*q != '\\') return LexError(q, ControlCharacterMessage(*q));
      ++q;  // the backslash
      if (q == end_) return LexError(q, "invalid string: forbidden character after backslash");
      char unescaped;
      switch (*q) {
        case '"':
          unescaped = '"';
          break;
        case '\\':
          unescaped = '\\';
          break;
        case '/':
          unescaped = '/';
          break;
        case 'b':
          unescaped = '\b';
          break;
        case 'f':
          unescaped = '\f';
          break;
        case 'n':
          unescaped = '\n';
          break;
        case 'r':
          unescaped = '\r';
          break;
        case 't':
          unescaped = '\t';
          break;
        case 'u': {
          q = ScanUnicodeEscape(q, out);
          if (q == nullptr) return nullptr;
          continue;
        }
        default:
          return LexError(q, "invalid string: forbidden character after backslash");
      }
      if (out != nullptr) out->push_back(unescaped);
      ++q;
    }
  }

  // Reads "uXXXX" at q (the backslash before it already read), and a second "\uXXXX" when the
  // first is a high surrogate. Returns the position after it.
  const unsigned char* ScanUnicodeEscape(const unsigned char* q, std::string* out) {
    static constexpr char kHighSurrogateAlone[] =
        "invalid string: surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF";
    const int first = Hex4(q + 1);
    if (first < 0) return nullptr;
    q += 5;
    uint32_t code_point = static_cast<uint32_t>(first);
    if (first >= 0xd800 && first <= 0xdbff) {
      if (q == end_ || *q != '\\') return LexError(q, kHighSurrogateAlone);
      ++q;
      if (q == end_ || *q != 'u') return LexError(q, kHighSurrogateAlone);
      const int second = Hex4(q + 1);
      if (second < 0) return nullptr;
      if (second < 0xdc00 || second > 0xdfff) return LexError(q + 4, kHighSurrogateAlone);
      q += 5;
      code_point = 0x10000 + ((static_cast<uint32_t>(first) - 0xd800) << 10) +
                   (static_cast<uint32_t>(second) - 0xdc00);
    } else if (first >= 0xdc00 && first <= 0xdfff) {
      return LexError(q - 1, "invalid string: surrogate U+DC00..U+DFFF must follow U+D800..U+DBFF");
    }
    if (out != nullptr) AppendUtf8(code_point, out);
    return q;
  }

  // Reads the number at q (RFC 8259 grammar); false after LexError.
  bool ScanNumber(const unsigned char* q, NumberToken* number) {
    if (*q == '-') {
      number->negative = true;
      ++q;
      if (q == end_ || !IsDigit(*q)) {
        LexError(q, "invalid number; expected digit after '-'");
        return false;
      }
    }
    if (*q == '0') {
      ++q;  // no other digit may follow a leading zero: it starts the next token
    } else {
      while (q < end_ && IsDigit(*q)) ++q;
    }
    if (q < end_ && *q == '.') {
      number->integral = false;
      ++q;
      if (q == end_ || !IsDigit(*q)) {
        LexError(q, "invalid number; expected digit after '.'");
        return false;
      }
      while (q < end_ && IsDigit(*q)) ++q;
    }
    if (q < end_ && (*q == 'e' || *q == 'E')) {
      number->integral = false;
      ++q;
      if (q < end_ && (*q == '+' || *q == '-')) {
        ++q;
        if (q == end_ || !IsDigit(*q)) {
          LexError(q, "invalid number; expected digit after exponent sign");
          return false;
        }
      } else if (q == end_ || !IsDigit(*q)) {
        LexError(q, "invalid number; expected '+', '-', or digit after exponent");
        return false;
      }
      while (q < end_ && IsDigit(*q)) ++q;
    }
    number->end = q;
    return true;
  }

  // --- Parser.

  bool ParseValue(json* out) {
    SkipWhitespace();
    if (p_ == end_) return Unexpected("value", Token::kValue);
    switch (*p_) {
      case '{':
        return ParseObject(out);
      case '[':
        return ParseArray(out);
      case '"': {
        *out = json::value_t::string;
        const unsigned char* after = ScanString(p_ + 1, out->get_ptr<json::string_t*>());
        if (after == nullptr) return Unexpected("value", Token::kValue);
        p_ = after;
        return true;
      }
      case 't':
        return ParseLiteral("true", true, out);
      case 'f':
        return ParseLiteral("false", false, out);
      case 'n':
        return ParseLiteral("null", nullptr, out);
      case '-':
      case '0':
      case '1':
      case '2':
      case '3':
      case '4':
      case '5':
      case '6':
      case '7':
      case '8':
      case '9':
        return ParseNumber(out);
      default:
        return Unexpected("value", Token::kValue);
    }
  }

  bool ParseLiteral(std::string_view literal, json value, json* out) {
    const unsigned char* after = ScanLiteral(p_, literal);
    if (after == nullptr) return Unexpected("value", Token::kValue);
    p_ = after;
    *out = std::move(value);
    return true;
  }

  bool ParseNumber(json* out) {
    NumberToken number;
    if (!ScanNumber(p_, &number)) return Unexpected("value", Token::kValue);
    const unsigned char* digits = p_ + (number.negative ? 1 : 0);
    const unsigned char* const end = number.end;
    if (number.integral) {
      // As nlohmann: an integer that fits 64 bits is unsigned, or signed when negative; one that
      // does not becomes a double.
      uint64_t magnitude = 0;
      bool fits = true;
      for (const unsigned char* d = digits; d < end && fits; ++d) {
        const uint64_t digit = *d - '0';
        fits = magnitude <= (UINT64_MAX - digit) / 10;
        magnitude = magnitude * 10 + digit;
      }
      if (fits && !number.negative) {
        *out = static_cast<json::number_unsigned_t>(magnitude);
        p_ = end;
        return true;
      }
      constexpr uint64_t kMostNegative = uint64_t{1} << 63;  // |INT64_MIN|
      if (fits && magnitude <= kMostNegative) {
        *out = magnitude == kMostNegative ? std::numeric_limits<json::number_integer_t>::min()
                                          : -static_cast<json::number_integer_t>(magnitude);
        p_ = end;
        return true;
      }
    }
    // nlohmann's conversion: strtod, with the locale's decimal point in place of '.'.
    std::string text(reinterpret_cast<const char*>(p_), end - p_);
    const lconv* locale = std::localeconv();
    const char point =
        locale != nullptr && locale->decimal_point != nullptr && *locale->decimal_point != '\0'
            ? *locale->decimal_point
            : '.';
    std::replace(text.begin(), text.end(), '.', point);
    const double value = std::strtod(text.c_str(), nullptr);
    if (!std::isfinite(value)) {
      // nlohmann threw out_of_range quoting the number, which could be a NIR; we do not quote it.
      error_byte_ = static_cast<size_t>(end - begin_);
      error_ = "a number is too large for a double";
      return false;
    }
    *out = value;
    p_ = end;
    return true;
  }

  bool ParseArray(json* out) {
    if (++depth_ > kMaxDepth) return TooDeep();
    ++p_;  // '['
    *out = json::value_t::array;
    json::array_t& array = *out->get_ptr<json::array_t*>();
    SkipWhitespace();
    if (p_ < end_ && *p_ == ']') {
      ++p_;
      --depth_;
      return true;
    }
    while (true) {
      array.emplace_back();
      if (!ParseValue(&array.back())) return false;
      SkipWhitespace();
      if (p_ < end_ && *p_ == ',') {
        ++p_;
        continue;
      }
      if (p_ < end_ && *p_ == ']') {
        ++p_;
        --depth_;
        return true;
      }
      return Unexpected("array", Token::kEndArray);
    }
  }

  bool ParseObject(json* out) {
    if (++depth_ > kMaxDepth) return TooDeep();
    ++p_;  // '{'
    // An empty object already there (a default Envelope's data) is kept rather than replaced
    // by a newly allocated one.
    if (!out->is_object() || !out->empty()) *out = json::value_t::object;
    json::object_t& object = *out->get_ptr<json::object_t*>();
    SkipWhitespace();
    if (p_ < end_ && *p_ == '}') {
      ++p_;
      --depth_;
      return true;
    }
    // Members are appended as they come. In key order (our writers' canonical JSON) that is
    // all; otherwise the object is sorted once at its end: inserting each member in its place
    // would move the members after it, quadratic in a large object sent out of order.
    // Where each member's key starts, from the first one out of order (before it, keys only grow
    // and none repeats): to name the first repeated key of the document.
    std::vector<const unsigned char*> key_at;
    while (true) {
      if (p_ == end_ || *p_ != '"') return Unexpected("object key", Token::kString);
      const unsigned char* key_start = p_;
      std::string key;
      const unsigned char* after = ScanString(p_ + 1, &key);
      if (after == nullptr) return Unexpected("object key", Token::kString);
      p_ = after;
      SkipWhitespace();
      if (p_ == end_ || *p_ != ':') return Unexpected("object separator", Token::kNameSeparator);
      ++p_;
      if (key_at.empty() && !object.empty() && !(object.back().first < key)) {
        key_at.assign(object.size(), nullptr);
      }
      if (!key_at.empty()) key_at.push_back(key_start);
      // Not through the map's emplace, which would insert in place.
      object.Container::emplace_back(std::move(key), nullptr);
      if (!ParseValue(&object.back().second)) return false;
      SkipWhitespace();
      if (p_ < end_ && *p_ == ',') {
        ++p_;
        SkipWhitespace();
        continue;
      }
      if (p_ < end_ && *p_ == '}') {
        ++p_;
        --depth_;
        if (!key_at.empty()) SortMembers(object, key_at);
        return true;
      }
      return Unexpected("object", Token::kEndObject);
    }
  }

  // Puts the members of an object read out of order in key order. Of a repeated key the first
  // value stays (the document is refused anyway); the repeat earliest in the document is noted.
  void SortMembers(json::object_t& object, const std::vector<const unsigned char*>& key_at) {
    json::object_t::Container& members = object;
    std::vector<uint32_t> order(members.size());
    for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](uint32_t a, uint32_t b) { return members[a].first < members[b].first; });
    json::object_t sorted;
    sorted.reserve(members.size());
    for (size_t i = 0; i < order.size(); ++i) {
      auto& member = members[order[i]];
      if (i > 0 && member.first == sorted.back().first) {
        NoteDuplicate(member.first, key_at[order[i]]);
        continue;
      }
      sorted.Container::emplace_back(std::move(member));
    }
    object = std::move(sorted);
  }

  // Keeps the repeated key that comes first in the document.
  void NoteDuplicate(const std::string& key, const unsigned char* at) {
    if (duplicate_ && duplicate_at_ <= at) return;
    duplicate_ = key;
    duplicate_at_ = at;
  }

  // ParseObject for the top-level object of ParseStrictJsonMembers: values go to the caller's
  // slots rather than into a map.
  bool ParseMembers(MemberSlotFor slot_for) {
    ++depth_;
    ++p_;  // '{'
    SkipWhitespace();
    if (p_ < end_ && *p_ == '}') {
      ++p_;
      --depth_;
      return true;
    }
    std::string key;
    json dropped;
    while (true) {
      if (p_ == end_ || *p_ != '"') return Unexpected("object key", Token::kString);
      key.clear();
      const unsigned char* key_start = p_;
      const unsigned char* after = ScanString(p_ + 1, &key);
      if (after == nullptr) return Unexpected("object key", Token::kString);
      p_ = after;
      SkipWhitespace();
      if (p_ == end_ || *p_ != ':') return Unexpected("object separator", Token::kNameSeparator);
      ++p_;
      MemberSlot slot = slot_for(key);
      if (slot.repeated) {
        NoteDuplicate(key, key_start);
        slot = MemberSlot{};
      }
      SkipWhitespace();
      if (slot.text != nullptr && p_ < end_ && *p_ == '"') {
        slot.text->clear();
        after = ScanString(p_ + 1, slot.text);
        if (after == nullptr) return Unexpected("value", Token::kValue);
        p_ = after;
      } else if (!ParseValue(slot.value != nullptr ? slot.value : &dropped)) {
        return false;
      }
      SkipWhitespace();
      if (p_ < end_ && *p_ == ',') {
        ++p_;
        SkipWhitespace();
        continue;
      }
      if (p_ < end_ && *p_ == '}') {
        ++p_;
        --depth_;
        return true;
      }
      return Unexpected("object", Token::kEndObject);
    }
  }


  const unsigned char* const begin_;
  const unsigned char* const end_;
  const unsigned char* p_;  // the next byte to read
  int depth_ = 0;
  std::optional<std::string> duplicate_;
  const unsigned char* duplicate_at_ = nullptr;  // where duplicate_ repeats
  size_t error_byte_ = 0;
  std::string error_;
  const unsigned char* lex_error_at_ = nullptr;
  std::string lex_error_;
};

}  // namespace

Result<json> ParseStrictJson(std::string_view bytes, std::string_view what) {
  Parser parser(bytes);
  json value;
  if (!parser.Parse(&value)) {
    return Status::InvalidArgument(std::string(what) + " is not valid JSON at byte " +
                                   std::to_string(parser.error_byte()) + ": " + parser.error());
  }
  if (parser.duplicate()) {
    return Status::InvalidArgument(std::string(what) + " holds the key " +
                                   QuotedName(*parser.duplicate()) + " twice in one object");
  }
  return value;
}

Result<std::optional<json>> ParseStrictJsonMembers(std::string_view bytes, std::string_view what,
                                                   MemberSlotFor slot_for) {
  Parser parser(bytes);
  json value = json::value_t::discarded;  // stays so when the document is an object
  if (!parser.Parse(&value, &slot_for)) {
    return Status::InvalidArgument(std::string(what) + " is not valid JSON at byte " +
                                   std::to_string(parser.error_byte()) + ": " + parser.error());
  }
  if (parser.duplicate()) {
    return Status::InvalidArgument(std::string(what) + " holds the key " +
                                   QuotedName(*parser.duplicate()) + " twice in one object");
  }
  if (value.is_discarded()) return std::optional<json>();
  return std::optional<json>(std::move(value));
}

std::string QuotedName(std::string_view name) {
  size_t digits = 0;
  bool plain =
      !name.empty() && name.size() <= 100 && std::isalpha(static_cast<unsigned char>(name[0]));
  for (char c : name) {
    digits = (c >= '0' && c <= '9') ? digits + 1 : 0;
    plain = plain && digits < 5 &&
            (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-');
  }
  return plain ? "\"" + std::string(name) + "\"" : std::string("(name not shown)");
}

bool IsCptsId(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == ':' || c == '-';
         });
}

}  // namespace cpts::events
