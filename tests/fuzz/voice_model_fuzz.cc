// The binary formats the identity service loads: voiceprints (stored in PostgreSQL, one per
// customer) and the voice model (kefu-voice-train's UBM file). Selector byte: even a
// voiceprint, odd a voice model. A parsed file must serialise back to the same bytes: the
// format has one encoding, and the model id is a hash of those bytes.
#include "libs/audio/voice_model.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto [selector, bytes] = kefu::fuzz::Select(data, size);
  if (selector % 2 == 0) {
    auto speaker = kefu::audio::ParseSpeaker(bytes);
    if (!speaker.ok()) {
      KEFU_FUZZ_CHECK(speaker.status().code() == absl::StatusCode::kInvalidArgument,
                      "a bad voiceprint is INVALID_ARGUMENT");
      return 0;
    }
    KEFU_FUZZ_CHECK(speaker->occupancy.size() == speaker->means.rows(),
                    "one occupancy per component");
    KEFU_FUZZ_CHECK(kefu::audio::SerializeSpeaker(*speaker) == bytes,
                    "a voiceprint round-trips byte for byte");
    return 0;
  }
  auto model = kefu::audio::VoiceModel::Parse(bytes);
  if (!model.ok()) {
    KEFU_FUZZ_CHECK(model.status().code() == absl::StatusCode::kInvalidArgument,
                    "a bad voice model is INVALID_ARGUMENT");
    return 0;
  }
  const kefu::audio::VoiceModel& m = **model;
  KEFU_FUZZ_CHECK(m.ubm().dims() == m.front_end().config().Dims(),
                  "the UBM has the front end's dimensions");
  KEFU_FUZZ_CHECK(
      m.front_end().config().FrameLength() > 0 && m.front_end().config().HopLength() > 0,
      "a loaded front end has frames and hops");
  KEFU_FUZZ_CHECK(m.Serialize() == bytes, "a voice model round-trips byte for byte");
  return 0;
}
