#include "connectors/api/http_server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <set>
#include <stop_token>
#include <thread>

#include "events/json_input.h"

// How cpp-httplib is used (Debian's 0.11.4, a compiled library: its limits are fixed at its
// build, see docs/api.md). httplib parses requests, reads bodies (chunked too, with the body
// limit), runs the handlers and writes responses: Server::process_request, once per request.
// Everything around it is ours: the listening socket, accepting with a connection limit, the
// worker threads, the keep-alive loop, and the Stream it reads from, which enforces the header
// size limit and the slowloris deadlines that httplib 0.11 lacks. httplib's own routing is
// bypassed: one catch-all handler per method hands every request to our route table.

namespace cpts::api {
namespace {

using Clock = std::chrono::steady_clock;

// httplib refuses a request line longer than this with 414, and fails on a longer header line;
// we answer 431 before a header line gets there.
constexpr size_t kHttplibLineLimit = 8000;
// Connections beyond the limit wait here for their 503; beyond this many, they are just closed.
constexpr size_t kMaxRejectQueue = 64;
// After an error, what a client still sends is read and dropped for this long before the close,
// so the close does not reset the connection before the client reads the error.
constexpr auto kLingerTime = std::chrono::milliseconds(500);
constexpr size_t kLingerBytes = 256 * 1024;

int MillisUntil(Clock::time_point deadline) {
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(ms, 0, 1 << 30));
}

// Polls `fd` for `events`, and `wake_fd` (the stop signal) when it is not -1. True when `fd` is
// ready; false on timeout, error or stop. A ready `fd` wins over a stop: bytes already there are
// served.
bool PollFd(int fd, short events, int wake_fd, Clock::time_point deadline) {
  while (true) {
    pollfd fds[2] = {{fd, events, 0}, {wake_fd, POLLIN, 0}};
    int n = ::poll(fds, wake_fd >= 0 ? 2 : 1, MillisUntil(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    if (fds[0].revents & (events | POLLHUP | POLLERR)) return true;
    return false;  // woken by stop
  }
}

std::string NewRequestId() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

// A client's X-Request-Id is kept when it cannot disturb a log line.
bool IsWellFormedRequestId(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
           c == ':';
  });
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// application/json or application/<something>+json, with any parameters (charset).
bool IsJsonContentType(std::string_view value) {
  value = value.substr(0, value.find(';'));
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (EqualsIgnoreCase(value, "application/json")) return true;
  constexpr std::string_view kPrefix = "application/", kSuffix = "+json";
  return value.size() > kPrefix.size() + kSuffix.size() &&
         EqualsIgnoreCase(value.substr(0, kPrefix.size()), kPrefix) &&
         EqualsIgnoreCase(value.substr(value.size() - kSuffix.size()), kSuffix);
}

// The reason phrase and machine-readable code of the error statuses the server produces.
struct StatusText {
  int status;
  const char* reason;
  const char* code;
};
constexpr StatusText kStatusTexts[] = {
    {400, "Bad Request", "bad_request"},
    {401, "Unauthorized", "unauthorized"},
    {403, "Forbidden", "forbidden"},
    {404, "Not Found", "not_found"},
    {405, "Method Not Allowed", "method_not_allowed"},
    {408, "Request Timeout", "request_timeout"},
    {413, "Payload Too Large", "payload_too_large"},
    {414, "URI Too Long", "uri_too_long"},
    {415, "Unsupported Media Type", "unsupported_media_type"},
    {416, "Range Not Satisfiable", "range_not_satisfiable"},
    {417, "Expectation Failed", "expectation_failed"},
    {431, "Request Header Fields Too Large", "request_header_fields_too_large"},
    {500, "Internal Server Error", "internal"},
    {503, "Service Unavailable", "unavailable"},
};

StatusText TextOf(int status) {
  for (const StatusText& t : kStatusTexts) {
    if (t.status == status) return t;
  }
  return {status, "Error", "error"};
}

std::string Dump(const ::cpts::Json& j) {
  // Replace, never throw, on invalid UTF-8 a handler may have echoed.
  return j.dump(-1, ' ', false, ::cpts::Json::error_handler_t::replace);
}

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> segments;
  if (path.empty() || path[0] != '/') return {""};  // never matches a pattern
  if (path == "/") return segments;
  path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    segments.emplace_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return segments;
}

// Reads and writes one connection's socket for httplib, with the limits httplib 0.11 lacks:
// the size of a request's head, and deadlines for its head and its body however slowly bytes
// trickle in (each wait is also bounded by read_timeout).
class ConnectionStream final : public httplib::Stream {
 public:
  ConnectionStream(int fd, int wake_fd, const HttpServerOptions& options)
      : fd_(fd), wake_fd_(wake_fd), options_(options) {}

  void BeginRequest() {
    in_head_ = true;
    head_bytes_ = line_bytes_ = lines_ = 0;
    last_four_ = 0;
    head_too_large_ = false;
    head_timed_out_ = false;
    deadline_ = Clock::now() + options_.head_timeout;
  }
  bool HasBuffered() const { return pos_ < len_; }
  bool head_too_large() const { return head_too_large_; }
  // The head had begun but stopped arriving (read_timeout, head_timeout or Stop()).
  bool head_timed_out() const { return head_timed_out_; }

  bool is_readable() const override {
    return HasBuffered() || PollFd(fd_, POLLIN, -1, ReadDeadline());
  }
  bool is_writable() const override {
    return PollFd(fd_, POLLOUT, -1, Clock::now() + options_.write_timeout);
  }

  ssize_t read(char* ptr, size_t size) override {
    if (size == 0) return 0;
    if (pos_ == len_) {
      // While the head is still coming, a stop ends the wait: the request is not in flight yet.
      if (!PollFd(fd_, POLLIN, in_head_ ? wake_fd_ : -1, ReadDeadline())) {
        head_timed_out_ = in_head_ && head_bytes_ > 0;
        return -1;
      }
      ssize_t n;
      do {
        n = ::recv(fd_, buffer_, sizeof buffer_, 0);
      } while (n < 0 && errno == EINTR);
      if (n <= 0) return n < 0 ? -1 : 0;
      pos_ = 0;
      len_ = static_cast<size_t>(n);
    }
    size_t n = std::min(size, len_ - pos_);
    if (in_head_ && !ScanHead(&n)) return -1;
    std::memcpy(ptr, buffer_ + pos_, n);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable()) return -1;
    ssize_t n;
    do {
      n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? -1 : n;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    Address(::getpeername, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    Address(::getsockname, ip, port);
  }
  socket_t socket() const override { return fd_; }

 private:
  Clock::time_point ReadDeadline() const {
    return std::min(deadline_, Clock::now() + options_.read_timeout);
  }

  // Counts the head's bytes among the next *n buffered ones; stops *n at the head's end (the
  // body gets the body deadline). False once the head is over its limits.
  bool ScanHead(size_t* n) {
    for (size_t i = 0; i < *n; ++i) {
      char c = buffer_[pos_ + i];
      ++head_bytes_;
      ++line_bytes_;
      last_four_ = (last_four_ << 8) | static_cast<unsigned char>(c);
      // The request line is left to httplib's own 414; header lines must stay under its limit.
      if (head_bytes_ > options_.max_header_bytes ||
          (lines_ > 0 && line_bytes_ > kHttplibLineLimit)) {
        head_too_large_ = true;
        return false;
      }
      if (c == '\n') {
        ++lines_;
        line_bytes_ = 0;
      }
      if (last_four_ == 0x0d0a0d0a) {  // "\r\n\r\n": the head is complete
        in_head_ = false;
        deadline_ = Clock::now() + options_.body_timeout;
        *n = i + 1;
        return true;
      }
    }
    return true;
  }

  template <typename GetName>
  void Address(GetName get_name, std::string& ip, int& port) const {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    char host[NI_MAXHOST] = "";
    char serv[NI_MAXSERV] = "";
    if (get_name(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0 &&
        ::getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host, sizeof host, serv, sizeof serv,
                      NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
      ip = host;
      port = std::atoi(serv);
    }
  }

  const int fd_;
  const int wake_fd_;
  const HttpServerOptions& options_;
  char buffer_[4096];
  size_t pos_ = 0;
  size_t len_ = 0;
  bool in_head_ = false;
  size_t head_bytes_ = 0;
  size_t line_bytes_ = 0;
  size_t lines_ = 0;
  uint32_t last_four_ = 0;
  bool head_too_large_ = false;
  bool head_timed_out_ = false;
  Clock::time_point deadline_ = Clock::now();
};

struct RouteEntry {
  std::string method;
  std::string pattern;
  std::vector<std::string> segments;  // literal, or ":name"
  Handler handler;
};

// What the server knows of the request being served on this thread. httplib calls our hooks
// (pre-routing, handler, error handler, logger) on the thread that called process_request, one
// request at a time, so a thread-local pointer carries it between them.
struct RequestContext {
  Clock::time_point start = Clock::now();
  ConnectionStream* stream = nullptr;
  Request request;
  const RouteEntry* route = nullptr;
  bool answered = false;     // a response was written (the logger ran)
  bool close_after = false;  // the connection cannot serve another request
  int status = 0;
};
thread_local RequestContext* t_context = nullptr;

}  // namespace

// ---- Request and Response -------------------------------------------------------------------

std::optional<std::string> Request::Param(std::string_view name) const {
  auto it = params.find(std::string(name));
  if (it == params.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> Request::Query(std::string_view key) const {
  auto it = query.find(std::string(key));
  if (it == query.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> Request::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return value;
  }
  return std::nullopt;
}

Response Response::Json(int status, ::cpts::Json body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response Response::Text(int status, std::string content_type, std::string body) {
  Response r;
  r.status = status;
  r.text = std::move(body);
  r.content_type = std::move(content_type);
  return r;
}

Response Response::NoContent() {
  Response r;
  r.status = 204;
  return r;
}

Response Response::Error(int status, std::string code, std::string message, std::string field) {
  ::cpts::Json error = {
      {"status", status}, {"code", std::move(code)}, {"message", std::move(message)}};
  if (!field.empty()) error["field"] = std::move(field);
  return Json(status, {{"error", std::move(error)}});
}

Response Response::EventStream(SseSource source, std::string last_event_id) {
  Response r;
  r.event_source = std::move(source);
  r.last_event_id = std::move(last_event_id);
  return r;
}

// ---- The server -----------------------------------------------------------------------------

class HttpServer::Impl : public httplib::Server {
 public:
  explicit Impl(HttpServerOptions options) : options_(std::move(options)) {
    set_payload_max_length(options_.max_body_bytes);
    // Only for the Keep-Alive header httplib writes; our loop enforces both.
    set_keep_alive_max_count(options_.max_requests_per_connection);
    set_keep_alive_timeout(std::max<time_t>(
        1, std::chrono::duration_cast<std::chrono::seconds>(options_.idle_timeout).count()));
    set_pre_routing_handler(
        [this](const httplib::Request& req, httplib::Response& res) { return PreRoute(req, res); });
    httplib::Server::Handler dispatch = [this](const httplib::Request& req,
                                               httplib::Response& res) {
      Dispatch(req, res, req.body);
    };
    // Methods with a body read it through a ContentReader: httplib 0.11 applies its payload
    // limit to Content-Length only, never to a chunked body, so we count the bytes ourselves.
    httplib::Server::HandlerWithContentReader dispatch_body =
        [this](const httplib::Request& req, httplib::Response& res,
               const httplib::ContentReader& reader) { ReadBodyAndDispatch(req, res, reader); };
    Get(".*", dispatch);  // GET and HEAD
    Options(".*", dispatch);
    Post(".*", dispatch_body);
    Put(".*", dispatch_body);
    Patch(".*", dispatch_body);
    Delete(".*", dispatch_body);
    HandlerWithResponse on_error = [this](const httplib::Request& req, httplib::Response& res) {
      return OnError(req, res);
    };
    set_error_handler(on_error);
    set_exception_handler([this](const httplib::Request&, httplib::Response& res,
                                 std::exception_ptr) { RenderError(res, 500, "internal error"); });
    set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      OnAnswered(req, res);
    });
  }

  ~Impl() override { Stop(); }

  Status AddRoute(std::string_view method, std::string_view pattern, api::Handler handler) {
    if (started_) return Status::FailedPrecondition("routes are added before Start()");
    static const std::set<std::string, std::less<>> kMethods = {"GET",   "POST",   "PUT",
                                                                "PATCH", "DELETE", "OPTIONS"};
    if (!kMethods.contains(method)) {
      return Status::InvalidArgument("unsupported method " + std::string(method));
    }
    RouteEntry entry{std::string(method), std::string(pattern), SplitPath(pattern),
                     std::move(handler)};
    std::set<std::string> names;
    for (const std::string& s : entry.segments) {
      if (s.empty() || (s[0] == ':' && (s.size() == 1 || !names.insert(s).second))) {
        return Status::InvalidArgument("route pattern " + entry.pattern +
                                       " has an empty segment or a repeated or unnamed :param");
      }
    }
    auto shape = [](const std::vector<std::string>& segments) {
      std::vector<std::string> out = segments;
      for (std::string& s : out) {
        if (s[0] == ':') s = ":";
      }
      return out;
    };
    for (const RouteEntry& r : routes_) {
      if (r.method == entry.method && shape(r.segments) == shape(entry.segments)) {
        return Status::InvalidArgument("route " + entry.method + " " + entry.pattern +
                                       " is given twice");
      }
    }
    routes_.push_back(std::move(entry));
    return Status::Ok();
  }

  void SetPreHandler(PreHandler h) { pre_handler_ = std::move(h); }
  void SetObserver(HttpObserver* o) { observer_ = o; }
  int port() const { return port_; }

  Status Start() {
    if (started_) return Status::FailedPrecondition("the HTTP server is already started");
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    std::string port = std::to_string(options_.port);
    if (int rc = ::getaddrinfo(options_.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
      return Status::InvalidArgument("cannot resolve the HTTP listen address " + options_.host +
                                     ": " + gai_strerror(rc));
    }
    int fd = ::socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, found->ai_protocol);
    int one = 1;
    bool ok = fd >= 0 && ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
              ::bind(fd, found->ai_addr, found->ai_addrlen) == 0 && ::listen(fd, 128) == 0;
    int error = errno;
    ::freeaddrinfo(found);
    if (!ok) {
      if (fd >= 0) ::close(fd);
      return Status::Unavailable("cannot listen on " + options_.host + ":" + port + ": " +
                                 std::strerror(error) + " (is the port in use?)");
    }
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                                             : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
    listen_fd_ = fd;
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    // httplib ends chunked responses once svr_sock_ is invalid; we never use it otherwise, and
    // end our streams through stop_ instead.
    svr_sock_ = fd;
    started_ = true;
    for (size_t i = 0; i < std::max<size_t>(1, options_.worker_threads); ++i) {
      workers_.emplace_back([this] { WorkerLoop(); });
    }
    rejecter_ = std::thread([this] { RejectLoop(); });
    acceptor_ = std::thread([this] { AcceptLoop(); });
    return Status::Ok();
  }

  void Stop() {
    if (!started_ || stopped_) return;
    stopped_ = true;
    stopping_ = true;
    stop_.request_stop();  // wakes the SSE sources
    uint64_t one = 1;
    [[maybe_unused]] ssize_t w = ::write(wake_fd_, &one, sizeof one);  // wakes every poll
    acceptor_.join();
    ::close(listen_fd_);
    {
      std::unique_lock lock(mu_);
      work_cv_.notify_all();
      reject_cv_.notify_all();
      if (!idle_cv_.wait_for(lock, options_.stop_timeout, [&] { return connections_ == 0; })) {
        // Requests still running after the grace period: cut their connections so their reads
        // and writes fail. A handler stuck in a computation still holds its worker.
        std::fprintf(stderr, "http: stopping: cutting %zu connection(s) still open after %lld ms\n",
                     active_fds_.size(), static_cast<long long>(options_.stop_timeout.count()));
        for (int fd : active_fds_) ::shutdown(fd, SHUT_RDWR);
      }
      exit_ = true;
    }
    work_cv_.notify_all();
    reject_cv_.notify_all();
    for (std::thread& t : workers_) t.join();
    rejecter_.join();
    ::close(wake_fd_);
  }

 private:
  // ---- threads ----

  void AcceptLoop() {
    while (!stopping_) {
      pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 && errno != EINTR) break;
      if (stopping_) break;
      if (!(fds[0].revents & POLLIN)) continue;
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        // Out of descriptors: wait a little rather than spin on a listening socket that stays
        // readable.
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        continue;
      }
      // httplib writes a response's head and body separately: without TCP_NODELAY, Nagle's
      // algorithm holds the body until the client's delayed ACK (40 ms) on every kept-alive
      // request after the first (measured: 44 ms p50 with wrk, 1 ms with curl).
      const int one = 1;
      (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // best effort
      std::lock_guard lock(mu_);
      if (connections_ >= options_.max_connections) {
        if (reject_queue_.size() < kMaxRejectQueue) {
          reject_queue_.push_back(fd);
          reject_cv_.notify_one();
        } else {
          ::close(fd);
        }
        continue;
      }
      ++connections_;
      queue_.push_back(fd);
      work_cv_.notify_one();
    }
  }

  void WorkerLoop() {
    while (true) {
      int fd;
      {
        std::unique_lock lock(mu_);
        work_cv_.wait(lock, [&] { return !queue_.empty() || exit_; });
        if (queue_.empty()) return;
        fd = queue_.front();
        queue_.pop_front();
        active_fds_.insert(fd);
      }
      // A connection accepted but not yet served when Stop() came is closed unanswered: it
      // holds no request in flight.
      if (!stopping_) Serve(fd);
      {
        // Closed under the lock so that Stop() never shuts down a reused descriptor.
        std::lock_guard lock(mu_);
        active_fds_.erase(fd);
        ::close(fd);
        --connections_;
      }
      idle_cv_.notify_all();
    }
  }

  // Connections over the limit get a 503 from this one thread, never from a worker.
  void RejectLoop() {
    while (true) {
      int fd;
      {
        std::unique_lock lock(mu_);
        reject_cv_.wait(lock, [&] { return !reject_queue_.empty() || exit_ || stopping_; });
        if (reject_queue_.empty()) return;
        fd = reject_queue_.front();
        reject_queue_.pop_front();
      }
      auto start = Clock::now();
      std::string id = NewRequestId();
      // Let the request arrive first: closing on unread bytes would reset the connection.
      PollFd(fd, POLLIN, -1, Clock::now() + std::chrono::milliseconds(100));
      WriteRaw(fd, 503,
               ErrorBody(503,
                         "too many connections: at most " +
                             std::to_string(options_.max_connections) + " at once",
                         id),
               id, true);
      LingerClose(fd);
      ::close(fd);
      Record("-", "-", 503, Clock::now() - start, id);
    }
  }

  // ---- one connection ----

  void Serve(int fd) {
    ConnectionStream stream(fd, wake_fd_, options_);
    bool linger = false;
    for (size_t served = 0; served < options_.max_requests_per_connection && !stopping_; ++served) {
      if (!stream.HasBuffered() &&
          !PollFd(fd, POLLIN, wake_fd_, Clock::now() + options_.idle_timeout)) {
        break;  // idle too long, or stopping
      }
      RequestContext ctx;
      ctx.stream = &stream;
      ctx.request.request_id = NewRequestId();
      t_context = &ctx;
      stream.BeginRequest();
      bool close = served + 1 == options_.max_requests_per_connection || stopping_;
      bool closed_by_client = false;
      bool ok = process_request(stream, close, closed_by_client,
                                [](httplib::Request& req) { SetUpRequest(req); });
      t_context = nullptr;
      if (!ctx.answered && (stream.head_too_large() || stream.head_timed_out())) {
        // The request line itself was too long or too slow: httplib gave up without answering.
        int status = stream.head_too_large() ? 431 : 408;
        WriteRaw(fd, status, ErrorBody(status, HeadErrorMessage(stream), ctx.request.request_id),
                 ctx.request.request_id, false);
        Record("-", "-", status, Clock::now() - ctx.start, ctx.request.request_id);
        ctx.close_after = true;
      }
      if (ctx.close_after) linger = true;
      if (!ok || closed_by_client || close || ctx.close_after) break;
    }
    if (linger) LingerClose(fd);
  }

  // Called by httplib once the head is parsed, before routing.
  static void SetUpRequest(httplib::Request& req) {
    // Without Content-Length or Transfer-Encoding a request has no body (RFC 9112 6.3);
    // httplib 0.11 would read a POST's body until the connection closes.
    if (!req.has_header("Content-Length") && !req.has_header("Transfer-Encoding")) {
      req.set_header("Content-Length", "0");
    }
    // httplib would cut a JSON document to a Range and still answer 200.
    req.ranges.clear();
  }

  // ---- httplib hooks ----

  HandlerResponse PreRoute(const httplib::Request& hreq, httplib::Response& hres) {
    RequestContext& ctx = *t_context;
    Request& req = ctx.request;
    req.method = hreq.method;
    req.path = hreq.path;
    for (const auto& [key, value] : hreq.headers) {
      if (key == "REMOTE_ADDR" || key == "REMOTE_PORT" || key == "LOCAL_ADDR" ||
          key == "LOCAL_PORT") {
        continue;  // added by httplib, not sent by the client
      }
      req.headers.emplace_back(key, value);
    }
    if (auto id = req.Header("X-Request-Id"); id && IsWellFormedRequestId(*id)) {
      req.request_id = *id;
    }
    // Until the body is read, an early answer leaves it unread on the connection: close it.
    const bool chunked = hreq.has_header("Transfer-Encoding");
    const std::string length_header = hreq.get_header_value("Content-Length");
    uint64_t length = 0;
    auto [end, ec] =
        std::from_chars(length_header.data(), length_header.data() + length_header.size(), length);
    const bool has_body = chunked || length > 0;
    auto refuse = [&](Response r) {
      if (has_body) ctx.close_after = true;
      Render(r, hres);
      return HandlerResponse::Handled;
    };
    const std::string method = req.method == "HEAD" ? "GET" : req.method;
    const std::vector<std::string> segments = SplitPath(req.path);
    std::set<std::string> allowed;
    for (const RouteEntry& route : routes_) {
      std::map<std::string, std::string> params;
      if (!Matches(route, segments, &params)) continue;
      allowed.insert(route.method);
      if (route.method == method && (ctx.route == nullptr || MoreSpecific(route, *ctx.route))) {
        ctx.route = &route;
        req.route = route.pattern;
        req.params = std::move(params);
      }
    }
    if (ctx.route == nullptr) {
      if (allowed.empty()) {
        return refuse(Response::Error(404, "not_found", "no such resource"));
      }
      if (allowed.contains("GET")) allowed.insert("HEAD");
      std::string allow;
      for (const std::string& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
      Response r = Response::Error(405, "method_not_allowed",
                                   req.method + " is not allowed here; allowed: " + allow);
      r.headers.emplace_back("Allow", allow);
      return refuse(std::move(r));
    }
    for (const auto& [key, value] : hreq.params) {
      if (!req.query.emplace(key, value).second) {
        std::string name = events::QuotedName(key);
        return refuse(Response::Error(400, "bad_request",
                                      "the query parameter " + name + " is given more than once",
                                      name[0] == '"' ? "query." + key : ""));
      }
    }
    if (pre_handler_) {
      if (std::optional<Response> refused = pre_handler_(req)) return refuse(std::move(*refused));
    }
    // Framing a peer could read differently from us (request smuggling) is refused.
    if (hreq.has_header("Content-Length") &&
        (chunked || ec != std::errc() || end != length_header.data() + length_header.size() ||
         hreq.get_header_value_count("Content-Length") > 1)) {
      ctx.close_after = true;
      return refuse(Response::Error(400, "bad_request", "the Content-Length header is not valid"));
    }
    if (chunked && (hreq.get_header_value_count("Transfer-Encoding") > 1 ||
                    !EqualsIgnoreCase(hreq.get_header_value("Transfer-Encoding"), "chunked"))) {
      ctx.close_after = true;
      return refuse(
          Response::Error(400, "bad_request", "the only Transfer-Encoding accepted is chunked"));
    }
    if (length > options_.max_body_bytes) {  // refused before a byte of it is read
      return refuse(BodyTooLarge());
    }
    if (has_body && (method == "GET" || method == "OPTIONS")) {
      return refuse(Response::Error(400, "bad_request", req.method + " requests carry no body"));
    }
    if (has_body && !IsJsonContentType(hreq.get_header_value("Content-Type"))) {
      return refuse(
          Response::Error(415, "unsupported_media_type",
                          "the body must be JSON, sent as Content-Type: application/json"));
    }
    return HandlerResponse::Unhandled;  // httplib reads the body (413 beyond the limit), then
                                        // calls Dispatch
  }

  void ReadBodyAndDispatch(const httplib::Request& hreq, httplib::Response& hres,
                           const httplib::ContentReader& reader) {
    std::string body;
    bool too_large = false;
    bool read = reader([&](const char* data, size_t size) {
      if (body.size() + size > options_.max_body_bytes) {
        too_large = true;
        return false;
      }
      body.append(data, size);
      return true;
    });
    if (!read) {
      t_context->close_after = true;  // the rest of the body is still on the connection
      Render(too_large ? BodyTooLarge()
                       : Response::Error(400, "bad_request",
                                         "the body could not be read "
                                         "(malformed chunked encoding, or "
                                         "it stopped arriving)"),
             hres);
      return;
    }
    Dispatch(hreq, hres, std::move(body));
  }

  void Dispatch(const httplib::Request&, httplib::Response& hres, std::string body) {
    RequestContext& ctx = *t_context;
    Request& req = ctx.request;
    if (ctx.route == nullptr) {  // PreRoute answers every unrouted request; kept as a guard
      Render(Response::Error(404, "not_found", "no such resource"), hres);
      return;
    }
    req.body = std::move(body);
    if (!req.body.empty()) {
      Result<::cpts::Json> parsed = events::ParseStrictJson(req.body, "the body");
      if (!parsed.ok()) {
        Render(Response::Error(400, "bad_request", parsed.status().message()), hres);
        return;
      }
      req.json = std::move(parsed).value();
    }
    Response response;
    try {
      response = ctx.route->handler(req);
    } catch (...) {
      // The exception's text stays out of the log too: it may quote the request's content.
      std::fprintf(stderr, "http: the handler of %s %s threw (request_id=%s)\n", req.method.c_str(),
                   req.route.c_str(), req.request_id.c_str());
      response = Response::Error(500, "internal", "internal error");
    }
    Render(response, hres);
  }

  // Errors httplib answers by itself (malformed request, body over the limit, ...) get our
  // shape; responses we rendered already have a body and are left alone.
  HandlerResponse OnError(const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty() || res.content_provider_) return HandlerResponse::Unhandled;
    RequestContext* ctx = t_context;
    std::string message;
    switch (res.status) {
      case 400:
        message = "the request is not valid HTTP/1.1";
        break;
      case 413:
        message =
            "the body exceeds the limit of " + std::to_string(options_.max_body_bytes) + " bytes";
        break;
      case 414:
        message = "the request target is too long";
        break;
      case 416:
        message = "the Range header is not valid";
        break;
      case 417:
        message = "the expectation cannot be met";
        break;
      case 500:
        message = "internal error";
        break;
      default:
        message = TextOf(res.status).reason;
        break;
    }
    if (ctx != nullptr && (ctx->stream->head_too_large() || ctx->stream->head_timed_out())) {
      res.status = ctx->stream->head_too_large() ? 431 : 408;
      message = HeadErrorMessage(*ctx->stream);
    }
    static const std::set<int> kProtocolErrors = {400, 408, 413, 414, 416, 417, 431};
    if (ctx != nullptr && kProtocolErrors.contains(res.status)) {
      // The connection's input is in an unknown state after a protocol error.
      ctx->close_after = true;
      res.set_header("Connection", "close");
    }
    RenderError(res, res.status, message);
    return HandlerResponse::Handled;
  }

  void OnAnswered(const httplib::Request& req, const httplib::Response& res) {
    RequestContext* ctx = t_context;
    if (ctx == nullptr) return;
    ctx->answered = true;
    ctx->status = res.status;
    Record(ctx->route ? ctx->route->pattern : "-", req.method.empty() ? "-" : req.method,
           res.status, Clock::now() - ctx->start, ctx->request.request_id);
  }

  // ---- responses ----

  void Render(const Response& r, httplib::Response& res) {
    const std::string& id = t_context->request.request_id;
    for (const auto& [key, value] : r.headers) res.set_header(key, value);
    res.set_header("X-Request-Id", id);
    res.set_header("Cache-Control", "no-store");  // answers may hold patient data
    if (r.event_source) {
      RenderEventStream(r, res);
      return;
    }
    res.status = r.status;
    if (r.body) {
      ::cpts::Json body = *r.body;
      if (body.is_object() && body.contains("error") && body["error"].is_object()) {
        body["error"]["request_id"] = id;
      }
      res.set_content(Dump(body), "application/json");
    } else if (r.text) {
      res.set_content(*r.text, r.content_type);
    }
  }

  void RenderError(httplib::Response& res, int status, const std::string& message) {
    std::string id = t_context ? t_context->request.request_id : NewRequestId();
    res.status = status;
    res.set_header("X-Request-Id", id);
    res.set_content(ErrorBody(status, message, id), "application/json");
  }

  void RenderEventStream(const Response& r, httplib::Response& res) {
    // Each stream holds a worker until it ends: their number is bounded apart.
    if (streams_.fetch_add(1) >= options_.max_event_streams) {
      streams_.fetch_sub(1);
      res.status = 503;
      res.set_header("Retry-After", std::to_string(options_.retry_after_seconds));
      res.set_content(ErrorBody(503,
                                "too many live streams: at most " +
                                    std::to_string(options_.max_event_streams) + " at once",
                                t_context->request.request_id),
                      "application/json");
      return;
    }
    res.status = 200;
    res.set_header("X-Accel-Buffering", "no");  // tells a reverse proxy not to buffer
    auto stream = std::make_shared<SseStream>(r.event_source, r.last_event_id,
                                              options_.sse_heartbeat, stop_.get_token());
    res.set_chunked_content_provider(
        "text/event-stream",
        [stream](size_t, httplib::DataSink& sink) {
          bool more = stream->Pump(
              [&](std::string_view bytes) { return sink.write(bytes.data(), bytes.size()); });
          // Over (stop, source failure): end the body properly so clients see a clean close.
          // A write that failed (client gone) makes httplib drop the connection instead.
          if (!more) sink.done();
          return true;
        },
        [this](bool) { streams_.fetch_sub(1); });
  }

  Response BodyTooLarge() const {
    return Response::Error(
        413, "payload_too_large",
        "the body exceeds the limit of " + std::to_string(options_.max_body_bytes) + " bytes");
  }

  std::string HeadErrorMessage(const ConnectionStream& stream) const {
    if (!stream.head_too_large()) {
      return "the request line and headers did not arrive in time (limits: " +
             std::to_string(options_.read_timeout.count()) + " ms between bytes, " +
             std::to_string(options_.head_timeout.count()) + " ms in all)";
    }
    return "the request line and headers exceed the limit of " +
           std::to_string(options_.max_header_bytes) + " bytes (or one header line exceeds " +
           std::to_string(kHttplibLineLimit) + ")";
  }

  static std::string ErrorBody(int status, const std::string& message, const std::string& id) {
    return Dump({{"error",
                  {{"status", status},
                   {"code", TextOf(status).code},
                   {"message", message},
                   {"request_id", id}}}});
  }

  // A response written without httplib, for connections it never parsed a request from.
  void WriteRaw(int fd, int status, const std::string& body, const std::string& id,
                bool retry_after) {
    std::string out =
        "HTTP/1.1 " + std::to_string(status) + " " + TextOf(status).reason +
        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\nConnection: close\r\nX-Request-Id: " + id + "\r\n";
    if (retry_after && status == 503) {
      out += "Retry-After: " + std::to_string(options_.retry_after_seconds) + "\r\n";
    }
    out += "\r\n" + body;
    std::string_view rest = out;
    auto deadline = Clock::now() + options_.write_timeout;
    while (!rest.empty() && PollFd(fd, POLLOUT, -1, deadline)) {
      ssize_t n = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      rest.remove_prefix(static_cast<size_t>(n));
    }
  }

  // Half-closes, then reads and drops what the client still sends (bounded), so the close
  // does not reset the connection before the client has read our answer.
  static void LingerClose(int fd) {
    ::shutdown(fd, SHUT_WR);
    auto deadline = Clock::now() + kLingerTime;
    size_t dropped = 0;
    char buf[4096];
    while (dropped < kLingerBytes && PollFd(fd, POLLIN, -1, deadline)) {
      ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) break;
      dropped += static_cast<size_t>(n);
    }
  }

  // The access log line and the observer: never the path's values, the query or the body.
  void Record(const std::string& route, const std::string& method, int status,
              Clock::duration duration, const std::string& request_id) {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(duration);
    if (options_.access_log) {
      std::fprintf(stderr, "http method=%s route=%s status=%d duration_ms=%.3f request_id=%s\n",
                   method.c_str(), route.c_str(), status, static_cast<double>(ns.count()) / 1e6,
                   request_id.c_str());
    }
    if (observer_ != nullptr) observer_->OnRequest(route, method, status, ns);
  }

  // "/v1/cpts/new" wins over "/v1/cpts/:cpts" for "/v1/cpts/new", whatever the order in which
  // they were added: the first segment where they differ decides, a literal beating a :param.
  static bool MoreSpecific(const RouteEntry& a, const RouteEntry& b) {
    for (size_t i = 0; i < a.segments.size() && i < b.segments.size(); ++i) {
      bool a_literal = a.segments[i][0] != ':';
      bool b_literal = b.segments[i][0] != ':';
      if (a_literal != b_literal) return a_literal;
    }
    return false;
  }

  static bool Matches(const RouteEntry& route, const std::vector<std::string>& segments,
                      std::map<std::string, std::string>* params) {
    if (route.segments.size() != segments.size()) return false;
    for (size_t i = 0; i < segments.size(); ++i) {
      const std::string& p = route.segments[i];
      if (p[0] == ':') {
        if (segments[i].empty()) return false;
        (*params)[p.substr(1)] = segments[i];
      } else if (p != segments[i]) {
        return false;
      }
    }
    return true;
  }

  const HttpServerOptions options_;
  std::vector<RouteEntry> routes_;
  PreHandler pre_handler_;
  HttpObserver* observer_ = nullptr;

  bool started_ = false;
  bool stopped_ = false;
  std::atomic<bool> stopping_{false};
  std::stop_source stop_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // an eventfd, readable from Stop() on: wakes every poll at once
  int port_ = 0;
  std::atomic<size_t> streams_{0};

  std::mutex mu_;
  std::condition_variable work_cv_;    // queue_ or exit_
  std::condition_variable reject_cv_;  // reject_queue_ or exit_
  std::condition_variable idle_cv_;    // connections_ went down
  std::deque<int> queue_;              // accepted, waiting for a worker
  std::deque<int> reject_queue_;       // over the limit, waiting for their 503
  std::set<int> active_fds_;           // being served
  size_t connections_ = 0;             // queued + being served
  bool exit_ = false;

  std::thread acceptor_;
  std::thread rejecter_;
  std::vector<std::thread> workers_;
};

HttpServer::HttpServer(HttpServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
HttpServer::~HttpServer() = default;

Status HttpServer::Route(std::string_view method, std::string_view pattern, Handler handler) {
  return impl_->AddRoute(method, pattern, std::move(handler));
}
void HttpServer::SetPreHandler(PreHandler pre_handler) {
  impl_->SetPreHandler(std::move(pre_handler));
}
void HttpServer::SetObserver(HttpObserver* observer) { impl_->SetObserver(observer); }
Status HttpServer::Start() { return impl_->Start(); }
void HttpServer::Stop() { impl_->Stop(); }
int HttpServer::port() const { return impl_->port(); }

}  // namespace cpts::api
