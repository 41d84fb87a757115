#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kefu/events/v1/events.pb.h"
#include "libs/redis/client.h"
#include "libs/redis/streams.h"

// Domain events (kefu.events.v1) on each tenant's Redis Stream.
//
// Stream entry layout, shared with the Lua scripts that add events in the same script
// as the state change they describe:
//   XADD kefu:{t:<tenant>}:events MAXLEN ~ <n> * type <payload name> event <Event bytes>
// `type` is the name of the set field of Event.payload ("contact_started"), for humans
// and for filtering; `event` is the serialized kefu.events.v1.Event.
//
// Consumers (crm, reporting) find the streams through the set `kefu:tenants`, the one
// key outside a tenant's hash slot, and read with consumer groups, at least once.
// They must write idempotently, keyed by Event.event_id.
namespace kefu::events {

inline constexpr absl::string_view kTenantsKey = "kefu:tenants";
inline constexpr int64_t kDefaultMaxLen = 1'000'000;

// Tenant ids go into key names: 1-64 of [a-z0-9_-].
absl::Status ValidateTenantId(absl::string_view tenant_id);
// Tenants registered in kefu:tenants (every tenant that has published an event).
absl::StatusOr<std::vector<std::string>> ListTenants(redis::Connection& conn);
// "kefu:{t:<tenant>}:" + suffix: the hash tag keeps one tenant's keys in one slot.
std::string TenantKey(absl::string_view tenant_id, absl::string_view suffix);
std::string StreamKey(absl::string_view tenant_id);
// "kefu:{t:<tenant>}:agent-events": a copy of the tenant's presence events (agent logged
// in or out, status and seat changes), written by presence in the same script. Followers
// that wake on agent changes only (the router, supervisors' Watch) read it instead of
// every event of the tenant. Capped near 100,000 entries.
std::string AgentStreamKey(absl::string_view tenant_id);
// 32 hex digits from a CSPRNG-seeded generator.
std::string NewEventId();
// Name of the set payload field ("contact_started"), or "" when none is set.
std::string PayloadName(const kefu::events::v1::Event& event);

// Adds tenants to `kefu:tenants` (so consumers and sweepers find their streams) once per
// process and tenant. Scripts that XADD events themselves call Ensure first.
class TenantRegistry final {
 public:
  absl::Status Ensure(redis::Connection& conn, const std::string& tenant_id);
  absl::Status Ensure(redis::Pool& pool, const std::string& tenant_id);

 private:
  std::mutex mu_;
  std::set<std::string, std::less<>> known_;  // guarded by mu_
};

class Publisher final {
 public:
  // `producer` names the publishing service ("router") in events that do not say.
  Publisher(redis::Pool* pool, std::string producer, int64_t max_len = kDefaultMaxLen)
      : pool_(pool), producer_(std::move(producer)), max_len_(max_len) {}

  // Fills event_id, occurred_time and producer when unset and appends the event to its tenant's
  // stream; returns the stream entry id. The event must name its tenant and payload.
  absl::StatusOr<std::string> Publish(kefu::events::v1::Event event);

 private:
  redis::Pool* pool_;
  const std::string producer_;
  const int64_t max_len_;
  TenantRegistry tenants_;
};

struct Delivery {
  std::string tenant_id;
  std::string stream;     // key
  std::string stream_id;  // entry id, for Ack
  kefu::events::v1::Event event;
};

// One tenant's part of a poll, in stream order: what a consumer applies in one transaction.
struct TenantBatch {
  std::string tenant_id;
  std::vector<const Delivery*> deliveries;
  std::vector<const kefu::events::v1::Event*> events;  // events[i] is &deliveries[i]->event
};

// Groups deliveries by tenant (tenants in id order), keeping each tenant's stream order.
std::vector<TenantBatch> ByTenant(const std::vector<const Delivery*>& deliveries);

struct ConsumerOptions {
  std::string group;     // one per consuming service: "crm", "reporting"
  std::string consumer;  // unique per replica: host name and pid
  int batch = 100;
  absl::Duration block = absl::Seconds(1);
  // Entries another consumer read but did not acknowledge for this long are taken over.
  absl::Duration claim_idle = absl::Seconds(30);
  absl::Duration tenant_refresh = absl::Seconds(2);
};

// Reads every tenant's stream with a consumer group. Delivery is at least once: after a
// restart this consumer first gets its own unacknowledged entries again, and entries of
// a consumer that died are claimed after claim_idle. Owns one connection of its own
// (XREADGROUP BLOCK would hold a pooled one hostage). Not thread-safe.
class Consumer final {
 public:
  Consumer(redis::RedisUrl url, ConsumerOptions options)
      : url_(std::move(url)), options_(std::move(options)) {}

  // Up to `batch` deliveries; waits up to `block` when nothing is there.
  absl::StatusOr<std::vector<Delivery>> Poll();
  absl::Status Ack(const Delivery& delivery);
  // Acknowledges all of them with one XACK per stream.
  absl::Status Ack(const std::vector<const Delivery*>& deliveries);

 private:
  absl::Status EnsureConnected();
  absl::Status RefreshTenants();
  absl::StatusOr<std::vector<Delivery>> ToDeliveries(std::vector<redis::StreamEntry> entries);

  const redis::RedisUrl url_;
  const ConsumerOptions options_;
  std::unique_ptr<redis::Connection> conn_;
  std::vector<std::string> streams_;
  absl::Time next_refresh_ = absl::InfinitePast();
  absl::Time next_claim_ = absl::InfinitePast();
  bool read_own_pending_ = true;
};

// For consumers (crm, reporting): failures after which the entry stays pending and is
// delivered again (UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED, RESOURCE_EXHAUSTED).
bool IsTransient(const absl::Status& status);
// "<host>-<service>-<pid>": a consumer name unique per replica.
std::string ConsumerName(absl::string_view service);
// Sleeps up to `d`, waking early when `stop` is requested.
void PauseFor(absl::Duration d, const std::stop_token& stop);

}  // namespace kefu::events
