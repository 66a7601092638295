#pragma once
// The read-model subcommands of the `cpts` tool:
//   cpts project   brings the read models under <data-dir>/projections up to date (or follows)
//   cpts rebuild   rebuilds them from the start of the log and swaps them in
//   cpts replay    builds them as of a past time or position into their own directory
//   cpts digest    prints the digest of a read-model directory and its positions
//   cpts query     prints one view (handoff, worklist, indicators...) as JSON

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>

namespace cpts {

class ProjectionCommands {
 public:
  explicit ProjectionCommands(CLI::App& app);
  ~ProjectionCommands();
  // The exit status of the subcommand that ran, or nullopt when none of these was parsed.
  std::optional<int> RunParsed();

 private:
  struct Flags;
  std::unique_ptr<Flags> flags_;
};

}  // namespace cpts
