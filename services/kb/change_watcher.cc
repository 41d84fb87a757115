#include "services/kb/change_watcher.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/common/log.h"
#include "libs/events/events.h"

namespace kefu::kb {
namespace {

constexpr absl::Duration kBlock = absl::Seconds(1);
constexpr int kBatch = 200;

std::string Str(const redisReply& reply) { return std::string(redis::ReplyString(reply)); }

}  // namespace

void ChangeWatcher::Watch(const std::string& tenant_id) {
  const std::string key = events::StreamKey(tenant_id);
  // Where the stream ends now; "0-0" when it does not exist yet (every later entry is new).
  std::string last = "0-0";
  auto reply = pool_->Command({"XREVRANGE", key, "+", "-", "COUNT", "1"});
  if (reply.ok() && (*reply)->type == REDIS_REPLY_ARRAY && (*reply)->elements > 0) {
    const redisReply& entry = *(*reply)->element[0];
    if (entry.type == REDIS_REPLY_ARRAY && entry.elements > 0) last = Str(*entry.element[0]);
  } else if (!reply.ok()) {
    log::Warn("kb change watcher cannot read a stream's end; following from its start",
              {{"tenant", tenant_id}, {"error", reply.status().ToString()}});
  }
  std::lock_guard<std::mutex> lock(mu_);
  last_ids_.try_emplace(key, last);
}

void ChangeWatcher::Handle(const kefu::events::v1::Event& event) {
  absl::Status st;
  switch (event.payload_case()) {
    case kefu::events::v1::Event::kKnowledgeEntryChanged:
      st = cache_->Refresh(event.tenant_id(), event.knowledge_entry_changed().revision());
      break;
    case kefu::events::v1::Event::kBotChanged:
      st = cache_->Refresh(event.tenant_id(), 0);
      break;
    default:
      return;
  }
  if (!st.ok()) {
    // The next Ask catches up from PostgreSQL anyway.
    log::Warn("kb index refresh after an event failed",
              {{"tenant", event.tenant_id()}, {"error", st.ToString()}});
  }
}

absl::Status ChangeWatcher::PollOnce() {
  std::vector<std::string> keys;
  std::vector<std::string> ids;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [key, id] : last_ids_) {
      keys.push_back(key);
      ids.push_back(id);
    }
  }
  if (keys.empty()) {
    absl::SleepFor(absl::Milliseconds(200));
    return absl::OkStatus();
  }
  if (conn_ == nullptr || conn_->broken()) {
    auto conn = redis::Connection::Open(url_, absl::Seconds(2));
    if (!conn.ok()) return conn.status();
    if (auto st = (*conn)->SetTimeout(kBlock + absl::Seconds(2)); !st.ok()) return st;
    conn_ = std::move(*conn);
  }
  const std::string count = absl::StrCat(kBatch);
  const std::string block = absl::StrCat(absl::ToInt64Milliseconds(kBlock));
  std::vector<absl::string_view> args = {"XREAD", "COUNT", count, "BLOCK", block, "STREAMS"};
  for (const std::string& key : keys) args.push_back(key);
  for (const std::string& id : ids) args.push_back(id);
  auto reply = conn_->Command(args);
  if (!reply.ok()) return reply.status();
  if ((*reply)->type != REDIS_REPLY_ARRAY) return absl::OkStatus();  // nil: nothing new
  // [[key, [[id, [field, value, ...]], ...]], ...]
  for (size_t s = 0; s < (*reply)->elements; ++s) {
    const redisReply& stream = *(*reply)->element[s];
    if (stream.type != REDIS_REPLY_ARRAY || stream.elements != 2) continue;
    const std::string key = Str(*stream.element[0]);
    const redisReply& entries = *stream.element[1];
    std::string last;
    for (size_t e = 0; e < entries.elements; ++e) {
      const redisReply& entry = *entries.element[e];
      if (entry.type != REDIS_REPLY_ARRAY || entry.elements != 2) continue;
      last = Str(*entry.element[0]);
      const redisReply& fields = *entry.element[1];
      for (size_t f = 0; f + 1 < fields.elements; f += 2) {
        if (redis::ReplyString(*fields.element[f]) != "event") continue;
        const absl::string_view bytes = redis::ReplyString(*fields.element[f + 1]);
        kefu::events::v1::Event event;
        if (event.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) Handle(event);
      }
    }
    if (!last.empty()) {
      std::lock_guard<std::mutex> lock(mu_);
      last_ids_[key] = last;
    }
  }
  return absl::OkStatus();
}

void ChangeWatcher::Run(const std::stop_token& stop) {
  absl::Duration backoff = absl::Milliseconds(100);
  while (!stop.stop_requested()) {
    absl::Status st = PollOnce();
    if (st.ok()) {
      backoff = absl::Milliseconds(100);
      continue;
    }
    log::Warn("kb change watcher: redis read failed; retrying", {{"error", st.ToString()}});
    conn_.reset();
    for (absl::Duration slept; slept < backoff && !stop.stop_requested();
         slept += absl::Milliseconds(100)) {
      absl::SleepFor(absl::Milliseconds(100));
    }
    backoff = std::min(backoff * 2, absl::Seconds(5));
  }
}

}  // namespace kefu::kb
