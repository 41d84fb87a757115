#include "services/kb/english_lexicon.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_split.h"
#include "services/kb/porter_stemmer.h"
#include "services/kb/tokenizer.h"

namespace kefu::kb {
namespace {

// "L form base" and "S word synonym...": see tools/gen_english_lexicon.py.
constexpr absl::string_view kLexicon =
#include "services/kb/english_lexicon.inc"
    ;

struct Lexicon {
  absl::flat_hash_map<absl::string_view, absl::string_view> lemmas;
  absl::flat_hash_map<std::string, std::vector<std::string>> synonyms;
};

const Lexicon& GetLexicon() {
  static const auto* lexicon = [] {
    auto* lex = new Lexicon();
    std::vector<std::pair<absl::string_view, std::vector<absl::string_view>>> groups;
    for (absl::string_view line : absl::StrSplit(kLexicon, '\n', absl::SkipEmpty())) {
      std::vector<absl::string_view> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (parts.size() < 3) continue;
      if (parts[0] == "L") {
        lex->lemmas.emplace(parts[1], parts[2]);
      } else if (parts[0] == "S") {
        groups.emplace_back(parts[1],
                            std::vector<absl::string_view>(parts.begin() + 2, parts.end()));
      }
    }
    // Synonyms are looked up by index term, so keys and values are lemmatised and
    // stemmed here (after every lemma is known); words sharing a stem pool theirs.
    const auto term_of = [&](absl::string_view word) {
      auto it = lex->lemmas.find(word);
      return PorterStem(it == lex->lemmas.end() ? word : it->second);
    };
    for (const auto& [word, others] : groups) {
      if (IsEnglishStopWord(word)) continue;
      const std::string key = term_of(word);
      std::vector<std::string>& out = lex->synonyms[key];
      for (absl::string_view other : others) {
        if (IsEnglishStopWord(other)) continue;
        std::string term = term_of(other);
        if (term == key || std::find(out.begin(), out.end(), term) != out.end()) continue;
        out.push_back(std::move(term));
      }
    }
    for (auto it = lex->synonyms.begin(); it != lex->synonyms.end();) {
      if (it->second.empty()) {
        lex->synonyms.erase(it++);
      } else {
        ++it;
      }
    }
    return lex;
  }();
  return *lexicon;
}

}  // namespace

absl::string_view EnglishLemma(absl::string_view lower_word) {
  const auto& lemmas = GetLexicon().lemmas;
  auto it = lemmas.find(lower_word);
  return it == lemmas.end() ? lower_word : it->second;
}

std::string EnglishTerm(absl::string_view lower_word) {
  return PorterStem(EnglishLemma(lower_word));
}

const std::vector<std::string>* EnglishSynonymTerms(absl::string_view term) {
  const auto& synonyms = GetLexicon().synonyms;
  auto it = synonyms.find(term);
  return it == synonyms.end() ? nullptr : &it->second;
}

}  // namespace kefu::kb
