#include "libs/server/service_main.h"

#include <csignal>
#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "libs/common/log.h"
#include "libs/metrics/metrics.h"

namespace kefu::server {

absl::Status ServiceContext::Migrate(const pg::MigrationSet& set) {
  if (pg_ == nullptr) return absl::FailedPreconditionError("service has no PostgreSQL pool");
  const absl::Time deadline = absl::Now() + config_.startup_timeout;
  absl::Duration backoff = absl::Milliseconds(200);
  while (true) {
    absl::Status status = pg::Migrate(*pg_, set);
    if (status.ok() || !absl::IsUnavailable(status) || absl::Now() + backoff > deadline) {
      return status;
    }
    log::Warn("postgres not reachable yet; retrying migrations",
              {{"schema", set.schema}, {"error", status.message()}});
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(5));
  }
}

void ServiceContext::AddService(std::unique_ptr<grpc::Service> service, std::string full_name) {
  services_.push_back({std::move(full_name), service.get()});
  owned_.push_back(std::move(service));
}

void ServiceContext::AddCheck(DependencyCheck check) { checks_.push_back(std::move(check)); }

void ServiceContext::AddWorker(std::string name, std::function<void(std::stop_token)> loop) {
  workers_.emplace_back(std::move(name), std::move(loop));
}

namespace {

int Fail(absl::string_view what, const absl::Status& status) {
  log::Error(what, {{"error", status.ToString()}});
  return 1;
}

}  // namespace

int ServiceMain(int argc, char** argv, const ServiceDefinition& definition) {
  const ServiceInfo* info = FindService(definition.name);
  if (info == nullptr) {
    std::fprintf(stderr, "unknown service %s\n", std::string(definition.name).c_str());
    return 1;
  }
  // Signals are taken synchronously by the main thread (sigwait below); every thread
  // created from here on inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  ServiceContext ctx;
  FlagSet flags(std::string(info->binary));
  RegisterServiceFlags(*info, &flags, &ctx.config_);
  if (definition.register_flags) definition.register_flags(flags);
  if (auto st = flags.Parse(argc, argv); !st.ok()) {
    std::fprintf(stderr, "%s: %s\n", std::string(info->binary).c_str(),
                 std::string(st.message()).c_str());
    return 2;
  }
  if (flags.help_requested()) {
    std::cout << flags.Usage();
    return 0;
  }
  const ServiceConfig& config = ctx.config_;
  log::Level level = log::Level::kInfo;
  log::ParseLevel(config.log_level, &level);
  log::Init(info->name, level);
  if (auto st = ValidateServiceConfig(*info, config); !st.ok()) return Fail("bad config", st);

  ctx.registry_ = std::make_shared<prometheus::Registry>();
  metrics::ProcessMetrics process_metrics(*ctx.registry_, info->name, KEFU_VERSION);
  std::unique_ptr<metrics::MetricsServer> metrics_server;
  if (!config.metrics_addr.empty()) {
    auto started = metrics::MetricsServer::Start(config.metrics_addr, ctx.registry_);
    if (!started.ok()) return Fail("cannot start metrics endpoint", started.status());
    metrics_server = std::move(*started);
  }

  if (info->needs_postgres) {
    pg::PoolOptions options;
    options.dsn = config.pg_dsn;
    options.size = config.pg_pool_size;
    options.statement_timeout = config.pg_statement_timeout;
    options.connect_timeout = config.dependency_timeout;
    options.acquire_timeout = config.dependency_timeout;
    options.application_name = std::string(info->binary);
    ctx.pg_ = std::make_unique<pg::Pool>(options, std::vector<pg::Statement>{});
    ctx.checks_.push_back({"postgres", [pool = ctx.pg_.get()] { return pool->Ping(); }});
  }
  if (info->needs_redis) {
    auto url = redis::ParseUrl(config.redis_url);
    if (!url.ok()) return Fail("bad config", url.status());
    ctx.redis_url_ = *url;
    redis::PoolOptions options;
    options.url = *url;
    options.timeout = config.dependency_timeout;
    options.acquire_timeout = config.dependency_timeout;
    ctx.redis_ = std::make_unique<redis::Pool>(options);
    ctx.checks_.push_back({"redis", [pool = ctx.redis_.get()] { return pool->Ping(); }});
  }

  if (auto st = definition.setup(ctx); !st.ok()) return Fail("setup failed", st);

  GrpcServerOptions server_options;
  server_options.addr = config.grpc_addr;
  server_options.max_message_bytes = config.max_message_bytes;
  server_options.services = ctx.services_;
  auto server = GrpcServer::Start(server_options, *ctx.registry_);
  if (!server.ok()) return Fail("cannot start gRPC server", server.status());

  HealthMonitor monitor((*server)->health(), (*server)->service_names(), ctx.checks_,
                        config.health_interval, &process_metrics);
  monitor.CheckOnce();
  monitor.Start();

  std::vector<std::jthread> workers;
  for (auto& [name, loop] : ctx.workers_) {
    workers.emplace_back([name = name, loop = loop](const std::stop_token& stop) {
      log::Info("worker started", {{"worker", name}});
      loop(stop);
      log::Info("worker stopped", {{"worker", name}});
    });
  }

  log::Info("serving", {{"grpc", absl::StrCat(config.grpc_addr, " (port ", (*server)->port(), ")")},
                        {"metrics", metrics_server ? absl::StrCat(config.metrics_addr, "/metrics")
                                                   : std::string("off")},
                        {"version", KEFU_VERSION}});

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  log::Info("draining", {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"},
                         {"deadline", absl::FormatDuration(config.drain_timeout)}});
  monitor.Stop();  // NOT_SERVING first, so balancers stop sending new calls
  (*server)->Shutdown(config.drain_timeout);
  for (auto& worker : workers) worker.request_stop();
  workers.clear();  // joins
  log::Info("stopped");
  return 0;
}

}  // namespace kefu::server
