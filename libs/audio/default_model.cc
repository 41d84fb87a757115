#include "libs/audio/default_model.h"

// The assembler includes the model file byte for byte (.incbin), so a 1 MB model costs
// no compile time; CMake makes this file depend on it.
#ifdef KEFU_AUDIO_DEFAULT_MODEL
__asm__(
    ".section .rodata\n"
    ".balign 16\n"
    ".global kefu_audio_default_model_begin\n"
    "kefu_audio_default_model_begin:\n"
    ".incbin \"" KEFU_AUDIO_DEFAULT_MODEL
    "\"\n"
    ".global kefu_audio_default_model_end\n"
    "kefu_audio_default_model_end:\n"
    ".previous\n");
extern "C" const char kefu_audio_default_model_begin[];
extern "C" const char kefu_audio_default_model_end[];
#endif

namespace kefu::audio {

absl::string_view DefaultVoiceModelBytes() {
#ifdef KEFU_AUDIO_DEFAULT_MODEL
  return absl::string_view(kefu_audio_default_model_begin,
                           kefu_audio_default_model_end - kefu_audio_default_model_begin);
#else
  return {};
#endif
}

}  // namespace kefu::audio
