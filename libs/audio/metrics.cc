#include "libs/audio/metrics.h"

#include <algorithm>
#include <cmath>

namespace kefu::audio {

EqualErrorRate ComputeEer(std::vector<double> target, std::vector<double> nontarget) {
  EqualErrorRate out{1.0, 0.0};
  if (target.empty() || nontarget.empty()) return out;
  std::sort(target.begin(), target.end());
  std::sort(nontarget.begin(), nontarget.end());
  // Candidate thresholds: every score. At threshold t: FRR = share of targets < t,
  // FAR = share of non-targets >= t.
  std::vector<double> candidates = target;
  candidates.insert(candidates.end(), nontarget.begin(), nontarget.end());
  std::sort(candidates.begin(), candidates.end());
  double best_gap = 2;
  for (double t : candidates) {
    const double frr =
        static_cast<double>(std::lower_bound(target.begin(), target.end(), t) - target.begin()) /
        target.size();
    const double far = static_cast<double>(nontarget.end() - std::lower_bound(nontarget.begin(),
                                                                              nontarget.end(), t)) /
                       nontarget.size();
    const double gap = std::abs(far - frr);
    if (gap < best_gap || (gap == best_gap && (far + frr) / 2 < out.eer)) {
      best_gap = gap;
      out.eer = (far + frr) / 2;
      out.threshold = t;
    }
  }
  return out;
}

double Percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<size_t>(std::ceil(q * values.size()));
  return values[std::min(values.size() - 1, rank == 0 ? 0 : rank - 1)];
}

}  // namespace kefu::audio
