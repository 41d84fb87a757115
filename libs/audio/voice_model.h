#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/audio/features.h"
#include "libs/audio/gmm.h"
#include "libs/audio/pcm.h"

// GMM-UBM speaker verification as one object: the front end, the universal background
// model and an impostor cohort, serialised together (the file kefu-voice-train writes and
// the identity service loads), and the speaker models (voiceprints) made from it.
namespace kefu::audio {

struct ScoringConfig {
  int top_c = 5;         // UBM components scored per frame
  float relevance = 16;  // MAP relevance factor r
  float min_znorm_std = 0.05f;
};

// A voiceprint: the MAP-adapted means and the occupancy they were adapted with (so a
// later enrolment adds to them exactly), and the speaker's Z-norm parameters: the mean
// and deviation of the scores of the impostor cohort against this model.
struct SpeakerModel {
  uint64_t ubm_id = 0;
  Eigen::VectorXd occupancy;  // M
  FeatureMatrix means;        // M x D
  double znorm_mean = 0;
  double znorm_std = 1;
  double speech_seconds = 0;
  int utterances = 0;
};

std::string SerializeSpeaker(const SpeakerModel& model);
// INVALID_ARGUMENT when `bytes` is not a speaker model (corrupt, or something else).
absl::StatusOr<SpeakerModel> ParseSpeaker(absl::string_view bytes);

struct VoiceScore {
  double llr = 0;         // average log-likelihood ratio per frame
  double normalized = 0;  // Z-normalised: (llr - mean) / std of the speaker's cohort
};

class VoiceModel final {
 public:
  // `cohort`: normalised feature matrices of impostor utterances (speakers other than
  // any customer), quantised to 8 bits when serialised.
  static std::shared_ptr<const VoiceModel> Create(FrontEndConfig front_end, ScoringConfig scoring,
                                                  DiagGmm ubm, std::vector<FeatureMatrix> cohort);
  static absl::StatusOr<std::shared_ptr<const VoiceModel>> Parse(absl::string_view bytes);
  static absl::StatusOr<std::shared_ptr<const VoiceModel>> Load(const std::string& path);

  std::string Serialize() const;
  // Fingerprint of the serialised model: a voiceprint works only with the UBM it was
  // adapted from.
  uint64_t id() const { return id_; }
  const FrontEnd& front_end() const { return front_end_; }
  const ScoringConfig& scoring() const { return scoring_; }
  const DiagGmm& ubm() const { return ubm_; }
  size_t cohort_size() const { return cohort_.size(); }

  Features Extract(const Audio& audio) const { return front_end_.Extract(audio); }

  // A voiceprint from `utterances`; with `previous` (same UBM) the new speech is added to
  // what the previous enrolments saw (a refresh). INVALID_ARGUMENT without speech.
  absl::StatusOr<SpeakerModel> Enroll(const std::vector<Features>& utterances,
                                      const SpeakerModel* previous = nullptr) const;
  // FAILED_PRECONDITION when the voiceprint was made with another UBM; INVALID_ARGUMENT
  // without speech frames.
  absl::StatusOr<VoiceScore> Score(const SpeakerModel& speaker, const Features& test) const;

 private:
  VoiceModel() = default;
  void Prepare();
  DiagGmm Adapted(const SpeakerModel& speaker) const;

  FrontEndConfig front_end_config_;
  FrontEnd front_end_{FrontEndConfig{}};
  ScoringConfig scoring_;
  DiagGmm ubm_;
  std::vector<FeatureMatrix> cohort_;
  std::vector<UbmAlignment> cohort_alignment_;
  uint64_t id_ = 0;
};

}  // namespace kefu::audio
