#pragma once
// The event log on local disk, in RocksDB: the single-machine default (ARCHITECTURE.md, 4).
// Same topics, partitions, offsets and semantics as the Kafka log; one process opens a data
// directory at a time (RocksDB's lock file enforces it).
//
// Durability: Append returns once its records are in RocksDB's write-ahead log and, with
// sync_writes (the default), fsynced. All records of one Append are written in one WriteBatch:
// after a crash they are all there or none is. Concurrent appends share one write and one fsync
// (group commit, as in LevelDB's DBImpl::Write).
// Consumer groups live in this process: a partition is handed to a new member only after its
// previous owner has released it, so there is one owner per partition at any time.
// Thread-safety: EmbeddedLog is thread-safe; its readers and group members are used by one
// thread each, and must be destroyed before the log.

#include <memory>
#include <optional>
#include <string>

#include "events/log.h"

namespace cpts::log {

struct EmbeddedLogOptions {
  std::string directory;
  // Default: true. Off for tools that only read: a mistyped directory is then an error, not a
  // new empty log.
  bool create_if_missing = true;
  // Default: true. Off only for benchmarks that measure everything but the disk.
  bool sync_writes = true;
  // Default: kDefaultMaxRecordBytes (1,000,000).
  size_t max_record_bytes = kDefaultMaxRecordBytes;
};

class EmbeddedLog;
// Opens (or creates) the log under options.directory.
Result<std::unique_ptr<Log>> OpenEmbeddedLog(const EmbeddedLogOptions& options);

// A RocksDB integer property of an embedded log ("rocksdb.total-sst-files-size"), for metrics;
// nullopt when `log` is not an embedded log or the property is unknown.
std::optional<uint64_t> EmbeddedLogIntProperty(Log& log, const std::string& property);

}  // namespace cpts::log
