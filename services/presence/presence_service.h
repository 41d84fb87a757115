#pragma once

#include <vector>

#include "absl/time/time.h"
#include "kefu/presence/v1/presence.grpc.pb.h"
#include "libs/auth/authorize.h"
#include "libs/common/embedded.h"
#include "libs/events/events.h"
#include "libs/redis/client.h"
#include "libs/redis/script.h"
#include "libs/server/service_main.h"
#include "services/presence/watch.h"

namespace kefu::presence {

struct PresenceSettings {
  absl::Duration heartbeat_interval = absl::Seconds(10);
  absl::Duration heartbeat_timeout = absl::Seconds(30);  // F22: missed window -> OFFLINE
  absl::Duration seat_empty_limit = absl::Seconds(30);   // F21: empty seat -> OFFLINE
  // F22: a chair pressure reading outside [min, max] means nobody sits there.
  double pressure_min = 20;
  double pressure_max = 250;
  double camera_min_confidence = 0.6;
};

// kefu.presence.v1.PresenceService: agent status, sessions, heartbeats, seat sensors
// (F20-F23). Live state in Redis (lua/presence.lua); every change is an event on the
// tenant's stream, which wakes the router. Settings: the flags' values (defaults) with
// each tenant's changes from UpdatePresenceSettings on top (P presence:cfg in Redis).
// Watch is a callback-API server stream fed by a WatchHub.
class PresenceServiceImpl final
    : public v1::PresenceService::WithCallbackMethod_Watch<v1::PresenceService::Service> {
 public:
  PresenceServiceImpl(redis::Pool* pool, redis::Script* script,
                      const auth::Authenticator* authenticator, PresenceSettings settings,
                      WatchHub* hub = nullptr)
      : pool_(pool),
        script_(script),
        authenticator_(authenticator),
        settings_(settings),
        hub_(hub) {}

  // kefu::presence::v1::PresenceService::Service
  grpc::Status Login(grpc::ServerContext* context, const v1::LoginRequest* request,
                     v1::LoginResponse* response) override;
  grpc::Status Logout(grpc::ServerContext* context, const v1::LogoutRequest* request,
                      v1::LogoutResponse* response) override;
  grpc::Status SetStatus(grpc::ServerContext* context, const v1::SetStatusRequest* request,
                         v1::SetStatusResponse* response) override;
  grpc::Status Heartbeat(grpc::ServerContext* context, const v1::HeartbeatRequest* request,
                         v1::HeartbeatResponse* response) override;
  grpc::Status ReportSeat(grpc::ServerContext* context, const v1::ReportSeatRequest* request,
                          v1::ReportSeatResponse* response) override;
  grpc::Status GetAgent(grpc::ServerContext* context, const v1::GetAgentRequest* request,
                        v1::GetAgentResponse* response) override;
  grpc::Status ListAgents(grpc::ServerContext* context, const v1::ListAgentsRequest* request,
                          v1::ListAgentsResponse* response) override;
  grpc::ServerWriteReactor<v1::WatchResponse>* Watch(grpc::CallbackServerContext* context,
                                                     const v1::WatchRequest* request) override;
  grpc::Status GetPresenceSettings(grpc::ServerContext* context,
                                   const v1::GetPresenceSettingsRequest* request,
                                   v1::GetPresenceSettingsResponse* response) override;
  grpc::Status UpdatePresenceSettings(grpc::ServerContext* context,
                                      const v1::UpdatePresenceSettingsRequest* request,
                                      v1::UpdatePresenceSettingsResponse* response) override;

  // One agent's live presence (the hub reads changed agents with it).
  absl::StatusOr<v1::AgentPresence> Read(const std::string& tenant, const std::string& agent);
  // Every logged-in agent's presence, by agent id.
  absl::StatusOr<std::vector<v1::AgentPresence>> ReadAll(const std::string& tenant);

 private:
  absl::StatusOr<redis::Reply> Run(const std::string& tenant, std::vector<std::string> args);
  // The tenant's settings: the defaults with its stored changes on top.
  absl::StatusOr<PresenceSettings> Settings(const std::string& tenant);

  redis::Pool* pool_;
  redis::Script* script_;
  events::TenantRegistry tenants_;
  const auth::Authenticator* authenticator_;
  const PresenceSettings settings_;
  WatchHub* hub_;
};

// The presence service for ServiceMain or a test's ServiceRuntime (flags
// --heartbeat-timeout, --seat-empty-limit, --seat-pressure-min/max).
server::ServiceDefinition Definition();
// Same, with fixed settings (tests shorten the 30 s limits).
server::ServiceDefinition Definition(PresenceSettings settings);

}  // namespace kefu::presence
