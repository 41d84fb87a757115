// Referrer parsing for the visitor trail (F5): domain, search engine, keyword.
#include <catch2/catch.hpp>

#include "services/crm/referrer.h"

using kefu::crm::ParseReferrer;
using kefu::crm::ReferrerDisplay;

TEST_CASE("a Baidu referrer gives the engine and the percent-encoded Chinese keyword") {
  auto r = ParseReferrer("https://www.baidu.com/s?ie=utf-8&wd=%E9%80%80%E8%B4%A7&rsv_spt=1");
  CHECK(r.domain == "www.baidu.com");
  CHECK(r.search_engine == "baidu");
  CHECK(r.search_keyword == "退货");
  CHECK(ReferrerDisplay(r) == "baidu (退货)");
}

TEST_CASE("Baidu's mobile word parameter is read when wd is absent") {
  auto r = ParseReferrer("http://m.baidu.com/s?word=%E5%AE%A2%E6%9C%8D+%E7%94%B5%E8%AF%9D");
  CHECK(r.search_engine == "baidu");
  CHECK(r.search_keyword == "客服 电话");
}

TEST_CASE("a GBK-encoded Baidu keyword is converted to UTF-8") {
  // "退货" in GBK.
  auto r = ParseReferrer("http://www.baidu.com/s?ie=gbk&wd=%CD%CB%BB%F5");
  CHECK(r.search_keyword == "退货");
}

TEST_CASE("Google, Bing, Sogou, 360 and Shenma referrers give their engine and keyword") {
  struct Case {
    const char* url;
    const char* engine;
    const char* keyword;
  };
  const Case cases[] = {
      {"https://www.google.com.hk/search?q=refund+policy&hl=en", "google", "refund policy"},
      {"https://www.google.com/url?sa=t&q=%E9%80%80%E8%B4%A7", "google", "退货"},
      {"https://cn.bing.com/search?q=kefu+%E5%AE%A2%E6%9C%8D&form=QBLH", "bing", "kefu 客服"},
      {"https://www.sogou.com/web?query=%E9%80%80%E6%AC%BE", "sogou", "退款"},
      {"https://www.so.com/s?q=%E5%8F%91%E7%A5%A8&src=srp", "360", "发票"},
      {"https://m.sm.cn/s?q=%E5%BF%AB%E9%80%92", "shenma", "快递"},
  };
  for (const Case& c : cases) {
    INFO(c.url);
    auto r = ParseReferrer(c.url);
    CHECK(r.search_engine == c.engine);
    CHECK(r.search_keyword == c.keyword);
  }
}

TEST_CASE("a referrer that is no search engine is shortened to its domain") {
  auto r = ParseReferrer("https://User:pw@Shop.Example.COM:8443/item/42?ref=mail#top");
  CHECK(r.domain == "shop.example.com");
  CHECK(r.search_engine.empty());
  CHECK(r.search_keyword.empty());
  CHECK(ReferrerDisplay(r) == "shop.example.com");
}

TEST_CASE("a search engine without a keyword shows the engine alone") {
  auto r = ParseReferrer("https://www.baidu.com/");
  CHECK(r.search_engine == "baidu");
  CHECK(r.search_keyword.empty());
  CHECK(ReferrerDisplay(r) == "baidu");
}

TEST_CASE("look-alike hosts are not taken for search engines") {
  CHECK(ParseReferrer("https://notbaidu.com/s?wd=x").search_engine.empty());
  CHECK(ParseReferrer("https://baidu.com.evil.example/s?wd=x").search_engine.empty());
  CHECK(ParseReferrer("https://sm.cn.example.org/s?q=x").search_engine.empty());
}

TEST_CASE("direct visits and non-http referrers give nothing") {
  CHECK(ParseReferrer("").domain.empty());
  CHECK(ParseReferrer("android-app://com.example").domain.empty());
  CHECK(ParseReferrer("javascript:alert(1)").domain.empty());
  CHECK(ReferrerDisplay(ParseReferrer("")).empty());
}

TEST_CASE("percent-decoding keeps malformed escapes and turns + into a space") {
  CHECK(kefu::crm::PercentDecode("a+b%20c") == "a b c");
  CHECK(kefu::crm::PercentDecode("100%") == "100%");
  CHECK(kefu::crm::PercentDecode("%zz%4") == "%zz%4");
}
