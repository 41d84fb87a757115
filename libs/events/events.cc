#include "libs/events/events.h"

#include <google/protobuf/util/time_util.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <map>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "libs/common/log.h"
#include "libs/redis/streams.h"

namespace kefu::events {

absl::Status ValidateTenantId(absl::string_view tenant_id) {
  if (tenant_id.empty() || tenant_id.size() > 64) {
    return absl::InvalidArgumentError("tenant_id: must be 1 to 64 characters");
  }
  for (char c : tenant_id) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-' || c == '_')) {
      return absl::InvalidArgumentError(
          absl::StrCat("tenant_id: \"", tenant_id, "\" may hold only a-z, 0-9, - and _"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ListTenants(redis::Connection& conn) {
  auto reply = conn.Command({"SMEMBERS", kTenantsKey});
  if (!reply.ok()) return reply.status();
  std::vector<std::string> tenants;
  for (size_t i = 0; i < (*reply)->elements; ++i) {
    tenants.emplace_back(redis::ReplyString(*(*reply)->element[i]));
  }
  return tenants;
}

std::string TenantKey(absl::string_view tenant_id, absl::string_view suffix) {
  return absl::StrCat("kefu:{t:", tenant_id, "}:", suffix);
}

std::string StreamKey(absl::string_view tenant_id) { return TenantKey(tenant_id, "events"); }

std::string AgentStreamKey(absl::string_view tenant_id) {
  return TenantKey(tenant_id, "agent-events");
}

std::string NewEventId() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return absl::StrFormat("%016x%016x", rng(), rng());
}

std::string PayloadName(const kefu::events::v1::Event& event) {
  const auto* oneof = event.GetDescriptor()->FindOneofByName("payload");
  if (oneof == nullptr) return "";
  const auto* field = event.GetReflection()->GetOneofFieldDescriptor(event, oneof);
  return field == nullptr ? "" : field->name();
}

absl::Status TenantRegistry::Ensure(redis::Connection& conn, const std::string& tenant_id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (known_.contains(tenant_id)) return absl::OkStatus();
  }
  // Idempotent, so two threads racing here only repeat it.
  auto added = conn.Command({"SADD", kTenantsKey, tenant_id});
  if (!added.ok()) return added.status();
  std::lock_guard<std::mutex> lock(mu_);
  known_.insert(tenant_id);
  return absl::OkStatus();
}

absl::Status TenantRegistry::Ensure(redis::Pool& pool, const std::string& tenant_id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (known_.contains(tenant_id)) return absl::OkStatus();
  }
  auto lease = pool.Acquire();
  if (!lease.ok()) return lease.status();
  return Ensure(**lease, tenant_id);
}

absl::StatusOr<std::string> Publisher::Publish(kefu::events::v1::Event event) {
  if (auto st = ValidateTenantId(event.tenant_id()); !st.ok()) return st;
  const std::string type = PayloadName(event);
  if (type.empty()) return absl::InvalidArgumentError("event: no payload set");
  if (event.event_id().empty()) event.set_event_id(NewEventId());
  if (!event.has_occurred_time()) {
    *event.mutable_occurred_time() = google::protobuf::util::TimeUtil::GetCurrentTime();
  }
  if (event.producer().empty()) event.set_producer(producer_);
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  if (auto st = tenants_.Ensure(**lease, event.tenant_id()); !st.ok()) return st;
  const std::string bytes = event.SerializeAsString();
  return redis::XAdd(**lease, StreamKey(event.tenant_id()), {{"type", type}, {"event", bytes}},
                     max_len_);
}

absl::Status Consumer::EnsureConnected() {
  if (conn_ != nullptr && !conn_->broken()) return absl::OkStatus();
  conn_.reset();
  auto conn = redis::Connection::Open(url_, absl::Seconds(2));
  if (!conn.ok()) return conn.status();
  // Reads block on the server for up to `block`; the socket must wait longer.
  if (auto st = (*conn)->SetTimeout(options_.block + absl::Seconds(2)); !st.ok()) return st;
  conn_ = std::move(*conn);
  // A new connection may mean a restarted Redis: look at the tenant set again, and
  // take back what this consumer read but had not acknowledged when the old one broke.
  next_refresh_ = absl::InfinitePast();
  read_own_pending_ = true;
  return absl::OkStatus();
}

absl::Status Consumer::RefreshTenants() {
  auto tenants = ListTenants(*conn_);
  if (!tenants.ok()) return tenants.status();
  std::vector<std::string> streams;
  for (const std::string& tenant : *tenants) {
    if (!ValidateTenantId(tenant).ok()) continue;
    std::string key = StreamKey(tenant);
    // From the start of the stream: events published before the group existed count.
    if (auto st = redis::XGroupCreate(*conn_, key, options_.group, "0"); !st.ok()) return st;
    streams.push_back(std::move(key));
  }
  streams_ = std::move(streams);
  next_refresh_ = absl::Now() + options_.tenant_refresh;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Delivery>> Consumer::ToDeliveries(
    std::vector<redis::StreamEntry> entries) {
  std::vector<Delivery> out;
  out.reserve(entries.size());
  for (redis::StreamEntry& entry : entries) {
    Delivery delivery;
    delivery.stream = entry.stream;
    delivery.stream_id = entry.id;
    absl::string_view bytes = entry.Field("event");
    if (!delivery.event.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) ||
        delivery.event.tenant_id().empty()) {
      // A poison entry would be redelivered forever: log it and acknowledge it.
      log::Error("dropping unparseable event",
                 {{"stream", entry.stream}, {"id", entry.id}, {"group", options_.group}});
      if (auto st = redis::XAck(*conn_, entry.stream, options_.group, entry.id); !st.ok()) {
        return st;
      }
      continue;
    }
    delivery.tenant_id = delivery.event.tenant_id();
    out.push_back(std::move(delivery));
  }
  return out;
}

absl::StatusOr<std::vector<Delivery>> Consumer::Poll() {
  if (auto st = EnsureConnected(); !st.ok()) return st;
  if (absl::Now() >= next_refresh_) {
    if (auto st = RefreshTenants(); !st.ok()) return st;
  }
  if (streams_.empty()) {
    absl::SleepFor(std::min(options_.block, options_.tenant_refresh));
    return std::vector<Delivery>{};
  }
  if (read_own_pending_) {
    auto pending = redis::XReadGroup(*conn_, options_.group, options_.consumer, streams_, "0",
                                     options_.batch, absl::ZeroDuration());
    if (!pending.ok()) return pending.status();
    if (!pending->empty()) return ToDeliveries(std::move(*pending));
    read_own_pending_ = false;
  }
  if (absl::Now() >= next_claim_) {
    next_claim_ = absl::Now() + options_.claim_idle / 2;
    std::vector<redis::StreamEntry> claimed;
    for (const std::string& stream : streams_) {
      auto entries = redis::XAutoClaim(*conn_, stream, options_.group, options_.consumer,
                                       options_.claim_idle, options_.batch);
      if (!entries.ok()) return entries.status();
      for (auto& entry : *entries) claimed.push_back(std::move(entry));
    }
    if (!claimed.empty()) return ToDeliveries(std::move(claimed));
  }
  auto fresh = redis::XReadGroup(*conn_, options_.group, options_.consumer, streams_, ">",
                                 options_.batch, options_.block);
  if (!fresh.ok()) {
    // The stream or group was deleted under us: create them again on the next poll.
    if (absl::StrContains(fresh.status().message(), "NOGROUP"))
      next_refresh_ = absl::InfinitePast();
    return fresh.status();
  }
  return ToDeliveries(std::move(*fresh));
}

absl::Status Consumer::Ack(const Delivery& delivery) {
  if (auto st = EnsureConnected(); !st.ok()) return st;
  return redis::XAck(*conn_, delivery.stream, options_.group, delivery.stream_id);
}

std::vector<TenantBatch> ByTenant(const std::vector<const Delivery*>& deliveries) {
  std::map<std::string, TenantBatch> by_tenant;
  for (const Delivery* delivery : deliveries) {
    TenantBatch& batch = by_tenant[delivery->tenant_id];
    batch.tenant_id = delivery->tenant_id;
    batch.deliveries.push_back(delivery);
    batch.events.push_back(&delivery->event);
  }
  std::vector<TenantBatch> out;
  out.reserve(by_tenant.size());
  for (auto& [tenant, batch] : by_tenant) out.push_back(std::move(batch));
  return out;
}

absl::Status Consumer::Ack(const std::vector<const Delivery*>& deliveries) {
  if (deliveries.empty()) return absl::OkStatus();
  if (auto st = EnsureConnected(); !st.ok()) return st;
  std::map<absl::string_view, std::vector<absl::string_view>> by_stream;
  for (const Delivery* d : deliveries) {
    auto& args = by_stream[d->stream];
    if (args.empty()) args = {"XACK", d->stream, options_.group};
    args.push_back(d->stream_id);
  }
  for (const auto& [stream, args] : by_stream) {
    if (auto reply = conn_->Command(args); !reply.ok()) return reply.status();
  }
  return absl::OkStatus();
}

std::string ConsumerName(absl::string_view service) {
  std::array<char, 256> host{};
  if (gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  return absl::StrCat(host[0] == '\0' ? "kefu" : host.data(), "-", service, "-", getpid());
}

bool IsTransient(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status) ||
         absl::IsAborted(status) || absl::IsResourceExhausted(status);
}

void PauseFor(absl::Duration d, const std::stop_token& stop) {
  const absl::Time until = absl::Now() + d;
  while (!stop.stop_requested() && absl::Now() < until) {
    absl::SleepFor(std::min(absl::Milliseconds(50), until - absl::Now()));
  }
}

}  // namespace kefu::events
