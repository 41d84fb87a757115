#pragma once

#include <vector>

// Detection error trade-off of a verifier: the equal error rate and its threshold.
namespace kefu::audio {

struct EqualErrorRate {
  double eer = 0;        // where false-accept and false-reject rates meet, 0..1
  double threshold = 0;  // score at that point (accept when score >= threshold)
};

// INVALID when either list is empty: returns eer = 1.
EqualErrorRate ComputeEer(std::vector<double> target_scores, std::vector<double> nontarget_scores);

// The value below which `q` (0..1) of `values` lie (nearest rank).
double Percentile(std::vector<double> values, double q);

}  // namespace kefu::audio
