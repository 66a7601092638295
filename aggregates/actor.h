#pragma once
// Who sends a command, and what they may touch. The actor is a string on commands and events:
//   "admin:<name>"                      anything, in any CPTS
//   "coordinator:<cptsid>:<name>"       anything in that CPTS
//   "hospital:<finess>"                 admissions and discharges of that establishment only
//   "professional:<member id>"          their own referrals and follow-ups (the member id is
//                                       "rpps:<11 digits>" or "adeli:<9 digits>")
//   "system:<name>"                     internal senders (connectors, simulators), like admin
// Thread-safety: pure functions.

#include <string>
#include <string_view>

#include "events/status.h"

namespace cpts::aggregates {

enum class Role { kAdmin, kCoordinator, kHospital, kProfessional, kSystem };

struct Actor {
  Role role = Role::kSystem;
  std::string cpts;       // kCoordinator: the CPTS it coordinates
  std::string finess;     // kHospital: its establishment
  std::string member_id;  // kProfessional: "rpps:..." or "adeli:..."
  std::string name;       // kAdmin, kCoordinator, kSystem: the person or program
};

Result<Actor> ParseActor(std::string_view actor);

}  // namespace cpts::aggregates
