#pragma once
// Where per-patient data keys live (docs/health-data.md). Two implementations follow the log:
//   - connectors/embedded_key_store.h: a RocksDB database beside the embedded log, from which an
//     erased key is physically removed;
//   - connectors/log_key_store.h: the compacted `keys` topic of any log (Kafka in production).
// Both keep data keys wrapped (encrypted) under the master key from configuration, and never
// write a data key in clear. `patient` is always a patient pseudonym (64 lowercase hex
// characters); anything else is refused with InvalidArgument.
// Thread-safety: implementations are thread-safe.

#include <optional>
#include <string_view>

#include "events/identity.h"
#include "events/status.h"

namespace cpts::keys {

class KeyStore {
 public:
  virtual ~KeyStore() = default;
  // The patient's data key, created (random, durably stored before returning) when it has none.
  // After Destroy, a later KeyFor creates a NEW key with a new id (old blocks stay unreadable).
  virtual Result<events::DataKey> KeyFor(std::string_view patient) = 0;
  // The key with this id, or nullopt when unknown or destroyed. Keys made by another process
  // sharing the store (another cptsd on the same Kafka cluster) are found too (refresh on a miss).
  virtual Result<std::optional<events::DataKey>> Find(std::string_view key_id) = 0;
  // Destroys every key of the patient, durably, idempotent. Returns how many keys were destroyed.
  virtual Result<int> Destroy(std::string_view patient) = 0;
};

}  // namespace cpts::keys
