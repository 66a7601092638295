// cpts: the command-line tool.
//   cpts demo     sends a short, realistic story of one CPTS as commands, decides them, prints
//                 the stream
//   cpts read     prints every event of the log, decoded and checked, one per line
//   cpts decide   runs a command processor (a decider group member) until SIGTERM or SIGINT
//   cpts generate writes a realistic history of many CPTS
// and the groups registered below: read models (project_commands.h), commands through the patient
// edge (submit_commands.h), auditors' tools (audit_commands.h, patient_audit_commands.h).
// All work on the embedded log under --data-dir (the default) or on Kafka with --kafka.

#include <signal.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <map>
#include <optional>

#include "aggregates/command.h"
#include "aggregates/command_processor.h"
#include "aggregates/history_writer.h"
#include "aggregates/scenario.h"
#include "connectors/embedded_log.h"
#include "connectors/log_flags.h"
#include "connectors/audit_commands.h"
#include "connectors/patient_audit_commands.h"
#include "connectors/project_commands.h"
#include "connectors/simulate_commands.h"
#include "connectors/submit_commands.h"
#include "connectors/kafka_log.h"
#include "events/codec.h"
#include "events/log.h"
#include "events/pseudonym.h"
#include "events/topics.h"
#include "projections/replay.h"

namespace cpts {
namespace {

using json = ::cpts::Json;

std::string Shorten(std::string s, size_t max) {
  if (s.size() > max) s = s.substr(0, max - 3) + "...";
  return s;
}

// Prints the events (of one CPTS, or all); returns how many did not decode.
Result<size_t> PrintEvents(log::Log& log, const std::string& only_cpts, bool as_json) {
  size_t shown = 0, unreadable = 0;
  Status status = log::ForEachRecord(log, topics::kEvents, [&](const log::StoredRecord& r) {
    if (!only_cpts.empty() && r.key != only_cpts) return true;
    ++shown;
    const std::string where =
        "p" + std::to_string(r.partition.value()) + "@" + std::to_string(r.offset.value());
    Result<events::DecodedEvent> decoded = events::Decode(r.value);
    if (!decoded.ok()) {
      ++unreadable;
      std::cout << where << "  UNREADABLE  " << decoded.status().message() << "\n";
      return true;
    }
    const events::Envelope& e = decoded->envelope;
    if (as_json) {
      std::cout << r.value << "\n";
      return true;
    }
    std::cout << where << "  " << e.cptsid << " #" << e.sequence << "  " << e.time << "  " << e.type
              << (decoded->upcast() ? " (stored as " + decoded->stored_type + ")" : "") << "  "
              << Shorten(e.data.dump(), 110) << "  hash " << decoded->hash.substr(0, 12) << "\n";
    return true;
  });
  if (!status.ok()) return status;
  std::cerr << shown << " events, " << unreadable << " unreadable\n";
  return unreadable;
}

// A demo story for CPTS du Haut-Doubs (Pontarlier), one of the seeds' territories, as the
// commands its people send: the CPTS is registered, members join, a patient without a GP finds
// one, a discharge from the hospital of Pontarlier is followed up by a home nurse, and a
// prevention campaign runs. Sent again, the same requests meet the rules: the CPTS is already
// registered, members are already members, the referral was already accepted...
struct DemoCommand {
  std::string type;
  std::string actor;
  json data;
};

std::vector<DemoCommand> DemoStory(const std::string& cpts_id, const std::string& patient,
                                   const std::string& participant) {
  const std::string gp = "rpps:10001234565", nurse = "rpps:10002345675";
  const std::string hospital = "250000452";
  const std::string coordinator = "coordinator:" + cpts_id + ":claire";
  return {
      {"cpts.register",
       "admin:ars-bfc",
       {{"name", "CPTS du Haut-Doubs"},
        {"territory", {"25462", "25411", "25413"}},
        {"population", 68000},
        {"region", "27"}}},
      {"cpts.sign_aci",
       "admin:ars-bfc",
       {{"signed_on", "2026-06-15"},
        {"starts_on", "2026-07-01"},
        {"ends_on", "2031-06-30"},
        {"cpam_signatory", "CPAM du Doubs"},
        {"ars_signatory", "ARS Bourgogne-Franche-Comté"}}},
      {"membership.join",
       coordinator,
       {{"member_id", gp},
        {"member_kind", "professional"},
        {"profession", "general_practitioner"},
        {"practice_mode", "maison_de_sante"},
        {"commune", "25462"},
        {"college", "Professionnels de santé libéraux"},
        {"display_name", "Dr Claire Bourgeois"}}},
      {"membership.join",
       coordinator,
       {{"member_id", nurse},
        {"member_kind", "professional"},
        {"profession", "nurse"},
        {"practice_mode", "group"},
        {"commune", "25411"},
        {"college", "Professionnels de santé libéraux"},
        {"display_name", "Julien Petite, IDE"}}},
      {"membership.join",
       coordinator,
       {{"member_id", "finess:" + hospital},
        {"member_kind", "structure"},
        {"structure_kind", "hospital"},
        {"commune", "25462"},
        {"college", "Établissements et structures"},
        {"display_name", "Centre hospitalier de Pontarlier"}}},
      {"access.declare_capacity",
       "professional:" + gp,
       {{"gp", gp}, {"new_patients_capacity", 12}}},
      {"access.register_patient",
       coordinator,
       {{"patient", patient},
        {"age_band", "70-79"},
        {"ald", true},
        {"c2s", false},
        {"commune", "25411"},
        {"registered_at", "2026-11-02T09:30:00+01:00"}}},
      {"access.issue_referral",
       coordinator,
       {{"referral_id", "REF-0001"}, {"patient", patient}, {"gp", gp}}},
      {"access.accept_referral", "professional:" + gp, {{"referral_id", "REF-0001"}}},
      {"access.assign_gp",
       coordinator,
       {{"patient", patient}, {"gp", gp}, {"referral_id", "REF-0001"}}},
      {"discharge.notify",
       "hospital:" + hospital,
       {{"discharge_id", "DIS-0001"},
        {"finess", hospital},
        {"movement_id", "MVT-20261120-0042"},
        {"visit_id", "VIS-88123"},
        {"patient", patient},
        {"unit", "CARDIO"},
        {"discharged_at", "2026-11-20T17:45:00+01:00"},
        {"destination", "home"},
        {"exit_mode", "8"},
        {"gp", gp},
        {"needs", {"home_nursing", "gp_visit"}},
        {"commune", "25411"}}},
      {"followup.assign",
       coordinator,
       {{"followup_id", "FU-0001"},
        {"discharge_id", "DIS-0001"},
        {"professional", nurse},
        {"need", "home_nursing"}}},
      {"followup.acknowledge", "professional:" + nurse, {{"followup_id", "FU-0001"}}},
      {"followup.complete",
       "professional:" + nurse,
       {{"followup_id", "FU-0001"}, {"visited_at", "2026-11-21T10:00:00+01:00"}}},
      {"prevention.launch_campaign",
       coordinator,
       {{"campaign_id", "CAMP-2026-MOIS-SANS-TABAC"},
        {"theme", "tobacco"},
        {"title", "Mois sans tabac 2026"},
        {"target_population", 5000},
        {"sites",
         {{{"site_id", "S1"}, {"name", "Maison de santé de Pontarlier"}, {"commune", "25462"}},
          {{"site_id", "S2"}, {"name", "Pharmacie de Morteau"}, {"commune", "25411"}}}},
        {"starts_on", "2026-11-01"},
        {"ends_on", "2026-11-30"}}},
      {"prevention.record_participation",
       coordinator,
       {{"campaign_id", "CAMP-2026-MOIS-SANS-TABAC"},
        {"site_id", "S2"},
        {"participant", participant},
        {"participated_at", "2026-11-12T11:00:00+01:00"}}},
  };
}

int RunDemo(const LogFlags& flags) {
  Result<std::unique_ptr<log::Log>> log = OpenLog(flags, OpenMode::kCreateTopics);
  if (!log.ok()) {
    std::cerr << "cpts demo: " << log.status().ToString() << "\n";
    return 1;
  }
  const std::string cpts_id = "cpts-haut-doubs";
  // Demo only: a fixed secret and DOMAIN.md's example NIRs. A deployment takes its secret from
  // its configuration.
  const std::string secret = "demo-secret-not-for-production-0123456789";
  Result<std::string> patient = events::PatientPseudonym("253072B07300470", secret);
  Result<std::string> participant = events::PatientPseudonym("295109912611193", secret);
  for (const Result<std::string>* pseudonym : {&patient, &participant}) {
    if (!pseudonym->ok()) {
      std::cerr << "cpts demo: " << pseudonym->status().ToString() << "\n";
      return 1;
    }
  }
  // Each run sends the story again under new command ids: run N is the N-th time.
  size_t earlier = 0;
  Status counted = log::ForEachRecord(**log, topics::kCommands, [&](const log::StoredRecord& r) {
    if (r.key == cpts_id) ++earlier;
    return true;
  });
  if (!counted.ok()) {
    std::cerr << "cpts demo: reading the commands topic: " << counted.ToString() << "\n";
    return 1;
  }
  const std::vector<DemoCommand> story = DemoStory(cpts_id, *patient, *participant);
  const size_t run = earlier / story.size() + 1;
  std::vector<log::Record> records;
  const std::string now = events::FormatEventTime(std::chrono::system_clock::now());
  for (size_t i = 0; i < story.size(); ++i) {
    aggregates::Command c{
        .command_id = "demo-r" + std::to_string(run) + "-" + std::to_string(i + 1),
        .type = story[i].type,
        .cptsid = cpts_id,
        .actor = story[i].actor,
        .issued_at = now,
        .data = story[i].data};
    records.push_back({.key = cpts_id, .value = aggregates::EncodeCommand(c)});
  }
  if (auto sent = (*log)->Append(topics::kCommands, records); !sent.ok()) {
    std::cerr << "cpts demo: sending the commands: " << sent.status().ToString() << "\n";
    return 1;
  }
  // Decide them here, as a member of the decider group (the daemon does it continuously).
  bool caught_up = false;
  Result<aggregates::ProcessorStats> decided =
      DecideWaitingCommands(**log, "cpts-demo", std::chrono::seconds(60), &caught_up);
  if (!decided.ok()) {
    std::cerr << "cpts demo: " << decided.status().ToString() << "\n";
    return 1;
  }
  const aggregates::ProcessorStats& stats = *decided;
  std::cerr << "Run " << run << ": sent " << records.size() << " commands for " << cpts_id << " to "
            << (flags.kafka.empty() ? "the embedded log at " + flags.data_dir
                                    : "Kafka at " + flags.kafka)
            << "; decided " << stats.events << " events, " << stats.rejections << " rejections, "
            << stats.unchanged << " unchanged"
            << (caught_up ? "" : " (other deciders own the rest: see cpts read)")
            << ". The stream so far:\n";
  Result<size_t> unreadable = PrintEvents(**log, cpts_id, /*as_json=*/false);
  if (!unreadable.ok()) {
    std::cerr << "cpts demo: reading back: " << unreadable.status().ToString() << "\n";
    return 1;
  }
  std::cerr << "Run it again: the same requests meet the rules. Raw CloudEvents: cpts read --json"
            << (flags.kafka.empty() ? " --data-dir " + flags.data_dir : " --kafka " + flags.kafka)
            << "\n";
  return *unreadable == 0 ? 0 : 1;
}

int RunRead(const LogFlags& flags, const std::string& only_cpts, bool as_json) {
  Result<std::unique_ptr<log::Log>> log = OpenLog(flags, OpenMode::kReadOnly);
  if (!log.ok()) {
    std::cerr << "cpts read: " << log.status().ToString() << "\n";
    return 1;
  }
  Result<size_t> unreadable = PrintEvents(**log, only_cpts, as_json);
  if (!unreadable.ok()) {
    std::cerr << "cpts read: " << unreadable.status().ToString() << "\n";
    return 1;
  }
  return *unreadable == 0 ? 0 : 1;
}

std::atomic<bool> stop_requested{false};

void OnStopSignal(int) { stop_requested = true; }

std::string StatsLine(const aggregates::ProcessorStats& s) {
  return std::to_string(s.commands) + " commands: " + std::to_string(s.events) + " events, " +
         std::to_string(s.rejections) + " rejections, " + std::to_string(s.unchanged) +
         " unchanged, " + std::to_string(s.duplicates) + " duplicates skipped, " +
         std::to_string(s.redecided) + " decided again, " + std::to_string(s.conflicts) +
         " conflicting events, " + std::to_string(s.unroutable) + " unroutable, " +
         std::to_string(s.commit_retries) + " commits retried";
}

int RunDecide(const LogFlags& flags, const std::string& group, const std::string& name) {
  Result<std::unique_ptr<log::Log>> log = OpenLog(flags, OpenMode::kCreateTopics);
  if (!log.ok()) {
    std::cerr << "cpts decide: " << log.status().ToString() << "\n";
    return 1;
  }
  Result<std::unique_ptr<aggregates::CommandProcessor>> processor =
      aggregates::CommandProcessor::Start(**log, {.group = group, .name = name});
  if (!processor.ok()) {
    std::cerr << "cpts decide: " << processor.status().ToString() << "\n";
    return 1;
  }
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  std::cerr << "cpts decide: member of group " << group << ", deciding until SIGTERM\n";
  auto last_report = std::chrono::steady_clock::now();
  Status status = Status::Ok();
  while (!stop_requested && status.ok()) {
    status = (*processor)->RunOnce();
    if (std::chrono::steady_clock::now() - last_report > std::chrono::seconds(5)) {
      std::cerr << "cpts decide: " << StatsLine((*processor)->stats()) << "\n";
      last_report = std::chrono::steady_clock::now();
    }
  }
  for (const aggregates::FoldIncident& i : (*processor)->incidents()) {
    std::cerr << "cpts decide: " << aggregates::FoldOutcomeName(i.outcome) << " at "
              << i.where.topic << "/" << i.where.partition << "@" << i.offset << ": stream "
              << i.cptsid << " #" << i.sequence << ", event " << i.event_id
              << (i.applied_id.empty() ? "" : ", position held by " + i.applied_id) << " ("
              << i.detail << ")\n";
  }
  const Status closed = (*processor)->Close();
  std::cerr << "cpts decide: " << StatsLine((*processor)->stats()) << "\n";
  if (!status.ok()) {
    std::cerr << "cpts decide: stopped: " << status.ToString() << "\n";
    return 1;
  }
  return closed.ok() ? 0 : 1;
}

// Writes a realistic history (aggregates/scenario.h) straight to the events topic of a new log:
// demo data to look at, and the input of the projection benchmark.
int RunGenerate(const LogFlags& flags, uint64_t events, int cpts_count, uint64_t seed) {
  Result<aggregates::Scenario> scenario =
      aggregates::Scenario::Create({.cpts = cpts_count, .seed = seed});
  if (!scenario.ok()) {
    std::cerr << "cpts generate: " << scenario.status().ToString() << "\n";
    return 1;
  }
  Result<std::unique_ptr<log::Log>> log = OpenLog(flags, OpenMode::kCreateTopics);
  if (!log.ok()) {
    std::cerr << "cpts generate: " << log.status().ToString() << "\n";
    return 1;
  }
  projections::ProgressLine progress("cpts generate");
  auto last = std::chrono::steady_clock::now();
  Result<aggregates::HistoryStats> stats = aggregates::WriteHistory(
      **log, *scenario,
      {.events = events,
       .partitions = flags.partitions,
       .progress = [&](uint64_t written) {
         if (written == events || std::chrono::steady_clock::now() - last > std::chrono::seconds(1)) {
           progress(written, events);
           last = std::chrono::steady_clock::now();
         }
       }});
  if (!stats.ok()) {
    std::cerr << "cpts generate: " << stats.status().ToString() << "\n";
    return 1;
  }
  std::cout << "cpts generate: " << stats->events << " events for " << cpts_count << " CPTS ("
            << stats->rejections << " rejections, " << stats->bytes << " bytes)\n";
  return 0;
}

}  // namespace
}  // namespace cpts

int main(int argc, char** argv) {
  CLI::App app{"cpts: the CPTS event log's command-line tool"};
  app.require_subcommand(1);

  cpts::LogFlags demo_flags;
  CLI::App* demo =
      app.add_subcommand("demo", "Append a demo story of one CPTS to the log and print it back");
  cpts::AddLogFlags(*demo, demo_flags, /*creates_topics=*/true);

  cpts::LogFlags read_flags;
  std::string only_cpts;
  bool as_json = false;
  CLI::App* read = app.add_subcommand(
      "read", "Print every event of the log, decoded and checked (exit 1 if any is unreadable)");
  cpts::AddLogFlags(*read, read_flags, /*creates_topics=*/false);
  read->add_option("--cpts", only_cpts, "Only this CPTS's stream (its id, e.g. cpts-haut-doubs)");
  read->add_flag("--json", as_json, "Print the stored CloudEvents JSON, one per line");

  cpts::LogFlags decide_flags;
  std::string group = "deciders";
  CLI::App* decide = app.add_subcommand(
      "decide", "Decide commands as a member of the decider group, until SIGTERM or SIGINT");
  cpts::AddLogFlags(*decide, decide_flags, /*creates_topics=*/true);
  decide->add_option("--group", group, "Consumer group of the deciders")->capture_default_str();
  std::string name;
  decide->add_option("--name", name,
                     "This member's name on the events it appends (default: hostname:pid)");

  cpts::LogFlags generate_flags;
  uint64_t generate_events = 100'000;
  int generate_cpts = 30;
  uint64_t generate_seed = 1;
  CLI::App* generate = app.add_subcommand(
      "generate", "Write a realistic history of many CPTS to the events topic of a new log");
  cpts::AddLogFlags(*generate, generate_flags, /*creates_topics=*/true);
  generate->add_option("--events", generate_events, "How many events")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{100'000'000}));
  generate->add_option("--cpts", generate_cpts, "How many CPTS (the first 30 are real territories)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  generate->add_option("--seed", generate_seed, "Seed of the simulation")->capture_default_str();

  cpts::ProjectionCommands projection_commands(app);
  cpts::AuditCommands audit_commands(app);
  cpts::PatientAuditCommands patient_audit_commands(app);  // adds to the audit group
  cpts::SubmitCommands submit_commands(app);
  cpts::SimulateCommands simulate_commands(app);  // simulate, simulate provision, token add

  CLI11_PARSE(app, argc, argv);
  if (std::optional<int> status = projection_commands.RunParsed()) return *status;
  // history and access first: AuditCommands answers for the whole audit group otherwise.
  if (std::optional<int> status = patient_audit_commands.RunParsed()) return *status;
  if (std::optional<int> status = audit_commands.RunParsed()) return *status;
  if (std::optional<int> status = submit_commands.RunParsed()) return *status;
  if (std::optional<int> status = simulate_commands.RunParsed()) return *status;
  if (demo->parsed()) return cpts::RunDemo(demo_flags);
  if (generate->parsed()) {
    return cpts::RunGenerate(generate_flags, generate_events, generate_cpts, generate_seed);
  }
  if (decide->parsed()) return cpts::RunDecide(decide_flags, group, name);
  return cpts::RunRead(read_flags, only_cpts, as_json);
}
