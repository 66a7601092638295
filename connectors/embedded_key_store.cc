#include "connectors/embedded_key_store.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <sodium.h>

#include <filesystem>
#include <mutex>
#include <vector>

#include "connectors/key_wrap.h"

namespace cpts::keys {
namespace {

// Row prefixes: k<key_id> -> stored key; p<patient><key_id> -> ""; m -> the master key check.
constexpr char kKeyRow = 'k';
constexpr char kPatientRow = 'p';
const std::string kMasterCheckRow = "m";
// The master key check is a wrapped all-zero key: opening it proves the master key is right
// before any patient's key is read or made.
constexpr std::string_view kCheckKeyId = "00000000000000000000000000000000";
constexpr std::string_view kCheckOwner = "master-key-check";

Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::Ok();
  if (s.IsCorruption()) return Status::Corruption(what + ": " + s.ToString());
  if (s.IsIOError()) return Status::IoError(what + ": " + s.ToString());
  return Status::Internal(what + ": " + s.ToString());
}

class EmbeddedKeyStore : public KeyStore {
 public:
  EmbeddedKeyStore(std::string directory, const MasterKey& master)
      : directory_(std::move(directory)), master_(master) {}
  ~EmbeddedKeyStore() override { sodium_memzero(master_.data(), master_.size()); }

  Status Open() {
    std::error_code ec;
    std::filesystem::create_directories(directory_, ec);
    if (ec)
      return Status::IoError("cannot create the key store " + directory_ + ": " + ec.message());
    // Only the service's user may read even wrapped keys.
    std::filesystem::permissions(directory_, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, ec);
    rocksdb::Options options;
    options.create_if_missing = true;
    options.max_background_jobs = 2;
    // Erasure must leave no copy of a wrapped key in the directory (Shred): old WAL files are
    // deleted as soon as their memtable is flushed, never archived (WAL_ttl_seconds,
    // WAL_size_limit_MB) nor reused with old content still in them (recycle_log_file_num), and
    // obsolete files are deleted by the thread that makes them obsolete.
    options.WAL_ttl_seconds = 0;
    options.WAL_size_limit_MB = 0;
    options.recycle_log_file_num = 0;
    options.avoid_unnecessary_blocking_io = false;
    // Wrapped keys are random bytes: compression would gain nothing.
    options.compression = rocksdb::kNoCompression;
    options.keep_log_file_num = 5;
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(options, directory_, &raw);
    if (!s.ok()) {
      if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
        return Status::Unavailable("the key store " + directory_ +
                                   " is in use by another process; stop it first");
      }
      return FromRocks(s, "cannot open the key store in " + directory_);
    }
    db_.reset(raw);
    return CheckMasterKey();
  }

  Result<events::DataKey> KeyFor(std::string_view patient) override {
    CPTS_RETURN_IF_ERROR(events::CheckPatientPseudonym(patient));
    std::lock_guard lock(mu_);
    Result<std::vector<std::string>> ids = KeyIdsOf(patient);
    if (!ids.ok()) return ids.status();
    if (!ids->empty()) {
      Result<std::optional<events::DataKey>> found = Get(ids->front());
      if (!found.ok()) return found.status();
      if (*found) return std::move(**found);
    }
    Result<events::DataKey> key = NewDataKey();
    if (!key.ok()) return key;
    Result<std::string> stored = WrapDataKey(*key, patient, master_);
    if (!stored.ok()) return stored.status();
    rocksdb::WriteBatch batch;
    batch.Put(kKeyRow + key->key_id, *stored);
    batch.Put(kPatientRow + std::string(patient) + key->key_id, "");
    CPTS_RETURN_IF_ERROR(Write(batch, "cannot store a new data key"));
    return key;
  }

  Result<std::optional<events::DataKey>> Find(std::string_view key_id) override {
    if (!IsKeyId(key_id)) return std::optional<events::DataKey>();
    std::lock_guard lock(mu_);
    return Get(key_id);
  }

  Result<int> Destroy(std::string_view patient) override {
    CPTS_RETURN_IF_ERROR(events::CheckPatientPseudonym(patient));
    std::lock_guard lock(mu_);
    Result<std::vector<std::string>> ids = KeyIdsOf(patient);
    if (!ids.ok()) return ids.status();
    if (ids->empty()) return 0;
    rocksdb::WriteBatch batch;
    for (const std::string& id : *ids) {
      batch.Delete(kKeyRow + id);
      batch.Delete(kPatientRow + std::string(patient) + id);
    }
    CPTS_RETURN_IF_ERROR(Write(batch, "cannot destroy a patient's data keys"));
    CPTS_RETURN_IF_ERROR(Shred());
    return static_cast<int>(ids->size());
  }

 private:
  Status Write(rocksdb::WriteBatch& batch, const std::string& what) {
    rocksdb::WriteOptions options;
    options.sync = true;  // durably stored before returning
    return FromRocks(db_->Write(options, &batch), what + " in " + directory_);
  }

  Result<std::vector<std::string>> KeyIdsOf(std::string_view patient) {
    const std::string prefix = kPatientRow + std::string(patient);
    std::vector<std::string> ids;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      ids.push_back(it->key().ToString().substr(prefix.size()));
    }
    CPTS_RETURN_IF_ERROR(FromRocks(it->status(), "cannot read the key store " + directory_));
    return ids;
  }

  Result<std::optional<events::DataKey>> Get(std::string_view key_id) {
    std::string stored;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), kKeyRow + std::string(key_id), &stored);
    if (s.IsNotFound()) return std::optional<events::DataKey>();
    CPTS_RETURN_IF_ERROR(FromRocks(s, "cannot read the key store " + directory_));
    Result<StoredKey> unwrapped = UnwrapDataKey(key_id, stored, master_);
    if (!unwrapped.ok()) return unwrapped.status().WithContext("key store " + directory_);
    return std::optional<events::DataKey>(std::move(unwrapped->key));
  }

  // Makes the deleted rows physically leave the directory: the memtable goes to a new SST
  // file (so the WAL that held the wrapped keys becomes obsolete), a forced compaction of the
  // whole (small) database rewrites every SST without the deleted rows, then a full scan deletes
  // every obsolete WAL and SST file before returning. No iterator or snapshot stays open between
  // calls, so nothing pins an old file.
  Status Shred() {
    rocksdb::FlushOptions flush;
    flush.wait = true;
    CPTS_RETURN_IF_ERROR(FromRocks(db_->Flush(flush), "cannot flush the key store " + directory_));
    rocksdb::CompactRangeOptions compact;
    compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    compact.exclusive_manual_compaction = true;
    CPTS_RETURN_IF_ERROR(FromRocks(db_->CompactRange(compact, nullptr, nullptr),
                                   "cannot compact the key store " + directory_));
    // EnableFileDeletions(force) finds and deletes obsolete files in this thread before it
    // returns (RocksDB 7.x DBImpl::EnableFileDeletions), rather than leaving it to a later job.
    CPTS_RETURN_IF_ERROR(FromRocks(db_->DisableFileDeletions(), "key store " + directory_));
    return FromRocks(db_->EnableFileDeletions(/*force=*/true), "key store " + directory_);
  }

  Status CheckMasterKey() {
    std::string stored;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), kMasterCheckRow, &stored);
    if (s.IsNotFound()) {
      events::DataKey check{std::string(kCheckKeyId), {}};
      Result<std::string> wrapped = WrapDataKey(check, kCheckOwner, master_);
      if (!wrapped.ok()) return wrapped.status();
      rocksdb::WriteBatch batch;
      batch.Put(kMasterCheckRow, *wrapped);
      return Write(batch, "cannot initialise the key store");
    }
    CPTS_RETURN_IF_ERROR(FromRocks(s, "cannot read the key store " + directory_));
    if (!UnwrapDataKey(kCheckKeyId, stored, master_).ok()) {
      return Status::FailedPrecondition(
          "the master key does not open the key store in " + directory_ +
          ": it was made with another master key (check --secrets / CPTS_MASTER_KEY)");
    }
    return Status::Ok();
  }

  const std::string directory_;
  MasterKey master_;
  std::mutex mu_;  // one KeyFor at a time, so a patient never gets two keys in a race
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace

Result<std::unique_ptr<KeyStore>> OpenEmbeddedKeyStore(
    const std::string& directory, const std::array<unsigned char, 32>& master_key) {
  if (directory.empty()) return Status::InvalidArgument("the key store needs a directory");
  auto store = std::make_unique<EmbeddedKeyStore>(directory, master_key);
  CPTS_RETURN_IF_ERROR(store->Open());
  return std::unique_ptr<KeyStore>(std::move(store));
}

}  // namespace cpts::keys
