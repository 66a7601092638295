#include "connectors/audit_commands.h"

#include <unistd.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <iostream>

#include "connectors/log_flags.h"
#include "events/json.h"
#include "events/topics.h"
#include "projections/audit.h"
#include "projections/clock.h"
#include "projections/read_models.h"
#include "projections/replay.h"

namespace cpts {
namespace {

namespace fs = std::filesystem;
namespace pj = projections;
using json = ::cpts::Json;

constexpr int kIntact = 0;
constexpr int kFailed = 1;
constexpr int kUsage = 2;
// The human report lists this many problems of each kind; --json lists them all.
constexpr uint64_t kShownPerKind = 100;

int Usage(const std::string& command, const std::string& message) {
  std::cerr << "cpts audit" << (command.empty() ? "" : " " + command) << ": " << message << "\n";
  return kUsage;
}

int Fail(const std::string& command, const Status& status) {
  std::cerr << "cpts audit " << command << ": " << status.ToString() << "\n";
  return kFailed;
}

// Progress on stderr, only once a run has lasted a second: short runs stay quiet.
std::function<void(uint64_t, uint64_t)> Progress(const std::string& what) {
  auto line = std::make_shared<pj::ProgressLine>(what);
  const auto start = std::chrono::steady_clock::now();
  return [line, start](uint64_t done, uint64_t total) {
    if (std::chrono::steady_clock::now() - start >= std::chrono::seconds(1)) (*line)(done, total);
  };
}

bool IsNonEmptyDirectory(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec) && (!fs::is_directory(path, ec) || !fs::is_empty(path, ec));
}

}  // namespace

struct AuditCommands::Flags {
  CLI::App* audit = nullptr;
  CLI::App* verify = nullptr;
  CLI::App* export_ = nullptr;
  CLI::App* replay = nullptr;
  LogFlags log;
  std::string heads, export_dir, threads = "2";
  bool as_json = false, deep = false;
  std::string from, until, out;
};

AuditCommands::AuditCommands(CLI::App& app) : flags_(std::make_unique<Flags>()) {
  Flags& f = *flags_;
  f.audit = app.add_subcommand(
      "audit", "Auditors' tools: verify the hash chains, export a window, replay as of a time");
  // Every flag is read as text and checked here, and unknown flags are kept for RunParsed, so
  // that every usage error exits 2 with a message naming the flag.
  const auto add_threads = [&](CLI::App* command) {
    command->add_option("--threads", f.threads,
                        "Worker threads; partitions are read in parallel (default: 2)");
  };

  f.verify = f.audit->add_subcommand(
      "verify",
      "Check every stream's chain (sequences, prevhash, ids, partitions); exit 0 when intact, "
      "1 when a problem is found");
  AddLogFlags(*f.verify, f.log, /*creates_topics=*/false);
  f.verify->add_option("--heads", f.heads,
                       "An export's manifest.json (or its directory): each stream must reach the "
                       "head it recorded, with the same hash");
  f.verify->add_option("--export", f.export_dir,
                       "Verify an export directory offline (events.jsonl against its manifest) "
                       "instead of the log");
  f.verify->add_flag("--json", f.as_json, "One JSON object per problem, then a summary line");
  f.verify->add_flag("--deep", f.deep,
                     "Also run the full codec (catalogue, data) on every event: about 1.6x slower");
  add_threads(f.verify);

  f.export_ = f.audit->add_subcommand(
      "export", "Write the events of a time window as CloudEvents JSON lines with a manifest");
  AddLogFlags(*f.export_, f.log, /*creates_topics=*/false);
  f.export_->add_option("--from", f.from, "Events at or after this time (default: the start)");
  f.export_->add_option("--until", f.until, "Events at or before this time (default: the end)");
  f.export_->add_option("--out", f.out, "A new directory for events.jsonl and manifest.json");

  f.replay = f.audit->add_subcommand(
      "replay",
      "Build the read models as of a past time or position into a new directory, for cpts query");
  AddLogFlags(*f.replay, f.log, /*creates_topics=*/false);
  f.replay->add_option("--until", f.until,
                       "A time (2026-11-22T16:05:00Z) or positions (0:120,1:98,... every "
                       "partition: the offset each stops before)");
  f.replay->add_option("--out", f.out, "A new directory for the as-of read models");
  add_threads(f.replay);

  // cpts audit history and cpts audit access (patient-level, issue 5) join this group from
  // connectors/patient_audit_commands.cc, registered after this constructor.

  for (CLI::App* command : {f.audit, f.verify, f.export_, f.replay}) command->allow_extras();
}

AuditCommands::~AuditCommands() = default;

namespace {

// The flags left over (unknown ones, stray arguments), as a usage error; empty when none.
std::string Leftovers(CLI::App* command) {
  const std::vector<std::string> rest = command->remaining();
  if (rest.empty()) return "";
  return "unknown flag or argument \"" + rest.front() + "\" (see --help)";
}

Result<int> ParseThreads(const std::string& text) {
  int threads = 0;
  size_t used = 0;
  try {
    threads = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || threads < 1 || threads > 64) {
    return Status::InvalidArgument("--threads \"" + text + "\" must be a number from 1 to 64");
  }
  return threads;
}

// A usage error for a log that is not there, before anything is opened (or created).
std::string MissingLog(const LogFlags& flags) {
  if (!flags.kafka.empty()) return "";
  std::error_code ec;
  if (fs::exists(fs::path(flags.LogDirectory()) / "CURRENT", ec)) return "";
  return "--data-dir \"" + flags.data_dir + "\" holds no embedded log (no " + flags.LogDirectory() +
         "): name the data directory of a cpts service, or use --kafka";
}

void PrintHuman(const pj::VerifyReport& report, const std::string& what) {
  std::array<uint64_t, pj::kProblemKinds> shown{};
  for (const pj::Problem& p : report.problems) {
    const size_t k = static_cast<size_t>(p.kind);
    if (shown[k]++ >= kShownPerKind) continue;
    std::string kind(pj::ProblemKindName(p.kind));
    for (char& c : kind) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    std::string line = kind;
    line.resize(11, ' ');
    std::string where = pj::PositionText(p);
    line += where.empty() ? "-" : where;
    if (!p.cptsid.empty()) {
      line += "  " + p.cptsid;
      if (p.sequence > 0) line += " #" + std::to_string(p.sequence);
      if (p.last_sequence > 0) line += "-#" + std::to_string(p.last_sequence);
    }
    if (!p.type.empty()) line += "  " + p.type;
    if (!p.event_id.empty()) line += "  id " + p.event_id;
    std::cout << line << "\n           " << p.detail << "\n";
  }
  for (int k = 0; k < pj::kProblemKinds; ++k) {
    if (shown[static_cast<size_t>(k)] > kShownPerKind) {
      std::cout << "... and " << pj::WithThousands(shown[static_cast<size_t>(k)] - kShownPerKind)
                << " more " << pj::ProblemKindName(static_cast<pj::ProblemKind>(k))
                << " (--json lists them all)\n";
    }
  }
  const double rate = report.seconds > 0 ? static_cast<double>(report.records) / report.seconds : 0;
  std::cout << "Verified " << pj::WithThousands(report.records) << " records of " << what << ", "
            << pj::WithThousands(report.heads.size()) << " streams, "
            << pj::WithThousands(report.events) << " events in their chains, in "
            << report.seconds << " s (" << pj::WithThousands(static_cast<uint64_t>(rate))
            << " records/s)\n";
  std::string counts;
  for (int k = 0; k < pj::kProblemKinds; ++k) {
    const auto kind = static_cast<pj::ProblemKind>(k);
    const uint64_t n = report.counts[static_cast<size_t>(k)];
    if (n == 0 || !pj::FailsVerification(kind)) continue;
    counts += (counts.empty() ? "" : ", ") + pj::WithThousands(n) + " " +
              std::string(pj::ProblemKindName(kind));
  }
  const uint64_t duplicated = report.counts[static_cast<size_t>(pj::ProblemKind::kDuplicated)];
  const std::string duplicates =
      duplicated == 0 ? ""
                      : " (" + pj::WithThousands(duplicated) +
                            " duplicated: re-deliveries of the same bytes, harmless)";
  if (report.intact()) {
    std::cout << "INTACT" << duplicates << "\n";
  } else {
    std::cout << "NOT INTACT: " << counts << duplicates
              << ". Each problem above names its position; see docs/audit.md for what each kind "
                 "means.\n";
  }
}

void PrintJson(const pj::VerifyReport& report, const std::string& what) {
  for (const pj::Problem& p : report.problems) std::cout << pj::ProblemJson(p).dump() << "\n";
  json counts = json::object();
  for (int k = 0; k < pj::kProblemKinds; ++k) {
    counts[std::string(pj::ProblemKindName(static_cast<pj::ProblemKind>(k)))] =
        report.counts[static_cast<size_t>(k)];
  }
  json heads = json::object();
  for (const auto& [id, head] : report.heads) {
    heads[id] = {{"sequence", head.sequence}, {"hash", head.hash}};
  }
  std::cout << json{{"summary",
                     {{"intact", report.intact()},
                      {"source", what},
                      {"records", report.records},
                      {"events", report.events},
                      {"streams", report.heads.size()},
                      {"problems", counts},
                      {"seconds", report.seconds}}},
                    {"heads", heads}}
                   .dump()
            << "\n";
}

int RunVerify(const LogFlags& log_flags, CLI::App* command,
              const std::string& heads_path, const std::string& export_dir,
              const std::string& threads_text, bool as_json, bool deep) {
  const std::string name = "verify";
  if (std::string rest = Leftovers(command); !rest.empty()) return Usage(name, rest);
  Result<int> threads = ParseThreads(threads_text);
  if (!threads.ok()) return Usage(name, threads.status().message());
  pj::VerifyOptions options{.threads = *threads, .deep = deep};
  if (!export_dir.empty()) {
    for (const char* flag : {"--data-dir", "--kafka", "--heads"}) {
      if (command->count(flag) > 0) {
        return Usage(name, std::string("--export verifies an export offline: drop ") + flag +
                               " (the manifest holds the heads)");
      }
    }
    std::error_code ec;
    if (!fs::is_directory(export_dir, ec)) {
      return Usage(name, "--export \"" + export_dir +
                             "\" is not a directory: name the --out directory of cpts audit export");
    }
    options.progress = Progress("cpts audit verify");
    Result<pj::VerifyReport> report = pj::VerifyExport(export_dir, options);
    if (!report.ok()) {
      return report.status().code() == StatusCode::kIoError ? Fail(name, report.status())
                                                            : Usage(name, "--export: " + report.status().message());
    }
    const std::string what = "export " + export_dir;
    as_json ? PrintJson(*report, what) : PrintHuman(*report, what);
    return report->intact() ? kIntact : kFailed;
  }
  if (!heads_path.empty()) {
    Result<pj::Heads> heads = pj::ReadManifestHeads(heads_path);
    if (!heads.ok()) return Usage(name, "--heads: " + heads.status().message());
    options.expected_heads = std::move(*heads);
  }
  if (std::string missing = MissingLog(log_flags); !missing.empty()) return Usage(name, missing);
  Result<std::unique_ptr<log::Log>> log = OpenLog(log_flags, OpenMode::kReadOnly);
  if (!log.ok()) return Fail(name, log.status());
  options.progress = Progress("cpts audit verify");
  Result<pj::VerifyReport> report = pj::VerifyHistory(**log, options);
  if (!report.ok()) return Fail(name, report.status());
  const std::string what =
      (log_flags.kafka.empty() ? "the embedded log in " + log_flags.data_dir
                               : "Kafka at " + log_flags.kafka) +
      " (" + std::to_string(report->partitions) + " partitions)";
  as_json ? PrintJson(*report, what) : PrintHuman(*report, what);
  return report->intact() ? kIntact : kFailed;
}

int RunExport(const LogFlags& log_flags, CLI::App* command, const std::string& from_text,
              const std::string& until_text, const std::string& out) {
  const std::string name = "export";
  if (std::string rest = Leftovers(command); !rest.empty()) return Usage(name, rest);
  if (out.empty()) return Usage(name, "--out is required: a new directory for the export");
  if (IsNonEmptyDirectory(out)) {
    return Usage(name, "--out \"" + out + "\" exists and is not empty: name a new directory");
  }
  Result<std::optional<int64_t>> from = ParseTimeFlag(from_text, "--from");
  if (!from.ok()) return Usage(name, from.status().message());
  Result<std::optional<int64_t>> until = ParseTimeFlag(until_text, "--until");
  if (!until.ok()) return Usage(name, until.status().message());
  if (*from && *until && **from > **until) {
    return Usage(name, "--from " + from_text + " is after --until " + until_text);
  }
  if (std::string missing = MissingLog(log_flags); !missing.empty()) return Usage(name, missing);
  Result<std::unique_ptr<log::Log>> log = OpenLog(log_flags, OpenMode::kReadOnly);
  if (!log.ok()) return Fail(name, log.status());
  Result<pj::ExportReport> report = pj::ExportHistory(
      **log,
      {.directory = out, .from_ms = *from, .until_ms = *until, .progress = Progress("cpts audit export")});
  if (!report.ok()) return Fail(name, report.status());
  std::cout << "Exported " << pj::WithThousands(report->events) << " events of "
            << report->streams << " streams to " << out << "/" << pj::kExportEventsFile
            << " (sha256 " << report->sha256 << "), manifest " << out << "/"
            << pj::kExportManifestFile << "\n";
  if (report->unreadable > 0) {
    std::cout << pj::WithThousands(report->unreadable)
              << " records could not be read and were left out: run cpts audit verify on the "
                 "log to see where\n";
  }
  std::cout << "Check it offline: cpts audit verify --export " << out
            << "; check the log against it later: cpts audit verify --heads " << out << "/"
            << pj::kExportManifestFile << "\n";
  return kIntact;
}

int RunReplay(const LogFlags& log_flags, CLI::App* command, const std::string& threads_text,
              const std::string& until_text, const std::string& out) {
  const std::string name = "replay";
  if (std::string rest = Leftovers(command); !rest.empty()) return Usage(name, rest);
  Result<int> threads = ParseThreads(threads_text);
  if (!threads.ok()) return Usage(name, threads.status().message());
  if (until_text.empty()) {
    return Usage(name, "--until is required: a time (2026-11-22T16:05:00Z) or positions "
                       "(0:120,1:98,...)");
  }
  if (out.empty()) return Usage(name, "--out is required: a new directory for the read models");
  if (IsNonEmptyDirectory(out)) {
    return Usage(name, "--out \"" + out + "\" exists and is not empty: name a new directory");
  }
  if (std::string missing = MissingLog(log_flags); !missing.empty()) return Usage(name, missing);
  Result<std::unique_ptr<log::Log>> log = OpenLog(log_flags, OpenMode::kReadOnly);
  if (!log.ok()) return Fail(name, log.status());
  // As `cpts replay` does (connectors/project_commands.cc): the same parser, the same build.
  Result<int32_t> partitions = (*log)->PartitionCount(topics::kEvents);
  if (!partitions.ok()) return Fail(name, partitions.status());
  Result<pj::Until> until = pj::ParseUntil(until_text, *partitions);
  if (!until.ok()) return Usage(name, until.status().message());
  pj::BuildOptions options{.directory = out,
                           .threads = *threads,
                           .until_positions = until->positions,
                           .until_time_ms = until->time_ms,
                           .outcomes_since_ms = pj::WallClockMs() - pj::kOutcomeRetentionMs,
                           .progress = Progress("cpts audit replay")};
  std::error_code ec;
  const bool existed = fs::exists(out, ec);
  Result<pj::BuildReport> report = pj::BuildReadModels(**log, options);
  if (!report.ok()) {
    if (!existed) fs::remove_all(out, ec);  // nothing half-built left behind
    return Fail(name, report.status());
  }
  const pj::ProjectorStats& s = report->stats;
  std::cout << "As-of read models in " << out << ": " << pj::WithThousands(s.applied)
            << " events applied up to "
            << (until->time_ms ? pj::FormatUtcMs(*until->time_ms) : "positions " + until_text)
            << ", digest " << report->digest << "\n";
  std::cout << "Query them with: cpts query VIEW --projections " << out
            << " --cpts CPTS_ID   (VIEW: list, cpts, roster, access, handoff, snp, campaigns, "
               "indicators, ...; cpts query --help). Deadlines are judged at the as-of time.\n";
  const uint64_t broken = s.gaps + s.conflicts + s.unreadable + s.misrouted;
  if (broken > 0) {
    std::cout << pj::WithThousands(broken)
              << " records could not be applied (gaps, conflicts, unreadable or misrouted): run "
                 "cpts audit verify to see where\n";
    return kFailed;
  }
  return kIntact;
}

}  // namespace

std::optional<int> AuditCommands::RunParsed() {
  Flags& f = *flags_;
  if (!f.audit->parsed()) return std::nullopt;
  if (f.verify->parsed()) {
    return RunVerify(f.log, f.verify, f.heads, f.export_dir, f.threads, f.as_json, f.deep);
  }
  if (f.export_->parsed()) return RunExport(f.log, f.export_, f.from, f.until, f.out);
  if (f.replay->parsed()) return RunReplay(f.log, f.replay, f.threads, f.until, f.out);
  // history and access are dispatched by PatientAuditCommands before this runs.
  if (std::string rest = Leftovers(f.audit); !rest.empty()) return Usage("", rest);
  std::cerr << f.audit->help();
  return Usage("", "name a subcommand: verify, export, replay, history or access");
}

}  // namespace cpts
