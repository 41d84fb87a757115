#pragma once

// Figures of `kefuctl kb eval` and the Ask benchmark (F42): top-1 accuracy, MRR,
// escalation precision/recall and latency percentiles. Header-only, shared by kefuctl
// and bench/kb without linking the service library.

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"

namespace kefu::kb {

struct EvalCase {
  std::string expected_id;              // "" = escalation expected
  std::vector<std::string> ranked_ids;  // answers, best first
  bool escalated = false;
  bool answered = false;  // decision ANSWER (not CLARIFY)
  double latency_ms = 0;
};

struct EvalReport {
  int queries = 0;
  int answerable = 0;
  int escalation_expected = 0;
  // Among answerable queries: the expected entry ranked first.
  double top1 = 0;
  // ... and the bot did not escalate (the customer sees it, as answer or first choice).
  double top1_served = 0;
  // ... and the bot answered it outright.
  double answered_correct = 0;
  double mrr = 0;
  double esc_precision = 0;
  double esc_recall = 0;
  double esc_f1 = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
};

// The q-quantile (0..1) by the nearest-rank method.
inline double Percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(values.size())));
  return values[std::min(values.size() - 1, rank == 0 ? 0 : rank - 1)];
}

inline EvalReport Evaluate(const std::vector<EvalCase>& cases,
                           const std::vector<double>& latencies_ms) {
  EvalReport r;
  r.queries = static_cast<int>(cases.size());
  int top1 = 0;
  int served = 0;
  int answered = 0;
  double rr = 0;
  int true_esc = 0;
  int escalated = 0;
  for (const EvalCase& c : cases) {
    if (c.escalated) ++escalated;
    if (c.expected_id.empty()) {
      ++r.escalation_expected;
      if (c.escalated) ++true_esc;
      continue;
    }
    ++r.answerable;
    for (size_t i = 0; i < c.ranked_ids.size(); ++i) {
      if (c.ranked_ids[i] == c.expected_id) {
        rr += 1.0 / static_cast<double>(i + 1);
        if (i == 0) {
          ++top1;
          if (!c.escalated) ++served;
          if (c.answered) ++answered;
        }
        break;
      }
    }
  }
  if (r.answerable > 0) {
    r.top1 = static_cast<double>(top1) / r.answerable;
    r.top1_served = static_cast<double>(served) / r.answerable;
    r.answered_correct = static_cast<double>(answered) / r.answerable;
    r.mrr = rr / r.answerable;
  }
  r.esc_precision = escalated > 0 ? static_cast<double>(true_esc) / escalated : 0;
  r.esc_recall =
      r.escalation_expected > 0 ? static_cast<double>(true_esc) / r.escalation_expected : 0;
  r.esc_f1 = r.esc_precision + r.esc_recall > 0
                 ? 2 * r.esc_precision * r.esc_recall / (r.esc_precision + r.esc_recall)
                 : 0;
  r.p50_ms = Percentile(latencies_ms, 0.50);
  r.p99_ms = Percentile(latencies_ms, 0.99);
  r.max_ms = latencies_ms.empty() ? 0 : *std::max_element(latencies_ms.begin(), latencies_ms.end());
  return r;
}

inline std::string FormatReport(const EvalReport& r, size_t samples) {
  std::string out;
  out += absl::StrFormat("queries %d (answerable %d, escalation expected %d)\n", r.queries,
                         r.answerable, r.escalation_expected);
  out += absl::StrFormat("top-1 accuracy       %.3f  (expected entry ranked first)\n", r.top1);
  out += absl::StrFormat("top-1 served         %.3f  (ranked first and not escalated)\n",
                         r.top1_served);
  out += absl::StrFormat("answered correctly   %.3f  (decision ANSWER with the expected entry)\n",
                         r.answered_correct);
  out += absl::StrFormat("MRR                  %.3f\n", r.mrr);
  out += absl::StrFormat("escalation precision %.3f  recall %.3f  F1 %.3f\n", r.esc_precision,
                         r.esc_recall, r.esc_f1);
  out += absl::StrFormat("Ask latency          p50 %.2f ms  p99 %.2f ms  max %.2f ms  (%d calls)\n",
                         r.p50_ms, r.p99_ms, r.max_ms, static_cast<int>(samples));
  out += absl::StrFormat("kb_eval top1=%.3f mrr=%.3f esc_f1=%.3f p99_ms=%.2f\n", r.top1, r.mrr,
                         r.esc_f1, r.p99_ms);
  return out;
}

}  // namespace kefu::kb
