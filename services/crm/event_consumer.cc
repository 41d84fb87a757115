#include "services/crm/event_consumer.h"

#include <unistd.h>

#include <array>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/common/log.h"

namespace kefu::crm {
namespace {

events::ConsumerOptions ConsumerOptionsOf(const EventConsumerOptions& options) {
  events::ConsumerOptions out;
  out.group = options.group;
  out.consumer = options.consumer.empty() ? DefaultConsumerName() : options.consumer;
  out.batch = options.batch;
  out.block = options.block;
  out.tenant_refresh = options.tenant_refresh;
  out.claim_idle = options.claim_idle;
  return out;
}

}  // namespace

std::string DefaultConsumerName() { return events::ConsumerName("crm"); }

EventConsumer::EventConsumer(redis::RedisUrl url, EventConsumerOptions options,
                             RecordStore* records, PublishFn publish,
                             prometheus::Registry& registry)
    : consumer_(std::move(url), ConsumerOptionsOf(options)),
      options_(std::move(options)),
      records_(records),
      publish_(std::move(publish)),
      events_(prometheus::BuildCounter()
                  .Name("kefu_crm_events_total")
                  .Help("Domain events the crm consumer handled, by result")
                  .Register(registry)),
      applied_(events_.Add({{"result", "applied"}})),
      duplicate_(events_.Add({{"result", "duplicate"}})),
      failed_(events_.Add({{"result", "retry"}})),
      dropped_(events_.Add({{"result", "dropped"}})),
      ignored_(events_.Add({{"result", "ignored"}})) {}

void EventConsumer::Run(const std::stop_token& stop) {
  absl::Time next_warning = absl::InfinitePast();
  while (!stop.stop_requested()) {
    absl::Status status = RunOnce();
    if (status.ok()) continue;
    if (absl::Now() >= next_warning) {  // one line a minute while Redis is away
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
  // Each tenant's part of the poll in one transaction (TransactIn sets the tenant for
  // row-level security), in stream order.
  std::vector<const events::Delivery*> all;
  all.reserve(deliveries->size());
  for (const events::Delivery& delivery : *deliveries) all.push_back(&delivery);
  for (const events::TenantBatch& batch : events::ByTenant(all)) {
    auto outcomes = records_->ApplyEvents(batch.tenant_id, batch.events);
    // Acknowledged only now that what they wrote is committed.
    std::vector<const events::Delivery*> done;
    done.reserve(batch.deliveries.size());
    for (size_t i = 0; i < batch.deliveries.size(); ++i) {
      if (Finish(*batch.deliveries[i], outcomes[i])) done.push_back(batch.deliveries[i]);
    }
    if (auto st = consumer_.Ack(done); !st.ok()) {
      // Delivered again later; applying them again is a no-op (processed_events).
      log::Warn("event ack failed", {{"tenant", batch.tenant_id}, {"error", st.ToString()}});
    }
  }
  return absl::OkStatus();
}

bool EventConsumer::Finish(const events::Delivery& delivery,
                           absl::StatusOr<EventOutcome>& outcome) {
  const auto& event = delivery.event;
  if (!outcome.ok()) {
    if (events::IsTransient(outcome.status())) {
      failed_.Increment();
      log::Warn("event not applied; it will be delivered again",
                {{"tenant", delivery.tenant_id},
                 {"event", event.event_id()},
                 {"type", events::PayloadName(event)},
                 {"error", outcome.status().ToString()}});
      return false;  // not acknowledged
    }
    dropped_.Increment();
    log::Error("event cannot be applied; acknowledging it",
               {{"tenant", delivery.tenant_id},
                {"event", event.event_id()},
                {"type", events::PayloadName(event)},
                {"error", outcome.status().ToString()}});
  } else if (outcome->ignored) {
    ignored_.Increment();
  } else if (outcome->duplicate) {
    duplicate_.Increment();
  } else {
    applied_.Increment();
    if (publish_) {
      for (auto& follow_up : outcome->follow_ups) publish_(std::move(follow_up));
    }
  }
  return true;
}

}  // namespace kefu::crm
