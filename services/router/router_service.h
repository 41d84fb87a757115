#pragma once

#include <memory>
#include <vector>

#include "kefu/router/v1/routing.grpc.pb.h"
#include "kefu/router/v1/routing_admin.grpc.pb.h"
#include "libs/auth/authorize.h"
#include "libs/common/embedded.h"
#include "libs/server/service_main.h"
#include "services/router/admin_store.h"
#include "services/router/config_cache.h"
#include "services/router/geo.h"
#include "services/router/redis_router.h"

namespace kefu::embedded {
const std::vector<EmbeddedFile>& RouterMigrations();
}  // namespace kefu::embedded

namespace kefu::router {

// kefu.router.v1.RoutingService: the live ACD (F12, F13, F17, F19). Called by the gateway
// with a platform SERVICE token naming the tenant, or by agents for their own offers.
// Enqueue applies entry point designations (F16) and region strategies (F15) with the
// region resolved from the visitor's IP by `geo`; ResolveRegion exposes the lookup.
class RoutingServiceImpl final : public v1::RoutingService::Service {
 public:
  RoutingServiceImpl(RedisRouter* router, AdminStore* store,
                     const auth::Authenticator* authenticator, const GeoResolver* geo,
                     DesignationCache* designations)
      : router_(router),
        store_(store),
        authenticator_(authenticator),
        geo_(geo),
        designations_(designations) {}

  // kefu::router::v1::RoutingService::Service
  grpc::Status Enqueue(grpc::ServerContext* context, const v1::EnqueueRequest* request,
                       v1::EnqueueResponse* response) override;
  grpc::Status Cancel(grpc::ServerContext* context, const v1::CancelRequest* request,
                      v1::CancelResponse* response) override;
  grpc::Status AcceptOffer(grpc::ServerContext* context, const v1::AcceptOfferRequest* request,
                           v1::AcceptOfferResponse* response) override;
  grpc::Status RejectOffer(grpc::ServerContext* context, const v1::RejectOfferRequest* request,
                           v1::RejectOfferResponse* response) override;
  grpc::Status PickUp(grpc::ServerContext* context, const v1::PickUpRequest* request,
                      v1::PickUpResponse* response) override;
  grpc::Status Transfer(grpc::ServerContext* context, const v1::TransferRequest* request,
                        v1::TransferResponse* response) override;
  grpc::Status TransferTargets(grpc::ServerContext* context,
                               const v1::TransferTargetsRequest* request,
                               v1::TransferTargetsResponse* response) override;
  grpc::Status BindExclusiveAgent(grpc::ServerContext* context,
                                  const v1::BindExclusiveAgentRequest* request,
                                  v1::BindExclusiveAgentResponse* response) override;
  grpc::Status SuggestAgents(grpc::ServerContext* context, const v1::SuggestAgentsRequest* request,
                             v1::SuggestAgentsResponse* response) override;
  grpc::Status ListWaitingContacts(grpc::ServerContext* context,
                                   const v1::ListWaitingContactsRequest* request,
                                   v1::ListWaitingContactsResponse* response) override;
  grpc::Status QueueStatus(grpc::ServerContext* context, const v1::QueueStatusRequest* request,
                           v1::QueueStatusResponse* response) override;
  grpc::Status Release(grpc::ServerContext* context, const v1::ReleaseRequest* request,
                       v1::ReleaseResponse* response) override;
  grpc::Status ResolveRegion(grpc::ServerContext* context, const v1::ResolveRegionRequest* request,
                             v1::ResolveRegionResponse* response) override;

 private:
  // The caller's tenant, and the agent it acts for: agents only for themselves.
  absl::StatusOr<std::pair<std::string, std::string>> AgentCall(grpc::ServerContext* context,
                                                                const std::string& tenant_id,
                                                                const std::string& agent_id);
  RedisRouter* router_;
  AdminStore* store_;
  const auth::Authenticator* authenticator_;
  const GeoResolver* geo_;
  DesignationCache* designations_;
};

// kefu.router.v1.RoutingAdminService: departments (F11), queues and strategies (F12),
// agent routing profiles (F13, F54), tier map (F10), in PostgreSQL and cached in Redis
// for the routing script; entry points (F16) and region strategies (F15), whose changes
// bump the tenant's configuration version so every replica reloads them.
class RoutingAdminServiceImpl final : public v1::RoutingAdminService::Service {
 public:
  RoutingAdminServiceImpl(AdminStore* store, RedisRouter* router,
                          const auth::Authenticator* authenticator)
      : store_(store), router_(router), authenticator_(authenticator) {}

  // kefu::router::v1::RoutingAdminService::Service
  grpc::Status CreateDepartment(grpc::ServerContext* context,
                                const v1::CreateDepartmentRequest* request,
                                v1::CreateDepartmentResponse* response) override;
  grpc::Status UpdateDepartment(grpc::ServerContext* context,
                                const v1::UpdateDepartmentRequest* request,
                                v1::UpdateDepartmentResponse* response) override;
  grpc::Status GetDepartment(grpc::ServerContext* context, const v1::GetDepartmentRequest* request,
                             v1::GetDepartmentResponse* response) override;
  grpc::Status ListDepartments(grpc::ServerContext* context,
                               const v1::ListDepartmentsRequest* request,
                               v1::ListDepartmentsResponse* response) override;
  grpc::Status CreateQueue(grpc::ServerContext* context, const v1::CreateQueueRequest* request,
                           v1::CreateQueueResponse* response) override;
  grpc::Status UpdateQueue(grpc::ServerContext* context, const v1::UpdateQueueRequest* request,
                           v1::UpdateQueueResponse* response) override;
  grpc::Status GetQueue(grpc::ServerContext* context, const v1::GetQueueRequest* request,
                        v1::GetQueueResponse* response) override;
  grpc::Status ListQueues(grpc::ServerContext* context, const v1::ListQueuesRequest* request,
                          v1::ListQueuesResponse* response) override;
  grpc::Status SetAgentProfile(grpc::ServerContext* context,
                               const v1::SetAgentProfileRequest* request,
                               v1::SetAgentProfileResponse* response) override;
  grpc::Status GetAgentProfile(grpc::ServerContext* context,
                               const v1::GetAgentProfileRequest* request,
                               v1::GetAgentProfileResponse* response) override;
  grpc::Status ListAgentProfiles(grpc::ServerContext* context,
                                 const v1::ListAgentProfilesRequest* request,
                                 v1::ListAgentProfilesResponse* response) override;
  grpc::Status GetTierMap(grpc::ServerContext* context, const v1::GetTierMapRequest* request,
                          v1::GetTierMapResponse* response) override;
  grpc::Status SetTierMap(grpc::ServerContext* context, const v1::SetTierMapRequest* request,
                          v1::SetTierMapResponse* response) override;
  grpc::Status DeleteDepartment(grpc::ServerContext* context,
                                const v1::DeleteDepartmentRequest* request,
                                v1::DeleteDepartmentResponse* response) override;
  grpc::Status DeleteQueue(grpc::ServerContext* context, const v1::DeleteQueueRequest* request,
                           v1::DeleteQueueResponse* response) override;
  grpc::Status DeleteAgentProfile(grpc::ServerContext* context,
                                  const v1::DeleteAgentProfileRequest* request,
                                  v1::DeleteAgentProfileResponse* response) override;
  grpc::Status SetCapabilityScores(grpc::ServerContext* context,
                                   const v1::SetCapabilityScoresRequest* request,
                                   v1::SetCapabilityScoresResponse* response) override;
  grpc::Status CreateEntryPoint(grpc::ServerContext* context,
                                const v1::CreateEntryPointRequest* request,
                                v1::CreateEntryPointResponse* response) override;
  grpc::Status UpdateEntryPoint(grpc::ServerContext* context,
                                const v1::UpdateEntryPointRequest* request,
                                v1::UpdateEntryPointResponse* response) override;
  grpc::Status DeleteEntryPoint(grpc::ServerContext* context,
                                const v1::DeleteEntryPointRequest* request,
                                v1::DeleteEntryPointResponse* response) override;
  grpc::Status GetEntryPoint(grpc::ServerContext* context, const v1::GetEntryPointRequest* request,
                             v1::GetEntryPointResponse* response) override;
  grpc::Status ListEntryPoints(grpc::ServerContext* context,
                               const v1::ListEntryPointsRequest* request,
                               v1::ListEntryPointsResponse* response) override;
  grpc::Status CreateRegionStrategy(grpc::ServerContext* context,
                                    const v1::CreateRegionStrategyRequest* request,
                                    v1::CreateRegionStrategyResponse* response) override;
  grpc::Status UpdateRegionStrategy(grpc::ServerContext* context,
                                    const v1::UpdateRegionStrategyRequest* request,
                                    v1::UpdateRegionStrategyResponse* response) override;
  grpc::Status DeleteRegionStrategy(grpc::ServerContext* context,
                                    const v1::DeleteRegionStrategyRequest* request,
                                    v1::DeleteRegionStrategyResponse* response) override;
  grpc::Status ListRegionStrategies(grpc::ServerContext* context,
                                    const v1::ListRegionStrategiesRequest* request,
                                    v1::ListRegionStrategiesResponse* response) override;

 private:
  absl::Status PutDepartment(grpc::ServerContext* context, const v1::Department& department,
                             bool create, v1::Department* out);
  absl::Status PutQueue(grpc::ServerContext* context, const v1::Queue& queue, bool create,
                        v1::Queue* out);
  // Writes the agent's routing fields and queues to Redis (and matches waiting contacts).
  absl::Status SyncAgent(const std::string& tenant, const v1::AgentProfile& profile);
  absl::Status PutEntryPoint(grpc::ServerContext* context, const v1::EntryPoint& entry_point,
                             const google::protobuf::FieldMask& mask, bool create,
                             v1::EntryPoint* out);
  absl::Status PutRegionStrategy(grpc::ServerContext* context, const v1::RegionStrategy& strategy,
                                 const google::protobuf::FieldMask& mask, bool create,
                                 v1::RegionStrategy* out);
  // INVALID_ARGUMENT unless every id names an agent profile / department of the tenant.
  absl::Status CheckAgents(const std::string& tenant, absl::string_view field,
                           const google::protobuf::RepeatedPtrField<std::string>& ids);
  absl::Status CheckDepartments(const std::string& tenant, absl::string_view field,
                                const google::protobuf::RepeatedPtrField<std::string>& ids);

  AdminStore* store_;
  RedisRouter* router_;
  const auth::Authenticator* authenticator_;
};

struct RouterOptions {
  // MaxMind DB for ResolveRegion and region strategies (F15); "" = the default country
  // database built from Debian's geoip-database (DefaultGeoDatabase()), if any.
  std::string geo_database;
};

// The router for ServiceMain (flag --geo-database / KEFU_GEO_DATABASE) or a test's
// ServiceRuntime.
server::ServiceDefinition Definition();
server::ServiceDefinition Definition(RouterOptions options);

}  // namespace kefu::router
