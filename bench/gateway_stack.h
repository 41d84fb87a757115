#pragma once

// The in-process stack of the gateway benchmarks (gateway_bench, flow_bench): identity,
// router, presence, crm and a gateway wired to them, each a real service Setup on real
// gRPC over loopback, on the test support's throwaway Redis and PostgreSQL.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "kefu/presence/v1/presence.grpc.pb.h"
#include "kefu/router/v1/routing_admin.grpc.pb.h"
#include "libs/common/config.h"
#include "services/crm/crm_service.h"
#include "services/gateway/gateway_service.h"
#include "services/identity/identity_service.h"
#include "services/presence/presence_service.h"
#include "services/router/router_service.h"
#include "tests/support/env.h"
#include "tests/support/service_harness.h"

namespace kefu::bench {

// Exits the benchmark on a failed set-up call (ALREADY_EXISTS is fine on a re-run).
inline void Check(const grpc::Status& st, const char* what) {
  if (st.ok() || st.error_code() == grpc::StatusCode::ALREADY_EXISTS) return;
  std::fprintf(stderr, "bench: %s: %d %s\n", what, st.error_code(), st.error_message().c_str());
  std::exit(1);
}

inline testing::RunningService StartGateway(
    const std::map<std::string, std::string, std::less<>>& peers) {
  const server::ServiceDefinition definition = gateway::Definition();
  testing::RunningService out;
  ServiceConfig config;
  config.service = "gateway";
  config.grpc_addr = "127.0.0.1:0";
  config.metrics_addr = "";
  config.redis_url = testing::SharedEnv().redis_url;
  config.jwt_key = testing::kTestJwtKey;
  config.health_interval = absl::Milliseconds(200);
  config.drain_timeout = absl::Seconds(1);
  config.peers = peers;
  const ServiceInfo* info = FindService("gateway");
  if (info != nullptr && info->needs_postgres) {
    out.pg_dsn = testing::FreshDatabase("gateway");
    config.pg_dsn = out.pg_dsn;
  }
  auto runtime = server::ServiceRuntime::Start(definition, std::move(config));
  if (!runtime.ok()) {
    std::fprintf(stderr, "cannot start gateway: %s\n", runtime.status().ToString().c_str());
    std::exit(1);
  }
  out.runtime = std::move(*runtime);
  out.addr = absl::StrCat("127.0.0.1:", out.runtime->port());
  out.channel = grpc::CreateChannel(out.addr, grpc::InsecureChannelCredentials());
  return out;
}

struct GatewayStack {
  testing::RunningService identity = testing::StartService(identity::Definition());
  testing::RunningService router = testing::StartService(router::Definition());
  testing::RunningService presence = testing::StartService(presence::Definition());
  testing::RunningService crm =
      testing::StartService({.name = "crm", .register_flags = nullptr, .setup = crm::Setup});
  testing::RunningService gateway = StartGateway({{"identity", identity.addr},
                                                  {"router", router.addr},
                                                  {"presence", presence.addr},
                                                  {"crm", crm.addr}});
  std::string tenant = testing::UniqueTenant("gwbench");
  std::string admin = testing::TokenFor(tenant, common::v1::ROLE_ADMIN, "boss", absl::Hours(2));
  std::string service =
      testing::TokenFor(tenant, common::v1::ROLE_SERVICE, "svc:bench", absl::Hours(2));

  // The default queue "main" with the department "support".
  void CreateQueue() {
    auto admin_stub = router::v1::RoutingAdminService::NewStub(router.channel);
    router::v1::CreateQueueRequest queue;
    queue.mutable_queue()->set_queue_id("main");
    queue.mutable_queue()->set_is_default(true);
    router::v1::CreateQueueResponse queue_response;
    Check(admin_stub->CreateQueue(testing::CallWith(admin).get(), queue, &queue_response),
          "CreateQueue");
    router::v1::CreateDepartmentRequest dept;
    dept.mutable_department()->set_department_id("support");
    dept.mutable_department()->set_queue_id("main");
    router::v1::CreateDepartmentResponse dept_response;
    Check(admin_stub->CreateDepartment(testing::CallWith(admin).get(), dept, &dept_response),
          "CreateDepartment");
  }

  struct Agent {
    std::string token;
    std::string session;  // presence session, for heartbeats
  };
  // An agent of "support" taking up to `max_concurrent` dialogs, logged in and ONLINE.
  Agent OnlineAgent(const std::string& id, int max_concurrent) {
    auto admin_stub = router::v1::RoutingAdminService::NewStub(router.channel);
    auto presence_stub = presence::v1::PresenceService::NewStub(presence.channel);
    const std::string token = testing::TokenFor(tenant, common::v1::ROLE_AGENT, id, absl::Hours(2));
    router::v1::SetAgentProfileRequest profile;
    profile.mutable_profile()->set_agent_id(id);
    profile.mutable_profile()->set_max_concurrent(max_concurrent);
    profile.mutable_profile()->set_enabled(true);
    profile.mutable_profile()->add_department_ids("support");
    router::v1::SetAgentProfileResponse ignored;
    Check(admin_stub->SetAgentProfile(testing::CallWith(admin).get(), profile, &ignored),
          "SetAgentProfile");
    presence::v1::LoginResponse logged_in;
    Check(presence_stub->Login(testing::CallWith(token).get(), presence::v1::LoginRequest(),
                               &logged_in),
          "presence Login");
    presence::v1::SetStatusRequest online;
    online.set_status(common::v1::AGENT_STATUS_ONLINE);
    presence::v1::SetStatusResponse status;
    Check(presence_stub->SetStatus(testing::CallWith(token).get(), online, &status), "SetStatus");
    return Agent{token, logged_in.session_id()};
  }
};

}  // namespace kefu::bench
