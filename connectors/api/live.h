#pragma once
// LiveView: what the daemon's projector has made readable, for the handlers that wait on it.
//
// The projector (projections/projector.h) calls OnCommit after each commit, from its worker
// threads. Handlers then:
//   - wait for their own writes (read-your-writes: a query with ?position=, a command waiting for
//     its outcome row) with Reached / WaitUntil, woken by each commit instead of polling;
//   - follow a CPTS's live feed (Server-Sent Events): the last events of each CPTS are kept in
//     memory, with the stream's sequence number as event id, so an id means the same event on
//     every cptsd and after a restart (a client may reconnect to another instance).
// Thread-safety: every member is thread-safe.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "connectors/api/sse.h"
#include "projections/projector.h"
#include "projections/store.h"

namespace cpts::api {

// One event of a CPTS's live feed.
struct FeedEvent {
  uint64_t sequence = 0;  // the stream's sequence: the SSE id
  std::string kind;       // the SSE event type: "handoff" for ville-hôpital events, else "event"
  std::string data;       // one line of JSON (FeedEventJson)
  std::vector<std::string> patients;  // pseudonyms named in the event, for access traces
};

// The SSE `event:` type of an event type: "handoff" for stays, discharges and follow-ups (the
// ville-hôpital handoff changes), "event" for everything else.
std::string FeedKind(std::string_view event_type);
// The feed's JSON for an applied event: its CloudEvents attributes (id, type, time, subject,
// sequence, actor, causationid) and its data (never a sealed identity: the projector took it
// out), plus "partition" and "offset".
std::string FeedEventJson(const projections::AppliedEvent& applied);

struct LiveViewOptions {
  // Events kept per CPTS for the live feed. Default: 1,000 (a large CPTS's busiest day is about
  // 2,000 events; a client that was away longer reloads the views).
  size_t feed_events_per_cpts = 1000;
};

class LiveView {
 public:
  explicit LiveView(LiveViewOptions options = {});

  // From the projector's on_commit.
  void OnCommit(const projections::Positions& committed,
                std::vector<projections::AppliedEvent> applied);
  // What the read models held when the projector started (its stored positions).
  void SetStartPositions(const projections::Positions& positions);

  // Next offset readable, per partition of the events topic.
  projections::Positions positions() const;
  // True when, for every partition in `wanted`, the read models hold every record before
  // wanted[p] (positions()[p] >= wanted[p]).
  bool Reached(const projections::Positions& wanted) const;
  // Checks `ready` now and after each commit until it returns true, `deadline` passes or Stop().
  // Returns ready's last answer. `ready` runs without LiveView's lock held.
  bool WaitUntil(const std::function<bool()>& ready,
                 std::chrono::steady_clock::time_point deadline) const;

  // The feed events of `cpts` after sequence `after` (0: every event retained), waiting until
  // there is one, `deadline` passes, `stop` is requested or Stop(). FailedPrecondition (named
  // "too old to resume") when events after `after` are no longer retained: the client reloads
  // the views and reconnects without Last-Event-ID.
  Status ReadFeed(const std::string& cpts, uint64_t after,
                  std::chrono::steady_clock::time_point deadline, std::stop_token stop,
                  std::vector<FeedEvent>* out) const;

  // False when events after `after` are no longer retained for `cpts` (ReadFeed would refuse):
  // the feed answers 409 before opening the stream. True while the feed is empty (after a
  // restart nothing is known yet: the stream opens and ReadFeed decides once events arrive).
  bool Resumable(const std::string& cpts, uint64_t after) const;

  // Wakes every waiter for good (the daemon is stopping).
  void Stop();
  bool stopped() const;

 private:
  struct Feed {
    std::deque<FeedEvent> events;  // consecutive sequences, oldest first
  };
  const LiveViewOptions options_;
  mutable std::mutex mu_;
  mutable std::condition_variable_any changed_;
  uint64_t generation_ = 0;  // bumped by every commit
  bool stopped_ = false;
  projections::Positions positions_;
  std::map<std::string, Feed, std::less<>> feeds_;
};

}  // namespace cpts::api
