#include "connectors/api/sse.h"

#include <algorithm>
#include <charconv>
#include <utility>

namespace cpts::api {
namespace {

// A line break inside an id or type would start a new field; drop it rather than refuse the
// event, since ids and types are ours, never a client's.
std::string SingleLine(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c != '\n' && c != '\r') out.push_back(c);
  }
  return out;
}

}  // namespace

std::string FormatSseEvent(const SseEvent& event) {
  std::string out;
  out.reserve(event.data.size() + event.id.size() + event.type.size() + 32);
  if (!event.id.empty()) out.append("id: ").append(SingleLine(event.id)).append("\n");
  if (!event.type.empty()) out.append("event: ").append(SingleLine(event.type)).append("\n");
  // One data: line per line of the data; "a\r\nb", "a\nb" and "a\rb" all read back as "a\nb".
  std::string_view data = event.data;
  while (true) {
    size_t end = data.find_first_of("\r\n");
    out.append("data: ").append(data.substr(0, end)).append("\n");
    if (end == std::string_view::npos) break;
    size_t next = end + 1;
    if (data[end] == '\r' && next < data.size() && data[next] == '\n') ++next;
    data.remove_prefix(next);
  }
  out.append("\n");
  return out;
}

std::string FormatSseComment(std::string_view text) { return ": " + SingleLine(text) + "\n\n"; }

SseStream::SseStream(SseSource source, std::string last_event_id,
                     std::chrono::milliseconds heartbeat, std::stop_token stop)
    : source_(std::move(source)),
      last_event_id_(std::move(last_event_id)),
      heartbeat_(heartbeat),
      stop_(std::move(stop)) {}

bool SseStream::Pump(const Writer& write) {
  auto now = std::chrono::steady_clock::now();
  if (!opened_) {
    // A first line at once: the client sees the stream open before any event exists.
    opened_ = true;
    next_heartbeat_ = now + heartbeat_;
    return write(FormatSseComment("open"));
  }
  if (stop_.stop_requested()) return false;
  std::vector<SseEvent> events;
  if (!source_(last_event_id_, next_heartbeat_, stop_, &events).ok()) return false;
  // Events read while stopping are dropped: the client resumes from the last id it got.
  if (stop_.stop_requested()) return false;
  std::string bytes;
  for (const SseEvent& e : events) {
    bytes += FormatSseEvent(e);
    if (!e.id.empty()) last_event_id_ = e.id;
  }
  now = std::chrono::steady_clock::now();
  if (bytes.empty() && now >= next_heartbeat_) bytes = FormatSseComment("heartbeat");
  if (bytes.empty()) return true;  // the source returned early: wait again
  next_heartbeat_ = now + heartbeat_;
  return write(bytes);
}

SseBuffer::SseBuffer(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

uint64_t SseBuffer::Publish(std::string type, std::string data) {
  uint64_t id;
  {
    std::lock_guard lock(mu_);
    id = next_id_++;
    events_.push_back(SseEvent{std::to_string(id), std::move(type), std::move(data)});
    if (events_.size() > capacity_) events_.pop_front();
  }
  published_.notify_all();
  return id;
}

SseSource SseBuffer::Source() {
  return [this](const std::string& after_id, std::chrono::steady_clock::time_point deadline,
                std::stop_token stop, std::vector<SseEvent>* out) {
    return Read(after_id, deadline, std::move(stop), out);
  };
}

Status SseBuffer::Read(const std::string& after_id, std::chrono::steady_clock::time_point deadline,
                       std::stop_token stop, std::vector<SseEvent>* out) {
  uint64_t after = 0;
  if (!after_id.empty()) {
    auto [end, ec] = std::from_chars(after_id.data(), after_id.data() + after_id.size(), after);
    if (ec != std::errc() || end != after_id.data() + after_id.size()) {
      return Status::InvalidArgument("Last-Event-ID is not an id of this feed");
    }
  }
  std::unique_lock lock(mu_);
  const uint64_t first_retained = next_id_ - events_.size();
  if (!after_id.empty() && (after >= next_id_ || after + 1 < first_retained)) {
    return Status::FailedPrecondition("Last-Event-ID " + after_id +
                                      " is not retained any more (or never was): reload the feed");
  }
  // Sleeps without CPU until an event after `after` exists, the deadline passes or stop.
  published_.wait_until(lock, stop, deadline, [&] { return next_id_ - 1 > after; });
  const uint64_t first = next_id_ - events_.size();
  for (uint64_t id = std::max(after + 1, first); id < next_id_; ++id) {
    out->push_back(events_[id - first]);
  }
  return Status::Ok();
}

}  // namespace cpts::api
