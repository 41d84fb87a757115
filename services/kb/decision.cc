#include "services/kb/decision.h"

#include <algorithm>

#include "absl/strings/str_replace.h"
#include "services/kb/text.h"

namespace kefu::kb {
namespace {

bool HasHan(absl::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    if (IsHan(NextCodePoint(text, &pos))) return true;
  }
  return false;
}

bool IsWordByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || static_cast<unsigned char>(c) >= 0x80;
}

bool ContainsWords(absl::string_view text, absl::string_view phrase) {
  size_t from = 0;
  while (true) {
    const size_t at = text.find(phrase, from);
    if (at == absl::string_view::npos) return false;
    const size_t end = at + phrase.size();
    const bool left_ok = at == 0 || !IsWordByte(text[at - 1]);
    // Allow a plural "s": "agents", "humans".
    size_t right = end;
    if (right < text.size() && text[right] == 's') ++right;
    const bool right_ok = right >= text.size() || !IsWordByte(text[right]);
    if (left_ok && right_ok) return true;
    from = at + 1;
  }
}

bool ClearlyAhead(const std::vector<double>& scores) {
  if (scores.size() < 2) return true;
  return scores[1] <= scores[0] * (1.0 - kClearLead);
}

}  // namespace

const std::vector<std::string>& DefaultEscalationPhrases() {
  static const auto* phrases = new std::vector<std::string>{
      "人工",           "真人",         "客服人员",        "找客服",          "agent",
      "human",          "real person",  "live person",     "a person",        "operator",
      "representative", "someone real", "talk to someone", "speak to someone"};
  return *phrases;
}

bool AsksForHuman(absl::string_view message, const std::vector<std::string>& phrases) {
  std::string text = absl::StrReplaceAll(FoldText(message), {{"人工智能", " "}});
  for (const std::string& raw : phrases.empty() ? DefaultEscalationPhrases() : phrases) {
    const std::string phrase = FoldText(raw);
    if (phrase.empty()) continue;
    if (HasHan(phrase)) {
      if (absl::string_view(text).find(phrase) != absl::string_view::npos) return true;
    } else if (ContainsWords(text, phrase)) {
      return true;
    }
  }
  return false;
}

bool IsLowConfidence(const std::vector<double>& scores, const BotPolicy& policy) {
  const double top = scores.empty() ? 0.0 : scores[0];
  return !(top >= policy.answer_threshold && ClearlyAhead(scores));
}

TurnOutcome Decide(const TurnInput& input, const BotPolicy& policy) {
  TurnOutcome out;
  const double top = input.scores.empty() ? 0.0 : input.scores[0];
  if (input.asks_for_human) {
    out.decision = Decision::kEscalate;
    out.reason = EscalationReason::kCustomerRequest;
    return out;
  }
  if (top < policy.clarify_threshold) {
    out.decision = Decision::kEscalate;
    out.low_confidence = true;
    out.reason = input.best_excluded >= policy.clarify_threshold && input.best_excluded > top
                     ? EscalationReason::kOutOfScope
                     : EscalationReason::kLowConfidence;
    return out;
  }
  if (top >= policy.answer_threshold && ClearlyAhead(input.scores)) {
    out.decision = Decision::kAnswer;
    out.shown = 1;
    return out;
  }
  out.low_confidence = true;
  if (input.prior_low_streak + 1 > policy.max_low_confidence_turns) {
    out.decision = Decision::kEscalate;
    out.reason = EscalationReason::kRepeatedLowConfidence;
    return out;
  }
  out.decision = Decision::kClarify;
  int shown = 0;
  for (double score : input.scores) {
    if (shown >= std::max(1, policy.max_choices)) break;
    if (shown > 0 && (score < policy.clarify_threshold || score < top * kChoiceShare)) break;
    ++shown;
  }
  out.shown = shown;
  return out;
}

}  // namespace kefu::kb
