#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/field_mask.pb.h"
#include "kefu/kb/v1/canned_phrase.pb.h"
#include "kefu/kb/v1/knowledge_admin.pb.h"

// Input rules of the kb API (F40-F43). Every failure is INVALID_ARGUMENT naming the field
// ("entry.keywords[2]: empty keyword"); nothing is written when one fails.
namespace kefu::kb {

inline constexpr size_t kMaxQuestionChars = 500;
inline constexpr size_t kMaxAnswerChars = 10000;
inline constexpr size_t kMaxPhrasings = 50;
inline constexpr size_t kMaxKeywords = 30;
inline constexpr size_t kMaxKeywordChars = 64;
inline constexpr int kMaxImportEntries = 20000;
inline constexpr size_t kMaxAskChars = 2000;
inline constexpr int kMaxConversation = 200;

// Text of at most `max_chars` code points, valid UTF-8; `required` refuses "".
absl::Status CheckText(absl::string_view field, absl::string_view text, size_t max_chars,
                       bool required);
// Ids a client may choose (imported entries): 1-64 of [A-Za-z0-9._:-].
absl::Status CheckClientId(absl::string_view field, absl::string_view id);
// Ids the server issued: non-empty, at most 64 bytes.
absl::Status CheckId(absl::string_view field, absl::string_view id);

// Paths of `mask` must be among `allowed`; an empty mask means all of them.
absl::StatusOr<std::vector<std::string>> MaskPaths(const google::protobuf::FieldMask& mask,
                                                   const std::vector<std::string>& allowed);

// Categories (F40).
absl::Status ValidateCategory(const v1::Category& category);
void ApplyCategoryMask(const v1::Category& from, const std::vector<std::string>& paths,
                       v1::Category* to);

// Entries (F40): trims text, drops repeated keywords and phrasings, detects the language
// when unset; defaults the status to DRAFT. A published entry needs a keyword: the 53KF
// manual finds questions by their keywords (只有设置了关键词的问题,才可能被搜索到).
void NormalizeEntry(v1::Entry* entry);
absl::Status ValidateEntry(const v1::Entry& entry, absl::string_view prefix = "entry");
void ApplyEntryMask(const v1::Entry& from, const std::vector<std::string>& paths, v1::Entry* to);
inline const std::vector<std::string>& EntryPaths() {
  static const auto* paths = new std::vector<std::string>{
      "category_id", "question", "phrasings", "keywords", "answer", "status", "language"};
  return *paths;
}

// One import line: its problems, each with the field at fault (ImportError).
std::vector<v1::ImportError> ValidateImport(const v1::ImportEntriesRequest& request);

// Bots (F41, F42): fills defaults (thresholds 0.55 / 0.3, 3 choices, 2 unsure turns); an
// auto-online bot is online.
void NormalizeBot(v1::Bot* bot);
absl::Status ValidateBot(const v1::Bot& bot);
void ApplyBotMask(const v1::Bot& from, const std::vector<std::string>& paths, v1::Bot* to);
inline const std::vector<std::string>& BotPaths() {
  static const auto* paths = new std::vector<std::string>{"name",
                                                          "online",
                                                          "auto_online",
                                                          "hidden",
                                                          "accept_transfer",
                                                          "category_ids",
                                                          "answer_threshold",
                                                          "clarify_threshold",
                                                          "max_choices",
                                                          "max_low_confidence_turns",
                                                          "escalation_phrases",
                                                          "greeting",
                                                          "escalation_message",
                                                          "language"};
  return *paths;
}

// Canned phrases (F43).
absl::Status ValidatePhraseCategory(const v1::PhraseCategory& category);
absl::Status ValidatePhrase(const v1::Phrase& phrase);
void ApplyPhraseMask(const v1::Phrase& from, const std::vector<std::string>& paths, v1::Phrase* to);
inline const std::vector<std::string>& PhrasePaths() {
  static const auto* paths = new std::vector<std::string>{"category_id", "title",    "text",
                                                          "shortcut",    "language", "sort_order"};
  return *paths;
}

}  // namespace kefu::kb
