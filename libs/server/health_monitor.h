#pragma once

#include <grpcpp/health_check_service_interface.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "libs/metrics/metrics.h"

namespace kefu::server {

struct DependencyCheck {
  std::string name;  // "postgres", "redis": the kefu_dependency_up label
  std::function<absl::Status()> ping;
};

// Pings the service's dependencies every `interval` and drives the gRPC health status
// from the result: SERVING only while every ping succeeds, so load balancers and
// `kefuctl health` see a lost Redis or PostgreSQL within one interval (+ ping timeout).
class HealthMonitor final {
 public:
  HealthMonitor(grpc::HealthCheckServiceInterface* health, std::vector<std::string> services,
                std::vector<DependencyCheck> checks, absl::Duration interval,
                metrics::ProcessMetrics* metrics);
  ~HealthMonitor();

  // Runs the checks once, sets the status, returns whether everything is up.
  bool CheckOnce();
  void Start();
  // Stops pinging and reports NOT_SERVING (the start of a graceful drain).
  void Stop();

 private:
  void SetServing(bool serving);

  grpc::HealthCheckServiceInterface* health_;
  const std::vector<std::string> services_;
  const std::vector<DependencyCheck> checks_;
  const absl::Duration interval_;
  metrics::ProcessMetrics* metrics_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  bool last_serving_ = false;
  std::vector<std::string> last_errors_;
  std::thread thread_;
};

}  // namespace kefu::server
