#pragma once
// Patient pseudonyms (ARCHITECTURE.md, 7): HMAC-SHA256 of the patient's NIR/INS under a secret,
// as 64 lowercase hex characters. The same NIR gives the same pseudonym under one secret; without
// the secret a pseudonym cannot be linked back to a NIR. Thread-safe.

#include <string>
#include <string_view>

#include "events/status.h"

namespace cpts::events {

// The NIR is upper-cased first (a Corsican 2a is 2A). The secret must hold at least 32 bytes. Fails (without echoing the NIR) when the NIR is
// invalid, so a typo never becomes a new patient.
Result<std::string> PatientPseudonym(std::string_view nir, std::string_view secret);

}  // namespace cpts::events
