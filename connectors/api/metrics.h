#pragma once
// Metrics: the Prometheus metrics of cptsd (ARCHITECTURE.md decision 9, docs/api.md "Metrics"),
// kept in one prometheus-cpp Registry and rendered in the text exposition format. /metrics is
// served by our own HttpServer (one server, one set of limits), not by prometheus-cpp's exposer.
//
// Contract:
// - Every family is registered once, in the constructor. The recording methods are safe from
//   any thread at once, and cheap: a lookup of an existing series and an atomic update.
// - Labels never carry patient identifiers, tokens, concrete paths or other client-chosen text:
//   only route patterns, command and event type names, rejection codes, partitions, store and
//   Kafka client/broker names. Every label whose values come from outside this module is capped
//   (kMaxLabelValues distinct values per label; later ones are counted as "other"), so a bug
//   upstream cannot blow up the number of series.
// - RocksDB gauges are read when Render() runs, through the functions given to AddRocksDbStore:
//   this module does not know the stores' classes.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "connectors/api/http_server.h"
#include "events/status.h"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace cpts::api {

enum class CommandOutcome { kAccepted, kRejected, kUnchanged };

class Metrics : public HttpObserver {
 public:
  // The Content-Type of Render()'s output (Prometheus text exposition format 0.0.4).
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";
  // Distinct values one label may take in one family; beyond, the value is "other".
  static constexpr size_t kMaxLabelValues = 200;

  // Reads one RocksDB integer property ("rocksdb.estimate-num-keys"); nullopt when the store
  // does not have it. The daemon wraps rocksdb::DB::GetIntProperty.
  using PropertyReader = std::function<std::optional<uint64_t>(const std::string& property)>;

  Metrics();
  ~Metrics() override;
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // HttpObserver: cpts_http_request_duration_seconds{route,method,status}. `route` is the
  // matched pattern ("-" when none matched), never the concrete path.
  void OnRequest(std::string_view route, std::string_view method, int status,
                 std::chrono::nanoseconds duration) override;

  // cpts_commands_total{type,outcome,code}: `code` is the rejection's reason code, empty
  // (so absent) unless outcome is kRejected.
  void CommandDecided(std::string_view command_type, CommandOutcome outcome,
                      std::string_view rejection_code = {});
  // cpts_events_appended_total{type}.
  void EventsAppended(std::string_view event_type, uint64_t count = 1);

  // Gauges by partition: records behind the partition's end.
  void SetDeciderLag(int32_t partition, int64_t records);
  void SetProjectionLag(int32_t partition, int64_t records);
  // The next offset the projections will read in that partition of the events topic.
  void SetProjectionPosition(int32_t partition, int64_t offset);

  // Registers a RocksDB store ("log", "projections", "keys") whose properties are read at each
  // Render(). InvalidArgument for an empty or repeated name.
  Status AddRocksDbStore(std::string store, PropertyReader read);

  // Updates the cpts_kafka_* gauges from one librdkafka statistics JSON (the stats callback of
  // a client with statistics.interval.ms set); see docs/api.md for the fields used.
  // InvalidArgument when the text is not a librdkafka statistics object.
  Status UpdateKafkaStats(std::string_view json);

  // Everything, in the text exposition format.
  std::string Render() const;

  // GET /metrics on `server`, answering Render() as kContentType. Call before server.Start().
  Status RegisterRoute(HttpServer& server);

  prometheus::Registry& registry() { return *registry_; }

 private:
  using Labels = std::map<std::string, std::string>;
  // Caps the distinct values of one label (see the header comment).
  class LabelCap {
   public:
    std::string Admit(std::string_view value);

   private:
    std::mutex mu_;
    std::set<std::string, std::less<>> seen_;
  };
  struct Store {
    std::string name;
    PropertyReader read;
  };

  void RefreshRocksDb() const;
  prometheus::Histogram& HttpSeries(std::string_view route, std::string_view method, int status);

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Histogram>* http_duration_;
  prometheus::Family<prometheus::Counter>* commands_;
  prometheus::Family<prometheus::Counter>* events_appended_;
  prometheus::Family<prometheus::Gauge>* decider_lag_;
  prometheus::Family<prometheus::Gauge>* projection_lag_;
  prometheus::Family<prometheus::Gauge>* projection_position_;
  // RocksDB: one family per property (see kRocksDbProperties in metrics.cc).
  std::vector<prometheus::Family<prometheus::Gauge>*> rocksdb_;
  // librdkafka.
  prometheus::Family<prometheus::Gauge>* kafka_rtt_;
  prometheus::Family<prometheus::Gauge>* kafka_outbuf_;
  prometheus::Family<prometheus::Gauge>* kafka_waitresp_;
  prometheus::Family<prometheus::Gauge>* kafka_consumer_lag_;
  prometheus::Family<prometheus::Gauge>* kafka_queue_;
  prometheus::Family<prometheus::Gauge>* kafka_txmsgs_;

  LabelCap routes_, command_types_, rejection_codes_, event_types_, kafka_clients_, kafka_brokers_,
      kafka_topics_;
  // Family::Add builds a histogram (its buckets) before finding the existing one: requests
  // look their series up here instead.
  std::mutex http_mu_;
  std::map<std::tuple<std::string, std::string, std::string>, prometheus::Histogram*> http_series_;
  mutable std::mutex stores_mu_;  // also serializes the RocksDB refresh of concurrent scrapes
  std::vector<Store> stores_;
};

}  // namespace cpts::api
