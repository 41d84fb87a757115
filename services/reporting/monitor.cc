#include "services/reporting/monitor.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>

#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "libs/common/embedded.h"
#include "libs/common/status.h"
#include "libs/common/status_macros.h"
#include "libs/events/events.h"

namespace kefu::embedded {
const std::vector<EmbeddedFile>& ReportingScripts();
}  // namespace kefu::embedded

namespace kefu::reporting {
namespace {

using google::protobuf::util::TimeUtil;
using kefu::common::v1::ROLE_ADMIN;
using kefu::common::v1::ROLE_SERVICE;
using kefu::common::v1::ROLE_SUPERVISOR;

constexpr int kScanBatch = 500;
constexpr int kMaxContacts = 200'000;

void CountAgent(v1::AgentStatusCounts* counts, int status) {
  switch (status) {
    case 1:
      counts->set_online(counts->online() + 1);
      break;
    case 2:
      counts->set_busy(counts->busy() + 1);
      break;
    case 3:
      counts->set_away(counts->away() + 1);
      break;
    default:
      counts->set_offline(counts->offline() + 1);
  }
}

absl::Status CheckIds(absl::string_view field,
                      const google::protobuf::RepeatedPtrField<std::string>& ids) {
  if (ids.size() > 100) return InvalidField(field, "at most 100 ids");
  for (const auto& id : ids) {
    if (id.empty() || id.size() > 128) return InvalidField(field, "ids are 1-128 characters");
  }
  return absl::OkStatus();
}

}  // namespace

LiveReader::LiveReader(redis::Pool* pool)
    : pool_(pool),
      script_("reporting-monitor", redis::Script::Concat(embedded::ReportingScripts())) {}

absl::StatusOr<LiveState> LiveReader::Read(const std::string& tenant) {
  KEFU_RETURN_IF_ERROR(events::ValidateTenantId(tenant));
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  LiveState out;
  const std::string pattern = events::TenantKey(tenant, "contact:*");
  std::string cursor = "0";
  std::vector<std::string> batch;
  auto flush = [&]() -> absl::Status {
    if (batch.empty()) return absl::OkStatus();
    std::vector<absl::string_view> keys(batch.begin(), batch.end());
    KEFU_ASSIGN_OR_RETURN(redis::Reply reply, script_.Run(**lease, keys, {"contacts", tenant}));
    const redisReply* list = reply->element[1];
    for (size_t i = 0; i + 3 < list->elements; i += 4) {
      out.contacts.push_back({static_cast<int>(redis::ReplyInt(list->element[i])),
                              redis::ReplyText(list->element[i + 1]),
                              redis::ReplyText(list->element[i + 2]),
                              redis::ReplyInt(list->element[i + 3])});
    }
    batch.clear();
    return absl::OkStatus();
  };
  int seen = 0;
  do {
    KEFU_ASSIGN_OR_RETURN(redis::Reply page,
                          (*lease)->Command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"}));
    cursor = std::string(redis::ReplyString(*page->element[0]));
    const redisReply* keys = page->element[1];
    for (size_t i = 0; i < keys->elements; ++i) {
      batch.emplace_back(redis::ReplyString(*keys->element[i]));
      ++seen;
      if (static_cast<int>(batch.size()) >= kScanBatch) KEFU_RETURN_IF_ERROR(flush());
    }
  } while (cursor != "0" && seen < kMaxContacts);
  KEFU_RETURN_IF_ERROR(flush());
  const std::string stream = events::StreamKey(tenant);
  KEFU_ASSIGN_OR_RETURN(redis::Reply agents, script_.Run(**lease, {stream}, {"agents", tenant}));
  out.now_ms = redis::ReplyInt(agents->element[0]);
  const redisReply* list = agents->element[1];
  for (size_t i = 0; i + 1 < list->elements; i += 2) {
    LiveState::Agent agent;
    agent.status = static_cast<int>(redis::ReplyInt(list->element[i]));
    for (absl::string_view d :
         absl::StrSplit(redis::ReplyText(list->element[i + 1]), ',', absl::SkipEmpty())) {
      agent.departments.emplace_back(d);
    }
    out.agents.push_back(std::move(agent));
  }
  return out;
}

v1::Snapshot BuildSnapshot(const LiveState& live, const std::map<std::string, GroupToday>& today,
                           const std::set<std::string>& only) {
  std::map<std::string, v1::GroupMonitor> groups;
  std::map<std::string, int64_t> oldest;  // group -> earliest enqueue ms of a waiting contact
  auto wanted = [&](const std::string& g) { return only.empty() || only.count(g) > 0; };
  auto group = [&](const std::string& g) -> v1::GroupMonitor& {
    auto& m = groups[g];
    m.set_department_id(g);
    return m;
  };
  v1::Snapshot snap;
  int64_t tenant_oldest = 0;
  for (const auto& c : live.contacts) {
    const std::string& g = c.department.empty() ? c.queue : c.department;
    if (!wanted(g)) continue;
    auto& m = group(g);
    if (c.state == 3 || c.state == 4) {
      if (c.state == 3) {
        m.set_queue_length(m.queue_length() + 1);
        snap.set_queue_length(snap.queue_length() + 1);
      } else {
        m.set_offered(m.offered() + 1);
      }
      auto& o = oldest[g];
      if (o == 0 || c.enqueued_ms < o) o = c.enqueued_ms;
      if (tenant_oldest == 0 || c.enqueued_ms < tenant_oldest) tenant_oldest = c.enqueued_ms;
    } else if (c.state == 5) {
      m.set_dialogs_in_progress(m.dialogs_in_progress() + 1);
      snap.set_dialogs_in_progress(snap.dialogs_in_progress() + 1);
    }
  }
  for (const auto& a : live.agents) {
    bool any = only.empty();
    for (const auto& d : a.departments) {
      if (!wanted(d)) continue;
      any = true;
      CountAgent(group(d).mutable_agents(), a.status);
    }
    if (any) CountAgent(snap.mutable_agents(), a.status);
  }
  for (const auto& [g, t] : today) {
    if (!wanted(g)) continue;
    auto& m = group(g);
    m.set_contacts_today(t.contacts);
    m.set_connected_today(t.connected);
    m.set_abandoned_today(t.abandoned);
  }
  for (auto& [g, m] : groups) {
    auto it = oldest.find(g);
    const int64_t wait_ms = it == oldest.end() ? 0 : std::max<int64_t>(0, live.now_ms - it->second);
    *m.mutable_longest_wait() = TimeUtil::MillisecondsToDuration(wait_ms);
    if (!m.has_agents()) m.mutable_agents();
    *snap.add_groups() = m;
  }
  *snap.mutable_longest_wait() = TimeUtil::MillisecondsToDuration(
      tenant_oldest == 0 ? 0 : std::max<int64_t>(0, live.now_ms - tenant_oldest));
  *snap.mutable_time() = TimeUtil::MillisecondsToTimestamp(live.now_ms);
  return snap;
}

MonitorServiceImpl::MonitorServiceImpl(ReportStore* store, LiveReader* live,
                                       const auth::Authenticator* auth,
                                       std::string default_time_zone,
                                       prometheus::Registry& registry)
    : store_(store),
      live_(live),
      auth_(auth),
      default_time_zone_(std::move(default_time_zone)),
      watchers_(prometheus::BuildGauge()
                    .Name("kefu_reporting_monitor_watchers")
                    .Help("WatchSnapshot streams open now")
                    .Register(registry)
                    .Add({})) {}

absl::StatusOr<v1::Snapshot> MonitorServiceImpl::Take(
    const std::string& tenant, const google::protobuf::RepeatedPtrField<std::string>& only) {
  KEFU_ASSIGN_OR_RETURN(LiveState live, live_->Read(tenant));
  KEFU_ASSIGN_OR_RETURN(auto today, store_->Today(tenant, default_time_zone_, live.now_ms * 1000));
  return BuildSnapshot(live, today, std::set<std::string>(only.begin(), only.end()));
}

grpc::Status MonitorServiceImpl::GetSnapshot(grpc::ServerContext* context,
                                             const v1::GetSnapshotRequest* request,
                                             v1::GetSnapshotResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller,
                          auth_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_SERVICE}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
    KEFU_RETURN_IF_ERROR(CheckIds("department_ids", request->department_ids()));
    KEFU_ASSIGN_OR_RETURN(*response->mutable_snapshot(), Take(tenant, request->department_ids()));
    return absl::OkStatus();
  });
}

grpc::Status MonitorServiceImpl::WatchSnapshot(
    grpc::ServerContext* context, const v1::WatchSnapshotRequest* request,
    grpc::ServerWriter<v1::WatchSnapshotResponse>* writer) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller,
                          auth_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_SERVICE}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
    KEFU_RETURN_IF_ERROR(CheckIds("department_ids", request->department_ids()));
    absl::Duration interval = absl::Seconds(1);
    if (request->has_min_interval()) {
      const int64_t ms = TimeUtil::DurationToMilliseconds(request->min_interval());
      if (ms < 0) return InvalidField("min_interval", "must not be negative");
      if (ms > 0) interval = std::max(absl::Milliseconds(200), absl::Milliseconds(ms));
    }
    watchers_.Increment();
    struct Done {
      prometheus::Gauge& g;
      ~Done() { g.Decrement(); }
    } done{watchers_};
    std::string last;
    while (!context->IsCancelled()) {
      const absl::Time next = absl::Now() + interval;
      KEFU_ASSIGN_OR_RETURN(v1::Snapshot snap, Take(tenant, request->department_ids()));
      // Sent when anything but the clock changed (waits grow while someone waits).
      v1::Snapshot key = snap;
      key.clear_time();
      std::string bytes;
      key.SerializeToString(&bytes);
      if (bytes != last) {
        v1::WatchSnapshotResponse response;
        *response.mutable_snapshot() = std::move(snap);
        if (!writer->Write(response)) return absl::OkStatus();  // the caller went away
        last = std::move(bytes);
      }
      while (!context->IsCancelled() && absl::Now() < next) {
        absl::SleepFor(std::min(absl::Milliseconds(50), next - absl::Now()));
      }
    }
    return absl::OkStatus();
  });
}

}  // namespace kefu::reporting
