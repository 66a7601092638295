#include "tests/e2e/cptsd_harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "connectors/api/auth.h"

namespace cpts::e2e {

using json = ::cpts::Json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

TempDir::TempDir(const std::string& tag) {
  static std::atomic<int> counter{0};
  path_ = (fs::temp_directory_path() /
           ("cpts-e2e-" + tag + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++)))
              .string();
  fs::remove_all(path_);
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ignored;  // best effort: a leftover temp dir fails nothing
  fs::remove_all(path_, ignored);
}

// ---- cptsd ----

int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

CptsdProcess::CptsdProcess(std::unique_ptr<test::ChildProcess> child, int port)
    : child_(std::move(child)), port_(port), url_("http://127.0.0.1:" + std::to_string(port)) {}

Result<std::unique_ptr<CptsdProcess>> CptsdProcess::Start(const std::vector<std::string>& args,
                                                          std::chrono::milliseconds timeout) {
  // --port 0: the kernel picks a free port, which cptsd prints on its listening line.
  std::vector<std::string> argv = {test::BinaryPath("cptsd"), "--host", "127.0.0.1", "--port",
                                   "0"};
  argv.insert(argv.end(), args.begin(), args.end());
  Result<std::unique_ptr<test::ChildProcess>> child = test::ChildProcess::Spawn(argv);
  if (!child.ok()) return child.status();
  // cptsd prints exactly one line on stdout, once it accepts requests; its logs go to stderr.
  Result<std::string> line = (*child)->ReadLine(timeout);
  if (!line.ok()) return line.status();
  const std::string prefix = "listening http://127.0.0.1:";
  if (line->rfind(prefix, 0) != 0) {
    return Status::Internal("cptsd printed \"" + *line + "\" instead of its listening line");
  }
  int port = 0;
  try {
    port = std::stoi(line->substr(prefix.size()));
  } catch (const std::exception&) {
    return Status::Internal("no port in cptsd's listening line \"" + *line + "\"");
  }
  return std::unique_ptr<CptsdProcess>(new CptsdProcess(std::move(*child), port));
}

Result<int> CptsdProcess::Stop(std::chrono::milliseconds timeout) {
  Status signalled = child_->Signal(SIGTERM);
  if (!signalled.ok() && signalled.code() != StatusCode::kFailedPrecondition) return signalled;
  return child_->Wait(timeout);
}

// ---- curl ----

std::string Reply::Header(const std::string& lower_case_name) const {
  auto it = headers.find(lower_case_name);
  return it == headers.end() ? "" : it->second;
}

namespace {
std::string ErrorMember(const json& body, const char* key) {
  if (!body.is_object() || !body.contains("error") || !body["error"].is_object()) return "";
  const json& error = body["error"];
  if (!error.contains(key) || !error[key].is_string()) return "";
  return error[key].get<std::string>();
}
}  // namespace

std::string Reply::ErrorCode() const { return ErrorMember(json, "code"); }
std::string Reply::ErrorField() const { return ErrorMember(json, "field"); }
std::string Reply::ErrorMessage() const { return ErrorMember(json, "message"); }

std::string Reply::Show() const {
  std::string shown = std::to_string(status) + " " + body.substr(0, 600);
  if (!error.empty()) shown += " (curl: " + error + ")";
  return shown;
}

namespace {

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The headers of the last response block in a `curl -D` dump (a 100 Continue comes first).
std::map<std::string, std::string> ParseHeaders(const std::string& dump) {
  std::map<std::string, std::string> headers;
  std::istringstream lines(dump);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("HTTP/", 0) == 0) {
      headers.clear();  // a new response block
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    headers[name] = value;
  }
  return headers;
}

}  // namespace

Reply Curl(const std::string& method, const std::string& url, const RequestOptions& options) {
  static const TempDir* const scratch = new TempDir("curl");  // lives as long as the process
  static std::atomic<int> counter{0};
  const std::string stem = scratch->path() + "/" + std::to_string(counter++);
  const std::string header_file = stem + ".headers";
  const std::string body_file = stem + ".body";

  std::vector<std::string> argv = {
      "curl", "-sS",          "-X",         method,
      "-D",   header_file,    "-o",         body_file,
      "-w",   "%{http_code}", "--max-time", std::to_string(options.max_time.count())};
  if (!options.token.empty()) {
    argv.insert(argv.end(), {"-H", "Authorization: Bearer " + options.token});
  }
  for (const std::string& header : options.headers) argv.insert(argv.end(), {"-H", header});
  if (options.body) {
    if (options.json_body) argv.insert(argv.end(), {"-H", "Content-Type: application/json"});
    argv.insert(argv.end(), {"--data-binary", "@-"});
  }
  argv.push_back(url);

  Reply reply;
  auto out = test::RunAndCapture(argv, options.max_time + 10s, options.body.value_or(""));
  if (!out.ok()) {
    reply.error = out.status().ToString();
    return reply;
  }
  try {
    reply.status = std::stoi(*out);
  } catch (const std::exception&) {
    reply.error = "curl printed no status: " + *out;
  }
  reply.headers = ParseHeaders(ReadWholeFile(header_file));
  reply.body = ReadWholeFile(body_file);
  reply.json = json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
  std::error_code ignored;
  fs::remove(header_file, ignored);
  fs::remove(body_file, ignored);
  return reply;
}

Reply WaitForStatus(const std::string& url, int status, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Reply reply;
  for (;;) {
    reply = Curl("GET", url, {.max_time = 10s});
    if (reply.status == status || std::chrono::steady_clock::now() >= deadline) return reply;
    std::this_thread::sleep_for(200ms);
  }
}

// ---- SSE ----

Result<std::unique_ptr<SseClient>> SseClient::Open(
    const std::string& url, const std::string& token,
    const std::optional<std::string>& last_event_id) {
  // -N: no buffering, each event is printed as it arrives. --max-time bounds a forgotten client.
  std::vector<std::string> argv = {
      "curl", "-sS", "-N", "--max-time", "120", "-H", "Authorization: Bearer " + token};
  if (last_event_id) argv.insert(argv.end(), {"-H", "Last-Event-ID: " + *last_event_id});
  argv.push_back(url);
  auto child = test::ChildProcess::Spawn(argv);
  if (!child.ok()) return child.status();
  return std::unique_ptr<SseClient>(new SseClient(std::move(*child)));
}

SseClient::~SseClient() { Close(); }

void SseClient::Close() {
  if (!curl_) return;
  (void)curl_->Signal(SIGTERM);  // deliberate: curl may have exited already
  (void)curl_->Wait(10s);        // the destructor kills it if it lingers
  curl_.reset();
}

Result<std::vector<SseEvent>> SseClient::Next(size_t count, std::chrono::milliseconds timeout) {
  std::vector<SseEvent> events;
  if (!curl_) return Status::FailedPrecondition("the SSE client is closed");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  SseEvent current;
  bool has_field = false;
  while (events.size() < count) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) {
      return Status::TimedOut("the feed gave " + std::to_string(events.size()) + " of " +
                              std::to_string(count) + " events");
    }
    auto line = curl_->ReadLine(left);
    if (!line.ok()) {
      if (line.status().code() == StatusCode::kTimedOut) continue;  // the deadline check above
      return line.status().WithContext("the feed ended after " + std::to_string(events.size()) +
                                       " of " + std::to_string(count) + " events");
    }
    std::string text = *line;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.empty()) {  // the end of an event (or of a comment block)
      if (has_field) {
        current.json = json::parse(current.data, nullptr, /*allow_exceptions=*/false);
        events.push_back(std::move(current));
      }
      current = SseEvent();
      has_field = false;
      continue;
    }
    if (text[0] == ':') continue;  // a comment: ": open", ": heartbeat"
    const size_t colon = text.find(':');
    const std::string field = text.substr(0, colon);
    std::string value = colon == std::string::npos ? "" : text.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    has_field = true;
    if (field == "id") current.id = value;
    if (field == "event") current.event = value;
    if (field == "data") current.data += (current.data.empty() ? "" : "\n") + value;
  }
  return events;
}

// ---- tokens ----

Result<std::map<std::string, std::string>> MakeTokensFile(const std::string& path,
                                                          const std::vector<TokenSpec>& specs) {
  std::map<std::string, std::string> tokens;
  json entries = json::array();
  for (const TokenSpec& spec : specs) {
    const std::string token = api::NewToken();
    tokens[spec.name] = token;
    json entry = {{"name", spec.name}, {"role", spec.role}, {"sha256", api::TokenSha256Hex(token)}};
    if (!spec.scope_key.empty()) entry[spec.scope_key] = spec.scope_value;
    entries.push_back(entry);
  }
  {
    std::ofstream out(path, std::ios::trunc);
    out << json{{"tokens", entries}}.dump(2) << "\n";
    if (!out) return Status::Internal("cannot write " + path);
  }
  if (chmod(path.c_str(), 0600) != 0) return Status::Internal("cannot chmod " + path);
  return tokens;
}

}  // namespace cpts::e2e
