#pragma once
// The event catalogue: every event type the system knows, declared as data, and the validation
// of an event's `data` against its declaration. docs/events.md describes the same catalogue for
// people; a test keeps the two in step.
//
// Contract:
//   - Types are named "fr.cpts.<area>.<fact>.vN". A published type is never changed nor renamed:
//     to change one, add vN+1 and an upcaster (events/upcasters.h). The catalogue keeps superseded
//     versions, because stored events of those versions are validated before they are upcast.
//   - ValidateData returns the first problem found, as an InvalidArgument whose message names the
//     field by its path ("data.sites[1].commune: ...") and the rule it breaks. Messages never
//     show a value that could be a NIR, nor a patient pseudonym.
// Thread-safety: the catalogue is immutable after its first use (built once, thread-safely);
// every function here is pure.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "events/json.h"
#include "events/status.h"

namespace cpts::events {

enum class FieldKind {
  kString,             // a non-empty string of at most max_length characters (code points)
  kInteger,            // a JSON integer within [min, max]
  kBoolean,            // true or false
  kTimestamp,          // RFC 3339 with a zone: "2026-11-22T16:05:00+01:00" or "...Z"
  kDate,               // "YYYY-MM-DD", a real calendar day
  kEnum,               // one of `values`
  kEnumList,           // an array of `values`, no duplicates, at least min_items
  kStringList,         // an array of kString, no duplicates, at least min_items
  kRpps,               // 11 digits, Luhn
  kAdeli,              // 9 digits, Luhn
  kFiness,             // 9 characters, Luhn
  kInseeCommune,       // 5 characters: digits, or 2A/2B then 3 digits
  kInseeCommuneList,   // an array of kInseeCommune, no duplicates, at least min_items
  kMemberId,           // "rpps:<11 digits>", "adeli:<9 digits>", "finess:<9>" or "siren:<9 digits>"
  kProfessionalId,     // a kMemberId naming a person: "rpps:..." or "adeli:..."
  kPatientPseudonym,   // 64 lowercase hex characters: the HMAC-SHA256 of the INS
  kEncryptedIdentity,  // {"alg", "key_id", "nonce", "ciphertext"}: see docs/events.md
  kObjectList,         // an array of objects checked against `fields`, at least min_items
};

struct FieldSpec {
  std::string_view name;
  FieldKind kind = FieldKind::kString;
  bool required = true;  // Default: required; an optional field is absent, never null
  // kString, kStringList: characters per string. Default: 200.
  size_t max_length = 200;
  // kInteger: inclusive bounds. Default: 0 to the largest int64.
  int64_t min = 0;
  int64_t max = std::numeric_limits<int64_t>::max();
  // kEnum, kEnumList: the allowed values, in the order error messages list them.
  std::vector<std::string_view> values;
  // Lists: the fewest items allowed. Default: 1 (a list is absent rather than empty).
  size_t min_items = 1;
  // kObjectList: the fields of each item, and one of them whose value is unique across items.
  std::vector<FieldSpec> fields;
  std::string_view unique_key;
};

struct EventTypeSpec {
  std::string_view type;         // "fr.cpts.<area>.<fact>.vN"
  std::string_view description;  // one line: the fact, in the past tense
  std::vector<FieldSpec> fields;
  // Rules that involve several fields (a professional needs a profession). Runs only once every
  // field passed its own rule, so it may read them without checking their types. Null: none.
  Status (*cross_check)(const ::cpts::Json& data) = nullptr;
};

// Every type, current and superseded, in catalogue order.
// The event recording a command the deciders refused (data: command_id, command_type, code,
// reason).
inline constexpr std::string_view kCommandRejectedType = "fr.cpts.command.rejected.v1";

const std::vector<EventTypeSpec>& EventTypes();

// The declaration of `type`, or null when the catalogue does not know it.
const EventTypeSpec* FindEventType(std::string_view type);

// Ok when `data` is an object holding exactly the fields of `spec`, each following its rule.
Status ValidateData(const EventTypeSpec& spec, const ::cpts::Json& data);

// The ACI size category (taille) of a CPTS, derived from its population and never stored.
// Boundaries as the ACI states them: 1 below 40,000; 2 from 40,000 and below 80,000;
// 3 from 80,000 up to 175,000 included; 4 above 175,000.
int SizeCategory(int64_t population);

// The age band patient_registered.v2 carries instead of an age (data minimisation): "0-17",
// "18-39", "40-59", "60-69", "70-79", "80+". The 70 boundary is the access mission's priority
// group (70 and over). A negative age is treated as 0.
std::string_view AgeBand(int64_t age);

// RFC 3339 date-time with a zone: "YYYY-MM-DDTHH:MM:SS", optional ".fraction" (1 to 9 digits),
// then "Z" or "+HH:MM"/"-HH:MM". Uppercase T and Z only; seconds 00-59.
bool IsTimestamp(std::string_view s);

// "YYYY-MM-DD", a day that exists in the Gregorian calendar.
bool IsDate(std::string_view s);

}  // namespace cpts::events
