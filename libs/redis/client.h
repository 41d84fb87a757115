#pragma once

#include <hiredis/hiredis.h>

#include <condition_variable>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kefu::redis {

struct RedisUrl {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;
  int db = 0;
};

// redis://[[user]:password@]host[:port][/db]; INVALID_ARGUMENT naming what is wrong.
absl::StatusOr<RedisUrl> ParseUrl(absl::string_view url);

struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

// Reply accessors; each checks the reply type.
absl::string_view ReplyString(const redisReply& reply);  // STRING or STATUS, else ""
bool ReplyIsNil(const redisReply& reply);
// Lenient readers for script and HMGET results: an INTEGER, or a STRING holding one; 0 / ""
// for nil, absent (nullptr) or anything else.
int64_t ReplyInt(const redisReply* reply);
std::string ReplyText(const redisReply* reply);

// Turns an error reply into a status. Lua scripts report domain errors as
// redis.error_reply("NOT_FOUND contact c-1 ..."): a leading canonical code name picks
// the status code; NOSCRIPT and anything else are INTERNAL with the message kept.
absl::Status StatusFromErrorReply(absl::string_view message);

// One connection. Not thread-safe: use through a Pool lease or own it in one thread.
class Connection final {
 public:
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const RedisUrl& url,
                                                          absl::Duration timeout);
  ~Connection();

  // Sends one command. Transport failures are UNAVAILABLE and mark the connection
  // broken; error replies become statuses (StatusFromErrorReply).
  absl::StatusOr<Reply> Command(const std::vector<absl::string_view>& args);
  // Changes the read timeout (e.g. above the BLOCK time of XREADGROUP).
  absl::Status SetTimeout(absl::Duration timeout);
  bool broken() const { return broken_; }

 private:
  explicit Connection(redisContext* ctx) : ctx_(ctx) {}
  redisContext* ctx_;
  bool broken_ = false;
};

struct PoolOptions {
  RedisUrl url;
  int size = 8;
  absl::Duration timeout = absl::Seconds(2);          // connect and command timeout
  absl::Duration acquire_timeout = absl::Seconds(2);  // wait for a free connection
};

// A pool of connections, opened lazily and replaced when broken, so a Redis restart
// heals without restarting the service.
class Pool final {
 public:
  class Lease;

  explicit Pool(PoolOptions options) : options_(std::move(options)) {}
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  absl::StatusOr<Lease> Acquire();
  // Acquire + Command + release in one call.
  absl::StatusOr<Reply> Command(const std::vector<absl::string_view>& args);
  absl::Status Ping();

  const PoolOptions& options() const { return options_; }

 private:
  friend class Lease;
  void Release(std::unique_ptr<Connection> conn);

  const PoolOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by mu_
  int open_ = 0;                                   // guarded by mu_
};

class Pool::Lease {
 public:
  Lease(Lease&& other) noexcept : pool_(other.pool_), conn_(std::move(other.conn_)) {
    other.pool_ = nullptr;
  }
  Lease& operator=(Lease&&) = delete;
  ~Lease() {
    if (pool_ != nullptr && conn_ != nullptr) pool_->Release(std::move(conn_));
  }
  Connection& operator*() { return *conn_; }
  Connection* operator->() { return conn_.get(); }

 private:
  friend class Pool;
  Lease(Pool* pool, std::unique_ptr<Connection> conn) : pool_(pool), conn_(std::move(conn)) {}
  Pool* pool_;
  std::unique_ptr<Connection> conn_;
};

}  // namespace kefu::redis
