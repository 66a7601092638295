#include "connectors/key_wrap.h"

#include <sodium.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "events/encoding.h"
#include "events/json.h"

namespace cpts::keys {
namespace {

using json = ::cpts::Json;

std::string AssociatedData(std::string_view key_id, std::string_view patient) {
  std::string ad = "cpts.data-key.v1\n";
  ad += key_id;
  ad += '\n';
  ad += patient;
  return ad;
}

struct Parsed {
  std::string patient;
  std::vector<unsigned char> nonce;
  std::vector<unsigned char> wrapped;
};

Result<Parsed> Parse(std::string_view stored) {
  const Status corrupt = Status::Corruption("a stored data key is not readable");
  json v = json::parse(stored, nullptr, /*allow_exceptions=*/false);
  if (!v.is_object() || v.value("v", 0) != 1 || !v.contains("patient") ||
      !v["patient"].is_string() || !v.contains("nonce") || !v["nonce"].is_string() ||
      !v.contains("wrapped") || !v["wrapped"].is_string()) {
    return corrupt;
  }
  auto nonce = events::FromBase64(v["nonce"].get<std::string>());
  auto wrapped = events::FromBase64(v["wrapped"].get<std::string>());
  if (!nonce || nonce->size() != crypto_aead_xchacha20poly1305_ietf_NPUBBYTES || !wrapped ||
      wrapped->size() != 32 + crypto_aead_xchacha20poly1305_ietf_ABYTES) {
    return corrupt;
  }
  return Parsed{v["patient"].get<std::string>(), std::move(*nonce), std::move(*wrapped)};
}

}  // namespace

bool IsKeyId(std::string_view s) {
  return s.size() == 32 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Result<events::DataKey> NewDataKey() {
  if (sodium_init() < 0) return Status::Internal("libsodium failed to initialise");
  events::DataKey key;
  key.key_id = events::RandomHex(16);
  randombytes_buf(key.bytes.data(), key.bytes.size());
  return key;
}

Result<std::string> WrapDataKey(const events::DataKey& key, std::string_view patient,
                                const MasterKey& master) {
  if (sodium_init() < 0) return Status::Internal("libsodium failed to initialise");
  unsigned char nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
  randombytes_buf(nonce, sizeof nonce);
  unsigned char wrapped[32 + crypto_aead_xchacha20poly1305_ietf_ABYTES];
  const std::string ad = AssociatedData(key.key_id, patient);
  crypto_aead_xchacha20poly1305_ietf_encrypt(wrapped, nullptr, key.bytes.data(), key.bytes.size(),
                                             reinterpret_cast<const unsigned char*>(ad.data()),
                                             ad.size(), nullptr, nonce, master.data());
  return json{{"v", 1},
              {"patient", patient},
              {"nonce", events::ToBase64(nonce, sizeof nonce)},
              {"wrapped", events::ToBase64(wrapped, sizeof wrapped)}}
      .dump();
}

Result<StoredKey> UnwrapDataKey(std::string_view key_id, std::string_view stored,
                                const MasterKey& master) {
  if (sodium_init() < 0) return Status::Internal("libsodium failed to initialise");
  Result<Parsed> parsed = Parse(stored);
  if (!parsed.ok()) return parsed.status();
  StoredKey out;
  out.patient = parsed->patient;
  out.key.key_id = std::string(key_id);
  const std::string ad = AssociatedData(key_id, out.patient);
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          out.key.bytes.data(), nullptr, nullptr, parsed->wrapped.data(), parsed->wrapped.size(),
          reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), parsed->nonce.data(),
          master.data()) != 0) {
    return Status::FailedPrecondition(
        "a stored data key does not open under the configured master key: the master key is "
        "not the one the keys were made with (check --secrets / CPTS_MASTER_KEY), or the stored "
        "key was altered");
  }
  return out;
}

Result<std::string> StoredKeyPatient(std::string_view stored) {
  Result<Parsed> parsed = Parse(stored);
  if (!parsed.ok()) return parsed.status();
  return parsed->patient;
}

}  // namespace cpts::keys
