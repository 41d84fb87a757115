#include "libs/audio/features.h"

#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <numbers>

namespace kefu::audio {
namespace {

float HzToMel(float hz) { return 2595.0f * std::log10(1.0f + hz / 700.0f); }
float MelToHz(float mel) { return 700.0f * (std::pow(10.0f, mel / 2595.0f) - 1.0f); }

// fftw's planner is not thread-safe, executing a plan is: plans are made once per size
// under a lock and then shared (fftwf_execute_dft_r2c with fftwf_malloc'ed arrays).
fftwf_plan PlanFor(int n) {
  static std::mutex mu;
  static std::map<int, fftwf_plan> plans;
  std::lock_guard<std::mutex> lock(mu);
  auto it = plans.find(n);
  if (it != plans.end()) return it->second;
  float* in = fftwf_alloc_real(n);
  fftwf_complex* out = fftwf_alloc_complex(n / 2 + 1);
  fftwf_plan plan = fftwf_plan_dft_r2c_1d(n, in, out, FFTW_ESTIMATE);
  fftwf_free(in);
  fftwf_free(out);
  plans.emplace(n, plan);
  return plan;
}

struct FftBuffers {
  explicit FftBuffers(int n) : in(fftwf_alloc_real(n)), out(fftwf_alloc_complex(n / 2 + 1)) {}
  ~FftBuffers() {
    fftwf_free(in);
    fftwf_free(out);
  }
  FftBuffers(const FftBuffers&) = delete;
  FftBuffers& operator=(const FftBuffers&) = delete;
  float* in;
  fftwf_complex* out;
};

}  // namespace

int FrontEndConfig::FftSize() const {
  int n = 1;
  while (n < FrameLength()) n <<= 1;
  return n;
}

FrontEnd::FrontEnd(FrontEndConfig config) : config_(config) {
  const int len = config_.FrameLength();
  const int nfft = config_.FftSize();
  const int bins = nfft / 2 + 1;
  window_.resize(len);
  for (int i = 0; i < len; ++i) {
    window_[i] = 0.54f - 0.46f * std::cos(2 * std::numbers::pi_v<float> * i / (len - 1));
  }
  // Triangular filters equally spaced on the mel scale.
  const float nyquist = config_.sample_rate / 2.0f;
  const float lo = HzToMel(config_.min_hz), hi = HzToMel(std::min(config_.max_hz, nyquist));
  std::vector<float> edges(config_.num_mels + 2);
  for (int i = 0; i < config_.num_mels + 2; ++i) {
    edges[i] = MelToHz(lo + (hi - lo) * i / (config_.num_mels + 1));
  }
  mel_ = FeatureMatrix::Zero(config_.num_mels, bins);
  for (int m = 0; m < config_.num_mels; ++m) {
    for (int b = 0; b < bins; ++b) {
      const float hz = static_cast<float>(b) * config_.sample_rate / nfft;
      float w = 0;
      if (hz > edges[m] && hz <= edges[m + 1]) {
        w = (hz - edges[m]) / (edges[m + 1] - edges[m]);
      } else if (hz > edges[m + 1] && hz < edges[m + 2]) {
        w = (edges[m + 2] - hz) / (edges[m + 2] - edges[m + 1]);
      }
      mel_(m, b) = w;
    }
  }
  // Orthonormal DCT-II rows 1..num_ceps-1 (c0 is replaced by the frame's log energy).
  dct_ = FeatureMatrix::Zero(config_.num_ceps - 1, config_.num_mels);
  const float scale = std::sqrt(2.0f / config_.num_mels);
  for (int k = 1; k < config_.num_ceps; ++k) {
    for (int m = 0; m < config_.num_mels; ++m) {
      dct_(k - 1, m) =
          scale * std::cos(std::numbers::pi_v<float> * k * (m + 0.5f) / config_.num_mels);
    }
  }
  flat_lo_ = std::max(1, static_cast<int>(100.0f * nfft / config_.sample_rate));
  flat_hi_ = std::min(bins - 1, static_cast<int>(4000.0f * nfft / config_.sample_rate));
}

FrameAnalysis FrontEnd::Analyze(const Audio& input) const {
  const Audio audio = Resample(input, config_.sample_rate);
  const int len = config_.FrameLength();
  const int hop = config_.HopLength();
  const int nfft = config_.FftSize();
  const int bins = nfft / 2 + 1;
  const auto n = static_cast<int>(audio.samples.size());
  const int frames = n < len ? 0 : 1 + (n - len) / hop;

  FrameAnalysis out;
  out.energy_db.resize(frames);
  out.flatness.resize(frames);
  out.speech.assign(frames, false);
  out.mfcc = FeatureMatrix::Zero(frames, config_.num_ceps);
  if (frames == 0) return out;

  // Pre-emphasis and DC removal over the whole signal.
  double mean = 0;
  for (float s : audio.samples) mean += s;
  mean /= n;
  std::vector<float> x(n);
  float prev = 0;
  for (int i = 0; i < n; ++i) {
    const float s = audio.samples[i] - static_cast<float>(mean);
    x[i] = s - config_.preemphasis * prev;
    prev = s;
  }

  fftwf_plan plan = PlanFor(nfft);
  FftBuffers buf(nfft);
  Eigen::VectorXf power(bins);
  Eigen::VectorXf logmel(config_.num_mels);
  for (int f = 0; f < frames; ++f) {
    const float* src = x.data() + static_cast<size_t>(f) * hop;
    double energy = 0;
    for (int i = 0; i < len; ++i) {
      buf.in[i] = src[i] * window_[i];
      energy += static_cast<double>(src[i]) * src[i];
    }
    std::fill(buf.in + len, buf.in + nfft, 0.0f);
    fftwf_execute_dft_r2c(plan, buf.in, buf.out);
    for (int b = 0; b < bins; ++b) {
      power[b] = buf.out[b][0] * buf.out[b][0] + buf.out[b][1] * buf.out[b][1];
    }
    const double e = std::max(energy / len, 1e-12);
    out.energy_db[f] = static_cast<float>(10.0 * std::log10(e));
    double log_sum = 0, sum = 0;
    for (int b = flat_lo_; b <= flat_hi_; ++b) {
      const double p = std::max(static_cast<double>(power[b]), 1e-12);
      log_sum += std::log(p);
      sum += p;
    }
    const int nb = flat_hi_ - flat_lo_ + 1;
    out.flatness[f] = static_cast<float>(std::exp(log_sum / nb) / (sum / nb));
    logmel = (mel_ * power).array().max(1e-10f).log();
    out.mfcc.row(f).head(config_.num_ceps - 1) = (dct_ * logmel).transpose();
    out.mfcc(f, config_.num_ceps - 1) = static_cast<float>(std::log(e));
  }

  // VAD: energy relative to the loudest frame and to the noise floor, and not noise-like.
  std::vector<float> sorted = out.energy_db;
  std::sort(sorted.begin(), sorted.end());
  const float floor_db = sorted[sorted.size() / 10];
  const float max_db = sorted.back();
  const float threshold = std::max(
      {max_db - config_.vad_dynamic_db, floor_db + config_.vad_margin_db, config_.vad_floor_db});
  std::vector<bool> raw(frames);
  for (int f = 0; f < frames; ++f) {
    raw[f] = out.energy_db[f] > threshold && out.flatness[f] <= config_.vad_max_flatness;
  }
  // Drop isolated blips (a speech run must last 3 frames), then extend runs by the hangover.
  std::vector<bool> runs(frames, false);
  for (int f = 0; f < frames;) {
    if (!raw[f]) {
      ++f;
      continue;
    }
    int end = f;
    while (end < frames && raw[end]) ++end;
    if (end - f >= 3) std::fill(runs.begin() + f, runs.begin() + end, true);
    f = end;
  }
  for (int f = 0; f < frames; ++f) {
    if (!runs[f]) continue;
    const int lo = std::max(0, f - config_.vad_hangover);
    const int hi = std::min(frames - 1, f + config_.vad_hangover);
    for (int g = lo; g <= hi; ++g) out.speech[g] = true;
  }
  return out;
}

Features FrontEnd::Extract(const Audio& audio) const {
  FrameAnalysis analysis = Analyze(audio);
  Features out;
  out.total_frames = static_cast<int>(analysis.speech.size());
  const FeatureMatrix all = AddDeltas(analysis.mfcc, config_.delta_order, config_.delta_window);
  const int kept =
      static_cast<int>(std::count(analysis.speech.begin(), analysis.speech.end(), true));
  out.frames.resize(kept, all.cols());
  int r = 0;
  for (int f = 0; f < out.total_frames; ++f) {
    if (analysis.speech[f]) out.frames.row(r++) = all.row(f);
  }
  out.speech_seconds = kept * config_.hop_ms / 1000.0;
  Cmvn(&out.frames);
  return out;
}

FeatureMatrix AddDeltas(const FeatureMatrix& statics, int order, int window) {
  const auto frames = static_cast<int>(statics.rows());
  const auto dims = static_cast<int>(statics.cols());
  FeatureMatrix out(frames, dims * (1 + order));
  out.leftCols(dims) = statics;
  float denom = 0;
  for (int k = 1; k <= window; ++k) denom += 2.0f * k * k;
  for (int o = 1; o <= order; ++o) {
    for (int f = 0; f < frames; ++f) {
      Eigen::RowVectorXf acc = Eigen::RowVectorXf::Zero(dims);
      for (int k = 1; k <= window; ++k) {
        const int next = std::min(frames - 1, f + k);
        const int prev = std::max(0, f - k);
        acc += static_cast<float>(k) * (out.block(next, (o - 1) * dims, 1, dims) -
                                        out.block(prev, (o - 1) * dims, 1, dims));
      }
      out.block(f, o * dims, 1, dims) = acc / denom;
    }
  }
  return out;
}

void Cmvn(FeatureMatrix* frames) {
  if (frames->rows() == 0) return;
  const Eigen::RowVectorXf mean = frames->colwise().mean();
  frames->rowwise() -= mean;
  const Eigen::RowVectorXf var = frames->array().square().colwise().mean();
  for (int d = 0; d < frames->cols(); ++d) {
    const float sd = std::sqrt(var[d]);
    if (sd > 1e-6f) {
      frames->col(d) /= sd;
    } else {
      frames->col(d).setZero();
    }
  }
}

}  // namespace kefu::audio
