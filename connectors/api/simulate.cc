#include "connectors/api/simulate.h"

#include <fcntl.h>
#include <httplib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "aggregates/actor.h"
#include "connectors/api/auth.h"
#include "connectors/private_file.h"
#include "events/json.h"
#include "events/json_input.h"

namespace cpts::api {
namespace {

using json = ::cpts::Json;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------
// Files.

json EntryJson(const TokenEntry& entry) {
  const Principal& p = entry.principal;
  json item = {{"name", p.name}, {"role", std::string(RoleName(p.role))}};
  if (!p.cptsid.empty()) item["cptsid"] = p.cptsid;
  if (!p.finess.empty()) item["finess"] = p.finess;
  if (!p.professional.empty()) item["professional"] = p.professional;
  item["sha256"] = entry.sha256;
  return item;
}

// The principal a scenario actor's token gets; its name may still be taken (the caller renames).
Result<Principal> PrincipalFor(const std::string& actor_text) {
  Result<aggregates::Actor> actor = aggregates::ParseActor(actor_text);
  if (!actor.ok()) return actor.status();
  switch (actor->role) {
    case aggregates::Role::kAdmin:
    case aggregates::Role::kSystem:  // no system role for tokens: see simulate.h
      return Principal{.name = actor->name, .role = Role::kAdmin};
    case aggregates::Role::kCoordinator:
      return Principal{.name = actor->name, .role = Role::kCoordinator, .cptsid = actor->cpts};
    case aggregates::Role::kHospital:
      return Principal{.name = "hospital-" + actor->finess,
                       .role = Role::kHospital,
                       .finess = actor->finess};
    case aggregates::Role::kProfessional: {
      std::string name = actor->member_id;
      std::replace(name.begin(), name.end(), ':', '-');
      return Principal{.name = name, .role = Role::kProfessional,
                       .professional = actor->member_id};
    }
  }
  return Status::InvalidArgument("unknown actor role in " + actor_text);
}

// ---------------------------------------------------------------------------------------------
// Latency: a log-scaled histogram (100 buckets a decade from 1 µs to 100 s), so an endless demo
// keeps constant memory; percentiles are within 2.5%.

class LatencyHistogram {
 public:
  void Add(double ms) {
    const double us = std::max(1.0, ms * 1000.0);
    const auto index = std::min(kBuckets - 1, static_cast<size_t>(std::log10(us) * 100.0));
    ++counts_[index];
    ++total_;
  }
  double Percentile(double q) const {
    if (total_ == 0) return 0;
    const auto rank = static_cast<int64_t>(std::ceil(q * static_cast<double>(total_)));
    int64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::pow(10.0, (static_cast<double>(i) + 0.5) / 100.0) / 1000.0;
    }
    return 0;
  }

 private:
  static constexpr size_t kBuckets = 800;
  std::array<int64_t, kBuckets> counts_{};
  int64_t total_ = 0;
};

// ---------------------------------------------------------------------------------------------
// The simulation.

enum class Outcome { kAccepted, kRejected, kUnchanged, kError };

struct Queued {
  int64_t seq = 0;  // order of generation, over the chosen CPTS
  aggregates::Command command;
};

class Simulation {
 public:
  Simulation(const SimulateOptions& options, aggregates::Scenario scenario,
             std::set<std::string> cpts)
      : options_(options), scenario_(std::move(scenario)), cpts_(std::move(cpts)) {}

  SimulateProgress Run() {
    start_ = Clock::now();
    last_report_ = start_;
    std::vector<std::thread> senders;
    const int n = std::max(1, options_.connections);
    for (int i = 0; i < n; ++i) senders.emplace_back([this] { Sender(); });
    {
      std::unique_lock lock(mu_);
      while (active_senders_ > 0 || !started_) {
        done_cv_.wait_for(lock, std::chrono::milliseconds(100));
        MaybeReport(lock, false);
      }
    }
    for (std::thread& t : senders) t.join();
    std::unique_lock lock(mu_);
    return MaybeReport(lock, true);
  }

 private:
  double Elapsed() const {
    return std::chrono::duration<double>(Clock::now() - start_).count();
  }
  bool Stopped() const {
    return options_.stop != nullptr && options_.stop->load(std::memory_order_relaxed);
  }

  // Fills the per-CPTS queues ahead of the senders. Holds mu_.
  void Refill() {
    // Far enough ahead that the smaller CPTS keep busy while the largest one (whose commands
    // are the most numerous, and go one at a time) gates the scenario's order.
    constexpr int64_t kLookahead = 5000;
    while (!generation_done_ && queued_ < kLookahead) {
      if (Stopped() || (options_.commands > 0 && generated_ >= options_.commands) ||
          (options_.duration_seconds > 0 && Elapsed() >= options_.duration_seconds)) {
        generation_done_ = true;
        break;
      }
      aggregates::ScenarioCommand next = scenario_.Next();
      if (cpts_.count(next.command.cptsid) == 0) continue;
      ++generated_;
      if (options_.credentials.count(next.command.actor) == 0) {
        ++progress_.no_credential;
        continue;
      }
      queues_[next.command.cptsid].push_back(Queued{generated_, std::move(next.command)});
      ++queued_;
    }
    // A duration may end while everything waits on busy CPTS: drop what is not sent yet.
    if (!generation_done_ && options_.duration_seconds > 0 &&
        Elapsed() >= options_.duration_seconds) {
      generation_done_ = true;
    }
    if (generation_done_ && (Stopped() || (options_.duration_seconds > 0 &&
                                           Elapsed() >= options_.duration_seconds))) {
      for (auto& [id, queue] : queues_) queue.clear();
      queued_ = 0;
    }
  }

  // The next command whose CPTS has nothing in flight, earliest first; false when all is sent.
  bool Take(Queued* out) {
    std::unique_lock lock(mu_);
    for (;;) {
      Refill();
      std::deque<Queued>* best = nullptr;
      for (auto& [id, queue] : queues_) {
        if (queue.empty() || busy_.count(id) > 0) continue;
        if (best == nullptr || queue.front().seq < best->front().seq) best = &queue;
      }
      if (best != nullptr) {
        *out = std::move(best->front());
        best->pop_front();
        --queued_;
        busy_.insert(out->command.cptsid);
        return true;
      }
      if (generation_done_ && queued_ == 0) return false;
      ready_cv_.wait_for(lock, std::chrono::milliseconds(50));
    }
  }

  void Sender() {
    {
      std::lock_guard lock(mu_);
      ++active_senders_;
      started_ = true;
    }
    httplib::Client client(options_.url);
    client.set_keep_alive(true);
    // httplib writes a request's head and body separately: without TCP_NODELAY every POST
    // waits 40 ms for the server's delayed ACK (Nagle).
    client.set_tcp_nodelay(true);
    client.set_connection_timeout(5, 0);
    // Longer than the API's own wait for a decision (10 s), which then answers 202.
    client.set_read_timeout(30, 0);
    client.set_write_timeout(10, 0);
    Queued item;
    int64_t slot = 0;
    while (true) {
      if (!Take(&item)) break;
      {
        std::lock_guard lock(mu_);
        // Replays (a rerun's commands answered from their first outcome) take no slot: the rate
        // paces new commands, so a rerun catches up at once and then goes on at the rate.
        slot = slots_++ - replayed_;
      }
      if (options_.rate > 0) {
        const auto due = start_ + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(
                                          static_cast<double>(slot) / options_.rate));
        // In steps, so that a stop is seen at a low rate too.
        while (Clock::now() < due && !Stopped()) {
          std::this_thread::sleep_until(std::min(due, Clock::now() + std::chrono::milliseconds(100)));
        }
      }
      if (!Stopped()) Send(client, item.command);  // stopped while pacing: not sent, not counted
      {
        std::lock_guard lock(mu_);
        busy_.erase(item.command.cptsid);
      }
      ready_cv_.notify_all();
    }
    {
      std::lock_guard lock(mu_);
      --active_senders_;
    }
    done_cv_.notify_all();
  }

  void Send(httplib::Client& client, const aggregates::Command& command) {
    const std::string path = "/v1/cpts/" + command.cptsid + "/commands/" + command.type;
    httplib::Headers headers = {
        {"Authorization", "Bearer " + options_.credentials.at(command.actor)},
        {"Idempotency-Key", command.command_id}};
    if (command.correlation_id) headers.emplace("X-Correlation-Id", *command.correlation_id);
    const std::string body = command.data.dump();
    std::string error;
    for (int attempt = 0;; ++attempt) {
      const auto begin = Clock::now();
      httplib::Result result = client.Post(path, headers, body, "application/json");
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - begin).count();
      const bool retryable = !result || result->status == 503;
      if (result && result->get_header_value("Idempotent-Replayed") == "true") {
        std::lock_guard lock(mu_);
        ++replayed_;
      }
      if (!retryable || attempt >= options_.max_retries || Stopped()) {
        Record(ms, result ? Classify(client, command, *result, &error)
                          : Fail("cannot reach " + options_.url + " (" + httplib::to_string(result.error()) +
                                 " error, after " + std::to_string(attempt) + " retries)",
                             &error),
               error, result && result->status >= 500);
        return;
      }
      {
        std::lock_guard lock(mu_);
        latency_.Add(ms);
        ++progress_.retries;
      }
      // Backs off, honouring a Retry-After in seconds when the server gives one.
      int64_t wait_ms = 100LL << std::min(attempt, 5);
      if (result && result->has_header("Retry-After")) {
        try {
          wait_ms = std::max<int64_t>(wait_ms, std::stoll(result->get_header_value("Retry-After")) * 1000);
        } catch (const std::exception&) {
          // not seconds (an HTTP date): the backoff alone
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(wait_ms, 5000)));
    }
  }

  static Outcome Fail(std::string what, std::string* error) {
    *error = std::move(what);
    return Outcome::kError;
  }

  // The outcome of an answer; a 202 is looked up until decided.
  Outcome Classify(httplib::Client& client, const aggregates::Command& command,
                   const httplib::Response& response, std::string* error) {
    json body = json::parse(response.body, nullptr, false);
    const std::string outcome =
        body.is_object() && body.contains("outcome") && body["outcome"].is_string()
            ? body["outcome"].get<std::string>()
            : "";
    const auto describe = [&]() {
      std::string code, message;
      if (body.is_object() && body.contains("error") && body["error"].is_object()) {
        code = body["error"].value("code", "");
        message = body["error"].value("message", "");
        if (std::string field = body["error"].value("field", ""); !field.empty()) {
          message += " (" + field + ")";
        }
      }
      return command.type + ": " + std::to_string(response.status) + " " + code + " " + message;
    };
    if (response.status == 201 && outcome == "accepted") return Outcome::kAccepted;
    if (response.status == 200 && outcome == "unchanged") return Outcome::kUnchanged;
    if (outcome == "rejected" && (response.status == 409 || response.status == 422 ||
                                  response.status == 403)) {
      std::string code = "unknown";
      if (body.contains("error") && body["error"].is_object()) {
        code = body["error"].value("code", "unknown");
      }
      std::lock_guard lock(mu_);
      ++progress_.rejections[code];
      return Outcome::kRejected;
    }
    if (response.status == 202 && outcome == "pending" && body.contains("command_id")) {
      {
        std::lock_guard lock(mu_);
        ++progress_.pending;
      }
      const std::string lookup = "/v1/cpts/" + command.cptsid + "/commands/" +
                                 body["command_id"].get<std::string>();
      const httplib::Headers headers = {
          {"Authorization", "Bearer " + options_.credentials.at(command.actor)}};
      const auto deadline = Clock::now() + std::chrono::seconds(60);
      while (Clock::now() < deadline && !Stopped()) {
        httplib::Result again = client.Get(lookup, headers);
        if (again && again->status != 404 && again->status != 202 && again->status != 503) {
          return Classify(client, command, *again, error);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
      return Fail(command.type + ": still pending after a minute", error);
    }
    return Fail(describe(), error);
  }

  void Record(double ms, Outcome outcome, const std::string& error, bool server_error) {
    std::lock_guard lock(mu_);
    latency_.Add(ms);
    ++progress_.sent;
    switch (outcome) {
      case Outcome::kAccepted:
        ++progress_.accepted;
        break;
      case Outcome::kRejected:
        ++progress_.rejected;
        break;
      case Outcome::kUnchanged:
        ++progress_.unchanged;
        break;
      case Outcome::kError:
        ++progress_.errors;
        if (server_error) ++progress_.server_errors;
        if (progress_.error_samples.size() < 10 &&
            std::find(progress_.error_samples.begin(), progress_.error_samples.end(), error) ==
                progress_.error_samples.end()) {
          progress_.error_samples.push_back(error);
        }
        break;
    }
  }

  // Holds mu_. Calls the progress callback once an interval has passed (or at the end).
  SimulateProgress MaybeReport(std::unique_lock<std::mutex>& lock, bool final) {
    const auto now = Clock::now();
    const double since = std::chrono::duration<double>(now - last_report_).count();
    if (!final && since < options_.progress_interval_seconds) return progress_;
    progress_.elapsed_seconds = std::chrono::duration<double>(now - start_).count();
    progress_.rate =
        final ? (progress_.elapsed_seconds > 0
                     ? static_cast<double>(progress_.sent) / progress_.elapsed_seconds
                     : 0)
              : static_cast<double>(progress_.sent - sent_at_last_report_) / since;
    progress_.p50_ms = latency_.Percentile(0.50);
    progress_.p99_ms = latency_.Percentile(0.99);
    last_report_ = now;
    sent_at_last_report_ = progress_.sent;
    SimulateProgress copy = progress_;
    if (options_.progress) {
      lock.unlock();
      options_.progress(copy);
      lock.lock();
    }
    return copy;
  }

  const SimulateOptions& options_;
  aggregates::Scenario scenario_;
  const std::set<std::string> cpts_;
  Clock::time_point start_;

  std::mutex mu_;
  std::condition_variable ready_cv_;  // a CPTS became free
  std::condition_variable done_cv_;   // a sender finished
  std::map<std::string, std::deque<Queued>> queues_;
  std::set<std::string> busy_;  // CPTS with a command in flight
  int64_t queued_ = 0, generated_ = 0, slots_ = 0;
  int64_t replayed_ = 0;  // answers marked Idempotent-Replayed: slots given back
  bool generation_done_ = false;
  int active_senders_ = 0;
  bool started_ = false;
  SimulateProgress progress_;
  LatencyHistogram latency_;
  Clock::time_point last_report_;
  int64_t sent_at_last_report_ = 0;
};

std::set<std::string> ChosenCpts(const std::vector<std::string>& cpts) {
  const std::vector<std::string>& ids = cpts.empty() ? DefaultSimulatedCpts() : cpts;
  return {ids.begin(), ids.end()};
}

}  // namespace

const std::vector<std::string>& DefaultSimulatedCpts() {
  static const std::vector<std::string> kIds = {"cpts-haut-doubs", "cpts-grand-besancon",
                                                "cpts-bassin-vesulien", "cpts-luxeuil",
                                                "cpts-atlantique-nord-loire"};
  return kIds;
}

Result<aggregates::ScenarioOptions> SimulationScenario(const std::vector<std::string>& cpts,
                                                       uint64_t seed, const std::string& start) {
  aggregates::ScenarioOptions options;
  options.seed = seed;
  if (!start.empty()) options.start = start;
  options.clear_patients = true;
  // The catalogue's ids, from a scenario of its full size.
  Result<aggregates::Scenario> catalogue = aggregates::Scenario::Create(options);
  if (!catalogue.ok()) return catalogue.status();
  const std::vector<std::string>& ids = catalogue->cpts_ids();
  int needed = 1;
  for (const std::string& id : ChosenCpts(cpts)) {
    const auto it = std::find(ids.begin(), ids.end(), id);
    if (it == ids.end()) {
      std::string known;
      for (const std::string& k : ids) known += (known.empty() ? "" : ", ") + k;
      return Status::InvalidArgument("the scenario has no CPTS \"" + id + "\" (it has: " +
                                     known + ")");
    }
    needed = std::max(needed, static_cast<int>(it - ids.begin()) + 1);
  }
  // Only as much of the catalogue as the chosen CPTS need: less to generate and throw away.
  options.cpts = needed;
  return options;
}

Result<ProvisionReport> ProvisionCredentials(const std::string& tokens_file,
                                             const std::string& credentials_file,
                                             const aggregates::ScenarioOptions& scenario_options,
                                             int64_t n_commands_ahead,
                                             const std::vector<std::string>& cpts) {
  if (n_commands_ahead < 1) {
    return Status::InvalidArgument("the number of commands to provision for must be at least 1");
  }
  Result<aggregates::Scenario> scenario = aggregates::Scenario::Create(scenario_options);
  if (!scenario.ok()) return scenario.status();
  std::set<std::string> chosen(cpts.begin(), cpts.end());
  if (chosen.empty()) chosen.insert(scenario->cpts_ids().begin(), scenario->cpts_ids().end());
  for (const std::string& id : chosen) {
    const auto& ids = scenario->cpts_ids();
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) {
      return Status::InvalidArgument("the scenario has no CPTS \"" + id + "\"");
    }
  }

  // The actors, in order of first appearance (so names are given the same way each time).
  std::vector<std::string> actors;
  std::set<std::string> seen;
  for (int64_t n = 0; n < n_commands_ahead;) {
    aggregates::ScenarioCommand next = scenario->Next();
    if (chosen.count(next.command.cptsid) == 0) continue;
    ++n;
    if (seen.insert(next.command.actor).second) actors.push_back(next.command.actor);
  }

  ProvisionReport report;
  report.actors = static_cast<int>(actors.size());
  std::vector<std::pair<std::string, Principal>> wanted;  // credentials key -> principal
  for (const std::string& actor : actors) {
    Result<Principal> principal = PrincipalFor(actor);
    if (!principal.ok()) return principal.status().WithContext("actor " + actor);
    wanted.emplace_back(actor, std::move(*principal));
  }
  for (auto [role, name] : {std::pair{Role::kAdmin, "demo"},
                            std::pair{Role::kDashboard, "demo-dashboard"},
                            std::pair{Role::kAuditor, "demo-auditor"}}) {
    Principal p{.name = name, .role = role};
    const std::string key = p.Actor();
    if (seen.insert(key).second) wanted.emplace_back(key, std::move(p));
  }

  // Token names are unique in the file (they name the holder in traces).
  std::set<std::string> names;
  Credentials credentials;
  std::vector<TokenEntry> entries;
  for (auto& [key, principal] : wanted) {
    if (names.count(principal.name) > 0) {
      const std::string base = principal.name;
      for (int k = 2; names.count(principal.name) > 0; ++k) {
        principal.name = base + "." + std::to_string(k);
      }
      report.notes.push_back(key + " gets a token named " + principal.name + " (" + base +
                             " is taken): its commands carry the actor " + principal.Actor());
    }
    names.insert(principal.name);
    const std::string token = NewToken();
    entries.push_back(TokenEntry{.principal = principal, .sha256 = TokenSha256Hex(token)});
    credentials[key] = token;
  }

  // An existing tokens file keeps its other holders.
  json document = {{"tokens", json::array()}};
  if (std::filesystem::exists(tokens_file)) {
    Result<TokenStore> existing = TokenStore::Load(tokens_file);
    if (!existing.ok()) return existing.status();
    for (const TokenEntry& entry : existing->entries()) {
      if (names.count(entry.principal.name) > 0) {
        ++report.tokens_replaced;
        continue;
      }
      document["tokens"].push_back(EntryJson(entry));
      ++report.tokens_kept;
    }
  }
  for (const TokenEntry& entry : entries) document["tokens"].push_back(EntryJson(entry));
  report.tokens_created = static_cast<int>(entries.size());
  // The daemon's own checks, so that what is written is what cptsd will load.
  if (Result<TokenStore> valid = TokenStore::FromJson(document, tokens_file); !valid.ok()) {
    return valid.status();
  }
  CPTS_RETURN_IF_ERROR(
      WritePrivateFileAtomically(tokens_file, document.dump(2) + "\n", "tokens file"));
  CPTS_RETURN_IF_ERROR(WritePrivateFileAtomically(credentials_file, json(credentials).dump(2) + "\n",
                                           "credentials file"));
  return report;
}

Result<Credentials> LoadCredentials(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return Status::InvalidArgument("cannot read the credentials file " + path + ": " +
                                   std::strerror(errno) +
                                   " (cpts simulate provision writes it)");
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return Status::FailedPrecondition("the credentials file " + path +
                                      " holds tokens in clear and is readable or writable by "
                                      "group or others: run chmod 600 " + path);
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  Result<json> document = events::ParseStrictJson(text.str(), "the credentials file " + path);
  if (!document.ok()) return document.status();
  if (!document->is_object()) {
    return Status::InvalidArgument("the credentials file " + path +
                                   " must hold a JSON object of actor -> token");
  }
  Credentials credentials;
  for (const auto& [actor, token] : document->items()) {
    if (!token.is_string()) {
      return Status::InvalidArgument("the credentials file " + path + ": the token of " + actor +
                                     " is not a string");
    }
    credentials[actor] = token.get<std::string>();
  }
  return credentials;
}

Result<SimulateProgress> Simulate(const SimulateOptions& options) {
  if (options.rate < 0) return Status::InvalidArgument("rate must be 0 or more");
  if (options.commands < 0) return Status::InvalidArgument("commands must be 0 or more");
  if (options.duration_seconds < 0) return Status::InvalidArgument("duration must be 0 or more");
  if (options.connections < 1 || options.connections > 256) {
    return Status::InvalidArgument("connections must be 1 to 256");
  }
  if (options.credentials.empty()) {
    return Status::InvalidArgument("no credentials: run cpts simulate provision first");
  }
  if (options.url.rfind("http://", 0) != 0 && options.url.rfind("https://", 0) != 0) {
    return Status::InvalidArgument("url must start with http:// or https://, got \"" +
                                   options.url + "\"");
  }
  {
    httplib::Client probe(options.url);
    if (!probe.is_valid()) {
      return Status::InvalidArgument("url \"" + options.url + "\" is not one this client can use");
    }
  }
  Result<aggregates::ScenarioOptions> scenario_options =
      SimulationScenario(options.cpts, options.seed, options.start);
  if (!scenario_options.ok()) return scenario_options.status();
  Result<aggregates::Scenario> scenario = aggregates::Scenario::Create(*scenario_options);
  if (!scenario.ok()) return scenario.status();
  Simulation simulation(options, std::move(*scenario), ChosenCpts(options.cpts));
  return simulation.Run();
}

std::string FormatProgress(const SimulateProgress& p) {
  char line[512];
  std::snprintf(line, sizeof line,
                "%7.1fs  sent %lld (%.1f/s)  accepted %lld  rejected %lld  unchanged %lld  "
                "errors %lld (5xx %lld)  retries %lld  p50 %.1f ms  p99 %.1f ms",
                p.elapsed_seconds, static_cast<long long>(p.sent), p.rate,
                static_cast<long long>(p.accepted), static_cast<long long>(p.rejected),
                static_cast<long long>(p.unchanged), static_cast<long long>(p.errors),
                static_cast<long long>(p.server_errors), static_cast<long long>(p.retries),
                p.p50_ms, p.p99_ms);
  std::string out = line;
  if (p.no_credential > 0) {
    out += "  no credential " + std::to_string(p.no_credential);
  }
  return out;
}

}  // namespace cpts::api
