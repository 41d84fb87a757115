#include "services/crm/tier_rules.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "libs/common/status.h"
#include "services/crm/validation.h"

namespace kefu::crm {

using kefu::common::v1::CustomerTier;
using kefu::crm::v1::TierRule;

int TierRank(CustomerTier tier) {
  switch (tier) {
    case kefu::common::v1::CUSTOMER_TIER_NEW:
      return 1;
    case kefu::common::v1::CUSTOMER_TIER_REGULAR:
      return 2;
    case kefu::common::v1::CUSTOMER_TIER_VIP:
      return 3;
    default:
      return 0;
  }
}

bool CountsAsCompleted(kefu::common::v1::DialogEndType end_type, bool valid, bool connected) {
  if (!valid || !connected) return false;
  return end_type == kefu::common::v1::DIALOG_END_TYPE_CUSTOMER ||
         end_type == kefu::common::v1::DIALOG_END_TYPE_AGENT ||
         end_type == kefu::common::v1::DIALOG_END_TYPE_SYSTEM_TIMEOUT;
}

std::vector<TierRule> DefaultTierRules() {
  TierRule regular;
  regular.set_rule_id("regular-after-first-dialog");
  regular.set_tier(kefu::common::v1::CUSTOMER_TIER_REGULAR);
  regular.set_min_completed_dialogs(1);
  regular.set_enabled(true);
  return {regular};
}

absl::Status NormalizeTierRules(std::vector<TierRule>* rules) {
  if (static_cast<int>(rules->size()) > kMaxTierRules) {
    return InvalidField("rules", absl::StrCat("at most ", kMaxTierRules, " rules"));
  }
  std::set<std::string> ids;
  for (const TierRule& rule : *rules) {
    if (!rule.rule_id().empty()) ids.insert(rule.rule_id());
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < rules->size(); ++i) {
    TierRule& rule = (*rules)[i];
    const std::string at = absl::StrCat("rules[", i, "]");
    if (rule.rule_id().empty()) {
      int n = static_cast<int>(i) + 1;
      while (ids.contains(absl::StrCat("rule-", n))) ++n;
      rule.set_rule_id(absl::StrCat("rule-", n));
      ids.insert(rule.rule_id());
    }
    if (auto st = CheckId(absl::StrCat(at, ".rule_id"), rule.rule_id()); !st.ok()) return st;
    if (!seen.insert(rule.rule_id()).second) {
      return InvalidField(absl::StrCat(at, ".rule_id"),
                          absl::StrCat("\"", rule.rule_id(), "\" repeated"));
    }
    if (auto st = CheckEnum(absl::StrCat(at, ".tier"), rule.tier(),
                            kefu::common::v1::CustomerTier_IsValid, true);
        !st.ok()) {
      return st;
    }
    if (rule.tier() == kefu::common::v1::CUSTOMER_TIER_NEW) {
      return InvalidField(absl::StrCat(at, ".tier"), "rules raise a tier: REGULAR or VIP");
    }
    switch (rule.condition_case()) {
      case TierRule::kMinCompletedDialogs:
        if (rule.min_completed_dialogs() < 1 || rule.min_completed_dialogs() > 1000000) {
          return InvalidField(absl::StrCat(at, ".min_completed_dialogs"), "1 to 1000000");
        }
        break;
      case TierRule::kHasTag:
        if (rule.has_tag().empty()) {
          return InvalidField(absl::StrCat(at, ".has_tag"), "required");
        }
        if (auto st = CheckText(absl::StrCat(at, ".has_tag"), rule.has_tag(), kMaxTagChars);
            !st.ok()) {
          return st;
        }
        break;
      case TierRule::CONDITION_NOT_SET:
        return InvalidField(absl::StrCat(at, ".condition"), "set min_completed_dialogs or has_tag");
    }
  }
  return absl::OkStatus();
}

TierDecision EvaluateTier(const CustomerFacts& facts, const std::vector<TierRule>& rules) {
  TierDecision decision;
  decision.tier = TierRank(facts.tier) == 0 ? kefu::common::v1::CUSTOMER_TIER_NEW : facts.tier;
  if (facts.tier_locked) return decision;
  for (const TierRule& rule : rules) {
    if (!rule.enabled() || TierRank(rule.tier()) <= TierRank(decision.tier)) continue;
    bool holds = false;
    switch (rule.condition_case()) {
      case TierRule::kMinCompletedDialogs:
        holds = facts.completed_dialogs >= rule.min_completed_dialogs();
        break;
      case TierRule::kHasTag:
        holds = std::find(facts.tags.begin(), facts.tags.end(), rule.has_tag()) != facts.tags.end();
        break;
      case TierRule::CONDITION_NOT_SET:
        break;
    }
    if (!holds) continue;
    decision.tier = rule.tier();
    decision.rule_id = rule.rule_id();
  }
  return decision;
}

}  // namespace kefu::crm
