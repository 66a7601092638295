#include "aggregates/actor.h"

#include <algorithm>

#include "aggregates/internal.h"
#include "events/json_input.h"
#include "events/identifiers.h"

namespace cpts::aggregates {
namespace {

// Messages never quote the actor: a sender could have put anything there, a NIR included.
constexpr char kFormats[] =
    "an actor reads admin:<name>, coordinator:<cptsid>:<name>, hospital:<finess>, "
    "professional:rpps:<11 digits>, professional:adeli:<9 digits> or system:<name>";

Status Invalid(const std::string& what) { return Status::InvalidArgument(what); }

// A person's or a program's name: a login or an e-mail address, never free text, so that the
// actor stays short and safe to copy into every event it causes.
bool IsName(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-' || c == '@';
  });
}

constexpr char kNameRule[] = "1 to 64 letters, digits, '.', '_', '-' or '@'";

}  // namespace

Result<Actor> ParseActor(std::string_view text) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) return Invalid(kFormats);
  const std::string_view role = text.substr(0, colon);
  const std::string_view rest = text.substr(colon + 1);
  Actor actor;
  if (role == "admin" || role == "system") {
    actor.role = role == "admin" ? Role::kAdmin : Role::kSystem;
    if (!IsName(rest)) return Invalid("the name of an " + std::string(role) + " is " + kNameRule);
    actor.name = std::string(rest);
    return actor;
  }
  if (role == "coordinator") {
    // The cptsid may itself hold ':', the name never does: the name follows the last ':'.
    const size_t last = rest.rfind(':');
    if (last == std::string_view::npos) {
      return Invalid("a coordinator reads coordinator:<cptsid>:<name>");
    }
    actor.role = Role::kCoordinator;
    actor.cpts = std::string(rest.substr(0, last));
    actor.name = std::string(rest.substr(last + 1));
    if (!events::IsCptsId(actor.cpts)) {
      return Invalid("the CPTS of a coordinator is 1 to 64 letters, digits, '.', '_', ':', '-'");
    }
    if (!IsName(actor.name))
      return Invalid(std::string("the name of a coordinator is ") + kNameRule);
    return actor;
  }
  if (role == "hospital") {
    if (!ids::CheckFiness(rest).ok()) {
      return Invalid("a hospital is named by its FINESS number (9 characters, Luhn check digit)");
    }
    actor.role = Role::kHospital;
    actor.finess = std::string(rest);
    return actor;
  }
  if (role == "professional") {
    const size_t scheme_end = rest.find(':');
    const std::string_view scheme = rest.substr(0, scheme_end);
    const std::string_view number =
        scheme_end == std::string_view::npos ? std::string_view() : rest.substr(scheme_end + 1);
    const bool valid = (scheme == "rpps" && ids::CheckRpps(number).ok()) ||
                       (scheme == "adeli" && ids::CheckAdeli(number).ok());
    if (!valid) {
      return Invalid(
          "a professional is named by a valid rpps:<11 digits> or adeli:<9 digits> (Luhn check "
          "digit)");
    }
    actor.role = Role::kProfessional;
    actor.member_id = std::string(rest);
    return actor;
  }
  return Invalid(kFormats);
}

}  // namespace cpts::aggregates
