#include "services/identity/verification_service.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/time_util.h>
#include <sodium.h>

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "libs/audio/default_model.h"
#include "libs/auth/password.h"
#include "libs/common/log.h"
#include "libs/common/status.h"
#include "libs/common/status_macros.h"

namespace kefu::identity {

VerificationMetrics::VerificationMetrics(prometheus::Registry& registry)
    : decisions_(prometheus::BuildCounter()
                     .Name("kefu_identity_verification_decisions_total")
                     .Help("Voice verifications by decision")
                     .Register(registry)),
      accept_(decisions_.Add({{"decision", "accept"}})),
      uncertain_(decisions_.Add({{"decision", "uncertain"}})),
      reject_(decisions_.Add({{"decision", "reject"}})),
      no_voiceprint_(decisions_.Add({{"decision", "no_voiceprint"}})) {}

void VerificationMetrics::Count(kefu::common::v1::VerificationDecision decision, bool enrolled) {
  if (!enrolled) {
    no_voiceprint_.Increment();
  } else if (decision == kefu::common::v1::VERIFICATION_DECISION_ACCEPT) {
    accept_.Increment();
  } else if (decision == kefu::common::v1::VERIFICATION_DECISION_REJECT) {
    reject_.Increment();
  } else {
    uncertain_.Increment();
  }
}
namespace {

using google::protobuf::util::TimeUtil;
using kefu::common::v1::ChallengeOutcome;
using kefu::common::v1::ROLE_ADMIN;
using kefu::common::v1::ROLE_AGENT;
using kefu::common::v1::ROLE_SERVICE;
using kefu::common::v1::ROLE_SUPERVISOR;
using kefu::common::v1::VerificationDecision;

constexpr size_t kMaxChunkBytes = size_t{64} * 1024;
constexpr size_t kMaxIdLength = 128;
constexpr size_t kMaxQuestions = 10;
constexpr size_t kMaxAnswerLength = 256;
constexpr char kDevKeySeed[] = "kefu development voiceprint key: never use in production";

// Every VerificationService RPC: staff of the tenant, or a kefu service acting for it.
#define KEFU_VERIFICATION_ROLES \
  { ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_AGENT, ROLE_SERVICE }

google::protobuf::Timestamp ToProto(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

google::protobuf::Duration Seconds(double s) {
  return TimeUtil::MicrosecondsToDuration(static_cast<int64_t>(s * 1e6));
}

absl::Status CheckId(absl::string_view field, absl::string_view value, bool required) {
  if (required && value.empty()) return InvalidField(field, "required");
  if (value.size() > kMaxIdLength) {
    return InvalidField(field, absl::StrCat("longer than ", kMaxIdLength, " characters"));
  }
  return absl::OkStatus();
}

// Secret answers compare trimmed, ASCII-case-folded, with inner whitespace collapsed.
std::string NormalizeAnswer(absl::string_view answer) {
  std::string lowered = absl::AsciiStrToLower(absl::StripAsciiWhitespace(answer));
  std::string out;
  bool space = false;
  for (char c : lowered) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

std::string DeterministicBytes(const google::protobuf::Message& message) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return out;
}

// A digest of a request (metadata and audio) for the idempotency record.
class Fingerprint {
 public:
  Fingerprint() { crypto_generichash_init(&state_, nullptr, 0, crypto_generichash_BYTES); }
  void Add(absl::string_view bytes) {
    const uint64_t n = bytes.size();
    crypto_generichash_update(&state_, reinterpret_cast<const unsigned char*>(&n), sizeof(n));
    crypto_generichash_update(&state_, reinterpret_cast<const unsigned char*>(bytes.data()),
                              bytes.size());
  }
  std::string Finish() {
    std::string out(crypto_generichash_BYTES, '\0');
    crypto_generichash_final(&state_, reinterpret_cast<unsigned char*>(out.data()), out.size());
    return out;
  }

 private:
  crypto_generichash_state state_;
};

// Idempotency (API.md): scope (tenant, caller, RPC, key); the record is the request's
// fingerprint followed by the response.
class Idempotency {
 public:
  Idempotency(VoiceprintStore* store, std::string tenant, const auth::Claims& caller,
              absl::string_view rpc, absl::string_view key, std::string fingerprint)
      : store_(store),
        tenant_(std::move(tenant)),
        rpc_(absl::StrCat("VerificationService.", rpc)),
        key_(key.empty() ? "" : absl::StrCat(caller.subject, "/", key)),
        fingerprint_(std::move(fingerprint)) {}

  // True when an earlier call with this key answered: `response` holds its answer.
  absl::StatusOr<bool> Replay(google::protobuf::Message* response) {
    if (key_.empty()) return false;
    KEFU_ASSIGN_OR_RETURN(auto seen, store_->FindIdempotent(tenant_, rpc_, key_));
    if (!seen.has_value()) return false;
    if (seen->size() < fingerprint_.size() ||
        seen->compare(0, fingerprint_.size(), fingerprint_) != 0) {
      return InvalidField("idempotency_key", "reused with a different request");
    }
    if (!response->ParseFromString(seen->substr(fingerprint_.size()))) {
      return absl::InternalError("idempotency record is corrupt");
    }
    return true;
  }

  absl::Status Remember(const google::protobuf::Message& response) {
    if (key_.empty()) return absl::OkStatus();
    return store_->SaveIdempotent(tenant_, rpc_, key_, fingerprint_ + DeterministicBytes(response));
  }

 private:
  VoiceprintStore* store_;
  std::string tenant_;
  std::string rpc_;
  std::string key_;
  std::string fingerprint_;
};

// The audio of a client stream, one byte string per utterance.
struct Upload {
  std::vector<std::string> utterances;
  size_t bytes = 0;
};

// Bytes of `seconds` of audio in `format`, with room for WAV headers; WAV is bounded
// again by its decoded duration.
size_t MaxBytes(const kefu::common::v1::AudioFormat& format, absl::Duration max_audio) {
  const double seconds = absl::ToDoubleSeconds(max_audio);
  if (format.encoding() == kefu::common::v1::AUDIO_ENCODING_PCM16) {
    return static_cast<size_t>(seconds * format.sample_rate_hz() * 2);
  }
  return static_cast<size_t>(seconds * audio::kMaxSampleRate * 2 * 2) + (1 << 20);
}

absl::Status CheckFormat(const kefu::common::v1::AudioFormat& format) {
  switch (format.encoding()) {
    case kefu::common::v1::AUDIO_ENCODING_PCM16:
      if (format.sample_rate_hz() != 8000 && format.sample_rate_hz() != 16000) {
        return InvalidField(
            "format.sample_rate_hz",
            absl::StrCat("PCM16 must be 8000 or 16000 Hz, not ", format.sample_rate_hz()));
      }
      return absl::OkStatus();
    case kefu::common::v1::AUDIO_ENCODING_WAV:
      return absl::OkStatus();
    default:
      return InvalidField("format.encoding", "required: PCM16 or WAV");
  }
}

// Reads the audio chunks after the metadata message.
template <typename Request>
absl::Status ReadAudio(grpc::ServerReader<Request>* reader, size_t max_bytes,
                       absl::Duration max_audio, Upload* upload) {
  Request request;
  std::string current;
  while (reader->Read(&request)) {
    if (request.has_metadata()) return InvalidField("metadata", "sent more than once");
    if (!request.has_audio()) continue;
    const auto& chunk = request.audio();
    if (chunk.data().size() > kMaxChunkBytes) {
      return InvalidField("audio.data", "chunks are at most 64 KiB");
    }
    upload->bytes += chunk.data().size();
    if (upload->bytes > max_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "audio: more than ", absl::FormatDuration(max_audio), " of audio; send less"));
    }
    current.append(chunk.data());
    if (chunk.end_of_utterance() && !current.empty()) {
      upload->utterances.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) upload->utterances.push_back(std::move(current));
  if (upload->utterances.empty()) return InvalidField("audio", "no audio was sent");
  return absl::OkStatus();
}

// Decodes and analyses every utterance; bounded by decoded duration too.
absl::StatusOr<std::vector<audio::Features>> Analyse(const audio::VoiceModel& model,
                                                     const kefu::common::v1::AudioFormat& format,
                                                     const Upload& upload, absl::Duration max_audio,
                                                     double* speech_seconds) {
  std::vector<audio::Features> out;
  double seconds = 0;
  *speech_seconds = 0;
  for (size_t i = 0; i < upload.utterances.size(); ++i) {
    auto decoded = format.encoding() == kefu::common::v1::AUDIO_ENCODING_WAV
                       ? audio::DecodeWav(upload.utterances[i])
                       : audio::DecodePcm16(upload.utterances[i], format.sample_rate_hz());
    if (!decoded.ok()) {
      const std::string problem(decoded.status().message());
      return absl::InvalidArgumentError(upload.utterances.size() == 1
                                            ? problem
                                            : absl::StrCat("audio: utterance ", i + 1, ": ",
                                                           absl::StripPrefix(problem, "audio: ")));
    }
    seconds += decoded->seconds();
    if (seconds > absl::ToDoubleSeconds(max_audio)) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "audio: more than ", absl::FormatDuration(max_audio), " of audio; send less"));
    }
    out.push_back(model.Extract(*decoded));
    *speech_seconds += out.back().speech_seconds;
  }
  return out;
}

absl::Status NotEnoughSpeech(double found, absl::Duration needed) {
  return InvalidField("audio", absl::StrFormat("only %.1f s of speech found; need at least %s",
                                               found, absl::FormatDuration(needed)));
}

absl::Status NoModel() {
  return absl::UnavailableError(
      "voice verification is not configured (no voice model); use the challenge");
}

}  // namespace

absl::StatusOr<VerificationPolicy> ParsePolicy(const VerificationSettings& s) {
  VerificationPolicy p;
  if (!absl::SimpleAtod(s.accept_threshold, &p.accept_threshold)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--voice-accept-threshold: not a number: \"", s.accept_threshold, "\""));
  }
  if (!absl::SimpleAtod(s.reject_threshold, &p.reject_threshold)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--voice-reject-threshold: not a number: \"", s.reject_threshold, "\""));
  }
  if (p.reject_threshold > p.accept_threshold) {
    return absl::InvalidArgumentError(
        "--voice-reject-threshold: must not exceed --voice-accept-threshold");
  }
  if (s.max_challenge_failures < 1) {
    return absl::InvalidArgumentError("--challenge-max-failures: at least 1");
  }
  if (s.min_verify_speech <= absl::ZeroDuration() || s.min_enroll_speech <= absl::ZeroDuration() ||
      s.max_verify_audio < s.min_verify_speech || s.max_enroll_audio < s.min_enroll_speech) {
    return absl::InvalidArgumentError(
        "--voice-min-*-speech / --voice-max-*-audio: need 0 < minimum speech <= maximum audio");
  }
  p.min_enroll_speech = s.min_enroll_speech;
  p.min_verify_speech = s.min_verify_speech;
  p.max_enroll_audio = s.max_enroll_audio;
  p.max_verify_audio = s.max_verify_audio;
  p.max_challenge_failures = s.max_challenge_failures;
  p.challenge_lockout = s.challenge_lockout;
  p.challenge_ttl = s.challenge_ttl;
  return p;
}

absl::StatusOr<std::string> VoiceprintKey(const std::string& hex) {
  if (sodium_init() < 0) return absl::InternalError("libsodium failed to initialise");
  if (hex.empty()) {
    std::string key(32, '\0');
    crypto_generichash(reinterpret_cast<unsigned char*>(key.data()), key.size(),
                       reinterpret_cast<const unsigned char*>(kDevKeySeed), sizeof(kDevKeySeed) - 1,
                       nullptr, 0);
    log::Warn(
        "voiceprint key not set: sealing voiceprints with the built-in DEVELOPMENT key; set "
        "--voiceprint-key / KEFU_VOICEPRINT_KEY (64 hex characters) in production");
    return key;
  }
  if (hex.size() != 64 ||
      !std::all_of(hex.begin(), hex.end(), [](char c) { return absl::ascii_isxdigit(c); })) {
    return absl::InvalidArgumentError(
        "--voiceprint-key: want 64 hex characters (32 bytes), e.g. from `openssl rand -hex 32`");
  }
  return absl::HexStringToBytes(hex);
}

absl::StatusOr<std::shared_ptr<const audio::VoiceModel>> LoadVoiceModel(const std::string& path) {
  if (!path.empty()) return audio::VoiceModel::Load(path);
  const absl::string_view bytes = audio::DefaultVoiceModelBytes();
  if (bytes.empty()) {
    return absl::NotFoundError(
        "no voice model compiled in (models/voice/ubm.kvm); pass --voice-model");
  }
  return audio::VoiceModel::Parse(bytes);
}

// Every VerificationService RPC: staff of the tenant, or a kefu service acting for it.
absl::StatusOr<auth::Claims> VerificationServiceImpl::Authorize(
    const grpc::ServerContext& context) const {
  return authenticator_->Require(context, {ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_AGENT, ROLE_SERVICE});
}

// --- Voiceprints ------------------------------------------------------------------------

grpc::Status VerificationServiceImpl::EnrollVoiceprint(
    grpc::ServerContext* context, grpc::ServerReader<v1::EnrollVoiceprintRequest>* reader,
    v1::EnrollVoiceprintResponse* response) {
  return HandleRpc([&] { return Enroll(context, reader, response); });
}

absl::Status VerificationServiceImpl::Enroll(
    grpc::ServerContext* context, grpc::ServerReader<v1::EnrollVoiceprintRequest>* reader,
    v1::EnrollVoiceprintResponse* response) {
  KEFU_ASSIGN_OR_RETURN(auth::Claims caller, Authorize(*context));
  v1::EnrollVoiceprintRequest first;
  if (!reader->Read(&first) || !first.has_metadata()) {
    return InvalidField("metadata", "the first message must carry the metadata");
  }
  const v1::EnrollMetadata& meta = first.metadata();
  KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, meta.tenant_id()));
  KEFU_RETURN_IF_ERROR(CheckId("customer_id", meta.customer_id(), true));
  KEFU_RETURN_IF_ERROR(CheckId("contact_id", meta.contact_id(), false));
  KEFU_RETURN_IF_ERROR(CheckId("idempotency_key", meta.idempotency_key(), false));
  KEFU_RETURN_IF_ERROR(CheckFormat(meta.format()));
  if (model_ == nullptr) return NoModel();

  Upload upload;
  KEFU_RETURN_IF_ERROR(ReadAudio(reader, MaxBytes(meta.format(), policy_.max_enroll_audio),
                                 policy_.max_enroll_audio, &upload));
  Fingerprint fp;
  fp.Add(DeterministicBytes(meta));
  for (const auto& u : upload.utterances) fp.Add(u);
  Idempotency idem(store_, tenant, caller, "EnrollVoiceprint", meta.idempotency_key(), fp.Finish());
  KEFU_ASSIGN_OR_RETURN(bool replayed, idem.Replay(response));
  if (replayed) return absl::OkStatus();

  double speech = 0;
  KEFU_ASSIGN_OR_RETURN(auto features,
                        Analyse(*model_, meta.format(), upload, policy_.max_enroll_audio, &speech));
  KEFU_ASSIGN_OR_RETURN(auto existing, store_->GetVoiceprint(tenant, meta.customer_id()));
  std::optional<audio::SpeakerModel> previous;
  if (existing.has_value() && !meta.replace()) {
    auto parsed = audio::ParseSpeaker(existing->model);
    // A voiceprint of another voice model cannot be refreshed: it is replaced.
    if (parsed.ok() && parsed->ubm_id == model_->id()) previous = std::move(*parsed);
  }
  const double total_speech = speech + (previous ? previous->speech_seconds : 0.0);
  if (total_speech < absl::ToDoubleSeconds(policy_.min_enroll_speech)) {
    return NotEnoughSpeech(total_speech, policy_.min_enroll_speech);
  }
  KEFU_ASSIGN_OR_RETURN(audio::SpeakerModel speaker,
                        model_->Enroll(features, previous ? &*previous : nullptr));
  VoiceprintRecord record;
  record.voiceprint_id = existing.has_value() ? existing->voiceprint_id : auth::RandomId();
  record.model = audio::SerializeSpeaker(speaker);
  record.speech_seconds = speaker.speech_seconds;
  record.utterance_count = speaker.utterances;
  KEFU_ASSIGN_OR_RETURN(VoiceprintRecord stored,
                        store_->PutVoiceprint(tenant, meta.customer_id(), record));
  AuditEntry audit;
  audit.customer_id = meta.customer_id();
  audit.contact_id = meta.contact_id();
  audit.actor = caller.subject;
  audit.action = "enroll";
  audit.speech_seconds = speech;
  audit.detail = previous ? "refreshed" : (existing ? "replaced" : "created");
  KEFU_RETURN_IF_ERROR(store_->Audit(tenant, audit).status());

  response->set_voiceprint_id(stored.voiceprint_id);
  *response->mutable_speech_duration() = Seconds(speaker.speech_seconds);
  response->set_utterance_count(speaker.utterances);
  response->set_refreshed(previous.has_value());
  *response->mutable_update_time() = ToProto(stored.update_time);
  log::Info("voiceprint enrolled", {{"tenant", tenant}, {"how", audit.detail}});
  return idem.Remember(*response);
}

grpc::Status VerificationServiceImpl::VerifyVoice(
    grpc::ServerContext* context, grpc::ServerReader<v1::VerifyVoiceRequest>* reader,
    v1::VerifyVoiceResponse* response) {
  return HandleRpc([&] { return Verify(context, reader, response); });
}

absl::Status VerificationServiceImpl::Verify(grpc::ServerContext* context,
                                             grpc::ServerReader<v1::VerifyVoiceRequest>* reader,
                                             v1::VerifyVoiceResponse* response) {
  KEFU_ASSIGN_OR_RETURN(auth::Claims caller, Authorize(*context));
  v1::VerifyVoiceRequest first;
  if (!reader->Read(&first) || !first.has_metadata()) {
    return InvalidField("metadata", "the first message must carry the metadata");
  }
  const v1::VerifyMetadata& meta = first.metadata();
  KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, meta.tenant_id()));
  KEFU_RETURN_IF_ERROR(CheckId("customer_id", meta.customer_id(), true));
  KEFU_RETURN_IF_ERROR(CheckId("contact_id", meta.contact_id(), false));
  KEFU_RETURN_IF_ERROR(CheckFormat(meta.format()));
  if (model_ == nullptr) return NoModel();

  Upload upload;
  KEFU_RETURN_IF_ERROR(ReadAudio(reader, MaxBytes(meta.format(), policy_.max_verify_audio),
                                 policy_.max_verify_audio, &upload));
  double speech = 0;
  KEFU_ASSIGN_OR_RETURN(auto features,
                        Analyse(*model_, meta.format(), upload, policy_.max_verify_audio, &speech));
  response->set_accept_threshold(policy_.accept_threshold);
  response->set_reject_threshold(policy_.reject_threshold);
  *response->mutable_speech_duration() = Seconds(speech);

  AuditEntry audit;
  audit.customer_id = meta.customer_id();
  audit.contact_id = meta.contact_id();
  audit.actor = caller.subject;
  audit.action = "verify";
  audit.speech_seconds = speech;

  KEFU_ASSIGN_OR_RETURN(auto existing, store_->GetVoiceprint(tenant, meta.customer_id()));
  std::optional<audio::SpeakerModel> speaker;
  if (existing.has_value()) {
    auto parsed = audio::ParseSpeaker(existing->model);
    if (parsed.ok() && parsed->ubm_id == model_->id()) {
      speaker = std::move(*parsed);
    } else {
      audit.detail = "voiceprint of another voice model: enrol again";
    }
  }
  if (!speaker.has_value()) {
    if (audit.detail.empty()) audit.detail = "no voiceprint";
    response->set_voiceprint_enrolled(false);
    response->set_decision(kefu::common::v1::VERIFICATION_DECISION_UNSPECIFIED);
    response->set_challenge_required(true);
    KEFU_ASSIGN_OR_RETURN(*response->mutable_verification_id(), store_->Audit(tenant, audit));
    if (metrics_ != nullptr) metrics_->Count(response->decision(), false);
    return absl::OkStatus();
  }
  if (speech < absl::ToDoubleSeconds(policy_.min_verify_speech)) {
    return NotEnoughSpeech(speech, policy_.min_verify_speech);
  }
  // The utterances are scored as one: their frames together.
  audio::Features all;
  long rows = 0;
  for (const auto& f : features) rows += f.frames.rows();
  all.frames.resize(rows, model_->ubm().dims());
  long at = 0;
  for (const auto& f : features) {
    all.frames.middleRows(at, f.frames.rows()) = f.frames;
    at += f.frames.rows();
  }
  all.speech_seconds = speech;
  KEFU_ASSIGN_OR_RETURN(audio::VoiceScore score, model_->Score(*speaker, all));
  VerificationDecision decision = kefu::common::v1::VERIFICATION_DECISION_UNCERTAIN;
  if (score.normalized >= policy_.accept_threshold) {
    decision = kefu::common::v1::VERIFICATION_DECISION_ACCEPT;
  } else if (score.normalized < policy_.reject_threshold) {
    decision = kefu::common::v1::VERIFICATION_DECISION_REJECT;
  }
  response->set_voiceprint_enrolled(true);
  response->set_decision(decision);
  response->set_score(score.normalized);
  response->set_challenge_required(decision != kefu::common::v1::VERIFICATION_DECISION_ACCEPT);
  audit.voice_decision = decision;
  audit.score = score.normalized;

  // F3: a verified call may refresh the voiceprint when the tenant opted in.
  if (decision == kefu::common::v1::VERIFICATION_DECISION_ACCEPT) {
    auto enabled = store_->VoiceprintRefreshEnabled(tenant);
    if (enabled.ok() && *enabled) {
      auto refreshed = model_->Enroll(features, &*speaker);
      if (refreshed.ok()) {
        VoiceprintRecord record = *existing;
        record.model = audio::SerializeSpeaker(*refreshed);
        record.speech_seconds = refreshed->speech_seconds;
        record.utterance_count = refreshed->utterances;
        auto put = store_->PutVoiceprint(tenant, meta.customer_id(), record);
        audit.detail = put.ok() ? "voiceprint refreshed" : "refresh failed";
      }
    }
  }
  KEFU_ASSIGN_OR_RETURN(*response->mutable_verification_id(), store_->Audit(tenant, audit));
  if (metrics_ != nullptr) metrics_->Count(decision, true);
  log::Info("voice verified",
            {{"tenant", tenant},
             {"contact", meta.contact_id()},
             {"decision", kefu::common::v1::VerificationDecision_Name(decision)}});
  return absl::OkStatus();
}

grpc::Status VerificationServiceImpl::GetVoiceprint(grpc::ServerContext* context,
                                                    const v1::GetVoiceprintRequest* request,
                                                    v1::GetVoiceprintResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, Authorize(*context));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
    KEFU_RETURN_IF_ERROR(CheckId("customer_id", request->customer_id(), true));
    KEFU_ASSIGN_OR_RETURN(auto existing, store_->GetVoiceprint(tenant, request->customer_id()));
    if (!existing.has_value()) return absl::OkStatus();
    response->set_enrolled(true);
    response->set_voiceprint_id(existing->voiceprint_id);
    *response->mutable_create_time() = ToProto(existing->create_time);
    *response->mutable_update_time() = ToProto(existing->update_time);
    *response->mutable_speech_duration() = Seconds(existing->speech_seconds);
    return absl::OkStatus();
  });
}

grpc::Status VerificationServiceImpl::DeleteVoiceprint(grpc::ServerContext* context,
                                                       const v1::DeleteVoiceprintRequest* request,
                                                       v1::DeleteVoiceprintResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, Authorize(*context));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
    KEFU_RETURN_IF_ERROR(CheckId("customer_id", request->customer_id(), true));
    KEFU_RETURN_IF_ERROR(CheckId("idempotency_key", request->idempotency_key(), false));
    Fingerprint fp;
    fp.Add(DeterministicBytes(*request));
    Idempotency idem(store_, tenant, caller, "DeleteVoiceprint", request->idempotency_key(),
                     fp.Finish());
    KEFU_ASSIGN_OR_RETURN(bool replayed, idem.Replay(response));
    if (replayed) return absl::OkStatus();
    KEFU_ASSIGN_OR_RETURN(bool deleted, store_->DeleteVoiceprint(tenant, request->customer_id()));
    response->set_deleted(deleted);
    AuditEntry audit;
    audit.customer_id = request->customer_id();
    audit.actor = caller.subject;
    audit.action = "delete";
    audit.detail = deleted ? "deleted" : "nothing to delete";
    KEFU_RETURN_IF_ERROR(store_->Audit(tenant, audit).status());
    return idem.Remember(*response);
  });
}

// --- Fixed-information fallback ---------------------------------------------------------

grpc::Status VerificationServiceImpl::SetSecretAnswers(grpc::ServerContext* context,
                                                       const v1::SetSecretAnswersRequest* request,
                                                       v1::SetSecretAnswersResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, Authorize(*context));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
    KEFU_RETURN_IF_ERROR(CheckId("customer_id", request->customer_id(), true));
    KEFU_RETURN_IF_ERROR(CheckId("idempotency_key", request->idempotency_key(), false));
    const std::string& pin = request->pin();
    if (!pin.empty() &&
        (pin.size() < 4 || pin.size() > 8 ||
         !std::all_of(pin.begin(), pin.end(), [](char c) { return absl::ascii_isdigit(c); }))) {
      return InvalidField("pin", "want 4 to 8 digits");
    }
    if (pin.empty() && request->answers().empty()) {
      return InvalidField("pin", "give a PIN and/or security answers");
    }
    if (static_cast<size_t>(request->answers_size()) > kMaxQuestions) {
      return InvalidField("answers", absl::StrCat("at most ", kMaxQuestions, " questions"));
    }
    std::set<std::string> ids;
    for (int i = 0; i < request->answers_size(); ++i) {
      const v1::SecretAnswer& a = request->answers(i);
      const std::string field = absl::StrCat("answers[", i, "]");
      KEFU_RETURN_IF_ERROR(CheckId(field + ".question_id", a.question_id(), true));
      if (!ids.insert(a.question_id()).second) {
        return InvalidField(field + ".question_id", "used twice");
      }
      if (a.question().zh().empty() && a.question().en().empty()) {
        return InvalidField(field + ".question", "required (zh and/or en)");
      }
      if (a.question().zh().size() > 500 || a.question().en().size() > 500) {
        return InvalidField(field + ".question", "longer than 500 bytes");
      }
      const std::string normalized = NormalizeAnswer(a.answer());
      if (normalized.empty()) return InvalidField(field + ".answer", "required");
      if (normalized.size() > kMaxAnswerLength) {
        return InvalidField(field + ".answer", "longer than 256 characters");
      }
    }
    Fingerprint fp;
    fp.Add(DeterministicBytes(*request));
    Idempotency idem(store_, tenant, caller, "SetSecretAnswers", request->idempotency_key(),
                     fp.Finish());
    KEFU_ASSIGN_OR_RETURN(bool replayed, idem.Replay(response));
    if (replayed) return absl::OkStatus();

    std::optional<std::string> pin_hash;
    if (!pin.empty()) {
      KEFU_ASSIGN_OR_RETURN(pin_hash, auth::HashPassword(pin));
    }
    std::optional<std::vector<SecretQuestion>> questions;
    if (!request->answers().empty()) {
      questions.emplace();
      for (const v1::SecretAnswer& a : request->answers()) {
        KEFU_ASSIGN_OR_RETURN(std::string hash, auth::HashPassword(NormalizeAnswer(a.answer())));
        questions->push_back({a.question_id(), a.question().zh(), a.question().en(), hash});
      }
    }
    KEFU_RETURN_IF_ERROR(store_->SetSecrets(tenant, request->customer_id(), pin_hash, questions));
    KEFU_ASSIGN_OR_RETURN(SecretRecord now, store_->GetSecrets(tenant, request->customer_id()));
    response->set_pin_set(!now.pin_hash.empty());
    response->set_question_count(static_cast<int>(now.questions.size()));
    AuditEntry audit;
    audit.customer_id = request->customer_id();
    audit.actor = caller.subject;
    audit.action = "secrets_set";
    audit.detail = absl::StrCat(pin.empty() ? "" : "pin ", questions ? "questions" : "");
    KEFU_RETURN_IF_ERROR(store_->Audit(tenant, audit).status());
    return idem.Remember(*response);
  });
}

grpc::Status VerificationServiceImpl::StartChallenge(grpc::ServerContext* context,
                                                     const v1::StartChallengeRequest* request,
                                                     v1::StartChallengeResponse* response) {
  return HandleRpc([&] { return Start(context, request, response); });
}

absl::Status VerificationServiceImpl::Start(grpc::ServerContext* context,
                                            const v1::StartChallengeRequest* request,
                                            v1::StartChallengeResponse* response) {
  KEFU_ASSIGN_OR_RETURN(auth::Claims caller, Authorize(*context));
  KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
  KEFU_RETURN_IF_ERROR(CheckId("customer_id", request->customer_id(), true));
  KEFU_RETURN_IF_ERROR(CheckId("contact_id", request->contact_id(), false));
  KEFU_RETURN_IF_ERROR(CheckId("idempotency_key", request->idempotency_key(), false));
  if (!kefu::common::v1::VerificationDecision_IsValid(request->voice_decision())) {
    return InvalidField("voice_decision", "unknown value");
  }
  Fingerprint fp;
  fp.Add(DeterministicBytes(*request));
  Idempotency idem(store_, tenant, caller, "StartChallenge", request->idempotency_key(),
                   fp.Finish());
  KEFU_ASSIGN_OR_RETURN(bool replayed, idem.Replay(response));
  if (replayed) return absl::OkStatus();

  AuditEntry audit;
  audit.customer_id = request->customer_id();
  audit.contact_id = request->contact_id();
  audit.actor = caller.subject;
  audit.action = "challenge_start";
  audit.voice_decision = request->voice_decision();

  KEFU_ASSIGN_OR_RETURN(LockState lock, store_->GetLockState(tenant, request->customer_id()));
  const absl::Time now = absl::Now();
  if (lock.locked_until > now) {
    response->set_outcome(kefu::common::v1::CHALLENGE_OUTCOME_LOCKED_OUT);
    *response->mutable_locked_until() = ToProto(lock.locked_until);
    audit.challenge_outcome = response->outcome();
    KEFU_RETURN_IF_ERROR(store_->Audit(tenant, audit).status());
    return idem.Remember(*response);
  }
  KEFU_ASSIGN_OR_RETURN(SecretRecord secrets, store_->GetSecrets(tenant, request->customer_id()));
  if (secrets.pin_hash.empty() && secrets.questions.empty()) {
    response->set_outcome(kefu::common::v1::CHALLENGE_OUTCOME_NOT_AVAILABLE);
    audit.challenge_outcome = response->outcome();
    KEFU_RETURN_IF_ERROR(store_->Audit(tenant, audit).status());
    return idem.Remember(*response);
  }
  // The PIN when set, and one security question drawn at random when there are any.
  ChallengeRecord challenge;
  challenge.challenge_id = auth::RandomId();
  challenge.customer_id = request->customer_id();
  challenge.contact_id = request->contact_id();
  challenge.voice_decision = request->voice_decision();
  challenge.expire_time = now + policy_.challenge_ttl;
  if (!secrets.pin_hash.empty()) {
    challenge.prompts.push_back({"pin", PromptKind::kPin, ""});
    v1::ChallengePrompt* p = response->add_prompts();
    p->set_prompt_id("pin");
    p->set_kind(v1::PROMPT_KIND_PIN);
    p->mutable_text()->set_zh("请输入您的数字密码（PIN）");
    p->mutable_text()->set_en("Please enter your PIN");
  }
  if (!secrets.questions.empty()) {
    const SecretQuestion& q =
        secrets.questions[randombytes_uniform(static_cast<uint32_t>(secrets.questions.size()))];
    const std::string prompt_id = absl::StrCat("q:", q.question_id);
    challenge.prompts.push_back({prompt_id, PromptKind::kQuestion, q.question_id});
    v1::ChallengePrompt* p = response->add_prompts();
    p->set_prompt_id(prompt_id);
    p->set_kind(v1::PROMPT_KIND_QUESTION);
    p->mutable_text()->set_zh(q.question_zh);
    p->mutable_text()->set_en(q.question_en);
  }
  KEFU_RETURN_IF_ERROR(store_->CreateChallenge(tenant, challenge));
  response->set_challenge_id(challenge.challenge_id);
  response->set_attempts_left(std::max(0, policy_.max_challenge_failures - lock.failed_attempts));
  *response->mutable_expire_time() = ToProto(challenge.expire_time);
  audit.detail = absl::StrCat("challenge ", challenge.challenge_id);
  KEFU_RETURN_IF_ERROR(store_->Audit(tenant, audit).status());
  return idem.Remember(*response);
}

grpc::Status VerificationServiceImpl::AnswerChallenge(grpc::ServerContext* context,
                                                      const v1::AnswerChallengeRequest* request,
                                                      v1::AnswerChallengeResponse* response) {
  return HandleRpc([&] { return Answer(context, request, response); });
}

absl::Status VerificationServiceImpl::Answer(grpc::ServerContext* context,
                                             const v1::AnswerChallengeRequest* request,
                                             v1::AnswerChallengeResponse* response) {
  KEFU_ASSIGN_OR_RETURN(auth::Claims caller, Authorize(*context));
  KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
  KEFU_RETURN_IF_ERROR(CheckId("challenge_id", request->challenge_id(), true));
  KEFU_RETURN_IF_ERROR(CheckId("idempotency_key", request->idempotency_key(), false));
  for (const auto& [id, answer] : request->answers()) {
    if (answer.size() > kMaxAnswerLength) {
      return InvalidField(absl::StrCat("answers[", id, "]"), "longer than 256 characters");
    }
  }
  Fingerprint fp;
  fp.Add(DeterministicBytes(*request));
  Idempotency idem(store_, tenant, caller, "AnswerChallenge", request->idempotency_key(),
                   fp.Finish());
  KEFU_ASSIGN_OR_RETURN(bool replayed, idem.Replay(response));
  if (replayed) return absl::OkStatus();

  KEFU_ASSIGN_OR_RETURN(ChallengeRecord challenge,
                        store_->GetChallenge(tenant, request->challenge_id()));
  if (challenge.outcome == kefu::common::v1::CHALLENGE_OUTCOME_PASSED) {
    return absl::FailedPreconditionError("challenge_id: this challenge was already passed");
  }
  if (absl::Now() >= challenge.expire_time) {
    return absl::FailedPreconditionError("challenge_id: the challenge expired; start a new one");
  }
  for (const auto& prompt : challenge.prompts) {
    if (!request->answers().contains(prompt.prompt_id)) {
      return InvalidField(absl::StrCat("answers[", prompt.prompt_id, "]"), "required");
    }
  }
  for (const auto& entry : request->answers()) {
    const std::string& id = entry.first;
    const bool known = std::any_of(challenge.prompts.begin(), challenge.prompts.end(),
                                   [&](const auto& p) { return p.prompt_id == id; });
    if (!known)
      return InvalidField(absl::StrCat("answers[", id, "]"), "not a prompt of this challenge");
  }
  AuditEntry audit;
  audit.customer_id = challenge.customer_id;
  audit.contact_id = challenge.contact_id;
  audit.actor = caller.subject;
  audit.action = "challenge_answer";
  audit.voice_decision = challenge.voice_decision;
  audit.detail = absl::StrCat("challenge ", challenge.challenge_id);

  // Locked: answer without looking at the answers, so a locked account is no oracle.
  KEFU_ASSIGN_OR_RETURN(LockState lock, store_->GetLockState(tenant, challenge.customer_id));
  bool passed = false;
  if (lock.locked_until <= absl::Now()) {
    KEFU_ASSIGN_OR_RETURN(SecretRecord secrets, store_->GetSecrets(tenant, challenge.customer_id));
    passed = true;
    for (const auto& prompt : challenge.prompts) {
      const std::string& given = request->answers().at(prompt.prompt_id);
      if (prompt.kind == PromptKind::kPin) {
        passed = auth::VerifyPassword(secrets.pin_hash, given) && passed;
        continue;
      }
      const SecretQuestion* q = nullptr;
      for (const auto& candidate : secrets.questions) {
        if (candidate.question_id == prompt.question_id) q = &candidate;
      }
      passed =
          q != nullptr && auth::VerifyPassword(q->answer_hash, NormalizeAnswer(given)) && passed;
    }
    KEFU_ASSIGN_OR_RETURN(
        lock, store_->RecordAnswer(tenant, challenge.challenge_id, challenge.customer_id, passed,
                                   policy_.max_challenge_failures, policy_.challenge_lockout));
  }
  ChallengeOutcome outcome;
  if (lock.locked_until > absl::Now()) {
    outcome = kefu::common::v1::CHALLENGE_OUTCOME_LOCKED_OUT;
    *response->mutable_locked_until() = ToProto(lock.locked_until);
    response->set_attempts_left(0);
  } else if (passed) {
    outcome = kefu::common::v1::CHALLENGE_OUTCOME_PASSED;
    response->set_attempts_left(policy_.max_challenge_failures);
  } else {
    outcome = kefu::common::v1::CHALLENGE_OUTCOME_FAILED;
    response->set_attempts_left(std::max(0, policy_.max_challenge_failures - lock.failed_attempts));
  }
  response->set_outcome(outcome);
  audit.challenge_outcome = outcome;
  KEFU_RETURN_IF_ERROR(store_->Audit(tenant, audit).status());
  log::Info("challenge answered", {{"tenant", tenant},
                                   {"contact", challenge.contact_id},
                                   {"outcome", kefu::common::v1::ChallengeOutcome_Name(outcome)}});
  return idem.Remember(*response);
}

}  // namespace kefu::identity
