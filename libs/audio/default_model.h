#pragma once

#include "absl/strings/string_view.h"

namespace kefu::audio {

// models/voice/ubm.kvm as compiled into the binary (empty when the build had none):
// the voice model the identity service serves unless --voice-model names another.
absl::string_view DefaultVoiceModelBytes();

}  // namespace kefu::audio
