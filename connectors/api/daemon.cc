#include "connectors/api/daemon.h"

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>

#include "aggregates/command_processor.h"
#include "connectors/api/command_routes.h"
#include "connectors/api/feed_routes.h"
#include "connectors/api/openapi.h"
#include "connectors/api/query_routes.h"
#include "connectors/embedded_log.h"
#include "connectors/log_flags.h"
#include "events/topics.h"
#include "projections/clock.h"
#include "projections/projector.h"
#include "projections/read_models.h"

namespace cpts::api {

namespace {

using Clock = std::chrono::steady_clock;

std::string MemberName() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(host[0] != '\0' ? host : "cptsd") + ":" + std::to_string(getpid());
}

// Routes that answer without a token: probes, scrapes and the API's description.
bool IsPublicRoute(std::string_view route) {
  return route == "/healthz" || route == "/readyz" || route == "/metrics" ||
         route == "/openapi.json";
}

}  // namespace

struct Daemon::Impl {
  DaemonConfig config;
  // Before the log: the log's threads report to the metrics until the log is destroyed.
  Metrics metrics;
  LiveView live;
  std::unique_ptr<log::Log> log;
  std::unique_ptr<::cpts::keys::KeyStore> keys;
  std::unique_ptr<PatientEdge> edge;
  std::unique_ptr<projections::ProjectionStore> store;
  std::unique_ptr<projections::AccessLog> access;
  std::optional<TokenStore> tokens;
  ApiContext context;
  std::unique_ptr<HttpServer> server;

  std::atomic<bool> stop{false};
  std::atomic<bool> decider_running{false};
  std::atomic<bool> caught_up{false};
  projections::Positions start_ends;  // the events topic's ends when started: readiness
  int64_t next_outcome_expiry_ms = 0;  // the metrics thread's: when to delete expired outcomes
  std::thread decider_thread, projector_thread, metrics_thread;
  bool started = false;

  std::mutex mu;  // guards what follows
  std::condition_variable changed;
  Status failure;  // the first error of the stop (closing the read models)
  bool stopped = false;
  projections::Projector* running_projector = nullptr;  // the running one, for RequestStop

  // Sleeps up to `d`, less when stopping.
  void Pause(std::chrono::milliseconds d) {
    std::unique_lock lock(mu);
    changed.wait_for(lock, d, [&] { return stop.load(); });
  }
  void RunDecider();
  void RunProjector();
  void RunMetrics();
  void UpdateLag();
  void ExpireOutcomes();
  ::cpts::Json Readiness() const;
};

// The decider: one member of the deciders group. A processor that fails is unusable (its state
// may be ahead of the log), so a new one is started: it folds the log afresh.
void Daemon::Impl::RunDecider() {
  while (!stop.load()) {
    Result<std::unique_ptr<aggregates::CommandProcessor>> processor =
        aggregates::CommandProcessor::Start(*log, {.group = context.decider_group,
                                                   .name = MemberName()});
    if (!processor.ok()) {
      std::fprintf(stderr, "cptsd: cannot start the decider: %s; retrying in 1 s\n",
                   processor.status().ToString().c_str());
      Pause(std::chrono::seconds(1));
      continue;
    }
    decider_running.store(true);
    const Status run = (*processor)->Run(stop);
    decider_running.store(false);
    const Status close = (*processor)->Close();  // its partitions move to the other members now
    if (!close.ok()) {
      std::fprintf(stderr, "cptsd: the decider left its group uncleanly: %s\n",
                   close.ToString().c_str());
    }
    if (!run.ok()) {
      std::fprintf(stderr, "cptsd: the decider stopped: %s; restarting it in 1 s\n",
                   run.ToString().c_str());
      Pause(std::chrono::seconds(1));
    }
  }
}

// The projector, following the log; restarted after an error, from its committed positions.
void Daemon::Impl::RunProjector() {
  while (!stop.load()) {
    projections::ProjectorOptions options;
    options.stop_at_end = false;
    options.on_commit = [this](const projections::Positions& committed,
                               std::vector<projections::AppliedEvent> applied) {
      for (const projections::AppliedEvent& a : applied) metrics.EventsAppended(a.event.type);
      live.OnCommit(committed, std::move(applied));
      if (!caught_up.load() && live.Reached(start_ends)) caught_up.store(true);
    };
    projections::Projector projector(*log, *store, std::move(options));
    {
      std::lock_guard lock(mu);
      if (stop.load()) return;
      running_projector = &projector;
    }
    const Status run = projector.Run();
    {
      std::lock_guard lock(mu);
      running_projector = nullptr;
    }
    if (!run.ok()) {
      std::fprintf(stderr, "cptsd: the projector stopped: %s; restarting it in 1 s\n",
                   run.ToString().c_str());
      Pause(std::chrono::seconds(1));
    }
  }
}

void Daemon::Impl::UpdateLag() {
  const projections::Positions positions = live.positions();
  // On Kafka each call may wait for the broker: a stop must not wait for every partition.
  for (int32_t p = 0; p < config.partitions && !stop.load(); ++p) {
    const log::TopicPartition events{std::string(topics::kEvents), Partition(p)};
    if (Result<Offset> end = log->EndOffset(events); end.ok()) {
      const auto it = positions.find(p);
      const int64_t at = it == positions.end() ? 0 : it->second;
      metrics.SetProjectionPosition(p, at);
      metrics.SetProjectionLag(p, std::max<int64_t>(0, end->value() - at));
    }
    const log::TopicPartition commands{std::string(topics::kCommands), Partition(p)};
    Result<Offset> end = log->EndOffset(commands);
    Result<std::optional<Offset>> decided = log->GroupOffset(context.decider_group, commands);
    if (end.ok() && decided.ok()) {
      const int64_t at = decided->has_value() ? (*decided)->value() : 0;
      metrics.SetDeciderLag(p, std::max<int64_t>(0, end->value() - at));
    }
  }
}

void Daemon::Impl::RunMetrics() {
  while (!stop.load()) {
    UpdateLag();
    ExpireOutcomes();
    Pause(std::chrono::seconds(5));
  }
}

// At start, then hourly: deletes the commands' outcomes past their retention. Lookups hide them
// already (projections::kOutcomeRetentionMs); this keeps them from piling up on disk.
void Daemon::Impl::ExpireOutcomes() {
  const int64_t now = context.now_ms();
  if (now < next_outcome_expiry_ms) return;
  next_outcome_expiry_ms = now + projections::kHourMs;
  const Result<uint64_t> deleted = store->ExpireOutcomes(now - projections::kOutcomeRetentionMs,
                                                         [this] { return stop.load(); });
  if (!deleted.ok()) {
    std::fprintf(stderr, "cptsd: cannot delete expired command outcomes: %s; trying again in an "
                 "hour\n", deleted.status().ToString().c_str());
  } else if (*deleted > 0) {
    std::fprintf(stderr, "cptsd: deleted %llu expired command outcomes\n",
                 static_cast<unsigned long long>(*deleted));
  }
}

::cpts::Json Daemon::Impl::Readiness() const {
  int64_t lag = 0;
  const projections::Positions positions = live.positions();
  for (const auto& [p, end] : start_ends) {
    const auto it = positions.find(p);
    lag += std::max<int64_t>(0, end - (it == positions.end() ? 0 : it->second));
  }
  const bool ready = caught_up.load() && decider_running.load() && !stop.load();
  return {{"ready", ready},
          {"log", config.kafka.empty() ? "embedded" : "kafka"},
          {"read_models", {{"caught_up", caught_up.load()}, {"records_behind_start", lag}}},
          {"decider", {{"running", decider_running.load()}}}};
}

Daemon::Daemon(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Daemon::~Daemon() { (void)Stop(); }

Result<std::unique_ptr<Daemon>> Daemon::Open(const DaemonConfig& config) {
  if (!config.tls_cert_file.empty()) {
    return Status::FailedPrecondition(
        "tls_cert_file: cptsd does not terminate TLS itself yet; put it behind a TLS proxy "
        "(nginx, HAProxy) and listen on loopback, or set allow_plain_http_on_network on a "
        "private network");
  }
  auto impl = std::make_unique<Impl>();
  Impl& d = *impl;
  d.config = config;
  Result<HealthSecrets> secrets = LoadHealthSecrets(config.Health());
  if (!secrets.ok()) return secrets.status().WithContext("cannot load the health secrets");
  const LogFlags flags = config.Log();
  Metrics* metrics = &d.metrics;
  LogObservers observers{.kafka_statistics = [metrics](std::string_view json) {
    if (Status s = metrics->UpdateKafkaStats(json); !s.ok()) {
      std::fprintf(stderr, "cptsd: unreadable librdkafka statistics: %s\n", s.ToString().c_str());
    }
  }};
  Result<std::unique_ptr<log::Log>> log = OpenLog(flags, OpenMode::kCreateTopics, observers);
  if (!log.ok()) return log.status().WithContext("cannot open the log");
  d.log = std::move(*log);
  Result<std::unique_ptr<::cpts::keys::KeyStore>> keys =
      OpenKeyStore(flags, *d.log, secrets->master_key);
  if (!keys.ok()) return keys.status().WithContext("cannot open the key store");
  d.keys = std::move(*keys);
  d.edge = std::make_unique<PatientEdge>(secrets->pseudonym_secret, *d.keys);
  Result<std::unique_ptr<projections::ProjectionStore>> store =
      projections::ProjectionStore::Open({.directory = flags.ProjectionsDirectory()});
  if (!store.ok()) return store.status().WithContext("cannot open the read models");
  d.store = std::move(*store);
  d.access = std::make_unique<projections::AccessLog>(*d.log);
  const std::string tokens_file =
      config.tokens_file.empty() ? config.data_dir + "/tokens.json" : config.tokens_file;
  Result<TokenStore> tokens = TokenStore::Load(tokens_file);
  if (!tokens.ok()) {
    return tokens.status().WithContext(
        "cannot load the tokens file " + tokens_file +
        " (create one with: cpts token add --tokens " + tokens_file + " --name NAME --role ROLE)");
  }
  d.tokens = std::move(*tokens);
  log::Log* raw_log = d.log.get();
  if (config.kafka.empty()) {
    CPTS_RETURN_IF_ERROR(d.metrics.AddRocksDbStore(
        "log", [raw_log](const std::string& property) {
          return log::EmbeddedLogIntProperty(*raw_log, property);
        }));
  }
  projections::ProjectionStore* raw_store = d.store.get();
  CPTS_RETURN_IF_ERROR(d.metrics.AddRocksDbStore(
      "projections", [raw_store](const std::string& property) {
        return raw_store->IntProperty(property);
      }));

  d.context = ApiContext{.log = d.log.get(),
                         .store = d.store.get(),
                         .access = d.access.get(),
                         .keys = d.keys.get(),
                         .edge = d.edge.get(),
                         .tokens = &*d.tokens,
                         .metrics = &d.metrics,
                         .live = &d.live,
                         .config = config,
                         .now_ms = projections::WallClockMs};

  HttpServerOptions http;
  http.host = config.host;
  http.port = config.port;
  http.worker_threads = static_cast<size_t>(config.WorkerThreads());
  http.max_connections = static_cast<size_t>(config.max_connections);
  http.max_body_bytes = static_cast<size_t>(config.max_body_bytes);
  http.max_header_bytes = static_cast<size_t>(config.max_header_bytes);
  http.read_timeout = std::chrono::seconds(config.read_timeout_seconds);
  http.idle_timeout = std::chrono::seconds(config.idle_timeout_seconds);
  http.sse_heartbeat = std::chrono::seconds(config.sse_heartbeat_seconds);
  http.max_event_streams = std::max<size_t>(1, http.worker_threads / 2);
  http.access_log = config.access_log && !config.demo;
  d.server = std::make_unique<HttpServer>(http);
  d.server->SetObserver(&d.metrics);
  d.server->SetPreHandler([&d](const Request& request) -> std::optional<Response> {
    if (IsPublicRoute(request.route)) return std::nullopt;
    Response error;
    if (!Authenticate(d.context, request, &error).ok()) return error;
    return std::nullopt;
  });
  CPTS_RETURN_IF_ERROR(RegisterCommandRoutes(*d.server, d.context));
  CPTS_RETURN_IF_ERROR(RegisterQueryRoutes(*d.server, d.context));
  CPTS_RETURN_IF_ERROR(RegisterFeedRoutes(*d.server, d.context));
  CPTS_RETURN_IF_ERROR(d.metrics.RegisterRoute(*d.server));
  CPTS_RETURN_IF_ERROR(d.server->Route("GET", "/healthz", [](const Request&) {
    return Response::Json(200, {{"status", "ok"}});
  }));
  CPTS_RETURN_IF_ERROR(d.server->Route("GET", "/readyz", [&d](const Request&) {
    ::cpts::Json readiness = d.Readiness();
    const int status = readiness["ready"].get<bool>() ? 200 : 503;
    return Response::Json(status, std::move(readiness));
  }));
  const ::cpts::Json openapi = BuildOpenApi();
  CPTS_RETURN_IF_ERROR(d.server->Route("GET", "/openapi.json", [openapi](const Request&) {
    return Response::Json(200, openapi);
  }));
  return std::unique_ptr<Daemon>(new Daemon(std::move(impl)));
}

Status Daemon::Start() {
  Impl& d = *impl_;
  if (d.started) return Status::FailedPrecondition("cptsd is already started");
  Result<projections::Positions> stored = d.store->ReadPositions();
  if (!stored.ok()) return stored.status();
  d.live.SetStartPositions(*stored);
  for (int32_t p = 0; p < d.config.partitions; ++p) {
    Result<Offset> end = d.log->EndOffset({std::string(topics::kEvents), Partition(p)});
    if (!end.ok()) return end.status().WithContext("cannot read the events topic");
    d.start_ends[p] = end->value();
  }
  d.caught_up.store(d.live.Reached(d.start_ends));
  d.started = true;
  d.decider_thread = std::thread([&d] { d.RunDecider(); });
  d.projector_thread = std::thread([&d] { d.RunProjector(); });
  d.metrics_thread = std::thread([&d] { d.RunMetrics(); });
  if (Status s = d.server->Start(); !s.ok()) {
    (void)Stop();
    return s.WithContext("cannot listen on " + d.config.host + ":" + std::to_string(d.config.port));
  }
  return Status::Ok();
}

Status Daemon::Stop() {
  Impl& d = *impl_;
  {
    std::lock_guard lock(d.mu);
    if (d.stopped) return d.failure;
    d.stopped = true;
    d.stop.store(true);
    if (d.running_projector != nullptr) d.running_projector->RequestStop();
    d.changed.notify_all();
  }
  // The server first: requests in flight finish (their waits end at once: LiveView stops), and
  // nothing new arrives; then the projector commits what it applied; then the decider leaves.
  d.live.Stop();
  if (d.server) d.server->Stop();
  for (std::thread* t : {&d.projector_thread, &d.decider_thread, &d.metrics_thread}) {
    if (t->joinable()) t->join();
  }
  const Status closed = d.store ? d.store->Close() : Status::Ok();
  std::lock_guard lock(d.mu);
  if (!closed.ok() && d.failure.ok()) d.failure = closed;
  return d.failure;
}

int Daemon::port() const { return impl_->server->port(); }

bool Daemon::Ready() const { return impl_->Readiness()["ready"].get<bool>(); }

ApiContext& Daemon::context() { return impl_->context; }

}  // namespace cpts::api
