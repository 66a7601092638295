#pragma once
// The query routes of cptsd: GET /v1/cpts..., /v1/professionals/:professional/worklist,
// /v1/regions/:region/indicators, one per view of RouteDocs(RouteGroup::kQueries)
// (connectors/api/openapi.h), each answering JSON from projections::ReadModels, the
// patient-level views through projections::PatientReads (opened identities, an access trace).
//
// Every handler, in order: authenticates (401), AuthorizeQuery for its view (403), checks the
// query string against the route's table (unknown key or bad value: 400 "query.<key>"), waits
// for ?position= (read-your-writes, up to config.read_your_writes_wait_ms, else 504
// "timed_out"), then reads. `at` defaults to context.now_ms().

#include <optional>
#include <string>
#include <string_view>

#include "connectors/api/api.h"

namespace cpts::api {

// The reader's purpose for the access trace: the X-Purpose header, or "<view> (API)". Null, with
// `error` set to a 400 (field "header.X-Purpose"), when the header is not 1-200 printable
// characters. Shared with the feed.
std::optional<std::string> ReadPurpose(const Request& request, std::string_view view,
                                       Response* error);

// InvalidArgument when the server already has one of the routes. `context` outlives the server.
Status RegisterQueryRoutes(HttpServer& server, ApiContext& context);

}  // namespace cpts::api
