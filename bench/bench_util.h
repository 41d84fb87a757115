#pragma once

// What every benchmark program under bench/ shares: percentiles and `--name value` flags.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"

namespace kefu::bench {

// The p-th quantile (0..1) of v, nearest rank; 0 for no samples.
inline double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// The integer after `name` on the command line, else `fallback`.
inline int Flag(int argc, char** argv, const char* name, int fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    int value;
    if (std::string(argv[i]) == name && absl::SimpleAtoi(argv[i + 1], &value)) return value;
  }
  return fallback;
}

}  // namespace kefu::bench
