// The kb handlers' request validation (F40-F43), on the request protos as they arrive:
// the selector byte picks the RPC, the rest is parsed as its request. The checks run in
// the order the handlers run them (knowledge_admin_service.cc, canned_phrase_service.cc),
// and whatever passes must really hold what docs/API.md promises.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "kefu/kb/v1/canned_phrase.pb.h"
#include "kefu/kb/v1/knowledge_admin.pb.h"
#include "services/kb/validation.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

namespace v1 = kefu::kb::v1;
using kefu::fuzz::CodePoints;
using kefu::fuzz::IsUtf8;

bool ValidText(absl::string_view text, size_t max_chars, bool required) {
  return IsUtf8(text) && CodePoints(text) <= max_chars &&
         (!required || !absl::StripAsciiWhitespace(text).empty());
}

template <typename Request>
bool Parse(absl::string_view bytes, Request* request) {
  return request->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

void Entry(v1::Entry entry) {
  kefu::kb::NormalizeEntry(&entry);
  const std::string once = entry.SerializeAsString();
  v1::Entry twice = entry;
  kefu::kb::NormalizeEntry(&twice);
  KEFU_FUZZ_CHECK(twice.SerializeAsString() == once, "NormalizeEntry is idempotent");
  if (!kefu::kb::ValidateEntry(entry).ok()) return;
  KEFU_FUZZ_CHECK(ValidText(entry.question(), kefu::kb::kMaxQuestionChars, true),
                  "a valid entry's question is 1-500 characters of UTF-8");
  KEFU_FUZZ_CHECK(ValidText(entry.answer(), kefu::kb::kMaxAnswerChars, true),
                  "a valid entry's answer is 1-10000 characters of UTF-8");
  KEFU_FUZZ_CHECK(static_cast<size_t>(entry.keywords_size()) <= kefu::kb::kMaxKeywords,
                  "at most 30 keywords");
  for (const std::string& keyword : entry.keywords()) {
    KEFU_FUZZ_CHECK(ValidText(keyword, kefu::kb::kMaxKeywordChars, true),
                    "keywords are 1-64 characters of UTF-8");
  }
  KEFU_FUZZ_CHECK(static_cast<size_t>(entry.phrasings_size()) <= kefu::kb::kMaxPhrasings,
                  "at most 50 phrasings");
  KEFU_FUZZ_CHECK(entry.status() != v1::ENTRY_STATUS_PUBLISHED || entry.keywords_size() > 0,
                  "a published entry has a keyword");
}

void Bot(v1::Bot bot) {
  kefu::kb::NormalizeBot(&bot);
  if (!kefu::kb::ValidateBot(bot).ok()) return;
  KEFU_FUZZ_CHECK(bot.answer_threshold() >= 0 && bot.answer_threshold() <= 1,
                  "a valid bot's answer_threshold is in [0, 1]");
  KEFU_FUZZ_CHECK(bot.clarify_threshold() >= 0 && bot.clarify_threshold() <= bot.answer_threshold(),
                  "a valid bot's clarify_threshold is in [0, answer_threshold]");
  KEFU_FUZZ_CHECK(bot.max_choices() >= 1 && bot.max_choices() <= 10, "max_choices is 1-10");
  KEFU_FUZZ_CHECK(ValidText(bot.name(), 100, true), "a valid bot's name is 1-100 characters");
  KEFU_FUZZ_CHECK(!bot.auto_online() || bot.online(), "an auto-online bot is online");
}

void Phrase(const v1::Phrase& phrase) {
  if (!kefu::kb::ValidatePhrase(phrase).ok()) return;
  KEFU_FUZZ_CHECK(ValidText(phrase.text(), 2000, true), "a phrase's text is 1-2000 characters");
  KEFU_FUZZ_CHECK(phrase.shortcut().size() <= 32, "a shortcut is at most 32 characters");
}

template <typename Request, typename Apply>
void Update(absl::string_view bytes, const std::vector<std::string>& allowed, Apply apply) {
  Request request;
  if (!Parse(bytes, &request)) return;
  auto paths = kefu::kb::MaskPaths(request.update_mask(), allowed);
  if (!paths.ok()) return;
  for (const std::string& path : *paths) {
    KEFU_FUZZ_CHECK(std::find(allowed.begin(), allowed.end(), path) != allowed.end(),
                    "MaskPaths returns only allowed paths");
  }
  apply(request, *paths);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto [selector, bytes] = kefu::fuzz::Select(data, size);
  switch (selector % 10) {
    case 0: {
      v1::CreateCategoryRequest request;
      if (Parse(bytes, &request)) (void)kefu::kb::ValidateCategory(request.category());
      break;
    }
    case 1:
      Update<v1::UpdateCategoryRequest>(
          bytes, {"parent_id", "name", "sort_order"},
          [](const v1::UpdateCategoryRequest& request, const std::vector<std::string>& paths) {
            v1::Category stored;
            stored.mutable_name()->set_zh("物流");
            kefu::kb::ApplyCategoryMask(request.category(), paths, &stored);
            (void)kefu::kb::ValidateCategory(stored);
          });
      break;
    case 2: {
      v1::CreateEntryRequest request;
      if (Parse(bytes, &request)) Entry(request.entry());
      break;
    }
    case 3:
      Update<v1::UpdateEntryRequest>(
          bytes, kefu::kb::EntryPaths(),
          [](const v1::UpdateEntryRequest& request, const std::vector<std::string>& paths) {
            v1::Entry stored;
            stored.set_question("退货运费谁出?");
            stored.set_answer("买家承担。");
            stored.add_keywords("退货");
            stored.set_status(v1::ENTRY_STATUS_PUBLISHED);
            kefu::kb::ApplyEntryMask(request.entry(), paths, &stored);
            Entry(stored);
          });
      break;
    case 4: {
      v1::ImportEntriesRequest request;
      if (!Parse(bytes, &request)) break;
      for (const v1::ImportError& error : kefu::kb::ValidateImport(request)) {
        KEFU_FUZZ_CHECK(error.index() >= 0 && error.index() <= request.entries_size(),
                        "an import error names a line of the request");
        KEFU_FUZZ_CHECK(!error.field().empty() && !error.message().empty(),
                        "an import error names the field and the problem");
      }
      break;
    }
    case 5: {
      v1::CreateBotRequest request;
      if (Parse(bytes, &request)) Bot(request.bot());
      break;
    }
    case 6:
      Update<v1::UpdateBotRequest>(
          bytes, kefu::kb::BotPaths(),
          [](const v1::UpdateBotRequest& request, const std::vector<std::string>& paths) {
            v1::Bot stored;
            stored.set_name("小助手");
            kefu::kb::ApplyBotMask(request.bot(), paths, &stored);
            Bot(stored);
          });
      break;
    case 7: {
      v1::CreatePhraseCategoryRequest request;
      if (Parse(bytes, &request)) {
        if (kefu::kb::ValidatePhraseCategory(request.category()).ok()) {
          KEFU_FUZZ_CHECK(ValidText(request.category().name(), 50, true),
                          "a phrase category's name is 1-50 characters");
        }
      }
      break;
    }
    case 8: {
      v1::CreatePhraseRequest request;
      if (Parse(bytes, &request)) Phrase(request.phrase());
      break;
    }
    case 9:
      Update<v1::UpdatePhraseRequest>(
          bytes, kefu::kb::PhrasePaths(),
          [](const v1::UpdatePhraseRequest& request, const std::vector<std::string>& paths) {
            v1::Phrase stored;
            stored.set_scope(v1::PHRASE_SCOPE_PUBLIC);
            stored.set_text("您好,请问有什么可以帮您?");
            kefu::kb::ApplyPhraseMask(request.phrase(), paths, &stored);
            Phrase(stored);
          });
      break;
  }
  return 0;
}
