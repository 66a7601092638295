#pragma once
// The subcommands of the `cpts` tool that send commands through the patient edge
// (connectors/patient_edge.h), so that NIRs are pseudonymised and identities sealed before
// anything reaches the log:
//   cpts secrets init FILE   writes a new secrets file (pseudonym secret, master key), mode 0600
//   cpts submit              sends commands from a JSON-lines file (or stdin), optionally decides them
//   cpts patient erase       destroys a patient's keys, then records the erasure in the CPTS

#include <CLI/CLI.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "aggregates/command_processor.h"
#include "events/log.h"

namespace cpts {

class SubmitCommands {
 public:
  explicit SubmitCommands(CLI::App& app);
  ~SubmitCommands();
  // The exit status of the subcommand that ran, or nullopt when none of these was parsed.
  std::optional<int> RunParsed();

  struct Flags;  // the parsed flags, defined in the .cc

 private:
  std::unique_ptr<Flags> flags_;
};

// Decides the commands waiting on the log here, as a member of the decider group, until this
// member's partitions are decided to their end or `timeout` passes (the daemon decides
// continuously; tools that send commands use this to see their outcome at once).
// *caught_up tells whether it got to the end.
Result<aggregates::ProcessorStats> DecideWaitingCommands(log::Log& log, const std::string& name,
                                                         std::chrono::seconds timeout,
                                                         bool* caught_up);

}  // namespace cpts
