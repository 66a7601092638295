#include "events/codec.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "events/catalogue.h"
#include "events/json_input.h"
#include "events/upcasters.h"

namespace cpts::events {
namespace {

using json = ::cpts::Json;

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

// Lowercase hex digits, as a table: every event's prevhash goes through IsHex64, and a lookup per
// byte costs less than the two range tests, whose branches a random hash mispredicts.
constexpr auto kLowerHexDigit = [] {
  std::array<bool, 256> digit{};
  for (int c = '0'; c <= '9'; ++c) digit[c] = true;
  for (int c = 'a'; c <= 'f'; ++c) digit[c] = true;
  return digit;
}();

bool IsHex64(std::string_view s) {
  if (s.size() != 64) return false;
  bool hex = true;
  for (const char c : s) hex &= kLowerHexDigit[static_cast<unsigned char>(c)];
  return hex;
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
  const EventIdChars expected_id = DeterministicEventIdChars(e.cptsid, e.sequence, e.causationid);
  if (e.id != std::string_view(expected_id.data(), expected_id.size())) {
    return Fail("id", "is not the id of " + e.cptsid + " sequence " +
                          std::to_string(e.sequence.value()) + " caused by its causationid" +
                          " (expected \"" + std::string(expected_id.data(), expected_id.size()) +
                          "\", from DeterministicEventId)");
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

// kAttributes' positions, by name.
enum Attribute : size_t {
  kActor,
  kCausationId,
  kCorrelationId,
  kCptsId,
  kData,
  kDataContentType,
  kId,
  kPrevHash,
  kSchemaVersion,
  kSequence,
  kSource,
  kSpecVersion,
  kSubject,
  kTime,
  kType,
  kAttributeCount,
};
static_assert(std::size(kAttributes) == kAttributeCount);

// Reads a stored event's attributes straight into an Envelope as the parser meets them
// (ParseStrictJsonMembers): no intermediate object of attributes, which cost more than all the
// checks below. Finish() then applies the rules in the order, and with the messages, they had
// when the event was first parsed into a JSON object: unknown attributes first (the first in
// key order), then each attribute in a fixed order.
class AttributeReader {
 public:
  // Reads into `e`, cleared first; its strings keep their memory (DecodeInto).
  explicit AttributeReader(Envelope& e) : e_(e) {
    for (std::string* text : {&e.id, &e.source, &e.type, &e.specversion, &e.time,
                              &e.datacontenttype, &e.cptsid, &e.prevhash, &e.causationid,
                              &e.correlationid, &e.actor}) {
      text->clear();
    }
    e.subject.reset();
    e.sequence = Sequence();
    e.schemaversion = kSchemaVersion;
    // e.data needs no clearing: reading "data" replaces it (an empty object is reused), and an
    // event without it fails.
  }

  MemberSlot SlotFor(std::string_view key) {
    NoteNotText();
    // Stored events are canonical JSON, keys sorted like kAttributes: try the next one first.
    size_t i = next_;
    if (i >= kAttributeCount || kAttributes[i] != key) {
      i = static_cast<size_t>(std::find(std::begin(kAttributes), std::end(kAttributes), key) -
                              std::begin(kAttributes));
    }
    if (i == kAttributeCount) {
      if (std::find(unknown_.begin(), unknown_.end(), key) != unknown_.end()) {
        return {.repeated = true};
      }
      unknown_.emplace_back(key);
      return {};
    }
    const uint32_t bit = uint32_t{1} << i;
    if ((seen_ & bit) != 0) return {.repeated = true};
    seen_ |= bit;
    next_ = i + 1;
    switch (i) {
      case kData:
        return {.value = &e_.data};
      case kSchemaVersion:
        return {.value = &schemaversion_};
      case kSequence:
        return {.value = &sequence_};
      default:
        last_text_ = static_cast<Attribute>(i);
        return {.text = Text(static_cast<Attribute>(i)), .value = &not_text_};
    }
  }

  Status Finish() {
    NoteNotText();
    if (!unknown_.empty()) {
      std::string names;
      for (const auto& name : kAttributes) names += (names.empty() ? "" : ", ") + std::string(name);
      // The first in key order, as when the attributes were a std::map.
      const std::string& first = *std::min_element(unknown_.begin(), unknown_.end());
      return Status::InvalidArgument("unknown attribute " + QuotedName(first) +
                                     " (attributes are: " + names + ")");
    }
    for (const Attribute a : {kId, kSource, kType, kSpecVersion, kTime, kDataContentType, kSubject,
                              kCptsId, kPrevHash, kCausationId, kCorrelationId, kActor}) {
      if (a == kSubject && !Seen(kSubject)) continue;  // optional
      CPTS_RETURN_IF_ERROR(CheckString(a));
    }
    if (Seen(kSubject)) e_.subject = std::move(subject_);

    if (!Seen(kSequence)) return Fail("sequence", "is missing");
    const json& sequence = sequence_;
    if (!sequence.is_number_unsigned()) {
      return Fail("sequence",
                  "must be an integer of 1 or more, got " +
                      (sequence.is_number_integer() ? sequence.dump()
                                                    : std::string(sequence.type_name())));
    }
    e_.sequence = Sequence(sequence.get<uint64_t>());

    if (!Seen(kSchemaVersion)) return Fail("schemaversion", "is missing");
    const json& schemaversion = schemaversion_;
    if (!schemaversion.is_number_integer() || schemaversion < 1 || schemaversion > 1'000'000) {
      return Fail("schemaversion",
                  "must be a positive integer, got " +
                      (schemaversion.is_number_integer() ? schemaversion.dump()
                                                         : std::string(schemaversion.type_name())));
    }
    e_.schemaversion = schemaversion.get<int>();

    if (!Seen(kData)) return Fail("data", "is missing");
    return Status::Ok();
  }

 private:
  bool Seen(Attribute a) const { return (seen_ & (uint32_t{1} << a)) != 0; }

  // A string attribute's value lands in the envelope; anything else in not_text_, whose type is
  // kept here, once the value is read, for the message. One scratch value rather than a json
  // per attribute: building and destroying fifteen of them showed in every Decode.
  void NoteNotText() {
    if (not_text_.is_discarded()) return;
    not_text_type_[last_text_] = not_text_.type_name();
    not_text_ = ::cpts::Json::value_t::discarded;
  }

  Status CheckString(Attribute a) const {
    if (!Seen(a)) return Fail(kAttributes[a], "is missing");
    if (not_text_type_[a] != nullptr) {
      return Fail(kAttributes[a], "must be a string, got " + std::string(not_text_type_[a]));
    }
    return Status::Ok();
  }

  std::string* Text(Attribute a) {
    switch (a) {
      case kActor:
        return &e_.actor;
      case kCausationId:
        return &e_.causationid;
      case kCorrelationId:
        return &e_.correlationid;
      case kCptsId:
        return &e_.cptsid;
      case kDataContentType:
        return &e_.datacontenttype;
      case kId:
        return &e_.id;
      case kPrevHash:
        return &e_.prevhash;
      case kSource:
        return &e_.source;
      case kSpecVersion:
        return &e_.specversion;
      case kSubject:
        return &subject_;
      case kTime:
        return &e_.time;
      case kType:
        return &e_.type;
      default:
        return nullptr;  // not a string attribute
    }
  }

  Envelope& e_;
  std::string subject_;
  ::cpts::Json sequence_;
  ::cpts::Json schemaversion_;
  // Discarded while only strings came.
  ::cpts::Json not_text_ = ::cpts::Json::value_t::discarded;
  // The string attribute not_text_ was last given to.
  Attribute last_text_ = kId;
  // Per attribute, set when its value was not a string: that value's type name.
  std::array<const char*, kAttributeCount> not_text_type_{};
  uint32_t seen_ = 0;  // a bit per Attribute
  size_t next_ = 0;    // where the next key is in canonical order
  std::vector<std::string> unknown_;
};

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
  DecodedEvent event;
  CPTS_RETURN_IF_ERROR(DecodeInto(bytes, event));
  return event;
}

Status DecodeInto(std::string_view bytes, DecodedEvent& event) {
  try {
    AttributeReader reader(event.envelope);
    Result<std::optional<json>> parsed = ParseStrictJsonMembers(
        bytes, "the event", [&reader](std::string_view key) { return reader.SlotFor(key); });
    if (!parsed.ok()) return parsed.status();
    if (parsed->has_value()) {
      return Status::InvalidArgument("an event is a JSON object, got " +
                                     std::string((*parsed)->type_name()));
    }
    CPTS_RETURN_IF_ERROR(reader.Finish());
    Envelope& e = event.envelope;
    CPTS_RETURN_IF_ERROR(CheckAttributes(e));

    const EventTypeSpec* stored_spec = FindEventType(e.type);
    if (stored_spec == nullptr) return UnknownType(e.type);
    CPTS_RETURN_IF_ERROR(ValidateData(*stored_spec, e.data).WithContext(e.type));

    event.stored_type.assign(e.type);
    if (FindUpcaster(e.type) != nullptr) {
      Result<UpcastData> upcast = UpcastToCurrent(e.type, std::move(e.data));
      if (!upcast.ok()) return upcast.status();
      e.type = std::move(upcast->type);
      e.data = std::move(upcast->data);
      const EventTypeSpec* current_spec = FindEventType(e.type);
      if (current_spec == nullptr) return UnknownType(e.type);
      CPTS_RETURN_IF_ERROR(ValidateData(*current_spec, e.data)
                               .WithContext(e.type + " (upcast from " + event.stored_type + ")"));
    }
    AssignSha256Hex(bytes, event.hash);
    return Status::Ok();
  } catch (const json::exception& e) {
    // The checks above guard every access; reaching here is a bug in this module.
    return Status::Internal(std::string("decoding an event: ") + e.what());
  }
}

}  // namespace cpts::events
