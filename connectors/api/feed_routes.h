#pragma once
// The live feed of a CPTS: GET /v1/cpts/:cpts/feed, Server-Sent Events (docs/api.md, "Live
// feed"). Events come from LiveView::ReadFeed: `id:` is the stream's sequence number, so a
// client resumes with Last-Event-ID on any cptsd; `event:` is handoff or event (FeedKind).
//
// The feed names patients (pseudonyms), so it is a patient-level view ("feed" in auth.h): each
// batch of events is traced on the access topic (one projections::AccessTrace naming the batch's
// patients, durably) before it is sent; when the trace cannot be written, the stream ends with
// that error and the batch is not sent.

#include "connectors/api/api.h"

namespace cpts::api {

// InvalidArgument when the server already has the route. `context` outlives the server.
Status RegisterFeedRoutes(HttpServer& server, ApiContext& context);

}  // namespace cpts::api
