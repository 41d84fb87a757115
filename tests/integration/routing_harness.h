// The contact centre the routing and presence integration tests drive: router and
// presence in-process on real Redis and PostgreSQL, an admin, the gateway's service token
// and agents, through the public gRPC APIs (tests/integration/routing*_test.cc).
#pragma once

#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <thread>

#include "kefu/events/v1/events.pb.h"
#include "kefu/presence/v1/presence.grpc.pb.h"
#include "kefu/router/v1/routing.grpc.pb.h"
#include "kefu/router/v1/routing_admin.grpc.pb.h"
#include "libs/events/events.h"
#include "libs/redis/client.h"
#include "services/presence/presence_service.h"
#include "services/router/router_service.h"
#include "tests/support/env.h"
#include "tests/support/service_harness.h"

namespace {

namespace rv1 = kefu::router::v1;
namespace pv1 = kefu::presence::v1;
using kefu::common::v1::AgentStatus;
using kefu::common::v1::CustomerTier;
using kefu::testing::CallWith;
using kefu::testing::TokenFor;

constexpr auto ONLINE = kefu::common::v1::AGENT_STATUS_ONLINE;
constexpr auto BUSY = kefu::common::v1::AGENT_STATUS_BUSY;
constexpr auto AWAY = kefu::common::v1::AGENT_STATUS_AWAY;
constexpr auto OFFLINE = kefu::common::v1::AGENT_STATUS_OFFLINE;
constexpr auto NEW = kefu::common::v1::CUSTOMER_TIER_NEW;
constexpr auto REGULAR = kefu::common::v1::CUSTOMER_TIER_REGULAR;
constexpr auto VIP = kefu::common::v1::CUSTOMER_TIER_VIP;
constexpr auto QUEUED = kefu::common::v1::CONTACT_STATE_QUEUED;
constexpr auto OFFERED = kefu::common::v1::CONTACT_STATE_OFFERED;

kefu::presence::PresenceSettings FastPresence() {
  kefu::presence::PresenceSettings settings;
  settings.seat_empty_limit = absl::Milliseconds(600);  // F21's 30 s, shortened for the test
  settings.heartbeat_timeout = absl::Seconds(60);
  return settings;
}

// A tenant's contact centre: router + presence, an admin, agents.
struct Centre {
  Centre() : Centre(kefu::router::RouterOptions{}) {}
  // `redis_url`: the test's own Redis; empty = the one shared by the test run.
  explicit Centre(kefu::router::RouterOptions options, const std::string& redis_url = "")
      : presence(
            kefu::testing::StartService(kefu::presence::Definition(FastPresence()), redis_url)),
        router(
            kefu::testing::StartService(kefu::router::Definition(std::move(options)), redis_url)) {}

  kefu::testing::RunningService presence;
  kefu::testing::RunningService router;
  std::string tenant = kefu::testing::UniqueTenant("acd");
  std::string admin = TokenFor(tenant, kefu::common::v1::ROLE_ADMIN, "boss");
  std::string service = TokenFor(tenant, kefu::common::v1::ROLE_SERVICE, "svc:gateway");
  std::unique_ptr<rv1::RoutingAdminService::Stub> admin_stub =
      rv1::RoutingAdminService::NewStub(router.channel);
  std::unique_ptr<rv1::RoutingService::Stub> routing = rv1::RoutingService::NewStub(router.channel);
  std::unique_ptr<pv1::PresenceService::Stub> presence_stub =
      pv1::PresenceService::NewStub(presence.channel);
  std::map<std::string, std::string> sessions;

  void Queue(const std::string& id, rv1::RoutingStrategy strategy, bool is_default = false,
             int offer_timeout_ms = 15000, int reject_delay_ms = 10000,
             int exclusive_wait_ms = 60000) {
    rv1::CreateQueueRequest request;
    rv1::Queue* q = request.mutable_queue();
    q->set_queue_id(id);
    q->set_strategy(strategy);
    q->set_is_default(is_default);
    q->mutable_offer_timeout()->set_nanos((offer_timeout_ms % 1000) * 1000000);
    q->mutable_offer_timeout()->set_seconds(offer_timeout_ms / 1000);
    q->mutable_reject_delay()->set_seconds(reject_delay_ms / 1000);
    q->mutable_reject_delay()->set_nanos((reject_delay_ms % 1000) * 1000000);
    q->mutable_no_answer_delay()->set_seconds(reject_delay_ms / 1000);
    q->mutable_no_answer_delay()->set_nanos((reject_delay_ms % 1000) * 1000000);
    q->mutable_exclusive_wait()->set_seconds(exclusive_wait_ms / 1000);
    q->mutable_exclusive_wait()->set_nanos((exclusive_wait_ms % 1000) * 1000000);
    rv1::CreateQueueResponse response;
    auto status = admin_stub->CreateQueue(CallWith(admin).get(), request, &response);
    INFO(status.error_message());
    REQUIRE(status.ok());
  }

  void Department(const std::string& id, const std::string& queue) {
    rv1::CreateDepartmentRequest request;
    request.mutable_department()->set_department_id(id);
    request.mutable_department()->set_queue_id(queue);
    rv1::CreateDepartmentResponse response;
    auto status = admin_stub->CreateDepartment(CallWith(admin).get(), request, &response);
    INFO(status.error_message());
    REQUIRE(status.ok());
  }

  void TierMap(const std::map<CustomerTier, std::string>& map) {
    rv1::SetTierMapRequest request;
    for (const auto& [tier, department] : map) {
      auto* group = request.add_groups();
      group->set_tier(tier);
      group->add_department_ids(department);
    }
    rv1::SetTierMapResponse response;
    REQUIRE(admin_stub->SetTierMap(CallWith(admin).get(), request, &response).ok());
  }

  // Profile, login (AWAY) and then `status`.
  void Agent(const std::string& id, const std::vector<std::string>& departments, int max,
             AgentStatus status, double capability = 0, const std::string& seat = "") {
    rv1::SetAgentProfileRequest request;
    rv1::AgentProfile* p = request.mutable_profile();
    p->set_agent_id(id);
    p->set_max_concurrent(max);
    p->set_capability_score(capability);
    p->set_enabled(true);
    for (const auto& d : departments) p->add_department_ids(d);
    rv1::SetAgentProfileResponse response;
    auto st = admin_stub->SetAgentProfile(CallWith(admin).get(), request, &response);
    INFO(st.error_message());
    REQUIRE(st.ok());
    pv1::LoginRequest login;
    login.set_seat_id(seat);
    pv1::LoginResponse logged_in;
    REQUIRE(presence_stub->Login(CallWith(AgentToken(id)).get(), login, &logged_in).ok());
    CHECK(logged_in.presence().status() == AWAY);  // F20: a fresh login starts AWAY
    sessions[id] = logged_in.session_id();
    SetStatus(id, status);
  }

  std::string AgentToken(const std::string& id) {
    return TokenFor(tenant, kefu::common::v1::ROLE_AGENT, id);
  }

  void SetStatus(const std::string& id, AgentStatus status) {
    pv1::SetStatusRequest request;
    request.set_status(status);
    pv1::SetStatusResponse response;
    auto st = presence_stub->SetStatus(CallWith(AgentToken(id)).get(), request, &response);
    INFO(st.error_message());
    REQUIRE(st.ok());
  }

  rv1::EnqueueResponse Enqueue(const std::string& contact, CustomerTier tier,
                               const std::string& department = "",
                               const std::string& customer = "") {
    rv1::EnqueueRequest request;
    request.set_contact_id(contact);
    request.set_customer_id(customer);
    request.set_dialog_id("d-" + contact);
    request.set_tier(tier);
    request.set_requested_department_id(department);
    rv1::EnqueueResponse response;
    auto st = routing->Enqueue(CallWith(service).get(), request, &response);
    INFO(st.error_message());
    REQUIRE(st.ok());
    return response;
  }

  rv1::ContactRouting Contact(const std::string& contact) {
    rv1::QueueStatusRequest request;
    request.set_contact_id(contact);
    rv1::QueueStatusResponse response;
    REQUIRE(routing->QueueStatus(CallWith(service).get(), request, &response).ok());
    return response.contact();
  }

  // Waits up to 5 s for the contact to be offered; returns the offer (agent "" if none).
  rv1::OfferRef WaitOffer(const std::string& contact, absl::Duration limit = absl::Seconds(5)) {
    const absl::Time deadline = absl::Now() + limit;
    do {
      auto routing_state = Contact(contact);
      if (routing_state.state() == OFFERED && routing_state.offers_size() > 0) {
        return routing_state.offers(0);
      }
      absl::SleepFor(absl::Milliseconds(20));
    } while (absl::Now() < deadline);
    return {};
  }

  grpc::Status Accept(const rv1::OfferRef& offer, rv1::AcceptOfferResponse* accepted = nullptr) {
    rv1::AcceptOfferRequest request;
    request.set_offer_id(offer.offer_id());
    rv1::AcceptOfferResponse response;
    return routing->AcceptOffer(CallWith(AgentToken(offer.agent_id())).get(), request,
                                accepted != nullptr ? accepted : &response);
  }

  grpc::Status Reject(const rv1::OfferRef& offer) {
    rv1::RejectOfferRequest request;
    request.set_offer_id(offer.offer_id());
    request.set_reason("busy with a call");
    rv1::RejectOfferResponse response;
    return routing->RejectOffer(CallWith(AgentToken(offer.agent_id())).get(), request, &response);
  }

  grpc::Status Release(const std::string& contact, const std::string& agent) {
    rv1::ReleaseRequest request;
    request.set_contact_id(contact);
    rv1::ReleaseResponse response;
    return routing->Release(CallWith(AgentToken(agent)).get(), request, &response);
  }

  int Load(const std::string& agent) {
    pv1::GetAgentRequest request;
    request.set_agent_id(agent);
    pv1::GetAgentResponse response;
    REQUIRE(presence_stub->GetAgent(CallWith(admin).get(), request, &response).ok());
    return response.presence().active_dialogs();
  }
};

}  // namespace
