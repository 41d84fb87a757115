#include "services/crm/referrer.h"

#include <iconv.h>

#include <array>
#include <cerrno>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/crm/validation.h"

namespace kefu::crm {
namespace {

struct Engine {
  absl::string_view name;
  // The engine's registrable domain: the host is it or one of its subdomains.
  absl::string_view domain;
  // Query parameters holding the keyword, in order of preference.
  std::array<absl::string_view, 2> params;
};

// Google has a domain per country ("google.com.hk"); it is matched by label below.
constexpr std::array<Engine, 6> kEngines = {{
    {"baidu", "baidu.com", {"wd", "word"}},
    {"bing", "bing.com", {"q", ""}},
    {"sogou", "sogou.com", {"query", "keyword"}},
    {"360", "so.com", {"q", ""}},
    {"shenma", "sm.cn", {"q", ""}},
    {"google", "", {"q", ""}},
}};

bool HostIs(absl::string_view host, absl::string_view domain) {
  return host == domain || absl::EndsWith(host, absl::StrCat(".", domain));
}

bool IsGoogle(absl::string_view host) {
  for (absl::string_view label : absl::StrSplit(host, '.')) {
    if (label == "google") return true;
  }
  return false;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// GB18030 (a superset of GBK / GB2312) to UTF-8; "" when the bytes are not GB18030 either.
std::string Gb18030ToUtf8(absl::string_view bytes) {
  iconv_t cd = iconv_open("UTF-8", "GB18030");
  // (iconv_t)-1 is iconv_open's documented failure value.
  if (cd == reinterpret_cast<iconv_t>(-1)) return "";  // NOLINT(performance-no-int-to-ptr)
  std::string in(bytes);
  std::vector<char> out(in.size() * 4 + 4);
  char* in_ptr = in.data();
  size_t in_left = in.size();
  char* out_ptr = out.data();
  size_t out_left = out.size();
  const size_t rc = iconv(cd, &in_ptr, &in_left, &out_ptr, &out_left);
  iconv_close(cd);
  if (rc == static_cast<size_t>(-1) || in_left != 0) return "";
  return std::string(out.data(), out.size() - out_left);
}

std::string Keyword(absl::string_view raw) {
  std::string decoded = PercentDecode(raw);
  if (!IsValidUtf8(decoded)) decoded = Gb18030ToUtf8(decoded);
  return std::string(absl::StripAsciiWhitespace(decoded));
}

}  // namespace

std::string PercentDecode(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
               HexValue(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

ParsedReferrer ParseReferrer(absl::string_view url) {
  ParsedReferrer out;
  absl::string_view rest = absl::StripAsciiWhitespace(url);
  const std::string lower_scheme = absl::AsciiStrToLower(rest.substr(0, 8));
  if (absl::StartsWith(lower_scheme, "https://")) {
    rest.remove_prefix(8);
  } else if (absl::StartsWith(lower_scheme, "http://")) {
    rest.remove_prefix(7);
  } else if (absl::StartsWith(rest, "//")) {
    rest.remove_prefix(2);
  } else {
    return out;
  }
  const size_t host_end = rest.find_first_of("/?#");
  absl::string_view authority = rest.substr(0, host_end);
  absl::string_view tail = host_end == absl::string_view::npos ? "" : rest.substr(host_end);
  if (const size_t at = authority.rfind('@'); at != absl::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  if (!absl::StartsWith(authority, "[")) {
    if (const size_t colon = authority.find(':'); colon != absl::string_view::npos) {
      authority = authority.substr(0, colon);
    }
  }
  std::string host = absl::AsciiStrToLower(authority);
  while (!host.empty() && host.back() == '.') host.pop_back();
  if (host.empty() || !IsValidUtf8(host)) return out;
  out.domain = host;

  const Engine* engine = nullptr;
  for (const Engine& candidate : kEngines) {
    if (candidate.domain.empty() ? IsGoogle(host) : HostIs(host, candidate.domain)) {
      engine = &candidate;
      break;
    }
  }
  if (engine == nullptr) return out;
  out.search_engine = std::string(engine->name);

  absl::string_view query;
  if (const size_t q = tail.find('?'); q != absl::string_view::npos) {
    query = tail.substr(q + 1);
    query = query.substr(0, query.find('#'));
  }
  std::vector<std::pair<absl::string_view, absl::string_view>> params;
  for (absl::string_view part : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    const size_t eq = part.find('=');
    if (eq == absl::string_view::npos) continue;
    params.emplace_back(part.substr(0, eq), part.substr(eq + 1));
  }
  for (absl::string_view wanted : engine->params) {
    if (wanted.empty()) continue;
    for (const auto& [name, value] : params) {
      if (name != wanted) continue;
      std::string keyword = Keyword(value);
      if (!keyword.empty()) {
        out.search_keyword = std::move(keyword);
        return out;
      }
    }
  }
  return out;
}

std::string ReferrerDisplay(const ParsedReferrer& referrer) {
  if (referrer.search_engine.empty()) return referrer.domain;
  if (referrer.search_keyword.empty()) return referrer.search_engine;
  return absl::StrCat(referrer.search_engine, " (", referrer.search_keyword, ")");
}

}  // namespace kefu::crm
