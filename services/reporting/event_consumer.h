#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <map>
#include <mutex>
#include <stop_token>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "libs/events/events.h"
#include "libs/redis/client.h"
#include "services/reporting/report_store.h"

namespace kefu::reporting {

struct EventConsumerOptions {
  // Consumer group on every tenant stream: "reporting"; replicas share it.
  std::string group = "reporting";
  // Unique per replica; empty = "<host>-<pid>".
  std::string consumer;
  absl::Duration block = absl::Seconds(1);
  absl::Duration tenant_refresh = absl::Seconds(2);
  absl::Duration claim_idle = absl::Seconds(30);
  absl::Duration retry_pause = absl::Seconds(1);
};

// Metrics of the consumer (docs/MONITORING.md):
//   kefu_reporting_events_total{type,result}   result: applied | duplicate | ignored |
//                                               retry | dropped
//   kefu_reporting_consumer_lag_seconds         age of the newest event just applied;
//                                               0 after a poll that found nothing
class ConsumerMetrics final {
 public:
  explicit ConsumerMetrics(prometheus::Registry& registry);
  void Count(const std::string& type, const char* result);
  void SetLag(double seconds) { lag_.Set(seconds); }

 private:
  prometheus::Family<prometheus::Counter>& events_;
  prometheus::Gauge& lag_;
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, prometheus::Counter*> counters_;
};

// Reads every tenant's stream with the consumer group and applies what one read brought of
// each tenant through ReportStore::ApplyEvents (one transaction, idempotent by event id),
// then acknowledges each event. A transient failure leaves the entry pending so it comes
// back; an event that can never apply is logged and acknowledged.
class EventConsumer final {
 public:
  EventConsumer(redis::RedisUrl url, EventConsumerOptions options, ReportStore* store,
                ConsumerMetrics* metrics);
  void Run(const std::stop_token& stop);
  absl::Status RunOnce();

 private:
  // Counts the outcome and acknowledges the delivery, unless it failed transiently.
  void Finish(const events::Delivery& delivery, const absl::StatusOr<ApplyOutcome>& outcome);

  events::Consumer consumer_;
  const EventConsumerOptions options_;
  ReportStore* store_;
  ConsumerMetrics* metrics_;
};

}  // namespace kefu::reporting
