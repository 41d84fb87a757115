#include "services/crm/paging.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/common/status.h"

namespace kefu::crm {
namespace {

constexpr absl::string_view kTokenVersion = "p1";

uint64_t Fnv1a64(absl::string_view bytes) {
  uint64_t hash = 14695981039346656037ULL;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return hash;
}

}  // namespace

absl::StatusOr<int> PageSize(int requested) {
  if (requested < 0) return InvalidField("page_size", "must not be negative");
  if (requested == 0) return kDefaultPageSize;
  return std::min(requested, kMaxPageSize);
}

std::string FilterFingerprint(const google::protobuf::Message& request) {
  std::unique_ptr<google::protobuf::Message> copy(request.New());
  copy->CopyFrom(request);
  const auto* descriptor = copy->GetDescriptor();
  for (absl::string_view name : {"page_size", "page_token"}) {
    if (const auto* field = descriptor->FindFieldByName(std::string(name))) {
      copy->GetReflection()->ClearField(copy.get(), field);
    }
  }
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    copy->SerializeToCodedStream(&coded);
  }
  return absl::StrFormat("%016x", Fnv1a64(absl::StrCat(descriptor->full_name(), "\n", bytes)));
}

std::string EncodePageToken(absl::string_view fingerprint, absl::string_view cursor) {
  if (cursor.empty()) return "";
  return absl::WebSafeBase64Escape(absl::StrCat(kTokenVersion, ".", fingerprint, ".", cursor));
}

absl::StatusOr<std::string> DecodePageToken(absl::string_view token,
                                            absl::string_view fingerprint) {
  if (token.empty()) return std::string();
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw)) {
    return InvalidField("page_token", "malformed; pass the next_page_token of the last answer");
  }
  const std::string prefix = absl::StrCat(kTokenVersion, ".");
  if (raw.compare(0, prefix.size(), prefix) != 0 || raw.size() < prefix.size() + 17 ||
      raw[prefix.size() + 16] != '.') {
    return InvalidField("page_token", "malformed; pass the next_page_token of the last answer");
  }
  if (absl::string_view(raw).substr(prefix.size(), 16) != fingerprint) {
    return InvalidField("page_token",
                        "made for other filters; start again without a token after changing them");
  }
  std::string cursor = raw.substr(prefix.size() + 17);
  if (cursor.empty()) return InvalidField("page_token", "malformed");
  return cursor;
}

absl::StatusOr<PageRequest> PageOf(const google::protobuf::Message& request, int page_size,
                                   absl::string_view page_token) {
  PageRequest page;
  auto size = PageSize(page_size);
  if (!size.ok()) return size.status();
  page.limit = *size;
  auto cursor = DecodePageToken(page_token, FilterFingerprint(request));
  if (!cursor.ok()) return cursor.status();
  page.cursor = *std::move(cursor);
  return page;
}

}  // namespace kefu::crm
