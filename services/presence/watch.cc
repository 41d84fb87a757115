#include "services/presence/watch.h"

#include "absl/time/clock.h"
#include "kefu/events/v1/events.pb.h"
#include "libs/events/events.h"

namespace kefu::presence {

WatchReactor::WatchReactor(WatchHub* hub, std::string tenant, std::set<std::string> departments,
                           std::vector<v1::AgentPresence> snapshot)
    : hub_(hub), tenant_(std::move(tenant)), departments_(std::move(departments)) {
  v1::PresenceSnapshot* first = snapshot_.mutable_snapshot();
  for (auto& presence : snapshot) {
    if (!Wanted(presence)) continue;
    statuses_[presence.agent_id()] = presence.status();
    *first->add_agents() = std::move(presence);
  }
  *first->mutable_counts() = Counts();
  *snapshot_.mutable_counts() = first->counts();
  hub_->Subscribe(this);
  std::lock_guard lock(mu_);
  WriteNextLocked();
}

bool WatchReactor::Wanted(const v1::AgentPresence& presence) const {
  if (departments_.empty()) return true;
  for (const auto& d : presence.department_ids()) {
    if (departments_.contains(d)) return true;
  }
  return false;
}

v1::StatusCounts WatchReactor::Counts() const {
  v1::StatusCounts counts;
  for (const auto& [agent, status] : statuses_) {
    switch (status) {
      case kefu::common::v1::AGENT_STATUS_ONLINE:
        counts.set_online(counts.online() + 1);
        break;
      case kefu::common::v1::AGENT_STATUS_BUSY:
        counts.set_busy(counts.busy() + 1);
        break;
      case kefu::common::v1::AGENT_STATUS_AWAY:
        counts.set_away(counts.away() + 1);
        break;
      default:
        counts.set_offline(counts.offline() + 1);
    }
  }
  return counts;
}

void WatchReactor::Push(const v1::AgentPresence& presence) {
  if (!Wanted(presence)) return;
  std::lock_guard lock(mu_);
  if (finished_) return;
  statuses_[presence.agent_id()] = presence.status();
  // Coalesce: a client that has not taken the previous update of this agent gets the
  // newest one only.
  if (latest_.insert_or_assign(presence.agent_id(), presence).second) {
    order_.push_back(presence.agent_id());
  }
  WriteNextLocked();
}

void WatchReactor::WriteNextLocked() {
  if (writing_ || finished_) return;
  if (snapshot_pending_) {
    snapshot_pending_ = false;
    current_ = snapshot_;
  } else if (!order_.empty()) {
    const std::string agent = order_.front();
    order_.pop_front();
    current_.Clear();
    *current_.mutable_changed() = std::move(latest_[agent]);
    latest_.erase(agent);
    *current_.mutable_counts() = Counts();
  } else {
    return;
  }
  writing_ = true;
  StartWrite(&current_);
}

void WatchReactor::OnWriteDone(bool ok) {
  bool finish = false;
  {
    std::lock_guard lock(mu_);
    writing_ = false;
    if (ok) {
      WriteNextLocked();
      return;
    }
    finish = !finished_;
    finished_ = true;
  }
  // Outside the lock: OnDone (which deletes this) may follow Finish at once.
  if (finish) Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "stream broken"));
}

void WatchReactor::OnCancel() {
  bool finish;
  {
    std::lock_guard lock(mu_);
    finish = !finished_;
    finished_ = true;
  }
  if (finish) Finish(grpc::Status::CANCELLED);
}

void WatchReactor::OnDone() {
  hub_->Unsubscribe(this);  // waits for a Push in progress
  delete this;
}

void WatchHub::Subscribe(WatchReactor* reactor) {
  std::lock_guard lock(mu_);
  watchers_.emplace(reactor->tenant(), reactor);
  // The loop starts following a newly watched tenant a little before now, so a change made
  // between the snapshot and the loop's next turn is not missed (re-reading is harmless:
  // each event only triggers a read of the agent's current presence).
  since_.try_emplace(reactor->tenant(),
                     absl::StrCat(absl::ToUnixMillis(absl::Now() - kCatchUp), "-0"));
}

void WatchHub::Unsubscribe(WatchReactor* reactor) {
  std::lock_guard lock(mu_);
  auto [begin, end] = watchers_.equal_range(reactor->tenant());
  for (auto it = begin; it != end; ++it) {
    if (it->second == reactor) {
      watchers_.erase(it);
      return;
    }
  }
}

void WatchHub::Publish(const std::string& tenant, const std::string& agent) {
  {
    std::lock_guard lock(mu_);
    if (!watchers_.contains(tenant)) return;  // nobody watches: no read
  }
  auto presence = reader_(tenant, agent);
  if (!presence.ok()) return;
  std::lock_guard lock(mu_);
  auto [begin, end] = watchers_.equal_range(tenant);
  for (auto it = begin; it != end; ++it) it->second->Push(*presence);
}

void WatchHub::Run(const std::stop_token& stop, const redis::RedisUrl& url) {
  std::unique_ptr<redis::Connection> conn;
  std::map<std::string, std::string> last_ids;  // watched tenant -> last stream id seen
  while (!stop.stop_requested()) {
    if (conn == nullptr || conn->broken()) {
      auto opened = redis::Connection::Open(url, absl::Seconds(3));
      if (!opened.ok()) {
        absl::SleepFor(absl::Milliseconds(500));
        continue;
      }
      conn = std::move(*opened);
    }
    {
      // Follow exactly the watched tenants.
      std::lock_guard lock(mu_);
      for (auto it = last_ids.begin(); it != last_ids.end();) {
        it = watchers_.contains(it->first) ? std::next(it) : last_ids.erase(it);
      }
      for (const auto& [tenant, since] : since_) last_ids.try_emplace(tenant, since);
      since_.clear();
    }
    if (last_ids.empty()) {
      absl::SleepFor(absl::Milliseconds(100));
      continue;
    }
    std::vector<std::string> argv = {"XREAD", "COUNT", "500", "BLOCK", "250", "STREAMS"};
    std::map<std::string, std::string> by_key;  // stream key -> tenant
    for (const auto& [tenant, id] : last_ids) {
      argv.push_back(events::AgentStreamKey(tenant));
      by_key[argv.back()] = tenant;
    }
    for (const auto& [key, id] : last_ids) argv.push_back(id);
    auto reply = conn->Command(std::vector<absl::string_view>(argv.begin(), argv.end()));
    if (!reply.ok() || redis::ReplyIsNil(**reply)) continue;
    for (size_t s = 0; s < (*reply)->elements; ++s) {
      const redisReply* stream = (*reply)->element[s];
      const auto named = by_key.find(std::string(redis::ReplyString(*stream->element[0])));
      if (named == by_key.end()) continue;
      const std::string& tenant = named->second;
      const redisReply* entries = stream->element[1];
      for (size_t e = 0; e < entries->elements; ++e) {
        const redisReply* entry = entries->element[e];
        last_ids[tenant] = std::string(redis::ReplyString(*entry->element[0]));
        const redisReply* fields = entry->element[1];
        absl::string_view type, bytes;
        for (size_t f = 0; f + 1 < fields->elements; f += 2) {
          const auto name = redis::ReplyString(*fields->element[f]);
          if (name == "type") type = redis::ReplyString(*fields->element[f + 1]);
          if (name == "event") bytes = redis::ReplyString(*fields->element[f + 1]);
        }
        if (type != "agent_status_changed" && type != "agent_logged_in" &&
            type != "agent_logged_out" && type != "seat_state_changed") {
          continue;
        }
        events::v1::Event event;
        if (!event.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) continue;
        std::string agent;
        if (event.has_agent_status_changed()) agent = event.agent_status_changed().agent_id();
        if (event.has_agent_logged_in()) agent = event.agent_logged_in().agent_id();
        if (event.has_agent_logged_out()) agent = event.agent_logged_out().agent_id();
        if (event.has_seat_state_changed()) agent = event.seat_state_changed().agent_id();
        if (!agent.empty()) Publish(tenant, agent);
      }
    }
  }
}

}  // namespace kefu::presence
