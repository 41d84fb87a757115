#include "libs/metrics/metrics.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "libs/common/status.h"

namespace kefu::metrics {

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
  return kBuckets;
}

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::string& addr, const std::shared_ptr<prometheus::Registry>& registry) {
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    exposer = std::make_unique<prometheus::Exposer>(addr);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("metrics: cannot listen on ", addr, ": ", e.what()));
  }
  exposer->RegisterCollectable(registry);
  auto ports = exposer->GetListeningPorts();
  int port = ports.empty() ? 0 : ports.front();
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(exposer), port));
}

RpcMetrics::RpcMetrics(prometheus::Registry& registry)
    : requests_(prometheus::BuildCounter()
                    .Name("kefu_rpc_requests_total")
                    .Help("Finished gRPC calls by method and status code")
                    .Register(registry)),
      duration_(prometheus::BuildHistogram()
                    .Name("kefu_rpc_duration_seconds")
                    .Help("gRPC call latency by method")
                    .Register(registry)),
      in_flight_(prometheus::BuildGauge()
                     .Name("kefu_rpc_in_flight")
                     .Help("gRPC calls being handled now")
                     .Register(registry)) {
  RegisterMethod("unknown");
  unknown_ = methods_.at("unknown").get();
}

void RpcMetrics::RegisterMethod(const std::string& full_method) {
  std::lock_guard<std::mutex> lock(mu_);
  if (methods_.contains(full_method)) return;
  auto method = std::make_unique<Method>();
  method->name = full_method;
  method->duration = &duration_.Add({{"method", full_method}}, LatencyBuckets());
  method->in_flight = &in_flight_.Add({{"method", full_method}});
  methods_.emplace(full_method, std::move(method));
}

RpcMetrics::Method* RpcMetrics::Find(absl::string_view full_method) {
  // Registration happens before the server starts; lookups afterwards only read.
  auto it = methods_.find(std::string(full_method));
  return it == methods_.end() ? unknown_ : it->second.get();
}

void RpcMetrics::Started(Method* method) { method->in_flight->Increment(); }

void RpcMetrics::Finished(Method* method, grpc::StatusCode code, double seconds) {
  method->duration->Observe(seconds);
  auto index = static_cast<size_t>(code);
  if (index >= method->by_code.size()) index = grpc::StatusCode::UNKNOWN;
  prometheus::Counter* counter = method->by_code[index].load(std::memory_order_acquire);
  if (counter == nullptr) {
    std::lock_guard<std::mutex> lock(mu_);
    counter = method->by_code[index].load(std::memory_order_relaxed);
    if (counter == nullptr) {
      counter = &requests_.Add(
          {{"method", method->name},
           {"code", std::string(GrpcCodeName(static_cast<grpc::StatusCode>(index)))}});
      method->by_code[index].store(counter, std::memory_order_release);
    }
  }
  counter->Increment();
  // Last, so that a scrape seeing in_flight back at 0 also sees the call counted.
  method->in_flight->Decrement();
}

ProcessMetrics::ProcessMetrics(prometheus::Registry& registry, absl::string_view service,
                               absl::string_view version)
    : dependency_up_(prometheus::BuildGauge()
                         .Name("kefu_dependency_up")
                         .Help("1 when the last ping of a dependency succeeded")
                         .Register(registry)) {
  prometheus::BuildGauge()
      .Name("kefu_build_info")
      .Help("Always 1; labels say which service and version run")
      .Register(registry)
      .Add({{"service", std::string(service)}, {"version", std::string(version)}})
      .Set(1);
}

void ProcessMetrics::SetDependencyUp(const std::string& dependency, bool up) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& gauge = deps_[dependency];
  if (gauge == nullptr) gauge = &dependency_up_.Add({{"dependency", dependency}});
  gauge->Set(up ? 1 : 0);
}

}  // namespace kefu::metrics
