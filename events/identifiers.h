#pragma once
// Checks for the French health identifiers the events carry (DOMAIN.md, "Identifiers").
// Each check returns Ok or an InvalidArgument whose message names the rule that failed, so a
// caller can prefix the field name and hand it to a person as is. Pure functions, thread-safe.

#include <string>
#include <string_view>

#include "events/status.h"

namespace cpts::ids {

// NIR / INS: 13 characters then a 2-digit key, key = 97 - (number mod 97). The département
// (characters 6-7) may be 2A or 2B (Corsica): they count as 19 and 18 in the key.
Status CheckNir(std::string_view nir);

// RPPS (professional): 11 digits, Luhn check digit.
Status CheckRpps(std::string_view rpps);

// ADELI (professional, being replaced by RPPS): 9 digits, Luhn check digit.
Status CheckAdeli(std::string_view adeli);

// FINESS (establishment): 9 characters, Luhn check digit. A Corsican FINESS (2A/2B) is checked
// for shape only: the public rule for its check digit could not be confirmed (docs/identifiers.md).
Status CheckFiness(std::string_view finess);

// INSEE commune code: 5 characters, digits, or 2A/2B followed by 3 digits (Corsica).
Status CheckInseeCommune(std::string_view code);

// True when the digits pass the Luhn check (the last digit being the check digit).
bool LuhnValid(std::string_view digits);

// `digits` followed by its Luhn check digit: how RPPS, ADELI, FINESS and SIREN numbers are made
// (simulations and tests build valid ones). Precondition: digits only.
std::string WithLuhnDigit(std::string_view digits);

}  // namespace cpts::ids
