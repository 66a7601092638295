#pragma once
// Access traces (ARCHITECTURE.md, 7): every read of patient-level data is itself a fact, kept on
// the `access` topic for ever (who, in which role, why, which view, which patients, when).
// Auditors list them per patient and per user (`cpts audit access`, `cpts audit history`).
//
// A trace is canonical JSON, keyed by the CPTS read (the reader's own id for a cross-CPTS read,
// a professional's worklist), so the traces of one CPTS stay in order in one partition:
//   {"trace_id":"...","at":"2026-11-22T16:05:00.123Z","user":"coordinator:cpts-x:alice",
//    "role":"coordinator","purpose":"suivi des sorties","view":"handoff","cptsid":"cpts-x",
//    "patients":["9c4e..."],"query":{"status":"overdue"},"identities":true}
// Thread-safety: AccessLog is thread-safe (the Log is).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "events/json.h"
#include "events/log.h"
#include "events/status.h"

namespace cpts::projections {

struct AccessTrace {
  std::string trace_id;  // random UUID, unique per read
  std::string at;        // when the read was answered (events::FormatEventTime)
  std::string user;      // who: an actor id ("coordinator:cpts-x:alice") or "operator:<login>"
  std::string role;      // the role the user read in
  std::string purpose;   // why, as the reader stated it
  std::string view;      // "access_queue", "referrals", "handoff", "worklist", "snp"
  std::string cptsid;    // the CPTS read; empty for a cross-CPTS view (worklist)
  std::vector<std::string> patients;  // every pseudonym the answer held, each once, sorted
  ::cpts::Json query = ::cpts::Json::object();  // the filters and page asked for
  bool identities = false;  // whether sealed identities were opened for the reader

  ::cpts::Json ToJson() const;
  static Result<AccessTrace> FromJson(std::string_view bytes);
};

// A new random trace id (32 hex characters).
std::string NewTraceId();

class AccessLog {
 public:
  // The log must hold the `access` topic (topics::AllTopics creates it).
  explicit AccessLog(log::Log& log) : log_(log) {}

  // Appends the trace and returns once it is durable: a read whose trace failed must fail.
  Status Append(const AccessTrace& trace);

  // Calls `visit` for every trace, partition by partition in offset order, until it returns
  // false. Unreadable records are an error (the access topic is written by this code only).
  Status Scan(const std::function<bool(const AccessTrace&)>& visit) const;

 private:
  log::Log& log_;
};

}  // namespace cpts::projections
