// kefuctl commands of identity's VerificationService: enrol, verify, show and delete a
// customer's voiceprint from WAV files, against a running stack (F3).
#include <google/protobuf/util/time_util.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/str_format.h"
#include "kefu/identity/v1/verification.grpc.pb.h"
#include "tools/kefuctl/ctl.h"

namespace kefu::ctl {

std::vector<CommandSpec> VoiceCommands();

namespace {

namespace v1 = kefu::identity::v1;
using google::protobuf::util::TimeUtil;

constexpr size_t kChunk = size_t{60} * 1024;  // under the 64 KiB the API allows per message

int Usage(const char* usage) {
  std::fprintf(stderr, "usage: kefuctl %s\n", usage);
  return 2;
}

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream bytes;
  bytes << in.rdbuf();
  *out = bytes.str();
  return true;
}

std::unique_ptr<v1::VerificationService::Stub> Stub(const CtlContext& ctx) {
  return v1::VerificationService::NewStub(ctx.Channel("identity"));
}

// Sends each file as one utterance of WAV audio after `first`.
template <typename Request>
bool SendFiles(grpc::ClientWriter<Request>* writer, const Request& first,
               const std::vector<std::string>& files) {
  if (!writer->Write(first)) return false;
  for (const std::string& path : files) {
    std::string wav;
    if (!ReadFile(path, &wav)) {
      std::fprintf(stderr, "kefuctl: cannot read %s\n", path.c_str());
      return false;
    }
    for (size_t at = 0; at < wav.size(); at += kChunk) {
      Request chunk;
      chunk.mutable_audio()->set_data(wav.substr(at, kChunk));
      chunk.mutable_audio()->set_end_of_utterance(at + kChunk >= wav.size());
      if (!writer->Write(chunk)) return true;  // the server ended early: Finish says why
    }
  }
  return true;
}

int Enroll(const std::vector<std::string>& args, const CtlContext& ctx, bool replace) {
  if (args.size() < 2) {
    return Usage(replace ? "voice replace <customer_id> <file.wav>..."
                         : "voice enroll <customer_id> <file.wav>...");
  }
  auto call = ctx.Call();
  if (!call.ok()) return Failed(call.status());
  (*call)->set_deadline(absl::ToChronoTime(absl::Now() + ctx.timeout + absl::Seconds(10)));
  v1::EnrollVoiceprintResponse response;
  auto writer = Stub(ctx)->EnrollVoiceprint(call->get(), &response);
  v1::EnrollVoiceprintRequest first;
  first.mutable_metadata()->set_customer_id(args[0]);
  first.mutable_metadata()->mutable_format()->set_encoding(kefu::common::v1::AUDIO_ENCODING_WAV);
  first.mutable_metadata()->set_replace(replace);
  const bool sent = SendFiles(writer.get(), first, {args.begin() + 1, args.end()});
  if (!sent) {
    (*call)->TryCancel();
    writer->Finish();
    return 1;
  }
  writer->WritesDone();
  if (auto st = writer->Finish(); !st.ok()) return Failed(st);
  std::printf(
      "voiceprint %s of customer %s %s: %.1f s of speech from %d utterances\n",
      response.voiceprint_id().c_str(), args[0].c_str(),
      response.refreshed() ? "refreshed" : "enrolled",
      static_cast<double>(TimeUtil::DurationToMilliseconds(response.speech_duration())) / 1000.0,
      response.utterance_count());
  return 0;
}

int Verify(const std::vector<std::string>& args, const CtlContext& ctx) {
  if (args.size() < 2) return Usage("voice verify <customer_id> <file.wav>...");
  auto call = ctx.Call();
  if (!call.ok()) return Failed(call.status());
  (*call)->set_deadline(absl::ToChronoTime(absl::Now() + ctx.timeout + absl::Seconds(10)));
  v1::VerifyVoiceResponse response;
  auto writer = Stub(ctx)->VerifyVoice(call->get(), &response);
  v1::VerifyVoiceRequest first;
  first.mutable_metadata()->set_customer_id(args[0]);
  first.mutable_metadata()->mutable_format()->set_encoding(kefu::common::v1::AUDIO_ENCODING_WAV);
  if (!SendFiles(writer.get(), first, {args.begin() + 1, args.end()})) {
    (*call)->TryCancel();
    writer->Finish();
    return 1;
  }
  writer->WritesDone();
  if (auto st = writer->Finish(); !st.ok()) return Failed(st);
  if (!response.voiceprint_enrolled()) {
    std::printf("customer %s has no voiceprint: ask the challenge (verification %s)\n",
                args[0].c_str(), response.verification_id().c_str());
    return 0;
  }
  std::string decision = kefu::common::v1::VerificationDecision_Name(response.decision());
  std::printf(
      "%s  score %.2f (accept >= %.2f, reject < %.2f), %.1f s of speech%s\n",
      decision.substr(decision.rfind('_') + 1).c_str(), response.score(),
      response.accept_threshold(), response.reject_threshold(),
      static_cast<double>(TimeUtil::DurationToMilliseconds(response.speech_duration())) / 1000.0,
      response.challenge_required() ? "; challenge required" : "");
  return 0;
}

int Show(const std::vector<std::string>& args, const CtlContext& ctx) {
  if (args.size() != 1) return Usage("voice show <customer_id>");
  auto call = ctx.Call();
  if (!call.ok()) return Failed(call.status());
  v1::GetVoiceprintRequest request;
  request.set_customer_id(args[0]);
  v1::GetVoiceprintResponse response;
  if (auto st = Stub(ctx)->GetVoiceprint(call->get(), request, &response); !st.ok()) {
    return Failed(st);
  }
  if (!response.enrolled()) {
    std::printf("customer %s has no voiceprint\n", args[0].c_str());
    return 0;
  }
  std::printf(
      "voiceprint %s: %.1f s of speech, created %s, updated %s\n", response.voiceprint_id().c_str(),
      static_cast<double>(TimeUtil::DurationToMilliseconds(response.speech_duration())) / 1000.0,
      TimeUtil::ToString(response.create_time()).c_str(),
      TimeUtil::ToString(response.update_time()).c_str());
  return 0;
}

int Delete(const std::vector<std::string>& args, const CtlContext& ctx) {
  if (args.size() != 1) return Usage("voice delete <customer_id>");
  auto call = ctx.Call();
  if (!call.ok()) return Failed(call.status());
  v1::DeleteVoiceprintRequest request;
  request.set_customer_id(args[0]);
  v1::DeleteVoiceprintResponse response;
  if (auto st = Stub(ctx)->DeleteVoiceprint(call->get(), request, &response); !st.ok()) {
    return Failed(st);
  }
  std::printf(response.deleted() ? "voiceprint of customer %s deleted\n"
                                 : "customer %s had no voiceprint\n",
              args[0].c_str());
  return 0;
}

}  // namespace

std::vector<CommandSpec> VoiceCommands() {
  return {
      {"voice enroll", "voice enroll <customer_id> <file.wav>...",
       "enrol (or refresh) a customer's voiceprint from WAV files",
       [](const auto& args, const auto& ctx) { return Enroll(args, ctx, false); }},
      {"voice replace", "voice replace <customer_id> <file.wav>...",
       "replace a customer's voiceprint with one from these WAV files",
       [](const auto& args, const auto& ctx) { return Enroll(args, ctx, true); }},
      {"voice verify", "voice verify <customer_id> <file.wav>...",
       "score WAV audio against the customer's voiceprint: ACCEPT / UNCERTAIN / REJECT", Verify},
      {"voice show", "voice show <customer_id>", "whether a customer has a voiceprint", Show},
      {"voice delete", "voice delete <customer_id>",
       "delete a customer's voiceprint (right to erasure)", Delete},
  };
}

}  // namespace kefu::ctl
