#pragma once
// How the key stores keep a data key: wrapped (XChaCha20-Poly1305, libsodium) under the master
// key, the associated data binding it to its key id and patient, so a stored row moved to another
// key id or patient does not open. Stored form, one JSON object:
//   {"v":1,"patient":<pseudonym>,"nonce":<base64, 24 bytes>,"wrapped":<base64, 32 + 16 bytes>}
// Shared by connectors/embedded_key_store.cc and connectors/log_key_store.cc.
// Thread-safety: pure functions.

#include <array>
#include <string>
#include <string_view>

#include "events/identity.h"
#include "events/status.h"

namespace cpts::keys {

using MasterKey = std::array<unsigned char, 32>;

// A fresh random data key with a fresh random id.
Result<events::DataKey> NewDataKey();

// The stored form of `key`, wrapped for `patient` under `master`.
Result<std::string> WrapDataKey(const events::DataKey& key, std::string_view patient,
                                const MasterKey& master);

struct StoredKey {
  std::string patient;
  events::DataKey key;
};

// Corruption when `stored` is not a stored key; FailedPrecondition when it does not open under
// `master` for `key_id` (another master key, or a row altered or moved).
Result<StoredKey> UnwrapDataKey(std::string_view key_id, std::string_view stored,
                                const MasterKey& master);

// The patient a stored key belongs to, without unwrapping it. Corruption when unreadable.
Result<std::string> StoredKeyPatient(std::string_view stored);

bool IsKeyId(std::string_view s);

}  // namespace cpts::keys
