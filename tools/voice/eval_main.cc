// kefu-voice-eval: enrols speakers and scores trials with the voice model, as the
// identity service does, and reports the equal error rate and the verification time.
//
//   kefu-voice-eval --enroll ENROLL.tsv --trials TRIALS.tsv [--model FILE] [--cold COLD.tsv]
//
// ENROLL.tsv: speaker<TAB>wav (one line per utterance). TRIALS.tsv:
// speaker<TAB>wav<TAB>target|nontarget. The last line printed is
//   voice_eval eer=<percent> threshold=<score> verify_p99_ms=<ms>
// Verification time is the front end plus scoring of the first 3 s of each trial's audio
// (the service's work per call, without the network).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "libs/audio/default_model.h"
#include "libs/audio/metrics.h"
#include "libs/audio/voice_model.h"
#include "libs/common/config.h"

namespace {

using kefu::audio::Audio;
using kefu::audio::Features;
using kefu::audio::VoiceModel;

int Fail(const std::string& message) {
  std::fprintf(stderr, "kefu-voice-eval: %s\n", message.c_str());
  return 1;
}

bool ReadTsv(const std::string& path, std::vector<std::vector<std::string>>* rows) {
  std::ifstream in(path);
  if (!in) return false;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    rows->push_back(absl::StrSplit(line, '\t'));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  kefu::FlagSet flags("kefu-voice-eval");
  std::string enroll_path, trials_path, model_path, cold_path, accept_text = "", reject_text = "";
  flags.String("enroll", "", "speaker<TAB>wav lines", &enroll_path);
  flags.String("trials", "", "speaker<TAB>wav<TAB>target|nontarget lines", &trials_path);
  flags.String("model", "", "voice model (default: the one compiled in)", &model_path);
  flags.String("cold", "", "optional target trials of changed voices (a cold)", &cold_path);
  flags.String("accept", "", "report decisions at this accept threshold", &accept_text);
  flags.String("reject", "", "... and this reject threshold", &reject_text);
  std::string scores_path;
  flags.String("scores", "", "write every score here: kind<TAB>score<TAB>speaker<TAB>wav",
               &scores_path);
  if (auto st = flags.Parse(argc, argv); !st.ok()) return Fail(std::string(st.message()));
  if (flags.help_requested() || enroll_path.empty() || trials_path.empty()) {
    std::fprintf(stderr, "usage: kefu-voice-eval --enroll ENROLL.tsv --trials TRIALS.tsv\n%s",
                 flags.Usage().c_str());
    return flags.help_requested() ? 0 : 2;
  }
  absl::StatusOr<std::shared_ptr<const VoiceModel>> loaded =
      model_path.empty() ? VoiceModel::Parse(kefu::audio::DefaultVoiceModelBytes())
                         : VoiceModel::Load(model_path);
  if (!loaded.ok()) return Fail(std::string(loaded.status().message()));
  const VoiceModel& model = **loaded;

  std::vector<std::vector<std::string>> enroll_rows, trial_rows, cold_rows;
  if (!ReadTsv(enroll_path, &enroll_rows)) return Fail(enroll_path + ": cannot read");
  if (!ReadTsv(trials_path, &trial_rows)) return Fail(trials_path + ": cannot read");
  if (!cold_path.empty() && !ReadTsv(cold_path, &cold_rows))
    return Fail(cold_path + ": cannot read");

  std::map<std::string, std::vector<Features>> enroll_features;
  for (const auto& row : enroll_rows) {
    if (row.size() < 2) return Fail(enroll_path + ": want speaker<TAB>wav");
    auto audio = kefu::audio::ReadAudioFile(row[1]);
    if (!audio.ok()) return Fail(std::string(audio.status().message()));
    enroll_features[row[0]].push_back(model.Extract(*audio));
  }
  std::map<std::string, kefu::audio::SpeakerModel> speakers;
  double enroll_speech = 0;
  for (const auto& [speaker, utterances] : enroll_features) {
    auto m = model.Enroll(utterances);
    if (!m.ok()) return Fail(speaker + ": " + std::string(m.status().message()));
    enroll_speech += m->speech_seconds;
    speakers.emplace(speaker, std::move(*m));
  }

  std::vector<double> target, nontarget, times, cold_target, cold_non, cold_times;
  std::ofstream scores_out;
  if (!scores_path.empty()) {
    scores_out.open(scores_path, std::ios::trunc);
    if (!scores_out) return Fail(scores_path + ": cannot write");
  }
  std::map<std::string, Features> cache;  // wav -> features of the whole file
  std::map<std::string, double> timed;    // wav -> ms for its first 3 s (measured once per wav)
  auto score_rows = [&](const std::vector<std::vector<std::string>>& rows,
                        std::vector<double>* target, std::vector<double>* nontarget,
                        std::vector<double>* times) -> std::string {
    for (const auto& row : rows) {
      if (row.size() < 3) return "trials: want speaker<TAB>wav<TAB>target|nontarget";
      auto spk = speakers.find(row[0]);
      if (spk == speakers.end()) return "trials: speaker " + row[0] + " was not enrolled";
      auto it = cache.find(row[1]);
      if (it == cache.end()) {
        auto audio = kefu::audio::ReadAudioFile(row[1]);
        if (!audio.ok()) return std::string(audio.status().message());
        it = cache.emplace(row[1], model.Extract(*audio)).first;
        // Timing: 3 s of audio through the whole verification path.
        Audio three = *audio;
        three.samples.resize(std::min<size_t>(three.samples.size(), 3 * three.sample_rate));
        const auto t0 = std::chrono::steady_clock::now();
        Features f = model.Extract(three);
        auto s = model.Score(spk->second, f);
        const auto t1 = std::chrono::steady_clock::now();
        if (s.ok()) times->push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      }
      auto s = model.Score(spk->second, it->second);
      if (!s.ok()) return row[1] + ": " + std::string(s.status().message());
      (row[2] == "target" ? target : nontarget)->push_back(s->normalized);
      if (scores_out.is_open()) {
        scores_out << (target == &cold_target ? "cold" : row[2]) << '\t' << s->normalized << '\t'
                   << row[0] << '\t' << row[1] << '\n';
      }
    }
    return "";
  };

  if (auto err = score_rows(trial_rows, &target, &nontarget, &times); !err.empty()) {
    return Fail(err);
  }
  const auto eer = kefu::audio::ComputeEer(target, nontarget);
  std::printf("model: %d components x %d dims, cohort %zu, id %016llx\n", model.ubm().components(),
              model.ubm().dims(), model.cohort_size(), static_cast<unsigned long long>(model.id()));
  std::printf("enrolled %zu speakers (%.1f s of speech each on average)\n", speakers.size(),
              enroll_speech / std::max<size_t>(1, speakers.size()));
  std::printf("trials: %zu target, %zu nontarget\n", target.size(), nontarget.size());
  std::printf("EER %.2f%% at threshold %.3f\n", 100 * eer.eer, eer.threshold);
  std::printf("target scores p5/p50 %.2f / %.2f, nontarget p50/p99 %.2f / %.2f\n",
              kefu::audio::Percentile(target, 0.05), kefu::audio::Percentile(target, 0.5),
              kefu::audio::Percentile(nontarget, 0.5), kefu::audio::Percentile(nontarget, 0.99));
  double accept = 0, reject = 0;
  const bool decisions =
      absl::SimpleAtod(accept_text, &accept) && absl::SimpleAtod(reject_text, &reject);
  if (decisions) {
    auto share = [](const std::vector<double>& v, auto pred) {
      size_t n = 0;
      for (double s : v) n += pred(s) ? 1 : 0;
      return v.empty() ? 0.0 : 100.0 * n / v.size();
    };
    std::printf(
        "at accept>=%.2f reject<%.2f: targets ACCEPT %.1f%% REJECT %.1f%%; nontargets ACCEPT "
        "%.2f%% REJECT %.1f%%\n",
        accept, reject, share(target, [&](double s) { return s >= accept; }),
        share(target, [&](double s) { return s < reject; }),
        share(nontarget, [&](double s) { return s >= accept; }),
        share(nontarget, [&](double s) { return s < reject; }));
  }
  if (!cold_rows.empty()) {
    if (auto err = score_rows(cold_rows, &cold_target, &cold_non, &cold_times); !err.empty()) {
      return Fail(err);
    }
    std::printf("cold voices: %zu trials, score p50 %.2f max %.2f", cold_target.size(),
                kefu::audio::Percentile(cold_target, 0.5),
                kefu::audio::Percentile(cold_target, 1.0));
    if (decisions) {
      size_t accepted = 0;
      for (double s : cold_target) accepted += s >= accept ? 1 : 0;
      std::printf(", ACCEPT %zu of %zu", accepted, cold_target.size());
    }
    std::printf("\n");
  }
  const double p50 = kefu::audio::Percentile(times, 0.5);
  const double p99 = kefu::audio::Percentile(times, 0.99);
  std::printf("verify time per 3 s of %d Hz audio: p50 %.2f ms, p99 %.2f ms (%zu runs)\n",
              model.front_end().config().sample_rate, p50, p99, times.size());
  std::printf("voice_eval eer=%.2f%% threshold=%.3f verify_p99_ms=%.2f\n", 100 * eer.eer,
              eer.threshold, p99);
  return 0;
}
