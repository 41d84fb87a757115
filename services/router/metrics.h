#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <mutex>
#include <string>

#include "absl/strings/string_view.h"

// The router's domain metrics (F68; names per docs/DEVELOPMENT.md). Labels are bounded:
// tenant and queue ids (configuration), script ops and offer outcomes (fixed sets); never
// contact or customer ids.
//   kefu_router_queue_depth{tenant,queue}                contacts waiting now
//   kefu_router_queue_oldest_wait_seconds{tenant,queue}  wait of the first in line
//   kefu_router_decision_duration_seconds{op}            one routing script call
//   kefu_router_offers_total{outcome}                    created, accepted, rejected,
//                                                        expired, withdrawn
namespace kefu::router {

class RouterMetrics final {
 public:
  explicit RouterMetrics(prometheus::Registry& registry);

  void ObserveDecision(absl::string_view op, double seconds);
  // `outcome` is the event type without "offer_" ("created", "accepted", ...).
  void CountOffers(absl::string_view outcome, int64_t offers);
  void SetQueue(const std::string& tenant, const std::string& queue, int depth,
                double oldest_wait_seconds);
  // A queue that was deleted stops being reported.
  void DropQueue(const std::string& tenant, const std::string& queue);

 private:
  prometheus::Family<prometheus::Gauge>& depth_;
  prometheus::Family<prometheus::Gauge>& oldest_;
  prometheus::Family<prometheus::Histogram>& decision_;
  prometheus::Family<prometheus::Counter>& offers_;
  std::map<std::string, prometheus::Histogram*, std::less<>> decisions_;  // fixed at start
  std::map<std::string, prometheus::Counter*, std::less<>> outcomes_;     // fixed at start
  std::mutex mu_;                                                         // guards queues_
  std::map<std::pair<std::string, std::string>, std::pair<prometheus::Gauge*, prometheus::Gauge*>>
      queues_;
};

}  // namespace kefu::router
