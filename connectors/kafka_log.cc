#include "connectors/kafka_log.h"

#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

namespace cpts::log {
namespace {

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
  void operator()(const rd_kafka_metadata_t* m) const { rd_kafka_metadata_destroy(m); }
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
  void operator()(rd_kafka_NewTopic_t* t) const { rd_kafka_NewTopic_destroy(t); }
  void operator()(rd_kafka_AdminOptions_t* o) const { rd_kafka_AdminOptions_destroy(o); }
};
using KafkaHandle = std::unique_ptr<rd_kafka_t, KafkaDeleter>;
using ConfHandle = std::unique_ptr<rd_kafka_conf_t, KafkaDeleter>;
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, KafkaDeleter>;
using MetadataHandle = std::unique_ptr<const rd_kafka_metadata_t, KafkaDeleter>;
using QueueHandle = std::unique_ptr<rd_kafka_queue_t, KafkaDeleter>;
using MessageHandle = std::unique_ptr<rd_kafka_message_t, KafkaDeleter>;
using EventHandle = std::unique_ptr<rd_kafka_event_t, KafkaDeleter>;

// Properties our guarantees rest on: a caller may not change them.
const std::set<std::string> kReservedProperties = {"enable.idempotence",
                                                   "acks",
                                                   "request.required.acks",
                                                   "enable.auto.commit",
                                                   "enable.auto.offset.store",
                                                   "partition.assignment.strategy",
                                                   "group.id",
                                                   "bootstrap.servers",
                                                   "metadata.broker.list",
                                                   "max.in.flight.requests.per.connection",
                                                   "enable.gapless.guarantee"};

std::string ErrName(rd_kafka_resp_err_t err) { return rd_kafka_err2str(err); }

Status FromKafka(rd_kafka_resp_err_t err, const std::string& what) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
      return Status::Ok();
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
      return Status::TimedOut(what + ": " + ErrName(err));
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
      return Status::NotFound(what + ": " + ErrName(err));
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
      return Status::InvalidArgument(what + ": " + ErrName(err));
    default:
      return Status::Unavailable(what + ": " + ErrName(err));
  }
}

int TimeoutMs(std::chrono::milliseconds d) { return static_cast<int>(d.count()); }

// Builds a configuration with the caller's pass-through properties, then ours.
Result<ConfHandle> MakeConf(const KafkaLogOptions& options,
                            const std::vector<std::pair<std::string, std::string>>& ours) {
  ConfHandle conf(rd_kafka_conf_new());
  char errstr[512];
  auto set = [&](const std::string& k, const std::string& v) -> Status {
    if (rd_kafka_conf_set(conf.get(), k.c_str(), v.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
      return Status::InvalidArgument("Kafka property " + k + ": " + errstr);
    }
    return Status::Ok();
  };
  for (const auto& [k, v] : options.properties) {
    const bool set_by_log =
        std::any_of(ours.begin(), ours.end(), [&](const auto& kv) { return kv.first == k; });
    if (kReservedProperties.count(k) > 0 || set_by_log) {
      return Status::InvalidArgument("Kafka property " + k +
                                     " is set by the log itself and cannot be overridden");
    }
    CPTS_RETURN_IF_ERROR(set(k, v));
  }
  CPTS_RETURN_IF_ERROR(set("bootstrap.servers", options.bootstrap_servers));
  for (const auto& [k, v] : ours) CPTS_RETURN_IF_ERROR(set(k, v));
  return conf;
}

Status SetConf(rd_kafka_conf_t* conf, const std::string& name, const std::string& value) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), errstr, sizeof errstr) !=
      RD_KAFKA_CONF_OK) {
    return Status::InvalidArgument("Kafka property " + name + ": " + errstr);
  }
  return Status::Ok();
}

// Copies a message into the log's own record type; the logical topic name is given.
StoredRecord ToStored(const rd_kafka_message_t* m, const std::string& logical_topic) {
  StoredRecord r;
  r.topic = logical_topic;
  r.partition = Partition(m->partition);
  r.offset = Offset(m->offset);
  rd_kafka_timestamp_type_t tstype;
  r.timestamp_ms = rd_kafka_message_timestamp(m, &tstype);
  if (m->key != nullptr) r.key.assign(static_cast<const char*>(m->key), m->key_len);
  if (m->payload != nullptr) r.value.assign(static_cast<const char*>(m->payload), m->len);
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name;
    const void* value;
    size_t size;
    for (size_t i = 0;
         rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      r.headers.push_back(
          Header{name, value != nullptr ? std::string(static_cast<const char*>(value), size) : ""});
    }
  }
  return r;
}

// Errors a consumer reports that librdkafka recovers from by itself (a broker going away and
// coming back): they are not failures of a Poll.
bool IsTransientConsumerError(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR__TRANSPORT || err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ||
         err == RD_KAFKA_RESP_ERR__PARTITION_EOF || err == RD_KAFKA_RESP_ERR__RESOLVE ||
         err == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION ||
         err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE || err == RD_KAFKA_RESP_ERR__TIMED_OUT ||
         err == RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT;
}

// One Append call waiting for its delivery reports.
struct PendingAppend {
  struct Slot {
    PendingAppend* call;
    size_t index;
  };
  std::vector<Slot> slots;
  std::vector<Position> positions;
  size_t produced = 0;
  size_t delivered = 0;
  rd_kafka_resp_err_t first_error = RD_KAFKA_RESP_ERR_NO_ERROR;
  std::mutex mu;
  std::condition_variable cv;
};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  auto* slot = static_cast<PendingAppend::Slot*>(m->_private);
  PendingAppend* call = slot->call;
  std::lock_guard lock(call->mu);
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (call->first_error == RD_KAFKA_RESP_ERR_NO_ERROR) call->first_error = m->err;
  } else {
    call->positions[slot->index] = Position{Partition(m->partition), Offset(m->offset)};
  }
  if (++call->delivered == call->produced) call->cv.notify_all();
}

}  // namespace

class KafkaLog final : public Log {
 public:
  static Result<std::unique_ptr<Log>> Open(const KafkaLogOptions& options);
  ~KafkaLog() override;

  Status EnsureTopic(const TopicSpec& spec) override;
  Result<int32_t> PartitionCount(std::string_view topic) override;
  Result<std::vector<Position>> Append(std::string_view topic,
                                       std::span<const Record> records) override;
  Result<Offset> BeginOffset(const TopicPartition& tp) override;
  Result<Offset> EndOffset(const TopicPartition& tp) override;
  Result<std::unique_ptr<LogReader>> OpenReader() override;
  Result<std::unique_ptr<GroupConsumer>> JoinGroup(const GroupOptions& options,
                                                   GroupListener* listener) override;
  Result<std::optional<Offset>> GroupOffset(std::string_view group,
                                            const TopicPartition& tp) override;
  size_t MaxRecordBytes() const override { return options_.max_record_bytes; }

  std::string Physical(std::string_view topic) const {
    return options_.topic_prefix + std::string(topic);
  }
  std::string Logical(std::string_view physical) const {
    return std::string(physical.substr(std::min(physical.size(), options_.topic_prefix.size())));
  }
  Status CheckPartition(const TopicPartition& tp);
  Result<ConfHandle> ConsumerConf(const std::string& group_id, bool in_group);
  const KafkaLogOptions& options() const { return options_; }

 private:
  explicit KafkaLog(KafkaLogOptions options) : options_(std::move(options)) {}
  // Partition count from the cluster's metadata; NotFound when the topic does not exist.
  Result<int32_t> FetchPartitionCount(const std::string& physical);
  Status CreateTopic(const TopicSpec& spec);
  // A fatal error (e.g. a record that could not be delivered with the gapless guarantee on)
  // stops the idempotent producer for good: every later append must fail, saying so.
  Status CheckProducerUsable();

  KafkaLogOptions options_;
  KafkaHandle producer_;
  std::thread poller_;  // serves delivery reports
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::map<std::string, int32_t, std::less<>> partition_counts_;  // logical name -> count
  // GroupOffset's consumers, one per group asked about, created on first use and kept: a
  // consumer costs threads and connections, and the API asks every few milliseconds. Each has
  // the group's group.id but never subscribes, so it never joins the group or moves a partition.
  std::mutex group_readers_mu_;
  std::map<std::string, KafkaHandle, std::less<>> group_readers_;
};

Result<std::unique_ptr<Log>> OpenKafkaLog(const KafkaLogOptions& options) {
  return KafkaLog::Open(options);
}

Result<std::unique_ptr<Log>> KafkaLog::Open(const KafkaLogOptions& options) {
  if (options.bootstrap_servers.empty()) {
    return Status::InvalidArgument("the Kafka log needs bootstrap servers (host:port,...)");
  }
  if (options.max_record_bytes == 0)
    return Status::InvalidArgument("max_record_bytes must be positive");
  if (!options.topic_prefix.empty()) {
    CPTS_RETURN_IF_ERROR(ValidateTopicName(options.topic_prefix).WithContext("topic_prefix"));
  }
  std::unique_ptr<KafkaLog> log(new KafkaLog(options));
  Result<ConfHandle> conf = MakeConf(
      options, {
                   {"enable.idempotence", "true"},
                   // A record that cannot be delivered stops the producer rather than letting
                   // later records of the partition through: a stream never gets a hole.
                   {"enable.gapless.guarantee", "true"},
                   {"acks", "all"},
                   {"compression.type", "lz4"},
                   {"linger.ms", "5"},
                   {"message.timeout.ms", std::to_string(options.delivery_timeout.count())},
                   // Room for batch overhead above the largest record we accept.
                   {"message.max.bytes", std::to_string(options.max_record_bytes + 65536)},
                   // A metadata request must never create a topic behind EnsureTopic's back.
                   {"allow.auto.create.topics", "false"},
               });
  if (!conf.ok()) return conf.status();
  rd_kafka_conf_set_dr_msg_cb(conf->get(), OnDelivery);
  if (options.statistics) {
    CPTS_RETURN_IF_ERROR(SetConf(conf->get(), "statistics.interval.ms",
                                 std::to_string(options.statistics_interval.count())));
    rd_kafka_conf_set_opaque(conf->get(), log.get());
    rd_kafka_conf_set_stats_cb(conf->get(), [](rd_kafka_t*, char* json, size_t json_len,
                                               void* opaque) {
      static_cast<KafkaLog*>(opaque)->options().statistics(std::string_view(json, json_len));
      return 0;  // librdkafka frees `json`
    });
  }
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf->get(), errstr, sizeof errstr);
  if (rk == nullptr) return Status::InvalidArgument(std::string("Kafka producer: ") + errstr);
  (void)conf->release();  // rd_kafka_new took ownership
  log->producer_.reset(rk);
  log->poller_ = std::thread([raw = log.get()] {
    while (!raw->stopping_.load()) rd_kafka_poll(raw->producer_.get(), 100);
  });
  return std::unique_ptr<Log>(std::move(log));
}

KafkaLog::~KafkaLog() {
  if (producer_ != nullptr) {
    // Everything appended was already acknowledged; this only drains what a failed Append left.
    (void)rd_kafka_flush(producer_.get(), TimeoutMs(options_.request_timeout));
  }
  stopping_ = true;
  if (poller_.joinable()) poller_.join();
}

Result<int32_t> KafkaLog::FetchPartitionCount(const std::string& physical) {
  const rd_kafka_metadata_t* raw = nullptr;
  // A metadata request for all topics: asking for one topic by handle could auto-create it.
  rd_kafka_resp_err_t err =
      rd_kafka_metadata(producer_.get(), 1, nullptr, &raw, TimeoutMs(options_.request_timeout));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return FromKafka(err, "reading the cluster's metadata from " + options_.bootstrap_servers);
  }
  MetadataHandle md(raw);
  for (int i = 0; i < md->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& t = md->topics[i];
    if (physical != t.topic) continue;
    if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR) return FromKafka(t.err, "topic " + physical);
    return t.partition_cnt;
  }
  return Status::NotFound("topic " + physical + " does not exist on " + options_.bootstrap_servers);
}

Result<int32_t> KafkaLog::PartitionCount(std::string_view topic) {
  {
    std::lock_guard lock(mu_);
    if (auto it = partition_counts_.find(topic); it != partition_counts_.end()) return it->second;
  }
  CPTS_RETURN_IF_ERROR(ValidateTopicName(Physical(topic)));
  Result<int32_t> count = FetchPartitionCount(Physical(topic));
  if (!count.ok()) return count;
  std::lock_guard lock(mu_);
  partition_counts_[std::string(topic)] = *count;
  return count;
}

Status KafkaLog::CreateTopic(const TopicSpec& spec) {
  const std::string physical = Physical(spec.name);
  char errstr[512];
  std::unique_ptr<rd_kafka_NewTopic_t, KafkaDeleter> new_topic(rd_kafka_NewTopic_new(
      physical.c_str(), spec.partitions, options_.replication_factor, errstr, sizeof errstr));
  if (new_topic == nullptr) return Status::InvalidArgument("topic " + physical + ": " + errstr);
  // Topics are history (ARCHITECTURE.md, 10): kept forever, or compacted for the keys topic.
  // acks=all waits for the in-sync replicas only: demand at least two of them, so an
  // acknowledged record never lives on the leader alone (one with a single replica).
  const std::string min_insync =
      std::to_string(options_.replication_factor == 1 ? 1 : options_.min_insync_replicas);
  (void)rd_kafka_NewTopic_set_config(new_topic.get(), "min.insync.replicas", min_insync.c_str());
  if (spec.compacted) {
    (void)rd_kafka_NewTopic_set_config(new_topic.get(), "cleanup.policy", "compact");
  } else {
    (void)rd_kafka_NewTopic_set_config(new_topic.get(), "retention.ms", "-1");
    (void)rd_kafka_NewTopic_set_config(new_topic.get(), "retention.bytes", "-1");
  }
  QueueHandle queue(rd_kafka_queue_new(producer_.get()));
  std::unique_ptr<rd_kafka_AdminOptions_t, KafkaDeleter> admin_options(
      rd_kafka_AdminOptions_new(producer_.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS));
  (void)rd_kafka_AdminOptions_set_request_timeout(
      admin_options.get(), TimeoutMs(options_.request_timeout), errstr, sizeof errstr);
  rd_kafka_NewTopic_t* topics[] = {new_topic.get()};
  rd_kafka_CreateTopics(producer_.get(), topics, 1, admin_options.get(), queue.get());
  EventHandle event(rd_kafka_queue_poll(queue.get(), TimeoutMs(options_.request_timeout) + 1000));
  const std::string advice = ": create topic " + physical + " with " +
                             std::to_string(spec.partitions) +
                             " partitions and retention.ms=-1 by hand, then start again";
  if (event == nullptr) return Status::TimedOut("creating topic " + physical + advice);
  if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable("creating topic " + physical + ": " +
                               rd_kafka_event_error_string(event.get()) + advice);
  }
  const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event.get());
  size_t count = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(result, &count);
  for (size_t i = 0; i < count; ++i) {
    const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      const char* msg = rd_kafka_topic_result_error_string(results[i]);
      return Status::Unavailable("creating topic " + physical + ": " +
                                 (msg != nullptr ? msg : ErrName(err)) + advice);
    }
  }
  return Status::Ok();
}

Status KafkaLog::EnsureTopic(const TopicSpec& spec) {
  CPTS_RETURN_IF_ERROR(ValidateTopicSpec(spec));
  CPTS_RETURN_IF_ERROR(ValidateTopicName(Physical(spec.name)));
  Result<int32_t> existing = FetchPartitionCount(Physical(spec.name));
  if (existing.ok()) {
    if (*existing != spec.partitions) {
      return PartitionCountMismatch("Kafka topic " + Physical(spec.name), *existing,
                                    spec.partitions);
    }
  } else if (existing.status().code() == StatusCode::kNotFound) {
    CPTS_RETURN_IF_ERROR(CreateTopic(spec));
  } else {
    return existing.status();
  }
  std::lock_guard lock(mu_);
  partition_counts_[spec.name] = spec.partitions;
  return Status::Ok();
}

Status KafkaLog::CheckPartition(const TopicPartition& tp) {
  Result<int32_t> count = PartitionCount(tp.topic);
  if (!count.ok()) return count.status();
  return ValidatePartition(tp, *count);
}

Result<std::vector<Position>> KafkaLog::Append(std::string_view topic,
                                               std::span<const Record> records) {
  Result<int32_t> partitions = PartitionCount(topic);
  if (!partitions.ok()) return partitions.status();
  CPTS_RETURN_IF_ERROR(ValidateRecords(topic, records, *partitions, options_.max_record_bytes));
  if (records.empty()) return std::vector<Position>{};
  CPTS_RETURN_IF_ERROR(CheckProducerUsable());

  const std::string physical = Physical(topic);
  PendingAppend call;
  call.slots.resize(records.size());
  call.positions.resize(records.size());
  rd_kafka_resp_err_t produce_error = RD_KAFKA_RESP_ERR_NO_ERROR;
  for (size_t i = 0; i < records.size() && produce_error == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
    const Record& r = records[i];
    call.slots[i] = {&call, i};
    rd_kafka_headers_t* headers = nullptr;
    if (!r.headers.empty()) {
      headers = rd_kafka_headers_new(r.headers.size());
      for (const Header& h : r.headers) {
        (void)rd_kafka_header_add(headers, h.key.data(), static_cast<ssize_t>(h.key.size()),
                                  h.value.data(), static_cast<ssize_t>(h.value.size()));
      }
    }
    {
      // Counted before the call: the delivery report may arrive before producev returns.
      std::lock_guard lock(call.mu);
      ++call.produced;
    }
    while (true) {
      const rd_kafka_resp_err_t err =
          rd_kafka_producev(producer_.get(), RD_KAFKA_V_TOPIC(physical.c_str()),
                            RD_KAFKA_V_PARTITION(RouteRecord(r, *partitions).value()),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            // No key is a null key, as Kafka clients write it, not an empty one.
                            RD_KAFKA_V_KEY(r.key.empty() ? nullptr : r.key.data(), r.key.size()),
                            // A tombstone's value is NULL, not empty: only NULL lets compaction
                            // delete the key (events/log.h, Record::tombstone).
                            RD_KAFKA_V_VALUE(r.tombstone ? nullptr : const_cast<char*>(r.value.data()),
                                             r.tombstone ? 0 : r.value.size()),
                            RD_KAFKA_V_TIMESTAMP(r.timestamp_ms), RD_KAFKA_V_HEADERS(headers),
                            RD_KAFKA_V_OPAQUE(&call.slots[i]), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));  // the poller drains it
        continue;
      }
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (headers != nullptr) rd_kafka_headers_destroy(headers);  // not taken on failure
        std::lock_guard lock(call.mu);
        --call.produced;
        produce_error = err;
      }
      break;
    }
  }
  // Wait for every report, even after a failure: the reports point into `call`.
  std::unique_lock lock(call.mu);
  call.cv.wait(lock, [&] { return call.delivered == call.produced; });
  CPTS_RETURN_IF_ERROR(CheckProducerUsable());
  if (produce_error != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return FromKafka(produce_error, "appending to " + physical);
  }
  if (call.first_error != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return FromKafka(
        call.first_error,
        "appending to " + physical + " (some records may have been written; retry the append)");
  }
  return std::move(call.positions);
}

Status KafkaLog::CheckProducerUsable() {
  char reason[512];
  if (rd_kafka_fatal_error(producer_.get(), reason, sizeof reason) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Ok();
  }
  return Status::FailedPrecondition(
      std::string("the Kafka producer stopped after a fatal error (") + reason +
      "); nothing more can be appended through it: restart the service, which re-reads each "
      "stream's head before appending again");
}

Result<Offset> KafkaLog::BeginOffset(const TopicPartition& tp) {
  CPTS_RETURN_IF_ERROR(CheckPartition(tp));
  int64_t low = 0, high = 0;
  const rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
      producer_.get(), Physical(tp.topic).c_str(), tp.partition.value(), &low, &high,
      TimeoutMs(options_.request_timeout));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return FromKafka(err, "reading the start of " + tp.topic);
  return Offset(low);
}

Result<Offset> KafkaLog::EndOffset(const TopicPartition& tp) {
  CPTS_RETURN_IF_ERROR(CheckPartition(tp));
  int64_t low = 0, high = 0;
  const rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
      producer_.get(), Physical(tp.topic).c_str(), tp.partition.value(), &low, &high,
      TimeoutMs(options_.request_timeout));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return FromKafka(err, "reading the end of " + tp.topic);
  return Offset(high);
}

Result<ConfHandle> KafkaLog::ConsumerConf(const std::string& group_id, bool in_group) {
  std::vector<std::pair<std::string, std::string>> ours = {
      {"group.id", group_id},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"allow.auto.create.topics", "false"},
      {"session.timeout.ms", std::to_string(options_.session_timeout.count())},
      {"fetch.message.max.bytes", std::to_string(options_.max_record_bytes + 65536)},
      // librdkafka 2.0 pauses fetching for a second once this many messages are queued; a replay
      // drains the queue faster than that and would idle (bench/README.md). Memory stays bounded
      // by queued.max.messages.kbytes (64 MiB).
      {"queued.min.messages", "1000000"},
  };
  if (in_group) {
    ours.push_back({"partition.assignment.strategy", "cooperative-sticky"});
    ours.push_back({"auto.offset.reset", "earliest"});  // a new group starts at the beginning
  } else {
    // A reader asked for an offset that is not there: say so rather than jump elsewhere.
    ours.push_back({"auto.offset.reset", "error"});
  }
  return MakeConf(options_, ours);
}

Result<std::optional<Offset>> KafkaLog::GroupOffset(std::string_view group,
                                                    const TopicPartition& tp) {
  if (group.empty()) return Status::InvalidArgument("a consumer group needs a name");
  CPTS_RETURN_IF_ERROR(CheckPartition(tp));
  rd_kafka_t* rk = nullptr;
  {
    std::lock_guard lock(group_readers_mu_);
    auto it = group_readers_.find(group);
    if (it == group_readers_.end()) {
      Result<ConfHandle> conf = ConsumerConf(std::string(group), /*in_group=*/false);
      if (!conf.ok()) return conf.status();
      char errstr[512];
      rd_kafka_t* created = rd_kafka_new(RD_KAFKA_CONSUMER, conf->get(), errstr, sizeof errstr);
      if (created == nullptr) {
        return Status::InvalidArgument(std::string("Kafka consumer: ") + errstr);
      }
      (void)conf->release();  // rd_kafka_new took ownership
      it = group_readers_.emplace(std::string(group), KafkaHandle(created)).first;
    }
    // The handle lives as long as the log; rd_kafka_committed may run on it from several
    // threads at once (librdkafka's calls are thread-safe), so the lock is not held for it.
    rk = it->second.get();
  }
  PartitionList list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), Physical(tp.topic).c_str(), tp.partition.value());
  CPTS_RETURN_IF_ERROR(
      FromKafka(rd_kafka_committed(rk, list.get(), TimeoutMs(options_.request_timeout)),
                "reading the committed offsets of group " + std::string(group)));
  if (list->elems[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return FromKafka(list->elems[0].err,
                     "reading the committed offset of group " + std::string(group));
  }
  const int64_t offset = list->elems[0].offset;
  if (offset < 0) return std::optional<Offset>();  // RD_KAFKA_OFFSET_INVALID: none committed
  return std::optional<Offset>(Offset(offset));
}

namespace {

// Shared consume loop: waits up to `timeout` for the first message, then takes what is ready.
// Calls `on_message` for each record. Transient errors are skipped (librdkafka retries).
template <typename OnRecord>
Status ConsumeSome(rd_kafka_t* rk, std::chrono::milliseconds timeout, size_t max_records,
                   const KafkaLog& log, OnRecord&& on_record) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t taken = 0;
  while (taken < max_records) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    const int wait_ms = taken > 0 ? 0 : static_cast<int>(std::max<int64_t>(0, left.count()));
    MessageHandle m(rd_kafka_consumer_poll(rk, wait_ms));
    if (m == nullptr) {
      if (taken > 0 || std::chrono::steady_clock::now() >= deadline) break;
      continue;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (IsTransientConsumerError(m->err)) continue;
      const std::string where = m->rkt != nullptr
                                    ? std::string(" on ") + rd_kafka_topic_name(m->rkt) + "/" +
                                          std::to_string(m->partition)
                                    : std::string();
      return FromKafka(m->err, "consuming" + where + ": " + rd_kafka_message_errstr(m.get()));
    }
    on_record(ToStored(m.get(), log.Logical(rd_kafka_topic_name(m->rkt))));
    ++taken;
  }
  return Status::Ok();
}

std::atomic<uint64_t> reader_counter{0};

// Turns an rd_kafka_error_t (owned, may be null) into a Status, destroying it.
Status TakeError(rd_kafka_error_t* error, const std::string& what) {
  if (error == nullptr) return Status::Ok();
  const Status status = Status::Unavailable(what + ": " + rd_kafka_error_string(error));
  rd_kafka_error_destroy(error);
  return status;
}

class KafkaReader final : public LogReader {
 public:
  KafkaReader(KafkaLog* log, KafkaHandle consumer) : log_(log), consumer_(std::move(consumer)) {}
  ~KafkaReader() override {
    if (consumer_ != nullptr) (void)rd_kafka_consumer_close(consumer_.get());
  }

  Status Assign(const TopicPartition& tp, Offset from) override {
    CPTS_RETURN_IF_ERROR(log_->CheckPartition(tp));
    Result<Offset> end = log_->EndOffset(tp);
    if (!end.ok()) return end.status();
    CPTS_RETURN_IF_ERROR(ValidateReadPosition(tp, from, *end));
    // Incremental changes only: replacing the whole assignment while fetches are in flight
    // trips an assertion in librdkafka 2.0.2 (rd_kafka_assignment_partition_stopped,
    // confluentinc/librdkafka#5573).
    PartitionList list = OnePartitionList(tp, from);
    const bool already_assigned = next_.count(tp) > 0;
    next_[tp] = from;
    if (already_assigned) {
      rd_kafka_error_t* error = rd_kafka_seek_partitions(
          consumer_.get(), list.get(), TimeoutMs(log_->options().request_timeout));
      return TakeError(error, "moving the read position");
    }
    return TakeError(rd_kafka_incremental_assign(consumer_.get(), list.get()),
                     "assigning a partition");
  }

  Status Unassign(const TopicPartition& tp) override {
    if (next_.erase(tp) == 0) return Status::Ok();
    PartitionList list = OnePartitionList(tp, Offset(0));
    return TakeError(rd_kafka_incremental_unassign(consumer_.get(), list.get()),
                     "unassigning a partition");
  }

  Result<std::vector<StoredRecord>> Poll(std::chrono::milliseconds timeout,
                                         size_t max_records) override {
    std::vector<StoredRecord> out;
    CPTS_RETURN_IF_ERROR(
        ConsumeSome(consumer_.get(), timeout, max_records, *log_, [&](StoredRecord r) {
          auto it = next_.find({r.topic, r.partition});
          // Unassigned meanwhile. (Records fetched before a seek
          // are dropped by librdkafka's op versions.)
          if (it == next_.end()) return;
          it->second = r.offset.Next();
          out.push_back(std::move(r));
        }));
    return out;
  }

 private:
  PartitionList OnePartitionList(const TopicPartition& tp, Offset offset) const {
    PartitionList list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), log_->Physical(tp.topic).c_str(),
                                      tp.partition.value())
        ->offset = offset.value();
    return list;
  }

  KafkaLog* log_;
  KafkaHandle consumer_;
  std::map<TopicPartition, Offset> next_;
};

class KafkaGroupMember final : public GroupConsumer {
 public:
  KafkaGroupMember(KafkaLog* log, GroupListener* listener) : log_(log), listener_(listener) {}
  ~KafkaGroupMember() override { (void)Close(); }

  Status Start(const GroupOptions& options) {
    Result<ConfHandle> conf = log_->ConsumerConf(options.group, /*in_group=*/true);
    if (!conf.ok()) return conf.status();
    rd_kafka_conf_set_opaque(conf->get(), this);
    rd_kafka_conf_set_rebalance_cb(conf->get(), &KafkaGroupMember::OnRebalance);
    char errstr[512];
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf->get(), errstr, sizeof errstr);
    if (rk == nullptr) return Status::InvalidArgument(std::string("Kafka consumer: ") + errstr);
    (void)conf->release();
    consumer_.reset(rk);
    (void)rd_kafka_poll_set_consumer(rk);
    PartitionList topics(
        rd_kafka_topic_partition_list_new(static_cast<int>(options.topics.size())));
    for (const std::string& t : options.topics) {
      CPTS_RETURN_IF_ERROR(log_->PartitionCount(t).status());
      rd_kafka_topic_partition_list_add(topics.get(), log_->Physical(t).c_str(),
                                        RD_KAFKA_PARTITION_UA);
    }
    return FromKafka(rd_kafka_subscribe(rk, topics.get()), "joining group " + options.group);
  }

  Result<std::vector<StoredRecord>> Poll(std::chrono::milliseconds timeout,
                                         size_t max_records) override {
    if (closed_) return Status::FailedPrecondition("this group member has left its group");
    std::vector<StoredRecord> out;
    CPTS_RETURN_IF_ERROR(ConsumeSome(consumer_.get(), timeout, max_records, *log_,
                                     [&](StoredRecord r) { out.push_back(std::move(r)); }));
    if (!rebalance_error_.ok()) return std::exchange(rebalance_error_, Status::Ok());
    return out;
  }

  Status Commit(const std::vector<std::pair<TopicPartition, Offset>>& next_offsets) override {
    if (closed_) return Status::FailedPrecondition("this group member has left its group");
    PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(next_offsets.size())));
    for (const auto& [tp, offset] : next_offsets) {
      if (offset.value() < 0)
        return Status::InvalidArgument("a committed offset cannot be negative");
      rd_kafka_topic_partition_list_add(list.get(), log_->Physical(tp.topic).c_str(),
                                        tp.partition.value())
          ->offset = offset.value();
    }
    return FromKafka(rd_kafka_commit(consumer_.get(), list.get(), /*async=*/0),
                     "committing offsets");
  }

  Result<std::optional<Offset>> Committed(const TopicPartition& tp) override {
    if (closed_) return Status::FailedPrecondition("this group member has left its group");
    PartitionList list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), log_->Physical(tp.topic).c_str(),
                                      tp.partition.value());
    CPTS_RETURN_IF_ERROR(FromKafka(
        rd_kafka_committed(consumer_.get(), list.get(), TimeoutMs(log_->options().request_timeout)),
        "reading committed offsets"));
    const int64_t offset = list->elems[0].offset;
    if (offset < 0) return std::optional<Offset>();  // RD_KAFKA_OFFSET_INVALID: none committed
    return std::optional<Offset>(Offset(offset));
  }

  std::vector<TopicPartition> Assignment() const override { return owned_; }

  // Whether this member, or librdkafka on its behalf, still holds a partition.
  bool StillAssigned() {
    if (!owned_.empty()) return true;
    rd_kafka_topic_partition_list_t* held = nullptr;
    if (rd_kafka_assignment(consumer_.get(), &held) != RD_KAFKA_RESP_ERR_NO_ERROR) return false;
    const bool any = held != nullptr && held->cnt > 0;
    if (held != nullptr) rd_kafka_topic_partition_list_destroy(held);
    return any;
  }

  Status Close() override {
    if (closed_ || consumer_ == nullptr) return Status::Ok();
    // Leaves in two steps. librdkafka 2.0 (Debian 12's) can wait for ever in
    // rd_kafka_consumer_close when the close meets a rebalance under way (librdkafka #4527,
    // fixed in 2.4): CI saw its revoke callback's incremental_unassign never return. As its
    // maintainers advise: unsubscribe, serve the revocation from poll until nothing is
    // assigned, then close, which has nothing left to revoke. The revoke callback runs while
    // the member is open, so the listener hears of the loss first and may commit its progress.
    if (rd_kafka_unsubscribe(consumer_.get()) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const auto deadline = std::chrono::steady_clock::now() + log_->options().session_timeout;
      do {
        // Records fetched before the revocation are not handed out: the next owner reads them.
        if (rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer_.get(), 100)) {
          rd_kafka_message_destroy(m);
        }
      } while (StillAssigned() && std::chrono::steady_clock::now() < deadline);
    }
    const rd_kafka_resp_err_t err = rd_kafka_consumer_close(consumer_.get());
    closed_ = true;
    consumer_.reset();
    return FromKafka(err, "leaving the consumer group");
  }

 private:
  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* partitions, void* opaque) {
    auto* self = static_cast<KafkaGroupMember*>(opaque);
    std::vector<TopicPartition> changed;
    for (int i = 0; i < partitions->cnt; ++i) {
      changed.push_back({self->log_->Logical(partitions->elems[i].topic),
                         Partition(partitions->elems[i].partition)});
    }
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      if (Status s = TakeError(rd_kafka_incremental_assign(rk, partitions), "taking partitions");
          !s.ok()) {
        self->rebalance_error_ = s;  // Poll reports it; the partitions were not taken
        return;
      }
      self->owned_.insert(self->owned_.end(), changed.begin(), changed.end());
      if (self->listener_ != nullptr && !changed.empty()) {
        self->listener_->OnPartitionsAssigned(changed);
      }
      return;
    }
    // Revoked in a rebalance, or lost after the session timed out: either way this member no
    // longer owns them. Only a revocation leaves time to commit.
    if (self->listener_ != nullptr && !changed.empty()) {
      if (rd_kafka_assignment_lost(rk)) {
        self->listener_->OnPartitionsLost(changed);
      } else {
        self->listener_->OnPartitionsRevoked(changed);
      }
    }
    if (Status s = TakeError(rd_kafka_incremental_unassign(rk, partitions), "giving up partitions");
        !s.ok()) {
      self->rebalance_error_ = s;
    }
    for (const TopicPartition& tp : changed) {
      self->owned_.erase(std::remove(self->owned_.begin(), self->owned_.end(), tp),
                         self->owned_.end());
    }
  }

  KafkaLog* log_;
  GroupListener* listener_;
  KafkaHandle consumer_;
  std::vector<TopicPartition> owned_;
  Status rebalance_error_;  // from the last rebalance callback, reported by Poll
  bool closed_ = false;
};

}  // namespace

Result<std::unique_ptr<LogReader>> KafkaLog::OpenReader() {
  // The group id is required by librdkafka's consumer; a reader never joins or commits.
  Result<ConfHandle> conf = ConsumerConf(
      "cpts-reader-" + std::to_string(getpid()) + "-" + std::to_string(reader_counter++),
      /*in_group=*/false);
  if (!conf.ok()) return conf.status();
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf->get(), errstr, sizeof errstr);
  if (rk == nullptr) return Status::InvalidArgument(std::string("Kafka consumer: ") + errstr);
  (void)conf->release();
  (void)rd_kafka_poll_set_consumer(rk);
  return std::unique_ptr<LogReader>(new KafkaReader(this, KafkaHandle(rk)));
}

Result<std::unique_ptr<GroupConsumer>> KafkaLog::JoinGroup(const GroupOptions& options,
                                                           GroupListener* listener) {
  if (options.group.empty()) return Status::InvalidArgument("a consumer group needs a name");
  if (options.topics.empty()) return Status::InvalidArgument("a consumer group needs topics");
  auto member = std::make_unique<KafkaGroupMember>(this, listener);
  CPTS_RETURN_IF_ERROR(member->Start(options));
  return std::unique_ptr<GroupConsumer>(std::move(member));
}

}  // namespace cpts::log
