#include "services/kb/answerer.h"

#include <algorithm>

namespace kefu::kb {
namespace {

std::vector<double> Scores(const SearchResult& result) {
  std::vector<double> scores;
  scores.reserve(result.hits.size());
  for (const SearchHit& hit : result.hits) scores.push_back(hit.score);
  return scores;
}

// Unsure customer turns in a row at the end of the conversation: each past customer
// message is scored again against today's knowledge base; an agent's message ends the
// bot's stretch of the conversation.
int LowConfidenceStreak(const KnowledgeIndex& index, const AskInput& input,
                        const SearchOptions& options) {
  if (input.conversation == nullptr) return 0;
  const std::vector<PastMessage>& messages = *input.conversation;
  size_t end = messages.size();
  if (end > 0 && messages[end - 1].speaker == Speaker::kCustomer &&
      messages[end - 1].text == input.question) {
    --end;
  }
  int streak = 0;
  const int enough = std::max(0, input.policy.max_low_confidence_turns) + 1;
  for (size_t i = end; i > 0 && streak < enough; --i) {
    const PastMessage& message = messages[i - 1];
    if (message.speaker == Speaker::kAgent) break;
    if (message.speaker != Speaker::kCustomer || message.text.empty()) continue;
    if (!IsLowConfidence(Scores(index.Search(message.text, options)), input.policy)) break;
    ++streak;
  }
  return streak;
}

}  // namespace

AskOutput AnswerQuestion(const KnowledgeIndex& index, const AskInput& input) {
  AskOutput out;
  SearchOptions options;
  options.categories = input.categories;
  options.limit = std::max<size_t>(
      {input.max_answers, static_cast<size_t>(std::max(1, input.policy.max_choices)), 2});
  SearchResult result = index.Search(input.question, options);

  TurnInput turn;
  turn.scores = Scores(result);
  turn.best_excluded = result.best_excluded;
  turn.asks_for_human = AsksForHuman(input.question, input.policy.escalation_phrases);
  if (!turn.asks_for_human) {
    turn.prior_low_streak = LowConfidenceStreak(index, input, options);
  }
  out.prior_low_streak = turn.prior_low_streak;
  out.outcome = Decide(turn, input.policy);
  const size_t keep = std::max(input.max_answers, static_cast<size_t>(out.outcome.shown));
  if (result.hits.size() > keep) result.hits.resize(keep);
  out.hits = std::move(result.hits);
  return out;
}

}  // namespace kefu::kb
