// OpenSSL's low-level SHA256_* functions are deprecated in 3.0 in favour of EVP, but they are
// what the EVP digest calls underneath (the same code, SHA-NI included) and cost no allocation:
// EVP_Digest allocates and frees two contexts per call and goes through the provider table,
// which for the short inputs Decode hashes twice per event (the stored bytes, the id's 50-odd
// bytes) cost as much as the hashing itself. They stay in OpenSSL 3; a build of OpenSSL without
// deprecated functions would fail to compile here, not hash differently. Defined before any
// include, so that no header reached first has read OpenSSL's settings already.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "events/envelope.h"

#include <openssl/sha.h>

#include <array>
#include <charconv>
#include <cstdio>
#include <ctime>

namespace cpts::events {
namespace {

using Digest = std::array<unsigned char, SHA256_DIGEST_LENGTH>;

// SHA-256 fed piece by piece, so a message made of parts is hashed without first being
// concatenated.
class Sha256 {
 public:
  Sha256() { SHA256_Init(&context_); }
  Sha256& Update(std::string_view bytes) {
    SHA256_Update(&context_, bytes.data(), bytes.size());
    return *this;
  }
  Digest Finish() {
    Digest digest;
    SHA256_Final(digest.data(), &context_);
    return digest;
  }

 private:
  SHA256_CTX context_;
};

// Lowercase hex, two characters per byte, written at `out`.
char* WriteHex(const unsigned char* bytes, size_t size, char* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (size_t i = 0; i < size; ++i) {
    *out++ = kDigits[bytes[i] >> 4];
    *out++ = kDigits[bytes[i] & 0x0f];
  }
  return out;
}

// True when CanonicalJson writes `s` as "<s>": printable ASCII (and DEL), no quote, no
// backslash. Anything else goes through nlohmann's escaping.
bool NeedsNoEscape(std::string_view s) {
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x80 || c == '"' || c == '\\') return false;
  }
  return true;
}

}  // namespace

std::string CanonicalJson(const ::cpts::Json& value) {
  return value.dump(/*indent=*/-1, /*indent_char=*/' ', /*ensure_ascii=*/false,
                    ::cpts::Json::error_handler_t::replace);
}

std::string Sha256Hex(std::string_view bytes) {
  std::string hex;
  AssignSha256Hex(bytes, hex);
  return hex;
}

void AssignSha256Hex(std::string_view bytes, std::string& hex) {
  const Digest digest = Sha256().Update(bytes).Finish();
  hex.resize(2 * digest.size());
  WriteHex(digest.data(), digest.size(), hex.data());
}

EventIdChars DeterministicEventIdChars(std::string_view cpts_id, Sequence sequence,
                                       std::string_view causation_id) {
  // A JSON array keeps the parts apart whatever characters they hold. Decode checks every
  // event's id, so the usual case (ids in plain ASCII) hashes the canonical bytes as pieces,
  // never assembled; they are what CanonicalJson gives for the same array (envelope_test.cc
  // checks both ways).
  Sha256 sha256;
  if (NeedsNoEscape(cpts_id) && NeedsNoEscape(causation_id)) {
    char digits[20];  // the largest uint64_t has 20 digits
    const auto [digits_end, error] =
        std::to_chars(std::begin(digits), std::end(digits), sequence.value());
    (void)error;  // 20 characters always suffice
    sha256.Update("[\"fr.cpts.event\",\"").Update(cpts_id).Update("\",");
    sha256.Update(std::string_view(digits, digits_end - digits)).Update(",\"");
    sha256.Update(causation_id).Update("\"]");
  } else {
    sha256.Update(CanonicalJson(::cpts::Json::array(
        {"fr.cpts.event", std::string(cpts_id), sequence.value(), std::string(causation_id)})));
  }
  Digest digest = sha256.Finish();
  digest[6] = static_cast<unsigned char>((digest[6] & 0x0f) | 0x80);  // version 8
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3f) | 0x80);  // variant 10
  // 8-4-4-4-12 hex digits.
  EventIdChars id;
  id.fill('-');
  char* out = id.data();
  out = WriteHex(digest.data(), 4, out) + 1;
  out = WriteHex(digest.data() + 4, 2, out) + 1;
  out = WriteHex(digest.data() + 6, 2, out) + 1;
  out = WriteHex(digest.data() + 8, 2, out) + 1;
  WriteHex(digest.data() + 10, 6, out);
  return id;
}

std::string DeterministicEventId(std::string_view cpts_id, Sequence sequence,
                                 std::string_view causation_id) {
  const EventIdChars id = DeterministicEventIdChars(cpts_id, sequence, causation_id);
  return std::string(id.data(), id.size());
}

std::string FormatEventTime(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::floor<std::chrono::milliseconds>(t);
  const auto seconds = std::chrono::floor<std::chrono::seconds>(ms);
  const std::time_t tt = std::chrono::system_clock::to_time_t(seconds);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  std::array<char, 64> out{};  // room for any int the compiler can imagine
  std::snprintf(out.data(), out.size(), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>((ms - seconds).count()));
  return out.data();
}

}  // namespace cpts::events
