// End to end through the public gateway APIs only: the seven binaries plus a second
// gateway replica as processes on real Redis and PostgreSQL (issue 5, F1, F4, F30-F32).
#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "kefu/crm/v1/customer.grpc.pb.h"
#include "kefu/crm/v1/record.grpc.pb.h"
#include "kefu/gateway/v1/gateway.grpc.pb.h"
#include "kefu/presence/v1/presence.grpc.pb.h"
#include "kefu/router/v1/routing_admin.grpc.pb.h"
#include "libs/auth/authorize.h"
#include "libs/auth/token.h"
#include "tests/e2e/stack.h"
#include "tests/support/stream_listener.h"

namespace {

namespace cv1 = kefu::common::v1;
namespace gv1 = kefu::gateway::v1;
namespace rv1 = kefu::router::v1;
namespace pv1 = kefu::presence::v1;
namespace crm = kefu::crm::v1;
using kefu::testing::Listener;

std::string Token(const std::string& tenant, cv1::Role role, const std::string& subject) {
  static const kefu::auth::TokenCodec codec = *kefu::auth::TokenCodec::Create(e2e::kJwtKey);
  kefu::auth::Claims claims;
  claims.tenant_id = tenant;
  claims.role = role;
  claims.subject = subject;
  claims.issued_at = absl::Now();
  claims.expires_at = claims.issued_at + absl::Minutes(10);
  claims.token_id = kefu::auth::RandomId();
  return codec.Sign(claims);
}

std::unique_ptr<grpc::ClientContext> With(const std::string& token) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  kefu::auth::AttachToken(ctx.get(), token);
  return ctx;
}

std::shared_ptr<grpc::Channel> Channel(int port) {
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
}

}  // namespace

TEST_CASE(
    "a VIP chat started on one gateway replica is served by a VIP agent on another, "
    "closed, rated once and kept in crm") {
  e2e::Stack stack(kefu::testing::SharedEnv().redis_url, kefu::testing::FreshDatabase("e2e_gw"));
  INFO(stack.Logs());
  const int second_gateway = stack.AddGateway();
  REQUIRE(stack.SecondsUntilAll("SERVING", 30) >= 0);
  const auto& ports = stack.ports();
  const std::string tenant = kefu::testing::UniqueTenant("e2egw");
  const std::string admin = Token(tenant, cv1::ROLE_ADMIN, "boss");
  const std::string agent = Token(tenant, cv1::ROLE_AGENT, "vip-amy");

  // The operator's set-up: a VIP department, the tier map, the agent's profile.
  auto routing_admin = rv1::RoutingAdminService::NewStub(Channel(ports.at("router").grpc));
  for (const char* q : {"q-vip", "q-general"}) {
    rv1::CreateQueueRequest request;
    request.mutable_queue()->set_queue_id(q);
    request.mutable_queue()->set_is_default(std::string(q) == "q-general");
    rv1::CreateQueueResponse response;
    REQUIRE(routing_admin->CreateQueue(With(admin).get(), request, &response).ok());
  }
  {
    rv1::CreateDepartmentRequest request;
    request.mutable_department()->set_department_id("vip");
    request.mutable_department()->set_queue_id("q-vip");
    rv1::CreateDepartmentResponse response;
    REQUIRE(routing_admin->CreateDepartment(With(admin).get(), request, &response).ok());
    rv1::SetTierMapRequest map;
    map.add_groups()->set_tier(cv1::CUSTOMER_TIER_VIP);
    map.mutable_groups(0)->add_department_ids("vip");
    rv1::SetTierMapResponse mapped;
    REQUIRE(routing_admin->SetTierMap(With(admin).get(), map, &mapped).ok());
    rv1::SetAgentProfileRequest profile;
    profile.mutable_profile()->set_agent_id("vip-amy");
    profile.mutable_profile()->set_nickname("Amy");
    profile.mutable_profile()->set_max_concurrent(2);
    profile.mutable_profile()->set_enabled(true);
    profile.mutable_profile()->add_department_ids("vip");
    rv1::SetAgentProfileResponse set;
    REQUIRE(routing_admin->SetAgentProfile(With(admin).get(), profile, &set).ok());
  }
  auto presence = pv1::PresenceService::NewStub(Channel(ports.at("presence").grpc));
  pv1::LoginResponse logged_in;
  REQUIRE(presence->Login(With(agent).get(), pv1::LoginRequest(), &logged_in).ok());
  pv1::SetStatusRequest online;
  online.set_status(cv1::AGENT_STATUS_ONLINE);
  pv1::SetStatusResponse status;
  REQUIRE(presence->SetStatus(With(agent).get(), online, &status).ok());
  auto customers = crm::CustomerService::NewStub(Channel(ports.at("crm").grpc));
  {
    crm::CreateCustomerRequest request;
    request.mutable_customer()->set_name("李女士");
    request.mutable_customer()->add_phones("+8613900000001");
    request.mutable_customer()->set_tier(cv1::CUSTOMER_TIER_VIP);
    crm::CreateCustomerResponse response;
    REQUIRE(customers->CreateCustomer(With(admin).get(), request, &response).ok());
  }

  // The agent's desktop is connected to the second replica.
  auto agent_gw = gv1::AgentGatewayService::NewStub(Channel(second_gateway));
  Listener<gv1::AgentGatewayServiceUpdatesResponse> desk([&](grpc::ClientContext* ctx) {
    kefu::auth::AttachToken(ctx, agent);
    return agent_gw->Updates(ctx, gv1::AgentGatewayServiceUpdatesRequest());
  });
  desk.WaitFor([](const auto& u) { return u.has_snapshot(); }, absl::Seconds(10));

  // The customer's widget talks to the first.
  auto customer_gw = gv1::CustomerGatewayService::NewStub(Channel(ports.at("gateway").grpc));
  gv1::StartContactRequest start;
  start.set_channel(cv1::CHANNEL_CHAT);
  start.set_caller_number("+8613900000001");
  gv1::StartContactResponse contact;
  auto st = customer_gw->StartContact(With(Token(tenant, cv1::ROLE_SERVICE, "svc:widget")).get(),
                                      start, &contact);
  INFO(st.error_message());
  REQUIRE(st.ok());
  const std::string me = contact.customer_token();
  Listener<gv1::CustomerGatewayServiceUpdatesResponse> widget([&](grpc::ClientContext* ctx) {
    kefu::auth::AttachToken(ctx, me);
    return customer_gw->Updates(ctx, gv1::CustomerGatewayServiceUpdatesRequest());
  });

  auto offer = desk.WaitFor([](const auto& u) { return u.has_offer(); }).offer();
  CHECK(offer.screen_pop().customer().tier() == cv1::CUSTOMER_TIER_VIP);
  CHECK(offer.screen_pop().customer().name() == "李女士");
  gv1::AcceptRequest accept;
  accept.set_offer_id(offer.offer_id());
  gv1::AcceptResponse accepted;
  REQUIRE(agent_gw->Accept(With(agent).get(), accept, &accepted).ok());
  const std::string dialog = accepted.dialog().dialog_id();
  CHECK(widget.WaitFor([](const auto& u) { return u.has_agent_joined(); })
            .agent_joined()
            .agent()
            .nickname() == "Amy");

  gv1::CustomerGatewayServiceTypingRequest typing;
  typing.set_draft("想咨询");
  gv1::CustomerGatewayServiceTypingResponse typed;
  REQUIRE(customer_gw->Typing(With(me).get(), typing, &typed).ok());
  desk.WaitFor(
      [](const auto& u) { return u.has_typing_draft() && u.typing_draft().draft() == "想咨询"; });

  for (const char* text : {"想咨询会员续费", "续费有折扣吗"}) {
    gv1::CustomerGatewayServiceSendRequest send;
    send.set_text(text);
    gv1::CustomerGatewayServiceSendResponse sent;
    REQUIRE(customer_gw->Send(With(me).get(), send, &sent).ok());
  }
  desk.WaitFor(
      [](const auto& u) { return u.has_message() && u.message().text() == "续费有折扣吗"; });
  gv1::AgentGatewayServiceSendRequest reply;
  reply.set_dialog_id(dialog);
  reply.set_text("VIP 续费八折");
  gv1::AgentGatewayServiceSendResponse replied;
  REQUIRE(agent_gw->Send(With(agent).get(), reply, &replied).ok());
  widget.WaitFor(
      [](const auto& u) { return u.has_message() && u.message().text() == "VIP 续费八折"; });

  gv1::CloseRequest close;
  close.set_dialog_id(dialog);
  close.mutable_summary()->set_category("renewal");
  gv1::CloseResponse closed;
  REQUIRE(agent_gw->Close(With(agent).get(), close, &closed).ok());
  CHECK(closed.valid());
  widget.WaitFor([](const auto& u) { return u.has_ended(); });

  gv1::RateRequest rate;
  rate.set_score(5);
  gv1::RateResponse rated;
  st = customer_gw->Rate(With(me).get(), rate, &rated);
  INFO(st.error_message());
  REQUIRE(st.ok());
  CHECK(customer_gw->Rate(With(me).get(), rate, &rated).error_code() ==
        grpc::StatusCode::ALREADY_EXISTS);
  desk.WaitFor([](const auto& u) { return u.has_rating() && u.rating().score() == 5; });

  // crm kept the transcript in order, searchable by its words.
  auto records = crm::RecordService::NewStub(Channel(ports.at("crm").grpc));
  crm::SearchDialogsResponse found;
  for (int i = 0; i < 100 && found.hits_size() == 0; ++i) {
    crm::SearchDialogsRequest search;
    search.set_text("续费");
    found.Clear();
    (void)records->SearchDialogs(With(admin).get(), search, &found);
    if (found.hits_size() == 0) absl::SleepFor(absl::Milliseconds(100));
  }
  REQUIRE(found.hits_size() == 1);
  crm::GetTranscriptRequest get;
  get.set_dialog_id(dialog);
  crm::GetTranscriptResponse transcript;
  REQUIRE(records->GetTranscript(With(admin).get(), get, &transcript).ok());
  REQUIRE(transcript.messages_size() == 3);
  CHECK(transcript.messages(0).text() == "想咨询会员续费");
  CHECK(transcript.messages(2).text() == "VIP 续费八折");
}
