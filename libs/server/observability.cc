#include "libs/server/observability.h"

#include <chrono>

#include "absl/strings/str_format.h"
#include "libs/common/log.h"
#include "libs/common/status.h"

namespace kefu::server {
namespace {

class ObservabilityInterceptor final : public grpc::experimental::Interceptor {
 public:
  ObservabilityInterceptor(metrics::RpcMetrics* metrics, grpc::experimental::ServerRpcInfo* info)
      : metrics_(metrics),
        method_(metrics->Find(info->method())),
        start_(std::chrono::steady_clock::now()) {
    metrics_->Started(method_);
  }

  // grpc::experimental::Interceptor
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      status_ = methods->GetSendStatus();
      finished_ = true;
    }
    methods->Proceed();
  }

  ~ObservabilityInterceptor() override {
    // Destroyed when the call is over, whether or not a status was sent (a cancelled
    // call sends none): count it either way so in_flight returns to zero.
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const grpc::StatusCode code = finished_ ? status_.error_code() : grpc::StatusCode::CANCELLED;
    metrics_->Finished(method_, code, seconds);
    if (code == grpc::StatusCode::INTERNAL || code == grpc::StatusCode::UNKNOWN ||
        code == grpc::StatusCode::DATA_LOSS) {
      log::Error("rpc failed", {{"method", method_->name},
                                {"code", GrpcCodeName(code)},
                                {"error", status_.error_message()},
                                {"ms", absl::StrFormat("%.3f", seconds * 1000)}});
    } else if (code == grpc::StatusCode::UNAVAILABLE ||
               code == grpc::StatusCode::DEADLINE_EXCEEDED) {
      log::Warn("rpc failed", {{"method", method_->name},
                               {"code", GrpcCodeName(code)},
                               {"error", status_.error_message()},
                               {"ms", absl::StrFormat("%.3f", seconds * 1000)}});
    }
  }

 private:
  metrics::RpcMetrics* metrics_;
  metrics::RpcMetrics::Method* method_;
  std::chrono::steady_clock::time_point start_;
  grpc::Status status_;
  bool finished_ = false;
};

}  // namespace

grpc::experimental::Interceptor* ObservabilityInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new ObservabilityInterceptor(metrics_, info);
}

}  // namespace kefu::server
