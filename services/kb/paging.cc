#include "services/kb/paging.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "libs/common/status.h"

namespace kefu::kb {
namespace {

constexpr char kSeparator = '\x1f';

std::string FilterHash(absl::string_view filters) {
  uint64_t hash = 14695981039346656037ULL;
  for (unsigned char c : filters) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return absl::StrFormat("%016x", hash);
}

}  // namespace

absl::StatusOr<int> PageSize(int requested) {
  if (requested < 0) return InvalidField("page_size", "must not be negative");
  if (requested == 0) return kDefaultPageSize;
  return std::min(requested, kMaxPageSize);
}

std::string EncodePageToken(absl::string_view filters, const std::vector<std::string>& key) {
  std::string raw = FilterHash(filters);
  for (const std::string& part : key) absl::StrAppend(&raw, std::string(1, kSeparator), part);
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<std::vector<std::string>> DecodePageToken(absl::string_view token,
                                                         absl::string_view filters) {
  if (token.empty()) return std::vector<std::string>();
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw)) {
    return InvalidField("page_token", "not a token this API issued");
  }
  std::vector<std::string> parts = absl::StrSplit(raw, kSeparator);
  if (parts.size() < 2 || parts[0].size() != 16) {
    return InvalidField("page_token", "not a token this API issued");
  }
  if (parts[0] != FilterHash(filters)) {
    return InvalidField("page_token", "belongs to a listing with other filters");
  }
  parts.erase(parts.begin());
  return parts;
}

}  // namespace kefu::kb
