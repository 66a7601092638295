#include "events/catalogue.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <set>
#include <string>

#include "events/identifiers.h"

namespace cpts::events {
namespace {

using json = ::cpts::Json;
using Values = std::vector<std::string_view>;

// ---------------------------------------------------------------------------------------------
// Messages. Values are quoted back to help the reader fix them, except what could identify a
// patient: a NIR is 15 characters of digits (2A/2B for Corsica), often written with spaces, so
// a value holding 13 such characters in a row, spaces aside, is never shown.

bool MightBeNir(std::string_view s) {
  size_t run = 0;
  for (char c : s) {
    if (c == ' ') continue;
    const bool nir_char = (c >= '0' && c <= '9') || c == 'A' || c == 'B' || c == 'a' || c == 'b';
    run = nir_char ? run + 1 : 0;
    if (run >= 13) return true;
  }
  return false;
}

// Code points in `s`, or nullopt when `s` is not valid UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF).
std::optional<size_t> CountCodePoints(std::string_view s) {
  size_t count = 0;
  for (size_t i = 0; i < s.size(); ++count) {
    // Most text is ASCII, one code point per byte: eight bytes at a time while it lasts.
    if (s.size() - i >= 8) {
      uint64_t chunk;
      std::memcpy(&chunk, s.data() + i, sizeof chunk);
      if ((chunk & 0x8080808080808080) == 0) {
        i += 8;
        count += 7;  // the loop counts the eighth
        continue;
      }
    }
    const auto c = static_cast<unsigned char>(s[i]);
    size_t length = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      length = 1;
      cp = c;
    } else if ((c & 0xe0) == 0xc0) {
      length = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      length = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      length = 4;
      cp = c & 0x07;
    } else {
      return std::nullopt;
    }
    if (i + length > s.size()) return std::nullopt;
    for (size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(s[i + k]);
      if ((next & 0xc0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (next & 0x3f);
    }
    static constexpr uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kSmallest[length] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return std::nullopt;
    }
    i += length;
  }
  return count;
}

// `value` quoted for a message, or a note saying why it is not shown.
std::string Shown(std::string_view value) {
  if (MightBeNir(value)) return "(value not shown: it could be a NIR)";
  if (!CountCodePoints(value)) return "(value not shown: not valid UTF-8)";
  constexpr size_t kMaxShown = 60;
  if (value.size() <= kMaxShown) return "\"" + std::string(value) + "\"";
  size_t cut = kMaxShown;
  while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xc0) == 0x80) --cut;
  return "\"" + std::string(value.substr(0, cut)) + "...\"";
}

Status Fail(const std::string& path, const std::string& what) {
  return Status::InvalidArgument(path + ": " + what);
}

// Where a value sits in the data ("data.sites[1].commune"), spelled out only when a message
// needs it: validating a valid event, which every replay does for every event, builds no string.
// A Path refers to its parent, so it lives no longer than the call that made it.
class Path {
 public:
  explicit Path(std::string_view root) : name_(root) {}
  Path(const Path& parent, std::string_view field) : parent_(&parent), name_(field) {}
  Path(const Path& parent, size_t index) : parent_(&parent), index_(index), is_index_(true) {}

  bool is_root() const { return parent_ == nullptr; }

  std::string str() const {
    if (parent_ == nullptr) return std::string(name_);
    if (is_index_) return parent_->str() + "[" + std::to_string(index_) + "]";
    return parent_->str() + "." + std::string(name_);
  }

 private:
  const Path* parent_ = nullptr;
  std::string_view name_;  // the root, or a field name
  size_t index_ = 0;       // an item of a list, when is_index_
  bool is_index_ = false;
};

Status Fail(const Path& path, const std::string& what) { return Fail(path.str(), what); }

// An identifier check's result at `path`. The checks quote the value they were given; that
// quote is replaced when the value must not be shown.
Status IdFailure(const Path& path, const Status& status, std::string_view value) {
  if (status.ok()) return status;
  std::string message = status.message();
  const std::string quoted = "\"" + std::string(value) + "\"";
  const std::string shown = Shown(value);
  if (shown != quoted) {
    for (size_t at = message.find(quoted); at != std::string::npos;
         at = message.find(quoted, at + shown.size())) {
      message.replace(at, quoted.size(), shown);
    }
  }
  return Fail(path, message);
}

std::string JsonTypeName(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "an integer";
    case json::value_t::number_float:
      return "a number with a fraction";
    case json::value_t::binary:
      return "binary";
    case json::value_t::discarded:
      return "nothing";
  }
  return "an unknown JSON type";
}

Status WrongType(const Path& path, std::string_view expected, const json& v) {
  std::string message = "expected " + std::string(expected) + ", got " + JsonTypeName(v);
  if (v.is_null() && !path.is_root()) message += " (leave an optional field out rather than null)";
  return Fail(path, message);
}

std::string Joined(const Values& values) {
  std::string out;
  for (const auto& v : values) {
    if (!out.empty()) out += ", ";
    out += v;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Rules.

bool IsDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The number the `n` characters of `s` from `at` write, or -1 when one is not a digit. The
// caller has checked s holds them: IsTimestamp runs on every event, and substr's own bounds
// check, never needed here, cost more than the digits.
int DigitsAt(std::string_view s, size_t at, size_t n) {
  int value = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return -1;
    value = value * 10 + (s[i] - '0');
  }
  return value;
}

// SIREN (company register, for structures without a FINESS such as local authorities and
// associations): 9 digits with a Luhn check digit. Kept here until identifiers.h needs it.
Status CheckSiren(std::string_view siren) {
  if (siren.size() != 9 || !IsDigits(siren)) {
    return Status::InvalidArgument("\"" + std::string(siren) +
                                   "\" is not a SIREN number (9 digits)");
  }
  if (!ids::LuhnValid(siren)) {
    return Status::InvalidArgument("\"" + std::string(siren) +
                                   "\" is not a valid SIREN number (Luhn check digit)");
  }
  return Status::Ok();
}

// Each byte's value as a base64 character, -1 for a byte that is not one. A table: an identity
// block's ciphertext is most of the characters an event's checks look at.
constexpr auto kBase64Value = [] {
  std::array<int8_t, 256> value{};
  for (int c = 0; c < 256; ++c) {
    // libsodium 1.0.18, which this check replaced, reads every byte from 0x80 up as '/' (its
    // constant-time lookup takes a signed char). Stored events were accepted that way, so they
    // still are; catalogue_test.cc compares the two over every byte.
    if (c >= 0x80) {
      value[c] = 63;
    } else if (c >= 'A' && c <= 'Z') {
      value[c] = static_cast<int8_t>(c - 'A');
    } else if (c >= 'a' && c <= 'z') {
      value[c] = static_cast<int8_t>(c - 'a' + 26);
    } else if (c >= '0' && c <= '9') {
      value[c] = static_cast<int8_t>(c - '0' + 52);
    } else {
      value[c] = c == '+' ? 62 : c == '/' ? 63 : -1;
    }
  }
  return value;
}();

// The number of bytes standard base64 (with padding) `text` decodes to, or nullopt: exactly what
// sodium_base642bin(..., ignore=nullptr, ..., sodium_base64_VARIANT_ORIGINAL) accepts when it
// must read all of `text`, without decoding (which cost more than the rest of an identity
// block's checks): a run of alphabet characters, the unused bits of the last one zero
// (canonical), then the '=' padding the run's length calls for, and nothing else.
std::optional<size_t> Base64Size(std::string_view text) {
  const auto value = [](char c) -> int { return kBase64Value[static_cast<unsigned char>(c)]; };
  size_t run = 0;
  while (run < text.size() && value(text[run]) >= 0) ++run;
  // Characters of the last quantum: 0 (complete), 2 (one byte, 4 spare bits, "=="), 3 (two
  // bytes, 2 spare bits, "="); 1 cannot be.
  size_t padding = 0;
  switch (run % 4) {
    case 1:
      return std::nullopt;
    case 2:
      if ((value(text[run - 1]) & 0x0f) != 0) return std::nullopt;
      padding = 2;
      break;
    case 3:
      if ((value(text[run - 1]) & 0x03) != 0) return std::nullopt;
      padding = 1;
      break;
    default:
      break;
  }
  if (text.size() != run + padding) return std::nullopt;
  for (size_t i = run; i < text.size(); ++i) {
    if (text[i] != '=') return std::nullopt;
  }
  return run * 6 / 8;
}

Status CheckField(const FieldSpec& spec, const json& v, const Path& path);

Status UnknownField(const std::vector<FieldSpec>& fields, const std::string& key,
                    const Path& path) {
  Values names;
  for (const auto& f : fields) names.push_back(f.name);
  const std::string shown = Shown(key);
  const std::string name = shown.front() == '"' ? key : shown;
  return Fail(path.str() + "." + name, "unknown field (known fields: " + Joined(names) + ")");
}

Status CheckObject(const std::vector<FieldSpec>& fields, const json& v, const Path& path) {
  if (!v.is_object()) return WrongType(path, "an object", v);
  // One pass over the keys (in key order, so the first unknown one is the one reported) pairs
  // each with its declaration; the declared fields are then checked in declaration order.
  constexpr size_t kInlineFields = 32;  // more than any type declares; beyond, on the heap
  std::array<const json*, kInlineFields> inline_values{};
  std::vector<const json*> heap_values;
  const json** values = inline_values.data();
  if (fields.size() > kInlineFields) {
    heap_values.assign(fields.size(), nullptr);
    values = heap_values.data();
  }
  for (const auto& [key, value] : v.get_ref<const json::object_t&>()) {
    // Sizes and first letters tell most names apart without a call to memcmp.
    const auto is_key = [&key](std::string_view name) {
      return name.size() == key.size() && (name.empty() || (name[0] == key[0] && name == key));
    };
    size_t i = 0;
    while (i < fields.size() && !is_key(fields[i].name)) ++i;
    if (i == fields.size()) return UnknownField(fields, key, path);
    values[i] = &value;
  }
  for (size_t i = 0; i < fields.size(); ++i) {
    const FieldSpec& field = fields[i];
    const Path field_path(path, field.name);
    if (values[i] == nullptr) {
      if (field.required) return Fail(field_path, "required field is missing");
      continue;
    }
    CPTS_RETURN_IF_ERROR(CheckField(field, *values[i], field_path));
  }
  return Status::Ok();
}

Status CheckString(const json& v, size_t max_length, const Path& path) {
  if (!v.is_string()) return WrongType(path, "a string", v);
  const auto& s = v.get_ref<const std::string&>();
  if (s.empty()) return Fail(path, "must not be empty");
  const auto length = CountCodePoints(s);
  if (!length) return Fail(path, "is not valid UTF-8");
  if (*length > max_length) {
    return Fail(path, "is " + std::to_string(*length) + " characters long, at most " +
                          std::to_string(max_length));
  }
  return Status::Ok();
}

Status CheckEnum(const json& v, const Values& values, const Path& path) {
  if (!v.is_string()) return WrongType(path, "a string", v);
  const auto& s = v.get_ref<const std::string&>();
  if (std::find(values.begin(), values.end(), s) == values.end()) {
    return Fail(path, Shown(s) + " is not one of " + Joined(values));
  }
  return Status::Ok();
}

Status CheckMemberId(const json& v, bool professional_only, const Path& path) {
  if (!v.is_string()) return WrongType(path, "a string", v);
  const auto& s = v.get_ref<const std::string&>();
  const size_t colon = s.find(':');
  const std::string_view scheme =
      colon == std::string::npos ? "" : std::string_view(s).substr(0, colon);
  const std::string_view number =
      colon == std::string::npos ? "" : std::string_view(s).substr(colon + 1);
  if (scheme == "rpps") return IdFailure(path, ids::CheckRpps(number), number);
  if (scheme == "adeli") return IdFailure(path, ids::CheckAdeli(number), number);
  if (!professional_only) {
    if (scheme == "finess") return IdFailure(path, ids::CheckFiness(number), number);
    if (scheme == "siren") return IdFailure(path, CheckSiren(number), number);
    return Fail(path, Shown(s) +
                          " is not a member id (rpps:<11 digits>, adeli:<9 digits>, "
                          "finess:<9 characters> or siren:<9 digits>)");
  }
  return Fail(path, Shown(s) + " is not a professional id (rpps:<11 digits> or adeli:<9 digits>)");
}

Status CheckPseudonym(const json& v, const Path& path) {
  if (!v.is_string()) return WrongType(path, "a string", v);
  const auto& s = v.get_ref<const std::string&>();
  const bool ok = s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
                    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                  });
  if (ok) return Status::Ok();
  // A pseudonym is never shown, valid or not: it still points at one patient.
  std::string message =
      "is not a patient pseudonym (64 lowercase hex characters: the HMAC-SHA256 of the INS); "
      "the value is not shown";
  if (ids::CheckNir(s).ok()) message += "; it is a NIR: events carry the pseudonym, never the NIR";
  return Fail(path, message);
}

const std::vector<FieldSpec>& IdentityFields() {
  static const auto* const kFields = new std::vector<FieldSpec>{
      {.name = "alg", .kind = FieldKind::kEnum, .values = {"xchacha20poly1305-ietf"}},
      {.name = "key_id", .kind = FieldKind::kString},
      // 24 bytes in base64 are 32 characters; the ciphertext bound only stops absurd sizes.
      {.name = "nonce", .kind = FieldKind::kString, .max_length = 32},
      {.name = "ciphertext", .kind = FieldKind::kString, .max_length = 8192},
  };
  return *kFields;
}

Status CheckIdentity(const json& v, const Path& path) {
  CPTS_RETURN_IF_ERROR(CheckObject(IdentityFields(), v, path));
  if (Base64Size(v.at("nonce").get_ref<const std::string&>()) !=
      std::optional<size_t>(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)) {
    return Fail(Path(path, "nonce"), "is not the base64 of 24 bytes (an XChaCha20 nonce)");
  }
  const auto size = Base64Size(v.at("ciphertext").get_ref<const std::string&>());
  if (!size || *size < crypto_aead_xchacha20poly1305_ietf_ABYTES) {
    return Fail(Path(path, "ciphertext"),
                "is not the base64 of an AEAD ciphertext (at least its 16-byte tag)");
  }
  return Status::Ok();
}

// An array of items each checked by `check_item`, with no two equal items.
template <typename CheckItem>
Status CheckList(const FieldSpec& spec, const json& v, const Path& path, CheckItem check_item) {
  if (!v.is_array()) return WrongType(path, "an array", v);
  if (v.size() < spec.min_items) {
    return Fail(path, spec.min_items == 1
                          ? std::string("must not be empty")
                          : "must have at least " + std::to_string(spec.min_items) + " items");
  }
  for (size_t i = 0; i < v.size(); ++i) {
    const Path item_path(path, i);
    CPTS_RETURN_IF_ERROR(check_item(v[i], item_path));
    for (size_t j = 0; j < i; ++j) {
      if (v[j] == v[i]) {
        const std::string shown =
            v[i].is_string() ? Shown(v[i].get_ref<const std::string&>()) : v[i].dump();
        return Fail(item_path, shown + " is repeated (item " + std::to_string(j) + ")");
      }
    }
  }
  return Status::Ok();
}

Status CheckObjectList(const FieldSpec& spec, const json& v, const Path& path) {
  if (!v.is_array()) return WrongType(path, "an array", v);
  if (v.size() < spec.min_items) return Fail(path, "must not be empty");
  std::set<std::string> keys;
  for (size_t i = 0; i < v.size(); ++i) {
    const Path item_path(path, i);
    CPTS_RETURN_IF_ERROR(CheckObject(spec.fields, v[i], item_path));
    if (spec.unique_key.empty()) continue;
    const auto key = v[i].find(spec.unique_key);
    if (key == v[i].end()) continue;
    if (!keys.insert(key->dump()).second) {
      return Fail(Path(item_path, spec.unique_key),
                  (key->is_string() ? Shown(key->get_ref<const std::string&>()) : key->dump()) +
                      " is repeated (" + std::string(spec.unique_key) + " must be unique)");
    }
  }
  return Status::Ok();
}

Status CheckField(const FieldSpec& spec, const json& v, const Path& path) {
  const auto identifier = [&](Status (*check)(std::string_view)) -> Status {
    if (!v.is_string()) return WrongType(path, "a string", v);
    const auto& s = v.get_ref<const std::string&>();
    return IdFailure(path, check(s), s);
  };
  const auto string_item = [&](const json& item, const Path& item_path) {
    return CheckString(item, spec.max_length, item_path);
  };
  const auto enum_item = [&](const json& item, const Path& item_path) {
    return CheckEnum(item, spec.values, item_path);
  };
  const auto commune_item = [](const json& item, const Path& item_path) {
    if (!item.is_string()) return WrongType(item_path, "a string", item);
    const auto& s = item.get_ref<const std::string&>();
    return IdFailure(item_path, ids::CheckInseeCommune(s), s);
  };

  switch (spec.kind) {
    case FieldKind::kString:
      return CheckString(v, spec.max_length, path);
    case FieldKind::kInteger: {
      if (!v.is_number_integer()) return WrongType(path, "an integer", v);
      if (v.is_number_unsigned() &&
          v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return Fail(path, v.dump() + " is above the maximum " + std::to_string(spec.max));
      }
      const auto n = v.get<int64_t>();
      if (n < spec.min) {
        return Fail(path, std::to_string(n) + " is below the minimum " + std::to_string(spec.min));
      }
      if (n > spec.max) {
        return Fail(path, std::to_string(n) + " is above the maximum " + std::to_string(spec.max));
      }
      return Status::Ok();
    }
    case FieldKind::kBoolean:
      return v.is_boolean() ? Status::Ok() : WrongType(path, "a boolean (true or false)", v);
    case FieldKind::kTimestamp:
      if (!v.is_string()) return WrongType(path, "a string", v);
      if (IsTimestamp(v.get_ref<const std::string&>())) return Status::Ok();
      return Fail(path, Shown(v.get_ref<const std::string&>()) +
                            " is not an RFC 3339 timestamp with a zone (e.g. "
                            "2026-11-22T16:05:00+01:00 or 2026-11-22T15:05:00Z)");
    case FieldKind::kDate:
      if (!v.is_string()) return WrongType(path, "a string", v);
      if (IsDate(v.get_ref<const std::string&>())) return Status::Ok();
      return Fail(path, Shown(v.get_ref<const std::string&>()) +
                            " is not a calendar date (YYYY-MM-DD, e.g. 2026-11-22)");
    case FieldKind::kEnum:
      return CheckEnum(v, spec.values, path);
    case FieldKind::kEnumList:
      return CheckList(spec, v, path, enum_item);
    case FieldKind::kStringList:
      return CheckList(spec, v, path, string_item);
    case FieldKind::kRpps:
      return identifier(&ids::CheckRpps);
    case FieldKind::kAdeli:
      return identifier(&ids::CheckAdeli);
    case FieldKind::kFiness:
      return identifier(&ids::CheckFiness);
    case FieldKind::kInseeCommune:
      return commune_item(v, path);
    case FieldKind::kInseeCommuneList:
      return CheckList(spec, v, path, commune_item);
    case FieldKind::kMemberId:
      return CheckMemberId(v, /*professional_only=*/false, path);
    case FieldKind::kProfessionalId:
      return CheckMemberId(v, /*professional_only=*/true, path);
    case FieldKind::kPatientPseudonym:
      return CheckPseudonym(v, path);
    case FieldKind::kEncryptedIdentity:
      return CheckIdentity(v, path);
    case FieldKind::kObjectList:
      return CheckObjectList(spec, v, path);
  }
  return Status::Internal(path.str() + ": field kind not handled");
}

// ---------------------------------------------------------------------------------------------
// Cross-field rules. Each field already passed its own rule when these run.

std::string Str(const json& data, std::string_view name) {
  return data.at(name).get<std::string>();
}

Status CheckDateOrder(const json& data, std::string_view first, std::string_view last,
                      bool allow_same_day) {
  const std::string from = Str(data, first);
  const std::string to = Str(data, last);
  // ISO dates compare as strings.
  if (to < from || (!allow_same_day && to == from)) {
    return Fail("data." + std::string(last), "\"" + to + "\" must be " +
                                                 (allow_same_day ? "on or after " : "after ") +
                                                 std::string(first) + " \"" + from + "\"");
  }
  return Status::Ok();
}

Status CheckAciSigned(const json& data) {
  return CheckDateOrder(data, "starts_on", "ends_on", /*allow_same_day=*/false);
}

Status CheckCampaignLaunched(const json& data) {
  return CheckDateOrder(data, "starts_on", "ends_on", /*allow_same_day=*/true);
}

Status CheckMemberJoined(const json& data) {
  const std::string kind = Str(data, "member_kind");
  const std::string id = Str(data, "member_id");
  const std::string scheme = id.substr(0, id.find(':'));
  const auto needs = [&](std::string_view field) -> Status {
    if (data.contains(field)) return Status::Ok();
    return Fail("data." + std::string(field), "required when member_kind is " + kind);
  };
  const auto forbids = [&](std::string_view field) -> Status {
    if (!data.contains(field)) return Status::Ok();
    return Fail("data." + std::string(field), "not allowed when member_kind is " + kind);
  };
  if (kind == "professional") {
    CPTS_RETURN_IF_ERROR(needs("profession"));
    CPTS_RETURN_IF_ERROR(needs("practice_mode"));
    CPTS_RETURN_IF_ERROR(forbids("structure_kind"));
    if (scheme != "rpps" && scheme != "adeli") {
      return Fail("data.member_id",
                  "a professional is identified by rpps:<11 digits> or adeli:<9 digits>");
    }
    return Status::Ok();
  }
  CPTS_RETURN_IF_ERROR(needs("structure_kind"));
  CPTS_RETURN_IF_ERROR(forbids("profession"));
  CPTS_RETURN_IF_ERROR(forbids("practice_mode"));
  // Health and social establishments all have a FINESS number; a local authority, a patient
  // association or a DAC run by an association may not, and is known by its SIREN instead.
  const std::string structure_kind = Str(data, "structure_kind");
  const bool may_use_siren = structure_kind == "dac" || structure_kind == "local_authority" ||
                             structure_kind == "patient_association";
  if (scheme == "finess" || (scheme == "siren" && may_use_siren)) return Status::Ok();
  return Fail("data.member_id", may_use_siren
                                    ? "a " + structure_kind +
                                          " is identified by finess:<9 characters> or "
                                          "siren:<9 digits>"
                                    : "a " + structure_kind +
                                          " is identified by its FINESS number (finess:<9 "
                                          "characters>)");
}

Status CheckMemberUpdated(const json& data) {
  if (data.size() > 1) return Status::Ok();  // member_id and at least one change
  return Fail("data",
              "names no change: give at least one of practice_mode, commune, college, "
              "display_name");
}

Status CheckDischargeNotified(const json& data) {
  const std::string destination = Str(data, "destination");
  const bool to_structure =
      destination == "ehpad" || destination == "transfer" || destination == "other_structure";
  if (data.contains("destination_finess") && !to_structure) {
    return Fail("data.destination_finess",
                "only when destination is ehpad, transfer or other_structure (destination is " +
                    destination + ")");
  }
  if (destination == "death" && !data.at("needs").empty()) {
    return Fail("data.needs", "must be empty when destination is death");
  }
  return Status::Ok();
}

// The encrypted identity belongs to the patient the event names: without one, it has no owner.
Status CheckIdentityOwner(const json& data, std::string_view patient_field) {
  if (data.contains("identity") && !data.contains(patient_field)) {
    return Fail("data.identity", "only when " + std::string(patient_field) + " is given");
  }
  return Status::Ok();
}

Status CheckRequestReceived(const json& data) { return CheckIdentityOwner(data, "patient"); }
Status CheckParticipationRecorded(const json& data) {
  return CheckIdentityOwner(data, "participant");
}

// ---------------------------------------------------------------------------------------------
// The catalogue. docs/events.md explains each type and field.

std::vector<EventTypeSpec> BuildCatalogue() {
  using K = FieldKind;
  const Values regions = {"01", "02", "03", "04", "06", "11", "24", "27", "28",
                          "32", "44", "52", "53", "75", "76", "84", "93", "94"};
  const Values professions = {
      "general_practitioner", "pharmacist",    "nurse",      "physiotherapist",
      "speech_therapist",     "paediatrician", "midwife",    "podiatrist",
      "psychologist",         "dentist",       "specialist", "other"};
  const Values practice_modes = {"alone", "group", "maison_de_sante", "centre_de_sante"};
  const Values structure_kinds = {
      "hospital", "clinic", "ehpad",     "ssiad",           "laboratory",
      "pharmacy", "dac",    "home_care", "local_authority", "patient_association"};
  const Values needs = {"home_nursing", "physiotherapy", "pharmacy", "gp_visit", "oncology_nurse"};
  const Values age_bands = {"0-17", "18-39", "40-59", "60-69", "70-79", "80+"};
  const Values themes = {"tobacco",           "vaccination",     "breast_cancer",
                         "colorectal_cancer", "cervical_cancer", "heart_failure",
                         "obesity",           "vision",          "other"};

  const FieldSpec identity = {.name = "identity", .kind = K::kEncryptedIdentity, .required = false};
  const FieldSpec patient = {.name = "patient", .kind = K::kPatientPseudonym};
  const FieldSpec commune = {.name = "commune", .kind = K::kInseeCommune};
  const FieldSpec gp = {.name = "gp", .kind = K::kProfessionalId};
  const FieldSpec professional = {.name = "professional", .kind = K::kProfessionalId};
  const auto id = [](std::string_view name) {
    return FieldSpec{.name = name, .kind = K::kString, .max_length = 100};
  };
  const auto timestamp = [](std::string_view name) {
    return FieldSpec{.name = name, .kind = K::kTimestamp};
  };
  const auto date = [](std::string_view name) { return FieldSpec{.name = name, .kind = K::kDate}; };
  const auto note = [](std::string_view name) {
    return FieldSpec{.name = name, .kind = K::kString, .required = false, .max_length = 1000};
  };

  // patient_registered: v1 carried the exact age, v2 an age band (events/upcasters.cc).
  const FieldSpec ald = {.name = "ald", .kind = K::kBoolean};
  const FieldSpec c2s = {.name = "c2s", .kind = K::kBoolean};

  return {
      // --- The CPTS itself.
      {.type = "fr.cpts.cpts.registered.v1",
       .description = "A CPTS was registered: its name, territory, population and region.",
       .fields = {{.name = "name", .kind = K::kString},
                  {.name = "territory", .kind = K::kInseeCommuneList},
                  {.name = "population", .kind = K::kInteger, .min = 1, .max = 70'000'000},
                  {.name = "region", .kind = K::kEnum, .values = regions}}},
      {.type = "fr.cpts.cpts.aci_signed.v1",
       .description = "The CPTS signed its ACI contract with the CPAM and the ARS.",
       .fields = {date("signed_on"),
                  date("starts_on"),
                  date("ends_on"),
                  {.name = "cpam_signatory", .kind = K::kString},
                  {.name = "ars_signatory", .kind = K::kString}},
       .cross_check = &CheckAciSigned},

      // --- Membership.
      {.type = "fr.cpts.membership.member_joined.v1",
       .description = "A professional or a structure joined the CPTS.",
       .fields =
           {{.name = "member_id", .kind = K::kMemberId},
            {.name = "member_kind", .kind = K::kEnum, .values = {"professional", "structure"}},
            {.name = "profession", .kind = K::kEnum, .required = false, .values = professions},
            {.name = "practice_mode",
             .kind = K::kEnum,
             .required = false,
             .values = practice_modes},
            {.name = "structure_kind",
             .kind = K::kEnum,
             .required = false,
             .values = structure_kinds},
            commune,
            {.name = "college", .kind = K::kString, .required = false, .max_length = 100},
            {.name = "display_name", .kind = K::kString}},
       .cross_check = &CheckMemberJoined},
      {.type = "fr.cpts.membership.member_left.v1",
       .description = "A member left the CPTS.",
       .fields = {{.name = "member_id", .kind = K::kMemberId}, note("reason")}},
      {.type = "fr.cpts.membership.member_updated.v1",
       .description = "A member's details changed; only the changed fields are given.",
       .fields = {{.name = "member_id", .kind = K::kMemberId},
                  {.name = "practice_mode",
                   .kind = K::kEnum,
                   .required = false,
                   .values = practice_modes},
                  {.name = "commune", .kind = K::kInseeCommune, .required = false},
                  {.name = "college", .kind = K::kString, .required = false, .max_length = 100},
                  {.name = "display_name", .kind = K::kString, .required = false}},
       .cross_check = &CheckMemberUpdated},

      // --- Access to a médecin traitant.
      {.type = "fr.cpts.access.gp_capacity_declared.v1",
       .description = "A GP declared how many new patients they can take.",
       .fields = {gp,
                  {.name = "new_patients_capacity", .kind = K::kInteger, .min = 0, .max = 10'000}}},
      {.type = "fr.cpts.access.patient_registered.v1",
       .description = "A patient without a médecin traitant was registered (superseded by v2: "
                      "carried the exact age).",
       .fields = {patient,
                  {.name = "age", .kind = K::kInteger, .min = 0, .max = 130},
                  ald,
                  c2s,
                  commune,
                  timestamp("registered_at"),
                  identity}},
      {.type = "fr.cpts.access.patient_registered.v2",
       .description = "A patient without a médecin traitant was registered.",
       .fields = {patient,
                  {.name = "age_band", .kind = K::kEnum, .values = age_bands},
                  ald,
                  c2s,
                  commune,
                  timestamp("registered_at"),
                  identity}},
      {.type = "fr.cpts.access.referral_issued.v1",
       .description = "The coordinator referred a patient to a GP.",
       .fields = {id("referral_id"), patient, gp, identity}},
      {.type = "fr.cpts.access.referral_accepted.v1",
       .description = "The GP accepted the referred patient.",
       .fields = {id("referral_id"), patient, gp, identity}},
      {.type = "fr.cpts.access.referral_declined.v1",
       .description = "The GP declined the referred patient.",
       .fields = {id("referral_id"),
                  patient,
                  gp,
                  {.name = "reason",
                   .kind = K::kEnum,
                   .values = {"no_capacity", "out_of_area", "patient_refused", "other"}},
                  note("note"),
                  identity}},
      {.type = "fr.cpts.access.gp_assigned.v1",
       .description = "The patient has a médecin traitant: the request is fulfilled.",
       .fields = {patient,
                  gp,
                  {.name = "referral_id", .kind = K::kString, .required = false, .max_length = 100},
                  identity}},
      {.type = "fr.cpts.access.request_withdrawn.v1",
       .description = "The patient's request for a médecin traitant ended without an assignment.",
       .fields = {patient,
                  {.name = "reason",
                   .kind = K::kEnum,
                   .values = {"found_gp_elsewhere", "moved_out_of_area", "patient_request",
                              "deceased", "other"}},
                  note("note"),
                  identity}},

      // --- Ville-hôpital.
      {.type = "fr.cpts.stay.admission_notified.v1",
       .description = "A hospital notified a patient's admission (HL7 A01).",
       .fields = {{.name = "finess", .kind = K::kFiness},
                  id("movement_id"),
                  id("visit_id"),
                  patient,
                  {.name = "unit", .kind = K::kString, .required = false, .max_length = 100},
                  timestamp("admitted_at"),
                  commune,
                  identity}},
      {.type = "fr.cpts.discharge.notified.v1",
       .description = "A hospital notified a patient's discharge (HL7 A03) and the city care "
                      "it calls for.",
       .fields =
           {id("discharge_id"),
            {.name = "finess", .kind = K::kFiness},
            id("movement_id"),
            id("visit_id"),
            patient,
            {.name = "unit", .kind = K::kString, .required = false, .max_length = 100},
            timestamp("discharged_at"),
            {.name = "destination",
             .kind = K::kEnum,
             .values = {"home", "ehpad", "transfer", "other_structure", "death"}},
            {.name = "destination_finess", .kind = K::kFiness, .required = false},
            {.name = "circumstance", .kind = K::kString, .required = false, .max_length = 100},
            {.name = "exit_mode",
             .kind = K::kEnum,
             .required = false,
             .values = {"6", "7", "8", "9"}},
            {.name = "gp", .kind = K::kProfessionalId, .required = false},
            {.name = "needs", .kind = K::kEnumList, .values = needs, .min_items = 0},
            commune,
            identity},
       .cross_check = &CheckDischargeNotified},
      {.type = "fr.cpts.discharge.cancelled.v1",
       .description = "The hospital cancelled a discharge it had notified (HL7 A13).",
       .fields = {id("discharge_id"),
                  id("movement_id"),
                  {.name = "reason", .kind = K::kString, .max_length = 500}}},
      {.type = "fr.cpts.followup.assigned.v1",
       .description = "The CPTS assigned a discharge's city follow-up to a professional.",
       .fields = {id("followup_id"),
                  id("discharge_id"),
                  professional,
                  {.name = "need", .kind = K::kEnum, .values = needs}}},
      {.type = "fr.cpts.followup.acknowledged.v1",
       .description = "The professional acknowledged the follow-up assigned to them.",
       .fields = {id("followup_id"), professional}},
      {.type = "fr.cpts.followup.completed.v1",
       .description = "The professional saw the patient: the follow-up is done.",
       .fields = {id("followup_id"), professional, timestamp("visited_at")}},

      // --- Unscheduled care (soins non programmés).
      {.type = "fr.cpts.snp.request_received.v1",
       .description = "A request for unscheduled care reached the CPTS.",
       .fields = {id("request_id"),
                  {.name = "patient", .kind = K::kPatientPseudonym, .required = false},
                  timestamp("received_at"),
                  {.name = "motive", .kind = K::kString, .max_length = 500},
                  commune,
                  identity},
       .cross_check = &CheckRequestReceived},
      {.type = "fr.cpts.snp.slot_offered.v1",
       .description = "A member offered a slot for the request.",
       .fields = {id("request_id"), professional, timestamp("slot_at")}},
      {.type = "fr.cpts.snp.care_given.v1",
       .description = "The patient was seen for the request.",
       .fields = {id("request_id"), professional, timestamp("given_at")}},
      {.type = "fr.cpts.snp.request_redirected.v1",
       .description = "The request was sent elsewhere rather than handled by a member.",
       .fields = {id("request_id"),
                  {.name = "redirected_to",
                   .kind = K::kEnum,
                   .values = {"emergency", "sos_medecins", "other_cpts", "other"}},
                  timestamp("redirected_at"),
                  note("note")}},

      // --- Prevention.
      {.type = "fr.cpts.prevention.campaign_launched.v1",
       .description = "A prevention campaign was launched, with its sites and dates.",
       .fields = {id("campaign_id"),
                  {.name = "theme", .kind = K::kEnum, .values = themes},
                  {.name = "title", .kind = K::kString},
                  {.name = "target_population", .kind = K::kInteger, .min = 1, .max = 70'000'000},
                  {.name = "sites",
                   .kind = K::kObjectList,
                   .fields = {id("site_id"), {.name = "name", .kind = K::kString}, commune},
                   .unique_key = "site_id"},
                  {.name = "partners", .kind = K::kStringList, .required = false},
                  date("starts_on"),
                  date("ends_on")},
       .cross_check = &CheckCampaignLaunched},
      {.type = "fr.cpts.prevention.participation_recorded.v1",
       .description = "Someone took part in a campaign at one of its sites.",
       .fields = {id("campaign_id"),
                  id("site_id"),
                  {.name = "professional", .kind = K::kProfessionalId, .required = false},
                  {.name = "participant", .kind = K::kPatientPseudonym, .required = false},
                  timestamp("participated_at"),
                  identity},
       .cross_check = &CheckParticipationRecorded},
      {.type = "fr.cpts.prevention.campaign_closed.v1",
       .description = "A campaign was closed: no more participations are recorded.",
       .fields = {id("campaign_id")}},

      // --- Health data (ARCHITECTURE.md, 7).
      {.type = "fr.cpts.patient.erased.v1",
       .description = "A patient's identity was erased: their data key is destroyed, so every "
                      "identity block sealed for them no longer opens. Holds no personal data.",
       .fields = {patient,
                  {.name = "basis",
                   .kind = K::kEnum,
                   .values = {"erasure_request", "objection", "retention_expired"}}}},

      // --- Commands the deciders refused.
      {.type = "fr.cpts.command.rejected.v1",
       .description = "A command was refused; the stream records why.",
       .fields = {id("command_id"),
                  id("command_type"),
                  {.name = "code", .kind = K::kString, .max_length = 64},
                  {.name = "reason", .kind = K::kString, .max_length = 500}}},
  };
}

}  // namespace

const std::vector<EventTypeSpec>& EventTypes() {
  // Never destroyed: specs are read by other static objects' destructors at exit.
  static const auto* const kCatalogue = new std::vector<EventTypeSpec>(BuildCatalogue());
  return *kCatalogue;
}

const EventTypeSpec* FindEventType(std::string_view type) {
  for (const auto& spec : EventTypes()) {
    if (spec.type == type) return &spec;
  }
  return nullptr;
}

Status ValidateData(const EventTypeSpec& spec, const ::cpts::Json& data) {
  try {
    CPTS_RETURN_IF_ERROR(CheckObject(spec.fields, data, Path("data")));
    if (spec.cross_check != nullptr) return spec.cross_check(data);
    return Status::Ok();
  } catch (const ::cpts::Json::exception& e) {
    // Every access above follows a type check; reaching here is a bug in this file.
    return Status::Internal("validating " + std::string(spec.type) + ": " + e.what());
  }
}

int SizeCategory(int64_t population) {
  if (population < 40'000) return 1;
  if (population < 80'000) return 2;
  if (population <= 175'000) return 3;
  return 4;
}

std::string_view AgeBand(int64_t age) {
  if (age < 18) return "0-17";
  if (age < 40) return "18-39";
  if (age < 60) return "40-59";
  if (age < 70) return "60-69";
  if (age < 80) return "70-79";
  return "80+";
}

bool IsDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  const int year = DigitsAt(s, 0, 4);
  const int month = DigitsAt(s, 5, 2);
  const int day = DigitsAt(s, 8, 2);
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;  // -1: not digits
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return day <= kDays[month - 1] + (month == 2 && leap ? 1 : 0);
}

bool IsTimestamp(std::string_view s) {
  // "YYYY-MM-DDTHH:MM:SS" is 19 characters.
  if (s.size() < 20 || !IsDate(s.substr(0, 10)) || s[10] != 'T' || s[13] != ':' || s[16] != ':') {
    return false;
  }
  const int hour = DigitsAt(s, 11, 2);
  const int minute = DigitsAt(s, 14, 2);
  const int second = DigitsAt(s, 17, 2);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) {
    return false;
  }
  std::string_view rest = s.substr(19);
  if (rest.front() == '.') {
    size_t digits = 1;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
    if (digits == 1 || digits > 10) return false;  // 1 to 9 fraction digits
    rest.remove_prefix(digits);
  }
  if (rest == "Z") return true;
  if (rest.size() != 6 || (rest[0] != '+' && rest[0] != '-') || rest[3] != ':') return false;
  const int zone_hours = DigitsAt(rest, 1, 2);
  const int zone_minutes = DigitsAt(rest, 4, 2);
  return zone_hours >= 0 && zone_hours <= 23 && zone_minutes >= 0 && zone_minutes <= 59;
}

}  // namespace cpts::events
