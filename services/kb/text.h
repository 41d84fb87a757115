#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

// UTF-8 and character classes for retrieval in Chinese and English (F40, F71). Plain
// functions, no I/O.
namespace kefu::kb {

// Decodes the code point starting at text[*pos] and advances *pos past it. Malformed
// bytes decode as U+FFFD one byte at a time, so every input makes progress.
char32_t NextCodePoint(absl::string_view text, size_t* pos);

void AppendUtf8(char32_t cp, std::string* out);

// Folds what should compare equal: full-width ASCII to ASCII (ＡＢＣ１２３ -> abc123),
// upper to lower case (ASCII and Latin-1), ideographic space to space, and common
// traditional characters to simplified ones (貨 -> 货), so 退貨 finds 退货.
char32_t FoldCodePoint(char32_t cp);

// Han ideographs (CJK Unified Ideographs, extension A, compatibility ideographs).
bool IsHan(char32_t cp);
bool IsAsciiAlnum(char32_t cp);

enum class TextLanguage { kUnknown, kChinese, kEnglish };

// Chinese when Han characters make up at least a third of the letters, English when
// there are Latin letters, unknown otherwise ("???", "12345").
TextLanguage DetectLanguage(absl::string_view text);

// `text` cut to at most `max_bytes` on a code point boundary.
absl::string_view TruncateUtf8(absl::string_view text, size_t max_bytes);

// Number of code points.
size_t CodePointCount(absl::string_view text);

// Folds every code point and collapses runs of whitespace: the form escalation phrases
// and keyword phrases are compared in.
std::string FoldText(absl::string_view text);

}  // namespace kefu::kb
