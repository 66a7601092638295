#pragma once
// What the routes of cptsd share: the daemon's components (ApiContext) and the steps every
// handler takes (authenticating the caller, mapping a Status to an HTTP error).
//
// Routes are registered in groups, each in its own file:
//   command_routes.h   POST /v1/cpts/:cpts/commands/<type>, GET .../commands/:command_id
//   query_routes.h     GET  /v1/cpts..., /v1/professionals/:professional/worklist, /v1/regions/...
//   feed_routes.h      GET  /v1/cpts/:cpts/feed (Server-Sent Events)
//   daemon.h           /healthz, /readyz, /metrics, /openapi.json, and the wiring of it all
// docs/openapi.json describes every route; a test checks it against the route table.
// Thread-safety: ApiContext's members are thread-safe; handlers share one context.

#include <cstdint>
#include <functional>
#include <string>

#include "connectors/api/auth.h"
#include "connectors/api/config.h"
#include "connectors/api/http_server.h"
#include "connectors/api/live.h"
#include "connectors/api/metrics.h"
#include "connectors/patient_edge.h"
#include "events/key_store.h"
#include "events/log.h"
#include "events/status.h"
#include "projections/access_log.h"
#include "projections/store.h"

namespace cpts::api {

// The daemon's components, as handlers see them. Not owned; all outlive the server.
struct ApiContext {
  log::Log* log = nullptr;                      // commands in, access traces out
  projections::ProjectionStore* store = nullptr;  // the live read models
  projections::AccessLog* access = nullptr;     // every read of patient-level data
  ::cpts::keys::KeyStore* keys = nullptr;       // opens sealed identities for allowed readers
  PatientEdge* edge = nullptr;                  // pseudonymises and seals command data
  const TokenStore* tokens = nullptr;
  Metrics* metrics = nullptr;
  LiveView* live = nullptr;
  DaemonConfig config;
  std::string decider_group = "deciders";  // the deciders' consumer group (progress of commands)
  std::function<int64_t()> now_ms;         // the wall clock, ms since the epoch (tests set it)
};

// The caller of a request, from its Authorization header; the error Response (401 with
// WWW-Authenticate: Bearer) when there is none or it is not valid.
Result<Principal> Authenticate(const ApiContext& context, const Request& request,
                               Response* error);

// The Response for a failed Status: InvalidArgument 400, NotFound 404, AlreadyExists 409,
// FailedPrecondition 409, Unavailable 503, TimedOut 504, anything else 500 (its message
// is not sent: it may name internals). `field` goes to the error body.
Response ErrorResponse(const Status& status, std::string field = {});

// A 403 naming what the principal may not do.
Response Forbidden(const Status& why);

// Parses "p:o,p:o" (a command answer's "position"): for each partition, the offset the read
// models must have passed. InvalidArgument naming the text's fault.
Result<projections::Positions> ParsePositions(std::string_view text);
// The reverse: "p:o,p:o", partitions in order.
std::string FormatPositions(const projections::Positions& positions);

}  // namespace cpts::api
