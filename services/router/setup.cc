// The router's Setup: stores, services, and the two background loops that make routing
// event-driven without polling queues:
//  - wake: reads every tenant's event stream (XREAD BLOCK) and, when presence reports an
//    agent's status change or login, offers that agent what waits for it;
//  - sweep: claims expired offers and ended reject/no-answer delays (F19) every 100 ms.
#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "libs/common/log.h"
#include "libs/common/status_macros.h"
#include "libs/events/events.h"
#include "libs/redis/streams.h"
#include "services/router/router_service.h"

namespace kefu::router {
namespace {

void SweepLoop(const std::stop_token& stop, redis::Pool* pool, RedisRouter* router) {
  while (!stop.stop_requested()) {
    absl::SleepFor(absl::Milliseconds(100));
    std::vector<std::string> tenants;
    {
      auto lease = pool->Acquire();
      if (!lease.ok()) continue;
      auto listed = events::ListTenants(**lease);
      if (!listed.ok()) continue;
      tenants = std::move(*listed);
    }
    for (const std::string& tenant : tenants) {
      auto swept = router->Sweep(tenant, 200);
      if (!swept.ok())
        log::Warn("sweep failed", {{"tenant", tenant}, {"error", swept.status().message()}});
    }
  }
}

// Follows every tenant's stream from its end; presence's agent events wake the router.
void WakeLoop(const std::stop_token& stop, const redis::RedisUrl& url, RedisRouter* router) {
  std::unique_ptr<redis::Connection> conn;
  std::map<std::string, std::string> last_ids;  // stream -> last id seen
  absl::Time refresh = absl::InfinitePast();
  while (!stop.stop_requested()) {
    if (conn == nullptr || conn->broken()) {
      auto opened = redis::Connection::Open(url, absl::Seconds(3));
      if (!opened.ok()) {
        absl::SleepFor(absl::Milliseconds(500));
        continue;
      }
      conn = std::move(*opened);
      refresh = absl::InfinitePast();
    }
    if (absl::Now() >= refresh) {
      auto tenants = events::ListTenants(*conn);
      if (!tenants.ok()) continue;
      for (const std::string& tenant : *tenants) {
        const std::string key = events::StreamKey(tenant);
        if (last_ids.contains(key)) continue;
        auto tail = conn->Command({"XREVRANGE", key, "+", "-", "COUNT", "1"});
        if (!tail.ok()) break;
        last_ids[key] = (*tail)->elements > 0
                            ? std::string(redis::ReplyString(*(*tail)->element[0]->element[0]))
                            : "0-0";
        // Changes before we followed this stream woke nobody: catch up once.
        if (auto st = router->MatchAll(tenant); !st.ok()) {
          log::Warn("catch-up match failed", {{"tenant", tenant}, {"error", st.message()}});
        }
      }
      refresh = absl::Now() + absl::Seconds(1);
    }
    if (last_ids.empty()) {
      absl::SleepFor(absl::Milliseconds(200));
      continue;
    }
    std::vector<std::string> argv = {"XREAD", "COUNT", "500", "BLOCK", "500", "STREAMS"};
    for (const auto& [key, id] : last_ids) argv.push_back(key);
    for (const auto& [key, id] : last_ids) argv.push_back(id);
    auto reply = conn->Command(std::vector<absl::string_view>(argv.begin(), argv.end()));
    if (!reply.ok() || redis::ReplyIsNil(**reply)) continue;
    for (size_t s = 0; s < (*reply)->elements; ++s) {
      const redisReply* stream = (*reply)->element[s];
      const std::string key(redis::ReplyString(*stream->element[0]));
      const redisReply* entries = stream->element[1];
      for (size_t e = 0; e < entries->elements; ++e) {
        const redisReply* entry = entries->element[e];
        last_ids[key] = std::string(redis::ReplyString(*entry->element[0]));
        const redisReply* fields = entry->element[1];
        absl::string_view type, bytes;
        for (size_t f = 0; f + 1 < fields->elements; f += 2) {
          const auto name = redis::ReplyString(*fields->element[f]);
          if (name == "type") type = redis::ReplyString(*fields->element[f + 1]);
          if (name == "event") bytes = redis::ReplyString(*fields->element[f + 1]);
        }
        if (type != "agent_status_changed" && type != "agent_logged_in") continue;
        events::v1::Event event;
        if (!event.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) continue;
        const std::string& agent = type == "agent_status_changed"
                                       ? event.agent_status_changed().agent_id()
                                       : event.agent_logged_in().agent_id();
        if (auto st = router->AgentChanged(event.tenant_id(), agent); !st.ok()) {
          log::Warn("wake failed", {{"tenant", event.tenant_id()}, {"error", st.message()}});
        }
      }
    }
  }
}

absl::Status Setup(server::ServiceContext& ctx) {
  KEFU_RETURN_IF_ERROR(ctx.Migrate({"router", embedded::RouterMigrations()}));
  auto store = std::make_shared<AdminStore>(ctx.pg());
  auto router = std::make_shared<RedisRouter>(ctx.redis());
  ctx.AddService(
      std::make_unique<RoutingServiceImpl>(router.get(), store.get(), &ctx.authenticator()),
      v1::RoutingService::service_full_name());
  ctx.AddService(
      std::make_unique<RoutingAdminServiceImpl>(store.get(), router.get(), &ctx.authenticator()),
      v1::RoutingAdminService::service_full_name());
  redis::Pool* pool = ctx.redis();
  const redis::RedisUrl url = ctx.redis_url();
  RedisRouter* r = router.get();
  ctx.AddWorker("router-sweep",
                [pool, r](const std::stop_token& stop) { SweepLoop(stop, pool, r); });
  ctx.AddWorker("router-wake", [url, r](const std::stop_token& stop) { WakeLoop(stop, url, r); });
  ctx.Keep(std::move(store));
  ctx.Keep(std::move(router));
  return absl::OkStatus();
}

}  // namespace

server::ServiceDefinition Definition() {
  return {.name = "router", .register_flags = nullptr, .setup = Setup};
}

}  // namespace kefu::router
