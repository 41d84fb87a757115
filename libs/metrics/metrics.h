#pragma once

#include <grpcpp/support/status.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kefu::metrics {

// Latency buckets in seconds, from 100 µs up (STYLE.md section 8).
const prometheus::Histogram::BucketBoundaries& LatencyBuckets();

// Serves a registry at http://<addr>/metrics.
class MetricsServer final {
 public:
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(
      const std::string& addr, const std::shared_ptr<prometheus::Registry>& registry);
  // The bound port (useful when addr asked for port 0).
  int port() const { return port_; }

 private:
  MetricsServer(std::unique_ptr<prometheus::Exposer> exposer, int port)
      : exposer_(std::move(exposer)), port_(port) {}
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_;
};

// RED metrics per RPC method:
//   kefu_rpc_requests_total{method,code}     finished RPCs by status code
//   kefu_rpc_duration_seconds{method}         latency histogram
//   kefu_rpc_in_flight{method}                RPCs running now
// Methods are registered up front (from the served services' descriptors) so the
// label set is bounded; calls to anything else count under method="unknown".
class RpcMetrics final {
 public:
  explicit RpcMetrics(prometheus::Registry& registry);

  void RegisterMethod(const std::string& full_method);  // "/kefu.router.v1.RoutingService/Enqueue"

  struct Method;
  Method* Find(absl::string_view full_method);
  void Started(Method* method);
  void Finished(Method* method, grpc::StatusCode code, double seconds);

 private:
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Family<prometheus::Gauge>& in_flight_;
  std::mutex mu_;  // guards creation of methods_ entries and counters
  std::unordered_map<std::string, std::unique_ptr<Method>> methods_;
  Method* unknown_ = nullptr;
};

struct RpcMetrics::Method {
  std::string name;
  prometheus::Histogram* duration = nullptr;
  prometheus::Gauge* in_flight = nullptr;
  std::array<std::atomic<prometheus::Counter*>, 17> by_code{};  // one per grpc::StatusCode
};

// kefu_dependency_up{dependency} 1/0 and kefu_build_info{service,version} 1.
class ProcessMetrics final {
 public:
  ProcessMetrics(prometheus::Registry& registry, absl::string_view service,
                 absl::string_view version);
  void SetDependencyUp(const std::string& dependency, bool up);

 private:
  prometheus::Family<prometheus::Gauge>& dependency_up_;
  std::mutex mu_;
  std::unordered_map<std::string, prometheus::Gauge*> deps_;
};

}  // namespace kefu::metrics
