#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// Paging as docs/API.md describes it: page_size 0 -> 50, above 500 -> 500; page tokens
// are opaque, carry the sort key of the previous page's last item, and are bound to the
// request's filters (another filter with an old token is INVALID_ARGUMENT).
namespace kefu::kb {

inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 500;

absl::StatusOr<int> PageSize(int requested);

// `filters`: the request's filters in a fixed textual form.
std::string EncodePageToken(absl::string_view filters, const std::vector<std::string>& key);
// The key of `token`; empty for an empty token.
absl::StatusOr<std::vector<std::string>> DecodePageToken(absl::string_view token,
                                                         absl::string_view filters);

}  // namespace kefu::kb
