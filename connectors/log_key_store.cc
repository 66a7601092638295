#include "connectors/log_key_store.h"

#include <sodium.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "connectors/key_wrap.h"
#include "events/topics.h"

namespace cpts::keys {
namespace {

// How long a caller waits for the tail to reach a point of the topic before giving up.
constexpr std::chrono::seconds kCatchUpTimeout{30};
constexpr std::chrono::milliseconds kTailPoll{100};

class LogKeyStore : public KeyStore {
 public:
  LogKeyStore(log::Log& log, const MasterKey& master) : log_(log), master_(master) {}

  ~LogKeyStore() override {
    stop_ = true;
    if (tail_.joinable()) tail_.join();
    sodium_memzero(master_.data(), master_.size());
  }

  Status Open() {
    const std::string topic(topics::kKeys);
    Result<int32_t> partitions = log_.PartitionCount(topic);
    if (!partitions.ok()) {
      return partitions.status().WithContext(
          "the key store needs the keys topic (created with the other topics)");
    }
    Result<std::unique_ptr<log::LogReader>> reader = log_.OpenReader();
    if (!reader.ok()) return reader.status();
    reader_ = std::move(*reader);
    next_.resize(static_cast<size_t>(*partitions));
    for (int32_t p = 0; p < *partitions; ++p) {
      const log::TopicPartition tp{topic, Partition(p)};
      Result<Offset> begin = log_.BeginOffset(tp);
      if (!begin.ok()) return begin.status();
      CPTS_RETURN_IF_ERROR(reader_->Assign(tp, *begin));
      next_[static_cast<size_t>(p)] = begin->value();
    }
    // Load the whole topic in this thread, then hand the reader to the tail thread.
    Result<std::vector<int64_t>> ends = EndOffsets();
    if (!ends.ok()) return ends.status();
    const auto deadline = std::chrono::steady_clock::now() + kCatchUpTimeout;
    while (!Reached(*ends)) {
      if (std::chrono::steady_clock::now() > deadline) {
        return Status::TimedOut("the keys topic could not be read to its end");
      }
      CPTS_RETURN_IF_ERROR(PollOnce());
    }
    CPTS_RETURN_IF_ERROR(CheckMasterKey());
    tail_ = std::thread([this] { Tail(); });
    return Status::Ok();
  }

  Result<events::DataKey> KeyFor(std::string_view patient) override {
    CPTS_RETURN_IF_ERROR(events::CheckPatientPseudonym(patient));
    if (auto found = KeyOfPatient(patient); !found.ok() || *found) return Unwrapped(found);
    // One creation at a time in this process, so two threads never give one patient two keys.
    std::lock_guard create(create_mu_);
    CPTS_RETURN_IF_ERROR(CatchUp());  // another process may have made one
    if (auto found = KeyOfPatient(patient); !found.ok() || *found) return Unwrapped(found);
    Result<events::DataKey> key = NewDataKey();
    if (!key.ok()) return key;
    Result<std::string> stored = WrapDataKey(*key, patient, master_);
    if (!stored.ok()) return stored.status();
    std::vector<log::Record> records = {log::Record{.key = key->key_id, .value = *stored}};
    CPTS_RETURN_IF_ERROR(AppendAndApply(records));
    return key;
  }

  Result<std::optional<events::DataKey>> Find(std::string_view key_id) override {
    if (!IsKeyId(key_id) || Erased(key_id)) return std::optional<events::DataKey>();
    if (auto found = Lookup(key_id); found) return UnwrapOptional(key_id, *found);
    CPTS_RETURN_IF_ERROR(CatchUp());  // made by another process since the last poll?
    if (auto found = Lookup(key_id); found) return UnwrapOptional(key_id, *found);
    return std::optional<events::DataKey>();
  }

  Result<int> Destroy(std::string_view patient) override {
    CPTS_RETURN_IF_ERROR(events::CheckPatientPseudonym(patient));
    std::lock_guard create(create_mu_);
    CPTS_RETURN_IF_ERROR(CatchUp());  // keys other processes made for the patient too
    std::vector<log::Record> tombstones;
    {
      std::lock_guard lock(mu_);
      if (auto it = by_patient_.find(std::string(patient)); it != by_patient_.end()) {
        for (const std::string& id : it->second) {
          tombstones.push_back(log::Record{.key = id, .tombstone = true});
        }
      }
    }
    if (tombstones.empty()) return 0;
    CPTS_RETURN_IF_ERROR(AppendAndApply(tombstones));
    return static_cast<int>(tombstones.size());
  }

 private:
  // Key ids are random and never reused, so a tombstone seen is final: a replay that meets many
  // blocks of erased patients does not re-read the topic for each.
  bool Erased(std::string_view key_id) {
    std::lock_guard lock(mu_);
    return erased_.contains(std::string(key_id));
  }

  // The stored key of `key_id`, if the map has it.
  std::optional<std::string> Lookup(std::string_view key_id) {
    std::lock_guard lock(mu_);
    auto it = stored_.find(std::string(key_id));
    if (it == stored_.end()) return std::nullopt;
    return it->second;
  }

  // (key id, stored key) of one of the patient's keys, if it has any.
  Result<std::optional<std::pair<std::string, std::string>>> KeyOfPatient(
      std::string_view patient) {
    std::lock_guard lock(mu_);
    auto it = by_patient_.find(std::string(patient));
    if (it == by_patient_.end() || it->second.empty()) {
      return std::optional<std::pair<std::string, std::string>>();
    }
    const std::string& id = *it->second.begin();
    return std::optional(std::pair(id, stored_.at(id)));
  }

  Result<events::DataKey> Unwrapped(
      const Result<std::optional<std::pair<std::string, std::string>>>& found) {
    if (!found.ok()) return found.status();
    Result<StoredKey> key = UnwrapDataKey((*found)->first, (*found)->second, master_);
    if (!key.ok()) return key.status();
    return std::move(key->key);
  }

  Result<std::optional<events::DataKey>> UnwrapOptional(std::string_view key_id,
                                                        const std::string& stored) {
    Result<StoredKey> key = UnwrapDataKey(key_id, stored, master_);
    if (!key.ok()) return key.status();
    return std::optional<events::DataKey>(std::move(key->key));
  }

  // Appends, then waits until the tail has applied the records, so the map says what the log
  // says (a Find right after a Destroy misses) and the records are applied in log order only.
  Status AppendAndApply(const std::vector<log::Record>& records) {
    Result<std::vector<log::Position>> positions = log_.Append(topics::kKeys, records);
    if (!positions.ok()) return positions.status().WithContext("cannot write the keys topic");
    std::vector<int64_t> wanted(next_.size(), 0);
    for (const log::Position& pos : *positions) {
      auto& w = wanted[static_cast<size_t>(pos.partition.value())];
      w = std::max(w, pos.offset.value() + 1);
    }
    return WaitFor(wanted);
  }

  Status CatchUp() {
    Result<std::vector<int64_t>> ends = EndOffsets();
    if (!ends.ok()) return ends.status().WithContext("cannot read the keys topic");
    return WaitFor(*ends);
  }

  Result<std::vector<int64_t>> EndOffsets() {
    std::vector<int64_t> ends(next_.size());
    for (size_t p = 0; p < ends.size(); ++p) {
      Result<Offset> end =
          log_.EndOffset({std::string(topics::kKeys), Partition(static_cast<int32_t>(p))});
      if (!end.ok()) return end.status();
      ends[p] = end->value();
    }
    return ends;
  }

  bool Reached(const std::vector<int64_t>& wanted) {
    for (size_t p = 0; p < wanted.size(); ++p) {
      if (next_[p] < wanted[p]) return false;
    }
    return true;
  }

  Status WaitFor(const std::vector<int64_t>& wanted) {
    std::unique_lock lock(mu_);
    if (applied_cv_.wait_for(lock, kCatchUpTimeout, [&] { return Reached(wanted); })) {
      return Status::Ok();
    }
    return Status::Unavailable("the keys topic could not be read up to date within " +
                               std::to_string(kCatchUpTimeout.count()) + " s" +
                               (tail_error_.ok() ? "" : " (" + tail_error_.ToString() + ")"));
  }

  void Tail() {
    while (!stop_) {
      Status s = PollOnce();
      if (!s.ok()) {
        std::lock_guard lock(mu_);
        tail_error_ = s;  // reported by the next caller that waits; the tail retries
      }
      if (!s.ok()) std::this_thread::sleep_for(kTailPoll);
    }
  }

  Status PollOnce() {
    Result<std::vector<log::StoredRecord>> batch = reader_->Poll(kTailPoll, 10'000);
    if (!batch.ok()) return batch.status();
    std::lock_guard lock(mu_);
    for (const log::StoredRecord& r : *batch) Apply(r);
    if (!batch->empty()) {
      tail_error_ = Status::Ok();
      applied_cv_.notify_all();
    }
    return Status::Ok();
  }

  // Newer records win, as compaction keeps them; an empty value is a tombstone.
  void Apply(const log::StoredRecord& r) {
    auto& next = next_[static_cast<size_t>(r.partition.value())];
    next = std::max(next, r.offset.value() + 1);
    Forget(r.key);
    if (r.value.empty()) {
      erased_.insert(r.key);
      return;
    }
    Result<std::string> patient = StoredKeyPatient(r.value);
    // Kept even when unreadable: Find then reports the corruption rather than "no such key".
    stored_[r.key] = r.value;
    if (patient.ok()) {
      patient_of_[r.key] = *patient;
      by_patient_[*patient].insert(r.key);
    }
  }

  void Forget(const std::string& key_id) {
    stored_.erase(key_id);
    auto it = patient_of_.find(key_id);
    if (it == patient_of_.end()) return;
    auto ids = by_patient_.find(it->second);
    if (ids != by_patient_.end()) {
      ids->second.erase(key_id);
      if (ids->second.empty()) by_patient_.erase(ids);
    }
    patient_of_.erase(it);
  }

  // A key that does not unwrap at open means the wrong master key: say so now, not at the
  // first identity a coordinator asks for.
  Status CheckMasterKey() {
    std::lock_guard lock(mu_);
    for (const auto& [id, stored] : stored_) {
      Result<StoredKey> key = UnwrapDataKey(id, stored, master_);
      if (key.ok()) return Status::Ok();
      if (key.status().code() == StatusCode::kFailedPrecondition) {
        return Status::FailedPrecondition(
            "the master key does not open the keys topic's data keys: they were made with "
            "another master key (check --secrets / CPTS_MASTER_KEY)");
      }
    }
    return Status::Ok();
  }

  log::Log& log_;
  MasterKey master_;
  std::unique_ptr<log::LogReader> reader_;  // used by Open, then by the tail thread only
  std::mutex create_mu_;                    // KeyFor's creations and Destroy, one at a time

  std::mutex mu_;  // guards what follows
  std::condition_variable applied_cv_;
  std::vector<int64_t> next_;                      // per partition, the next offset to apply
  std::map<std::string, std::string> stored_;      // key id -> stored (wrapped) key
  std::map<std::string, std::string> patient_of_;  // key id -> patient
  std::map<std::string, std::set<std::string>> by_patient_;
  std::set<std::string> erased_;  // key ids whose tombstone was read
  Status tail_error_;

  std::atomic<bool> stop_{false};
  std::thread tail_;
};

}  // namespace

Result<std::unique_ptr<KeyStore>> OpenLogKeyStore(log::Log& log,
                                                  const std::array<unsigned char, 32>& master_key) {
  auto store = std::make_unique<LogKeyStore>(log, master_key);
  CPTS_RETURN_IF_ERROR(store->Open());
  return std::unique_ptr<KeyStore>(std::move(store));
}

}  // namespace cpts::keys
