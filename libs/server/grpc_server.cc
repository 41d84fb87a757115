#include "libs/server/grpc_server.h"

#include <google/protobuf/descriptor.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include <array>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/auth/interceptor.h"
#include "libs/server/observability.h"

namespace kefu::server {
namespace {

// Open to anybody: load balancers and API explorers carry no token.
constexpr std::array<const char*, 3> kOpenMethods = {
    "/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"};

}  // namespace

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(GrpcServerOptions options,
                                                              prometheus::Registry& registry) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  auto server = std::unique_ptr<GrpcServer>(new GrpcServer());
  server->rpc_metrics_ = std::make_unique<metrics::RpcMetrics>(registry);
  for (const char* method : kOpenMethods) {
    server->rpc_metrics_->RegisterMethod(method);
  }

  grpc::ServerBuilder builder;
  builder.AddListeningPort(
      options.addr,
      options.credentials != nullptr ? options.credentials : grpc::InsecureServerCredentials(),
      &server->port_);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  grpc::ResourceQuota quota(absl::StrCat("kefu-", options.addr));
  quota.SetMaxThreads(options.max_threads);
  builder.SetResourceQuota(quota);
  // The sync server's threads poll for calls and run the handler themselves; a handler
  // blocks on Redis or PostgreSQL. With gRPC's defaults (at most 2 idle pollers) every
  // burst of concurrent calls creates threads and every lull destroys them again, each a
  // clone, a stack mmap and munmap. Keep enough idle pollers for the usual concurrency.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS,
                              options.min_pollers);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                              options.max_pollers);
  for (const ServedService& served : options.services) {
    const auto* descriptor =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(served.full_name);
    if (descriptor == nullptr) {
      return absl::InternalError(absl::StrCat("no descriptor for service ", served.full_name));
    }
    for (int i = 0; i < descriptor->method_count(); ++i) {
      server->rpc_metrics_->RegisterMethod(
          absl::StrCat("/", served.full_name, "/", descriptor->method(i)->name()));
    }
    builder.RegisterService(served.service);
  }
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  if (options.authenticator != nullptr) {
    // First in the chain, so the observability interceptor counts the status it sets.
    std::set<std::string> open = options.open_methods;
    open.insert(kOpenMethods.begin(), kOpenMethods.end());
    creators.push_back(
        std::make_unique<auth::AuthInterceptorFactory>(options.authenticator, std::move(open)));
    if (options.rate_limiter != nullptr) {
      creators.push_back(std::make_unique<RateLimitInterceptorFactory>(options.authenticator,
                                                                       options.rate_limiter));
    }
  }
  creators.push_back(std::make_unique<ObservabilityInterceptorFactory>(server->rpc_metrics_.get()));
  builder.experimental().SetInterceptorCreators(std::move(creators));

  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("grpc: cannot listen on ", options.addr));
  }
  server->options_ = std::move(options);
  // Not SERVING until the dependencies have answered.
  server->health()->SetServingStatus(false);
  for (const std::string& name : server->service_names()) {
    server->health()->SetServingStatus(name, false);
  }
  // Liveness (Kubernetes livenessProbe `grpc: {service: liveness}`): SERVING while the server
  // answers, whatever its dependencies do, so a Redis or PostgreSQL outage makes pods unready
  // instead of restarting them. NOT_SERVING once the server shuts down.
  server->health()->SetServingStatus(std::string(kLivenessService), true);
  return server;
}

GrpcServer::~GrpcServer() { Shutdown(absl::ZeroDuration()); }

std::vector<std::string> GrpcServer::service_names() const {
  std::vector<std::string> names;
  for (const ServedService& served : options_.services) names.push_back(served.full_name);
  return names;
}

void GrpcServer::Shutdown(absl::Duration drain) {
  if (shut_down_ || server_ == nullptr) return;
  shut_down_ = true;
  server_->Shutdown(absl::ToChronoTime(absl::Now() + drain));
  server_->Wait();
}

}  // namespace kefu::server
