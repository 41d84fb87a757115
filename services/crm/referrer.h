#pragma once

#include <string>

#include "absl/strings/string_view.h"

// Where a website visitor came from (F5): the referrer URL shortened to its domain and,
// for the search engines Chinese visitors use, the engine and the search keyword.
// Pure C++: no I/O.
namespace kefu::crm {

struct ParsedReferrer {
  std::string domain;          // host, lower-case, without port: "www.baidu.com"
  std::string search_engine;   // "baidu", "google", "bing", "sogou", "360", "shenma" or ""
  std::string search_keyword;  // decoded UTF-8 ("退货"), "" when none
};

// Parses a referrer URL ("https://www.baidu.com/s?wd=%E9%80%80%E8%B4%A7"). Anything that
// is not an http(s) URL gives an empty result. Keywords are percent-decoded ('+' is a
// space); GB18030-encoded keywords (older Baidu / Sogou links) are converted to UTF-8.
ParsedReferrer ParseReferrer(absl::string_view url);

// What the agent sees (F5): "baidu (退货)", "google" when there is no keyword, the domain
// when the referrer is no search engine, "" for a direct visit.
std::string ReferrerDisplay(const ParsedReferrer& referrer);

// Percent-decoding of a query component ("+" -> space); malformed escapes are kept as is.
std::string PercentDecode(absl::string_view text);

}  // namespace kefu::crm
