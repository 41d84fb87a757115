#pragma once

#include <grpcpp/support/server_interceptor.h>

#include "libs/metrics/metrics.h"

namespace kefu::server {

// Server interceptor: RED metrics for every call (RpcMetrics) and a log line for each
// call that fails with a server-side code. Never sees message bodies.
class ObservabilityInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit ObservabilityInterceptorFactory(metrics::RpcMetrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  metrics::RpcMetrics* metrics_;
};

}  // namespace kefu::server
