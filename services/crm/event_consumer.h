#pragma once

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <functional>
#include <stop_token>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "kefu/events/v1/events.pb.h"
#include "libs/events/events.h"
#include "libs/redis/client.h"
#include "services/crm/record_store.h"

namespace kefu::crm {

// Publishes an event crm emits (tier changed, rated, offline message ...); failures are
// logged by the callee. Empty = events are dropped (no Redis).
using PublishFn = std::function<void(kefu::events::v1::Event)>;

struct EventConsumerOptions {
  // Consumer group on every tenant stream: one per service ("crm"); replicas share it.
  std::string group = "crm";
  // Unique per replica; empty = "<host>-<pid>".
  std::string consumer;
  // Entries one poll takes of each stream (XREADGROUP COUNT): a tenant's transaction
  // holds at most this many events.
  int batch = 100;
  absl::Duration block = absl::Seconds(1);
  absl::Duration tenant_refresh = absl::Seconds(2);
  absl::Duration claim_idle = absl::Seconds(30);
  // Pause after a failed poll (Redis down) before trying again.
  absl::Duration retry_pause = absl::Seconds(1);
};

// The crm worker that applies the domain events other services report (docs/API.md
// "Events"): reads every tenant stream with the consumer group, applies what one poll
// brought of each tenant in one transaction, each event keyed by its event id
// (RecordStore::ApplyEvents), publishes the events that causes, then acknowledges them.
// When that transaction fails the events are applied one by one: a transient failure
// (database down) leaves the entry unacknowledged so it comes back; an event that can
// never apply is logged and acknowledged so it does not block the stream.
class EventConsumer final {
 public:
  EventConsumer(redis::RedisUrl url, EventConsumerOptions options, RecordStore* records,
                PublishFn publish, prometheus::Registry& registry);

  // Polls until `stop` is requested (each poll blocks at most options.block).
  void Run(const std::stop_token& stop);
  // One poll and what it delivered.
  absl::Status RunOnce();

 private:
  // Counts the outcome (and publishes its follow-ups); true when the delivery is to be
  // acknowledged, false when it failed transiently and must come back.
  bool Finish(const events::Delivery& delivery, absl::StatusOr<EventOutcome>& outcome);

  events::Consumer consumer_;
  const EventConsumerOptions options_;
  RecordStore* records_;
  PublishFn publish_;
  prometheus::Family<prometheus::Counter>& events_;
  prometheus::Counter& applied_;
  prometheus::Counter& duplicate_;
  prometheus::Counter& failed_;
  prometheus::Counter& dropped_;
  prometheus::Counter& ignored_;
};

// "<host>-<pid>": a consumer name unique per replica.
std::string DefaultConsumerName();

}  // namespace kefu::crm
