// A customer's question against a small knowledge base (F40, F42, F44): query analysis,
// BM25F ranking, keyword phrases, highlights, and the index updated with the input as an
// entry. Selector byte: the search options (limit, language, category filter, highlight size).
#include <cmath>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "services/kb/highlight.h"
#include "services/kb/knowledge_index.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using kefu::common::v1::LANGUAGE_EN;
using kefu::common::v1::LANGUAGE_ZH;
using kefu::kb::IndexedEntry;

kefu::kb::KnowledgeIndex& Index() {
  static auto* index = [] {
    auto* idx = new kefu::kb::KnowledgeIndex();
    idx->Upsert(IndexedEntry{"e1",
                             "shipping",
                             "退货运费谁出?",
                             {"退货要付邮费吗", "退款运费"},
                             {"退货", "运费"},
                             "七天无理由退货,运费由买家承担。",
                             LANGUAGE_ZH,
                             1});
    idx->Upsert(IndexedEntry{"e2",
                             "billing",
                             "How do I get a refund?",
                             {"refund my order"},
                             {"refund", "money back"},
                             "Refunds reach your card in 3-5 days & <b>no fee</b>.",
                             LANGUAGE_EN,
                             2});
    idx->Upsert(IndexedEntry{"e3",
                             "",
                             "发票怎么开?iPhone15 可以开增值税发票吗",
                             {},
                             {"发票", "iphone15"},
                             "在订单页申请电子发票。",
                             LANGUAGE_ZH,
                             3});
    idx->Upsert(IndexedEntry{"e4",
                             "shipping",
                             "Where is my parcel?",
                             {"track package"},
                             {"parcel"},
                             "Track it under Orders > Tracking.",
                             LANGUAGE_EN,
                             4});
    return idx;
  }();
  return *index;
}

// A highlight is the text (or a slice of it) with marks and escapes added, nothing else.
void CheckHighlight(absl::string_view text, const std::string& fragment) {
  std::string plain = absl::StrReplaceAll(fragment, {{"<em>", ""}, {"</em>", ""}});
  KEFU_FUZZ_CHECK(plain.find('<') == std::string::npos && plain.find('>') == std::string::npos,
                  "a highlight has no markup but <em>");
  if (absl::StartsWith(plain, "…")) plain.erase(0, 3);
  if (absl::EndsWith(plain, "…")) plain.resize(plain.size() - 3);
  plain = absl::StrReplaceAll(plain, {{"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}});
  KEFU_FUZZ_CHECK(absl::StrContains(text, plain), "a highlight shows a slice of the text");
  KEFU_FUZZ_CHECK(!kefu::fuzz::IsUtf8(text) || kefu::fuzz::IsUtf8(fragment),
                  "a highlight of UTF-8 is UTF-8");
}

void Search(absl::string_view query, uint8_t options_byte) {
  static const absl::flat_hash_set<std::string> kShipping = {"shipping", ""};
  kefu::kb::SearchOptions options;
  options.limit = 1 + options_byte % 4;
  if (options_byte & 0x10) options.language = LANGUAGE_ZH;
  if (options_byte & 0x20) options.language = LANGUAGE_EN;
  if (options_byte & 0x40) options.categories = &kShipping;
  options.min_score = (options_byte & 0x80) ? 0.2 : 0.0;
  const kefu::kb::SearchResult result = Index().Search(query, options);
  KEFU_FUZZ_CHECK(result.hits.size() <= options.limit, "at most `limit` hits");
  double previous = INFINITY;
  const absl::flat_hash_set<std::string> terms(result.terms.begin(), result.terms.end());
  for (const kefu::kb::SearchHit& hit : result.hits) {
    KEFU_FUZZ_CHECK(hit.entry != nullptr, "a hit names its entry");
    KEFU_FUZZ_CHECK(std::isfinite(hit.score) && hit.score >= options.min_score,
                    "scores are finite and above min_score");
    KEFU_FUZZ_CHECK(hit.score <= previous, "hits come best first");
    previous = hit.score;
    if (options.categories != nullptr) {
      KEFU_FUZZ_CHECK(options.categories->contains(hit.entry->category_id),
                      "the category filter holds");
    }
    const size_t max_bytes = 8 + options_byte % 64;
    if (auto fragment = kefu::kb::HighlightFragment(hit.entry->answer, terms, max_bytes)) {
      CheckHighlight(hit.entry->answer, *fragment);
    }
  }
  KEFU_FUZZ_CHECK(std::isfinite(result.best_excluded), "best_excluded is finite");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto [selector, query] = kefu::fuzz::Select(data, size);
  Search(query, selector);

  // The question highlighted against its own terms.
  const std::vector<std::string> own = kefu::kb::Terms(query);
  if (auto fragment = kefu::kb::HighlightFragment(
          query, absl::flat_hash_set<std::string>(own.begin(), own.end()), 16 + selector)) {
    CheckHighlight(query, *fragment);
  }
  for (const std::string& key : kefu::kb::QueryPhraseKeys(query, 1 + selector % 32)) {
    KEFU_FUZZ_CHECK(!key.empty(), "no empty phrase key");
  }

  // The input as an entry: indexed, found by itself, then removed.
  Index().Upsert(IndexedEntry{"fuzz",
                              "shipping",
                              std::string(query),
                              {std::string(query)},
                              {std::string(query.substr(0, 64))},
                              std::string(query),
                              LANGUAGE_ZH,
                              5});
  Search(query, selector ^ 0x40);
  KEFU_FUZZ_CHECK(Index().Remove("fuzz"), "the entry just added can be removed");
  KEFU_FUZZ_CHECK(Index().Find("fuzz") == nullptr, "a removed entry is gone");
  KEFU_FUZZ_CHECK(Index().size() == 4, "the fixed entries stay");
  return 0;
}
