#include "connectors/patient_audit_commands.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <set>

#include "connectors/health_secrets.h"
#include "connectors/log_flags.h"
#include "events/codec.h"
#include "events/envelope.h"
#include "events/pseudonym.h"
#include "events/topics.h"
#include "projections/access_log.h"

namespace cpts {

using json = ::cpts::Json;
namespace pj = projections;

struct PatientAuditCommands::Flags {
  CLI::App* history = nullptr;
  CLI::App* access = nullptr;
  LogFlags log;
  HealthFlags health;
  std::string patient, ins, user, purpose, reader;
};

namespace {

int Fail(const std::string& command, const Status& status) {
  std::cerr << "cpts audit " << command << ": " << status.ToString() << "\n";
  return status.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

// The patient's pseudonym, from --patient or --ins (pseudonymised here with the configured secret).
Result<std::string> PatientFromFlags(const PatientAuditCommands::Flags& f) {
  if (f.patient.empty() == f.ins.empty()) {
    return Status::InvalidArgument("name the patient with --patient or --ins (one of them)");
  }
  if (f.ins.empty()) return f.patient;
  Result<HealthSecrets> secrets = LoadHealthSecrets(f.health);
  if (!secrets.ok()) return secrets.status();
  Result<std::string> pseudonym = events::PatientPseudonym(f.ins, secrets->pseudonym_secret);
  if (!pseudonym.ok()) {
    return Status::InvalidArgument("--ins: is not a valid INS/NIR (15 characters, key mod 97)");
  }
  return pseudonym;
}

// The entities an event about the patient opens, whose later events are about her too: her
// referral's answer, her discharge's cancellation and follow-ups, her unscheduled-care request.
constexpr const char* kEntityFields[] = {"referral_id", "discharge_id", "followup_id",
                                         "request_id"};

// One line of the history: its time first, so lines sort by time.
struct Line {
  std::string at;
  json value;
};

// Every event about `patient`: naming them, or an entity an earlier event about them opened.
Status EventsAbout(log::Log& log, const std::string& patient, std::vector<Line>& lines) {
  std::set<std::string> entities;  // "<cpts>\x1f<field>\x1f<id>"
  size_t unreadable = 0;
  CPTS_RETURN_IF_ERROR(
      log::ForEachRecord(log, topics::kEvents, [&](const log::StoredRecord& r) {
        Result<events::DecodedEvent> decoded = events::Decode(r.value);
        if (!decoded.ok()) {
          ++unreadable;  // `cpts audit verify` names it; the history says how many it skipped
          return true;
        }
        const events::Envelope& e = decoded->envelope;
        const json& data = e.data;
        const auto names = [&](const char* field) {
          const auto it = data.find(field);
          return it != data.end() && it->is_string() && it->get_ref<const std::string&>() == patient;
        };
        bool about = names("patient") || names("participant");
        for (const char* field : kEntityFields) {
          const auto it = data.find(field);
          if (it == data.end() || !it->is_string()) continue;
          const std::string key = e.cptsid + '\x1f' + field + '\x1f' + it->get<std::string>();
          if (about) {
            entities.insert(key);
          } else if (entities.count(key)) {
            about = true;
          }
        }
        // A follow-up of her discharge: its id becomes hers too.
        if (about && data.contains("followup_id") && data["followup_id"].is_string()) {
          entities.insert(e.cptsid + '\x1f' + "followup_id" + '\x1f' +
                          data["followup_id"].get<std::string>());
        }
        if (!about) return true;
        lines.push_back({e.time,
                         {{"kind", "event"},
                          {"at", e.time},
                          {"partition", r.partition.value()},
                          {"offset", r.offset.value()},
                          {"event", json::parse(r.value)}}});
        return true;
      }));
  if (unreadable > 0) {
    std::cerr << "cpts audit history: " << unreadable
              << " unreadable event(s) skipped; run cpts audit verify to locate them\n";
  }
  return Status::Ok();
}

// Records this read of patient-level data, like every other.
Status TraceAuditRead(log::Log& log, const PatientAuditCommands::Flags& f, const std::string& view,
                      std::vector<std::string> patients, json query) {
  pj::AccessTrace trace{.trace_id = pj::NewTraceId(),
                        .at = events::FormatEventTime(std::chrono::system_clock::now()),
                        .user = f.reader.empty() ? OperatorName() : f.reader,
                        .role = "auditor",
                        .purpose = f.purpose,
                        .view = view,
                        .cptsid = "",
                        .patients = std::move(patients),
                        .query = std::move(query),
                        .identities = false};
  return pj::AccessLog(log).Append(trace);
}

int RunHistory(const PatientAuditCommands::Flags& f) {
  Result<std::string> patient = PatientFromFlags(f);
  if (!patient.ok()) return Fail("history", patient.status());
  Result<std::unique_ptr<log::Log>> log = OpenLog(f.log, OpenMode::kReadOnly);
  if (!log.ok()) return Fail("history", log.status());
  std::vector<Line> lines;
  if (Status s = EventsAbout(**log, *patient, lines); !s.ok()) return Fail("history", s);
  Status scanned = pj::AccessLog(**log).Scan([&](const pj::AccessTrace& t) {
    if (std::find(t.patients.begin(), t.patients.end(), *patient) != t.patients.end()) {
      lines.push_back({t.at, {{"kind", "access"}, {"at", t.at}, {"trace", t.ToJson()}}});
    }
    return true;
  });
  if (!scanned.ok()) return Fail("history", scanned);
  // Times are RFC 3339 UTC with milliseconds, so text order is time order.
  std::stable_sort(lines.begin(), lines.end(),
                   [](const Line& a, const Line& b) { return a.at < b.at; });
  if (Status s = TraceAuditRead(**log, f, "history", {*patient}, {{"patient", *patient}}); !s.ok()) {
    return Fail("history", s);
  }
  for (const Line& line : lines) std::cout << line.value.dump() << "\n";
  std::cerr << "cpts audit history: " << lines.size() << " lines about the patient\n";
  return 0;
}

int RunAccess(const PatientAuditCommands::Flags& f) {
  if (f.patient.empty() == f.user.empty()) {
    return Fail("access", Status::InvalidArgument("give --patient or --user (one of them)"));
  }
  Result<std::unique_ptr<log::Log>> log = OpenLog(f.log, OpenMode::kReadOnly);
  if (!log.ok()) return Fail("access", log.status());
  size_t shown = 0;
  std::vector<std::string> output;
  Status scanned = pj::AccessLog(**log).Scan([&](const pj::AccessTrace& t) {
    const bool match =
        f.user.empty()
            ? std::find(t.patients.begin(), t.patients.end(), f.patient) != t.patients.end()
            : t.user == f.user;
    if (match) output.push_back(t.ToJson().dump());
    return true;
  });
  if (!scanned.ok()) return Fail("access", scanned);
  std::set<std::string> patients;
  if (!f.patient.empty()) patients.insert(f.patient);
  json query = f.user.empty() ? json{{"patient", f.patient}} : json{{"user", f.user}};
  if (Status s = TraceAuditRead(**log, f, "access_traces", {patients.begin(), patients.end()},
                                std::move(query));
      !s.ok()) {
    return Fail("access", s);
  }
  for (const std::string& line : output) {
    std::cout << line << "\n";
    ++shown;
  }
  std::cerr << "cpts audit access: " << shown << " traces\n";
  return 0;
}

}  // namespace

PatientAuditCommands::PatientAuditCommands(CLI::App& app) : flags_(std::make_unique<Flags>()) {
  Flags& f = *flags_;
  CLI::App* audit = app.get_subcommand("audit");
  const auto add_common = [&](CLI::App* command) {
    AddLogFlags(*command, f.log, /*creates_topics=*/false);
    command->add_option("--purpose", f.purpose, "Why you read it: recorded in the access trace")
        ->required();
    command->add_option("--reader", f.reader,
                        "Who reads, for the access trace (default: operator:<login>)");
  };
  f.history = audit->add_subcommand(
      "history",
      "Every event and access trace about one patient, in time order, as JSON lines (right of "
      "access)");
  add_common(f.history);
  AddHealthFlags(*f.history, f.health);
  f.history->add_option("--patient", f.patient, "The patient's pseudonym");
  f.history->add_option("--ins", f.ins, "The patient's INS/NIR, pseudonymised here (needs --secrets)");

  f.access = audit->add_subcommand("access", "The access traces of one patient or one user");
  add_common(f.access);
  f.access->add_option("--patient", f.patient, "The patient's pseudonym");
  f.access->add_option("--user", f.user, "A user (coordinator:cpts-x:alice, operator:root...)");
}

PatientAuditCommands::~PatientAuditCommands() = default;

std::optional<int> PatientAuditCommands::RunParsed() {
  if (flags_->history->parsed()) return RunHistory(*flags_);
  if (flags_->access->parsed()) return RunAccess(*flags_);
  return std::nullopt;
}

}  // namespace cpts
