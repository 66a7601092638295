#include "projections/store.h"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cassert>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include "projections/clock.h"
#include "projections/read_models.h"

namespace cpts::projections {
namespace {

using json = ::cpts::Json;

// The component that starts meta rows: positions and build facts, kept out of the digest.
constexpr std::string_view kMeta = "meta";

Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::Ok();
  if (s.IsCorruption()) return Status::Corruption(what + ": " + s.ToString());
  return Status::IoError(what + ": " + s.ToString());
}

std::string PositionKey(int32_t partition) {
  char digits[16];
  std::snprintf(digits, sizeof digits, "%010d", partition);
  return keys::Key({kMeta, "position", digits});
}

}  // namespace

namespace keys {

std::string Key(std::initializer_list<std::string_view> components) {
  size_t size = 0;
  for (std::string_view c : components) size += c.size() + 2;
  std::string key;
  key.reserve(size);
  for (std::string_view c : components) {
    // Components rarely hold a 0x00: copy the runs between them whole.
    for (size_t zero; (zero = c.find('\0')) != std::string_view::npos; c.remove_prefix(zero + 1)) {
      key.append(c.data(), zero + 1);
      key += '\xff';
    }
    key.append(c);
    key += '\0';
    key += '\x01';
  }
  return key;
}

std::vector<std::string> Split(std::string_view key) {
  std::vector<std::string> parts(1);
  for (size_t i = 0; i < key.size(); ++i) {
    if (key[i] == '\0' && i + 1 < key.size()) {
      if (key[i + 1] == '\x01') {
        parts.emplace_back();
      } else {
        parts.back() += '\0';
      }
      ++i;
    } else {
      parts.back() += key[i];
    }
  }
  parts.pop_back();  // the empty component after the last separator
  return parts;
}

}  // namespace keys

namespace {

// MessagePack as nlohmann's json::to_msgpack writes it, byte for byte (the same choices of
// smallest format), without its per-byte virtual calls: encoding rows was a tenth of a rebuild.
// Values rows never hold (floats, binary) go through nlohmann. Tests compare both encoders.
void AppendBigEndian(std::string& out, uint64_t value, int bytes) {
  for (int shift = 8 * (bytes - 1); shift >= 0; shift -= 8) {
    out += static_cast<char>((value >> shift) & 0xFF);
  }
}

void AppendTyped(std::string& out, uint8_t type, uint64_t value, int bytes) {
  out += static_cast<char>(type);
  AppendBigEndian(out, value, bytes);
}

void AppendUnsigned(std::string& out, uint64_t n) {
  if (n < 128) {
    out += static_cast<char>(n);
  } else if (n <= UINT8_MAX) {
    AppendTyped(out, 0xCC, n, 1);
  } else if (n <= UINT16_MAX) {
    AppendTyped(out, 0xCD, n, 2);
  } else if (n <= UINT32_MAX) {
    AppendTyped(out, 0xCE, n, 4);
  } else {
    AppendTyped(out, 0xCF, n, 8);
  }
}

void AppendSigned(std::string& out, int64_t n) {
  if (n >= 0) return AppendUnsigned(out, static_cast<uint64_t>(n));
  const auto bits = static_cast<uint64_t>(n);
  if (n >= -32) {
    out += static_cast<char>(n);
  } else if (n >= INT8_MIN) {
    AppendTyped(out, 0xD0, bits, 1);
  } else if (n >= INT16_MIN) {
    AppendTyped(out, 0xD1, bits, 2);
  } else if (n >= INT32_MIN) {
    AppendTyped(out, 0xD2, bits, 4);
  } else {
    AppendTyped(out, 0xD3, bits, 8);
  }
}

// The header of a string, array or map of `size` elements: `fix` holds sizes up to `fix_max` in
// its low bits, then the 8 (strings only), 16 and 32-bit forms.
void AppendSize(std::string& out, size_t size, uint8_t fix, size_t fix_max, int type8,
                uint8_t type16) {
  if (size <= fix_max) {
    out += static_cast<char>(fix | size);
  } else if (type8 >= 0 && size <= UINT8_MAX) {
    AppendTyped(out, static_cast<uint8_t>(type8), size, 1);
  } else if (size <= UINT16_MAX) {
    AppendTyped(out, type16, size, 2);
  } else {
    AppendTyped(out, type16 + 1, size, 4);
  }
}

void AppendString(std::string& out, std::string_view text) {
  AppendSize(out, text.size(), 0xA0, 31, 0xD9, 0xDA);
  out.append(text);
}

void AppendMsgpack(std::string& out, const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      out += '\xC0';
      return;
    case json::value_t::boolean:
      out += value.get<bool>() ? '\xC3' : '\xC2';
      return;
    case json::value_t::number_integer:
      return AppendSigned(out, value.get<int64_t>());
    case json::value_t::number_unsigned:
      return AppendUnsigned(out, value.get<uint64_t>());
    case json::value_t::string:
      return AppendString(out, value.get_ref<const std::string&>());
    case json::value_t::array:
      AppendSize(out, value.size(), 0x90, 15, -1, 0xDC);
      for (const json& element : value) AppendMsgpack(out, element);
      return;
    case json::value_t::object:
      AppendSize(out, value.size(), 0x80, 15, -1, 0xDE);
      for (const auto& [name, member] : value.get_ref<const json::object_t&>()) {
        AppendString(out, name);
        AppendMsgpack(out, member);
      }
      return;
    default: {  // floats, binary: not in rows today
      std::string bytes;
      json::to_msgpack(value, bytes);
      out += bytes;
      return;
    }
  }
}

}  // namespace

void AppendRow(std::string& out, const json& row) { AppendMsgpack(out, row); }

RowWriter::RowWriter(size_t members) {
  bytes_.reserve(160);  // an outcome row is about 130 bytes
  AppendSize(bytes_, members, 0x80, 15, -1, 0xDE);
}

RowWriter& RowWriter::String(std::string_view name, std::string_view value) {
  AppendString(bytes_, name);
  AppendString(bytes_, value);
  return *this;
}

RowWriter& RowWriter::Signed(std::string_view name, int64_t value) {
  AppendString(bytes_, name);
  AppendSigned(bytes_, value);
  return *this;
}

RowWriter& RowWriter::Unsigned(std::string_view name, uint64_t value) {
  AppendString(bytes_, name);
  AppendUnsigned(bytes_, value);
  return *this;
}

RowWriter& RowWriter::Object(std::string_view name, size_t members) {
  AppendString(bytes_, name);
  AppendSize(bytes_, members, 0x80, 15, -1, 0xDE);
  return *this;
}

std::string EncodeRow(const json& row) {
  std::string bytes;
  AppendMsgpack(bytes, row);
  return bytes;
}

Result<json> DecodeRow(std::string_view bytes, std::string_view key) {
  json row = json::from_msgpack(bytes, /*strict=*/true, /*allow_exceptions=*/false);
  if (row.is_discarded()) {
    std::vector<std::string> parts = keys::Split(key);
    return Status::Corruption("the read-model row " + (parts.empty() ? "?" : parts[0]) +
                              " does not decode: rebuild the read models (cpts rebuild)");
  }
  return row;
}

// --- RowBatch.

// A Bloom filter in layers of 8 Mbit (1 MiB), each taking 600,000 keys (14 bits a key, 1 in
// 1,000 false positives); a new layer starts when the last is full, so a layer's rate of false
// positives stays that low (a lookup probes each layer: a 1,000,000-event build has two per
// worker). Each key sets 7 bits in one 64-byte block of a layer: one cache miss a layer. A false
// positive costs a read from RocksDB, as without the filter.
class RowBatch::WrittenKeys {
 public:
  // Adds a key not added yet (a row rewritten at each commit takes no more room).
  void Add(std::string_view key) {
    const uint64_t hash = std::hash<std::string_view>()(key);
    if (MayContainHash(hash)) return;
    if (layers_.empty() || in_last_layer_ == kKeysPerLayer) {
      layers_.emplace_back(kBlocks * kWordsPerBlock, 0);
      in_last_layer_ = 0;
    }
    uint64_t* block = Block(layers_.back(), hash);
    for (int i = 0; i < kProbes; ++i) {
      const uint32_t bit = Bit(hash, i);
      block[bit / 64] |= uint64_t{1} << (bit % 64);
    }
    ++in_last_layer_;
  }

  bool MayContain(std::string_view key) const {
    return MayContainHash(std::hash<std::string_view>()(key));
  }

 private:
  bool MayContainHash(uint64_t hash) const {
    for (const std::vector<uint64_t>& layer : layers_) {
      const uint64_t* block = Block(layer, hash);
      bool all = true;
      for (int i = 0; i < kProbes && all; ++i) {
        const uint32_t bit = Bit(hash, i);
        all = (block[bit / 64] >> (bit % 64)) & 1;
      }
      if (all) return true;
    }
    return false;
  }

  static constexpr size_t kBlocks = (8 << 20) / 512;  // 512 bits a block
  static constexpr size_t kWordsPerBlock = 8;
  static constexpr size_t kKeysPerLayer = 600'000;
  static constexpr int kProbes = 7;

  static uint64_t* Block(std::vector<uint64_t>& layer, uint64_t hash) {
    return layer.data() + (hash % kBlocks) * kWordsPerBlock;
  }
  static const uint64_t* Block(const std::vector<uint64_t>& layer, uint64_t hash) {
    return layer.data() + (hash % kBlocks) * kWordsPerBlock;
  }
  // The i-th bit of 512 within the block, from the hash's upper half (double hashing).
  static uint32_t Bit(uint64_t hash, int i) {
    const auto h1 = static_cast<uint32_t>(hash >> 32);
    const auto h2 = static_cast<uint32_t>(hash >> 23) | 1;
    return (h1 + static_cast<uint32_t>(i) * h2) % 512;
  }

  std::vector<std::vector<uint64_t>> layers_;
  size_t in_last_layer_ = 0;
};

std::pair<RowBatch::Entry*, bool> RowBatch::Cache::FindOrAdd(std::string key) {
  if ((size_ + 1) * 2 > slots_.size()) Grow();  // before probing: see Forget
  const size_t hash = std::hash<std::string_view>()(key);
  size_t i = Home(hash);
  for (; slots_[i].entry != nullptr; i = Next(i)) {
    if (slots_[i].hash == hash && slots_[i].entry->first == key) return {slots_[i].entry, false};
  }
  Entry& entry = entries_.emplace_back(std::move(key), Cached());
  slots_[i] = {hash, &entry};
  ++size_;
  return {&entry, true};
}

void RowBatch::Cache::Forget(const Entry* entry) {
  // The entry just added took the first free slot of its probe run, and nothing was added
  // since: no other entry probed past it, so emptying its slot strands none.
  assert(entry == &entries_.back());
  size_t i = Home(std::hash<std::string_view>()(entry->first));
  while (slots_[i].entry != entry) i = Next(i);
  slots_[i] = Slot();
  entries_.pop_back();
  --size_;
}

void RowBatch::Cache::Clear() {
  entries_.clear();
  std::fill(slots_.begin(), slots_.end(), Slot());
  size_ = 0;
}

void RowBatch::Cache::Grow() {
  std::vector<Slot> old(slots_.size() * 2);
  old.swap(slots_);
  for (const Slot& slot : old) {
    if (slot.entry == nullptr) continue;
    size_t i = Home(slot.hash);
    while (slots_[i].entry != nullptr) i = Next(i);
    slots_[i] = slot;
  }
}

RowBatch::RowBatch(ProjectionStore* store)
    : store_(store),
      written_(store->options_.bulk_load ? std::make_unique<WrittenKeys>() : nullptr),
      batch_(std::make_unique<rocksdb::WriteBatch>()) {}

RowBatch::~RowBatch() = default;

Result<RowBatch::Entry*> RowBatch::Load(std::string key_to_move) {
  auto [it, inserted] = cache_.FindOrAdd(std::move(key_to_move));
  if (inserted && (written_ == nullptr || written_->MayContain(it->first))) {
    const std::string& key = it->first;
    std::string bytes;
    const rocksdb::Status s = store_->db_->Get(rocksdb::ReadOptions(), key, &bytes);
    if (s.ok()) {
      Result<json> row = DecodeRow(bytes, key);
      if (!row.ok()) {
        cache_.Forget(it);
        return row.status();
      }
      it->second.value = std::move(*row);
      it->second.present = true;
    } else if (!s.IsNotFound()) {
      cache_.Forget(it);
      return FromRocks(s, "cannot read the read models");
    }
  }
  return it;
}

void RowBatch::MarkChanged(Entry& entry) {
  if (!entry.second.changed) {
    entry.second.changed = true;
    changed_.emplace_back(entry.first, &entry);
  }
}

Result<const json*> RowBatch::Read(std::string key) {
  Result<Entry*> entry = Load(std::move(key));
  if (!entry.ok()) return entry.status();
  Cached& c = (*entry)->second;
  return c.present ? &c.value : nullptr;
}

Result<json*> RowBatch::Edit(std::string key) {
  Result<Entry*> entry = Load(std::move(key));
  if (!entry.ok()) return entry.status();
  if (!(*entry)->second.present) return static_cast<json*>(nullptr);
  MarkChanged(**entry);
  return &(*entry)->second.value;
}

void RowBatch::Put(std::string key, json value) {
  Entry& entry = *cache_.FindOrAdd(std::move(key)).first;
  entry.second.value = std::move(value);
  entry.second.present = true;
  MarkChanged(entry);
}

void RowBatch::PutUncached(std::string key, std::string encoded_row) {
  uncached_.emplace_back(std::move(key), std::move(encoded_row));
}

void RowBatch::Erase(std::string key) {
  Entry& entry = *cache_.FindOrAdd(std::move(key)).first;
  entry.second.value = nullptr;
  entry.second.present = false;
  MarkChanged(entry);
}

Status RowBatch::Commit(const Positions& positions) { return Write(positions, false); }

Status RowBatch::CommitAndDropCache(const Positions& positions) {
  CPTS_RETURN_IF_ERROR(Write(positions, true));
  cache_.Clear();
  return Status::Ok();
}

Status RowBatch::Write(const Positions& positions, bool drop) {
  // In key order: the memtable (a skiplist) inserts a run of sorted keys from where the last
  // insert ended, instead of searching from the top for each row.
  std::sort(changed_.begin(), changed_.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  rocksdb::WriteBatch& batch = *batch_;
  (void)batch.Clear();  // keeps its buffer
  std::sort(uncached_.begin(), uncached_.end());
  for (const auto& [key, bytes] : uncached_) batch.Put(key, bytes);  // first: a cached Put wins
  uncached_.clear();
  std::string bytes;
  for (const auto& [key, entry] : changed_) {
    Cached& c = entry->second;
    if (c.present) {
      bytes.clear();
      AppendRow(bytes, c.value);
      batch.Put(key, bytes);
      if (written_ != nullptr) written_->Add(key);
      if (drop) c.value = nullptr;
    } else {
      batch.Delete(key);
    }
    c.changed = false;
  }
  for (const auto& [partition, offset] : positions) {
    batch.Put(PositionKey(partition), std::to_string(offset));
  }
  rocksdb::WriteOptions write;
  write.disableWAL = store_->options_.bulk_load;
  const rocksdb::Status s = store_->db_->Write(write, &batch);
  changed_.clear();
  if (!s.ok()) {
    // The cache may now be ahead of the disk: start again from what the disk holds.
    cache_.Clear();
    return FromRocks(s, "cannot write the read models");
  }
  return Status::Ok();
}

// --- StoreSnapshot.

StoreSnapshot::~StoreSnapshot() { db_->ReleaseSnapshot(snapshot_); }

Result<std::optional<json>> StoreSnapshot::Get(const std::string& key) const {
  rocksdb::ReadOptions read;
  read.snapshot = snapshot_;
  std::string bytes;
  const rocksdb::Status s = db_->Get(read, key, &bytes);
  if (s.IsNotFound()) return std::optional<json>();
  if (!s.ok()) return FromRocks(s, "cannot read the read models");
  Result<json> row = DecodeRow(bytes, key);
  if (!row.ok()) return row.status();
  return std::optional<json>(std::move(*row));
}

Status StoreSnapshot::ScanKeys(
    const std::string& prefix,
    const std::function<bool(std::string_view, std::string_view)>& entry) const {
  rocksdb::ReadOptions read;
  read.snapshot = snapshot_;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (!entry(std::string_view(it->key().data(), it->key().size()),
               std::string_view(it->value().data(), it->value().size()))) {
      break;
    }
  }
  return FromRocks(it->status(), "cannot read the read models");
}

Status StoreSnapshot::Scan(const std::string& prefix,
                           const std::function<bool(std::string_view, const json&)>& row) const {
  Status failed;
  CPTS_RETURN_IF_ERROR(ScanKeys(prefix, [&](std::string_view key, std::string_view value) {
    Result<json> decoded = DecodeRow(value, key);
    if (!decoded.ok()) {
      failed = decoded.status();
      return false;
    }
    return row(key, *decoded);
  }));
  return failed;
}

// --- ProjectionStore.

Result<std::unique_ptr<ProjectionStore>> ProjectionStore::Open(const StoreOptions& options) {
  if (options.directory.empty()) {
    return Status::InvalidArgument("the read models need a directory");
  }
  std::error_code ec;
  const bool holds_store =
      std::filesystem::exists(std::filesystem::path(options.directory) / "CURRENT", ec);
  if (!options.create_if_missing && !holds_store) {
    return Status::NotFound("there are no read models in " + options.directory +
                            ": build them first (cpts project, or cpts replay)");
  }
  if (options.bulk_load && holds_store) {
    return Status::AlreadyExists("read models are built into a new directory; " +
                                 options.directory + " holds some already");
  }
  std::filesystem::create_directories(options.directory, ec);
  if (ec) {
    return Status::IoError("cannot create the read-model directory " + options.directory + ": " +
                           ec.message());
  }
  rocksdb::Options db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.max_background_jobs = 2;
  // LZ4 everywhere but level 0, the memtables' flushes: compaction rewrites those files into
  // level 1 once four pile up, so compressing them was CPU spent twice (5% of a rebuild). A
  // build of up to three flushes stays in level 0, twice the size on disk, until the service
  // has flushed enough to compact (docs/projections.md).
  db_options.compression_per_level.assign(db_options.num_levels, rocksdb::kLZ4Compression);
  db_options.compression_per_level[0] = rocksdb::kNoCompression;
  db_options.write_buffer_size = 64 << 20;
  // Whole-key bloom filters, in the memtable and in each file: most rows a projector reads are
  // not there yet (a new discharge, a new stay), and the filters answer that without a search.
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  db_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  db_options.memtable_prefix_bloom_size_ratio = 0.05;
  db_options.memtable_whole_key_filtering = true;
  if (options.bulk_load) {
    // A fresh build writes a lot at once: bigger memtables, fewer small files to compact.
    db_options.write_buffer_size = 128 << 20;
    db_options.max_write_buffer_number = 4;
  }
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status s = rocksdb::DB::Open(db_options, options.directory, &raw);
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
    return Status::Unavailable("the read models in " + options.directory +
                               " are open in another process; stop it first");
  }
  CPTS_RETURN_IF_ERROR(FromRocks(s, "cannot open the read models in " + options.directory));
  auto store = std::unique_ptr<ProjectionStore>(new ProjectionStore(options));
  store->db_.reset(raw);
  return store;
}

ProjectionStore::ProjectionStore(StoreOptions options) : options_(std::move(options)) {}

ProjectionStore::~ProjectionStore() {
  if (db_) (void)Close();  // deliberate: a destructor cannot report; callers Close explicitly
}

Status ProjectionStore::StartFlush() {
  rocksdb::FlushOptions flush;
  flush.wait = false;
  return FromRocks(db_->Flush(flush), "cannot flush the read models");
}

Status ProjectionStore::Close() {
  if (!db_) return Status::Ok();
  Status status = FromRocks(db_->Flush(rocksdb::FlushOptions()), "cannot flush the read models");
  if (status.ok()) status = FromRocks(db_->SyncWAL(), "cannot sync the read models");
  if (status.ok()) status = FromRocks(db_->Close(), "cannot close the read models");
  db_.reset();
  return status;
}

std::unique_ptr<StoreSnapshot> ProjectionStore::Snapshot() const {
  return std::unique_ptr<StoreSnapshot>(new StoreSnapshot(db_.get(), db_->GetSnapshot()));
}

Result<Positions> ProjectionStore::ReadPositions() const {
  Positions positions;
  const std::string prefix = keys::Key({kMeta, "position"});
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    const std::vector<std::string> parts = keys::Split(it->key().ToStringView());
    if (parts.size() != 3) continue;
    int32_t partition = 0;
    int64_t offset = 0;
    const std::string value = it->value().ToString();
    if (std::from_chars(parts[2].data(), parts[2].data() + parts[2].size(), partition).ec !=
            std::errc() ||
        std::from_chars(value.data(), value.data() + value.size(), offset).ec != std::errc()) {
      return Status::Corruption("a read-model position does not decode: rebuild the read models "
                                "(cpts rebuild)");
    }
    positions[partition] = offset;
  }
  CPTS_RETURN_IF_ERROR(FromRocks(it->status(), "cannot read the read-model positions"));
  return positions;
}

namespace {

// SHA-256 on a thread of its own, fed buffers of bytes in order: reading the rows and hashing
// them take about as long each (0.2 and 0.15 s of a 1M-event build), so the digest takes the
// longer of the two instead of their sum. Through OpenSSL, which uses the CPU's SHA extensions
// (libsodium has portable C only: a 1M-event digest took about a second of it).
class PipelinedSha256 {
 public:
  PipelinedSha256() : context_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
    started_ =
        context_ != nullptr && EVP_DigestInit_ex(context_.get(), EVP_sha256(), nullptr) == 1;
    ok_ = started_;
    thread_ = std::thread([this] { Run(); });
  }
  ~PipelinedSha256() {
    if (thread_.joinable()) (void)Finish();
  }

  // Hands over a full buffer to hash; returns an empty one to fill next. Waits while two
  // buffers are queued, so the bytes in flight stay bounded.
  std::string Submit(std::string full) {
    std::unique_lock lock(mu_);
    space_.wait(lock, [this] { return queued_.size() < 2; });
    queued_.push_back(std::move(full));
    work_.notify_one();
    std::string empty;
    if (!spare_.empty()) {
      empty = std::move(spare_.back());
      spare_.pop_back();
    }
    return empty;
  }

  // False when OpenSSL could not start a digest.
  bool started() const { return started_; }

  // The digest in lowercase hex, once every buffer is hashed; nullopt if OpenSSL failed.
  std::optional<std::string> Finish() {
    {
      std::lock_guard lock(mu_);
      finishing_ = true;
      work_.notify_one();
    }
    thread_.join();
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (!ok_ || EVP_DigestFinal_ex(context_.get(), digest, &size) != 1 || size != 32) {
      return std::nullopt;
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned i = 0; i < size; ++i) {
      hex += kHex[digest[i] >> 4];
      hex += kHex[digest[i] & 15];
    }
    return hex;
  }

 private:
  void Run() {
    std::unique_lock lock(mu_);
    while (true) {
      work_.wait(lock, [this] { return !queued_.empty() || finishing_; });
      if (queued_.empty()) return;  // finishing, and everything is hashed
      std::string bytes = std::move(queued_.front());
      queued_.pop_front();
      space_.notify_one();
      lock.unlock();
      ok_ = ok_ && EVP_DigestUpdate(context_.get(), bytes.data(), bytes.size()) == 1;
      bytes.clear();
      lock.lock();
      spare_.push_back(std::move(bytes));  // keeps its memory for the next Submit
    }
  }

  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context_;
  bool started_ = false;
  bool ok_ = false;  // written by the hashing thread only, once started; read after join
  std::mutex mu_;
  std::condition_variable work_, space_;
  std::deque<std::string> queued_;
  std::vector<std::string> spare_;
  bool finishing_ = false;
  std::thread thread_;
};

}  // namespace

Result<std::string> ProjectionStore::Digest() const {
  PipelinedSha256 sha256;
  if (!sha256.started()) return Status::Internal("cannot start a SHA-256 digest (OpenSSL)");
  // Each key and value as "<length>:<bytes>", gathered in 1 MiB buffers.
  constexpr size_t kBuffer = 1 << 20;
  std::string pending;
  pending.reserve(kBuffer + 4096);
  const auto add = [&](const rocksdb::Slice& bytes) {
    char length[24];
    const auto [end, ec] = std::to_chars(length, length + sizeof length, bytes.size());
    pending.append(length, end);
    pending += ':';
    pending.append(bytes.data(), bytes.size());
    if (pending.size() >= kBuffer) {
      pending = sha256.Submit(std::move(pending));
      pending.reserve(kBuffer + 4096);
    }
  };
  // Meta rows and outcomes are passed over with one seek each, past the end of their prefix.
  const std::string meta = keys::Key({kMeta});
  const std::string outcome = keys::Key({rows::kOutcome});
  const auto after = [](std::string prefix) {
    prefix.back() = static_cast<char>(prefix.back() + 1);  // a Key ends with 0x00 0x01
    return prefix;
  };
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid();) {
    if (it->key().starts_with(meta)) {
      it->Seek(after(meta));
    } else if (it->key().starts_with(outcome)) {
      it->Seek(after(outcome));
    } else {
      add(it->key());
      add(it->value());
      it->Next();
    }
  }
  if (!pending.empty()) (void)sha256.Submit(std::move(pending));
  std::optional<std::string> digest = sha256.Finish();
  CPTS_RETURN_IF_ERROR(FromRocks(it->status(), "cannot read the read models"));
  if (!digest) return Status::Internal("cannot compute a SHA-256 digest (OpenSSL)");
  return *digest;
}

Result<uint64_t> ProjectionStore::ExpireOutcomes(int64_t before_ms,
                                                 const std::function<bool()>& stopping) {
  const std::string prefix = keys::Key({rows::kOutcome});
  rocksdb::ReadOptions read;
  read.fill_cache = false;  // one pass over rows nobody is about to read
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read));
  rocksdb::WriteBatch batch;
  uint64_t deleted = 0;
  const auto write = [&] {
    const rocksdb::Status s = db_->Write(rocksdb::WriteOptions(), &batch);
    batch.Clear();
    return FromRocks(s, "cannot delete expired command outcomes");
  };
  uint64_t seen = 0;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (++seen % 10'000 == 0 && stopping()) break;
    const std::string_view key = it->key().ToStringView();
    Result<json> row = DecodeRow(it->value().ToStringView(), key);
    if (!row.ok()) return row.status();
    const auto time = row->find("time");
    const std::optional<int64_t> decided =
        time != row->end() && time->is_string()
            ? ParseTimestampMs(time->get_ref<const std::string&>())
            : std::nullopt;
    if (!decided || *decided >= before_ms) continue;  // a row without a time is never guessed at
    batch.Delete(it->key());
    if (++deleted % 10'000 == 0) CPTS_RETURN_IF_ERROR(write());
  }
  CPTS_RETURN_IF_ERROR(FromRocks(it->status(), "cannot read the command outcomes"));
  if (batch.Count() > 0) CPTS_RETURN_IF_ERROR(write());
  return deleted;
}

Status ProjectionStore::PutMeta(const std::string& name, const json& value) {
  return FromRocks(db_->Put(rocksdb::WriteOptions(), keys::Key({kMeta, "fact", name}),
                            EncodeRow(value)),
                   "cannot write the read models");
}

Result<std::optional<json>> ProjectionStore::GetMeta(const std::string& name) const {
  std::unique_ptr<StoreSnapshot> snapshot = Snapshot();
  return snapshot->Get(keys::Key({kMeta, "fact", name}));
}

}  // namespace cpts::projections

namespace cpts::projections {

std::optional<uint64_t> ProjectionStore::IntProperty(const std::string& property) const {
  uint64_t value = 0;
  if (db_ == nullptr || !db_->GetIntProperty(property, &value)) return std::nullopt;
  return value;
}

}  // namespace cpts::projections
