// End to end through the public gateway APIs only: the seven binaries plus a second
// gateway replica as processes on real Redis and PostgreSQL (issue 5, F1, F4, F30-F32).
#include <catch2/catch.hpp>

#include "tests/e2e/client.h"
#include "tests/e2e/stack.h"

namespace {

namespace cv1 = e2e::cv1;
namespace gv1 = e2e::gv1;
namespace crm = e2e::crm;
using e2e::With;

}  // namespace

TEST_CASE(
    "a VIP chat started on one gateway replica is served by a VIP agent on another, "
    "closed, rated once and kept in crm") {
  e2e::Stack stack(kefu::testing::SharedEnv().redis_url, kefu::testing::FreshDatabase("e2e_gw"));
  INFO(stack.Logs());
  const int second_gateway = stack.AddGateway();
  REQUIRE(stack.SecondsUntilAll("SERVING", 30) >= 0);
  e2e::Tenant tenant(stack, "e2egw");
  const std::string agent = tenant.AgentToken("vip-amy");

  // The operator's set-up: a VIP department, the tier map, the agent's profile.
  tenant.Queue("q-general", /*is_default=*/true);
  tenant.Department("vip", "q-vip", "VIP 专席");
  tenant.TierMap(cv1::CUSTOMER_TIER_VIP, "vip");
  tenant.Agent("vip-amy", "vip", "Amy", /*max_concurrent=*/2);
  tenant.Customer("+8613900000001", "李女士", cv1::CUSTOMER_TIER_VIP);

  // The agent's desktop is connected to the second replica, the customer's widget to the first.
  e2e::Gateway agent_gw(second_gateway);
  e2e::Gateway customer_gw(stack.ports().at("gateway").grpc);
  auto desk = agent_gw.Desk(agent);
  const auto contact = customer_gw.StartChat(tenant.id(), "+8613900000001");
  const std::string me = contact.customer_token();
  auto widget = customer_gw.Widget(me);

  auto offer = desk->WaitFor(e2e::IsOffer).offer();
  CHECK(offer.screen_pop().customer().tier() == cv1::CUSTOMER_TIER_VIP);
  CHECK(offer.screen_pop().customer().name() == "李女士");
  const std::string dialog = agent_gw.Accept(agent, offer.offer_id()).dialog_id();
  CHECK(widget->WaitFor([](const auto& u) { return u.has_agent_joined(); })
            .agent_joined()
            .agent()
            .nickname() == "Amy");

  gv1::CustomerGatewayServiceTypingRequest typing;
  typing.set_draft("想咨询");
  gv1::CustomerGatewayServiceTypingResponse typed;
  REQUIRE(customer_gw.customer->Typing(With(me).get(), typing, &typed).ok());
  desk->WaitFor(
      [](const auto& u) { return u.has_typing_draft() && u.typing_draft().draft() == "想咨询"; });

  customer_gw.CustomerSay(me, "想咨询会员续费");
  customer_gw.CustomerSay(me, "续费有折扣吗");
  desk->WaitFor(e2e::AgentSees("续费有折扣吗"));
  agent_gw.AgentSay(agent, dialog, "VIP 续费八折");
  widget->WaitFor(e2e::CustomerSees("VIP 续费八折"));

  CHECK(agent_gw.Close(agent, dialog, "renewal").valid());
  widget->WaitFor([](const auto& u) { return u.has_ended(); });

  gv1::RateRequest rate;
  rate.set_score(5);
  gv1::RateResponse rated;
  auto st = customer_gw.customer->Rate(With(me).get(), rate, &rated);
  INFO(st.error_message());
  REQUIRE(st.ok());
  CHECK(customer_gw.customer->Rate(With(me).get(), rate, &rated).error_code() ==
        grpc::StatusCode::ALREADY_EXISTS);
  desk->WaitFor([](const auto& u) { return u.has_rating() && u.rating().score() == 5; });

  // crm kept the transcript in order, searchable by its words.
  crm::SearchDialogsResponse found;
  REQUIRE(e2e::Eventually([&] {
    crm::SearchDialogsRequest search;
    search.set_text("续费");
    found.Clear();
    (void)tenant.records().SearchDialogs(With(tenant.admin()).get(), search, &found);
    return found.hits_size() > 0;
  }));
  REQUIRE(found.hits_size() == 1);
  const auto transcript = tenant.TranscriptOnceRecorded(dialog, 3);
  REQUIRE(transcript.messages_size() == 3);
  CHECK(transcript.messages(0).text() == "想咨询会员续费");
  CHECK(transcript.messages(2).text() == "VIP 续费八折");
}
