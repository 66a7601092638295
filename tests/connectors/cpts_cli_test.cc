// The cpts command-line tool, run as a separate process the way a person runs it.

#include <gtest/gtest.h>

#include <sstream>

#include "events/json.h"
#include "tests/log/log_test_util.h"
#include "tests/support/subprocess.h"

namespace cpts {
namespace {

using std::chrono::seconds;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(CptsCliTest, DemoTwiceDecidesBothRunsIntoOneGaplessHashChainedStream) {
  logtest::TempDir dir("cli");
  const std::string cpts = test::BinaryPath("cpts");
  ASSERT_TRUE(test::RunAndCapture({cpts, "demo", "--data-dir", dir.path()}, seconds(60)).ok());
  ASSERT_TRUE(test::RunAndCapture({cpts, "demo", "--data-dir", dir.path()}, seconds(60)).ok());
  auto out = test::RunAndCapture({cpts, "read", "--json", "--data-dir", dir.path()}, seconds(60));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const std::vector<std::string> lines = Lines(*out);
  // Run 1: 16 events. Run 2 meets the rules: 5 events, 7 rejections, 4 commands that change
  // nothing (members already members, the same discharge notice).
  ASSERT_EQ(lines.size(), 28u);
  EXPECT_NE(lines[16].find("\"already_registered\""), std::string::npos) << lines[16];
  // The chain is checked with an independent SHA-256 (python3's hashlib) over the stored bytes.
  std::string script =
      "import hashlib, json, sys\n"
      "prev = '0' * 64\n"
      "for n, line in enumerate(sys.stdin.read().splitlines(), 1):\n"
      "    e = json.loads(line)\n"
      "    assert e['sequence'] == n, (n, e['sequence'])\n"
      "    assert e['prevhash'] == prev, n\n"
      "    prev = hashlib.sha256(line.encode()).hexdigest()\n"
      "print('chain ok')\n";
  auto checked = test::RunAndCapture({"/usr/bin/python3", "-c", script}, seconds(30), *out);
  ASSERT_TRUE(checked.ok()) << checked.status().ToString();
  EXPECT_EQ(*checked, "chain ok\n");
}

TEST(CptsCliTest, AnotherPartitionCountForExistingTopicsIsRefusedWithAdvice) {
  logtest::TempDir dir("cli");
  const std::string cpts = test::BinaryPath("cpts");
  ASSERT_TRUE(test::RunAndCapture({cpts, "demo", "--data-dir", dir.path()}, seconds(60)).ok());
  auto out = test::RunAndCapture({cpts, "demo", "--partitions", "8", "--data-dir", dir.path()},
                                 seconds(60));
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("has 16 partitions"), std::string::npos)
      << out.status().message();
  EXPECT_NE(out.status().message().find("migrate"), std::string::npos);
}

TEST(CptsCliTest, ReadingADirectoryWithoutALogFailsAndCreatesNothing) {
  logtest::TempDir dir("cli");
  const std::string missing = dir.path() + "/typo";
  auto out =
      test::RunAndCapture({test::BinaryPath("cpts"), "read", "--data-dir", missing}, seconds(60));
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("there is no embedded log"), std::string::npos)
      << out.status().message();
  EXPECT_FALSE(std::filesystem::exists(missing));
}

TEST(CptsCliTest, BadFlagsAreNamed) {
  const std::string cpts = test::BinaryPath("cpts");
  auto zero = test::RunAndCapture({cpts, "demo", "--partitions", "0"}, seconds(30));
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.status().message().find("--partitions"), std::string::npos)
      << zero.status().message();
  auto property = test::RunAndCapture(
      {cpts, "read", "--kafka", "127.0.0.1:1", "--kafka-property", "acks"}, seconds(30));
  ASSERT_FALSE(property.ok());
  EXPECT_NE(property.status().message().find("name=value"), std::string::npos)
      << property.status().message();
  auto reserved = test::RunAndCapture(
      {cpts, "read", "--kafka", "127.0.0.1:1", "--kafka-property", "acks=1"}, seconds(30));
  ASSERT_FALSE(reserved.ok());
  EXPECT_NE(reserved.status().message().find("cannot be overridden"), std::string::npos)
      << reserved.status().message();
}

}  // namespace
}  // namespace cpts
