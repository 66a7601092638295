#include "events/envelope.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <array>
#include <cstdio>
#include <ctime>

namespace cpts::events {
namespace {

using Digest = std::array<unsigned char, 32>;
static_assert(crypto_hash_sha256_BYTES == std::tuple_size_v<Digest>);

// SHA-256 through OpenSSL rather than libsodium: every Decode hashes the stored bytes and the
// event id, and OpenSSL uses the CPU's SHA extensions (SHA-NI) where libsodium has portable C
// only: about 0.4 us instead of 1.9 us for a 600-byte event. The digest is fetched once (an
// implicit fetch per call, as SHA256() does in OpenSSL 3, costs as much as hashing 600 bytes);
// a fetched EVP_MD is immutable and may be shared by threads.
const EVP_MD* OpenSslSha256() {
  static const EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return kSha256;
}

Digest Sha256(std::string_view bytes) {
  Digest digest{};
  const EVP_MD* sha256 = OpenSslSha256();
  unsigned int size = 0;
  if (sha256 != nullptr &&
      EVP_Digest(bytes.data(), bytes.size(), digest.data(), &size, sha256, nullptr) == 1 &&
      size == digest.size()) {
    return digest;
  }
  // OpenSSL without its default provider (a stripped configuration) or out of memory: the same
  // function through libsodium, slower but never wrong. sodium_init() picks its implementations
  // and is thread-safe; -1 means no entropy source, which hashing does not use.
  static const int kSodiumInit = sodium_init();
  (void)kSodiumInit;
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(bytes.data()),
                     bytes.size());
  return digest;
}

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
  const Digest digest = Sha256(bytes);
  std::string hex(2 * digest.size(), '\0');
  WriteHex(digest.data(), digest.size(), hex.data());
  return hex;
}

std::string DeterministicEventId(std::string_view cpts_id, Sequence sequence,
                                 std::string_view causation_id) {
  // A JSON array keeps the parts apart whatever characters they hold. Decode checks every
  // event's id, so the usual case (ids in plain ASCII) writes the canonical bytes directly;
  // they are what CanonicalJson gives for the same array (envelope_test.cc checks both ways).
  std::string canonical;
  if (NeedsNoEscape(cpts_id) && NeedsNoEscape(causation_id)) {
    canonical.reserve(40 + cpts_id.size() + causation_id.size());
    canonical.append("[\"fr.cpts.event\",\"").append(cpts_id).append("\",");
    canonical.append(std::to_string(sequence.value())).append(",\"");
    canonical.append(causation_id).append("\"]");
  } else {
    canonical = CanonicalJson(::cpts::Json::array(
        {"fr.cpts.event", std::string(cpts_id), sequence.value(), std::string(causation_id)}));
  }
  Digest digest = Sha256(canonical);
  digest[6] = static_cast<unsigned char>((digest[6] & 0x0f) | 0x80);  // version 8
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3f) | 0x80);  // variant 10
  // 8-4-4-4-12 hex digits.
  std::string id(36, '-');
  char* out = id.data();
  out = WriteHex(digest.data(), 4, out) + 1;
  out = WriteHex(digest.data() + 4, 2, out) + 1;
  out = WriteHex(digest.data() + 6, 2, out) + 1;
  out = WriteHex(digest.data() + 8, 2, out) + 1;
  WriteHex(digest.data() + 10, 6, out);
  return id;
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
