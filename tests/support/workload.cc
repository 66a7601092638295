#include "tests/support/workload.h"

#include <chrono>
#include <deque>
#include <random>
#include <string>

#include "events/envelope.h"
#include "events/identifiers.h"

namespace cpts::test {
namespace {

using aggregates::Command;
using json = ::cpts::Json;

constexpr int kGps = 8;
constexpr int kNurses = 6;
constexpr int kCapacity = 3;

std::string Rpps(int cpts, int n) {
  char body[16];  // 10 digits: "1", the CPTS on 4, the person on 5
  std::snprintf(body, sizeof body, "1%04d%05d", cpts % 10000, n % 100000);
  return ids::WithLuhnDigit(body);
}

// The commands of one CPTS, in order.
class StreamScript {
 public:
  StreamScript(int index, int budget) : index_(index), id_(WorkloadCptsId(index)) {
    Register();
    while (static_cast<int>(commands_.size()) < budget) {
      AccessRound();
      DischargeRound();
      PreventionRound();
    }
  }
  std::deque<Command>& commands() { return commands_; }

 private:
  std::string Gp(int g) const { return "rpps:" + Rpps(index_, g); }
  std::string Nurse(int n) const { return "rpps:" + Rpps(index_, 500 + n); }
  std::string Finess() const { return ids::WithLuhnDigit("25" + std::to_string(100000 + index_)); }
  std::string Patient(int p) const {
    return events::Sha256Hex("workload-patient-" + id_ + "-" + std::to_string(p));
  }
  std::string Time() const {
    // One minute per command from 2026-01-01: a plausible, strictly increasing clock.
    using namespace std::chrono;
    const sys_days start = year{2026} / January / 1;
    return events::FormatEventTime(start + minutes(commands_.size()));
  }

  void Add(std::string type, std::string actor, json data) {
    Command c;
    c.command_id = id_ + "-c" + std::to_string(commands_.size());
    c.type = std::move(type);
    c.cptsid = id_;
    c.actor = std::move(actor);
    c.issued_at = Time();
    c.data = std::move(data);
    commands_.push_back(std::move(c));
  }
  std::string Coordinator() const { return "coordinator:" + id_ + ":coord"; }

  void Register() {
    Add("cpts.register", "admin:ars",
        {{"name", "CPTS de charge " + std::to_string(index_)},
         {"territory", {"25462", "25411"}},
         {"population", 40000 + 5000 * index_},
         {"region", "27"}});
    for (int g = 0; g < kGps; ++g) {
      Add("membership.join", Coordinator(),
          {{"member_id", Gp(g)},
           {"member_kind", "professional"},
           {"profession", "general_practitioner"},
           {"practice_mode", "maison_de_sante"},
           {"commune", "25462"},
           {"college", "Professionnels de santé libéraux"},
           {"display_name", "Dr " + std::to_string(g)}});
    }
    for (int n = 0; n < kNurses; ++n) {
      Add("membership.join", Coordinator(),
          {{"member_id", Nurse(n)},
           {"member_kind", "professional"},
           {"profession", "nurse"},
           {"practice_mode", "group"},
           {"commune", "25411"},
           {"college", "Professionnels de santé libéraux"},
           {"display_name", "IDE " + std::to_string(n)}});
    }
    Add("membership.join", Coordinator(),
        {{"member_id", "finess:" + Finess()},
         {"member_kind", "structure"},
         {"structure_kind", "hospital"},
         {"commune", "25462"},
         {"college", "Établissements et structures"},
         {"display_name", "Centre hospitalier " + std::to_string(index_)}});
  }

  // One GP declares its capacity; capacity + 1 patients are referred to it and every referral
  // is accepted: the last acceptance races for a unit that is gone and must be rejected.
  void AccessRound() {
    const int g = round_ % kGps;
    const std::string gp = Gp(g);
    Add("access.declare_capacity", "professional:" + gp,
        {{"gp", gp}, {"new_patients_capacity", kCapacity}});
    std::vector<std::pair<std::string, std::string>> referrals;  // referral id, patient
    for (int k = 0; k <= kCapacity; ++k) {
      const std::string patient = Patient(next_patient_++);
      const std::string referral = "REF-" + std::to_string(round_) + "-" + std::to_string(k);
      Add("access.register_patient", Coordinator(),
          {{"patient", patient},
           {"age_band", k % 2 ? "70-79" : "40-59"},
           {"ald", k % 3 == 0},
           {"c2s", k % 4 == 0},
           {"commune", "25411"},
           {"registered_at", Time()}});
      Add("access.issue_referral", Coordinator(),
          {{"referral_id", referral}, {"patient", patient}, {"gp", gp}});
      referrals.push_back({referral, patient});
    }
    for (const auto& [referral, patient] : referrals) {
      Add("access.accept_referral", "professional:" + gp, {{"referral_id", referral}});
    }
    for (size_t k = 0; k + 1 < referrals.size(); ++k) {
      Add("access.assign_gp", Coordinator(),
          {{"patient", referrals[k].second}, {"gp", gp}, {"referral_id", referrals[k].first}});
    }
    Add("access.withdraw_request", Coordinator(),
        {{"patient", referrals.back().second}, {"reason", "found_gp_elsewhere"}});
    ++round_;
  }

  void DischargeRound() {
    const std::string discharge = "DIS-" + std::to_string(round_);
    const std::string followup = "FU-" + std::to_string(round_);
    const std::string nurse = Nurse(round_ % kNurses);
    Add("discharge.notify", "hospital:" + Finess(),
        {{"discharge_id", discharge},
         {"finess", Finess()},
         {"movement_id", "MVT-" + std::to_string(round_)},
         {"visit_id", "VIS-" + std::to_string(round_)},
         {"patient", Patient(next_patient_++)},
         {"unit", "CARDIO"},
         {"discharged_at", Time()},
         {"destination", "home"},
         {"needs", {"home_nursing"}},
         {"commune", "25411"}});
    Add("followup.assign", Coordinator(),
        {{"followup_id", followup},
         {"discharge_id", discharge},
         {"professional", nurse},
         {"need", "home_nursing"}});
    Add("followup.acknowledge", "professional:" + nurse, {{"followup_id", followup}});
    Add("followup.complete", "professional:" + nurse,
        {{"followup_id", followup}, {"visited_at", Time()}});
    // A follow-up for someone who is not a member: rejected.
    Add("followup.assign", Coordinator(),
        {{"followup_id", followup + "-x"},
         {"discharge_id", discharge},
         {"professional", "rpps:" + Rpps(index_, 9000)},
         {"need", "physiotherapy"}});
  }

  void PreventionRound() {
    const std::string campaign = "CAMP-" + std::to_string(round_);
    Add("prevention.launch_campaign", Coordinator(),
        {{"campaign_id", campaign},
         {"theme", "vaccination"},
         {"title", "Vaccination " + std::to_string(round_)},
         {"target_population", 1000},
         {"sites", {{{"site_id", "S1"}, {"name", "Maison de santé"}, {"commune", "25462"}}}},
         {"starts_on", "2026-01-01"},
         {"ends_on", "2026-12-31"}});
    for (int k = 0; k < 3; ++k) {
      Add("prevention.record_participation", Coordinator(),
          {{"campaign_id", campaign},
           {"site_id", k == 2 ? "S9" : "S1"},  // S9 is no site of the campaign: rejected
           {"participated_at", Time()}});
    }
    Add("prevention.close_campaign", Coordinator(), {{"campaign_id", campaign}});
  }

  int index_;
  std::string id_;
  std::deque<Command> commands_;
  int round_ = 0;
  int next_patient_ = 0;
};

}  // namespace

std::string WorkloadCptsId(int index) { return "cpts-load-" + std::to_string(index); }

bool IsCapacityRace(const Command& command) { return command.type == "access.accept_referral"; }

std::vector<Command> GenerateWorkload(const WorkloadOptions& options) {
  std::vector<StreamScript> scripts;
  const int per_stream = options.commands / std::max(1, options.cpts);
  for (int i = 0; i < options.cpts; ++i) scripts.emplace_back(i, per_stream);
  std::mt19937_64 random(options.seed);
  std::vector<Command> out;
  std::vector<int> live(static_cast<size_t>(options.cpts));
  for (int i = 0; i < options.cpts; ++i) live[static_cast<size_t>(i)] = i;
  while (!live.empty()) {
    const size_t pick = random() % live.size();
    auto& queue = scripts[static_cast<size_t>(live[pick])].commands();
    out.push_back(std::move(queue.front()));
    queue.pop_front();
    if (queue.empty()) live.erase(live.begin() + static_cast<std::ptrdiff_t>(pick));
  }
  return out;
}

}  // namespace cpts::test
