// The audio a caller sends (F20 voice verification): WAV through libsndfile, raw PCM16, then
// the front end (resampling, framing, FFT, VAD, MFCC). Selector byte: 0-127 a WAV file,
// 128-191 PCM16 at 8 kHz, 192-255 PCM16 at 16 kHz.
#include <cmath>

#include "libs/audio/features.h"
#include "libs/audio/pcm.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using kefu::audio::Audio;

// Half a second at most through the front end (50 frames): the decoders see the whole input;
// the linear-time feature pipeline reaches every branch with less, and stays fast.
constexpr size_t kMaxFrontEndSamples = 24000;

void CheckAudio(const Audio& audio) {
  KEFU_FUZZ_CHECK(audio.sample_rate >= kefu::audio::kMinSampleRate &&
                      audio.sample_rate <= kefu::audio::kMaxSampleRate,
                  "a decoded sample rate is in the supported range");
  KEFU_FUZZ_CHECK(!audio.samples.empty(), "decoded audio is never empty");
  for (float s : audio.samples) {
    KEFU_FUZZ_CHECK(std::isfinite(s) && s >= -1.0f && s <= 1.0f, "samples are finite, in [-1, 1]");
  }
}

void RunFrontEnd(Audio audio) {
  static const auto* front_end = new kefu::audio::FrontEnd(kefu::audio::FrontEndConfig{});
  if (audio.samples.size() > kMaxFrontEndSamples) audio.samples.resize(kMaxFrontEndSamples);
  const kefu::audio::Features features = front_end->Extract(audio);
  KEFU_FUZZ_CHECK(features.frames.rows() <= features.total_frames,
                  "speech frames are a subset of all frames");
  KEFU_FUZZ_CHECK(
      features.frames.rows() == 0 || features.frames.cols() == front_end->config().Dims(),
      "every feature row has Dims() columns");
  KEFU_FUZZ_CHECK(features.frames.allFinite(), "features are finite");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto [selector, bytes] = kefu::fuzz::Select(data, size);
  absl::StatusOr<Audio> audio;
  if (selector < 128) {
    audio = kefu::audio::DecodeWav(bytes);
  } else {
    audio = kefu::audio::DecodePcm16(bytes, selector < 192 ? 8000 : 16000);
  }
  if (!audio.ok()) {
    KEFU_FUZZ_CHECK(audio.status().code() == absl::StatusCode::kInvalidArgument,
                    "undecodable audio is INVALID_ARGUMENT");
    return 0;
  }
  CheckAudio(*audio);
  RunFrontEnd(*std::move(audio));
  return 0;
}
