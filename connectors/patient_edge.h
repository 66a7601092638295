#pragma once
// The edge where patient data enters (ARCHITECTURE.md, 7): what people and hospitals send is
// turned into command data fit for the log before anything is written, so no NIR and no clear
// identity ever reaches the commands topic, the events topic, a read model or a log line.
//   - A patient named by INS/NIR ("patient_ins", "participant_ins") becomes their keyed
//     pseudonym ("patient", "participant"; events/pseudonym.h).
//   - A clear identity ("identity": {"family_name": ..., "phone": ...}) is checked and sealed
//     under the patient's data key (events/identity.h), created in the key store when needed.
//   - Erasure destroys the patient's keys first; the `patient.erase` command then records it.
// Every connector (the `cpts` tool, the HTTP API, HL7) goes through PatientEdge.
// Thread-safety: thread-safe when the key store is.

#include <string>
#include <string_view>

#include "events/json.h"
#include "events/key_store.h"
#include "events/status.h"

namespace cpts {

class PatientEdge {
 public:
  // `pseudonym_secret`: at least 32 bytes (connectors/health_secrets.h).
  PatientEdge(std::string pseudonym_secret, keys::KeyStore& keys)
      : secret_(std::move(pseudonym_secret)), keys_(keys) {}

  // The command's data as the log may hold it. Messages name the field ("data.patient_ins: ...")
  // and never show its value.
  Result<::cpts::Json> Seal(std::string_view command_type, ::cpts::Json data) const;

  // The pseudonym of a NIR/INS (events::PatientPseudonym under this edge's secret).
  Result<std::string> Pseudonym(std::string_view nir) const;

  // Right to erasure: destroys every data key of the patient, so every identity block sealed for
  // them stops opening, in every replay. Returns how many keys were destroyed (0 when erased
  // already or never given an identity: erasure is idempotent).
  Result<int> DestroyKeys(std::string_view patient) const;

 private:
  std::string secret_;
  keys::KeyStore& keys_;
};

}  // namespace cpts
