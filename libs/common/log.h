#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

// Structured logs: one JSON object a line on stderr, e.g.
// {"ts":"2026-11-22T10:00:00.123Z","level":"info","service":"router","msg":"started",...}
// Never log customer message text or audio (STYLE.md section 8).
namespace kefu::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

using Field = std::pair<absl::string_view, absl::string_view>;
using Fields = std::initializer_list<Field>;

// Sets the service name written on every line and the lowest level written.
void Init(absl::string_view service, Level min_level);
bool ParseLevel(absl::string_view text, Level* level);

void Write(Level level, absl::string_view msg, Fields fields = {});
inline void Debug(absl::string_view msg, Fields fields = {}) { Write(Level::kDebug, msg, fields); }
inline void Info(absl::string_view msg, Fields fields = {}) { Write(Level::kInfo, msg, fields); }
inline void Warn(absl::string_view msg, Fields fields = {}) { Write(Level::kWarn, msg, fields); }
inline void Error(absl::string_view msg, Fields fields = {}) { Write(Level::kError, msg, fields); }

// The line Write() emits, without the newline; exposed for tests.
std::string FormatLine(absl::Time ts, Level level, absl::string_view service, absl::string_view msg,
                       Fields fields);
void AppendJsonString(std::string* out, absl::string_view text);

}  // namespace kefu::log
