#pragma once

// The people around a running e2e::Stack, through the public APIs only: the operator's
// set-up of a tenant (router, presence, crm), an agent's desktop and a customer's widget on
// any gateway replica, and the calls the e2e tests make again and again.
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "kefu/crm/v1/customer.grpc.pb.h"
#include "kefu/crm/v1/record.grpc.pb.h"
#include "kefu/gateway/v1/gateway.grpc.pb.h"
#include "kefu/presence/v1/presence.grpc.pb.h"
#include "kefu/router/v1/routing_admin.grpc.pb.h"
#include "libs/auth/authorize.h"
#include "libs/auth/token.h"
#include "tests/e2e/stack.h"
#include "tests/support/env.h"
#include "tests/support/stream_listener.h"

namespace e2e {

namespace cv1 = kefu::common::v1;
namespace gv1 = kefu::gateway::v1;
namespace rv1 = kefu::router::v1;
namespace pv1 = kefu::presence::v1;
namespace crm = kefu::crm::v1;

using AgentUpdates = kefu::testing::Listener<gv1::AgentGatewayServiceUpdatesResponse>;
using CustomerUpdates = kefu::testing::Listener<gv1::CustomerGatewayServiceUpdatesResponse>;
using MonitorUpdates = kefu::testing::Listener<gv1::MonitorResponse>;

// The stack's token signer (kJwtKey), as identity holds it.
inline const kefu::auth::TokenCodec& Codec() {
  static const kefu::auth::TokenCodec codec = *kefu::auth::TokenCodec::Create(kJwtKey);
  return codec;
}

// Claims valid for 10 minutes; a customer's are bound to the contact `subject` (what
// StartContact's token carries).
inline kefu::auth::Claims ClaimsFor(const std::string& tenant, cv1::Role role,
                                    const std::string& subject) {
  kefu::auth::Claims claims;
  claims.tenant_id = tenant;
  claims.role = role;
  claims.subject = subject;
  claims.issued_at = absl::Now();
  claims.expires_at = claims.issued_at + absl::Minutes(10);
  claims.token_id = kefu::auth::RandomId();
  if (role == cv1::ROLE_CUSTOMER) claims.contact_id = subject;
  return claims;
}

// A token signed with the stack's key, as identity would issue it.
inline std::string Token(const std::string& tenant, cv1::Role role, const std::string& subject) {
  return Codec().Sign(ClaimsFor(tenant, role, subject));
}

// A call context with a deadline and the caller's token.
inline std::unique_ptr<grpc::ClientContext> With(const std::string& token) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  kefu::auth::AttachToken(ctx.get(), token);
  return ctx;
}

inline std::shared_ptr<grpc::Channel> Channel(int port) {
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
}

// True once `done` holds, polling for up to `limit` (crm applies events asynchronously).
inline bool Eventually(const std::function<bool()>& done,
                       absl::Duration limit = absl::Seconds(10)) {
  const absl::Time give_up = absl::Now() + limit;
  while (!done()) {
    if (absl::Now() > give_up) return false;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return true;
}

// Both public gateway services of one replica.
struct Gateway {
  explicit Gateway(int port)
      : customer(gv1::CustomerGatewayService::NewStub(Channel(port))),
        agent(gv1::AgentGatewayService::NewStub(Channel(port))) {}

  // The agent desktop's update stream, once its snapshot has arrived.
  std::unique_ptr<AgentUpdates> Desk(const std::string& agent_token) {
    auto* stub = agent.get();
    auto desk = std::make_unique<AgentUpdates>([stub, agent_token](grpc::ClientContext* ctx) {
      kefu::auth::AttachToken(ctx, agent_token);
      return stub->Updates(ctx, gv1::AgentGatewayServiceUpdatesRequest());
    });
    desk->WaitFor([](const auto& u) { return u.has_snapshot(); }, absl::Seconds(10));
    return desk;
  }

  // The customer widget's update stream for the contact of `customer_token`, once its
  // snapshot has arrived. Only what happens after the snapshot comes as an update: an
  // agent_joined committed before it is dropped as older (the snapshot names the agent), so
  // a test that acts before the snapshot and then waits for the update races the stream.
  std::unique_ptr<CustomerUpdates> Widget(const std::string& customer_token) {
    auto* stub = customer.get();
    auto widget =
        std::make_unique<CustomerUpdates>([stub, customer_token](grpc::ClientContext* ctx) {
          kefu::auth::AttachToken(ctx, customer_token);
          return stub->Updates(ctx, gv1::CustomerGatewayServiceUpdatesRequest());
        });
    widget->WaitFor([](const auto& u) { return u.has_snapshot(); }, absl::Seconds(10));
    return widget;
  }

  // A chat contact from the website widget (a SERVICE token of the tenant).
  gv1::StartContactResponse StartChat(const std::string& tenant, const std::string& phone,
                                      const std::string& department = "") {
    gv1::StartContactRequest start;
    start.set_channel(cv1::CHANNEL_CHAT);
    start.set_caller_number(phone);
    start.set_requested_department_id(department);
    gv1::StartContactResponse contact;
    auto st = customer->StartContact(With(Token(tenant, cv1::ROLE_SERVICE, "svc:widget")).get(),
                                     start, &contact);
    INFO(st.error_message());
    REQUIRE(st.ok());
    return contact;
  }

  cv1::Message CustomerSay(const std::string& customer_token, const std::string& text) {
    gv1::CustomerGatewayServiceSendRequest send;
    send.set_text(text);
    gv1::CustomerGatewayServiceSendResponse sent;
    auto st = customer->Send(With(customer_token).get(), send, &sent);
    INFO(st.error_message());
    REQUIRE(st.ok());
    return sent.message();
  }

  // Accepts the offer; returns the dialog now active on the agent's desk.
  gv1::ActiveDialog Accept(const std::string& agent_token, const std::string& offer_id) {
    gv1::AcceptRequest accept;
    accept.set_offer_id(offer_id);
    gv1::AcceptResponse accepted;
    auto st = agent->Accept(With(agent_token).get(), accept, &accepted);
    INFO(st.error_message());
    REQUIRE(st.ok());
    return accepted.dialog();
  }

  cv1::Message AgentSay(const std::string& agent_token, const std::string& dialog,
                        const std::string& text) {
    gv1::AgentGatewayServiceSendRequest send;
    send.set_dialog_id(dialog);
    send.set_text(text);
    gv1::AgentGatewayServiceSendResponse sent;
    auto st = agent->Send(With(agent_token).get(), send, &sent);
    INFO(st.error_message());
    REQUIRE(st.ok());
    return sent.message();
  }

  // Closes the dialog with the summary form (F31).
  gv1::CloseResponse Close(const std::string& agent_token, const std::string& dialog,
                           const std::string& category) {
    gv1::CloseRequest close;
    close.set_dialog_id(dialog);
    close.mutable_summary()->set_category(category);
    gv1::CloseResponse closed;
    auto st = agent->Close(With(agent_token).get(), close, &closed);
    INFO(st.error_message());
    REQUIRE(st.ok());
    return closed;
  }

  std::unique_ptr<gv1::CustomerGatewayService::Stub> customer;
  std::unique_ptr<gv1::AgentGatewayService::Stub> agent;
};

// One tenant of a running stack as its operator sets it up: queues, departments, agents,
// customers; each test block takes a tenant of its own.
class Tenant {
 public:
  Tenant(const Stack& stack, const std::string& prefix)
      : id_(kefu::testing::UniqueTenant(prefix)),
        admin_(Token(id_, cv1::ROLE_ADMIN, "boss")),
        supervisor_(Token(id_, cv1::ROLE_SUPERVISOR, "sup")),
        routing_admin_(rv1::RoutingAdminService::NewStub(Channel(stack.ports().at("router").grpc))),
        presence_(pv1::PresenceService::NewStub(Channel(stack.ports().at("presence").grpc))),
        customers_(crm::CustomerService::NewStub(Channel(stack.ports().at("crm").grpc))),
        records_(crm::RecordService::NewStub(Channel(stack.ports().at("crm").grpc))) {}

  const std::string& id() const { return id_; }
  const std::string& admin() const { return admin_; }
  const std::string& supervisor() const { return supervisor_; }
  std::string AgentToken(const std::string& agent_id) const {
    return Token(id_, cv1::ROLE_AGENT, agent_id);
  }
  crm::RecordService::Stub& records() { return *records_; }

  void Queue(const std::string& queue_id, bool is_default = false) {
    rv1::CreateQueueRequest request;
    request.mutable_queue()->set_queue_id(queue_id);
    request.mutable_queue()->set_is_default(is_default);
    rv1::CreateQueueResponse response;
    auto st = routing_admin_->CreateQueue(With(admin_).get(), request, &response);
    INFO(st.error_message());
    REQUIRE(st.ok());
  }

  // A department (named `name` in Chinese) routed through a queue of its own.
  void Department(const std::string& department_id, const std::string& queue_id,
                  const std::string& name, bool default_queue = false) {
    Queue(queue_id, default_queue);
    rv1::CreateDepartmentRequest request;
    request.mutable_department()->set_department_id(department_id);
    request.mutable_department()->mutable_name()->set_zh(name);
    request.mutable_department()->set_queue_id(queue_id);
    rv1::CreateDepartmentResponse response;
    auto st = routing_admin_->CreateDepartment(With(admin_).get(), request, &response);
    INFO(st.error_message());
    REQUIRE(st.ok());
  }

  // Customers of `tier` go to `department_id` (F10).
  void TierMap(cv1::CustomerTier tier, const std::string& department_id) {
    rv1::SetTierMapRequest map;
    map.add_groups()->set_tier(tier);
    map.mutable_groups(0)->add_department_ids(department_id);
    rv1::SetTierMapResponse mapped;
    auto st = routing_admin_->SetTierMap(With(admin_).get(), map, &mapped);
    INFO(st.error_message());
    REQUIRE(st.ok());
  }

  // The agent's profile in `department_id`, then logged in and ONLINE (F20).
  void Agent(const std::string& agent_id, const std::string& department_id,
             const std::string& nickname, int max_concurrent = 3) {
    rv1::SetAgentProfileRequest profile;
    profile.mutable_profile()->set_agent_id(agent_id);
    profile.mutable_profile()->set_nickname(nickname);
    profile.mutable_profile()->set_max_concurrent(max_concurrent);
    profile.mutable_profile()->set_enabled(true);
    profile.mutable_profile()->add_department_ids(department_id);
    rv1::SetAgentProfileResponse set;
    auto st = routing_admin_->SetAgentProfile(With(admin_).get(), profile, &set);
    INFO(st.error_message());
    REQUIRE(st.ok());
    const std::string token = AgentToken(agent_id);
    pv1::LoginResponse logged_in;
    REQUIRE(presence_->Login(With(token).get(), pv1::LoginRequest(), &logged_in).ok());
    pv1::SetStatusRequest online;
    online.set_status(cv1::AGENT_STATUS_ONLINE);
    pv1::SetStatusResponse status;
    REQUIRE(presence_->SetStatus(With(token).get(), online, &status).ok());
  }

  // A customer card; returns its id.
  std::string Customer(const std::string& phone, const std::string& name, cv1::CustomerTier tier) {
    crm::CreateCustomerRequest request;
    request.mutable_customer()->set_name(name);
    request.mutable_customer()->add_phones(phone);
    request.mutable_customer()->set_tier(tier);
    crm::CreateCustomerResponse response;
    auto st = customers_->CreateCustomer(With(admin_).get(), request, &response);
    INFO(st.error_message());
    REQUIRE(st.ok());
    return response.customer().customer_id();
  }

  // The dialog as crm keeps it, once `done` holds for it (crm follows the event stream).
  crm::Dialog DialogOnceRecorded(const std::string& dialog_id,
                                 const std::function<bool(const crm::Dialog&)>& done) {
    crm::GetDialogResponse found;
    const bool seen = Eventually([&] {
      crm::GetDialogRequest get;
      get.set_dialog_id(dialog_id);
      found.Clear();
      return records_->GetDialog(With(admin_).get(), get, &found).ok() && done(found.dialog());
    });
    INFO("crm dialog " << dialog_id << ": " << found.ShortDebugString());
    REQUIRE(seen);
    return found.dialog();
  }

  // The transcript in crm once it holds `count` messages.
  crm::GetTranscriptResponse TranscriptOnceRecorded(const std::string& dialog_id, int count) {
    crm::GetTranscriptResponse transcript;
    const bool seen = Eventually([&] {
      crm::GetTranscriptRequest get;
      get.set_dialog_id(dialog_id);
      transcript.Clear();
      return records_->GetTranscript(With(admin_).get(), get, &transcript).ok() &&
             transcript.messages_size() >= count;
    });
    INFO("crm transcript of " << dialog_id << ": " << transcript.ShortDebugString());
    REQUIRE(seen);
    return transcript;
  }

 private:
  std::string id_;
  std::string admin_;
  std::string supervisor_;
  std::unique_ptr<rv1::RoutingAdminService::Stub> routing_admin_;
  std::unique_ptr<pv1::PresenceService::Stub> presence_;
  std::unique_ptr<crm::CustomerService::Stub> customers_;
  std::unique_ptr<crm::RecordService::Stub> records_;
};

// Update predicates the tests wait on.
inline bool IsOffer(const gv1::AgentGatewayServiceUpdatesResponse& u) { return u.has_offer(); }

// A chat in progress, where many scenarios start: a tenant whose default department
// "general" has one ONLINE agent with the desk on `agent_side`, a customer who started a
// chat on `customer_side`, and the agent's offer accepted.
struct Chat {
  Chat(const Stack& stack, const std::string& tenant_prefix, const std::string& agent_id,
       const std::string& nickname, const std::string& phone, Gateway& customer_side,
       Gateway& agent_side)
      : tenant(stack, tenant_prefix), agent(tenant.AgentToken(agent_id)) {
    tenant.Department("general", "q-general", "综合咨询", /*default_queue=*/true);
    tenant.Agent(agent_id, "general", nickname);
    desk = agent_side.Desk(agent);
    contact = customer_side.StartChat(tenant.id(), phone);
    me = contact.customer_token();
    widget = customer_side.Widget(me);
    dialog = agent_side.Accept(agent, desk->WaitFor(IsOffer).offer().offer_id()).dialog_id();
  }

  Tenant tenant;
  std::string agent;  // the agent's token
  std::unique_ptr<AgentUpdates> desk;
  gv1::StartContactResponse contact;
  std::string me;  // the customer's token
  std::unique_ptr<CustomerUpdates> widget;
  std::string dialog;
};

inline std::function<bool(const gv1::AgentGatewayServiceUpdatesResponse&)> AgentSees(
    const std::string& text) {
  return [text](const auto& u) { return u.has_message() && u.message().text() == text; };
}

inline std::function<bool(const gv1::CustomerGatewayServiceUpdatesResponse&)> CustomerSees(
    const std::string& text) {
  return [text](const auto& u) { return u.has_message() && u.message().text() == text; };
}

}  // namespace e2e
