#include "services/router/eligibility.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "libs/common/status.h"

namespace kefu::router {
namespace {

void AddUnique(std::vector<std::string>& list, const std::string& item) {
  if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(item);
}

bool Contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

}  // namespace

bool RegionMatches(const kefu::common::v1::Region& rule, const kefu::common::v1::Region& visitor) {
  if (rule.country_code().empty() && rule.province().empty() && rule.city().empty()) return false;
  return (rule.country_code().empty() || rule.country_code() == visitor.country_code()) &&
         (rule.province().empty() || rule.province() == visitor.province()) &&
         (rule.city().empty() || rule.city() == visitor.city());
}

absl::StatusOr<Decision> Decide(const v1::EntryPoint* entry_point,
                                const std::vector<v1::RegionStrategy>& strategies,
                                const kefu::common::v1::Region& region,
                                const std::string& requested_department_id,
                                const std::string& requested_agent_id) {
  Decision out;
  Eligibility& e = out.eligibility;
  if (entry_point != nullptr) {
    for (const auto& a : entry_point->designated_agent_ids()) AddUnique(e.agent_ids, a);
    for (const auto& d : entry_point->designated_department_ids()) AddUnique(e.department_ids, d);
  }
  if (!requested_agent_id.empty()) {
    if (!e.agent_ids.empty() && !Contains(e.agent_ids, requested_agent_id)) {
      return InvalidField("requested_agent_id",
                          absl::StrCat("\"", requested_agent_id,
                                       "\" is not a designated agent of this entry point"));
    }
    e.agent_ids = {requested_agent_id};
    e.department_ids.clear();
  }
  // F15: every matching strategy adds its departments.
  std::vector<std::string> region_departments;
  bool override_designation = false;
  for (const auto& strategy : strategies) {
    if (!strategy.enabled()) continue;
    if (!strategy.entry_point_ids().empty() &&
        (entry_point == nullptr ||
         std::find(strategy.entry_point_ids().begin(), strategy.entry_point_ids().end(),
                   entry_point->entry_point_id()) == strategy.entry_point_ids().end())) {
      continue;
    }
    bool matches = false;
    for (const auto& rule : strategy.regions()) matches = matches || RegionMatches(rule, region);
    if (!matches) continue;
    out.matched_strategy_ids.push_back(strategy.strategy_id());
    for (const auto& d : strategy.department_ids()) AddUnique(region_departments, d);
    override_designation = override_designation || strategy.override_designation();
  }
  if (!region_departments.empty()) {
    if (override_designation) {
      e.agent_ids.clear();
      e.department_ids = region_departments;
      out.overridden = true;
    } else if (e.empty()) {
      e.department_ids = region_departments;
    }
  }
  if (!requested_department_id.empty()) {
    if (!e.empty()) {
      if (!Contains(e.department_ids, requested_department_id)) {
        return InvalidField("requested_department_id",
                            absl::StrCat("\"", requested_department_id,
                                         "\" is not offered to this contact"));
      }
      e.agent_ids.clear();
      e.department_ids = {requested_department_id};
    }
  }
  return out;
}

}  // namespace kefu::router
