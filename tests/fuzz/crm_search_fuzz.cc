// Dialog search criteria (F51): SearchDialogs' request checks as record_service.cc runs
// them, the full-text words, the page token, and the snippets shown with each hit.
// Selector byte: below 128 the rest is a SearchDialogsRequest; otherwise raw text, split at
// the first NUL into the search text and a transcript line to cut a snippet from.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "kefu/crm/v1/record.pb.h"
#include "services/crm/paging.h"
#include "services/crm/search_text.h"
#include "services/crm/validation.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

namespace v1 = kefu::crm::v1;
namespace common = kefu::common::v1;
using kefu::fuzz::IsUtf8;

constexpr absl::string_view kTranscript =
    "客户:你好,我要退货,运费谁出?Agent: Sorry <for> the delay & thanks; REFUND approved.";

// A snippet is a slice of the text with marks, escapes and ellipses added, nothing else.
void CheckSnippet(absl::string_view text, const std::string& snippet, bool utf8_words = true) {
  if (snippet.empty()) return;
  std::string plain = absl::StrReplaceAll(snippet, {{"<em>", ""}, {"</em>", ""}});
  KEFU_FUZZ_CHECK(plain.find('<') == std::string::npos && plain.find('>') == std::string::npos,
                  "a snippet has no markup but <em>");
  if (absl::StartsWith(plain, "…")) plain.erase(0, 3);
  if (absl::EndsWith(plain, "…")) plain.resize(plain.size() - 3);
  plain = absl::StrReplaceAll(plain, {{"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}});
  KEFU_FUZZ_CHECK(absl::StrContains(text, plain), "a snippet shows a slice of the text");
  // Checked words are UTF-8, so in UTF-8 text they match on character boundaries.
  KEFU_FUZZ_CHECK(!utf8_words || !IsUtf8(text) || IsUtf8(snippet), "a snippet of UTF-8 is UTF-8");
}

void CheckWords(const std::vector<std::string>& words) {
  KEFU_FUZZ_CHECK(words.size() <= kefu::crm::kMaxSearchWords, "at most 10 words");
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    KEFU_FUZZ_CHECK(!word.empty() && IsUtf8(word), "words are non-empty UTF-8");
    KEFU_FUZZ_CHECK(kefu::fuzz::CodePoints(word) <= kefu::crm::kMaxSearchWordChars,
                    "words are at most 100 characters");
    KEFU_FUZZ_CHECK(word.find_first_of(" \t\r\n") == std::string::npos &&
                        !absl::StrContains(word, "\xe3\x80\x80"),
                    "words hold no spaces");
    for (size_t j = 0; j < i; ++j) KEFU_FUZZ_CHECK(words[j] != word, "no repeated word");
  }
}

template <typename Repeated>
bool EnumsValid(absl::string_view field, const Repeated& values, bool (*is_valid)(int)) {
  for (int value : values) {
    if (!kefu::crm::CheckEnum(field, value, is_valid, true).ok()) return false;
  }
  return true;
}

bool IdsValid(const google::protobuf::RepeatedPtrField<std::string>& ids) {
  if (ids.size() > 100) return false;
  for (const std::string& id : ids) {
    if (!kefu::crm::CheckId("ids", id).ok()) return false;
  }
  return true;
}

void Request(absl::string_view bytes) {
  v1::SearchDialogsRequest request;
  if (!request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;
  if (!IdsValid(request.agent_ids()) || !IdsValid(request.department_ids())) return;
  if (!kefu::crm::CheckOptionalId("customer_id", request.customer_id()).ok()) return;
  if (!kefu::crm::CheckText("text", request.text(), 500).ok()) return;
  auto words = kefu::crm::SplitSearchWords("text", request.text());
  if (!words.ok()) return;
  CheckWords(*words);
  CheckSnippet(kTranscript, kefu::crm::MakeSnippet(kTranscript, *words));
  if (!EnumsValid("end_types", request.end_types(), common::DialogEndType_IsValid) ||
      !EnumsValid("channels", request.channels(), common::Channel_IsValid) ||
      !EnumsValid("initiations", request.initiations(), common::DialogInitiation_IsValid)) {
    return;
  }
  auto page = kefu::crm::PageOf(request, request.page_size(), request.page_token());
  if (page.ok()) {
    KEFU_FUZZ_CHECK(page->limit >= 1 && page->limit <= kefu::crm::kMaxPageSize,
                    "a page holds 1-500 rows");
  }
  // A token made for these filters gives its cursor back, for these filters only.
  const std::string fingerprint = kefu::crm::FilterFingerprint(request);
  const std::string cursor = request.text() + "|" + request.customer_id();
  const std::string token = kefu::crm::EncodePageToken(fingerprint, cursor);
  auto decoded = kefu::crm::DecodePageToken(token, fingerprint);
  KEFU_FUZZ_CHECK(decoded.ok() && *decoded == cursor, "a page token round-trips");
  v1::SearchDialogsRequest other = request;
  other.set_min_score(request.min_score() ^ 1);
  KEFU_FUZZ_CHECK(!kefu::crm::DecodePageToken(token, kefu::crm::FilterFingerprint(other)).ok(),
                  "a page token is refused for other filters");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto [selector, bytes] = kefu::fuzz::Select(data, size);
  if (selector < 128) {
    Request(bytes);
    return 0;
  }
  const size_t nul = bytes.find('\0');
  const absl::string_view query = bytes.substr(0, nul);
  const absl::string_view text =
      nul == absl::string_view::npos ? kTranscript : bytes.substr(nul + 1);
  (void)kefu::crm::DecodePageToken(query, "0123456789abcdef");
  auto words = kefu::crm::SplitSearchWords("text", query);
  if (words.ok()) {
    CheckWords(*words);
    CheckSnippet(text, kefu::crm::MakeSnippet(text, *words));
  }
  // Snippets of words that never went through the checks (a stored transcript is any text).
  CheckSnippet(text, kefu::crm::MakeSnippet(text, {std::string(query.substr(0, 8)), "<", "&"}),
               /*utf8_words=*/false);
  return 0;
}
