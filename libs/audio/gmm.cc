#include "libs/audio/gmm.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <thread>

namespace kefu::audio {
namespace {

constexpr double kLog2Pi = 1.8378770664093453;

// Rows [begin, end) of x, for threads and for bounded temporaries.
template <typename Fn>
void ForChunks(long rows, int threads, Fn&& fn) {
  constexpr long kChunk = 2048;
  threads = std::max(1, threads);
  if (threads == 1 || rows < 2 * kChunk) {
    for (long b = 0; b < rows; b += kChunk) fn(0, b, std::min(rows, b + kChunk));
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (long b = t * kChunk; b < rows; b += threads * kChunk) {
        fn(t, b, std::min(rows, b + kChunk));
      }
    });
  }
  for (auto& th : pool) th.join();
}

// Turns each row of log-likelihoods into posteriors in place; returns sum of log p(x_t).
double RowSoftmax(FeatureMatrix* ll) {
  double total = 0;
  for (long t = 0; t < ll->rows(); ++t) {
    auto row = ll->row(t);
    const float mx = row.maxCoeff();
    row = (row.array() - mx).exp();
    const float sum = row.sum();
    row /= sum;
    total += mx + std::log(sum);
  }
  return total;
}

}  // namespace

DiagGmm::DiagGmm(Eigen::VectorXf weights, FeatureMatrix means, FeatureMatrix variances)
    : weights_(std::move(weights)), means_(std::move(means)), variances_(std::move(variances)) {
  const int m = components(), d = dims();
  precisions_ = variances_.cwiseInverse();
  projection_.resize(2 * d, m);
  projection_.topRows(d) = means_.cwiseProduct(precisions_).transpose();
  projection_.bottomRows(d) = -0.5f * precisions_.transpose();
  offset_.resize(m);
  log_norm_.resize(m);
  for (int k = 0; k < m; ++k) {
    const double log_det = variances_.row(k).array().log().sum();
    const double quad =
        means_.row(k).array().square().cwiseProduct(precisions_.row(k).array()).sum();
    log_norm_[k] =
        static_cast<float>(std::log(std::max(weights_[k], 1e-30f)) - 0.5 * (d * kLog2Pi + log_det));
    offset_[k] = static_cast<float>(log_norm_[k] - 0.5 * quad);
  }
}

FeatureMatrix DiagGmm::WeightedLogLikelihoods(const FeatureMatrix& x) const {
  FeatureMatrix xx(x.rows(), 2 * x.cols());
  xx.leftCols(x.cols()) = x;
  xx.rightCols(x.cols()) = x.array().square();
  FeatureMatrix ll = xx * projection_;
  ll.rowwise() += offset_;
  return ll;
}

float DiagGmm::ComponentLogLikelihood(const float* x, int m) const {
  const int d = dims();
  float acc = 0;
  const float* mu = means_.row(m).data();
  const float* p = precisions_.row(m).data();
  for (int i = 0; i < d; ++i) {
    const float diff = x[i] - mu[i];
    acc += diff * diff * p[i];
  }
  return log_norm_[m] - 0.5f * acc;
}

double DiagGmm::AverageLogLikelihood(const FeatureMatrix& x) const {
  if (x.rows() == 0) return 0;
  double total = 0;
  ForChunks(x.rows(), 1, [&](int, long b, long e) {
    FeatureMatrix ll = WeightedLogLikelihoods(x.middleRows(b, e - b));
    total += RowSoftmax(&ll);
  });
  return total / x.rows();
}

void GmmStats::Add(const GmmStats& other) {
  if (n.size() == 0) {
    *this = other;
    return;
  }
  n += other.n;
  f += other.f;
  if (s.size() != 0) s += other.s;
  log_likelihood += other.log_likelihood;
  frames += other.frames;
}

GmmStats Accumulate(const DiagGmm& gmm, const FeatureMatrix& x, bool second_order, int threads) {
  const int m = gmm.components(), d = gmm.dims();
  threads = std::max(1, threads);
  std::vector<GmmStats> partial(threads);
  for (auto& p : partial) {
    p.n = Eigen::VectorXd::Zero(m);
    p.f = Eigen::MatrixXd::Zero(m, d);
    if (second_order) p.s = Eigen::MatrixXd::Zero(m, d);
  }
  ForChunks(x.rows(), threads, [&](int t, long b, long e) {
    const auto chunk = x.middleRows(b, e - b);
    FeatureMatrix post = gmm.WeightedLogLikelihoods(chunk);
    GmmStats& p = partial[t];
    p.log_likelihood += RowSoftmax(&post);
    p.frames += e - b;
    p.n += post.colwise().sum().transpose().cast<double>();
    p.f += (post.transpose() * chunk).cast<double>();
    if (second_order) p.s += (post.transpose() * chunk.array().square().matrix()).cast<double>();
  });
  GmmStats out;
  for (const auto& p : partial) out.Add(p);
  return out;
}

DiagGmm TrainGmm(const FeatureMatrix& x, const TrainOptions& options) {
  const int d = static_cast<int>(x.cols());
  const Eigen::RowVectorXf global_mean = x.colwise().mean();
  const Eigen::RowVectorXf global_var =
      ((x.rowwise() - global_mean).array().square().colwise().mean()).max(1e-6f);
  const Eigen::RowVectorXf floor = options.variance_floor * global_var;

  Eigen::VectorXf w = Eigen::VectorXf::Ones(1);
  FeatureMatrix mu = global_mean;
  FeatureMatrix var = global_var;
  DiagGmm gmm(w, mu, var);
  int target = 1;
  while (target < options.components) target <<= 1;

  auto em = [&](int iterations) {
    for (int it = 0; it < iterations; ++it) {
      GmmStats st = Accumulate(gmm, x, /*second_order=*/true, options.threads);
      const int m = gmm.components();
      Eigen::VectorXf nw(m);
      FeatureMatrix nmu(m, d), nvar(m, d);
      for (int k = 0; k < m; ++k) {
        const double nk = st.n[k];
        if (nk < 1e-3 * d) {  // starved: keep the old component, it will be re-split
          nw[k] = 1e-6f;
          nmu.row(k) = gmm.means().row(k);
          nvar.row(k) = gmm.variances().row(k);
          continue;
        }
        nw[k] = static_cast<float>(nk / st.frames);
        const Eigen::RowVectorXd mean = st.f.row(k) / nk;
        const Eigen::RowVectorXd v = st.s.row(k) / nk - mean.array().square().matrix();
        nmu.row(k) = mean.cast<float>();
        nvar.row(k) = v.cast<float>().cwiseMax(floor);
      }
      nw /= nw.sum();
      gmm = DiagGmm(nw, nmu, nvar);
      if (options.progress) options.progress(m, it, st.log_likelihood / std::max(1L, st.frames));
    }
  };

  em(options.iterations_per_split);
  while (gmm.components() < target) {
    const int m = gmm.components();
    Eigen::VectorXf nw(2 * m);
    FeatureMatrix nmu(2 * m, d), nvar(2 * m, d);
    for (int k = 0; k < m; ++k) {
      const Eigen::RowVectorXf sd = gmm.variances().row(k).array().sqrt();
      nmu.row(2 * k) = gmm.means().row(k) + 0.2f * sd;
      nmu.row(2 * k + 1) = gmm.means().row(k) - 0.2f * sd;
      nvar.row(2 * k) = gmm.variances().row(k);
      nvar.row(2 * k + 1) = gmm.variances().row(k);
      nw[2 * k] = nw[2 * k + 1] = gmm.weights()[k] / 2;
    }
    gmm = DiagGmm(nw, nmu, nvar);
    em(gmm.components() == target ? options.final_iterations : options.iterations_per_split);
  }
  return gmm;
}

DiagGmm MapAdaptMeans(const DiagGmm& ubm, const Eigen::VectorXd& n, const Eigen::MatrixXd& f,
                      float relevance) {
  FeatureMatrix means = ubm.means();
  for (int k = 0; k < ubm.components(); ++k) {
    const double denom = n[k] + relevance;
    means.row(k) =
        ((f.row(k) + relevance * ubm.means().row(k).cast<double>()) / denom).cast<float>();
  }
  return DiagGmm(ubm.weights(), means, ubm.variances());
}

UbmAlignment Align(const DiagGmm& ubm, const FeatureMatrix& x, int top_c) {
  UbmAlignment out;
  const long t_count = x.rows();
  top_c = std::min(top_c, ubm.components());
  out.ubm_log_likelihood.resize(t_count);
  out.top.resize(t_count, top_c);
  std::vector<int> idx(ubm.components());
  ForChunks(t_count, 1, [&](int, long b, long e) {
    FeatureMatrix ll = ubm.WeightedLogLikelihoods(x.middleRows(b, e - b));
    for (long t = b; t < e; ++t) {
      const auto row = ll.row(t - b);
      const float mx = row.maxCoeff();
      out.ubm_log_likelihood[t] = mx + std::log((row.array() - mx).exp().sum());
      for (int k = 0; k < ubm.components(); ++k) idx[k] = k;
      std::partial_sort(idx.begin(), idx.begin() + top_c, idx.end(),
                        [&](int a, int c) { return row[a] > row[c]; });
      for (int c = 0; c < top_c; ++c) out.top(t, c) = idx[c];
    }
  });
  return out;
}

double LogLikelihoodRatio(const DiagGmm& speaker, const FeatureMatrix& x,
                          const UbmAlignment& alignment) {
  if (x.rows() == 0) return 0;
  const auto top_c = static_cast<int>(alignment.top.cols());
  double total = 0;
  std::vector<float> ll(top_c);
  for (long t = 0; t < x.rows(); ++t) {
    float mx = -std::numeric_limits<float>::infinity();
    for (int c = 0; c < top_c; ++c) {
      ll[c] = speaker.ComponentLogLikelihood(x.row(t).data(), alignment.top(t, c));
      mx = std::max(mx, ll[c]);
    }
    double sum = 0;
    for (int c = 0; c < top_c; ++c) sum += std::exp(ll[c] - mx);
    total += mx + std::log(sum) - alignment.ubm_log_likelihood[t];
  }
  return total / x.rows();
}

}  // namespace kefu::audio
