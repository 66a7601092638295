#include "events/codec.h"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <set>
#include <utility>
#include <vector>

#include "events/catalogue.h"
#include "events/json_input.h"
#include "events/upcasters.h"

namespace cpts::events {
namespace {

using nlohmann::json;

// Every top-level attribute an event may carry. Anything else is refused: CloudEvents allows
// extensions, but an unknown one here is far likelier a typo ("cptsId") than a feature, and an
// attribute we do not read would still be covered by the hash without anyone checking it.
constexpr std::string_view kAttributes[] = {
    "actor",           "causationid", "correlationid", "cptsid",        "data",
    "datacontenttype", "id",          "prevhash",      "schemaversion", "sequence",
    "source",          "specversion", "subject",       "time",          "type"};

constexpr size_t kMaxAttributeLength = 200;

Status Fail(std::string_view attribute, const std::string& what) {
  return Status::InvalidArgument("attribute " + std::string(attribute) + ": " + what);
}

bool IsHex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Status CheckText(std::string_view attribute, std::string_view value) {
  if (value.empty()) return Fail(attribute, "must not be empty");
  if (value.size() > kMaxAttributeLength) {
    return Fail(attribute, "is " + std::to_string(value.size()) + " bytes long, at most " +
                               std::to_string(kMaxAttributeLength));
  }
  return Status::Ok();
}

// "<kind>:<name>", kind in lowercase letters: "user:alice", "hospital:250000015".
bool IsActor(std::string_view s) {
  const size_t colon = s.find(':');
  if (colon == 0 || colon == std::string_view::npos || colon + 1 == s.size()) return false;
  return std::all_of(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(colon),
                     [](char c) { return c >= 'a' && c <= 'z'; });
}

// The attribute rules, data aside. Messages show no attribute value: bytes read back could hold
// anything, a NIR included.
Status CheckAttributes(const Envelope& e) {
  if (e.specversion != kSpecVersion) {
    return Fail("specversion", "must be \"1.0\" (CloudEvents 1.0)");
  }
  if (e.schemaversion != kSchemaVersion) {
    return Fail("schemaversion", std::to_string(e.schemaversion) +
                                     " is not supported by this build (it reads " +
                                     std::to_string(kSchemaVersion) + ")");
  }
  if (e.datacontenttype != kDataContentType) {
    return Fail("datacontenttype", "must be \"application/json\"");
  }
  if (!IsCptsId(e.cptsid)) {
    return Fail("cptsid", "must be 1 to 64 characters among letters, digits, '.', '_', ':', '-'");
  }
  if (e.sequence.value() == 0) return Fail("sequence", "must be 1 or more (1 is the first event)");
  if (!IsHex64(e.prevhash)) return Fail("prevhash", "must be 64 lowercase hex characters");
  if (e.sequence.value() == 1 && e.prevhash != kGenesisHash) {
    return Fail("prevhash", "must be 64 zeros for the first event of a stream (sequence 1)");
  }
  if (e.sequence.value() > 1 && e.prevhash == kGenesisHash) {
    return Fail("prevhash", "must be the previous event's hash (sequence " +
                                std::to_string(e.sequence.value()) + " is not the first)");
  }
  CPTS_RETURN_IF_ERROR(CheckText("source", e.source));
  if (std::any_of(e.source.begin(), e.source.end(),
                  [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; })) {
    return Fail("source", "is a URI-reference and holds no whitespace");
  }
  CPTS_RETURN_IF_ERROR(CheckText("type", e.type));
  if (!IsTimestamp(e.time) || e.time.back() != 'Z') {
    return Fail("time", "is not an RFC 3339 UTC time (e.g. 2026-11-22T16:05:00.123Z)");
  }
  if (e.subject) CPTS_RETURN_IF_ERROR(CheckText("subject", *e.subject));
  CPTS_RETURN_IF_ERROR(CheckText("causationid", e.causationid));
  // The id derives from the position and the cause, so it is checked once both are.
  const std::string expected_id = DeterministicEventId(e.cptsid, e.sequence, e.causationid);
  if (e.id != expected_id) {
    return Fail("id", "is not the id of " + e.cptsid + " sequence " +
                          std::to_string(e.sequence.value()) + " caused by its causationid" +
                          " (expected \"" + expected_id + "\", from DeterministicEventId)");
  }
  CPTS_RETURN_IF_ERROR(CheckText("correlationid", e.correlationid));
  CPTS_RETURN_IF_ERROR(CheckText("actor", e.actor));
  if (!IsActor(e.actor)) {
    return Fail("actor", "must read <kind>:<name>, e.g. user:alice or hospital:250000015");
  }
  return Status::Ok();
}

Status UnknownType(const std::string& type) {
  return Fail("type", QuotedName(type) + " is not in the event catalogue (docs/events.md)");
}

json ToJson(const Envelope& e) {
  json j = json::object();
  j["id"] = e.id;
  j["source"] = e.source;
  j["type"] = e.type;
  j["specversion"] = e.specversion;
  j["time"] = e.time;
  j["datacontenttype"] = e.datacontenttype;
  if (e.subject) j["subject"] = *e.subject;
  j["cptsid"] = e.cptsid;
  j["sequence"] = e.sequence.value();
  j["prevhash"] = e.prevhash;
  j["causationid"] = e.causationid;
  j["correlationid"] = e.correlationid;
  j["actor"] = e.actor;
  j["schemaversion"] = e.schemaversion;
  j["data"] = e.data;
  return j;
}

Status GetString(const json& j, std::string_view name, std::string* out) {
  const auto it = j.find(name);
  if (it == j.end()) return Fail(name, "is missing");
  if (!it->is_string()) return Fail(name, "must be a string, got " + std::string(it->type_name()));
  *out = it->get<std::string>();
  return Status::Ok();
}

Result<Envelope> FromJson(json&& j) {
  if (!j.is_object()) {
    return Status::InvalidArgument("an event is a JSON object, got " + std::string(j.type_name()));
  }
  for (const auto& [key, unused] : j.items()) {
    if (std::find(std::begin(kAttributes), std::end(kAttributes), key) == std::end(kAttributes)) {
      std::string names;
      for (const auto& name : kAttributes) names += (names.empty() ? "" : ", ") + std::string(name);
      return Status::InvalidArgument("unknown attribute " + QuotedName(key) +
                                     " (attributes are: " + names + ")");
    }
  }
  Envelope e;
  CPTS_RETURN_IF_ERROR(GetString(j, "id", &e.id));
  CPTS_RETURN_IF_ERROR(GetString(j, "source", &e.source));
  CPTS_RETURN_IF_ERROR(GetString(j, "type", &e.type));
  CPTS_RETURN_IF_ERROR(GetString(j, "specversion", &e.specversion));
  CPTS_RETURN_IF_ERROR(GetString(j, "time", &e.time));
  CPTS_RETURN_IF_ERROR(GetString(j, "datacontenttype", &e.datacontenttype));
  if (j.contains("subject")) {
    e.subject.emplace();
    CPTS_RETURN_IF_ERROR(GetString(j, "subject", &*e.subject));
  }
  CPTS_RETURN_IF_ERROR(GetString(j, "cptsid", &e.cptsid));
  CPTS_RETURN_IF_ERROR(GetString(j, "prevhash", &e.prevhash));
  CPTS_RETURN_IF_ERROR(GetString(j, "causationid", &e.causationid));
  CPTS_RETURN_IF_ERROR(GetString(j, "correlationid", &e.correlationid));
  CPTS_RETURN_IF_ERROR(GetString(j, "actor", &e.actor));

  const auto sequence = j.find("sequence");
  if (sequence == j.end()) return Fail("sequence", "is missing");
  if (!sequence->is_number_unsigned()) {
    return Fail("sequence",
                "must be an integer of 1 or more, got " +
                    (sequence->is_number_integer() ? sequence->dump()
                                                   : std::string(sequence->type_name())));
  }
  e.sequence = Sequence(sequence->get<uint64_t>());

  const auto schemaversion = j.find("schemaversion");
  if (schemaversion == j.end()) return Fail("schemaversion", "is missing");
  if (!schemaversion->is_number_integer() || *schemaversion < 1 || *schemaversion > 1'000'000) {
    return Fail("schemaversion",
                "must be a positive integer, got " +
                    (schemaversion->is_number_integer() ? schemaversion->dump()
                                                        : std::string(schemaversion->type_name())));
  }
  e.schemaversion = schemaversion->get<int>();

  const auto data = j.find("data");
  if (data == j.end()) return Fail("data", "is missing");
  e.data = std::move(*data);
  return e;
}

}  // namespace

std::string Encode(const Envelope& envelope) { return CanonicalJson(ToJson(envelope)); }

std::string EventHash(const Envelope& envelope) { return Sha256Hex(Encode(envelope)); }

Status ValidateEnvelope(const Envelope& envelope) {
  try {
    // Strict serialisation is the one check for invalid UTF-8 in any attribute; Encode would
    // silently replace it.
    (void)ToJson(envelope).dump(-1, ' ', false, json::error_handler_t::strict);
  } catch (const json::type_error&) {
    return Status::InvalidArgument("the envelope holds a string that is not valid UTF-8");
  }
  CPTS_RETURN_IF_ERROR(CheckAttributes(envelope));
  const EventTypeSpec* spec = FindEventType(envelope.type);
  if (spec == nullptr) return UnknownType(envelope.type);
  if (const Upcaster* newer = FindUpcaster(envelope.type); newer != nullptr) {
    return Fail("type", "\"" + envelope.type + "\" is superseded by " +
                            std::string(newer->to_type) + ": write the current version");
  }
  return ValidateData(*spec, envelope.data).WithContext(envelope.type);
}

Result<DecodedEvent> Decode(std::string_view bytes) {
  try {
    Result<json> parsed = ParseStrictJson(bytes, "the event");
    if (!parsed.ok()) return parsed.status();
    Result<Envelope> envelope = FromJson(std::move(*parsed));
    if (!envelope.ok()) return envelope.status();
    Envelope& e = *envelope;
    CPTS_RETURN_IF_ERROR(CheckAttributes(e));

    const EventTypeSpec* stored_spec = FindEventType(e.type);
    if (stored_spec == nullptr) return UnknownType(e.type);
    CPTS_RETURN_IF_ERROR(ValidateData(*stored_spec, e.data).WithContext(e.type));

    DecodedEvent decoded;
    decoded.stored_type = e.type;
    decoded.hash = Sha256Hex(bytes);
    if (FindUpcaster(e.type) != nullptr) {
      Result<UpcastData> upcast = UpcastToCurrent(e.type, std::move(e.data));
      if (!upcast.ok()) return upcast.status();
      e.type = std::move(upcast->type);
      e.data = std::move(upcast->data);
      const EventTypeSpec* current_spec = FindEventType(e.type);
      if (current_spec == nullptr) return UnknownType(e.type);
      CPTS_RETURN_IF_ERROR(ValidateData(*current_spec, e.data)
                               .WithContext(e.type + " (upcast from " + decoded.stored_type + ")"));
    }
    decoded.envelope = std::move(e);
    return decoded;
  } catch (const json::exception& e) {
    // The checks above guard every access; reaching here is a bug in this module.
    return Status::Internal(std::string("decoding an event: ") + e.what());
  }
}

}  // namespace cpts::events
