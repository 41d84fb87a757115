#pragma once

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "services/kb/decision.h"
#include "services/kb/knowledge_index.h"

// One bot turn (F42): search the bot's categories, look back over the conversation for
// a streak of unsure turns, decide. Pure: the index and the bot come from the caller.
namespace kefu::kb {

enum class Speaker { kCustomer, kBot, kAgent, kSystem };

struct PastMessage {
  Speaker speaker = Speaker::kCustomer;
  std::string text;
};

struct AskInput {
  absl::string_view question;
  // Messages before `question`, oldest first. A last customer message equal to
  // `question` is taken as the question itself and not counted twice.
  const std::vector<PastMessage>* conversation = nullptr;
  // The bot's memory (F41); nullptr = every category.
  const absl::flat_hash_set<std::string>* categories = nullptr;
  BotPolicy policy;
  // Candidates to return (ranked); at least the CLARIFY choices.
  size_t max_answers = 3;
};

struct AskOutput {
  TurnOutcome outcome;
  // Best first, up to max_answers; for ANSWER the first is the answer.
  std::vector<SearchHit> hits;
  // Unsure customer turns just before this one.
  int prior_low_streak = 0;
};

AskOutput AnswerQuestion(const KnowledgeIndex& index, const AskInput& input);

}  // namespace kefu::kb
