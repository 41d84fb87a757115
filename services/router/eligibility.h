#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kefu/router/v1/routing_admin.pb.h"
#include "services/router/redis_router.h"

// Who may take a contact, from its entry point's designations (F16), the region
// strategies matching the visitor's region (F15) and what the customer picked. Plain
// logic: no gRPC, Redis or PostgreSQL.
namespace kefu::router {

// A strategy's region matches when every non-empty field equals the visitor's.
bool RegionMatches(const kefu::common::v1::Region& rule, const kefu::common::v1::Region& visitor);

struct Decision {
  Eligibility eligibility;
  // Region strategies that matched, in evaluation order.
  std::vector<std::string> matched_strategy_ids;
  // True when a matching strategy replaced the entry point's designation.
  bool overridden = false;
};

// The rules, in order:
//  1. the entry point's designated agents and departments (F16); a requested agent must
//     be one of the designated agents when there are any, and then is the only one;
//  2. every enabled region strategy for this entry point whose regions match adds its
//     departments (union, F15). A match with override_designation replaces the
//     designation; other matches apply only when there is no designation; no match
//     leaves the designation as it is (fallback);
//  3. a requested department ("picking a department auto-assigns inside it", F16) must be
//     among the eligible departments when there are any, and narrows to it.
// `strategies` must be in evaluation order (sort_order).
absl::StatusOr<Decision> Decide(const v1::EntryPoint* entry_point,
                                const std::vector<v1::RegionStrategy>& strategies,
                                const kefu::common::v1::Region& region,
                                const std::string& requested_department_id,
                                const std::string& requested_agent_id);

}  // namespace kefu::router
