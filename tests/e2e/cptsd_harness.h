#pragma once
// The end-to-end harness: real cptsd processes, and curl as the HTTP client.
//
// Contract:
// - CptsdProcess owns one cptsd child: Start() returns once cptsd printed its
//   `listening http://127.0.0.1:<port>` line; Stop() sends SIGTERM and returns the exit status
//   (0 for a clean stop). The destructor kills a cptsd still running (ChildProcess does).
// - Curl runs one curl process per request: what the test sees is what any HTTP client sees
//   (status line, headers, body), nothing of cptsd's insides.
// - SseClient runs `curl -N` on a feed and parses the Server-Sent Events it prints, until the
//   test has what it waits for; Close() disconnects (curl is stopped).
// - Tokens: MakeTokensFile writes a tokens file (mode 0600) for the principals given and
//   returns each one's token, made in the test with api::NewToken.
// Not thread-safe: one thread per object.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "events/json.h"
#include "events/status.h"
#include "tests/support/subprocess.h"

namespace cpts::e2e {

// A fresh directory under the system's temp dir, removed with its content on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& tag);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A loopback port free right now (the kernel picks it; the socket is closed at once): for
// programs that cannot be told to pick one themselves (prometheus).
int FreeLoopbackPort();

class CptsdProcess {
 public:
  // Starts BinaryPath("cptsd") with `args` plus --host 127.0.0.1 --port 0, and waits (up to
  // `timeout`) for its listening line, which names the port. Unavailable (with its exit status) when it exits first.
  static Result<std::unique_ptr<CptsdProcess>> Start(
      const std::vector<std::string>& args,
      std::chrono::milliseconds timeout = std::chrono::seconds(90));

  // SIGTERM, then the exit status (TimedOut if it has not exited within `timeout`).
  Result<int> Stop(std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // "http://127.0.0.1:<port>"
  const std::string& url() const { return url_; }
  int port() const { return port_; }

 private:
  CptsdProcess(std::unique_ptr<test::ChildProcess> child, int port);
  std::unique_ptr<test::ChildProcess> child_;
  int port_;
  std::string url_;
};

// One HTTP answer, as curl received it.
struct Reply {
  int status = 0;                              // 0 when curl itself failed (see `error`)
  std::map<std::string, std::string> headers;  // names in lower case; the last value wins
  std::string body;
  ::cpts::Json json;    // the body parsed, or discarded (is_discarded()) when not JSON
  std::string error;    // curl's own failure, if any

  std::string Header(const std::string& lower_case_name) const;
  // error.code / error.field / error.message, or "" when absent.
  std::string ErrorCode() const;
  std::string ErrorField() const;
  std::string ErrorMessage() const;
  // A one-line rendering for failure messages: "<status> <body, cut at 600 bytes>".
  std::string Show() const;
};

struct RequestOptions {
  std::string token;                 // Authorization: Bearer <token> when not empty
  std::optional<std::string> body;   // sent as is (no Content-Type added unless json_body)
  bool json_body = true;             // Content-Type: application/json with a body
  std::vector<std::string> headers;  // more "Name: value" lines
  std::chrono::seconds max_time{40};
};

// Runs one request through curl. Never fails the test by itself: a transport failure is a Reply
// with status 0 and `error` set.
Reply Curl(const std::string& method, const std::string& url, const RequestOptions& options = {});

// One Server-Sent Event.
struct SseEvent {
  std::string id;
  std::string event;
  std::string data;     // the data lines joined with '\n'
  ::cpts::Json json;    // data parsed
};

class SseClient {
 public:
  // Starts `curl -N` on `url`, with Last-Event-ID when `last_event_id` is given.
  static Result<std::unique_ptr<SseClient>> Open(const std::string& url, const std::string& token,
                                                 const std::optional<std::string>& last_event_id);
  ~SseClient();
  // The next `count` events (comments skipped). TimedOut naming how many came when `timeout`
  // passes first; Unavailable when the stream ended.
  Result<std::vector<SseEvent>> Next(size_t count, std::chrono::milliseconds timeout);
  // Disconnects: stops curl.
  void Close();

 private:
  explicit SseClient(std::unique_ptr<test::ChildProcess> curl) : curl_(std::move(curl)) {}
  std::unique_ptr<test::ChildProcess> curl_;
};

// A principal of the tokens file (connectors/api/auth.h): name, role and its scope field.
struct TokenSpec {
  std::string name;
  std::string role;
  std::string scope_key;  // "cptsid", "finess", "professional", or empty
  std::string scope_value;
};

// Writes the tokens file at `path` (mode 0600); returns token by holder name.
Result<std::map<std::string, std::string>> MakeTokensFile(const std::string& path,
                                                          const std::vector<TokenSpec>& specs);

// Polls GET url until it answers `status` or `timeout` passes; the last reply.
Reply WaitForStatus(const std::string& url, int status, std::chrono::milliseconds timeout);

}  // namespace cpts::e2e
