#pragma once
// Byte encodings shared by the modules: lowercase hex, standard base64 (with padding), and random
// ids. Thread-safe.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cpts::events {

std::string ToHex(const unsigned char* data, size_t size);
// `bytes` random bytes (libsodium's CSPRNG) as 2 * bytes lowercase hex characters.
std::string RandomHex(size_t bytes);

std::string ToBase64(const unsigned char* data, size_t size);
// Nullopt when `text` is not entirely standard base64.
std::optional<std::vector<unsigned char>> FromBase64(std::string_view text);

}  // namespace cpts::events
