#pragma once

#include <grpcpp/grpcpp.h>
#include <prometheus/registry.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/auth/authorize.h"
#include "libs/metrics/metrics.h"
#include "libs/server/rate_limit.h"

namespace kefu::server {

// Health service name that answers SERVING as long as the server runs, independent of
// Redis and PostgreSQL (for liveness probes; readiness uses the whole-server status "").
inline constexpr const char* kLivenessService = "liveness";

struct ServedService {
  std::string full_name;  // "kefu.router.v1.RoutingService"
  grpc::Service* service;
};

struct GrpcServerOptions {
  std::string addr = "127.0.0.1:0";
  // TLS when set (ServerCredentialsFrom); plaintext when null.
  std::shared_ptr<grpc::ServerCredentials> credentials;
  // Largest message received or sent; a bigger one is answered RESOURCE_EXHAUSTED.
  int max_message_bytes = 8 << 20;
  int max_threads = 256;  // bounds the sync server's threads (ResourceQuota)
  int min_pollers = 2;    // idle threads waiting for calls, at least ...
  int max_pollers = 16;   // ... and at most: more idle threads than this exit
  std::vector<ServedService> services;
  // When set, every method but open_methods (and health, reflection) answers
  // UNAUTHENTICATED to a call without a valid token (auth::AuthInterceptorFactory).
  const auth::Authenticator* authenticator = nullptr;
  std::set<std::string> open_methods;  // "/kefu.identity.v1.AuthService/Login"
  // Per-tenant limits on expensive methods (needs `authenticator` to find the tenant).
  RateLimiter* rate_limiter = nullptr;
};

// A gRPC server with the health service, reflection and the observability interceptor
// (RED metrics into `registry`). Health starts NOT_SERVING: a HealthMonitor decides.
class GrpcServer final {
 public:
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(GrpcServerOptions options,
                                                           prometheus::Registry& registry);
  ~GrpcServer();

  int port() const { return port_; }
  grpc::HealthCheckServiceInterface* health() { return server_->GetHealthCheckService(); }
  // Service names to report health for ("kefu.router.v1.RoutingService", ...).
  std::vector<std::string> service_names() const;

  // Stops accepting calls and lets in-flight ones finish until `drain`, then cancels them.
  void Shutdown(absl::Duration drain);

 private:
  GrpcServer() = default;
  GrpcServerOptions options_;
  std::unique_ptr<metrics::RpcMetrics> rpc_metrics_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace kefu::server
