#pragma once
// Realistic traffic for a running cptsd, through its HTTP API (docs/api.md): the commands of
// aggregates::Scenario, sent by the actors who would send them, each with their own bearer
// token. Used by `cpts simulate` (connectors/simulate_commands.h), `cptsd --demo` (in process),
// the API tests and bench/api_bench.sh.
//
//   ProvisionCredentials  runs the scenario ahead (pure, fast) to list every actor its first N
//                         commands need, makes one token per actor, and writes the tokens file
//                         (hashes, for cptsd) and a credentials file (actor -> clear token, for
//                         the simulator), both mode 0600. cptsd reads its tokens at start: provision
//                         before starting it.
//   Simulate              sends the scenario's commands, filtered to the chosen CPTS, as
//                         POST /v1/cpts/<cpts>/commands/<type> with the command's data as body.
//
// Time: the scenario's simulated clock runs far faster than wall time (months of a territory in
// minutes). Its commands are sent in their order, paced by `rate` only, whatever their
// timestamps: issued_at is the server's (the API stamps every command when it is received).
// Order: commands of one CPTS are sent one after the other, each once the previous one is
// answered (the API answers once the deciders decided it), so each CPTS's stream gets them in
// scenario order, as they were generated; different CPTS go in parallel over `connections`.
// Idempotency: each request carries Idempotency-Key = the scenario command's id ("sim1-42"), and
// a retry (connection error, 503) sends the same key, so the API treats it as the same command;
// running the same simulation again against the same daemon decides nothing twice.
// Patients: the scenario runs with ScenarioOptions::clear_patients, so commands name patients by
// INS in clear (patient_ins, participant_ins, all made-up NIRs) with made-up clear identities,
// and the API's patient edge pseudonymises and seals them, as it does for real senders.
// Actors: admin, coordinator, hospital and professional actors get a token of that role.
// The scenario's "system:<name>" senders (the adhesion import that brings in a CPTS's first
// members, "system:adhesion-import"; the SAS regulation platform that forwards unscheduled-care
// requests, "system:sas-<département>") are programs the token model has no role for; the
// deciders treat system like admin (aggregates/actor.h), so they get an admin token named after
// them (actor admin:adhesion-import, admin:sas-25).
// Thread-safety: Simulate runs its own threads and calls `progress` from one of them at a time.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "aggregates/scenario.h"
#include "events/status.h"

namespace cpts::api {

// The seeds' territories, all in the scenario's catalogue: Haut-Doubs (Pontarlier), Grand
// Besançon, Bassin vésulien (Vesoul), Luxeuil, Atlantique Nord Loire (Saint-Nazaire).
const std::vector<std::string>& DefaultSimulatedCpts();

// The scenario a simulation of `cpts` plays (empty: DefaultSimulatedCpts()): clear patients,
// the given seed, and enough of the catalogue to hold them. InvalidArgument naming a CPTS the
// scenario does not have (with the ones it has). Provisioning and simulating must use the same.
// `start`: the simulated clock's start (RFC 3339); empty: the scenario's default (2026-01-05).
Result<aggregates::ScenarioOptions> SimulationScenario(const std::vector<std::string>& cpts,
                                                       uint64_t seed = 1,
                                                       const std::string& start = {});

// actor -> clear bearer token.
using Credentials = std::map<std::string, std::string>;

struct ProvisionReport {
  int actors = 0;           // actors the first commands need (in the chosen CPTS)
  int tokens_created = 0;   // their tokens, plus the demo ones
  int tokens_kept = 0;      // entries of an existing tokens file kept as they were
  int tokens_replaced = 0;  // entries of an existing tokens file with a name provisioned anew
  std::vector<std::string> notes;  // what a person should know (renamed coordinators...)
};

// Writes `tokens_file` (entries of an existing file are kept, except those whose name is
// provisioned anew: their old token stops working) and `credentials_file` (replaced), both 0600,
// each atomically. Besides the scenario's actors: "admin:demo", "dashboard:demo-dashboard" and
// "auditor:demo-auditor", for people to try the API with. `cpts` empty: every CPTS of `scenario`.
// Two coordinators of different CPTS with the same login cannot both have their token name (it
// is their actor's name): the second gets "<login>.<n>" and a note says so.
Result<ProvisionReport> ProvisionCredentials(const std::string& tokens_file,
                                             const std::string& credentials_file,
                                             const aggregates::ScenarioOptions& scenario,
                                             int64_t n_commands_ahead,
                                             const std::vector<std::string>& cpts = {});

// Reads a credentials file: a JSON object of actor -> token. FailedPrecondition when it is
// readable or writable by group or others (it holds clear tokens).
Result<Credentials> LoadCredentials(const std::string& path);

struct SimulateProgress {
  int64_t sent = 0;       // commands answered for good (one per command, whatever its retries)
  int64_t accepted = 0;   // 201
  int64_t rejected = 0;   // 409/422/403 with "outcome": "rejected" (the deciders refused it)
  int64_t unchanged = 0;  // 200 "unchanged"
  int64_t errors = 0;     // anything else: connection failures after retries, 4xx, 5xx, pending
  int64_t server_errors = 0;  // of errors: answers 500-599 (503 after its retries included)
  int64_t retries = 0;        // requests sent again with the same key
  int64_t pending = 0;        // answered 202, then looked up until decided
  int64_t no_credential = 0;  // commands skipped: their actor has no token in the credentials
  double elapsed_seconds = 0;
  double rate = 0;  // commands answered per second over the last interval (final: overall)
  double p50_ms = 0, p99_ms = 0;  // request latency, all so far (retries included)
  std::map<std::string, int64_t> rejections;  // decider rejection code -> count
  std::vector<std::string> error_samples;     // the first distinct errors, for the summary
};

struct SimulateOptions {
  std::string url = "http://127.0.0.1:8080";  // Default: a local cptsd on its default port
  Credentials credentials;                    // actor -> token (LoadCredentials)
  std::vector<std::string> cpts;              // Default: empty = DefaultSimulatedCpts()
  uint64_t seed = 1;                          // the scenario's; Default: 1, as provisioned
  std::string start;  // the scenario's clock start; Default: empty = the scenario's, as provisioned
  double rate = 50;                           // commands/s; 0 = as fast as answered. Default: 50
  int64_t commands = 0;           // stop after this many commands; 0 = no limit. Default: 0
  double duration_seconds = 0;    // stop sending after this long; 0 = no limit. Default: 0
  // With neither limit, Simulate runs until `stop` (the demo).
  int connections = 4;            // keep-alive connections, one per sender thread. Default: 4
  int max_retries = 5;            // on connection errors and 503. Default: 5
  // Called about once a second and once at the end (the final one has the overall rate).
  std::function<void(const SimulateProgress&)> progress;
  double progress_interval_seconds = 1.0;
  const std::atomic<bool>* stop = nullptr;  // set to stop early (in-flight commands finish)
};

// Sends the commands; returns the final counts. An error Status only when it cannot start
// (bad options, unknown CPTS, a URL it cannot use); what the server answers is counted.
Result<SimulateProgress> Simulate(const SimulateOptions& options);

// One line for a person: "sent 1200 (98.3/s) accepted 1187 rejected 11 ...".
std::string FormatProgress(const SimulateProgress& progress);

}  // namespace cpts::api
