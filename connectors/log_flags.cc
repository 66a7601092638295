#include "connectors/log_flags.h"

#include <cstdlib>

#include "connectors/embedded_key_store.h"
#include "connectors/embedded_log.h"
#include "connectors/kafka_log.h"
#include "connectors/log_key_store.h"
#include "projections/clock.h"

namespace cpts {

// `creates_topics`: the command may create the topics, so it takes their partition count.
void AddLogFlags(CLI::App& app, LogFlags& flags, bool creates_topics) {
  app.add_option("--data-dir", flags.data_dir, "Data directory: the embedded log in <dir>/log, the read models in <dir>/projections")
      ->capture_default_str();
  app.add_option("--kafka", flags.kafka,
                 "Kafka bootstrap servers (host:port,...): use Kafka instead of the embedded log");
  app.add_option("--kafka-topic-prefix", flags.topic_prefix, "Prefix of the Kafka topic names")
      ->capture_default_str();
  app.add_option("--kafka-property", flags.kafka_properties,
                 "librdkafka property name=value, e.g. security.protocol=SASL_SSL (repeatable)");
  app.add_option("--kafka-session-timeout-ms", flags.session_timeout_ms,
                 "How long a silent group member keeps its partitions")
      ->capture_default_str()
      ->check(CLI::Range(1000, 300000));
  if (creates_topics) {
    app.add_option("--partitions", flags.partitions,
                   "Partitions of each topic, fixed when the topics are created")
        ->capture_default_str()
        ->check(CLI::Range(1, 10000));
  }
}


// Opens the log the flags name. kCreateTopics makes sure every topic exists with the expected
// partitions; kReadOnly changes nothing and fails when there is no log to read.
Result<std::unique_ptr<log::Log>> OpenLog(const LogFlags& flags, OpenMode mode,
                                          const LogObservers& observers) {
  Result<std::unique_ptr<log::Log>> opened = Status::Internal("no log");
  if (flags.kafka.empty()) {
    opened = log::OpenEmbeddedLog(
        {.directory = flags.LogDirectory(), .create_if_missing = mode == OpenMode::kCreateTopics});
  } else {
    log::KafkaLogOptions options;
    options.bootstrap_servers = flags.kafka;
    options.topic_prefix = flags.topic_prefix;
    options.session_timeout = std::chrono::milliseconds(flags.session_timeout_ms);
    for (const std::string& property : flags.kafka_properties) {
      const size_t eq = property.find('=');
      if (eq == std::string::npos || eq == 0) {
        return Status::InvalidArgument("--kafka-property \"" + property +
                                       "\" must read name=value");
      }
      options.properties[property.substr(0, eq)] = property.substr(eq + 1);
    }
    options.statistics = observers.kafka_statistics;
    opened = log::OpenKafkaLog(options);
  }
  if (!opened.ok() || mode == OpenMode::kReadOnly) return opened;
  for (const log::TopicSpec& spec : topics::AllTopics(flags.partitions)) {
    CPTS_RETURN_IF_ERROR((*opened)->EnsureTopic(spec));
  }
  return opened;
}

Result<std::optional<int64_t>> ParseTimeFlag(const std::string& text, const char* flag) {
  if (text.empty()) return std::optional<int64_t>();
  std::optional<int64_t> ms = projections::ParseTimestampMs(text);
  if (!ms) {
    return Status::InvalidArgument(std::string(flag) + " \"" + text +
                                   "\" is not a time such as 2026-11-22T16:05:00Z");
  }
  return ms;
}

std::string OperatorName() {
  const char* login = std::getenv("USER");
  return std::string("operator:") + (login != nullptr && *login != '\0' ? login : "unknown");
}

Result<std::unique_ptr<keys::KeyStore>> OpenKeyStore(const LogFlags& flags, log::Log& log,
                                                     const std::array<unsigned char, 32>& master_key) {
  if (flags.kafka.empty()) return keys::OpenEmbeddedKeyStore(flags.KeysDirectory(), master_key);
  return keys::OpenLogKeyStore(log, master_key);
}

}  // namespace cpts
