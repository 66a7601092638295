#include "connectors/simulate_commands.h"

#include <signal.h>

#include <atomic>
#include <charconv>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "connectors/api/auth.h"
#include "connectors/api/simulate.h"

namespace cpts {
namespace {

// Set by SIGINT/SIGTERM: the simulation stops sending, lets what is in flight finish and prints
// its summary.
std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }

// Numbers are taken as text and parsed here, so a bad value exits 2 with our message rather than
// CLI11's own exit code.
template <typename T>
bool ParseNumber(const std::string& text, const char* flag, T min, T max, T* out) {
  T value{};
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || value < min || value > max) {
    std::cerr << "cpts: " << flag << " must be a number from " << min << " to " << max
              << ", got \"" << text << "\"\n";
    return false;
  }
  *out = value;
  return true;
}

int BadFlags(const std::string& message) {
  std::cerr << "cpts: " << message << "\n";
  return 2;
}

}  // namespace

struct SimulateCommands::Flags {
  CLI::App* simulate = nullptr;
  CLI::App* provision = nullptr;
  CLI::App* token = nullptr;
  CLI::App* token_add = nullptr;

  // cpts simulate provision
  std::string tokens_file;
  std::string credentials_file;
  std::string provision_commands = "20000";
  std::vector<std::string> provision_cpts;
  std::string provision_seed = "1";

  // cpts simulate
  std::string url;
  std::string credentials;
  std::vector<std::string> cpts;
  std::string rate = "50";
  std::string commands;
  std::string duration;
  std::string connections = "4";
  std::string seed = "1";

  // cpts token add
  std::string add_tokens_file;
  std::string name;
  std::string role;
  std::string cptsid;
  std::string finess;
  std::string professional;

  int RunProvision();
  int RunSimulate();
  int RunTokenAdd();
};

SimulateCommands::SimulateCommands(CLI::App& app) : flags_(std::make_unique<Flags>()) {
  Flags& f = *flags_;
  f.simulate = app.add_subcommand(
      "simulate",
      "Send realistic traffic (the scenario's commands, by its actors) to a running cptsd");
  f.simulate->require_subcommand(0, 1);
  f.simulate->add_option("--url", f.url, "The cptsd to send to, e.g. http://127.0.0.1:8080");
  f.simulate->add_option("--credentials", f.credentials,
                         "The credentials file written by cpts simulate provision");
  f.simulate->add_option("--cpts", f.cpts,
                         "A CPTS to simulate (repeatable; default: the five seeds' territories)");
  f.simulate->add_option("--rate", f.rate, "Commands per second; 0 = as fast as answered")
      ->capture_default_str();
  f.simulate->add_option("--commands", f.commands, "Stop after this many commands (default 1000)");
  f.simulate->add_option("--duration", f.duration, "Stop after this many seconds");
  f.simulate->add_option("--connections", f.connections, "Keep-alive connections")
      ->capture_default_str();
  f.simulate->add_option("--seed", f.seed, "The scenario's seed, as provisioned")
      ->capture_default_str();

  f.provision = f.simulate->add_subcommand(
      "provision",
      "Make one token per actor of the traffic: a tokens file for cptsd (start it after) and a "
      "credentials file (actor -> token, mode 0600) for cpts simulate");
  f.provision->add_option("--tokens", f.tokens_file,
                          "The tokens file of cptsd (created, or added to)");
  f.provision->add_option("--credentials", f.credentials_file,
                          "The credentials file to write (replaced)");
  f.provision->add_option("--commands", f.provision_commands,
                          "Provision the actors of this many commands")
      ->capture_default_str();
  f.provision->add_option("--cpts", f.provision_cpts,
                          "A CPTS to provision for (repeatable; default: the five seeds' "
                          "territories)");
  f.provision->add_option("--seed", f.provision_seed, "The scenario's seed")
      ->capture_default_str();

  f.token = app.add_subcommand("token", "Manage the bearer tokens of cptsd");
  f.token->require_subcommand(1);
  f.token_add = f.token->add_subcommand(
      "add", "Add a token to a tokens file and print it once (cptsd reads the file at start)");
  f.token_add->add_option("--tokens", f.add_tokens_file, "The tokens file (created when missing)");
  f.token_add->add_option("--name", f.name, "Its holder: a login, e.g. claire");
  f.token_add->add_option(
      "--role", f.role, "hospital, coordinator, professional, dashboard, auditor or admin");
  f.token_add->add_option("--cptsid", f.cptsid, "A coordinator's CPTS");
  f.token_add->add_option("--finess", f.finess, "A hospital's FINESS");
  f.token_add->add_option("--professional", f.professional,
                          "A professional's rpps:<11 digits> or adeli:<9 digits>");
}

SimulateCommands::~SimulateCommands() = default;

std::optional<int> SimulateCommands::RunParsed() {
  if (flags_->provision->parsed()) return flags_->RunProvision();
  if (flags_->simulate->parsed()) return flags_->RunSimulate();
  if (flags_->token_add->parsed()) return flags_->RunTokenAdd();
  return std::nullopt;
}

int SimulateCommands::Flags::RunProvision() {
  if (tokens_file.empty()) return BadFlags("simulate provision needs --tokens FILE");
  if (credentials_file.empty()) return BadFlags("simulate provision needs --credentials FILE");
  int64_t n = 0;
  uint64_t seed_value = 0;
  if (!ParseNumber<int64_t>(provision_commands, "--commands", 1, 100'000'000, &n) ||
      !ParseNumber<uint64_t>(provision_seed, "--seed", 0, UINT64_MAX, &seed_value)) {
    return 2;
  }
  Result<aggregates::ScenarioOptions> scenario =
      api::SimulationScenario(provision_cpts, seed_value);
  if (!scenario.ok()) return BadFlags(scenario.status().message());
  const std::vector<std::string>& chosen =
      provision_cpts.empty() ? api::DefaultSimulatedCpts() : provision_cpts;
  Result<api::ProvisionReport> report =
      api::ProvisionCredentials(tokens_file, credentials_file, *scenario, n, chosen);
  if (!report.ok()) {
    std::cerr << "cpts simulate provision: " << report.status().ToString() << "\n";
    return 1;
  }
  for (const std::string& note : report->notes) std::cerr << "note: " << note << "\n";
  std::cout << "cpts simulate provision: " << report->tokens_created << " tokens for "
            << report->actors << " actors of " << n << " commands (and admin:demo, "
            << "dashboard:demo-dashboard, auditor:demo-auditor) in " << tokens_file;
  if (report->tokens_kept > 0) std::cout << " (" << report->tokens_kept << " kept";
  if (report->tokens_replaced > 0) {
    std::cout << (report->tokens_kept > 0 ? ", " : " (") << report->tokens_replaced
              << " replaced";
  }
  if (report->tokens_kept > 0 || report->tokens_replaced > 0) std::cout << ")";
  std::cout << "; their clear tokens in " << credentials_file << "\n";
  return 0;
}

int SimulateCommands::Flags::RunSimulate() {
  if (url.empty()) return BadFlags("simulate needs --url (the cptsd, e.g. http://127.0.0.1:8080)");
  if (credentials.empty()) {
    return BadFlags("simulate needs --credentials FILE (written by cpts simulate provision)");
  }
  if (!commands.empty() && !duration.empty()) {
    return BadFlags("simulate takes --commands or --duration, not both");
  }
  api::SimulateOptions options;
  options.url = url;
  options.cpts = cpts;
  int connections_value = 0;
  if (!ParseNumber<double>(rate, "--rate", 0, 1e6, &options.rate) ||
      !ParseNumber<int>(connections, "--connections", 1, 256, &connections_value) ||
      !ParseNumber<uint64_t>(seed, "--seed", 0, UINT64_MAX, &options.seed)) {
    return 2;
  }
  options.connections = connections_value;
  if (!duration.empty()) {
    if (!ParseNumber<double>(duration, "--duration", 0.001, 1e9, &options.duration_seconds)) {
      return 2;
    }
  } else if (!commands.empty()) {
    if (!ParseNumber<int64_t>(commands, "--commands", 1, 100'000'000, &options.commands)) return 2;
  } else {
    options.commands = 1000;
  }
  if (options.url.rfind("http://", 0) != 0 && options.url.rfind("https://", 0) != 0) {
    return BadFlags("--url must start with http:// or https://, got \"" + options.url + "\"");
  }
  if (Result<aggregates::ScenarioOptions> scenario = api::SimulationScenario(cpts, options.seed);
      !scenario.ok()) {
    return BadFlags(scenario.status().message());
  }
  Result<api::Credentials> loaded = api::LoadCredentials(credentials);
  if (!loaded.ok()) {
    std::cerr << "cpts simulate: " << loaded.status().ToString() << "\n";
    return 1;
  }
  options.credentials = std::move(*loaded);
  options.progress = [](const api::SimulateProgress& p) {
    std::cerr << api::FormatProgress(p) << "\n";
  };
  options.stop = &g_stop;
  struct sigaction action = {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  Result<api::SimulateProgress> result = api::Simulate(options);
  if (!result.ok()) {
    std::cerr << "cpts simulate: " << result.status().ToString() << "\n";
    return result.status().code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  const api::SimulateProgress& p = *result;
  std::cout << "cpts simulate: " << api::FormatProgress(p) << "\n";
  if (!p.rejections.empty()) {
    std::cout << "rejections:";
    for (const auto& [code, count] : p.rejections) std::cout << " " << code << " " << count;
    std::cout << "\n";
  }
  for (const std::string& error : p.error_samples) std::cout << "error: " << error << "\n";
  // Errors are the server's or the setup's fault (rejections are the scenario's, on purpose).
  return p.errors > 0 ? 1 : 0;
}

int SimulateCommands::Flags::RunTokenAdd() {
  if (add_tokens_file.empty()) return BadFlags("token add needs --tokens FILE");
  if (name.empty()) return BadFlags("token add needs --name NAME (the holder's login)");
  if (role.empty()) {
    return BadFlags(
        "token add needs --role (hospital, coordinator, professional, dashboard, auditor or "
        "admin)");
  }
  const std::optional<api::Role> parsed_role = api::ParseRole(role);
  if (!parsed_role) {
    return BadFlags("--role \"" + role +
                    "\" is unknown (known: hospital, coordinator, professional, dashboard, "
                    "auditor, admin)");
  }
  const int scopes = !cptsid.empty() + !finess.empty() + !professional.empty();
  if (scopes > 1) return BadFlags("give at most one of --cptsid, --finess, --professional");
  const std::string token = api::NewToken();
  const api::TokenEntry entry{.principal = {.name = name,
                                            .role = *parsed_role,
                                            .finess = finess,
                                            .cptsid = cptsid,
                                            .professional = professional},
                              .sha256 = api::TokenSha256Hex(token)};
  // The entry's own checks first, so that a wrong scope is a bad flag (2), not a failure (1).
  if (Status valid = api::ValidateTokenEntry(entry, 0); !valid.ok()) {
    std::string message = valid.message();
    // "entry tokens[0] (name): what" -> "what": the flags name no entry.
    if (const size_t colon = message.find("): "); colon != std::string::npos) {
      message = message.substr(colon + 3);
    }
    return BadFlags("token add: " + message);
  }
  if (Status added = api::AddToken(add_tokens_file, entry); !added.ok()) {
    std::cerr << "cpts token add: " << added.ToString() << "\n";
    return 1;
  }
  std::cerr << "Added " << name << " (" << role << ") to " << add_tokens_file
            << ". The token is shown once; cptsd reads the file at start.\n";
  std::cout << token << "\n";
  return 0;
}

}  // namespace cpts
