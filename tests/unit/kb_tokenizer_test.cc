// kb text analysis (F40, F71): folding, the Porter stemmer, the Chinese/English tokenizer
// and the synonym concepts.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "services/kb/porter_stemmer.h"
#include "services/kb/text.h"
#include "services/kb/tokenizer.h"

namespace {

using kefu::kb::Token;
using kefu::kb::TokenKind;

std::vector<std::string> TermsOfKind(const std::string& text, TokenKind kind) {
  std::vector<std::string> out;
  for (const Token& t : kefu::kb::Tokenize(text)) {
    if (t.kind == kind) out.push_back(t.term);
  }
  return out;
}

bool HasTerm(const std::string& text, const std::string& term) {
  for (const Token& t : kefu::kb::Tokenize(text)) {
    if (t.term == term) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("Porter stemmer gives the published results for the classic examples") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"caresses", "caress"},   {"ponies", "poni"},
      {"ties", "ti"},           {"caress", "caress"},
      {"cats", "cat"},          {"feed", "feed"},
      {"agreed", "agre"},       {"plastered", "plaster"},
      {"motoring", "motor"},    {"sing", "sing"},
      {"conflated", "conflat"}, {"troubled", "troubl"},
      {"sized", "size"},        {"hopping", "hop"},
      {"tanned", "tan"},        {"falling", "fall"},
      {"hissing", "hiss"},      {"fizzed", "fizz"},
      {"failing", "fail"},      {"filing", "file"},
      {"happy", "happi"},       {"sky", "sky"},
      {"relational", "relat"},  {"conditional", "condit"},
      {"rational", "ration"},   {"generalization", "gener"},
      {"oscillators", "oscil"}, {"hopefulness", "hope"},
      {"adjustable", "adjust"}, {"controll", "control"}};
  for (const auto& [word, stem] : cases) {
    INFO(word);
    CHECK(kefu::kb::PorterStem(word) == stem);
  }
}

TEST_CASE("inflections of a shop word share one stem") {
  CHECK(kefu::kb::PorterStem("refunds") == kefu::kb::PorterStem("refunded"));
  CHECK(kefu::kb::PorterStem("refunding") == kefu::kb::PorterStem("refund"));
  CHECK(kefu::kb::PorterStem("shipping") == kefu::kb::PorterStem("shipped"));
  CHECK(kefu::kb::PorterStem("deliveries") == kefu::kb::PorterStem("delivery"));
}

TEST_CASE("words the stemmer cannot handle pass through unchanged") {
  CHECK(kefu::kb::PorterStem("is") == "is");
  CHECK(kefu::kb::PorterStem("iphone15") == "iphone15");
  CHECK(kefu::kb::PorterStem("") == "");
}

TEST_CASE("English text is lower-cased, stop words dropped and the rest stemmed") {
  std::vector<std::string> terms;
  for (const Token& t : kefu::kb::Tokenize("How do I get a REFUND for my orders?", false)) {
    terms.push_back(t.term);
  }
  CHECK(terms == std::vector<std::string>{"refund", "order"});
}

TEST_CASE("negations survive as the word not") {
  CHECK(HasTerm("my code doesn't work", "not"));
  CHECK(HasTerm("I did not receive it", "not"));
  CHECK_FALSE(HasTerm("the customer's parcel", "s"));
}

TEST_CASE("Chinese runs give character unigrams and adjacent bigrams") {
  CHECK(TermsOfKind("退货运费", TokenKind::kHanBigram) ==
        std::vector<std::string>{"退货", "货运", "运费"});
  CHECK(TermsOfKind("退货运费", TokenKind::kHanUnigram) ==
        std::vector<std::string>{"退", "货", "运", "费"});
}

TEST_CASE("function characters are no unigrams and particles break bigrams") {
  const auto unigrams = TermsOfKind("退货了吗", TokenKind::kHanUnigram);
  CHECK(unigrams == std::vector<std::string>{"退", "货"});
  const auto bigrams = TermsOfKind("退货了吗", TokenKind::kHanBigram);
  CHECK(bigrams == std::vector<std::string>{"退货"});
  // 请问 and 可以 say nothing about the topic.
  CHECK_FALSE(HasTerm("请问可以退货吗", "请问"));
  CHECK_FALSE(HasTerm("请问可以退货吗", "可以"));
}

TEST_CASE("mixed Chinese and English text is split where the script changes") {
  CHECK(HasTerm("iPhone15退货", "iphone15"));
  CHECK(HasTerm("iPhone15退货", "退货"));
  CHECK(HasTerm("订单号12345查不到", "12345"));
}

TEST_CASE("full-width letters and traditional characters fold to their common forms") {
  CHECK(kefu::kb::Terms("ＲＥＦＵＮＤ") == kefu::kb::Terms("refund"));
  CHECK(HasTerm("退貨", "退货"));
  CHECK(kefu::kb::FoldText("  發票\u3000ABC ") == "发票 abc");
}

TEST_CASE("token offsets point at the original bytes") {
  const std::string text = "我要退货 refunds";
  for (const Token& t : kefu::kb::Tokenize(text, /*concepts=*/false)) {
    if (t.term == "退货") CHECK(text.substr(t.begin, t.end - t.begin) == "退货");
    if (t.term == "refund") CHECK(text.substr(t.begin, t.end - t.begin) == "refunds");
  }
}

TEST_CASE("synonyms of one group share a concept token in both languages") {
  CHECK(HasTerm("退货邮费谁出", "~运费"));
  CHECK(HasTerm("运费怎么算", "~运费"));
  CHECK(HasTerm("where is my parcel", "~parcel"));
  CHECK(HasTerm("track my package", "~parcel"));
  CHECK_FALSE(HasTerm("包裹破损", "~故障"));  // arrived damaged is not "stopped working"
}

TEST_CASE("the wider shop vocabulary links everyday words to the shop's") {
  CHECK(HasTerm("这件毛衣想退掉", "~退货"));
  CHECK(HasTerm("耳机用不了", "~东西"));          // a kind of goods is goods
  CHECK(HasTerm("my speaker is dead", "~item"));  // likewise in English
  CHECK(HasTerm("how do I send it back", "~return"));
  CHECK(HasTerm("登陆不上", "~登录"));        // the common misspelling of 登录
  CHECK_FALSE(HasTerm("退款到账", "~退货"));  // a refund is not a return of goods
}

TEST_CASE("language detection tells Chinese from English") {
  using kefu::kb::TextLanguage;
  CHECK(kefu::kb::DetectLanguage("我的快递到哪了") == TextLanguage::kChinese);
  CHECK(kefu::kb::DetectLanguage("where is my parcel") == TextLanguage::kEnglish);
  CHECK(kefu::kb::DetectLanguage("iPhone 退货") == TextLanguage::kChinese);
  CHECK(kefu::kb::DetectLanguage("12345 ???") == TextLanguage::kUnknown);
}

TEST_CASE("malformed UTF-8 never stops the tokenizer") {
  const std::string bad = std::string("退\xff\xfe货 ok") + std::string(1, '\xe9');
  CHECK_NOTHROW(kefu::kb::Tokenize(bad));
  CHECK(kefu::kb::TruncateUtf8("退货运费", 4) == "退");
}
