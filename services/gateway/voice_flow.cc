// A caller recognised by voice, with the fixed-information fallback (F3, F4): a VOICE
// contact waits at the gateway until its first seconds of audio are verified by identity
// (or the challenge is answered, or the wait runs out), then it is routed with the outcome in
// the agent's screen pop. A VIP is routed as VIP only when verified.
#include <google/protobuf/util/time_util.h>

#include "absl/strings/str_cat.h"
#include "libs/common/log.h"
#include "libs/common/status.h"
#include "libs/common/status_macros.h"
#include "services/gateway/gateway_service.h"

namespace kefu::gateway {
namespace {

namespace cv1 = kefu::common::v1;
namespace iv1 = kefu::identity::v1;
namespace rv1 = kefu::router::v1;
using google::protobuf::util::TimeUtil;

constexpr size_t kMaxAudioChunk = size_t{64} * 1024;

// The contact of the calling customer token, while it waits for verification.
absl::StatusOr<Contact> Verifying(Gateway& gateway, const auth::Claims& caller) {
  KEFU_ASSIGN_OR_RETURN(Contact c, gateway.store().Get(caller.tenant_id, caller.contact_id));
  if (c.channel != cv1::CHANNEL_VOICE) {
    return absl::FailedPreconditionError("only VOICE contacts are verified by voice (F3)");
  }
  if (c.state != cv1::CONTACT_STATE_STARTED) {
    return absl::FailedPreconditionError(
        absl::StrCat("the contact is no longer waiting for verification (state ",
                     cv1::ContactState_Name(c.state), ")"));
  }
  return c;
}

void AddPrompts(const iv1::StartChallengeResponse& started, v1::VerifyCallerResponse* out) {
  out->set_challenge_id(started.challenge_id());
  for (const auto& p : started.prompts()) {
    auto* view = out->add_prompts();
    view->set_prompt_id(p.prompt_id());
    *view->mutable_text() = p.text();
  }
}

}  // namespace

absl::StatusOr<rv1::EnqueueResponse> Gateway::FinishVerification(
    const std::string& tenant, const std::string& contact_id,
    const cv1::VerificationResult& result) {
  KEFU_ASSIGN_OR_RETURN(
      CommitResult r,
      CommitWithRetry(
          tenant, contact_id, [&](const Contact& now) -> absl::StatusOr<std::optional<Change>> {
            if (now.state != cv1::CONTACT_STATE_STARTED) return std::nullopt;
            v1::ScreenPop pop;
            (void)pop.ParseFromString(now.screen_pop);
            *pop.mutable_verification() = result;
            Change ch;
            ch.fields = {{field::kScreenPop, pop.SerializeAsString()},
                         {field::kChallenge, field::Deleted()}};
            // Someone calling from a VIP's number is not a VIP until verified.
            if (!result.verified() && now.tier == cv1::CUSTOMER_TIER_VIP) {
              ch.fields.emplace_back(field::kTier, std::to_string(cv1::CUSTOMER_TIER_REGULAR));
            }
            ch.commands.push_back({"ZREM", keys::Verifying(tenant), contact_id});
            return ch;
          }));
  (void)r;
  KEFU_ASSIGN_OR_RETURN(Contact c, store_->Get(tenant, contact_id));
  if (c.state != cv1::CONTACT_STATE_STARTED) {
    return absl::FailedPreconditionError("the contact was already routed");
  }
  return Route(c, "", "");
}

absl::Status Gateway::SetChallenge(const std::string& tenant, const std::string& contact_id,
                                   const std::string& challenge_id,
                                   const cv1::VerificationResult& so_far) {
  return CommitWithRetry(tenant, contact_id,
                         [&](const Contact& now) -> absl::StatusOr<std::optional<Change>> {
                           if (now.state != cv1::CONTACT_STATE_STARTED) return std::nullopt;
                           v1::ScreenPop pop;
                           (void)pop.ParseFromString(now.screen_pop);
                           *pop.mutable_verification() = so_far;
                           Change ch;
                           ch.fields = {{field::kChallenge, challenge_id},
                                        {field::kScreenPop, pop.SerializeAsString()}};
                           return ch;
                         })
      .status();
}

void Gateway::SweepVerification(const std::string& tenant) {
  const std::string now = std::to_string(absl::ToUnixMillis(absl::Now()));
  auto due = store_->pool().Command(
      {"ZRANGEBYSCORE", keys::Verifying(tenant), "-inf", now, "LIMIT", "0", "100"});
  if (!due.ok()) return;
  for (size_t i = 0; i < (*due)->elements; ++i) {
    const std::string contact = redis::ReplyText((*due)->element[i]);
    // The replica whose ZREM removes it routes it.
    auto claimed = store_->pool().Command({"ZREM", keys::Verifying(tenant), contact});
    if (!claimed.ok() || (*claimed)->integer != 1) continue;
    auto c = store_->Get(tenant, contact);
    if (!c.ok() || c->state != cv1::CONTACT_STATE_STARTED) continue;
    v1::ScreenPop pop;
    (void)pop.ParseFromString(c->screen_pop);
    cv1::VerificationResult result = pop.verification();
    result.set_verified(false);
    *result.mutable_completed_time() = TimeUtil::GetCurrentTime();
    if (auto routed = FinishVerification(tenant, contact, result); !routed.ok()) {
      log::Warn("an unverified caller could not be routed",
                {{"tenant", tenant}, {"error", routed.status().ToString()}});
    }
  }
}

grpc::Status CustomerGatewayServiceImpl::VerifyCaller(
    grpc::ServerContext* context, grpc::ServerReader<v1::VerifyCallerRequest>* reader,
    v1::VerifyCallerResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, RequireCustomer(*authn_, *context));
    KEFU_ASSIGN_OR_RETURN(Contact c, Verifying(*gateway_, caller));
    v1::VerifyCallerRequest part;
    if (!reader->Read(&part) || !part.has_format()) {
      return InvalidField("format", "the first message names the audio format");
    }

    // Audio streams through to identity; the last chunk closes the utterance.
    auto ctx = gateway_->peers().Context(absl::Seconds(30));
    iv1::VerifyVoiceResponse voice;
    auto upstream = gateway_->peers().verification().VerifyVoice(ctx.get(), &voice);
    iv1::VerifyVoiceRequest first;
    first.mutable_metadata()->set_tenant_id(caller.tenant_id);
    first.mutable_metadata()->set_customer_id(c.customer_id);
    first.mutable_metadata()->set_contact_id(c.contact_id);
    *first.mutable_metadata()->mutable_format() = part.format();
    bool open = upstream->Write(first);
    std::optional<std::string> held;
    absl::Status bad;
    while (open && reader->Read(&part)) {
      if (part.part_case() != v1::VerifyCallerRequest::kAudio) {
        bad = InvalidField("audio", "only the first message names the format");
        break;
      }
      if (part.audio().size() > kMaxAudioChunk) {
        bad = InvalidField("audio", "at most 64 KiB per message");
        break;
      }
      if (held) {
        iv1::VerifyVoiceRequest chunk;
        chunk.mutable_audio()->set_data(std::move(*held));
        open = upstream->Write(chunk);
      }
      held = std::move(*part.mutable_audio());
    }
    if (!bad.ok()) {
      ctx->TryCancel();
      (void)upstream->Finish();
      return bad;
    }
    if (open && held) {
      iv1::VerifyVoiceRequest last;
      last.mutable_audio()->set_data(std::move(*held));
      last.mutable_audio()->set_end_of_utterance(true);
      (void)upstream->Write(last);
    }
    (void)upstream->WritesDone();
    KEFU_RETURN_IF_ERROR(FromGrpc(upstream->Finish(), "identity"));

    cv1::VerificationResult result;
    result.set_voiceprint_enrolled(voice.voiceprint_enrolled());
    result.set_voice_decision(voice.decision());
    result.set_voice_score(voice.score());
    *result.mutable_completed_time() = TimeUtil::GetCurrentTime();
    if (voice.decision() == cv1::VERIFICATION_DECISION_ACCEPT) {
      result.set_verified(true);
      result.set_challenge_outcome(cv1::CHALLENGE_OUTCOME_NOT_ASKED);
      KEFU_RETURN_IF_ERROR(
          gateway_->FinishVerification(caller.tenant_id, c.contact_id, result).status());
      *response->mutable_result() = result;
      return absl::OkStatus();
    }
    // UNCERTAIN, REJECT or no voiceprint: the fixed-information challenge (F3).
    iv1::StartChallengeRequest ask;
    ask.set_tenant_id(caller.tenant_id);
    ask.set_customer_id(c.customer_id);
    ask.set_contact_id(c.contact_id);
    ask.set_voice_decision(voice.decision());
    ask.set_idempotency_key(absl::StrCat("challenge:", c.contact_id));
    iv1::StartChallengeResponse started;
    auto cctx = gateway_->peers().Context();
    KEFU_RETURN_IF_ERROR(FromGrpc(
        gateway_->peers().verification().StartChallenge(cctx.get(), ask, &started), "identity"));
    result.set_challenge_outcome(started.outcome());
    if (started.challenge_id().empty() || started.prompts().empty()) {
      // Nothing to ask (no secrets set) or locked out: routed unverified.
      KEFU_RETURN_IF_ERROR(
          gateway_->FinishVerification(caller.tenant_id, c.contact_id, result).status());
      *response->mutable_result() = result;
      return absl::OkStatus();
    }
    KEFU_RETURN_IF_ERROR(
        gateway_->SetChallenge(caller.tenant_id, c.contact_id, started.challenge_id(), result));
    *response->mutable_result() = result;
    AddPrompts(started, response);
    return absl::OkStatus();
  });
}

grpc::Status CustomerGatewayServiceImpl::AnswerChallenge(grpc::ServerContext* context,
                                                         const v1::AnswerChallengeRequest* request,
                                                         v1::AnswerChallengeResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, RequireCustomer(*authn_, *context));
    if (request->challenge_id().empty()) return InvalidField("challenge_id", "required");
    if (request->answers().empty()) return InvalidField("answers", "required");
    KEFU_ASSIGN_OR_RETURN(Contact c, Verifying(*gateway_, caller));
    if (c.challenge_id != request->challenge_id()) {
      return absl::NotFoundError(absl::StrCat("challenge_id: no challenge \"",
                                              request->challenge_id(), "\" for this contact"));
    }
    iv1::AnswerChallengeRequest answer;
    answer.set_tenant_id(caller.tenant_id);
    answer.set_challenge_id(request->challenge_id());
    *answer.mutable_answers() = request->answers();
    answer.set_idempotency_key(request->idempotency_key());
    iv1::AnswerChallengeResponse checked;
    auto ctx = gateway_->peers().Context();
    KEFU_RETURN_IF_ERROR(FromGrpc(
        gateway_->peers().verification().AnswerChallenge(ctx.get(), answer, &checked), "identity"));
    v1::ScreenPop pop;
    (void)pop.ParseFromString(c.screen_pop);
    cv1::VerificationResult result = pop.verification();
    result.set_challenge_outcome(checked.outcome());
    *result.mutable_completed_time() = TimeUtil::GetCurrentTime();
    response->set_attempts_left(checked.attempts_left());
    *response->mutable_locked_until() = checked.locked_until();
    if (checked.outcome() == cv1::CHALLENGE_OUTCOME_PASSED ||
        checked.outcome() == cv1::CHALLENGE_OUTCOME_LOCKED_OUT) {
      result.set_verified(checked.outcome() == cv1::CHALLENGE_OUTCOME_PASSED);
      KEFU_RETURN_IF_ERROR(
          gateway_->FinishVerification(caller.tenant_id, c.contact_id, result).status());
    }
    *response->mutable_result() = result;
    return absl::OkStatus();
  });
}

}  // namespace kefu::gateway
