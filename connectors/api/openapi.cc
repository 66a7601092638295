#include "connectors/api/openapi.h"

#include <cctype>
#include <map>

#include "aggregates/command.h"
#include "connectors/api/auth.h"
#include "events/catalogue.h"
#include "projections/queries.h"

namespace cpts::api {
namespace {

using json = ::cpts::Json;

// --- The table --------------------------------------------------------------------------------

ParamDoc Text(std::string_view name, std::string_view description) {
  return {.name = name, .kind = ParamKind::kString, .description = description};
}
ParamDoc Enum(std::string_view name, std::string_view description,
              std::vector<std::string_view> values) {
  return {.name = name,
          .kind = ParamKind::kEnum,
          .description = description,
          .values = std::move(values)};
}
ParamDoc Flag(std::string_view name, std::string_view description) {
  return {.name = name, .kind = ParamKind::kBoolean, .description = description};
}
ParamDoc Time(std::string_view name, std::string_view description) {
  return {.name = name, .kind = ParamKind::kTime, .description = description};
}
const ParamDoc kAt =
    Time("at", "The clock deadlines are counted against (RFC 3339). Default: now.");

struct QueryDecl {
  std::string_view view, pattern, summary;
  std::vector<ParamDoc> query;
  bool paged = false;
};

RouteDoc QueryRoute(QueryDecl d) {
  RouteDoc route{.method = "GET",
                 .pattern = std::string(d.pattern),
                 .group = RouteGroup::kQueries,
                 .view = std::string(d.view),
                 .summary = std::string(d.summary),
                 .query = std::move(d.query)};
  if (d.paged) {
    route.query.push_back({.name = "offset",
                           .kind = ParamKind::kInteger,
                           .description = "Items to skip. Default: 0."});
    route.query.push_back({.name = "limit",
                           .kind = ParamKind::kInteger,
                           .description = "Items to return. Default: 50.",
                           .min = 1,
                           .max = static_cast<int64_t>(projections::kMaxPageLimit)});
  }
  route.query.push_back(
      {.name = "position",
       .kind = ParamKind::kPositions,
       .description = "A command answer's \"position\" (\"partition:offset,...\"): wait until the "
                      "read models hold that event before reading (read-your-writes); 504 "
                      "timed_out when they do not within read_your_writes_wait_ms."});
  return route;
}

std::vector<RouteDoc> BuildTable() {
  std::vector<RouteDoc> routes;
  auto operation = [&](std::string pattern, std::string summary) {
    routes.push_back({.method = "GET",
                      .pattern = std::move(pattern),
                      .group = RouteGroup::kOperations,
                      .summary = std::move(summary)});
  };
  operation("/healthz", "Liveness: the process answers.");
  operation("/readyz", "Readiness: the read models caught up with the log and the decider runs.");
  operation("/metrics", "Prometheus metrics (text format 0.0.4).");
  operation("/openapi.json", "This document.");

  for (const events::EventTypeSpec& spec : aggregates::CommandTypes()) {
    routes.push_back({.method = "POST",
                      .pattern = "/v1/cpts/:cpts/commands/" + std::string(spec.type),
                      .group = RouteGroup::kCommands,
                      .command_type = std::string(spec.type),
                      .summary = std::string(spec.description)});
  }
  routes.push_back({.method = "GET",
                    .pattern = "/v1/cpts/:cpts/commands/:command_id",
                    .group = RouteGroup::kCommands,
                    .summary = "What a command became, once decided (for a 202 answer)."});

  const std::vector<QueryDecl> queries = {
      {"list",
       "/v1/cpts",
       "The CPTS known, with their size category.",
       {Text("region", "Only the CPTS of this region.")}},
      {"cpts", "/v1/cpts/:cpts", "One CPTS: its registration and size category."},
      {"roster",
       "/v1/cpts/:cpts/roster",
       "Membership roster: counts by profession, commune, collège, practice mode; the members.",
       {Text("profession", "Only members of this profession."),
        Text("commune", "Only members in this INSEE commune."),
        Text("college", "Only members of this collège."),
        Text("practice_mode", "Only members with this practice mode."),
        Text("member_kind", "Only members of this kind."),
        Flag("include_left", "Members who left too. Default: false.")},
       true},
      {"roster-history", "/v1/cpts/:cpts/roster/history",
       "Joins and leaves per month (Paris time)."},
      {"gps", "/v1/cpts/:cpts/gps", "GPs with capacity for new patients."},
      {"queue", "/v1/cpts/:cpts/queue", "Patients waiting for a médecin traitant.", {}, true},
      {"referrals",
       "/v1/cpts/:cpts/referrals",
       "Referrals of waiting patients to GPs.",
       {Enum("status", "Only referrals in this state.",
             {"pending", "accepted", "declined", "voided"})},
       true},
      {"access", "/v1/cpts/:cpts/access", "Access to a médecin traitant: the summary."},
      {"handoff",
       "/v1/cpts/:cpts/handoff",
       "Ville-hôpital: every discharge with its follow-ups and deadlines, overdue first.",
       {Enum("status", "Only discharges in this state.",
             {"overdue", "pending", "done", "cancelled", "not_applicable"}),
        Text("finess", "Only discharges from this hospital (FINESS)."),
        Text("professional", "Only discharges with a follow-up by this professional."),
        Time("from", "Discharged at or after this instant."),
        Time("until", "Discharged before this instant."), kAt},
       true},
      {"worklist",
       "/v1/professionals/:professional/worklist",
       "A professional's follow-ups of discharged patients, across CPTS.",
       {kAt, Flag("include_closed", "Closed follow-ups too. Default: false.")},
       true},
      {"snp",
       "/v1/cpts/:cpts/snp",
       "Unscheduled care requests and the share handled within 48 h.",
       {Enum("status", "Only requests in this state.",
             {"open", "slot_offered", "given", "redirected"}),
        kAt},
       true},
      {"campaigns", "/v1/cpts/:cpts/campaigns", "Prevention campaigns."},
      {"campaign", "/v1/cpts/:cpts/campaigns/:campaign",
       "One campaign: participations by site and by day, rate against the target."},
      {"indicators", "/v1/cpts/:cpts/indicators", "The CPTS indicators.", {kAt}},
      {"region",
       "/v1/regions/:region/indicators",
       "The indicators rolled up over a region.",
       {kAt}},
  };
  for (const QueryDecl& q : queries) routes.push_back(QueryRoute(q));

  routes.push_back({.method = "GET",
                    .pattern = "/v1/cpts/:cpts/feed",
                    .group = RouteGroup::kFeed,
                    .view = "feed",
                    .summary = "The CPTS's live feed of events (Server-Sent Events)."});
  return routes;
}

// --- The document -----------------------------------------------------------------------------

const char* GroupTag(RouteGroup group) {
  switch (group) {
    case RouteGroup::kOperations:
      return "operations";
    case RouteGroup::kCommands:
      return "commands";
    case RouteGroup::kQueries:
      return "queries";
    case RouteGroup::kFeed:
      return "feed";
  }
  return "operations";
}

json Ref(std::string_view kind, std::string_view name) {
  return {{"$ref", "#/components/" + std::string(kind) + "/" + std::string(name)}};
}

// "/v1/cpts/:cpts/handoff" -> "/v1/cpts/{cpts}/handoff", and the parameter names in order.
std::string OpenApiPath(const std::string& pattern, std::vector<std::string>* params) {
  std::string path;
  size_t start = 0;
  while (start < pattern.size()) {
    size_t end = pattern.find('/', start + 1);
    if (end == std::string::npos) end = pattern.size();
    const std::string segment = pattern.substr(start, end - start);  // "/name" or "/:param"
    if (segment.size() > 1 && segment[1] == ':') {
      params->push_back(segment.substr(2));
      path += "/{" + segment.substr(2) + "}";
    } else {
      path += segment;
    }
    start = end;
  }
  return path;
}

json PathParameter(const std::string& name) {
  static const std::map<std::string, std::pair<std::string, std::string>> kPathParams = {
      {"cpts", {"The CPTS id (cpts-<letters, digits, ->).", "^cpts-[a-z0-9-]+$"}},
      {"professional",
       {"rpps:<11 digits> or adeli:<9 digits>.", "^(rpps:[0-9]{11}|adeli:[0-9]{9})$"}},
      {"region", {"The region's INSEE code.", ""}},
      {"campaign", {"The campaign id.", ""}},
      {"command_id", {"The command id of a 202 answer.", ""}},
  };
  const auto it = kPathParams.find(name);
  json schema = {{"type", "string"}};
  json parameter = {{"name", name}, {"in", "path"}, {"required", true}};
  if (it != kPathParams.end()) {
    parameter["description"] = it->second.first;
    if (!it->second.second.empty()) schema["pattern"] = it->second.second;
  }
  parameter["schema"] = schema;
  return parameter;
}

json ParamSchema(const ParamDoc& p) {
  switch (p.kind) {
    case ParamKind::kString:
      return {{"type", "string"}, {"minLength", 1}};
    case ParamKind::kEnum:
      return {{"type", "string"}, {"enum", p.values}};
    case ParamKind::kInteger:
      return {{"type", "integer"}, {"minimum", p.min}, {"maximum", p.max}};
    case ParamKind::kBoolean:
      return {{"type", "boolean"}};
    case ParamKind::kTime:
      return {{"type", "string"}, {"format", "date-time"}};
    case ParamKind::kPositions:
      return {{"type", "string"}, {"pattern", "^[0-9]+:[0-9]+(,[0-9]+:[0-9]+)*$"}};
  }
  return {{"type", "string"}};
}

json HeaderParameter(std::string_view name, std::string_view description, json schema) {
  return {{"name", name},
          {"in", "header"},
          {"required", false},
          {"description", description},
          {"schema", std::move(schema)}};
}

constexpr std::string_view kInsPattern = "^[1-478][0-9]{4}(2[AaBb]|[0-9]{2})[0-9]{8}$";

// The JSON Schema of a command field (events/catalogue.h FieldKind), as the API takes it.
json FieldSchema(const events::FieldSpec& f) {
  const auto list = [&](json items) {
    return json{{"type", "array"},
                {"items", std::move(items)},
                {"uniqueItems", true},
                {"minItems", f.min_items}};
  };
  const json text = {{"type", "string"}, {"minLength", 1}, {"maxLength", f.max_length}};
  const json commune = {{"type", "string"}, {"pattern", "^([0-9]{2}|2A|2B)[0-9]{3}$"}};
  switch (f.kind) {
    case events::FieldKind::kString:
      return text;
    case events::FieldKind::kInteger: {
      json schema = {{"type", "integer"}, {"format", "int64"}, {"minimum", f.min}};
      if (f.max != std::numeric_limits<int64_t>::max()) schema["maximum"] = f.max;
      return schema;
    }
    case events::FieldKind::kBoolean:
      return {{"type", "boolean"}};
    case events::FieldKind::kTimestamp:
      return {{"type", "string"}, {"format", "date-time"}};
    case events::FieldKind::kDate:
      return {{"type", "string"}, {"format", "date"}};
    case events::FieldKind::kEnum:
      return {{"type", "string"}, {"enum", f.values}};
    case events::FieldKind::kEnumList:
      return list({{"type", "string"}, {"enum", f.values}});
    case events::FieldKind::kStringList:
      return list(text);
    case events::FieldKind::kRpps:
      return {{"type", "string"}, {"pattern", "^[0-9]{11}$"}, {"description", "RPPS (Luhn)."}};
    case events::FieldKind::kAdeli:
      return {{"type", "string"}, {"pattern", "^[0-9]{9}$"}, {"description", "ADELI (Luhn)."}};
    case events::FieldKind::kFiness:
      return {{"type", "string"},
              {"pattern", "^(2A|2B|[0-9]{2})[0-9]{7}$"},
              {"description", "FINESS (Luhn)."}};
    case events::FieldKind::kInseeCommune:
      return commune;
    case events::FieldKind::kInseeCommuneList:
      return list(commune);
    case events::FieldKind::kMemberId:
      return {{"type", "string"},
              {"pattern",
               "^(rpps:[0-9]{11}|adeli:[0-9]{9}|finess:(2A|2B|[0-9]{2})[0-9]{7}|siren:[0-9]{9})$"}};
    case events::FieldKind::kProfessionalId:
      return {{"type", "string"}, {"pattern", "^(rpps:[0-9]{11}|adeli:[0-9]{9})$"}};
    case events::FieldKind::kPatientPseudonym:
      return {{"type", "string"},
              {"pattern", "^[0-9a-f]{64}$"},
              {"description", "The patient's pseudonym; or give the INS in <name>_ins."}};
    case events::FieldKind::kEncryptedIdentity:
      return Ref("schemas", "Identity");
    case events::FieldKind::kObjectList: {
      json item = {{"type", "object"}, {"additionalProperties", false}};
      json required = json::array();
      for (const events::FieldSpec& sub : f.fields) {
        item["properties"][std::string(sub.name)] = FieldSchema(sub);
        if (sub.required) required.push_back(sub.name);
      }
      if (!required.empty()) item["required"] = required;
      return list(item);
    }
  }
  return json::object();
}

// A command's `data` as the API takes it: patients by pseudonym or INS (PatientEdge), the
// identity in clear; strict like DecodeCommand (no other field).
json CommandDataSchema(const events::EventTypeSpec& spec) {
  json schema = {
      {"type", "object"}, {"additionalProperties", false}, {"properties", json::object()}};
  if (!spec.description.empty()) schema["description"] = spec.description;
  json required = json::array();
  json one_of_each = json::array();  // a required patient: by pseudonym or by INS, not both
  for (const events::FieldSpec& f : spec.fields) {
    const std::string name(f.name);
    schema["properties"][name] = FieldSchema(f);
    if (f.kind == events::FieldKind::kPatientPseudonym) {
      schema["properties"][name + "_ins"] = {
          {"type", "string"},
          {"pattern", kInsPattern},
          {"description", "The patient's INS/NIR (15 characters): pseudonymised on arrival."}};
      if (f.required) {
        one_of_each.push_back(
            {{"oneOf", {{{"required", {name}}}, {{"required", {name + "_ins"}}}}}});
      }
      continue;
    }
    if (f.required) required.push_back(name);
  }
  if (!required.empty()) schema["required"] = required;
  if (one_of_each.size() == 1) schema["oneOf"] = one_of_each[0]["oneOf"];
  if (one_of_each.size() > 1) schema["allOf"] = one_of_each;
  return schema;
}

json Schemas() {
  json schemas;
  schemas["Error"] = {{"type", "object"},
                      {"required", {"error"}},
                      {"properties",
                       {{"error",
                         {{"type", "object"},
                          {"required", {"status", "code", "message", "request_id"}},
                          {"properties",
                           {{"status", {{"type", "integer"}}},
                            {"code", {{"type", "string"}}},
                            {"message", {{"type", "string"}}},
                            {"field",
                             {{"type", "string"},
                              {"description", "The field at fault: data.<path> or query.<key>."}}},
                            {"request_id", {{"type", "string"}}}}}}}}}};
  schemas["Event"] = {{"type", "object"},
                      {"required", {"id", "type", "sequence", "time"}},
                      {"properties",
                       {{"id", {{"type", "string"}}},
                        {"type", {{"type", "string"}}},
                        {"sequence", {{"type", "integer"}}},
                        {"time", {{"type", "string"}, {"format", "date-time"}}}}}};
  const json position = {
      {"type", "string"},
      {"description", "Pass as ?position= to a query to read this event's effects."}};
  const auto outcome = [&](const char* value, bool with_event) {
    json schema = {{"type", "object"},
                   {"required", {"outcome", "command_id"}},
                   {"properties",
                    {{"outcome", {{"type", "string"}, {"enum", {value}}}},
                     {"command_id", {{"type", "string"}}}}}};
    if (with_event) {
      schema["required"].push_back("event");
      schema["required"].push_back("position");
      schema["properties"]["event"] = Ref("schemas", "Event");
      schema["properties"]["position"] = position;
    }
    return schema;
  };
  schemas["CommandAccepted"] = outcome("accepted", true);
  schemas["CommandUnchanged"] = outcome("unchanged", false);
  schemas["CommandPending"] = outcome("pending", false);
  schemas["CommandRejected"] = outcome("rejected", true);
  schemas["CommandRejected"]["required"].push_back("error");
  schemas["CommandRejected"]["properties"]["error"] = schemas["Error"]["properties"]["error"];
  const json text = {{"type", "string"}, {"minLength", 1}};
  schemas["Identity"] = {
      {"type", "object"},
      {"description",
       "A person's identity in clear (over TLS): sealed under the patient's key on arrival."},
      {"additionalProperties", false},
      {"anyOf", {{{"required", {"family_name"}}}, {{"required", {"given_names"}}}}},
      {"properties",
       {{"family_name", text},
        {"given_names", text},
        {"birth_date", {{"type", "string"}, {"format", "date"}}},
        {"sex", {{"type", "string"}, {"enum", {"F", "M", "U"}}}},
        {"phone", text},
        {"email", text},
        {"address",
         {{"type", "object"},
          {"additionalProperties", false},
          {"properties",
           {{"line", text},
            {"postal_code", {{"type", "string"}, {"pattern", "^[0-9]{5}$"}}},
            {"city", text},
            {"commune", {{"type", "string"}, {"pattern", "^([0-9]{2}|2A|2B)[0-9]{3}$"}}}}}}}}}};
  schemas["View"] = {
      {"type", "object"},
      {"description", "A read model's answer: docs/projections.md lists its fields."}};
  for (const events::EventTypeSpec& spec : aggregates::CommandTypes()) {
    schemas["command." + std::string(spec.type)] = CommandDataSchema(spec);
  }
  return schemas;
}

json Responses() {
  const auto error = [](std::string description) {
    return json{{"description", std::move(description)},
                {"content", {{"application/json", {{"schema", Ref("schemas", "Error")}}}}}};
  };
  json responses;
  responses["BadRequest"] =
      error("Malformed request: the error's field names the body path or query key at fault.");
  responses["Unauthorized"] =
      error("No token, a malformed Authorization header or an unknown token.");
  responses["Unauthorized"]["headers"]["WWW-Authenticate"] = {{"schema", {{"type", "string"}}},
                                                              {"description", "Bearer"}};
  responses["Forbidden"] =
      error("The token's role or scope may not do this (docs/api-security.md).");
  responses["NotFound"] = error("No such CPTS, campaign, region or command.");
  responses["PayloadTooLarge"] = error("The body is larger than max_body_bytes.");
  responses["UnsupportedMediaType"] = error("The body is not application/json.");
  responses["TimedOut"] =
      error("?position= not reached within read_your_writes_wait_ms (code timed_out).");
  responses["Unavailable"] = error("Too many live streams open: retry after Retry-After seconds.");
  const auto rejected = [](std::string description) {
    return json{
        {"description", std::move(description)},
        {"content", {{"application/json", {{"schema", Ref("schemas", "CommandRejected")}}}}}};
  };
  responses["Conflict"] =
      rejected("Rejected: conflicts with the current state (already done, at capacity, closed).");
  responses["Unprocessable"] =
      rejected("Rejected: refers to something that does not exist or is not allowed now.");
  return responses;
}

json JsonContent(json schema) { return {{"application/json", {{"schema", std::move(schema)}}}}; }

json Operation(const RouteDoc& route) {
  std::vector<std::string> path_params;
  OpenApiPath(route.pattern, &path_params);
  json op = {{"tags", {GroupTag(route.group)}}, {"summary", route.summary}};
  std::string id = route.method == "GET" ? "get" : "post";
  for (char c : route.pattern) {
    id += (std::isalnum(static_cast<unsigned char>(c)) != 0) ? c : '_';
  }
  op["operationId"] = id;
  json parameters = json::array();
  for (const std::string& name : path_params) parameters.push_back(PathParameter(name));
  for (const ParamDoc& p : route.query) {
    parameters.push_back({{"name", p.name},
                          {"in", "query"},
                          {"required", false},
                          {"description", p.description},
                          {"schema", ParamSchema(p)}});
  }
  // A value of its own, moved into op at the end: a reference into op would not survive the
  // members added to op meanwhile (objects keep their members in one vector, events/json.h).
  json responses = json::object();
  responses["401"] = Ref("responses", "Unauthorized");
  responses["403"] = Ref("responses", "Forbidden");
  responses["400"] = Ref("responses", "BadRequest");
  const bool patient_level = !route.view.empty() && IsPatientLevelView(route.view);
  switch (route.group) {
    case RouteGroup::kOperations:
      op["security"] = json::array();
      responses = json::object();
      if (route.pattern == "/metrics") {
        responses["200"] = {{"description", "The exposition."},
                            {"content", {{"text/plain", {{"schema", {{"type", "string"}}}}}}}};
      } else {
        responses["200"] = {{"description", "OK."}, {"content", JsonContent({{"type", "object"}})}};
      }
      if (route.pattern == "/readyz") {
        responses["503"] = {{"description", "Not ready yet, with details."},
                            {"content", JsonContent({{"type", "object"}})}};
      }
      break;
    case RouteGroup::kCommands:
      op["description"] =
          "docs/commands.md describes each command; docs/api-security.md who may send it.";
      responses["201"] = {{"description", "Accepted: the event it became."},
                          {"content", JsonContent(Ref("schemas", "CommandAccepted"))}};
      responses["200"] = {{"description", "Accepted, and nothing changed."},
                          {"content", JsonContent(Ref("schemas", "CommandUnchanged"))}};
      responses["409"] = Ref("responses", "Conflict");
      responses["422"] = Ref("responses", "Unprocessable");
      if (route.command_type.empty()) {
        responses["404"] = Ref("responses", "NotFound");
        break;
      }
      parameters.push_back(HeaderParameter(
          "Idempotency-Key", "A retry with the same key (same caller) is the same command.",
          {{"type", "string"}, {"minLength", 1}, {"maxLength", 128}, {"pattern", "^[!-~]+$"}}));
      parameters.push_back(HeaderParameter(
          "X-Correlation-Id", "The wider flow this command is part of.", {{"type", "string"}}));
      op["requestBody"] = {
          {"required", true},
          {"description", "The command's data."},
          {"content", JsonContent(Ref("schemas", "command." + route.command_type))}};
      responses["202"] = {
          {"description", "Not decided within the wait: GET .../commands/{command_id}."},
          {"content", JsonContent(Ref("schemas", "CommandPending"))}};
      responses["413"] = Ref("responses", "PayloadTooLarge");
      responses["415"] = Ref("responses", "UnsupportedMediaType");
      break;
    case RouteGroup::kQueries:
      op["description"] =
          "View `" + route.view + "`" +
          (patient_level ? ": patient-level (pseudonyms; every read leaves an access trace)."
                         : ": aggregates only.");
      responses["200"] = {{"description", "The view."},
                          {"content", JsonContent(Ref("schemas", "View"))}};
      if (!path_params.empty()) responses["404"] = Ref("responses", "NotFound");
      responses["504"] = Ref("responses", "TimedOut");
      break;
    case RouteGroup::kFeed:
      op["description"] =
          "Server-Sent Events: `id:` the stream's sequence, `event:` handoff or event, `data:` "
          "the event as JSON. Resume with Last-Event-ID; each batch delivered leaves an access "
          "trace naming its patients. An id no longer kept: 409 `too_old`, or, when the gap shows "
          "only once events arrive, `event: reset` and the end of the stream; reload the views, "
          "then reconnect without Last-Event-ID.";
      parameters.push_back(HeaderParameter("Last-Event-ID", "Resume after this event id.",
                                           {{"type", "string"}, {"pattern", "^[0-9]+$"}}));
      responses["200"] = {{"description", "The live stream (never ends by itself)."},
                          {"content", {{"text/event-stream", {{"schema", {{"type", "string"}}}}}}}};
      responses["409"] = Ref("responses", "Conflict");
      responses["503"] = Ref("responses", "Unavailable");
      break;
  }
  if (patient_level) {
    parameters.push_back(HeaderParameter("X-Purpose",
                                         "Why the caller reads: recorded in the access trace.",
                                         {{"type", "string"}, {"maxLength", 200}}));
  }
  if (!parameters.empty()) op["parameters"] = parameters;
  op["responses"] = std::move(responses);
  return op;
}

}  // namespace

const std::vector<RouteDoc>& RouteDocs() {
  static const auto* const kRoutes = new std::vector<RouteDoc>(BuildTable());
  return *kRoutes;
}

std::vector<const RouteDoc*> RouteDocs(RouteGroup group) {
  std::vector<const RouteDoc*> out;
  for (const RouteDoc& route : RouteDocs()) {
    if (route.group == group) out.push_back(&route);
  }
  return out;
}

json BuildOpenApi() {
  json doc = {
      {"openapi", "3.0.3"},
      {"info",
       {{"title", "cptsd"},
        {"version", "1"},
        {"description",
         "The HTTP API of cptsd, the event-sourced backend of CPTS: commands in, read models "
         "and a live feed out. docs/api.md (protocol), docs/api-security.md (roles), "
         "docs/commands.md, docs/projections.md."}}},
      {"tags",
       {{{"name", "operations"}, {"description", "Probes, metrics, this document: no token."}},
        {{"name", "commands"}, {"description", "POST a command's data; the deciders decide."}},
        {{"name", "queries"}, {"description", "The read models."}},
        {{"name", "feed"}, {"description", "A CPTS's live feed."}}}},
      {"security", {{{"bearer", json::array()}}}},
  };
  json paths = json::object();  // moved in whole, as responses in Operation()
  for (const RouteDoc& route : RouteDocs()) {
    std::vector<std::string> ignored;
    const std::string path = OpenApiPath(route.pattern, &ignored);
    paths[path][route.method == "GET" ? "get" : "post"] = Operation(route);
  }
  doc["paths"] = std::move(paths);
  doc["components"]["securitySchemes"]["bearer"] = {
      {"type", "http"},
      {"scheme", "bearer"},
      {"description", "A token of the tokens file (cpts_...; docs/api-security.md)."}};
  doc["components"]["schemas"] = Schemas();
  doc["components"]["responses"] = Responses();
  return doc;
}

std::string OpenApiText() { return BuildOpenApi().dump(2) + "\n"; }

}  // namespace cpts::api
