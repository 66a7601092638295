#pragma once
// A deterministic command workload for pipeline tests and benchmarks: several CPTS, each
// registered, with members, GPs declaring small capacities, patients referred to GPs (more
// referrals than capacity, so acceptances race for the last unit), hospital discharges followed
// up by nurses, and prevention campaigns. Every command is meant to get exactly one outcome
// event (accepted or rejected): none is a repeat that would change nothing.
// Thread-safety: pure function.

#include <cstdint>
#include <vector>

#include "aggregates/command.h"

namespace cpts::test {

struct WorkloadOptions {
  int cpts = 20;
  int commands = 50'000;  // total, across all CPTS (a little more: each CPTS's set-up is whole)
  uint64_t seed = 42;
};

// Commands in a valid order per CPTS, the CPTS interleaved at random (seeded).
std::vector<aggregates::Command> GenerateWorkload(const WorkloadOptions& options);

// The acceptances that race for a GP's last unit of capacity: a test may send them from
// another sender, concurrently with the rest.
bool IsCapacityRace(const aggregates::Command& command);

// The CPTS id of workload stream `index`.
std::string WorkloadCptsId(int index);

}  // namespace cpts::test
