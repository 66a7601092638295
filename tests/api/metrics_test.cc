// The metrics of cptsd: each family, label caps, librdkafka statistics, promtool's lint, and
// Debian's real Prometheus server scraping them over loopback and answering its query API.
#include "connectors/api/metrics.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "events/json.h"
#include "tests/support/subprocess.h"

namespace cpts::api {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

// The lines of the exposition whose series name is `name` (labels included), e.g.
// `cpts_commands_total{outcome="accepted",type="gp.capacity.declare"} 2`.
std::vector<std::string> Lines(const std::string& text, const std::string& name) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    if (line.rfind(name + "{", 0) == 0 || line.rfind(name + " ", 0) == 0) out.push_back(line);
    pos = end + 1;
  }
  return out;
}

// The value of the one series `series` (name and labels as rendered), or nullopt.
std::optional<double> Value(const std::string& text, const std::string& series) {
  size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return std::nullopt;
  return std::stod(text.substr(at + series.size() + 2));
}

class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "cpts-metrics-XXXXXX").string();
    path_ = mkdtemp(templ.data());
  }
  ~TempDir() {
    std::error_code ignored;  // best effort: a leftover temp dir fails nothing
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A loopback port free right now (the kernel picks it; the socket is closed at once).
int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// ---- HTTP ----

TEST(MetricsTest, HttpRequestsAreCountedByRoutePatternNeverByConcretePath) {
  Metrics metrics;
  HttpServerOptions options;
  options.access_log = false;
  HttpServer server(options);
  ASSERT_TRUE(server
                  .Route("GET", "/v1/cpts/:cpts/handoff",
                         [](const Request&) {
                           return Response::Json(200, {{"ok", true}});
                         })
                  .ok());
  server.SetObserver(&metrics);
  ASSERT_TRUE(server.Start().ok());
  std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  for (std::string path : {"/v1/cpts/cpts-haut-doubs/handoff", "/v1/cpts/cpts-vesoul/handoff",
                           "/nothing-here/2750312345678"}) {
    ASSERT_TRUE(test::RunAndCapture({"curl", "-sS", "--max-time", "10", base + path}, 15s).ok());
  }
  server.Stop();

  std::string text = metrics.Render();
  EXPECT_EQ(Value(text,
                  "cpts_http_request_duration_seconds_count{method=\"GET\","
                  "route=\"/v1/cpts/:cpts/handoff\",status=\"200\"}"),
            2.0);
  EXPECT_EQ(Value(text,
                  "cpts_http_request_duration_seconds_count{method=\"GET\",route=\"-\","
                  "status=\"404\"}"),
            1.0);
  EXPECT_THAT(text, Not(HasSubstr("cpts-haut-doubs")));
  EXPECT_THAT(text, Not(HasSubstr("2750312345678")));
}

TEST(MetricsTest, HttpDurationsFallInSecondBuckets) {
  Metrics metrics;
  metrics.OnRequest("/healthz", "GET", 200, 3ms);
  std::string text = metrics.Render();
  EXPECT_EQ(Value(text,
                  "cpts_http_request_duration_seconds_bucket{method=\"GET\","
                  "route=\"/healthz\",status=\"200\",le=\"0.0025\"}"),
            0.0);
  EXPECT_EQ(Value(text,
                  "cpts_http_request_duration_seconds_bucket{method=\"GET\","
                  "route=\"/healthz\",status=\"200\",le=\"0.005\"}"),
            1.0);
  EXPECT_NEAR(*Value(text,
                     "cpts_http_request_duration_seconds_sum{method=\"GET\","
                     "route=\"/healthz\",status=\"200\"}"),
              0.003, 1e-9);
}

TEST(MetricsTest, UnknownMethodsAndOddStatusesShareOneLabelValue) {
  Metrics metrics;
  metrics.OnRequest("-", "BREW", 400, 1ms);
  metrics.OnRequest("-", "XGET", 400, 1ms);
  metrics.OnRequest("-", "GET", 42, 1ms);
  std::string text = metrics.Render();
  EXPECT_EQ(Value(text,
                  "cpts_http_request_duration_seconds_count{method=\"other\",route=\"-\","
                  "status=\"400\"}"),
            2.0);
  EXPECT_EQ(Value(text,
                  "cpts_http_request_duration_seconds_count{method=\"GET\",route=\"-\","
                  "status=\"other\"}"),
            1.0);
}

// ---- commands, events, lag ----

TEST(MetricsTest, CommandsAreCountedByTypeOutcomeAndRejectionCode) {
  Metrics metrics;
  metrics.CommandDecided("referral.issue", CommandOutcome::kAccepted);
  metrics.CommandDecided("referral.issue", CommandOutcome::kAccepted);
  metrics.CommandDecided("referral.issue", CommandOutcome::kRejected, "not_member");
  metrics.CommandDecided("referral.issue", CommandOutcome::kUnchanged, "ignored_code");
  std::string text = metrics.Render();
  EXPECT_EQ(Value(text, "cpts_commands_total{outcome=\"accepted\",type=\"referral.issue\"}"), 2.0);
  EXPECT_EQ(Value(text,
                  "cpts_commands_total{code=\"not_member\",outcome=\"rejected\","
                  "type=\"referral.issue\"}"),
            1.0);
  EXPECT_EQ(Value(text, "cpts_commands_total{outcome=\"unchanged\",type=\"referral.issue\"}"), 1.0);
  EXPECT_THAT(text, Not(HasSubstr("ignored_code")));
}

TEST(MetricsTest, EventsAppendedAreCountedByType) {
  Metrics metrics;
  metrics.EventsAppended("fr.cpts.discharge.notified.v1");
  metrics.EventsAppended("fr.cpts.discharge.notified.v1", 4);
  EXPECT_EQ(
      Value(metrics.Render(), "cpts_events_appended_total{type=\"fr.cpts.discharge.notified.v1\"}"),
      5.0);
}

TEST(MetricsTest, LagAndPositionGaugesAreSetPerPartition) {
  Metrics metrics;
  metrics.SetDeciderLag(0, 12);
  metrics.SetDeciderLag(0, 3);
  metrics.SetProjectionLag(1, 7);
  metrics.SetProjectionPosition(1, 1234);
  std::string text = metrics.Render();
  EXPECT_EQ(Value(text, "cpts_decider_lag_records{partition=\"0\"}"), 3.0);
  EXPECT_EQ(Value(text, "cpts_projection_lag_records{partition=\"1\"}"), 7.0);
  EXPECT_EQ(Value(text, "cpts_projection_position{partition=\"1\"}"), 1234.0);
}

TEST(MetricsTest, LabelValuesAreCappedSoSeriesStayBounded) {
  Metrics metrics;
  for (size_t i = 0; i < Metrics::kMaxLabelValues + 50; ++i) {
    metrics.CommandDecided("type-" + std::to_string(i), CommandOutcome::kAccepted);
  }
  std::string text = metrics.Render();
  EXPECT_EQ(Lines(text, "cpts_commands_total").size(), Metrics::kMaxLabelValues + 1);
  EXPECT_EQ(Value(text, "cpts_commands_total{outcome=\"accepted\",type=\"other\"}"), 50.0);
  // A value seen before the cap keeps its own series.
  metrics.CommandDecided("type-0", CommandOutcome::kAccepted);
  EXPECT_EQ(Value(metrics.Render(), "cpts_commands_total{outcome=\"accepted\",type=\"type-0\"}"),
            2.0);
}

// ---- RocksDB ----

TEST(MetricsTest, RocksDbPropertiesAreReadAtEachRender) {
  Metrics metrics;
  uint64_t keys = 10;
  ASSERT_TRUE(metrics
                  .AddRocksDbStore("projections",
                                   [&keys](const std::string& property) -> std::optional<uint64_t> {
                                     if (property == "rocksdb.estimate-num-keys") return keys;
                                     if (property == "rocksdb.total-sst-files-size") return 4096;
                                     return std::nullopt;  // e.g. no block cache
                                   })
                  .ok());
  EXPECT_EQ(Value(metrics.Render(), "cpts_rocksdb_estimated_keys{store=\"projections\"}"), 10.0);
  keys = 25;
  std::string text = metrics.Render();
  EXPECT_EQ(Value(text, "cpts_rocksdb_estimated_keys{store=\"projections\"}"), 25.0);
  EXPECT_EQ(Value(text, "cpts_rocksdb_sst_files_bytes{store=\"projections\"}"), 4096.0);
  EXPECT_TRUE(Lines(text, "cpts_rocksdb_block_cache_usage_bytes").empty());
}

TEST(MetricsTest, ARocksDbStoreNameIsRegisteredOnce) {
  Metrics metrics;
  auto none = [](const std::string&) -> std::optional<uint64_t> { return std::nullopt; };
  ASSERT_TRUE(metrics.AddRocksDbStore("log", none).ok());
  Status again = metrics.AddRocksDbStore("log", none);
  EXPECT_EQ(again.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(again.message(), HasSubstr("\"log\""));
  EXPECT_EQ(metrics.AddRocksDbStore("", none).code(), StatusCode::kInvalidArgument);
}

// ---- librdkafka ----

// A consumer's statistics as librdkafka 2.0 emits them (STATISTICS.md), trimmed to a few fields
// of each kind; the bootstrap and internal brokers and the UA partition -1 are as it sends them.
constexpr const char* kConsumerStats = R"({
  "name": "cptsd-deciders#consumer-3", "client_id": "cptsd-deciders", "type": "consumer",
  "ts": 5016483227792, "time": 1763850000, "age": 7001000, "replyq": 0,
  "msg_cnt": 0, "msg_size": 0, "msg_max": 100000, "msg_size_max": 1073741824,
  "simple_cnt": 0, "metadata_cache_cnt": 1,
  "tx": 642, "tx_bytes": 58413, "rx": 641, "rx_bytes": 1221880, "txmsgs": 0, "txmsg_bytes": 0,
  "rxmsgs": 3142, "rxmsg_bytes": 1044000,
  "brokers": {
    "127.0.0.1:9092/bootstrap": {"name": "127.0.0.1:9092/bootstrap", "nodeid": -1,
      "nodename": "127.0.0.1:9092", "source": "configured", "state": "UP",
      "outbuf_cnt": 0, "outbuf_msg_cnt": 0, "waitresp_cnt": 0, "waitresp_msg_cnt": 0,
      "tx": 4, "rx": 4, "rtt": {"min": 310, "max": 905, "avg": 512, "sum": 2048, "cnt": 4,
      "stddev": 90, "p50": 500, "p75": 600, "p90": 900, "p95": 905, "p99": 905,
      "p99_99": 905, "outofrange": 0, "hdrsize": 11376}},
    "127.0.0.1:9092/1": {"name": "127.0.0.1:9092/1", "nodeid": 1, "nodename": "127.0.0.1:9092",
      "source": "learned", "state": "UP", "stateage": 6998000,
      "outbuf_cnt": 2, "outbuf_msg_cnt": 0, "waitresp_cnt": 1, "waitresp_msg_cnt": 0,
      "tx": 636, "txbytes": 58000, "txerrs": 0, "txretries": 0, "req_timeouts": 0,
      "rx": 635, "rxbytes": 1221000, "rxerrs": 0, "connects": 1, "disconnects": 0,
      "int_latency": {"min": 0, "max": 0, "avg": 0, "cnt": 0},
      "rtt": {"min": 180, "max": 101500, "avg": 2500, "sum": 1587500, "cnt": 635,
      "stddev": 4000, "p50": 900, "p75": 1400, "p90": 3000, "p95": 6000, "p99": 100000,
      "p99_99": 101500, "outofrange": 0, "hdrsize": 11376},
      "toppars": {"cpts.commands-0": {"topic": "cpts.commands", "partition": 0}}},
    "GroupCoordinator": {"name": "GroupCoordinator", "nodeid": -1, "nodename": "127.0.0.1:9092",
      "source": "internal", "state": "UP", "outbuf_cnt": 9, "waitresp_cnt": 9,
      "rtt": {"avg": 99999}}
  },
  "topics": {
    "cpts.commands": {"topic": "cpts.commands", "age": 6990, "metadata_age": 6000,
      "batchsize": {"avg": 0}, "batchcnt": {"avg": 0},
      "partitions": {
        "0": {"partition": 0, "broker": 1, "leader": 1, "desired": true, "unknown": false,
          "msgq_cnt": 0, "xmit_msgq_cnt": 0, "fetchq_cnt": 12, "fetch_state": "active",
          "query_offset": -1001, "next_offset": 3150, "app_offset": 3142,
          "stored_offset": 3142, "committed_offset": 3100, "eof_offset": 3142,
          "lo_offset": 0, "hi_offset": 3160, "ls_offset": 3160, "consumer_lag": 60,
          "consumer_lag_stored": 18, "txmsgs": 0, "rxmsgs": 3142},
        "1": {"partition": 1, "broker": 1, "leader": 1, "desired": false,
          "committed_offset": -1001, "hi_offset": 800, "consumer_lag": -1},
        "-1": {"partition": -1, "broker": -1, "leader": -1, "consumer_lag": -1}
      }}
  },
  "cgrp": {"state": "up", "stateage": 6900, "join_state": "steady", "rebalance_cnt": 1,
    "assignment_size": 1}
})";

constexpr const char* kProducerStats = R"({
  "name": "cptsd-events#producer-1", "client_id": "cptsd-events", "type": "producer",
  "ts": 5016483227792, "time": 1763850000, "replyq": 3, "msg_cnt": 42, "msg_size": 40960,
  "tx": 120, "rx": 120, "txmsgs": 15000, "txmsg_bytes": 9000000, "rxmsgs": 0,
  "brokers": {
    "127.0.0.1:9092/1": {"name": "127.0.0.1:9092/1", "nodeid": 1, "source": "learned",
      "state": "UP", "outbuf_cnt": 0, "waitresp_cnt": 4, "rtt": {"avg": 1250}}
  },
  "topics": {}
})";

TEST(MetricsTest, KafkaConsumerStatisticsBecomeGauges) {
  Metrics metrics;
  ASSERT_TRUE(metrics.UpdateKafkaStats(kConsumerStats).ok());
  std::string text = metrics.Render();
  const std::string broker =
      "{broker=\"127.0.0.1:9092/1\",client=\"cptsd-deciders\",type=\"consumer\"}";
  EXPECT_EQ(Value(text, "cpts_kafka_broker_rtt_avg_seconds" + broker), 0.0025);
  EXPECT_EQ(Value(text, "cpts_kafka_broker_outbuf_requests" + broker), 2.0);
  EXPECT_EQ(Value(text, "cpts_kafka_broker_waitresp_requests" + broker), 1.0);
  EXPECT_EQ(Value(text,
                  "cpts_kafka_consumer_lag_messages{client=\"cptsd-deciders\","
                  "partition=\"0\",topic=\"cpts.commands\",type=\"consumer\"}"),
            60.0);
  // Unknown lag (-1), the UA partition and internal brokers are left out; the instance name
  // ("#consumer-3") never becomes a label.
  EXPECT_EQ(Lines(text, "cpts_kafka_consumer_lag_messages").size(), 1u);
  EXPECT_THAT(text, Not(HasSubstr("GroupCoordinator")));
  EXPECT_THAT(text, Not(HasSubstr("#consumer-3")));
  EXPECT_TRUE(Lines(text, "cpts_kafka_producer_queue_messages").empty());
}

TEST(MetricsTest, KafkaProducerStatisticsBecomeGauges) {
  Metrics metrics;
  ASSERT_TRUE(metrics.UpdateKafkaStats(kProducerStats).ok());
  std::string text = metrics.Render();
  const std::string client = "{client=\"cptsd-events\",type=\"producer\"}";
  EXPECT_EQ(Value(text, "cpts_kafka_producer_queue_messages" + client), 42.0);
  EXPECT_EQ(Value(text, "cpts_kafka_transmitted_messages" + client), 15000.0);
  EXPECT_EQ(Value(text,
                  "cpts_kafka_broker_waitresp_requests{broker=\"127.0.0.1:9092/1\","
                  "client=\"cptsd-events\",type=\"producer\"}"),
            4.0);
}

TEST(MetricsTest, KafkaStatisticsThatAreNotJsonAreRefused) {
  Metrics metrics;
  EXPECT_EQ(metrics.UpdateKafkaStats("{\"brokers\": ").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(metrics.UpdateKafkaStats("[1, 2]").code(), StatusCode::kInvalidArgument);
}

// ---- the real Prometheus tools ----

// Every family with at least one series, so promtool lints them all.
void Populate(Metrics& metrics) {
  metrics.OnRequest("/v1/cpts/:cpts/handoff", "GET", 200, 2ms);
  metrics.CommandDecided("referral.issue", CommandOutcome::kRejected, "not_member");
  metrics.EventsAppended("fr.cpts.discharge.notified.v1");
  metrics.SetDeciderLag(0, 1);
  metrics.SetProjectionLag(0, 2);
  metrics.SetProjectionPosition(0, 3);
  ASSERT_TRUE(
      metrics
          .AddRocksDbStore("log", [](const std::string&) -> std::optional<uint64_t> { return 1; })
          .ok());
  ASSERT_TRUE(metrics.UpdateKafkaStats(kConsumerStats).ok());
  ASSERT_TRUE(metrics.UpdateKafkaStats(kProducerStats).ok());
}

TEST(MetricsTest, TheMetricsRouteServesTheTextFormatThatPromtoolAccepts) {
  Metrics metrics;
  Populate(metrics);
  HttpServerOptions options;
  options.access_log = false;
  HttpServer server(options);
  ASSERT_TRUE(metrics.RegisterRoute(server).ok());
  ASSERT_TRUE(server.Start().ok());
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/metrics";
  Result<std::string> type = test::RunAndCapture(
      {"curl", "-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{content_type}", url}, 15s);
  ASSERT_TRUE(type.ok()) << type.status().message();
  EXPECT_EQ(*type, Metrics::kContentType);
  Result<std::string> body = test::RunAndCapture({"curl", "-sS", "--max-time", "10", url}, 15s);
  ASSERT_TRUE(body.ok()) << body.status().message();
  EXPECT_THAT(*body, HasSubstr("# TYPE cpts_commands_total counter"));
  Result<std::string> lint = test::RunAndCapture({"promtool", "check", "metrics"}, 30s, *body);
  EXPECT_TRUE(lint.ok()) << lint.status().message();
}

TEST(MetricsTest, PromtoolAcceptsTheExposition) {
  Metrics metrics;
  Populate(metrics);
  // promtool exits non-zero on a parse error or any lint problem (names, units, help, suffixes).
  Result<std::string> out =
      test::RunAndCapture({"promtool", "check", "metrics"}, 30s, metrics.Render());
  EXPECT_TRUE(out.ok()) << out.status().message();
}

TEST(MetricsTest, ARealPrometheusServerScrapesAndAnswersQueries) {
  Metrics metrics;
  Populate(metrics);
  TempDir dir;
  // The scrape target: our HttpServer on loopback serving /metrics, with its own requests
  // observed too.
  HttpServerOptions options;
  options.access_log = false;
  HttpServer server(options);
  ASSERT_TRUE(metrics.RegisterRoute(server).ok());
  server.SetObserver(&metrics);
  ASSERT_TRUE(server.Start().ok());
  const int target_port = server.port();

  // No remote write, no alerting, no external labels: nothing leaves loopback.
  int prometheus_port = FreeLoopbackPort();
  ASSERT_GT(prometheus_port, 0);
  {
    std::ofstream config(dir.path() / "prometheus.yml");
    config << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
           << "scrape_configs:\n  - job_name: cptsd\n    metrics_path: /metrics\n"
           << "    static_configs:\n      - targets: ['127.0.0.1:" << target_port << "']\n";
  }
  Result<std::unique_ptr<test::ChildProcess>> prometheus = test::ChildProcess::Spawn(
      {"/usr/bin/prometheus", "--config.file=" + (dir.path() / "prometheus.yml").string(),
       "--storage.tsdb.path=" + (dir.path() / "tsdb").string(),
       "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port), "--log.level=warn"});
  ASSERT_TRUE(prometheus.ok()) << prometheus.status().message();

  // Poll the query API until the series shows up: a bounded wait, not a speed assertion.
  const std::string url = "http://127.0.0.1:" + std::to_string(prometheus_port) + "/api/v1/query";
  ::cpts::Json found;
  for (auto deadline = std::chrono::steady_clock::now() + 60s;
       std::chrono::steady_clock::now() < deadline && found.is_null();
       std::this_thread::sleep_for(500ms)) {
    Result<std::string> body = test::RunAndCapture(
        {"curl", "-sS", "--max-time", "5", "-G", "--data-urlencode",
         "query=cpts_http_request_duration_seconds_count{route=\"/v1/cpts/:cpts/handoff\"}", url},
        10s);
    if (!body.ok()) continue;  // not listening yet
    ::cpts::Json answer = ::cpts::Json::parse(*body, nullptr, /*allow_exceptions=*/false);
    if (answer.is_object() && answer.value("status", "") == "success" &&
        !answer["data"]["result"].empty()) {
      found = answer["data"]["result"][0];
    }
  }
  ASSERT_FALSE(found.is_null()) << "Prometheus never answered the project's metric";
  EXPECT_EQ(found["metric"]["route"], "/v1/cpts/:cpts/handoff");
  EXPECT_EQ(found["metric"]["job"], "cptsd");
  EXPECT_EQ(found["value"][1], "1");

  ASSERT_TRUE((*prometheus)->Signal(SIGTERM).ok());
  Result<int> exit_status = (*prometheus)->Wait(20s);
  ASSERT_TRUE(exit_status.ok()) << exit_status.status().message();
  EXPECT_EQ(*exit_status, 0);
}

}  // namespace
}  // namespace cpts::api
