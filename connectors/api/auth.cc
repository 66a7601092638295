#include "connectors/api/auth.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "aggregates/actor.h"
#include "aggregates/command.h"
#include "aggregates/decide.h"
#include "connectors/private_file.h"
#include "events/identifiers.h"
#include "events/json_input.h"

namespace cpts::api {
namespace {

using json = ::cpts::Json;

constexpr std::string_view kRoleNames[] = {"hospital",  "coordinator", "professional",
                                           "dashboard", "auditor",     "admin"};
constexpr std::string_view kEntryFields[] = {"name",   "role",         "cptsid",
                                             "finess", "professional", "sha256"};

void EnsureSodium() {
  // Thread-safe and idempotent; needed before randombytes.
  [[maybe_unused]] static const bool initialised = sodium_init() >= 0;
}

// The refusal of AuthorizeCommand and AuthorizeQuery: 403 (see auth.h on the code).
Status Forbidden(std::string message) { return Status::FailedPrecondition(std::move(message)); }

// A name from the file, for a message: not a secret, but escaped and kept short.
std::string Shown(std::string_view text) {
  constexpr size_t kMax = 64;
  std::string shown(text.substr(0, kMax));
  if (text.size() > kMax) shown += "...";
  return json(shown).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string EntryName(size_t index, std::string_view name) {
  return "entry tokens[" + std::to_string(index) + "] (" +
         (name.empty() ? "no name" : Shown(name)) + ")";
}

bool ParseHash(std::string_view hex, TokenHash& out) {
  size_t size = 0;
  const char* end = nullptr;
  return hex.size() == 64 &&
         sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &size, &end) ==
             0 &&
         size == out.size() && end == hex.data() + hex.size();
}

std::string Lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

TokenHash Sha256(std::string_view token) {
  TokenHash hash;
  crypto_hash_sha256(hash.data(), reinterpret_cast<const unsigned char*>(token.data()),
                     token.size());
  return hash;
}

// RFC 6750 b64token: what a bearer token may hold.
bool IsB64Token(std::string_view token) {
  const std::string_view body = token.substr(0, token.find_last_not_of('=') + 1);
  return !body.empty() && std::all_of(body.begin(), body.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
           c == '~' || c == '+' || c == '/';
  });
}

Result<std::vector<TokenEntry>> ParseEntries(const json& document, const std::string& source) {
  if (!document.is_object() || !document.contains("tokens") || !document["tokens"].is_array()) {
    return Status::InvalidArgument(source + " must hold {\"tokens\": [...]}");
  }
  for (const auto& [key, value] : document.items()) {
    if (key != "tokens") {
      return Status::InvalidArgument(source + " has an unknown field " + Shown(key) +
                                     " (known: tokens)");
    }
  }
  std::vector<TokenEntry> entries;
  std::set<std::string> names;
  std::set<std::string> hashes;
  const json& tokens = document["tokens"];
  for (size_t i = 0; i < tokens.size(); ++i) {
    const json& item = tokens[i];
    if (!item.is_object()) {
      return Status::InvalidArgument(source + ": entry tokens[" + std::to_string(i) +
                                     "] must be an object");
    }
    const std::string name =
        item.contains("name") && item["name"].is_string() ? item["name"].get<std::string>() : "";
    for (const auto& [key, value] : item.items()) {
      if (std::find(std::begin(kEntryFields), std::end(kEntryFields), key) ==
          std::end(kEntryFields)) {
        return Status::InvalidArgument(
            source + ": " + EntryName(i, name) + " has an unknown field " + Shown(key) +
            " (known: name, role, cptsid, finess, professional, sha256)");
      }
      if (!value.is_string()) {
        return Status::InvalidArgument(source + ": " + EntryName(i, name) + ": " + key +
                                       " must be a string");
      }
    }
    const auto text = [&](const char* field) {
      return item.contains(field) ? item[field].get<std::string>() : std::string();
    };
    const std::string role_name = text("role");
    const std::optional<Role> role = ParseRole(role_name);
    if (!role) {
      return Status::InvalidArgument(
          source + ": " + EntryName(i, name) + ": role " +
          (role_name.empty() ? std::string("is missing") : Shown(role_name) + " is unknown") +
          " (known: hospital, coordinator, professional, dashboard, auditor, admin)");
    }
    TokenEntry entry{.principal = {.name = name,
                                   .role = *role,
                                   .finess = text("finess"),
                                   .cptsid = text("cptsid"),
                                   .professional = text("professional")},
                     .sha256 = text("sha256")};
    Status valid = ValidateTokenEntry(entry, i);
    if (!valid.ok()) return valid.WithContext(source);
    if (!names.insert(name).second) {
      return Status::InvalidArgument(source + ": " + EntryName(i, name) +
                                     ": the name is given to an earlier entry too; names are "
                                     "unique (they name the holder in every trace)");
    }
    if (!hashes.insert(Lower(entry.sha256)).second) {
      return Status::InvalidArgument(source + ": " + EntryName(i, name) +
                                     ": the sha256 is an earlier entry's too: one token, one "
                                     "holder (make a new token with cpts token add)");
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

Result<std::string> ReadTokensFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    return Status::InvalidArgument("cannot read the tokens file " + path + ": " +
                                   std::strerror(err) +
                                   (err == ENOENT ? " (cpts token add creates it)" : ""));
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::InvalidArgument("the tokens file " + path + " is not a regular file");
  }
  // The hashes are not the tokens, but they let anyone who reads them try guesses offline, and
  // whoever writes the file grants themselves any role.
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return Status::FailedPrecondition("the tokens file " + path +
                                      " is readable or writable by group or others: run "
                                      "chmod 600 " +
                                      path);
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) return Status::IoError("cannot read the tokens file " + path);
  return text.str();
}

Result<json> LoadDocument(const std::string& path) {
  Result<std::string> text = ReadTokensFile(path);
  if (!text.ok()) return text.status();
  return events::ParseStrictJson(*text, "the tokens file " + path);
}

json EntryJson(const TokenEntry& entry) {
  json item = json::object();
  const Principal& p = entry.principal;
  item["name"] = p.name;
  item["role"] = std::string(RoleName(p.role));
  if (!p.cptsid.empty()) item["cptsid"] = p.cptsid;
  if (!p.finess.empty()) item["finess"] = p.finess;
  if (!p.professional.empty()) item["professional"] = p.professional;
  item["sha256"] = Lower(entry.sha256);
  return item;
}

// What a hospital's or a professional's token may send, from the deciders' own table: every
// command type that CheckSender lets through when each field that may name an owner names them.
std::string DelegatedTypes(const Principal& principal) {
  const std::string& self =
      principal.role == Role::kHospital ? principal.finess : principal.professional;
  const json data = {{"finess", self}, {"gp", self}, {"professional", self}};
  std::string list;
  for (const events::EventTypeSpec& spec : aggregates::CommandTypes()) {
    const aggregates::Command command{
        .type = std::string(spec.type), .cptsid = "any", .actor = principal.Actor(), .data = data};
    if (aggregates::CheckSender(command, aggregates::CptsState{})) continue;
    if (!list.empty()) list += ", ";
    list += spec.type;
  }
  return list;
}

std::string WhatItMaySend(const Principal& p) {
  switch (p.role) {
    case Role::kCoordinator:
      return "This token is coordinator " + p.name + " of " + p.cptsid +
             ": it may send any command to that CPTS, and none to another.";
    case Role::kHospital:
      return "This token is hospital " + p.finess + ": it may send " + DelegatedTypes(p) +
             ", for its own establishment only.";
    case Role::kProfessional:
      return "This token is professional " + p.professional + ": it may send " + DelegatedTypes(p) +
             ", for themselves only.";
    default:
      return "";
  }
}

constexpr std::string_view kAggregateViews =
    "cpts, list, roster, roster-history, gps, access, campaigns, campaign, indicators, region";

}  // namespace

std::string_view RoleName(Role role) { return kRoleNames[static_cast<size_t>(role)]; }

std::optional<Role> ParseRole(std::string_view name) {
  for (size_t i = 0; i < std::size(kRoleNames); ++i) {
    if (kRoleNames[i] == name) return static_cast<Role>(i);
  }
  return std::nullopt;
}

std::string Principal::Actor() const {
  switch (role) {
    case Role::kHospital:
      return "hospital:" + finess;
    case Role::kCoordinator:
      return "coordinator:" + cptsid + ":" + name;
    case Role::kProfessional:
      return "professional:" + professional;
    case Role::kAdmin:
      return "admin:" + name;
    case Role::kDashboard:
    case Role::kAuditor:
      break;
  }
  return std::string(RoleName(role)) + ":" + name;
}

std::string NewToken() {
  EnsureSodium();
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  constexpr int kVariant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  char text[sodium_base64_ENCODED_LEN(sizeof bytes, kVariant)];
  sodium_bin2base64(text, sizeof text, bytes, sizeof bytes, kVariant);
  std::string token = std::string("cpts_") + text;
  sodium_memzero(bytes, sizeof bytes);
  sodium_memzero(text, sizeof text);
  return token;
}

std::string TokenSha256Hex(std::string_view token) {
  const TokenHash hash = Sha256(token);
  char hex[hash.size() * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, hash.data(), hash.size());
  return hex;
}

Status ValidateTokenEntry(const TokenEntry& entry, size_t index) {
  const Principal& p = entry.principal;
  const std::string where = EntryName(index, p.name);
  const auto invalid = [&](const std::string& what) {
    return Status::InvalidArgument(where + ": " + what);
  };
  // The actors' own rule, so that Actor() always reads back.
  if (!aggregates::ParseActor("admin:" + p.name).ok()) {
    return invalid("the name must be 1 to 64 letters, digits, '.', '_', '-' or '@'");
  }
  const std::string_view role = RoleName(p.role);
  const auto only_for = [&](const std::string& field, const std::string& value,
                            Role owner) -> Status {
    if (value.empty() || p.role == owner) return Status::Ok();
    return invalid(field + " is for " + std::string(RoleName(owner)) +
                   " tokens only, and this one is " + std::string(role));
  };
  CPTS_RETURN_IF_ERROR(only_for("finess", p.finess, Role::kHospital));
  CPTS_RETURN_IF_ERROR(only_for("cptsid", p.cptsid, Role::kCoordinator));
  CPTS_RETURN_IF_ERROR(only_for("professional", p.professional, Role::kProfessional));
  switch (p.role) {
    case Role::kHospital:
      if (p.finess.empty()) return invalid("a hospital token needs its finess");
      if (Status s = ids::CheckFiness(p.finess); !s.ok()) return invalid("finess: " + s.message());
      break;
    case Role::kCoordinator:
      if (p.cptsid.empty()) return invalid("a coordinator token needs its cptsid");
      if (!aggregates::ParseActor(p.Actor()).ok()) {
        return invalid("cptsid must be 1 to 64 letters, digits, '.', '_', ':' or '-'");
      }
      break;
    case Role::kProfessional:
      if (p.professional.empty()) {
        return invalid("a professional token needs its professional (rpps:... or adeli:...)");
      }
      if (!aggregates::ParseActor(p.Actor()).ok()) {
        return invalid(
            "professional must be rpps:<11 digits> or adeli:<9 digits>, with a valid Luhn check "
            "digit");
      }
      break;
    case Role::kDashboard:
    case Role::kAuditor:
    case Role::kAdmin:
      break;
  }
  TokenHash hash;
  if (!ParseHash(entry.sha256, hash)) {
    return invalid(
        "sha256 must be the 64 hex characters of the token's SHA-256 (the token itself is never "
        "stored)");
  }
  return Status::Ok();
}

Result<TokenStore> TokenStore::FromJson(const json& document, const std::string& source) {
  Result<std::vector<TokenEntry>> entries = ParseEntries(document, source);
  if (!entries.ok()) return entries.status();
  TokenStore store;
  for (const TokenEntry& entry : *entries) {
    Stored stored{.hash = {}, .principal = entry.principal};
    if (!ParseHash(entry.sha256, stored.hash)) return Status::Internal("hash checked above");
    store.stored_.push_back(std::move(stored));
  }
  store.entries_ = std::move(*entries);
  return store;
}

Result<TokenStore> TokenStore::Load(const std::string& path) {
  Result<json> document = LoadDocument(path);
  if (!document.ok()) return document.status();
  return FromJson(*document, "the tokens file " + path);
}

Result<Principal> TokenStore::Authenticate(std::string_view header) const {
  constexpr std::string_view kSpace = " \t";
  const size_t first = header.find_first_not_of(kSpace);
  if (first == std::string_view::npos) {
    return Status::InvalidArgument("no credentials: send the header Authorization: Bearer <token>");
  }
  header = header.substr(first, header.find_last_not_of(kSpace) - first + 1);
  const size_t space = header.find_first_of(kSpace);
  // The scheme is case-insensitive (RFC 7235); the header's text is never shown, it may hold a
  // token or a password.
  if (space == std::string_view::npos || Lower(header.substr(0, space)) != "bearer") {
    return Status::InvalidArgument(
        "malformed Authorization header: it must read Bearer <token> (the header is not shown)");
  }
  const std::string_view token = header.substr(header.find_first_not_of(kSpace, space));
  if (!IsB64Token(token)) {
    return Status::InvalidArgument(
        "malformed Authorization header: the token after Bearer holds characters no token has "
        "(the header is not shown)");
  }
  const TokenHash hash = Sha256(token);
  // Every entry is compared, in constant time, so the time taken says nothing of which
  // entry, if any, is close.
  const Stored* found = nullptr;
  for (const Stored& stored : stored_) {
    const bool equal = sodium_memcmp(stored.hash.data(), hash.data(), hash.size()) == 0;
    if (equal && found == nullptr) found = &stored;
  }
  if (found == nullptr) {
    return Status::InvalidArgument(
        "unknown token: it is not in the tokens file (mistyped, or revoked); the token is not "
        "shown");
  }
  return found->principal;
}

Status AddToken(const std::string& path, const TokenEntry& entry) {
  json document = {{"tokens", json::array()}};
  if (::access(path.c_str(), F_OK) == 0) {
    Result<json> existing = LoadDocument(path);
    if (!existing.ok()) return existing.status();
    document = std::move(*existing);
    // The file as it stands must be valid: a new entry never hides an old mistake.
    Result<std::vector<TokenEntry>> entries = ParseEntries(document, "the tokens file " + path);
    if (!entries.ok()) return entries.status();
    for (const TokenEntry& e : *entries) {
      if (e.principal.name == entry.principal.name) {
        return Status::AlreadyExists("the tokens file " + path + " already has a token named " +
                                     Shown(entry.principal.name) +
                                     ": choose another name, or remove that entry first");
      }
      if (Lower(e.sha256) == Lower(entry.sha256)) {
        return Status::AlreadyExists("the tokens file " + path +
                                     " already has this token's hash: make a new token");
      }
    }
  }
  const size_t index = document["tokens"].size();
  CPTS_RETURN_IF_ERROR(ValidateTokenEntry(entry, index).WithContext("the tokens file " + path));
  document["tokens"].push_back(EntryJson(entry));
  return WritePrivateFileAtomically(path, document.dump(2) + "\n", "tokens file");
}

bool IsPatientLevelView(std::string_view view) {
  return view == "queue" || view == "referrals" || view == "handoff" || view == "worklist" ||
         view == "snp" || view == "feed";
}

Status AuthorizeCommand(const Principal& principal, std::string_view command_type,
                        std::string_view cptsid, const json& data) {
  switch (principal.role) {
    case Role::kDashboard:
      return Forbidden("A dashboard token reads aggregates only: it sends no commands.");
    case Role::kAuditor:
      return Forbidden("An auditor token reads only: it sends no commands.");
    case Role::kHospital:
      // Whatever the type, a FINESS in the data must be its own (a discharge.cancel names none).
      if (data.is_object() && data.contains("finess") &&
          (!data["finess"].is_string() || data["finess"].get<std::string>() != principal.finess)) {
        return Forbidden("data.finess names another establishment. " + WhatItMaySend(principal));
      }
      break;
    default:
      break;
  }
  const aggregates::Command command{.type = std::string(command_type),
                                    .cptsid = std::string(cptsid),
                                    .actor = principal.Actor(),
                                    .data = data};
  // An empty state: what needs the CPTS's state (the GP a referral is addressed to) passes
  // here, and Decide answers it on the real state.
  const std::optional<aggregates::Rejection> refused =
      aggregates::CheckSender(command, aggregates::CptsState{});
  if (!refused || refused->code == "unknown_command") return Status::Ok();
  const std::string more = WhatItMaySend(principal);
  return Forbidden(refused->reason + (more.empty() ? "" : " " + more));
}

Status AuthorizeQuery(const Principal& principal, std::string_view view,
                      const std::optional<std::string>& cptsid,
                      const std::optional<std::string>& professional) {
  if (std::find(std::begin(kViews), std::end(kViews), view) == std::end(kViews)) {
    return Forbidden("The view " + Shown(view) + " is not known: nobody may read it.");
  }
  const bool patient_level = IsPatientLevelView(view);
  const std::string v(view);
  switch (principal.role) {
    case Role::kAdmin:
    case Role::kAuditor:
      return Status::Ok();
    case Role::kDashboard:
    case Role::kHospital:
      if (patient_level || view == "audit") {
        return Forbidden("A " + std::string(RoleName(principal.role)) +
                         " token reads aggregates only (" + std::string(kAggregateViews) +
                         "), of any CPTS; " + v + " is for coordinators, professionals and " +
                         "auditors.");
      }
      return Status::Ok();
    case Role::kCoordinator:
      if (view == "audit" || view == "worklist") {
        return Forbidden("A coordinator token reads the views of its CPTS " + principal.cptsid +
                         ", and list and region; " + v +
                         (view == "audit" ? " is for auditors."
                                          : " spans CPTS: read handoff with a professional "
                                            "filter instead."));
      }
      if (view == "list" || view == "region") return Status::Ok();
      if (cptsid != principal.cptsid) {
        return Forbidden("A coordinator token reads the views of its CPTS " + principal.cptsid +
                         " only (and list and region), not another's.");
      }
      return Status::Ok();
    case Role::kProfessional:
      if (view == "worklist") {
        if (professional == principal.professional) return Status::Ok();
        return Forbidden("A professional token reads its own worklist (" + principal.professional +
                         ") only.");
      }
      if (patient_level || view == "audit") {
        return Forbidden("A professional token reads its own worklist and aggregates (" +
                         std::string(kAggregateViews) + "); " + v + " is not among them.");
      }
      return Status::Ok();
  }
  return Forbidden("unknown role");
}

bool MayOpenIdentities(const Principal& principal, std::string_view view) {
  // The feed carries events as the projector applied them: the sealed identity taken out.
  if (view == "feed") return false;
  switch (principal.role) {
    case Role::kAdmin:
      return true;
    case Role::kCoordinator:
      return IsPatientLevelView(view) && view != "worklist";
    case Role::kProfessional:
      return view == "worklist";
    case Role::kDashboard:
    case Role::kAuditor:  // reads everything, and no one's identity: pseudonyms suffice to audit
    case Role::kHospital:
      return false;
  }
  return false;
}

}  // namespace cpts::api
