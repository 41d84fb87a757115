// A caller recognised by voice through the gateway (F3, F4): a VOICE contact streams its
// first seconds of audio to VerifyCaller; a match routes the VIP as VIP with the outcome in
// the agent's screen pop; a cold voice gets the fixed-information challenge and the right
// PIN verifies; five wrong answers lock out and the caller is routed as a regular customer.
#include "kefu/identity/v1/verification.grpc.pb.h"
#include "tests/integration/gateway_harness.h"
#include "tests/support/speech.h"

namespace {

namespace iv1 = kefu::identity::v1;
using kefu::testing::EnrolmentTexts;
using kefu::testing::kCold;
using kefu::testing::kCustomerVoice;
using kefu::testing::kVerifyText;
using kefu::testing::Speak;

// Enrolls the customer's voice and sets a PIN, as an agent would with the customer.
void EnrollWithPin(Stack& s, const std::string& customer) {
  auto voice = iv1::VerificationService::NewStub(s.identity.channel);
  const std::string agent = s.AgentToken("enroller");
  iv1::EnrollVoiceprintResponse enrolled;
  auto ctx = CallWith(agent);
  auto writer = voice->EnrollVoiceprint(ctx.get(), &enrolled);
  iv1::EnrollVoiceprintRequest first;
  first.mutable_metadata()->set_customer_id(customer);
  first.mutable_metadata()->mutable_format()->set_encoding(cv1::AUDIO_ENCODING_WAV);
  REQUIRE(writer->Write(first));
  for (const auto& text : EnrolmentTexts()) {
    const std::string wav = Speak(kCustomerVoice, text);
    for (size_t at = 0; at < wav.size(); at += 32 * 1024) {
      iv1::EnrollVoiceprintRequest clip;
      clip.mutable_audio()->set_data(wav.substr(at, 32 * 1024));
      clip.mutable_audio()->set_end_of_utterance(at + 32 * 1024 >= wav.size());
      REQUIRE(writer->Write(clip));
    }
  }
  writer->WritesDone();
  auto st = writer->Finish();
  INFO(st.error_message());
  REQUIRE(st.ok());
  iv1::SetSecretAnswersRequest secrets;
  secrets.set_customer_id(customer);
  secrets.set_pin("4821");
  iv1::SetSecretAnswersResponse set;
  st = voice->SetSecretAnswers(CallWith(agent).get(), secrets, &set);
  INFO(st.error_message());
  REQUIRE(st.ok());
}

gv1::StartContactResponse Call(Stack& s, const std::string& phone) {
  gv1::StartContactRequest request;
  request.set_channel(cv1::CHANNEL_VOICE);
  request.set_caller_number(phone);
  gv1::StartContactResponse response;
  auto st = s.gateways[0].customer->StartContact(CallWith(s.widget).get(), request, &response);
  INFO(st.error_message());
  REQUIRE(st.ok());
  CHECK(response.verification_requested());
  CHECK(response.state() == cv1::CONTACT_STATE_STARTED);  // held until verified
  return response;
}

// The IVR streams the caller's first seconds of WAV audio in 16 KiB chunks.
grpc::Status Verify(Stack& s, const std::string& token, const std::string& wav,
                    gv1::VerifyCallerResponse* response) {
  auto ctx = CallWith(token);
  auto writer = s.gateways[0].customer->VerifyCaller(ctx.get(), response);
  gv1::VerifyCallerRequest first;
  first.mutable_format()->set_encoding(cv1::AUDIO_ENCODING_WAV);
  writer->Write(first);
  for (size_t at = 0; at < wav.size(); at += 16 * 1024) {
    gv1::VerifyCallerRequest part;
    part.set_audio(wav.substr(at, 16 * 1024));
    if (!writer->Write(part)) break;
  }
  writer->WritesDone();
  return writer->Finish();
}

grpc::Status Answer(Stack& s, const std::string& token, const std::string& challenge,
                    const std::string& pin, gv1::AnswerChallengeResponse* response) {
  gv1::AnswerChallengeRequest request;
  request.set_challenge_id(challenge);
  (*request.mutable_answers())["pin"] = pin;
  return s.gateways[0].customer->AnswerChallenge(CallWith(token).get(), request, response);
}

}  // namespace

TEST_CASE("a VIP caller recognised by voice is routed as VIP with the result in the screen pop",
          "[gateway]") {
  Stack s;
  const std::string customer = s.VipCustomer("+8613911110001", "王先生");
  EnrollWithPin(s, customer);
  auto amy = s.AgentDesk("vip-amy", "vip", "Amy");

  auto call = Call(s, "+8613911110001");
  gv1::VerifyCallerResponse verified;
  auto st = Verify(s, call.customer_token(), Speak(kCustomerVoice, kVerifyText), &verified);
  INFO(st.error_message());
  REQUIRE(st.ok());
  CHECK(verified.result().verified());
  CHECK(verified.result().voice_decision() == cv1::VERIFICATION_DECISION_ACCEPT);
  CHECK(verified.challenge_id().empty());

  auto offer = amy->WaitFor(IsOffer).offer();
  CHECK(offer.contact_id() == call.contact_id());
  CHECK(offer.screen_pop().verification().verified());
  CHECK(offer.screen_pop().verification().voice_decision() == cv1::VERIFICATION_DECISION_ACCEPT);
  CHECK(offer.screen_pop().customer().tier() == cv1::CUSTOMER_TIER_VIP);
  // Verified once: the contact no longer waits for audio.
  gv1::VerifyCallerResponse again;
  CHECK(Verify(s, call.customer_token(), Speak(kCustomerVoice, kVerifyText), &again).error_code() ==
        grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_CASE("a cold voice gets the PIN challenge and the right PIN verifies the caller",
          "[gateway]") {
  Stack s;
  const std::string customer = s.VipCustomer("+8613911110002", "李女士");
  EnrollWithPin(s, customer);
  auto bea = s.AgentDesk("vip-bea", "vip", "Bea");

  auto call = Call(s, "+8613911110002");
  gv1::VerifyCallerResponse cold;
  auto st = Verify(s, call.customer_token(), Speak(kCustomerVoice, kVerifyText, kCold), &cold);
  INFO(st.error_message());
  REQUIRE(st.ok());
  CHECK_FALSE(cold.result().verified());
  CHECK(cold.result().voice_decision() != cv1::VERIFICATION_DECISION_ACCEPT);
  REQUIRE_FALSE(cold.challenge_id().empty());
  REQUIRE(cold.prompts_size() == 1);
  CHECK(cold.prompts(0).prompt_id() == "pin");

  gv1::AnswerChallengeResponse answered;
  REQUIRE(Answer(s, call.customer_token(), cold.challenge_id(), "0000", &answered).ok());
  CHECK(answered.result().challenge_outcome() == cv1::CHALLENGE_OUTCOME_FAILED);
  CHECK(answered.attempts_left() == 4);
  REQUIRE(Answer(s, call.customer_token(), cold.challenge_id(), "4821", &answered).ok());
  CHECK(answered.result().verified());
  CHECK(answered.result().challenge_outcome() == cv1::CHALLENGE_OUTCOME_PASSED);

  auto offer = bea->WaitFor(IsOffer).offer();
  CHECK(offer.screen_pop().verification().verified());
  CHECK(offer.screen_pop().verification().challenge_outcome() == cv1::CHALLENGE_OUTCOME_PASSED);
}

TEST_CASE("five wrong PINs lock the caller out and the call goes on as a regular customer",
          "[gateway]") {
  Stack s;
  const std::string customer = s.VipCustomer("+8613911110003", "赵先生");
  EnrollWithPin(s, customer);
  s.Agent("vip-cai", "vip", "Cai");
  auto dan = s.AgentDesk("gen-dan", "general", "Dan");

  auto call = Call(s, "+8613911110003");
  gv1::VerifyCallerResponse cold;
  REQUIRE(Verify(s, call.customer_token(), Speak(kCustomerVoice, kVerifyText, kCold), &cold).ok());
  REQUIRE_FALSE(cold.challenge_id().empty());
  gv1::AnswerChallengeResponse answered;
  for (int i = 0; i < 5; ++i) {
    REQUIRE(Answer(s, call.customer_token(), cold.challenge_id(), "1111", &answered).ok());
  }
  CHECK(answered.result().challenge_outcome() == cv1::CHALLENGE_OUTCOME_LOCKED_OUT);
  CHECK_FALSE(answered.result().verified());
  CHECK(answered.locked_until().seconds() > 0);
  // Not verified: routed as a regular customer, to the general department.
  auto offer = dan->WaitFor(IsOffer).offer();
  CHECK(offer.contact_id() == call.contact_id());
  CHECK_FALSE(offer.screen_pop().verification().verified());
  CHECK(offer.screen_pop().verification().challenge_outcome() == cv1::CHALLENGE_OUTCOME_LOCKED_OUT);
}

TEST_CASE("a caller who is never verified is routed unverified after the wait", "[gateway]") {
  Stack s(1, false, absl::Seconds(1));
  auto eli = s.AgentDesk("gen-eli", "general", "Eli");
  auto call = Call(s, "+8613911110004");
  auto offer = eli->WaitFor(IsOffer, absl::Seconds(10)).offer();
  CHECK(offer.contact_id() == call.contact_id());
  CHECK_FALSE(offer.screen_pop().verification().verified());
}
