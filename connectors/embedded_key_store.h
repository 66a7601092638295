#pragma once
// The key store of a single machine: its own RocksDB database (the service uses <data-dir>/keys),
// beside the embedded log. Rows: "k" + key_id -> the wrapped key and its patient; index
// "p" + patient + key_id -> "". Data keys are wrapped under the master key (connectors/key_wrap.h).
//
// Erasure is physical: Destroy deletes the rows (synced), flushes, compacts the whole database and
// purges obsolete files before returning, and the WAL is never archived or recycled, so no file
// in the directory keeps the wrapped key afterwards (docs/health-data.md states the limits: the
// filesystem may keep freed blocks).
// Thread-safety: thread-safe. One process opens a directory at a time (RocksDB's lock file).

#include <array>
#include <memory>
#include <string>

#include "events/key_store.h"

namespace cpts::keys {

// Opens (or creates) the key store under `directory`. Fails with FailedPrecondition when a stored
// key does not unwrap under `master_key` (the wrong master key), checked on one key at open.
Result<std::unique_ptr<KeyStore>> OpenEmbeddedKeyStore(
    const std::string& directory, const std::array<unsigned char, 32>& master_key);

}  // namespace cpts::keys
