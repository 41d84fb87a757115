// The in-memory BM25F index (F40, F42, F44): keyword weighting, incremental updates,
// category and language filters.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "services/kb/knowledge_index.h"

namespace {

using kefu::common::v1::LANGUAGE_EN;
using kefu::common::v1::LANGUAGE_ZH;
using kefu::kb::IndexedEntry;
using kefu::kb::KnowledgeIndex;
using kefu::kb::SearchOptions;
using kefu::kb::SearchResult;

IndexedEntry Entry(const std::string& id, const std::string& category, const std::string& question,
                   std::vector<std::string> keywords, const std::string& answer,
                   kefu::common::v1::Language language = LANGUAGE_ZH) {
  IndexedEntry e;
  e.entry_id = id;
  e.category_id = category;
  e.question = question;
  e.keywords = std::move(keywords);
  e.answer = answer;
  e.language = language;
  return e;
}

void AddShop(KnowledgeIndex* index) {
  index->Upsert(Entry("ret", "returns", "收到商品后多久内可以退货?", {"退货期限", "七天无理由"},
                      "自签收之日起7天内可申请退货。"));
  index->Upsert(Entry("fee", "returns", "退货的运费由谁承担?", {"退货运费", "运费险"},
                      "质量问题退货运费由商家承担。"));
  index->Upsert(
      Entry("inv", "invoices", "怎么开发票?", {"开发票", "申请发票"}, "在订单详情点击申请开票。"));
  index->Upsert(Entry("ship", "shipping", "How long does delivery take?",
                      {"delivery time", "shipping time"}, "Standard delivery takes 3-5 days.",
                      LANGUAGE_EN));
  index->Upsert(Entry("track", "shipping", "How can I track my package?",
                      {"track", "tracking number", "where is my order"},
                      "Click Track package in Orders.", LANGUAGE_EN));
}

std::string Top(const SearchResult& result) {
  return result.hits.empty() ? "" : result.hits.front().entry->entry_id;
}

}  // namespace

TEST_CASE("a Chinese question finds its entry without spaces between words") {
  KnowledgeIndex index;
  AddShop(&index);
  CHECK(Top(index.Search("我想开一张发票", {})) == "inv");
  CHECK(Top(index.Search("退货期限是几天", {})) == "ret");
}

TEST_CASE("an English question finds its entry through stemming and stop words") {
  KnowledgeIndex index;
  AddShop(&index);
  CHECK(Top(index.Search("where's my order?", {})) == "track");
  CHECK(Top(index.Search("how many days for deliveries", {})) == "ship");
}

TEST_CASE("a keyword match ranks above the same word in an answer") {
  KnowledgeIndex index;
  index.Upsert(Entry("a", "c", "会员权益", {"积分"}, "开通会员享受权益。"));
  index.Upsert(Entry("b", "c", "会员权益说明", {"会员"}, "积分可以兑换礼品。"));
  const SearchResult result = index.Search("积分", {});
  REQUIRE(result.hits.size() == 2);
  CHECK(result.hits[0].entry->entry_id == "a");
  CHECK(result.hits[0].score > result.hits[1].score);
}

TEST_CASE("a question holding a whole keyword gets the keyword bonus") {
  kefu::kb::RankingWeights without;
  without.keyword_phrase_bonus = 0;
  KnowledgeIndex plain(without);
  KnowledgeIndex with_bonus;
  for (KnowledgeIndex* index : {&plain, &with_bonus}) AddShop(index);
  const double base = plain.Search("退货运费谁出", {}).hits.front().score;
  const double bonus = with_bonus.Search("退货运费谁出", {}).hits.front().score;
  CHECK(bonus > base);
}

TEST_CASE("scores are normalised so that a full keyword match is about one") {
  KnowledgeIndex index;
  AddShop(&index);
  const SearchResult result = index.Search("开发票", {});
  REQUIRE_FALSE(result.hits.empty());
  CHECK(result.hits.front().score > 0.8);
  for (const auto& hit : index.Search("今天股票涨了吗", {}).hits) CHECK(hit.score < 0.3);
}

TEST_CASE("an updated entry is found by its new words and no longer by its old ones") {
  KnowledgeIndex index;
  AddShop(&index);
  IndexedEntry changed = Entry("inv", "invoices", "怎么申请维修?", {"维修", "报修"}, "寄回维修。");
  index.Upsert(changed);
  CHECK(index.size() == 5);
  CHECK(Top(index.Search("商品坏了怎么报修", {})) == "inv");
  for (const auto& hit : index.Search("开发票", {}).hits) CHECK(hit.entry->entry_id != "inv");
}

TEST_CASE("a removed entry is gone and its slot is reused") {
  KnowledgeIndex index;
  AddShop(&index);
  CHECK(index.Remove("inv"));
  CHECK_FALSE(index.Remove("inv"));
  CHECK(index.Find("inv") == nullptr);
  CHECK(index.Search("开发票", {}).hits.empty());
  index.Upsert(Entry("inv2", "invoices", "怎么开发票?", {"开发票"}, "申请开票。"));
  CHECK(Top(index.Search("开发票", {})) == "inv2");
  CHECK(index.size() == 5);
}

TEST_CASE("the category filter keeps entries outside it out and reports the best of them") {
  KnowledgeIndex index;
  AddShop(&index);
  const absl::flat_hash_set<std::string> returns = {"returns"};
  SearchOptions options;
  options.categories = &returns;
  const SearchResult result = index.Search("怎么开发票", options);
  for (const auto& hit : result.hits) CHECK(hit.entry->category_id == "returns");
  CHECK(result.best_excluded > 0.8);
}

TEST_CASE("the language filter keeps one language") {
  KnowledgeIndex index;
  AddShop(&index);
  index.Upsert(Entry("track-zh", "shipping", "怎么查物流 track", {"track"}, "查看物流。"));
  SearchOptions options;
  options.language = LANGUAGE_EN;
  for (const auto& hit : index.Search("track", options).hits) {
    CHECK(hit.entry->language == LANGUAGE_EN);
  }
}

TEST_CASE("a synonym finds the entry that uses the other word") {
  KnowledgeIndex index;
  AddShop(&index);
  CHECK(Top(index.Search("退货邮费谁付", {})) == "fee");
  CHECK(Top(index.Search("where is my parcel", {})) == "track");
}

TEST_CASE("sharing single characters only is weak evidence") {
  KnowledgeIndex index;
  AddShop(&index);
  const SearchResult result = index.Search("今天几号", {});
  if (!result.hits.empty()) CHECK(result.hits.front().score < 0.3);
}

TEST_CASE("ties are broken by entry id so results are stable") {
  KnowledgeIndex index;
  index.Upsert(Entry("b", "c", "优惠券怎么用", {"优惠券"}, "结算时使用。"));
  index.Upsert(Entry("a", "c", "优惠券怎么用", {"优惠券"}, "结算时使用。"));
  const SearchResult result = index.Search("优惠券", {});
  REQUIRE(result.hits.size() == 2);
  CHECK(result.hits[0].entry->entry_id == "a");
}

TEST_CASE("the result limit and minimum score are respected") {
  KnowledgeIndex index;
  for (int i = 0; i < 30; ++i) {
    index.Upsert(Entry("e" + std::to_string(i), "c", "退货问题" + std::to_string(i), {"退货"},
                       "退货说明。"));
  }
  SearchOptions options;
  options.limit = 5;
  CHECK(index.Search("退货", options).hits.size() == 5);
  options.min_score = 100;
  CHECK(index.Search("退货", options).hits.empty());
}

TEST_CASE("query phrase keys cover Han substrings and English word runs") {
  const auto keys = kefu::kb::QueryPhraseKeys("where's my order 退货运费", 4);
  auto has = [&](const std::string& k) {
    return std::find(keys.begin(), keys.end(), k) != keys.end();
  };
  CHECK(has("退货运费"));
  CHECK(has("运费"));
  CHECK(has("where is my order"));
}
