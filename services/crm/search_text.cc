#include "services/crm/search_text.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "libs/common/status.h"
#include "services/crm/validation.h"

namespace kefu::crm {
namespace {

constexpr absl::string_view kIdeographicSpace = "\xe3\x80\x80";
constexpr size_t kBeforeChars = 20;
constexpr size_t kAfterChars = 60;

bool IsContinuation(char c) { return (static_cast<unsigned char>(c) & 0xc0) == 0x80; }

// Moves `pos` back by up to `chars` code points.
size_t BackChars(absl::string_view text, size_t pos, size_t chars) {
  while (pos > 0 && chars > 0) {
    --pos;
    while (pos > 0 && IsContinuation(text[pos])) --pos;
    --chars;
  }
  return pos;
}

size_t ForwardChars(absl::string_view text, size_t pos, size_t chars) {
  while (pos < text.size() && chars > 0) {
    ++pos;
    while (pos < text.size() && IsContinuation(text[pos])) ++pos;
    --chars;
  }
  return pos;
}

std::string Escape(absl::string_view text) {
  return absl::StrReplaceAll(text, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}});
}

}  // namespace

absl::StatusOr<std::vector<std::string>> SplitSearchWords(absl::string_view field,
                                                          absl::string_view text) {
  const std::string spaced = absl::StrReplaceAll(text, {{kIdeographicSpace, " "}});
  std::vector<std::string> words;
  for (absl::string_view word :
       absl::StrSplit(spaced, absl::ByAnyChar(" \t\r\n"), absl::SkipEmpty())) {
    if (Utf8Length(word) > kMaxSearchWordChars) {
      return InvalidField(field,
                          absl::StrCat("words are at most ", kMaxSearchWordChars, " characters"));
    }
    if (auto st = CheckText(field, word, kMaxSearchWordChars); !st.ok()) return st;
    std::string lower = absl::AsciiStrToLower(word);
    if (std::find(words.begin(), words.end(), lower) == words.end()) words.push_back(lower);
  }
  if (static_cast<int>(words.size()) > kMaxSearchWords) {
    return InvalidField(field, absl::StrCat("at most ", kMaxSearchWords, " words"));
  }
  return words;
}

std::string MakeSnippet(absl::string_view text, const std::vector<std::string>& words) {
  const std::string lower = absl::AsciiStrToLower(text);  // same byte offsets as `text`
  // Every occurrence of every word, as [begin, end) byte ranges.
  std::vector<std::pair<size_t, size_t>> hits;
  for (const std::string& word : words) {
    if (word.empty()) continue;
    for (size_t pos = lower.find(word); pos != std::string::npos;
         pos = lower.find(word, pos + word.size())) {
      hits.emplace_back(pos, pos + word.size());
    }
  }
  if (hits.empty()) return "";
  std::sort(hits.begin(), hits.end());
  const size_t begin = BackChars(text, hits.front().first, kBeforeChars);
  const size_t end = ForwardChars(text, hits.front().second, kAfterChars);
  std::string out = begin > 0 ? "…" : "";
  size_t pos = begin;
  for (const auto& [hit_begin, hit_end] : hits) {
    if (hit_begin < pos || hit_end > end) continue;  // overlapping or outside the fragment
    absl::StrAppend(&out, Escape(text.substr(pos, hit_begin - pos)), "<em>",
                    Escape(text.substr(hit_begin, hit_end - hit_begin)), "</em>");
    pos = hit_end;
  }
  absl::StrAppend(&out, Escape(text.substr(pos, end - pos)), end < text.size() ? "…" : "");
  return out;
}

}  // namespace kefu::crm
