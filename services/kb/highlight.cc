#include "services/kb/highlight.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "services/kb/text.h"
#include "services/kb/tokenizer.h"

namespace kefu::kb {
namespace {

void AppendEscaped(absl::string_view text, std::string* out) {
  for (char c : text) {
    switch (c) {
      case '<':
        out->append("&lt;");
        break;
      case '>':
        out->append("&gt;");
        break;
      case '&':
        out->append("&amp;");
        break;
      default:
        out->push_back(c);
    }
  }
}

// The start of the character that contains byte `pos`.
size_t CharStart(absl::string_view text, size_t pos) {
  while (pos > 0 && pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) {
    --pos;
  }
  return pos;
}

}  // namespace

std::optional<std::string> HighlightFragment(absl::string_view text,
                                             const absl::flat_hash_set<std::string>& terms,
                                             size_t max_bytes) {
  std::vector<std::pair<uint32_t, uint32_t>> spans;
  for (const Token& token : Tokenize(text)) {
    if (terms.contains(token.term)) spans.emplace_back(token.begin, token.end);
  }
  if (spans.empty()) return std::nullopt;
  std::sort(spans.begin(), spans.end());
  // Overlapping pairs (退货, 货运) and adjacent words merge into one mark.
  std::vector<std::pair<uint32_t, uint32_t>> merged;
  for (const auto& span : spans) {
    if (!merged.empty() && span.first <= merged.back().second) {
      merged.back().second = std::max(merged.back().second, span.second);
    } else {
      merged.push_back(span);
    }
  }
  size_t begin = 0;
  size_t end = text.size();
  if (text.size() > max_bytes) {
    // Some context before the first match, then as much as fits.
    begin = CharStart(
        text, merged.front().first > max_bytes / 4 ? merged.front().first - max_bytes / 4 : 0);
    end = begin + TruncateUtf8(text.substr(begin), max_bytes).size();
  }
  std::string out;
  if (begin > 0) out.append("…");
  size_t at = begin;
  for (const auto& [from, to] : merged) {
    if (to <= begin || from >= end) continue;
    const size_t s = std::max<size_t>(from, begin);
    const size_t e = std::min<size_t>(to, end);
    AppendEscaped(text.substr(at, s - at), &out);
    out.append("<em>");
    AppendEscaped(text.substr(s, e - s), &out);
    out.append("</em>");
    at = e;
  }
  AppendEscaped(text.substr(at, end - at), &out);
  if (end < text.size()) out.append("…");
  return out;
}

}  // namespace kefu::kb
