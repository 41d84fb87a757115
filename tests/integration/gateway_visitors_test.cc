// Website visitors (F5) and proactive invitations (F34, F38) through the public gateway
// APIs: a visitor's widget tracks pages with an entry-point token, an agent lists the
// visitors online with their trail and invites one, the visitor's stream receives the
// invitation, and accepting it starts a contact that goes to the inviting agent.
#include "tests/integration/gateway_harness.h"

namespace {

gv1::TrackVisitResponse Track(Stack& s, const std::string& token, const std::string& visitor,
                              const std::string& url, const std::string& referrer = "") {
  gv1::TrackVisitRequest request;
  request.set_visitor_id(visitor);
  request.set_page_url(url);
  request.set_page_title("page " + url);
  request.set_referrer_url(referrer);
  gv1::TrackVisitResponse response;
  auto st = s.gateways[0].customer->TrackVisit(CallWith(token).get(), request, &response);
  INFO(st.error_message());
  REQUIRE(st.ok());
  return response;
}

grpc::Status Invite(Stack& s, const std::string& agent, const std::string& visitor,
                    gv1::InviteVisitorResponse* response) {
  gv1::InviteVisitorRequest request;
  request.set_visitor_id(visitor);
  request.set_text("需要帮忙挑选吗？");
  request.set_idempotency_key("invite-1");
  return s.gateways[0].agent->InviteVisitor(CallWith(s.AgentToken(agent)).get(), request, response);
}

// Tenant settings reach the gateway within its cache lifetime: ask until the answer changes.
grpc::Status InviteUntil(Stack& s, const std::string& agent, const std::string& visitor,
                         grpc::StatusCode wanted, gv1::InviteVisitorResponse* response) {
  grpc::Status st;
  for (int i = 0; i < 50; ++i) {
    st = Invite(s, agent, visitor, response);
    if (st.error_code() == wanted) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return st;
}

}  // namespace

TEST_CASE(
    "an agent sees a visitor's trail, invites them and the accepted invitation comes to "
    "that agent",
    "[gateway]") {
  Stack s;
  auto ivy = s.AgentDesk("gen-ivy", "general", "Ivy");
  s.Agent("gen-joe", "general", "Joe");
  const std::string widget = s.EntryPoint("web");

  // Two page views from a Baidu search for 退货.
  auto first = Track(s, widget, "", "https://shop.example/returns",
                     "https://www.baidu.com/s?wd=%E9%80%80%E8%B4%A7");
  const std::string visitor = first.visitor_id();
  REQUIRE_FALSE(visitor.empty());
  Track(s, widget, visitor, "https://shop.example/returns/form");

  gv1::ListVisitorsResponse listed;
  REQUIRE(s.gateways[0]
              .agent
              ->ListVisitors(CallWith(s.AgentToken("gen-ivy")).get(), gv1::ListVisitorsRequest(),
                             &listed)
              .ok());
  REQUIRE(listed.visitors_size() == 1);
  const auto& seen = listed.visitors(0);
  CHECK(seen.visitor_id() == visitor);
  CHECK_FALSE(seen.in_contact());
  CHECK_FALSE(seen.invited());
  REQUIRE(seen.visit().pages_size() == 2);
  CHECK(seen.visit().pages(0).url() == "https://shop.example/returns");
  CHECK(seen.visit().pages(0).has_dwell());  // ended when the second page opened
  CHECK_FALSE(seen.visit().pages(1).has_dwell());
  CHECK(seen.visit().referrer().search_engine() == "baidu");
  CHECK(seen.visit().referrer().search_keyword() == "退货");

  // Switched off for the tenant (F38): refused.
  s.Settings([](auto* t) { t->set_invitations_enabled(false); }, {"invitations_enabled"});
  gv1::InviteVisitorResponse invited;
  CHECK(InviteUntil(s, "gen-ivy", visitor, grpc::StatusCode::FAILED_PRECONDITION, &invited)
            .error_code() == grpc::StatusCode::FAILED_PRECONDITION);

  // The visitor's widget listens for invitations with its entry-point token.
  auto* stub = s.gateways[0].customer.get();
  Listener<gv1::CustomerGatewayServiceUpdatesResponse> page(
      [stub, widget, visitor](grpc::ClientContext* ctx) {
        ctx->AddMetadata("authorization", "Bearer " + widget);
        gv1::CustomerGatewayServiceUpdatesRequest request;
        request.set_visitor_id(visitor);
        return stub->Updates(ctx, request);
      });
  page.WaitFor([](const auto& u) { return u.has_snapshot(); });

  s.Settings([](auto* t) { t->set_invitations_enabled(true); }, {"invitations_enabled"});
  auto st = InviteUntil(s, "gen-ivy", visitor, grpc::StatusCode::OK, &invited);
  INFO(st.error_message());
  REQUIRE(st.ok());
  gv1::InviteVisitorResponse again;  // a retry: the same invitation
  REQUIRE(Invite(s, "gen-ivy", visitor, &again).ok());
  CHECK(again.invitation_id() == invited.invitation_id());
  auto invitation = page.WaitFor([](const auto& u) { return u.has_invitation(); }).invitation();
  CHECK(invitation.invitation_id() == invited.invitation_id());
  CHECK(invitation.agent().nickname() == "Ivy");
  CHECK(invitation.text() == "需要帮忙挑选吗？");

  // A made-up invitation id is refused, naming the field.
  gv1::StartContactRequest start;
  start.set_channel(cv1::CHANNEL_CHAT);
  start.set_visitor_id(visitor);
  start.set_invitation_id("not-an-invitation");
  gv1::StartContactResponse contact;
  st = stub->StartContact(CallWith(widget).get(), start, &contact);
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_message().find("invitation_id") != std::string::npos);

  // Accepting: the contact goes to Ivy (not Joe), with the trail in the screen pop.
  start.set_invitation_id(invited.invitation_id());
  st = stub->StartContact(CallWith(widget).get(), start, &contact);
  INFO(st.error_message());
  REQUIRE(st.ok());
  auto offer = ivy->WaitFor(IsOffer).offer();
  CHECK(offer.contact_id() == contact.contact_id());
  CHECK(offer.screen_pop().visit().pages_size() == 2);

  listed.Clear();
  REQUIRE(s.gateways[0]
              .agent
              ->ListVisitors(CallWith(s.AgentToken("gen-joe")).get(), gv1::ListVisitorsRequest(),
                             &listed)
              .ok());
  REQUIRE(listed.visitors_size() == 1);
  CHECK(listed.visitors(0).in_contact());
  // Nobody invites a visitor who is already talking to someone.
  gv1::InviteVisitorResponse ignored;
  gv1::InviteVisitorRequest request;
  request.set_visitor_id(visitor);
  CHECK(s.gateways[0]
            .agent->InviteVisitor(CallWith(s.AgentToken("gen-joe")).get(), request, &ignored)
            .error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  request.set_visitor_id("nobody-here");
  CHECK(s.gateways[0]
            .agent->InviteVisitor(CallWith(s.AgentToken("gen-joe")).get(), request, &ignored)
            .error_code() == grpc::StatusCode::NOT_FOUND);
}
