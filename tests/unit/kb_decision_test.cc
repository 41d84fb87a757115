// What a bot does with a message (F41, F42): decisions, escalation requests, the unsure
// streak over the conversation, and when a bot may serve at all.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "services/kb/answerer.h"
#include "services/kb/bot_rules.h"
#include "services/kb/decision.h"
#include "services/kb/knowledge_index.h"

namespace {

using kefu::kb::BotArrival;
using kefu::kb::BotAvailability;
using kefu::kb::BotFlags;
using kefu::kb::BotPolicy;
using kefu::kb::Decision;
using kefu::kb::EscalationReason;
using kefu::kb::TurnInput;

TurnInput Scores(std::vector<double> scores, double excluded = 0, int streak = 0) {
  TurnInput in;
  in.scores = std::move(scores);
  in.best_excluded = excluded;
  in.prior_low_streak = streak;
  return in;
}

kefu::kb::IndexedEntry Entry(const std::string& id, const std::string& category,
                             const std::string& question, std::vector<std::string> keywords) {
  kefu::kb::IndexedEntry e;
  e.entry_id = id;
  e.category_id = category;
  e.question = question;
  e.keywords = std::move(keywords);
  e.answer = "answer of " + id;
  return e;
}

}  // namespace

TEST_CASE("a confident top answer clearly ahead of the second is answered") {
  const auto out = kefu::kb::Decide(Scores({0.9, 0.4}), BotPolicy());
  CHECK(out.decision == Decision::kAnswer);
  CHECK(out.shown == 1);
  CHECK_FALSE(out.low_confidence);
}

TEST_CASE("two close candidates are offered as choices") {
  const auto out = kefu::kb::Decide(Scores({0.9, 0.85, 0.2}), BotPolicy());
  CHECK(out.decision == Decision::kClarify);
  CHECK(out.shown == 2);  // 0.2 is below the clarify threshold
  CHECK(out.low_confidence);
}

TEST_CASE("a middling score is clarified with at most max_choices choices") {
  BotPolicy policy;
  policy.max_choices = 2;
  const auto out = kefu::kb::Decide(Scores({0.5, 0.45, 0.44, 0.43}), policy);
  CHECK(out.decision == Decision::kClarify);
  CHECK(out.shown == 2);
}

TEST_CASE("a low score escalates for low confidence") {
  const auto out = kefu::kb::Decide(Scores({0.1}), BotPolicy());
  CHECK(out.decision == Decision::kEscalate);
  CHECK(out.reason == EscalationReason::kLowConfidence);
  CHECK(kefu::kb::Decide(Scores({}), BotPolicy()).reason == EscalationReason::kLowConfidence);
}

TEST_CASE("a question only another category could answer escalates as out of scope") {
  const auto out = kefu::kb::Decide(Scores({0.1}, /*excluded=*/0.9), BotPolicy());
  CHECK(out.decision == Decision::kEscalate);
  CHECK(out.reason == EscalationReason::kOutOfScope);
}

TEST_CASE("too many unsure turns in a row escalate") {
  BotPolicy policy;
  policy.max_low_confidence_turns = 2;
  CHECK(kefu::kb::Decide(Scores({0.5}, 0, 1), policy).decision == Decision::kClarify);
  const auto out = kefu::kb::Decide(Scores({0.5}, 0, 2), policy);
  CHECK(out.decision == Decision::kEscalate);
  CHECK(out.reason == EscalationReason::kRepeatedLowConfidence);
  // A confident answer is given whatever came before.
  CHECK(kefu::kb::Decide(Scores({0.95}, 0, 5), policy).decision == Decision::kAnswer);
}

TEST_CASE("per-bot thresholds change the decision") {
  BotPolicy strict;
  strict.answer_threshold = 0.95;
  strict.clarify_threshold = 0.9;
  CHECK(kefu::kb::Decide(Scores({0.9}), BotPolicy()).decision == Decision::kAnswer);
  CHECK(kefu::kb::Decide(Scores({0.9}), strict).decision == Decision::kClarify);
  CHECK(kefu::kb::Decide(Scores({0.8}), strict).decision == Decision::kEscalate);
}

TEST_CASE("asking for a human escalates whatever the scores") {
  TurnInput in = Scores({0.99});
  in.asks_for_human = true;
  const auto out = kefu::kb::Decide(in, BotPolicy());
  CHECK(out.decision == Decision::kEscalate);
  CHECK(out.reason == EscalationReason::kCustomerRequest);
}

TEST_CASE("the customer's requests for a person are recognised in both languages") {
  const std::vector<std::string> defaults;
  for (const char* message :
       {"人工", "转人工", "我要人工客服", "找真人", "agent", "Agent please", "I want a HUMAN",
        "let me talk to a real person", "representative!", "can I speak to someone"}) {
    INFO(message);
    CHECK(kefu::kb::AsksForHuman(message, defaults));
  }
  for (const char* message :
       {"人工智能是什么", "退货运费谁出", "agentless setup", "my order is late"}) {
    INFO(message);
    CHECK_FALSE(kefu::kb::AsksForHuman(message, defaults));
  }
}

TEST_CASE("a bot's own escalation phrases replace the built-in ones") {
  const std::vector<std::string> own = {"投诉"};
  CHECK(kefu::kb::AsksForHuman("我要投诉", own));
  CHECK_FALSE(kefu::kb::AsksForHuman("转人工", own));
}

TEST_CASE("unsure turns earlier in the conversation count towards escalation") {
  kefu::kb::KnowledgeIndex index;
  index.Upsert(Entry("a", "c", "怎么开发票", {"开发票"}));
  index.Upsert(Entry("b", "c", "发票抬头写错了", {"发票抬头"}));
  index.Upsert(Entry("c", "c", "电子发票下载", {"电子发票"}));
  const std::vector<kefu::kb::PastMessage> conversation = {
      {kefu::kb::Speaker::kCustomer, "发票"},
      {kefu::kb::Speaker::kBot, "您想问的是下面哪一个问题?"},
      {kefu::kb::Speaker::kCustomer, "发票的事"},
      {kefu::kb::Speaker::kBot, "您想问的是下面哪一个问题?"},
  };
  kefu::kb::AskInput input;
  input.question = "发票呢";
  input.conversation = &conversation;
  input.policy.max_low_confidence_turns = 2;
  const auto out = kefu::kb::AnswerQuestion(index, input);
  CHECK(out.prior_low_streak == 2);
  CHECK(out.outcome.decision == Decision::kEscalate);
  CHECK(out.outcome.reason == EscalationReason::kRepeatedLowConfidence);

  // An agent in between ends the bot's stretch; a clear question is answered anyway.
  std::vector<kefu::kb::PastMessage> with_agent = conversation;
  with_agent.insert(with_agent.begin() + 2, {kefu::kb::Speaker::kAgent, "您好"});
  input.conversation = &with_agent;
  CHECK(kefu::kb::AnswerQuestion(index, input).prior_low_streak == 1);
  input.question = "发票抬头写错了怎么办";
  CHECK(kefu::kb::AnswerQuestion(index, input).outcome.decision == Decision::kAnswer);
}

TEST_CASE("the question repeated at the end of the conversation is not counted twice") {
  kefu::kb::KnowledgeIndex index;
  index.Upsert(Entry("a", "c", "怎么开发票", {"开发票"}));
  const std::vector<kefu::kb::PastMessage> conversation = {{kefu::kb::Speaker::kCustomer, "嗯"}};
  kefu::kb::AskInput input;
  input.question = "嗯";
  input.conversation = &conversation;
  CHECK(kefu::kb::AnswerQuestion(index, input).prior_low_streak == 0);
}

TEST_CASE("a bot answers only from the categories in its memory") {
  kefu::kb::KnowledgeIndex index;
  index.Upsert(Entry("inv", "invoices", "怎么开发票", {"开发票"}));
  index.Upsert(Entry("ret", "returns", "怎么退货", {"退货"}));
  const absl::flat_hash_set<std::string> memory = {"returns"};
  kefu::kb::AskInput input;
  input.question = "怎么开发票";
  input.categories = &memory;
  const auto out = kefu::kb::AnswerQuestion(index, input);
  CHECK(out.outcome.decision == Decision::kEscalate);
  CHECK(out.outcome.reason == EscalationReason::kOutOfScope);
  for (const auto& hit : out.hits) CHECK(hit.entry->category_id == "returns");
}

TEST_CASE("a hidden bot serves only while every human of the entry point is offline") {
  const BotFlags hidden{.online = true, .auto_online = false, .hidden = true};
  CHECK(kefu::kb::Serves(hidden, /*humans_online=*/false, BotArrival::kEntryPoint));
  CHECK(kefu::kb::Availability(hidden, /*humans_online=*/true, BotArrival::kEntryPoint) ==
        BotAvailability::kHiddenHumansOnline);
}

TEST_CASE("an offline bot never serves and an auto-online bot always is online") {
  const BotFlags offline{};
  CHECK(kefu::kb::Availability(offline, false, BotArrival::kEntryPoint) ==
        BotAvailability::kOffline);
  const BotFlags automatic{.online = false, .auto_online = true};
  CHECK(kefu::kb::Serves(automatic, true, BotArrival::kEntryPoint));
  CHECK(kefu::kb::EffectiveOnline(automatic));
}

TEST_CASE("a transferred contact is served only by a bot that accepts transfers") {
  const BotFlags taker{.online = true, .hidden = true, .accept_transfer = true};
  CHECK(kefu::kb::Serves(taker, /*humans_online=*/true, BotArrival::kTransfer));
  CHECK(kefu::kb::IsTransferTarget(taker));
  const BotFlags plain{.online = true};
  CHECK(kefu::kb::Availability(plain, false, BotArrival::kTransfer) ==
        BotAvailability::kNotTransferTarget);
  CHECK_FALSE(kefu::kb::IsTransferTarget(plain));
  CHECK_FALSE(kefu::kb::IsTransferTarget(BotFlags{.accept_transfer = true}));
}
