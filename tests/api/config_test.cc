// cptsd's configuration: sources and their precedence, and every check's message.
#include "connectors/api/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "events/json.h"

namespace cpts::api {
namespace {

namespace fs = std::filesystem;

class DaemonConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cptsd-config-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string WriteFile(const std::string& name, const std::string& text, mode_t mode = 0644) {
    const fs::path path = dir_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
    return path.string();
  }

  // Parses a command line as cptsd would.
  static DaemonFlags Parse(std::vector<std::string> args) {
    CLI::App app("cptsd");
    DaemonFlags flags;
    AddDaemonFlags(app, flags);
    args.insert(args.begin(), "cptsd");
    std::vector<const char*> argv;
    for (const std::string& a : args) argv.push_back(a.c_str());
    app.parse(static_cast<int>(argv.size()), argv.data());
    return flags;
  }

  static std::string Error(const Result<DaemonConfig>& config) {
    EXPECT_FALSE(config.ok());
    return config.status().message();
  }

  fs::path dir_;
};

TEST_F(DaemonConfigTest, DefaultsAreLoopbackAndTheDocumentedValues) {
  Result<DaemonConfig> config = LoadDaemonConfig({}, {});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->host, "127.0.0.1");
  EXPECT_EQ(config->port, 8080);
  EXPECT_EQ(config->data_dir, "data");
  EXPECT_EQ(config->kafka, "");
  EXPECT_EQ(config->tokens_file, "data/tokens.json");
  EXPECT_EQ(config->max_body_bytes, 1 << 20);
  EXPECT_EQ(config->max_header_bytes, 8 << 10);
  EXPECT_EQ(config->max_connections, 256);
  EXPECT_EQ(config->read_your_writes_wait_ms, 5000);
  EXPECT_FALSE(config->demo);
  EXPECT_GE(config->WorkerThreads(), 8);
}

TEST_F(DaemonConfigTest, FlagsOverrideTheEnvironmentWhichOverridesTheFile) {
  const std::string file = WriteFile("cptsd.json", R"({"port": 9000, "max_connections": 10,
                                                        "sse_heartbeat_seconds": 20})");
  const Environment env = {{"CPTSD_PORT", "9001"}, {"CPTSD_MAX_CONNECTIONS", "11"}};
  Result<DaemonConfig> config = LoadDaemonConfig(Parse({"--config", file, "--port", "9002"}), env);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->port, 9002);                 // flag
  EXPECT_EQ(config->max_connections, 11);        // environment
  EXPECT_EQ(config->sse_heartbeat_seconds, 20);  // file
  EXPECT_EQ(config->read_timeout_seconds, 10);   // default
  EXPECT_EQ(config->config_file, file);
}

TEST_F(DaemonConfigTest, TheEnvironmentNamesTheConfigFileWhenNoFlagDoes) {
  const std::string file = WriteFile("cptsd.json", R"({"demo": true})");
  Result<DaemonConfig> config = LoadDaemonConfig({}, {{"CPTSD_CONFIG", file}});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_TRUE(config->demo);
}

TEST_F(DaemonConfigTest, BooleanFlagsAndVariablesAreRead) {
  Result<DaemonConfig> config = LoadDaemonConfig(Parse({"--demo"}), {});
  ASSERT_TRUE(config.ok());
  EXPECT_TRUE(config->demo);
  config = LoadDaemonConfig({}, {{"CPTSD_DEMO", "yes"}});
  ASSERT_TRUE(config.ok());
  EXPECT_TRUE(config->demo);
  EXPECT_EQ(Error(LoadDaemonConfig({}, {{"CPTSD_DEMO", "maybe"}})),
            "demo \"maybe\" (from CPTSD_DEMO) must be true or false (also 1/0, yes/no, on/off)");
}

TEST_F(DaemonConfigTest, AnOutOfRangePortNamesItsSource) {
  EXPECT_EQ(Error(LoadDaemonConfig({}, {{"CPTSD_PORT", "70000"}})),
            "port 70000 (from CPTSD_PORT) is out of range 0-65535");
  EXPECT_EQ(Error(LoadDaemonConfig(Parse({"--port", "-1"}), {})),
            "port -1 (from --port) is out of range 0-65535");
  const std::string file = WriteFile("cptsd.json", R"({"port": 70000})");
  EXPECT_EQ(Error(LoadDaemonConfig({.config_file = file}, {})),
            "port 70000 (from " + file + ") is out of range 0-65535");
}

TEST_F(DaemonConfigTest, TextThatIsNoIntegerIsRefused) {
  EXPECT_EQ(Error(LoadDaemonConfig({}, {{"CPTSD_MAX_BODY_BYTES", "1MiB"}})),
            "max_body_bytes \"1MiB\" (from CPTSD_MAX_BODY_BYTES) must be an integer");
  EXPECT_EQ(Error(LoadDaemonConfig({}, {{"CPTSD_PORT", "99999999999999999999999"}})),
            "port \"99999999999999999999999\" (from CPTSD_PORT) is out of range 0-65535");
}

TEST_F(DaemonConfigTest, TheReadYourWritesWaitIsBoundedToAMinute) {
  EXPECT_EQ(Error(LoadDaemonConfig({}, {{"CPTSD_READ_YOUR_WRITES_WAIT_MS", "60001"}})),
            "read_your_writes_wait_ms 60001 (from CPTSD_READ_YOUR_WRITES_WAIT_MS) is out of "
            "range 0-60000");
  EXPECT_TRUE(LoadDaemonConfig({}, {{"CPTSD_READ_YOUR_WRITES_WAIT_MS", "60000"}}).ok());
}

TEST_F(DaemonConfigTest, AWrongJsonTypeIsNamed) {
  const std::string file = WriteFile("cptsd.json", R"({"port": "8080"})");
  EXPECT_EQ(Error(LoadDaemonConfig({.config_file = file}, {})),
            "port in " + file + " must be an integer, not a string");
  const std::string other = WriteFile("other.json", R"({"demo": 1})");
  EXPECT_EQ(Error(LoadDaemonConfig({.config_file = other}, {})),
            "demo in " + other + " must be true or false, not an integer");
  const std::string host = WriteFile("host.json", R"({"host": ["127.0.0.1"]})");
  EXPECT_EQ(Error(LoadDaemonConfig({.config_file = host}, {})),
            "host in " + host + " must be a string, not an array");
}

TEST_F(DaemonConfigTest, AnUnknownSettingIsRefusedWithTheNearestName) {
  const std::string file = WriteFile("cptsd.json", R"({"prot": 8080})");
  EXPECT_EQ(Error(LoadDaemonConfig({.config_file = file}, {})),
            "unknown setting \"prot\" in " + file + ": did you mean \"port\"?");
  const std::string far = WriteFile("far.json", R"({"colour": "blue"})");
  EXPECT_EQ(
      Error(LoadDaemonConfig({.config_file = far}, {})),
      "unknown setting \"colour\" in " + far + " (deploy/cptsd.example.json lists the settings)");
}

TEST_F(DaemonConfigTest, AnUnknownVariableIsRefusedWithTheNearestName) {
  EXPECT_EQ(Error(LoadDaemonConfig({}, {{"CPTSD_PROT", "8080"}})),
            "unknown variable \"CPTSD_PROT\" in the environment: did you mean \"CPTSD_PORT\"?");
  EXPECT_EQ(Error(LoadDaemonConfig({}, {{"CPTSD_MAX_BODY_BYTE", "10"}})),
            "unknown variable \"CPTSD_MAX_BODY_BYTE\" in the environment: did you mean "
            "\"CPTSD_MAX_BODY_BYTES\"?");
  // Variables of other programs are not ours to check.
  EXPECT_TRUE(LoadDaemonConfig({}, {{"CPTS_MASTER_KEY", "x"}, {"HOME", "/root"}}).ok());
}

TEST_F(DaemonConfigTest, CommentKeysOfTheFileAreIgnored) {
  const std::string file = WriteFile("cptsd.json", R"({"// port": "the TCP port", "port": 81})");
  Result<DaemonConfig> config = LoadDaemonConfig({.config_file = file}, {});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->port, 81);
}

TEST_F(DaemonConfigTest, RelativePathsInTheFileAreRelativeToItsDirectory) {
  const std::string file = WriteFile("etc/cptsd.json", R"({"data_dir": "../var/cpts",
      "tokens_file": "tokens.json", "secrets_file": "/srv/secrets.json"})");
  Result<DaemonConfig> config = LoadDaemonConfig({.config_file = file}, {});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->data_dir, (dir_ / "var/cpts").string());
  EXPECT_EQ(config->tokens_file, (dir_ / "etc/tokens.json").string());
  EXPECT_EQ(config->secrets_file, "/srv/secrets.json");
}

TEST_F(DaemonConfigTest, RelativePathsFromTheEnvironmentAndFlagsStayAsGiven) {
  const std::string file = WriteFile("etc/cptsd.json", R"({"data_dir": "var"})");
  Result<DaemonConfig> config = LoadDaemonConfig(
      Parse({"--config", file, "--tokens-file", "t.json"}), {{"CPTSD_DATA_DIR", "here"}});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->data_dir, "here");
  EXPECT_EQ(config->tokens_file, "t.json");
}

TEST_F(DaemonConfigTest, TheTokensFileDefaultsToTheDataDirectory) {
  Result<DaemonConfig> config = LoadDaemonConfig({}, {{"CPTSD_DATA_DIR", "/srv/cpts"}});
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->tokens_file, "/srv/cpts/tokens.json");
}

TEST_F(DaemonConfigTest, AConfigFileWritableByOthersIsRefused) {
  const std::string file = WriteFile("cptsd.json", R"({"port": 81})", 0666);
  Result<DaemonConfig> config = LoadDaemonConfig({.config_file = file}, {});
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(config.status().message(), "the config file " + file +
                                           " (from --config) is writable by group or others: "
                                           "run chmod go-w " +
                                           file);
  ::chmod(file.c_str(), 0644);
  EXPECT_TRUE(LoadDaemonConfig({.config_file = file}, {}).ok());
}

TEST_F(DaemonConfigTest, AMissingOrInvalidConfigFileIsNamed) {
  const std::string missing = (dir_ / "nope.json").string();
  EXPECT_EQ(
      Error(LoadDaemonConfig({}, {{"CPTSD_CONFIG", missing}})),
      "cannot read the config file " + missing + " (from CPTSD_CONFIG): No such file or directory");
  const std::string broken = WriteFile("broken.json", R"({"port": 80,})");
  EXPECT_NE(Error(LoadDaemonConfig({.config_file = broken}, {})).find(broken), std::string::npos);
  const std::string twice = WriteFile("twice.json", R"({"port": 80, "port": 81})");
  EXPECT_FALSE(LoadDaemonConfig({.config_file = twice}, {}).ok());
  const std::string array = WriteFile("array.json", R"([])");
  EXPECT_EQ(Error(LoadDaemonConfig({.config_file = array}, {})),
            "the config file " + array + " (from --config) must hold a JSON object of settings");
}

TEST_F(DaemonConfigTest, PlainHttpOffLoopbackIsRefusedUnlessAllowed) {
  const std::string message = Error(LoadDaemonConfig({}, {{"CPTSD_HOST", "0.0.0.0"}}));
  EXPECT_EQ(message.rfind("host 0.0.0.0 (from CPTSD_HOST) is not a loopback address", 0), 0u)
      << message;
  EXPECT_NE(message.find("set tls_cert_file and tls_key_file"), std::string::npos);
  EXPECT_TRUE(
      LoadDaemonConfig(Parse({"--allow-plain-http-on-network"}), {{"CPTSD_HOST", "0.0.0.0"}}).ok());
  for (const char* loopback : {"127.0.0.1", "127.0.1.1", "localhost", "::1"}) {
    EXPECT_TRUE(LoadDaemonConfig({}, {{"CPTSD_HOST", loopback}}).ok()) << loopback;
  }
}

TEST_F(DaemonConfigTest, TlsNeedsBothFilesAndAllowsANetworkAddress) {
  const std::string cert = WriteFile("cert.pem", "cert");
  const std::string key = WriteFile("key.pem", "key", 0600);
  EXPECT_EQ(Error(LoadDaemonConfig(Parse({"--tls-cert-file", cert}), {})),
            "tls_cert_file (from --tls-cert-file) is set but tls_key_file is not: TLS needs "
            "both, or neither for plain HTTP");
  Result<DaemonConfig> config = LoadDaemonConfig(
      Parse({"--tls-cert-file", cert, "--tls-key-file", key, "--host", "0.0.0.0"}), {});
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  const std::string missing = (dir_ / "none.pem").string();
  EXPECT_EQ(
      Error(LoadDaemonConfig(Parse({"--tls-cert-file", cert, "--tls-key-file", missing}), {})),
      "tls_key_file " + missing +
          " (from --tls-key-file) cannot be read: No such file or directory");
  ::chmod(key.c_str(), 0644);
  config = LoadDaemonConfig(Parse({"--tls-cert-file", cert, "--tls-key-file", key}), {});
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(DaemonConfigTest, StringSettingsAreChecked) {
  EXPECT_EQ(Error(LoadDaemonConfig({}, {{"CPTSD_HOST", "my host"}})),
            "host \"my host\" (from CPTSD_HOST) must be an IP address or a host name");
  EXPECT_EQ(Error(LoadDaemonConfig({}, {{"CPTSD_DATA_DIR", ""}})),
            "data_dir (from CPTSD_DATA_DIR) is empty: name a directory, or leave it out for "
            "./data");
  EXPECT_NE(Error(LoadDaemonConfig(Parse({"--kafka-topic-prefix", "cpts/"}), {}))
                .find("kafka_topic_prefix \"cpts/\" (from --kafka-topic-prefix)"),
            std::string::npos);
}

TEST_F(DaemonConfigTest, KafkaPropertiesComeFromTheFileAndFlagsAndNeverShowAValue) {
  const std::string file = WriteFile(
      "cptsd.json", R"({"kafka": "k1:9092", "kafka_properties": {"security.protocol": "SSL",
                         "sasl.password": "file-secret"}})");
  Result<DaemonConfig> config = LoadDaemonConfig(
      Parse({"--config", file, "--kafka-property", "sasl.password=flag-secret"}), {});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->kafka_properties.at("security.protocol"), "SSL");
  EXPECT_EQ(config->kafka_properties.at("sasl.password"), "flag-secret");
  const LogFlags log = config->Log();
  EXPECT_EQ(log.kafka, "k1:9092");
  EXPECT_EQ(log.kafka_properties.size(), 2u);

  const std::string message =
      Error(LoadDaemonConfig(Parse({"--kafka-property", "flag-secret"}), {}));
  EXPECT_EQ(message.find("flag-secret"), std::string::npos) << message;
  EXPECT_NE(Error(LoadDaemonConfig({}, {{"CPTSD_KAFKA_PROPERTIES", "a=b"}}))
                .find("give kafka_properties in the config file"),
            std::string::npos);
}

TEST_F(DaemonConfigTest, EveryFlagIsNamedAfterItsSetting) {
  for (const std::string& name : DaemonSettingNames()) {
    if (name == "kafka_properties") continue;
    std::string flag = "--" + name;
    std::replace(flag.begin(), flag.end(), '_', '-');
    CLI::App app("cptsd");
    DaemonFlags flags;
    AddDaemonFlags(app, flags);
    EXPECT_NE(app.get_option_no_throw(flag), nullptr) << flag;
  }
}

TEST_F(DaemonConfigTest, TheExampleFileLoadsAndDocumentsEverySetting) {
  const std::string example = std::string(CPTS_SOURCE_DIR) + "/deploy/cptsd.example.json";
  std::ifstream in(example);
  ASSERT_TRUE(in.good()) << example;
  const ::cpts::Json doc = ::cpts::Json::parse(in);
  for (const std::string& name : DaemonSettingNames()) {
    EXPECT_TRUE(doc.contains(name) || doc.contains("// " + name)) << name;
    EXPECT_TRUE(doc.contains("// " + name)) << name << " has no comment";
  }
  // A copy: the checkout's mode is not ours to choose.
  const std::string copy = WriteFile("cptsd.json", doc.dump());
  Result<DaemonConfig> config = LoadDaemonConfig({.config_file = copy}, {});
  EXPECT_TRUE(config.ok()) << config.status().ToString();
}

}  // namespace
}  // namespace cpts::api
