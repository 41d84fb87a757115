#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "kefu/common/v1/common.pb.h"
#include "kefu/crm/v1/customer.pb.h"

// Customer classification (F2): which tier the tenant's rules give a customer. Pure C++:
// no I/O. Rules only ever raise a tier; a tier set by hand with lock stays put.
namespace kefu::crm {

inline constexpr int kMaxTierRules = 20;

// What the rules look at.
struct CustomerFacts {
  kefu::common::v1::CustomerTier tier = kefu::common::v1::CUSTOMER_TIER_NEW;
  bool tier_locked = false;
  int completed_dialogs = 0;  // valid dialogs an agent took part in
  std::vector<std::string> tags;
};

struct TierDecision {
  kefu::common::v1::CustomerTier tier = kefu::common::v1::CUSTOMER_TIER_NEW;
  // The rule that raised the tier; "" when nothing changed.
  std::string rule_id;
  bool changed() const { return !rule_id.empty(); }
};

// Rules of a tenant that never set any: REGULAR after the first completed valid dialog.
std::vector<kefu::crm::v1::TierRule> DefaultTierRules();

// Checks rules before they are stored and gives unnamed rules an id ("rule-2"). Errors
// name the field ("rules[1].min_completed_dialogs: ...").
absl::Status NormalizeTierRules(std::vector<kefu::crm::v1::TierRule>* rules);

// The highest tier among the current one and every enabled rule whose condition holds
// (rules in order; on a tie the first rule names the change). Locked tiers never change.
TierDecision EvaluateTier(const CustomerFacts& facts,
                          const std::vector<kefu::crm::v1::TierRule>& rules);

// Whether an ended dialog counts as completed for the rules: the customer wrote (valid),
// an agent took it (connected) and it ended normally, not abandoned in the queue or
// turned into an offline message.
bool CountsAsCompleted(kefu::common::v1::DialogEndType end_type, bool valid, bool connected);

// NEW < REGULAR < VIP.
int TierRank(kefu::common::v1::CustomerTier tier);

}  // namespace kefu::crm
