#pragma once
// The read models: how each event changes the rows of the projection store, and the pure
// computations queries share (deadlines of a discharge's handoff, priority groups). docs/
// projections.md describes every row and rule.
//
// Apply is to projections what Evolve is to deciders: it never refuses an event (history was
// valid when written), tolerates events about entities it does not know, and does no I/O but
// through the RowBatch. The caller has already checked that the event is the next of its stream.
// Thread-safety: pure functions over the caller's RowBatch.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "events/envelope.h"
#include "events/json.h"
#include "events/status.h"
#include "projections/clock.h"
#include "projections/store.h"

namespace cpts::projections {

// Row names: the first component of every row key (keys::Key).
namespace rows {
inline constexpr std::string_view kHead = "head";              // head/<cpts>
inline constexpr std::string_view kCpts = "cpts";              // cpts/<cpts>
inline constexpr std::string_view kMember = "member";          // member/<cpts>/<member id>
inline constexpr std::string_view kRosterStats = "roster";     // roster/<cpts>
inline constexpr std::string_view kRosterMonth = "roster_month";  // .../<cpts>/<YYYY-MM>
inline constexpr std::string_view kPatient = "patient";        // patient/<cpts>/<pseudonym>
inline constexpr std::string_view kQueue = "queue";  // queue/<cpts>/<rank>/<registered>/<pseudonym>
inline constexpr std::string_view kReferral = "referral";      // referral/<cpts>/<id>
inline constexpr std::string_view kAccessStats = "access";     // access/<cpts>
inline constexpr std::string_view kStay = "stay";              // stay/<cpts>/<finess>/<visit>
inline constexpr std::string_view kDischarge = "discharge";    // discharge/<cpts>/<id>
inline constexpr std::string_view kFollowup = "followup";      // followup/<cpts>/<id> -> discharge
inline constexpr std::string_view kWorklist = "worklist";  // worklist/<professional>/<cpts>/<fu>
inline constexpr std::string_view kHandoffStats = "handoff";   // handoff/<cpts>
inline constexpr std::string_view kAwaitingVisit = "awaiting_visit";  // .../<cpts>/<discharge>
inline constexpr std::string_view kSnp = "snp";                // snp/<cpts>/<request id>
inline constexpr std::string_view kSnpOpen = "snp_open";       // snp_open/<cpts>/<request id>
inline constexpr std::string_view kSnpStats = "snp_stats";     // snp_stats/<cpts>
inline constexpr std::string_view kCampaign = "campaign";      // campaign/<cpts>/<id>
inline constexpr std::string_view kCampaignDay = "campaign_day";  // .../<cpts>/<id>/<date>/<site>
inline constexpr std::string_view kRejections = "rejections";  // rejections/<cpts>
// identity/<cpts>/<pseudonym>: the latest sealed identity block, or the fact of its erasure.
inline constexpr std::string_view kIdentity = "identity";
// outcome/<cpts>/<command id>: what a command became, for the API's retries and status polls.
// Not a read model: an index that expires (kOutcomeRetentionMs), left out of the digest.
inline constexpr std::string_view kOutcome = "outcome";
}  // namespace rows

// How long a command's outcome is kept after it was decided (its event's time): 30 days, far
// beyond any client's retries or status polls (Stripe keeps idempotency keys 24 hours). After
// that, a retry of the command is still never applied twice (the deciders skip a command id
// they have decided), but answers "unchanged" instead of the first outcome. A build leaves out
// outcomes already expired, and the daemon deletes them (ProjectionStore::ExpireOutcomes): one
// row per command kept forever was more than half of the rows, and of a rebuild's time.
inline constexpr int64_t kOutcomeRetentionMs = 30 * kDayMs;

// Applies one event (the next of its stream) to the read models. May move event.data into the
// rows: the caller does not use the event afterwards.
Status Apply(events::Envelope& event, RowBatch& rows);

// Priority groups of the access mission, in queue order: ALD, then C2S, then 70 and over.
enum class PriorityGroup { kAld = 0, kC2s = 1, kSeventyPlus = 2, kOther = 3 };
PriorityGroup PriorityOf(bool ald, bool c2s, std::string_view age_band);
const char* PriorityGroupName(PriorityGroup group);

// --- The handoff deadlines of a discharge (ARCHITECTURE.md decision 8: computed against the
// caller's clock, so a view as of any moment is exact).
enum class DeadlineState {
  kNotApplicable,  // not due for this discharge (death, transfer, cancelled, no such need)
  kPending,        // not met yet, not due yet
  kOverdue,        // not met, and the deadline has passed
  kMet,            // met on time
  kMetLate,        // met after the deadline
};
const char* DeadlineStateName(DeadlineState state);

struct Deadline {
  DeadlineState state = DeadlineState::kNotApplicable;
  std::optional<int64_t> due_ms;
  std::optional<int64_t> met_ms;
};

struct HandoffDeadlines {
  Deadline gp_informed;    // the médecin traitant, the same (Paris civil) day
  Deadline first_contact;  // a city professional, within 48 h
  Deadline gp_visit;       // the GP follow-up visit, within 7 days
  // "overdue" (a deadline passed unmet), "pending", "done", "cancelled" or "not_applicable".
  std::string status;
  // The earliest unmet deadline (overdue or pending), for ordering.
  std::optional<int64_t> next_due_ms;
};

// Deadlines of a discharge row (rows::kDischarge) as of `clock_ms`.
HandoffDeadlines ComputeDeadlines(const ::cpts::Json& discharge, int64_t clock_ms);

}  // namespace cpts::projections
