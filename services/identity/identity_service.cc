#include "services/identity/identity_service.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "libs/common/log.h"
#include "libs/common/status_macros.h"
#include "services/identity/pg_identity_store.h"
#include "services/identity/pg_voiceprint_store.h"

namespace kefu::identity {
namespace {

absl::Status Setup(server::ServiceContext& ctx, const AuthSettings& settings,
                   const VerificationSettings& verification) {
  KEFU_RETURN_IF_ERROR(ctx.Migrate({"identity", embedded::IdentityMigrations()}));
  // The store lives as long as the services that use it: both are owned by ctx.
  auto store = std::make_shared<PgIdentityStore>(ctx.pg());
  auto auth = std::make_unique<AuthServiceImpl>(store.get(), &ctx.token_codec(),
                                                &ctx.authenticator(), settings);
  ctx.Keep(std::move(store));
  ctx.AddService(std::move(auth), v1::AuthService::service_full_name());
  for (const char* method : {"Login", "Refresh", "RevokeToken"}) {
    ctx.AddOpenMethod(absl::StrCat("/", v1::AuthService::service_full_name(), "/", method));
  }
  // Voiceprints (F3): a bad --voiceprint-key, thresholds or --voice-model stop start-up;
  // without any voice model the challenge RPCs still serve and voice RPCs say UNAVAILABLE.
  KEFU_ASSIGN_OR_RETURN(VerificationPolicy policy, ParsePolicy(verification));
  KEFU_ASSIGN_OR_RETURN(std::string key, VoiceprintKey(verification.voiceprint_key));
  std::shared_ptr<const audio::VoiceModel> voice_model;
  auto loaded = LoadVoiceModel(verification.voice_model);
  if (loaded.ok()) {
    voice_model = *loaded;
  } else if (!verification.voice_model.empty()) {
    return loaded.status();
  } else {
    log::Error("voice verification disabled", {{"reason", loaded.status().message()}});
  }
  auto voiceprints = std::make_shared<PgVoiceprintStore>(ctx.pg(), std::move(key));
  auto verify = std::make_unique<VerificationServiceImpl>(voiceprints.get(), std::move(voice_model),
                                                          &ctx.authenticator(), policy);
  auto metrics = std::make_shared<VerificationMetrics>(ctx.registry());
  verify->set_metrics(metrics.get());
  ctx.Keep(std::move(metrics));
  ctx.Keep(std::move(voiceprints));
  ctx.AddService(std::move(verify), v1::VerificationService::service_full_name());
  return absl::OkStatus();
}

}  // namespace

server::ServiceDefinition Definition() {
  auto settings = std::make_shared<AuthSettings>();
  auto verification = std::make_shared<VerificationSettings>();
  return {
      .name = "identity",
      .register_flags =
          [settings, verification](FlagSet& flags) {
            flags.Duration("access-token-ttl", "KEFU_ACCESS_TOKEN_TTL", "lifetime of access tokens",
                           &settings->access_token_ttl);
            flags.Duration("refresh-token-ttl", "KEFU_REFRESH_TOKEN_TTL",
                           "lifetime of refresh tokens", &settings->refresh_token_ttl);
            VerificationSettings* v = verification.get();
            flags.String("voice-model", "KEFU_VOICE_MODEL",
                         "voice model file from kefu-voice-train (default: built in)",
                         &v->voice_model);
            flags.String("voiceprint-key", "KEFU_VOICEPRINT_KEY",
                         "64 hex chars sealing voiceprints at rest (empty: dev key)",
                         &v->voiceprint_key);
            flags.String("voice-accept-threshold", "KEFU_VOICE_ACCEPT_THRESHOLD",
                         "normalised score at or above which a voice is ACCEPTed",
                         &v->accept_threshold);
            flags.String("voice-reject-threshold", "KEFU_VOICE_REJECT_THRESHOLD",
                         "normalised score below which a voice is REJECTed", &v->reject_threshold);
            flags.Duration("voice-min-enroll-speech", "KEFU_VOICE_MIN_ENROLL_SPEECH",
                           "speech needed to enrol a voiceprint", &v->min_enroll_speech);
            flags.Duration("voice-min-verify-speech", "KEFU_VOICE_MIN_VERIFY_SPEECH",
                           "speech needed to verify a voice", &v->min_verify_speech);
            flags.Duration("voice-max-enroll-audio", "KEFU_VOICE_MAX_ENROLL_AUDIO",
                           "longest audio an enrolment may send", &v->max_enroll_audio);
            flags.Duration("voice-max-verify-audio", "KEFU_VOICE_MAX_VERIFY_AUDIO",
                           "longest audio a verification may send", &v->max_verify_audio);
            flags.Int("challenge-max-failures", "KEFU_CHALLENGE_MAX_FAILURES",
                      "wrong challenge answers in a row that lock a customer out",
                      &v->max_challenge_failures);
            flags.Duration("challenge-lockout", "KEFU_CHALLENGE_LOCKOUT",
                           "how long a lockout lasts", &v->challenge_lockout);
            flags.Duration("challenge-ttl", "KEFU_CHALLENGE_TTL",
                           "how long a started challenge may be answered", &v->challenge_ttl);
          },
      .setup = [settings, verification](
                   server::ServiceContext& ctx) { return Setup(ctx, *settings, *verification); }};
}

}  // namespace kefu::identity
