// General English lexical knowledge for retrieval (F40, F44): WordNet's irregular forms
// and common-sense synonyms, and how Search uses them (query expansion).
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "services/kb/english_lexicon.h"
#include "services/kb/knowledge_index.h"
#include "services/kb/tokenizer.h"

namespace {

using kefu::common::v1::LANGUAGE_EN;
using kefu::kb::IndexedEntry;
using kefu::kb::KnowledgeIndex;
using kefu::kb::RankingWeights;
using kefu::kb::SearchResult;

bool Contains(const std::vector<std::string>* terms, const std::string& term) {
  if (terms == nullptr) return false;
  for (const std::string& t : *terms) {
    if (t == term) return true;
  }
  return false;
}

IndexedEntry Entry(const std::string& id, const std::string& question,
                   std::vector<std::string> keywords, const std::string& answer) {
  IndexedEntry e;
  e.entry_id = id;
  e.category_id = "c";
  e.question = question;
  e.keywords = std::move(keywords);
  e.answer = answer;
  e.language = LANGUAGE_EN;
  return e;
}

void AddPayments(KnowledgeIndex* index) {
  index->Upsert(Entry("declined", "My payment was declined.", {"payment declined", "card declined"},
                      "Check the card number and expiry date, or try another card."));
  index->Upsert(Entry("methods", "What payment methods do you accept?",
                      {"payment methods", "credit card"}, "We accept cards and PayPal."));
  index->Upsert(Entry("repair", "Do you offer repairs?", {"repair", "service centre"},
                      "Send the product to our service centre."));
}

std::string Top(const SearchResult& result) {
  return result.hits.empty() ? "" : result.hits.front().entry->entry_id;
}

}  // namespace

TEST_CASE("irregular English forms are indexed under their base form") {
  CHECK(kefu::kb::EnglishLemma("bought") == "buy");
  CHECK(kefu::kb::EnglishLemma("paid") == "pay");
  CHECK(kefu::kb::EnglishLemma("children") == "child");
  CHECK(kefu::kb::EnglishLemma("refunded") == "refunded");  // regular: left to the stemmer
  CHECK(kefu::kb::Terms("I paid twice") == kefu::kb::Terms("I pay twice"));
  CHECK(kefu::kb::Terms("the items I bought") == kefu::kb::Terms("the items I buy"));
}

TEST_CASE("synonyms come from a word's common senses, by index term") {
  const auto* reject = kefu::kb::EnglishSynonymTerms(kefu::kb::EnglishTerm("reject"));
  CHECK(Contains(reject, kefu::kb::EnglishTerm("decline")));
  CHECK(Contains(kefu::kb::EnglishSynonymTerms(kefu::kb::EnglishTerm("mend")),
                 kefu::kb::EnglishTerm("repair")));
  CHECK(Contains(kefu::kb::EnglishSynonymTerms(kefu::kb::EnglishTerm("parcel")),
                 kefu::kb::EnglishTerm("package")));
  // "order" has a rare sense "club, social club"; rare senses give no synonyms.
  CHECK_FALSE(Contains(kefu::kb::EnglishSynonymTerms(kefu::kb::EnglishTerm("order")),
                       kefu::kb::EnglishTerm("club")));
  // A word is never its own synonym, and stop words have none.
  CHECK_FALSE(Contains(reject, kefu::kb::EnglishTerm("reject")));
  CHECK(kefu::kb::EnglishSynonymTerms("the") == nullptr);
}

TEST_CASE("a question with a synonym of the entry's word finds the entry") {
  KnowledgeIndex index;
  AddPayments(&index);
  CHECK(Top(index.Search("why does my card keep getting rejected", {})) == "declined");
  CHECK(Top(index.Search("can you mend my headphones", {})) == "repair");

  // Without expansion the rejected card finds nothing about declined payments.
  RankingWeights off;
  off.synonym_share = 0;
  KnowledgeIndex without(off);
  AddPayments(&without);
  CHECK(Top(without.Search("why does my card keep getting rejected", {})) != "declined");
}

TEST_CASE("a synonym counts less than the word itself and is not added on top of it") {
  KnowledgeIndex index;
  index.Upsert(Entry("word", "Can I mend it?", {"mend"}, "Yes."));
  index.Upsert(Entry("synonym", "Can I repair it?", {"repair"}, "Yes."));
  const SearchResult result = index.Search("mend", {});
  REQUIRE(result.hits.size() == 2);
  CHECK(result.hits[0].entry->entry_id == "word");
  CHECK(result.hits[1].score < result.hits[0].score);

  // An entry holding both the word and its synonym scores as one holding the word only.
  KnowledgeIndex both;
  both.Upsert(Entry("both", "Can I mend it?", {"mend"}, "We repair it."));
  both.Upsert(Entry("filler", "How do I pay?", {"pay"}, "By card."));
  KnowledgeIndex one;
  one.Upsert(Entry("both", "Can I mend it?", {"mend"}, "We fix it."));
  one.Upsert(Entry("filler", "How do I pay?", {"pay"}, "By card."));
  CHECK(both.Search("mend", {}).hits[0].score ==
        Approx(one.Search("mend", {}).hits[0].score).epsilon(0.05));
}
