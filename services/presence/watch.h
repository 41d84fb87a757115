#pragma once

#include <grpcpp/grpcpp.h>

#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <stop_token>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kefu/presence/v1/presence.grpc.pb.h"
#include "libs/redis/client.h"

// PresenceService.Watch (F23): one loop per process follows the tenants' agent-events
// streams and fans each agent change out to the supervisors watching that tenant. Each
// stream is a gRPC callback reactor with its own pending updates, coalesced per agent: a
// slow client only delays itself (its backlog is at most one update per agent), never the
// loop or the other watchers.
namespace kefu::presence {

using PresenceReader =
    std::function<absl::StatusOr<v1::AgentPresence>(const std::string&, const std::string&)>;

class WatchHub;

class WatchReactor final : public grpc::ServerWriteReactor<v1::WatchResponse> {
 public:
  // Sends `snapshot` first, then every change of the tenant's agents in `departments`
  // (empty = all).
  WatchReactor(WatchHub* hub, std::string tenant, std::set<std::string> departments,
               std::vector<v1::AgentPresence> snapshot);

  const std::string& tenant() const { return tenant_; }
  // Called by the hub's loop; never blocks on the client.
  void Push(const v1::AgentPresence& presence);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  bool Wanted(const v1::AgentPresence& presence) const;
  v1::StatusCounts Counts() const;  // mu_ held
  void WriteNextLocked();

  WatchHub* hub_;
  const std::string tenant_;
  const std::set<std::string> departments_;
  std::mutex mu_;
  bool writing_ = false, finished_ = false;
  std::map<std::string, int> statuses_;              // agent -> status, for the counts
  std::deque<std::string> order_;                    // agents with a pending update
  std::map<std::string, v1::AgentPresence> latest_;  // agent -> newest pending presence
  bool snapshot_pending_ = true;
  v1::WatchResponse snapshot_, current_;
};

class WatchHub final {
 public:
  // `reader` reads one agent's presence; set before Run starts.
  void SetReader(PresenceReader reader) { reader_ = std::move(reader); }

  void Subscribe(WatchReactor* reactor);
  void Unsubscribe(WatchReactor* reactor);
  // The loop (a ServiceContext worker): follows the agent-events stream (presence's own
  // events, events::AgentStreamKey) of every watched tenant, from kCatchUp before its
  // first watcher subscribed.
  void Run(const std::stop_token& stop, const redis::RedisUrl& url);

 private:
  void Publish(const std::string& tenant, const std::string& agent);

  PresenceReader reader_;
  std::mutex mu_;
  static constexpr absl::Duration kCatchUp = absl::Seconds(5);

  std::multimap<std::string, WatchReactor*> watchers_;  // tenant -> reactor
  std::map<std::string, std::string> since_;            // newly watched tenant -> first stream id
};

}  // namespace kefu::presence
