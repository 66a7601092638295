#include "projections/queries.h"

#include <algorithm>
#include <charconv>
#include <map>

#include "projections/clock.h"
#include "projections/read_models.h"

namespace cpts::projections {
namespace {

using json = ::cpts::Json;
using keys::Key;

Status CheckPage(const Page& page) {
  if (page.limit == 0 || page.limit > kMaxPageLimit) {
    return Status::InvalidArgument("limit must be between 1 and " + std::to_string(kMaxPageLimit));
  }
  return Status::Ok();
}

// items[offset, offset + limit) of `all`, with the total and the next page's offset.
json Paged(std::vector<json> all, const Page& page) {
  json out = {{"total", all.size()}, {"offset", page.offset}, {"items", json::array()}};
  for (size_t i = page.offset; i < all.size() && i < page.offset + page.limit; ++i) {
    out["items"].push_back(std::move(all[i]));
  }
  if (page.offset + page.limit < all.size()) out["next_offset"] = page.offset + page.limit;
  return out;
}

// A row without the fields kept for computation only ("..._ms"), instants shown as UTC text.
json Shown(json row) {
  for (auto it = row.begin(); it != row.end();) {
    const std::string& name = it.key();
    if (name.size() > 3 && name.ends_with("_ms")) {
      it = row.erase(it);
    } else {
      ++it;
    }
  }
  return row;
}

double Share(int64_t part, int64_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

int64_t Int(const json& row, const char* name) {
  const auto it = row.find(name);
  return it != row.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

std::string Str(const json& row, const char* name) {
  const auto it = row.find(name);
  return it != row.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The median of a histogram {"days": count}; null when empty.
json Median(const json& histogram) {
  std::map<int64_t, int64_t> counts;
  int64_t n = 0;
  for (const auto& [days, count] : histogram.items()) {
    int64_t d = 0;
    const auto [end, error] = std::from_chars(days.data(), days.data() + days.size(), d);
    if (error != std::errc() || !count.is_number_integer()) continue;  // not ours: skip it
    counts[d] += count.get<int64_t>();
    n += count.get<int64_t>();
  }
  if (n == 0) return nullptr;
  // The values at ranks (n-1)/2 and n/2 (0-based): one value when n is odd.
  const auto at = [&](int64_t rank) {
    for (const auto& [days, count] : counts) {
      if (rank < count) return days;
      rank -= count;
    }
    return counts.rbegin()->first;
  };
  return static_cast<double>(at((n - 1) / 2) + at(n / 2)) / 2.0;
}

Result<json> RowOr(const StoreSnapshot& s, const std::string& key, json fallback) {
  Result<std::optional<json>> row = s.Get(key);
  if (!row.ok()) return row.status();
  return row->has_value() ? std::move(**row) : std::move(fallback);
}

Result<json> CptsRow(const StoreSnapshot& s, const std::string& cpts) {
  Result<std::optional<json>> row = s.Get(Key({rows::kCpts, cpts}));
  if (!row.ok()) return row.status();
  if (!row->has_value()) return Status::NotFound("there is no CPTS " + cpts);
  return std::move(**row);
}

json Deadline(const Deadline& d) {
  json out = {{"state", DeadlineStateName(d.state)}};
  if (d.due_ms) out["due"] = FormatUtcMs(*d.due_ms);
  if (d.met_ms) out["met"] = FormatUtcMs(*d.met_ms);
  return out;
}

// A discharge row as the handoff view shows it at `clock_ms`.
json HandoffItem(const std::string& cpts, const json& row, const HandoffDeadlines& d) {
  json item = Shown(row);
  item["cptsid"] = cpts;
  item["status"] = d.status;
  item["deadlines"] = {{"gp_informed", Deadline(d.gp_informed)},
                       {"first_contact", Deadline(d.first_contact)},
                       {"gp_visit", Deadline(d.gp_visit)}};
  item["gp_informed"] = row.contains("gp_informed_ms");
  int64_t assigned = 0, acknowledged = 0, completed = 0;
  for (const json& f : row.value("followups", json::array())) {
    const std::string status = Str(f, "status");
    if (status == "voided") continue;
    ++assigned;
    if (status == "acknowledged" || status == "completed") ++acknowledged;
    if (status == "completed") ++completed;
  }
  item["followups_summary"] = {
      {"assigned", assigned}, {"acknowledged", acknowledged}, {"completed", completed}};
  return item;
}

int StatusOrder(const std::string& status) {
  if (status == "overdue") return 0;
  if (status == "pending") return 1;
  if (status == "done") return 2;
  return 3;
}

// Overdue first (the longest overdue first), then pending (the nearest deadline first), then
// the rest, latest discharge first.
void SortHandoff(std::vector<std::pair<HandoffDeadlines, json>>& items) {
  std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
    const int oa = StatusOrder(a.first.status), ob = StatusOrder(b.first.status);
    if (oa != ob) return oa < ob;
    if (oa <= 1 && a.first.next_due_ms != b.first.next_due_ms) {
      return a.first.next_due_ms < b.first.next_due_ms;
    }
    const int64_t da = Int(a.second, "discharged_ms"), db = Int(b.second, "discharged_ms");
    if (da != db) return da > db;
    return Str(a.second, "discharge_id") < Str(b.second, "discharge_id");
  });
}

// Counts of index entries whose instant (the entry's value) plus `window` is before `clock`.
Result<int64_t> CountClosedWindows(const StoreSnapshot& s, const std::string& prefix,
                                   int64_t window_ms, int64_t clock_ms) {
  int64_t closed = 0;
  CPTS_RETURN_IF_ERROR(s.Scan(prefix, [&](std::string_view, const json& since) {
    if (since.is_number_integer() && since.get<int64_t>() + window_ms < clock_ms) ++closed;
    return true;
  }));
  return closed;
}

// The indicators of one CPTS from one snapshot, with the numerators and denominators a roll-up
// adds up.
Result<json> IndicatorsOf(const StoreSnapshot& s, const std::string& cpts, int64_t clock_ms) {
  Result<json> info = CptsRow(s, cpts);
  if (!info.ok()) return info.status();
  Result<json> roster = RowOr(s, Key({rows::kRosterStats, cpts}), json::object());
  Result<json> access = RowOr(s, Key({rows::kAccessStats, cpts}), json::object());
  Result<json> handoff = RowOr(s, Key({rows::kHandoffStats, cpts}), json::object());
  Result<json> snp = RowOr(s, Key({rows::kSnpStats, cpts}), json::object());
  for (const Result<json>* r : {&roster, &access, &handoff, &snp}) {
    if (!r->ok()) return r->status();
  }
  const int64_t population = Int(*info, "population");

  int64_t found = 0;
  const json found_by_priority = access->value("found", json::object());
  for (const auto& [group, count] : found_by_priority.items()) {
    found += count.get<int64_t>();
  }
  const int64_t waiting = Int(*access, "waiting");

  Result<int64_t> visits_due = CountClosedWindows(s, Key({rows::kAwaitingVisit, cpts}),
                                                  7 * kDayMs, clock_ms);
  if (!visits_due.ok()) return visits_due.status();
  const int64_t within_7d = Int(*handoff, "visited_within_7d");
  const int64_t discharges_counted = within_7d + Int(*handoff, "visited_late") + *visits_due;

  Result<int64_t> snp_due = CountClosedWindows(s, Key({rows::kSnpOpen, cpts}), 48 * kHourMs,
                                               clock_ms);
  if (!snp_due.ok()) return snp_due.status();
  const int64_t within_48h = Int(*snp, "given_within_48h");
  const int64_t snp_counted = Int(*snp, "given") + Int(*snp, "redirected") + *snp_due;

  int64_t participations = 0, target = 0, campaigns = 0;
  CPTS_RETURN_IF_ERROR(s.Scan(Key({rows::kCampaign, cpts}), [&](std::string_view, const json& c) {
    ++campaigns;
    participations += Int(c, "participations");
    target += Int(c, "target_population");
    return true;
  }));

  return json{
      {"cptsid", cpts},
      {"name", Str(*info, "name")},
      {"region", Str(*info, "region")},
      {"population", population},
      {"size_category", Int(*info, "size_category")},
      {"as_of", FormatUtcMs(clock_ms)},
      {"members", {{"active", Int(*roster, "active")},
                   {"by_profession", roster->value("by_profession", json::object())},
                   {"by_kind", roster->value("by_kind", json::object())}}},
      {"access", {{"registered", Int(*access, "registered")},
                  {"waiting", waiting},
                  {"waiting_share_of_population", Share(waiting, population)},
                  {"found", found},
                  {"found_by_priority", access->value("found", json::object())},
                  {"withdrawn", Int(*access, "withdrawn")},
                  {"median_days_to_find", Median(access->value("days_to_find", json::object()))}}},
      {"handoff", {{"discharges", Int(*handoff, "discharges")},
                   {"cancelled", Int(*handoff, "cancelled")},
                   {"counted", discharges_counted},
                   {"followed_up_within_7d", within_7d},
                   {"share_followed_up_within_7d", Share(within_7d, discharges_counted)}}},
      {"snp", {{"received", Int(*snp, "received")},
               {"counted", snp_counted},
               {"given_within_48h", within_48h},
               {"share_within_48h", Share(within_48h, snp_counted)}}},
      {"prevention", {{"campaigns", campaigns},
                      {"participations", participations},
                      {"target_population", target},
                      {"participation_rate", Share(participations, target)}}},
  };
}

}  // namespace

Result<json> ReadModels::ListCpts(const std::optional<std::string>& region) const {
  const auto s = store_.Snapshot();
  json items = json::array();
  CPTS_RETURN_IF_ERROR(s->Scan(Key({rows::kCpts}), [&](std::string_view, const json& row) {
    if (!region || Str(row, "region") == *region) {
      items.push_back({{"cptsid", Str(row, "cptsid")},
                       {"name", Str(row, "name")},
                       {"region", Str(row, "region")},
                       {"population", Int(row, "population")},
                       {"size_category", Int(row, "size_category")}});
    }
    return true;
  }));
  return json{{"items", std::move(items)}};
}

Result<json> ReadModels::Cpts(const std::string& cpts) const {
  return CptsRow(*store_.Snapshot(), cpts);
}

Result<std::optional<json>> ReadModels::CommandOutcome(const std::string& cpts,
                                                       const std::string& command_id,
                                                       int64_t clock_ms) const {
  Result<std::optional<json>> row =
      store_.Snapshot()->Get(Key({rows::kOutcome, cpts, command_id}));
  if (!row.ok() || !row->has_value()) return row;
  const std::optional<int64_t> decided = ParseTimestampMs(Str(**row, "time"));
  if (decided && *decided < clock_ms - kOutcomeRetentionMs) return std::optional<json>();
  return row;
}

Result<json> ReadModels::Roster(const std::string& cpts, const RosterFilter& filter,
                                const Page& page) const {
  CPTS_RETURN_IF_ERROR(CheckPage(page));
  const auto s = store_.Snapshot();
  Result<json> info = CptsRow(*s, cpts);
  if (!info.ok()) return info.status();
  Result<json> counts = RowOr(*s, Key({rows::kRosterStats, cpts}), json::object());
  if (!counts.ok()) return counts.status();
  const auto matches = [](const std::optional<std::string>& want, const json& row,
                          const char* name) { return !want || Str(row, name) == *want; };
  std::vector<json> members;
  CPTS_RETURN_IF_ERROR(s->Scan(Key({rows::kMember, cpts}), [&](std::string_view, const json& m) {
    if ((filter.include_left || m.value("active", false)) &&
        matches(filter.profession, m, "profession") && matches(filter.commune, m, "commune") &&
        matches(filter.college, m, "college") &&
        matches(filter.practice_mode, m, "practice_mode") &&
        matches(filter.member_kind, m, "member_kind")) {
      members.push_back(m);
    }
    return true;
  }));
  json out = Paged(std::move(members), page);
  out["counts"] = std::move(*counts);
  return out;
}

Result<json> ReadModels::RosterHistory(const std::string& cpts) const {
  const auto s = store_.Snapshot();
  Result<json> info = CptsRow(*s, cpts);
  if (!info.ok()) return info.status();
  json months = json::array();
  CPTS_RETURN_IF_ERROR(s->Scan(Key({rows::kRosterMonth, cpts}), [&](std::string_view, const json& m) {
    months.push_back(m);
    return true;
  }));
  return json{{"cptsid", cpts}, {"months", std::move(months)}};
}

Result<json> ReadModels::GpsWithCapacity(const std::string& cpts) const {
  const auto s = store_.Snapshot();
  Result<json> info = CptsRow(*s, cpts);
  if (!info.ok()) return info.status();
  std::vector<json> gps;
  CPTS_RETURN_IF_ERROR(s->Scan(Key({rows::kMember, cpts}), [&](std::string_view, const json& m) {
    if (!m.value("active", false) || !m.contains("declared_capacity")) return true;
    const int64_t left = Int(m, "declared_capacity") - Int(m, "taken_since_declaration");
    if (left > 0) {
      gps.push_back({{"gp", Str(m, "member_id")},
                     {"display_name", Str(m, "display_name")},
                     {"commune", Str(m, "commune")},
                     {"declared_capacity", Int(m, "declared_capacity")},
                     {"taken_since_declaration", Int(m, "taken_since_declaration")},
                     {"capacity_left", left}});
    }
    return true;
  }));
  std::stable_sort(gps.begin(), gps.end(), [](const json& a, const json& b) {
    return Int(a, "capacity_left") > Int(b, "capacity_left");
  });
  return json{{"cptsid", cpts}, {"items", std::move(gps)}};
}

Result<json> ReadModels::AccessQueue(const std::string& cpts, const Page& page) const {
  CPTS_RETURN_IF_ERROR(CheckPage(page));
  const auto s = store_.Snapshot();
  Result<json> info = CptsRow(*s, cpts);
  if (!info.ok()) return info.status();
  // The queue index is already in priority order: rank, then registration time.
  std::vector<std::string> patients;
  CPTS_RETURN_IF_ERROR(s->Scan(Key({rows::kQueue, cpts}), [&](std::string_view, const json& p) {
    patients.push_back(p.get<std::string>());
    return true;
  }));
  json out = {{"cptsid", cpts}, {"total", patients.size()}, {"offset", page.offset},
              {"items", json::array()}};
  for (size_t i = page.offset; i < patients.size() && i < page.offset + page.limit; ++i) {
    Result<std::optional<json>> row = s->Get(Key({rows::kPatient, cpts, patients[i]}));
    if (!row.ok()) return row.status();
    if (row->has_value()) {
      json item = Shown(std::move(**row));
      item["position"] = i + 1;
      out["items"].push_back(std::move(item));
    }
  }
  if (page.offset + page.limit < patients.size()) out["next_offset"] = page.offset + page.limit;
  return out;
}

Result<json> ReadModels::Referrals(const std::string& cpts,
                                   const std::optional<std::string>& status,
                                   const Page& page) const {
  CPTS_RETURN_IF_ERROR(CheckPage(page));
  const auto s = store_.Snapshot();
  Result<json> info = CptsRow(*s, cpts);
  if (!info.ok()) return info.status();
  std::vector<json> referrals;
  CPTS_RETURN_IF_ERROR(s->Scan(Key({rows::kReferral, cpts}), [&](std::string_view, const json& r) {
    if (!status || Str(r, "status") == *status) referrals.push_back(r);
    return true;
  }));
  json out = Paged(std::move(referrals), page);
  out["cptsid"] = cpts;
  return out;
}

Result<json> ReadModels::AccessSummary(const std::string& cpts) const {
  const auto s = store_.Snapshot();
  Result<json> info = CptsRow(*s, cpts);
  if (!info.ok()) return info.status();
  Result<json> stats = RowOr(*s, Key({rows::kAccessStats, cpts}), json::object());
  if (!stats.ok()) return stats.status();
  const int64_t waiting = Int(*stats, "waiting");
  return json{{"cptsid", cpts},
              {"registered", Int(*stats, "registered")},
              {"waiting", waiting},
              {"waiting_share_of_population", Share(waiting, Int(*info, "population"))},
              {"found_by_priority", stats->value("found", json::object())},
              {"withdrawn", Int(*stats, "withdrawn")},
              {"median_days_to_find", Median(stats->value("days_to_find", json::object()))}};
}

Result<json> ReadModels::Handoff(const std::string& cpts, const HandoffFilter& filter,
                                 int64_t clock_ms, const Page& page) const {
  CPTS_RETURN_IF_ERROR(CheckPage(page));
  const auto s = store_.Snapshot();
  Result<json> info = CptsRow(*s, cpts);
  if (!info.ok()) return info.status();
  std::vector<std::pair<HandoffDeadlines, json>> selected;
  json by_status = json::object();
  CPTS_RETURN_IF_ERROR(s->Scan(Key({rows::kDischarge, cpts}), [&](std::string_view, const json& d) {
    const int64_t discharged = Int(d, "discharged_ms");
    if ((filter.finess && Str(d, "finess") != *filter.finess) ||
        (filter.from_ms && discharged < *filter.from_ms) ||
        (filter.until_ms && discharged >= *filter.until_ms)) {
      return true;
    }
    if (filter.professional) {
      const json followups = d.value("followups", json::array());
      if (std::none_of(followups.begin(), followups.end(), [&](const json& f) {
            return Str(f, "professional") == *filter.professional;
          })) {
        return true;
      }
    }
    HandoffDeadlines deadlines = ComputeDeadlines(d, clock_ms);
    by_status[deadlines.status] = by_status.value(deadlines.status, 0) + 1;
    if (!filter.status || deadlines.status == *filter.status) {
      selected.emplace_back(std::move(deadlines), d);
    }
    return true;
  }));
  SortHandoff(selected);
  std::vector<json> items;
  items.reserve(selected.size());
  for (auto& [deadlines, row] : selected) items.push_back(HandoffItem(cpts, row, deadlines));
  json out = Paged(std::move(items), page);
  out["cptsid"] = cpts;
  out["as_of"] = FormatUtcMs(clock_ms);
  out["by_status"] = std::move(by_status);
  return out;
}

Result<json> ReadModels::Worklist(const std::string& professional, int64_t clock_ms,
                                  bool include_closed, const Page& page) const {
  CPTS_RETURN_IF_ERROR(CheckPage(page));
  const auto s = store_.Snapshot();
  std::vector<std::pair<HandoffDeadlines, json>> selected;
  CPTS_RETURN_IF_ERROR(s->ScanKeys(Key({rows::kWorklist, professional}),
                                   [&](std::string_view key, std::string_view) {
    const std::vector<std::string> parts = keys::Split(key);  // worklist/prof/cpts/followup
    if (parts.size() != 4) return true;
    const std::string& cpts = parts[2];
    Result<std::optional<json>> pointer = s->Get(Key({rows::kFollowup, cpts, parts[3]}));
    if (!pointer.ok() || !pointer->has_value()) return true;
    Result<std::optional<json>> discharge =
        s->Get(Key({rows::kDischarge, cpts, (**pointer).get<std::string>()}));
    if (!discharge.ok() || !discharge->has_value()) return true;
    const json& d = **discharge;
    for (const json& f : d.value("followups", json::array())) {
      if (Str(f, "followup_id") != parts[3]) continue;
      const std::string status = Str(f, "status");
      if (!include_closed && status != "assigned" && status != "acknowledged") continue;
      HandoffDeadlines deadlines = ComputeDeadlines(d, clock_ms);
      json item = HandoffItem(cpts, d, deadlines);
      item["followup"] = f;
      selected.emplace_back(std::move(deadlines), std::move(item));
    }
    return true;
  }));
  SortHandoff(selected);
  std::vector<json> items;
  for (auto& [deadlines, item] : selected) items.push_back(std::move(item));
  json out = Paged(std::move(items), page);
  out["professional"] = professional;
  out["as_of"] = FormatUtcMs(clock_ms);
  return out;
}

Result<json> ReadModels::Snp(const std::string& cpts, const std::optional<std::string>& status,
                             int64_t clock_ms, const Page& page) const {
  CPTS_RETURN_IF_ERROR(CheckPage(page));
  const auto s = store_.Snapshot();
  Result<json> indicators = IndicatorsOf(*s, cpts, clock_ms);
  if (!indicators.ok()) return indicators.status();
  std::vector<json> requests;
  CPTS_RETURN_IF_ERROR(s->Scan(Key({rows::kSnp, cpts}), [&](std::string_view, const json& r) {
    if (status && Str(r, "status") != *status) return true;
    json item = Shown(r);
    const bool open = Str(r, "status") == "open" || Str(r, "status") == "slot_offered";
    item["overdue"] = open && Int(r, "received_ms") + 48 * kHourMs < clock_ms;
    requests.push_back(std::move(item));
    return true;
  }));
  json out = Paged(std::move(requests), page);
  out["cptsid"] = cpts;
  out["summary"] = (*indicators)["snp"];
  return out;
}

Result<json> ReadModels::Campaigns(const std::string& cpts) const {
  const auto s = store_.Snapshot();
  Result<json> info = CptsRow(*s, cpts);
  if (!info.ok()) return info.status();
  json items = json::array();
  CPTS_RETURN_IF_ERROR(s->Scan(Key({rows::kCampaign, cpts}), [&](std::string_view, const json& c) {
    json item = c;
    item["rate"] = Share(Int(c, "participations"), Int(c, "target_population"));
    items.push_back(std::move(item));
    return true;
  }));
  return json{{"cptsid", cpts}, {"items", std::move(items)}};
}

Result<json> ReadModels::Campaign(const std::string& cpts, const std::string& campaign_id) const {
  const auto s = store_.Snapshot();
  Result<std::optional<json>> row = s->Get(Key({rows::kCampaign, cpts, campaign_id}));
  if (!row.ok()) return row.status();
  if (!row->has_value()) {
    return Status::NotFound("there is no campaign " + campaign_id + " in " + cpts);
  }
  json out = std::move(**row);
  out["rate"] = Share(Int(out, "participations"), Int(out, "target_population"));
  json by_day = json::array();
  CPTS_RETURN_IF_ERROR(s->Scan(Key({rows::kCampaignDay, cpts, campaign_id}),
                               [&](std::string_view, const json& d) {
                                 by_day.push_back(d);
                                 return true;
                               }));
  out["by_day"] = std::move(by_day);
  return out;
}

Result<json> ReadModels::Indicators(const std::string& cpts, int64_t clock_ms) const {
  return IndicatorsOf(*store_.Snapshot(), cpts, clock_ms);
}

Result<json> ReadModels::RegionIndicators(const std::string& region, int64_t clock_ms) const {
  const auto s = store_.Snapshot();
  std::vector<std::string> ids;
  CPTS_RETURN_IF_ERROR(s->Scan(Key({rows::kCpts}), [&](std::string_view, const json& row) {
    if (Str(row, "region") == region) ids.push_back(Str(row, "cptsid"));
    return true;
  }));
  if (ids.empty()) return Status::NotFound("no CPTS is registered in region " + region);
  json per_cpts = json::array();
  json size_categories = json::object();
  json by_profession = json::object();
  int64_t population = 0, members = 0, waiting = 0, found = 0, discharges = 0, counted = 0,
          within_7d = 0, snp_counted = 0, within_48h = 0, participations = 0, target = 0;
  for (const std::string& id : ids) {
    Result<json> one = IndicatorsOf(*s, id, clock_ms);
    if (!one.ok()) return one.status();
    const json& i = *one;
    population += Int(i, "population");
    const std::string size = std::to_string(Int(i, "size_category"));
    size_categories[size] = size_categories.value(size, 0) + 1;
    members += Int(i["members"], "active");
    for (const auto& [profession, n] : i["members"]["by_profession"].items()) {
      by_profession[profession] = by_profession.value(profession, 0) + n.get<int64_t>();
    }
    waiting += Int(i["access"], "waiting");
    found += Int(i["access"], "found");
    discharges += Int(i["handoff"], "discharges");
    counted += Int(i["handoff"], "counted");
    within_7d += Int(i["handoff"], "followed_up_within_7d");
    snp_counted += Int(i["snp"], "counted");
    within_48h += Int(i["snp"], "given_within_48h");
    participations += Int(i["prevention"], "participations");
    target += Int(i["prevention"], "target_population");
    per_cpts.push_back(i);
  }
  return json{
      {"region", region},
      {"as_of", FormatUtcMs(clock_ms)},
      {"cpts", ids.size()},
      {"population", population},
      {"size_categories", std::move(size_categories)},
      {"members", {{"active", members}, {"by_profession", std::move(by_profession)}}},
      {"access", {{"waiting", waiting},
                  {"waiting_share_of_population", Share(waiting, population)},
                  {"found", found}}},
      {"handoff", {{"discharges", discharges},
                   {"counted", counted},
                   {"followed_up_within_7d", within_7d},
                   {"share_followed_up_within_7d", Share(within_7d, counted)}}},
      {"snp", {{"counted", snp_counted},
               {"given_within_48h", within_48h},
               {"share_within_48h", Share(within_48h, snp_counted)}}},
      {"prevention", {{"participations", participations},
                      {"target_population", target},
                      {"participation_rate", Share(participations, target)}}},
      {"per_cpts", std::move(per_cpts)},
  };
}

}  // namespace cpts::projections
