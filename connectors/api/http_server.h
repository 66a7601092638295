#pragma once
// The HTTP/1.1 server the API runs on: routing with :params, JSON in and out, one error shape,
// limits, live streams (SSE), graceful stop. Built on Debian's cpp-httplib (0.11) for parsing
// and writing HTTP; this class owns the sockets, the threads and the limits (docs/api.md).
//
// Contract:
// - Route(), SetPreHandler() and SetObserver() are called before Start(); the route table is
//   read-only while the server runs, so handlers run concurrently without locks of ours.
// - Handlers run on worker threads, one request at a time per worker; they must return in
//   bounded time (Stop() waits for them). A handler that throws gets a 500; nothing a client
//   sends crashes the server.
// - Every error, ours or a handler's, has one JSON shape (Response::Error) carrying the
//   request id, which is also in the X-Request-Id header and the access log line.
// - Start() and Stop() are called from one thread; Stop() is idempotent and the destructor
//   calls it.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connectors/api/sse.h"
#include "events/json.h"
#include "events/status.h"

namespace cpts::api {

struct HttpServerOptions {
  // Default: "127.0.0.1". Port 0 asks the kernel for a free port: port() says which.
  std::string host = "127.0.0.1";
  int port = 0;
  // Threads serving connections; a connection holds one from its first byte to its close (SSE
  // streams included). Default: 16.
  size_t worker_threads = 16;
  // Connections open at once (being served or waiting for a worker); the next ones are
  // answered 503 with Retry-After and closed. Default: 256.
  size_t max_connections = 256;
  // SSE streams open at once; beyond, 503. Each holds a worker, so keep it below
  // worker_threads. Default: 8.
  size_t max_event_streams = 8;
  // Request body (after de-chunking); beyond, 413. Default: 1 MiB.
  size_t max_body_bytes = 1 << 20;
  // Request line and headers together; beyond, 431. Default: 16 KiB. A single line is also
  // limited to 8 KiB by cpp-httplib's build (also answered 431 here).
  size_t max_header_bytes = 16 * 1024;
  // The longest wait for the next bytes of a request, and for a client to take response bytes.
  // Default: 5 s each.
  std::chrono::milliseconds read_timeout{5000};
  std::chrono::milliseconds write_timeout{5000};
  // The whole request line and headers must arrive within this, however slowly they trickle
  // (slowloris). Default: 10 s.
  std::chrono::milliseconds head_timeout{10000};
  // The whole body must arrive within this. Default: 30 s.
  std::chrono::milliseconds body_timeout{30000};
  // A kept-alive connection idle this long is closed. Default: 5 s.
  std::chrono::milliseconds idle_timeout{5000};
  size_t max_requests_per_connection = 1000;  // Default: 1000.
  // Stop() lets requests in flight finish this long, then cuts their connections. Default: 5 s.
  std::chrono::milliseconds stop_timeout{5000};
  // SSE: a comment line after this long without an event. Default: 15 s.
  std::chrono::milliseconds sse_heartbeat{15000};
  // Retry-After seconds on 503. Default: 1.
  int retry_after_seconds = 1;
  // One line per request on stderr (method, route pattern, status, duration, request id).
  bool access_log = true;  // Default: true.
};

// What a handler sees of a request. Query strings and bodies may hold patient data: they are
// never logged.
struct Request {
  std::string method;      // "GET", "POST", ... ("HEAD" is served by GET routes)
  std::string path;        // percent-decoded
  std::string route;       // the pattern that matched: "/v1/cpts/:cpts/handoff"
  std::string request_id;  // the client's X-Request-Id when well formed, else a fresh one
  std::map<std::string, std::string> params;  // path parameters: {"cpts": "..."}
  // Query parameters, decoded. A key given twice is refused (400) before any handler runs:
  // parsers disagree on which value wins.
  std::map<std::string, std::string> query;
  std::vector<std::pair<std::string, std::string>> headers;  // in arrival order
  std::string body;                    // empty in the pre-handler (not read yet)
  std::optional<::cpts::Json> json;    // the parsed body, when there is one

  std::optional<std::string> Param(std::string_view name) const;
  std::optional<std::string> Query(std::string_view key) const;
  // The first header of that name (case-insensitive).
  std::optional<std::string> Header(std::string_view name) const;
};

// What a handler answers.
struct Response {
  int status = 200;
  std::optional<::cpts::Json> body;  // sent as application/json; none: empty body
  std::vector<std::pair<std::string, std::string>> headers;
  // Set by EventStream: the response is a text/event-stream fed by this source.
  SseSource event_source;
  std::string last_event_id;
  // Set by Text: a body that is not JSON (the Prometheus exposition), sent as is.
  std::optional<std::string> text;
  std::string content_type;

  static Response Json(int status, ::cpts::Json body);
  static Response NoContent();
  // {"error":{"status":S,"code":C,"message":M,"field":F,"request_id":...}}; `field` (a JSON
  // path such as "data.gp") is left out when empty; the server fills request_id.
  static Response Error(int status, std::string code, std::string message, std::string field = {});
  // A live stream starting after `last_event_id` (the request's Last-Event-ID, "" if none).
  static Response EventStream(SseSource source, std::string last_event_id);
  // A body sent as is with `content_type` (not JSON: GET /metrics).
  static Response Text(int status, std::string content_type, std::string body);
};

using Handler = std::function<Response(const Request&)>;

// Runs after routing and the query check, before the body is read (so before 413/415/400 on
// the body): returns an error Response to refuse the request (authentication), nullopt to go on.
using PreHandler = std::function<std::optional<Response>(const Request&)>;

// Told about every answered request, from worker threads at once (metrics plug in here).
// `route` is the matched pattern, "-" when none matched.
class HttpObserver {
 public:
  virtual ~HttpObserver() = default;
  virtual void OnRequest(std::string_view route, std::string_view method, int status,
                         std::chrono::nanoseconds duration) = 0;
};

class HttpServer {
 public:
  explicit HttpServer(HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // `pattern` is a path whose segments are literal or ":name" ("/v1/cpts/:cpts/handoff").
  // When several patterns match a path, the one with a literal where the others have a :param,
  // leftmost first, wins ("/v1/cpts/new" over "/v1/cpts/:cpts").
  // InvalidArgument for a malformed pattern or a method/pattern pair given twice.
  Status Route(std::string_view method, std::string_view pattern, Handler handler);
  void SetPreHandler(PreHandler pre_handler);
  void SetObserver(HttpObserver* observer);  // not owned; outlives the server

  // Binds and listens, then serves from threads of its own; returns at once.
  Status Start();
  // Stops accepting, ends SSE streams and idle connections, lets requests in flight finish
  // within stop_timeout, then closes what is left and joins the threads. Idempotent.
  void Stop();

  int port() const;  // the bound port, once started

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cpts::api
