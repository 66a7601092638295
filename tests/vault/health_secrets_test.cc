// The health secrets: the secrets file, its permissions, the environment overrides, and the
// refusals that never show a secret.

#include "connectors/health_secrets.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "tests/log/log_test_util.h"
#include "tests/vault/vault_test_util.h"

namespace cpts {
namespace {

const std::string kSecret = "a-pseudonym-secret-of-at-least-32-bytes!";
const std::string kMasterHex(64, 'e');

class HealthSecretsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv(kPseudonymSecretEnv);
    ::unsetenv(kMasterKeyEnv);
  }
  void TearDown() override { SetUp(); }

  std::string Write(const std::string& text, mode_t mode = 0600) {
    const std::string path = temp_.path() + "/secrets-" + std::to_string(files_++) + ".json";
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
    return path;
  }

  Result<HealthSecrets> Load(const std::string& path) {
    return LoadHealthSecrets({.secrets_file = path});
  }

  logtest::TempDir temp_{"secrets"};
  int files_ = 0;
};

TEST_F(HealthSecretsTest, AGeneratedFileIsPrivateAndLoads) {
  const std::string path = temp_.path() + "/secrets.json";
  ASSERT_TRUE(GenerateSecretsFile(path).ok());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  Result<HealthSecrets> secrets = Load(path);
  ASSERT_TRUE(secrets.ok()) << secrets.status().ToString();
  EXPECT_GE(secrets->pseudonym_secret.size(), 32u);
  EXPECT_NE(secrets->master_key, (std::array<unsigned char, 32>{}));

  Status again = GenerateSecretsFile(path);
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists);
  Result<HealthSecrets> same = Load(path);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->master_key, secrets->master_key);  // kept, not replaced
}

TEST_F(HealthSecretsTest, TheFileGivesBothSecrets) {
  Result<HealthSecrets> secrets = Load(
      Write(R"({"pseudonym_secret": ")" + kSecret + R"(", "master_key": ")" + kMasterHex + "\"}"));
  ASSERT_TRUE(secrets.ok()) << secrets.status().ToString();
  EXPECT_EQ(secrets->pseudonym_secret, kSecret);
  std::array<unsigned char, 32> expected;
  expected.fill(0xee);
  EXPECT_EQ(secrets->master_key, expected);
}

TEST_F(HealthSecretsTest, AFileReadableByOthersIsRefusedWithTheChmodToRun) {
  const std::string path = Write(
      R"({"pseudonym_secret": ")" + kSecret + R"(", "master_key": ")" + kMasterHex + "\"}", 0644);
  Result<HealthSecrets> secrets = Load(path);
  ASSERT_FALSE(secrets.ok());
  EXPECT_EQ(secrets.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(secrets.status().message().find("chmod 600 " + path), std::string::npos)
      << secrets.status().message();
  ::chmod(path.c_str(), 0640);
  EXPECT_FALSE(Load(path).ok());
}

TEST_F(HealthSecretsTest, MalformedSecretsAreNamedButNeverShown) {
  struct Case {
    std::string text;
    std::string names;
    std::string secret;
  };
  const std::vector<Case> cases = {
      {R"({"pseudonym_secret": "short-secret-xyz", "master_key": ")" + kMasterHex + "\"}",
       "pseudonym secret", "short-secret-xyz"},
      {R"({"pseudonym_secret": ")" + kSecret + R"(", "master_key": "zz-not-hex-zz"})", "master_key",
       "zz-not-hex-zz"},
      {R"({"pseudonym_secret": ")" + kSecret + R"(", "master_key": ")" + kMasterHex + "ab\"}",
       "master_key", kMasterHex},
      {R"({"pseudonym_secret": ")" + kSecret + R"(", "masterkey": "x"})", "unknown field", kSecret},
      {R"({"pseudonym_secret": ")" + kSecret + R"(", )", "not valid JSON", kSecret},
  };
  for (const Case& c : cases) {
    Result<HealthSecrets> secrets = Load(Write(c.text));
    ASSERT_FALSE(secrets.ok()) << c.text;
    EXPECT_NE(secrets.status().message().find(c.names), std::string::npos)
        << secrets.status().message();
    EXPECT_EQ(secrets.status().message().find(c.secret), std::string::npos)
        << secrets.status().message();
  }
}

TEST_F(HealthSecretsTest, AMissingFileIsNamed) {
  Result<HealthSecrets> secrets = Load(temp_.path() + "/absent.json");
  ASSERT_FALSE(secrets.ok());
  EXPECT_NE(secrets.status().message().find("absent.json"), std::string::npos);
}

TEST_F(HealthSecretsTest, NothingConfiguredIsRefusedWithHowToConfigureIt) {
  Result<HealthSecrets> secrets = LoadHealthSecrets({});
  ASSERT_FALSE(secrets.ok());
  const std::string& m = secrets.status().message();
  EXPECT_NE(m.find("--secrets"), std::string::npos) << m;
  EXPECT_NE(m.find("CPTS_PSEUDONYM_SECRET"), std::string::npos) << m;
  EXPECT_NE(m.find("CPTS_MASTER_KEY"), std::string::npos) << m;
}

TEST_F(HealthSecretsTest, TheEnvironmentAloneIsEnoughAndOverridesTheFile) {
  ::setenv(kPseudonymSecretEnv, "an-environment-secret-of-32-bytes-or-more", 1);
  ::setenv(kMasterKeyEnv, std::string(64, '1').c_str(), 1);
  Result<HealthSecrets> from_env = LoadHealthSecrets({});
  ASSERT_TRUE(from_env.ok()) << from_env.status().ToString();
  EXPECT_EQ(from_env->pseudonym_secret, "an-environment-secret-of-32-bytes-or-more");
  EXPECT_EQ(from_env->master_key[0], 0x11);

  ::unsetenv(kPseudonymSecretEnv);  // the file's secret, the environment's master key
  Result<HealthSecrets> mixed = Load(
      Write(R"({"pseudonym_secret": ")" + kSecret + R"(", "master_key": ")" + kMasterHex + "\"}"));
  ASSERT_TRUE(mixed.ok()) << mixed.status().ToString();
  EXPECT_EQ(mixed->pseudonym_secret, kSecret);
  EXPECT_EQ(mixed->master_key[0], 0x11);
}

TEST_F(HealthSecretsTest, ABadEnvironmentValueNamesTheVariable) {
  ::setenv(kPseudonymSecretEnv, "an-environment-secret-of-32-bytes-or-more", 1);
  ::setenv(kMasterKeyEnv, "secret-looking-but-not-hex", 1);
  Result<HealthSecrets> secrets = LoadHealthSecrets({});
  ASSERT_FALSE(secrets.ok());
  EXPECT_NE(secrets.status().message().find("CPTS_MASTER_KEY"), std::string::npos);
  EXPECT_EQ(secrets.status().message().find("secret-looking"), std::string::npos);
}

TEST_F(HealthSecretsTest, OnlyOneSecretConfiguredNamesTheOther) {
  ::setenv(kMasterKeyEnv, std::string(64, '1').c_str(), 1);
  Result<HealthSecrets> secrets = LoadHealthSecrets({});
  ASSERT_FALSE(secrets.ok());
  EXPECT_NE(secrets.status().message().find("no pseudonym secret"), std::string::npos);
}

TEST_F(HealthSecretsTest, TheSecretsFlagFillsTheFlags) {
  CLI::App app;
  HealthFlags flags;
  AddHealthFlags(app, flags);
  app.parse("--secrets /etc/cpts/secrets.json", false);
  EXPECT_EQ(flags.secrets_file, "/etc/cpts/secrets.json");
}

}  // namespace
}  // namespace cpts
