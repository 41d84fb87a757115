#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

// What a bot does with a customer's message (F41, F42): answer, offer choices, or hand
// over to a human. Pure functions of scores, the bot's settings and the conversation.
namespace kefu::kb {

enum class Decision { kAnswer, kClarify, kEscalate };

enum class EscalationReason {
  kNone,
  kCustomerRequest,        // "人工", "agent"
  kLowConfidence,          // best score below the clarify threshold
  kRepeatedLowConfidence,  // too many unsure turns in a row
  kOutOfScope,             // only categories outside the bot's memory match
  kBotUnavailable,         // offline, or hidden while a human is online
};

// The per-bot settings the decision reads (Bot in knowledge_admin.proto).
struct BotPolicy {
  double answer_threshold = 0.55;
  double clarify_threshold = 0.3;
  int max_choices = 3;
  int max_low_confidence_turns = 2;
  // Empty: DefaultEscalationPhrases().
  std::vector<std::string> escalation_phrases;
};

// The top answer must lead the second by this share of its score to be sent alone.
inline constexpr double kClearLead = 0.12;
// A CLARIFY choice scores at least this share of the best one.
inline constexpr double kChoiceShare = 0.6;

const std::vector<std::string>& DefaultEscalationPhrases();

// True when the message asks for a person: a phrase with Han characters matches
// anywhere in the message ("我要转人工"), an English one as whole words ("talk to an
// agent", not "agentless"). "人工智能" (AI) is not a request for a human.
bool AsksForHuman(absl::string_view message, const std::vector<std::string>& phrases);

struct TurnInput {
  // Scores of the in-scope candidates, best first.
  std::vector<double> scores;
  // Best score outside the bot's categories.
  double best_excluded = 0;
  bool asks_for_human = false;
  // Consecutive unsure turns just before this one.
  int prior_low_streak = 0;
};

struct TurnOutcome {
  Decision decision = Decision::kEscalate;
  EscalationReason reason = EscalationReason::kNone;
  // How many of the candidates to show: 1 for ANSWER, the choices for CLARIFY.
  int shown = 0;
  // Whether this turn counts as unsure for the next one's streak.
  bool low_confidence = false;
};

// ANSWER: top >= answer threshold and clearly ahead of the second.
// CLARIFY: top >= clarify threshold otherwise, offering up to max_choices close ones.
// ESCALATE: the customer asked; top < clarify threshold (out of scope when a category
// outside the bot's memory would have answered); or a CLARIFY that would make more than
// max_low_confidence_turns unsure turns in a row.
TurnOutcome Decide(const TurnInput& input, const BotPolicy& policy);

// A past customer turn for the streak: true when it was unsure (CLARIFY or low).
bool IsLowConfidence(const std::vector<double>& scores, const BotPolicy& policy);

}  // namespace kefu::kb
