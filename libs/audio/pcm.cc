#include "libs/audio/pcm.h"

#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>
#include <numeric>

#include "absl/strings/str_cat.h"

namespace kefu::audio {
namespace {

// libsndfile reads and writes through these callbacks, so no audio touches the disk.
struct MemoryFile {
  std::string data;
  sf_count_t pos = 0;
};

sf_count_t VioLength(void* user) { return static_cast<MemoryFile*>(user)->data.size(); }

sf_count_t VioSeek(sf_count_t offset, int whence, void* user) {
  auto* f = static_cast<MemoryFile*>(user);
  sf_count_t base = 0;
  if (whence == SEEK_CUR) base = f->pos;
  if (whence == SEEK_END) base = static_cast<sf_count_t>(f->data.size());
  const sf_count_t target = base + offset;
  if (target < 0) return -1;
  f->pos = target;
  return f->pos;
}

sf_count_t VioRead(void* ptr, sf_count_t count, void* user) {
  auto* f = static_cast<MemoryFile*>(user);
  const sf_count_t size = static_cast<sf_count_t>(f->data.size());
  if (f->pos >= size || count <= 0) return 0;
  const sf_count_t n = std::min(count, size - f->pos);
  std::memcpy(ptr, f->data.data() + f->pos, static_cast<size_t>(n));
  f->pos += n;
  return n;
}

sf_count_t VioWrite(const void* ptr, sf_count_t count, void* user) {
  auto* f = static_cast<MemoryFile*>(user);
  const size_t end = static_cast<size_t>(f->pos + count);
  if (f->data.size() < end) f->data.resize(end);
  std::memcpy(f->data.data() + f->pos, ptr, static_cast<size_t>(count));
  f->pos += count;
  return count;
}

sf_count_t VioTell(void* user) { return static_cast<MemoryFile*>(user)->pos; }

absl::Status CheckRate(int rate) {
  if (rate < kMinSampleRate || rate > kMaxSampleRate) {
    return absl::InvalidArgumentError(absl::StrCat("audio: sample rate ", rate,
                                                   " Hz is not supported (", kMinSampleRate, "-",
                                                   kMaxSampleRate, " Hz)"));
  }
  return absl::OkStatus();
}

// Mixes libsndfile's interleaved frames down to mono; non-finite samples become 0.
absl::StatusOr<Audio> ReadAll(SNDFILE* file, const SF_INFO& info) {
  if (info.channels < 1 || info.channels > 16) {
    return absl::InvalidArgumentError("audio: unsupported channel count");
  }
  if (auto st = CheckRate(info.samplerate); !st.ok()) return st;
  Audio audio;
  audio.sample_rate = info.samplerate;
  std::vector<float> block(4096 * static_cast<size_t>(info.channels));
  for (;;) {
    const sf_count_t frames = sf_readf_float(file, block.data(), 4096);
    if (frames <= 0) break;
    for (sf_count_t i = 0; i < frames; ++i) {
      float sum = 0;
      for (int c = 0; c < info.channels; ++c) sum += block[i * info.channels + c];
      float v = sum / static_cast<float>(info.channels);
      audio.samples.push_back(std::isfinite(v) ? std::clamp(v, -1.0f, 1.0f) : 0.0f);
    }
  }
  if (audio.samples.empty()) return absl::InvalidArgumentError("audio: the file has no samples");
  return audio;
}

double Sinc(double x) {
  if (std::abs(x) < 1e-9) return 1.0;
  return std::sin(std::numbers::pi * x) / (std::numbers::pi * x);
}

}  // namespace

absl::StatusOr<Audio> DecodeWav(absl::string_view bytes) {
  if (bytes.empty()) return absl::InvalidArgumentError("audio: empty");
  // Only WAV (RIFF, RIFX, RF64) reaches libsndfile, whose other decoders (MP3...) would
  // otherwise guess at arbitrary bytes.
  const absl::string_view tag = bytes.substr(0, 4);
  if (bytes.size() < 12 || (tag != "RIFF" && tag != "RIFX" && tag != "RF64") ||
      bytes.substr(8, 4) != "WAVE") {
    return absl::InvalidArgumentError("audio: not a WAV file (no RIFF/WAVE header)");
  }
  MemoryFile mem{std::string(bytes), 0};
  SF_VIRTUAL_IO vio{VioLength, VioSeek, VioRead, VioWrite, VioTell};
  SF_INFO info{};
  SNDFILE* file = sf_open_virtual(&vio, SFM_READ, &info, &mem);
  if (file == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("audio: not a readable WAV file (", sf_strerror(nullptr), ")"));
  }
  auto audio = ReadAll(file, info);
  sf_close(file);
  return audio;
}

absl::StatusOr<Audio> ReadAudioFile(const std::string& path) {
  SF_INFO info{};
  SNDFILE* file = sf_open(path.c_str(), SFM_READ, &info);
  if (file == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": cannot read audio (", sf_strerror(nullptr), ")"));
  }
  auto audio = ReadAll(file, info);
  sf_close(file);
  if (!audio.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", audio.status().message()));
  }
  return audio;
}

absl::StatusOr<Audio> DecodePcm16(absl::string_view bytes, int sample_rate) {
  if (sample_rate != 8000 && sample_rate != 16000) {
    return absl::InvalidArgumentError(
        absl::StrCat("format.sample_rate_hz: PCM16 must be 8000 or 16000 Hz, not ", sample_rate));
  }
  if (bytes.empty()) return absl::InvalidArgumentError("audio: empty");
  if (bytes.size() % 2 != 0) {
    return absl::InvalidArgumentError("audio: odd number of bytes for 16-bit PCM");
  }
  Audio audio;
  audio.sample_rate = sample_rate;
  audio.samples.resize(bytes.size() / 2);
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  for (size_t i = 0; i < audio.samples.size(); ++i) {
    const auto v = static_cast<int16_t>(static_cast<uint16_t>(p[2 * i] | (p[2 * i + 1] << 8)));
    audio.samples[i] = static_cast<float>(v) / 32768.0f;
  }
  return audio;
}

std::string EncodePcm16(const std::vector<float>& samples) {
  std::string out(samples.size() * 2, '\0');
  for (size_t i = 0; i < samples.size(); ++i) {
    const auto v = static_cast<int16_t>(std::lround(std::clamp(samples[i], -1.0f, 1.0f) * 32767));
    const auto u = static_cast<uint16_t>(v);
    out[2 * i] = static_cast<char>(u & 0xff);
    out[2 * i + 1] = static_cast<char>(u >> 8);
  }
  return out;
}

absl::StatusOr<std::string> EncodeWav(const Audio& audio) {
  if (auto st = CheckRate(audio.sample_rate); !st.ok()) return st;
  MemoryFile mem;
  SF_VIRTUAL_IO vio{VioLength, VioSeek, VioRead, VioWrite, VioTell};
  SF_INFO info{};
  info.samplerate = audio.sample_rate;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SNDFILE* file = sf_open_virtual(&vio, SFM_WRITE, &info, &mem);
  if (file == nullptr) return absl::InternalError("cannot open a WAV writer");
  sf_writef_float(file, audio.samples.data(), static_cast<sf_count_t>(audio.samples.size()));
  sf_close(file);
  return mem.data;
}

Audio Resample(const Audio& audio, int rate) {
  if (audio.sample_rate == rate || audio.samples.empty() || audio.sample_rate <= 0 || rate <= 0) {
    return audio;
  }
  // Output sample n sits at input position n * down / up: `up` phases repeat, so the
  // windowed-sinc kernel is tabulated once per phase.
  constexpr int kHalfTaps = 16;
  const long g = std::gcd(audio.sample_rate, rate);
  const long up = rate / g, down = audio.sample_rate / g;
  const double ratio = static_cast<double>(rate) / audio.sample_rate;
  const double cutoff = std::min(1.0, ratio) * 0.95;  // of the lower Nyquist
  const double reach = kHalfTaps / std::min(1.0, ratio);
  const long half = static_cast<long>(std::ceil(reach));
  const long width = 2 * half + 2;  // input offsets -half .. half + 1
  std::vector<float> table(static_cast<size_t>(up * width));
  for (long p = 0; p < up; ++p) {
    const double frac = static_cast<double>(p) / up;
    for (long j = 0; j < width; ++j) {
      const double d = frac - (j - half);
      if (std::abs(d) > reach) continue;
      const double window = 0.5 + 0.5 * std::cos(std::numbers::pi * d / (reach + 1));  // Hann
      table[p * width + j] = static_cast<float>(cutoff * Sinc(cutoff * d) * window);
    }
  }
  Audio out;
  out.sample_rate = rate;
  const auto n_in = static_cast<long>(audio.samples.size());
  const auto n_out = static_cast<long>(std::floor(n_in * ratio));
  out.samples.resize(n_out);
  for (long n = 0; n < n_out; ++n) {
    const long pos = n * down;
    const long base = pos / up;
    const float* kernel = table.data() + (pos % up) * width;
    const long lo = std::max(0L, base - half), hi = std::min(n_in - 1, base + half + 1);
    double acc = 0;
    for (long k = lo; k <= hi; ++k) acc += audio.samples[k] * kernel[k - base + half];
    out.samples[n] = static_cast<float>(acc);
  }
  return out;
}

}  // namespace kefu::audio
