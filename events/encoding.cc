#include "events/encoding.h"

#include <sodium.h>

#include <cstdlib>

namespace cpts::events {

std::string ToHex(const unsigned char* data, size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    hex.push_back(kHex[data[i] >> 4]);
    hex.push_back(kHex[data[i] & 15]);
  }
  return hex;
}

std::string RandomHex(size_t bytes) {
  if (sodium_init() < 0) std::abort();  // no randomness: nothing safe can be done
  std::vector<unsigned char> random(bytes);
  randombytes_buf(random.data(), random.size());
  return ToHex(random.data(), random.size());
}

std::string ToBase64(const unsigned char* data, size_t size) {
  std::string out(sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), data, size, sodium_base64_VARIANT_ORIGINAL);
  out.pop_back();  // the terminating NUL
  return out;
}

std::optional<std::vector<unsigned char>> FromBase64(std::string_view text) {
  std::vector<unsigned char> out(text.size() / 4 * 3 + 3);
  size_t size = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &size, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return std::nullopt;
  }
  out.resize(size);
  return out;
}

}  // namespace cpts::events
