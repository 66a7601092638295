#pragma once
// The event log on an Apache Kafka cluster, through librdkafka (ARCHITECTURE.md, 3-4, 10).
//
// Producer: idempotent, acks=all, lz4; Append returns once every record has its delivery report,
// i.e. is acknowledged by all in-sync replicas. Records are routed by our own murmur2
// partitioner (events/log.h), which is the Java client's, so keys land where a Java producer
// would put them.
// Readers and group members: manual offset management (auto commit off); groups use the
// cooperative-sticky assignor.
// Topics: a logical name "events" is the Kafka topic topic_prefix + "events". EnsureTopic creates
// a missing topic through the Admin API (retention.ms=-1, or compaction) and refuses to run on a
// partition count mismatch.
// Thread-safety: KafkaLog is thread-safe; its readers and group members are used by one thread
// each, and must be destroyed before the log.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "events/log.h"

namespace cpts::log {

struct KafkaLogOptions {
  std::string bootstrap_servers;  // required, "host:port,host:port"
  // Default: "cpts.".
  std::string topic_prefix = "cpts.";
  // librdkafka properties passed through as is, for security (security.protocol, sasl.*, ssl.*)
  // and tuning. A property the log sets itself (enable.idempotence, acks, compression.type,
  // enable.auto.commit, the timeouts above, ...) cannot be set here: that is an error, so no
  // setting is silently ignored.
  std::map<std::string, std::string> properties;
  // How long a record may wait for its acknowledgement before Append fails. Default: 30 s.
  std::chrono::milliseconds delivery_timeout{30'000};
  // Metadata, offset and admin requests. Default: 10 s.
  std::chrono::milliseconds request_timeout{10'000};
  // Consumer group liveness: a crashed member's partitions move after this. Default: 10 s.
  std::chrono::milliseconds session_timeout{10'000};
  // Replication factor of topics EnsureTopic creates; -1 takes the broker's default. Default: -1.
  int replication_factor = -1;
  // min.insync.replicas of topics EnsureTopic creates (1 when replication_factor is 1): with
  // acks=all, an append is acknowledged once this many replicas have it. Default: 2.
  int min_insync_replicas = 2;
  // Default: kDefaultMaxRecordBytes (1,000,000).
  size_t max_record_bytes = kDefaultMaxRecordBytes;
  // Default: none. Called with the producer's librdkafka statistics (JSON: brokers' round trips,
  // queues, errors) every statistics_interval, from the producer's poller thread: the daemon's
  // metrics (connectors/api/metrics.h). The producer is the client every append goes through.
  std::function<void(std::string_view json)> statistics;
  std::chrono::milliseconds statistics_interval{15'000};  // Default: 15 s
};

// Connects (the producer starts at once) and checks the options.
Result<std::unique_ptr<Log>> OpenKafkaLog(const KafkaLogOptions& options);

}  // namespace cpts::log
