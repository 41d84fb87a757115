#include "services/router/metrics.h"

#include "libs/metrics/metrics.h"

namespace kefu::router {

RouterMetrics::RouterMetrics(prometheus::Registry& registry)
    : depth_(prometheus::BuildGauge()
                 .Name("kefu_router_queue_depth")
                 .Help("Contacts waiting in a queue")
                 .Register(registry)),
      oldest_(prometheus::BuildGauge()
                  .Name("kefu_router_queue_oldest_wait_seconds")
                  .Help("How long the first contact in line has waited")
                  .Register(registry)),
      decision_(prometheus::BuildHistogram()
                    .Name("kefu_router_decision_duration_seconds")
                    .Help("One routing decision (an atomic script call on Redis), by operation")
                    .Register(registry)),
      offers_(prometheus::BuildCounter()
                  .Name("kefu_router_offers_total")
                  .Help("Offers by outcome: created, accepted, rejected, expired, withdrawn")
                  .Register(registry)) {
  for (const char* op : {"enqueue", "accept", "reject", "release", "cancel", "pickup", "transfer",
                         "sweep", "agent", "queue", "bind", "suggest", "offer_counts", "other"}) {
    decisions_[op] = &decision_.Add({{"op", op}}, metrics::LatencyBuckets());
  }
  for (const char* outcome : {"created", "accepted", "rejected", "expired", "withdrawn"}) {
    outcomes_[outcome] = &offers_.Add({{"outcome", outcome}});
  }
}

void RouterMetrics::ObserveDecision(absl::string_view op, double seconds) {
  auto it = decisions_.find(op);
  if (it == decisions_.end()) it = decisions_.find("other");
  it->second->Observe(seconds);
}

void RouterMetrics::CountOffers(absl::string_view outcome, int64_t offers) {
  if (offers <= 0) return;
  if (auto it = outcomes_.find(outcome); it != outcomes_.end()) {
    it->second->Increment(static_cast<double>(offers));
  }
}

void RouterMetrics::SetQueue(const std::string& tenant, const std::string& queue, int depth,
                             double oldest_wait_seconds) {
  std::lock_guard lock(mu_);
  auto& gauges = queues_[{tenant, queue}];
  if (gauges.first == nullptr) {
    gauges.first = &depth_.Add({{"tenant", tenant}, {"queue", queue}});
    gauges.second = &oldest_.Add({{"tenant", tenant}, {"queue", queue}});
  }
  gauges.first->Set(depth);
  gauges.second->Set(oldest_wait_seconds);
}

void RouterMetrics::DropQueue(const std::string& tenant, const std::string& queue) {
  std::lock_guard lock(mu_);
  auto it = queues_.find({tenant, queue});
  if (it == queues_.end()) return;
  depth_.Remove(it->second.first);
  oldest_.Remove(it->second.second);
  queues_.erase(it);
}

}  // namespace kefu::router
