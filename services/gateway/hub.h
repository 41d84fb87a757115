#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <vector>

#include "libs/redis/client.h"

namespace kefu::gateway {

// Delivers Redis pub/sub messages to the sessions connected to this replica: one
// subscriber connection per replica, channels subscribed while a session needs them.
// This is how a customer on one gateway replica and their agent on another see each
// other's messages (ARCHITECTURE.md "gateway").
class Hub final {
 public:
  // Called on the hub's thread with each payload; must not block.
  using Sink = std::function<void(const std::string& payload)>;
  // Called when the subscription was interrupted (Redis lost): updates may have been
  // missed, so the session should end its stream and let the client resume.
  using Lost = std::function<void()>;

  explicit Hub(redis::RedisUrl url);
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  // Registers `sink` on `channel`; the returned id unsubscribes. Delivery starts once the
  // server confirmed the subscription; WaitSubscribed waits for that.
  uint64_t Subscribe(const std::string& channel, Sink sink, Lost lost);
  void Unsubscribe(const std::string& channel, uint64_t id);
  // True once every channel subscribed so far is confirmed (bounded wait).
  bool WaitSubscribed(const std::string& channel, int timeout_ms);

  // The subscriber loop; run by a worker until stopped.
  void Run(std::stop_token stop);

  size_t channel_count();

 private:
  struct Entry {
    Sink sink;
    Lost lost;
  };
  struct Channel {
    std::map<uint64_t, std::shared_ptr<Entry>> sinks;
    bool confirmed = false;
  };
  void Wake();
  void Dispatch(const std::string& channel, const std::string& payload);
  void NotifyLost();

  const redis::RedisUrl url_;
  int wake_fd_ = -1;
  std::mutex mu_;
  std::condition_variable confirmed_cv_;
  std::map<std::string, Channel> channels_;  // guarded by mu_
  std::vector<std::string> to_subscribe_;    // guarded by mu_
  std::vector<std::string> to_unsubscribe_;  // guarded by mu_
  uint64_t next_id_ = 1;                     // guarded by mu_
};

}  // namespace kefu::gateway
