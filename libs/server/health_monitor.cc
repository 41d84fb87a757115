#include "libs/server/health_monitor.h"

#include "libs/common/log.h"

namespace kefu::server {

HealthMonitor::HealthMonitor(grpc::HealthCheckServiceInterface* health,
                             std::vector<std::string> services, std::vector<DependencyCheck> checks,
                             absl::Duration interval, metrics::ProcessMetrics* metrics)
    : health_(health),
      services_(std::move(services)),
      checks_(std::move(checks)),
      interval_(interval),
      metrics_(metrics),
      last_errors_(checks_.size()) {}

HealthMonitor::~HealthMonitor() { Stop(); }

void HealthMonitor::SetServing(bool serving) {
  health_->SetServingStatus("", serving);
  for (const std::string& service : services_) health_->SetServingStatus(service, serving);
}

bool HealthMonitor::CheckOnce() {
  bool all_up = true;
  for (size_t i = 0; i < checks_.size(); ++i) {
    const absl::Status status = checks_[i].ping();
    if (metrics_ != nullptr) metrics_->SetDependencyUp(checks_[i].name, status.ok());
    const std::string error = status.ok() ? "" : std::string(status.message());
    if (error != last_errors_[i]) {  // log transitions, not every failed ping
      if (status.ok()) {
        log::Info("dependency is back", {{"dependency", checks_[i].name}});
      } else {
        log::Warn("dependency unreachable", {{"dependency", checks_[i].name}, {"error", error}});
      }
      last_errors_[i] = error;
    }
    all_up = all_up && status.ok();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return false;  // a drain already reported NOT_SERVING
    SetServing(all_up);
  }
  if (all_up != last_serving_) {
    log::Info(all_up ? "health SERVING" : "health NOT_SERVING");
    last_serving_ = all_up;
  }
  return all_up;
}

void HealthMonitor::Start() {
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      lock.unlock();
      CheckOnce();
      lock.lock();
      cv_.wait_for(lock, absl::ToChronoNanoseconds(interval_), [this] { return stopping_; });
    }
  });
}

void HealthMonitor::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      SetServing(false);
    }
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace kefu::server
