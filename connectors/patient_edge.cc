#include "connectors/patient_edge.h"

#include "aggregates/command.h"
#include "events/identity.h"
#include "events/pseudonym.h"

namespace cpts {
namespace {

using json = ::cpts::Json;

Status Fail(const std::string& field, const std::string& what) {
  return Status::InvalidArgument("data." + field + ": " + what);
}

}  // namespace

Result<std::string> PatientEdge::Pseudonym(std::string_view nir) const {
  return events::PatientPseudonym(nir, secret_);
}

Result<json> PatientEdge::Seal(std::string_view command_type, json data) const {
  if (!data.is_object()) return Status::InvalidArgument("data: is not a JSON object");
  const events::EventTypeSpec* spec = aggregates::FindCommandType(command_type);
  // An unknown type is the command decoder's to refuse, with the list of known types.
  if (spec == nullptr) return data;

  std::string patient_field;  // the field naming the patient the identity belongs to
  for (const events::FieldSpec& field : spec->fields) {
    if (field.kind != events::FieldKind::kPatientPseudonym) continue;
    const std::string name(field.name);
    if (patient_field.empty()) patient_field = name;
    const std::string ins_name = name + "_ins";
    const auto ins = data.find(ins_name);
    if (ins == data.end()) continue;
    if (data.contains(name)) {
      return Fail(ins_name, "give the patient once: either " + name + " (the pseudonym) or " +
                                ins_name + " (the INS), not both");
    }
    if (!ins->is_string()) return Fail(ins_name, "is not a string (the INS: 15 characters)");
    Result<std::string> pseudonym = Pseudonym(ins->get_ref<const std::string&>());
    if (!pseudonym.ok()) return Fail(ins_name, "is not a valid INS/NIR (15 characters, key mod 97)");
    data.erase(ins);
    data[name] = std::move(*pseudonym);
  }

  const auto identity = data.find("identity");
  if (identity == data.end()) return data;
  if (patient_field.empty()) {
    return Fail("identity", "this command carries no patient, so no identity");
  }
  if (identity->is_object() && (identity->contains("ciphertext") || identity->contains("alg"))) {
    return Fail("identity", "send the person's identity in clear (over TLS): the service seals it");
  }
  if (Status valid = events::ValidateClearIdentity(*identity); !valid.ok()) {
    return Status::InvalidArgument("data." + valid.message());
  }
  const auto patient = data.find(patient_field);
  if (patient == data.end() || !patient->is_string()) {
    return Fail("identity", "only with the patient it belongs to (" + patient_field + " or " +
                                patient_field + "_ins)");
  }
  const std::string pseudonym = patient->get<std::string>();
  Result<events::DataKey> key = keys_.KeyFor(pseudonym);
  if (!key.ok()) return key.status();
  Result<json> sealed = events::SealIdentity(*identity, pseudonym, *key);
  if (!sealed.ok()) return sealed.status();
  *identity = std::move(*sealed);
  return data;
}

Result<int> PatientEdge::DestroyKeys(std::string_view patient) const {
  return keys_.Destroy(patient);
}

}  // namespace cpts
