// The router's Setup: stores, services, and the two background loops that make routing
// event-driven without polling queues:
//  - wake: reads every tenant's event stream (XREAD BLOCK) and, when presence reports an
//    agent's status change or login, offers that agent what waits for it;
//  - sweep: claims expired offers and ended reject/no-answer delays (F19) every 100 ms;
//  - metrics: queue depth and oldest wait every 2 s, and offers by outcome, which the
//    routing script counts and one replica at a time takes (F68).
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

// Follows every tenant's agent-events stream (presence's events, events::AgentStreamKey)
// from its end: an agent logging in or changing status wakes the router. Following the
// tenant's whole stream instead woke an XREAD for every contact's events; at saturation
// in bench/route that was 10-30 % of the CPU a routed contact costs (docs/PERFORMANCE.md).
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
        const std::string key = events::AgentStreamKey(tenant);
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

// Queue depth and oldest wait of every configured queue (gauges: every replica reports the
// same shared values), and the offers by outcome since any replica last took them.
void QueueGaugeLoop(const std::stop_token& stop, redis::Pool* pool, RedisRouter* router,
                    RouterMetrics* metrics) {
  while (!stop.stop_requested()) {
    std::vector<std::string> tenants;
    {
      auto lease = pool->Acquire();
      if (lease.ok()) {
        auto listed = events::ListTenants(**lease);
        if (listed.ok()) tenants = std::move(*listed);
      }
    }
    for (const std::string& tenant : tenants) {
      // Offers by outcome, counted by the routing script and taken here, so each offer is
      // counted by exactly one replica (reading the stream for them cost 3-15 % of the
      // routing throughput, docs/ROUTING.md).
      if (auto counts = router->TakeOfferCounts(tenant); counts.ok()) {
        for (const auto& [outcome, offers] : *counts) metrics->CountOffers(outcome, offers);
      }
      auto queues = router->Queues(tenant);
      if (!queues.ok()) continue;
      for (const std::string& queue : *queues) {
        auto snapshot = router->Queue(tenant, queue);
        if (!snapshot.ok()) continue;
        metrics->SetQueue(tenant, queue, snapshot->length,
                          snapshot->length > 0 ? absl::ToDoubleSeconds(snapshot->longest_wait) : 0);
      }
    }
    for (int i = 0; i < 20 && !stop.stop_requested(); ++i) absl::SleepFor(absl::Milliseconds(100));
  }
}

absl::Status Setup(server::ServiceContext& ctx, const RouterOptions& options) {
  KEFU_RETURN_IF_ERROR(ctx.Migrate({"router", embedded::RouterMigrations()}));
  // F15: the region database. An explicitly named one must open; the default one is
  // used when it was built (geoip-database installed), else regions stay empty.
  std::shared_ptr<GeoResolver> geo;
  if (!options.geo_database.empty()) {
    KEFU_ASSIGN_OR_RETURN(auto opened, GeoResolver::Open(options.geo_database));
    geo = std::move(opened);
  } else if (const std::string path = DefaultGeoDatabase(); !path.empty()) {
    KEFU_ASSIGN_OR_RETURN(auto opened, GeoResolver::Open(path));
    geo = std::move(opened);
  } else {
    log::Warn(
        "no geo database: regions stay empty (install geoip-database or set "
        "--geo-database)",
        {});
    geo = GeoResolver::Empty();
  }
  if (geo->loaded()) log::Info("geo database", {{"path", geo->path()}});
  auto metrics = std::make_shared<RouterMetrics>(ctx.registry());
  auto store = std::make_shared<AdminStore>(ctx.pg());
  auto router = std::make_shared<RedisRouter>(ctx.redis(), metrics.get());
  auto designations = std::make_shared<DesignationCache>(store.get(), router.get());
  ctx.AddService(
      std::make_unique<RoutingServiceImpl>(router.get(), store.get(), &ctx.authenticator(),
                                           geo.get(), designations.get()),
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
  RouterMetrics* m = metrics.get();
  ctx.AddWorker("router-queue-metrics",
                [pool, r, m](const std::stop_token& stop) { QueueGaugeLoop(stop, pool, r, m); });
  ctx.Keep(std::move(designations));
  ctx.Keep(std::move(store));
  ctx.Keep(std::move(router));
  ctx.Keep(std::move(geo));
  ctx.Keep(std::move(metrics));
  return absl::OkStatus();
}

}  // namespace

server::ServiceDefinition Definition(RouterOptions options) {
  auto shared = std::make_shared<RouterOptions>(std::move(options));
  return {.name = "router",
          .register_flags = nullptr,
          .setup = [shared](server::ServiceContext& ctx) { return Setup(ctx, *shared); }};
}

server::ServiceDefinition Definition() {
  auto options = std::make_shared<RouterOptions>();
  return {.name = "router",
          .register_flags =
              [options](FlagSet& flags) {
                flags.String("geo-database", "KEFU_GEO_DATABASE",
                             "MaxMind DB for region routing (F15); empty = the default "
                             "country database built from Debian's geoip-database",
                             &options->geo_database);
              },
          .setup = [options](server::ServiceContext& ctx) { return Setup(ctx, *options); }};
}

}  // namespace kefu::router
