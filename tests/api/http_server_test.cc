// The HTTP server core and SSE over loopback: curl for what a client sees, raw sockets for
// what a well-behaved client would never send.

#include "connectors/api/http_server.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "connectors/api/sse.h"
#include "events/json.h"
#include "tests/support/subprocess.h"

namespace cpts::api {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

struct HttpResult {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  ::cpts::Json Json() const { return ::cpts::Json::parse(body); }
};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Parses "HTTP/1.1 200 OK\r\nName: value\r\n\r\nbody" (what curl -i prints).
HttpResult ParseResponse(const std::string& raw) {
  HttpResult r;
  size_t head_end = raw.find("\r\n\r\n");
  std::string head = raw.substr(0, head_end);
  r.body = head_end == std::string::npos ? "" : raw.substr(head_end + 4);
  size_t line_end = head.find("\r\n");
  std::string status_line = head.substr(0, line_end);
  if (status_line.size() >= 12) r.status = std::stoi(status_line.substr(9, 3));
  while (line_end != std::string::npos) {
    size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    std::string line = head.substr(start, line_end - start);
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    r.headers[Lower(line.substr(0, colon))] = value;
  }
  return r;
}

// Runs curl against the server; extra arguments come before the URL.
HttpResult Curl(int port, const std::string& path, std::vector<std::string> args = {},
                const std::string& stdin_data = {}) {
  std::vector<std::string> argv = {"curl", "-sS", "-i", "--max-time", "10"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("http://127.0.0.1:" + std::to_string(port) + path);
  Result<std::string> out = test::RunAndCapture(argv, 15s, stdin_data);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  if (!out.ok()) return {};
  // curl -i prints each response; with Expect: 100-continue the first is the interim one.
  std::string raw = *out;
  while (raw.rfind("HTTP/1.1 100", 0) == 0) raw = raw.substr(raw.find("\r\n\r\n") + 4);
  return ParseResponse(raw);
}

// A raw TCP client.
class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawClient() { ::close(fd_); }
  bool connected() const { return connected_; }

  // False once the server closed (or reset) the connection.
  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  void CloseWrite() { ::shutdown(fd_, SHUT_WR); }

  // Everything until the server closes, or `timeout` passes.
  std::string ReadAll(std::chrono::milliseconds timeout) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
};

class RecordingObserver : public HttpObserver {
 public:
  void OnRequest(std::string_view route, std::string_view method, int status,
                 std::chrono::nanoseconds) override {
    std::lock_guard lock(mu_);
    seen_.push_back(std::string(method) + " " + std::string(route) + " " + std::to_string(status));
  }
  std::vector<std::string> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> seen_;
};

// A server with a few routes: echo of params and query, echo of a JSON body, a thrower.
std::unique_ptr<HttpServer> StartServer(HttpServerOptions options = {},
                                        std::function<void(HttpServer&)> more_routes = {}) {
  auto server = std::make_unique<HttpServer>(options);
  EXPECT_TRUE(server
                  ->Route("GET", "/v1/cpts/:cpts/handoff",
                          [](const Request& req) {
                            ::cpts::Json query = ::cpts::Json::object();
                            for (const auto& [k, v] : req.query) query[k] = v;
                            return Response::Json(200, {{"cpts", *req.Param("cpts")},
                                                        {"route", req.route},
                                                        {"query", query},
                                                        {"request_id", req.request_id}});
                          })
                  .ok());
  EXPECT_TRUE(server
                  ->Route("POST", "/v1/cpts/:cpts/handoff",
                          [](const Request& req) {
                            if (!req.json) {
                              return Response::Error(400, "bad_request", "a body is required");
                            }
                            if (!req.json->contains("gp")) {
                              return Response::Error(422, "invalid", "gp is missing", "data.gp");
                            }
                            return Response::Json(201, {{"echo", *req.json}});
                          })
                  .ok());
  EXPECT_TRUE(server
                  ->Route("GET", "/v1/boom",
                          [](const Request&) -> Response {
                            throw std::runtime_error("secret internal detail");
                          })
                  .ok());
  if (more_routes) more_routes(*server);
  Status started = server->Start();
  EXPECT_TRUE(started.ok()) << started.ToString();
  return server;
}

void ExpectErrorShape(HttpResult r, int status, const std::string& code) {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_THAT(r.headers["content-type"], HasSubstr("application/json"));
  ::cpts::Json j = ::cpts::Json::parse(r.body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.body;
  ASSERT_TRUE(j.contains("error")) << r.body;
  EXPECT_EQ(j["error"]["status"], status);
  EXPECT_EQ(j["error"]["code"], code);
  EXPECT_TRUE(j["error"]["message"].is_string());
  EXPECT_EQ(j["error"]["request_id"], r.headers["x-request-id"]);
  EXPECT_FALSE(r.headers["x-request-id"].empty());
}

// ---- routing and errors ----

TEST(HttpServerTest, RoutesPathParamsAndQueryToTheHandler) {
  auto server = StartServer();
  HttpResult r = Curl(server->port(), "/v1/cpts/cpts-haut-doubs/handoff?limit=5&state=open");
  ASSERT_EQ(r.status, 200) << r.body;
  ::cpts::Json j = r.Json();
  EXPECT_EQ(j["cpts"], "cpts-haut-doubs");
  EXPECT_EQ(j["route"], "/v1/cpts/:cpts/handoff");
  EXPECT_EQ(j["query"], (::cpts::Json{{"limit", "5"}, {"state", "open"}}));
  EXPECT_EQ(j["request_id"], r.headers["x-request-id"]);
  EXPECT_EQ(r.headers["cache-control"], "no-store");
}

TEST(HttpServerTest, KeepsAWellFormedClientRequestIdAndReplacesOthers) {
  auto server = StartServer();
  HttpResult kept = Curl(server->port(), "/v1/cpts/a/handoff", {"-H", "X-Request-Id: abc-123"});
  EXPECT_EQ(kept.headers["x-request-id"], "abc-123");
  HttpResult replaced =
      Curl(server->port(), "/v1/cpts/a/handoff", {"-H", "X-Request-Id: has spaces"});
  EXPECT_EQ(replaced.headers["x-request-id"].size(), 16u);
}

TEST(HttpServerTest, UnknownPathIs404InTheErrorShape) {
  auto server = StartServer();
  ExpectErrorShape(Curl(server->port(), "/v2/nothing"), 404, "not_found");
  ExpectErrorShape(Curl(server->port(), "/v1/cpts/a/handoff/"), 404, "not_found");
}

TEST(HttpServerTest, WrongMethodIs405WithAllow) {
  auto server = StartServer();
  HttpResult r = Curl(server->port(), "/v1/cpts/a/handoff", {"-X", "DELETE"});
  ExpectErrorShape(r, 405, "method_not_allowed");
  EXPECT_EQ(r.headers["allow"], "GET, HEAD, POST");
}

TEST(HttpServerTest, RepeatedQueryKeyIs400NamingIt) {
  auto server = StartServer();
  HttpResult r = Curl(server->port(), "/v1/cpts/a/handoff?limit=1&limit=2");
  ExpectErrorShape(r, 400, "bad_request");
  EXPECT_EQ(r.Json()["error"]["field"], "query.limit");
}

TEST(HttpServerTest, JsonBodyReachesTheHandlerAndItsErrorsKeepTheShape) {
  auto server = StartServer();
  std::vector<std::string> json = {"-H", "Content-Type: application/json", "--data-binary", "@-"};
  HttpResult ok = Curl(server->port(), "/v1/cpts/a/handoff", json, R"({"gp":"x"})");
  EXPECT_EQ(ok.status, 201);
  EXPECT_EQ(ok.Json()["echo"]["gp"], "x");
  HttpResult missing = Curl(server->port(), "/v1/cpts/a/handoff", json, R"({"other":1})");
  ExpectErrorShape(missing, 422, "invalid");
  EXPECT_EQ(missing.Json()["error"]["field"], "data.gp");
}

TEST(HttpServerTest, MalformedOrDuplicateKeyJsonIs400WithBytePosition) {
  auto server = StartServer();
  std::vector<std::string> json = {"-H", "Content-Type: application/json", "--data-binary", "@-"};
  HttpResult bad = Curl(server->port(), "/v1/cpts/a/handoff", json, R"({"gp": )");
  ExpectErrorShape(bad, 400, "bad_request");
  EXPECT_THAT(bad.Json()["error"]["message"].get<std::string>(), HasSubstr("at byte"));
  HttpResult twice = Curl(server->port(), "/v1/cpts/a/handoff", json, R"({"gp":1,"gp":2})");
  ExpectErrorShape(twice, 400, "bad_request");
  EXPECT_THAT(twice.Json()["error"]["message"].get<std::string>(), HasSubstr("twice"));
}

TEST(HttpServerTest, PostWithoutALengthHasNoBodyAndGetRefusesOne) {
  auto server = StartServer();
  // httplib 0.11 alone would wait for the connection to close (read_timeout) before answering.
  HttpResult r = Curl(server->port(), "/v1/cpts/a/handoff", {"-X", "POST"});
  ExpectErrorShape(r, 400, "bad_request");
  EXPECT_EQ(r.Json()["error"]["message"], "a body is required");
  HttpResult get = Curl(server->port(), "/v1/cpts/a/handoff",
                        {"-X", "GET", "-H", "Content-Type: application/json", "--data", "{}"});
  ExpectErrorShape(get, 400, "bad_request");
}

TEST(HttpServerTest, NonJsonBodyIs415) {
  auto server = StartServer();
  HttpResult r = Curl(server->port(), "/v1/cpts/a/handoff",
                      {"-H", "Content-Type: text/plain", "--data-binary", "@-"}, "gp=x");
  ExpectErrorShape(r, 415, "unsupported_media_type");
}

TEST(HttpServerTest, BodyOverTheLimitIs413NamingIt) {
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  auto server = StartServer(options);
  std::string big = R"({"gp":")" + std::string(2000, 'x') + R"("})";
  HttpResult r = Curl(server->port(), "/v1/cpts/a/handoff",
                      {"-H", "Content-Type: application/json", "--data-binary", "@-"}, big);
  ExpectErrorShape(r, 413, "payload_too_large");
  EXPECT_THAT(r.Json()["error"]["message"].get<std::string>(), HasSubstr("1024 bytes"));
  // Chunked, so no Content-Length announces it: the limit holds while reading.
  HttpResult chunked = Curl(server->port(), "/v1/cpts/a/handoff",
                            {"-H", "Content-Type: application/json", "-H",
                             "Transfer-Encoding: chunked", "--data-binary", "@-"},
                            big);
  ExpectErrorShape(chunked, 413, "payload_too_large");
}

TEST(HttpServerTest, HeadersOverTheLimitAre431) {
  HttpServerOptions options;
  options.max_header_bytes = 2048;
  auto server = StartServer(options);
  HttpResult r =
      Curl(server->port(), "/v1/cpts/a/handoff", {"-H", "X-Big: " + std::string(3000, 'a')});
  ExpectErrorShape(r, 431, "request_header_fields_too_large");
  // Many small headers count together.
  std::vector<std::string> many;
  for (int i = 0; i < 100; ++i) {
    many.push_back("-H");
    many.push_back("X-H" + std::to_string(i) + ": " + std::string(30, 'b'));
  }
  ExpectErrorShape(Curl(server->port(), "/v1/cpts/a/handoff", many), 431,
                   "request_header_fields_too_large");
  // One header line over httplib's own line limit, under ours.
  options.max_header_bytes = 64 * 1024;
  auto roomy = StartServer(options);
  ExpectErrorShape(
      Curl(roomy->port(), "/v1/cpts/a/handoff", {"-H", "X-Big: " + std::string(9000, 'a')}), 431,
      "request_header_fields_too_large");
}

TEST(HttpServerTest, HandlerExceptionIs500WithoutItsDetails) {
  auto server = StartServer();
  HttpResult r = Curl(server->port(), "/v1/boom");
  ExpectErrorShape(r, 500, "internal");
  EXPECT_THAT(r.body, Not(HasSubstr("secret")));
  EXPECT_EQ(r.headers.count("exception_what"), 0u);
  EXPECT_EQ(Curl(server->port(), "/v1/cpts/a/handoff").status, 200);  // still serving
}

TEST(HttpServerTest, PreHandlerRefusesBeforeTheHandlerAndObserverSeesRoutePatterns) {
  RecordingObserver observer;
  std::atomic<int> handled{0};
  auto server = std::make_unique<HttpServer>(HttpServerOptions{});
  ASSERT_TRUE(server
                  ->Route("GET", "/v1/cpts/:cpts/worklist",
                          [&](const Request&) {
                            ++handled;
                            return Response::Json(200, ::cpts::Json::object());
                          })
                  .ok());
  server->SetPreHandler([](const Request& req) -> std::optional<Response> {
    if (req.Header("Authorization") == "Bearer good") return std::nullopt;
    Response r = Response::Error(401, "unauthorized", "a bearer token is required");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  });
  server->SetObserver(&observer);
  ASSERT_TRUE(server->Start().ok());
  HttpResult refused = Curl(server->port(), "/v1/cpts/a/worklist");
  ExpectErrorShape(refused, 401, "unauthorized");
  EXPECT_EQ(refused.headers["www-authenticate"], "Bearer");
  EXPECT_EQ(handled, 0);
  EXPECT_EQ(
      Curl(server->port(), "/v1/cpts/a/worklist", {"-H", "Authorization: Bearer good"}).status,
      200);
  Curl(server->port(), "/nowhere");
  server->Stop();
  EXPECT_THAT(observer.seen(),
              ::testing::ElementsAre("GET /v1/cpts/:cpts/worklist 401",
                                     "GET /v1/cpts/:cpts/worklist 200", "GET - 404"));
}

TEST(HttpServerTest, AccessLogHasThePatternNeverThePathValuesNorTheQuery) {
  auto server = StartServer();
  ::testing::internal::CaptureStderr();
  Curl(server->port(), "/v1/cpts/cpts-secret-value/handoff?patient=1234567890123",
       {"-H", "X-Request-Id: log-test-1"});
  server->Stop();
  std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(log, HasSubstr("method=GET route=/v1/cpts/:cpts/handoff status=200"));
  EXPECT_THAT(log, HasSubstr("request_id=log-test-1"));
  EXPECT_THAT(log, Not(HasSubstr("cpts-secret-value")));
  EXPECT_THAT(log, Not(HasSubstr("1234567890123")));
}

TEST(HttpServerTest, ALiteralSegmentWinsOverAParamWhateverTheOrder) {
  auto server = StartServer({}, [](HttpServer& s) {
    ASSERT_TRUE(s.Route("GET", "/v1/cpts/:cpts/stats", [](const Request&) {
                   return Response::Json(200, {{"which", "param"}});
                 }).ok());
    ASSERT_TRUE(s.Route("GET", "/v1/cpts/national/stats", [](const Request&) {
                   return Response::Json(200, {{"which", "literal"}});
                 }).ok());
  });
  EXPECT_EQ(Curl(server->port(), "/v1/cpts/national/stats").Json()["which"], "literal");
  EXPECT_EQ(Curl(server->port(), "/v1/cpts/vesoul/stats").Json()["which"], "param");
}

TEST(HttpServerTest, RejectsARouteTwiceAndMalformedPatterns) {
  HttpServer server(HttpServerOptions{});
  EXPECT_TRUE(server.Route("GET", "/v1/x/:id", [](const Request&) { return Response{}; }).ok());
  EXPECT_FALSE(server.Route("GET", "/v1/x/:other", [](const Request&) { return Response{}; }).ok());
  EXPECT_FALSE(server.Route("GET", "/v1//x", [](const Request&) { return Response{}; }).ok());
  EXPECT_FALSE(server.Route("GET", "/v1/:a/:a", [](const Request&) { return Response{}; }).ok());
  EXPECT_FALSE(server.Route("BREW", "/v1/y", [](const Request&) { return Response{}; }).ok());
}

// ---- connections, slow clients, stop ----

TEST(HttpServerTest, ConnectionsBeyondTheLimitGet503WithRetryAfter) {
  HttpServerOptions options;
  options.worker_threads = 2;
  options.max_connections = 2;
  auto server = StartServer(options);
  {
    RawClient a(server->port()), b(server->port());
    ASSERT_TRUE(a.connected() && b.connected());
    std::this_thread::sleep_for(200ms);  // both accepted and counted
    HttpResult r = Curl(server->port(), "/v1/cpts/a/handoff");
    ExpectErrorShape(r, 503, "unavailable");
    EXPECT_EQ(r.headers["retry-after"], "1");
  }
  // Once they are gone, there is room again.
  HttpResult after;
  for (int i = 0; i < 50 && after.status != 200; ++i) {
    std::this_thread::sleep_for(50ms);
    after = Curl(server->port(), "/v1/cpts/a/handoff");
  }
  EXPECT_EQ(after.status, 200);
}

TEST(HttpServerTest, SlowlorisClientsDoNotBlockANormalRequestAndAreCutAtTheHeadDeadline) {
  HttpServerOptions options;
  options.worker_threads = 4;
  options.head_timeout = 1500ms;
  auto server = StartServer(options);
  RawClient slow1(server->port()), slow2(server->port());
  ASSERT_TRUE(slow1.Send("GET /v1/cpts/a/handoff HTTP/1.1\r\nHost: x\r\nX-Slow: "));
  ASSERT_TRUE(slow2.Send("GET /v1/cpts/a/hand"));
  // A byte now and then keeps each read under read_timeout; the head deadline still holds.
  std::atomic<bool> done{false};
  std::thread trickle([&] {
    while (!done && slow1.Send("a")) std::this_thread::sleep_for(100ms);
  });
  EXPECT_EQ(Curl(server->port(), "/v1/cpts/a/handoff").status, 200);
  std::string answer = slow1.ReadAll(5s);
  done = true;
  trickle.join();
  EXPECT_THAT(answer, HasSubstr("HTTP/1.1 408"));
  EXPECT_THAT(answer, HasSubstr("request_timeout"));
  EXPECT_TRUE(slow1.closed());
  EXPECT_THAT(slow2.ReadAll(5s), HasSubstr("HTTP/1.1 408"));
}

TEST(HttpServerTest, StopLetsAnInFlightRequestFinishThenRefusesConnections) {
  std::atomic<bool> entered{false};
  auto server = StartServer({}, [&](HttpServer& s) {
    ASSERT_TRUE(s.Route("GET", "/v1/slow", [&](const Request&) {
                   entered = true;
                   std::this_thread::sleep_for(700ms);
                   return Response::Json(200, {{"done", true}});
                 }).ok());
  });
  int port = server->port();
  HttpResult in_flight;
  std::thread client([&] { in_flight = Curl(port, "/v1/slow"); });
  while (!entered) std::this_thread::sleep_for(10ms);
  server->Stop();
  client.join();
  EXPECT_EQ(in_flight.status, 200);
  EXPECT_EQ(in_flight.Json()["done"], true);
  EXPECT_FALSE(RawClient(port).connected());
  server->Stop();  // idempotent
}

// ---- SSE ----

TEST(SseTest, FramesIdTypeAndMultiLineData) {
  EXPECT_EQ(FormatSseEvent({"7", "handoff", "line1\nline2\r\nline3\rline4"}),
            "id: 7\nevent: handoff\ndata: line1\ndata: line2\ndata: line3\ndata: line4\n\n");
  EXPECT_EQ(FormatSseEvent({"", "", ""}), "data: \n\n");
  EXPECT_EQ(FormatSseEvent({"1\n2", "a\rb", "x\n"}), "id: 12\nevent: ab\ndata: x\ndata: \n\n");
  EXPECT_EQ(FormatSseComment("heartbeat"), ": heartbeat\n\n");
}

TEST(SseTest, BufferRefusesAnIdItNoLongerRetains) {
  SseBuffer buffer(2);
  for (int i = 0; i < 4; ++i) buffer.Publish("t", std::to_string(i));
  std::vector<SseEvent> events;
  auto soon = std::chrono::steady_clock::now() + 10ms;
  EXPECT_FALSE(buffer.Source()("1", soon, {}, &events).ok());
  EXPECT_FALSE(buffer.Source()("x", soon, {}, &events).ok());
  EXPECT_FALSE(buffer.Source()("9", soon, {}, &events).ok());
  ASSERT_TRUE(buffer.Source()("2", soon, {}, &events).ok());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].id, "3");
}

// A curl -N reading a stream line by line.
class StreamClient {
 public:
  StreamClient(int port, const std::string& path, const std::string& last_event_id = "") {
    std::vector<std::string> argv = {"curl", "-sN", "--max-time", "20"};
    if (!last_event_id.empty()) {
      argv.push_back("-H");
      argv.push_back("Last-Event-ID: " + last_event_id);
    }
    argv.push_back("http://127.0.0.1:" + std::to_string(port) + path);
    auto child = test::ChildProcess::Spawn(argv);
    EXPECT_TRUE(child.ok()) << child.status().ToString();
    if (child.ok()) child_ = std::move(child).value();
  }
  // The next line, "<eof>" when the stream ended, "<timeout>".
  std::string Line(std::chrono::milliseconds timeout = 5s) {
    if (!child_) return "<eof>";
    Result<std::string> line = child_->ReadLine(timeout);
    if (line.ok()) return *line;
    return line.status().code() == StatusCode::kTimedOut ? "<timeout>" : "<eof>";
  }
  // The lines of the next event (or comment), without the blank line ending it.
  std::vector<std::string> Event() {
    std::vector<std::string> lines;
    for (std::string l = Line(); l != "" && l != "<eof>" && l != "<timeout>"; l = Line()) {
      lines.push_back(l);
    }
    return lines;
  }
  test::ChildProcess& child() { return *child_; }

 private:
  std::unique_ptr<test::ChildProcess> child_;
};

std::unique_ptr<HttpServer> StartFeedServer(SseBuffer& buffer, HttpServerOptions options = {}) {
  return StartServer(options, [&](HttpServer& s) {
    ASSERT_TRUE(s.Route("GET", "/v1/cpts/:cpts/feed", [&](const Request& req) {
                   return Response::EventStream(buffer.Source(),
                                                req.Header("Last-Event-ID").value_or(""));
                 }).ok());
  });
}

using Lines = std::vector<std::string>;

TEST(SseTest, StreamsEventsLiveAndResumesAfterAReconnectWithLastEventId) {
  SseBuffer buffer(100);
  buffer.Publish("handoff", R"({"n":1})");
  buffer.Publish("handoff", "two\nlines");
  auto server = StartFeedServer(buffer);
  {
    StreamClient first(server->port(), "/v1/cpts/a/feed");
    EXPECT_EQ(first.Event(), (Lines{": open"}));
    EXPECT_EQ(first.Event(), (Lines{"id: 1", "event: handoff", R"(data: {"n":1})"}));
    EXPECT_EQ(first.Event(), (Lines{"id: 2", "event: handoff", "data: two", "data: lines"}));
    buffer.Publish("handoff", "3");  // while connected
    EXPECT_EQ(first.Event(), (Lines{"id: 3", "event: handoff", "data: 3"}));
  }  // the client goes away (killed)
  buffer.Publish("handoff", "4");
  buffer.Publish("handoff", "5");
  StreamClient again(server->port(), "/v1/cpts/a/feed", "3");
  EXPECT_EQ(again.Event(), (Lines{": open"}));
  EXPECT_EQ(again.Event(), (Lines{"id: 4", "event: handoff", "data: 4"}));
  EXPECT_EQ(again.Event(), (Lines{"id: 5", "event: handoff", "data: 5"}));
}

TEST(SseTest, IdleStreamSendsHeartbeats) {
  SseBuffer buffer(10);
  HttpServerOptions options;
  options.sse_heartbeat = 200ms;
  auto server = StartFeedServer(buffer, options);
  StreamClient client(server->port(), "/v1/cpts/a/feed");
  EXPECT_EQ(client.Event(), (Lines{": open"}));
  EXPECT_EQ(client.Event(), (Lines{": heartbeat"}));
  EXPECT_EQ(client.Event(), (Lines{": heartbeat"}));
}

TEST(SseTest, StopEndsStreamsCleanly) {
  SseBuffer buffer(10);
  auto server = StartFeedServer(buffer);
  StreamClient client(server->port(), "/v1/cpts/a/feed");
  EXPECT_EQ(client.Event(), (Lines{": open"}));
  auto start = std::chrono::steady_clock::now();
  server->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);  // not the stop_timeout: woken
  EXPECT_EQ(client.Line(), "<eof>");
  Result<int> status = client.child().Wait(5s);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(*status, 0) << "curl saw an unclean end of the chunked body";
}

TEST(SseTest, StreamsBeyondTheLimitGet503) {
  SseBuffer buffer(10);
  HttpServerOptions options;
  options.max_event_streams = 1;
  auto server = StartFeedServer(buffer, options);
  StreamClient first(server->port(), "/v1/cpts/a/feed");
  EXPECT_EQ(first.Event(), (Lines{": open"}));
  HttpResult second = Curl(server->port(), "/v1/cpts/a/feed");
  ExpectErrorShape(second, 503, "unavailable");
  EXPECT_EQ(second.headers["retry-after"], "1");
}

TEST(SseTest, AStreamWhoseClientWentAwayIsClosedAndFreesItsPlace) {
  SseBuffer buffer(10);
  HttpServerOptions options;
  options.max_event_streams = 1;
  options.sse_heartbeat = 100ms;  // the failed heartbeat write finds the client gone
  auto server = StartFeedServer(buffer, options);
  {
    StreamClient gone(server->port(), "/v1/cpts/a/feed");
    EXPECT_EQ(gone.Event(), (Lines{": open"}));
  }  // killed
  std::vector<std::string> opened;
  for (int i = 0; i < 50 && opened != Lines{": open"}; ++i) {
    std::this_thread::sleep_for(100ms);
    StreamClient next(server->port(), "/v1/cpts/a/feed");
    opened = next.Event();
  }
  EXPECT_EQ(opened, (Lines{": open"}));
}

// ---- malformed input ----

TEST(HttpServerTest, SurvivesMalformedAndRandomInput) {
  HttpServerOptions options;
  options.head_timeout = 1s;
  options.read_timeout = 1s;
  options.access_log = false;
  auto server = StartServer(options);
  const int port = server->port();
  auto exchange = [&](const std::string& bytes) {
    RawClient c(port);
    c.Send(bytes);
    c.CloseWrite();
    return c.ReadAll(3s);
  };
  EXPECT_THAT(exchange("GARBAGE\r\n\r\n"), HasSubstr("HTTP/1.1 400"));
  EXPECT_THAT(exchange("GET /v1/cpts/a/handoff HTTP/1.1\r\nHost"), Not(HasSubstr("200 OK")));
  EXPECT_THAT(exchange("POST /v1/cpts/a/handoff HTTP/1.1\r\nContent-Type: application/json\r\n"
                       "Transfer-Encoding: chunked\r\n\r\nZZZ\r\n{}\r\n0\r\n\r\n"),
              HasSubstr("HTTP/1.1 400"));
  EXPECT_THAT(exchange("POST /v1/cpts/a/handoff HTTP/1.1\r\nContent-Type: application/json\r\n"
                       "Content-Length: 100\r\n\r\n{\"gp\""),
              Not(HasSubstr("HTTP/1.1 2")));
  // Framing two parsers could read differently (request smuggling).
  EXPECT_THAT(
      exchange("POST /v1/cpts/a/handoff HTTP/1.1\r\nContent-Type: application/json\r\n"
               "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"),
      HasSubstr("HTTP/1.1 400"));
  EXPECT_THAT(exchange("POST /v1/cpts/a/handoff HTTP/1.1\r\nContent-Type: application/json\r\n"
                       "Transfer-Encoding: gzip\r\n\r\n{}"),
              HasSubstr("HTTP/1.1 400"));
  EXPECT_THAT(exchange("POST /v1/cpts/a/handoff HTTP/1.1\r\nContent-Type: application/json\r\n"
                       "Content-Length: -1\r\n\r\n{}"),
              HasSubstr("HTTP/1.1 400"));
  EXPECT_THAT(exchange("GET /" + std::string(7900, 'a') + " HTTP/1.1\r\n\r\n"),
              HasSubstr("HTTP/1.1 404"));
  EXPECT_THAT(exchange("GET /" + std::string(20000, 'a') + " HTTP/1.1\r\n\r\n"),
              HasSubstr("HTTP/1.1 4"));
  EXPECT_THAT(exchange("GET /v1/cpts/%ff%00/handoff HTTP/1.1\r\n\r\n"), HasSubstr("HTTP/1.1 200"));
  std::mt19937 rng(42);
  for (int i = 0; i < 40; ++i) {
    std::string noise(rng() % 3000, '\0');
    for (char& c : noise) c = static_cast<char>(rng());
    if (i % 2 == 0) noise = "POST /v1/cpts/a/handoff HTTP/1.1\r\n" + noise;
    exchange(noise);
  }
  HttpResult r = Curl(port, "/v1/cpts/a/handoff");
  EXPECT_EQ(r.status, 200);
}

}  // namespace
}  // namespace cpts::api
