#pragma once
// Time for the read models: instants as milliseconds since the Unix epoch (UTC), parsed from the
// RFC 3339 timestamps events carry, and the civil calendar of metropolitan France, where
// deadlines such as "the médecin traitant is informed the same day" are counted.
//
// Europe/Paris is computed here rather than through the C++20 time-zone database: Debian 12's
// libstdc++ (GCC 12) does not ship std::chrono::locate_zone. The rule is the EU one in force
// since 1996: UTC+1, and UTC+2 from the last Sunday of March 01:00 UTC to the last Sunday of
// October 01:00 UTC. Earlier instants use the same rule (no CPTS existed before 2016).
// Thread-safety: pure functions.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cpts::projections {

inline constexpr int64_t kHourMs = 3'600'000;
inline constexpr int64_t kDayMs = 24 * kHourMs;

// "2026-11-22T16:05:00+01:00", "2026-11-22T15:05:00.123Z" (any fraction, truncated to the
// millisecond); nullopt when not an RFC 3339 timestamp with a zone.
std::optional<int64_t> ParseTimestampMs(std::string_view text);
// "YYYY-MM-DD" as the UTC midnight starting that day; nullopt when not a date that exists.
std::optional<int64_t> ParseDateMs(std::string_view text);

// Now, from the system's clock.
int64_t WallClockMs();

// "2026-11-22T15:05:00.123Z": the envelope's format, which sorts like the instants it names.
std::string FormatUtcMs(int64_t ms);

// The offset of Paris civil time from UTC at instant `ms`: one or two hours.
int64_t ParisOffsetMs(int64_t ms);
// The Paris civil date of instant `ms`, "2026-11-22".
std::string ParisDate(int64_t ms);
// The Paris civil month of instant `ms`, "2026-11".
std::string ParisMonth(int64_t ms);
// The first instant of the Paris civil day after the one holding `ms` (the "same day" deadline
// is strictly before it).
int64_t EndOfParisDayMs(int64_t ms);

}  // namespace cpts::projections
