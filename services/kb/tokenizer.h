#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

// Turning text into index terms, for Chinese, English and the two mixed (F40, F71).
//
// English: letters and digits in runs, folded to lower case; stop words dropped; the
// rest put in base form when irregular ("paid" -> "pay", english_lexicon.h) and stemmed
// with Porter ("refunded" -> "refund"). Chinese has no spaces: every run of
// Han characters gives its characters (unigrams) and its adjacent pairs (bigrams), so
// "退货运费" is found by "退货" and by "运费" without a segmenter. Function characters
// (的, 了, 吗...) are not unigrams, and pairs with a particle (货的) are dropped.
namespace kefu::kb {

enum class TokenKind : uint8_t {
  kWord = 0,        // English word, stemmed
  kNumber = 1,      // digits, model numbers: "1688", "iphone15" stays one word
  kHanUnigram = 2,  // one Han character
  kHanBigram = 3,   // two adjacent Han characters
  kConcept = 4,     // a synonym group ("~运费" for 邮费), see synonyms.h
};

struct Token {
  std::string term;
  // Byte range in the original text, for highlights.
  uint32_t begin = 0;
  uint32_t end = 0;
  TokenKind kind = TokenKind::kWord;
};

// With `concepts`, synonym concept tokens follow the word tokens.
std::vector<Token> Tokenize(absl::string_view text, bool concepts = true);

// The terms only, in order, duplicates kept.
std::vector<std::string> Terms(absl::string_view text);

// True for the English stop words the tokenizer drops ("the", "my", "how").
bool IsEnglishStopWord(absl::string_view lower_word);

}  // namespace kefu::kb
