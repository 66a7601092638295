// Realistic traffic through the HTTP API (connectors/api/simulate.h): the scenario in clear,
// provisioning, a simulation against a whole cptsd in this process (Daemon: embedded log,
// deciders, projector, HTTP server over loopback), then the `cpts` tool's simulate, token add and
// their bad flags, as a person runs them.

#include "connectors/api/simulate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "aggregates/scenario.h"
#include "connectors/api/auth.h"
#include "connectors/api/daemon.h"
#include "connectors/health_secrets.h"
#include "events/identity.h"
#include "events/json.h"
#include "events/pseudonym.h"
#include "tests/log/log_test_util.h"
#include "tests/support/subprocess.h"

namespace cpts::api {
namespace {

using ::testing::HasSubstr;
using json = ::cpts::Json;
using namespace std::chrono_literals;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

int Mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return static_cast<int>(st.st_mode & 0777);
}

// `cpts ...`: its exit status, and its stdout (and stderr, from RunAndCapture's message).
struct ToolRun {
  int exit_status = 0;
  std::string output;
};

ToolRun RunCpts(std::vector<std::string> args) {
  args.insert(args.begin(), test::BinaryPath("cpts"));
  Result<std::string> out = test::RunAndCapture(args, 120s);
  if (out.ok()) return {0, *out};
  const std::string& message = out.status().message();
  const std::string marker = "exited with status ";
  const size_t at = message.find(marker);
  return {at == std::string::npos ? -1 : std::stoi(message.substr(at + marker.size())), message};
}

// --- The scenario in clear -------------------------------------------------------------------

// The same commands as the pseudonymous scenario once the INS are pseudonymised and the
// identities taken out (the edge seals them): naming patients in clear changes nothing else.
TEST(ClearScenarioTest, NamesPatientsByInsWithAnIdentityAndOtherwiseMatchesThePseudonymousOne) {
  aggregates::ScenarioOptions pseudonymous;
  pseudonymous.cpts = 5;
  aggregates::ScenarioOptions clear = pseudonymous;
  clear.clear_patients = true;
  auto a = aggregates::Scenario::Create(pseudonymous);
  auto b = aggregates::Scenario::Create(clear);
  ASSERT_TRUE(a.ok() && b.ok());
  int with_ins = 0, with_identity = 0;
  for (int i = 0; i < 20'000; ++i) {
    aggregates::ScenarioCommand expected = a->Next();
    aggregates::ScenarioCommand got = b->Next();
    json data = got.command.data;
    ASSERT_FALSE(data.contains("patient")) << got.command.type;
    ASSERT_FALSE(data.contains("participant")) << got.command.type;
    if (data.contains("identity")) {
      ++with_identity;
      ASSERT_TRUE(events::ValidateClearIdentity(data["identity"]).ok())
          << events::ValidateClearIdentity(data["identity"]).ToString();
      data.erase("identity");
    }
    for (const std::string field : {"patient", "participant"}) {
      if (!data.contains(field + "_ins")) continue;
      ++with_ins;
      Result<std::string> pseudonym =
          events::PatientPseudonym(data[field + "_ins"].get<std::string>(), clear.secret);
      ASSERT_TRUE(pseudonym.ok()) << "not a valid NIR in " << got.command.type;
      data.erase(field + "_ins");
      data[field] = *pseudonym;
    }
    got.command.data = data;
    ASSERT_EQ(aggregates::EncodeCommand(got.command), aggregates::EncodeCommand(expected.command))
        << "command " << i;
  }
  EXPECT_GT(with_ins, 1000);
  EXPECT_GT(with_identity, 1000);
}

TEST(SimulationScenarioTest, RefusesACptsTheCatalogueDoesNotHave) {
  Result<aggregates::ScenarioOptions> options = SimulationScenario({"cpts-atlantis"});
  ASSERT_FALSE(options.ok());
  EXPECT_THAT(options.status().message(), HasSubstr("cpts-atlantis"));
  EXPECT_THAT(options.status().message(), HasSubstr("cpts-haut-doubs"));
  Result<aggregates::ScenarioOptions> defaults = SimulationScenario({});
  ASSERT_TRUE(defaults.ok());
  EXPECT_TRUE(defaults->clear_patients);
  EXPECT_EQ(defaults->cpts, 5);  // the five seeds' territories open the catalogue
}

// --- Provisioning ----------------------------------------------------------------------------

TEST(ProvisionTest, GivesEveryActorATokenTheDaemonAuthenticatesAsThatActor) {
  logtest::TempDir dir("simulate-provision");
  const std::string tokens = dir.path() + "/tokens.json";
  const std::string credentials_file = dir.path() + "/credentials.json";
  Result<aggregates::ScenarioOptions> options = SimulationScenario({});
  ASSERT_TRUE(options.ok());
  Result<ProvisionReport> report =
      ProvisionCredentials(tokens, credentials_file, *options, 3000, DefaultSimulatedCpts());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(Mode(tokens), 0600);
  EXPECT_EQ(Mode(credentials_file), 0600);
  Result<TokenStore> store = TokenStore::Load(tokens);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  Result<Credentials> credentials = LoadCredentials(credentials_file);
  ASSERT_TRUE(credentials.ok()) << credentials.status().ToString();
  EXPECT_EQ(static_cast<int>(credentials->size()), report->tokens_created);
  EXPECT_EQ(report->tokens_created, report->actors + 3);

  std::set<std::string> roles;
  for (const auto& [actor, token] : *credentials) {
    Result<Principal> principal = store->Authenticate("Bearer " + token);
    ASSERT_TRUE(principal.ok()) << actor;
    roles.insert(std::string(RoleName(principal->role)));
    if (actor.rfind("system:", 0) == 0) {
      EXPECT_EQ(principal->Actor(), "admin:" + actor.substr(7));
    } else if (principal->role == Role::kCoordinator && principal->Actor() != actor) {
      EXPECT_THAT(principal->name, HasSubstr("."));  // renamed: a login taken in another CPTS
    } else {
      EXPECT_EQ(principal->Actor(), actor);
    }
  }
  EXPECT_EQ(roles, (std::set<std::string>{"admin", "auditor", "coordinator", "dashboard",
                                          "hospital", "professional"}));
  EXPECT_TRUE(credentials->count("system:adhesion-import"));
  EXPECT_TRUE(credentials->count("admin:ars-bfc"));
  EXPECT_TRUE(credentials->count("admin:ars-pdl"));  // Atlantique Nord Loire, Pays de la Loire
}

TEST(ProvisionTest, KeepsTheOtherHoldersOfAnExistingTokensFile) {
  logtest::TempDir dir("simulate-provision-keep");
  const std::string tokens = dir.path() + "/tokens.json";
  ASSERT_TRUE(AddToken(tokens, {.principal = {.name = "someone", .role = Role::kAuditor},
                                .sha256 = TokenSha256Hex(NewToken())})
                  .ok());
  Result<aggregates::ScenarioOptions> options = SimulationScenario({"cpts-luxeuil"});
  ASSERT_TRUE(options.ok());
  Result<ProvisionReport> first = ProvisionCredentials(tokens, dir.path() + "/c.json", *options,
                                                       200, {"cpts-luxeuil"});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->tokens_kept, 1);
  // Again: the simulation's holders get new tokens, the other one stays.
  Result<ProvisionReport> again = ProvisionCredentials(tokens, dir.path() + "/c.json", *options,
                                                       200, {"cpts-luxeuil"});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->tokens_kept, 1);
  EXPECT_EQ(again->tokens_replaced, first->tokens_created);
  Result<TokenStore> store = TokenStore::Load(tokens);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(static_cast<int>(store->entries().size()), 1 + again->tokens_created);
}

// --- Against a running cptsd -----------------------------------------------------------------

class SimulateAgainstDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tokens_ = dir_.path() + "/tokens.json";
    credentials_file_ = dir_.path() + "/credentials.json";
    Result<aggregates::ScenarioOptions> options = SimulationScenario({});
    ASSERT_TRUE(options.ok());
    Result<ProvisionReport> report =
        ProvisionCredentials(tokens_, credentials_file_, *options, 1000, DefaultSimulatedCpts());
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    const std::string secrets = dir_.path() + "/secrets.json";
    ASSERT_TRUE(GenerateSecretsFile(secrets).ok());
    DaemonConfig config;
    config.data_dir = dir_.path() + "/data";
    config.port = 0;
    config.tokens_file = tokens_;
    config.secrets_file = secrets;
    config.partitions = 4;
    Result<std::unique_ptr<Daemon>> daemon = Daemon::Open(config);
    ASSERT_TRUE(daemon.ok()) << daemon.status().ToString();
    daemon_ = std::move(*daemon);
    ASSERT_TRUE(daemon_->Start().ok());
    // Ready at once on a new data directory; the simulation retries what a daemon not ready yet
    // refuses (503) anyway, so a readiness that lags is not this test's failure.
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!daemon_->Ready() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(20ms);
    }
    url_ = "http://127.0.0.1:" + std::to_string(daemon_->port());
    Result<Credentials> credentials = LoadCredentials(credentials_file_);
    ASSERT_TRUE(credentials.ok());
    credentials_ = *credentials;
  }
  void TearDown() override {
    if (daemon_) {
      EXPECT_TRUE(daemon_->Stop().ok());
    }
  }

  SimulateProgress Run(int64_t commands) {
    SimulateOptions options;
    options.url = url_;
    options.credentials = credentials_;
    options.rate = 0;  // as fast as answered
    options.commands = commands;
    options.connections = 4;
    Result<SimulateProgress> result = Simulate(options);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    return result.ok() ? *result : SimulateProgress{};
  }

  // GET with curl, an independent client: status and body.
  std::pair<int, json> Get(const std::string& path, const std::string& token) {
    Result<std::string> out = test::RunAndCapture(
        {"curl", "-s", "-w", "\n%{http_code}", "-H", "Authorization: Bearer " + token,
         url_ + path},
        30s);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    if (!out.ok()) return {0, json()};
    const size_t nl = out->rfind('\n');
    return {std::stoi(out->substr(nl + 1)),
            json::parse(out->substr(0, nl), nullptr, /*allow_exceptions=*/false)};
  }

  logtest::TempDir dir_{"simulate-daemon"};
  std::string tokens_, credentials_file_, url_;
  Credentials credentials_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(SimulateAgainstDaemonTest, MostCommandsAreAcceptedAndTheReadModelsShowTheTerritories) {
  const SimulateProgress p = Run(400);
  EXPECT_EQ(p.sent + p.no_credential, 400);
  EXPECT_EQ(p.no_credential, 0);  // provisioned for more than that
  EXPECT_EQ(p.server_errors, 0);
  EXPECT_EQ(p.errors, 0) << (p.error_samples.empty() ? "" : p.error_samples.front());
  EXPECT_EQ(p.sent, p.accepted + p.rejected + p.unchanged + p.errors);
  // The scenario refuses about 1% on purpose; through the API it must stay that rare.
  EXPECT_GE(p.accepted, p.sent * 95 / 100) << FormatProgress(p);

  const std::string dashboard = credentials_.at("dashboard:demo-dashboard");
  for (const std::string& id : DefaultSimulatedCpts()) {
    auto [status, body] = Get("/v1/cpts/" + id, dashboard);
    EXPECT_EQ(status, 200) << id << ": " << body.dump();
    EXPECT_NE(body.dump().find(id), std::string::npos) << body.dump();
  }
}

TEST_F(SimulateAgainstDaemonTest, RunningTheSameSimulationAgainDecidesNothingTwice) {
  const SimulateProgress first = Run(150);
  ASSERT_EQ(first.errors, 0) << (first.error_samples.empty() ? "" : first.error_samples.front());
  // Same keys, same callers: every command gets its first outcome back.
  const SimulateProgress again = Run(150);
  EXPECT_EQ(again.errors, 0);
  EXPECT_EQ(again.accepted, first.accepted);
  EXPECT_EQ(again.rejected, first.rejected);
  EXPECT_EQ(again.unchanged, first.unchanged);
}

TEST_F(SimulateAgainstDaemonTest, TheCptsToolSimulatesAndSummarises) {
  const ToolRun run = RunCpts({"simulate", "--url", url_, "--credentials", credentials_file_,
                               "--cpts", "cpts-luxeuil", "--commands", "40", "--rate", "0"});
  ASSERT_EQ(run.exit_status, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("cpts simulate:"));
  EXPECT_THAT(run.output, HasSubstr("sent 40 "));
  EXPECT_THAT(run.output, HasSubstr("errors 0 (5xx 0)"));
  auto [status, body] = Get("/v1/cpts/cpts-luxeuil", credentials_.at("dashboard:demo-dashboard"));
  EXPECT_EQ(status, 200) << body.dump();
}

// --- The cpts tool's flags -------------------------------------------------------------------

TEST(SimulateToolTest, BadFlagsExitTwoSayingWhatToGive) {
  logtest::TempDir dir("simulate-flags");
  const std::string credentials = dir.path() + "/credentials.json";
  const struct {
    std::vector<std::string> args;
    std::string says;
  } cases[] = {
      {{"simulate", "--credentials", credentials}, "--url"},
      {{"simulate", "--url", "http://127.0.0.1:1"}, "--credentials"},
      {{"simulate", "--url", "http://127.0.0.1:1", "--credentials", credentials, "--rate", "fast"},
       "--rate"},
      {{"simulate", "--url", "http://127.0.0.1:1", "--credentials", credentials, "--commands",
        "10", "--duration", "5"},
       "not both"},
      {{"simulate", "--url", "http://127.0.0.1:1", "--credentials", credentials,
        "--connections", "0"},
       "--connections"},
      {{"simulate", "--url", "127.0.0.1:1", "--credentials", credentials}, "http://"},
      {{"simulate", "--url", "http://127.0.0.1:1", "--credentials", credentials, "--cpts",
        "cpts-atlantis"},
       "cpts-atlantis"},
      {{"simulate", "provision", "--credentials", credentials}, "--tokens"},
      {{"simulate", "provision", "--tokens", dir.path() + "/t.json", "--credentials",
        credentials, "--commands", "-3"},
       "--commands"},
      {{"token", "add", "--tokens", dir.path() + "/t.json", "--name", "claire"}, "--role"},
      {{"token", "add", "--tokens", dir.path() + "/t.json", "--name", "claire", "--role",
        "boss"},
       "boss"},
      {{"token", "add", "--tokens", dir.path() + "/t.json", "--name", "claire", "--role",
        "coordinator"},
       "cptsid"},
      {{"token", "add", "--tokens", dir.path() + "/t.json", "--name", "ch", "--role", "hospital",
        "--finess", "250000453"},
       "finess"},
  };
  for (const auto& c : cases) {
    const ToolRun run = RunCpts(c.args);
    std::string line;
    for (const std::string& a : c.args) line += a + " ";
    EXPECT_EQ(run.exit_status, 2) << line << "\n" << run.output;
    EXPECT_THAT(run.output, HasSubstr(c.says)) << line;
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/t.json"));  // nothing written
}

TEST(SimulateToolTest, TokenAddPrintsATokenOnceThatTheTokensFileAuthenticates) {
  logtest::TempDir dir("token-add");
  const std::string tokens = dir.path() + "/tokens.json";
  const ToolRun run = RunCpts({"token", "add", "--tokens", tokens, "--name", "claire", "--role",
                               "coordinator", "--cptsid", "cpts-haut-doubs"});
  ASSERT_EQ(run.exit_status, 0) << run.output;
  const std::string token = run.output.substr(0, run.output.find('\n'));
  EXPECT_EQ(run.output, token + "\n");  // stdout: the token alone
  EXPECT_EQ(token.rfind("cpts_", 0), 0u);
  EXPECT_EQ(Mode(tokens), 0600);
  EXPECT_EQ(ReadFile(tokens).find(token), std::string::npos);  // only its hash is kept
  Result<TokenStore> store = TokenStore::Load(tokens);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  Result<Principal> principal = store->Authenticate("Bearer " + token);
  ASSERT_TRUE(principal.ok());
  EXPECT_EQ(principal->Actor(), "coordinator:cpts-haut-doubs:claire");

  // The same name again: refused, and the file keeps one entry.
  const ToolRun again = RunCpts({"token", "add", "--tokens", tokens, "--name", "claire", "--role",
                                 "admin"});
  EXPECT_EQ(again.exit_status, 1) << again.output;
  ASSERT_TRUE(TokenStore::Load(tokens).ok());
  EXPECT_EQ(TokenStore::Load(tokens)->entries().size(), 1u);
}

}  // namespace
}  // namespace cpts::api
