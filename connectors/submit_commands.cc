#include "connectors/submit_commands.h"

#include <unistd.h>

#include <fstream>
#include <iostream>
#include <set>

#include "aggregates/command.h"
#include "connectors/health_secrets.h"
#include "connectors/log_flags.h"
#include "connectors/patient_edge.h"
#include "events/encoding.h"
#include "events/envelope.h"
#include "events/json_input.h"
#include "events/topics.h"

namespace cpts {

using json = ::cpts::Json;

struct SubmitCommands::Flags {
  CLI::App* secrets_init = nullptr;
  CLI::App* submit = nullptr;
  CLI::App* erase = nullptr;
  LogFlags log;
  HealthFlags health;
  std::string secrets_out;
  std::string file;
  bool decide = false;
  // patient erase
  std::string cpts, patient, ins, basis = "erasure_request", actor;
};

namespace {

int Fail(const std::string& command, const Status& status) {
  std::cerr << "cpts " << command << ": " << status.ToString() << "\n";
  return status.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

std::string RandomCommandId(const std::string& prefix) { return prefix + events::RandomHex(12); }

std::string Now() { return events::FormatEventTime(std::chrono::system_clock::now()); }

// One line of a submit file as a command for the log: the edge seals the patient data, then
// the command decoder checks everything else, so a bad line is refused before any is sent.
Result<aggregates::Command> IntakeCommand(const std::string& line, const PatientEdge& edge) {
  Result<json> parsed = events::ParseStrictJson(line, "the command");
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_object()) return Status::InvalidArgument("the command is not a JSON object");
  static const std::set<std::string> kKnown = {"command_id", "type",     "cptsid",        "actor",
                                               "issued_at",  "data",     "correlation_id"};
  for (const auto& [name, value] : parsed->items()) {
    if (!kKnown.count(name)) {
      return Status::InvalidArgument(
          "unknown attribute " + name +
          " (known: command_id, type, cptsid, actor, issued_at, correlation_id, data)");
    }
  }
  json command = std::move(*parsed);
  if (!command.contains("command_id")) command["command_id"] = RandomCommandId("submit-");
  if (!command.contains("issued_at")) command["issued_at"] = Now();
  const std::string type = command.value("type", "");
  Result<json> data = edge.Seal(type, command.value("data", json::object()));
  if (!data.ok()) return Status::InvalidArgument(type + ": " + data.status().message());
  command["data"] = std::move(*data);
  return aggregates::DecodeCommand(events::CanonicalJson(command));
}

struct Health {
  std::unique_ptr<keys::KeyStore> keys;
  std::unique_ptr<PatientEdge> edge;
};

Result<Health> OpenHealth(const LogFlags& log_flags, const HealthFlags& health_flags,
                          log::Log& log) {
  Result<HealthSecrets> secrets = LoadHealthSecrets(health_flags);
  if (!secrets.ok()) return secrets.status();
  Health h;
  Result<std::unique_ptr<keys::KeyStore>> keys = OpenKeyStore(log_flags, log, secrets->master_key);
  if (!keys.ok()) return keys.status();
  h.keys = std::move(*keys);
  h.edge = std::make_unique<PatientEdge>(secrets->pseudonym_secret, *h.keys);
  return h;
}

// Appends the commands, then decides them here when asked; prints where each went.
int Send(const std::string& name, log::Log& log, const std::vector<aggregates::Command>& commands,
         bool decide) {
  std::vector<log::Record> records;
  for (const aggregates::Command& c : commands) {
    records.push_back({.key = c.cptsid, .value = aggregates::EncodeCommand(c)});
  }
  Result<std::vector<log::Position>> sent = log.Append(topics::kCommands, records);
  if (!sent.ok()) return Fail(name, sent.status());
  for (size_t i = 0; i < commands.size(); ++i) {
    std::cout << json{{"command_id", commands[i].command_id},
                      {"type", commands[i].type},
                      {"cptsid", commands[i].cptsid},
                      {"partition", (*sent)[i].partition.value()},
                      {"offset", (*sent)[i].offset.value()}}
                     .dump()
              << "\n";
  }
  if (!decide) return 0;
  bool caught_up = false;
  Result<aggregates::ProcessorStats> stats =
      DecideWaitingCommands(log, "cpts-" + name, std::chrono::seconds(60), &caught_up);
  if (!stats.ok()) return Fail(name, stats.status());
  std::cerr << "cpts " << name << ": decided " << stats->events << " events, " << stats->rejections
            << " rejections, " << stats->unchanged << " unchanged"
            << (caught_up ? "" : " (other deciders own the rest)") << "\n";
  return 0;
}

int RunSubmit(SubmitCommands::Flags& f);
int RunErase(SubmitCommands::Flags& f);

}  // namespace

Result<aggregates::ProcessorStats> DecideWaitingCommands(log::Log& log, const std::string& name,
                                                         std::chrono::seconds timeout,
                                                         bool* caught_up) {
  auto processor = aggregates::CommandProcessor::Start(log, {.name = name});
  if (!processor.ok()) return processor.status();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  *caught_up = false;
  while (!*caught_up && std::chrono::steady_clock::now() < deadline) {
    CPTS_RETURN_IF_ERROR((*processor)->RunOnce());
    Result<bool> done = (*processor)->CaughtUp();
    *caught_up = done.ok() && *done;
  }
  const aggregates::ProcessorStats stats = (*processor)->stats();
  (void)(*processor)->Close();  // leaving the group; nothing is lost either way
  return stats;
}

SubmitCommands::SubmitCommands(CLI::App& app) : flags_(std::make_unique<Flags>()) {
  Flags& f = *flags_;
  CLI::App* secrets = app.add_subcommand("secrets", "Health-data secrets");
  f.secrets_init = secrets->add_subcommand(
      "init", "Write a new secrets file (random pseudonym secret and master key, mode 0600)");
  f.secrets_init->add_option("file", f.secrets_out, "The file to create")->required();

  f.submit = app.add_subcommand(
      "submit",
      "Send commands (JSON lines: type, cptsid, actor, data; optional command_id, issued_at, "
      "correlation_id) through the patient edge: data.patient_ins becomes data.patient, a clear "
      "data.identity is sealed");
  AddLogFlags(*f.submit, f.log, /*creates_topics=*/true);
  AddHealthFlags(*f.submit, f.health);
  f.submit->add_option("--file", f.file, "The commands, one JSON object per line ('-': stdin)")
      ->required();
  f.submit->add_flag("--decide", f.decide, "Decide them here and report the outcome");

  CLI::App* patient = app.add_subcommand("patient", "Patients' rights");
  f.erase = patient->add_subcommand(
      "erase",
      "Right to erasure: destroy the patient's data keys (their identity no longer opens, in any "
      "replay), then record the erasure in the CPTS's history");
  AddLogFlags(*f.erase, f.log, /*creates_topics=*/true);
  AddHealthFlags(*f.erase, f.health);
  f.erase->add_option("--cpts", f.cpts, "The CPTS recording the erasure")->required();
  f.erase->add_option("--patient", f.patient, "The patient's pseudonym");
  f.erase->add_option("--ins", f.ins, "The patient's INS/NIR, pseudonymised here");
  f.erase->add_option("--basis", f.basis, "Why: erasure_request, objection, retention_expired")
      ->capture_default_str();
  f.erase->add_option("--actor", f.actor, "Who asks (admin:<name>, coordinator:<cpts>:<name>)")
      ->required();
  f.erase->add_flag("--decide", f.decide, "Decide it here and report the outcome");
}

SubmitCommands::~SubmitCommands() = default;

std::optional<int> SubmitCommands::RunParsed() {
  Flags& f = *flags_;
  if (f.secrets_init->parsed()) {
    if (Status s = GenerateSecretsFile(f.secrets_out); !s.ok()) return Fail("secrets init", s);
    std::cerr << "cpts secrets init: wrote " << f.secrets_out
              << " (mode 0600). Keep it safe: without it, pseudonyms cannot be computed again "
                 "and no identity opens.\n";
    return 0;
  }
  if (f.submit->parsed()) return RunSubmit(f);
  if (f.erase->parsed()) return RunErase(f);
  return std::nullopt;
}

namespace {

int RunSubmit(SubmitCommands::Flags& f) {
  std::ifstream file_in;
  if (f.file != "-") {
    file_in.open(f.file);
    if (!file_in) {
      return Fail("submit", Status::InvalidArgument("--file " + f.file + ": cannot be read"));
    }
  }
  std::istream& in = f.file == "-" ? std::cin : file_in;
  Result<std::unique_ptr<log::Log>> log = OpenLog(f.log, OpenMode::kCreateTopics);
  if (!log.ok()) return Fail("submit", log.status());
  Result<Health> health = OpenHealth(f.log, f.health, **log);
  if (!health.ok()) return Fail("submit", health.status());
  std::vector<aggregates::Command> commands;
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Result<aggregates::Command> command = IntakeCommand(line, *health->edge);
    if (!command.ok()) {
      return Fail("submit", Status::InvalidArgument(
                                "line " + std::to_string(number) + ": " +
                                command.status().message() + " (nothing was sent)"));
    }
    commands.push_back(std::move(*command));
  }
  if (commands.empty()) return Fail("submit", Status::InvalidArgument("no command in " + f.file));
  return Send("submit", **log, commands, f.decide);
}

int RunErase(SubmitCommands::Flags& f) {
  if (f.patient.empty() == f.ins.empty()) {
    return Fail("patient erase",
                Status::InvalidArgument("name the patient with --patient or --ins (one of them)"));
  }
  Result<std::unique_ptr<log::Log>> log = OpenLog(f.log, OpenMode::kCreateTopics);
  if (!log.ok()) return Fail("patient erase", log.status());
  Result<Health> health = OpenHealth(f.log, f.health, **log);
  if (!health.ok()) return Fail("patient erase", health.status());
  std::string patient = f.patient;
  if (!f.ins.empty()) {
    Result<std::string> pseudonym = health->edge->Pseudonym(f.ins);
    if (!pseudonym.ok()) {
      return Fail("patient erase", Status::InvalidArgument(
                                       "--ins: is not a valid INS/NIR (15 characters, key mod 97)"));
    }
    patient = *pseudonym;
  }
  // The command is checked before anything is destroyed: a mistyped CPTS or actor must not
  // leave an erasure without its record.
  aggregates::Command erase{.command_id = RandomCommandId("erase-"),
                            .type = "patient.erase",
                            .cptsid = f.cpts,
                            .actor = f.actor,
                            .issued_at = Now(),
                            .data = {{"patient", patient}, {"basis", f.basis}}};
  Result<aggregates::Command> checked = aggregates::DecodeCommand(aggregates::EncodeCommand(erase));
  if (!checked.ok()) return Fail("patient erase", checked.status());
  Result<int> destroyed = health->edge->DestroyKeys(patient);
  if (!destroyed.ok()) return Fail("patient erase", destroyed.status());
  std::cerr << "cpts patient erase: destroyed " << *destroyed << " data key(s) of the patient\n";
  return Send("patient erase", **log, {*checked}, f.decide);
}

}  // namespace
}  // namespace cpts
