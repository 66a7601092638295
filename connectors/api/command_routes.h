#pragma once
// The command routes of cptsd (docs/api.md, "Commands"):
//   POST /v1/cpts/:cpts/commands/<type>   one route per aggregates::CommandTypes() entry
//   GET  /v1/cpts/:cpts/commands/:command_id
//
// A POST authenticates and authorizes the caller (AuthorizeCommand), seals the body through
// the PatientEdge (no NIR, no clear identity reaches the log), checks the command as the
// deciders will (DecodeCommand), appends it to the commands topic keyed by its CPTS, then waits
// (up to kDecisionWait) for what the deciders made of it:
//   201 accepted    its event is in the read models; "position" makes a later query wait for it
//   200 unchanged   decided, nothing to record: the deciders' committed offset on the command's
//                   partition passed it, the read models reached the events written before that
//                   commit, and still no event names the command
//   409/422/403     rejected (RejectionHttpStatus), with the rejection event and its position
//   202 pending     not decided within the wait; GET .../commands/:command_id tells later
// Idempotency-Key: the command id is derived from the caller and the key, so a retry is the same
// command: its recorded outcome is answered without a second append, and the deciders skip a
// command id they already decided. A key reused with another body is refused (422
// "idempotency_key_reused") when this process took the first request: the bodies' hashes live
// in a bounded per-process table, so two cptsd, or one restarted, do not see each other's; the
// first outcome is then answered.
// patient.erase: the edge destroys the patient's data keys before appending the command, as
// `cpts patient erase` does (docs/health-data.md), so the erasure holds even if the command is
// lost.
// Thread-safety: handlers run concurrently; the shared table has a lock of its own.

#include <chrono>
#include <map>
#include <string>
#include <string_view>

#include "connectors/api/api.h"

namespace cpts::api {

// How long a POST waits for its outcome before answering 202.
inline constexpr std::chrono::milliseconds kDecisionWait{10'000};

Status RegisterCommandRoutes(HttpServer& server, ApiContext& context);

// The HTTP status of a decider's rejection code: 409 when the command conflicts with the
// current state (already done, duplicate id, closed, no capacity), 422 when it refers to
// something that does not exist or is not allowed in this state, 403 for "forbidden", 500 for
// "invalid_outcome" (a decider bug). An unknown code is 422.
int RejectionHttpStatus(std::string_view code);
// Every rejection code the deciders give, with its status (a test checks the deciders' sources
// against it, so a new code is classified on purpose).
const std::map<std::string, int, std::less<>>& RejectionHttpStatuses();

// The command id of a request with an Idempotency-Key: "api-" + the first 32 hex characters of
// SHA-256(actor + "\n" + key), the same on every cptsd.
std::string IdempotentCommandId(std::string_view actor, std::string_view idempotency_key);

}  // namespace cpts::api
