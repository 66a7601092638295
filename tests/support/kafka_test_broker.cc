// cpts-test-broker: a Kafka-protocol broker for tests, on librdkafka's mock cluster.
//
// No real Kafka can run on the build machines (see /work/shared/KAFKA-TEST-BROKER.md), so tests
// start this program, read the bootstrap string it prints, and talk to it with any Kafka client.
// A line-based TCP control channel on 127.0.0.1 injects faults while clients are connected.
//
// stdout carries exactly three lines, flushed: "BOOTSTRAP <servers>", "CONTROL 127.0.0.1:<port>",
// "READY". Everything else goes to stderr. Exit status: 0 after SIGTERM/SIGINT/"shutdown" (or stdin
// EOF with --exit-on-stdin-eof), 1 when the cluster or the listener cannot be set up, 2 on bad
// flags.
//
// Threading: the main thread runs one poll() loop (signals via signalfd, the control listener and
// its clients, optionally stdin); the mock cluster runs on librdkafka's own threads. Mock API calls
// made from the loop are synchronous requests to the mock thread.

#include <arpa/inet.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

// Real Kafka brokers set TCP_NODELAY on the connections they accept; librdkafka's mock cluster
// does not, so Nagle's algorithm holds each small response until the client's delayed ACK
// (about 40 ms) and every produce round trip crawls. librdkafka calls accept() from this
// process, so defining it here (forwarding to libc's) lets the broker behave like a real one.
extern "C" int accept(int fd, sockaddr* __restrict addr, socklen_t* __restrict len) {
  using AcceptFn = int (*)(int, sockaddr*, socklen_t*);
  static const AcceptFn libc_accept = reinterpret_cast<AcceptFn>(dlsym(RTLD_NEXT, "accept"));
  const int s = libc_accept(fd, addr, len);
  if (s >= 0) {
    const int one = 1;
    (void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // best effort
  }
  return s;
}

namespace {

constexpr int kExitRuntimeError = 1;
constexpr int kExitUsage = 2;
// A command is a handful of short words; anything longer is garbage and is discarded up to the
// next newline rather than buffered without bound.
constexpr size_t kMaxLineBytes = 4096;
// Tests open one connection per command; more than this at once means a leak in the caller.
constexpr size_t kMaxClients = 64;
// Bounds that keep a typo from asking the mock for absurd amounts of memory.
constexpr int kMaxPartitions = 10000;
constexpr int kMaxErrorCount = 1000000;
constexpr int kMaxRttMs = 600000;

constexpr char kUsage[] =
    "usage: cpts-test-broker [--brokers N] [--topic NAME:PARTITIONS]... [--control-port P]\n"
    "                        [--exit-on-stdin-eof] [--help]\n"
    "\n"
    "Runs a librdkafka mock Kafka cluster on 127.0.0.1 and prints, one per line:\n"
    "  BOOTSTRAP <bootstrap servers>\n"
    "  CONTROL 127.0.0.1:<port>\n"
    "  READY\n"
    "\n"
    "  --brokers N              number of brokers, ids 1..N (default 3)\n"
    "  --topic NAME:PARTITIONS  create a topic, replication factor min(3, N); repeatable\n"
    "  --control-port P         control listener port on 127.0.0.1 (default 0: any free port)\n"
    "  --exit-on-stdin-eof      exit when stdin reaches EOF (the parent died or closed it)\n"
    "\n"
    "Control protocol: one command per line, one answer line \"OK ...\" or \"ERR <reason>\":\n"
    "  ping | create-topic NAME PARTITIONS | broker-down ID | broker-up ID\n"
    "  leader TOPIC PARTITION BROKER_ID (-1: no leader)\n"
    "  request-errors API_KEY ERROR_CODE COUNT | broker-rtt ID MS | shutdown\n";

void Log(const std::string& message) {
  std::fprintf(stderr, "cpts-test-broker: %s\n", message.c_str());
}

// --- Parsing helpers ---------------------------------------------------------------------------

std::optional<int> ParseInt(std::string_view text, int min, int max) {
  int value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < min || value > max) {
    return std::nullopt;
  }
  return value;
}

// Kafka's own rule for topic names; checked here so a bad name fails with a clear answer instead
// of a topic no client can address.
bool IsValidTopicName(std::string_view name) {
  if (name.empty() || name.size() > 249 || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

// Renders untrusted input for an answer or a log line: one line, printable, bounded.
std::string Printable(std::string_view text) {
  constexpr size_t kMax = 64;
  std::string out;
  for (char c : text.substr(0, kMax)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : '?';
  }
  if (text.size() > kMax) out += "...";
  return out;
}

std::vector<std::string_view> SplitWords(std::string_view line) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) words.push_back(line.substr(start, i - start));
  }
  return words;
}

// Error codes the client library knows by name; pushing an unknown number would only produce a
// confusing "Err-1234?" in the test under fault.
const char* KnownErrorName(int code) {
  const rd_kafka_err_desc* descs = nullptr;
  size_t count = 0;
  rd_kafka_get_err_descs(&descs, &count);
  for (size_t i = 0; i < count; ++i) {
    if (descs[i].name != nullptr && descs[i].code == code) return descs[i].name;
  }
  return nullptr;
}

// --- Flags -------------------------------------------------------------------------------------

struct Flags {
  int brokers = 3;                                  // Default: 3
  std::vector<std::pair<std::string, int>> topics;  // Default: none
  int control_port = 0;                             // Default: 0, any free port
  bool exit_on_stdin_eof = false;                   // Default: false
};

[[noreturn]] void UsageError(const std::string& message) {
  std::fprintf(stderr, "cpts-test-broker: %s (see --help)\n", message.c_str());
  std::exit(kExitUsage);
}

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_inline_value = false;
    if (size_t eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
      has_inline_value = true;
    }
    auto take_value = [&]() -> std::string {
      if (has_inline_value) return value;
      if (i + 1 >= argc) UsageError(arg + ": needs a value");
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (arg == "--brokers") {
      std::string v = take_value();
      auto n = ParseInt(v, 1, 100);
      if (!n) UsageError("--brokers: expected an integer in 1..100, got '" + Printable(v) + "'");
      flags.brokers = *n;
    } else if (arg == "--topic") {
      std::string v = take_value();
      size_t colon = v.rfind(':');
      if (colon == std::string::npos) {
        UsageError("--topic: expected NAME:PARTITIONS, got '" + Printable(v) + "'");
      }
      std::string name = v.substr(0, colon);
      auto partitions = ParseInt(std::string_view(v).substr(colon + 1), 1, kMaxPartitions);
      if (!IsValidTopicName(name)) {
        UsageError("--topic: '" + Printable(name) +
                   "' is not a valid topic name ([a-zA-Z0-9._-], 1..249 chars)");
      }
      if (!partitions) {
        UsageError("--topic: partitions must be an integer in 1.." +
                   std::to_string(kMaxPartitions) + ", got '" + Printable(v) + "'");
      }
      for (const auto& [existing, unused] : flags.topics) {
        if (existing == name) UsageError("--topic: '" + name + "' given twice");
      }
      flags.topics.emplace_back(std::move(name), *partitions);
    } else if (arg == "--control-port") {
      std::string v = take_value();
      auto port = ParseInt(v, 0, 65535);
      if (!port)
        UsageError("--control-port: expected a port in 0..65535, got '" + Printable(v) + "'");
      flags.control_port = *port;
    } else if (arg == "--exit-on-stdin-eof") {
      if (has_inline_value) UsageError(arg + ": takes no value");
      flags.exit_on_stdin_eof = true;
    } else {
      UsageError(Printable(arg) + ": unknown flag");
    }
  }
  return flags;
}

// --- File descriptors and librdkafka handles ---------------------------------------------------

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~UniqueFd() { Reset(); }
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
struct MockClusterDeleter {
  void operator()(rd_kafka_mock_cluster_t* mc) const { rd_kafka_mock_cluster_destroy(mc); }
};
using KafkaHandle = std::unique_ptr<rd_kafka_t, KafkaDeleter>;
using MockCluster = std::unique_ptr<rd_kafka_mock_cluster_t, MockClusterDeleter>;

// --- The broker --------------------------------------------------------------------------------

class Broker {
 public:
  explicit Broker(int brokers) : brokers_(brokers) {}

  // Returns an empty string on success, else what went wrong.
  std::string Start() {
    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    // Names this process in librdkafka's log lines; the notice that the hosting handle has no
    // bootstrap.servers (it never connects anywhere) is noise, so notices are not logged.
    if (rd_kafka_conf_set(conf, "client.id", "cpts-test-broker", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof(errstr))) {
      rd_kafka_conf_destroy(conf);
      return std::string("rd_kafka_conf_set: ") + errstr;
    }
    // The handle only hosts the mock cluster; it never produces, so it needs no bootstrap.
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (rk == nullptr) {
      rd_kafka_conf_destroy(conf);
      return std::string("rd_kafka_new: ") + errstr;
    }
    handle_.reset(rk);
    cluster_.reset(rd_kafka_mock_cluster_new(handle_.get(), brokers_));
    if (!cluster_) return "rd_kafka_mock_cluster_new failed";
    return "";
  }

  const char* bootstrap() const { return rd_kafka_mock_cluster_bootstraps(cluster_.get()); }

  // Returns an empty string on success, else what went wrong.
  std::string CreateTopic(const std::string& name, int partitions) {
    if (topics_.count(name) != 0) return "topic '" + name + "' already exists";
    const int replication = std::min(3, brokers_);
    rd_kafka_resp_err_t err =
        rd_kafka_mock_topic_create(cluster_.get(), name.c_str(), partitions, replication);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return "cannot create topic '" + name + "': " + rd_kafka_err2str(err);
    }
    topics_[name] = partitions;
    return "";
  }

  // Executes one control command; returns the answer line without its newline.
  // `stop` is set when the command asks the process to exit.
  std::string Execute(std::string_view line, bool* stop) {
    std::vector<std::string_view> words = SplitWords(line);
    if (words.empty()) return "ERR empty command (try ping)";
    const std::string_view cmd = words[0];
    const size_t nargs = words.size() - 1;
    auto arity_error = [&](const char* usage) { return std::string("ERR usage: ") + usage; };

    if (cmd == "ping") {
      if (nargs != 0) return arity_error("ping");
      return "OK pong";
    }
    if (cmd == "shutdown") {
      if (nargs != 0) return arity_error("shutdown");
      *stop = true;
      return "OK shutting down";
    }
    if (cmd == "create-topic") {
      if (nargs != 2) return arity_error("create-topic NAME PARTITIONS");
      std::string name(words[1]);
      if (!IsValidTopicName(name)) {
        return "ERR '" + Printable(name) + "' is not a valid topic name ([a-zA-Z0-9._-])";
      }
      auto partitions = ParseInt(words[2], 1, kMaxPartitions);
      if (!partitions) return "ERR PARTITIONS must be an integer in 1.." + Num(kMaxPartitions);
      std::string error = CreateTopic(name, *partitions);
      if (!error.empty()) return "ERR " + error;
      return "OK created " + name + " partitions=" + Num(*partitions) +
             " replication=" + Num(std::min(3, brokers_));
    }
    if (cmd == "broker-down" || cmd == "broker-up") {
      if (nargs != 1) return arity_error(cmd == "broker-up" ? "broker-up ID" : "broker-down ID");
      auto id = ParseBrokerId(words[1]);
      if (!id) return BadBrokerId(words[1]);
      rd_kafka_resp_err_t err = cmd == "broker-down"
                                    ? rd_kafka_mock_broker_set_down(cluster_.get(), *id)
                                    : rd_kafka_mock_broker_set_up(cluster_.get(), *id);
      if (err) return std::string("ERR ") + rd_kafka_err2str(err);
      return std::string("OK broker ") + Num(*id) + (cmd == "broker-down" ? " down" : " up");
    }
    if (cmd == "leader") {
      if (nargs != 3) return arity_error("leader TOPIC PARTITION BROKER_ID");
      // The mock creates unknown topics on the fly here; refuse instead, a typo must not pass.
      auto topic = topics_.find(std::string(words[1]));
      if (topic == topics_.end()) {
        return "ERR unknown topic '" + Printable(words[1]) +
               "' (only topics from --topic or create-topic)";
      }
      auto partition = ParseInt(words[2], 0, topic->second - 1);
      if (!partition) {
        return "ERR PARTITION must be in 0.." + Num(topic->second - 1) + " for " + topic->first;
      }
      // -1 is the mock's "no leader": clients then see LEADER_NOT_AVAILABLE.
      std::optional<int> broker =
          words[3] == "-1" ? std::optional<int>(-1) : ParseBrokerId(words[3]);
      if (!broker) return BadBrokerId(words[3]) + " or -1";
      rd_kafka_resp_err_t err = rd_kafka_mock_partition_set_leader(
          cluster_.get(), topic->first.c_str(), *partition, *broker);
      if (err) return std::string("ERR ") + rd_kafka_err2str(err);
      return "OK leader " + topic->first + " " + Num(*partition) + " " + Num(*broker);
    }
    if (cmd == "request-errors") {
      if (nargs != 3) return arity_error("request-errors API_KEY ERROR_CODE COUNT");
      auto api_key = ParseInt(words[1], 0, 32767);
      if (!api_key) return "ERR API_KEY must be an integer in 0..32767 (0 Produce, 1 Fetch, ...)";
      auto code = ParseInt(words[2], -32768, 32767);
      const char* name = code ? KnownErrorName(*code) : nullptr;
      if (name == nullptr) {
        return "ERR ERROR_CODE '" + Printable(words[2]) +
               "' is not a known Kafka error code (e.g. 6 NOT_LEADER_FOR_PARTITION)";
      }
      auto count = ParseInt(words[3], 1, kMaxErrorCount);
      if (!count) return "ERR COUNT must be an integer in 1.." + Num(kMaxErrorCount);
      std::vector<rd_kafka_resp_err_t> errors(static_cast<size_t>(*count),
                                              static_cast<rd_kafka_resp_err_t>(*code));
      rd_kafka_mock_push_request_errors_array(cluster_.get(), static_cast<int16_t>(*api_key),
                                              errors.size(), errors.data());
      return "OK pushed " + Num(*count) + " x " + name + " for api " + Num(*api_key);
    }
    if (cmd == "broker-rtt") {
      if (nargs != 2) return arity_error("broker-rtt ID MS");
      auto id = ParseBrokerId(words[1]);
      if (!id) return BadBrokerId(words[1]);
      auto ms = ParseInt(words[2], 0, kMaxRttMs);
      if (!ms) return "ERR MS must be an integer in 0.." + Num(kMaxRttMs);
      rd_kafka_resp_err_t err = rd_kafka_mock_broker_set_rtt(cluster_.get(), *id, *ms);
      if (err) return std::string("ERR ") + rd_kafka_err2str(err);
      return "OK broker " + Num(*id) + " rtt " + Num(*ms) + " ms";
    }
    return "ERR unknown command '" + Printable(cmd) +
           "' (ping, create-topic, broker-down, broker-up, leader, request-errors, broker-rtt, "
           "shutdown)";
  }

 private:
  static std::string Num(int n) { return std::to_string(n); }
  std::optional<int> ParseBrokerId(std::string_view text) const {
    return ParseInt(text, 1, brokers_);
  }
  std::string BadBrokerId(std::string_view text) const {
    return "ERR broker id '" + Printable(text) + "' is not in 1.." + Num(brokers_);
  }

  const int brokers_;
  // Declared before the cluster so the cluster is destroyed first: it lives on this handle.
  KafkaHandle handle_;
  MockCluster cluster_;
  std::map<std::string, int> topics_;  // name -> partitions, to validate `leader`
};

// --- Control channel ---------------------------------------------------------------------------

struct Client {
  UniqueFd fd;
  std::string buffer;
  bool discarding = false;  // inside an over-long line, dropping bytes up to its newline
};

// Returns the listening socket, or an invalid fd after logging why.
UniqueFd ListenOnLoopback(int port, int* bound_port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0) {
    Log(std::string("socket: ") + std::strerror(errno));
    return {};
  }
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(fd.get(), 16) != 0) {
    Log("cannot listen on 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno));
    return {};
  }
  socklen_t len = sizeof(addr);
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  *bound_port = ntohs(addr.sin_port);
  return fd;
}

// Sends one answer line. Answers are short and clients wait for them, so a full socket buffer
// means a client that does not read: it is dropped rather than allowed to stall the loop.
bool SendLine(int fd, const std::string& answer) {
  std::string line = answer + "\n";
  ssize_t n = ::send(fd, line.data(), line.size(), MSG_NOSIGNAL);
  return n == static_cast<ssize_t>(line.size());
}

// Reads what the client sent and answers every complete line. Returns false when the client is
// gone or must be dropped.
bool ServeClient(Broker& broker, Client& client, bool* stop) {
  char chunk[4096];
  ssize_t n = ::recv(client.fd.get(), chunk, sizeof(chunk), 0);
  if (n < 0) return errno == EAGAIN || errno == EINTR;
  if (n == 0) return false;
  for (ssize_t i = 0; i < n; ++i) {
    const char c = chunk[i];
    if (c != '\n') {
      if (client.discarding) continue;
      client.buffer += c;
      if (client.buffer.size() > kMaxLineBytes) {
        client.buffer.clear();
        client.discarding = true;
      }
      continue;
    }
    std::string answer;
    if (client.discarding) {
      client.discarding = false;
      answer = "ERR line too long (over " + std::to_string(kMaxLineBytes) + " bytes)";
    } else {
      std::string_view line = client.buffer;
      if (line.ends_with('\r')) line.remove_suffix(1);  // tolerate telnet/nc line endings
      answer = broker.Execute(line, stop);
      Log("control: '" + Printable(line) + "' -> " + answer);
    }
    client.buffer.clear();
    if (!SendLine(client.fd.get(), answer)) return false;
    if (*stop) return false;
  }
  return true;
}

int Run(const Flags& flags) {
  // Signals are read from a signalfd by the loop. They must be blocked before librdkafka starts
  // its threads, which inherit the mask; otherwise SIGTERM could land on one of them and kill the
  // process without the clean shutdown.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A client that disconnects mid-answer must not kill the broker.
  ::signal(SIGPIPE, SIG_IGN);
  UniqueFd signal_fd(::signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK));
  if (signal_fd.get() < 0) {
    Log(std::string("signalfd: ") + std::strerror(errno));
    return kExitRuntimeError;
  }

  Broker broker(flags.brokers);
  if (std::string error = broker.Start(); !error.empty()) {
    Log(error);
    return kExitRuntimeError;
  }
  for (const auto& [name, partitions] : flags.topics) {
    if (std::string error = broker.CreateTopic(name, partitions); !error.empty()) {
      Log(error);
      return kExitRuntimeError;
    }
  }
  int control_port = 0;
  UniqueFd listener = ListenOnLoopback(flags.control_port, &control_port);
  if (listener.get() < 0) return kExitRuntimeError;

  std::printf("BOOTSTRAP %s\nCONTROL 127.0.0.1:%d\nREADY\n", broker.bootstrap(), control_port);
  std::fflush(stdout);
  Log("ready: " + std::to_string(flags.brokers) + " brokers at " + broker.bootstrap());

  std::vector<Client> clients;
  bool watch_stdin = flags.exit_on_stdin_eof;
  bool stop = false;
  while (!stop) {
    std::vector<pollfd> fds;
    fds.push_back({signal_fd.get(), POLLIN, 0});
    fds.push_back({listener.get(), POLLIN, 0});
    fds.push_back({watch_stdin ? STDIN_FILENO : -1, POLLIN, 0});  // -1: poll ignores it
    for (const Client& client : clients) fds.push_back({client.fd.get(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      Log(std::string("poll: ") + std::strerror(errno));
      return kExitRuntimeError;
    }
    if (fds[0].revents != 0) {
      signalfd_siginfo info{};
      if (::read(signal_fd.get(), &info, sizeof(info)) == sizeof(info)) {
        Log(std::string("received ") + strsignal(static_cast<int>(info.ssi_signo)) +
            ", shutting down");
        stop = true;
      }
    }
    if (fds[2].revents != 0) {
      char sink[512];
      ssize_t n = ::read(STDIN_FILENO, sink, sizeof(sink));
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
        Log("stdin closed, shutting down");
        stop = true;
      }
    }
    // Clients first, then new connections: `fds` indexes match `clients` only until it grows.
    for (size_t i = clients.size(); i-- > 0 && !stop;) {
      if (fds[3 + i].revents == 0) continue;
      if (!ServeClient(broker, clients[i], &stop)) clients.erase(clients.begin() + i);
    }
    if (fds[1].revents != 0 && !stop) {
      UniqueFd fd(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
      if (fd.get() >= 0) {
        if (clients.size() >= kMaxClients) {
          SendLine(fd.get(), "ERR too many control connections");
        } else {
          clients.push_back(Client{std::move(fd), {}, false});
        }
      }
    }
  }
  clients.clear();
  listener.Reset();
  return 0;  // `broker` destroys the mock cluster, then its handle
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags = ParseFlags(argc, argv);
  int status = Run(flags);
  if (status == 0) Log("stopped");
  return status;
}
