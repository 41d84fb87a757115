#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kefu/router/v1/routing_admin.pb.h"
#include "services/router/admin_store.h"
#include "services/router/redis_router.h"

namespace kefu::router {

// A tenant's entry points and region strategies as Enqueue needs them (F15, F16), cached
// in each router replica. Every admin change bumps the tenant's version in Redis
// (RedisRouter::BumpConfigVersion); a replica that sees another version reloads from
// PostgreSQL, so all replicas route with the same configuration at the cost of one GET.
class DesignationCache final {
 public:
  struct Snapshot {
    int64_t version = -1;
    std::map<std::string, v1::EntryPoint> entry_points;
    std::vector<v1::RegionStrategy> strategies;  // evaluation order
  };

  DesignationCache(AdminStore* store, RedisRouter* router) : store_(store), router_(router) {}

  absl::StatusOr<std::shared_ptr<const Snapshot>> Get(const std::string& tenant) {
    auto version = router_->ConfigVersion(tenant);
    if (!version.ok()) return version.status();
    {
      std::lock_guard lock(mu_);
      auto it = tenants_.find(tenant);
      if (it != tenants_.end() && it->second->version == *version) return it->second;
    }
    auto snapshot = std::make_shared<Snapshot>();
    snapshot->version = *version;
    auto entry_points = store_->ListEntryPoints(tenant);
    if (!entry_points.ok()) return entry_points.status();
    for (auto& e : *entry_points) snapshot->entry_points[e.entry_point_id()] = std::move(e);
    auto strategies = store_->ListRegionStrategies(tenant);
    if (!strategies.ok()) return strategies.status();
    snapshot->strategies = std::move(*strategies);
    std::lock_guard lock(mu_);
    tenants_[tenant] = snapshot;
    return std::shared_ptr<const Snapshot>(snapshot);
  }

 private:
  AdminStore* store_;
  RedisRouter* router_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const Snapshot>> tenants_;
};

}  // namespace kefu::router
