#pragma once
// ProjectionStore: the read models on disk, one RocksDB database per directory.
//
// Every row lives under a key made of components (keys::Key): the read model's name first
// ("discharge"), then the CPTS, then the entity. Rows are JSON values stored as MessagePack
// (about a third cheaper to write and read back than JSON text, which matters in a rebuild);
// objects keep their keys sorted, so two builds of the same history are byte-for-byte equal. Beside the rows, the store keeps the
// position reached in each partition of the events topic ("meta" rows). A RowBatch gathers the
// rows an event batch changed and the new positions, and Commit writes them in one WriteBatch:
// after a crash the store holds a batch whole or not at all, and resumes from its positions
// (ARCHITECTURE.md, decision 3).
//
// Thread-safety: ProjectionStore is thread-safe (RocksDB is). A RowBatch belongs to one thread;
// two RowBatches may be used at once only on disjoint keys, which holds when each covers its own
// partitions, since every row is keyed by its CPTS and a CPTS lives in one partition.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "events/json.h"
#include "events/status.h"

namespace rocksdb {
class DB;
class Snapshot;
class WriteBatch;
}  // namespace rocksdb

namespace cpts::projections {

namespace keys {
// Order-preserving key of several components: each is escaped (0x00 -> 0x00 0xFF) and followed
// by 0x00 0x01, so the key of a row starts with the key of every prefix of its components.
std::string Key(std::initializer_list<std::string_view> components);
// The components of a key built by Key().
std::vector<std::string> Split(std::string_view key);
}  // namespace keys

struct StoreOptions {
  std::string directory;
  // Default: true. Off for readers (queries on an as-of snapshot): a mistyped directory is then
  // an error rather than a new, empty store.
  bool create_if_missing = true;
  // Default: false. On for a build into a fresh directory: no write-ahead log, one flush at the
  // end (Close). A build that stops half-way is thrown away, never resumed. The directory must
  // hold no store yet: a RowBatch then takes a row it has not written for absent (WrittenKeys).
  bool bulk_load = false;
};

// Positions: for each partition of the events topic, the offset of the next record to apply.
using Positions = std::map<int32_t, int64_t>;

class ProjectionStore;

// The rows one thread is changing, cached between batches so that hot rows (a CPTS's counters,
// an open discharge) are read from disk once. Commit writes every changed row and the new
// positions in one WriteBatch.
class RowBatch {
 public:
  explicit RowBatch(ProjectionStore* store);
  ~RowBatch();

  // Keys are taken by value: a key not cached yet moves into the cache rather than being copied.
  // The row, or nullptr when there is none. The pointer stays valid until the next Commit.
  Result<const ::cpts::Json*> Read(std::string key);
  // The row to change in place (marked as changed), or nullptr when there is none.
  Result<::cpts::Json*> Edit(std::string key);
  // The row to change in place, created as make_initial() when there is none. A function, not
  // a value: the row is there for nearly every call (a CPTS's counters), and building an unused
  // initial value cost more than the edit.
  template <typename MakeInitial>
  Result<::cpts::Json*> EditOrCreate(std::string key, MakeInitial make_initial);
  // Replaces (or creates) the row.
  void Put(std::string key, ::cpts::Json value);
  // Writes a row that this batch never reads back (a command's outcome), already encoded
  // (RowWriter), kept out of the cache, where one such row per event would push out the hot
  // rows. A Put of the same key in this batch wins over it.
  void PutUncached(std::string key, std::string encoded_row);
  void Erase(std::string key);

  // Writes the changed rows and `positions` (merged into the stored ones) in one WriteBatch.
  Status Commit(const Positions& positions);
  // Cached rows; the owner commits with CommitAndDropCache when it grows past its budget.
  size_t cached_rows() const { return cache_.size(); }
  // Rows written with PutUncached since the last commit: they count against the budget too.
  size_t uncached_rows() const { return uncached_.size(); }
  // Commit, then empty the cache. Each row is freed right after it is encoded, while it is
  // still in the CPU's caches: freeing 50,000 cold rows afterwards cost as much as encoding them.
  Status CommitAndDropCache(const Positions& positions);

 private:
  struct Cached {
    ::cpts::Json value;
    bool present = false;
    bool changed = false;
  };
  using Entry = std::pair<const std::string, Cached>;
  Result<Entry*> Load(std::string key);
  Status Write(const Positions& positions, bool drop);
  void MarkChanged(Entry& entry);

  // Builds only (StoreOptions::bulk_load, which starts from an empty store): the keys this
  // batch has written, as a Bloom filter. Most rows a build looks for are new (a discharge, a
  // follow-up), and the filter answers "not there" without asking RocksDB. Sound because in a
  // build each row is written by one RowBatch only: a worker's, for the partitions it owns.
  class WrittenKeys;

  // The cached rows by key. Entries live in a deque, where they never move; an open-addressing
  // index of (hash, entry) finds them. A std::unordered_map went through three pointers per
  // lookup (bucket, node before, node): cache misses on every event, 5% of a rebuild.
  class Cache {
   public:
    // The entry of `key`, and whether it was just added (absent, unchanged).
    std::pair<Entry*, bool> FindOrAdd(std::string key);
    // Forgets the entry the last FindOrAdd added, before any other call (a load that failed).
    void Forget(const Entry* entry);
    void Clear();
    size_t size() const { return size_; }

   private:
    struct Slot {
      size_t hash = 0;
      Entry* entry = nullptr;
    };
    size_t Home(size_t hash) const { return hash & (slots_.size() - 1); }
    size_t Next(size_t slot) const { return (slot + 1) & (slots_.size() - 1); }
    void Grow();
    std::deque<Entry> entries_;
    std::vector<Slot> slots_ = std::vector<Slot>(1024);  // a power of two, at most half full
    size_t size_ = 0;
  };

  ProjectionStore* store_;
  std::unique_ptr<WrittenKeys> written_;
  Cache cache_;
  // The changed entries of cache_ and their keys (entries never move), so Commit needs no
  // second lookup and sorts without going through the entries.
  std::vector<std::pair<std::string_view, Entry*>> changed_;
  std::vector<std::pair<std::string, std::string>> uncached_;  // key, encoded row
  // One WriteBatch for every commit: cleared, it keeps its buffer. A new one per commit grew to
  // tens of MB each time, in fresh pages: the page faults and copies were 3% of a rebuild.
  std::unique_ptr<rocksdb::WriteBatch> batch_;
};

template <typename MakeInitial>
Result<::cpts::Json*> RowBatch::EditOrCreate(std::string key, MakeInitial make_initial) {
  Result<Entry*> entry = Load(std::move(key));
  if (!entry.ok()) return entry.status();
  Cached& row = (*entry)->second;
  if (!row.present) {
    row.value = make_initial();
    row.present = true;
  }
  MarkChanged(**entry);
  return &row.value;
}

// A consistent view of the store for queries: every read sees the same moment.
class StoreSnapshot {
 public:
  ~StoreSnapshot();
  StoreSnapshot(const StoreSnapshot&) = delete;
  StoreSnapshot& operator=(const StoreSnapshot&) = delete;

  Result<std::optional<::cpts::Json>> Get(const std::string& key) const;
  // Calls `row` for each row whose key starts with `prefix`, in key order, until it returns false.
  Status Scan(const std::string& prefix,
              const std::function<bool(std::string_view key, const ::cpts::Json& row)>& row) const;
  // Like Scan, without parsing the rows (index entries).
  Status ScanKeys(const std::string& prefix,
                  const std::function<bool(std::string_view key, std::string_view value)>& entry) const;

 private:
  friend class ProjectionStore;
  StoreSnapshot(rocksdb::DB* db, const rocksdb::Snapshot* snapshot) : db_(db), snapshot_(snapshot) {}
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snapshot_;
};

class ProjectionStore {
 public:
  static Result<std::unique_ptr<ProjectionStore>> Open(const StoreOptions& options);
  ~ProjectionStore();

  const std::string& directory() const { return options_.directory; }
  Result<Positions> ReadPositions() const;
  std::unique_ptr<StoreSnapshot> Snapshot() const;

  // SHA-256 over every read-model row (keys and values, in key order), positions excluded: two
  // stores built from the same history agree on it, whatever their positions. The commands'
  // outcomes are left out too: an index for the API that expires, not a read model.
  Result<std::string> Digest() const;

  // Deletes the commands' outcomes (rows::kOutcome) decided before `before_ms`, the daemon's
  // clock minus kOutcomeRetentionMs. Returns how many it deleted. Stops early, with what it
  // deleted so far, once `stopping` returns true (checked every 10,000 rows).
  Result<uint64_t> ExpireOutcomes(int64_t before_ms,
                                  const std::function<bool()>& stopping = [] { return false; });

  // Free-form facts about the build ("meta" rows): what an as-of build was built up to.
  Status PutMeta(const std::string& name, const ::cpts::Json& value);
  Result<std::optional<::cpts::Json>> GetMeta(const std::string& name) const;

  // Starts writing the memtables to disk without waiting for it: a build computes its digest
  // meanwhile, on the other core. Close waits for it.
  Status StartFlush();

  // Flushes and, after a bulk load, syncs everything to disk; the store is unusable afterwards.
  Status Close();

  // A RocksDB integer property ("rocksdb.estimate-num-keys"), for metrics; nullopt when unknown.
  std::optional<uint64_t> IntProperty(const std::string& property) const;

 private:
  friend class RowBatch;
  explicit ProjectionStore(StoreOptions options);
  StoreOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
};

// Writes a row's bytes without building its JSON value first: for the row every event writes (its
// command's outcome), where building the value cost more than writing it. The caller gives the
// members in key order, so the bytes are EncodeRow's for the same value (a test compares them).
class RowWriter {
 public:
  // Starts an object of `members` members.
  explicit RowWriter(size_t members);
  RowWriter& String(std::string_view name, std::string_view value);
  RowWriter& Signed(std::string_view name, int64_t value);
  RowWriter& Unsigned(std::string_view name, uint64_t value);
  // Starts a member holding an object: the next `members` members are its own.
  RowWriter& Object(std::string_view name, size_t members);
  std::string Take() { return std::move(bytes_); }

 private:
  std::string bytes_;
};

// Row values are MessagePack of the JSON value, keys sorted: the same row is always the same bytes.
std::string EncodeRow(const ::cpts::Json& row);
// EncodeRow, appended to `out` (Commit reuses one buffer for every row).
void AppendRow(std::string& out, const ::cpts::Json& row);
Result<::cpts::Json> DecodeRow(std::string_view bytes, std::string_view key);

}  // namespace cpts::projections
