#include "events/envelope.h"

#include <sodium.h>

#include <array>
#include <cstdio>
#include <ctime>

namespace cpts::events {
namespace {

// libsodium picks its fastest implementations in sodium_init(); it is safe to call from several
// threads, and a function-local static makes it once.
void EnsureSodium() {
  static const int kInit = sodium_init();
  // Deliberately ignored: -1 means no entropy source, which SHA-256 does not use.
  (void)kInit;
}

std::array<unsigned char, crypto_hash_sha256_BYTES> Sha256(std::string_view bytes) {
  EnsureSodium();
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(bytes.data()),
                     bytes.size());
  return digest;
}

std::string Hex(const unsigned char* bytes, size_t size) {
  std::string hex(size * 2 + 1, '\0');  // sodium_bin2hex writes a terminating NUL
  sodium_bin2hex(hex.data(), hex.size(), bytes, size);
  hex.pop_back();
  return hex;
}

}  // namespace

std::string CanonicalJson(const nlohmann::json& value) {
  return value.dump(/*indent=*/-1, /*indent_char=*/' ', /*ensure_ascii=*/false,
                    nlohmann::json::error_handler_t::replace);
}

std::string Sha256Hex(std::string_view bytes) {
  const auto digest = Sha256(bytes);
  return Hex(digest.data(), digest.size());
}

std::string DeterministicEventId(std::string_view cpts_id, Sequence sequence,
                                 std::string_view causation_id) {
  // A JSON array keeps the parts apart whatever characters they hold.
  auto digest = Sha256(CanonicalJson(nlohmann::json::array(
      {"fr.cpts.event", std::string(cpts_id), sequence.value(), std::string(causation_id)})));
  digest[6] = static_cast<unsigned char>((digest[6] & 0x0f) | 0x80);  // version 8
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3f) | 0x80);  // variant 10
  const std::string hex = Hex(digest.data(), 16);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
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
