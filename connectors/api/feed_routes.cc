#include "connectors/api/feed_routes.h"

#include <atomic>
#include <charconv>
#include <memory>
#include <set>

#include "connectors/api/openapi.h"
#include "connectors/api/query_routes.h"
#include "projections/clock.h"

namespace cpts::api {
namespace {

// A Last-Event-ID or an id we sent: a sequence number.
std::optional<uint64_t> ParseSequence(std::string_view text) {
  uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return n;
}

// Reads the feed for one client; traces each batch before handing it to the stream.
struct FeedReader {
  const ApiContext* context;
  std::string cpts;
  std::string user, role, purpose;
  // Set once the client was told to reload (a `reset` event): the next read ends the stream.
  std::shared_ptr<std::atomic<bool>> reset_sent = std::make_shared<std::atomic<bool>>(false);

  Status operator()(const std::string& after_id, std::chrono::steady_clock::time_point deadline,
                    std::stop_token stop, std::vector<SseEvent>* out) const {
    // Ids are ours (or the validated Last-Event-ID): always numbers.
    const std::optional<uint64_t> after = after_id.empty() ? 0 : ParseSequence(after_id);
    if (!after) return Status::InvalidArgument("Last-Event-ID is not a sequence number");
    if (reset_sent->load()) {
      return Status::FailedPrecondition("the client was told to reload the views");
    }
    std::vector<FeedEvent> events;
    if (Status read = context->live->ReadFeed(cpts, *after, deadline, stop, &events); !read.ok()) {
      if (read.code() != StatusCode::kFailedPrecondition) return read;
      // Too old to resume (after a restart, the first events that arrive show the gap): an event
      // without an id says so, then the stream ends; the client's reconnect gets the 409 below.
      reset_sent->store(true);
      out->push_back(
          {"", "reset", ::cpts::Json{{"code", "too_old"}, {"message", read.message()}}.dump()});
      return Status::Ok();
    }
    if (events.empty()) return Status::Ok();
    std::set<std::string> patients;
    for (const FeedEvent& e : events) patients.insert(e.patients.begin(), e.patients.end());
    projections::AccessTrace trace{
        .trace_id = projections::NewTraceId(),
        .at = projections::FormatUtcMs(context->now_ms()),
        .user = user,
        .role = role,
        .purpose = purpose,
        .view = "feed",
        .cptsid = cpts,
        .patients = {patients.begin(), patients.end()},
        .query = {{"after", *after}, {"through", events.back().sequence}},
        .identities = false};
    // Untraced, nothing goes out: the stream ends with the error instead.
    CPTS_RETURN_IF_ERROR(context->access->Append(trace));
    for (FeedEvent& e : events) {
      out->push_back({std::to_string(e.sequence), std::move(e.kind), std::move(e.data)});
    }
    return Status::Ok();
  }
};

Response Feed(const ApiContext& context, const RouteDoc& route, const Request& request) {
  Response error;
  Result<Principal> principal = Authenticate(context, request, &error);
  if (!principal.ok()) return error;
  const std::string cpts = request.Param("cpts").value_or("");
  if (Status allowed = AuthorizeQuery(*principal, route.view, cpts, std::nullopt); !allowed.ok()) {
    return Forbidden(allowed);
  }
  if (!request.query.empty()) {
    const std::string key = request.query.begin()->first;
    return Response::Error(400, "invalid",
                           "unknown query parameter " + key.substr(0, 64) +
                               "; the feed takes none (resume with Last-Event-ID)",
                           "query." + key);
  }
  const std::string last_event_id = request.Header("Last-Event-ID").value_or("");
  if (!last_event_id.empty() && !ParseSequence(last_event_id)) {
    return Response::Error(400, "invalid",
                           "Last-Event-ID must be the id of an event of this feed (a number)",
                           "header.Last-Event-ID");
  }
  if (!last_event_id.empty() && !context.live->Resumable(cpts, *ParseSequence(last_event_id))) {
    return Response::Error(409, "too_old",
                           "events after " + last_event_id +
                               " are no longer kept: reload the views, then reconnect without "
                               "Last-Event-ID",
                           "header.Last-Event-ID");
  }
  std::optional<std::string> purpose = ReadPurpose(request, route.view, &error);
  if (!purpose) return error;
  FeedReader reader{.context = &context,
                    .cpts = cpts,
                    .user = principal->Actor(),
                    .role = std::string(RoleName(principal->role)),
                    .purpose = std::move(*purpose)};
  return Response::EventStream(std::move(reader), last_event_id);
}

}  // namespace

Status RegisterFeedRoutes(HttpServer& server, ApiContext& context) {
  for (const RouteDoc* route : RouteDocs(RouteGroup::kFeed)) {
    CPTS_RETURN_IF_ERROR(server.Route(
        route->method, route->pattern,
        [&context, route](const Request& request) { return Feed(context, *route, request); }));
  }
  return Status::Ok();
}

}  // namespace cpts::api
