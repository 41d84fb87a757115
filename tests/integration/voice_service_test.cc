// identity's VerificationService in-process over real gRPC and PostgreSQL: voiceprints
// enrolled and verified from speech synthesised at test time (espeak-ng + sox), the
// fixed-information fallback with its lockout, sealing at rest, and bad audio (F3).
#include <google/protobuf/descriptor.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <pqxx/pqxx>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "kefu/identity/v1/auth.grpc.pb.h"
#include "kefu/identity/v1/verification.grpc.pb.h"
#include "libs/audio/pcm.h"
#include "libs/audio/voice_model.h"
#include "libs/pg/pool.h"
#include "services/identity/identity_service.h"
#include "services/identity/pg_voiceprint_store.h"
#include "tests/support/env.h"
#include "tests/support/raw_call.h"
#include "tests/support/service_harness.h"
#include "tests/support/speech.h"

namespace {

namespace v1 = kefu::identity::v1;
namespace common = kefu::common::v1;
using kefu::testing::CallWith;
using kefu::testing::PlatformToken;
using kefu::testing::TokenFor;

using kefu::testing::EnrolmentTexts;
using kefu::testing::kCold;
using kefu::testing::kCustomerVoice;
using kefu::testing::kOtherVoice;
using kefu::testing::kVerifyText;
using kefu::testing::Speak;

struct Verification {
  kefu::testing::RunningService service = kefu::testing::StartService(kefu::identity::Definition());
  std::unique_ptr<v1::VerificationService::Stub> stub =
      v1::VerificationService::NewStub(service.channel);
  std::string tenant = kefu::testing::UniqueTenant("vo");
  std::string agent;  // an agent's token in `tenant`

  Verification() {
    auto auth = v1::AuthService::NewStub(service.channel);
    v1::CreateTenantRequest request;
    request.set_tenant_id(tenant);
    request.set_name("Voice " + tenant);
    request.set_admin_username("boss");
    request.set_admin_password("correct horse");
    v1::CreateTenantResponse response;
    auto status = auth->CreateTenant(CallWith(PlatformToken()).get(), request, &response);
    REQUIRE(status.error_message() == "");
    agent = TokenFor(tenant, common::ROLE_AGENT, "agent-1");
  }

  template <typename Request, typename Metadata>
  static void SendAudio(grpc::ClientWriter<Request>* writer, const std::vector<std::string>& clips,
                        size_t chunk = size_t{32} * 1024) {
    for (const std::string& clip : clips) {
      for (size_t at = 0; at < clip.size(); at += chunk) {
        Request r;
        r.mutable_audio()->set_data(clip.substr(at, chunk));
        r.mutable_audio()->set_end_of_utterance(at + chunk >= clip.size());
        if (!writer->Write(r)) return;
      }
    }
  }

  grpc::Status Enroll(const std::string& customer, const std::vector<std::string>& clips,
                      v1::EnrollVoiceprintResponse* response, bool replace = false,
                      const std::string& token = "") {
    auto ctx = CallWith(token.empty() ? agent : token);
    auto writer = stub->EnrollVoiceprint(ctx.get(), response);
    v1::EnrollVoiceprintRequest first;
    first.mutable_metadata()->set_customer_id(customer);
    first.mutable_metadata()->mutable_format()->set_encoding(common::AUDIO_ENCODING_WAV);
    first.mutable_metadata()->set_replace(replace);
    writer->Write(first);
    SendAudio<v1::EnrollVoiceprintRequest, v1::EnrollMetadata>(writer.get(), clips);
    writer->WritesDone();
    return writer->Finish();
  }

  // Verifies WAV clips (or, with `pcm_rate`, raw PCM16 at that rate).
  grpc::Status Verify(const std::string& customer, const std::vector<std::string>& clips,
                      v1::VerifyVoiceResponse* response, const std::string& token = "",
                      const std::string& tenant_field = "", int pcm_rate = 0) {
    auto ctx = CallWith(token.empty() ? agent : token);
    auto writer = stub->VerifyVoice(ctx.get(), response);
    v1::VerifyVoiceRequest first;
    first.mutable_metadata()->set_tenant_id(tenant_field);
    first.mutable_metadata()->set_customer_id(customer);
    first.mutable_metadata()->set_contact_id("contact-1");
    auto* format = first.mutable_metadata()->mutable_format();
    format->set_encoding(pcm_rate ? common::AUDIO_ENCODING_PCM16 : common::AUDIO_ENCODING_WAV);
    format->set_sample_rate_hz(pcm_rate);
    writer->Write(first);
    SendAudio<v1::VerifyVoiceRequest, v1::VerifyMetadata>(writer.get(), clips);
    writer->WritesDone();
    return writer->Finish();
  }

  v1::EnrollVoiceprintResponse EnrollCustomer(const std::string& customer) {
    std::vector<std::string> clips;
    for (const auto& text : EnrolmentTexts()) clips.push_back(Speak(kCustomerVoice, text));
    v1::EnrollVoiceprintResponse response;
    auto status = Enroll(customer, clips, &response);
    REQUIRE(status.error_message() == "");
    REQUIRE(status.ok());
    CHECK(response.utterance_count() == 3);
    CHECK(response.speech_duration().seconds() >= 6);
    CHECK_FALSE(response.voiceprint_id().empty());
    return response;
  }

  v1::StartChallengeResponse StartChallenge(const std::string& customer,
                                            common::VerificationDecision decision) {
    v1::StartChallengeRequest request;
    request.set_customer_id(customer);
    request.set_contact_id("contact-1");
    request.set_voice_decision(decision);
    v1::StartChallengeResponse response;
    auto status = stub->StartChallenge(CallWith(agent).get(), request, &response);
    REQUIRE(status.error_message() == "");
    return response;
  }

  v1::AnswerChallengeResponse Answer(const std::string& challenge,
                                     const std::map<std::string, std::string>& answers,
                                     grpc::Status* status_out = nullptr) {
    v1::AnswerChallengeRequest request;
    request.set_challenge_id(challenge);
    for (const auto& [k, v] : answers) (*request.mutable_answers())[k] = v;
    v1::AnswerChallengeResponse response;
    auto status = stub->AnswerChallenge(CallWith(agent).get(), request, &response);
    if (status_out != nullptr) {
      *status_out = status;
    } else {
      REQUIRE(status.error_message() == "");
    }
    return response;
  }

  void SetSecrets(const std::string& customer) {
    v1::SetSecretAnswersRequest request;
    request.set_customer_id(customer);
    request.set_pin("4821");
    auto* q = request.add_answers();
    q->set_question_id("pet");
    q->mutable_question()->set_en("What was the name of your first pet?");
    q->mutable_question()->set_zh("您的第一只宠物叫什么名字？");
    q->set_answer("  Mr Whiskers ");
    v1::SetSecretAnswersResponse response;
    auto status = stub->SetSecretAnswers(CallWith(agent).get(), request, &response);
    REQUIRE(status.error_message() == "");
    CHECK(response.pin_set());
    CHECK(response.question_count() == 1);
  }
};

}  // namespace

TEST_CASE("voice: an enrolled customer's own voice is accepted and another speaker is rejected") {
  Verification v;
  const v1::EnrollVoiceprintResponse enrolled = v.EnrollCustomer("cust-1");

  v1::VerifyVoiceResponse same;
  REQUIRE(v.Verify("cust-1", {Speak(kCustomerVoice, kVerifyText)}, &same).ok());
  CHECK(same.voiceprint_enrolled());
  CHECK(same.decision() == common::VERIFICATION_DECISION_ACCEPT);
  CHECK(same.score() >= same.accept_threshold());
  CHECK_FALSE(same.challenge_required());
  CHECK_FALSE(same.verification_id().empty());
  CHECK(same.speech_duration().seconds() >= 2);
  // The tenant opted in (a new tenant's default): the verified call refreshed the voiceprint.
  v1::GetVoiceprintRequest get;
  get.set_customer_id("cust-1");
  v1::GetVoiceprintResponse got;
  REQUIRE(v.stub->GetVoiceprint(CallWith(v.agent).get(), get, &got).ok());
  CHECK(got.speech_duration().seconds() >= enrolled.speech_duration().seconds() + 2);

  // The gateway's way in: the platform service token names the tenant.
  v1::VerifyVoiceResponse other;
  REQUIRE(v.Verify("cust-1", {Speak(kOtherVoice, kVerifyText)}, &other, PlatformToken(), v.tenant)
              .ok());
  CHECK(other.voiceprint_enrolled());
  CHECK(other.decision() == common::VERIFICATION_DECISION_REJECT);
  CHECK(other.score() < other.reject_threshold());
  CHECK(other.challenge_required());

  // Another tenant's staff cannot reach this customer.
  v1::VerifyVoiceResponse foreign;
  const std::string outsider = TokenFor("someone-else", common::ROLE_AGENT, "agent-9");
  CHECK(v.Verify("cust-1", {Speak(kCustomerVoice, kVerifyText)}, &foreign, outsider, v.tenant)
            .error_code() == grpc::StatusCode::PERMISSION_DENIED);

  // Each verification left an audit row, without audio.
  pqxx::connection conn(v.service.pg_dsn);
  pqxx::work txn(conn);
  auto rows = txn.exec_params(
      "SELECT voice_decision, score FROM identity.verification_audit WHERE tenant_id = $1 AND"
      " action = 'verify' ORDER BY created_at",
      v.tenant);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0][0].as<int>() == common::VERIFICATION_DECISION_ACCEPT);
  CHECK(rows[1][0].as<int>() == common::VERIFICATION_DECISION_REJECT);
}

TEST_CASE("voice: telephone audio (8 kHz PCM16) of the enrolled customer is accepted") {
  Verification v;
  v.EnrollCustomer("cust-tel");
  auto wav = kefu::audio::DecodeWav(Speak(kCustomerVoice, kVerifyText));
  REQUIRE(wav.ok());
  const std::string pcm = kefu::audio::EncodePcm16(kefu::audio::Resample(*wav, 8000).samples);
  v1::VerifyVoiceResponse response;
  auto status = v.Verify("cust-tel", {pcm}, &response, "", "", 8000);
  REQUIRE(status.error_message() == "");
  CHECK(response.decision() == common::VERIFICATION_DECISION_ACCEPT);
  CHECK(response.score() >= response.accept_threshold());
}

TEST_CASE("voice: a deleted voiceprint verifies as not enrolled and asks for the challenge") {
  Verification v;
  v.EnrollCustomer("cust-2");
  v1::GetVoiceprintRequest get;
  get.set_customer_id("cust-2");
  v1::GetVoiceprintResponse got;
  REQUIRE(v.stub->GetVoiceprint(CallWith(v.agent).get(), get, &got).ok());
  CHECK(got.enrolled());
  CHECK(got.speech_duration().seconds() >= 6);

  v1::DeleteVoiceprintRequest del;
  del.set_customer_id("cust-2");
  del.set_idempotency_key("erase-1");
  v1::DeleteVoiceprintResponse deleted;
  REQUIRE(v.stub->DeleteVoiceprint(CallWith(v.agent).get(), del, &deleted).ok());
  CHECK(deleted.deleted());
  // A retry with the key answers as the first call did.
  REQUIRE(v.stub->DeleteVoiceprint(CallWith(v.agent).get(), del, &deleted).ok());
  CHECK(deleted.deleted());
  del.set_idempotency_key("erase-2");
  REQUIRE(v.stub->DeleteVoiceprint(CallWith(v.agent).get(), del, &deleted).ok());
  CHECK_FALSE(deleted.deleted());

  REQUIRE(v.stub->GetVoiceprint(CallWith(v.agent).get(), get, &got).ok());
  CHECK_FALSE(got.enrolled());
  v1::VerifyVoiceResponse response;
  REQUIRE(v.Verify("cust-2", {Speak(kCustomerVoice, kVerifyText)}, &response).ok());
  CHECK_FALSE(response.voiceprint_enrolled());
  CHECK(response.decision() == common::VERIFICATION_DECISION_UNSPECIFIED);
  CHECK(response.challenge_required());
}

TEST_CASE("voice: a stored voiceprint is neither audio nor readable without the key") {
  Verification v;
  v.EnrollCustomer("cust-3");
  std::string sealed;
  {
    pqxx::connection conn(v.service.pg_dsn);
    pqxx::work txn(conn);
    auto rows = txn.exec_params(
        "SELECT model FROM identity.voiceprints WHERE tenant_id = $1 AND customer_id = $2",
        v.tenant, "cust-3");
    REQUIRE(rows.size() == 1);
    sealed = pqxx::binarystring(rows[0][0]).str();
  }
  size_t audio_bytes = 0;
  for (const auto& text : EnrolmentTexts()) audio_bytes += Speak(kCustomerVoice, text).size();
  CHECK(sealed.size() < audio_bytes / 4);
  CHECK(sealed.find("RIFF") == std::string::npos);
  CHECK(sealed.find("KEFUVSPK") == std::string::npos);  // the plain model's magic
  CHECK_FALSE(kefu::audio::ParseSpeaker(sealed).ok());

  kefu::pg::PoolOptions options;
  options.dsn = v.service.pg_dsn;
  kefu::pg::Pool pool(options, {});
  kefu::identity::PgVoiceprintStore wrong_key(&pool, std::string(32, 'x'));
  CHECK(wrong_key.GetVoiceprint(v.tenant, "cust-3").status().code() ==
        absl::StatusCode::kFailedPrecondition);
  // The test service runs with the development key (no --voiceprint-key): it opens.
  kefu::identity::PgVoiceprintStore right_key(&pool, *kefu::identity::VoiceprintKey(""));
  auto opened = right_key.GetVoiceprint(v.tenant, "cust-3");
  REQUIRE(opened.ok());
  REQUIRE(opened->has_value());
  CHECK(kefu::audio::ParseSpeaker((*opened)->model).ok());
  // Sealed for one customer, it does not open as another's.
  CHECK_FALSE(right_key.Open(v.tenant, "cust-4", sealed).ok());
}

TEST_CASE("voice: a cold voice is not accepted and the right PIN then verifies the caller") {
  Verification v;
  v.EnrollCustomer("cust-5");
  v.SetSecrets("cust-5");
  v1::VerifyVoiceResponse cold;
  REQUIRE(v.Verify("cust-5", {Speak(kCustomerVoice, kVerifyText, kCold)}, &cold).ok());
  CHECK(cold.voiceprint_enrolled());
  CHECK(cold.decision() != common::VERIFICATION_DECISION_ACCEPT);
  CHECK(cold.score() < cold.accept_threshold());
  CHECK(cold.challenge_required());

  auto challenge = v.StartChallenge("cust-5", cold.decision());
  REQUIRE_FALSE(challenge.challenge_id().empty());
  CHECK(challenge.attempts_left() == 5);
  REQUIRE(challenge.prompts_size() == 2);
  CHECK(challenge.prompts(0).kind() == v1::PROMPT_KIND_PIN);
  CHECK(challenge.prompts(1).kind() == v1::PROMPT_KIND_QUESTION);
  CHECK(challenge.prompts(1).text().en() == "What was the name of your first pet?");
  // Answers compare trimmed and case-folded.
  auto answer = v.Answer(challenge.challenge_id(),
                         {{"pin", "4821"}, {challenge.prompts(1).prompt_id(), "mr  WHISKERS"}});
  CHECK(answer.outcome() == common::CHALLENGE_OUTCOME_PASSED);
  grpc::Status again;
  v.Answer(challenge.challenge_id(),
           {{"pin", "4821"}, {challenge.prompts(1).prompt_id(), "mr whiskers"}}, &again);
  CHECK(again.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_CASE("voice: five wrong answers lock the customer out, even from the right PIN") {
  Verification v;
  v1::SetSecretAnswersRequest request;
  request.set_customer_id("cust-6");
  request.set_pin("123456");
  v1::SetSecretAnswersResponse set;
  REQUIRE(v.stub->SetSecretAnswers(CallWith(v.agent).get(), request, &set).ok());

  auto none = v.StartChallenge("cust-without-secrets", common::VERIFICATION_DECISION_UNSPECIFIED);
  CHECK(none.outcome() == common::CHALLENGE_OUTCOME_NOT_AVAILABLE);
  CHECK(none.prompts().empty());

  auto challenge = v.StartChallenge("cust-6", common::VERIFICATION_DECISION_REJECT);
  REQUIRE(challenge.prompts_size() == 1);
  for (int i = 1; i <= 4; ++i) {
    auto wrong = v.Answer(challenge.challenge_id(), {{"pin", "000000"}});
    CHECK(wrong.outcome() == common::CHALLENGE_OUTCOME_FAILED);
    CHECK(wrong.attempts_left() == 5 - i);
  }
  auto fifth = v.Answer(challenge.challenge_id(), {{"pin", "999999"}});
  CHECK(fifth.outcome() == common::CHALLENGE_OUTCOME_LOCKED_OUT);
  CHECK(fifth.attempts_left() == 0);
  CHECK(fifth.locked_until().seconds() > absl::ToUnixSeconds(absl::Now() + absl::Minutes(25)));
  auto right = v.Answer(challenge.challenge_id(), {{"pin", "123456"}});
  CHECK(right.outcome() == common::CHALLENGE_OUTCOME_LOCKED_OUT);
  auto next = v.StartChallenge("cust-6", common::VERIFICATION_DECISION_REJECT);
  CHECK(next.outcome() == common::CHALLENGE_OUTCOME_LOCKED_OUT);
  CHECK(next.challenge_id().empty());

  grpc::Status status;
  v.Answer(challenge.challenge_id(), {}, &status);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_CASE("voice: bad, empty, silent or oversized audio is refused and never crashes the service") {
  Verification v;
  v.EnrollCustomer("cust-7");
  v1::VerifyVoiceResponse response;
  auto code = [&](const std::vector<std::string>& clips, int pcm_rate = 0) {
    return v.Verify("cust-7", clips, &response, "", "", pcm_rate).error_code();
  };
  CHECK(code({}) == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(code({"definitely not a wav file"}) == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(code({std::string("RIFF\x24\0\0\0WAVEfmt ", 16)}) == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(code({"odd"}, 16000) == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(code({std::string(32000, '\0')}, 16000) == grpc::StatusCode::INVALID_ARGUMENT);  // silence
  CHECK(code({std::string(size_t{31} * 16000 * 2, '\x01')}, 16000) ==
        grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK(code({"abcd"}, 44100) == grpc::StatusCode::INVALID_ARGUMENT);

  // No metadata first.
  auto ctx = CallWith(v.agent);
  auto writer = v.stub->VerifyVoice(ctx.get(), &response);
  v1::VerifyVoiceRequest chunk;
  chunk.mutable_audio()->set_data("xx");
  writer->Write(chunk);
  writer->WritesDone();
  CHECK(writer->Finish().error_code() == grpc::StatusCode::INVALID_ARGUMENT);

  // A chunk over 64 KiB.
  auto ctx2 = CallWith(v.agent);
  auto writer2 = v.stub->VerifyVoice(ctx2.get(), &response);
  v1::VerifyVoiceRequest meta;
  meta.mutable_metadata()->set_customer_id("cust-7");
  meta.mutable_metadata()->mutable_format()->set_encoding(common::AUDIO_ENCODING_PCM16);
  meta.mutable_metadata()->mutable_format()->set_sample_rate_hz(16000);
  writer2->Write(meta);
  v1::VerifyVoiceRequest big;
  big.mutable_audio()->set_data(std::string(size_t{70} * 1024, '\x02'));
  writer2->Write(big);
  writer2->WritesDone();
  CHECK(writer2->Finish().error_code() == grpc::StatusCode::INVALID_ARGUMENT);

  // Too little speech to enrol.
  v1::EnrollVoiceprintResponse enrolled;
  CHECK(v.Enroll("cust-8", {Speak(kCustomerVoice, "Hi.")}, &enrolled).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
  // The service still answers.
  REQUIRE(v.Verify("cust-7", {Speak(kCustomerVoice, kVerifyText)}, &response).ok());
  CHECK(response.decision() == common::VERIFICATION_DECISION_ACCEPT);
}

TEST_CASE("voice: every VerificationService RPC refuses a call without a token") {
  Verification v;
  const auto* service = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
      v1::VerificationService::service_full_name());
  REQUIRE(service != nullptr);
  for (int i = 0; i < service->method_count(); ++i) {
    const std::string name = service->method(i)->name();
    INFO(name);
    grpc::Status status =
        kefu::testing::CallRaw(v.service.channel, "/" + service->full_name() + "/" + name, "");
    CHECK(status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  }
  CHECK(service->method_count() == 7);
}
