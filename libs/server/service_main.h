#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/service_type.h>
#include <prometheus/registry.h>

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "libs/auth/authorize.h"
#include "libs/auth/token.h"
#include "libs/common/config.h"
#include "libs/metrics/metrics.h"
#include "libs/pg/migrate.h"
#include "libs/pg/pool.h"
#include "libs/redis/client.h"
#include "libs/server/grpc_server.h"
#include "libs/server/health_monitor.h"
#include "libs/server/rate_limit.h"
#include "libs/server/tls.h"

namespace kefu::server {

struct ServiceDefinition;

// Transport and abuse settings every service shares (docs/SECURITY.md).
struct SecurityConfig {
  TlsFiles tls;  // --tls-cert/--tls-key serve TLS; --tls-ca makes peer channels use it
  std::string rate_limits = kDefaultRateLimits;  // --rate-limits, ParseRateLimits syntax
};
// --tls-cert, --tls-key, --tls-ca, --rate-limits (KEFU_TLS_CERT, ..., KEFU_RATE_LIMITS).
void RegisterSecurityFlags(FlagSet* flags, SecurityConfig* config);

// What a service's setup function gets: its config, its dependencies (already created;
// nullptr when the service does not use one), and places to put what it builds.
class ServiceContext final {
 public:
  const ServiceConfig& config() const { return config_; }
  pg::Pool* pg() { return pg_.get(); }
  redis::Pool* redis() { return redis_.get(); }
  const redis::RedisUrl& redis_url() const { return redis_url_; }
  prometheus::Registry& registry() { return *registry_; }
  // Verifies callers' tokens; every handler starts with authenticator().Require(...).
  const auth::Authenticator& authenticator() const { return *authenticator_; }
  // Signs tokens (identity) and mints this service's platform token for peer calls.
  const auth::TokenCodec& token_codec() const { return *codec_; }

  // Applies the service's migrations, retrying while PostgreSQL is not reachable yet
  // (containers start together) until --startup-timeout.
  absl::Status Migrate(const pg::MigrationSet& set);

  // Serves `service` (owned here) under its proto full name.
  void AddService(std::unique_ptr<grpc::Service> service, std::string full_name);
  // A method callers may use without a token ("/kefu.identity.v1.AuthService/Login").
  void AddOpenMethod(std::string full_method) { open_methods_.insert(std::move(full_method)); }
  // Keeps `object` (a store, a client) alive as long as the services built on it.
  void Keep(std::shared_ptr<void> object) { kept_.push_back(std::move(object)); }
  // Extra dependency whose loss turns health NOT_SERVING.
  void AddCheck(DependencyCheck check);
  // A background loop (event consumer, sweeper) started after the server and stopped,
  // through its stop_token, before the process exits.
  void AddWorker(std::string name, std::function<void(std::stop_token)> loop);

 private:
  friend class ServiceRuntime;
  ServiceConfig config_;
  std::unique_ptr<pg::Pool> pg_;
  std::unique_ptr<redis::Pool> redis_;
  redis::RedisUrl redis_url_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::vector<std::shared_ptr<void>> kept_;  // destroyed after owned_ (declared first)
  std::vector<std::unique_ptr<grpc::Service>> owned_;
  std::vector<ServedService> services_;
  std::vector<DependencyCheck> checks_;
  std::optional<auth::TokenCodec> codec_;
  std::unique_ptr<auth::Authenticator> authenticator_;
  std::set<std::string> open_methods_;
  std::vector<std::pair<std::string, std::function<void(std::stop_token)>>> workers_;
};

struct ServiceDefinition {
  absl::string_view name;  // key of AllServices(): "router"
  // Registers the service's own flags (optional).
  std::function<void(FlagSet&)> register_flags;
  // Builds the service: migrations, stores, gRPC services, workers.
  std::function<absl::Status(ServiceContext&)> setup;
};

// A running service: pools, setup, gRPC server, health monitor, workers. ServiceMain
// runs one per process; tests start one in-process (grpc_addr 127.0.0.1:0) on real
// Redis and PostgreSQL and call it through its port.
class ServiceRuntime final {
 public:
  static absl::StatusOr<std::unique_ptr<ServiceRuntime>> Start(const ServiceDefinition& definition,
                                                               ServiceConfig config,
                                                               SecurityConfig security = {});
  ~ServiceRuntime();

  int port() const { return server_->port(); }
  ServiceContext& context() { return ctx_; }
  // NOT_SERVING, drain, stop workers. Idempotent.
  void Stop();

 private:
  ServiceRuntime() = default;
  ServiceContext ctx_;
  std::unique_ptr<metrics::ProcessMetrics> process_metrics_;
  std::unique_ptr<metrics::MetricsServer> metrics_server_;
  std::unique_ptr<CallCounter> call_counter_;
  std::unique_ptr<RateLimiter> rate_limiter_;
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<HealthMonitor> monitor_;
  std::vector<std::jthread> workers_;
  bool stopped_ = false;
};

// The whole life of a service process: flags/env -> config -> metrics endpoint ->
// PostgreSQL/Redis pools -> setup -> gRPC server -> health monitor -> wait for
// SIGTERM/SIGINT -> NOT_SERVING, drain, exit 0. A failed start-up logs one line, exits 1.
int ServiceMain(int argc, char** argv, const ServiceDefinition& definition);

}  // namespace kefu::server
