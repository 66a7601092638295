#include "projections/projector.h"

#include <algorithm>

#include <thread>
#include <utility>
#include <unordered_set>

#include "events/catalogue.h"
#include "events/codec.h"
#include "events/topics.h"
#include "projections/clock.h"
#include "projections/read_models.h"

namespace cpts::projections {

using json = ::cpts::Json;

// The head of a stream: its last applied event. Every event reads and moves its stream's head,
// so a worker keeps its heads as plain values and writes the changed ones into the RowBatch
// just before each commit, rather than a JSON row per event.
struct StreamHead {
  uint64_t sequence = 0;
  std::string hash = std::string(events::kGenesisHash);
  std::string time;
  bool changed = false;
};

struct Projector::Worker {
  std::unordered_map<std::string, StreamHead> heads;  // the streams seen so far
  std::vector<int32_t> partitions;  // following the log: assigned at the start
  Positions next;                 // next offset to apply, per partition
  Positions target;               // where to stop (stop_at_end or until_positions)
  std::unordered_set<std::string> stopped_streams;  // until_time_ms reached
  Status status;
};

namespace {

void AddStats(ProjectorStats& to, const ProjectorStats& d) {
  to.records += d.records;
  to.applied += d.applied;
  to.already_applied += d.already_applied;
  to.gaps += d.gaps;
  to.conflicts += d.conflicts;
  to.unreadable += d.unreadable;
  to.misrouted += d.misrouted;
  to.after_until += d.after_until;
}

// outcome/<cpts>/<command id>: what the command became, and where. One small row per decided
// command, so an API retry (the same command id) finds the first outcome while it is kept
// (kOutcomeRetentionMs). Written member by member, in key order (RowWriter), without a JSON value.
void RecordOutcome(const events::Envelope& e, int32_t partition, int64_t offset,
                   std::optional<int64_t> since_ms, RowBatch& rows) {
  if (e.causationid.empty()) return;
  if (since_ms && ParseTimestampMs(e.time).value_or(INT64_MAX) < *since_ms) return;  // expired
  const bool rejected = e.type == events::kCommandRejectedType;
  RowWriter outcome(rejected ? 7 : 6);
  outcome.String("id", e.id).Signed("offset", offset).Signed("partition", partition);
  if (rejected) {
    const auto text = [&](const char* name) {
      const auto it = e.data.find(name);
      return it != e.data.end() && it->is_string()
                 ? std::string_view(it->get_ref<const std::string&>())
                 : std::string_view();
    };
    outcome.Object("rejection", 2).String("code", text("code")).String("reason", text("reason"));
  }
  outcome.Unsigned("sequence", e.sequence.value()).String("time", e.time).String("type", e.type);
  rows.PutUncached(keys::Key({rows::kOutcome, e.cptsid, e.causationid}), outcome.Take());
}

}  // namespace

Positions Projector::positions() const {
  std::lock_guard lock(mu_);
  return positions_;
}

ProjectorStats Projector::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void Projector::Publish(const Positions& committed, const ProjectorStats& delta) {
  std::lock_guard lock(mu_);
  for (const auto& [p, offset] : committed) positions_[p] = offset;
  AddStats(stats_, delta);
}

namespace {

// The stream's head, read from the store the first time the worker meets the stream.
Result<StreamHead*> HeadOf(std::unordered_map<std::string, StreamHead>& heads,
                           const std::string& cptsid, RowBatch& rows) {
  auto [it, inserted] = heads.try_emplace(cptsid);
  if (inserted) {
    Result<const json*> row = rows.Read(keys::Key({rows::kHead, cptsid}));
    if (!row.ok()) {
      heads.erase(it);
      return row.status();
    }
    if (*row != nullptr) {
      it->second.sequence = (**row)["sequence"].get<uint64_t>();
      it->second.hash = (**row)["hash"].get<std::string>();
      it->second.time = (**row)["time"].get<std::string>();
    }
  }
  return &it->second;
}

// Rows, the changed heads and the positions in one WriteBatch.
Status CommitWithHeads(std::unordered_map<std::string, StreamHead>& heads, RowBatch& rows,
                       const Positions& positions, bool drop_cache = false) {
  for (auto& [cptsid, head] : heads) {
    if (!head.changed) continue;
    rows.Put(keys::Key({rows::kHead, cptsid}),
             {{"sequence", head.sequence}, {"hash", head.hash}, {"time", head.time}});
    head.changed = false;
  }
  return drop_cache ? rows.CommitAndDropCache(positions) : rows.Commit(positions);
}

}  // namespace

Status Projector::Run() {
  Result<int32_t> partitions = log_.PartitionCount(topics::kEvents);
  if (!partitions.ok()) return partitions.status().WithContext("cannot read the events topic");
  partitions_ = *partitions;
  Result<Positions> stored = store_.ReadPositions();
  if (!stored.ok()) return stored.status();

  const int threads = std::max(1, std::min(options_.threads, partitions_));
  std::vector<Worker> workers(threads);
  uint64_t total = 0;
  std::vector<Share> shares;
  for (int32_t p = 0; p < partitions_; ++p) {
    const auto s = stored->find(p);
    const int64_t from = s == stored->end() ? 0 : s->second;
    int64_t target = INT64_MAX;
    if (options_.stop_at_end) {
      Result<Offset> end = log_.EndOffset({std::string(topics::kEvents), Partition(p)});
      if (!end.ok()) return end.status().WithContext("cannot read the events topic");
      target = end->value();
    }
    if (options_.until_positions) {
      const auto u = options_.until_positions->find(p);
      target = std::min(target, u == options_.until_positions->end() ? 0 : u->second);
    }
    shares.push_back({p, from, target});
    if (target != INT64_MAX && target > from) total += target - from;
  }
  {
    std::lock_guard lock(mu_);
    for (const Share& share : shares) positions_[share.partition] = share.from;
  }
  if (options_.stop_at_end) {
    // A build knows how much each partition holds: workers take them largest first, each the
    // next one when done with one, so both cores stay busy to the end whatever slows one of
    // them (a CPTS's activity follows its population: partitions differ by 10x).
    std::stable_sort(shares.begin(), shares.end(), [](const Share& a, const Share& b) {
      return a.target - a.from > b.target - b.from;
    });
    queue_ = shares;
    queue_next_ = 0;
  } else {
    // Following the log, sizes are unknown: partition p goes to worker p % threads.
    for (const Share& share : shares) {
      Worker& w = workers[static_cast<size_t>(share.partition % threads)];
      w.partitions.push_back(share.partition);
      w.next[share.partition] = share.from;
      w.target[share.partition] = share.target;
    }
  }
  Positions unrecorded;  // partitions never committed (empty so far): record them at 0
  for (const Share& share : shares) {
    if (!stored->contains(share.partition)) unrecorded[share.partition] = share.from;
  }
  if (!unrecorded.empty()) {
    RowBatch record(&store_);
    CPTS_RETURN_IF_ERROR(record.Commit(unrecorded));
  }
  std::vector<std::thread> running;
  for (Worker& w : workers) {
    running.emplace_back([this, &w] {
      w.status = RunWorker(w);
      if (!w.status.ok()) stop_.store(true);
    });
  }
  // Progress from this thread while the workers run.
  std::atomic<int> finished{0};
  std::thread waiter([&] {
    for (std::thread& t : running) t.join();
    finished.store(1);
  });
  const auto done_events = [&] { return records_read_.load(); };
  while (!finished.load()) {
    for (int i = 0; i < 10 && !finished.load(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (options_.progress && !finished.load()) options_.progress(done_events(), total);
  }
  waiter.join();
  if (options_.progress) options_.progress(done_events(), total);
  for (const Worker& w : workers) {
    if (!w.status.ok()) return w.status;
  }
  return Status::Ok();
}

std::optional<Projector::Share> Projector::NextShare() {
  const size_t i = queue_next_.fetch_add(1);
  return i < queue_.size() ? std::optional<Share>(queue_[i]) : std::nullopt;
}

Status Projector::RunWorker(Worker& w) {
  Result<std::unique_ptr<log::LogReader>> reader = log_.OpenReader();
  if (!reader.ok()) return reader.status();
  size_t assigned = 0;
  const auto assign = [&](int32_t p) -> Status {
    if (w.next[p] >= w.target[p]) return Status::Ok();
    ++assigned;
    return (*reader)->Assign({std::string(topics::kEvents), Partition(p)}, Offset(w.next[p]));
  };
  // A build's worker takes one partition of the queue at a time, the next when it is done.
  const auto take_next = [&]() -> Status {
    while (assigned == 0 && !stop_.load()) {
      const std::optional<Share> share = NextShare();
      if (!share) return Status::Ok();
      w.next[share->partition] = share->from;
      w.target[share->partition] = share->target;
      CPTS_RETURN_IF_ERROR(assign(share->partition));
    }
    return Status::Ok();
  };
  for (int32_t p : w.partitions) CPTS_RETURN_IF_ERROR(assign(p));
  CPTS_RETURN_IF_ERROR(take_next());
  RowBatch rows(&store_);
  std::vector<AppliedEvent> applied;  // since the last commit, for on_commit
  Positions uncommitted;           // reached, not committed yet
  ProjectorStats delta_since_commit;
  events::DecodedEvent decoded;  // one for every record: its strings keep their memory
  while (assigned > 0 && !stop_.load()) {
    Result<std::vector<log::StoredRecord>> records =
        (*reader)->Poll(std::chrono::milliseconds(100), options_.max_batch);
    if (!records.ok()) return records.status().WithContext("cannot read the events topic");
    if (records->empty()) continue;
    ProjectorStats delta;
    Positions touched;
    for (const log::StoredRecord& r : *records) {
      const int32_t p = r.partition.value();
      if (r.offset.value() < w.next[p] || r.offset.value() >= w.target[p]) continue;
      ++delta.records;
      w.next[p] = r.offset.value() + 1;
      touched[p] = w.next[p];
      if (!events::DecodeInto(r.value, decoded).ok()) {
        ++delta.unreadable;
        continue;
      }
      events::Envelope& e = decoded.envelope;
      if (log::PartitionForKey(e.cptsid, partitions_) != r.partition) {
        ++delta.misrouted;  // applying it would let two workers share the stream's rows
        continue;
      }
      if (options_.until_time_ms) {
        if (w.stopped_streams.contains(e.cptsid)) {
          ++delta.after_until;
          continue;
        }
        if (ParseTimestampMs(e.time).value_or(INT64_MAX) > *options_.until_time_ms) {
          w.stopped_streams.insert(e.cptsid);
          ++delta.after_until;
          continue;
        }
      }
      Result<StreamHead*> head = HeadOf(w.heads, e.cptsid, rows);
      if (!head.ok()) return head.status();
      if (e.sequence.value() <= (*head)->sequence) {
        ++delta.already_applied;
        continue;
      }
      if (e.sequence.value() != (*head)->sequence + 1) {
        ++delta.gaps;
        continue;
      }
      if (e.prevhash != (*head)->hash) {
        ++delta.conflicts;
        continue;
      }
      // Apply moves the event's data into rows (no copy on a rebuild's hot path): what needs
      // the data afterwards takes it first. The live feed's copy leaves the sealed identity out:
      // it lives in its own row only (read_models.h).
      RecordOutcome(e, p, r.offset.value(), options_.outcomes_since_ms, rows);
      std::optional<events::Envelope> for_feed;
      if (options_.on_commit) {
        for_feed = e;
        for_feed->data.erase("identity");
      }
      CPTS_RETURN_IF_ERROR(Apply(e, rows));
      (*head)->sequence = e.sequence.value();
      (*head)->hash = decoded.hash;
      (*head)->time = e.time;
      (*head)->changed = true;
      ++delta.applied;
      if (for_feed) applied.push_back({std::move(*for_feed), p, r.offset.value()});
    }
    AddStats(delta_since_commit, delta);
    records_read_ += delta.records;
    for (const auto& [p, next] : touched) uncommitted[p] = next;
    for (const auto& [p, next] : touched) {
      if (next >= w.target[p]) {
        CPTS_RETURN_IF_ERROR((*reader)->Unassign({std::string(topics::kEvents), Partition(p)}));
        --assigned;
      }
    }
    CPTS_RETURN_IF_ERROR(take_next());
    if (options_.commit_every_batch ||
        rows.cached_rows() + rows.uncached_rows() > options_.cache_rows || assigned == 0) {
      // Past its budget the cache is dropped; so it is after the last commit, as the worker
      // is done with it.
      const bool drop = rows.cached_rows() > options_.cache_rows || assigned == 0;
      CPTS_RETURN_IF_ERROR(CommitWithHeads(w.heads, rows, uncommitted, drop));
      Publish(uncommitted, delta_since_commit);
      if (options_.on_commit) options_.on_commit(uncommitted, std::exchange(applied, {}));
      uncommitted.clear();
      delta_since_commit = {};
    }
  }
  if (!uncommitted.empty()) {  // stopped between commits
    CPTS_RETURN_IF_ERROR(CommitWithHeads(w.heads, rows, uncommitted));
    Publish(uncommitted, delta_since_commit);
    if (options_.on_commit) options_.on_commit(uncommitted, std::move(applied));
  }
  return Status::Ok();
}

}  // namespace cpts::projections
