// Tests for the test support: ChildProcess, RunAndCapture, cpts-test-broker and TestBroker.
// The broker is checked with an independent client (kcat), never with our own Kafka code.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "events/json.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_broker.h"

namespace cpts::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Readable failures: the Status says what went wrong.
#define ASSERT_OK(expr)                                                  \
  do {                                                                   \
    const ::cpts::Status assert_ok_status_ = (expr);                     \
    ASSERT_TRUE(assert_ok_status_.ok()) << assert_ok_status_.ToString(); \
  } while (0)
// Evaluates `expr` once: printing the failure must not run the command (e.g. kcat) again.
#define ASSERT_OK_RESULT(expr)                                                    \
  do {                                                                            \
    const auto& assert_ok_result_ = (expr);                                       \
    ASSERT_TRUE(assert_ok_result_.ok()) << assert_ok_result_.status().ToString(); \
  } while (0)

// --- ChildProcess ------------------------------------------------------------------------------

TEST(ChildProcessTest, ReadLineReturnsLinesThenUnavailableNamingTheExitStatus) {
  auto child = ChildProcess::Spawn({"sh", "-c", "echo one; printf 'two\\nlast'; exit 3"});
  ASSERT_OK_RESULT(child);
  std::vector<std::string> lines;
  for (int i = 0; i < 3; ++i) {
    auto line = (*child)->ReadLine(seconds(10));
    ASSERT_OK_RESULT(line);
    lines.push_back(*line);
  }
  EXPECT_EQ(lines, (std::vector<std::string>{"one", "two", "last"}));
  auto eof = (*child)->ReadLine(seconds(10));
  ASSERT_FALSE(eof.ok());
  EXPECT_EQ(eof.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(eof.status().message().find("sh closed its stdout (exited with status 3)"),
            std::string::npos)
      << eof.status().ToString();
}

TEST(ChildProcessTest, ReadLineTimesOutWhenTheChildPrintsNothing) {
  auto child = ChildProcess::Spawn({"sleep", "30"});
  ASSERT_OK_RESULT(child);
  auto line = (*child)->ReadLine(milliseconds(50));
  ASSERT_FALSE(line.ok());
  EXPECT_EQ(line.status().code(), StatusCode::kTimedOut) << line.status().ToString();
}

TEST(ChildProcessTest, WaitReturnsMinusTheSignalThatKilledTheChild) {
  auto child = ChildProcess::Spawn({"sleep", "30"});
  ASSERT_OK_RESULT(child);
  ASSERT_OK((*child)->Signal(SIGTERM));
  auto status = (*child)->Wait(seconds(10));
  ASSERT_OK_RESULT(status);
  EXPECT_EQ(*status, -SIGTERM);
  // Reaped: its pid may be reused, so signalling it again must be refused.
  EXPECT_EQ((*child)->Signal(SIGTERM).code(), StatusCode::kFailedPrecondition);
}

TEST(ChildProcessTest, WaitTimesOutWhileTheChildRuns) {
  auto child = ChildProcess::Spawn({"sleep", "30"});
  ASSERT_OK_RESULT(child);
  auto status = (*child)->Wait(milliseconds(20));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.status().code(), StatusCode::kTimedOut);
}

TEST(ChildProcessTest, WaitReturnsTheExitStatus) {
  auto child = ChildProcess::Spawn({"sh", "-c", "exit 7"});
  ASSERT_OK_RESULT(child);
  auto status = (*child)->Wait(seconds(10));
  ASSERT_OK_RESULT(status);
  EXPECT_EQ(*status, 7);
}

TEST(ChildProcessTest, DestructorKillsAndReapsARunningChild) {
  pid_t pid = 0;
  {
    auto child = ChildProcess::Spawn({"sleep", "30"});
    ASSERT_OK_RESULT(child);
    pid = (*child)->pid();
  }
  // Reaped means gone from the process table: not even a zombie is left to signal.
  EXPECT_EQ(::kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
}

TEST(ChildProcessTest, ExtraEnvironmentOverridesTheParents) {
  auto child = ChildProcess::Spawn({"sh", "-c", "echo \"$HOME/$CPTS_SUPPORT_TEST\""},
                                   {"CPTS_SUPPORT_TEST=set", "HOME=/nowhere"});
  ASSERT_OK_RESULT(child);
  auto line = (*child)->ReadLine(seconds(10));
  ASSERT_OK_RESULT(line);
  EXPECT_EQ(*line, "/nowhere/set");
}

TEST(ChildProcessTest, SpawningAMissingProgramIsNotFound) {
  auto child = ChildProcess::Spawn({"/nonexistent/cpts-no-such-program"});
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.status().code(), StatusCode::kNotFound) << child.status().ToString();
}

// --- RunAndCapture -----------------------------------------------------------------------------

TEST(RunAndCaptureTest, FeedsStdinAndReturnsStdout) {
  // Larger than a pipe buffer both ways: feeding all of stdin before reading stdout would hang.
  std::string input;
  for (int i = 0; i < 100000; ++i) input += "line " + std::to_string(i) + "\n";
  auto output = RunAndCapture({"cat"}, seconds(30), input);
  ASSERT_OK_RESULT(output);
  EXPECT_EQ(*output, input);
}

TEST(RunAndCaptureTest, NonZeroExitFailsWithTheStatusAndStderr) {
  auto output = RunAndCapture({"sh", "-c", "echo partial; echo oops >&2; exit 4"}, seconds(30));
  ASSERT_FALSE(output.ok());
  EXPECT_EQ(output.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(output.status().message().find("exited with status 4"), std::string::npos)
      << output.status().ToString();
  EXPECT_NE(output.status().message().find("oops"), std::string::npos)
      << output.status().ToString();
}

TEST(RunAndCaptureTest, KillsACommandThatOutlivesTheTimeout) {
  auto output = RunAndCapture({"sleep", "30"}, milliseconds(100));
  ASSERT_FALSE(output.ok());
  EXPECT_EQ(output.status().code(), StatusCode::kTimedOut) << output.status().ToString();
}

// --- cpts-test-broker and TestBroker -----------------------------------------------------------

// Runs kcat against the broker with short timeouts: the defaults (5 min message timeout) would
// turn a failure into a hung test.
Result<std::string> Kcat(const TestBroker& broker, std::vector<std::string> args,
                         const std::string& stdin_data = {}) {
  std::vector<std::string> argv = {"kcat", "-b", broker.bootstrap(), "-m", "10"};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunAndCapture(argv, seconds(60), stdin_data);
}

Result<std::string> Produce(const TestBroker& broker, const std::string& topic, int partition,
                            const std::string& records, int message_timeout_ms = 10000) {
  return Kcat(broker,
              {"-P", "-t", topic, "-p", std::to_string(partition), "-X",
               "message.timeout.ms=" + std::to_string(message_timeout_ms)},
              records);
}

Result<std::string> ConsumeAll(const TestBroker& broker, const std::string& topic, int partition) {
  return Kcat(broker, {"-C", "-t", topic, "-p", std::to_string(partition), "-o", "beginning", "-e",
                       "-q", "-X", "fetch.wait.max.ms=10"});
}

// Cluster metadata as kcat sees it.
struct Metadata {
  std::set<int> broker_ids;
  std::map<std::string, int> partitions;            // topic -> partition count
  std::map<std::string, int> replicas;              // topic -> replicas of partition 0
  std::map<std::string, std::vector<int>> leaders;  // topic -> leader of each partition
};

Result<Metadata> ReadMetadata(const TestBroker& broker) {
  auto json_text = Kcat(broker, {"-L", "-J"});
  if (!json_text.ok()) return json_text.status();
  Metadata metadata;
  try {
    auto json = ::cpts::Json::parse(*json_text);
    for (const auto& b : json.at("brokers")) metadata.broker_ids.insert(b.at("id").get<int>());
    for (const auto& t : json.at("topics")) {
      const std::string name = t.at("topic").get<std::string>();
      const auto& partitions = t.at("partitions");
      metadata.partitions[name] = static_cast<int>(partitions.size());
      std::vector<int> leaders(partitions.size(), -2);
      for (const auto& p : partitions) {
        const int index = p.at("partition").get<int>();
        if (index == 0) metadata.replicas[name] = static_cast<int>(p.at("replicas").size());
        if (index >= 0 && index < static_cast<int>(leaders.size())) {
          leaders[index] = p.at("leader").get<int>();
        }
      }
      metadata.leaders[name] = leaders;
    }
  } catch (const ::cpts::Json::exception& e) {
    return Status::Corruption(std::string("kcat -L -J output: ") + e.what());
  }
  return metadata;
}

TEST(TestBrokerTest, KcatListsTheBrokersAndTopicsWithTheirPartitionCounts) {
  auto broker = TestBroker::Start({.brokers = 3, .topics = {{"orders", 3}, {"events.v1", 5}}});
  ASSERT_OK_RESULT(broker);
  auto metadata = ReadMetadata(**broker);
  ASSERT_OK_RESULT(metadata);
  EXPECT_EQ(metadata->broker_ids, (std::set<int>{1, 2, 3}));
  EXPECT_EQ(metadata->partitions, (std::map<std::string, int>{{"orders", 3}, {"events.v1", 5}}));
  EXPECT_EQ(metadata->replicas["orders"], 3);
}

TEST(TestBrokerTest, ReplicationFactorIsCappedByTheNumberOfBrokers) {
  auto broker = TestBroker::Start({.brokers = 1, .topics = {{"solo", 2}}});
  ASSERT_OK_RESULT(broker);
  auto metadata = ReadMetadata(**broker);
  ASSERT_OK_RESULT(metadata);
  EXPECT_EQ(metadata->broker_ids, (std::set<int>{1}));
  EXPECT_EQ(metadata->replicas["solo"], 1);
}

TEST(TestBrokerTest, AProducedRecordIsConsumedBack) {
  auto broker = TestBroker::Start({.topics = {{"orders", 2}}});
  ASSERT_OK_RESULT(broker);
  ASSERT_OK_RESULT(Produce(**broker, "orders", 0, "first\nsecond\n"));
  auto consumed = ConsumeAll(**broker, "orders", 0);
  ASSERT_OK_RESULT(consumed);
  EXPECT_EQ(*consumed, "first\nsecond\n");
  auto other = ConsumeAll(**broker, "orders", 1);
  ASSERT_OK_RESULT(other);
  EXPECT_EQ(*other, "");
}

TEST(TestBrokerTest, EachControlCommandAnswersOkAndTakesEffect) {
  auto broker = TestBroker::Start({.brokers = 3, .topics = {{"orders", 3}}});
  ASSERT_OK_RESULT(broker);
  TestBroker& b = **broker;
  auto pong = b.Command("ping");
  ASSERT_OK_RESULT(pong);
  EXPECT_EQ(*pong, "pong");

  // The mock picks initial leaders itself: move each partition to a broker it is not on now, so
  // a `leader` command that did nothing cannot pass.
  auto before = ReadMetadata(b);
  ASSERT_OK_RESULT(before);
  ASSERT_EQ(before->leaders["orders"].size(), 3u);
  std::vector<int> moved;
  for (int partition = 0; partition < 3; ++partition) {
    moved.push_back(before->leaders["orders"][partition] % 3 + 1);
    ASSERT_OK(b.SetLeader("orders", partition, moved.back()));
  }
  ASSERT_OK(b.CreateTopic("added", 4));
  ASSERT_OK(b.SetBrokerRtt(1, 5));
  ASSERT_OK(b.SetBrokerRtt(1, 0));
  ASSERT_OK(b.BrokerDown(3));
  ASSERT_OK(b.BrokerUp(3));
  ASSERT_OK(b.PushRequestErrors(/*api_key=*/1, /*error_code=*/6, /*count=*/1));

  auto after = ReadMetadata(b);
  ASSERT_OK_RESULT(after);
  EXPECT_EQ(after->partitions["added"], 4);
  EXPECT_EQ(after->leaders["orders"], moved);
}

TEST(TestBrokerTest, PushedRequestErrorsFailTheNextRequestsOnly) {
  auto broker = TestBroker::Start({.topics = {{"orders", 1}}});
  ASSERT_OK_RESULT(broker);
  // 87 INVALID_RECORD is not retriable, so the producer reports it instead of retrying.
  ASSERT_OK((*broker)->PushRequestErrors(/*api_key=*/0, /*error_code=*/87, /*count=*/1));
  auto rejected = Produce(**broker, "orders", 0, "rejected\n");
  ASSERT_FALSE(rejected.ok());
  EXPECT_NE(rejected.status().message().find("failed to validate record"), std::string::npos)
      << rejected.status().ToString();
  ASSERT_OK_RESULT(Produce(**broker, "orders", 0, "accepted\n"));
  auto consumed = ConsumeAll(**broker, "orders", 0);
  ASSERT_OK_RESULT(consumed);
  EXPECT_EQ(*consumed, "accepted\n");
}

TEST(TestBrokerTest, GarbageAnswersErrAndTheBrokerKeepsServing) {
  auto broker = TestBroker::Start({.brokers = 3, .topics = {{"orders", 2}}});
  ASSERT_OK_RESULT(broker);
  const std::vector<std::string> garbage = {
      "",
      "   ",
      "frobnicate",
      "PING",
      "ping extra",
      std::string("\x00\x01\xff\xfe", 4),
      std::string(100000, 'x'),
      "create-topic",
      "create-topic orders 3",  // exists
      "create-topic bad/name 1",
      "create-topic t 0",
      "create-topic t 99999999999999999999",
      "broker-down",
      "broker-down 0",
      "broker-down 4",
      "broker-down one",
      "broker-up -1",
      "leader orders 2 1",  // partition out of range
      "leader nosuch 0 1",
      "leader orders 0 7",
      "leader orders x 1",
      "request-errors 0 6",
      "request-errors -1 6 1",
      "request-errors 0 31337 1",
      "request-errors 0 6 0",
      "request-errors 0 6 1x",
      "broker-rtt 1 -5",
      "broker-rtt 9 5",
      "shutdown now",
  };
  for (const std::string& line : garbage) {
    auto answer = (*broker)->Command(line);
    EXPECT_FALSE(answer.ok()) << "'" << line.substr(0, 40) << "' answered OK " << *answer;
    EXPECT_EQ(answer.status().code(), StatusCode::kInvalidArgument)
        << line.substr(0, 40) << ": " << answer.status().ToString();
  }
  EXPECT_NE((*broker)->Command("nope").status().message().find("unknown command 'nope'"),
            std::string::npos);

  // A client that sends half a line and hangs up must not disturb the broker either.
  {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    const std::string& address = (*broker)->control_address();
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1))));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    const std::string partial(10000, 'y');
    EXPECT_GT(::send(fd, partial.data(), partial.size(), MSG_NOSIGNAL), 0);
    ::close(fd);
  }
  ASSERT_OK_RESULT((*broker)->Command("ping"));
  ASSERT_OK_RESULT(Produce(**broker, "orders", 1, "still-works\n"));
  auto stopped = (*broker)->Stop();
  ASSERT_OK_RESULT(stopped);
  EXPECT_EQ(*stopped, 0);
}

TEST(TestBrokerTest, BrokerDownThenUpKeepsTheClusterUsable) {
  auto broker = TestBroker::Start({.brokers = 3, .topics = {{"orders", 1}}});
  ASSERT_OK_RESULT(broker);
  ASSERT_OK((*broker)->SetLeader("orders", 0, 1));
  ASSERT_OK((*broker)->BrokerDown(1));
  // The leader refuses connections: the record cannot be delivered. This proves "down" bites.
  auto while_down = Produce(**broker, "orders", 0, "lost\n", /*message_timeout_ms=*/1000);
  EXPECT_FALSE(while_down.ok());
  ASSERT_OK((*broker)->BrokerUp(1));
  ASSERT_OK_RESULT(Produce(**broker, "orders", 0, "after-up\n"));
  auto consumed = ConsumeAll(**broker, "orders", 0);
  ASSERT_OK_RESULT(consumed);
  EXPECT_EQ(*consumed, "after-up\n");
}

TEST(TestBrokerTest, SigtermStopsTheBrokerWithExitStatusZero) {
  auto broker = TestBroker::Start({.topics = {{"orders", 1}}});
  ASSERT_OK_RESULT(broker);
  // Stop() sends SIGTERM and falls back to SIGKILL (status -9) after the timeout.
  auto status = (*broker)->Stop(seconds(5));
  ASSERT_OK_RESULT(status);
  EXPECT_EQ(*status, 0);
}

// Starts the broker binary directly, to observe how it ends without TestBroker's SIGTERM.
struct RawBroker {
  std::unique_ptr<ChildProcess> process;
  std::string control;
};

Result<RawBroker> StartRawBroker(std::vector<std::string> extra_args) {
  std::vector<std::string> argv = {BinaryPath("cpts-test-broker"), "--brokers", "1"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  auto process = ChildProcess::Spawn(argv);
  if (!process.ok()) return process.status();
  RawBroker raw;
  raw.process = std::move(process).value();
  while (true) {
    auto line = raw.process->ReadLine(seconds(30));
    if (!line.ok()) return line.status();
    if (line->starts_with("CONTROL ")) raw.control = line->substr(8);
    if (*line == "READY") return raw;
  }
}

TEST(TestBrokerTest, ShutdownCommandExitsWithStatusZero) {
  auto raw = StartRawBroker({});
  ASSERT_OK_RESULT(raw);
  ASSERT_OK_RESULT(SendControlCommand(raw->control, "shutdown"));
  auto status = raw->process->Wait(seconds(5));
  ASSERT_OK_RESULT(status);
  EXPECT_EQ(*status, 0);
}

TEST(TestBrokerTest, SigintExitsWithStatusZero) {
  auto raw = StartRawBroker({});
  ASSERT_OK_RESULT(raw);
  ASSERT_OK(raw->process->Signal(SIGINT));
  auto status = raw->process->Wait(seconds(5));
  ASSERT_OK_RESULT(status);
  EXPECT_EQ(*status, 0);
}

TEST(TestBrokerTest, ExitsWhenItsStdinClosesIfAsked) {
  // What keeps a crashed test from leaking brokers: its stdin pipe closes with the test process.
  auto raw = StartRawBroker({"--exit-on-stdin-eof"});
  ASSERT_OK_RESULT(raw);
  raw->process->CloseStdin();
  auto status = raw->process->Wait(seconds(5));
  ASSERT_OK_RESULT(status);
  EXPECT_EQ(*status, 0);
}

TEST(TestBrokerTest, BadFlagsExitWithStatusTwoNamingTheFlag) {
  const std::string binary = BinaryPath("cpts-test-broker");
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--brokers", "zero"}, "--brokers"},   {{"--brokers"}, "--brokers"},
      {{"--topic", "orders"}, "--topic"},     {{"--topic", "orders:0"}, "--topic"},
      {{"--topic", "bad name:1"}, "--topic"}, {{"--control-port", "70000"}, "--control-port"},
      {{"--frobnicate"}, "--frobnicate"},
  };
  for (const auto& [args, flag] : cases) {
    std::vector<std::string> argv = {binary};
    argv.insert(argv.end(), args.begin(), args.end());
    auto result = RunAndCapture(argv, seconds(30));
    ASSERT_FALSE(result.ok()) << flag;
    EXPECT_NE(result.status().message().find("exited with status 2"), std::string::npos)
        << result.status().ToString();
    EXPECT_NE(result.status().message().find("stderr: cpts-test-broker: " + flag),
              std::string::npos)
        << result.status().ToString();
  }
}

TEST(TestBrokerTest, StartFailsClearlyWhenTheBrokerRejectsItsArguments) {
  auto broker = TestBroker::Start({.topics = {{"bad/name", 1}}});
  ASSERT_FALSE(broker.ok());
  EXPECT_EQ(broker.status().code(), StatusCode::kUnavailable) << broker.status().ToString();
  EXPECT_NE(broker.status().message().find("exited with status 2"), std::string::npos)
      << broker.status().ToString();
}

}  // namespace
}  // namespace cpts::test
