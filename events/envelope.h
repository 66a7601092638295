#pragma once
// The envelope every event travels in: CloudEvents 1.0, structured JSON mode, with our extension
// attributes for the stream (cptsid, sequence, prevhash), the cause (causationid, correlationid,
// actor) and the conventions in force (schemaversion). docs/events.md is the reference.
//
// Contract:
//   - This header holds the plain struct and the primitives the hash chain is built from:
//     the canonical JSON rule, SHA-256, the deterministic event id, the time format.
//     Turning an Envelope into bytes and back, with validation, is events/codec.h.
//   - An Envelope is only built once its stream position is known: the command processor fills
//     sequence, prevhash and id when it appends. A stored envelope never has sequence 0.
// Thread-safety: plain values and pure functions.

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "events/json.h"
#include "events/types.h"

namespace cpts::events {

inline constexpr std::string_view kSpecVersion = "1.0";
inline constexpr std::string_view kDataContentType = "application/json";
// The version of OUR envelope conventions: the extension set and the canonical-bytes rule the
// hash chain relies on. Not the data's version, which is the type name's ".vN".
inline constexpr int kSchemaVersion = 1;
// prevhash of the first event of a stream: no previous event.
inline constexpr std::string_view kGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

struct Envelope {
  // CloudEvents core attributes.
  std::string id;      // DeterministicEventId(cptsid, sequence, causationid)
  std::string source;  // a URI-reference naming the producer; by convention "/cpts/<cptsid>"
  std::string type;    // "fr.cpts.<area>.<fact>.vN", a type of the catalogue
  std::string specversion = std::string(kSpecVersion);
  std::string time;  // when its command entered the log (so deciding it twice gives the same
                     // bytes): RFC 3339 UTC, "2026-11-22T16:05:00.123Z"
  std::string datacontenttype = std::string(kDataContentType);
  std::optional<std::string> subject;  // the entity within the stream, e.g. "discharge/D-42"

  // Extension attributes (CloudEvents requires lowercase names without separators).
  std::string cptsid;  // the stream: one CPTS, or a region's stream for unrouted messages
  Sequence sequence;   // 1-based, gapless within the stream; never 0 once built
  std::string prevhash = std::string(kGenesisHash);  // hash of the stream's previous event
  std::string causationid;                           // the command that caused the event
  std::string correlationid;  // the wider flow; the command id when there is none
  std::string actor;          // who: "user:alice", "hospital:250000015", "system:decider"
  int schemaversion = kSchemaVersion;

  ::cpts::Json data = ::cpts::Json::object();

  bool operator==(const Envelope&) const = default;
};

// The canonical bytes of a JSON value: object keys sorted bytewise (cpts::Json's order),
// no whitespace, strings as UTF-8 (not \u-escaped) with nlohmann's minimal escapes. Event data
// holds no floating-point numbers (the catalogue has no such kind), so number formatting is
// unambiguous. Invalid UTF-8 is replaced by U+FFFD so this never throws; validation
// (events/codec.h) rejects such strings before anything is stored.
std::string CanonicalJson(const ::cpts::Json& value);

// Lowercase hex SHA-256 (64 characters), through OpenSSL (SHA-NI where the CPU has it).
std::string Sha256Hex(std::string_view bytes);
// The same into `hex`, reusing its memory.
void AssignSha256Hex(std::string_view bytes, std::string& hex);

// The id of the event at `sequence` in the stream of `cpts_id`, caused by the command
// `causation_id`: a UUID (version 8, RFC 9562) made of the first 128 bits of SHA-256 over the
// canonical JSON ["fr.cpts.event",cpts_id,seq,causation_id]. The same decision re-appended
// (a retry, a re-delivery) keeps its id, so readers skip it as already applied; two different
// decisions claiming one position (a zombie writer after a rebalance) get different ids, so the
// one not applied can be reported next to the one that was. Any reader can recompute it.
std::string DeterministicEventId(std::string_view cpts_id, Sequence sequence,
                                 std::string_view causation_id);

// DeterministicEventId's 36 characters, without allocating a string: Decode checks the id of
// every event it reads.
using EventIdChars = std::array<char, 36>;
EventIdChars DeterministicEventIdChars(std::string_view cpts_id, Sequence sequence,
                                       std::string_view causation_id);

// `t` as the envelope's time attribute: RFC 3339 UTC with milliseconds, "...T16:05:00.123Z".
std::string FormatEventTime(std::chrono::system_clock::time_point t);

}  // namespace cpts::events
