#include "libs/redis/streams.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace kefu::redis {
namespace {

absl::Status Malformed(absl::string_view what) {
  return absl::InternalError(absl::StrCat("redis: malformed ", what, " reply"));
}

// Parses [[id, [f1, v1, f2, v2...]], ...] into `out`.
absl::Status ParseEntries(absl::string_view stream, const redisReply& entries,
                          std::vector<StreamEntry>* out) {
  if (entries.type != REDIS_REPLY_ARRAY) return Malformed("stream entries");
  for (size_t i = 0; i < entries.elements; ++i) {
    const redisReply* entry = entries.element[i];
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2) return Malformed("entry");
    StreamEntry parsed;
    parsed.stream = std::string(stream);
    parsed.id = std::string(ReplyString(*entry->element[0]));
    const redisReply* fields = entry->element[1];
    // An entry deleted (XDEL/trim) while pending comes back with nil fields.
    if (fields->type == REDIS_REPLY_ARRAY) {
      for (size_t f = 0; f + 1 < fields->elements; f += 2) {
        parsed.fields.emplace_back(ReplyString(*fields->element[f]),
                                   ReplyString(*fields->element[f + 1]));
      }
    }
    out->push_back(std::move(parsed));
  }
  return absl::OkStatus();
}

}  // namespace

absl::string_view StreamEntry::Field(absl::string_view name) const {
  for (const auto& [key, value] : fields) {
    if (key == name) return value;
  }
  return {};
}

absl::StatusOr<std::string> XAdd(
    Connection& conn, absl::string_view key,
    const std::vector<std::pair<absl::string_view, absl::string_view>>& fields, int64_t max_len) {
  const std::string max = std::to_string(max_len);
  std::vector<absl::string_view> argv = {"XADD", key, "MAXLEN", "~", max, "*"};
  for (const auto& [field, value] : fields) {
    argv.push_back(field);
    argv.push_back(value);
  }
  auto reply = conn.Command(argv);
  if (!reply.ok()) return reply.status();
  return std::string(ReplyString(**reply));
}

absl::Status XGroupCreate(Connection& conn, absl::string_view key, absl::string_view group,
                          absl::string_view start) {
  auto reply = conn.Command({"XGROUP", "CREATE", key, group, start, "MKSTREAM"});
  if (!reply.ok() && absl::StrContains(reply.status().message(), "BUSYGROUP")) {
    return absl::OkStatus();
  }
  return reply.status();
}

absl::StatusOr<std::vector<StreamEntry>> XReadGroup(Connection& conn, absl::string_view group,
                                                    absl::string_view consumer,
                                                    const std::vector<std::string>& keys,
                                                    absl::string_view id, int count,
                                                    absl::Duration block) {
  const std::string count_text = std::to_string(count);
  const std::string block_text = std::to_string(absl::ToInt64Milliseconds(block));
  std::vector<absl::string_view> argv = {"XREADGROUP", "GROUP", group,
                                         consumer,     "COUNT", count_text};
  if (block > absl::ZeroDuration()) {
    argv.push_back("BLOCK");
    argv.push_back(block_text);
  }
  argv.push_back("STREAMS");
  for (const std::string& key : keys) argv.push_back(key);
  for (size_t i = 0; i < keys.size(); ++i) argv.push_back(id);
  auto reply = conn.Command(argv);
  if (!reply.ok()) return reply.status();
  std::vector<StreamEntry> out;
  if (ReplyIsNil(**reply)) return out;  // BLOCK timed out
  if ((*reply)->type != REDIS_REPLY_ARRAY) return Malformed("XREADGROUP");
  for (size_t i = 0; i < (*reply)->elements; ++i) {
    const redisReply* stream = (*reply)->element[i];
    if (stream->type != REDIS_REPLY_ARRAY || stream->elements != 2) return Malformed("stream");
    auto st = ParseEntries(ReplyString(*stream->element[0]), *stream->element[1], &out);
    if (!st.ok()) return st;
  }
  return out;
}

absl::Status XAck(Connection& conn, absl::string_view key, absl::string_view group,
                  absl::string_view id) {
  return conn.Command({"XACK", key, group, id}).status();
}

absl::StatusOr<std::vector<StreamEntry>> XAutoClaim(Connection& conn, absl::string_view key,
                                                    absl::string_view group,
                                                    absl::string_view consumer,
                                                    absl::Duration min_idle, int count) {
  const std::string idle = std::to_string(absl::ToInt64Milliseconds(min_idle));
  const std::string count_text = std::to_string(count);
  auto reply = conn.Command({"XAUTOCLAIM", key, group, consumer, idle, "0-0", "COUNT", count_text});
  if (!reply.ok()) return reply.status();
  if ((*reply)->type != REDIS_REPLY_ARRAY || (*reply)->elements < 2) {
    return Malformed("XAUTOCLAIM");
  }
  std::vector<StreamEntry> out;
  auto st = ParseEntries(key, *(*reply)->element[1], &out);
  if (!st.ok()) return st;
  return out;
}

}  // namespace kefu::redis
