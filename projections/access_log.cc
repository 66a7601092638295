#include "projections/access_log.h"


#include "events/encoding.h"
#include "events/envelope.h"
#include "events/json_input.h"
#include "events/topics.h"

namespace cpts::projections {

using json = ::cpts::Json;

std::string NewTraceId() { return events::RandomHex(16); }

json AccessTrace::ToJson() const {
  json out = {{"trace_id", trace_id}, {"at", at},     {"user", user},
              {"role", role},         {"purpose", purpose}, {"view", view},
              {"cptsid", cptsid},     {"patients", patients}, {"query", query},
              {"identities", identities}};
  return out;
}

Result<AccessTrace> AccessTrace::FromJson(std::string_view bytes) {
  Result<json> parsed = events::ParseStrictJson(bytes, "access trace");
  if (!parsed.ok()) return Status::Corruption(parsed.status().message());
  const json& j = *parsed;
  AccessTrace t;
  try {
    t.trace_id = j.at("trace_id").get<std::string>();
    t.at = j.at("at").get<std::string>();
    t.user = j.at("user").get<std::string>();
    t.role = j.at("role").get<std::string>();
    t.purpose = j.at("purpose").get<std::string>();
    t.view = j.at("view").get<std::string>();
    t.cptsid = j.at("cptsid").get<std::string>();
    t.patients = j.at("patients").get<std::vector<std::string>>();
    t.query = j.at("query");
    t.identities = j.at("identities").get<bool>();
  } catch (const json::exception& e) {
    return Status::Corruption(std::string("access trace: ") + e.what());
  }
  return t;
}

Status AccessLog::Append(const AccessTrace& trace) {
  // Keyed like the events of the CPTS read, so one CPTS's traces keep their order; a
  // cross-CPTS read goes with its reader's other traces.
  const log::Record record{.key = trace.cptsid.empty() ? trace.user : trace.cptsid,
                           .value = events::CanonicalJson(trace.ToJson())};
  Result<std::vector<log::Position>> appended =
      log_.Append(topics::kAccess, std::span<const log::Record>(&record, 1));
  if (!appended.ok()) {
    return Status::Unavailable("the access trace could not be recorded, so the read is refused: " +
                               appended.status().ToString());
  }
  return Status::Ok();
}

Status AccessLog::Scan(const std::function<bool(const AccessTrace&)>& visit) const {
  Status failed = Status::Ok();
  Status status = log::ForEachRecord(log_, topics::kAccess, [&](const log::StoredRecord& r) {
    Result<AccessTrace> trace = AccessTrace::FromJson(r.value);
    if (!trace.ok()) {
      failed = Status::Corruption("access topic, partition " + std::to_string(r.partition.value()) +
                                  " offset " + std::to_string(r.offset.value()) + ": " +
                                  trace.status().message());
      return false;
    }
    return visit(*trace);
  });
  CPTS_RETURN_IF_ERROR(status);
  return failed;
}

}  // namespace cpts::projections
