#pragma once

#include <Eigen/Core>
#include <functional>
#include <vector>

#include "libs/audio/features.h"

// Diagonal-covariance Gaussian mixtures: EM training (the UBM), MAP adaptation of the
// means (the speaker model) and log-likelihood-ratio scoring with top-C components
// (Reynolds, Quatieri & Dunn, "Speaker Verification Using Adapted Gaussian Mixture
// Models", 2000).
namespace kefu::audio {

class DiagGmm final {
 public:
  DiagGmm() = default;
  // weights: M (sum 1); means, variances: M x D.
  DiagGmm(Eigen::VectorXf weights, FeatureMatrix means, FeatureMatrix variances);

  int components() const { return static_cast<int>(weights_.size()); }
  int dims() const { return static_cast<int>(means_.cols()); }
  const Eigen::VectorXf& weights() const { return weights_; }
  const FeatureMatrix& means() const { return means_; }
  const FeatureMatrix& variances() const { return variances_; }

  // log(w_m N(x_t; mu_m, var_m)) for every frame and component: T x M.
  FeatureMatrix WeightedLogLikelihoods(const FeatureMatrix& x) const;
  // log w_m N(x; mu_m, var_m) of one frame and one component.
  float ComponentLogLikelihood(const float* x, int m) const;
  // Mean over frames of log p(x_t).
  double AverageLogLikelihood(const FeatureMatrix& x) const;

 private:
  Eigen::VectorXf weights_;
  FeatureMatrix means_;
  FeatureMatrix variances_;
  FeatureMatrix precisions_;   // 1 / variances
  FeatureMatrix projection_;   // 2D x M: [mu * prec ; -0.5 prec], for one matrix product
  Eigen::RowVectorXf offset_;  // M: log w - 0.5 (D log 2pi + sum log var + sum mu^2 prec)
  Eigen::VectorXf log_norm_;   // M: log w - 0.5 (D log 2pi + sum log var)
};

// Zeroth, first (and second) order Baum-Welch statistics of frames under a GMM.
struct GmmStats {
  Eigen::VectorXd n;  // M
  Eigen::MatrixXd f;  // M x D
  Eigen::MatrixXd s;  // M x D (only when asked for)
  double log_likelihood = 0;
  long frames = 0;

  void Add(const GmmStats& other);
};

GmmStats Accumulate(const DiagGmm& gmm, const FeatureMatrix& x, bool second_order, int threads = 1);

struct TrainOptions {
  int components = 256;  // rounded up to a power of two (binary splitting)
  int iterations_per_split = 5;
  int final_iterations = 10;
  float variance_floor = 0.01f;  // fraction of the global variance
  int threads = 2;
  std::function<void(int components, int iteration, double avg_log_likelihood)> progress;
};

// EM from one Gaussian, doubling by splitting along the standard deviation.
DiagGmm TrainGmm(const FeatureMatrix& x, const TrainOptions& options);

// Maximum-a-posteriori adaptation of the means: mu' = (F + r mu) / (N + r).
DiagGmm MapAdaptMeans(const DiagGmm& ubm, const Eigen::VectorXd& n, const Eigen::MatrixXd& f,
                      float relevance);

// What scoring needs from the UBM per frame: log p(x|UBM) and its top-C components.
// Depends only on the UBM, so it is computed once per utterance (and cached for cohorts).
struct UbmAlignment {
  Eigen::VectorXf ubm_log_likelihood;                                       // T
  Eigen::Matrix<int, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> top;  // T x C
};

UbmAlignment Align(const DiagGmm& ubm, const FeatureMatrix& x, int top_c);

// Average per-frame log-likelihood ratio log p(x|speaker) - log p(x|UBM), the speaker
// evaluated on the UBM's top-C components of each frame.
double LogLikelihoodRatio(const DiagGmm& speaker, const FeatureMatrix& x,
                          const UbmAlignment& alignment);

}  // namespace kefu::audio
