#include "connectors/api/query_routes.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <map>

#include "connectors/api/openapi.h"
#include "projections/clock.h"
#include "projections/patient_reads.h"
#include "projections/queries.h"

namespace cpts::api {
namespace {

using json = ::cpts::Json;
using projections::Page;
using projections::PatientReads;
using projections::ReadModels;

// The query string of one request, checked against its route's table.
struct Args {
  std::map<std::string, std::string, std::less<>> text;  // kString and kEnum values
  std::map<std::string, bool, std::less<>> flags;
  std::map<std::string, int64_t, std::less<>> times;
  Page page;
  int64_t at_ms = 0;
  std::optional<projections::Positions> position;

  std::optional<std::string> Text(std::string_view key) const {
    const auto it = text.find(key);
    return it == text.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
  bool Flag(std::string_view key) const {
    const auto it = flags.find(key);
    return it != flags.end() && it->second;
  }
  std::optional<int64_t> TimeMs(std::string_view key) const {
    const auto it = times.find(key);
    return it == times.end() ? std::nullopt : std::optional<int64_t>(it->second);
  }
};

// What a view's handler reads with.
struct Call {
  const ApiContext& context;
  const Request& request;
  const Args& args;
  const projections::Reader& reader;

  std::string Param(std::string_view name) const { return request.Param(name).value_or(""); }
  ReadModels Models() const { return ReadModels(*context.store); }
  PatientReads Patients() const {
    return PatientReads(*context.store, *context.access, context.keys, context.now_ms);
  }
};

using View = Result<json> (*)(const Call&);

// One function per view of RouteDocs(RouteGroup::kQueries); RegisterQueryRoutes fails when the
// two disagree.
const std::map<std::string_view, View>& Views() {
  static const auto* const kViews = new std::map<std::string_view, View>{
      {"list", [](const Call& c) { return c.Models().ListCpts(c.args.Text("region")); }},
      {"cpts", [](const Call& c) { return c.Models().Cpts(c.Param("cpts")); }},
      {"roster",
       [](const Call& c) {
         const projections::RosterFilter filter{.profession = c.args.Text("profession"),
                                                .commune = c.args.Text("commune"),
                                                .college = c.args.Text("college"),
                                                .practice_mode = c.args.Text("practice_mode"),
                                                .member_kind = c.args.Text("member_kind"),
                                                .include_left = c.args.Flag("include_left")};
         return c.Models().Roster(c.Param("cpts"), filter, c.args.page);
       }},
      {"roster-history", [](const Call& c) { return c.Models().RosterHistory(c.Param("cpts")); }},
      {"gps", [](const Call& c) { return c.Models().GpsWithCapacity(c.Param("cpts")); }},
      {"access", [](const Call& c) { return c.Models().AccessSummary(c.Param("cpts")); }},
      {"campaigns", [](const Call& c) { return c.Models().Campaigns(c.Param("cpts")); }},
      {"campaign",
       [](const Call& c) { return c.Models().Campaign(c.Param("cpts"), c.Param("campaign")); }},
      {"indicators",
       [](const Call& c) { return c.Models().Indicators(c.Param("cpts"), c.args.at_ms); }},
      {"region",
       [](const Call& c) { return c.Models().RegionIndicators(c.Param("region"), c.args.at_ms); }},
      {"queue",
       [](const Call& c) {
         return c.Patients().AccessQueue(c.reader, c.Param("cpts"), c.args.page);
       }},
      {"referrals",
       [](const Call& c) {
         return c.Patients().Referrals(c.reader, c.Param("cpts"), c.args.Text("status"),
                                       c.args.page);
       }},
      {"handoff",
       [](const Call& c) {
         const projections::HandoffFilter filter{.status = c.args.Text("status"),
                                                 .finess = c.args.Text("finess"),
                                                 .professional = c.args.Text("professional"),
                                                 .from_ms = c.args.TimeMs("from"),
                                                 .until_ms = c.args.TimeMs("until")};
         return c.Patients().Handoff(c.reader, c.Param("cpts"), filter, c.args.at_ms, c.args.page);
       }},
      {"worklist",
       [](const Call& c) {
         return c.Patients().Worklist(c.reader, c.Param("professional"), c.args.at_ms,
                                      c.args.Flag("include_closed"), c.args.page);
       }},
      {"snp",
       [](const Call& c) {
         return c.Patients().Snp(c.reader, c.Param("cpts"), c.args.Text("status"), c.args.at_ms,
                                 c.args.page);
       }},
  };
  return *kViews;
}

Status Bad(std::string message) { return Status::InvalidArgument(std::move(message)); }

// One query value against its declaration; the message names the key (the field is set by the
// caller) and never echoes long input.
Status ParseValue(const ParamDoc& doc, const std::string& value, Args& args) {
  const std::string key(doc.name);
  switch (doc.kind) {
    case ParamKind::kString:
      if (value.empty() || value.size() > 200) return Bad(key + " must be 1 to 200 characters");
      args.text[key] = value;
      return Status::Ok();
    case ParamKind::kEnum: {
      if (std::find(doc.values.begin(), doc.values.end(), value) != doc.values.end()) {
        args.text[key] = value;
        return Status::Ok();
      }
      std::string known;
      for (std::string_view v : doc.values) known += (known.empty() ? "" : ", ") + std::string(v);
      return Bad(key + " must be one of: " + known);
    }
    case ParamKind::kInteger: {
      int64_t n = -1;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() || value.empty() ||
          value[0] == '-' || n < doc.min || n > doc.max) {
        return Bad(key + " must be an integer from " + std::to_string(doc.min) + " to " +
                   std::to_string(doc.max));
      }
      (key == "limit" ? args.page.limit : args.page.offset) = static_cast<size_t>(n);
      return Status::Ok();
    }
    case ParamKind::kBoolean:
      if (value != "true" && value != "false") return Bad(key + " must be true or false");
      args.flags[key] = value == "true";
      return Status::Ok();
    case ParamKind::kTime: {
      const std::optional<int64_t> ms = projections::ParseTimestampMs(value);
      if (!ms) return Bad(key + " must be an RFC 3339 time with a zone (2026-11-22T16:05:00Z)");
      if (key == "at") {
        args.at_ms = *ms;
      } else {
        args.times[key] = *ms;
      }
      return Status::Ok();
    }
    case ParamKind::kPositions: {
      Result<projections::Positions> positions = ParsePositions(value);
      if (!positions.ok()) return positions.status();
      args.position = std::move(*positions);
      return Status::Ok();
    }
  }
  return Bad(key + " is not understood");
}

// The whole query string; on failure, `field` is "query.<key>".
Result<Args> ParseArgs(const RouteDoc& route, const Request& request, int64_t now_ms,
                       std::string* field) {
  Args args;
  args.at_ms = now_ms;
  for (const auto& [key, value] : request.query) {
    *field = "query." + key;
    const auto doc = std::find_if(route.query.begin(), route.query.end(),
                                  [&](const ParamDoc& p) { return p.name == key; });
    if (doc == route.query.end()) {
      std::string known;
      for (const ParamDoc& p : route.query)
        known += (known.empty() ? "" : ", ") + std::string(p.name);
      return Bad("unknown query parameter " + key.substr(0, 64) + "; this route takes: " + known);
    }
    CPTS_RETURN_IF_ERROR(ParseValue(*doc, value, args));
  }
  field->clear();
  return args;
}

Response Serve(const ApiContext& context, const RouteDoc& route, View view,
               const Request& request) {
  Response error;
  Result<Principal> principal = Authenticate(context, request, &error);
  if (!principal.ok()) return error;
  const std::optional<std::string> cpts = request.Param("cpts");
  if (Status allowed = AuthorizeQuery(*principal, route.view, cpts, request.Param("professional"));
      !allowed.ok()) {
    return Forbidden(allowed);
  }
  std::string field;
  Result<Args> args = ParseArgs(route, request, context.now_ms(), &field);
  if (!args.ok()) return ErrorResponse(args.status(), field);
  const std::optional<std::string> purpose = ReadPurpose(request, route.view, &error);
  if (!purpose) return error;

  if (args->position) {
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(context.config.read_your_writes_wait_ms);
    const projections::Positions& wanted = *args->position;
    for (const auto& [partition, offset] : wanted) {
      if (partition >= context.config.partitions) {
        return Response::Error(400, "invalid",
                               "position names partition " + std::to_string(partition) +
                                   "; the events topic has " +
                                   std::to_string(context.config.partitions),
                               "query.position");
      }
    }
    if (!context.live->WaitUntil([&] { return context.live->Reached(wanted); }, deadline)) {
      if (context.live->stopped()) {
        return Response::Error(503, "unavailable", "cptsd is stopping; retry on another instance");
      }
      return Response::Error(504, "timed_out",
                             "the read models did not reach position " + FormatPositions(wanted) +
                                 " within " +
                                 std::to_string(context.config.read_your_writes_wait_ms) +
                                 " ms; retry, or read without position",
                             "query.position");
    }
  }
  const projections::Reader reader{.user = principal->Actor(),
                                   .role = std::string(RoleName(principal->role)),
                                   .purpose = *purpose,
                                   .show_identity = MayOpenIdentities(*principal, route.view)};
  Result<json> answer = view(Call{context, request, *args, reader});
  if (!answer.ok()) return ErrorResponse(answer.status());
  return Response::Json(200, std::move(*answer));
}

}  // namespace

std::optional<std::string> ReadPurpose(const Request& request, std::string_view view,
                                       Response* error) {
  std::optional<std::string> purpose = request.Header("X-Purpose");
  if (!purpose) return std::string(view) + " (API)";
  const bool printable = std::all_of(purpose->begin(), purpose->end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
  });
  if (purpose->empty() || purpose->size() > 200 || !printable) {
    *error = Response::Error(400, "invalid", "X-Purpose must be 1 to 200 printable characters",
                             "header.X-Purpose");
    return std::nullopt;
  }
  return purpose;
}

Status RegisterQueryRoutes(HttpServer& server, ApiContext& context) {
  const std::vector<const RouteDoc*> routes = RouteDocs(RouteGroup::kQueries);
  if (routes.size() != Views().size()) {
    return Status::Internal("the query route table and the query handlers disagree");
  }
  for (const RouteDoc* route : routes) {
    const auto view = Views().find(route->view);
    if (view == Views().end()) return Status::Internal("no handler for view " + route->view);
    CPTS_RETURN_IF_ERROR(
        server.Route(route->method, route->pattern,
                     [&context, route, handler = view->second](const Request& request) {
                       return Serve(context, *route, handler, request);
                     }));
  }
  return Status::Ok();
}

}  // namespace cpts::api
