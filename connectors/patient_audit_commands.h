#pragma once
// The patient-level auditor subcommands of the `cpts` tool, under `cpts audit`:
//   cpts audit history --patient P | --ins NIR   every event and every access trace about one
//                                                patient, in time order, as JSON lines (the
//                                                person's right of access, RGPD art. 15)
//   cpts audit access --patient P | --user U     the access traces of a patient or of a user
// Both read patient-level data, so both leave an access trace themselves (--purpose).
// Register after AuditCommands, which creates the `audit` group.

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>

namespace cpts {

class PatientAuditCommands {
 public:
  explicit PatientAuditCommands(CLI::App& app);
  ~PatientAuditCommands();
  std::optional<int> RunParsed();

  struct Flags;  // the parsed flags, defined in the .cc

 private:
  std::unique_ptr<Flags> flags_;
};

}  // namespace cpts
