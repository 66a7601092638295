#pragma once
// The auditor subcommands of the `cpts` tool (docs/audit.md):
//   cpts audit verify   checks every stream's hash chain on the log (or an export, offline)
//   cpts audit export   writes a time window of the log as CloudEvents JSON lines + a manifest
//   cpts audit replay   builds the read models as of a past time or position, into a new directory
//
// Exit statuses: 0 done (verify: intact), 1 verification failed or the work could not be done
// (the message says which), 2 a usage error (the message names the flag).

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>

namespace cpts {

class AuditCommands {
 public:
  explicit AuditCommands(CLI::App& app);
  ~AuditCommands();
  // The exit status of the subcommand that ran, or nullopt when none of these was parsed.
  std::optional<int> RunParsed();

 private:
  struct Flags;
  std::unique_ptr<Flags> flags_;
};

}  // namespace cpts
