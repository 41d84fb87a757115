#pragma once

#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kefu/reporting/v1/monitor.grpc.pb.h"
#include "libs/auth/authorize.h"
#include "libs/redis/client.h"
#include "libs/redis/script.h"
#include "services/reporting/report_store.h"

namespace kefu::reporting {

// One tenant's live contacts and logged-in agents as Redis holds them.
struct LiveState {
  struct Contact {
    int state = 0;  // 3 QUEUED, 4 OFFERED, 5 ACTIVE (route.lua)
    std::string queue;
    std::string department;
    int64_t enqueued_ms = 0;
  };
  struct Agent {
    int status = 4;  // kefu.common.v1.AgentStatus
    std::vector<std::string> departments;
  };
  int64_t now_ms = 0;
  std::vector<Contact> contacts;
  std::vector<Agent> agents;
};

// Reads LiveState with SCAN (client side) and services/reporting/lua/monitor.lua.
class LiveReader final {
 public:
  explicit LiveReader(redis::Pool* pool);
  absl::StatusOr<LiveState> Read(const std::string& tenant);

 private:
  redis::Pool* pool_;
  redis::Script script_;
};

// The snapshot from live state and today's counts (pure; F60). A contact belongs to its
// department (its queue's when the department is unknown); an agent to each of theirs.
// `only` empty = every group.
kefu::reporting::v1::Snapshot BuildSnapshot(const LiveState& live,
                                            const std::map<std::string, GroupToday>& today,
                                            const std::set<std::string>& only);

// kefu.reporting.v1.MonitorService (F60): admins, supervisors and service callers.
//   kefu_reporting_monitor_watchers   WatchSnapshot streams open now
class MonitorServiceImpl final : public v1::MonitorService::Service {
 public:
  MonitorServiceImpl(ReportStore* store, LiveReader* live, const auth::Authenticator* auth,
                     std::string default_time_zone, prometheus::Registry& registry);

  grpc::Status GetSnapshot(grpc::ServerContext* context, const v1::GetSnapshotRequest* request,
                           v1::GetSnapshotResponse* response) override;
  grpc::Status WatchSnapshot(grpc::ServerContext* context, const v1::WatchSnapshotRequest* request,
                             grpc::ServerWriter<v1::WatchSnapshotResponse>* writer) override;

 private:
  absl::StatusOr<v1::Snapshot> Take(const std::string& tenant,
                                    const google::protobuf::RepeatedPtrField<std::string>& only);

  ReportStore* store_;
  LiveReader* live_;
  const auth::Authenticator* auth_;
  const std::string default_time_zone_;
  prometheus::Gauge& watchers_;
};

}  // namespace kefu::reporting
