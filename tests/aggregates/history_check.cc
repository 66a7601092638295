#include "tests/aggregates/history_check.h"

#include "events/codec.h"
#include "events/envelope.h"
#include "events/topics.h"
#include "tests/log/log_test_util.h"

namespace cpts::test {

HistoryCheck CheckHistory(log::Log& log, int partitions) {
  HistoryCheck check;
  auto records = logtest::ReadAll(log, std::string(topics::kEvents), partitions);
  if (!records.ok()) {
    check.problems.push_back("reading the events topic: " + records.status().ToString());
    return check;
  }
  struct Head {
    uint64_t sequence = 0;
    std::string hash = std::string(events::kGenesisHash);
    std::map<std::string, std::pair<int64_t, int64_t>> capacity;  // gp -> (declared, accepted)
  };
  std::map<std::string, Head> heads;
  for (const log::StoredRecord& r : *records) {
    for (const log::Header& h : r.headers) {
      if (h.key == "cpts-decider") ++check.appended_by[h.value];
    }
    auto decoded = events::Decode(r.value);
    if (!decoded.ok()) {
      check.problems.push_back("unreadable record at " + std::to_string(r.partition.value()) + "@" +
                               std::to_string(r.offset.value()));
      continue;
    }
    const events::Envelope& e = decoded->envelope;
    Head& head = heads[e.cptsid];
    if (e.sequence.value() <= head.sequence) {
      ++check.not_applied;
      continue;
    }
    if (e.sequence.value() != head.sequence + 1) {
      check.problems.push_back(e.cptsid + ": gap before #" + std::to_string(e.sequence.value()));
      continue;
    }
    if (e.prevhash != head.hash) {
      // A branch: the position is free but the event was decided on another history.
      ++check.not_applied;
      continue;
    }
    // The stored bytes' own SHA-256, computed here: the next prevhash must name exactly it.
    head.hash = events::Sha256Hex(r.value);
    head.sequence = e.sequence.value();
    ++check.applied;
    ++check.outcomes[e.causationid];
    if (e.type == "fr.cpts.command.rejected.v1") {
      ++check.rejections[e.data.at("code").get<std::string>()];
    } else if (e.type == "fr.cpts.access.gp_capacity_declared.v1") {
      head.capacity[e.data.at("gp").get<std::string>()] = {
          e.data.at("new_patients_capacity").get<int64_t>(), 0};
    } else if (e.type == "fr.cpts.membership.member_left.v1") {
      head.capacity.erase(e.data.at("member_id").get<std::string>());  // leaving drops it
    } else if (e.type == "fr.cpts.access.referral_accepted.v1" ||
               (e.type == "fr.cpts.access.gp_assigned.v1" && !e.data.contains("referral_id"))) {
      // An acceptance takes a unit; so does an assignment made without a referral.
      auto& [declared, accepted] = head.capacity[e.data.at("gp").get<std::string>()];
      if (++accepted > declared) {
        check.over_capacity.push_back(e.cptsid + " " + e.data.at("gp").get<std::string>() + ": " +
                                      std::to_string(accepted) + " accepted, capacity " +
                                      std::to_string(declared));
      }
    }
  }
  for (const auto& [id, head] : heads) check.stream_lengths[id] = head.sequence;
  return check;
}

}  // namespace cpts::test
