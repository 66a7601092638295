#pragma once
// Server-Sent Events (text/event-stream) for the HTTP API's live feeds (docs/api.md, "Live feed").
//
// A route answers with Response::EventStream(source, last_event_id) (http_server.h); the server
// then runs one SseStream on the connection's worker thread. The stream asks its source for the
// events after the last one it sent, the source blocks (bounded) until there are some, and the
// stream writes them with their ids, so a client that reconnects with Last-Event-ID resumes
// where it stopped. An idle stream sleeps in the source and writes a comment line every
// heartbeat interval: proxies keep the connection open, and a client that went away is noticed
// by the failed write.
//
// Thread-safety: SseStream is used by one thread. SseBuffer is thread-safe.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "events/status.h"

namespace cpts::api {

struct SseEvent {
  std::string id;    // sent as `id:`; what a client returns in Last-Event-ID. Empty: no id line.
  std::string type;  // sent as `event:`; empty: the default type, "message".
  std::string data;  // any text; each of its lines becomes one `data:` line.
};

// The bytes of one event: "id: 7\nevent: handoff\ndata: {...}\n\n". Data is split on "\n",
// "\r\n" and "\r" (a reader would split there too). CR and LF in the id and type would end
// their line early, so they are removed.
std::string FormatSseEvent(const SseEvent& event);

// A comment line (": text\n\n"), ignored by readers; used as the heartbeat.
std::string FormatSseComment(std::string_view text);

// Where a stream takes its events from. Appends to *out, in order, the events that come after
// the event with id `after_id` ("" = the source's choice of start, e.g. everything it retains),
// blocking until there is at least one, `deadline` passes or `stop` is requested (the server
// is stopping); returning with nothing is fine. Ids must be non-empty for a stream to resume.
// A failed Status ends the stream (e.g. `after_id` is too old to resume from).
using SseSource = std::function<Status(const std::string& after_id,
                                       std::chrono::steady_clock::time_point deadline,
                                       std::stop_token stop, std::vector<SseEvent>* out)>;

// One live stream: the server calls Pump() until it returns false.
class SseStream {
 public:
  // `write` sends bytes to the client and returns false once the client is gone.
  using Writer = std::function<bool(std::string_view bytes)>;

  SseStream(SseSource source, std::string last_event_id, std::chrono::milliseconds heartbeat,
            std::stop_token stop);

  // Waits for events (at most one heartbeat interval) and writes them, or a heartbeat comment.
  // False when the stream is over: the server is stopping, the client is gone, or the source
  // failed.
  bool Pump(const Writer& write);

  // The id of the last event written (or the Last-Event-ID the stream started from).
  const std::string& last_event_id() const { return last_event_id_; }

 private:
  SseSource source_;
  std::string last_event_id_;
  std::chrono::milliseconds heartbeat_;
  std::stop_token stop_;
  std::chrono::steady_clock::time_point next_heartbeat_;
  bool opened_ = false;
};

// A bounded in-memory buffer of recent events with increasing numeric ids ("1", "2", ...): a
// ready-made SseSource for a feed whose events are published in this process. A stream that
// resumes from an id older than the buffer retains is refused (its client must reload).
class SseBuffer {
 public:
  explicit SseBuffer(size_t capacity);

  // Appends an event (its id is assigned: the returned number) and wakes the waiting streams.
  uint64_t Publish(std::string type, std::string data);

  // An SseSource reading this buffer; the buffer must outlive the streams using it.
  // after_id "" = every retained event.
  SseSource Source();

 private:
  Status Read(const std::string& after_id, std::chrono::steady_clock::time_point deadline,
              std::stop_token stop, std::vector<SseEvent>* out);

  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable_any published_;
  std::deque<SseEvent> events_;  // ids next_id_ - size() .. next_id_ - 1
  uint64_t next_id_ = 1;
};

}  // namespace cpts::api
