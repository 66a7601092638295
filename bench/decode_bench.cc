// cpts-decode-bench: nanoseconds per events::Decode (events/codec.h) of one stored event, for a
// few representative types, min/median/max over --runs passes. Decode runs once per event on
// every replay and projection rebuild, so its cost bounds how fast a read model can catch up
// (docs/events.md, "Verifying a stream"). Each pass decodes the same stored bytes --iterations
// times and checks every result: a benchmark that times a failing Decode measures an error path.
// Time is the thread's CPU time, not the wall clock: on a shared build machine other processes
// would otherwise inflate the numbers; single-threaded and CPU-bound, the two agree when idle.

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "events/codec.h"
#include "tests/events/samples.h"

namespace cpts::bench {
namespace {

// CPU time of the calling thread, in nanoseconds.
double ThreadCpuNanos() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec);
}

struct BenchOptions {
  // Timed passes per type; the table shows min / median / max. Default: 5.
  int runs = 5;
  // Decode calls per pass. Default: 20,000.
  int iterations = 20'000;
};

// A typical day's mix: the most frequent facts (discharges, referrals, follow-ups) plus one with
// an object list, one with an encrypted identity block and one stored as v1 then upcast.
constexpr std::string_view kTypes[] = {
    "fr.cpts.discharge.notified.v1",        "fr.cpts.access.referral_issued.v1",
    "fr.cpts.followup.assigned.v1",         "fr.cpts.membership.member_joined.v1",
    "fr.cpts.cpts.registered.v1",           "fr.cpts.prevention.participation_recorded.v1",
    "fr.cpts.access.patient_registered.v1",  // stored as v1: parsed, validated, upcast to v2
};

// Nanoseconds per Decode of `bytes` over one pass, or a negative value when a Decode failed.
double TimePass(const std::string& bytes, int iterations) {
  size_t checksum = 0;  // keeps the compiler from dropping the decoded events
  const double start = ThreadCpuNanos();
  for (int i = 0; i < iterations; ++i) {
    const Result<events::DecodedEvent> decoded = events::Decode(bytes);
    if (!decoded.ok()) {
      std::fprintf(stderr, "Decode failed: %s\n", decoded.status().ToString().c_str());
      return -1;
    }
    checksum += decoded->hash.size();
  }
  const double elapsed = ThreadCpuNanos() - start;
  if (checksum != static_cast<size_t>(iterations) * 64) return -1;
  return elapsed / iterations;
}

int Main(int argc, char** argv) {
  BenchOptions options;
  CLI::App app{"Nanoseconds per events::Decode of one stored event, by type (min/median/max)."};
  app.add_option("--runs", options.runs, "timed passes per type")->check(CLI::Range(1, 1000));
  app.add_option("--iterations", options.iterations, "Decode calls per pass")
      ->check(CLI::Range(1, 100'000'000));
  CLI11_PARSE(app, argc, argv);

  std::printf("environment: nproc %ld, build %s; %d passes of %d Decode calls per type, in thread "
              "CPU time\n",
              sysconf(_SC_NPROCESSORS_ONLN), CPTS_BUILD_TYPE, options.runs, options.iterations);
  std::printf("%-46s %7s %9s %9s %9s\n", "type (as stored)", "bytes", "min ns", "median ns",
              "max ns");
  for (const std::string_view type : kTypes) {
    // sequence 2 so the id and prevhash checks take the general path, not the genesis one.
    const std::string bytes = events::Encode(
        events::testing::SampleEnvelope(type, 2, events::Sha256Hex("previous event")));
    (void)TimePass(bytes, std::max(1, options.iterations / 10));  // warm caches and the allocator
    std::vector<double> ns;
    for (int run = 0; run < options.runs; ++run) {
      ns.push_back(TimePass(bytes, options.iterations));
      if (ns.back() < 0) {
        std::fprintf(stderr, "%.*s: Decode failed, no timing\n", static_cast<int>(type.size()),
                     type.data());
        return 1;
      }
    }
    std::sort(ns.begin(), ns.end());
    std::printf("%-46.*s %7zu %9.0f %9.0f %9.0f\n", static_cast<int>(type.size()), type.data(),
                bytes.size(), ns.front(), ns[ns.size() / 2], ns.back());
  }
  return 0;
}

}  // namespace
}  // namespace cpts::bench

int main(int argc, char** argv) { return cpts::bench::Main(argc, argv); }
