#pragma once

#include <string_view>
#include <vector>

#include "absl/strings/string_view.h"

namespace kefu {

// A source file compiled into the binary by kefu_embed_files() (cmake/KefuEmbed.cmake).
struct EmbeddedFile {
  absl::string_view name;     // file name, e.g. "001_init.sql"
  absl::string_view content;  // the file, byte for byte
};

}  // namespace kefu
