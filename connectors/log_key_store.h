#pragma once
// The key store on the compacted `keys` topic of a log (events/topics.h): the store of a cluster,
// shared by every cptsd on the same Kafka cluster. Record key = key id; value = the wrapped key and
// its patient (connectors/key_wrap.h); Destroy appends a tombstone per key id (a NULL value on
// Kafka, which compaction removes together with the key's older records).
//
// The store keeps a map of the topic in memory, built at open and kept up to date by a thread that
// tails the topic, so a key made or destroyed by another process is seen within a poll; a Find
// miss also waits until the map has caught up with the end of the topic. KeyFor and Destroy return
// once their record is durable in the log and applied to the map.
// Erasure: every store treats the tombstone as erasure at once; the old wrapped key physically
// leaves Kafka only when the broker compacts the topic (docs/health-data.md). The topic alone
// never reveals a data key: keys are wrapped under the master key.
// Thread-safety: thread-safe. The log must outlive the store.

#include <array>
#include <memory>

#include "events/key_store.h"
#include "events/log.h"

namespace cpts::keys {

// Opens the store on topic `keys` of `log` (which must exist: the log's topic creation makes it),
// reading it to the end. FailedPrecondition when a stored key does not unwrap under `master_key`.
Result<std::unique_ptr<KeyStore>> OpenLogKeyStore(log::Log& log,
                                                  const std::array<unsigned char, 32>& master_key);

}  // namespace cpts::keys
