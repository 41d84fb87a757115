#include "libs/redis/client.h"

#include <sys/time.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"

namespace kefu::redis {
absl::StatusOr<RedisUrl> ParseUrl(absl::string_view url) {
  constexpr absl::string_view kScheme = "redis://";
  if (!absl::StartsWith(url, kScheme)) {
    return absl::InvalidArgumentError(
        absl::StrCat("redis url \"", url, "\": must start with redis://"));
  }
  absl::string_view rest = url.substr(kScheme.size());
  RedisUrl out;
  if (auto at = rest.rfind('@'); at != absl::string_view::npos) {
    absl::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    auto colon = userinfo.find(':');
    out.password =
        std::string(colon == absl::string_view::npos ? userinfo : userinfo.substr(colon + 1));
  }
  absl::string_view hostport = rest;
  if (auto slash = rest.find('/'); slash != absl::string_view::npos) {
    hostport = rest.substr(0, slash);
    absl::string_view db = rest.substr(slash + 1);
    if (!db.empty() && (!absl::SimpleAtoi(db, &out.db) || out.db < 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("redis url \"", url, "\": database \"", db, "\" is not a number"));
    }
  }
  if (auto colon = hostport.rfind(':'); colon != absl::string_view::npos) {
    if (!absl::SimpleAtoi(hostport.substr(colon + 1), &out.port) || out.port <= 0 ||
        out.port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("redis url \"", url, "\": bad port"));
    }
    hostport = hostport.substr(0, colon);
  }
  if (!hostport.empty()) out.host = std::string(hostport);
  return out;
}

absl::string_view ReplyString(const redisReply& reply) {
  if (reply.type == REDIS_REPLY_STRING || reply.type == REDIS_REPLY_STATUS) {
    return {reply.str, reply.len};
  }
  return {};
}

bool ReplyIsNil(const redisReply& reply) { return reply.type == REDIS_REPLY_NIL; }

int64_t ReplyInt(const redisReply* reply) {
  if (reply == nullptr) return 0;
  if (reply->type == REDIS_REPLY_INTEGER) return reply->integer;
  int64_t value = 0;
  (void)absl::SimpleAtoi(ReplyString(*reply), &value);
  return value;
}

std::string ReplyText(const redisReply* reply) {
  if (reply == nullptr) return "";
  if (reply->type == REDIS_REPLY_INTEGER) return std::to_string(reply->integer);
  return std::string(ReplyString(*reply));
}

absl::Status StatusFromErrorReply(absl::string_view message) {
  struct Prefix {
    absl::string_view name;
    absl::StatusCode code;
  };
  static constexpr Prefix kPrefixes[] = {
      {"INVALID_ARGUMENT ", absl::StatusCode::kInvalidArgument},
      {"NOT_FOUND ", absl::StatusCode::kNotFound},
      {"ALREADY_EXISTS ", absl::StatusCode::kAlreadyExists},
      {"FAILED_PRECONDITION ", absl::StatusCode::kFailedPrecondition},
      {"PERMISSION_DENIED ", absl::StatusCode::kPermissionDenied},
      {"RESOURCE_EXHAUSTED ", absl::StatusCode::kResourceExhausted},
      {"ABORTED ", absl::StatusCode::kAborted},
  };
  for (const Prefix& prefix : kPrefixes) {
    if (absl::StartsWith(message, prefix.name))
      return absl::Status(prefix.code, message.substr(prefix.name.size()));
  }
  if (absl::StartsWith(message, "LOADING") || absl::StartsWith(message, "MASTERDOWN") ||
      absl::StartsWith(message, "READONLY") || absl::StartsWith(message, "TRYAGAIN")) {
    return absl::UnavailableError(absl::StrCat("redis: ", message));
  }
  return absl::InternalError(absl::StrCat("redis: ", message));
}

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(const RedisUrl& url,
                                                             absl::Duration timeout) {
  redisContext* ctx = redisConnectWithTimeout(url.host.c_str(), url.port, absl::ToTimeval(timeout));
  if (ctx == nullptr) return absl::ResourceExhaustedError("redis: cannot allocate a context");
  if (ctx->err != 0) {
    std::string err = ctx->errstr;
    redisFree(ctx);
    return absl::UnavailableError(
        absl::StrCat("redis: cannot connect to ", url.host, ":", url.port, ": ", err));
  }
  auto conn = std::unique_ptr<Connection>(new Connection(ctx));
  if (auto st = conn->SetTimeout(timeout); !st.ok()) return st;
  if (!url.password.empty()) {
    if (auto reply = conn->Command({"AUTH", url.password}); !reply.ok()) return reply.status();
  }
  if (url.db != 0) {
    const std::string db = std::to_string(url.db);
    if (auto reply = conn->Command({"SELECT", db}); !reply.ok()) return reply.status();
  }
  return conn;
}

Connection::~Connection() { redisFree(ctx_); }

absl::Status Connection::SetTimeout(absl::Duration timeout) {
  if (redisSetTimeout(ctx_, absl::ToTimeval(timeout)) != REDIS_OK) {
    broken_ = true;
    return absl::UnavailableError("redis: cannot set the socket timeout");
  }
  return absl::OkStatus();
}

absl::StatusOr<Reply> Connection::Command(const std::vector<absl::string_view>& args) {
  if (broken_) return absl::UnavailableError("redis: connection is broken");
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (absl::string_view arg : args) {
    argv.push_back(arg.data());
    lens.push_back(arg.size());
  }
  auto* raw = static_cast<redisReply*>(
      redisCommandArgv(ctx_, static_cast<int>(args.size()), argv.data(), lens.data()));
  if (raw == nullptr) {
    broken_ = true;  // hiredis contexts are unusable after an I/O error
    return absl::UnavailableError(absl::StrCat("redis: ", ctx_->errstr));
  }
  Reply reply(raw);
  if (reply->type == REDIS_REPLY_ERROR) {
    return StatusFromErrorReply(absl::string_view(reply->str, reply->len));
  }
  return reply;
}

absl::StatusOr<Pool::Lease> Pool::Acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  const auto deadline = absl::ToChronoTime(absl::Now() + options_.acquire_timeout);
  while (idle_.empty() && open_ >= options_.size) {
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= options_.size) {
      return absl::UnavailableError(
          absl::StrCat("redis: all ", options_.size, " pooled connections busy"));
    }
  }
  if (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(conn));
  }
  ++open_;
  lock.unlock();  // connecting is a network round trip: never under the lock
  auto conn = Connection::Open(options_.url, options_.timeout);
  if (!conn.ok()) {
    lock.lock();
    --open_;
    cv_.notify_one();
    return conn.status();
  }
  return Lease(this, std::move(*conn));
}

void Pool::Release(std::unique_ptr<Connection> conn) {
  std::lock_guard<std::mutex> lock(mu_);
  if (conn->broken()) {
    // One dead connection usually means a restarted or failed-over server: the idle
    // ones are dead too, so drop them rather than fail one call on each.
    open_ -= 1 + static_cast<int>(idle_.size());
    idle_.clear();
  } else {
    idle_.push_back(std::move(conn));
  }
  cv_.notify_one();
}

absl::StatusOr<Reply> Pool::Command(const std::vector<absl::string_view>& args) {
  auto lease = Acquire();
  if (!lease.ok()) return lease.status();
  return (*lease)->Command(args);
}

absl::Status Pool::Ping() {
  auto reply = Command({"PING"});
  // A connection that died with the old server fails once and is dropped; a second
  // try on a fresh connection tells whether Redis is back.
  if (absl::IsUnavailable(reply.status())) reply = Command({"PING"});
  return reply.status();
}

}  // namespace kefu::redis
