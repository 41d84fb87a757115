// The voice front end and models as plain C++ (libs/audio): tones, VAD, EM, MAP, LLR,
// EER, decoding and the model formats (F3).
#include <catch2/catch.hpp>
#include <cmath>
#include <complex>
#include <numbers>
#include <random>

#include "libs/audio/features.h"
#include "libs/audio/gmm.h"
#include "libs/audio/metrics.h"
#include "libs/audio/pcm.h"
#include "libs/audio/voice_model.h"

namespace {

using kefu::audio::Audio;
using kefu::audio::DiagGmm;
using kefu::audio::FeatureMatrix;
using kefu::audio::FrontEnd;
using kefu::audio::FrontEndConfig;

constexpr double kPi = std::numbers::pi;

Audio Tone(double hz, double amplitude, double seconds, int rate = 16000) {
  Audio a;
  a.sample_rate = rate;
  a.samples.resize(static_cast<size_t>(seconds * rate));
  for (size_t i = 0; i < a.samples.size(); ++i) {
    a.samples[i] =
        static_cast<float>(amplitude * std::sin(2 * kPi * hz * static_cast<double>(i) / rate));
  }
  return a;
}

// A crude voiced vowel: a 120 Hz pulse train through three formant resonators.
std::vector<float> Vowel(double seconds, int rate, double f0 = 120) {
  std::vector<float> out(static_cast<size_t>(seconds * rate));
  const double formants[3][2] = {{700, 80}, {1200, 90}, {2600, 120}};
  std::vector<double> source(out.size(), 0.0);
  for (size_t i = 0; i < out.size(); i += static_cast<size_t>(rate / f0)) source[i] = 1.0;
  std::vector<double> signal = source;
  for (const auto& f : formants) {
    const double r = std::exp(-kPi * f[1] / rate);
    const double a1 = 2 * r * std::cos(2 * kPi * f[0] / rate), a2 = -r * r;
    double y1 = 0, y2 = 0;
    for (double& s : signal) {
      const double y = s + a1 * y1 + a2 * y2;
      y2 = y1;
      y1 = y;
      s = y;
    }
  }
  double peak = 1e-9;
  for (double s : signal) peak = std::max(peak, std::abs(s));
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(0.5 * signal[i] / peak);
  return out;
}

FeatureMatrix Sample(std::mt19937& rng, int n, const std::vector<std::vector<float>>& means,
                     float sd) {
  std::normal_distribution<float> noise(0, sd);
  std::uniform_int_distribution<int> pick(0, static_cast<int>(means.size()) - 1);
  FeatureMatrix x(n, static_cast<long>(means[0].size()));
  for (int t = 0; t < n; ++t) {
    const auto& m = means[pick(rng)];
    for (size_t d = 0; d < m.size(); ++d) x(t, static_cast<long>(d)) = m[d] + noise(rng);
  }
  return x;
}

}  // namespace

TEST_CASE("voice: MFCC of a steady tone is constant and its log energy matches the tone's power") {
  const FrontEnd front_end{FrontEndConfig{}};
  const auto analysis = front_end.Analyze(Tone(1000, 0.5, 1.0));
  REQUIRE(analysis.mfcc.rows() == 98);  // (16000 - 400) / 160 + 1
  const int energy_col = FrontEndConfig{}.num_ceps - 1;
  // Pre-emphasis 0.97 scales a 1 kHz tone at 16 kHz by |1 - 0.97 e^{-jw}| = 0.3855.
  const double gain = std::abs(1.0 - 0.97 * std::exp(std::complex<double>(0, -2 * kPi / 16)));
  const double expected = std::log(std::pow(0.5 * gain, 2) / 2);
  for (int f = 5; f < 90; ++f) {
    CHECK(analysis.mfcc(f, energy_col) == Approx(expected).margin(0.05));
  }
  const Eigen::RowVectorXf mean = analysis.mfcc.middleRows(5, 85).colwise().mean();
  const float spread = (analysis.mfcc.middleRows(5, 85).rowwise() - mean).cwiseAbs().maxCoeff();
  CHECK(spread < 0.05f);
}

TEST_CASE(
    "voice: a low tone has a positive first cepstral coefficient and a high tone a negative one") {
  const FrontEnd front_end{FrontEndConfig{}};
  const auto low = front_end.Analyze(Tone(300, 0.5, 0.5));
  const auto high = front_end.Analyze(Tone(5000, 0.5, 0.5));
  CHECK(low.mfcc(20, 0) > 5);
  CHECK(high.mfcc(20, 0) < -5);
}

TEST_CASE("voice: VAD finds no speech in silence or in flat noise and finds the vowels in speech") {
  const FrontEnd front_end{FrontEndConfig{}};
  Audio silence;
  silence.sample_rate = 16000;
  silence.samples.assign(16000, 0.0f);
  auto a = front_end.Analyze(silence);
  CHECK(std::count(a.speech.begin(), a.speech.end(), true) == 0);
  CHECK(front_end.Extract(silence).speech_seconds == 0);

  Audio noise;
  noise.sample_rate = 16000;
  std::mt19937 rng(7);
  std::normal_distribution<float> white(0, 0.2f);
  for (int i = 0; i < 16000; ++i) noise.samples.push_back(white(rng));
  a = front_end.Analyze(noise);
  CHECK(std::count(a.speech.begin(), a.speech.end(), true) == 0);

  // 0.5 s silence, 0.6 s vowel, 0.5 s silence, 0.6 s vowel, 0.3 s silence (quiet noise).
  Audio speech;
  speech.sample_rate = 16000;
  std::normal_distribution<float> hiss(0, 0.0005f);
  auto pause = [&](double s) {
    for (int i = 0; i < s * 16000; ++i) speech.samples.push_back(hiss(rng));
  };
  auto vowel = [&](double s) {
    for (float v : Vowel(s, 16000)) speech.samples.push_back(v + hiss(rng));
  };
  pause(0.5);
  vowel(0.6);
  pause(0.5);
  vowel(0.6);
  pause(0.3);
  a = front_end.Analyze(speech);
  auto speech_at = [&](double seconds) { return a.speech[static_cast<size_t>(seconds * 100)]; };
  CHECK_FALSE(speech_at(0.2));
  CHECK(speech_at(0.8));
  CHECK_FALSE(speech_at(1.35));
  CHECK(speech_at(1.9));
  CHECK_FALSE(speech_at(2.4));
  const auto features = front_end.Extract(speech);
  // 1.2 s of vowels, plus the hangover and frame overlap at each edge of the two runs.
  CHECK(features.speech_seconds >= 1.1);
  CHECK(features.speech_seconds <= 1.45);
}

TEST_CASE("voice: CMVN leaves every feature column with zero mean and unit variance") {
  std::mt19937 rng(3);
  FeatureMatrix x = Sample(rng, 500, {{5, -3, 100}}, 2.0f);
  kefu::audio::Cmvn(&x);
  for (int d = 0; d < 3; ++d) {
    CHECK(x.col(d).mean() == Approx(0).margin(1e-4));
    CHECK(x.col(d).array().square().mean() == Approx(1).margin(1e-3));
  }
}

TEST_CASE("voice: deltas of a linear ramp are its slope") {
  FeatureMatrix ramp(20, 1);
  for (int t = 0; t < 20; ++t) ramp(t, 0) = 3.0f * static_cast<float>(t);
  const FeatureMatrix d = kefu::audio::AddDeltas(ramp, 2, 2);
  REQUIRE(d.cols() == 3);
  CHECK(d(10, 1) == Approx(3.0f));
  CHECK(d(10, 2) == Approx(0.0f).margin(1e-5));
}

TEST_CASE("voice: EM never lowers the likelihood and a mixture beats one Gaussian") {
  std::mt19937 rng(11);
  const FeatureMatrix x = Sample(rng, 3000, {{-4, 0}, {4, 1}, {0, 6}}, 0.8f);
  std::vector<std::pair<int, double>> trace;
  kefu::audio::TrainOptions options;
  options.components = 4;
  options.threads = 2;
  options.progress = [&](int m, int, double ll) { trace.emplace_back(m, ll); };
  const DiagGmm gmm = kefu::audio::TrainGmm(x, options);
  REQUIRE(gmm.components() == 4);
  for (size_t i = 1; i < trace.size(); ++i) {
    if (trace[i].first == trace[i - 1].first) CHECK(trace[i].second >= trace[i - 1].second - 1e-4);
  }
  options.components = 1;
  const DiagGmm single = kefu::audio::TrainGmm(x, options);
  CHECK(gmm.AverageLogLikelihood(x) > single.AverageLogLikelihood(x) + 0.5);
  CHECK(gmm.weights().sum() == Approx(1.0f));
}

TEST_CASE("voice: MAP adaptation moves the means that saw data toward it and leaves the others") {
  Eigen::VectorXf w(2);
  w << 0.5f, 0.5f;
  FeatureMatrix means(2, 2), vars(2, 2);
  means << 0, 0, 10, 10;
  vars << 1, 1, 1, 1;
  const DiagGmm ubm(w, means, vars);
  std::mt19937 rng(5);
  const FeatureMatrix data = Sample(rng, 200, {{1.0f, -1.0f}}, 0.3f);
  const auto stats = kefu::audio::Accumulate(ubm, data, false);
  const DiagGmm adapted = kefu::audio::MapAdaptMeans(ubm, stats.n, stats.f, 16);
  const double alpha = stats.n[0] / (stats.n[0] + 16);
  const Eigen::RowVectorXf data_mean = data.colwise().mean();
  CHECK(alpha > 0.9);
  CHECK(adapted.means()(0, 0) == Approx(alpha * data_mean[0]).margin(1e-3));
  CHECK(adapted.means()(0, 1) == Approx(alpha * data_mean[1]).margin(1e-3));
  CHECK(adapted.means()(1, 0) == Approx(10.0f).margin(1e-3));
  CHECK(adapted.means()(1, 1) == Approx(10.0f).margin(1e-3));
}

TEST_CASE("voice: the adapted model scores its own speaker's data above the background") {
  std::mt19937 rng(9);
  kefu::audio::TrainOptions options;
  options.components = 8;
  const FeatureMatrix background =
      Sample(rng, 4000, {{-2, 0, 1}, {2, 1, -1}, {0, -2, 0}, {1, 2, 2}}, 1.0f);
  const DiagGmm ubm = kefu::audio::TrainGmm(background, options);
  const FeatureMatrix own = Sample(rng, 400, {{-1.5f, 0.5f, 1.5f}, {1.5f, 1.5f, -0.5f}}, 0.6f);
  const FeatureMatrix other = Sample(rng, 400, {{0.5f, -2.5f, 0.5f}, {1.5f, 2.5f, 2.5f}}, 0.6f);
  const auto stats = kefu::audio::Accumulate(ubm, own, false);
  const DiagGmm speaker = kefu::audio::MapAdaptMeans(ubm, stats.n, stats.f, 16);
  const FeatureMatrix test_own = Sample(rng, 300, {{-1.5f, 0.5f, 1.5f}, {1.5f, 1.5f, -0.5f}}, 0.6f);
  const double mine =
      kefu::audio::LogLikelihoodRatio(speaker, test_own, kefu::audio::Align(ubm, test_own, 5));
  const double theirs =
      kefu::audio::LogLikelihoodRatio(speaker, other, kefu::audio::Align(ubm, other, 5));
  CHECK(mine > 0.2);
  CHECK(mine > theirs + 0.2);
}

TEST_CASE("voice: EER is zero for separated scores and one half for identical ones") {
  auto eer = kefu::audio::ComputeEer({3, 4, 5}, {0, 1, 2});
  CHECK(eer.eer == 0);
  CHECK(eer.threshold > 2);
  CHECK(eer.threshold <= 3);
  eer = kefu::audio::ComputeEer({1, 1, 1, 1}, {1, 1, 1, 1});
  CHECK(eer.eer == Approx(0.5));
  eer = kefu::audio::ComputeEer({0.5, 2, 3, 4}, {0, 1, 1.5, 2.5});
  CHECK(eer.eer == Approx(0.25));
  CHECK(kefu::audio::Percentile({5, 1, 4, 2, 3}, 0.5) == 3);
}

TEST_CASE("voice: PCM16 and WAV decoding refuse bad input and round-trip good input") {
  CHECK(kefu::audio::DecodePcm16("", 16000).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(kefu::audio::DecodePcm16("abc", 16000).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(kefu::audio::DecodePcm16("abcd", 44100).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(kefu::audio::DecodeWav("").status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(kefu::audio::DecodeWav("RIFF\x10\0\0\0WAVEjunkjunk").status().code() ==
        absl::StatusCode::kInvalidArgument);
  std::mt19937 rng(1);
  for (int i = 0; i < 200; ++i) {  // garbage never crashes
    std::string junk(rng() % 300, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    if (i % 2 == 0 && junk.size() > 12) junk.replace(0, 12, std::string("RIFF\x40\0\0\0WAVE", 12));
    CHECK_FALSE(kefu::audio::DecodeWav(junk).ok());
  }
  const Audio tone = Tone(440, 0.3, 0.25, 8000);
  auto wav = kefu::audio::EncodeWav(tone);
  REQUIRE(wav.ok());
  auto decoded = kefu::audio::DecodeWav(*wav);
  REQUIRE(decoded.ok());
  CHECK(decoded->sample_rate == 8000);
  REQUIRE(decoded->samples.size() == tone.samples.size());
  CHECK(decoded->samples[100] == Approx(tone.samples[100]).margin(1e-4));
  auto pcm = kefu::audio::DecodePcm16(kefu::audio::EncodePcm16(tone.samples), 8000);
  REQUIRE(pcm.ok());
  CHECK(pcm->samples[77] == Approx(tone.samples[77]).margin(1e-4));
}

TEST_CASE("voice: resampling 8 kHz telephony audio to 16 kHz keeps the tone's pitch") {
  const Audio narrow = Tone(440, 0.5, 1.0, 8000);
  const Audio wide = kefu::audio::Resample(narrow, 16000);
  CHECK(wide.sample_rate == 16000);
  CHECK(wide.samples.size() == 16000);
  int crossings = 0;
  for (size_t i = 1000; i < 15000; ++i) {
    if ((wide.samples[i - 1] < 0) != (wide.samples[i] < 0)) ++crossings;
  }
  CHECK(crossings == Approx(2 * 440 * 14000 / 16000.0).margin(3));
}

TEST_CASE("voice: voice models and voiceprints round-trip and corrupt bytes are refused") {
  std::mt19937 rng(21);
  FrontEndConfig config;
  config.num_ceps = 3;
  config.delta_order = 1;
  kefu::audio::TrainOptions options;
  options.components = 4;
  const FeatureMatrix background =
      Sample(rng, 2000, {{-1, 0, 1, 0, 0, 0}, {1, 1, -1, 0, 0, 0}}, 1.0f);
  const DiagGmm ubm = kefu::audio::TrainGmm(background, options);
  std::vector<FeatureMatrix> cohort = {Sample(rng, 100, {{0, 0, 0, 0, 0, 0}}, 1.0f),
                                       Sample(rng, 100, {{1, 0, 0, 0, 0, 0}}, 1.0f)};
  auto model = kefu::audio::VoiceModel::Create(config, {}, ubm, cohort);
  const std::string bytes = model->Serialize();
  auto parsed = kefu::audio::VoiceModel::Parse(bytes);
  REQUIRE(parsed.ok());
  CHECK((*parsed)->id() == model->id());
  CHECK((*parsed)->cohort_size() == 2);
  for (size_t cut : {size_t{0}, size_t{7}, size_t{40}, bytes.size() / 2, bytes.size() - 1}) {
    CHECK_FALSE(kefu::audio::VoiceModel::Parse(bytes.substr(0, cut)).ok());
  }

  kefu::audio::Features enrol;
  enrol.frames = Sample(rng, 300, {{-1, 0, 1, 0, 0, 0}}, 0.5f);
  enrol.speech_seconds = 3;
  auto speaker = model->Enroll({enrol});
  REQUIRE(speaker.ok());
  CHECK(speaker->utterances == 1);
  CHECK(speaker->znorm_std > 0);
  const std::string vp = kefu::audio::SerializeSpeaker(*speaker);
  auto back = kefu::audio::ParseSpeaker(vp);
  REQUIRE(back.ok());
  CHECK(back->means.isApprox(speaker->means));
  CHECK(back->ubm_id == model->id());
  auto s1 = model->Score(*speaker, enrol);
  auto s2 = model->Score(*back, enrol);
  REQUIRE(s1.ok());
  REQUIRE(s2.ok());
  CHECK(s1->normalized == Approx(s2->normalized));
  CHECK_FALSE(kefu::audio::ParseSpeaker(vp.substr(0, vp.size() - 3)).ok());
  CHECK_FALSE(kefu::audio::ParseSpeaker("not a voiceprint").ok());

  // A refresh adds the new speech to what the voiceprint already saw.
  auto refreshed = model->Enroll({enrol}, &*speaker);
  REQUIRE(refreshed.ok());
  CHECK(refreshed->utterances == 2);
  CHECK(refreshed->speech_seconds == Approx(6));
  CHECK(refreshed->occupancy.sum() == Approx(2 * speaker->occupancy.sum()));

  kefu::audio::SpeakerModel foreign = *speaker;
  foreign.ubm_id ^= 1;
  CHECK(model->Score(foreign, enrol).status().code() == absl::StatusCode::kFailedPrecondition);
  kefu::audio::Features empty;
  empty.frames.resize(0, 6);
  CHECK(model->Score(*speaker, empty).status().code() == absl::StatusCode::kInvalidArgument);
}
