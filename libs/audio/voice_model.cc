#include "libs/audio/voice_model.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <type_traits>

#include "absl/strings/str_cat.h"

namespace kefu::audio {
namespace {

constexpr char kModelMagic[8] = {'K', 'E', 'F', 'U', 'V', 'U', 'B', 'M'};
constexpr char kSpeakerMagic[8] = {'K', 'E', 'F', 'U', 'V', 'S', 'P', 'K'};
constexpr uint32_t kVersion = 1;
constexpr float kCohortScale = 32.0f;  // int8 step: features within +-3.97 are exact to 1/64

// Little-endian binary writer/reader; the reader never reads past the end.
class Writer {
 public:
  template <typename T>
  void Put(T v) {
    static_assert(std::is_arithmetic_v<T>);
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    out_.append(b, sizeof(T));
  }
  void PutBytes(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(absl::string_view in) : in_(in) {}
  template <typename T>
  bool Get(T* v) {
    if (in_.size() - pos_ < sizeof(T) || pos_ > in_.size()) return false;
    std::memcpy(v, in_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool GetBytes(void* p, size_t n) {
    if (in_.size() - pos_ < n) return false;
    std::memcpy(p, in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool done() const { return pos_ == in_.size(); }

 private:
  absl::string_view in_;
  size_t pos_ = 0;
};

uint64_t Fnv1a(absl::string_view bytes) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

void PutMatrix(Writer& w, const FeatureMatrix& m) {
  w.PutBytes(m.data(), sizeof(float) * m.size());
}

bool GetMatrix(Reader& r, long rows, long cols, FeatureMatrix* m) {
  m->resize(rows, cols);
  if (!r.GetBytes(m->data(), sizeof(float) * rows * cols)) return false;
  return m->allFinite();
}

absl::Status Corrupt(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("voice model: ", what));
}

}  // namespace

std::string SerializeSpeaker(const SpeakerModel& model) {
  Writer w;
  w.PutBytes(kSpeakerMagic, sizeof(kSpeakerMagic));
  w.Put(kVersion);
  w.Put(model.ubm_id);
  w.Put(static_cast<uint32_t>(model.means.rows()));
  w.Put(static_cast<uint32_t>(model.means.cols()));
  w.Put(model.znorm_mean);
  w.Put(model.znorm_std);
  w.Put(model.speech_seconds);
  w.Put(static_cast<int32_t>(model.utterances));
  for (long k = 0; k < model.occupancy.size(); ++k) w.Put(static_cast<float>(model.occupancy[k]));
  PutMatrix(w, model.means);
  return w.Take();
}

absl::StatusOr<SpeakerModel> ParseSpeaker(absl::string_view bytes) {
  Reader r(bytes);
  char magic[8];
  uint32_t version = 0, m = 0, d = 0;
  int32_t utterances = 0;
  SpeakerModel model;
  if (!r.GetBytes(magic, sizeof(magic)) || std::memcmp(magic, kSpeakerMagic, 8) != 0) {
    return absl::InvalidArgumentError("voiceprint: not a kefu speaker model");
  }
  if (!r.Get(&version) || version != kVersion) {
    return absl::InvalidArgumentError("voiceprint: unsupported version");
  }
  if (!r.Get(&model.ubm_id) || !r.Get(&m) || !r.Get(&d) || m == 0 || m > 8192 || d == 0 ||
      d > 512 || !r.Get(&model.znorm_mean) || !r.Get(&model.znorm_std) ||
      !r.Get(&model.speech_seconds) || !r.Get(&utterances)) {
    return absl::InvalidArgumentError("voiceprint: truncated header");
  }
  model.utterances = utterances;
  model.occupancy.resize(m);
  for (uint32_t k = 0; k < m; ++k) {
    float v = 0;
    if (!r.Get(&v) || !std::isfinite(v)) return absl::InvalidArgumentError("voiceprint: corrupt");
    model.occupancy[k] = v;
  }
  if (!GetMatrix(r, m, d, &model.means) || !r.done()) {
    return absl::InvalidArgumentError("voiceprint: corrupt means");
  }
  return model;
}

std::shared_ptr<const VoiceModel> VoiceModel::Create(FrontEndConfig front_end,
                                                     ScoringConfig scoring, DiagGmm ubm,
                                                     std::vector<FeatureMatrix> cohort) {
  std::shared_ptr<VoiceModel> model(new VoiceModel());
  model->front_end_config_ = front_end;
  model->front_end_ = FrontEnd(front_end);
  model->scoring_ = scoring;
  model->ubm_ = std::move(ubm);
  // What is served is what a reload would see: quantise the cohort now.
  for (auto& c : cohort) {
    c = ((c.array() * kCohortScale).round().cwiseMax(-127.0f).cwiseMin(127.0f) / kCohortScale)
            .matrix();
  }
  model->cohort_ = std::move(cohort);
  model->id_ = Fnv1a(model->Serialize());
  model->Prepare();
  return model;
}

void VoiceModel::Prepare() {
  cohort_alignment_.clear();
  for (const auto& c : cohort_) cohort_alignment_.push_back(Align(ubm_, c, scoring_.top_c));
}

std::string VoiceModel::Serialize() const {
  Writer w;
  w.PutBytes(kModelMagic, sizeof(kModelMagic));
  w.Put(kVersion);
  const FrontEndConfig& f = front_end_config_;
  w.Put(static_cast<int32_t>(f.sample_rate));
  w.Put(f.frame_ms);
  w.Put(f.hop_ms);
  w.Put(f.preemphasis);
  w.Put(static_cast<int32_t>(f.num_mels));
  w.Put(f.min_hz);
  w.Put(f.max_hz);
  w.Put(static_cast<int32_t>(f.num_ceps));
  w.Put(static_cast<int32_t>(f.delta_order));
  w.Put(static_cast<int32_t>(f.delta_window));
  w.Put(f.vad_dynamic_db);
  w.Put(f.vad_margin_db);
  w.Put(f.vad_floor_db);
  w.Put(f.vad_max_flatness);
  w.Put(static_cast<int32_t>(f.vad_hangover));
  w.Put(static_cast<int32_t>(scoring_.top_c));
  w.Put(scoring_.relevance);
  w.Put(scoring_.min_znorm_std);
  w.Put(static_cast<uint32_t>(ubm_.components()));
  w.Put(static_cast<uint32_t>(ubm_.dims()));
  w.PutBytes(ubm_.weights().data(), sizeof(float) * ubm_.components());
  PutMatrix(w, ubm_.means());
  PutMatrix(w, ubm_.variances());
  w.Put(static_cast<uint32_t>(cohort_.size()));
  for (const auto& c : cohort_) {
    w.Put(static_cast<uint32_t>(c.rows()));
    std::string q(c.size(), '\0');
    for (long i = 0; i < c.size(); ++i) {
      q[i] = static_cast<char>(static_cast<int8_t>(std::lround(c.data()[i] * kCohortScale)));
    }
    w.PutBytes(q.data(), q.size());
  }
  return w.Take();
}

absl::StatusOr<std::shared_ptr<const VoiceModel>> VoiceModel::Parse(absl::string_view bytes) {
  Reader r(bytes);
  char magic[8];
  uint32_t version = 0;
  if (!r.GetBytes(magic, 8) || std::memcmp(magic, kModelMagic, 8) != 0) {
    return Corrupt("not a kefu voice model (kefu-voice-train writes them)");
  }
  if (!r.Get(&version) || version != kVersion) return Corrupt("unsupported version");
  FrontEndConfig f;
  ScoringConfig s;
  int32_t rate, mels, ceps, order, window, hangover, top_c;
  uint32_t m = 0, d = 0, k = 0;
  if (!r.Get(&rate) || !r.Get(&f.frame_ms) || !r.Get(&f.hop_ms) || !r.Get(&f.preemphasis) ||
      !r.Get(&mels) || !r.Get(&f.min_hz) || !r.Get(&f.max_hz) || !r.Get(&ceps) || !r.Get(&order) ||
      !r.Get(&window) || !r.Get(&f.vad_dynamic_db) || !r.Get(&f.vad_margin_db) ||
      !r.Get(&f.vad_floor_db) || !r.Get(&f.vad_max_flatness) || !r.Get(&hangover) ||
      !r.Get(&top_c) || !r.Get(&s.relevance) || !r.Get(&s.min_znorm_std) || !r.Get(&m) ||
      !r.Get(&d)) {
    return Corrupt("truncated header");
  }
  f.sample_rate = rate;
  f.num_mels = mels;
  f.num_ceps = ceps;
  f.delta_order = order;
  f.delta_window = window;
  f.vad_hangover = hangover;
  s.top_c = top_c;
  // NaN passes every range comparison below: a NaN frame_ms or hop_ms gave a zero hop (a
  // division by zero on the first utterance), so every float must be finite first.
  for (float v :
       {f.frame_ms, f.hop_ms, f.preemphasis, f.min_hz, f.max_hz, f.vad_dynamic_db, f.vad_margin_db,
        f.vad_floor_db, f.vad_max_flatness, s.relevance, s.min_znorm_std}) {
    if (!std::isfinite(v)) return Corrupt("implausible header (not a finite number)");
  }
  if (rate < kMinSampleRate || rate > kMaxSampleRate || mels < 4 || mels > 128 || ceps < 2 ||
      ceps > mels || order < 0 || order > 2 || window < 1 || window > 5 || f.frame_ms < 5 ||
      f.frame_ms > 100 || f.hop_ms < 1 || f.hop_ms > f.frame_ms || top_c < 1 || m < 1 || m > 8192 ||
      static_cast<int>(d) != f.Dims() || s.relevance <= 0 || hangover < 0 || hangover > 100) {
    return Corrupt("implausible header");
  }
  Eigen::VectorXf weights(m);
  FeatureMatrix means, vars;
  if (!r.GetBytes(weights.data(), sizeof(float) * m) || !weights.allFinite() ||
      !GetMatrix(r, m, d, &means) || !GetMatrix(r, m, d, &vars) || (vars.array() <= 0).any()) {
    return Corrupt("corrupt UBM");
  }
  if (!r.Get(&k) || k > 10000) return Corrupt("corrupt cohort");
  std::vector<FeatureMatrix> cohort;
  for (uint32_t i = 0; i < k; ++i) {
    uint32_t rows = 0;
    if (!r.Get(&rows) || rows > 1000000) return Corrupt("corrupt cohort");
    std::string q(static_cast<size_t>(rows) * d, '\0');
    if (!r.GetBytes(q.data(), q.size())) return Corrupt("truncated cohort");
    FeatureMatrix c(rows, d);
    for (size_t j = 0; j < q.size(); ++j) {
      c.data()[j] = static_cast<float>(static_cast<int8_t>(q[j])) / kCohortScale;
    }
    cohort.push_back(std::move(c));
  }
  if (!r.done()) return Corrupt("trailing bytes");
  std::shared_ptr<VoiceModel> model(new VoiceModel());
  model->front_end_config_ = f;
  model->front_end_ = FrontEnd(f);
  model->scoring_ = s;
  model->ubm_ = DiagGmm(weights, means, vars);
  model->cohort_ = std::move(cohort);
  model->id_ = Fnv1a(bytes);
  model->Prepare();
  return std::shared_ptr<const VoiceModel>(std::move(model));
}

absl::StatusOr<std::shared_ptr<const VoiceModel>> VoiceModel::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open the voice model"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto model = Parse(buffer.str());
  if (!model.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", model.status().message()));
  }
  return model;
}

DiagGmm VoiceModel::Adapted(const SpeakerModel& speaker) const {
  return DiagGmm(ubm_.weights(), speaker.means, ubm_.variances());
}

absl::StatusOr<SpeakerModel> VoiceModel::Enroll(const std::vector<Features>& utterances,
                                                const SpeakerModel* previous) const {
  const int m = ubm_.components(), d = ubm_.dims();
  Eigen::VectorXd n = Eigen::VectorXd::Zero(m);
  Eigen::MatrixXd f = Eigen::MatrixXd::Zero(m, d);
  SpeakerModel out;
  out.ubm_id = id_;
  if (previous != nullptr) {
    if (previous->ubm_id != id_ || previous->means.rows() != m || previous->means.cols() != d) {
      return absl::FailedPreconditionError(
          "voiceprint was enrolled with another voice model; enrol it again with replace");
    }
    // Recover the first-order statistics from the adapted means: F = mu' (N + r) - r mu.
    n = previous->occupancy;
    for (int k = 0; k < m; ++k) {
      f.row(k) = previous->means.row(k).cast<double>() * (n[k] + scoring_.relevance) -
                 scoring_.relevance * ubm_.means().row(k).cast<double>();
    }
    out.speech_seconds = previous->speech_seconds;
    out.utterances = previous->utterances;
  }
  bool any = false;
  for (const Features& u : utterances) {
    if (u.frames.rows() == 0) continue;
    any = true;
    GmmStats st = Accumulate(ubm_, u.frames, /*second_order=*/false);
    n += st.n;
    f += st.f;
    out.speech_seconds += u.speech_seconds;
    ++out.utterances;
  }
  if (!any && previous == nullptr) return absl::InvalidArgumentError("audio: no speech found");
  out.occupancy = n;
  const DiagGmm adapted = MapAdaptMeans(ubm_, n, f, scoring_.relevance);
  out.means = adapted.means();
  // Z-norm: how this model scores people it is not.
  if (!cohort_.empty()) {
    std::vector<double> scores;
    for (size_t i = 0; i < cohort_.size(); ++i) {
      if (cohort_[i].rows() == 0) continue;
      scores.push_back(LogLikelihoodRatio(adapted, cohort_[i], cohort_alignment_[i]));
    }
    double mean = 0, var = 0;
    for (double s : scores) mean += s;
    mean /= std::max<size_t>(1, scores.size());
    for (double s : scores) var += (s - mean) * (s - mean);
    var /= std::max<size_t>(1, scores.size() > 1 ? scores.size() - 1 : 1);
    out.znorm_mean = mean;
    out.znorm_std = std::max<double>(std::sqrt(var), scoring_.min_znorm_std);
  }
  return out;
}

absl::StatusOr<VoiceScore> VoiceModel::Score(const SpeakerModel& speaker,
                                             const Features& test) const {
  if (speaker.ubm_id != id_ || speaker.means.rows() != ubm_.components() ||
      speaker.means.cols() != ubm_.dims()) {
    return absl::FailedPreconditionError(
        "voiceprint was enrolled with another voice model; enrol the customer again");
  }
  if (test.frames.rows() == 0) return absl::InvalidArgumentError("audio: no speech found");
  const UbmAlignment alignment = Align(ubm_, test.frames, scoring_.top_c);
  VoiceScore out;
  out.llr = LogLikelihoodRatio(Adapted(speaker), test.frames, alignment);
  out.normalized = (out.llr - speaker.znorm_mean) / speaker.znorm_std;
  return out;
}

}  // namespace kefu::audio
