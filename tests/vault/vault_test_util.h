#pragma once
// Helpers of the vault tests: patients, master keys, and a scan of every file of a directory.

#include <sodium.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace cpts::vaulttest {

using MasterKey = std::array<unsigned char, 32>;

inline MasterKey RandomMasterKey() {
  MasterKey key;
  if (sodium_init() < 0) std::abort();
  randombytes_buf(key.data(), key.size());
  return key;
}

// A patient pseudonym: 64 lowercase hex characters, distinct per n.
inline std::string Patient(int n) {
  std::string hex = std::to_string(n);
  return std::string(64 - hex.size(), 'c') + hex;
}

inline std::string Hex(const unsigned char* data, size_t size) {
  std::string out(size * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), data, size);
  out.pop_back();
  return out;
}

// The files under `directory` (recursively) whose bytes contain `needle`.
inline std::vector<std::string> FilesContaining(const std::string& directory,
                                                const std::string& needle) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(directory)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    if (bytes.str().find(needle) != std::string::npos) found.push_back(entry.path().string());
  }
  return found;
}

}  // namespace cpts::vaulttest
