#pragma once
// Who calls the HTTP API, and what they may do (docs/api-security.md).
//
// Authentication: bearer tokens. The tokens file holds, per token, its holder's name, role and
// scope and the SHA-256 of the token, never the token itself:
//   {"tokens": [
//     {"name": "claire", "role": "coordinator", "cptsid": "cpts-haut-doubs", "sha256": "<hex>"},
//     {"name": "ch-pontarlier", "role": "hospital", "finess": "250000452", "sha256": "<hex>"},
//     {"name": "dr-bourgeois", "role": "professional", "professional": "rpps:10001234565",
//      "sha256": "<hex>"}]}
// It must be mode 0600, like the secrets file. Messages never show a token.
//
// Authorization: pure functions. AuthorizeCommand refuses early what the command alone decides
// and reuses the deciders' own rule (aggregates::CheckSender), which Decide runs again on the
// CPTS's state as the final word. AuthorizeQuery and MayOpenIdentities decide the reads.
//
// Mapping to HTTP: every failure of Authenticate is 401 (with WWW-Authenticate: Bearer); every
// failure of AuthorizeCommand and AuthorizeQuery is 403. events/status.h has no "permission
// denied" code, and adding one would reach every switch over StatusCode, so these refusals use
// kFailedPrecondition (the caller's role or scope is not one that may do this): the HTTP layer
// maps by the function that failed, not by the code.
// Thread-safety: TokenStore is immutable after loading, safe to share between threads.

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/json.h"
#include "events/status.h"

namespace cpts::api {

enum class Role { kHospital, kCoordinator, kProfessional, kDashboard, kAuditor, kAdmin };

// "hospital", "coordinator", ... as in the tokens file; nullopt for any other text.
std::string_view RoleName(Role role);
std::optional<Role> ParseRole(std::string_view name);

struct Principal {
  std::string name;              // the token's holder: a login ("claire", "ch-pontarlier")
  Role role = Role::kDashboard;  // Default: the role that may do least
  std::string finess;            // kHospital: its establishment
  std::string cptsid;            // kCoordinator: the CPTS it coordinates
  std::string professional;      // kProfessional: "rpps:<11 digits>" or "adeli:<9 digits>"

  // The command actor (docs/commands.md): hospital:<finess>, coordinator:<cptsid>:<name>,
  // professional:<id>, admin:<name>. Dashboards and auditors send no commands; for them it is
  // "dashboard:<name>" / "auditor:<name>", which names them in access traces and which
  // aggregates::ParseActor refuses.
  std::string Actor() const;
};

// One line of the tokens file.
struct TokenEntry {
  Principal principal;
  std::string sha256;  // 64 hex characters: the SHA-256 of the token
};

using TokenHash = std::array<unsigned char, 32>;

// A new token: "cpts_" then 32 random bytes in base64url. Shown once to whoever creates it.
std::string NewToken();
// The SHA-256 of a token, as the tokens file keeps it (64 lowercase hex characters).
std::string TokenSha256Hex(std::string_view token);

// The tokens file's checks for one entry: a known role, the scope its role needs and no other
// (FINESS, RPPS or ADELI with their check digit; a cptsid by the commands' rule), a name by the
// actors' rule, a hash of 64 hex characters. The message starts "entry <index> (<name>)".
Status ValidateTokenEntry(const TokenEntry& entry, size_t index);

class TokenStore {
 public:
  // Reads and checks the tokens file. FailedPrecondition when the file is readable or writable
  // by group or others; InvalidArgument naming the entry by index and name when one is wrong
  // (unknown field, role or scope missing or invalid, name or hash given twice).
  static Result<TokenStore> Load(const std::string& path);
  // The same checks on a document already read; `source` names it in messages.
  static Result<TokenStore> FromJson(const ::cpts::Json& document, const std::string& source);

  // The principal of an Authorization header's value ("Bearer cpts_..."). InvalidArgument, all
  // 401, saying which: no credentials (empty header), a malformed header, or an unknown token.
  // Every entry's hash is compared, in constant time, whatever the token.
  Result<Principal> Authenticate(std::string_view authorization_header) const;

  const std::vector<TokenEntry>& entries() const { return entries_; }

 private:
  struct Stored {
    TokenHash hash;
    Principal principal;
  };
  std::vector<TokenEntry> entries_;
  std::vector<Stored> stored_;
};

// Adds an entry to the tokens file, creating it (mode 0600) when missing; checks the whole file
// as Load does, and replaces it atomically (a write then a rename). Prints nothing: the caller
// shows the token once. AlreadyExists when the name or the hash is taken.
Status AddToken(const std::string& path, const TokenEntry& entry);

// Whether `principal` may send a command of `command_type` to the CPTS `cptsid` with `data`
// (docs/api-security.md has the table). A command type no decider knows passes: it is
// DecodeCommand's to refuse (400), not an authorization matter.
Status AuthorizeCommand(const Principal& principal, std::string_view command_type,
                        std::string_view cptsid, const ::cpts::Json& data);

// The views: those of `cpts query`, "feed" (a CPTS's live feed of events, which names patients
// by pseudonym) and "audit" (histories, access traces, chain checks).
inline constexpr std::string_view kViews[] = {
    "cpts",      "list",       "roster",  "roster-history", "gps", "queue",
    "referrals", "access",     "handoff", "worklist",       "snp", "campaigns",
    "campaign",  "indicators", "region",  "feed",           "audit"};
// Views that return pseudonyms: read through PatientReads (projections/queries.h) or, for the
// feed, traced batch by batch.
bool IsPatientLevelView(std::string_view view);

// Whether `principal` may read `view` for the CPTS `cptsid` (absent for list, region, worklist)
// and the professional `professional` (worklist).
Status AuthorizeQuery(const Principal& principal, std::string_view view,
                      const std::optional<std::string>& cptsid,
                      const std::optional<std::string>& professional);

// Whether the answer of `view` may show patients' opened identities to `principal` (a view it
// may read: AuthorizeQuery first). projections::Reader::show_identity takes it.
bool MayOpenIdentities(const Principal& principal, std::string_view view);

}  // namespace cpts::api
