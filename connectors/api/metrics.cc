#include "connectors/api/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <array>
#include <exception>
#include <type_traits>
#include <utility>

#include "events/json.h"

namespace cpts::api {
namespace {

// The RocksDB integer properties exported, and the gauge each one becomes.
struct RocksDbProperty {
  const char* property;
  const char* metric;
  const char* help;
};
constexpr std::array<RocksDbProperty, 4> kRocksDbProperties = {{
    {"rocksdb.estimate-num-keys", "cpts_rocksdb_estimated_keys",
     "Estimated number of keys in the store (RocksDB rocksdb.estimate-num-keys)."},
    {"rocksdb.total-sst-files-size", "cpts_rocksdb_sst_files_bytes",
     "Size of all SST files of the store (RocksDB rocksdb.total-sst-files-size)."},
    {"rocksdb.cur-size-all-mem-tables", "cpts_rocksdb_memtables_bytes",
     "Size of the store's memtables (RocksDB rocksdb.cur-size-all-mem-tables)."},
    {"rocksdb.block-cache-usage", "cpts_rocksdb_block_cache_usage_bytes",
     "Memory held by the store's block cache (RocksDB rocksdb.block-cache-usage)."},
}};

// Request durations from 1 ms to 10 s: queries answer in milliseconds, reads that wait for a
// position (read-your-writes) take up to seconds.
const prometheus::Histogram::BucketBoundaries kDurationBuckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

std::string_view OutcomeName(CommandOutcome outcome) {
  switch (outcome) {
    case CommandOutcome::kAccepted:
      return "accepted";
    case CommandOutcome::kRejected:
      return "rejected";
    case CommandOutcome::kUnchanged:
      return "unchanged";
  }
  return "other";
}

// Methods are a small fixed set; anything else a client invents is "other".
std::string MethodLabel(std::string_view method) {
  for (std::string_view known : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    if (method == known) return std::string(known);
  }
  return method == "-" ? "-" : "other";
}

template <typename T>
prometheus::Family<T>& Build(prometheus::Registry& registry, const std::string& name,
                             const std::string& help) {
  if constexpr (std::is_same_v<T, prometheus::Counter>) {
    return prometheus::BuildCounter().Name(name).Help(help).Register(registry);
  } else if constexpr (std::is_same_v<T, prometheus::Gauge>) {
    return prometheus::BuildGauge().Name(name).Help(help).Register(registry);
  } else {
    return prometheus::BuildHistogram().Name(name).Help(help).Register(registry);
  }
}

double Number(const ::cpts::Json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_number() ? it->get<double>() : 0.0;
}

std::string Text(const ::cpts::Json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::string Metrics::LabelCap::Admit(std::string_view value) {
  std::lock_guard lock(mu_);
  if (seen_.find(value) != seen_.end()) return std::string(value);
  if (seen_.size() >= kMaxLabelValues) return "other";
  seen_.emplace(value);
  return std::string(value);
}

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {
  auto& r = *registry_;
  http_duration_ = &Build<prometheus::Histogram>(
      r, "cpts_http_request_duration_seconds",
      "Time to answer an HTTP request, by route pattern (never the concrete path), method and "
      "status. For a live feed, the life of the stream.");
  commands_ = &Build<prometheus::Counter>(
      r, "cpts_commands_total",
      "Commands decided, by command type and outcome (accepted, rejected, unchanged); "
      "rejections also by reason code.");
  events_appended_ = &Build<prometheus::Counter>(r, "cpts_events_appended_total",
                                                 "Events appended to the log, by event type.");
  decider_lag_ =
      &Build<prometheus::Gauge>(r, "cpts_decider_lag_records",
                                "Commands not yet decided in a partition of the commands topic.");
  projection_lag_ =
      &Build<prometheus::Gauge>(r, "cpts_projection_lag_records",
                                "Events not yet projected in a partition of the events topic.");
  projection_position_ = &Build<prometheus::Gauge>(
      r, "cpts_projection_position",
      "Next offset the projections read in a partition of the events topic.");
  for (const RocksDbProperty& p : kRocksDbProperties) {
    rocksdb_.push_back(&Build<prometheus::Gauge>(r, p.metric, p.help));
  }
  kafka_rtt_ = &Build<prometheus::Gauge>(
      r, "cpts_kafka_broker_rtt_avg_seconds",
      "Average round-trip time to a broker (librdkafka brokers.rtt.avg).");
  kafka_outbuf_ = &Build<prometheus::Gauge>(
      r, "cpts_kafka_broker_outbuf_requests",
      "Requests waiting to be sent to a broker (librdkafka brokers.outbuf_cnt).");
  kafka_waitresp_ = &Build<prometheus::Gauge>(
      r, "cpts_kafka_broker_waitresp_requests",
      "Requests sent to a broker awaiting its response (librdkafka brokers.waitresp_cnt).");
  kafka_consumer_lag_ = &Build<prometheus::Gauge>(
      r, "cpts_kafka_consumer_lag_messages",
      "Messages between a consumer's committed offset and the partition end "
      "(librdkafka topics.partitions.consumer_lag).");
  kafka_queue_ = &Build<prometheus::Gauge>(
      r, "cpts_kafka_producer_queue_messages",
      "Messages in a client's producer queues, not yet delivered (librdkafka msg_cnt).");
  kafka_txmsgs_ = &Build<prometheus::Gauge>(
      r, "cpts_kafka_transmitted_messages",
      "Messages sent to brokers since the client started (librdkafka txmsgs; restarts at 0 "
      "with the client).");
}

Metrics::~Metrics() = default;

prometheus::Histogram& Metrics::HttpSeries(std::string_view route, std::string_view method,
                                           int status) {
  // Status codes are three digits: out-of-range values (none expected) share one label.
  auto key = std::make_tuple(routes_.Admit(route), MethodLabel(method),
                             status >= 100 && status <= 599 ? std::to_string(status) : "other");
  std::lock_guard lock(http_mu_);
  prometheus::Histogram*& series = http_series_[key];
  if (series == nullptr) {
    auto& [route_label, method_label, status_label] = key;
    series = &http_duration_->Add(
        {{"route", route_label}, {"method", method_label}, {"status", status_label}},
        kDurationBuckets);
  }
  return *series;
}

void Metrics::OnRequest(std::string_view route, std::string_view method, int status,
                        std::chrono::nanoseconds duration) {
  HttpSeries(route, method, status).Observe(std::chrono::duration<double>(duration).count());
}

void Metrics::CommandDecided(std::string_view command_type, CommandOutcome outcome,
                             std::string_view rejection_code) {
  Labels labels = {{"type", command_types_.Admit(command_type)},
                   {"outcome", std::string(OutcomeName(outcome))}};
  // An empty label value is no label: accepted and unchanged commands carry no code.
  if (outcome == CommandOutcome::kRejected && !rejection_code.empty()) {
    labels["code"] = rejection_codes_.Admit(rejection_code);
  }
  commands_->Add(labels).Increment();
}

void Metrics::EventsAppended(std::string_view event_type, uint64_t count) {
  events_appended_->Add({{"type", event_types_.Admit(event_type)}})
      .Increment(static_cast<double>(count));
}

// Partitions are fixed at topic creation (ARCHITECTURE.md decision 10): bounded.
void Metrics::SetDeciderLag(int32_t partition, int64_t records) {
  decider_lag_->Add({{"partition", std::to_string(partition)}}).Set(static_cast<double>(records));
}

void Metrics::SetProjectionLag(int32_t partition, int64_t records) {
  projection_lag_->Add({{"partition", std::to_string(partition)}})
      .Set(static_cast<double>(records));
}

void Metrics::SetProjectionPosition(int32_t partition, int64_t offset) {
  projection_position_->Add({{"partition", std::to_string(partition)}})
      .Set(static_cast<double>(offset));
}

Status Metrics::AddRocksDbStore(std::string store, PropertyReader read) {
  if (store.empty() || !read) {
    return Status::InvalidArgument("a RocksDB store needs a name and a property reader");
  }
  std::lock_guard lock(stores_mu_);
  for (const Store& s : stores_) {
    if (s.name == store) {
      return Status::InvalidArgument("RocksDB store \"" + store + "\" is registered twice");
    }
  }
  stores_.push_back({std::move(store), std::move(read)});
  return Status::Ok();
}

void Metrics::RefreshRocksDb() const {
  std::lock_guard lock(stores_mu_);
  for (const Store& store : stores_) {
    for (size_t i = 0; i < kRocksDbProperties.size(); ++i) {
      std::optional<uint64_t> value = store.read(kRocksDbProperties[i].property);
      // A property the store lacks (no block cache, say) is left out rather than shown as 0.
      if (value) rocksdb_[i]->Add({{"store", store.name}}).Set(static_cast<double>(*value));
    }
  }
}

Status Metrics::UpdateKafkaStats(std::string_view json) {
  ::cpts::Json stats;
  try {
    stats = ::cpts::Json::parse(json);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("librdkafka statistics are not JSON: ") + e.what());
  }
  if (!stats.is_object() || !stats.contains("type") || !stats.contains("client_id")) {
    return Status::InvalidArgument(
        "librdkafka statistics must be an object with \"type\" and \"client_id\"");
  }
  // client_id (set by us per client) and type, not "name" ("rdkafka#producer-7"), which
  // changes with every client instance and would grow the series without bound.
  const std::string client = kafka_clients_.Admit(Text(stats, "client_id"));
  const std::string type = Text(stats, "type") == "producer" ? "producer" : "consumer";
  const Labels client_labels = {{"client", client}, {"type", type}};

  if (type == "producer") {
    kafka_queue_->Add(client_labels).Set(Number(stats, "msg_cnt"));
  }
  kafka_txmsgs_->Add(client_labels).Set(Number(stats, "txmsgs"));

  if (auto brokers = stats.find("brokers"); brokers != stats.end() && brokers->is_object()) {
    for (const auto& [key, broker] : brokers->items()) {
      // Internal pseudo-brokers (the group coordinator's shadow) carry no traffic of their own.
      if (!broker.is_object() || Text(broker, "source") == "internal") continue;
      Labels labels = client_labels;
      labels["broker"] =
          kafka_brokers_.Admit(Text(broker, "name").empty() ? key : Text(broker, "name"));
      if (auto rtt = broker.find("rtt"); rtt != broker.end() && rtt->is_object()) {
        kafka_rtt_->Add(labels).Set(Number(*rtt, "avg") / 1e6);  // librdkafka: microseconds
      }
      kafka_outbuf_->Add(labels).Set(Number(broker, "outbuf_cnt"));
      kafka_waitresp_->Add(labels).Set(Number(broker, "waitresp_cnt"));
    }
  }

  if (auto topics = stats.find("topics"); topics != stats.end() && topics->is_object()) {
    for (const auto& [topic_name, topic] : topics->items()) {
      auto partitions = topic.find("partitions");
      if (!topic.is_object() || partitions == topic.end() || !partitions->is_object()) continue;
      for (const auto& [partition_key, partition] : partitions->items()) {
        // Partition -1 is librdkafka's unassigned queue; consumer_lag -1 means unknown (not
        // consumed by this client, or no committed offset yet).
        if (!partition.is_object() || partition_key == "-1") continue;
        auto lag = partition.find("consumer_lag");
        if (lag == partition.end() || !lag->is_number() || lag->get<double>() < 0) continue;
        Labels labels = client_labels;
        labels["topic"] = kafka_topics_.Admit(topic_name);
        labels["partition"] = partition_key;
        kafka_consumer_lag_->Add(labels).Set(lag->get<double>());
      }
    }
  }
  return Status::Ok();
}

std::string Metrics::Render() const {
  RefreshRocksDb();
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

Status Metrics::RegisterRoute(HttpServer& server) {
  return server.Route("GET", "/metrics", [this](const Request&) {
    return Response::Text(200, std::string(kContentType), Render());
  });
}

}  // namespace cpts::api
