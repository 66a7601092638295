#pragma once
// The subcommands of the `cpts` tool that talk to a running cptsd's tokens and API:
//   cpts simulate provision   makes a token per actor of the simulated traffic (tokens file for
//                             cptsd, credentials file for the simulator), before cptsd starts
//   cpts simulate             sends realistic traffic through the HTTP API (api/simulate.h),
//                             a progress line about once a second on stderr, a summary on stdout
//   cpts token add            adds one token to a tokens file and prints it, once, on stdout
// Bad flags (a value out of range, a missing or conflicting flag) exit 2 with a message saying
// what to give; a failure while running exits 1.

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>

namespace cpts {

class SimulateCommands {
 public:
  explicit SimulateCommands(CLI::App& app);
  ~SimulateCommands();
  // The exit status of the subcommand that ran, or nullopt when none of these was parsed.
  std::optional<int> RunParsed();

  struct Flags;  // the parsed flags, defined in the .cc

 private:
  std::unique_ptr<Flags> flags_;
};

}  // namespace cpts
