// The kb's text analysis (F40, F71) on any bytes a customer or an admin may type: UTF-8
// decoding, folding, language detection, truncation and the Chinese/English tokenizer.
#include <string>

#include "services/kb/text.h"
#include "services/kb/tokenizer.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  using kefu::fuzz::IsUtf8;

  // Every input makes progress, one code point (or one bad byte) at a time.
  size_t pos = 0, count = 0;
  while (pos < text.size()) {
    const size_t before = pos;
    const char32_t cp = kefu::kb::NextCodePoint(text, &pos);
    KEFU_FUZZ_CHECK(pos > before && pos <= text.size(), "NextCodePoint advances within the text");
    KEFU_FUZZ_CHECK(cp <= 0x10FFFF, "a code point is at most U+10FFFF");
    std::string encoded;
    kefu::kb::AppendUtf8(kefu::kb::FoldCodePoint(cp), &encoded);
    KEFU_FUZZ_CHECK(IsUtf8(encoded), "a folded code point encodes as UTF-8");
    ++count;
  }
  KEFU_FUZZ_CHECK(count == kefu::kb::CodePointCount(text) || !IsUtf8(text),
                  "CodePointCount counts what NextCodePoint decodes");

  for (size_t max_bytes : {size_t{0}, size_t{1}, size_t{3}, size / 2, size}) {
    const absl::string_view cut = kefu::kb::TruncateUtf8(text, max_bytes);
    KEFU_FUZZ_CHECK(cut.size() <= max_bytes, "TruncateUtf8 stays within max_bytes");
    KEFU_FUZZ_CHECK(cut == text.substr(0, cut.size()), "TruncateUtf8 keeps a prefix");
    KEFU_FUZZ_CHECK(!IsUtf8(text) || IsUtf8(cut), "valid UTF-8 is cut on a code point boundary");
  }

  KEFU_FUZZ_CHECK(IsUtf8(kefu::kb::FoldText(text)), "folded text is UTF-8");
  (void)kefu::kb::DetectLanguage(text);

  for (bool concepts : {false, true}) {
    for (const kefu::kb::Token& token : kefu::kb::Tokenize(text, concepts)) {
      KEFU_FUZZ_CHECK(!token.term.empty(), "no empty term");
      KEFU_FUZZ_CHECK(IsUtf8(token.term), "terms are UTF-8, whatever the input");
      KEFU_FUZZ_CHECK(token.begin < token.end && token.end <= text.size(),
                      "a token's byte range lies inside the text");
      KEFU_FUZZ_CHECK(concepts || token.kind != kefu::kb::TokenKind::kConcept,
                      "concept tokens only when asked for");
    }
  }
  for (const std::string& term : kefu::kb::Terms(text)) {
    KEFU_FUZZ_CHECK(!term.empty() && IsUtf8(term), "Terms are non-empty UTF-8");
  }
  return 0;
}
