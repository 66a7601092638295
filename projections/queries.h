#pragma once
// ReadModels: the queries over a ProjectionStore, which the HTTP API serves (docs/projections.md
// lists each answer's fields). Every query reads one consistent snapshot of the store and
// answers JSON. Deadlines and "within 48 h / 7 days" shares are computed against the clock the
// caller gives, so a view of an as-of build queried at its own moment is exact.
//
// Patient-level queries (they return pseudonyms): AccessQueue, Referrals, Handoff, Worklist,
// Snp. They leave no access trace and open no identity: services and tools call them through
// PatientReads (projections/patient_reads.h), which does both. The others return aggregates only.
// Thread-safety: const queries on a thread-safe store; safe from any thread.

#include <cstdint>
#include <optional>
#include <string>

#include "events/json.h"
#include "events/status.h"
#include "projections/store.h"

namespace cpts::projections {

struct Page {
  size_t offset = 0;
  size_t limit = 50;  // Default: 50; at most kMaxPageLimit
};
inline constexpr size_t kMaxPageLimit = 1000;

struct RosterFilter {
  std::optional<std::string> profession, commune, college, practice_mode, member_kind;
  bool include_left = false;  // Default: current members only
};

struct HandoffFilter {
  std::optional<std::string> status;        // overdue, pending, done, cancelled, not_applicable
  std::optional<std::string> finess;        // the discharging hospital
  std::optional<std::string> professional;  // a professional with a follow-up of the discharge
  std::optional<int64_t> from_ms, until_ms; // discharged in [from, until)
};

class ReadModels {
 public:
  explicit ReadModels(const ProjectionStore& store) : store_(store) {}

  // The CPTS known, optionally of one region, with their size category.
  Result<::cpts::Json> ListCpts(const std::optional<std::string>& region) const;
  Result<::cpts::Json> Cpts(const std::string& cpts) const;

  // Membership roster: counts by profession, commune, collège, practice mode, and the members.
  Result<::cpts::Json> Roster(const std::string& cpts, const RosterFilter& filter,
                              const Page& page) const;
  // Joins and leaves per month (Paris time).
  Result<::cpts::Json> RosterHistory(const std::string& cpts) const;

  // Access to a médecin traitant.
  Result<::cpts::Json> GpsWithCapacity(const std::string& cpts) const;
  Result<::cpts::Json> AccessQueue(const std::string& cpts, const Page& page) const;
  Result<::cpts::Json> Referrals(const std::string& cpts, const std::optional<std::string>& status,
                                 const Page& page) const;
  Result<::cpts::Json> AccessSummary(const std::string& cpts) const;

  // Ville-hôpital: every discharge with its follow-ups and deadlines, overdue first.
  Result<::cpts::Json> Handoff(const std::string& cpts, const HandoffFilter& filter,
                               int64_t clock_ms, const Page& page) const;
  // "My discharged patients to follow up": a professional's follow-ups, across CPTS.
  Result<::cpts::Json> Worklist(const std::string& professional, int64_t clock_ms,
                                bool include_closed, const Page& page) const;

  // Unscheduled care requests and the share handled within 48 h.
  Result<::cpts::Json> Snp(const std::string& cpts, const std::optional<std::string>& status,
                           int64_t clock_ms, const Page& page) const;

  // Prevention campaigns: participations by site and by day, rate against the target.
  Result<::cpts::Json> Campaigns(const std::string& cpts) const;
  Result<::cpts::Json> Campaign(const std::string& cpts, const std::string& campaign_id) const;

  // What the command `command_id` sent to `cpts` became, once its event is applied:
  // {"type","sequence","partition","offset","id","time"} plus "rejection":{"code","reason"}
  // when it was refused. Nullopt while no event records it (not decided yet, or decided with
  // nothing to record: the API tells these apart with the deciders' progress), and once it has
  // expired as of `clock_ms` (kOutcomeRetentionMs), whether or not its row is deleted yet.
  Result<std::optional<::cpts::Json>> CommandOutcome(const std::string& cpts,
                                                     const std::string& command_id,
                                                     int64_t clock_ms) const;

  // The CPTS indicators, and their roll-up over a region.
  Result<::cpts::Json> Indicators(const std::string& cpts, int64_t clock_ms) const;
  Result<::cpts::Json> RegionIndicators(const std::string& region, int64_t clock_ms) const;

 private:
  const ProjectionStore& store_;
};

}  // namespace cpts::projections
