#include "connectors/api/live.h"

#include "events/json.h"

namespace cpts::api {

using json = ::cpts::Json;

std::string FeedKind(std::string_view event_type) {
  for (std::string_view area : {"fr.cpts.stay.", "fr.cpts.discharge.", "fr.cpts.followup."}) {
    if (event_type.starts_with(area)) return "handoff";
  }
  return "event";
}

std::string FeedEventJson(const projections::AppliedEvent& applied) {
  const events::Envelope& e = applied.event;
  json out = {{"id", e.id},
              {"type", e.type},
              {"time", e.time},
              {"cptsid", e.cptsid},
              {"sequence", e.sequence.value()},
              {"actor", e.actor},
              {"causationid", e.causationid},
              {"data", e.data},
              {"partition", applied.partition},
              {"offset", applied.offset}};
  if (e.subject) out["subject"] = *e.subject;
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {

// The pseudonyms an event names (its data's "patient" or "participant").
std::vector<std::string> PatientsOf(const events::Envelope& e) {
  std::vector<std::string> patients;
  for (const char* field : {"patient", "participant"}) {
    const auto it = e.data.find(field);
    if (it != e.data.end() && it->is_string()) patients.push_back(it->get<std::string>());
  }
  return patients;
}

}  // namespace

LiveView::LiveView(LiveViewOptions options) : options_(options) {}

void LiveView::SetStartPositions(const projections::Positions& positions) {
  std::lock_guard lock(mu_);
  for (const auto& [p, offset] : positions) {
    if (!positions_.contains(p)) positions_[p] = offset;
  }
  ++generation_;
  changed_.notify_all();
}

void LiveView::OnCommit(const projections::Positions& committed,
                        std::vector<projections::AppliedEvent> applied) {
  // Built outside the lock: JSON rendering is the expensive part.
  std::vector<std::pair<std::string, FeedEvent>> fresh;
  fresh.reserve(applied.size());
  for (const projections::AppliedEvent& a : applied) {
    fresh.emplace_back(a.event.cptsid,
                       FeedEvent{.sequence = a.event.sequence.value(),
                                 .kind = FeedKind(a.event.type),
                                 .data = FeedEventJson(a),
                                 .patients = PatientsOf(a.event)});
  }
  std::lock_guard lock(mu_);
  for (const auto& [p, offset] : committed) positions_[p] = std::max(positions_[p], offset);
  for (auto& [cpts, event] : fresh) {
    auto it = feeds_.find(cpts);
    if (it == feeds_.end()) it = feeds_.emplace(cpts, Feed{}).first;
    std::deque<FeedEvent>& events = it->second.events;
    // Sequences are consecutive within a stream; a hole (never expected: the projector applies
    // each stream in order) restarts the window rather than let an id skip events.
    if (!events.empty() && event.sequence != events.back().sequence + 1) events.clear();
    events.push_back(std::move(event));
    while (events.size() > options_.feed_events_per_cpts) events.pop_front();
  }
  ++generation_;
  changed_.notify_all();
}

projections::Positions LiveView::positions() const {
  std::lock_guard lock(mu_);
  return positions_;
}

bool LiveView::Reached(const projections::Positions& wanted) const {
  std::lock_guard lock(mu_);
  for (const auto& [p, offset] : wanted) {
    const auto it = positions_.find(p);
    const int64_t at = it == positions_.end() ? 0 : it->second;  // nothing applied yet: 0
    if (at < offset) return false;
  }
  return true;
}

bool LiveView::WaitUntil(const std::function<bool()>& ready,
                         std::chrono::steady_clock::time_point deadline) const {
  while (true) {
    uint64_t seen;
    {
      std::lock_guard lock(mu_);
      seen = generation_;  // read before `ready`, so a commit in between is not missed
    }
    if (ready()) return true;
    std::unique_lock lock(mu_);
    const bool woke = changed_.wait_until(lock, deadline,
                                          [&] { return generation_ != seen || stopped_; });
    if (!woke || stopped_) {
      lock.unlock();
      return ready();
    }
  }
}

Status LiveView::ReadFeed(const std::string& cpts, uint64_t after,
                          std::chrono::steady_clock::time_point deadline, std::stop_token stop,
                          std::vector<FeedEvent>* out) const {
  std::unique_lock lock(mu_);
  const auto available = [&] {
    if (stopped_) return true;
    const auto it = feeds_.find(cpts);
    return it != feeds_.end() && !it->second.events.empty() &&
           it->second.events.back().sequence > after;
  };
  changed_.wait_until(lock, stop, deadline, available);
  const auto it = feeds_.find(cpts);
  if (it == feeds_.end() || it->second.events.empty()) return Status::Ok();
  const std::deque<FeedEvent>& events = it->second.events;
  if (events.back().sequence <= after) return Status::Ok();
  if (after != 0 && after + 1 < events.front().sequence) {
    return Status::FailedPrecondition(
        "event " + std::to_string(after) +
        " is too old to resume from: reload the views, then reconnect without Last-Event-ID");
  }
  const uint64_t first = after == 0 ? events.front().sequence : after + 1;
  for (size_t i = first - events.front().sequence; i < events.size(); ++i) {
    out->push_back(events[i]);
  }
  return Status::Ok();
}

bool LiveView::Resumable(const std::string& cpts, uint64_t after) const {
  std::lock_guard lock(mu_);
  const auto it = feeds_.find(cpts);
  if (after == 0 || it == feeds_.end() || it->second.events.empty()) return true;
  return after + 1 >= it->second.events.front().sequence;
}

bool LiveView::stopped() const {
  std::lock_guard lock(mu_);
  return stopped_;
}

void LiveView::Stop() {
  std::lock_guard lock(mu_);
  stopped_ = true;
  changed_.notify_all();
}

}  // namespace cpts::api
