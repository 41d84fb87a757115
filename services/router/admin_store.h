#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kefu/router/v1/routing_admin.pb.h"
#include "libs/pg/pool.h"

namespace kefu::router {

// Routing configuration in PostgreSQL, one tenant per call (row-level security).
class AdminStore final {
 public:
  explicit AdminStore(pg::Pool* pool) : pool_(pool) {}

  absl::Status PutDepartment(const std::string& tenant, const v1::Department& department,
                             bool create);
  absl::StatusOr<v1::Department> GetDepartment(const std::string& tenant, const std::string& id);
  absl::StatusOr<std::vector<v1::Department>> ListDepartments(const std::string& tenant);

  absl::Status PutQueue(const std::string& tenant, const v1::Queue& queue, bool create);
  absl::StatusOr<v1::Queue> GetQueue(const std::string& tenant, const std::string& id);
  absl::StatusOr<std::vector<v1::Queue>> ListQueues(const std::string& tenant);
  // The tenant's default queue id, or "" when none is marked default.
  absl::StatusOr<std::string> DefaultQueue(const std::string& tenant);

  absl::Status PutAgentProfile(const std::string& tenant, const v1::AgentProfile& profile);
  absl::StatusOr<v1::AgentProfile> GetAgentProfile(const std::string& tenant,
                                                   const std::string& agent_id);
  absl::StatusOr<std::vector<v1::AgentProfile>> ListAgentProfiles(const std::string& tenant);

  absl::Status PutTierMap(const std::string& tenant, const v1::GetTierMapResponse& map);
  absl::StatusOr<v1::GetTierMapResponse> GetTierMap(const std::string& tenant);

  // Deletes; NOT_FOUND when absent. A department with children, agents or queue users
  // and a queue still named by departments are FAILED_PRECONDITION (checked here).
  absl::Status DeleteDepartment(const std::string& tenant, const std::string& id);
  absl::Status DeleteQueue(const std::string& tenant, const std::string& id);
  absl::Status DeleteAgentProfile(const std::string& tenant, const std::string& agent_id);

  // Entry points (F16).
  absl::Status PutEntryPoint(const std::string& tenant, const v1::EntryPoint& entry_point,
                             bool create);
  absl::StatusOr<v1::EntryPoint> GetEntryPoint(const std::string& tenant, const std::string& id);
  absl::StatusOr<std::vector<v1::EntryPoint>> ListEntryPoints(const std::string& tenant);
  absl::Status DeleteEntryPoint(const std::string& tenant, const std::string& id);

  // Region strategies (F15), listed by sort_order then id.
  absl::Status PutRegionStrategy(const std::string& tenant, const v1::RegionStrategy& strategy,
                                 bool create);
  absl::StatusOr<v1::RegionStrategy> GetRegionStrategy(const std::string& tenant,
                                                       const std::string& id);
  absl::StatusOr<std::vector<v1::RegionStrategy>> ListRegionStrategies(const std::string& tenant);
  absl::Status DeleteRegionStrategy(const std::string& tenant, const std::string& id);

 private:
  pg::Pool* pool_;
};

}  // namespace kefu::router
