#include "services/crm/file_rules.h"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libs/common/status.h"

namespace kefu::crm {
namespace {

constexpr char kOoxml[] = "application/vnd.openxmlformats-officedocument.";

bool IsTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '+' ||
         c == '_';
}

// "type/subtype" with RFC 6838 token characters on both sides.
bool IsMimeType(absl::string_view type) {
  const size_t slash = type.find('/');
  if (slash == absl::string_view::npos || slash == 0 || slash + 1 == type.size()) return false;
  if (type.size() > 127) return false;
  for (size_t i = 0; i < type.size(); ++i) {
    if (i != slash && !IsTokenChar(type[i])) return false;
  }
  return true;
}

// `magic` is a std::string_view: its "..."sv literals keep embedded NUL bytes.
bool StartsWithBytes(absl::string_view head, std::string_view magic) {
  return head.size() >= magic.size() && std::memcmp(head.data(), magic.data(), magic.size()) == 0;
}

// Whether `head` starts like a file of `type`; *known is false (and the answer true) for
// types we have no check for.
bool LooksLike(absl::string_view type, absl::string_view head, bool* known) {
  using namespace std::string_view_literals;  // NOLINT: byte literals with embedded NULs
  *known = true;
  if (type == "image/png") return StartsWithBytes(head, "\x89PNG\r\n\x1a\n"sv);
  if (type == "image/jpeg") return StartsWithBytes(head, "\xff\xd8\xff"sv);
  if (type == "image/gif") {
    return StartsWithBytes(head, "GIF87a"sv) || StartsWithBytes(head, "GIF89a"sv);
  }
  if (type == "image/webp") {
    return head.size() >= 12 && StartsWithBytes(head, "RIFF"sv) && head.substr(8, 4) == "WEBP";
  }
  if (type == "image/bmp") return StartsWithBytes(head, "BM"sv);
  if (type == "application/pdf") return StartsWithBytes(head, "%PDF-"sv);
  if (type == "application/zip" || absl::StartsWith(type, kOoxml)) {
    return StartsWithBytes(head, "PK\x03\x04"sv);
  }
  if (type == "application/msword" || type == "application/vnd.ms-excel" ||
      type == "application/vnd.ms-powerpoint") {
    return StartsWithBytes(head, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"sv);
  }
  if (type == "audio/mpeg") {
    return StartsWithBytes(head, "ID3"sv) ||
           (head.size() >= 2 && static_cast<unsigned char>(head[0]) == 0xff &&
            (static_cast<unsigned char>(head[1]) & 0xe0) == 0xe0);
  }
  if (type == "audio/wav" || type == "audio/x-wav" || type == "audio/wave") {
    return head.size() >= 12 && StartsWithBytes(head, "RIFF"sv) && head.substr(8, 4) == "WAVE";
  }
  if (type == "audio/ogg") return StartsWithBytes(head, "OggS"sv);
  if (type == "audio/amr") return StartsWithBytes(head, "#!AMR"sv);
  if (type == "audio/mp4" || type == "audio/x-m4a") {
    return head.size() >= 8 && head.substr(4, 4) == "ftyp";
  }
  if (absl::StartsWith(type, "text/")) return head.find('\0') == absl::string_view::npos;
  *known = false;
  return true;
}

}  // namespace

const std::vector<std::string>& DefaultContentTypes() {
  static const auto* const kTypes = new std::vector<std::string>{
      "image/png",
      "image/jpeg",
      "image/gif",
      "image/webp",
      "image/bmp",
      "application/pdf",
      "text/plain",
      "text/csv",
      "application/msword",
      "application/vnd.ms-excel",
      "application/vnd.ms-powerpoint",
      "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
      "application/vnd.openxmlformats-officedocument.presentationml.presentation",
      "audio/mpeg",
      "audio/wav",
      "audio/ogg",
      "audio/amr",
      "audio/mp4",
  };
  return *kTypes;
}

std::string DefaultContentTypeList() { return absl::StrJoin(DefaultContentTypes(), ","); }

std::string BaseContentType(absl::string_view declared) {
  absl::string_view base = declared.substr(0, declared.find(';'));
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(base));
}

absl::StatusOr<std::vector<std::string>> ParseContentTypes(absl::string_view field,
                                                           absl::string_view list) {
  std::vector<std::string> types;
  for (absl::string_view part : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    std::string type = absl::AsciiStrToLower(absl::StripAsciiWhitespace(part));
    if (!IsMimeType(type)) {
      return InvalidField(field, absl::StrCat("\"", type, "\" is not a MIME type (type/subtype)"));
    }
    if (std::find(types.begin(), types.end(), type) == types.end()) types.push_back(type);
  }
  if (types.empty()) return InvalidField(field, "at least one content type is required");
  return types;
}

absl::Status CheckContentType(const FileRules& rules, absl::string_view declared) {
  if (declared.empty()) return InvalidField("content_type", "required");
  const std::string type = BaseContentType(declared);
  if (!IsMimeType(type)) {
    return InvalidField("content_type", absl::StrCat("\"", type, "\" is not a MIME type"));
  }
  if (std::find(rules.content_types.begin(), rules.content_types.end(), type) ==
      rules.content_types.end()) {
    return InvalidField("content_type",
                        absl::StrCat("\"", type, "\" is not accepted; accepted types: ",
                                     absl::StrJoin(rules.content_types, ", ")));
  }
  return absl::OkStatus();
}

absl::Status CheckContentMagic(absl::string_view declared, absl::string_view head) {
  const std::string type = BaseContentType(declared);
  bool known = false;
  if (LooksLike(type, head, &known)) return absl::OkStatus();
  return InvalidField(
      "content_type",
      absl::StrCat("declared \"", type, "\" but the content is not ",
                   absl::StartsWith(type, "text/") ? "text (it has NUL bytes)" : "of that type",
                   "; send the file with its real type"));
}

}  // namespace kefu::crm
