#include "projections/patient_reads.h"

#include <set>

#include "events/envelope.h"
#include "events/identity.h"
#include "projections/clock.h"
#include "projections/read_models.h"

namespace cpts::projections {
namespace {

using json = ::cpts::Json;

const char* const kPatientFields[] = {"patient", "participant"};

// Calls `visit(object, field)` for every object of the answer naming a patient.
void ForEachPatientField(json& value, const std::function<void(json&, const char*)>& visit) {
  if (value.is_array()) {
    for (json& item : value) ForEachPatientField(item, visit);
    return;
  }
  if (!value.is_object()) return;
  for (const char* field : kPatientFields) {
    const auto it = value.find(field);
    if (it != value.end() && it->is_string() && !it->get_ref<const std::string&>().empty()) {
      visit(value, field);
      break;
    }
  }
  for (auto& [name, member] : value.items()) {
    if (member.is_structured()) ForEachPatientField(member, visit);
  }
}

json PageJson(const Page& page) { return {{"offset", page.offset}, {"limit", page.limit}}; }

}  // namespace

PatientReads::PatientReads(const ProjectionStore& store, AccessLog& access, ::cpts::keys::KeyStore* keys,
                           std::function<int64_t()> now_ms)
    : store_(store), models_(store), access_(access), keys_(keys), now_ms_(std::move(now_ms)) {
  if (!now_ms_) {
    now_ms_ = WallClockMs;
  }
}

Status PatientReads::AttachIdentities(const Reader& reader, const std::string& cpts,
                                      json& answer) const {
  const std::unique_ptr<StoreSnapshot> snapshot = store_.Snapshot();
  Status failed = Status::Ok();
  ForEachPatientField(answer, [&](json& object, const char* field) {
    if (!failed.ok()) return;
    const std::string patient = object[field].get<std::string>();
    const auto row_cpts = object.find("cptsid");
    const std::string in_cpts =
        row_cpts != object.end() && row_cpts->is_string() ? row_cpts->get<std::string>() : cpts;
    Result<std::optional<json>> row = snapshot->Get(keys::Key({rows::kIdentity, in_cpts, patient}));
    if (!row.ok()) {
      failed = row.status();
      return;
    }
    const char* status = "none";
    if (!row->has_value()) {
      status = "none";
    } else if ((*row)->value("erased", false)) {
      status = "erased";
    } else if (!reader.show_identity || keys_ == nullptr) {
      status = "sealed";
    } else {
      const json& sealed = (**row)["sealed"];
      Result<std::optional<events::DataKey>> key = keys_->Find(events::IdentityKeyId(sealed));
      if (!key.ok()) {
        failed = key.status();
        return;
      }
      if (!key->has_value()) {
        status = "erased";  // the key is destroyed: erased, maybe through another CPTS
      } else {
        Result<json> identity = events::OpenIdentity(sealed, patient, **key);
        if (identity.ok()) {
          object["identity"] = std::move(*identity);
          status = "open";
        } else {
          status = "unreadable";  // altered, or sealed for someone else: never shown
        }
      }
    }
    object["identity_status"] = status;
  });
  return failed;
}

Result<json> PatientReads::Deliver(const Reader& reader, const std::string& view,
                                   const std::string& cpts, json query,
                                   Result<json> answer) const {
  if (reader.user.empty() || reader.role.empty() || reader.purpose.empty()) {
    return Status::InvalidArgument(
        "a read of patient-level data needs who reads (user), in which role, and why (purpose): "
        "each is recorded in the access trace");
  }
  if (!answer.ok()) return answer;
  CPTS_RETURN_IF_ERROR(AttachIdentities(reader, cpts, *answer));

  std::set<std::string> patients;
  ForEachPatientField(*answer, [&](json& object, const char* field) {
    patients.insert(object[field].get<std::string>());
  });
  AccessTrace trace{
      .trace_id = NewTraceId(),
      .at = events::FormatEventTime(std::chrono::system_clock::time_point(
          std::chrono::milliseconds(now_ms_()))),
      .user = reader.user,
      .role = reader.role,
      .purpose = reader.purpose,
      .view = view,
      .cptsid = cpts,
      .patients = {patients.begin(), patients.end()},
      .query = std::move(query),
      .identities = reader.show_identity && keys_ != nullptr,
  };
  CPTS_RETURN_IF_ERROR(access_.Append(trace));
  return answer;
}

Result<json> PatientReads::AccessQueue(const Reader& reader, const std::string& cpts,
                                       const Page& page) const {
  return Deliver(reader, "access_queue", cpts, {{"page", PageJson(page)}},
                 models_.AccessQueue(cpts, page));
}

Result<json> PatientReads::Referrals(const Reader& reader, const std::string& cpts,
                                     const std::optional<std::string>& status,
                                     const Page& page) const {
  json query = {{"page", PageJson(page)}};
  if (status) query["status"] = *status;
  return Deliver(reader, "referrals", cpts, std::move(query),
                 models_.Referrals(cpts, status, page));
}

Result<json> PatientReads::Handoff(const Reader& reader, const std::string& cpts,
                                   const HandoffFilter& filter, int64_t clock_ms,
                                   const Page& page) const {
  json query = {{"page", PageJson(page)}, {"clock_ms", clock_ms}};
  if (filter.status) query["status"] = *filter.status;
  if (filter.finess) query["finess"] = *filter.finess;
  if (filter.professional) query["professional"] = *filter.professional;
  if (filter.from_ms) query["from_ms"] = *filter.from_ms;
  if (filter.until_ms) query["until_ms"] = *filter.until_ms;
  return Deliver(reader, "handoff", cpts, std::move(query),
                 models_.Handoff(cpts, filter, clock_ms, page));
}

Result<json> PatientReads::Worklist(const Reader& reader, const std::string& professional,
                                    int64_t clock_ms, bool include_closed,
                                    const Page& page) const {
  json query = {{"page", PageJson(page)},
                {"clock_ms", clock_ms},
                {"professional", professional},
                {"include_closed", include_closed}};
  return Deliver(reader, "worklist", "", std::move(query),
                 models_.Worklist(professional, clock_ms, include_closed, page));
}

Result<json> PatientReads::Snp(const Reader& reader, const std::string& cpts,
                               const std::optional<std::string>& status, int64_t clock_ms,
                               const Page& page) const {
  json query = {{"page", PageJson(page)}, {"clock_ms", clock_ms}};
  if (status) query["status"] = *status;
  return Deliver(reader, "snp", cpts, std::move(query), models_.Snp(cpts, status, clock_ms, page));
}

}  // namespace cpts::projections
