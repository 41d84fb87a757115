// The contact centre the gateway integration tests drive: identity, presence, router, crm
// and one or more gateway replicas in-process on real Redis and PostgreSQL, a tenant with
// VIP, general and billing departments, an admin and a supervisor
// (tests/integration/gateway*_test.cc).
#pragma once

#include <unistd.h>

#include <catch2/catch.hpp>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "kefu/crm/v1/customer.grpc.pb.h"
#include "kefu/crm/v1/record.grpc.pb.h"
#include "kefu/gateway/v1/gateway.grpc.pb.h"
#include "kefu/identity/v1/auth.grpc.pb.h"
#include "kefu/kb/v1/bot.grpc.pb.h"
#include "kefu/kb/v1/knowledge_admin.grpc.pb.h"
#include "kefu/presence/v1/presence.grpc.pb.h"
#include "kefu/router/v1/routing_admin.grpc.pb.h"
#include "services/crm/crm_service.h"
#include "services/gateway/gateway_service.h"
#include "services/identity/identity_service.h"
#include "services/kb/kb_service.h"
#include "services/presence/presence_service.h"
#include "services/router/router_service.h"
#include "tests/support/env.h"
#include "tests/support/service_harness.h"
#include "tests/support/stream_listener.h"

namespace {

namespace cv1 = kefu::common::v1;
namespace gv1 = kefu::gateway::v1;
namespace rv1 = kefu::router::v1;
namespace pv1 = kefu::presence::v1;
namespace crm = kefu::crm::v1;
using kefu::testing::CallWith;
using kefu::testing::Listener;
using kefu::testing::TokenFor;

kefu::crm::CrmOptions CrmTestOptions() {
  kefu::crm::CrmOptions options;
  options.events.group = absl::StrCat("crm-gw-test-", getpid());
  options.events.consumer = absl::StrCat("crm-gw-test-", getpid());
  options.events.block = absl::Milliseconds(100);
  options.events.tenant_refresh = absl::Milliseconds(100);
  options.events.retry_pause = absl::Milliseconds(100);
  return options;
}

struct Gateway {
  std::unique_ptr<kefu::server::ServiceRuntime> runtime;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<gv1::CustomerGatewayService::Stub> customer;
  std::unique_ptr<gv1::AgentGatewayService::Stub> agent;
};

// A contact centre: presence, router, crm and one or two gateways; a VIP and a general
// department, agents, an admin and a supervisor.
struct Stack {
  kefu::testing::RunningService identity =
      kefu::testing::StartService(kefu::identity::Definition());
  kefu::testing::RunningService presence =
      kefu::testing::StartService(kefu::presence::Definition());
  kefu::testing::RunningService router = kefu::testing::StartService(kefu::router::Definition());
  kefu::testing::RunningService crm_svc = kefu::testing::StartService(
      {.name = "crm", .register_flags = nullptr, .setup = [](kefu::server::ServiceContext& ctx) {
         return kefu::crm::SetupWith(ctx, CrmTestOptions());
       }});
  std::string tenant = kefu::testing::UniqueTenant("gw");
  std::string admin = TokenFor(tenant, cv1::ROLE_ADMIN, "boss");
  std::string supervisor = TokenFor(tenant, cv1::ROLE_SUPERVISOR, "sup");
  std::string widget = TokenFor(tenant, cv1::ROLE_SERVICE, "svc:widget");
  std::unique_ptr<rv1::RoutingAdminService::Stub> routing_admin =
      rv1::RoutingAdminService::NewStub(router.channel);
  std::unique_ptr<pv1::PresenceService::Stub> presence_stub =
      pv1::PresenceService::NewStub(presence.channel);
  std::unique_ptr<crm::CustomerService::Stub> customers =
      crm::CustomerService::NewStub(crm_svc.channel);
  std::unique_ptr<crm::RecordService::Stub> records = crm::RecordService::NewStub(crm_svc.channel);
  std::vector<Gateway> gateways;

  std::unique_ptr<kefu::identity::v1::AuthService::Stub> auth =
      kefu::identity::v1::AuthService::NewStub(identity.channel);

  // The knowledge base and its bots (F41, F42), only for the tests that need them.
  std::optional<kefu::testing::RunningService> kb;
  std::unique_ptr<kefu::kb::v1::KnowledgeAdminService::Stub> kb_admin;

  explicit Stack(int replicas = 1, bool with_kb = false,
                 absl::Duration verification_timeout = absl::Seconds(60)) {
    if (with_kb) {
      kb.emplace(kefu::testing::StartService(kefu::kb::Definition()));
      kb_admin = kefu::kb::v1::KnowledgeAdminService::NewStub(kb->channel);
    }
    // The tenant exists in identity, whose settings (F38) the gateway reads.
    kefu::identity::v1::CreateTenantRequest create;
    create.set_tenant_id(tenant);
    create.set_name("Gateway " + tenant);
    create.set_admin_username("boss");
    create.set_admin_password("correct horse battery");
    kefu::identity::v1::CreateTenantResponse created;
    auto made =
        auth->CreateTenant(CallWith(kefu::testing::PlatformToken()).get(), create, &created);
    INFO(made.error_message());
    REQUIRE(made.ok());
    for (int i = 0; i < replicas; ++i) {
      kefu::gateway::GatewaySettings settings;
      settings.sweep_interval = absl::Milliseconds(100);
      settings.tenant_settings_ttl = absl::Milliseconds(200);
      settings.verification_timeout = verification_timeout;
      settings.event_group = absl::StrCat("gateway-test-", getpid(), "-", tenant);
      auto def = kefu::gateway::Definition(settings);
      auto config = kefu::testing::TestServiceConfig(def, "");
      config.peers["crm"] = crm_svc.addr;
      config.peers["router"] = router.addr;
      config.peers["presence"] = presence.addr;
      config.peers["identity"] = identity.addr;
      if (kb) config.peers["kb"] = kb->addr;
      auto runtime = kefu::server::ServiceRuntime::Start(def, config);
      REQUIRE(runtime.ok());
      Gateway g;
      g.runtime = std::move(*runtime);
      g.channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", g.runtime->port()),
                                      grpc::InsecureChannelCredentials());
      g.customer = gv1::CustomerGatewayService::NewStub(g.channel);
      g.agent = gv1::AgentGatewayService::NewStub(g.channel);
      gateways.push_back(std::move(g));
    }
    Queue("q-vip");
    Queue("q-general", true);
    Queue("q-billing");
    Department("vip", "q-vip");
    Department("general", "q-general");
    Department("billing", "q-billing");
    rv1::SetTierMapRequest map;
    auto* g = map.add_groups();
    g->set_tier(cv1::CUSTOMER_TIER_VIP);
    g->add_department_ids("vip");
    rv1::SetTierMapResponse mapped;
    REQUIRE(routing_admin->SetTierMap(CallWith(admin).get(), map, &mapped).ok());
  }

  // Changes the tenant's settings (admin); gateways see them within their cache TTL.
  void Settings(const std::function<void(kefu::identity::v1::TenantSettings*)>& change,
                const std::vector<std::string>& paths) {
    kefu::identity::v1::UpdateTenantSettingsRequest request;
    change(request.mutable_settings());
    for (const auto& path : paths) request.mutable_update_mask()->add_paths(path);
    kefu::identity::v1::UpdateTenantSettingsResponse response;
    auto st = auth->UpdateTenantSettings(CallWith(admin).get(), request, &response);
    INFO(st.error_message());
    REQUIRE(st.ok());
  }

  // A widget entry point (F16) at the router, with its bot if any; returns its token.
  std::string EntryPoint(const std::string& id, const std::string& bot_id = "") {
    rv1::CreateEntryPointRequest request;
    auto* ep = request.mutable_entry_point();
    ep->set_entry_point_id(id);
    ep->set_name("Website " + id);
    ep->set_channel(cv1::CHANNEL_CHAT);
    ep->set_bot_id(bot_id);
    rv1::CreateEntryPointResponse response;
    auto st = routing_admin->CreateEntryPoint(CallWith(admin).get(), request, &response);
    INFO(st.error_message());
    REQUIRE(st.ok());
    kefu::identity::v1::IssueEntryPointTokenRequest issue;
    issue.set_entry_point_id(id);
    kefu::identity::v1::IssueEntryPointTokenResponse token;
    st = auth->IssueEntryPointToken(CallWith(admin).get(), issue, &token);
    INFO(st.error_message());
    REQUIRE(st.ok());
    return token.token();
  }

  void Queue(const std::string& id, bool is_default = false) {
    rv1::CreateQueueRequest request;
    request.mutable_queue()->set_queue_id(id);
    request.mutable_queue()->set_strategy(rv1::ROUTING_STRATEGY_LEAST_BUSY);
    request.mutable_queue()->set_is_default(is_default);
    request.mutable_queue()->mutable_offer_timeout()->set_seconds(30);
    rv1::CreateQueueResponse response;
    auto st = routing_admin->CreateQueue(CallWith(admin).get(), request, &response);
    INFO(st.error_message());
    REQUIRE(st.ok());
  }

  void Department(const std::string& id, const std::string& queue) {
    rv1::CreateDepartmentRequest request;
    request.mutable_department()->set_department_id(id);
    request.mutable_department()->set_queue_id(queue);
    rv1::CreateDepartmentResponse response;
    REQUIRE(routing_admin->CreateDepartment(CallWith(admin).get(), request, &response).ok());
  }

  std::string AgentToken(const std::string& id) { return TokenFor(tenant, cv1::ROLE_AGENT, id); }

  // Profile, presence login and ONLINE.
  void Agent(const std::string& id, const std::string& department, const std::string& nickname) {
    rv1::SetAgentProfileRequest request;
    auto* p = request.mutable_profile();
    p->set_agent_id(id);
    p->set_nickname(nickname);
    p->set_max_concurrent(3);
    p->set_enabled(true);
    p->add_department_ids(department);
    rv1::SetAgentProfileResponse response;
    REQUIRE(routing_admin->SetAgentProfile(CallWith(admin).get(), request, &response).ok());
    pv1::LoginResponse logged_in;
    REQUIRE(
        presence_stub->Login(CallWith(AgentToken(id)).get(), pv1::LoginRequest(), &logged_in).ok());
    pv1::SetStatusRequest online;
    online.set_status(cv1::AGENT_STATUS_ONLINE);
    pv1::SetStatusResponse set;
    REQUIRE(presence_stub->SetStatus(CallWith(AgentToken(id)).get(), online, &set).ok());
  }

  // Returns the new customer's id.
  std::string VipCustomer(const std::string& phone, const std::string& name) {
    crm::CreateCustomerRequest request;
    request.mutable_customer()->set_name(name);
    request.mutable_customer()->add_phones(phone);
    request.mutable_customer()->set_tier(cv1::CUSTOMER_TIER_VIP);
    crm::CreateCustomerResponse response;
    auto st = customers->CreateCustomer(CallWith(admin).get(), request, &response);
    INFO(st.error_message());
    REQUIRE(st.ok());
    return response.customer().customer_id();
  }

  gv1::StartContactResponse Start(const std::string& phone, int replica = 0,
                                  const std::string& department = "") {
    gv1::StartContactRequest request;
    request.set_channel(cv1::CHANNEL_CHAT);
    request.set_caller_number(phone);
    request.set_requested_department_id(department);
    gv1::StartContactResponse response;
    auto st = gateways[replica].customer->StartContact(CallWith(widget).get(), request, &response);
    INFO(st.error_message());
    REQUIRE(st.ok());
    return response;
  }

  std::unique_ptr<Listener<gv1::CustomerGatewayServiceUpdatesResponse>> CustomerUpdates(
      const std::string& token, int replica = 0) {
    auto* stub = gateways[replica].customer.get();
    return std::make_unique<Listener<gv1::CustomerGatewayServiceUpdatesResponse>>(
        [stub, token](grpc::ClientContext* ctx) {
          ctx->AddMetadata("authorization", "Bearer " + token);
          return stub->Updates(ctx, gv1::CustomerGatewayServiceUpdatesRequest());
        });
  }

  std::unique_ptr<Listener<gv1::AgentGatewayServiceUpdatesResponse>> AgentUpdates(
      const std::string& agent, int replica = 0) {
    auto* stub = gateways[replica].agent.get();
    const std::string token = AgentToken(agent);
    return std::make_unique<Listener<gv1::AgentGatewayServiceUpdatesResponse>>(
        [stub, token](grpc::ClientContext* ctx) {
          ctx->AddMetadata("authorization", "Bearer " + token);
          return stub->Updates(ctx, gv1::AgentGatewayServiceUpdatesRequest());
        });
  }

  // Agent `id` of `department` with its desk open: the updates stream once its snapshot has
  // arrived, so every later offer and message reaches it as an update.
  std::unique_ptr<Listener<gv1::AgentGatewayServiceUpdatesResponse>> AgentDesk(
      const std::string& id, const std::string& department, const std::string& nickname,
      int replica = 0) {
    Agent(id, department, nickname);
    auto desk = AgentUpdates(id, replica);
    desk->WaitFor([](const auto& u) { return u.has_snapshot(); });
    return desk;
  }

  gv1::AcceptResponse Accept(const std::string& agent, const std::string& offer, int replica = 0) {
    gv1::AcceptRequest request;
    request.set_offer_id(offer);
    gv1::AcceptResponse response;
    auto st =
        gateways[replica].agent->Accept(CallWith(AgentToken(agent)).get(), request, &response);
    INFO(st.error_message());
    REQUIRE(st.ok());
    return response;
  }

  cv1::Message CustomerSay(const std::string& token, const std::string& text, int replica = 0) {
    gv1::CustomerGatewayServiceSendRequest request;
    request.set_text(text);
    request.set_idempotency_key(text);
    gv1::CustomerGatewayServiceSendResponse response;
    auto st = gateways[replica].customer->Send(CallWith(token).get(), request, &response);
    INFO(st.error_message());
    REQUIRE(st.ok());
    return response.message();
  }

  cv1::Message AgentSay(const std::string& agent, const std::string& dialog,
                        const std::string& text, int replica = 0) {
    gv1::AgentGatewayServiceSendRequest request;
    request.set_dialog_id(dialog);
    request.set_text(text);
    gv1::AgentGatewayServiceSendResponse response;
    auto st = gateways[replica].agent->Send(CallWith(AgentToken(agent)).get(), request, &response);
    INFO(st.error_message());
    REQUIRE(st.ok());
    return response.message();
  }

  grpc::Status Close(const std::string& agent, const std::string& dialog, gv1::CloseResponse* out,
                     bool with_summary = true) {
    gv1::CloseRequest request;
    request.set_dialog_id(dialog);
    if (with_summary) {
      request.mutable_summary()->set_category("billing question");
      request.mutable_summary()->set_text("explained the invoice");
      request.mutable_summary()->set_resolved(true);
    }
    return gateways[0].agent->Close(CallWith(AgentToken(agent)).get(), request, out);
  }
};

inline bool IsOffer(const gv1::AgentGatewayServiceUpdatesResponse& u) { return u.has_offer(); }

inline std::function<bool(const gv1::AgentGatewayServiceUpdatesResponse&)> AgentSees(
    const std::string& text) {
  return [text](const auto& u) { return u.has_message() && u.message().text() == text; };
}

inline std::function<bool(const gv1::CustomerGatewayServiceUpdatesResponse&)> CustomerSees(
    const std::string& text) {
  return [text](const auto& u) { return u.has_message() && u.message().text() == text; };
}

}  // namespace
