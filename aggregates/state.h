#pragma once
// CptsState: what the deciders know about one CPTS, rebuilt by Evolve (aggregates/decide.h) from
// the CPTS's stream. Domain state only: the stream's head (sequence, hash) and the command ids
// already decided belong to the command processor, which keeps them beside this state.
//
// Sized for a CPTS of thousands of members and patients: every collection is keyed by id, Evolve
// updates in place and Decide reads through a const reference, so nothing is copied per command.
// Closed patient requests are dropped (only open ones constrain a decision); referrals,
// discharges, follow-ups, unscheduled-care requests and campaigns are kept, because their ids
// stay unique for the life of the stream.
// Thread-safety: a plain value, not synchronised.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace cpts::aggregates {

struct Member {
  std::string kind;        // "professional" or "structure"
  std::string profession;  // professionals: "general_practitioner", "nurse", ...; else empty
  std::string display_name;
  // GPs: the capacity for new patients they last declared (absent: never declared), and the new
  // patients they took since that declaration (accepted referrals, assignments without one).
  std::optional<int64_t> declared_capacity;
  int64_t taken_since_declaration = 0;
};

// A patient waiting for a médecin traitant.
struct OpenRequest {
  std::string pending_referral;  // the referral awaiting the GP's answer; empty when none
};

enum class ReferralStatus {
  kPending,
  kAccepted,
  kDeclined,
  kVoided,  // the patient's request ended (assignment, withdrawal) before the GP answered
};

struct Referral {
  std::string patient;  // pseudonym
  std::string gp;
  ReferralStatus status = ReferralStatus::kPending;
};

struct Discharge {
  std::string finess;
  std::string movement_id;
  bool cancelled = false;
  std::vector<std::string> followups;  // ids, in assignment order
};

enum class FollowupStatus {
  kAssigned,
  kAcknowledged,
  kCompleted,
  kVoided,  // its discharge was cancelled before the follow-up was completed
};

struct Followup {
  std::string discharge_id;
  std::string professional;
  FollowupStatus status = FollowupStatus::kAssigned;
};

struct SnpRequest {
  bool open = true;  // until care is given or the request is redirected
};

struct Campaign {
  std::vector<std::string> sites;  // site ids; a campaign has a handful
  bool closed = false;
};

struct Aci {
  std::string signed_on;
  std::string starts_on;
  std::string ends_on;
};

struct CptsState {
  // The CPTS itself: fr.cpts.cpts.registered.v1 and aci_signed.v1.
  bool registered = false;
  std::string name;
  std::vector<std::string> territory;  // INSEE commune codes
  int64_t population = 0;
  std::string region;
  std::optional<Aci> aci;  // the last contract signed

  // Current members by member id; a member who leaves is removed (and may join again).
  std::unordered_map<std::string, Member> members;

  // Access to a médecin traitant.
  std::unordered_map<std::string, OpenRequest> open_requests;  // by patient pseudonym
  std::unordered_map<std::string, Referral> referrals;         // by referral id

  // Ville-hôpital. Movements are keyed by MovementKey: a hospital's movement ids are its own.
  std::unordered_set<std::string> admissions;             // admission movements received
  std::unordered_map<std::string, Discharge> discharges;  // by discharge id
  std::unordered_map<std::string, std::string> discharge_by_movement;  // -> discharge id
  std::unordered_map<std::string, Followup> followups;                 // by follow-up id

  std::unordered_map<std::string, SnpRequest> snp_requests;  // by request id
  std::unordered_map<std::string, Campaign> campaigns;       // by campaign id
};

// The key of a hospital movement: ZBE-1 ids are unique per establishment only. A FINESS is
// always 9 characters, so the concatenation is unambiguous.
inline std::string MovementKey(std::string_view finess, std::string_view movement_id) {
  std::string key(finess);
  key += '/';
  key += movement_id;
  return key;
}

}  // namespace cpts::aggregates
