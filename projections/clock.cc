#include "projections/clock.h"

#include <chrono>
#include <cstdio>

namespace cpts::projections {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct Civil {
  int64_t year;
  unsigned month;
  unsigned day;
};

Civil CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d};
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at `pos`.
bool Digits(std::string_view s, size_t pos, size_t n, int64_t* out) {
  if (pos + n > s.size()) return false;
  int64_t v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// The last Sunday of `month` in `year`, 01:00 UTC: when EU summer time starts or ends.
int64_t LastSundayOneUtc(int64_t year, unsigned month) {
  const int64_t last = DaysFromCivil(year, month, DaysInMonth(year, month));
  const int64_t weekday = ((last % 7) + 7 + 4) % 7;  // 1970-01-01 was a Thursday (4); Sunday = 0
  return (last - weekday) * kDayMs + kHourMs;
}

}  // namespace

std::optional<int64_t> ParseDateMs(std::string_view text) {
  int64_t y, m, d;
  if (text.size() != 10 || !Digits(text, 0, 4, &y) || text[4] != '-' || !Digits(text, 5, 2, &m) ||
      text[7] != '-' || !Digits(text, 8, 2, &d) || m < 1 || m > 12 || d < 1 ||
      d > DaysInMonth(y, static_cast<unsigned>(m))) {
    return std::nullopt;
  }
  return DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d)) * kDayMs;
}

std::optional<int64_t> ParseTimestampMs(std::string_view text) {
  if (text.size() < 20 || text[10] != 'T') return std::nullopt;
  const std::optional<int64_t> day = ParseDateMs(text.substr(0, 10));
  int64_t hh, mm, ss;
  if (!day || !Digits(text, 11, 2, &hh) || text[13] != ':' || !Digits(text, 14, 2, &mm) ||
      text[16] != ':' || !Digits(text, 17, 2, &ss) || hh > 23 || mm > 59 || ss > 59) {
    return std::nullopt;
  }
  size_t pos = 19;
  int64_t millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    size_t digits = 0;
    for (++pos; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos, ++digits) {
      if (digits < 3) millis = millis * 10 + (text[pos] - '0');
    }
    if (digits == 0 || digits > 9) return std::nullopt;
    for (; digits < 3; ++digits) millis *= 10;
  }
  int64_t offset_ms = 0;
  if (pos + 1 == text.size() && text[pos] == 'Z') {
    offset_ms = 0;
  } else if (pos + 6 == text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int64_t oh, om;
    if (!Digits(text, pos + 1, 2, &oh) || text[pos + 3] != ':' || !Digits(text, pos + 4, 2, &om) ||
        oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_ms = (oh * 60 + om) * 60'000 * (text[pos] == '+' ? 1 : -1);
  } else {
    return std::nullopt;
  }
  return *day + ((hh * 60 + mm) * 60 + ss) * 1000 + millis - offset_ms;
}

std::string FormatUtcMs(int64_t ms) {
  const int64_t days = FloorDiv(ms, kDayMs);
  const int64_t in_day = ms - days * kDayMs;
  const Civil c = CivilFromDays(days);
  char out[64];
  std::snprintf(out, sizeof out, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(c.year), c.month, c.day,
                static_cast<long long>(in_day / kHourMs),
                static_cast<long long>(in_day / 60'000 % 60),
                static_cast<long long>(in_day / 1000 % 60), static_cast<long long>(in_day % 1000));
  return out;
}

int64_t ParisOffsetMs(int64_t ms) {
  const int64_t year = CivilFromDays(FloorDiv(ms, kDayMs)).year;
  const bool summer = ms >= LastSundayOneUtc(year, 3) && ms < LastSundayOneUtc(year, 10);
  return summer ? 2 * kHourMs : kHourMs;
}

std::string ParisDate(int64_t ms) { return FormatUtcMs(ms + ParisOffsetMs(ms)).substr(0, 10); }

std::string ParisMonth(int64_t ms) { return ParisDate(ms).substr(0, 7); }

int64_t EndOfParisDayMs(int64_t ms) {
  const int64_t local_day = FloorDiv(ms + ParisOffsetMs(ms), kDayMs);
  const int64_t next_local_midnight = (local_day + 1) * kDayMs;  // as if it were UTC
  // Summer time starts and ends at 01:00 UTC (02:00 or 03:00 in Paris), never at midnight, so
  // the offset an hour or two before the UTC reading is the offset in force at local midnight.
  return next_local_midnight - ParisOffsetMs(next_local_midnight - 2 * kHourMs);
}

int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace cpts::projections
