#include "connectors/api/demo.h"

#include <sys/stat.h>

#include <cstdio>
#include <chrono>
#include <filesystem>
#include <ctime>
#include <fstream>
#include <sstream>

#include "connectors/health_secrets.h"

namespace cpts::api {

namespace {

// Enough for about half an hour at the demo's rate; the scenario is endless, provisioning reads
// ahead this far to know every actor's token.
constexpr int64_t kDemoCommands = 200'000;
// Commands per second: fills the views within a minute, leaves the two cores to the person
// trying the API, and keeps the simulated clock near the wall clock for a while (see demo.h).
constexpr double kDemoRate = 40;
// How far before the first run the simulated clock starts.
constexpr int64_t kDemoHistoryDays = 60;

// The scenario's start: read from <data-dir>/demo-scenario.json, or fixed there now (a start
// 60 days ago, 07:00 UTC: a Paris morning) so that provisioning and every later run agree.
Result<std::string> DemoStart(const std::string& data_dir) {
  const std::string path = data_dir + "/demo-scenario.json";
  if (std::ifstream in(path); in) {
    const ::cpts::Json saved = ::cpts::Json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (!saved.is_object() || !saved.contains("start") || !saved["start"].is_string()) {
      return Status::InvalidArgument(path + " is not {\"start\": \"<RFC 3339 time>\"}; delete it "
                                     "with demo-credentials.json to start the demo afresh");
    }
    return saved["start"].get<std::string>();
  }
  const std::time_t then = std::chrono::system_clock::to_time_t(
      std::chrono::system_clock::now() - std::chrono::days(kDemoHistoryDays));
  std::tm utc{};
  gmtime_r(&then, &utc);
  char date[16];
  std::strftime(date, sizeof date, "%Y-%m-%d", &utc);
  const std::string start = std::string(date) + "T07:00:00Z";
  std::ofstream out(path);
  out << ::cpts::Json{{"start", start}}.dump() << "\n";
  if (!out.flush()) return Status::IoError("cannot write " + path);
  return start;
}

// The first actor of `prefix` in the credentials ("coordinator:cpts-haut-doubs:").
std::pair<std::string, std::string> FirstActor(const Credentials& credentials,
                                               std::string_view prefix) {
  for (const auto& [actor, token] : credentials) {
    if (actor.starts_with(prefix)) return {actor, token};
  }
  return {};
}

}  // namespace

Result<DemoFiles> PrepareDemo(DaemonConfig& config) {
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    return Status::IoError("cannot create the data directory " + config.data_dir + ": " +
                           ec.message());
  }
  if (config.secrets_file.empty()) config.secrets_file = config.data_dir + "/secrets.json";
  if (!std::filesystem::exists(config.secrets_file)) {
    CPTS_RETURN_IF_ERROR(GenerateSecretsFile(config.secrets_file));
  }
  if (config.tokens_file.empty()) config.tokens_file = config.data_dir + "/tokens.json";
  DemoFiles files{.credentials_file = config.data_dir + "/demo-credentials.json",
                  .commands = kDemoCommands};
  Result<std::string> start = DemoStart(config.data_dir);
  if (!start.ok()) return start.status();
  files.start = *start;
  if (!std::filesystem::exists(files.credentials_file)) {
    Result<aggregates::ScenarioOptions> scenario = SimulationScenario({}, 1, files.start);
    if (!scenario.ok()) return scenario.status();
    std::fprintf(stderr, "cptsd --demo: making one token per simulated sender...\n");
    Result<ProvisionReport> report = ProvisionCredentials(
        config.tokens_file, files.credentials_file, *scenario, kDemoCommands);
    if (!report.ok()) return report.status().WithContext("cannot provision the demo tokens");
  }
  Result<Credentials> credentials = LoadCredentials(files.credentials_file);
  if (!credentials.ok()) return credentials.status();
  files.credentials = std::move(*credentials);
  return files;
}

std::string WelcomeText(const DemoFiles& files, const std::string& base_url) {
  const Credentials& c = files.credentials;
  const auto coordinator = FirstActor(c, "coordinator:cpts-haut-doubs:");
  const auto hospital = FirstActor(c, "hospital:");
  const auto professional = FirstActor(c, "professional:");
  std::ostringstream out;
  out << "\ncptsd is running, with demo data arriving (the seeds' five territories):\n"
      << "  API            " << base_url << "/v1/cpts\n"
      << "  OpenAPI        " << base_url << "/openapi.json\n"
      << "  metrics        " << base_url << "/metrics\n"
      << "  health         " << base_url << "/healthz  " << base_url << "/readyz\n\n"
      << "Demo tokens, one per role (all in " << files.credentials_file << "):\n";
  const auto line = [&](const char* role, const std::pair<std::string, std::string>& who) {
    if (who.first.empty()) return;
    out << "  " << role << std::string(14 - std::string_view(role).size(), ' ') << who.second
        << "   (" << who.first << ")\n";
  };
  line("admin", {"admin:demo", c.contains("admin:demo") ? c.at("admin:demo") : ""});
  line("coordinator", coordinator);
  line("hospital", hospital);
  line("professional", professional);
  line("dashboard", {"dashboard:demo-dashboard", c.contains("dashboard:demo-dashboard")
                                                     ? c.at("dashboard:demo-dashboard")
                                                     : ""});
  line("auditor", {"auditor:demo-auditor",
                   c.contains("auditor:demo-auditor") ? c.at("auditor:demo-auditor") : ""});
  out << "\nTry:\n"
      << "  curl -H 'Authorization: Bearer " << coordinator.second << "' " << base_url
      << "/v1/cpts/cpts-haut-doubs/handoff\n"
      << "  curl -H 'Authorization: Bearer " << coordinator.second << "' " << base_url
      << "/v1/cpts/cpts-haut-doubs/indicators\n"
      << "  curl -N -H 'Authorization: Bearer " << coordinator.second << "' " << base_url
      << "/v1/cpts/cpts-haut-doubs/feed        (the live feed)\n"
      << "\nCtrl-C stops it; run it again to continue.\n\n";
  return out.str();
}

DemoTraffic::DemoTraffic(const DemoFiles& files, std::string base_url) {
  SimulateOptions options;
  options.url = std::move(base_url);
  options.credentials = files.credentials;
  options.rate = kDemoRate;
  options.commands = files.commands;
  options.start = files.start;
  options.stop = &stop_;
  options.progress_interval_seconds = 30;
  options.progress = [](const SimulateProgress& p) {
    std::fprintf(stderr, "cptsd --demo: %s\n", FormatProgress(p).c_str());
  };
  thread_ = std::thread([options = std::move(options)] {
    Result<SimulateProgress> done = Simulate(options);
    if (!done.ok()) {
      std::fprintf(stderr, "cptsd --demo: the simulation stopped: %s\n",
                   done.status().ToString().c_str());
    }
  });
}

DemoTraffic::~DemoTraffic() { Stop(); }

void DemoTraffic::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

}  // namespace cpts::api
