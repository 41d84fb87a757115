#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// Full-text criteria of dialog search (F51): words in Chinese or English, and the
// transcript fragments shown with a hit. Pure C++: no I/O.
namespace kefu::crm {

inline constexpr int kMaxSearchWords = 10;
inline constexpr size_t kMaxSearchWordChars = 100;

// Splits on ASCII and ideographic (U+3000) spaces; duplicates dropped. Chinese needs no
// segmentation: each word is matched as a substring ("退货" finds "我要退货"). `field`
// names the request field in errors.
absl::StatusOr<std::vector<std::string>> SplitSearchWords(absl::string_view field,
                                                          absl::string_view text);

// A fragment of `text` around the first occurrence of any word (ASCII case-insensitive),
// HTML-escaped, with every occurrence wrapped in <em>...</em>; "" when none occurs.
std::string MakeSnippet(absl::string_view text, const std::vector<std::string>& words);

}  // namespace kefu::crm
