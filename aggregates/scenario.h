#pragma once
// Scenario: a realistic, deterministic (seeded) stream of CPTS activity as commands, for the
// projection benchmark, tests, and tools that play a territory's life against a running system.
//
// N CPTS (30 by default: the seeds' territories and plausible neighbours, mostly in
// Bourgogne-Franche-Comté, of all four ACI size categories) live on a simulated clock, each with
// a territory of INSEE communes and activity proportional to its population: registration and
// ACI, members joining, leaving and changing details, GPs declaring capacity, patients without
// a médecin traitant registered and referred, hospital stays and discharges followed up by city
// professionals, unscheduled-care requests, prevention campaigns with their participations.
// Time follows the week (office hours for coordinators, surgery hours for professionals,
// discharges at any hour, fewer at weekends) in Europe/Paris local time.
//
// Contract:
//   - Next() returns commands in simulated-time order across all CPTS (timestamps never
//     decrease; ties keep a fixed order). The sequence is endless and depends only on the
//     options: the same options give the same commands, byte for byte, on one platform.
//   - Each command passes DecodeCommand once encoded, and its actor is one the deciders allow
//     (the CPTS's coordinator, the hospital for its own FINESS, the professional for their own
//     follow-ups and answers, an admin or a system for registration and imports).
//   - Decided in order on the CPTS's stream, almost every command is accepted. About 1% is
//     refused on purpose, the way real senders get refused (a GP's last unit of capacity taken
//     by an earlier acceptance, a follow-up acknowledged after the hospital cancelled the
//     discharge, a paper form entered after the campaign closed), and a few repeat what is
//     already known (an HL7 retry of a discharge), which changes nothing.
//   - Patients appear as pseudonyms: HMAC of a valid, made-up NIR under options.secret, as
//     events/pseudonym.h computes them. The optional identity blocks are never filled.
//     With options.clear_patients, the same commands name patients as a sender outside the
//     system does instead: by INS in clear ("patient_ins", "participant_ins": the made-up NIR)
//     with a made-up clear identity block wherever the command type allows one, for an edge
//     (connectors/patient_edge.h) to pseudonymise and seal. Only that naming differs: sealed by
//     PatientEdge under the same secret, they are the pseudonymous commands plus the identity
//     blocks, and the sequence is otherwise the same.
//   - Memory follows what is in progress: finished stories (a request assigned, a follow-up
//     completed, a campaign closed) are forgotten; only the members ever seen accumulate.
// Thread-safety: none; one thread drives a Scenario. Pure: no I/O, no wall clock.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "aggregates/command.h"
#include "events/status.h"

namespace cpts::aggregates {

struct ScenarioOptions {
  // How many CPTS. The first 30 are a fixed catalogue; beyond it, generated territories in other
  // regions. Default: 30.
  int cpts = 30;
  // Default: 1.
  uint64_t seed = 1;
  // The simulated clock's start, RFC 3339 ("2026-01-05T07:00:00Z" or with an offset).
  // Default: "2026-01-05T07:00:00Z" (a Monday, 08:00 in Paris).
  std::string start = "2026-01-05T07:00:00Z";
  // The pseudonymisation key (at least 32 bytes), as a deployment's would be. Default: a fixed
  // demo secret, never for production.
  std::string secret = "cpts-scenario-demo-secret-not-for-production";
  // Patients by INS in clear, with a clear identity (see the contract above), for tools that
  // send the commands through an edge that pseudonymises them (cpts simulate, cptsd --demo).
  // Default: false (pseudonyms, no identity).
  bool clear_patients = false;
};

// One CPTS of the scenario, as registered.
struct ScenarioCpts {
  std::string id;  // the stream: "cpts-haut-doubs"
  std::string name;
  std::string region;  // INSEE region code
  int64_t population = 0;
  std::vector<std::string> territory;  // INSEE commune codes
};

struct ScenarioCommand {
  Command command;
  int64_t timestamp_ms = 0;  // when it enters the log (ms since the epoch, UTC): its events' time
};

class Scenario {
 public:
  // Fails on options out of range (cpts outside 1-1000, an unreadable start, a short secret).
  static Result<Scenario> Create(const ScenarioOptions& options);

  Scenario(Scenario&&) noexcept;
  Scenario& operator=(Scenario&&) noexcept;
  ~Scenario();

  // The next command in simulated-time order, across all CPTS.
  ScenarioCommand Next();

  // The CPTS, in catalogue order; ids are distinct.
  const std::vector<ScenarioCpts>& cpts() const;
  const std::vector<std::string>& cpts_ids() const;

 private:
  class Impl;
  explicit Scenario(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cpts::aggregates
