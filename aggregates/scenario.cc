// The scenario is a discrete-event simulation: each CPTS runs a handful of processes (patients
// calling for a GP, hospital stays, unscheduled-care requests, campaigns, membership changes),
// each a Poisson process shaped by the hour of the week, whose events schedule what follows
// (a referral's answer, a follow-up's acknowledgement...). One queue orders every task of every
// CPTS by simulated time; a task yields at most one command.
//
// The simulation keeps its own model of each CPTS (members, GP capacity, open requests,
// referrals, discharges) rather than asking the deciders: it must stay pure and cheap, and it
// is the model of what people believe, which is why a few of their commands get refused.
#include "aggregates/scenario.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <queue>
#include <set>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "events/envelope.h"
#include "events/identifiers.h"
#include "events/log.h"
#include "events/pseudonym.h"

namespace cpts::aggregates {
namespace {

using json = ::cpts::Json;

// ---------------------------------------------------------------------------------------------
// Random numbers. Our own generator and distributions: the std:: distributions are not specified
// bit for bit, and a seed must give the same scenario with every standard library.

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (uint64_t& s : s_) s = SplitMix(seed);
  }
  // xoshiro256** (Blackman and Vigna).
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }  // [0, 1)
  bool Chance(double p) { return Uniform() < p; }
  int64_t Between(int64_t lo, int64_t hi) {  // inclusive
    return lo + static_cast<int64_t>(Next() % static_cast<uint64_t>(hi - lo + 1));
  }
  size_t Index(size_t n) { return static_cast<size_t>(Next() % n); }
  double Exponential(double mean) { return -mean * std::log1p(-Uniform()); }
  double Normal() {  // Box-Muller
    const double u1 = 1.0 - Uniform();
    const double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  double LogNormal(double median, double sigma) { return median * std::exp(sigma * Normal()); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Index(v.size())];
  }
  // An index drawn with the given weights (not necessarily summing to 1).
  size_t Weighted(std::initializer_list<double> weights) {
    double total = 0;
    for (double w : weights) total += w;
    double x = Uniform() * total;
    size_t i = 0;
    for (double w : weights) {
      if (x < w) return i;
      x -= w;
      ++i;
    }
    return weights.size() - 1;
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t SplitMix(uint64_t& x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t s_[4];
};

// ---------------------------------------------------------------------------------------------
// Time: milliseconds since the epoch, UTC; people live in Europe/Paris time.

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

int64_t DaysFromCivil(int y, unsigned m, unsigned d) {
  using namespace std::chrono;
  return sys_days{year{y} / month{m} / day{d}}.time_since_epoch().count();
}

// The EU rule (since 1996): summer time from the last Sunday of March to the last Sunday of
// October, switching at 01:00 UTC.
int64_t LastSundayAt1Utc(int y, unsigned m) {
  using namespace std::chrono;
  const sys_days last{year{y} / month{m} / Sunday[std::chrono::last]};
  return last.time_since_epoch().count() * kDay + kHour;
}

int ParisOffsetMinutes(int64_t utc_ms) {
  using namespace std::chrono;
  const year_month_day ymd{sys_days{days{FloorDiv(utc_ms, kDay)}}};
  const int y = static_cast<int>(ymd.year());
  const bool summer = utc_ms >= LastSundayAt1Utc(y, 3) && utc_ms < LastSundayAt1Utc(y, 10);
  return summer ? 120 : 60;
}

struct LocalTime {
  int year = 0;
  unsigned month = 0, day = 0;
  int hour = 0, minute = 0, second = 0;
  int weekday = 0;   // 0 = Monday ... 6 = Sunday
  int64_t days = 0;  // the local date, as days since 1970-01-01
  int offset = 60;   // minutes east of UTC
  double hours() const { return hour + minute / 60.0; }
};

LocalTime ToLocal(int64_t utc_ms) {
  using namespace std::chrono;
  LocalTime t;
  t.offset = ParisOffsetMinutes(utc_ms);
  const int64_t local = utc_ms + t.offset * kMinute;
  t.days = FloorDiv(local, kDay);
  const sys_days day_point{days{t.days}};
  const year_month_day ymd{day_point};
  t.year = static_cast<int>(ymd.year());
  t.month = static_cast<unsigned>(ymd.month());
  t.day = static_cast<unsigned>(ymd.day());
  const int64_t in_day = local - t.days * kDay;
  t.hour = static_cast<int>(in_day / kHour);
  t.minute = static_cast<int>(in_day % kHour / kMinute);
  t.second = static_cast<int>(in_day % kMinute / kSecond);
  t.weekday = static_cast<int>(weekday{day_point}.iso_encoding()) - 1;
  return t;
}

// The UTC instant of a Paris wall-clock time (the earlier one when the clock goes back).
int64_t FromLocal(int64_t local_days, int hour, int minute) {
  const int64_t local = local_days * kDay + hour * kHour + minute * kMinute;
  const int64_t guess = local - ParisOffsetMinutes(local - kHour) * kMinute;
  return local - ParisOffsetMinutes(guess) * kMinute;
}

// "2026-11-20T17:45:00+01:00": how hospitals and professionals' software write times.
std::string FormatLocal(int64_t utc_ms) {
  const LocalTime t = ToLocal(utc_ms);
  char out[40];
  std::snprintf(out, sizeof out, "%04d-%02u-%02uT%02d:%02d:%02d+%02d:00", t.year, t.month, t.day,
                t.hour, t.minute, t.second, t.offset / 60);
  return out;
}

std::string FormatDate(int64_t local_days) {
  using namespace std::chrono;
  const year_month_day ymd{sys_days{days{local_days}}};
  char out[16];
  std::snprintf(out, sizeof out, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return out;
}

// Five years of contract: from `starts` to the day before the same date five years on.
int64_t FiveYearsLater(int64_t local_days) {
  using namespace std::chrono;
  const year_month_day ymd{sys_days{days{local_days}}};
  year_month_day end = ymd + years{5};
  if (!end.ok()) end = ymd.year() / ymd.month() / last;  // 29 February
  return sys_days{end}.time_since_epoch().count() - 1;
}

// French public holidays: nobody answers the CPTS phone, surgeries are mostly closed.
bool IsPublicHoliday(const LocalTime& t) {
  static constexpr std::pair<unsigned, unsigned> kFixed[] = {{1, 1},  {5, 1},  {5, 8},   {7, 14},
                                                             {8, 15}, {11, 1}, {11, 11}, {12, 25}};
  for (const auto& [m, d] : kFixed) {
    if (t.month == m && t.day == d) return true;
  }
  // Easter Sunday (anonymous Gregorian algorithm), then Monday, Ascension and Whit Monday.
  const int y = t.year, a = y % 19, b = y / 100, c = y % 100, d = b / 4, e = b % 4;
  const int f = (b + 8) / 25, g = (b - f + 1) / 3, h = (19 * a + b - d - g + 15) % 30;
  const int i = c / 4, k = c % 4, l = (32 + 2 * e + 2 * i - h - k) % 7;
  const int m = (a + 11 * h + 22 * l) / 451;
  const unsigned month = static_cast<unsigned>((h + l - 7 * m + 114) / 31);
  const unsigned day = static_cast<unsigned>((h + l - 7 * m + 114) % 31 + 1);
  const int64_t easter = DaysFromCivil(y, month, day);
  return t.days == easter + 1 || t.days == easter + 39 || t.days == easter + 50;
}

// Who keeps which hours. Activity() is the share of full activity at a local time.
enum class Hours {
  kOffice,      // the CPTS coordinator: working days, office hours, quieter in August
  kSurgery,     // professionals: long days, Saturday mornings, a little admin in the evening
  kAdmission,   // hospital admissions: around the clock, emergencies at night
  kDischarge,   // hospital discharges: mostly afternoons, Friday evenings, fewer at weekends
  kCareDemand,  // unscheduled-care requests: daytime, evenings, some at weekends
  kSite,        // prevention sites: daytime, Saturday mornings
};

double PeakActivity(Hours hours) { return hours == Hours::kDischarge ? 1.35 : 1.0; }

double Activity(Hours hours, const LocalTime& t) {
  const double h = t.hours();
  const bool weekend = t.weekday >= 5;
  const bool holiday = IsPublicHoliday(t);
  switch (hours) {
    case Hours::kOffice: {
      if (weekend || holiday) return 0;
      double a = (h >= 8.5 && h < 12.5) || (h >= 13.5 && h < 18) ? 1.0
                 : (h >= 12.5 && h < 13.5)                       ? 0.2
                 : (h >= 18 && h < 19.5)                         ? 0.25
                                                                 : 0;
      if (t.month == 8) a *= 0.6;  // holidays: one coordinator out of two
      return a;
    }
    case Hours::kSurgery: {
      if (t.weekday == 6 || holiday) return h >= 9 && h < 12 ? 0.05 : 0.005;
      if (t.weekday == 5) return h >= 8 && h < 12.5 ? 0.5 : (h >= 12.5 && h < 18 ? 0.1 : 0.005);
      return (h >= 8 && h < 12) || (h >= 14 && h < 19.5) ? 1.0
             : (h >= 12 && h < 14)                       ? 0.4
             : (h >= 19.5 && h < 22)                     ? 0.3
             : (h >= 7 && h < 8)                         ? 0.3
                                                         : 0.01;
    }
    case Hours::kAdmission: {
      const double a = h < 7 ? 0.3 : h < 9 ? 0.7 : h < 19 ? 1.0 : 0.55;
      return weekend || holiday ? a * 0.75 : a;
    }
    case Hours::kDischarge: {
      double a = h < 7    ? 0.03
                 : h < 9  ? 0.15
                 : h < 12 ? 0.8
                 : h < 14 ? 0.6
                 : h < 18 ? 1.0
                 : h < 21 ? 0.4
                          : 0.08;
      if (t.weekday == 4 && h >= 14 && h < 21) a *= 1.35;  // Friday: beds freed for the weekend
      return weekend || holiday ? a * 0.45 : a;
    }
    case Hours::kCareDemand: {
      if (h < 7) return 0.02;
      if (weekend || holiday) return h < 13 ? 0.6 : (h < 20 ? 0.25 : 0.05);
      return h < 19 ? 1.0 : (h < 22 ? 0.3 : 0.05);
    }
    case Hours::kSite: {
      if (t.weekday == 6 || holiday) return 0.02;
      if (t.weekday == 5) return h >= 9 && h < 13 ? 0.8 : 0.02;
      return h >= 9 && h < 18.5 ? 1.0 : (h >= 8 && h < 9 ? 0.4 : 0.01);
    }
  }
  return 0;
}

double Activity(Hours hours, int64_t utc_ms) { return Activity(hours, ToLocal(utc_ms)); }

// The mean activity over an ordinary week (no holiday), so that yearly rates come out right.
double MeanActivity(Hours hours) {
  const int64_t monday = FromLocal(DaysFromCivil(2026, 3, 2), 0, 0);  // an ordinary week
  double sum = 0;
  int n = 0;
  for (int64_t t = monday; t < monday + 7 * kDay; t += 10 * kMinute, ++n) sum += Activity(hours, t);
  return sum / n;
}

// ---------------------------------------------------------------------------------------------
// Identifiers (events/identifiers.h states the rules).

std::string Digits(uint64_t value, int width) {
  std::string s = std::to_string(value);
  if (static_cast<int>(s.size()) < width) s.insert(0, static_cast<size_t>(width) - s.size(), '0');
  return s.substr(s.size() - static_cast<size_t>(width));
}

// Serial numbers scrambled so they look issued over decades rather than counted: multiplying by
// a number prime to 10 is a bijection modulo a power of ten, so they stay unique.
uint64_t Scramble(uint64_t serial, uint64_t modulus) { return serial * 7'340'033ULL % modulus; }

// A NIR: sex, birth year and month, birth département and commune, order number, key. The
// birth place is a 5-character INSEE code (2A/2B for Corsica, 99xxx born abroad).
std::string Nir(int sex, int birth_year, int birth_month, std::string_view birth_place, int order) {
  std::string nir = std::to_string(sex) + Digits(static_cast<uint64_t>(birth_year % 100), 2) +
                    Digits(static_cast<uint64_t>(birth_month), 2) + std::string(birth_place) +
                    Digits(static_cast<uint64_t>(order), 3);
  std::string number = nir;
  if (number.compare(5, 2, "2A") == 0) number.replace(5, 2, "19");
  if (number.compare(5, 2, "2B") == 0) number.replace(5, 2, "18");
  const uint64_t key = 97 - std::stoull(number) % 97;
  return nir + Digits(key, 2);
}

// ---------------------------------------------------------------------------------------------
// The catalogue of CPTS.

struct Profile {
  std::string id;
  std::string name;
  std::string region;
  int64_t population = 0;
  std::string main_code;  // the chief town's INSEE code
  std::string main_name;
  std::vector<std::string> depts;  // where the other communes of the territory lie
  int communes = 0;                // the territory's size
  double main_share = 0.3;         // of the population living in the chief town
  std::string aci_signed;          // the first ACI's signature; empty: signed during the run
  std::string hospital;            // its hospital; empty: "Centre hospitalier de <main_name>"
  std::string hospital_finess;     // empty: generated
  std::string clinic;              // empty: none
};

// The seeds' territories first (DOMAIN.md, ../shared/seeds), then plausible neighbours: names,
// chief towns and their INSEE codes are real, populations and dates plausible. Ids were picked
// among natural spellings so that murmur2 puts each CPTS on its own partition of 64 (and, of 16,
// none beside the largest): log::PartitionForKey routes a stream by its id, and a benchmark
// should not find two big streams sharing one partition by accident.
const std::vector<Profile>& Catalogue() {
  // One CPTS per entry reads better than one field per line: id, name, region, population,
  // chief town (INSEE code, name), départements, communes, share living in the chief town,
  // first ACI signed, hospital, its FINESS, clinic.
  // clang-format off
  static const auto* const kProfiles = new std::vector<Profile>{
      {"cpts-haut-doubs", "CPTS du Haut-Doubs", "27", 68'000,
       "25462", "Pontarlier", {"25"}, 92, 0.27, "2020-10-02",
       "Centre hospitalier intercommunal de Haute-Comté", "250000452", "Clinique Saint-Pierre"},
      {"cpts-grand-besancon", "CPTS du Grand Besançon", "27", 198'000,
       "25056", "Besançon", {"25"}, 68, 0.58, "2023-03-09",
       "Centre hospitalier régional universitaire de Besançon", "250000015",
       "Polyclinique de Franche-Comté"},
      {"cpts-bassin-vesulien", "CPTS du Bassin vésulien", "27", 83'000,
       "70550", "Vesoul", {"70"}, 205, 0.18, "2022-05-06",
       "Groupe hospitalier de la Haute-Saône", "", ""},
      {"cpts-luxeuil", "CPTS du territoire de Luxeuil", "27", 43'000,
       "70311", "Luxeuil-les-Bains", {"70"}, 98, 0.16, "2022-05-06",
       "Groupe hospitalier de la Haute-Saône, site de Luxeuil", "", ""},
      {"cpts-atlantique-nord-loire", "CPTS Atlantique Nord Loire", "52", 76'000,
       "44184", "Saint-Nazaire", {"44"}, 14, 0.35, "2020-11-18",
       "Centre hospitalier de Saint-Nazaire", "", "Clinique mutualiste de l'Estuaire"},
      {"cpts-nord-franche-comte", "CPTS de l'Aire urbaine Nord Franche-Comté", "27", 296'000,
       "90010", "Belfort", {"90", "25", "70"}, 150, 0.16, "2021-06-24",
       "Hôpital Nord Franche-Comté", "", "Clinique de la Miotte"},
      {"cpts-haut-jura", "CPTS du Haut-Jura", "27", 34'000,
       "39478", "Saint-Claude", {"39"}, 45, 0.25, "2021-09-30",
       "Centre hospitalier Louis Jaillon", "", ""},
      {"cpts-dijon-metropole", "CPTS Dijon Métropole", "27", 252'000,
       "21231", "Dijon", {"21"}, 23, 0.62, "2021-12-16",
       "Centre hospitalier universitaire Dijon Bourgogne", "210780581", "Clinique de Valmy"},
      {"cpts-grand-chalon", "CPTS du Grand Chalon", "27", 118'000,
       "71076", "Chalon-sur-Saône", {"71"}, 51, 0.38, "2022-02-10",
       "Centre hospitalier William Morey", "", "Polyclinique du Val de Saône"},
      {"cpts-loire-val-yonne-morvan", "CPTS Loire-Val d'Yonne-Morvan", "27", 31'000,
       "58079", "Clamecy", {"58"}, 70, 0.12, "2020-06-25",
       "Centre hospitalier de Clamecy", "", ""},
      {"cpts-grand-auxerrois", "CPTS du Grand Auxerrois", "27", 96'000,
       "89024", "Auxerre", {"89"}, 60, 0.36, "2022-09-22",
       "Centre hospitalier d'Auxerre", "", "Clinique Sainte-Marguerite"},
      {"cpts-lons-le-saunier", "CPTS du Bassin lédonien", "27", 62'000,
       "39300", "Lons-le-Saunier", {"39"}, 110, 0.27, "2022-11-17",
       "Centre hospitalier Jura Sud", "", "Polyclinique du Parc"},
      {"cpts-maconnais", "CPTS du Mâconnais", "27", 104'000,
       "71270", "Mâcon", {"71"}, 70, 0.33, "2022-06-30",
       "Centre hospitalier de Mâcon", "", "Clinique du Val Fleuri"},
      {"cpts-chatillonnais", "CPTS du Châtillonnais", "27", 26'000,
       "21154", "Châtillon-sur-Seine", {"21"}, 105, 0.21, "",
       "Centre hospitalier de Châtillon-sur-Seine", "", ""},
      {"cpts-beaune", "CPTS Beaune Côte et Sud", "27", 55'000,
       "21054", "Beaune", {"21"}, 55, 0.39, "2023-01-26",
       "Hospices civils de Beaune", "", ""},
      {"cpts-nevers", "CPTS Nevers Val de Loire", "27", 88'000,
       "58194", "Nevers", {"58"}, 40, 0.37, "2021-11-18",
       "Centre hospitalier de l'agglomération de Nevers", "", "Polyclinique du Val de Loire"},
      {"cpts-grand-dole", "CPTS du Grand Dole", "27", 82'000,
       "39198", "Dole", {"39"}, 60, 0.29, "2022-03-24",
       "Centre hospitalier Louis Pasteur", "", ""},
      {"cpts-sens", "CPTS du Sénonais", "27", 85'000,
       "89387", "Sens", {"89"}, 50, 0.31, "2023-06-15",
       "Centre hospitalier de Sens", "", "Clinique de Champagne"},
      {"cpts-creusot-montceau-les-mines", "CPTS Creusot-Montceau", "27", 74'000,
       "71153", "Le Creusot", {"71"}, 34, 0.29, "2022-12-08",
       "Hôtel-Dieu du Creusot", "", ""},
      {"cpts-val-de-saone-gray", "CPTS Val de Saône - Gray", "27", 41'000,
       "70279", "Gray", {"70"}, 95, 0.14, "2023-10-12",
       "Groupe hospitalier de la Haute-Saône, site de Gray", "", ""},
      {"cpts-autunois-morvan", "CPTS Autunois-Morvan", "27", 45'000,
       "71014", "Autun", {"71"}, 62, 0.31, "",
       "Centre hospitalier d'Autun", "", ""},
      {"cpts-lure", "CPTS du Pays de Lure", "27", 48'000,
       "70310", "Lure", {"70"}, 88, 0.17, "2024-02-08",
       "Groupe hospitalier de la Haute-Saône, site de Lure", "", ""},
      {"cpts-du-charolais-brionnais", "CPTS Charolais-Brionnais", "27", 52'000,
       "71342", "Paray-le-Monial", {"71"}, 100, 0.17, "2021-05-20",
       "Centre hospitalier de Paray-le-Monial", "", ""},
      {"cpts-remiremont", "CPTS des Hautes-Vosges", "44", 66'000,
       "88383", "Remiremont", {"88"}, 55, 0.12, "2022-10-06",
       "Centre hospitalier de Remiremont", "", ""},
      {"cpts-pays-de-gex", "CPTS du Pays de Gex", "84", 78'000,
       "01173", "Gex", {"01"}, 27, 0.17, "2023-04-13",
       "Centre hospitalier du Pays de Gex", "", ""},
      {"cpts-pays-ajaccien", "CPTS du Pays ajaccien", "94", 112'000,
       "2A004", "Ajaccio", {"2A"}, 40, 0.63, "2022-07-07",
       "Centre hospitalier d'Ajaccio", "", "Clinique du Golfe"},
      {"cpts-avallonnais", "CPTS de l'Avallonnais", "27", 29'000,
       "89025", "Avallon", {"89"}, 75, 0.24, "2024-05-23",
       "Centre hospitalier d'Avallon", "", ""},
      {"cpts-bresse-louhannaise", "CPTS de la Bresse louhannaise", "27", 38'000,
       "71263", "Louhans", {"71"}, 68, 0.17, "",
       "Centre hospitalier de Louhans", "", ""},
      {"cpts-jovinien", "CPTS du Jovinien", "27", 47'000,
       "89206", "Joigny", {"89"}, 45, 0.21, "2023-12-14",
       "Centre hospitalier de Joigny", "", ""},
      {"cpts-plateau-champagnole", "CPTS du Plateau de Champagnole", "27", 27'000,
       "39097", "Champagnole", {"39"}, 80, 0.29, "2024-09-19",
       "Centre hospitalier de Champagnole", "", ""},
  };
  // clang-format on
  return *kProfiles;
}

struct Department {
  std::string_view code;
  std::string_view region;
  std::string_view of_name;  // "du Doubs": after CPAM, DAC...
  int max_commune;           // highest commune number in use, roughly
};

constexpr Department kDepartments[] = {
    {"01", "84", "de l'Ain", 450},
    {"21", "27", "de la Côte-d'Or", 720},
    {"25", "27", "du Doubs", 630},
    {"39", "27", "du Jura", 590},
    {"44", "52", "de la Loire-Atlantique", 225},
    {"58", "27", "de la Nièvre", 310},
    {"70", "27", "de la Haute-Saône", 580},
    {"71", "27", "de Saône-et-Loire", 590},
    {"88", "44", "des Vosges", 530},
    {"89", "27", "de l'Yonne", 480},
    {"90", "27", "du Territoire de Belfort", 125},
    {"2A", "94", "de la Corse-du-Sud", 360},
    // Beyond the catalogue: generated territories in other regions.
    {"77", "11", "de Seine-et-Marne", 530},
    {"35", "53", "d'Ille-et-Vilaine", 360},
    {"33", "75", "de la Gironde", 560},
    {"31", "76", "de la Haute-Garonne", 590},
    {"14", "28", "du Calvados", 770},
    {"59", "32", "du Nord", 670},
    {"37", "24", "d'Indre-et-Loire", 280},
    {"83", "93", "du Var", 155},
    {"38", "84", "de l'Isère", 570},
};
constexpr int kCatalogueDepartments = 12;  // the first ones: the catalogue's

const Department& FindDepartment(std::string_view code) {
  for (const Department& d : kDepartments) {
    if (d.code == code) return d;
  }
  return kDepartments[2];
}

std::string_view ArsName(std::string_view region) {
  if (region == "27") return "ARS Bourgogne-Franche-Comté";
  if (region == "52") return "ARS Pays de la Loire";
  if (region == "44") return "ARS Grand Est";
  if (region == "84") return "ARS Auvergne-Rhône-Alpes";
  if (region == "94") return "ARS de Corse";
  if (region == "11") return "ARS Île-de-France";
  if (region == "53") return "ARS Bretagne";
  if (region == "75") return "ARS Nouvelle-Aquitaine";
  if (region == "76") return "ARS Occitanie";
  if (region == "28") return "ARS Normandie";
  if (region == "32") return "ARS Hauts-de-France";
  if (region == "24") return "ARS Centre-Val de Loire";
  return "ARS Provence-Alpes-Côte d'Azur";
}

// The reference hospital of a département: where residents go for what their local hospital
// does not do. Real FINESS numbers (Luhn-valid).
std::pair<std::string_view, std::string_view> ReferenceHospital(std::string_view dept) {
  if (dept == "25" || dept == "39" || dept == "70" || dept == "90") {
    return {"250000015", "Centre hospitalier régional universitaire de Besançon"};
  }
  if (dept == "21" || dept == "58" || dept == "71" || dept == "89") {
    return {"210780581", "Centre hospitalier universitaire Dijon Bourgogne"};
  }
  if (dept == "44") return {"440000289", "Centre hospitalier universitaire de Nantes"};
  if (dept == "88") return {"540002078", "Centre hospitalier régional universitaire de Nancy"};
  if (dept == "01") return {"740781133", "Centre hospitalier Annecy Genevois"};
  if (dept == "2A") return {"130786049", "Assistance publique - Hôpitaux de Marseille"};
  return {"", ""};  // generated territories: their own hospital only
}

// Territories beyond the catalogue (index 30 and up) lie in other regions, in turn.
const Department& GeneratedDepartment(int index) {
  return kDepartments[kCatalogueDepartments +
                      static_cast<size_t>(index) %
                          (std::size(kDepartments) - kCatalogueDepartments)];
}

std::string GeneratedId(int index, int sector) {
  return "cpts-" + std::string(GeneratedDepartment(index).code) + "-secteur-" +
         std::to_string(sector);
}

// A territory beyond the catalogue, named "secteur <sector>".
Profile GeneratedProfile(int index, int sector) {
  Rng rng(0x5ce7a210ULL + static_cast<uint64_t>(index));  // fixed: the same whatever the seed
  const Department& dept = GeneratedDepartment(index);
  Profile p;
  const std::string n = std::to_string(sector);
  p.id = GeneratedId(index, sector);
  p.name = "CPTS du secteur " + n + " " + std::string(dept.of_name);
  p.region = std::string(dept.region);
  // Log-uniform from 25,000 to 300,000: every size category turns up.
  p.population = static_cast<int64_t>(25'000 * std::exp(rng.Uniform() * std::log(12.0)));
  p.main_code = std::string(dept.code) + Digits(static_cast<uint64_t>(rng.Between(1, 99)), 3);
  p.main_name = "Chef-lieu du secteur " + n;
  p.depts = {std::string(dept.code)};
  p.communes = static_cast<int>(rng.Between(12, 120));
  p.main_share = 0.15 + 0.4 * rng.Uniform();
  p.aci_signed = FormatDate(DaysFromCivil(2021, 1, 1) + rng.Between(0, 4 * 365));
  p.hospital = "Centre hospitalier du secteur " + n;
  return p;
}

// ---------------------------------------------------------------------------------------------
// Names and words.

const std::vector<std::string_view> kFirstNames = {
    "Marie",    "Nathalie", "Isabelle",  "Sylvie",  "Catherine", "Sophie",    "Christine",
    "Céline",   "Julie",    "Camille",   "Claire",  "Émilie",    "Laure",     "Anne",
    "Aurélie",  "Sandrine", "Pauline",   "Léa",     "Manon",     "Chloé",     "Hélène",
    "Agnès",    "Jean",     "Pierre",    "Michel",  "Philippe",  "Alain",     "Nicolas",
    "François", "Laurent",  "Olivier",   "Thomas",  "Julien",    "Sébastien", "Antoine",
    "Mathieu",  "Vincent",  "Guillaume", "Romain",  "Maxime",    "Benoît",    "Hugo",
    "Lucas",    "Xavier",   "Damien",    "Yannick", "Thierry",   "Denis"};
const std::vector<std::string_view> kLastNames = {
    "Martin",   "Bernard", "Dubois",   "Thomas",    "Robert",   "Richard", "Petit",     "Durand",
    "Leroy",    "Moreau",  "Simon",    "Laurent",   "Lefebvre", "Michel",  "Garcia",    "David",
    "Bertrand", "Roux",    "Vincent",  "Fournier",  "Morel",    "Girard",  "André",     "Mercier",
    "Dupont",   "Lambert", "Bonnet",   "François",  "Martinez", "Legrand", "Garnier",   "Faure",
    "Rousseau", "Blanc",   "Guerin",   "Muller",    "Henry",    "Roussel", "Nicolas",   "Perrin",
    "Morin",    "Mathieu", "Clement",  "Gauthier",  "Dumont",   "Lopez",   "Fontaine",  "Chevalier",
    "Robin",    "Masson",  "Sanchez",  "Bourgeois", "Jeunet",   "Cuenot",  "Vuillemin", "Bouveret",
    "Jacquot",  "Cretin",  "Grosjean", "Tissot",    "Bailly",   "Pernot",  "Boillot",   "Cuynet",
    "Faivre",   "Mougin",  "Guyon",    "Perrot",    "Chopard",  "Marchal"};

enum Prof : int {
  kGp,
  kNurse,
  kPharmacist,
  kPhysio,
  kMidwife,
  kSpeech,
  kPodiatrist,
  kPsychologist,
  kDentist,
  kPaediatrician,
  kSpecialist,
  kOtherProf,
  kProfCount
};
constexpr std::string_view kProfessions[kProfCount] = {
    "general_practitioner", "nurse",      "pharmacist",   "physiotherapist", "midwife",
    "speech_therapist",     "podiatrist", "psychologist", "dentist",         "paediatrician",
    "specialist",           "other"};
// Shares among the professionals who join a CPTS.
constexpr double kProfShares[kProfCount] = {0.22, 0.27, 0.13, 0.13, 0.03, 0.04,
                                            0.03, 0.05, 0.03, 0.01, 0.04, 0.02};

std::string ProfessionalName(Rng& rng, int prof) {
  const std::string person =
      std::string(rng.Pick(kFirstNames)) + " " + std::string(rng.Pick(kLastNames));
  switch (prof) {
    case kGp:
    case kPaediatrician:
    case kSpecialist:
    case kDentist:
      return "Dr " + person;
    case kNurse:
      return person + ", IDE";
    case kPharmacist:
      return person + ", pharmacien";
    case kPhysio:
      return person + ", masseur-kinésithérapeute";
    case kMidwife:
      return person + ", sage-femme";
    case kSpeech:
      return person + ", orthophoniste";
    case kPodiatrist:
      return person + ", pédicure-podologue";
    case kPsychologist:
      return person + ", psychologue";
    default:
      return person + ", diététicien";
  }
}

// Each CPTS's statutes name their collèges; two common styles.
std::string College(int style, int prof, std::string_view structure_kind) {
  if (style == 0) {
    if (prof >= 0) return "Collège 1 - Professionnels de santé libéraux";
    if (structure_kind == "local_authority" || structure_kind == "patient_association") {
      return "Collège 3 - Usagers et collectivités";
    }
    return "Collège 2 - Établissements et services";
  }
  if (prof == kGp || prof == kPaediatrician || prof == kSpecialist) return "Médecins";
  if (prof == kPharmacist) return "Pharmaciens";
  if (prof >= 0) return "Professionnels paramédicaux";
  if (structure_kind == "local_authority" || structure_kind == "patient_association") {
    return "Partenaires";
  }
  return "Structures sanitaires et médico-sociales";
}

// "emilie.francois": a login from a person's name (actor names are ASCII, aggregates/actor.h).
std::string Login(std::string_view first, std::string_view last) {
  static const std::pair<std::string_view, char> kFolded[] = {
      {"é", 'e'}, {"è", 'e'}, {"ê", 'e'}, {"ë", 'e'}, {"É", 'e'}, {"ç", 'c'}, {"à", 'a'},
      {"â", 'a'}, {"î", 'i'}, {"ï", 'i'}, {"ô", 'o'}, {"û", 'u'}, {"ù", 'u'}};
  std::string out;
  const std::string name = std::string(first) + "." + std::string(last);
  for (size_t i = 0; i < name.size();) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    if (c < 0x80) {
      if (c != ' ' && c != '\'') out.push_back(static_cast<char>(std::tolower(c)));
      ++i;
      continue;
    }
    for (const auto& [from, to] : kFolded) {
      if (name.compare(i, from.size(), from) == 0) {
        out.push_back(to);
        break;
      }
    }
    ++i;
    while (i < name.size() && (static_cast<unsigned char>(name[i]) & 0xC0) == 0x80) ++i;
  }
  return out;
}

constexpr std::string_view kAgeBands[] = {"0-17", "18-39", "40-59", "60-69", "70-79", "80+"};
// A made-up identity for a made-up NIR (ScenarioOptions::clear_patients), derived from the NIR
// alone rather than drawn from a CPTS's generator, so that asking for it changes no other
// command: sex and birth year and month as the NIR says, names and the rest from a hash of it.
json ClearIdentity(std::string_view nir, int current_year) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (const char c : nir) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  const auto draw = [&h](uint64_t n) {
    h = h * 6364136223846793005ULL + 1442695040888963407ULL;
    return (h >> 33) % n;
  };
  const bool woman = nir[0] == '2';
  // kFirstNames: the first 22 are women's names.
  constexpr uint64_t kWomen = 22;
  const std::string_view given =
      woman ? kFirstNames[draw(kWomen)] : kFirstNames[kWomen + draw(kFirstNames.size() - kWomen)];
  const std::string_view family = kLastNames[draw(kLastNames.size())];
  const int yy = std::stoi(std::string(nir.substr(1, 2)));
  const int year = yy <= current_year % 100 ? current_year - current_year % 100 + yy
                                            : current_year - current_year % 100 - 100 + yy;
  const std::string birth_date = std::to_string(year) + "-" + std::string(nir.substr(3, 2)) +
                                 "-" + Digits(1 + draw(28), 2);
  std::string phone = "06";
  for (int k = 0; k < 4; ++k) phone += " " + Digits(draw(100), 2);
  return json{{"family_name", std::string(family)},
              {"given_names", std::string(given)},
              {"birth_date", birth_date},
              {"sex", woman ? "F" : "M"},
              {"phone", phone}};
}

constexpr int kBandLow[] = {0, 18, 40, 60, 70, 80};
constexpr int kBandHigh[] = {17, 39, 59, 69, 79, 97};

// ---------------------------------------------------------------------------------------------
// The simulation's model of a CPTS.

struct Establishment {
  std::string finess;
  std::string name;
  bool sends_admissions = true;  // some connect their discharges only
  bool hourly_batches = false;   // some send their HL7 messages once an hour
  int64_t movements = 0;         // ZBE-1 counter
  int64_t messages = 0;          // MSH-10 counter
};

struct MemberSim {
  std::string id;  // "rpps:...", "adeli:...", "finess:...", "siren:..."
  int prof = -1;   // a Prof for professionals, -1 for structures
  std::string structure_kind;
  std::string practice_mode;
  std::string commune;
  std::string display_name;
  bool current = false;  // a member now
  size_t pos = 0;        // in CptsSim::current while current
  // General practitioners (the model of the deciders' capacity rule).
  bool takes_patients = false;  // declares capacity from time to time
  std::optional<int64_t> declared;
  int64_t taken = 0;
  int64_t pending = 0;     // referrals awaiting their answer
  int busy = 0;            // open things that keep a professional from leaving
  int64_t membership = 0;  // joins so far: a capacity task of an earlier membership stops
};

enum class Waiting { kToRegister, kWaiting, kReferred, kAccepted };

struct PatientSim {
  std::string pseudonym;
  int band = 0;
  bool ald = false, c2s = false;
  std::string commune;
  Waiting state = Waiting::kToRegister;
  int64_t referral = -1;
  int priority() const { return ald ? 0 : c2s ? 1 : band >= 4 ? 2 : 3; }
};

struct ReferralSim {
  std::string id;
  int64_t patient = 0;
  int gp = 0;  // member index
  bool voided = false;
};

struct StaySim {
  size_t establishment = 0;
  std::string patient;
  int band = 0;
  std::string commune;
  std::string unit;
  std::string visit;
  std::string discharge_id, movement;
  int64_t admitted = 0, discharged = 0;
  json discharge_data;
  std::vector<std::string> needs;
  std::string gp;  // member id of the médecin traitant when known
  bool cancelled = false;
  bool renotified = false;  // the discharge notified again after a cancellation
  int refs = 0;             // tasks and follow-ups still needing it
};

struct FollowupSim {
  std::string id;
  int64_t stay = 0;
  int professional = 0;  // member index
  int64_t assigned = 0;
  int64_t visit = 0;  // set when the visit was recorded before the acknowledgement
};

struct SnpSim {
  std::string id;
  int64_t received = 0;
  int category = 0;  // which profession sees it: 0 GP, 1 nurse, 2 physiotherapist, 3 midwife
  bool emergency = false;
  int professional = -1;  // offered the slot being waited for
  int64_t slot = 0;
  int64_t given = 0;
};

struct CampaignSim {
  std::string id;
  int kind = 0;  // index in kCampaigns
  std::vector<std::string> sites;
  int64_t starts = 0, ends = 0, closes = 0;  // ms; ends = end of the last day
  double per_day = 0;                        // participations a day at full activity
  bool closed = false;
  int refs = 0;
};

struct CampaignKind {
  std::string_view key;  // in the campaign id
  std::string_view theme;
  std::string_view title;      // "%d" is the year
  unsigned month, day;         // first day
  int days;                    // duration
  double target_share;         // of the population
  double participation;        // share of the target recorded through the CPTS
  double chance;               // that a CPTS runs it a given year
  std::vector<int> recorders;  // professions recording participations
};

const std::vector<CampaignKind>& Campaigns() {
  // key, theme, title; first month and day, days; target share, participation, chance;
  // who records participations.
  // clang-format off
  static const auto* const kKinds = new std::vector<CampaignKind>{
      {"MARS-BLEU", "colorectal_cancer", "Mars bleu %d : dépistage du cancer colorectal",
       3, 1, 31, 0.30, 0.012, 0.5, {kGp, kPharmacist}},
      {"SEV", "vaccination", "Semaine européenne de la vaccination %d",
       4, 24, 7, 0.10, 0.010, 0.3, {kPharmacist, kNurse, kGp, kMidwife}},
      {"COEUR-65", "heart_failure", "Dépistage de l'insuffisance cardiaque des 65 ans et plus %d",
       5, 2, 60, 0.21, 0.015, 0.25, {kGp, kPharmacist, kNurse}},
      {"VISION", "vision", "Filière visuelle %d : dépistage des troubles de la vision",
       2, 3, 45, 0.15, 0.010, 0.15, {kGp, kOtherProf}},
      {"SURPOIDS", "obesity", "Surpoids et obésité : activité physique adaptée %d",
       9, 15, 90, 0.08, 0.010, 0.15, {kGp, kPhysio}},
      {"OCTOBRE-ROSE", "breast_cancer", "Octobre rose %d",
       10, 1, 31, 0.14, 0.025, 0.8, {kGp, kMidwife, kPharmacist}},
      {"GRIPPE-COVID", "vaccination", "Vaccination grippe et Covid-19 %d",
       10, 14, 109, 0.21, 0.05, 0.55, {kPharmacist, kNurse, kGp}},
      {"MOIS-SANS-TABAC", "tobacco", "Mois sans tabac %d",
       11, 1, 30, 0.20, 0.012, 0.7, {kPharmacist, kGp, kMidwife, kNurse}},
      {"DIABETE", "other", "Journée mondiale du diabète %d",
       11, 14, 1, 0.07, 0.02, 0.2, {kPharmacist, kNurse}},
      {"COL-UTERUS", "cervical_cancer", "Dépistage du cancer du col de l'utérus %d",
       1, 19, 14, 0.14, 0.008, 0.3, {kMidwife, kGp}},
  };
  // clang-format on
  return *kKinds;
}

// Seeds' priorities (../shared/seeds): these territories run these campaigns every year.
bool AlwaysRuns(std::string_view cpts_id, std::string_view campaign) {
  return (cpts_id == "cpts-grand-besancon" && campaign == "COEUR-65") ||
         (cpts_id == "cpts-haut-doubs" && campaign == "SURPOIDS") ||
         (cpts_id == "cpts-luxeuil" && campaign == "VISION");
}

constexpr std::string_view kSiteNames[] = {"Maison de santé pluriprofessionnelle",
                                           "Pharmacie du Centre",
                                           "Salle polyvalente",
                                           "Centre social",
                                           "Espace France Services",
                                           "Pharmacie de la Gare",
                                           "Marché couvert",
                                           "Maison des associations",
                                           "Médiathèque",
                                           "Centre hospitalier, hall d'accueil"};

struct SnpMotive {
  std::string_view text;
  int category;  // 0 GP, 1 nurse, 2 physiotherapist, 3 midwife
  bool emergency;
};
constexpr SnpMotive kMotives[] = {
    {"Fièvre depuis 48 heures", 0, false},
    {"Angine, douleur à la déglutition", 0, false},
    {"Otite chez un enfant de 4 ans", 0, false},
    {"Brûlures urinaires", 0, false},
    {"Lombalgie aiguë", 0, false},
    {"Éruption cutanée", 0, false},
    {"Conjonctivite", 0, false},
    {"Toux persistante depuis une semaine", 0, false},
    {"Renouvellement d'ordonnance, traitement arrivé à terme", 0, false},
    {"Gastro-entérite, vomissements", 0, false},
    {"Crise d'asthme légère", 0, false},
    {"Pansement de plaie à refaire", 1, false},
    {"Retrait de points de suture", 1, false},
    {"Entorse de la cheville", 2, false},
    {"Bronchiolite, kinésithérapie respiratoire", 2, false},
    {"Suivi post-partum, allaitement difficile", 3, false},
    {"Douleur thoracique", 0, true},
    {"Chute avec traumatisme crânien", 0, true},
};

constexpr std::string_view kUnits[] = {"CARDIO", "PNEUMO", "MEDINT", "GERIA",  "CHIORT",
                                       "CHIVIS", "ONCO",   "NEURO",  "GASTRO", "MEDPOL",
                                       "UHCD",   "MATER",  "PEDIA",  "SMR"};

// ---------------------------------------------------------------------------------------------
// Tasks: what happens next, and when.

enum class Kind : uint8_t {
  kRegister,
  kSignAci,
  kImportMember,
  kLateJoin,
  kStartMissions,
  kChurn,
  kDeclareCapacity,
  kPatientArrival,
  kRegisterKnown,
  kMatching,
  kAnswerReferral,
  kReferAgain,
  kDeclineAfterRace,
  kAssignGp,
  kWithdraw,
  kStayArrival,
  kDischarge,
  kResendDischarge,
  kCancelDischarge,
  kAssignFollowup,
  kReassignFollowup,
  kAcknowledge,
  kAcknowledgeAgain,
  kComplete,
  kSnpArrival,
  kSnpOffer,
  kSnpCare,
  kSnpCareAgain,
  kSnpRedirect,
  kPlanCampaigns,
  kLaunchCampaign,
  kParticipation,
  kPaperForm,
  kCloseCampaign,
};

struct Task {
  int64_t at = 0;
  uint64_t order = 0;  // ties: first scheduled, first run
  int cpts = 0;
  Kind kind = Kind::kRegister;
  int64_t ref = 0;  // the patient, referral, stay, follow-up... it acts on
  int64_t arg = 0;
};

struct Later {
  bool operator()(const Task& a, const Task& b) const {
    return a.at != b.at ? a.at > b.at : a.order > b.order;
  }
};

// Yearly rates per inhabitant, scaled so that 1,000,000 events cover about 20 months of the 30
// CPTS of the catalogue. DOMAIN.md's 7-10% of residents without a GP are the stock; this is the
// flow that reaches the CPTS.
constexpr double kRegistrationsPerYear = 0.009;
constexpr double kStaysPerYear = 0.033;
constexpr double kSnpPerYear = 0.018;
constexpr int64_t kInhabitantsPerProfessional = 650;

struct CptsSim {
  explicit CptsSim(uint64_t seed) : rng(seed) {}
  int index = 0;
  Profile profile;
  ScenarioCpts info;
  Rng rng;
  std::vector<std::string> coordinators;  // actors
  std::string admin;                      // the ARS actor that registers it
  int college_style = 0;
  std::vector<double> commune_cdf;        // residence, over info.territory
  std::vector<std::string> birth_places;  // for NIRs
  int64_t nir_serial = 0;

  std::vector<MemberSim> members;
  std::vector<int> current[kProfCount];  // current professional members, by profession
  std::vector<int> former;               // professionals who left
  std::vector<int> ehpads;               // member structures, for discharge destinations
  int initial_members = 0;
  int import_until = 0;                  // members [0, import_until) come in the first import
  std::vector<std::string> outside_gps;  // médecins traitants who are not members

  std::vector<size_t> establishments;  // where residents are hospitalised (Impl's registry)
  size_t member_establishments = 0;    // the first ones are members: its hospital, its clinic
  std::vector<double> establishment_cdf;
  std::vector<std::string> transfer_targets;  // FINESS of other structures (SMR, CHU)

  std::unordered_map<int64_t, PatientSim> patients;
  std::array<std::deque<int64_t>, 4> waiting;  // by priority: ALD, C2S, 70+, others
  std::unordered_map<int64_t, ReferralSim> referrals;
  std::unordered_map<int64_t, StaySim> stays;
  std::unordered_map<int64_t, FollowupSim> followups;
  std::unordered_map<int64_t, SnpSim> snp;
  std::unordered_map<int64_t, CampaignSim> campaigns;
  int64_t next_id = 0;  // entity numbers, shared by every kind
  int64_t referral_no = 0, discharge_no = 0, followup_no = 0, snp_no = 0;
  int64_t matched_this_session = 0;
  bool churn_started = false;
  int64_t aci_ends = 0;  // local days
};

}  // namespace

// ---------------------------------------------------------------------------------------------

class Scenario::Impl {
 public:
  Impl(const ScenarioOptions& options, int64_t start_ms);
  ScenarioCommand Next();
  const std::vector<ScenarioCpts>& cpts() const { return infos_; }
  const std::vector<std::string>& cpts_ids() const { return ids_; }

 private:
  void Build(int index, std::map<std::string, std::vector<int>>& pools);
  void BuildMembers(CptsSim& s);
  size_t AddEstablishment(const std::string& finess, const std::string& name, Rng& rng);
  void Schedule(int64_t at, const CptsSim& s, Kind kind, int64_t ref = 0, int64_t arg = 0);
  bool Run(const Task& task);  // true when it produced a command (out_)
  void Emit(CptsSim& s, std::string type, std::string actor, json data,
            std::optional<std::string> correlation = std::nullopt);

  // Helpers over a CPTS.
  std::string Coordinator(CptsSim& s) { return s.rng.Pick(s.coordinators); }
  std::string Commune(CptsSim& s);
  std::string NewPatient(CptsSim& s, int band);
  int Band(CptsSim& s, std::initializer_list<double> weights) {
    return static_cast<int>(s.rng.Weighted(weights));
  }
  int64_t Arrival(CptsSim& s, int64_t from, double per_year, Hours hours);
  int64_t AtWork(CptsSim& s, Hours hours, int64_t t);
  int64_t TimeOfDay(CptsSim& s, Hours hours, int64_t day);
  int PickMember(CptsSim& s, int prof);  // a current member, or -1
  void Join(CptsSim& s, int member, const std::string& actor);
  void JoinCommand(CptsSim& s, int member, const std::string& actor);  // the model unchanged
  void Leave(CptsSim& s, int member);
  int NewProfessional(CptsSim& s, int prof);
  int NewStructure(CptsSim& s, const std::string& kind, const std::string& id,
                   const std::string& name, const std::string& commune);
  std::string Rpps();
  std::string Adeli(CptsSim& s, int prof);
  std::string StructureFiness(const std::string& dept);
  std::string Siren(std::string_view prefix);
  std::string Year(int64_t t) { return std::to_string(ToLocal(t).year); }

  // The processes.
  bool Register(CptsSim& s);
  bool SignAci(CptsSim& s, bool renewal);
  bool ImportMember(CptsSim& s, int64_t member);
  bool LateJoin(CptsSim& s, int64_t member);
  void StartMissions(CptsSim& s);
  bool Churn(CptsSim& s);
  bool DeclareCapacity(CptsSim& s, int64_t member, int64_t membership);
  bool PatientArrival(CptsSim& s);
  bool RegisterPatient(CptsSim& s, int64_t patient);
  bool Matching(CptsSim& s, bool first);
  bool AnswerReferral(CptsSim& s, int64_t referral);
  bool ReferAgain(CptsSim& s, int64_t referral);
  bool DeclineAfterRace(CptsSim& s, int64_t referral);
  bool AssignGp(CptsSim& s, int64_t patient, int64_t referral);
  bool Withdraw(CptsSim& s, int64_t patient);
  bool StayArrival(CptsSim& s);
  bool Discharge(CptsSim& s, int64_t stay);
  bool ResendDischarge(CptsSim& s, int64_t stay);
  bool CancelDischarge(CptsSim& s, int64_t stay);
  bool AssignFollowup(CptsSim& s, int64_t stay, int64_t need, bool chain);
  std::string NextFollowupId(CptsSim& s);
  void EndFollowup(CptsSim& s, int64_t followup);
  bool Acknowledge(CptsSim& s, int64_t followup, bool again);
  bool Complete(CptsSim& s, int64_t followup, int64_t visited);
  bool SnpArrival(CptsSim& s);
  bool SnpOffer(CptsSim& s, int64_t request);
  bool SnpCare(CptsSim& s, int64_t request, int64_t given);
  bool SnpCareAgain(CptsSim& s, int64_t request);
  bool SnpRedirect(CptsSim& s, int64_t request);
  void PlanCampaigns(CptsSim& s, int year);
  bool LaunchCampaign(CptsSim& s, int64_t campaign);
  bool Participation(CptsSim& s, int64_t campaign, bool paper, int64_t participated);
  bool CloseCampaign(CptsSim& s, int64_t campaign);
  void ReleaseStay(CptsSim& s, int64_t stay);
  void ReleaseCampaign(CptsSim& s, int64_t campaign);

  ScenarioOptions options_;
  int64_t start_ = 0;
  int64_t now_ = 0;
  uint64_t order_ = 0;
  std::priority_queue<Task, std::vector<Task>, Later> queue_;
  std::vector<Profile> profiles_;  // by index
  std::vector<CptsSim> sims_;
  std::vector<ScenarioCpts> infos_;
  std::vector<std::string> ids_;
  std::vector<Establishment> establishments_;
  std::map<std::string, size_t> establishment_by_finess_;
  std::map<std::string, int64_t> finess_serials_;  // by département
  std::set<std::string> used_finess_;
  uint64_t professional_serial_ = 0;
  uint64_t commands_ = 0;
  std::map<Hours, double> mean_activity_;
  std::optional<ScenarioCommand> out_;
};

Scenario::Impl::Impl(const ScenarioOptions& options, int64_t start_ms)
    : options_(options), start_(start_ms), now_(start_ms) {
  for (Hours h : {Hours::kOffice, Hours::kSurgery, Hours::kAdmission, Hours::kDischarge,
                  Hours::kCareDemand, Hours::kSite}) {
    mean_activity_[h] = MeanActivity(h);
  }
  // Commune numbers per département, shuffled once (not by the seed: a territory is a place,
  // the same in every run), chief towns taken out first.
  std::map<std::string, std::vector<int>> pools;
  Rng places(0x7e5517a1ULL);
  for (const Department& d : kDepartments) {
    std::vector<int>& pool = pools[std::string(d.code)];
    for (int n = 1; n <= d.max_commune; ++n) pool.push_back(n);
    for (size_t i = pool.size(); i > 1; --i) std::swap(pool[i - 1], pool[places.Index(i)]);
  }
  // Generated territories take the sector number (hence the id) that puts them on the partition
  // of 64 carrying the least population so far, largest territories first (LPT scheduling):
  // streams then spread evenly, over 16 partitions too since murmur2 % 16 is murmur2 % 64 % 16.
  std::vector<int64_t> load(64, 0);
  const auto add_load = [&](const Profile& p) {
    load[static_cast<size_t>(log::PartitionForKey(p.id, 64).value())] += p.population;
  };
  for (int i = 0; i < options.cpts; ++i) {
    profiles_.push_back(i < static_cast<int>(Catalogue().size())
                            ? Catalogue()[static_cast<size_t>(i)]
                            : GeneratedProfile(i, /*sector=*/0));
    if (i < static_cast<int>(Catalogue().size())) add_load(profiles_.back());
  }
  std::vector<int> generated;
  for (int i = static_cast<int>(Catalogue().size()); i < options.cpts; ++i) generated.push_back(i);
  std::stable_sort(generated.begin(), generated.end(), [&](int a, int b) {
    return profiles_[static_cast<size_t>(a)].population >
           profiles_[static_cast<size_t>(b)].population;
  });
  std::set<int> sectors;
  for (int i : generated) {
    // Sector numbers reach every partition within a few hundred tries (murmur2 scatters them).
    const int64_t least = *std::min_element(load.begin(), load.end());
    int best = 0;
    int64_t best_load = std::numeric_limits<int64_t>::max();
    for (int sector = 1, tried = 0; tried < 1000 && best_load > least; ++sector) {
      if (sectors.count(sector) > 0) continue;
      ++tried;
      const int64_t l =
          load[static_cast<size_t>(log::PartitionForKey(GeneratedId(i, sector), 64).value())];
      if (l < best_load) {
        best = sector;
        best_load = l;
      }
    }
    sectors.insert(best);
    profiles_[static_cast<size_t>(i)] = GeneratedProfile(i, best);
    add_load(profiles_[static_cast<size_t>(i)]);
  }
  for (const Profile& p : profiles_) {
    auto& pool = pools[p.main_code.substr(0, 2)];
    pool.erase(std::remove(pool.begin(), pool.end(), std::stoi(p.main_code.substr(2))), pool.end());
  }
  for (const Profile& p : Catalogue()) {
    if (!p.hospital_finess.empty()) used_finess_.insert(p.hospital_finess);
    used_finess_.insert(std::string(ReferenceHospital(p.main_code.substr(0, 2)).first));
  }
  sims_.reserve(static_cast<size_t>(options.cpts));
  for (int i = 0; i < options.cpts; ++i) Build(i, pools);
  for (const CptsSim& s : sims_) {
    infos_.push_back(s.info);
    ids_.push_back(s.info.id);
  }
}

void Scenario::Impl::Build(int index, std::map<std::string, std::vector<int>>& pools) {
  CptsSim& s = sims_.emplace_back(options_.seed * 0x9e3779b97f4a7c15ULL + 977 * (index + 1));
  s.index = index;
  s.profile = profiles_[static_cast<size_t>(index)];
  const Profile& p = s.profile;
  s.info = {.id = p.id, .name = p.name, .region = p.region, .population = p.population};

  // The territory: the chief town, then communes of its départements in turn.
  s.info.territory.push_back(p.main_code);
  for (int k = 1; k < p.communes; ++k) {
    const std::string& dept = p.depts[static_cast<size_t>(k) % p.depts.size()];
    std::vector<int>& pool = pools[dept];
    if (pool.empty()) {  // more territories than communes: generated ones may share
      for (int n = 1; n <= FindDepartment(dept).max_commune; ++n) pool.push_back(n);
    }
    const std::string code = dept + Digits(static_cast<uint64_t>(pool.back()), 3);
    pool.pop_back();
    if (std::find(s.info.territory.begin(), s.info.territory.end(), code) ==
        s.info.territory.end()) {
      s.info.territory.push_back(code);
    }
  }
  // Where people live: the chief town's share, the rest falling off with the commune's rank.
  double total = 0;
  std::vector<double> weights;
  for (size_t k = 1; k < s.info.territory.size(); ++k) {
    weights.push_back(1.0 / std::pow(static_cast<double>(k) + 2.0, 0.9));
    total += weights.back();
  }
  double acc = p.main_share;
  s.commune_cdf.push_back(acc);
  for (double w : weights) s.commune_cdf.push_back(acc += (1 - p.main_share) * w / total);
  s.commune_cdf.back() = 1.0;
  // Born here mostly; or in a big city, or abroad (99 + country code).
  s.birth_places = s.info.territory;
  for (std::string_view other : {"75112", "75114", "69383", "13205", "21231", "25056", "44109",
                                 "67482", "99350", "99352", "99139", "99127"}) {
    s.birth_places.emplace_back(other);
  }

  // One coordinator, two in the larger CPTS; actors carry their login.
  for (int k = 0; k < (p.population >= 80'000 ? 2 : 1); ++k) {
    s.coordinators.push_back("coordinator:" + p.id + ":" +
                             Login(s.rng.Pick(kFirstNames), s.rng.Pick(kLastNames)));
  }
  static const std::map<std::string, std::string> kArs = {{"27", "admin:ars-bfc"},
                                                          {"52", "admin:ars-pdl"},
                                                          {"44", "admin:ars-grand-est"},
                                                          {"84", "admin:ars-ara"},
                                                          {"94", "admin:ars-corse"}};
  const auto ars = kArs.find(p.region);
  s.admin = ars != kArs.end() ? ars->second : "admin:ars-" + p.region;
  s.college_style = static_cast<int>(s.rng.Index(2));

  // Where residents are hospitalised: their own hospital, a clinic, the reference hospital.
  const std::string dept = p.main_code.substr(0, 2);
  const std::string main_finess =
      p.hospital_finess.empty() ? StructureFiness(dept) : p.hospital_finess;
  const std::string hospital_name =
      p.hospital.empty() ? "Centre hospitalier de " + p.main_name : p.hospital;
  std::vector<double> shares;
  s.establishments.push_back(AddEstablishment(main_finess, hospital_name, s.rng));
  shares.push_back(0.6);
  if (!p.clinic.empty()) {
    s.establishments.push_back(AddEstablishment(StructureFiness(dept), p.clinic, s.rng));
    shares.push_back(0.17);
  }
  s.member_establishments = s.establishments.size();
  const auto [ref_finess, ref_name] = ReferenceHospital(dept);
  if (!ref_finess.empty() && ref_finess != main_finess) {
    s.establishments.push_back(
        AddEstablishment(std::string(ref_finess), std::string(ref_name), s.rng));
    shares.push_back(0.23);
  }
  double sum = 0;
  for (double x : shares) sum += x;
  double run = 0;
  for (double x : shares) s.establishment_cdf.push_back(run += x / sum);
  // Transfers go to a rehabilitation centre (SMR) or the reference hospital.
  s.transfer_targets.push_back(StructureFiness(dept));
  if (!ref_finess.empty()) s.transfer_targets.emplace_back(ref_finess);

  BuildMembers(s);
  // Registration: the seeds' CPTS on the first morning, the others over three weeks (one week
  // when there are many: streams that start together grow alike, which keeps the partitions
  // balanced as above).
  const int64_t window = options_.cpts <= 30 ? 21 * kDay : 7 * kDay;
  const int64_t step = std::min<int64_t>(17 * kHour, window / std::max(1, options_.cpts - 5));
  const int64_t offset = index < 5 ? index * 40 * kMinute : (index - 4) * step;
  Schedule(AtWork(s, Hours::kOffice, start_ + offset + s.rng.Between(0, 30) * kMinute), s,
           Kind::kRegister);
}

size_t Scenario::Impl::AddEstablishment(const std::string& finess, const std::string& name,
                                        Rng& rng) {
  const auto it = establishment_by_finess_.find(finess);
  if (it != establishment_by_finess_.end()) return it->second;
  used_finess_.insert(finess);
  Establishment e{.finess = finess, .name = name};
  e.sends_admissions = rng.Chance(0.8);
  e.hourly_batches = rng.Chance(0.25);
  e.movements = rng.Between(1'000'000, 9'000'000);
  e.messages = rng.Between(100'000, 900'000);
  establishments_.push_back(e);
  establishment_by_finess_[finess] = establishments_.size() - 1;
  return establishments_.size() - 1;
}

std::string Scenario::Impl::StructureFiness(const std::string& dept) {
  for (;;) {
    const uint64_t serial = static_cast<uint64_t>(++finess_serials_[dept]) + 300;
    // Corsican FINESS are checked for shape only (events/identifiers.h): no Luhn digit to add.
    const std::string finess = dept == "2A" || dept == "2B"
                                   ? dept + "0" + Digits(Scramble(serial, 1'000'000), 6)
                                   : ids::WithLuhnDigit(dept + "0" + Digits(Scramble(serial, 100'000), 5));
    if (used_finess_.insert(finess).second) return finess;  // never a real one of the catalogue
  }
}

std::string Scenario::Impl::Rpps() {
  // RPPS numbers start with 10; 8 scrambled digits and the Luhn digit.
  const uint64_t serial = ++professional_serial_;
  return ids::WithLuhnDigit("10" + Digits(Scramble(serial + 1'000'000, 100'000'000), 8));
}

std::string Scenario::Impl::Adeli(CptsSim& s, int prof) {
  // ADELI: département, profession code, order number, Luhn digit.
  const std::string dept = std::isdigit(static_cast<unsigned char>(s.profile.main_code[1])) &&
                                   std::isdigit(static_cast<unsigned char>(s.profile.main_code[0]))
                               ? s.profile.main_code.substr(0, 2)
                               : "20";
  const std::string code = prof == kPsychologist ? "93" : prof == kPodiatrist ? "80" : "91";
  const uint64_t serial = ++professional_serial_;
  return ids::WithLuhnDigit(dept + code + Digits(Scramble(serial, 10'000), 4));
}

std::string Scenario::Impl::Siren(std::string_view prefix) {
  const uint64_t serial = ++professional_serial_;
  const size_t width = 8 - prefix.size();
  uint64_t modulus = 1;
  for (size_t i = 0; i < width; ++i) modulus *= 10;
  return ids::WithLuhnDigit(std::string(prefix) + Digits(Scramble(serial, modulus), static_cast<int>(width)));
}

int Scenario::Impl::NewProfessional(CptsSim& s, int prof) {
  MemberSim m;
  m.prof = prof;
  // Most professionals are in the RPPS; some professions were still in ADELI.
  const bool adeli =
      (prof == kPsychologist || prof == kPodiatrist || prof == kOtherProf) && s.rng.Chance(0.6);
  m.id = adeli ? "adeli:" + Adeli(s, prof) : "rpps:" + Rpps();
  m.display_name = ProfessionalName(s.rng, prof);
  m.commune = Commune(s);
  switch (prof) {
    case kGp:
      m.practice_mode = std::string(std::array<std::string_view, 4>{
          "maison_de_sante", "group", "alone",
          "centre_de_sante"}[s.rng.Weighted({0.45, 0.3, 0.2, 0.05})]);
      m.takes_patients = s.rng.Chance(0.65);
      break;
    case kNurse:
    case kPhysio:
      m.practice_mode = std::string(std::array<std::string_view, 3>{
          "group", "alone", "maison_de_sante"}[s.rng.Weighted({0.45, 0.35, 0.2})]);
      break;
    case kPharmacist:
      m.practice_mode = s.rng.Chance(0.7) ? "alone" : "group";
      break;
    default:
      m.practice_mode = std::string(std::array<std::string_view, 4>{
          "alone", "group", "maison_de_sante",
          "centre_de_sante"}[s.rng.Weighted({0.5, 0.25, 0.2, 0.05})]);
  }
  s.members.push_back(std::move(m));
  return static_cast<int>(s.members.size()) - 1;
}

int Scenario::Impl::NewStructure(CptsSim& s, const std::string& kind, const std::string& id,
                                 const std::string& name, const std::string& commune) {
  MemberSim m;
  m.id = id;
  m.structure_kind = kind;
  m.display_name = name;
  m.commune = commune;
  s.members.push_back(std::move(m));
  return static_cast<int>(s.members.size()) - 1;
}

void Scenario::Impl::BuildMembers(CptsSim& s) {
  const Profile& p = s.profile;
  const std::string dept = p.main_code.substr(0, 2);
  const std::string of_dept(FindDepartment(dept).of_name);
  // Structures first: the adhesion file lists them first.
  for (size_t e = 0; e < s.member_establishments; ++e) {
    const Establishment& est = establishments_[s.establishments[e]];
    NewStructure(s, est.name.find("linique") != std::string::npos ? "clinic" : "hospital",
                 "finess:" + est.finess, est.name, p.main_code);
  }
  static constexpr std::string_view kEhpads[] = {"Les Tilleuls",      "Les Jardins de la Source",
                                                 "Résidence du Parc", "La Roseraie",
                                                 "Les Lilas",         "Le Clos Fleuri",
                                                 "Saint-Joseph",      "Les Grands Chênes",
                                                 "Bellevue",          "La Chênaie",
                                                 "Les Myosotis",      "Le Val Joli"};
  const int64_t ehpads = std::max<int64_t>(1, p.population / 9'000);
  for (int64_t k = 0; k < ehpads; ++k) {
    const int m =
        NewStructure(s, "ehpad", "finess:" + StructureFiness(dept),
                     "EHPAD " + std::string(kEhpads[static_cast<size_t>(k) % 12]), Commune(s));
    s.ehpads.push_back(m);
  }
  for (int64_t k = 0; k < std::max<int64_t>(1, p.population / 30'000); ++k) {
    NewStructure(s, "ssiad", "finess:" + StructureFiness(dept),
                 k == 0 ? "SSIAD ADMR " + of_dept : "SSIAD de la Mutualité " + of_dept, Commune(s));
  }
  for (int64_t k = 0; k < 1 + p.population / 80'000; ++k) {
    NewStructure(s, "laboratory", "finess:" + StructureFiness(dept),
                 "Laboratoire de biologie médicale, site " + std::to_string(k + 1), Commune(s));
  }
  NewStructure(s, "home_care", "finess:" + StructureFiness(dept),
               "Hospitalisation à domicile " + of_dept, p.main_code);
  NewStructure(s, "dac",
               s.rng.Chance(0.5) ? "finess:" + StructureFiness(dept) : "siren:" + Siren("8"),
               "Dispositif d'appui à la coordination " + of_dept, p.main_code);
  NewStructure(s, "local_authority", "siren:" + Siren("21"), "Mairie de " + p.main_name,
               p.main_code);
  if (s.rng.Chance(0.5)) {
    NewStructure(s, "patient_association", "siren:" + Siren("7"),
                 "Association des usagers de santé " + of_dept, p.main_code);
  }
  // Professionals, in the shares they join in.
  const int64_t professionals = p.population / kInhabitantsPerProfessional;
  for (int64_t k = 0; k < professionals; ++k) {
    NewProfessional(s, static_cast<int>(s.rng.Weighted(
                           {kProfShares[0], kProfShares[1], kProfShares[2], kProfShares[3],
                            kProfShares[4], kProfShares[5], kProfShares[6], kProfShares[7],
                            kProfShares[8], kProfShares[9], kProfShares[10], kProfShares[11]})));
  }
  s.initial_members = static_cast<int>(s.members.size());
  s.import_until = static_cast<int>(s.members.size() * 3 / 4);
  // The médecins traitants of the territory who did not join: discharges name them too.
  for (int64_t k = 0; k < std::max<int64_t>(5, p.population / 2'500); ++k) {
    s.outside_gps.push_back("rpps:" + Rpps());
  }
}

void Scenario::Impl::Schedule(int64_t at, const CptsSim& s, Kind kind, int64_t ref, int64_t arg) {
  queue_.push(Task{.at = std::max(at, now_),
                   .order = order_++,
                   .cpts = s.index,
                   .kind = kind,
                   .ref = ref,
                   .arg = arg});
}

std::string Scenario::Impl::Commune(CptsSim& s) {
  const double x = s.rng.Uniform();
  const auto it = std::upper_bound(s.commune_cdf.begin(), s.commune_cdf.end(), x);
  const size_t k =
      std::min(static_cast<size_t>(it - s.commune_cdf.begin()), s.info.territory.size() - 1);
  return s.info.territory[k];
}

std::string Scenario::Impl::NewPatient(CptsSim& s, int band) {
  const int age = static_cast<int>(s.rng.Between(kBandLow[band], kBandHigh[band]));
  const LocalTime now = ToLocal(now_);
  const int month = static_cast<int>(s.rng.Between(1, 12));
  const int birth_year = now.year - age - (month > static_cast<int>(now.month) ? 1 : 0);
  // Unique by construction: the serial picks the birth place and the order number, so two
  // patients of a CPTS share a NIR only after 999 x (places) of them with the same birth month.
  const int64_t serial = s.nir_serial++;
  const std::string& place =
      s.birth_places[static_cast<size_t>(serial / 999) % s.birth_places.size()];
  const std::string nir =
      Nir(s.rng.Chance(0.5) ? 1 : 2, birth_year, month, place, static_cast<int>(serial % 999) + 1);
  // In clear, the NIR itself stands for the patient wherever the simulation keeps them; Emit
  // names it patient_ins.
  if (options_.clear_patients) return nir;
  Result<std::string> pseudonym = events::PatientPseudonym(nir, options_.secret);
  if (!pseudonym.ok()) {
    // Cannot happen: the NIR is built valid and Create checked the secret. A bug must not go
    // unnoticed, nor put an invalid patient in a benchmark's history.
    std::fprintf(stderr, "scenario: %s\n", pseudonym.status().ToString().c_str());
    std::abort();
  }
  return std::move(*pseudonym);
}

// The next arrival of a Poisson process of `per_year` events a year, shaped by `hours`
// (thinning: candidates at the peak rate, each kept with the activity's share of the peak).
int64_t Scenario::Impl::Arrival(CptsSim& s, int64_t from, double per_year, Hours hours) {
  const double peak = PeakActivity(hours);
  const double per_day_at_peak = per_year / 365.0 / mean_activity_[hours] * peak;
  const double mean_gap = static_cast<double>(kDay) / per_day_at_peak;
  int64_t t = from;
  for (;;) {
    t += std::max<int64_t>(1, std::llround(s.rng.Exponential(mean_gap)));
    if (s.rng.Uniform() * peak < Activity(hours, t)) return t;
  }
}

// A moment of local day `day`, drawn with the day's activity profile (rejection sampling).
int64_t Scenario::Impl::TimeOfDay(CptsSim& s, Hours hours, int64_t day) {
  const int64_t midnight = FromLocal(day, 0, 0);
  const double peak = PeakActivity(hours);
  for (int tries = 0; tries < 1000; ++tries) {
    const int64_t t = midnight + s.rng.Between(0, kDay - 1);
    if (s.rng.Uniform() * peak < Activity(hours, t)) return t;
  }
  return midnight + 12 * kHour;  // a day without activity: noon
}

// The first moment from `t` at which someone keeping `hours` gets to it.
int64_t Scenario::Impl::AtWork(CptsSim& s, Hours hours, int64_t t) {
  const double peak = PeakActivity(hours);
  for (int step = 0; step < 6 * 24 * 10; ++step, t += 10 * kMinute) {
    if (s.rng.Uniform() * peak < Activity(hours, t)) {
      return step == 0 ? t : t - s.rng.Between(0, 10 * kMinute - 1);
    }
  }
  return t;
}

int Scenario::Impl::PickMember(CptsSim& s, int prof) {
  const std::vector<int>& pool = s.current[prof];
  if (pool.empty()) return -1;
  return s.rng.Pick(pool);
}

void Scenario::Impl::Emit(CptsSim& s, std::string type, std::string actor, json data,
                          std::optional<std::string> correlation) {
  ScenarioCommand out;
  Command& c = out.command;
  // Unique across streams (as a sender's UUIDs would be), and across scenarios of other seeds
  // sent to the same system.
  c.command_id = "sim" + std::to_string(options_.seed) + "-" + std::to_string(++commands_);
  c.type = std::move(type);
  c.cptsid = s.info.id;
  c.actor = std::move(actor);
  // Sent a moment before it reaches the log.
  c.issued_at = events::FormatEventTime(std::chrono::system_clock::time_point(
      std::chrono::milliseconds(now_ - s.rng.Between(15, 900))));
  c.correlation_id = std::move(correlation);
  if (options_.clear_patients) {
    // Named as an outside sender names them: by INS, with their identity where the type allows
    // one (the patient-naming fields hold NIRs here: NewPatient).
    const events::EventTypeSpec* spec = FindCommandType(c.type);
    const bool takes_identity =
        spec != nullptr && std::any_of(spec->fields.begin(), spec->fields.end(),
                                       [](const events::FieldSpec& f) { return f.name == "identity"; });
    for (const char* field : {"patient", "participant"}) {
      const auto it = data.find(field);
      if (it == data.end()) continue;
      std::string nir = it->get<std::string>();
      data.erase(it);
      if (takes_identity) data["identity"] = ClearIdentity(nir, ToLocal(now_).year);
      data[std::string(field) + "_ins"] = std::move(nir);
    }
  }
  c.data = std::move(data);
  out.timestamp_ms = now_;
  out_ = std::move(out);
}

ScenarioCommand Scenario::Impl::Next() {
  out_.reset();
  // Never empty: every arrival process schedules its next arrival, forever.
  while (!out_) {
    const Task task = queue_.top();
    queue_.pop();
    now_ = task.at;
    Run(task);
  }
  return std::move(*out_);
}

bool Scenario::Impl::Run(const Task& task) {
  CptsSim& s = sims_[static_cast<size_t>(task.cpts)];
  switch (task.kind) {
    case Kind::kRegister:
      return Register(s);
    case Kind::kSignAci:
      return SignAci(s, task.ref != 0);
    case Kind::kImportMember:
      return ImportMember(s, task.ref);
    case Kind::kLateJoin:
      return LateJoin(s, task.ref);
    case Kind::kStartMissions:
      StartMissions(s);
      return false;
    case Kind::kChurn:
      return Churn(s);
    case Kind::kDeclareCapacity:
      return DeclareCapacity(s, task.ref, task.arg);
    case Kind::kPatientArrival:
      return PatientArrival(s);
    case Kind::kRegisterKnown:
      return RegisterPatient(s, task.ref);
    case Kind::kMatching:
      return Matching(s, task.ref == 0);
    case Kind::kReferAgain:
      return ReferAgain(s, task.ref);
    case Kind::kAnswerReferral:
      return AnswerReferral(s, task.ref);
    case Kind::kDeclineAfterRace:
      return DeclineAfterRace(s, task.ref);
    case Kind::kAssignGp:
      return AssignGp(s, task.ref, task.arg);
    case Kind::kWithdraw:
      return Withdraw(s, task.ref);
    case Kind::kStayArrival:
      return StayArrival(s);
    case Kind::kDischarge:
      return Discharge(s, task.ref);
    case Kind::kResendDischarge:
      return ResendDischarge(s, task.ref);
    case Kind::kCancelDischarge:
      return CancelDischarge(s, task.ref);
    case Kind::kAssignFollowup:
      return AssignFollowup(s, task.ref, task.arg, /*chain=*/true);
    case Kind::kReassignFollowup:
      return AssignFollowup(s, task.ref, task.arg, /*chain=*/false);
    case Kind::kAcknowledge:
      return Acknowledge(s, task.ref, false);
    case Kind::kAcknowledgeAgain:
      return Acknowledge(s, task.ref, true);
    case Kind::kComplete:
      return Complete(s, task.ref, task.arg);
    case Kind::kSnpArrival:
      return SnpArrival(s);
    case Kind::kSnpOffer:
      return SnpOffer(s, task.ref);
    case Kind::kSnpCare:
      return SnpCare(s, task.ref, task.arg);
    case Kind::kSnpCareAgain:
      return SnpCareAgain(s, task.ref);
    case Kind::kSnpRedirect:
      return SnpRedirect(s, task.ref);
    case Kind::kPlanCampaigns:
      PlanCampaigns(s, static_cast<int>(task.ref));
      return false;
    case Kind::kLaunchCampaign:
      return LaunchCampaign(s, task.ref);
    case Kind::kParticipation:
      return Participation(s, task.ref, false, 0);
    case Kind::kPaperForm:
      return Participation(s, task.ref, true, task.arg);
    case Kind::kCloseCampaign:
      return CloseCampaign(s, task.ref);
  }
  return false;
}

// --- The CPTS and its contract.

bool Scenario::Impl::Register(CptsSim& s) {
  json territory = json::array();
  for (const std::string& c : s.info.territory) territory.push_back(c);
  Emit(s, "cpts.register", s.admin,
       {{"name", s.info.name},
        {"territory", std::move(territory)},
        {"population", s.info.population},
        {"region", s.info.region}});
  // The ACI: a contract signed before the platform existed is recorded in the first days; a
  // young CPTS signs its first one a few months in.
  const int64_t aci_at = s.profile.aci_signed.empty()
                             ? now_ + static_cast<int64_t>(s.rng.Between(60, 240)) * kDay
                             : now_ + static_cast<int64_t>(s.rng.Exponential(2.0 * kDay));
  Schedule(AtWork(s, Hours::kOffice, aci_at), s, Kind::kSignAci);
  // The adhesion file is imported the next morning; the other members join over the weeks.
  const int64_t import_at = AtWork(s, Hours::kOffice, now_ + 16 * kHour);
  Schedule(import_at, s, Kind::kImportMember, 0);
  for (int m = s.import_until; m < s.initial_members; ++m) {
    Schedule(AtWork(s, Hours::kOffice, import_at + s.rng.Between(1, 60) * kDay), s, Kind::kLateJoin,
             m);
  }
  Schedule(import_at + 2 * kDay, s, Kind::kStartMissions);
  return true;
}

bool Scenario::Impl::SignAci(CptsSim& s, bool renewal) {
  const int64_t today = ToLocal(now_).days;
  int64_t signed_on = today, starts_on = today;
  if (renewal) {
    starts_on = s.aci_ends + 1;  // signed a month ahead: the new contract follows the old one
  } else if (!s.profile.aci_signed.empty()) {
    const std::string& d = s.profile.aci_signed;
    signed_on =
        DaysFromCivil(std::stoi(d.substr(0, 4)), static_cast<unsigned>(std::stoi(d.substr(5, 2))),
                      static_cast<unsigned>(std::stoi(d.substr(8, 2))));
    starts_on = signed_on;
    // The contract in force today: renewals signed a month before each end.
    while (FiveYearsLater(starts_on) < today) {
      signed_on = FiveYearsLater(starts_on) - 30;
      starts_on = FiveYearsLater(starts_on) + 1;
    }
  }
  s.aci_ends = FiveYearsLater(starts_on);
  const std::string dept = s.profile.main_code.substr(0, 2);
  Emit(s, "cpts.sign_aci", s.admin,
       {{"signed_on", FormatDate(signed_on)},
        {"starts_on", FormatDate(starts_on)},
        {"ends_on", FormatDate(s.aci_ends)},
        {"cpam_signatory", "CPAM " + std::string(FindDepartment(dept).of_name)},
        {"ars_signatory", std::string(ArsName(s.info.region))}});
  // The renewal, a month before the end (if the run gets that far).
  Schedule(AtWork(s, Hours::kOffice, FromLocal(s.aci_ends - 30, 9, 0)), s, Kind::kSignAci, 1);
  return true;
}

// --- Membership.

void Scenario::Impl::Join(CptsSim& s, int member, const std::string& actor) {
  JoinCommand(s, member, actor);
  MemberSim& m = s.members[static_cast<size_t>(member)];
  m.current = true;
  if (m.prof >= 0) {
    m.pos = s.current[m.prof].size();
    s.current[m.prof].push_back(member);
    if (m.prof == kGp && m.takes_patients) {
      Schedule(
          AtWork(s, Hours::kSurgery, now_ + static_cast<int64_t>(s.rng.Exponential(8.0 * kDay))), s,
          Kind::kDeclareCapacity, member, ++m.membership);
    }
  }
}

void Scenario::Impl::JoinCommand(CptsSim& s, int member, const std::string& actor) {
  const MemberSim& m = s.members[static_cast<size_t>(member)];
  json data = {{"member_id", m.id}, {"commune", m.commune}, {"display_name", m.display_name}};
  if (m.prof >= 0) {
    data["member_kind"] = "professional";
    data["profession"] = kProfessions[m.prof];
    data["practice_mode"] = m.practice_mode;
  } else {
    data["member_kind"] = "structure";
    data["structure_kind"] = m.structure_kind;
  }
  if (s.rng.Chance(0.85)) data["college"] = College(s.college_style, m.prof, m.structure_kind);
  Emit(s, "membership.join", actor, std::move(data));
}

void Scenario::Impl::Leave(CptsSim& s, int member) {
  MemberSim& m = s.members[static_cast<size_t>(member)];
  m.current = false;
  m.declared.reset();  // the deciders drop a leaver's capacity
  m.taken = 0;
  std::vector<int>& pool = s.current[m.prof];
  pool[m.pos] = pool.back();
  s.members[static_cast<size_t>(pool[m.pos])].pos = m.pos;
  pool.pop_back();
  s.former.push_back(member);
}

bool Scenario::Impl::ImportMember(CptsSim& s, int64_t member) {
  Join(s, static_cast<int>(member), "system:adhesion-import");
  if (member + 1 < s.import_until) {
    Schedule(now_ + 500 + static_cast<int64_t>(s.rng.Exponential(2.0 * kSecond)), s,
             Kind::kImportMember, member + 1);
  }
  return true;
}

bool Scenario::Impl::LateJoin(CptsSim& s, int64_t member) {
  Join(s, static_cast<int>(member), Coordinator(s));
  return true;
}

void Scenario::Impl::StartMissions(CptsSim& s) {
  Schedule(now_, s, Kind::kChurn);
  Schedule(now_, s, Kind::kPatientArrival);
  Schedule(AtWork(s, Hours::kOffice, FromLocal(ToLocal(now_).days + 1, 10, 0)), s, Kind::kMatching);
  Schedule(now_, s, Kind::kStayArrival);
  Schedule(now_, s, Kind::kSnpArrival);
  PlanCampaigns(s, ToLocal(now_).year);
}

bool Scenario::Impl::Churn(CptsSim& s) {
  // Per year: 8% of the initial members join, 4% leave, 10% change their details.
  const bool started = s.churn_started;
  s.churn_started = true;
  Schedule(Arrival(s, now_, 0.22 * s.initial_members, Hours::kOffice), s, Kind::kChurn);
  if (!started) return false;
  const size_t what = s.rng.Weighted({0.36, 0.18, 0.46});
  if (what == 0) {
    if (s.rng.Chance(0.01)) {  // entered twice: already a member, nothing changes
      const int again = PickMember(s, kNurse);
      if (again >= 0) {
        JoinCommand(s, again, Coordinator(s));
        return true;
      }
    }
    if (!s.former.empty() && s.rng.Chance(0.05)) {  // back after a break
      const size_t k = s.rng.Index(s.former.size());
      const int member = s.former[k];
      s.former.erase(s.former.begin() + static_cast<std::ptrdiff_t>(k));
      Join(s, member, Coordinator(s));
      return true;
    }
    Join(s,
         NewProfessional(
             s, static_cast<int>(s.rng.Weighted(
                    {kProfShares[0], kProfShares[1], kProfShares[2], kProfShares[3], kProfShares[4],
                     kProfShares[5], kProfShares[6], kProfShares[7], kProfShares[8], kProfShares[9],
                     kProfShares[10], kProfShares[11]}))),
         Coordinator(s));
    return true;
  }
  if (what == 1) {
    const int prof = static_cast<int>(
        s.rng.Weighted({0.2, 0.3, 0.1, 0.15, 0.05, 0.05, 0.05, 0.05, 0.02, 0.01, 0.01, 0.01}));
    const int member = PickMember(s, prof);
    // Someone with patients waiting on them, or a slot to honour, finishes first.
    if (member < 0 || s.members[static_cast<size_t>(member)].busy > 0 ||
        s.current[prof].size() < 3) {
      return false;
    }
    MemberSim& m = s.members[static_cast<size_t>(member)];
    json data = {{"member_id", m.id}};
    static constexpr std::string_view kReasons[] = {
        "Départ en retraite", "Installation hors du territoire", "Cessation d'activité libérale",
        "Ne souhaite plus adhérer"};
    if (s.rng.Chance(0.6)) data["reason"] = kReasons[s.rng.Index(4)];
    Emit(s, "membership.leave", Coordinator(s), std::move(data));
    Leave(s, member);
    return true;
  }
  // A change of details; now and then, of someone who already left (the coordinator's list is
  // behind): refused.
  int member = -1;
  if (!s.former.empty() && s.rng.Chance(0.01)) {
    member = s.rng.Pick(s.former);
  } else {
    member = PickMember(s, static_cast<int>(s.rng.Weighted({0.3, 0.3, 0.15, 0.15, 0.1})));
  }
  if (member < 0) return false;
  MemberSim& m = s.members[static_cast<size_t>(member)];
  json data = {{"member_id", m.id}};
  const size_t change = s.rng.Weighted({0.4, 0.25, 0.15, 0.2});
  if (change == 0) {
    m.practice_mode = m.practice_mode == "maison_de_sante" ? "group" : "maison_de_sante";
    data["practice_mode"] = m.practice_mode;
  } else if (change == 1) {
    m.commune = Commune(s);
    data["commune"] = m.commune;
    if (s.rng.Chance(0.3)) {
      m.practice_mode = "group";
      data["practice_mode"] = m.practice_mode;
    }
  } else if (change == 2) {
    data["college"] = College(1 - s.college_style, m.prof, m.structure_kind);
  } else {
    m.display_name += "-" + std::string(s.rng.Pick(kLastNames));
    data["display_name"] = m.display_name;
  }
  Emit(s, "membership.update", Coordinator(s), std::move(data));
  return true;
}

// --- Access to a médecin traitant.

bool Scenario::Impl::DeclareCapacity(CptsSim& s, int64_t member, int64_t membership) {
  MemberSim& m = s.members[static_cast<size_t>(member)];
  if (!m.current || m.membership != membership) return false;  // left since: declares no more
  const size_t range = s.rng.Weighted({0.05, 0.2, 0.4, 0.28, 0.07});
  static constexpr std::pair<int, int> kRanges[] = {{0, 0}, {1, 2}, {3, 5}, {6, 10}, {11, 20}};
  const int64_t capacity = s.rng.Between(kRanges[range].first, kRanges[range].second);
  // The GP from their software, or the coordinator who took the call.
  Emit(s, "access.declare_capacity", s.rng.Chance(0.7) ? "professional:" + m.id : Coordinator(s),
       {{"gp", m.id}, {"new_patients_capacity", capacity}});
  m.declared = capacity;
  m.taken = 0;
  Schedule(AtWork(s, Hours::kSurgery, now_ + static_cast<int64_t>(s.rng.LogNormal(40, 0.5) * kDay)),
           s, Kind::kDeclareCapacity, member, membership);
  return true;
}

bool Scenario::Impl::PatientArrival(CptsSim& s) {
  Schedule(Arrival(s, now_, kRegistrationsPerYear * static_cast<double>(s.info.population),
                   Hours::kOffice),
           s, Kind::kPatientArrival);
  // Entered twice by two people of the team: the request is already open.
  if (s.rng.Chance(0.01)) {
    for (const auto& queue : s.waiting) {
      for (auto it = queue.rbegin(); it != queue.rend(); ++it) {
        const auto p = s.patients.find(*it);
        if (p == s.patients.end() || p->second.state != Waiting::kWaiting) continue;
        const PatientSim& patient = p->second;
        Emit(s, "access.register_patient", Coordinator(s),
             {{"patient", patient.pseudonym},
              {"age_band", kAgeBands[patient.band]},
              {"ald", patient.ald},
              {"c2s", patient.c2s},
              {"commune", patient.commune},
              {"registered_at", FormatLocal(now_ - 2 * kMinute)}});
        return true;
      }
    }
  }
  const int64_t id = ++s.next_id;
  PatientSim& p = s.patients[id];
  p.band = Band(s, {0.08, 0.30, 0.27, 0.14, 0.13, 0.08});
  static constexpr double kAld[] = {0.03, 0.06, 0.15, 0.28, 0.40, 0.55};
  static constexpr double kC2s[] = {0.18, 0.16, 0.12, 0.07, 0.05, 0.05};
  p.ald = s.rng.Chance(kAld[p.band]);
  p.c2s = s.rng.Chance(kC2s[p.band]);
  p.commune = Commune(s);
  p.pseudonym = NewPatient(s, p.band);
  return RegisterPatient(s, id);
}

bool Scenario::Impl::RegisterPatient(CptsSim& s, int64_t id) {
  PatientSim& p = s.patients.at(id);
  Emit(s, "access.register_patient", Coordinator(s),
       {{"patient", p.pseudonym},
        {"age_band", kAgeBands[p.band]},
        {"ald", p.ald},
        {"c2s", p.c2s},
        {"commune", p.commune},
        {"registered_at", FormatLocal(now_ - s.rng.Between(1, 20) * kMinute)}});
  p.state = Waiting::kWaiting;
  s.waiting[static_cast<size_t>(p.priority())].push_back(id);
  // Some give up, move or find a GP on their own before the CPTS finds them one.
  Schedule(now_ + static_cast<int64_t>(s.rng.Exponential(150.0 * kDay)), s, Kind::kWithdraw, id);
  return true;
}

// A coordinator's session: patients by priority (ALD, C2S, 70+, others), each referred to a GP
// with room, one every few minutes.
bool Scenario::Impl::Matching(CptsSim& s, bool first) {
  if (first) {
    // The next session: 10:00 and 15:00 on working days.
    const LocalTime t = ToLocal(now_);
    const int64_t next = t.hour < 13 ? FromLocal(t.days, 15, 0) : FromLocal(t.days + 1, 10, 0);
    Schedule(AtWork(s, Hours::kOffice, next + s.rng.Between(0, 40) * kMinute), s, Kind::kMatching);
    s.matched_this_session = 0;
  }
  const int64_t max_per_session = 3 + s.info.population / 15'000;
  if (s.matched_this_session >= max_per_session) return false;
  // The next patient waiting, priority first.
  int64_t patient_id = -1;
  size_t queue_index = 0;
  for (size_t q = 0; q < s.waiting.size() && patient_id < 0; ++q) {
    while (!s.waiting[q].empty()) {
      const int64_t id = s.waiting[q].front();
      const auto p = s.patients.find(id);
      if (p == s.patients.end() || p->second.state != Waiting::kWaiting) {
        s.waiting[q].pop_front();  // assigned, withdrawn or referred meanwhile
        continue;
      }
      patient_id = id;
      queue_index = q;
      break;
    }
  }
  if (patient_id < 0) return false;
  // GPs with room: capacity left beyond the referrals awaiting their answer.
  std::vector<int> room, overbook;
  for (int gp : s.current[kGp]) {
    const MemberSim& m = s.members[static_cast<size_t>(gp)];
    if (!m.declared) continue;
    const int64_t left = *m.declared - m.taken;
    if (left - m.pending > 0)
      room.push_back(gp);
    else if (left > 0)
      overbook.push_back(gp);
  }
  int gp = -1;
  if (!room.empty()) {
    gp = s.rng.Pick(room);
  } else if (!overbook.empty() && s.rng.Chance(0.5)) {
    // The last unit may go to another referral first: the later acceptance is then refused.
    gp = s.rng.Pick(overbook);
  } else if (s.rng.Chance(0.04) && !s.current[kGp].empty()) {
    gp = s.rng.Pick(s.current[kGp]);  // an out-of-date list of GPs with room: may be refused
  }
  if (gp < 0) return false;
  MemberSim& m = s.members[static_cast<size_t>(gp)];
  PatientSim& p = s.patients.at(patient_id);
  s.waiting[queue_index].pop_front();
  ++s.matched_this_session;
  Schedule(now_ + 60 * kSecond + static_cast<int64_t>(s.rng.Exponential(4.0 * kMinute)), s,
           Kind::kMatching, 1);
  const bool has_unit = m.declared && *m.declared - m.taken > 0;
  if (!has_unit) {
    // Refused (gp_at_capacity): the patient keeps their place.
    Emit(s, "access.issue_referral", Coordinator(s),
         {{"referral_id",
           "ORI-" + Year(now_) + "-" + Digits(static_cast<uint64_t>(++s.referral_no), 6)},
          {"patient", p.pseudonym},
          {"gp", m.id}});
    s.waiting[queue_index].push_front(patient_id);
    return true;
  }
  if (m.pending < *m.declared - m.taken && s.rng.Chance(0.07)) {
    // A GP found by phone takes the patient at once: an assignment without a referral.
    Emit(s, "access.assign_gp", Coordinator(s), {{"patient", p.pseudonym}, {"gp", m.id}});
    ++m.taken;
    s.patients.erase(patient_id);
    return true;
  }
  const int64_t rid = ++s.next_id;
  ReferralSim& r = s.referrals[rid];
  r.id = "ORI-" + Year(now_) + "-" + Digits(static_cast<uint64_t>(++s.referral_no), 6);
  r.patient = patient_id;
  r.gp = gp;
  Emit(s, "access.issue_referral", Coordinator(s),
       {{"referral_id", r.id}, {"patient", p.pseudonym}, {"gp", m.id}});
  p.state = Waiting::kReferred;
  p.referral = rid;
  ++m.pending;
  ++m.busy;
  if (s.rng.Chance(0.004)) {
    // Referred again by a colleague before the GP answered: refused (referral_pending).
    Schedule(now_ + s.rng.Between(2, 90) * kMinute, s, Kind::kReferAgain, rid);
  }
  Schedule(
      AtWork(s, Hours::kSurgery, now_ + static_cast<int64_t>(s.rng.LogNormal(1.2, 0.8) * kDay)), s,
      Kind::kAnswerReferral, rid);
  return true;
}

bool Scenario::Impl::ReferAgain(CptsSim& s, int64_t rid) {
  const auto r = s.referrals.find(rid);
  if (r == s.referrals.end() || r->second.voided) return false;
  const PatientSim& p = s.patients.at(r->second.patient);
  if (p.state != Waiting::kReferred || p.referral != rid) return false;  // answered meanwhile
  const int gp = PickMember(s, kGp);
  if (gp < 0) return false;
  Emit(s, "access.issue_referral", Coordinator(s),
       {{"referral_id",
         "ORI-" + Year(now_) + "-" + Digits(static_cast<uint64_t>(++s.referral_no), 6)},
        {"patient", p.pseudonym},
        {"gp", s.members[static_cast<size_t>(gp)].id}});
  return true;
}

bool Scenario::Impl::AnswerReferral(CptsSim& s, int64_t rid) {
  ReferralSim& r = s.referrals.at(rid);
  MemberSim& gp = s.members[static_cast<size_t>(r.gp)];
  const auto finish = [&] {
    --gp.busy;
    s.referrals.erase(rid);
  };
  if (r.voided) {
    // The patient withdrew meanwhile; a GP who did not see it answers anyway, and is refused.
    if (!s.rng.Chance(0.15)) {
      finish();
      return false;
    }
    Emit(s, "access.accept_referral", "professional:" + gp.id, {{"referral_id", r.id}});
    finish();
    return true;
  }
  PatientSim& p = s.patients.at(r.patient);
  const bool has_unit = gp.declared && *gp.declared - gp.taken > 0;
  if (s.rng.Chance(0.8)) {
    if (!has_unit) {
      // Another acceptance took the last unit. Some GPs try anyway and are refused, then decline.
      if (s.rng.Chance(0.6)) {
        Emit(s, "access.accept_referral", "professional:" + gp.id, {{"referral_id", r.id}});
        Schedule(AtWork(s, Hours::kSurgery, now_ + s.rng.Between(10, 300) * kMinute), s,
                 Kind::kDeclineAfterRace, rid);
        return true;
      }
      return DeclineAfterRace(s, rid);
    }
    Emit(s, "access.accept_referral", s.rng.Chance(0.85) ? "professional:" + gp.id : Coordinator(s),
         {{"referral_id", r.id}});
    ++gp.taken;
    --gp.pending;
    p.state = Waiting::kAccepted;
    // The coordinator records the assignment once the first consultation took place.
    Schedule(AtWork(s, Hours::kOffice, now_ + static_cast<int64_t>(s.rng.LogNormal(4, 0.6) * kDay)),
             s, Kind::kAssignGp, r.patient, rid);
    return true;
  }
  static constexpr std::string_view kReasons[] = {"no_capacity", "out_of_area", "patient_refused",
                                                  "other"};
  static constexpr std::string_view kNotes[] = {
      "Patientèle complète pour le moment", "Domicile trop éloigné du cabinet",
      "Le patient souhaite un médecin plus proche de chez lui",
      "Rendez-vous de première consultation non honoré"};
  const size_t reason = s.rng.Weighted({0.35, 0.3, 0.2, 0.15});
  json data = {{"referral_id", r.id}, {"reason", kReasons[reason]}};
  if (s.rng.Chance(0.3)) data["note"] = kNotes[reason];
  Emit(s, "access.decline_referral", "professional:" + gp.id, std::move(data));
  --gp.pending;
  p.state = Waiting::kWaiting;
  p.referral = -1;
  s.waiting[static_cast<size_t>(p.priority())].push_front(r.patient);
  finish();
  return true;
}

bool Scenario::Impl::DeclineAfterRace(CptsSim& s, int64_t rid) {
  ReferralSim& r = s.referrals.at(rid);
  MemberSim& gp = s.members[static_cast<size_t>(r.gp)];
  if (r.voided) {  // the patient withdrew meanwhile: the referral is void, nothing to decline
    --gp.busy;
    s.referrals.erase(rid);
    return false;
  }
  Emit(s, "access.decline_referral", "professional:" + gp.id,
       {{"referral_id", r.id}, {"reason", "no_capacity"}});
  PatientSim& p = s.patients.at(r.patient);
  --gp.pending;
  --gp.busy;
  p.state = Waiting::kWaiting;
  p.referral = -1;
  s.waiting[static_cast<size_t>(p.priority())].push_front(r.patient);
  s.referrals.erase(rid);
  return true;
}

bool Scenario::Impl::AssignGp(CptsSim& s, int64_t patient, int64_t rid) {
  ReferralSim& r = s.referrals.at(rid);
  MemberSim& gp = s.members[static_cast<size_t>(r.gp)];
  Emit(s, "access.assign_gp", Coordinator(s),
       {{"patient", s.patients.at(patient).pseudonym}, {"gp", gp.id}, {"referral_id", r.id}});
  --gp.busy;
  s.referrals.erase(rid);
  s.patients.erase(patient);
  return true;
}

bool Scenario::Impl::Withdraw(CptsSim& s, int64_t id) {
  const auto it = s.patients.find(id);
  // Assigned already, or accepted by a GP (the request ends with the assignment).
  if (it == s.patients.end() || it->second.state == Waiting::kAccepted ||
      it->second.state == Waiting::kToRegister) {
    return false;
  }
  PatientSim& p = it->second;
  static constexpr std::string_view kReasons[] = {"found_gp_elsewhere", "moved_out_of_area",
                                                  "patient_request", "deceased", "other"};
  const size_t reason = p.band == 5 ? s.rng.Weighted({0.35, 0.1, 0.15, 0.3, 0.1})
                                    : s.rng.Weighted({0.5, 0.17, 0.2, 0.01, 0.12});
  json data = {{"patient", p.pseudonym}, {"reason", kReasons[reason]}};
  if (reason == 4) data["note"] = "Injoignable après trois relances";
  Emit(s, "access.withdraw_request", Coordinator(s), std::move(data));
  if (p.state == Waiting::kReferred) {
    ReferralSim& r = s.referrals.at(p.referral);
    r.voided = true;  // the deciders void a pending referral when the request ends
    --s.members[static_cast<size_t>(r.gp)].pending;
  }
  s.patients.erase(it);
  return true;
}

// --- Ville-hôpital.

bool Scenario::Impl::StayArrival(CptsSim& s) {
  Schedule(
      Arrival(s, now_, kStaysPerYear * static_cast<double>(s.info.population), Hours::kAdmission),
      s, Kind::kStayArrival);
  const int64_t id = ++s.next_id;
  StaySim& st = s.stays[id];
  const double x = s.rng.Uniform();
  st.establishment = s.establishments[static_cast<size_t>(
      std::upper_bound(s.establishment_cdf.begin(), s.establishment_cdf.end() - 1, x) -
      s.establishment_cdf.begin())];
  Establishment& e = establishments_[st.establishment];
  st.band = Band(s, {0.08, 0.12, 0.18, 0.17, 0.2, 0.25});
  st.patient = NewPatient(s, st.band);
  st.commune = Commune(s);
  st.unit = st.band == 0                        ? "PEDIA"
            : st.band == 1 && s.rng.Chance(0.4) ? "MATER"
            : st.band >= 4 && s.rng.Chance(0.3) ? "GERIA"
                                                : std::string(kUnits[s.rng.Index(11)]);
  st.visit = Year(now_).substr(2) + Digits(static_cast<uint64_t>(e.movements), 8);
  // This task runs when the A01 reaches the CPTS: at once, or with the hourly batch.
  st.admitted = now_ - (e.hourly_batches ? s.rng.Between(1, 60) * kMinute
                                         : static_cast<int64_t>(s.rng.Exponential(8.0 * kMinute)));
  // Length of stay, then the discharge's day and hour.
  const int64_t los = std::min<int64_t>(45, std::llround(s.rng.LogNormal(3.0, 0.85)));
  const LocalTime adm = ToLocal(st.admitted);
  int64_t day = adm.days + los;
  const int weekday = static_cast<int>((day + 3) % 7);  // 1970-01-01 was a Thursday
  if (weekday >= 5 && los > 1 && s.rng.Chance(0.45)) day -= weekday - 4;  // out on Friday
  int64_t discharged = TimeOfDay(s, Hours::kDischarge, day);
  if (discharged < st.admitted + 2 * kHour) discharged = st.admitted + s.rng.Between(2, 10) * kHour;
  st.discharged = discharged;
  st.refs = 1;
  // HL7 messages go out at once, or with the next hourly batch.
  const auto sent = [&](int64_t at) {
    return e.hourly_batches ? (at / kHour + 1) * kHour + s.rng.Between(0, 120) * kSecond
                            : at + s.rng.Between(20, 600) * kSecond;
  };
  Schedule(sent(st.discharged), s, Kind::kDischarge, id);
  if (!e.sends_admissions) return false;
  const std::string movement = Digits(static_cast<uint64_t>(++e.movements), 9);
  json data = {{"finess", e.finess},
               {"movement_id", movement},
               {"visit_id", st.visit},
               {"patient", st.patient},
               {"admitted_at", FormatLocal(st.admitted)},
               {"commune", st.commune}};
  if (s.rng.Chance(0.85)) data["unit"] = st.unit;
  Emit(s, "stay.notify_admission", "hospital:" + e.finess, std::move(data),
       "hl7-" + e.finess + "-" + std::to_string(++e.messages));
  return true;
}

bool Scenario::Impl::Discharge(CptsSim& s, int64_t id) {
  StaySim& st = s.stays.at(id);
  Establishment& e = establishments_[st.establishment];
  // Where to, and what city care it calls for: older patients go to an EHPAD or die more often.
  static constexpr double kDeath[] = {0.002, 0.003, 0.008, 0.02, 0.03, 0.06};
  static constexpr double kEhpad[] = {0, 0, 0.003, 0.01, 0.03, 0.1};
  const double death = kDeath[st.band], ehpad = kEhpad[st.band];
  static constexpr std::string_view kDestinations[] = {"home", "ehpad", "transfer",
                                                       "other_structure", "death"};
  const size_t dest = s.rng.Weighted({1 - death - ehpad - 0.09, ehpad, 0.05, 0.04, death});
  st.needs.clear();
  if (dest == 0) {
    static constexpr double kNone[] = {0.6, 0.55, 0.45, 0.3, 0.2, 0.15};
    if (!s.rng.Chance(kNone[st.band])) {
      if (s.rng.Chance(st.band >= 4 ? 0.6 : 0.35)) st.needs.push_back("home_nursing");
      if (s.rng.Chance(st.unit == "CHIORT" ? 0.8 : 0.15)) st.needs.push_back("physiotherapy");
      if (s.rng.Chance(0.3)) st.needs.push_back("pharmacy");
      if (s.rng.Chance(0.4) || st.needs.empty()) st.needs.push_back("gp_visit");
      if (s.rng.Chance(st.unit == "ONCO" ? 0.7 : 0.01)) st.needs.push_back("oncology_nurse");
    }
  } else if (dest == 1 && s.rng.Chance(0.3)) {
    st.needs.push_back("gp_visit");
  }
  // The médecin traitant, when the hospital knows them: a member or not.
  st.gp.clear();
  if (s.rng.Chance(0.85)) {
    const int member = PickMember(s, kGp);
    st.gp = member >= 0 && s.rng.Chance(0.6) ? s.members[static_cast<size_t>(member)].id
                                             : s.rng.Pick(s.outside_gps);
  }
  st.discharge_id = "SOR-" + Year(now_) + "-" + Digits(static_cast<uint64_t>(++s.discharge_no), 6);
  st.movement = Digits(static_cast<uint64_t>(++e.movements), 9);
  json needs = json::array();
  for (const std::string& n : st.needs) needs.push_back(n);
  json data = {{"discharge_id", st.discharge_id},
               {"finess", e.finess},
               {"movement_id", st.movement},
               {"visit_id", st.visit},
               {"patient", st.patient},
               {"discharged_at", FormatLocal(st.discharged)},
               {"destination", kDestinations[dest]},
               {"needs", std::move(needs)},
               {"commune", st.commune}};
  if (s.rng.Chance(0.85)) data["unit"] = st.unit;
  if (s.rng.Chance(0.9)) {
    static constexpr std::string_view kExit[] = {"8", "8", "7", "7", "9"};
    data["exit_mode"] = kExit[dest];
  }
  if (dest == 1 && !s.ehpads.empty() && s.rng.Chance(0.85)) {
    data["destination_finess"] =
        s.members[static_cast<size_t>(s.rng.Pick(s.ehpads))].id.substr(7);  // without "finess:"
  } else if ((dest == 2 || dest == 3) && s.rng.Chance(0.8)) {
    const std::string& target = s.rng.Pick(s.transfer_targets);
    if (target != e.finess) data["destination_finess"] = target;
  }
  if (s.rng.Chance(0.4)) {
    static constexpr std::string_view kCircumstances[] = {
        "Sortie programmée",
        "Retour à domicile",
        "Entrée en EHPAD",
        "Transfert vers un autre établissement",
        "Orientation en soins médicaux et de réadaptation",
        "Décès"};
    const size_t c = dest == 0 ? (s.rng.Chance(0.02) ? 99 : s.rng.Index(2)) : dest + 1;
    data["circumstance"] =
        c == 99 ? std::string("Sortie contre avis médical") : std::string(kCircumstances[c]);
  }
  if (!st.gp.empty()) data["gp"] = st.gp;
  st.discharge_data = data;
  Emit(s, "discharge.notify", "hospital:" + e.finess, std::move(data),
       "hl7-" + e.finess + "-" + std::to_string(++e.messages));
  // What follows: an HL7 retry now and then, a rare cancellation (A13), the follow-ups.
  if (s.rng.Chance(0.01)) {
    ++st.refs;
    Schedule(now_ + s.rng.Between(30, 900) * kSecond, s, Kind::kResendDischarge, id);
  }
  if (s.rng.Chance(0.012)) {
    ++st.refs;
    Schedule(
        AtWork(s, Hours::kDischarge, now_ + static_cast<int64_t>(s.rng.Exponential(3.0 * kHour))),
        s, Kind::kCancelDischarge, id);
  }
  if (!st.needs.empty() && s.rng.Chance(0.92)) {
    ++st.refs;
    Schedule(
        AtWork(s, Hours::kOffice, now_ + static_cast<int64_t>(s.rng.Exponential(45.0 * kMinute))),
        s, Kind::kAssignFollowup, id, 0);
  }
  // No médecin traitant known: the coordinator offers to find one.
  if (st.gp.empty() && dest == 0 && st.band >= 1 && !st.renotified && s.rng.Chance(0.05)) {
    const int64_t pid = ++s.next_id;
    PatientSim& p = s.patients[pid];
    p.pseudonym = st.patient;
    p.band = st.band;
    static constexpr double kAld[] = {0.05, 0.1, 0.25, 0.4, 0.5, 0.6};
    p.ald = s.rng.Chance(kAld[st.band]);
    p.c2s = s.rng.Chance(0.1);
    p.commune = st.commune;
    Schedule(AtWork(s, Hours::kOffice, now_ + s.rng.Between(2, 10) * kDay), s, Kind::kRegisterKnown,
             pid);
  }
  ReleaseStay(s, id);
  return true;
}

void Scenario::Impl::ReleaseStay(CptsSim& s, int64_t id) {
  if (--s.stays.at(id).refs == 0) s.stays.erase(id);
}

bool Scenario::Impl::ResendDischarge(CptsSim& s, int64_t id) {
  StaySim& st = s.stays.at(id);
  Establishment& e = establishments_[st.establishment];
  // The same movement again: the deciders change nothing.
  Emit(s, "discharge.notify", "hospital:" + e.finess, st.discharge_data,
       "hl7-" + e.finess + "-" + std::to_string(++e.messages));
  ReleaseStay(s, id);
  return true;
}

bool Scenario::Impl::CancelDischarge(CptsSim& s, int64_t id) {
  StaySim& st = s.stays.at(id);
  Establishment& e = establishments_[st.establishment];
  static constexpr std::string_view kReasons[] = {
      "Sortie annulée : patient maintenu en hospitalisation", "Erreur de saisie du mouvement",
      "Sortie reportée à la demande du service"};
  const size_t reason = s.rng.Index(3);
  Emit(s, "discharge.cancel", "hospital:" + e.finess,
       {{"discharge_id", st.discharge_id},
        {"movement_id", st.movement},
        {"reason", kReasons[reason]}},
       "hl7-" + e.finess + "-" + std::to_string(++e.messages));
  st.cancelled = true;
  if (reason != 1 && s.rng.Chance(0.8)) {
    // The real discharge, a few days later: a new stay record, the same patient and visit.
    const int64_t again = ++s.next_id;
    StaySim next = st;
    next.cancelled = false;
    next.renotified = true;
    next.refs = 1;
    next.discharged = TimeOfDay(s, Hours::kDischarge, ToLocal(now_).days + s.rng.Between(1, 4));
    const int64_t at = next.discharged + s.rng.Between(20, 600) * kSecond;
    s.stays.emplace(again, std::move(next));
    Schedule(at, s, Kind::kDischarge, again);
  }
  ReleaseStay(s, id);
  return true;
}

// Assigns the follow-up of need `need` of a discharge; `chain`: then the next need.
bool Scenario::Impl::AssignFollowup(CptsSim& s, int64_t id, int64_t need, bool chain) {
  StaySim& st = s.stays.at(id);
  if (st.cancelled) {
    // Cancelled before the coordinator got to it; now and then their screen was behind and the
    // assignment is refused (discharge_cancelled).
    const int nurse = PickMember(s, kNurse);
    const bool stale = chain && need == 0 && nurse >= 0 && s.rng.Chance(0.15);
    if (stale) {
      Emit(s, "followup.assign", Coordinator(s),
           {{"followup_id", NextFollowupId(s)},
            {"discharge_id", st.discharge_id},
            {"professional", s.members[static_cast<size_t>(nurse)].id},
            {"need", st.needs[0]}});
    }
    ReleaseStay(s, id);
    return stale;
  }
  const std::string what = st.needs[static_cast<size_t>(need)];
  if (chain && static_cast<size_t>(need) + 1 < st.needs.size()) {
    ++st.refs;
    Schedule(now_ + 30 * kSecond + static_cast<int64_t>(s.rng.Exponential(3.0 * kMinute)), s,
             Kind::kAssignFollowup, id, need + 1);
  }
  const auto again_later = [&](int64_t delay) {
    ++st.refs;
    Schedule(AtWork(s, Hours::kOffice, now_ + delay), s, Kind::kReassignFollowup, id, need);
  };
  if (!s.former.empty() && s.rng.Chance(0.003)) {
    // Someone who left, from an old list: refused (not_a_member); assigned again soon after.
    Emit(s, "followup.assign", Coordinator(s),
         {{"followup_id", NextFollowupId(s)},
          {"discharge_id", st.discharge_id},
          {"professional", s.members[static_cast<size_t>(s.rng.Pick(s.former))].id},
          {"need", what}});
    again_later(s.rng.Between(1, 10) * kMinute);
    ReleaseStay(s, id);
    return true;
  }
  int professional = -1;
  if (what == "gp_visit") {
    for (int gp : s.current[kGp]) {  // the médecin traitant when they are a member
      if (s.members[static_cast<size_t>(gp)].id == st.gp) professional = gp;
    }
    if (professional < 0) professional = PickMember(s, kGp);
  } else {
    const int prof = what == "physiotherapy" ? kPhysio : what == "pharmacy" ? kPharmacist : kNurse;
    professional = PickMember(s, prof);
    if (professional < 0) professional = PickMember(s, kNurse);
  }
  if (professional < 0) {  // nobody to send it to
    ReleaseStay(s, id);
    return false;
  }
  MemberSim& pro = s.members[static_cast<size_t>(professional)];
  const int64_t fid = ++s.next_id;
  FollowupSim& f = s.followups[fid];
  f.id = NextFollowupId(s);
  f.stay = id;  // holds the task's reference to the stay from here on
  f.professional = professional;
  f.assigned = now_;
  Emit(s, "followup.assign", Coordinator(s),
       {{"followup_id", f.id},
        {"discharge_id", st.discharge_id},
        {"professional", pro.id},
        {"need", what}});
  ++pro.busy;
  // Acknowledged mostly within 48 hours; some late; a few never (assigned to someone else).
  const size_t pace = s.rng.Weighted({0.86, 0.10, 0.04});
  if (pace == 2) {
    --pro.busy;
    s.followups.erase(fid);
    if (s.rng.Chance(0.7)) again_later(s.rng.Between(3, 5) * kDay);
    ReleaseStay(s, id);
    return true;
  }
  const double delay = pace == 0 ? std::min(40.0, s.rng.LogNormal(5, 1.0)) * kHour
                                 : static_cast<double>(s.rng.Between(50, 150) * kHour);
  Schedule(AtWork(s, Hours::kSurgery, now_ + static_cast<int64_t>(delay)), s, Kind::kAcknowledge,
           fid);
  return true;
}

std::string Scenario::Impl::NextFollowupId(CptsSim& s) {
  return "SUI-" + Year(now_) + "-" + Digits(static_cast<uint64_t>(++s.followup_no), 6);
}

void Scenario::Impl::EndFollowup(CptsSim& s, int64_t fid) {
  const auto it = s.followups.find(fid);
  --s.members[static_cast<size_t>(it->second.professional)].busy;
  const int64_t stay = it->second.stay;
  s.followups.erase(it);
  ReleaseStay(s, stay);
}

bool Scenario::Impl::Acknowledge(CptsSim& s, int64_t fid, bool again) {
  const auto it = s.followups.find(fid);
  if (it == s.followups.end()) return false;  // ended meanwhile
  FollowupSim& f = it->second;
  const MemberSim& pro = s.members[static_cast<size_t>(f.professional)];
  const StaySim& st = s.stays.at(f.stay);
  if (again) {
    // A second tap in the app: refused (already_acknowledged); the follow-up goes on.
    Emit(s, "followup.acknowledge", "professional:" + pro.id, {{"followup_id", f.id}});
    return true;
  }
  if (st.cancelled) {
    // Void since the hospital cancelled the discharge; some acknowledge anyway (refused).
    const bool stale = s.rng.Chance(0.25);
    if (stale) Emit(s, "followup.acknowledge", "professional:" + pro.id, {{"followup_id", f.id}});
    EndFollowup(s, fid);
    return stale;
  }
  if (f.visit == 0 && s.rng.Chance(0.03)) {
    // The visit took place and is recorded before the acknowledgement: refused
    // (not_acknowledged). The professional acknowledges, then records it again.
    f.visit = AtWork(s, Hours::kSurgery,
                     std::max(f.assigned + kHour, now_ - s.rng.Between(2, 20) * kHour));
    f.visit = std::min(f.visit, now_ - kMinute);
    Emit(s, "followup.complete", "professional:" + pro.id,
         {{"followup_id", f.id}, {"visited_at", FormatLocal(f.visit)}});
    Schedule(now_ + s.rng.Between(1, 5) * kMinute, s, Kind::kAcknowledge, fid);
    return true;
  }
  Emit(s, "followup.acknowledge", s.rng.Chance(0.9) ? "professional:" + pro.id : Coordinator(s),
       {{"followup_id", f.id}});
  if (s.rng.Chance(0.015)) {
    Schedule(now_ + s.rng.Between(1, 30) * kSecond, s, Kind::kAcknowledgeAgain, fid);
  }
  if (f.visit != 0) {  // recorded before: entered again at once
    Schedule(now_ + s.rng.Between(1, 4) * kMinute, s, Kind::kComplete, fid, f.visit);
    return true;
  }
  // The visit: mostly within 7 days of the discharge, some late, a few never recorded.
  const size_t pace = s.rng.Weighted({0.86, 0.09, 0.05});
  if (pace == 2) {
    EndFollowup(s, fid);
    return true;
  }
  const double after = pace == 0 ? std::min(6.5, s.rng.LogNormal(2.2, 0.6)) * kDay
                                 : static_cast<double>(s.rng.Between(8, 21) * kDay);
  const int64_t visit =
      AtWork(s, Hours::kSurgery,
             std::max(st.discharged + static_cast<int64_t>(after), f.assigned + kHour));
  const int64_t recorded =
      AtWork(s, Hours::kSurgery,
             std::max(visit, now_) + static_cast<int64_t>(s.rng.Exponential(5.0 * kHour)));
  Schedule(recorded, s, Kind::kComplete, fid, visit);
  return true;
}

bool Scenario::Impl::Complete(CptsSim& s, int64_t fid, int64_t visited) {
  const FollowupSim& f = s.followups.at(fid);
  // Void if the hospital cancelled the discharge since; some record the visit anyway (refused).
  const bool send = !s.stays.at(f.stay).cancelled || s.rng.Chance(0.25);
  if (send) {
    Emit(s, "followup.complete",
         "professional:" + s.members[static_cast<size_t>(f.professional)].id,
         {{"followup_id", f.id}, {"visited_at", FormatLocal(visited)}});
  }
  EndFollowup(s, fid);
  return send;
}

// --- Unscheduled care.

bool Scenario::Impl::SnpArrival(CptsSim& s) {
  Schedule(
      Arrival(s, now_, kSnpPerYear * static_cast<double>(s.info.population), Hours::kCareDemand), s,
      Kind::kSnpArrival);
  const int64_t id = ++s.next_id;
  SnpSim& r = s.snp[id];
  r.id = "SNP-" + Year(now_) + "-" + Digits(static_cast<uint64_t>(++s.snp_no), 6);
  r.received = now_ - s.rng.Between(1, 15) * kMinute;
  const SnpMotive& motive =
      kMotives[s.rng.Weighted({8, 6, 4, 5, 5, 3, 2, 4, 5, 4, 2, 4, 2, 3, 1, 1, 1.5, 1})];
  r.category = motive.category;
  r.emergency = motive.emergency;
  json data = {{"request_id", r.id},
               {"received_at", FormatLocal(r.received)},
               {"motive", motive.text},
               {"commune", Commune(s)}};
  if (s.rng.Chance(0.7)) data["patient"] = NewPatient(s, Band(s, {0.25, 0.3, 0.2, 0.1, 0.1, 0.05}));
  // From the CPTS's phone line, or from the département's SAS platform.
  const std::string actor =
      s.rng.Chance(0.6) ? Coordinator(s) : "system:sas-" + s.profile.main_code.substr(0, 2);
  Emit(s, "snp.receive_request", actor, std::move(data));
  const size_t path = r.emergency ? 1 : s.rng.Weighted({0.88, 0.105, 0.015});
  if (path == 0) {
    Schedule(
        AtWork(s, Hours::kSurgery, now_ + static_cast<int64_t>(s.rng.Exponential(50.0 * kMinute))),
        s, Kind::kSnpOffer, id);
  } else if (path == 1) {
    Schedule(AtWork(s, Hours::kCareDemand,
                    now_ + static_cast<int64_t>(s.rng.Exponential(30.0 * kMinute))),
             s, Kind::kSnpRedirect, id);
  } else {
    s.snp.erase(id);  // never answered: stays open in the indicator
  }
  return true;
}

bool Scenario::Impl::SnpOffer(CptsSim& s, int64_t id) {
  SnpSim& r = s.snp.at(id);
  if (s.rng.Chance(0.006)) {
    // A locum who is not a member offers a slot: refused (not_a_member); a member follows.
    const std::string& locum = s.rng.Pick(s.outside_gps);
    Emit(s, "snp.offer_slot", "professional:" + locum,
         {{"request_id", r.id},
          {"professional", locum},
          {"slot_at", FormatLocal(AtWork(s, Hours::kSurgery, now_ + 3 * kHour))}});
    Schedule(now_ + s.rng.Between(10, 60) * kMinute, s, Kind::kSnpOffer, id);
    return true;
  }
  static constexpr int kCategoryProf[] = {kGp, kNurse, kPhysio, kMidwife};
  int pro = PickMember(s, kCategoryProf[r.category]);
  if (pro < 0 || pro == r.professional) pro = PickMember(s, kGp);
  if (pro < 0) return SnpRedirect(s, id);
  if (r.professional >= 0) --s.members[static_cast<size_t>(r.professional)].busy;
  MemberSim& m = s.members[static_cast<size_t>(pro)];
  const double hours = s.rng.Chance(0.07) ? s.rng.Between(49, 96) : s.rng.LogNormal(5, 0.9);
  const int64_t slot = AtWork(s, Hours::kSurgery, now_ + static_cast<int64_t>(hours * kHour));
  Emit(s, "snp.offer_slot", "professional:" + m.id,
       {{"request_id", r.id}, {"professional", m.id}, {"slot_at", FormatLocal(slot)}});
  ++m.busy;
  r.professional = pro;
  r.slot = slot;
  if (s.rng.Chance(0.18)) {
    // The patient cannot make it: another member offers a slot.
    Schedule(AtWork(s, Hours::kSurgery, now_ + static_cast<int64_t>(s.rng.Exponential(kHour))), s,
             Kind::kSnpOffer, id);
    return true;
  }
  const int64_t given = slot + s.rng.Between(0, 20) * kMinute;
  Schedule(AtWork(s, Hours::kSurgery, given + static_cast<int64_t>(s.rng.Exponential(2.0 * kHour))),
           s, Kind::kSnpCare, id, given);
  return true;
}

bool Scenario::Impl::SnpCare(CptsSim& s, int64_t id, int64_t given) {
  SnpSim& r = s.snp.at(id);
  MemberSim& m = s.members[static_cast<size_t>(r.professional)];
  Emit(s, "snp.give_care", "professional:" + m.id,
       {{"request_id", r.id}, {"professional", m.id}, {"given_at", FormatLocal(given)}});
  --m.busy;
  if (s.rng.Chance(0.008)) {
    // Recorded twice, by another member (a shared surgery, a double entry): refused
    // (request_closed).
    r.professional = -1;
    r.given = given;
    Schedule(now_ + s.rng.Between(5, 240) * kMinute, s, Kind::kSnpCareAgain, id);
    return true;
  }
  s.snp.erase(id);
  return true;
}

bool Scenario::Impl::SnpCareAgain(CptsSim& s, int64_t id) {
  const SnpSim& r = s.snp.at(id);
  const int pro = PickMember(s, kGp);
  if (pro >= 0) {
    const std::string& member = s.members[static_cast<size_t>(pro)].id;
    Emit(s, "snp.give_care", "professional:" + member,
         {{"request_id", r.id}, {"professional", member}, {"given_at", FormatLocal(r.given)}});
  }
  s.snp.erase(id);
  return pro >= 0;
}

bool Scenario::Impl::SnpRedirect(CptsSim& s, int64_t id) {
  SnpSim& r = s.snp.at(id);
  static constexpr std::string_view kTo[] = {"emergency", "sos_medecins", "other_cpts", "other"};
  const size_t to = r.emergency ? 0 : s.rng.Weighted({0.25, 0.35, 0.15, 0.25});
  json data = {{"request_id", r.id},
               {"redirected_to", kTo[to]},
               {"redirected_at", FormatLocal(now_ - s.rng.Between(1, 10) * kMinute)}};
  if (to == 3) data["note"] = "Orienté vers la maison médicale de garde";
  if (to == 0 && s.rng.Chance(0.5)) data["note"] = "Appel transféré au centre 15";
  Emit(s, "snp.redirect", Coordinator(s), std::move(data));
  if (r.professional >= 0) --s.members[static_cast<size_t>(r.professional)].busy;
  s.snp.erase(id);
  return true;
}

// --- Prevention.

void Scenario::Impl::PlanCampaigns(CptsSim& s, int year) {
  const auto& kinds = Campaigns();
  for (size_t k = 0; k < kinds.size(); ++k) {
    const CampaignKind& kind = kinds[k];
    if (!AlwaysRuns(s.info.id, kind.key) && !s.rng.Chance(kind.chance)) continue;
    const int64_t first_day = DaysFromCivil(year, kind.month, kind.day);
    const int64_t launch = FromLocal(first_day - s.rng.Between(14, 35), 9, 0);
    if (launch < now_) continue;  // too late to organise it this year
    const int64_t id = ++s.next_id;
    CampaignSim& c = s.campaigns[id];
    c.kind = static_cast<int>(k);
    c.id = "CAMP-" + std::to_string(year) + "-" + std::string(kind.key);
    c.starts = FromLocal(first_day, 8, 0);
    c.ends = FromLocal(first_day + kind.days, 0, 0);
    c.closes = AtWork(s, Hours::kOffice, c.ends + s.rng.Between(10, 21) * kDay);
    const double expected = kind.target_share * static_cast<double>(s.info.population) *
                            kind.participation * (0.6 + 0.8 * s.rng.Uniform());
    c.per_day = expected / kind.days;
    c.refs = 1;
    Schedule(AtWork(s, Hours::kOffice, launch), s, Kind::kLaunchCampaign, id);
  }
  Schedule(FromLocal(DaysFromCivil(year, 12, 1), 9, 0), s, Kind::kPlanCampaigns, year + 1);
}

bool Scenario::Impl::LaunchCampaign(CptsSim& s, int64_t id) {
  CampaignSim& c = s.campaigns.at(id);
  const CampaignKind& kind = Campaigns()[static_cast<size_t>(c.kind)];
  char title[200];
  std::snprintf(title, sizeof title, std::string(kind.title).c_str(), ToLocal(c.starts).year);
  json sites = json::array();
  const int64_t n = std::min<int64_t>(8, 2 + s.info.population / 40'000 + s.rng.Between(0, 2));
  for (int64_t k = 0; k < n; ++k) {
    const std::string site = "S" + std::to_string(k + 1);
    c.sites.push_back(site);
    const std::string commune = k == 0 ? s.profile.main_code : Commune(s);
    std::string name(kSiteNames[static_cast<size_t>(k + c.kind) % std::size(kSiteNames)]);
    if (commune == s.profile.main_code) name += " de " + s.profile.main_name;
    sites.push_back({{"site_id", site}, {"name", name}, {"commune", commune}});
  }
  const int64_t target = std::max<int64_t>(
      1, std::llround(kind.target_share * static_cast<double>(s.info.population) / 10) * 10);
  const std::string dept = s.profile.main_code.substr(0, 2);
  json data = {{"campaign_id", c.id},
               {"theme", kind.theme},
               {"title", title},
               {"target_population", target},
               {"sites", std::move(sites)},
               {"starts_on", FormatDate(ToLocal(c.starts).days)},
               {"ends_on", FormatDate(ToLocal(c.ends - 1).days)}};
  if (s.rng.Chance(0.6)) {
    json partners = {"CPAM " + std::string(FindDepartment(dept).of_name)};
    if (kind.theme == "breast_cancer" || kind.theme == "colorectal_cancer" ||
        kind.theme == "cervical_cancer") {
      partners.push_back("Ligue contre le cancer");
      partners.push_back("Centre régional de coordination des dépistages des cancers");
    }
    if (kind.theme == "tobacco") partners.push_back("Santé publique France");
    data["partners"] = std::move(partners);
  }
  Emit(s, "prevention.launch_campaign", Coordinator(s), std::move(data));
  ++c.refs;
  Schedule(Arrival(s, c.starts, c.per_day * 365, Hours::kSite), s, Kind::kParticipation, id);
  Schedule(c.closes, s, Kind::kCloseCampaign, id);
  return true;
}

bool Scenario::Impl::Participation(CptsSim& s, int64_t id, bool paper, int64_t participated) {
  CampaignSim& c = s.campaigns.at(id);
  const CampaignKind& kind = Campaigns()[static_cast<size_t>(c.kind)];
  if (!paper) {
    if (now_ >= c.ends) {  // the campaign is over: no more live participations
      ReleaseCampaign(s, id);
      return false;
    }
    Schedule(Arrival(s, now_, c.per_day * 365, Hours::kSite), s, Kind::kParticipation, id);
    participated = now_ - s.rng.Between(1, 30) * kMinute;
    if (s.rng.Chance(0.12)) {
      // On a paper form, typed in after the campaign; some after it was closed (refused).
      ++c.refs;
      Schedule(
          AtWork(s, Hours::kOffice, c.ends + static_cast<int64_t>(s.rng.Exponential(6.0 * kDay))),
          s, Kind::kPaperForm, id, participated);
      return false;
    }
  }
  std::string site = s.rng.Pick(c.sites);
  if (s.rng.Chance(0.003)) site = "S" + std::to_string(c.sites.size() + 1);  // a typo: refused
  json data = {
      {"campaign_id", c.id}, {"site_id", site}, {"participated_at", FormatLocal(participated)}};
  std::string actor = Coordinator(s);
  if (s.rng.Chance(paper ? 0.3 : 0.6)) {
    const int pro = PickMember(s, s.rng.Pick(kind.recorders));
    if (pro >= 0) {
      data["professional"] = s.members[static_cast<size_t>(pro)].id;
      if (!paper) actor = "professional:" + s.members[static_cast<size_t>(pro)].id;
    }
  }
  if (s.rng.Chance(kind.theme == "vaccination" ? 0.95 : 0.55)) {
    data["participant"] = NewPatient(s, Band(s, {0.05, 0.15, 0.3, 0.25, 0.15, 0.1}));
  }
  Emit(s, "prevention.record_participation", actor, std::move(data));
  if (paper) ReleaseCampaign(s, id);
  return true;
}

bool Scenario::Impl::CloseCampaign(CptsSim& s, int64_t id) {
  CampaignSim& c = s.campaigns.at(id);
  Emit(s, "prevention.close_campaign", Coordinator(s), {{"campaign_id", c.id}});
  c.closed = true;
  ReleaseCampaign(s, id);
  return true;
}

void Scenario::Impl::ReleaseCampaign(CptsSim& s, int64_t id) {
  if (--s.campaigns.at(id).refs == 0) s.campaigns.erase(id);
}

// ---------------------------------------------------------------------------------------------

namespace {

// "2026-01-05T07:00:00Z", "2026-01-05T08:00:00.000+01:00".
std::optional<int64_t> ParseStart(const std::string& s) {
  if (!events::IsTimestamp(s)) return std::nullopt;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &se) != 6) {
    return std::nullopt;
  }
  int64_t ms =
      (DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 24 + h) * kHour +
      mi * kMinute + se * kSecond;
  const size_t zone = s.find_last_of("Z+-");
  if (s[zone] != 'Z') {
    const int oh = std::stoi(s.substr(zone + 1, 2)), om = std::stoi(s.substr(zone + 4, 2));
    ms -= (s[zone] == '+' ? 1 : -1) * (oh * kHour + om * kMinute);
  }
  return ms;
}

}  // namespace

Result<Scenario> Scenario::Create(const ScenarioOptions& options) {
  if (options.cpts < 1 || options.cpts > 1000) {
    return Status::InvalidArgument("cpts must be 1 to 1000, got " + std::to_string(options.cpts));
  }
  const std::optional<int64_t> start = ParseStart(options.start);
  if (!start) {
    return Status::InvalidArgument(
        "start must be an RFC 3339 timestamp such as "
        "2026-01-05T07:00:00Z, got \"" +
        options.start + "\"");
  }
  if (Result<std::string> probe = events::PatientPseudonym("253072B07300470", options.secret);
      !probe.ok()) {
    return probe.status().WithContext("scenario secret");
  }
  return Scenario(std::make_unique<Impl>(options, *start));
}

Scenario::Scenario(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Scenario::Scenario(Scenario&&) noexcept = default;
Scenario& Scenario::operator=(Scenario&&) noexcept = default;
Scenario::~Scenario() = default;

ScenarioCommand Scenario::Next() { return impl_->Next(); }
const std::vector<ScenarioCpts>& Scenario::cpts() const { return impl_->cpts(); }
const std::vector<std::string>& Scenario::cpts_ids() const { return impl_->cpts_ids(); }

}  // namespace cpts::aggregates
