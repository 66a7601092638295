#pragma once
// TestBroker: a Kafka-protocol broker for one test, run as a child process (cpts-test-broker, on
// librdkafka's mock cluster; see tests/support/README.md and /work/shared/KAFKA-TEST-BROKER.md).
//
// Contract:
// - A TestBroker owns its broker process. The destructor stops it (SIGTERM, up to 5 s, then
//   SIGKILL); the broker also exits by itself if the test process dies (EOF on its stdin).
// - Nothing persists: every TestBroker is a fresh, empty cluster on random loopback ports, so
//   tests may run in parallel.
// - Fault injection goes through the control channel: each call opens a TCP connection to
//   127.0.0.1, sends one command line, and reads one answer. The control methods are safe to call
//   from several threads at once (each uses its own connection; the broker serves them in turn);
//   Stop() and destruction are not, and must not race with them.
// - Failures are Status values: InvalidArgument when the broker answered ERR (the message carries
//   its reason), Unavailable when it cannot be reached, TimedOut when it does not answer.

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "events/status.h"
#include "tests/support/subprocess.h"

namespace cpts::test {

struct TestBrokerOptions {
  // Number of brokers; their ids are 1..brokers. Default: 3.
  int brokers = 3;
  // Topics created before Start() returns: (name, partitions), replication factor
  // min(3, brokers). Default: none (producers may still auto-create topics).
  std::vector<std::pair<std::string, int>> topics;
  // How long Start() waits for the broker to print READY. Default: 30 s.
  std::chrono::milliseconds start_timeout = std::chrono::seconds(30);
};

// Sends one control line to a cpts-test-broker listening at `address` ("127.0.0.1:PORT") and
// returns the text after "OK" (without the separating space). For callers that run the broker
// binary themselves; TestBroker::Command uses it.
Result<std::string> SendControlCommand(
    const std::string& address, const std::string& line,
    std::chrono::milliseconds timeout = std::chrono::seconds(10));

class TestBroker {
 public:
  // Starts cpts-test-broker from BinaryPath() and waits until it is ready. NotFound when the
  // binary has not been built; Unavailable (with its exit status) when it dies while starting.
  static Result<std::unique_ptr<TestBroker>> Start(const TestBrokerOptions& options = {});

  TestBroker(const TestBroker&) = delete;
  TestBroker& operator=(const TestBroker&) = delete;
  ~TestBroker();

  // Kafka "bootstrap.servers" value, e.g. "127.0.0.1:40123,127.0.0.1:40125,127.0.0.1:40127".
  const std::string& bootstrap() const { return bootstrap_; }
  // The control channel, "127.0.0.1:PORT".
  const std::string& control_address() const { return control_address_; }

  // Sends a raw control line (see README.md for the protocol); returns the text after "OK".
  Result<std::string> Command(const std::string& line);

  // Broker `id` (1..brokers) drops its connections and refuses new ones, until BrokerUp(id).
  Status BrokerDown(int id);
  Status BrokerUp(int id);
  // Makes broker `broker` the leader of topic/partition (-1: no leader at all).
  Status SetLeader(const std::string& topic, int partition, int broker);
  // The next `count` requests of Kafka API `api_key` (0 Produce, 1 Fetch, 3 Metadata, ...) fail
  // with `error_code` (e.g. 6 NOT_LEADER_FOR_PARTITION), whichever broker receives them.
  Status PushRequestErrors(int api_key, int error_code, int count);
  // Adds `ms` of round-trip latency to every response of broker `id`.
  Status SetBrokerRtt(int id, int ms);
  Status CreateTopic(const std::string& name, int partitions);

  // Stops the broker (SIGTERM, then SIGKILL after `timeout`) and returns its exit status:
  // 0 for a clean shutdown. Later calls, and the destructor, then do nothing.
  Result<int> Stop(std::chrono::milliseconds timeout = std::chrono::seconds(5));

 private:
  TestBroker(std::unique_ptr<ChildProcess> process, std::string bootstrap,
             std::string control_address);

  std::unique_ptr<ChildProcess> process_;
  std::string bootstrap_;
  std::string control_address_;
};

}  // namespace cpts::test
