#pragma once
// Auditor tools over the events topic (ARCHITECTURE.md decision 8; docs/audit.md):
//   - VerifyHistory walks every partition in offset order and checks every stream's chain:
//     sequences from 1 without gaps, each prevhash the SHA-256 of the previous event's stored
//     bytes, each id its DeterministicEventId, each stream in the partition its key routes to.
//     Every problem is reported once, with its log position, as one of the kinds below.
//   - ExportHistory writes a time window of the log as CloudEvents JSON lines (the stored bytes,
//     one per line) and a manifest of counts, chain ends and the file's SHA-256;
//     VerifyExport re-checks such a directory offline, without the log.
//
// Contract:
//   - Problems name positions, streams (CPTS ids), sequences, event ids and types: never event
//     data, so a report can be shared without disclosing a patient's pseudonym.
//   - By default an event is scanned for the attributes the chain needs (id, cptsid, sequence,
//     prevhash, causationid, type, time): its JSON syntax is checked, no attribute twice, none
//     unknown, but `data` is not built nor checked against the catalogue; `deep` runs the full
//     codec (events::Decode: catalogue, data, upcasters) on every event too. Either way an event
//     that cannot be read is reported as altered.
//   - A duplicate (the same bytes again at a later offset: at-least-once re-delivery) is reported
//     and counted but does not fail verification; every other kind does.
// Thread-safety: pure functions over the log; VerifyHistory reads partitions on options.threads
// threads and calls progress from the calling thread.

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/json.h"
#include "events/log.h"
#include "events/status.h"

namespace cpts::projections {

enum class ProblemKind {
  kAltered,     // stored bytes that no longer hash to the next prevhash, a wrong id, unreadable
  kMissing,     // a gap in a stream's sequences (or its end, against expected heads)
  kDuplicated,  // the same sequence again with the same bytes: harmless re-delivery
  kForged,      // the same sequence again with other bytes: a second writer
  kReordered,   // a sequence that appears in the log before a smaller one of its stream
  kMisrouted,   // a stream's event in a partition its key does not route to
};
inline constexpr int kProblemKinds = 6;
std::string_view ProblemKindName(ProblemKind kind);  // "altered", "missing", ...
// Everything but kDuplicated.
bool FailsVerification(ProblemKind kind);

struct Problem {
  ProblemKind kind = ProblemKind::kAltered;
  // Where: a log position (partition, offset), or a line of an export's events.jsonl; a problem
  // of a whole file or stream has neither (partition -1, line 0).
  int32_t partition = -1;
  int64_t offset = -1;
  int64_t line = 0;
  std::string cptsid;     // the stream, when known
  uint64_t sequence = 0;  // 0 when unknown
  uint64_t last_sequence = 0;  // for a range of missing sequences; 0 otherwise
  std::string event_id;   // the event's id, when readable
  std::string type;       // the event's type as stored, when readable
  std::string detail;     // what is wrong and what it relates to, in a sentence
};
::cpts::Json ProblemJson(const Problem& problem);
// "p3@1204" or "line 57"; "" when the problem has no position.
std::string PositionText(const Problem& problem);

// The end of a stream's chain: its last sequence and that event's hash.
struct StreamHead {
  uint64_t sequence = 0;
  std::string hash;
  bool operator==(const StreamHead&) const = default;
};
using Heads = std::map<std::string, StreamHead>;

struct VerifyOptions {
  // Default: 2 worker threads; partitions are spread over them by size.
  int threads = 2;
  // Default: false. True: the full codec on every event too (about 1.6x slower).
  bool deep = false;
  // Heads recorded earlier (an export's manifest): each stream must reach its expected head with
  // the same hash there. Catches the alteration or removal of a stream's last events, which no
  // later prevhash covers.
  std::optional<Heads> expected_heads;
  // Default: none. Called about once a second: records done and the total to do.
  std::function<void(uint64_t done, uint64_t total)> progress;
};

struct VerifyReport {
  uint64_t records = 0;  // records (or lines) read
  uint64_t events = 0;   // events in the chains (every sequence once)
  std::vector<Problem> problems;  // in position order
  std::array<uint64_t, kProblemKinds> counts{};  // by ProblemKind
  Heads heads;           // every stream's head as found
  int32_t partitions = 0;
  double seconds = 0;
  // True when no problem fails verification (duplicates are allowed).
  bool intact() const;
};

// Verifies the events topic of `log` from its first kept offset to the end each partition has
// when the call starts. Fails only when the log cannot be read; what is wrong with the history
// is in the report.
Result<VerifyReport> VerifyHistory(log::Log& log, const VerifyOptions& options);

struct ExportOptions {
  std::string directory;  // created; must not exist or be empty
  // The window, by each event's time attribute, both ends included: per stream, from its first
  // event at or after `from_ms` up to (excluded) its first event after `until_ms`, as an as-of
  // replay stops (projections/projector.h). Absent: from the start / to the end.
  std::optional<int64_t> from_ms;
  std::optional<int64_t> until_ms;
  // Default: none. Called about once a second: records done and the total to do.
  std::function<void(uint64_t done, uint64_t total)> progress;
};

struct ExportReport {
  uint64_t events = 0;    // lines written
  uint64_t streams = 0;
  uint64_t unreadable = 0;  // records that could not be placed in the window: left out
  std::string sha256;     // of events.jsonl
  ::cpts::Json manifest;
};

// Writes <directory>/events.jsonl and <directory>/manifest.json (docs/audit.md). On failure,
// removes what it wrote.
Result<ExportReport> ExportHistory(log::Log& log, const ExportOptions& options);

inline constexpr std::string_view kExportEventsFile = "events.jsonl";
inline constexpr std::string_view kExportManifestFile = "manifest.json";

// Re-checks an export without the log: the file's hash, size and line count against the
// manifest, and every stream's chain inside the window, from the prevhash the manifest gives for
// its first event to the head it gives for its last. Problems name lines of events.jsonl.
Result<VerifyReport> VerifyExport(const std::string& directory, const VerifyOptions& options);

// The heads a manifest recorded (`path`: manifest.json, or the export directory holding it).
Result<Heads> ReadManifestHeads(const std::string& path);

}  // namespace cpts::projections
