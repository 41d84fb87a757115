#include "services/kb/knowledge_index.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "services/kb/english_lexicon.h"
#include "services/kb/porter_stemmer.h"
#include "services/kb/text.h"

namespace kefu::kb {
namespace {

constexpr size_t kMaxEnglishPhraseWords = 5;
constexpr size_t kMaxHanPhraseChars = 12;
constexpr double kMaxPhraseCredit = 3.0;

// The Han runs of a text, folded.
std::vector<std::u32string> HanRuns(absl::string_view text) {
  std::vector<std::u32string> runs;
  std::u32string run;
  size_t pos = 0;
  while (pos < text.size()) {
    const char32_t cp = FoldCodePoint(NextCodePoint(text, &pos));
    if (IsHan(cp)) {
      run.push_back(cp);
    } else if (!run.empty()) {
      runs.push_back(std::move(run));
      run.clear();
    }
  }
  if (!run.empty()) runs.push_back(std::move(run));
  return runs;
}

// English words of a keyword phrase: lower case, contractions spelt out, stemmed, stop
// words kept ("where is my order" must not shrink to "order").
std::vector<std::string> PhraseWords(absl::string_view text) {
  std::vector<std::string> words;
  const auto push = [&](const std::string& w) {
    // Stop words are kept as stemmed, content words lemmatised too, as the tokenizer does.
    if (!w.empty()) words.push_back(IsEnglishStopWord(w) ? PorterStem(w) : EnglishTerm(w));
  };
  const auto flush = [&](std::string* w) {
    if (w->empty()) return;
    static const std::vector<std::pair<absl::string_view, absl::string_view>> kSuffixes = {
        {"n't", "not"},  {"'re", "are"},  {"'m", "am"}, {"'ve", "have"},
        {"'ll", "will"}, {"'d", "would"}, {"'s", "is"}};
    for (const auto& [suffix, word] : kSuffixes) {
      if (!absl::EndsWith(*w, suffix)) continue;
      std::string base = w->substr(0, w->size() - suffix.size());
      if (suffix == "n't") {
        if (base == "ca") base = "can";
        if (base == "wo") base = "will";
      }
      push(base);
      // "customer's" is a possessive; "where's" is "where is".
      if (suffix != "'s" || base == "where" || base == "what" || base == "it" || base == "that" ||
          base == "there" || base == "who" || base == "how" || base == "here") {
        push(std::string(word));
      }
      w->clear();
      return;
    }
    std::string clean;
    for (char c : *w) {
      if (c != '\'') clean.push_back(c);
    }
    push(clean);
    w->clear();
  };
  std::string word;
  size_t pos = 0;
  while (pos < text.size()) {
    char32_t cp = FoldCodePoint(NextCodePoint(text, &pos));
    if (cp == 0x2019) cp = '\'';
    if (IsAsciiAlnum(cp) || (cp == '\'' && !word.empty())) {
      word.push_back(static_cast<char>(cp));
    } else {
      flush(&word);
    }
  }
  flush(&word);
  return words;
}

std::string Utf8(const std::u32string& s, size_t from, size_t count) {
  std::string out;
  for (size_t i = from; i < from + count; ++i) AppendUtf8(s[i], &out);
  return out;
}

}  // namespace

std::vector<std::string> QueryPhraseKeys(absl::string_view question, size_t max_chars) {
  std::vector<std::string> keys;
  max_chars = std::min(max_chars, kMaxHanPhraseChars);
  for (const std::u32string& run : HanRuns(question)) {
    for (size_t i = 0; i < run.size(); ++i) {
      for (size_t n = 2; n <= max_chars && i + n <= run.size(); ++n) {
        keys.push_back(Utf8(run, i, n));
      }
    }
  }
  const std::vector<std::string> words = PhraseWords(question);
  for (size_t i = 0; i < words.size(); ++i) {
    std::string key;
    for (size_t n = 0; n < kMaxEnglishPhraseWords && i + n < words.size(); ++n) {
      if (n > 0) key.push_back(' ');
      key += words[i + n];
      keys.push_back(key);
    }
  }
  return keys;
}

std::string KnowledgeIndex::PhraseKey(absl::string_view keyword) {
  const std::vector<std::u32string> runs = HanRuns(keyword);
  const std::vector<std::string> words = PhraseWords(keyword);
  if (!runs.empty() && words.empty()) {
    std::u32string all;
    for (const auto& run : runs) all += run;
    if (all.size() < 2 || all.size() > kMaxHanPhraseChars) return "";
    return Utf8(all, 0, all.size());
  }
  if (runs.empty() && !words.empty() && words.size() <= kMaxEnglishPhraseWords) {
    return absl::StrJoin(words, " ");
  }
  return "";
}

KnowledgeIndex::KnowledgeIndex(RankingWeights weights) : weights_(weights) {}

uint32_t KnowledgeIndex::TermId(const std::string& term) {
  auto [it, inserted] = term_ids_.try_emplace(term, static_cast<uint32_t>(postings_.size()));
  if (inserted) postings_.emplace_back();
  return it->second;
}

uint32_t KnowledgeIndex::CategoryId(const std::string& category_id) {
  auto [it, inserted] =
      category_ids_.try_emplace(category_id, static_cast<uint32_t>(category_ids_.size()));
  return it->second;
}

double KnowledgeIndex::TermWeight(TokenKind kind) const {
  switch (kind) {
    case TokenKind::kHanUnigram:
      return weights_.han_unigram;
    case TokenKind::kHanBigram:
      return weights_.han_bigram;
    case TokenKind::kNumber:
      return weights_.number;
    case TokenKind::kConcept:
      return weights_.concept_term;
    case TokenKind::kWord:
      break;
  }
  return weights_.word;
}

void KnowledgeIndex::Upsert(IndexedEntry entry) {
  Remove(entry.entry_id);
  uint32_t slot;
  if (!free_docs_.empty()) {
    slot = free_docs_.back();
    free_docs_.pop_back();
  } else {
    slot = static_cast<uint32_t>(docs_.size());
    docs_.emplace_back();
  }
  Doc& doc = docs_[slot];
  doc.entry = std::make_unique<IndexedEntry>(std::move(entry));
  doc.live = true;
  doc.category = CategoryId(doc.entry->category_id);
  doc.length = {};
  doc.terms.clear();
  doc.phrase_keys.clear();

  absl::flat_hash_map<uint32_t, std::array<uint16_t, kFieldCount>> tf;
  const auto add_text = [&](Field field, absl::string_view text) {
    for (const Token& token : Tokenize(text)) {
      auto& counts = tf[TermId(token.term)];
      if (counts[field] < UINT16_MAX) ++counts[field];
      ++doc.length[field];
    }
  };
  const IndexedEntry& e = *doc.entry;
  add_text(kQuestion, e.question);
  for (const std::string& p : e.phrasings) add_text(kPhrasings, p);
  for (const std::string& k : e.keywords) add_text(kKeywords, k);
  add_text(kAnswer, e.answer);
  doc.terms.reserve(tf.size());
  for (const auto& [term, counts] : tf) {
    postings_[term].push_back({slot, counts});
    doc.terms.push_back(term);
  }
  for (int f = 0; f < kFieldCount; ++f) total_length_[f] += doc.length[f];

  for (const std::string& keyword : e.keywords) {
    std::string key = PhraseKey(keyword);
    if (key.empty() ||
        std::find(doc.phrase_keys.begin(), doc.phrase_keys.end(), key) != doc.phrase_keys.end()) {
      continue;
    }
    phrases_[key].push_back(slot);
    max_phrase_chars_ = std::max(max_phrase_chars_, CodePointCount(key));
    doc.phrase_keys.push_back(std::move(key));
  }
  by_id_[e.entry_id] = slot;
}

bool KnowledgeIndex::Remove(absl::string_view entry_id) {
  auto it = by_id_.find(entry_id);
  if (it == by_id_.end()) return false;
  const uint32_t slot = it->second;
  by_id_.erase(it);
  Doc& doc = docs_[slot];
  for (uint32_t term : doc.terms) {
    auto& list = postings_[term];
    for (size_t i = 0; i < list.size(); ++i) {
      if (list[i].doc == slot) {
        list[i] = list.back();
        list.pop_back();
        break;
      }
    }
  }
  for (const std::string& key : doc.phrase_keys) {
    auto p = phrases_.find(key);
    if (p == phrases_.end()) continue;
    auto& list = p->second;
    list.erase(std::remove(list.begin(), list.end(), slot), list.end());
    if (list.empty()) phrases_.erase(p);
  }
  for (int f = 0; f < kFieldCount; ++f) total_length_[f] -= doc.length[f];
  doc = Doc();
  free_docs_.push_back(slot);
  return true;
}

void KnowledgeIndex::Clear() {
  term_ids_.clear();
  postings_.clear();
  phrases_.clear();
  max_phrase_chars_ = 0;
  category_ids_.clear();
  docs_.clear();
  free_docs_.clear();
  by_id_.clear();
  total_length_ = {};
}

const IndexedEntry* KnowledgeIndex::Find(absl::string_view entry_id) const {
  auto it = by_id_.find(entry_id);
  return it == by_id_.end() ? nullptr : docs_[it->second].entry.get();
}

SearchResult KnowledgeIndex::Search(absl::string_view query, const SearchOptions& options) const {
  SearchResult result;
  const double n = static_cast<double>(by_id_.size());
  if (n == 0) return result;
  const double k1 = weights_.k1;
  std::array<double, kFieldCount> avg{};
  for (int f = 0; f < kFieldCount; ++f) avg[f] = std::max(1.0, total_length_[f] / n);
  const auto idf = [&](double df) { return std::log(1.0 + (n - df + 0.5) / (df + 0.5)); };
  const auto saturate = [&](double tf) { return (k1 + 1.0) * tf / (k1 + tf); };
  // One keyword hit in an average-length keyword field: the unit of the normalised score.
  const double unit = saturate(weights_.field[kKeywords]);

  // Merge repeated query terms; a repeat adds weight, up to double.
  struct QueryTerm {
    double weight = 0;
    TokenKind kind = TokenKind::kWord;
  };
  absl::flat_hash_map<std::string, QueryTerm> query_terms;
  std::vector<std::string> order;
  for (Token& token : Tokenize(query)) {
    auto [it, inserted] = query_terms.try_emplace(token.term);
    const double w = TermWeight(token.kind);
    if (inserted) {
      it->second = {w, token.kind};
      order.push_back(token.term);
    } else {
      it->second.weight = std::min(it->second.weight + w / 2, 2 * w);
    }
  }
  result.terms = order;

  std::vector<bool> allowed;
  if (options.categories != nullptr) {
    allowed.assign(category_ids_.size(), false);
    for (const std::string& c : *options.categories) {
      if (auto it = category_ids_.find(c); it != category_ids_.end()) allowed[it->second] = true;
    }
  }

  std::vector<double> acc(docs_.size(), 0.0);
  std::vector<bool> strong(docs_.size(), false);
  std::vector<uint32_t> touched;
  // A query term and its synonyms form a group: an entry earns the best of the group, so
  // a synonym finds an entry that lacks the word without outranking one that has it.
  std::vector<double> group_best(docs_.size(), 0.0);
  std::vector<uint32_t> group_touched;
  double mass = 0;
  const auto score_postings = [&](uint32_t term_id, double w, bool is_strong) {
    for (const Posting& p : postings_[term_id]) {
      const Doc& doc = docs_[p.doc];
      double tf = 0;
      for (int f = 0; f < kFieldCount; ++f) {
        if (p.tf[f] == 0) continue;
        const double norm = 1.0 - weights_.b[f] + weights_.b[f] * doc.length[f] / avg[f];
        tf += weights_.field[f] * p.tf[f] / norm;
      }
      double& best = group_best[p.doc];
      if (best == 0) group_touched.push_back(p.doc);
      best = std::max(best, w * saturate(tf));
      if (is_strong) strong[p.doc] = true;
    }
  };
  for (const std::string& term : order) {
    const QueryTerm& q = query_terms[term];
    auto id = term_ids_.find(term);
    const size_t df = id == term_ids_.end() ? 0 : postings_[id->second].size();
    if (df == 0) {
      if (q.kind != TokenKind::kHanBigram && q.kind != TokenKind::kConcept) {
        mass += q.weight * idf(1) * unit * weights_.unseen_share;
      }
    } else {
      const double w = q.weight * idf(static_cast<double>(df));
      mass += w * unit;
      score_postings(id->second, w, q.kind != TokenKind::kHanUnigram);
    }
    const std::vector<std::string>* synonyms =
        q.kind == TokenKind::kWord && weights_.synonym_share > 0 ? EnglishSynonymTerms(term)
                                                                 : nullptr;
    if (synonyms != nullptr) {
      for (const std::string& synonym : *synonyms) {
        if (query_terms.contains(synonym)) continue;
        auto sid = term_ids_.find(synonym);
        if (sid == term_ids_.end() || postings_[sid->second].empty()) continue;
        const double w = weights_.synonym_share * q.weight *
                         idf(static_cast<double>(postings_[sid->second].size()));
        score_postings(sid->second, w, true);
      }
    }
    for (uint32_t doc : group_touched) {
      if (acc[doc] == 0) touched.push_back(doc);
      acc[doc] += group_best[doc];
      group_best[doc] = 0;
    }
    group_touched.clear();
  }
  if (mass <= 0 || touched.empty()) return result;

  // Whole keywords the question contains (53KF: 搜索顾客发送的内容中包含的知识库关键字).
  // A longer keyword found whole is stronger evidence: two Han characters or English
  // words count 1, four or more count 2; an entry collects at most kMaxPhraseCredit.
  absl::flat_hash_map<uint32_t, double> phrase_credit;
  if (!phrases_.empty() && weights_.keyword_phrase_bonus > 0) {
    std::vector<std::string> keys = QueryPhraseKeys(query, max_phrase_chars_);
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    for (const std::string& key : keys) {
      auto it = phrases_.find(key);
      if (it == phrases_.end()) continue;
      const bool han = static_cast<unsigned char>(key[0]) >= 0x80;
      const double units = han ? static_cast<double>(CodePointCount(key))
                               : 1.0 + static_cast<double>(std::count(key.begin(), key.end(), ' '));
      const double credit = std::clamp(units / 2.0, 0.5, 2.0);
      for (uint32_t slot : it->second) {
        double& total = phrase_credit[slot];
        total = std::min(kMaxPhraseCredit, total + credit);
      }
    }
  }

  std::vector<SearchHit> hits;
  for (uint32_t slot : touched) {
    const Doc& doc = docs_[slot];
    double score = acc[slot] / mass;
    if (!strong[slot]) score *= weights_.unigram_only_factor;
    if (auto it = phrase_credit.find(slot); it != phrase_credit.end()) {
      score += weights_.keyword_phrase_bonus * it->second;
    }
    if (options.language != kefu::common::v1::LANGUAGE_UNSPECIFIED &&
        doc.entry->language != options.language) {
      continue;
    }
    if (!allowed.empty() || options.categories != nullptr) {
      if (doc.category >= allowed.size() || !allowed[doc.category]) {
        result.best_excluded = std::max(result.best_excluded, score);
        continue;
      }
    }
    if (score < options.min_score) continue;
    hits.push_back({doc.entry.get(), score});
  }
  const auto better = [](const SearchHit& a, const SearchHit& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.entry->entry_id < b.entry->entry_id;
  };
  if (hits.size() > options.limit) {
    std::partial_sort(hits.begin(), hits.begin() + static_cast<ptrdiff_t>(options.limit),
                      hits.end(), better);
    hits.resize(options.limit);
  } else {
    std::sort(hits.begin(), hits.end(), better);
  }
  result.hits = std::move(hits);
  return result;
}

}  // namespace kefu::kb
