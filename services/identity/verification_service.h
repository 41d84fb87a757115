#pragma once

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kefu/identity/v1/verification.grpc.pb.h"
#include "libs/audio/voice_model.h"
#include "libs/auth/authorize.h"
#include "services/identity/voiceprint_store.h"

namespace kefu::identity {

// Flags of VerificationService (registered by Definition(), validated in Setup).
struct VerificationSettings {
  std::string voice_model;               // --voice-model: empty = the model compiled in
  std::string voiceprint_key;            // --voiceprint-key: 64 hex chars; empty = dev key
  std::string accept_threshold = "4.0";  // --voice-accept-threshold (normalised score)
  std::string reject_threshold = "2.0";  // --voice-reject-threshold
  absl::Duration min_enroll_speech = absl::Seconds(6);
  absl::Duration min_verify_speech = absl::Seconds(1);
  absl::Duration max_enroll_audio = absl::Seconds(120);
  absl::Duration max_verify_audio = absl::Seconds(30);
  int max_challenge_failures = 5;
  absl::Duration challenge_lockout = absl::Minutes(30);
  absl::Duration challenge_ttl = absl::Minutes(5);
};

// The settings checked and turned into what the service runs with.
struct VerificationPolicy {
  double accept_threshold = 4.0;
  double reject_threshold = 2.0;
  absl::Duration min_enroll_speech = absl::Seconds(6);
  absl::Duration min_verify_speech = absl::Seconds(1);
  absl::Duration max_enroll_audio = absl::Seconds(120);
  absl::Duration max_verify_audio = absl::Seconds(30);
  int max_challenge_failures = 5;
  absl::Duration challenge_lockout = absl::Minutes(30);
  absl::Duration challenge_ttl = absl::Minutes(5);
};

absl::StatusOr<VerificationPolicy> ParsePolicy(const VerificationSettings& settings);
// 32 key bytes from 64 hex characters; the development key (with a warning) when empty.
absl::StatusOr<std::string> VoiceprintKey(const std::string& hex);
// The voice model named by --voice-model, else the one compiled in (NOT_FOUND if none).
absl::StatusOr<std::shared_ptr<const audio::VoiceModel>> LoadVoiceModel(const std::string& path);

// kefu.identity.v1.VerificationService: voiceprints (GMM-UBM, MAP, Z-normalised LLR) and
// the fixed-information fallback with attempt limits and lockout (F3).
// kefu_identity_verification_decisions_total{decision}: voice verifications by outcome
// (accept, uncertain, reject, no_voiceprint) (F68).
class VerificationMetrics final {
 public:
  explicit VerificationMetrics(prometheus::Registry& registry);
  void Count(kefu::common::v1::VerificationDecision decision, bool enrolled);

 private:
  prometheus::Family<prometheus::Counter>& decisions_;
  prometheus::Counter& accept_;
  prometheus::Counter& uncertain_;
  prometheus::Counter& reject_;
  prometheus::Counter& no_voiceprint_;
};

class VerificationServiceImpl final : public v1::VerificationService::Service {
 public:
  // `model` may be null: voice RPCs then answer UNAVAILABLE, challenges still work.
  VerificationServiceImpl(VoiceprintStore* store, std::shared_ptr<const audio::VoiceModel> model,
                          const auth::Authenticator* authenticator, VerificationPolicy policy)
      : store_(store), model_(std::move(model)), authenticator_(authenticator), policy_(policy) {}

  // Counts verification outcomes from now on (the service sets it; tests may leave it unset).
  void set_metrics(VerificationMetrics* metrics) { metrics_ = metrics; }

  // kefu::identity::v1::VerificationService::Service
  grpc::Status EnrollVoiceprint(grpc::ServerContext* context,
                                grpc::ServerReader<v1::EnrollVoiceprintRequest>* reader,
                                v1::EnrollVoiceprintResponse* response) override;
  grpc::Status VerifyVoice(grpc::ServerContext* context,
                           grpc::ServerReader<v1::VerifyVoiceRequest>* reader,
                           v1::VerifyVoiceResponse* response) override;
  grpc::Status GetVoiceprint(grpc::ServerContext* context, const v1::GetVoiceprintRequest* request,
                             v1::GetVoiceprintResponse* response) override;
  grpc::Status DeleteVoiceprint(grpc::ServerContext* context,
                                const v1::DeleteVoiceprintRequest* request,
                                v1::DeleteVoiceprintResponse* response) override;
  grpc::Status SetSecretAnswers(grpc::ServerContext* context,
                                const v1::SetSecretAnswersRequest* request,
                                v1::SetSecretAnswersResponse* response) override;
  grpc::Status StartChallenge(grpc::ServerContext* context,
                              const v1::StartChallengeRequest* request,
                              v1::StartChallengeResponse* response) override;
  grpc::Status AnswerChallenge(grpc::ServerContext* context,
                               const v1::AnswerChallengeRequest* request,
                               v1::AnswerChallengeResponse* response) override;

 private:
  absl::StatusOr<auth::Claims> Authorize(const grpc::ServerContext& context) const;
  absl::Status Enroll(grpc::ServerContext* context,
                      grpc::ServerReader<v1::EnrollVoiceprintRequest>* reader,
                      v1::EnrollVoiceprintResponse* response);
  absl::Status Verify(grpc::ServerContext* context,
                      grpc::ServerReader<v1::VerifyVoiceRequest>* reader,
                      v1::VerifyVoiceResponse* response);
  absl::Status Answer(grpc::ServerContext* context, const v1::AnswerChallengeRequest* request,
                      v1::AnswerChallengeResponse* response);
  absl::Status Start(grpc::ServerContext* context, const v1::StartChallengeRequest* request,
                     v1::StartChallengeResponse* response);

  VoiceprintStore* store_;
  std::shared_ptr<const audio::VoiceModel> model_;
  const auth::Authenticator* authenticator_;
  const VerificationPolicy policy_;
  VerificationMetrics* metrics_ = nullptr;
};

}  // namespace kefu::identity
