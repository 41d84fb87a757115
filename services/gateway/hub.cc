#include "services/gateway/hub.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <set>
#include <thread>

#include "libs/common/log.h"

namespace kefu::gateway {
namespace {

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextDeleter>;

Context Connect(const redis::RedisUrl& url) {
  timeval tv{2, 0};
  Context ctx(redisConnectWithTimeout(url.host.c_str(), url.port, tv));
  if (!ctx || ctx->err != 0) return nullptr;
  if (!url.password.empty()) {
    redis::Reply r(
        static_cast<redisReply*>(redisCommand(ctx.get(), "AUTH %s", url.password.c_str())));
    if (!r || r->type == REDIS_REPLY_ERROR) return nullptr;
  }
  return ctx;
}

bool SendCommand(redisContext* ctx, const char* verb, const std::vector<std::string>& channels) {
  if (channels.empty()) return true;
  std::vector<const char*> argv = {verb};
  std::vector<size_t> lens = {strlen(verb)};
  for (const auto& c : channels) {
    argv.push_back(c.data());
    lens.push_back(c.size());
  }
  return redisAppendCommandArgv(ctx, static_cast<int>(argv.size()), argv.data(), lens.data()) ==
         REDIS_OK;
}

bool Flush(redisContext* ctx) {
  int done = 0;
  while (done == 0) {
    if (redisBufferWrite(ctx, &done) != REDIS_OK) return false;
  }
  return true;
}

}  // namespace

Hub::Hub(redis::RedisUrl url) : url_(std::move(url)), wake_fd_(eventfd(0, EFD_NONBLOCK)) {}

Hub::~Hub() {
  if (wake_fd_ >= 0) close(wake_fd_);
}

void Hub::Wake() {
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
}

uint64_t Hub::Subscribe(const std::string& channel, Sink sink, Lost lost) {
  uint64_t id = 0;
  bool fresh = false;
  {
    std::lock_guard lock(mu_);
    id = next_id_++;
    auto& ch = channels_[channel];
    fresh = ch.sinks.empty() && !ch.confirmed;
    ch.sinks.emplace(id, std::make_shared<Entry>(Entry{std::move(sink), std::move(lost)}));
    if (fresh) to_subscribe_.push_back(channel);
  }
  if (fresh) Wake();
  return id;
}

void Hub::Unsubscribe(const std::string& channel, uint64_t id) {
  bool last = false;
  {
    std::lock_guard lock(mu_);
    auto it = channels_.find(channel);
    if (it == channels_.end()) return;
    it->second.sinks.erase(id);
    if (it->second.sinks.empty()) {
      channels_.erase(it);
      to_unsubscribe_.push_back(channel);
      last = true;
    }
  }
  if (last) Wake();
}

bool Hub::WaitSubscribed(const std::string& channel, int timeout_ms) {
  std::unique_lock lock(mu_);
  return confirmed_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
    auto it = channels_.find(channel);
    return it == channels_.end() || it->second.confirmed;
  });
}

size_t Hub::channel_count() {
  std::lock_guard lock(mu_);
  return channels_.size();
}

void Hub::Dispatch(const std::string& channel, const std::string& payload) {
  std::vector<std::shared_ptr<Entry>> targets;
  {
    std::lock_guard lock(mu_);
    auto it = channels_.find(channel);
    if (it == channels_.end()) return;
    for (auto& [id, entry] : it->second.sinks) targets.push_back(entry);
  }
  for (auto& entry : targets) entry->sink(payload);
}

void Hub::NotifyLost() {
  std::vector<std::shared_ptr<Entry>> targets;
  {
    std::lock_guard lock(mu_);
    for (auto& [name, ch] : channels_) {
      ch.confirmed = false;
      for (auto& [id, entry] : ch.sinks) targets.push_back(entry);
    }
    to_subscribe_.clear();
    to_unsubscribe_.clear();
  }
  for (auto& entry : targets) {
    if (entry->lost) entry->lost();
  }
}

void Hub::Run(std::stop_token stop) {
  while (!stop.stop_requested()) {
    Context ctx = Connect(url_);
    if (!ctx) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    {
      // Everything registered (again) is subscribed on the new connection.
      std::lock_guard lock(mu_);
      to_subscribe_.clear();
      to_unsubscribe_.clear();
      for (auto& [name, ch] : channels_) to_subscribe_.push_back(name);
    }
    bool healthy = true;
    while (healthy && !stop.stop_requested()) {
      std::vector<std::string> sub, unsub;
      {
        // A channel dropped and taken again before this round ends up as it is now.
        std::lock_guard lock(mu_);
        std::set<std::string> touched(to_subscribe_.begin(), to_subscribe_.end());
        touched.insert(to_unsubscribe_.begin(), to_unsubscribe_.end());
        to_subscribe_.clear();
        to_unsubscribe_.clear();
        for (const auto& name : touched) {
          (channels_.contains(name) ? sub : unsub).push_back(name);
        }
      }
      if (!SendCommand(ctx.get(), "UNSUBSCRIBE", unsub) ||
          !SendCommand(ctx.get(), "SUBSCRIBE", sub) || !Flush(ctx.get())) {
        healthy = false;
        break;
      }
      pollfd fds[2] = {{ctx->fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
      if (poll(fds, 2, 200) < 0) continue;
      if (fds[1].revents & POLLIN) {
        uint64_t n;
        (void)!read(wake_fd_, &n, sizeof(n));
      }
      if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
        if (redisBufferRead(ctx.get()) != REDIS_OK) {
          healthy = false;
          break;
        }
      }
      // Everything already read, whether or not the socket was readable this round.
      while (true) {
        void* raw = nullptr;
        if (redisGetReplyFromReader(ctx.get(), &raw) != REDIS_OK) {
          healthy = false;
          break;
        }
        if (raw == nullptr) break;
        redis::Reply reply(static_cast<redisReply*>(raw));
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3) continue;
        const std::string kind = redis::ReplyText(reply->element[0]);
        const std::string channel = redis::ReplyText(reply->element[1]);
        if (kind == "message") {
          Dispatch(channel, redis::ReplyText(reply->element[2]));
        } else if (kind == "subscribe") {
          std::lock_guard lock(mu_);
          auto it = channels_.find(channel);
          if (it != channels_.end()) it->second.confirmed = true;
          confirmed_cv_.notify_all();
        }
      }
    }
    if (!stop.stop_requested()) {
      log::Warn("gateway pub/sub connection lost; sessions will resume", {});
      NotifyLost();
    }
  }
}

}  // namespace kefu::gateway
