#include "services/reporting/event_consumer.h"

#include <google/protobuf/util/time_util.h>
#include <unistd.h>

#include <array>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/common/log.h"

namespace kefu::reporting {
namespace {

std::string DefaultConsumerName() { return events::ConsumerName("reporting"); }

events::ConsumerOptions ConsumerOptionsOf(const EventConsumerOptions& options) {
  events::ConsumerOptions out;
  out.group = options.group;
  out.consumer = options.consumer.empty() ? DefaultConsumerName() : options.consumer;
  out.block = options.block;
  out.tenant_refresh = options.tenant_refresh;
  out.claim_idle = options.claim_idle;
  return out;
}

}  // namespace

ConsumerMetrics::ConsumerMetrics(prometheus::Registry& registry)
    : events_(prometheus::BuildCounter()
                  .Name("kefu_reporting_events_total")
                  .Help("Domain events the reporting consumer handled, by payload type and result")
                  .Register(registry)),
      lag_(prometheus::BuildGauge()
               .Name("kefu_reporting_consumer_lag_seconds")
               .Help("Age of the newest event the reporting consumer applied (0 when idle)")
               .Register(registry)
               .Add({})) {}

void ConsumerMetrics::Count(const std::string& type, const char* result) {
  // Payload names are a closed set (events.proto), so the label stays bounded.
  std::lock_guard lock(mu_);
  auto& counter = counters_[{type, result}];
  if (counter == nullptr) {
    counter = &events_.Add({{"type", type.empty() ? "unknown" : type}, {"result", result}});
  }
  counter->Increment();
}

EventConsumer::EventConsumer(redis::RedisUrl url, EventConsumerOptions options, ReportStore* store,
                             ConsumerMetrics* metrics)
    : consumer_(std::move(url), ConsumerOptionsOf(options)),
      options_(std::move(options)),
      store_(store),
      metrics_(metrics) {}

void EventConsumer::Run(const std::stop_token& stop) {
  absl::Time next_warning = absl::InfinitePast();
  while (!stop.stop_requested()) {
    absl::Status status = RunOnce();
    if (status.ok()) continue;
    if (absl::Now() >= next_warning) {
      log::Warn("event consumer poll failed; retrying",
                {{"group", options_.group}, {"error", status.ToString()}});
      next_warning = absl::Now() + absl::Minutes(1);
    }
    events::PauseFor(options_.retry_pause, stop);
  }
}

absl::Status EventConsumer::RunOnce() {
  auto deliveries = consumer_.Poll();
  if (!deliveries.ok()) return deliveries.status();
  if (deliveries->empty()) metrics_->SetLag(0);
  // Each tenant's part of the read is applied in one transaction, in stream order, and
  // acknowledged only after it committed.
  std::vector<const events::Delivery*> own;
  own.reserve(deliveries->size());
  for (const events::Delivery& delivery : *deliveries) {
    const auto& event = delivery.event;
    if (!event.tenant_id().empty() && event.tenant_id() != delivery.tenant_id) {
      metrics_->Count(events::PayloadName(event), "dropped");
      log::Error("event names another tenant than its stream; acknowledging it",
                 {{"tenant", delivery.tenant_id}, {"event", event.event_id()}});
      (void)consumer_.Ack(delivery);
      continue;
    }
    own.push_back(&delivery);
  }
  for (const events::TenantBatch& batch : events::ByTenant(own)) {
    const auto outcomes = store_->ApplyEvents(batch.tenant_id, batch.events);
    for (size_t i = 0; i < batch.deliveries.size(); ++i) Finish(*batch.deliveries[i], outcomes[i]);
  }
  return absl::OkStatus();
}

void EventConsumer::Finish(const events::Delivery& delivery,
                           const absl::StatusOr<ApplyOutcome>& outcome) {
  const auto& event = delivery.event;
  const std::string type = events::PayloadName(event);
  if (!outcome.ok()) {
    if (events::IsTransient(outcome.status())) {
      metrics_->Count(type, "retry");
      log::Warn("event not applied; it will be delivered again",
                {{"tenant", delivery.tenant_id},
                 {"event", event.event_id()},
                 {"type", type},
                 {"error", outcome.status().ToString()}});
      return;  // not acknowledged
    }
    metrics_->Count(type, "dropped");
    log::Error("event cannot be applied; acknowledging it",
               {{"tenant", delivery.tenant_id},
                {"event", event.event_id()},
                {"type", type},
                {"error", outcome.status().ToString()}});
  } else {
    switch (*outcome) {
      case ApplyOutcome::kApplied:
        metrics_->Count(type, "applied");
        break;
      case ApplyOutcome::kDuplicate:
        metrics_->Count(type, "duplicate");
        break;
      case ApplyOutcome::kIgnored:
        metrics_->Count(type, "ignored");
        break;
    }
    if (event.has_occurred_time()) {
      const absl::Time occurred = absl::FromUnixMicros(
          google::protobuf::util::TimeUtil::TimestampToMicroseconds(event.occurred_time()));
      metrics_->SetLag(std::max(0.0, absl::ToDoubleSeconds(absl::Now() - occurred)));
    }
  }
  if (auto st = consumer_.Ack(delivery); !st.ok()) {
    log::Warn("event ack failed", {{"tenant", delivery.tenant_id}, {"error", st.ToString()}});
  }
}

}  // namespace kefu::reporting
