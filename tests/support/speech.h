// Speech synthesised at test time for the voice tests (F3): espeak-ng voices shaped by sox,
// as 16 kHz mono 16-bit WAV bytes. The voices are held out of the default UBM's training
// corpus. Header-only; cached per process.
#pragma once

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace kefu::testing {

// Speech made by espeak-ng (a held-out voice of the evaluation set, never in the UBM's
// training corpus) and shaped by sox, as 16 kHz mono 16-bit WAV bytes. Cached per run.
inline std::string Speak(const std::string& voice, const std::string& text,
                         const std::string& effects = "") {
  static std::mutex mu;
  static std::map<std::string, std::string> cache;
  const std::string key = absl::StrCat(voice, "|", text, "|", effects);
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / absl::StrCat("kefu-voice-", getpid());
  std::filesystem::create_directories(dir);
  const std::string raw = (dir / absl::StrCat(cache.size(), "-raw.wav")).string();
  const std::string out = (dir / absl::StrCat(cache.size(), ".wav")).string();
  const std::string cmd = absl::StrCat("espeak-ng -v ", voice, " -s 165 -w '", raw, "' '", text,
                                       "' && sox -R '", raw, "' -r 16000 -c 1 -b 16 '", out,
                                       "' gain -6 ", effects, " gain -n -3 pad 0.3 0.3");
  if (std::system(cmd.c_str()) != 0) {
    FAIL("cannot synthesise test speech: install espeak-ng and sox (scripts/install-deps.sh)");
  }
  std::ifstream in(out, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  std::filesystem::remove(raw);
  std::filesystem::remove(out);
  return cache.emplace(key, bytes.str()).first->second;
}

inline constexpr char kCustomerVoice[] = "en-us+m3";
inline constexpr char kOtherVoice[] = "en-us+f2";
inline constexpr char kCold[] = "pitch -250 lowpass 3000";

inline const std::vector<std::string>& EnrolmentTexts() {
  static const std::vector<std::string> texts = {
      "Hello, I am calling about the parcel that should have arrived on Monday morning.",
      "My account number is four seven two nine, and I moved to a new address last month.",
      "Could you please check why the invoice shows a charge I do not recognise at all.",
  };
  return texts;
}
// About six seconds: what the gateway streams from the start of a call.
inline constexpr char kVerifyText[] =
    "Good afternoon, I would like to change the delivery date of my order, and please send "
    "the new invoice to my email address.";

}  // namespace kefu::testing
