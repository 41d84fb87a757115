#pragma once

#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <vector>

#include "libs/audio/pcm.h"

// The front end: pre-emphasis, framing, FFT (fftw3), energy/spectral voice-activity
// detection, mel filterbank, MFCC, deltas and cepstral mean/variance normalisation.
namespace kefu::audio {

// Row-major frames x dims, the layout every model function takes.
using FeatureMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct FrontEndConfig {
  int sample_rate = 16000;  // audio is resampled to this rate first
  float frame_ms = 25;
  float hop_ms = 10;
  float preemphasis = 0.97f;
  int num_mels = 40;
  float min_hz = 60;
  float max_hz = 7600;
  int num_ceps = 20;    // c1..c(num_ceps-1) plus log energy; c0 is dropped
  int delta_order = 1;  // 0: statics; 1: +deltas; 2: +delta-deltas
  int delta_window = 2;
  // VAD: a frame is speech when its energy is within `vad_dynamic_db` of the loudest
  // frame, `vad_margin_db` above the noise floor (10th percentile), above `vad_floor_db`
  // (dBFS), and its spectrum is not flat (noise-like): flatness <= vad_max_flatness.
  float vad_dynamic_db = 40;
  float vad_margin_db = 8;
  float vad_floor_db = -65;
  float vad_max_flatness = 0.5f;
  int vad_hangover = 3;  // frames kept after speech ends (and before it starts)

  int FrameLength() const {
    return static_cast<int>(std::lround(static_cast<float>(sample_rate) * frame_ms / 1000.0f));
  }
  int HopLength() const {
    return static_cast<int>(std::lround(static_cast<float>(sample_rate) * hop_ms / 1000.0f));
  }
  int FftSize() const;
  int Dims() const { return num_ceps * (1 + delta_order); }
};

// What the front end found in one utterance.
struct Features {
  FeatureMatrix frames;       // speech frames only, normalised
  int total_frames = 0;       // before VAD
  double speech_seconds = 0;  // speech frames x hop
};

// Per-frame measurements, exposed for tests and tools.
struct FrameAnalysis {
  std::vector<float> energy_db;  // dBFS of each frame
  std::vector<float> flatness;   // spectral flatness 0..1 in the speech band
  std::vector<bool> speech;      // the VAD decision after smoothing
  FeatureMatrix mfcc;            // num_ceps columns (log energy last), every frame
};

class FrontEnd final {
 public:
  explicit FrontEnd(FrontEndConfig config);

  const FrontEndConfig& config() const { return config_; }

  // Every frame of `audio` (resampled to config().sample_rate).
  FrameAnalysis Analyze(const Audio& audio) const;
  // Analyze, then deltas, keep speech frames, CMVN over them.
  Features Extract(const Audio& audio) const;

 private:
  FrontEndConfig config_;
  std::vector<float> window_;
  FeatureMatrix mel_;              // num_mels x (fft/2+1)
  FeatureMatrix dct_;              // num_ceps-1 x num_mels (c1..)
  int flat_lo_ = 0, flat_hi_ = 0;  // FFT bins of the flatness band
};

// Appends delta (and delta-delta) columns: regression over +-window frames.
FeatureMatrix AddDeltas(const FeatureMatrix& statics, int order, int window);
// Zero mean, unit variance per column (in place); a constant column stays 0.
void Cmvn(FeatureMatrix* frames);

}  // namespace kefu::audio
