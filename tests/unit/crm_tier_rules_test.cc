// Tier rules (F2): which tier a customer's facts and the tenant's rules give.
#include <catch2/catch.hpp>

#include "services/crm/tier_rules.h"

namespace {

using kefu::common::v1::CUSTOMER_TIER_NEW;
using kefu::common::v1::CUSTOMER_TIER_REGULAR;
using kefu::common::v1::CUSTOMER_TIER_VIP;
using kefu::crm::CustomerFacts;
using kefu::crm::EvaluateTier;
using kefu::crm::v1::TierRule;

TierRule DialogsRule(const std::string& id, kefu::common::v1::CustomerTier tier, int dialogs) {
  TierRule rule;
  rule.set_rule_id(id);
  rule.set_tier(tier);
  rule.set_min_completed_dialogs(dialogs);
  rule.set_enabled(true);
  return rule;
}

TierRule TagRule(const std::string& id, kefu::common::v1::CustomerTier tier,
                 const std::string& tag) {
  TierRule rule;
  rule.set_rule_id(id);
  rule.set_tier(tier);
  rule.set_has_tag(tag);
  rule.set_enabled(true);
  return rule;
}

}  // namespace

TEST_CASE("by default a NEW customer becomes REGULAR after the first completed dialog") {
  const auto rules = kefu::crm::DefaultTierRules();
  CustomerFacts facts;
  facts.completed_dialogs = 0;
  CHECK(EvaluateTier(facts, rules).tier == CUSTOMER_TIER_NEW);
  CHECK_FALSE(EvaluateTier(facts, rules).changed());
  facts.completed_dialogs = 1;
  auto decision = EvaluateTier(facts, rules);
  CHECK(decision.tier == CUSTOMER_TIER_REGULAR);
  CHECK(decision.rule_id == "regular-after-first-dialog");
}

TEST_CASE("the highest tier among matching rules wins") {
  const std::vector<TierRule> rules = {DialogsRule("regular", CUSTOMER_TIER_REGULAR, 1),
                                       DialogsRule("vip", CUSTOMER_TIER_VIP, 10)};
  CustomerFacts facts;
  facts.completed_dialogs = 12;
  auto decision = EvaluateTier(facts, rules);
  CHECK(decision.tier == CUSTOMER_TIER_VIP);
  CHECK(decision.rule_id == "vip");
  facts.completed_dialogs = 3;
  CHECK(EvaluateTier(facts, rules).tier == CUSTOMER_TIER_REGULAR);
}

TEST_CASE("a tag rule makes a tagged customer VIP") {
  const std::vector<TierRule> rules = {TagRule("gold", CUSTOMER_TIER_VIP, "gold")};
  CustomerFacts facts;
  facts.tags = {"wholesale", "gold"};
  CHECK(EvaluateTier(facts, rules).tier == CUSTOMER_TIER_VIP);
  facts.tags = {"wholesale"};
  CHECK(EvaluateTier(facts, rules).tier == CUSTOMER_TIER_NEW);
}

TEST_CASE("rules never lower a tier, skip disabled rules, and leave locked tiers alone") {
  std::vector<TierRule> rules = {DialogsRule("regular", CUSTOMER_TIER_REGULAR, 1)};
  CustomerFacts vip;
  vip.tier = CUSTOMER_TIER_VIP;
  vip.completed_dialogs = 5;
  CHECK(EvaluateTier(vip, rules).tier == CUSTOMER_TIER_VIP);
  CHECK_FALSE(EvaluateTier(vip, rules).changed());

  CustomerFacts locked;
  locked.tier = CUSTOMER_TIER_NEW;
  locked.tier_locked = true;
  locked.completed_dialogs = 5;
  CHECK(EvaluateTier(locked, rules).tier == CUSTOMER_TIER_NEW);

  rules[0].set_enabled(false);
  CustomerFacts regular_candidate;
  regular_candidate.completed_dialogs = 5;
  CHECK(EvaluateTier(regular_candidate, rules).tier == CUSTOMER_TIER_NEW);
}

TEST_CASE("only valid, connected, normally ended dialogs count as completed") {
  using kefu::crm::CountsAsCompleted;
  CHECK(CountsAsCompleted(kefu::common::v1::DIALOG_END_TYPE_CUSTOMER, true, true));
  CHECK(CountsAsCompleted(kefu::common::v1::DIALOG_END_TYPE_AGENT, true, true));
  CHECK(CountsAsCompleted(kefu::common::v1::DIALOG_END_TYPE_SYSTEM_TIMEOUT, true, true));
  CHECK_FALSE(CountsAsCompleted(kefu::common::v1::DIALOG_END_TYPE_CUSTOMER, false, true));
  CHECK_FALSE(CountsAsCompleted(kefu::common::v1::DIALOG_END_TYPE_CUSTOMER, true, false));
  CHECK_FALSE(CountsAsCompleted(kefu::common::v1::DIALOG_END_TYPE_ABANDONED, true, true));
  CHECK_FALSE(CountsAsCompleted(kefu::common::v1::DIALOG_END_TYPE_OFFLINE_MESSAGE, true, true));
}

TEST_CASE("rule sets are checked and unnamed rules get ids") {
  std::vector<TierRule> rules = {DialogsRule("", CUSTOMER_TIER_REGULAR, 1),
                                 TagRule("", CUSTOMER_TIER_VIP, "gold")};
  REQUIRE(kefu::crm::NormalizeTierRules(&rules).ok());
  CHECK(rules[0].rule_id() == "rule-1");
  CHECK(rules[1].rule_id() == "rule-2");

  std::vector<TierRule> bad_tier = {
      DialogsRule("r", static_cast<kefu::common::v1::CustomerTier>(99), 1)};
  auto st = kefu::crm::NormalizeTierRules(&bad_tier);
  CHECK(st.code() == absl::StatusCode::kInvalidArgument);
  CHECK(st.message().find("rules[0].tier") == 0);

  std::vector<TierRule> to_new = {DialogsRule("r", CUSTOMER_TIER_NEW, 1)};
  CHECK(kefu::crm::NormalizeTierRules(&to_new).message().find("rules[0].tier") == 0);

  std::vector<TierRule> zero = {DialogsRule("r", CUSTOMER_TIER_REGULAR, 0)};
  CHECK(kefu::crm::NormalizeTierRules(&zero).message().find("rules[0].min_completed_dialogs") == 0);

  TierRule no_condition;
  no_condition.set_tier(CUSTOMER_TIER_VIP);
  std::vector<TierRule> missing = {no_condition};
  CHECK(kefu::crm::NormalizeTierRules(&missing).message().find("rules[0].condition") == 0);

  std::vector<TierRule> twice = {DialogsRule("x", CUSTOMER_TIER_REGULAR, 1),
                                 DialogsRule("x", CUSTOMER_TIER_VIP, 3)};
  CHECK(kefu::crm::NormalizeTierRules(&twice).message().find("rules[1].rule_id") == 0);
}
