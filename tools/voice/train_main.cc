// kefu-voice-train: trains the universal background model (and picks the Z-norm impostor
// cohort) from folders of WAV files; writes the voice model the identity service loads.
//
//   kefu-voice-train --out models/voice/ubm.kvm [--components 128] DIR...
//
// Every *.wav under each DIR is used; the folder a file is in names its speaker (the
// cohort takes one utterance from each of up to --cohort-speakers speakers).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "libs/audio/voice_model.h"
#include "libs/common/config.h"

namespace {

namespace fs = std::filesystem;
using kefu::audio::FeatureMatrix;

int Fail(const std::string& message) {
  std::fprintf(stderr, "kefu-voice-train: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  kefu::FlagSet flags("kefu-voice-train");
  std::string out_path;
  int components = 128;
  int threads = 2;
  int cohort_speakers = 40;
  int cohort_frames = 300;
  int max_frames = 400000;
  int num_ceps = 20;
  int delta_order = 1;
  int max_hz = 3800;
  flags.String("out", "", "voice model file to write", &out_path);
  flags.Int("components", "", "UBM components (a power of two)", &components);
  flags.Int("threads", "", "EM worker threads", &threads);
  flags.Int("cohort-speakers", "", "impostor cohort size for Z-norm (one utterance each)",
            &cohort_speakers);
  flags.Int("cohort-frames", "", "speech frames kept per cohort utterance", &cohort_frames);
  flags.Int("max-frames", "", "frames used for EM (evenly subsampled beyond)", &max_frames);
  flags.Int("ceps", "", "cepstra per frame including log energy", &num_ceps);
  flags.Int("deltas", "", "0 statics, 1 +deltas, 2 +delta-deltas", &delta_order);
  flags.Int("max-hz", "", "top of the mel filterbank", &max_hz);
  if (auto st = flags.Parse(argc, argv); !st.ok()) return Fail(std::string(st.message()));
  if (flags.help_requested() || out_path.empty() || flags.args().empty()) {
    std::fprintf(stderr, "usage: kefu-voice-train --out FILE [flags] DIR...\n%s",
                 flags.Usage().c_str());
    return flags.help_requested() ? 0 : 2;
  }

  std::vector<fs::path> files;
  for (const std::string& dir : flags.args()) {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      if (it->is_regular_file() && it->path().extension() == ".wav") files.push_back(it->path());
    }
    if (ec) return Fail(dir + ": " + ec.message());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) return Fail("no .wav files found");

  kefu::audio::FrontEndConfig config;
  config.num_ceps = num_ceps;
  config.delta_order = delta_order;
  config.max_hz = static_cast<float>(max_hz);
  const kefu::audio::FrontEnd front_end(config);
  const auto start = std::chrono::steady_clock::now();

  std::vector<FeatureMatrix> utterances;
  std::map<std::string, size_t> first_of_speaker;  // speaker -> utterance index
  long total = 0;
  double speech_seconds = 0;
  for (const fs::path& path : files) {
    auto audio = kefu::audio::ReadAudioFile(path.string());
    if (!audio.ok()) {
      std::fprintf(stderr, "skipping %s\n", std::string(audio.status().message()).c_str());
      continue;
    }
    kefu::audio::Features f = front_end.Extract(*audio);
    if (f.frames.rows() < 50) continue;
    const std::string speaker = path.parent_path().filename().string();
    first_of_speaker.emplace(speaker, utterances.size());
    total += f.frames.rows();
    speech_seconds += f.speech_seconds;
    utterances.push_back(std::move(f.frames));
  }
  if (utterances.empty()) return Fail("no speech found in the files");
  std::printf("features: %zu files, %zu utterances, %zu speakers, %.1f min of speech\n",
              files.size(), utterances.size(), first_of_speaker.size(), speech_seconds / 60);

  // The cohort: one utterance per speaker (in name order, deterministic), held out of EM
  // so its scores look like those of unseen impostors.
  std::vector<FeatureMatrix> cohort;
  std::vector<bool> in_cohort(utterances.size(), false);
  for (const auto& [speaker, index] : first_of_speaker) {
    if (static_cast<int>(cohort.size()) >= cohort_speakers) break;
    const FeatureMatrix& u = utterances[index];
    cohort.push_back(u.topRows(std::min<long>(u.rows(), cohort_frames)));
    in_cohort[index] = true;
  }

  long em_frames = 0;
  for (size_t i = 0; i < utterances.size(); ++i) {
    if (!in_cohort[i]) em_frames += utterances[i].rows();
  }
  const long stride = std::max(1L, (em_frames + max_frames - 1) / max_frames);
  FeatureMatrix data((em_frames + stride - 1) / stride + utterances.size(), config.Dims());
  long row = 0, seen = 0;
  for (size_t i = 0; i < utterances.size(); ++i) {
    if (in_cohort[i]) continue;
    for (long t = 0; t < utterances[i].rows(); ++t, ++seen) {
      if (seen % stride == 0) data.row(row++) = utterances[i].row(t);
    }
  }
  data.conservativeResize(row, Eigen::NoChange);
  std::printf("EM on %ld frames (%d dims), cohort of %zu utterances\n", row, config.Dims(),
              cohort.size());

  kefu::audio::TrainOptions options;
  options.components = components;
  options.threads = threads;
  options.progress = [](int m, int it, double ll) {
    std::printf("  components %4d iteration %2d avg log-likelihood %.4f\n", m, it, ll);
    std::fflush(stdout);
  };
  kefu::audio::DiagGmm ubm = kefu::audio::TrainGmm(data, options);
  auto model =
      kefu::audio::VoiceModel::Create(config, kefu::audio::ScoringConfig{}, ubm, std::move(cohort));
  const std::string bytes = model->Serialize();
  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) return Fail(out_path + ": cannot write");
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("voice_train components=%d dims=%d bytes=%zu id=%016llx seconds=%.1f out=%s\n",
              ubm.components(), ubm.dims(), bytes.size(),
              static_cast<unsigned long long>(model->id()), secs, out_path.c_str());
  return 0;
}
