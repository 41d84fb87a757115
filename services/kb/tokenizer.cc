#include "services/kb/tokenizer.h"

#include <optional>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "services/kb/english_lexicon.h"
#include "services/kb/synonyms.h"
#include "services/kb/text.h"

namespace kefu::kb {
namespace {

// Words that carry no topic in a customer's question. Not here on purpose: "not", "no"
// (a parcel not received is another question) and particles of phrasal verbs ("log out",
// "sign up", "top up", "turn off").
const absl::flat_hash_set<absl::string_view>& EnglishStopWords() {
  static const auto* words = new absl::flat_hash_set<absl::string_view>{
      "a",     "about", "above",  "after",  "again", "all",   "also",   "am",     "an",
      "and",   "any",   "are",    "as",     "at",    "be",    "been",   "before", "being",
      "both",  "but",   "by",     "can",    "cant",  "could", "did",    "do",     "does",
      "doing", "dont",  "each",   "for",    "from",  "had",   "has",    "have",   "having",
      "he",    "hello", "her",    "here",   "hers",  "hey",   "hi",     "him",    "his",
      "how",   "i",     "if",     "im",     "in",    "into",  "is",     "it",     "its",
      "ive",   "just",  "let",    "lets",   "may",   "me",    "might",  "more",   "most",
      "much",  "must",  "my",     "myself", "of",    "ok",    "okay",   "on",     "once",
      "only",  "or",    "other",  "our",    "ours",  "own",   "please", "pls",    "same",
      "shall", "she",   "should", "so",     "some",  "such",  "than",   "thank",  "thanks",
      "that",  "the",   "their",  "them",   "then",  "there", "these",  "they",   "this",
      "those", "to",    "too",    "us",     "very",  "was",   "we",     "were",   "what",
      "when",  "where", "which",  "while",  "who",   "whom",  "why",    "will",   "with",
      "would", "you",   "your",   "yours",  "youre", "get",   "got",    "want",   "wanna",
      "need",  "like",  "know",   "tell",   "help",  "there", "whats",  "hows",   "id",
      "ill",   "wont",  "didnt",  "doesnt", "isnt",  "arent", "wasnt",  "werent", "theres"};
  return *words;
}

// Characters too common in Chinese questions to be a topic on their own; they still
// take part in bigrams (退货了 keeps 退货).
const absl::flat_hash_set<char32_t>& HanStopChars() {
  static const auto* chars = [] {
    auto* set = new absl::flat_hash_set<char32_t>();
    constexpr absl::string_view kChars =
        "的了吗呢吧啊呀哦嘛哈么我你您他她它们是在有和与及或也都就还这那哪个一请问怎什如何能可以要"
        "想会该把被给让对吗呀喔哟嗯噢么些很太";
    size_t pos = 0;
    while (pos < kChars.size()) set->insert(NextCodePoint(kChars, &pos));
    return set;
  }();
  return *chars;
}

// Function characters that pair with content characters only across a word boundary
// (发票怎么 -> 票怎, 我的订单 -> 的订): a bigram holding one is dropped.
const absl::flat_hash_set<char32_t>& HanFunctionChars() {
  static const auto* chars = [] {
    auto* set = new absl::flat_hash_set<char32_t>();
    constexpr absl::string_view kChars = "怎么什吗呢吧啊呀哦嘛的了我你您他她它们是很喔哟嗯噢哈";
    size_t pos = 0;
    while (pos < kChars.size()) set->insert(NextCodePoint(kChars, &pos));
    return set;
  }();
  return *chars;
}

// Particles a word may be split by: 刻了字 is 刻字, 退的钱 is 退钱.
bool IsInfix(char32_t cp) { return cp == U'了' || cp == U'的'; }

// Question scaffolding that every entry shares ("请问", "一下", "可以").
const absl::flat_hash_set<absl::string_view>& HanStopBigrams() {
  static const auto* bigrams = new absl::flat_hash_set<absl::string_view>{
      "请问", "一下", "我的", "我们", "你们", "您们", "这个", "那个", "是否",
      "能否", "如何", "可以", "您好", "你好", "谢谢", "麻烦", "我想", "我要",
      "想要", "需要", "怎样", "是不", "不是", "能不", "可不", "不能", "会不",
      "有没", "自己", "现在", "已经", "还是", "一个", "这样", "那样", "时候"};
  return *bigrams;
}

struct Han {
  char32_t cp;
  uint32_t begin;
  uint32_t end;
};

// A bigram of two characters, unless it spans a word boundary or is scaffolding.
void AddBigram(const Han& a, const Han& b, std::vector<Token>* out) {
  const auto& stop = HanStopChars();
  const auto& function = HanFunctionChars();
  if (function.contains(a.cp) || function.contains(b.cp)) return;
  if (stop.contains(a.cp) && stop.contains(b.cp)) return;
  Token t;
  AppendUtf8(a.cp, &t.term);
  AppendUtf8(b.cp, &t.term);
  if (HanStopBigrams().contains(t.term)) return;
  t.begin = a.begin;
  t.end = b.end;
  t.kind = TokenKind::kHanBigram;
  out->push_back(std::move(t));
}

void FlushHan(const std::vector<Han>& run, std::vector<Token>* out) {
  const auto& stop = HanStopChars();
  for (size_t i = 0; i < run.size(); ++i) {
    if (!stop.contains(run[i].cp)) {
      Token t;
      AppendUtf8(run[i].cp, &t.term);
      t.begin = run[i].begin;
      t.end = run[i].end;
      t.kind = TokenKind::kHanUnigram;
      out->push_back(std::move(t));
    }
    if (i + 1 < run.size()) AddBigram(run[i], run[i + 1], out);
    if (i + 2 < run.size() && IsInfix(run[i + 1].cp)) AddBigram(run[i], run[i + 2], out);
  }
}

void FlushWord(std::string* word, uint32_t begin, uint32_t end, std::vector<Token>* out) {
  if (word->empty()) return;
  // "doesn't work" is "does not work": the negation is kept as the word "not".
  if (absl::EndsWith(*word, "n't")) {
    word->clear();
    Token t;
    t.term = "not";
    t.begin = begin;
    t.end = end;
    out->push_back(std::move(t));
    return;
  }
  // "customer's" -> "customer", "where's" -> "where", "I'm" -> "i".
  for (absl::string_view suffix : {"'s", "'re", "'m", "'ve", "'ll", "'d"}) {
    if (absl::EndsWith(*word, suffix)) {
      word->resize(word->size() - suffix.size());
      break;
    }
  }
  std::string clean;
  clean.reserve(word->size());
  bool digits_only = true;
  for (char c : *word) {
    if (c == '\'') continue;
    if (c < '0' || c > '9') digits_only = false;
    clean.push_back(c);
  }
  word->clear();
  if (clean.empty()) return;
  Token t;
  t.begin = begin;
  t.end = end;
  if (digits_only) {
    t.term = std::move(clean);
    t.kind = TokenKind::kNumber;
    out->push_back(std::move(t));
    return;
  }
  if (clean.size() < 2 || EnglishStopWords().contains(clean)) return;
  t.term = EnglishTerm(clean);
  t.kind = TokenKind::kWord;
  out->push_back(std::move(t));
}

}  // namespace

bool IsEnglishStopWord(absl::string_view lower_word) {
  return EnglishStopWords().contains(lower_word);
}

std::vector<Token> Tokenize(absl::string_view text, bool concepts) {
  std::vector<Token> out;
  std::vector<Han> han;
  std::string word;
  uint32_t word_begin = 0;
  uint32_t word_end = 0;
  // The last Han character before a number, while only the number followed it: 满300减50
  // still pairs 满 with 减.
  std::optional<Han> before_number;
  bool digits_only = true;
  size_t pos = 0;
  while (pos < text.size()) {
    const auto begin = static_cast<uint32_t>(pos);
    const char32_t cp = FoldCodePoint(NextCodePoint(text, &pos));
    const auto end = static_cast<uint32_t>(pos);
    const bool apostrophe = (cp == '\'' || cp == 0x2019) && !word.empty();
    if (IsAsciiAlnum(cp) || apostrophe) {
      if (!han.empty()) {
        before_number = han.back();
        digits_only = true;
        FlushHan(han, &out);
        han.clear();
      }
      if (cp < '0' || cp > '9') digits_only = false;
      if (word.empty()) word_begin = begin;
      word.push_back(apostrophe ? '\'' : static_cast<char>(cp));
      word_end = end;
      continue;
    }
    FlushWord(&word, word_begin, word_end, &out);
    if (IsHan(cp)) {
      if (han.empty() && before_number.has_value() && digits_only) {
        AddBigram(*before_number, {cp, begin, end}, &out);
      }
      before_number.reset();
      han.push_back({cp, begin, end});
      continue;
    }
    before_number.reset();
    if (!han.empty()) {
      FlushHan(han, &out);
      han.clear();
    }
  }
  FlushWord(&word, word_begin, word_end, &out);
  if (!han.empty()) FlushHan(han, &out);
  if (concepts) AddConceptTokens(text, &out);
  return out;
}

std::vector<std::string> Terms(absl::string_view text) {
  std::vector<std::string> terms;
  for (Token& token : Tokenize(text)) terms.push_back(std::move(token.term));
  return terms;
}

}  // namespace kefu::kb
