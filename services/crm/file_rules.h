#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// What a dialog file (F35) may be: its size and its content type. Pure rules, no I/O.
namespace kefu::crm {

// Images, PDF, plain text and CSV, Word/Excel/PowerPoint (old and OOXML), common audio.
const std::vector<std::string>& DefaultContentTypes();

struct FileRules {
  // The largest file crm stores, whatever the gateway or the tenant allows (20 MiB).
  int64_t max_bytes = 20 << 20;
  // Declared content types accepted, lower case ("image/png").
  std::vector<std::string> content_types = DefaultContentTypes();
};
// DefaultContentTypes() joined with commas: the flag's default.
std::string DefaultContentTypeList();
// A comma-separated list of "type/subtype" (spaces ignored, lower-cased); INVALID_ARGUMENT
// naming `field` when empty or when an entry is not a MIME type.
absl::StatusOr<std::vector<std::string>> ParseContentTypes(absl::string_view field,
                                                           absl::string_view list);

// The declared type must be on the allow-list (compared case-insensitively, parameters such
// as "; charset=utf-8" ignored). INVALID_ARGUMENT "content_type: ..." otherwise.
absl::Status CheckContentType(const FileRules& rules, absl::string_view declared);

// The first bytes must agree with the declared type for the types we can recognise:
//   image/png, image/jpeg, image/gif, image/webp, image/bmp, application/pdf,
//   OOXML documents and application/zip (a zip local header "PK\3\4"),
//   legacy Word/Excel/PowerPoint (an OLE2 compound file), audio/mpeg (ID3 tag or an MPEG
//   frame sync), audio/wav (RIFF....WAVE), audio/ogg (OggS), audio/amr (#!AMR),
//   audio/mp4 (an ISO "ftyp" box); text/* must hold no NUL byte in `head`.
// Other types on the allow-list are stored without a content check. `head` is at least the
// first 8 KiB of the file (or all of it). INVALID_ARGUMENT "content_type: ..." on a mismatch.
absl::Status CheckContentMagic(absl::string_view declared, absl::string_view head);

// "image/png; charset=x" -> "image/png" (lower case, trimmed).
std::string BaseContentType(absl::string_view declared);

}  // namespace kefu::crm
