#include "services/kb/validation.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "libs/common/status.h"
#include "libs/common/status_macros.h"
#include "services/kb/decision.h"
#include "services/kb/text.h"

namespace kefu::kb {
namespace {

using kefu::common::v1::LANGUAGE_EN;
using kefu::common::v1::LANGUAGE_UNSPECIFIED;
using kefu::common::v1::LANGUAGE_ZH;

bool ValidUtf8(absl::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t before = pos;
    if (NextCodePoint(text, &pos) == 0xFFFD) {
      // U+FFFD itself is three bytes EF BF BD; a decoding error advances one byte.
      if (pos - before != 3) return false;
    }
  }
  return true;
}

std::string Trim(absl::string_view text) { return std::string(absl::StripAsciiWhitespace(text)); }

// Trims, drops empty and repeated items (keeping the first), in order.
void CleanList(google::protobuf::RepeatedPtrField<std::string>* list) {
  absl::flat_hash_set<std::string> seen;
  google::protobuf::RepeatedPtrField<std::string> out;
  for (const std::string& item : *list) {
    std::string t = Trim(item);
    if (t.empty() || !seen.insert(FoldText(t)).second) continue;
    out.Add(std::move(t));
  }
  list->Swap(&out);
}

absl::Status CheckList(absl::string_view field,
                       const google::protobuf::RepeatedPtrField<std::string>& items,
                       size_t max_items, size_t max_chars) {
  if (static_cast<size_t>(items.size()) > max_items) {
    return InvalidField(field, absl::StrCat("at most ", max_items, " items"));
  }
  for (int i = 0; i < items.size(); ++i) {
    KEFU_RETURN_IF_ERROR(
        CheckText(absl::StrCat(field, "[", i, "]"), items[i], max_chars, /*required=*/true));
  }
  return absl::OkStatus();
}

bool Has(const std::vector<std::string>& paths, absl::string_view path) {
  return std::find(paths.begin(), paths.end(), path) != paths.end();
}

absl::Status CheckLanguage(absl::string_view field, kefu::common::v1::Language language) {
  if (!kefu::common::v1::Language_IsValid(language)) return InvalidField(field, "unknown value");
  return absl::OkStatus();
}

absl::Status CheckLocalized(absl::string_view field, const kefu::common::v1::LocalizedText& text,
                            size_t max_chars) {
  KEFU_RETURN_IF_ERROR(CheckText(absl::StrCat(field, ".zh"), text.zh(), max_chars, false));
  return CheckText(absl::StrCat(field, ".en"), text.en(), max_chars, false);
}

bool IsShortcutChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

}  // namespace

absl::Status CheckText(absl::string_view field, absl::string_view text, size_t max_chars,
                       bool required) {
  if (required && absl::StripAsciiWhitespace(text).empty()) return InvalidField(field, "required");
  if (!ValidUtf8(text)) return InvalidField(field, "not valid UTF-8");
  if (CodePointCount(text) > max_chars) {
    return InvalidField(field, absl::StrCat("longer than ", max_chars, " characters"));
  }
  return absl::OkStatus();
}

absl::Status CheckClientId(absl::string_view field, absl::string_view id) {
  if (id.empty() || id.size() > 64) return InvalidField(field, "1 to 64 characters");
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != ':' &&
        c != '-') {
      return InvalidField(field, "use letters, digits and . _ : - only");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckId(absl::string_view field, absl::string_view id) {
  if (id.empty()) return InvalidField(field, "required");
  if (id.size() > 64) return InvalidField(field, "longer than 64 characters");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> MaskPaths(const google::protobuf::FieldMask& mask,
                                                   const std::vector<std::string>& allowed) {
  if (mask.paths().empty()) return allowed;
  std::vector<std::string> paths;
  for (const std::string& path : mask.paths()) {
    if (!Has(allowed, path)) {
      return InvalidField("update_mask", absl::StrCat("unknown or read-only field \"", path,
                                                      "\"; use ", absl::StrJoin(allowed, ", ")));
    }
    paths.push_back(path);
  }
  return paths;
}

// --- Categories -------------------------------------------------------------------------

absl::Status ValidateCategory(const v1::Category& category) {
  KEFU_RETURN_IF_ERROR(CheckLocalized("category.name", category.name(), 100));
  if (Trim(category.name().zh()).empty() && Trim(category.name().en()).empty()) {
    return InvalidField("category.name", "give a Chinese or an English name");
  }
  if (category.parent_id().size() > 64) {
    return InvalidField("category.parent_id", "longer than 64 characters");
  }
  return absl::OkStatus();
}

void ApplyCategoryMask(const v1::Category& from, const std::vector<std::string>& paths,
                       v1::Category* to) {
  if (Has(paths, "parent_id")) to->set_parent_id(from.parent_id());
  if (Has(paths, "name")) *to->mutable_name() = from.name();
  if (Has(paths, "sort_order")) to->set_sort_order(from.sort_order());
}

// --- Entries ----------------------------------------------------------------------------

void NormalizeEntry(v1::Entry* entry) {
  entry->set_question(Trim(entry->question()));
  entry->set_answer(Trim(entry->answer()));
  CleanList(entry->mutable_phrasings());
  CleanList(entry->mutable_keywords());
  if (entry->language() == LANGUAGE_UNSPECIFIED) {
    switch (DetectLanguage(entry->question())) {
      case TextLanguage::kEnglish:
        entry->set_language(LANGUAGE_EN);
        break;
      case TextLanguage::kChinese:
      case TextLanguage::kUnknown:
        entry->set_language(LANGUAGE_ZH);
        break;
    }
  }
  if (entry->status() == v1::ENTRY_STATUS_UNSPECIFIED) entry->set_status(v1::ENTRY_STATUS_DRAFT);
}

absl::Status ValidateEntry(const v1::Entry& entry, absl::string_view prefix) {
  const auto f = [&](absl::string_view name) { return absl::StrCat(prefix, ".", name); };
  KEFU_RETURN_IF_ERROR(CheckText(f("question"), entry.question(), kMaxQuestionChars, true));
  KEFU_RETURN_IF_ERROR(
      CheckList(f("phrasings"), entry.phrasings(), kMaxPhrasings, kMaxQuestionChars));
  KEFU_RETURN_IF_ERROR(CheckList(f("keywords"), entry.keywords(), kMaxKeywords, kMaxKeywordChars));
  KEFU_RETURN_IF_ERROR(CheckText(f("answer"), entry.answer(), kMaxAnswerChars, true));
  if (entry.category_id().size() > 64) {
    return InvalidField(f("category_id"), "longer than 64 characters");
  }
  if (!v1::EntryStatus_IsValid(entry.status()) || entry.status() == v1::ENTRY_STATUS_UNSPECIFIED) {
    return InvalidField(f("status"), "DRAFT or PUBLISHED");
  }
  KEFU_RETURN_IF_ERROR(CheckLanguage(f("language"), entry.language()));
  if (entry.status() == v1::ENTRY_STATUS_PUBLISHED && entry.keywords().empty()) {
    return InvalidField(f("keywords"),
                        "a published entry needs at least one keyword (questions are found by "
                        "their keywords)");
  }
  return absl::OkStatus();
}

void ApplyEntryMask(const v1::Entry& from, const std::vector<std::string>& paths, v1::Entry* to) {
  if (Has(paths, "category_id")) to->set_category_id(from.category_id());
  if (Has(paths, "question")) to->set_question(from.question());
  if (Has(paths, "phrasings")) *to->mutable_phrasings() = from.phrasings();
  if (Has(paths, "keywords")) *to->mutable_keywords() = from.keywords();
  if (Has(paths, "answer")) to->set_answer(from.answer());
  if (Has(paths, "status")) to->set_status(from.status());
  if (Has(paths, "language")) to->set_language(from.language());
}

std::vector<v1::ImportError> ValidateImport(const v1::ImportEntriesRequest& request) {
  std::vector<v1::ImportError> errors;
  const auto add = [&](int index, absl::string_view field, absl::string_view message) {
    v1::ImportError e;
    e.set_index(index);
    e.set_field(std::string(field));
    e.set_message(std::string(message));
    errors.push_back(std::move(e));
  };
  if (request.entries_size() > kMaxImportEntries) {
    add(0, "entries", absl::StrCat("at most ", kMaxImportEntries, " entries a request"));
    return errors;
  }
  const v1::EntryStatus status = request.status() == v1::ENTRY_STATUS_UNSPECIFIED
                                     ? v1::ENTRY_STATUS_PUBLISHED
                                     : request.status();
  absl::flat_hash_set<std::string> ids;
  for (int i = 0; i < request.entries_size(); ++i) {
    const int index = i + 1;
    v1::Entry entry = request.entries(i).entry();
    const std::string& name = request.entries(i).category_name();
    if (!entry.entry_id().empty()) {
      if (auto st = CheckClientId("id", entry.entry_id()); !st.ok()) {
        add(index, "id", st.message().substr(st.message().find(':') + 2));
        continue;
      }
      if (!ids.insert(entry.entry_id()).second) {
        add(index, "id", absl::StrCat("\"", entry.entry_id(), "\" appears twice in the import"));
        continue;
      }
    }
    if (auto st = CheckText("category", name, 100, false); !st.ok()) {
      add(index, "category", "longer than 100 characters or not UTF-8");
      continue;
    }
    NormalizeEntry(&entry);
    entry.set_status(status);
    if (auto st = ValidateEntry(entry, "entry"); !st.ok()) {
      // "entry.keywords[2]: empty" -> field "keywords[2]", message "empty".
      const absl::string_view message = st.message();
      const size_t colon = message.find(": ");
      const absl::string_view field =
          colon == absl::string_view::npos ? absl::string_view("entry") : message.substr(0, colon);
      add(index, absl::StripPrefix(field, "entry."),
          colon == absl::string_view::npos ? message : message.substr(colon + 2));
    }
  }
  return errors;
}

// --- Bots -------------------------------------------------------------------------------

void NormalizeBot(v1::Bot* bot) {
  bot->set_name(Trim(bot->name()));
  const BotPolicy defaults;
  if (bot->answer_threshold() == 0) bot->set_answer_threshold(defaults.answer_threshold);
  if (bot->clarify_threshold() == 0) bot->set_clarify_threshold(defaults.clarify_threshold);
  if (bot->max_choices() == 0) bot->set_max_choices(defaults.max_choices);
  if (bot->max_low_confidence_turns() == 0) {
    bot->set_max_low_confidence_turns(defaults.max_low_confidence_turns);
  }
  CleanList(bot->mutable_category_ids());
  CleanList(bot->mutable_escalation_phrases());
  // 53KF 2.4: 自动上线的机器人永远在线,无法修改.
  if (bot->auto_online()) bot->set_online(true);
}

absl::Status ValidateBot(const v1::Bot& bot) {
  KEFU_RETURN_IF_ERROR(CheckText("bot.name", bot.name(), 100, true));
  // Written as "not inside" so that NaN, which fails every comparison, is refused too.
  if (!(bot.answer_threshold() >= 0 && bot.answer_threshold() <= 1)) {
    return InvalidField("bot.answer_threshold", "between 0 and 1");
  }
  if (!(bot.clarify_threshold() >= 0 && bot.clarify_threshold() <= bot.answer_threshold())) {
    return InvalidField("bot.clarify_threshold", "between 0 and answer_threshold");
  }
  if (bot.max_choices() < 1 || bot.max_choices() > 10) {
    return InvalidField("bot.max_choices", "between 1 and 10");
  }
  if (bot.max_low_confidence_turns() < 1 || bot.max_low_confidence_turns() > 20) {
    return InvalidField("bot.max_low_confidence_turns", "between 1 and 20");
  }
  if (bot.category_ids_size() > 200) return InvalidField("bot.category_ids", "at most 200");
  for (int i = 0; i < bot.category_ids_size(); ++i) {
    KEFU_RETURN_IF_ERROR(CheckId(absl::StrCat("bot.category_ids[", i, "]"), bot.category_ids(i)));
  }
  KEFU_RETURN_IF_ERROR(CheckList("bot.escalation_phrases", bot.escalation_phrases(), 50, 64));
  KEFU_RETURN_IF_ERROR(CheckLocalized("bot.greeting", bot.greeting(), 500));
  KEFU_RETURN_IF_ERROR(CheckLocalized("bot.escalation_message", bot.escalation_message(), 500));
  return CheckLanguage("bot.language", bot.language());
}

void ApplyBotMask(const v1::Bot& from, const std::vector<std::string>& paths, v1::Bot* to) {
  if (Has(paths, "name")) to->set_name(from.name());
  if (Has(paths, "online")) to->set_online(from.online());
  if (Has(paths, "auto_online")) to->set_auto_online(from.auto_online());
  if (Has(paths, "hidden")) to->set_hidden(from.hidden());
  if (Has(paths, "accept_transfer")) to->set_accept_transfer(from.accept_transfer());
  if (Has(paths, "category_ids")) *to->mutable_category_ids() = from.category_ids();
  if (Has(paths, "answer_threshold")) to->set_answer_threshold(from.answer_threshold());
  if (Has(paths, "clarify_threshold")) to->set_clarify_threshold(from.clarify_threshold());
  if (Has(paths, "max_choices")) to->set_max_choices(from.max_choices());
  if (Has(paths, "max_low_confidence_turns")) {
    to->set_max_low_confidence_turns(from.max_low_confidence_turns());
  }
  if (Has(paths, "escalation_phrases")) {
    *to->mutable_escalation_phrases() = from.escalation_phrases();
  }
  if (Has(paths, "greeting")) *to->mutable_greeting() = from.greeting();
  if (Has(paths, "escalation_message")) {
    *to->mutable_escalation_message() = from.escalation_message();
  }
  if (Has(paths, "language")) to->set_language(from.language());
}

// --- Canned phrases ---------------------------------------------------------------------

absl::Status ValidatePhraseCategory(const v1::PhraseCategory& category) {
  if (category.scope() != v1::PHRASE_SCOPE_PERSONAL &&
      category.scope() != v1::PHRASE_SCOPE_PUBLIC) {
    return InvalidField("category.scope", "PERSONAL or PUBLIC");
  }
  return CheckText("category.name", category.name(), 50, true);
}

absl::Status ValidatePhrase(const v1::Phrase& phrase) {
  if (phrase.scope() != v1::PHRASE_SCOPE_PERSONAL && phrase.scope() != v1::PHRASE_SCOPE_PUBLIC) {
    return InvalidField("phrase.scope", "PERSONAL or PUBLIC");
  }
  KEFU_RETURN_IF_ERROR(CheckText("phrase.title", phrase.title(), 100, false));
  KEFU_RETURN_IF_ERROR(CheckText("phrase.text", phrase.text(), 2000, true));
  if (phrase.shortcut().size() > 32 ||
      !std::all_of(phrase.shortcut().begin(), phrase.shortcut().end(), IsShortcutChar)) {
    return InvalidField("phrase.shortcut", "up to 32 letters, digits, _ or -");
  }
  if (phrase.category_id().size() > 64) {
    return InvalidField("phrase.category_id", "longer than 64 characters");
  }
  return CheckLanguage("phrase.language", phrase.language());
}

void ApplyPhraseMask(const v1::Phrase& from, const std::vector<std::string>& paths,
                     v1::Phrase* to) {
  if (Has(paths, "category_id")) to->set_category_id(from.category_id());
  if (Has(paths, "title")) to->set_title(from.title());
  if (Has(paths, "text")) to->set_text(from.text());
  if (Has(paths, "shortcut")) to->set_shortcut(from.shortcut());
  if (Has(paths, "language")) to->set_language(from.language());
  if (Has(paths, "sort_order")) to->set_sort_order(from.sort_order());
}

}  // namespace kefu::kb
