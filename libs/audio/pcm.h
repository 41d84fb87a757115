#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// Audio in: WAV files (libsndfile) and raw 16-bit PCM, as mono float samples in [-1, 1].
namespace kefu::audio {

struct Audio {
  std::vector<float> samples;  // mono
  int sample_rate = 0;         // Hz

  double seconds() const {
    return sample_rate > 0 ? static_cast<double>(samples.size()) / sample_rate : 0.0;
  }
};

// Sample rates accepted anywhere: telephony (8 kHz) up to studio (48 kHz).
inline constexpr int kMinSampleRate = 8000;
inline constexpr int kMaxSampleRate = 48000;

// A whole WAV file in memory (RIFF/RIFX/RF64, any sample format libsndfile decodes),
// mixed down to mono; ReadAudioFile reads any format libsndfile knows (FLAC, AIFF...).
// INVALID_ARGUMENT for anything that is not a readable audio file, an empty one, or a
// sample rate outside [kMinSampleRate, kMaxSampleRate].
absl::StatusOr<Audio> DecodeWav(absl::string_view bytes);
absl::StatusOr<Audio> ReadAudioFile(const std::string& path);

// Raw little-endian signed 16-bit mono PCM. INVALID_ARGUMENT for an odd byte count or a
// rate other than 8000 / 16000.
absl::StatusOr<Audio> DecodePcm16(absl::string_view bytes, int sample_rate);

// The samples as 16-bit little-endian PCM / a 16-bit PCM WAV file (tools, tests).
std::string EncodePcm16(const std::vector<float>& samples);
absl::StatusOr<std::string> EncodeWav(const Audio& audio);

// Band-limited (windowed-sinc) resampling to `rate`; a no-op when the rate matches.
Audio Resample(const Audio& audio, int rate);

}  // namespace kefu::audio
