// Debian's real Prometheus server scrapes a real cptsd over loopback; the project's metrics are
// then found through Prometheus's HTTP query API, as an operator's dashboards would find them.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <string>
#include <thread>

#include "connectors/health_secrets.h"
#include "events/json.h"
#include "tests/e2e/cptsd_harness.h"
#include "tests/support/subprocess.h"

namespace cpts::e2e {
namespace {

using json = ::cpts::Json;
using namespace std::chrono_literals;

TEST(PrometheusE2eTest, PrometheusScrapesCptsdAndFindsTheProjectsMetrics) {
  TempDir dir("prometheus");
  ASSERT_TRUE(GenerateSecretsFile(dir.path() + "/secrets.json").ok());
  auto tokens = MakeTokensFile(dir.path() + "/tokens.json", {{"root", "admin"}});
  ASSERT_TRUE(tokens.ok()) << tokens.status().ToString();
  auto cptsd = CptsdProcess::Start({"--data-dir", dir.path() + "/data", "--tokens-file",
                                    dir.path() + "/tokens.json", "--secrets-file",
                                    dir.path() + "/secrets.json"});
  ASSERT_TRUE(cptsd.ok()) << cptsd.status().ToString();
  ASSERT_EQ(WaitForStatus((*cptsd)->url() + "/readyz", 200, 60s).status, 200);

  // Traffic for each family: an accepted command, a rejected one, a query.
  const std::string commands = (*cptsd)->url() + "/v1/cpts/cpts-haut-doubs/commands/";
  const json registration = {{"name", "CPTS du Haut-Doubs"},
                             {"territory", {"25462"}},
                             {"population", 68000},
                             {"region", "27"}};
  Reply accepted = Curl("POST", commands + "cpts.register",
                        {.token = tokens->at("root"), .body = registration.dump()});
  ASSERT_EQ(accepted.status, 201) << accepted.Show();
  Reply rejected = Curl("POST", commands + "cpts.register",
                        {.token = tokens->at("root"), .body = registration.dump()});
  ASSERT_EQ(rejected.status, 409) << rejected.Show();
  Reply read = Curl("GET", (*cptsd)->url() + "/v1/cpts/cpts-haut-doubs/roster",
                    {.token = tokens->at("root")});
  ASSERT_EQ(read.status, 200) << read.Show();

  // promtool accepts the exposition as served.
  Reply metrics = Curl("GET", (*cptsd)->url() + "/metrics");
  ASSERT_EQ(metrics.status, 200) << metrics.Show();
  Result<std::string> lint =
      test::RunAndCapture({"promtool", "check", "metrics"}, 30s, metrics.body);
  EXPECT_TRUE(lint.ok()) << lint.status().message();

  // No remote write, no alerting, no external labels: nothing leaves loopback.
  const int prometheus_port = FreeLoopbackPort();
  ASSERT_GT(prometheus_port, 0);
  {
    std::ofstream config(dir.path() + "/prometheus.yml");
    config << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
           << "scrape_configs:\n  - job_name: cptsd\n    metrics_path: /metrics\n"
           << "    static_configs:\n      - targets: ['127.0.0.1:" << (*cptsd)->port() << "']\n";
  }
  auto prometheus = test::ChildProcess::Spawn(
      {"/usr/bin/prometheus", "--config.file=" + dir.path() + "/prometheus.yml",
       "--storage.tsdb.path=" + dir.path() + "/tsdb",
       "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port), "--log.level=warn"});
  ASSERT_TRUE(prometheus.ok()) << prometheus.status().message();

  // Polls the query API until `query` has a series: a bounded wait, not a speed assertion.
  const std::string url = "http://127.0.0.1:" + std::to_string(prometheus_port) + "/api/v1/query";
  auto find = [&](const std::string& query) {
    for (auto deadline = std::chrono::steady_clock::now() + 60s;
         std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(500ms)) {
      Result<std::string> body = test::RunAndCapture(
          {"curl", "-sS", "--max-time", "5", "-G", "--data-urlencode", "query=" + query, url}, 10s);
      if (!body.ok()) continue;  // not listening yet
      json answer = json::parse(*body, nullptr, /*allow_exceptions=*/false);
      if (answer.is_object() && answer.value("status", "") == "success" &&
          !answer["data"]["result"].empty()) {
        return answer["data"]["result"];
      }
    }
    return json();
  };
  json http = find(
      "cpts_http_request_duration_seconds_count{route=\"/v1/cpts/:cpts/roster\",status=\"200\"}");
  ASSERT_FALSE(http.is_null()) << "no cpts_http_request_duration_seconds for the roster route";
  EXPECT_EQ(http[0]["metric"]["job"], "cptsd");
  EXPECT_EQ(http[0]["metric"]["method"], "GET");
  json accepted_series = find("cpts_commands_total{type=\"cpts.register\",outcome=\"accepted\"}");
  ASSERT_FALSE(accepted_series.is_null()) << "no accepted cpts.register in cpts_commands_total";
  EXPECT_EQ(accepted_series[0]["value"][1], "1");
  json rejected_series = find("cpts_commands_total{type=\"cpts.register\",outcome=\"rejected\"}");
  ASSERT_FALSE(rejected_series.is_null()) << "no rejected cpts.register in cpts_commands_total";
  EXPECT_EQ(rejected_series[0]["metric"]["code"], "already_registered");
  json appended = find("cpts_events_appended_total{type=\"fr.cpts.cpts.registered.v1\"}");
  ASSERT_FALSE(appended.is_null()) << "no cpts_events_appended_total";
  EXPECT_EQ(appended[0]["value"][1], "1");
  json lag = find("cpts_projection_lag_records");
  EXPECT_FALSE(lag.is_null()) << "no cpts_projection_lag_records";

  ASSERT_TRUE((*prometheus)->Signal(SIGTERM).ok());
  Result<int> prometheus_exit = (*prometheus)->Wait(20s);
  ASSERT_TRUE(prometheus_exit.ok()) << prometheus_exit.status().message();
  EXPECT_EQ(*prometheus_exit, 0);
  Result<int> cptsd_exit = (*cptsd)->Stop();
  ASSERT_TRUE(cptsd_exit.ok()) << cptsd_exit.status().message();
  EXPECT_EQ(*cptsd_exit, 0);
}

}  // namespace
}  // namespace cpts::e2e
