// Ask benchmark and offline evaluation (F42): loads a JSONL knowledge base into the
// in-memory index, optionally adds synthetic entries (to reach 10,000), asks every query
// of a JSONL query set through the same code the BotService runs, and prints top-1
// accuracy, MRR, escalation precision/recall and latency percentiles.
//
//   kefu_kb_ask_bench --kb testdata/kb/kb.jsonl --queries testdata/kb/queries_heldout.jsonl
//                     [--synthetic 9886] [--repeat 20] [--answer 0.6] [--clarify 0.3]
//                     [--fields q,p,k,a] [--b q,p,k,a] [--k1 K] [--unigram W] [--unseen S]
//                     [--bonus B] [--synonyms S] [--concept C] [--unigram-only F]
//                     [--verbose]
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "services/kb/answerer.h"
#include "services/kb/entry_lines.h"
#include "services/kb/eval_metrics.h"
#include "services/kb/knowledge_index.h"
#include "services/kb/text.h"

namespace {

namespace kb = kefu::kb;

struct Options {
  std::string kb_file;
  std::string queries_file;
  int synthetic = 0;
  int repeat = 1;
  double answer = -1;
  double clarify = -1;
  bool verbose = false;
  kb::RankingWeights weights;
};

bool ParseList(const std::string& text, std::array<double, kb::kFieldCount>* out) {
  std::vector<std::string> parts = absl::StrSplit(text, ',');
  if (parts.size() != kb::kFieldCount) return false;
  for (int i = 0; i < kb::kFieldCount; ++i) {
    if (!absl::SimpleAtod(parts[i], &(*out)[i])) return false;
  }
  return true;
}

bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--kb") {
      o->kb_file = value();
    } else if (arg == "--queries") {
      o->queries_file = value();
    } else if (arg == "--synthetic") {
      if (!absl::SimpleAtoi(value(), &o->synthetic)) return false;
    } else if (arg == "--repeat") {
      if (!absl::SimpleAtoi(value(), &o->repeat)) return false;
    } else if (arg == "--answer") {
      if (!absl::SimpleAtod(value(), &o->answer)) return false;
    } else if (arg == "--clarify") {
      if (!absl::SimpleAtod(value(), &o->clarify)) return false;
    } else if (arg == "--fields") {
      if (!ParseList(value(), &o->weights.field)) return false;
    } else if (arg == "--b") {
      if (!ParseList(value(), &o->weights.b)) return false;
    } else if (arg == "--k1") {
      if (!absl::SimpleAtod(value(), &o->weights.k1)) return false;
    } else if (arg == "--unigram") {
      if (!absl::SimpleAtod(value(), &o->weights.han_unigram)) return false;
    } else if (arg == "--unseen") {
      if (!absl::SimpleAtod(value(), &o->weights.unseen_share)) return false;
    } else if (arg == "--synonyms") {
      if (!absl::SimpleAtod(value(), &o->weights.synonym_share)) return false;
    } else if (arg == "--concept") {
      if (!absl::SimpleAtod(value(), &o->weights.concept_term)) return false;
    } else if (arg == "--unigram-only") {
      if (!absl::SimpleAtod(value(), &o->weights.unigram_only_factor)) return false;
    } else if (arg == "--bonus") {
      if (!absl::SimpleAtod(value(), &o->weights.keyword_phrase_bonus)) return false;
    } else if (arg == "--verbose") {
      o->verbose = true;
    } else {
      return false;
    }
  }
  return !o->kb_file.empty() && !o->queries_file.empty() && o->repeat >= 1;
}

// Synthetic entries built from the real ones' vocabulary, so that common terms get long
// posting lists (the slow case), in categories no real query expects.
void AddSynthetic(const std::vector<kb::IndexedEntry>& real, int count, kb::KnowledgeIndex* index) {
  std::vector<std::string> han;
  std::vector<std::string> words;
  for (const kb::IndexedEntry& e : real) {
    const std::string text = e.question + " " + e.answer;
    size_t pos = 0;
    while (pos < text.size()) {
      const size_t begin = pos;
      const char32_t cp = kb::NextCodePoint(text, &pos);
      if (kb::IsHan(cp)) han.push_back(text.substr(begin, pos - begin));
    }
    std::string word;
    for (char c : text + " ") {
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        word.push_back(c);
      } else if (!word.empty()) {
        words.push_back(word);
        word.clear();
      }
    }
  }
  std::mt19937 rng(42);
  auto pick = [&](const std::vector<std::string>& pool) {
    return pool[std::uniform_int_distribution<size_t>(0, pool.size() - 1)(rng)];
  };
  for (int i = 0; i < count; ++i) {
    kb::IndexedEntry e;
    e.entry_id = absl::StrFormat("syn-%05d", i);
    e.category_id = absl::StrFormat("synthetic-%02d", i % 40);
    const bool zh = i % 2 == 0;
    e.language = zh ? kefu::common::v1::LANGUAGE_ZH : kefu::common::v1::LANGUAGE_EN;
    auto text = [&](int n) {
      std::string out;
      for (int k = 0; k < n; ++k) {
        if (zh) {
          out += pick(han);
        } else {
          if (k > 0) out += " ";
          out += pick(words);
        }
      }
      return out;
    };
    e.question = text(zh ? 12 : 8);
    e.phrasings = {text(zh ? 10 : 7)};
    e.keywords = {text(zh ? 2 : 1), text(zh ? 3 : 2), text(zh ? 2 : 1)};
    e.answer = text(zh ? 60 : 35);
    index->Upsert(std::move(e));
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, &o)) {
    std::fprintf(stderr,
                 "usage: kefu_kb_ask_bench --kb FILE --queries FILE [--synthetic N] "
                 "[--repeat R] [--answer T] [--clarify T] [--verbose]\n");
    return 2;
  }
  std::vector<kb::IndexedEntry> real;
  {
    std::ifstream in(o.kb_file);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      if (line.empty()) continue;
      auto parsed = kb::ParseJsonLine<kefu::kb::v1::EntryLine>(line);
      auto lang = parsed.ok() ? kb::ParseLang(parsed->lang()) : parsed.status();
      if (!parsed.ok() || !lang.ok()) {
        std::fprintf(stderr, "%s:%d: %s\n", o.kb_file.c_str(), n,
                     (parsed.ok() ? lang.status() : parsed.status()).ToString().c_str());
        return 1;
      }
      kb::IndexedEntry e;
      e.entry_id = parsed->id();
      e.category_id = parsed->category();
      e.question = parsed->question();
      e.phrasings = {parsed->phrasings().begin(), parsed->phrasings().end()};
      e.keywords = {parsed->keywords().begin(), parsed->keywords().end()};
      e.answer = parsed->answer();
      e.language = *lang;
      real.push_back(std::move(e));
    }
  }
  std::vector<kefu::kb::v1::EvalQueryLine> queries;
  {
    std::ifstream in(o.queries_file);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      auto parsed = kb::ParseJsonLine<kefu::kb::v1::EvalQueryLine>(line);
      if (!parsed.ok()) {
        std::fprintf(stderr, "%s: %s\n", o.queries_file.c_str(),
                     parsed.status().ToString().c_str());
        return 1;
      }
      queries.push_back(*parsed);
    }
  }

  kb::KnowledgeIndex index(o.weights);
  const auto build_start = std::chrono::steady_clock::now();
  for (const kb::IndexedEntry& e : real) index.Upsert(e);
  AddSynthetic(real, o.synthetic, &index);
  const double build_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - build_start)
          .count();

  kb::BotPolicy policy;
  if (o.answer >= 0) policy.answer_threshold = o.answer;
  if (o.clarify >= 0) policy.clarify_threshold = o.clarify;

  std::vector<kb::EvalCase> cases;
  std::vector<double> latencies;
  const std::vector<kb::PastMessage> no_conversation;
  for (int r = 0; r < o.repeat; ++r) {
    for (const auto& q : queries) {
      kb::AskInput input;
      input.question = q.query();
      input.conversation = &no_conversation;
      input.policy = policy;
      input.max_answers = 10;
      const auto start = std::chrono::steady_clock::now();
      kb::AskOutput out = kb::AnswerQuestion(index, input);
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count();
      latencies.push_back(ms);
      if (r > 0) continue;
      kb::EvalCase c;
      c.expected_id = q.expected_id();
      for (const kb::SearchHit& hit : out.hits) c.ranked_ids.push_back(hit.entry->entry_id);
      c.escalated = out.outcome.decision == kb::Decision::kEscalate;
      c.answered = out.outcome.decision == kb::Decision::kAnswer;
      c.latency_ms = ms;
      if (o.verbose) {
        const bool ok = c.expected_id.empty() ? c.escalated
                                              : (!c.ranked_ids.empty() &&
                                                 c.ranked_ids[0] == c.expected_id && !c.escalated);
        const char* decision = c.escalated ? "ESCALATE" : (c.answered ? "ANSWER" : "CLARIFY");
        std::printf("%s %-8s want=%-10s got=%-10s %.3f %.3f  %s\n", ok ? "ok  " : "MISS", decision,
                    c.expected_id.empty() ? "-" : c.expected_id.c_str(),
                    out.hits.empty() ? "-" : out.hits[0].entry->entry_id.c_str(),
                    out.hits.empty() ? 0.0 : out.hits[0].score,
                    out.hits.size() < 2 ? 0.0 : out.hits[1].score, q.query().c_str());
      }
      cases.push_back(std::move(c));
    }
  }
  if (o.verbose && o.repeat > 1) {
    // The slowest queries by their median over the repetitions.
    std::vector<std::pair<double, std::string>> slow;
    for (size_t q = 0; q < queries.size(); ++q) {
      std::vector<double> mine;
      mine.reserve(static_cast<size_t>(o.repeat));
      for (int r = 0; r < o.repeat; ++r) mine.push_back(latencies[r * queries.size() + q]);
      slow.emplace_back(kb::Percentile(mine, 0.5), queries[q].query());
    }
    std::sort(slow.rbegin(), slow.rend());
    for (size_t i = 0; i < std::min<size_t>(5, slow.size()); ++i) {
      std::printf("slow %.2f ms  %s\n", slow[i].first, slow[i].second.c_str());
    }
  }
  std::printf("entries %zu (real %zu, synthetic %d), index built in %.1f ms\n", index.size(),
              real.size(), o.synthetic, build_ms);
  std::printf("thresholds answer %.2f clarify %.2f\n", policy.answer_threshold,
              policy.clarify_threshold);
  std::cout << kb::FormatReport(kb::Evaluate(cases, latencies), latencies.size());
  return 0;
}
