// Bot first, then a human (F16, F41, F42): a customer at an entry point whose bot serves
// talks to the bot, gets an answer from the knowledge base, asks for a human, and the agent
// who takes the contact sees the bot conversation in the screen pop.
#include "tests/integration/gateway_harness.h"

namespace {

namespace kbv1 = kefu::kb::v1;

bool IsBotMessage(const gv1::CustomerGatewayServiceUpdatesResponse& u) {
  return u.has_message() && u.message().sender().type() == cv1::PARTICIPANT_TYPE_BOT;
}

}  // namespace

TEST_CASE(
    "a customer is answered by the entry point's bot and handed to an agent with the bot "
    "conversation",
    "[gateway]") {
  Stack s(1, /*with_kb=*/true);
  // The knowledge base: one published entry about returns.
  kbv1::CreateCategoryRequest category;
  category.mutable_category()->mutable_name()->set_zh("退货");
  kbv1::CreateCategoryResponse made_category;
  REQUIRE(s.kb_admin->CreateCategory(CallWith(s.admin).get(), category, &made_category).ok());
  kbv1::CreateEntryRequest entry;
  entry.mutable_entry()->set_category_id(made_category.category().category_id());
  entry.mutable_entry()->set_question("可以退货吗");
  entry.mutable_entry()->add_keywords("退货");
  entry.mutable_entry()->set_answer("收到商品7天内可以无理由退货。");
  entry.mutable_entry()->set_status(kbv1::ENTRY_STATUS_PUBLISHED);
  kbv1::CreateEntryResponse made_entry;
  REQUIRE(s.kb_admin->CreateEntry(CallWith(s.admin).get(), entry, &made_entry).ok());
  kbv1::CreateBotRequest bot;
  bot.mutable_bot()->set_name("小助手");
  bot.mutable_bot()->set_auto_online(true);
  bot.mutable_bot()->mutable_greeting()->set_zh("您好，我是小助手，请问有什么可以帮您？");
  bot.mutable_bot()->add_escalation_phrases("人工");
  kbv1::CreateBotResponse made_bot;
  auto st = s.kb_admin->CreateBot(CallWith(s.admin).get(), bot, &made_bot);
  INFO(st.error_message());
  REQUIRE(st.ok());
  const std::string widget = s.EntryPoint("web-bot", made_bot.bot().bot_id());

  auto kim = s.AgentDesk("gen-kim", "general", "Kim");

  // The widget learns that the bot serves first.
  auto* stub = s.gateways[0].customer.get();
  gv1::GetEntryConfigResponse config;
  st = stub->GetEntryConfig(CallWith(widget).get(), gv1::GetEntryConfigRequest(), &config);
  INFO(st.error_message());
  REQUIRE(st.ok());
  CHECK(config.entry_point_id() == "web-bot");
  CHECK(config.bot_serving());
  CHECK(config.agents_available());

  gv1::StartContactRequest start;
  start.set_channel(cv1::CHANNEL_CHAT);
  start.set_caller_number("+8613800000042");
  gv1::StartContactResponse contact;
  st = stub->StartContact(CallWith(widget).get(), start, &contact);
  INFO(st.error_message());
  REQUIRE(st.ok());
  CHECK(contact.state() == cv1::CONTACT_STATE_BOT);
  auto me = s.CustomerUpdates(contact.customer_token());
  // The greeting came before the stream opened: it is in the snapshot.
  auto snapshot = me->WaitFor([](const auto& u) { return u.has_snapshot(); }).snapshot();
  REQUIRE(snapshot.messages_size() == 1);
  auto greeting = snapshot.messages(0);
  CHECK(greeting.sender().type() == cv1::PARTICIPANT_TYPE_BOT);
  CHECK(greeting.text() == "您好，我是小助手，请问有什么可以帮您？");
  CHECK(greeting.sender().display_name() == "小助手");

  s.CustomerSay(contact.customer_token(), "请问可以退货吗？");
  auto answer = me->WaitFor([](const auto& u) {
                    return IsBotMessage(u) && u.message().text().find("7天") != std::string::npos;
                  }).message();
  CHECK(answer.text().find("无理由退货") != std::string::npos);

  // "人工": the bot hands over; the agent's offer carries the bot conversation (F42).
  s.CustomerSay(contact.customer_token(), "人工");
  auto offer = kim->WaitFor(IsOffer).offer();
  CHECK(offer.contact_id() == contact.contact_id());
  const auto& transcript = offer.screen_pop().bot_transcript();
  REQUIRE(transcript.size() >= 4);
  CHECK(transcript[0].text() == greeting.text());
  CHECK(transcript[1].text() == "请问可以退货吗？");
  CHECK(transcript[2].text() == answer.text());
  auto dialog = s.Accept("gen-kim", offer.offer_id()).dialog();
  s.AgentSay("gen-kim", dialog.dialog_id(), "您好，我是Kim");
  me->WaitFor(
      [](const auto& u) { return u.has_message() && u.message().text() == "您好，我是Kim"; });

  // The button after the handover changes nothing.
  gv1::RequestAgentResponse again;
  st = stub->RequestAgent(CallWith(contact.customer_token()).get(), gv1::RequestAgentRequest(),
                          &again);
  INFO(st.error_message());
  REQUIRE(st.ok());
  CHECK(again.state() == cv1::CONTACT_STATE_ACTIVE);
}

TEST_CASE(
    "the widget's entry config needs its entry-point token and hides what the entry "
    "point hides",
    "[gateway]") {
  Stack s;
  auto* stub = s.gateways[0].customer.get();
  gv1::GetEntryConfigResponse config;
  // A service token names no entry point.
  CHECK(stub->GetEntryConfig(CallWith(s.widget).get(), gv1::GetEntryConfigRequest(), &config)
            .error_code() == grpc::StatusCode::PERMISSION_DENIED);

  s.Agent("vip-lea", "vip", "Lea");
  rv1::SetAgentProfileRequest profile;  // Max has a profile but never logs in
  profile.mutable_profile()->set_agent_id("vip-max");
  profile.mutable_profile()->set_nickname("Max");
  profile.mutable_profile()->set_max_concurrent(3);
  profile.mutable_profile()->set_enabled(true);
  profile.mutable_profile()->add_department_ids("vip");
  rv1::SetAgentProfileResponse profiled;
  REQUIRE(s.routing_admin->SetAgentProfile(CallWith(s.admin).get(), profile, &profiled).ok());
  rv1::CreateEntryPointRequest request;
  auto* ep = request.mutable_entry_point();
  ep->set_entry_point_id("web-vip");
  ep->set_name("VIP site");
  ep->set_channel(cv1::CHANNEL_CHAT);
  ep->add_designated_department_ids("vip");
  ep->add_designated_department_ids("general");
  ep->add_designated_agent_ids("vip-lea");
  ep->add_designated_agent_ids("vip-max");
  ep->set_hide_offline(true);
  ep->mutable_greeting()->set_zh("欢迎光临");
  rv1::CreateEntryPointResponse created;
  auto st = s.routing_admin->CreateEntryPoint(CallWith(s.admin).get(), request, &created);
  INFO(st.error_message());
  REQUIRE(st.ok());
  kefu::identity::v1::IssueEntryPointTokenRequest issue;
  issue.set_entry_point_id("web-vip");
  kefu::identity::v1::IssueEntryPointTokenResponse token;
  REQUIRE(s.auth->IssueEntryPointToken(CallWith(s.admin).get(), issue, &token).ok());

  st = stub->GetEntryConfig(CallWith(token.token()).get(), gv1::GetEntryConfigRequest(), &config);
  INFO(st.error_message());
  REQUIRE(st.ok());
  CHECK(config.greeting().zh() == "欢迎光临");
  CHECK(config.departments_size() == 2);
  REQUIRE(config.agents_size() == 1);  // the offline one is hidden
  CHECK(config.agents(0).agent().nickname() == "Lea");
  CHECK(config.agents(0).status() == cv1::AGENT_STATUS_ONLINE);
  CHECK(config.agents_available());
  CHECK_FALSE(config.bot_serving());
  CHECK(config.invitations_enabled());
}
