#include "connectors/project_commands.h"

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <iostream>

#include "connectors/health_secrets.h"
#include "connectors/log_flags.h"
#include "projections/access_log.h"
#include "projections/clock.h"
#include "projections/patient_reads.h"
#include "projections/projector.h"
#include "projections/queries.h"
#include "projections/read_models.h"
#include "projections/replay.h"
#include "projections/store.h"

namespace cpts {
namespace {

using json = ::cpts::Json;
namespace pj = projections;

std::atomic<pj::Projector*> running_projector{nullptr};
void OnStopSignal(int) {
  if (pj::Projector* p = running_projector.load()) p->RequestStop();
}

int Fail(const std::string& command, const Status& status) {
  std::cerr << "cpts " << command << ": " << status.ToString() << "\n";
  return 1;
}

std::string StatsLine(const pj::ProjectorStats& s) {
  std::string line = pj::WithThousands(s.applied) + " events applied from " +
                     pj::WithThousands(s.records) + " records";
  const auto add = [&](uint64_t n, const char* what) {
    if (n > 0) line += ", " + pj::WithThousands(n) + " " + what;
  };
  add(s.already_applied, "already applied");
  add(s.after_until, "after the as-of bound");
  add(s.gaps, "beyond a gap (history is missing events: run cpts audit verify)");
  add(s.conflicts, "on another branch (a zombie writer: run cpts audit verify)");
  add(s.unreadable, "unreadable");
  add(s.misrouted, "misrouted");
  return line;
}

json PositionsJson(const pj::Positions& positions) {
  json out = json::object();
  for (const auto& [p, offset] : positions) out[std::to_string(p)] = offset;
  return out;
}

}  // namespace

struct ProjectionCommands::Flags {
  CLI::App* project = nullptr;
  CLI::App* rebuild = nullptr;
  CLI::App* replay = nullptr;
  CLI::App* digest = nullptr;
  CLI::App* query = nullptr;
  LogFlags log;
  int threads = 2;
  bool follow = false;
  std::string until, out;
  // query
  std::string view, cpts, region, at, status, finess, professional, from, to, campaign;
  std::string purpose, user;
  bool include_closed = false, show_identity = false;
  HealthFlags health;
  size_t offset = 0, limit = 50;
};

ProjectionCommands::ProjectionCommands(CLI::App& app) : flags_(std::make_unique<Flags>()) {
  Flags& f = *flags_;
  const auto add_projections_dir = [&](CLI::App* command) {
    command->add_option("--projections", f.log.projections_dir,
                        "Directory of the read models (default: <data-dir>/projections)");
  };
  const auto add_threads = [&](CLI::App* command) {
    command->add_option("--threads", f.threads, "Worker threads; partitions replay in parallel")
        ->capture_default_str()
        ->check(CLI::Range(1, 64));
  };

  f.project = app.add_subcommand(
      "project", "Bring the read models up to date with the log (or follow it with --follow)");
  AddLogFlags(*f.project, f.log, /*creates_topics=*/false);
  add_projections_dir(f.project);
  add_threads(f.project);
  f.project->add_flag("--follow", f.follow, "Keep following the log until SIGTERM or SIGINT");

  f.rebuild = app.add_subcommand(
      "rebuild", "Rebuild the read models from the start of the log and swap them in");
  AddLogFlags(*f.rebuild, f.log, /*creates_topics=*/false);
  add_projections_dir(f.rebuild);
  add_threads(f.rebuild);

  f.replay = app.add_subcommand(
      "replay", "Build the read models as of a past time or position, into their own directory");
  AddLogFlags(*f.replay, f.log, /*creates_topics=*/false);
  add_threads(f.replay);
  f.replay->add_option("--until", f.until,
                       "A time (2026-11-22T16:05:00Z) or positions (0:120,1:98,... every "
                       "partition: the offset each stops before)")
      ->required();
  f.replay->add_option("--out", f.out, "A new directory for the as-of read models")->required();

  f.digest = app.add_subcommand("digest", "Print the digest of the read models and their positions");
  f.digest->add_option("--data-dir", f.log.data_dir, "Data directory")->capture_default_str();
  add_projections_dir(f.digest);

  f.query = app.add_subcommand("query", "Print one view of the read models as JSON");
  f.query->add_option("view", f.view, "The view")
      ->required()
      ->check(CLI::IsMember({"cpts", "list", "roster", "roster-history", "gps", "queue",
                             "referrals", "access", "handoff", "worklist", "snp", "campaigns",
                             "campaign", "indicators", "region"}));
  AddLogFlags(*f.query, f.log, /*creates_topics=*/false);
  add_projections_dir(f.query);
  f.query->add_option("--purpose", f.purpose,
                      "Why you read patient-level data (queue, referrals, handoff, worklist, snp): "
                      "recorded in the access trace");
  f.query->add_option("--user", f.user, "Who reads, for the access trace (default: operator:<login>)");
  f.query->add_flag("--show-identity", f.show_identity,
                    "Open the patients' sealed identities (needs the secrets: --secrets)");
  AddHealthFlags(*f.query, f.health);
  f.query->add_option("--cpts", f.cpts, "The CPTS id");
  f.query->add_option("--region", f.region, "INSEE region code (list, region)");
  f.query->add_option("--at", f.at,
                      "The clock for deadlines and shares (default: the as-of time of a replay, "
                      "else now)");
  f.query->add_option("--status", f.status, "Filter by status (handoff, referrals, snp)");
  f.query->add_option("--finess", f.finess, "Filter by hospital (handoff)");
  f.query->add_option("--professional", f.professional,
                      "A professional (worklist; filter of handoff), e.g. rpps:10003456786");
  f.query->add_option("--from", f.from, "Discharged at or after (handoff)");
  f.query->add_option("--to", f.to, "Discharged before (handoff)");
  f.query->add_option("--campaign", f.campaign, "The campaign id (campaign)");
  f.query->add_flag("--include-closed", f.include_closed, "Closed follow-ups too (worklist)");
  f.query->add_option("--offset", f.offset, "Page offset")->capture_default_str();
  f.query->add_option("--limit", f.limit, "Page size")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, pj::kMaxPageLimit));
}

ProjectionCommands::~ProjectionCommands() = default;

namespace {

int RunProject(const LogFlags& flags, int threads, bool follow) {
  Result<std::unique_ptr<log::Log>> log = OpenLog(flags, OpenMode::kReadOnly);
  if (!log.ok()) return Fail("project", log.status());
  Result<std::unique_ptr<pj::ProjectionStore>> store =
      pj::ProjectionStore::Open({.directory = flags.ProjectionsDirectory()});
  if (!store.ok()) return Fail("project", store.status());
  pj::Projector projector(**log, **store,
                          {.threads = threads,
                           .stop_at_end = !follow,
                           .progress = pj::ProgressLine("cpts project")});
  running_projector.store(&projector);
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  const Status status = projector.Run();
  running_projector.store(nullptr);
  std::cerr << "cpts project: " << StatsLine(projector.stats()) << "\n";
  if (!status.ok()) return Fail("project", status);
  if (Status closed = (*store)->Close(); !closed.ok()) return Fail("project", closed);
  return 0;
}

int RunBuild(const std::string& command, const LogFlags& flags, int threads,
             const std::string& until_text, const std::string& out) {
  Result<std::unique_ptr<log::Log>> log = OpenLog(flags, OpenMode::kReadOnly);
  if (!log.ok()) return Fail(command, log.status());
  pj::BuildOptions options{.threads = threads, .progress = pj::ProgressLine("cpts " + command)};
  // Outcomes already expired would be written only to be hidden, then deleted.
  options.outcomes_since_ms = pj::WallClockMs() - pj::kOutcomeRetentionMs;
  if (!until_text.empty()) {
    Result<int32_t> partitions = (*log)->PartitionCount(topics::kEvents);
    if (!partitions.ok()) return Fail(command, partitions.status());
    Result<pj::Until> until = pj::ParseUntil(until_text, *partitions);
    if (!until.ok()) return Fail(command, until.status());
    options.until_time_ms = until->time_ms;
    options.until_positions = until->positions;
  }
  Result<pj::BuildReport> report = Status::Internal("not run");
  if (command == "rebuild") {
    report = pj::RebuildReadModels(**log, flags.ProjectionsDirectory(), options);
  } else {
    options.directory = out;
    report = pj::BuildReadModels(**log, options);
  }
  if (!report.ok()) return Fail(command, report.status());
  std::cerr << "cpts " << command << ": " << StatsLine(report->stats) << " in " << report->seconds
            << " s\n";
  std::cout << json{{"directory", command == "rebuild" ? flags.ProjectionsDirectory() : out},
                    {"digest", report->digest},
                    {"positions", PositionsJson(report->positions)},
                    {"events_applied", report->stats.applied}}
                   .dump()
            << "\n";
  return report->stats.gaps + report->stats.conflicts + report->stats.unreadable > 0 ? 2 : 0;
}

Result<std::unique_ptr<pj::ProjectionStore>> OpenForReading(const LogFlags& flags) {
  return pj::ProjectionStore::Open(
      {.directory = flags.ProjectionsDirectory(), .create_if_missing = false});
}

int RunDigest(const LogFlags& flags) {
  Result<std::unique_ptr<pj::ProjectionStore>> store = OpenForReading(flags);
  if (!store.ok()) return Fail("digest", store.status());
  Result<std::string> digest = (*store)->Digest();
  if (!digest.ok()) return Fail("digest", digest.status());
  Result<pj::Positions> positions = (*store)->ReadPositions();
  if (!positions.ok()) return Fail("digest", positions.status());
  std::cout << json{{"digest", *digest}, {"positions", PositionsJson(*positions)}}.dump() << "\n";
  return 0;
}

bool IsPatientLevel(const std::string& view) {
  return view == "queue" || view == "referrals" || view == "handoff" || view == "worklist" ||
         view == "snp";
}

}  // namespace

std::optional<int> ProjectionCommands::RunParsed() {
  Flags& f = *flags_;
  if (f.project->parsed()) return RunProject(f.log, f.threads, f.follow);
  if (f.rebuild->parsed()) return RunBuild("rebuild", f.log, f.threads, "", "");
  if (f.replay->parsed()) return RunBuild("replay", f.log, f.threads, f.until, f.out);
  if (f.digest->parsed()) return RunDigest(f.log);
  if (!f.query->parsed()) return std::nullopt;

  const auto need = [&](const std::string& value, const char* flag) -> Status {
    if (value.empty()) {
      return Status::InvalidArgument("cpts query " + f.view + " needs " + flag);
    }
    return Status::Ok();
  };
  const auto opt = [](const std::string& v) {
    return v.empty() ? std::optional<std::string>() : std::optional<std::string>(v);
  };
  const pj::Page page{.offset = f.offset, .limit = f.limit};
  Result<json> answer = Status::Internal("no view");
  Status missing = f.view == "list" || f.view == "worklist" || f.view == "region"
                       ? Status::Ok()
                       : need(f.cpts, "--cpts");
  if (missing.ok() && f.view == "worklist") missing = need(f.professional, "--professional");
  if (missing.ok() && f.view == "region") missing = need(f.region, "--region");
  if (missing.ok() && f.view == "campaign") missing = need(f.campaign, "--campaign");
  if (missing.ok() && IsPatientLevel(f.view)) {
    missing = need(f.purpose, "--purpose (patient-level reads are traced: who, and why)");
  }
  if (!missing.ok()) return Fail("query", missing);
  // The clock: --at, else the moment an as-of build stops at, else now.
  Result<std::optional<int64_t>> at = ParseTimeFlag(f.at, "--at");
  Result<std::optional<int64_t>> from = ParseTimeFlag(f.from, "--from");
  Result<std::optional<int64_t>> to = ParseTimeFlag(f.to, "--to");
  for (const auto* r : {&at, &from, &to}) {
    if (!r->ok()) return Fail("query", r->status());
  }
  Result<std::unique_ptr<pj::ProjectionStore>> store = OpenForReading(f.log);
  if (!store.ok()) return Fail("query", store.status());
  int64_t clock = pj::WallClockMs();
  if (*at) {
    clock = **at;
  } else if (Result<std::optional<json>> build = (*store)->GetMeta("build");
             build.ok() && build->has_value() && (**build).contains("until_time")) {
    clock = pj::ParseTimestampMs((**build)["until_time"].get<std::string>()).value_or(clock);
  }
  const pj::ReadModels models(**store);
  if (f.view == "list") answer = models.ListCpts(opt(f.region));
  if (f.view == "cpts") answer = models.Cpts(f.cpts);
  if (f.view == "roster") answer = models.Roster(f.cpts, {}, page);
  if (f.view == "roster-history") answer = models.RosterHistory(f.cpts);
  if (f.view == "gps") answer = models.GpsWithCapacity(f.cpts);
  if (f.view == "access") answer = models.AccessSummary(f.cpts);
  if (IsPatientLevel(f.view)) {
    // Patient-level: through PatientReads, which traces the read on the access topic.
    Result<std::unique_ptr<log::Log>> log = OpenLog(f.log, OpenMode::kReadOnly);
    if (!log.ok()) return Fail("query", log.status());
    std::unique_ptr<keys::KeyStore> keys;
    if (f.show_identity) {
      Result<HealthSecrets> secrets = LoadHealthSecrets(f.health);
      if (!secrets.ok()) return Fail("query", secrets.status());
      Result<std::unique_ptr<keys::KeyStore>> opened =
          OpenKeyStore(f.log, **log, secrets->master_key);
      if (!opened.ok()) return Fail("query", opened.status());
      keys = std::move(*opened);
    }
    pj::AccessLog access(**log);
    const pj::PatientReads reads(**store, access, keys.get());
    const pj::Reader reader{.user = f.user.empty() ? OperatorName() : f.user,
                            .role = "operator",
                            .purpose = f.purpose,
                            .show_identity = f.show_identity};
    if (f.view == "queue") answer = reads.AccessQueue(reader, f.cpts, page);
    if (f.view == "referrals") answer = reads.Referrals(reader, f.cpts, opt(f.status), page);
    if (f.view == "handoff") {
      answer = reads.Handoff(reader, f.cpts,
                             {.status = opt(f.status),
                              .finess = opt(f.finess),
                              .professional = opt(f.professional),
                              .from_ms = *from,
                              .until_ms = *to},
                             clock, page);
    }
    if (f.view == "worklist") {
      answer = reads.Worklist(reader, f.professional, clock, f.include_closed, page);
    }
    if (f.view == "snp") answer = reads.Snp(reader, f.cpts, opt(f.status), clock, page);
  }
  if (f.view == "campaigns") answer = models.Campaigns(f.cpts);
  if (f.view == "campaign") answer = models.Campaign(f.cpts, f.campaign);
  if (f.view == "indicators") answer = models.Indicators(f.cpts, clock);
  if (f.view == "region") answer = models.RegionIndicators(f.region, clock);
  if (!answer.ok()) return Fail("query", answer.status());
  std::cout << answer->dump(2) << "\n";
  return 0;
}

}  // namespace cpts
