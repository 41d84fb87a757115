#pragma once

#include <google/protobuf/message.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// Paging of list RPCs (docs/API.md "Paging"): page sizes and opaque page tokens bound to
// the request's filters. Pure C++: no I/O.
namespace kefu::crm {

inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 500;

// What a store gets: how many rows, and where the previous page stopped ("" = start).
struct PageRequest {
  int limit = kDefaultPageSize;
  std::string cursor;
};

// 0 -> 50, above 500 -> 500, negative -> INVALID_ARGUMENT.
absl::StatusOr<int> PageSize(int requested);

// A stable digest of `request` without its page_size and page_token fields.
std::string FilterFingerprint(const google::protobuf::Message& request);

// An opaque token carrying a store cursor for the request whose fingerprint is given;
// "" when the cursor is "" (the last page).
std::string EncodePageToken(absl::string_view fingerprint, absl::string_view cursor);
// The cursor of `token` ("" for an empty token); INVALID_ARGUMENT "page_token: ..." when the
// token is malformed or was made for other filters.
absl::StatusOr<std::string> DecodePageToken(absl::string_view token, absl::string_view fingerprint);

// PageSize + FilterFingerprint + DecodePageToken for a request with page_size / page_token.
absl::StatusOr<PageRequest> PageOf(const google::protobuf::Message& request, int page_size,
                                   absl::string_view page_token);

}  // namespace kefu::crm
