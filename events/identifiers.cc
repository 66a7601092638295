#include "events/identifiers.h"

#include <algorithm>
#include <cstdint>
#include <string>

namespace cpts::ids {
namespace {

bool AllDigits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Quotes an identifier in an error message. These are professional or establishment numbers,
// or (for the NIR) only its shape is described, never the value: a NIR is health data.
std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

}  // namespace

bool LuhnValid(std::string_view digits) {
  if (digits.empty() || !AllDigits(digits)) return false;
  int sum = 0;
  bool double_it = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    int d = *it - '0';
    if (double_it) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double_it = !double_it;
  }
  return sum % 10 == 0;
}

std::string WithLuhnDigit(std::string_view digits) {
  int sum = 0;
  bool double_it = true;  // the check digit to come takes the rightmost place
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    int d = *it - '0';
    if (double_it && (d *= 2) > 9) d -= 9;
    sum += d;
    double_it = !double_it;
  }
  std::string out(digits);
  out.push_back(static_cast<char>('0' + (10 - sum % 10) % 10));
  return out;
}

Status CheckNir(std::string_view nir) {
  // The value is never echoed: a NIR identifies a person.
  if (nir.size() != 15) {
    return Status::InvalidArgument("a NIR has 15 characters (13 + a 2-digit key), got " +
                                   std::to_string(nir.size()));
  }
  std::string number(nir.substr(0, 13));
  const std::string_view key = nir.substr(13, 2);
  if (number[0] != '1' && number[0] != '2' && number[0] != '3' && number[0] != '4' &&
      number[0] != '7' && number[0] != '8') {
    return Status::InvalidArgument(
        "a NIR starts with 1, 2 (sex) or 3, 4, 7, 8 (temporary numbers)");
  }
  const std::string_view dept = std::string_view(number).substr(5, 2);
  if (dept == "2A" || dept == "2a") {
    number.replace(5, 2, "19");
  } else if (dept == "2B" || dept == "2b") {
    number.replace(5, 2, "18");
  }
  if (!AllDigits(number)) {
    return Status::InvalidArgument(
        "a NIR has digits only, except 2A or 2B as département (characters 6-7)");
  }
  if (!AllDigits(key))
    return Status::InvalidArgument("a NIR's key (last 2 characters) is 2 digits");
  const uint64_t value = std::stoull(number);
  const int expected = 97 - static_cast<int>(value % 97);
  if (std::stoi(std::string(key)) != expected) {
    return Status::InvalidArgument("the NIR's key does not match (key = 97 - number mod 97)");
  }
  return Status::Ok();
}

Status CheckRpps(std::string_view rpps) {
  if (rpps.size() != 11 || !AllDigits(rpps)) {
    return Status::InvalidArgument(Quoted(rpps) + " is not an RPPS number (11 digits)");
  }
  if (!LuhnValid(rpps)) {
    return Status::InvalidArgument(Quoted(rpps) + " is not a valid RPPS number (Luhn check digit)");
  }
  return Status::Ok();
}

Status CheckAdeli(std::string_view adeli) {
  if (adeli.size() != 9 || !AllDigits(adeli)) {
    return Status::InvalidArgument(Quoted(adeli) + " is not an ADELI number (9 digits)");
  }
  if (!LuhnValid(adeli)) {
    return Status::InvalidArgument(Quoted(adeli) +
                                   " is not a valid ADELI number (Luhn check digit)");
  }
  return Status::Ok();
}

Status CheckFiness(std::string_view finess) {
  if (finess.size() != 9) {
    return Status::InvalidArgument(Quoted(finess) + " is not a FINESS number (9 characters)");
  }
  const std::string_view dept = finess.substr(0, 2);
  if (dept == "2A" || dept == "2B") {
    if (!AllDigits(finess.substr(2))) {
      return Status::InvalidArgument(Quoted(finess) +
                                     " is not a FINESS number (2A/2B then 7 digits)");
    }
    return Status::Ok();
  }
  if (!AllDigits(finess)) {
    return Status::InvalidArgument(Quoted(finess) +
                                   " is not a FINESS number (9 digits, or 2A/2B then 7 digits)");
  }
  if (!LuhnValid(finess)) {
    return Status::InvalidArgument(Quoted(finess) +
                                   " is not a valid FINESS number (Luhn check digit)");
  }
  return Status::Ok();
}

Status CheckInseeCommune(std::string_view code) {
  const bool corsica = code.size() == 5 &&
                       (code.substr(0, 2) == "2A" || code.substr(0, 2) == "2B") &&
                       AllDigits(code.substr(2));
  if (code.size() != 5 || !(AllDigits(code) || corsica)) {
    return Status::InvalidArgument(
        Quoted(code) + " is not an INSEE commune code (5 digits, or 2A/2B then 3 digits)");
  }
  if (code.substr(0, 2) == "20") {
    return Status::InvalidArgument(Quoted(code) +
                                   " is not an INSEE commune code (Corsica is 2A or 2B, not 20)");
  }
  return Status::Ok();
}

}  // namespace cpts::ids
