#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "kefu/common/v1/common.pb.h"
#include "services/kb/tokenizer.h"

// A tenant's published knowledge entries in memory, ranked with BM25F over four fields
// (F40, F42, F44). Updated one entry at a time (Upsert/Remove), so a change costs the
// size of the entry, not of the knowledge base. Not thread-safe: the owner locks.
namespace kefu::kb {

enum Field : int { kQuestion = 0, kPhrasings = 1, kKeywords = 2, kAnswer = 3 };
inline constexpr int kFieldCount = 4;
inline constexpr std::array<absl::string_view, kFieldCount> kFieldNames = {"question", "phrasings",
                                                                           "keywords", "answer"};

// What the index keeps of an entry: enough to rank, answer and highlight.
struct IndexedEntry {
  std::string entry_id;
  std::string category_id;  // "" = uncategorised
  std::string question;
  std::vector<std::string> phrasings;
  std::vector<std::string> keywords;
  std::string answer;
  kefu::common::v1::Language language = kefu::common::v1::LANGUAGE_UNSPECIFIED;
  int64_t revision = 0;
};

struct RankingWeights {
  // BM25F field weights. The seed manual (53KF 2.6) finds questions by their keywords,
  // so keywords weigh most; the answer least (it is long and says much besides).
  std::array<double, kFieldCount> field = {2.0, 1.6, 3.0, 0.25};
  // Length normalisation per field.
  std::array<double, kFieldCount> b = {0.6, 0.42, 0.3, 0.75};
  double k1 = 0.83;
  // Query-side weight of a term by kind. A Han pair's IDF is already higher than its
  // characters'; characters weigh more than pairs so that a paraphrase sharing the
  // characters of a word but not the word (烂 for 腐烂, 修 for 维修) still counts.
  // Values tuned on the dev, v1 and v2 query sets (docs/KB.md "Evaluation").
  double han_unigram = 1.4;
  double han_bigram = 1.0;
  double word = 1.0;
  double number = 0.8;
  // A synonym group's concept token (synonyms.h).
  double concept_term = 1.6;
  // A general English synonym of a question word (english_lexicon.h), as a share of the
  // word's weight; the query expands, the index does not. 0 turns expansion off.
  double synonym_share = 0.42;
  // A query term the knowledge base has never seen still counts against confidence
  // ("can I pay with bitcoin"), at this share of a rare term; unseen Han pairs do not
  // (most are pairs across word boundaries).
  double unseen_share = 0.35;
  // Added to the normalised score when the question contains one of the entry's
  // keywords as a whole (the 53KF rule: search the keywords the customer's text holds).
  double keyword_phrase_bonus = 0.075;
  // An entry that shares only single Han characters with the question (今天几号 and
  // 几天能到 share 天 and 几) is scaled by this: characters alone are weak evidence.
  double unigram_only_factor = 0.35;
};

struct SearchOptions {
  // Only entries of these categories (a bot's memory, F41); nullptr = all.
  const absl::flat_hash_set<std::string>* categories = nullptr;
  // Only entries of this language; UNSPECIFIED = any.
  kefu::common::v1::Language language = kefu::common::v1::LANGUAGE_UNSPECIFIED;
  size_t limit = 10;
  // Hits scoring below this are left out.
  double min_score = 0.0;
};

struct SearchHit {
  const IndexedEntry* entry = nullptr;
  // Relevance normalised by the query: the IDF-weighted share of the question's terms
  // the entry matches, about 1.0 when every term hits a keyword; may exceed 1.
  double score = 0.0;
};

struct SearchResult {
  std::vector<SearchHit> hits;  // best first
  // Best score among entries the category filter left out (F41 out of scope).
  double best_excluded = 0.0;
  // Query terms after analysis (for highlights).
  std::vector<std::string> terms;
};

class KnowledgeIndex {
 public:
  explicit KnowledgeIndex(RankingWeights weights = {});
  KnowledgeIndex(const KnowledgeIndex&) = delete;
  KnowledgeIndex& operator=(const KnowledgeIndex&) = delete;

  // Adds the entry or replaces the one with its id.
  void Upsert(IndexedEntry entry);
  // False when no entry has this id.
  bool Remove(absl::string_view entry_id);
  void Clear();

  const IndexedEntry* Find(absl::string_view entry_id) const;
  size_t size() const { return by_id_.size(); }

  SearchResult Search(absl::string_view query, const SearchOptions& options) const;

  const RankingWeights& weights() const { return weights_; }

 private:
  struct Posting {
    uint32_t doc;
    std::array<uint16_t, kFieldCount> tf;
  };
  struct Doc {
    std::unique_ptr<IndexedEntry> entry;  // stable address for SearchHit
    std::array<uint32_t, kFieldCount> length{};
    std::vector<uint32_t> terms;           // distinct term ids, for removal
    std::vector<std::string> phrase_keys;  // keyword phrases, for removal
    uint32_t category = 0;
    bool live = false;
  };

  uint32_t TermId(const std::string& term);
  uint32_t CategoryId(const std::string& category_id);
  double TermWeight(TokenKind kind) const;
  // Keys under which a keyword is found as a whole in a question.
  static std::string PhraseKey(absl::string_view keyword);

  const RankingWeights weights_;
  absl::flat_hash_map<std::string, uint32_t> term_ids_;
  std::vector<std::vector<Posting>> postings_;                       // by term id
  absl::flat_hash_map<std::string, std::vector<uint32_t>> phrases_;  // key -> docs
  size_t max_phrase_chars_ = 0;
  absl::flat_hash_map<std::string, uint32_t> category_ids_;
  std::vector<Doc> docs_;
  std::vector<uint32_t> free_docs_;
  absl::flat_hash_map<std::string, uint32_t> by_id_;
  std::array<double, kFieldCount> total_length_{};
};

// Query-term keys of the keyword phrases a question contains: folded Han substrings and
// runs of stemmed English words (exposed for tests).
std::vector<std::string> QueryPhraseKeys(absl::string_view question, size_t max_chars);

}  // namespace kefu::kb
