#include "libs/server/service_main.h"

#include <csignal>
#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "libs/common/log.h"
#include "libs/metrics/metrics.h"
#include "libs/server/peer_channel.h"

namespace kefu::server {

absl::Status ServiceContext::Migrate(const pg::MigrationSet& set) {
  if (pg_ == nullptr) return absl::FailedPreconditionError("service has no PostgreSQL pool");
  const absl::Time deadline = absl::Now() + config_.startup_timeout;
  absl::Duration backoff = absl::Milliseconds(200);
  // Migrations run as the DSN's user (the owner), on a connection of their own: the
  // service's pool runs as the application role, which may not exist before this.
  pg::PoolOptions owner_options = pg_->options();
  owner_options.size = 1;
  owner_options.session_role.clear();
  pg::Pool owner(owner_options, {});
  while (true) {
    absl::Status status;
    status = pg::EnsureRole(owner, pg::kAppRole);
    // Roles belong to the whole cluster, but EnsureRole's advisory lock only to one database:
    // a service creating the role in another database at the same moment (tests, a fresh
    // deployment) makes this CREATE ROLE fail ("already exists" / duplicate key). The role
    // exists then, and a second look finds it.
    if (!status.ok() && !absl::IsUnavailable(status)) status = pg::EnsureRole(owner, pg::kAppRole);
    if (status.ok()) status = pg::Migrate(owner, set);
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

void RegisterSecurityFlags(FlagSet* flags, SecurityConfig* config) {
  flags->String("tls-cert", "KEFU_TLS_CERT",
                "PEM certificate chain the gRPC server presents (with --tls-key: TLS on)",
                &config->tls.cert);
  flags->String("tls-key", "KEFU_TLS_KEY", "PEM private key of --tls-cert", &config->tls.key);
  flags->String("tls-ca", "KEFU_TLS_CA",
                "PEM CA bundle that peer services' certificates must chain to (TLS to peers)",
                &config->tls.ca);
  flags->String("rate-limits", "KEFU_RATE_LIMITS",
                "per-tenant limits: <method>=<calls>/<window>,... (\"off\": none)",
                &config->rate_limits);
}

namespace {

int Fail(absl::string_view what, const absl::Status& status) {
  log::Error(what, {{"error", status.ToString()}});
  return 1;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServiceRuntime>> ServiceRuntime::Start(
    const ServiceDefinition& definition, ServiceConfig config, SecurityConfig security) {
  const ServiceInfo* info = FindService(definition.name);
  if (info == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("unknown service ", definition.name));
  }
  if (auto st = ValidateServiceConfig(*info, config); !st.ok()) return st;
  auto runtime = std::unique_ptr<ServiceRuntime>(new ServiceRuntime());
  ServiceContext& ctx = runtime->ctx_;
  ctx.config_ = std::move(config);
  const ServiceConfig& cfg = ctx.config_;

  auto limits = ParseRateLimits(security.rate_limits);
  if (!limits.ok()) return limits.status();
  auto server_credentials = ServerCredentialsFrom(security.tls);
  if (!server_credentials.ok()) return server_credentials.status();
  auto peer_credentials = ChannelCredentialsFrom(security.tls);
  if (!peer_credentials.ok()) return peer_credentials.status();
  // Before setup: services open their peer channels there.
  SetPeerChannelCredentials(*peer_credentials);

  auto codec = auth::TokenCodec::Create(cfg.jwt_key);
  if (!codec.ok()) return codec.status();
  ctx.codec_.emplace(std::move(*codec));
  ctx.authenticator_ = std::make_unique<auth::Authenticator>(&*ctx.codec_);

  ctx.registry_ = std::make_shared<prometheus::Registry>();
  runtime->process_metrics_ =
      std::make_unique<metrics::ProcessMetrics>(*ctx.registry_, info->name, KEFU_VERSION);
  if (!cfg.metrics_addr.empty()) {
    auto started = metrics::MetricsServer::Start(cfg.metrics_addr, ctx.registry_);
    if (!started.ok()) return started.status();
    runtime->metrics_server_ = std::move(*started);
  }

  if (info->needs_postgres) {
    pg::PoolOptions options;
    options.dsn = cfg.pg_dsn;
    options.size = cfg.pg_pool_size;
    options.statement_timeout = cfg.pg_statement_timeout;
    options.connect_timeout = cfg.dependency_timeout;
    options.acquire_timeout = cfg.dependency_timeout;
    options.application_name = std::string(info->binary);
    options.session_role = pg::kAppRole;
    ctx.pg_ = std::make_unique<pg::Pool>(options, std::vector<pg::Statement>{});
    ctx.checks_.push_back({"postgres", [pool = ctx.pg_.get()] { return pool->Ping(); }});
  }
  if (info->needs_redis) {
    auto url = redis::ParseUrl(cfg.redis_url);
    if (!url.ok()) return url.status();
    ctx.redis_url_ = *url;
    redis::PoolOptions options;
    options.url = *url;
    options.timeout = cfg.dependency_timeout;
    options.acquire_timeout = cfg.dependency_timeout;
    ctx.redis_ = std::make_unique<redis::Pool>(options);
    ctx.checks_.push_back({"redis", [pool = ctx.redis_.get()] { return pool->Ping(); }});
  }

  if (auto st = definition.setup(ctx); !st.ok()) {
    return absl::Status(st.code(), absl::StrCat("setup: ", st.message()));
  }

  GrpcServerOptions server_options;
  server_options.addr = cfg.grpc_addr;
  server_options.max_message_bytes = cfg.max_message_bytes;
  server_options.services = ctx.services_;
  server_options.authenticator = ctx.authenticator_.get();
  server_options.open_methods = ctx.open_methods_;
  server_options.credentials = *server_credentials;
  if (!limits->empty()) {
    if (ctx.redis_ == nullptr) {
      return absl::FailedPreconditionError("--rate-limits: this service has no Redis to count in");
    }
    runtime->call_counter_ = std::make_unique<RedisCallCounter>(ctx.redis_.get());
    runtime->rate_limiter_ = std::make_unique<RateLimiter>(
        std::move(*limits), runtime->call_counter_.get(), ctx.registry_.get());
    server_options.rate_limiter = runtime->rate_limiter_.get();
  }
  auto server = GrpcServer::Start(server_options, *ctx.registry_);
  if (!server.ok()) return server.status();
  runtime->server_ = std::move(*server);

  runtime->monitor_ = std::make_unique<HealthMonitor>(
      runtime->server_->health(), runtime->server_->service_names(), ctx.checks_,
      cfg.health_interval, runtime->process_metrics_.get());
  runtime->monitor_->CheckOnce();
  runtime->monitor_->Start();

  for (auto& [name, loop] : ctx.workers_) {
    runtime->workers_.emplace_back([name = name, loop = loop](const std::stop_token& stop) {
      log::Info("worker started", {{"worker", name}});
      loop(stop);
      log::Info("worker stopped", {{"worker", name}});
    });
  }
  log::Info("serving",
            {{"grpc", absl::StrCat(cfg.grpc_addr, " (port ", runtime->server_->port(), ")")},
             {"tls", security.tls.server_enabled() ? "on" : "off"},
             {"metrics", runtime->metrics_server_ ? absl::StrCat(cfg.metrics_addr, "/metrics")
                                                  : std::string("off")},
             {"version", KEFU_VERSION}});
  return runtime;
}

void ServiceRuntime::Stop() {
  if (stopped_) return;
  stopped_ = true;
  // A Start that failed part-way (setup, listen) destroys a runtime without a monitor or
  // server: nothing to drain then, and dereferencing them crashed the process (SIGSEGV)
  // instead of returning the start-up error.
  if (monitor_ != nullptr) monitor_->Stop();  // NOT_SERVING first: balancers stop sending
  if (server_ != nullptr) server_->Shutdown(ctx_.config_.drain_timeout);
  for (auto& worker : workers_) worker.request_stop();
  workers_.clear();  // joins
}

ServiceRuntime::~ServiceRuntime() { Stop(); }

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
  // Debian's abseil is built without NDEBUG, so every absl::Mutex (gRPC's locks included)
  // keeps a lock-order graph for deadlock detection: 3-4 % of a busy router's CPU in a
  // perf profile. The services run without it; in-process tests keep it on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  ServiceConfig config;
  SecurityConfig security;
  FlagSet flags(std::string(info->binary));
  RegisterServiceFlags(*info, &flags, &config);
  RegisterSecurityFlags(&flags, &security);
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
  log::Level level = log::Level::kInfo;
  log::ParseLevel(config.log_level, &level);
  log::Init(info->name, level);

  const absl::Duration drain = config.drain_timeout;
  auto runtime = ServiceRuntime::Start(definition, std::move(config), std::move(security));
  if (!runtime.ok()) return Fail("start-up failed", runtime.status());

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  log::Info("draining", {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"},
                         {"deadline", absl::FormatDuration(drain)}});
  (*runtime)->Stop();
  log::Info("stopped");
  return 0;
}

}  // namespace kefu::server
