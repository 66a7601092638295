#include "tests/support/test_broker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace cpts::test {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kBrokerBinary[] = "cpts-test-broker";

// Closes a socket on every return path.
struct SocketCloser {
  int fd;
  ~SocketCloser() {
    if (fd >= 0) ::close(fd);
  }
};

Result<sockaddr_in> ParseLoopbackAddress(const std::string& address) {
  size_t colon = address.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  int port = 0;
  const char* port_begin = address.data() + (colon == std::string::npos ? 0 : colon + 1);
  const char* end = address.data() + address.size();
  auto [ptr, ec] = std::from_chars(port_begin, end, port);
  if (colon == std::string::npos || ec != std::errc() || ptr != end || port <= 0 || port > 65535 ||
      ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
    return Status::InvalidArgument("control address '" + address + "' is not IPv4:PORT");
  }
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

}  // namespace

Result<std::string> SendControlCommand(const std::string& address, const std::string& line,
                                       std::chrono::milliseconds timeout) {
  if (line.find_first_of("\r\n") != std::string::npos) {
    return Status::InvalidArgument("a control command is one line; got a line break in it");
  }
  Result<sockaddr_in> addr = ParseLoopbackAddress(address);
  if (!addr.ok()) return addr.status();
  SocketCloser sock{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (sock.fd < 0) return Status::IoError(std::string("socket: ") + std::strerror(errno));
  // The send timeout bounds a broker that stopped reading; reads are bounded by poll() below.
  const auto ms = timeout.count();
  timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
  ::setsockopt(sock.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (::connect(sock.fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)) != 0) {
    return Status::Unavailable("cannot connect to cpts-test-broker control at " + address + ": " +
                               std::strerror(errno));
  }
  const std::string request = line + "\n";
  for (size_t sent = 0; sent < request.size();) {
    // MSG_NOSIGNAL: a broker that went away must give an error here, not kill the test binary.
    ssize_t n = ::send(sock.fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Unavailable("sending to cpts-test-broker control at " + address + ": " +
                                 std::strerror(errno));
    }
    sent += static_cast<size_t>(n);
  }

  const Clock::time_point deadline = Clock::now() + timeout;
  std::string answer;
  while (answer.find('\n') == std::string::npos) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      return Status::TimedOut("cpts-test-broker did not answer '" + line + "' within " +
                              std::to_string(timeout.count()) + " ms");
    }
    pollfd pfd{sock.fd, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left)) <= 0) continue;  // EINTR or time: re-check
    char chunk[1024];
    ssize_t n = ::recv(sock.fd, chunk, sizeof(chunk), 0);
    if (n == 0 || (n < 0 && errno != EINTR)) {
      return Status::Unavailable(
          "cpts-test-broker closed the control connection before "
          "answering '" +
          line + "'");
    }
    if (n > 0) answer.append(chunk, static_cast<size_t>(n));
  }
  answer.resize(answer.find('\n'));

  if (answer == "OK") return std::string();
  if (answer.starts_with("OK ")) return answer.substr(3);
  if (answer.starts_with("ERR ")) {
    return Status::InvalidArgument("cpts-test-broker refused '" + line + "': " + answer.substr(4));
  }
  return Status::Internal("cpts-test-broker answered '" + line + "' with '" + answer +
                          "', neither OK nor ERR");
}

Result<std::unique_ptr<TestBroker>> TestBroker::Start(const TestBrokerOptions& options) {
  if (options.brokers < 1) return Status::InvalidArgument("TestBrokerOptions.brokers must be >= 1");
  const std::string binary = BinaryPath(kBrokerBinary);
  if (::access(binary.c_str(), X_OK) != 0) {
    return Status::NotFound(binary + " is missing; build the cpts-test-broker target");
  }
  std::vector<std::string> argv = {binary, "--brokers", std::to_string(options.brokers),
                                   // Lets the broker notice a crashed test: its stdin closes.
                                   "--exit-on-stdin-eof"};
  for (const auto& [name, partitions] : options.topics) {
    argv.push_back("--topic");
    argv.push_back(name + ":" + std::to_string(partitions));
  }
  Result<std::unique_ptr<ChildProcess>> process = ChildProcess::Spawn(argv);
  if (!process.ok()) return process.status();

  // The broker prints BOOTSTRAP, CONTROL, then READY; its stderr (inherited) says why otherwise.
  const Clock::time_point deadline = Clock::now() + options.start_timeout;
  std::string bootstrap, control;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    Result<std::string> line = (*process)->ReadLine(std::max(left, std::chrono::milliseconds(0)));
    if (!line.ok()) {
      return line.status().WithContext("cpts-test-broker did not start (its stderr is above)");
    }
    if (line->starts_with("BOOTSTRAP ")) {
      bootstrap = line->substr(10);
    } else if (line->starts_with("CONTROL ")) {
      control = line->substr(8);
    } else if (*line == "READY") {
      break;
    } else {
      return Status::Internal("unexpected line from cpts-test-broker: '" + *line + "'");
    }
  }
  if (bootstrap.empty() || control.empty()) {
    return Status::Internal("cpts-test-broker said READY before BOOTSTRAP and CONTROL");
  }
  return std::unique_ptr<TestBroker>(
      new TestBroker(std::move(process).value(), std::move(bootstrap), std::move(control)));
}

TestBroker::TestBroker(std::unique_ptr<ChildProcess> process, std::string bootstrap,
                       std::string control_address)
    : process_(std::move(process)),
      bootstrap_(std::move(bootstrap)),
      control_address_(std::move(control_address)) {}

TestBroker::~TestBroker() {
  // A broker that does not stop is killed by ChildProcess's destructor: nothing to report here.
  Result<int> ignored = Stop();
  (void)ignored;
}

Result<int> TestBroker::Stop(std::chrono::milliseconds timeout) {
  if (!process_) return Status::FailedPrecondition("cpts-test-broker already stopped");
  Result<int> status = process_->Wait(std::chrono::milliseconds(0));
  if (!status.ok()) {
    // FailedPrecondition means it exited between the two calls: Wait below reports how.
    Status sent = process_->Signal(SIGTERM);
    (void)sent;
    status = process_->Wait(timeout);
  }
  if (!status.ok()) {
    Status killed = process_->Signal(SIGKILL);
    (void)killed;
    status = process_->Wait(std::chrono::seconds(5));
  }
  process_.reset();
  return status;
}

Result<std::string> TestBroker::Command(const std::string& line) {
  return SendControlCommand(control_address_, line);
}

namespace {
Status OnlyStatus(const Result<std::string>& result) { return result.status(); }
}  // namespace

Status TestBroker::BrokerDown(int id) {
  return OnlyStatus(Command("broker-down " + std::to_string(id)));
}

Status TestBroker::BrokerUp(int id) {
  return OnlyStatus(Command("broker-up " + std::to_string(id)));
}

Status TestBroker::SetLeader(const std::string& topic, int partition, int broker) {
  return OnlyStatus(
      Command("leader " + topic + " " + std::to_string(partition) + " " + std::to_string(broker)));
}

Status TestBroker::PushRequestErrors(int api_key, int error_code, int count) {
  return OnlyStatus(Command("request-errors " + std::to_string(api_key) + " " +
                            std::to_string(error_code) + " " + std::to_string(count)));
}

Status TestBroker::SetBrokerRtt(int id, int ms) {
  return OnlyStatus(Command("broker-rtt " + std::to_string(id) + " " + std::to_string(ms)));
}

Status TestBroker::CreateTopic(const std::string& name, int partitions) {
  return OnlyStatus(Command("create-topic " + name + " " + std::to_string(partitions)));
}

}  // namespace cpts::test
