#include "connectors/api/api.h"

#include <charconv>

namespace cpts::api {

Result<Principal> Authenticate(const ApiContext& context, const Request& request,
                               Response* error) {
  Result<Principal> principal =
      context.tokens->Authenticate(request.Header("Authorization").value_or(""));
  if (!principal.ok()) {
    *error = Response::Error(401, "unauthenticated", principal.status().message());
    error->headers.emplace_back("WWW-Authenticate", "Bearer realm=\"cptsd\"");
  }
  return principal;
}

Response ErrorResponse(const Status& status, std::string field) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
      return Response::Error(400, "invalid", status.message(), std::move(field));
    case StatusCode::kNotFound:
      return Response::Error(404, "not_found", status.message(), std::move(field));
    case StatusCode::kAlreadyExists:
      return Response::Error(409, "already_exists", status.message(), std::move(field));
    case StatusCode::kFailedPrecondition:
      return Response::Error(409, "conflict", status.message(), std::move(field));
    case StatusCode::kUnavailable:
      return Response::Error(503, "unavailable", status.message());
    case StatusCode::kTimedOut:
      return Response::Error(504, "timed_out", status.message());
    default:
      // Corruption, I/O and internal errors may name files or internals: the message stays in
      // the daemon's log, the client gets the request id to quote.
      std::fprintf(stderr, "cptsd: internal error: %s\n", status.ToString().c_str());
      return Response::Error(500, "internal", "internal error; quote the request id");
  }
}

Response Forbidden(const Status& why) { return Response::Error(403, "forbidden", why.message()); }

Result<projections::Positions> ParsePositions(std::string_view text) {
  projections::Positions positions;
  if (text.empty()) return Status::InvalidArgument("position is empty; expected partition:offset");
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string_view item = text.substr(start, comma - start);
    const size_t colon = item.find(':');
    int32_t partition = -1;
    int64_t offset = -1;
    const auto parse = [](std::string_view digits, auto& value) {
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
      return ec == std::errc() && end == digits.data() + digits.size() && !digits.empty();
    };
    if (colon == std::string_view::npos || !parse(item.substr(0, colon), partition) ||
        !parse(item.substr(colon + 1), offset) || partition < 0 || offset < 0) {
      return Status::InvalidArgument("position \"" + std::string(item.substr(0, 40)) +
                                     "\" is not partition:offset (as a command's answer gives it)");
    }
    if (positions.contains(partition)) {
      return Status::InvalidArgument("position names partition " + std::to_string(partition) +
                                     " twice");
    }
    positions[partition] = offset;
    start = comma + 1;
  }
  return positions;
}

std::string FormatPositions(const projections::Positions& positions) {
  std::string text;
  for (const auto& [partition, offset] : positions) {
    if (!text.empty()) text += ',';
    text += std::to_string(partition) + ":" + std::to_string(offset);
  }
  return text;
}

}  // namespace cpts::api
