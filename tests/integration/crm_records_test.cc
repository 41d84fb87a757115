// crm RecordService against real PostgreSQL and Redis: dialogs and transcripts from the
// event stream (F51, F53), dialog search, ratings (F32), offline messages (F33), contact
// plans (F52), visitors and visits (F5).
#include "tests/integration/crm_harness.h"

namespace {

using namespace crmtest;  // NOLINT(google-build-using-namespace): test vocabulary

std::vector<std::string> DialogIds(const crm::SearchDialogsResponse& response) {
  std::vector<std::string> ids;
  for (const auto& hit : response.hits()) ids.push_back(hit.dialog().dialog_id());
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<std::string> Sorted(std::vector<std::string> ids) {
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace

TEST_CASE("a dialog record and its transcript are built from the events, in order") {
  Crm crm;
  const std::string tenant = kefu::testing::UniqueTenant("dlg");
  const std::string admin = TokenFor(tenant, common::ROLE_ADMIN, "admin");
  auto customer = crm.IdentifyPhone(PlatformToken(), "+8613800000011", tenant);
  DialogScript script;
  script.tenant = tenant;
  script.customer_id = customer.customer().customer_id();
  script.customer_lines = {"你好", "我想退货", "订单号 123"};
  script.agent_lines = {"您好", "好的", "已处理"};
  for (const auto& event : script.All()) crm.Publish(event);

  crm::Dialog dialog = crm.WaitForEndedDialog(admin, script.dialog_id);
  CHECK(dialog.contact_id() == script.contact_id);
  CHECK(dialog.customer_id() == script.customer_id);
  CHECK(dialog.channel() == common::CHANNEL_CHAT);
  CHECK(dialog.entry_point_id() == "web");
  CHECK(dialog.department_id() == "dept-sales");
  CHECK(dialog.initiation() == common::DIALOG_INITIATION_CUSTOMER);
  CHECK(dialog.end_type() == common::DIALOG_END_TYPE_CUSTOMER);
  CHECK(dialog.valid());
  CHECK(dialog.connected());
  REQUIRE(dialog.agents_size() == 1);
  CHECK(dialog.agents(0).agent_id() == "agent-1");
  CHECK(dialog.message_count() == 6);
  CHECK(dialog.wait_duration().seconds() == 20);
  CHECK(dialog.duration().seconds() == 280);
  CHECK(dialog.summary().resolved());
  CHECK_FALSE(dialog.has_rating());

  crm::GetTranscriptRequest request;
  request.set_tenant_id(tenant);
  request.set_dialog_id(script.dialog_id);
  request.set_page_size(4);
  crm::GetTranscriptResponse page1, page2;
  REQUIRE(crm.records->GetTranscript(CallWith(PlatformToken()).get(), request, &page1).ok());
  REQUIRE(page1.messages_size() == 4);
  request.set_page_token(page1.next_page_token());
  REQUIRE(crm.records->GetTranscript(CallWith(PlatformToken()).get(), request, &page2).ok());
  REQUIRE(page2.messages_size() == 2);
  CHECK(page2.next_page_token().empty());
  std::vector<std::string> texts;
  for (const auto* page : {&page1, &page2}) {
    for (const auto& m : page->messages()) {
      CHECK(m.sequence() == static_cast<int64_t>(texts.size()) + 1);
      texts.push_back(m.text());
    }
  }
  CHECK(texts ==
        std::vector<std::string>{"你好", "您好", "我想退货", "好的", "订单号 123", "已处理"});
}

TEST_CASE("the same event delivered twice produces one record") {
  Crm crm;
  const std::string tenant = kefu::testing::UniqueTenant("dedup");
  const std::string admin = TokenFor(tenant, common::ROLE_ADMIN, "admin");
  auto customer = crm.IdentifyPhone(PlatformToken(), "+8613800000012", tenant);
  DialogScript script;
  script.tenant = tenant;
  script.customer_id = customer.customer().customer_id();
  const auto events = script.All();
  // Every event twice, with the same event id (a redelivery after a crash).
  for (const auto& event : events) {
    crm.Publish(event);
    crm.Publish(event);
  }
  // The same message again under a new event id: deduplicated by message id (F51).
  ev::Event resent = script.Message(1, common::PARTICIPANT_TYPE_CUSTOMER, script.customer_id,
                                    script.customer_lines[0]);
  crm.Publish(resent);
  // A later event tells when the duplicates have all been consumed.
  DialogScript marker;
  marker.tenant = tenant;
  for (const auto& event : marker.All()) crm.Publish(event);
  crm.WaitForEndedDialog(admin, marker.dialog_id);

  crm::Dialog dialog;
  REQUIRE(crm.GetDialog(admin, script.dialog_id, &dialog).ok());
  CHECK(dialog.message_count() == 2);
  CHECK(dialog.agents_size() == 1);
  crm::GetTranscriptRequest request;
  request.set_dialog_id(script.dialog_id);
  crm::GetTranscriptResponse transcript;
  REQUIRE(crm.records->GetTranscript(CallWith(admin).get(), request, &transcript).ok());
  CHECK(transcript.messages_size() == 2);
  crm::Customer card;
  REQUIRE(crm.Get(admin, script.customer_id, &card).ok());
  CHECK(card.dialog_count() == 1);  // the DialogEnded delivered twice counted once
  crm::SearchDialogsRequest search;
  search.set_customer_id(script.customer_id);
  crm::SearchDialogsResponse found;
  REQUIRE(crm.records->SearchDialogs(CallWith(admin).get(), search, &found).ok());
  CHECK(found.total_count() == 1);
}

TEST_CASE("an agent sees only their own dialogs while supervisors and admins see all") {
  Crm crm;
  const std::string tenant = kefu::testing::UniqueTenant("own");
  DialogScript mine, theirs;
  mine.tenant = theirs.tenant = tenant;
  mine.agent_id = "agent-a";
  theirs.agent_id = "agent-b";
  for (const auto* script : {&mine, &theirs}) {
    for (const auto& event : script->All()) crm.Publish(event);
  }
  const std::string admin = TokenFor(tenant, common::ROLE_ADMIN, "admin");
  crm.WaitForEndedDialog(admin, mine.dialog_id);
  crm.WaitForEndedDialog(admin, theirs.dialog_id);

  const std::string agent_a = TokenFor(tenant, common::ROLE_AGENT, "agent-a");
  crm::SearchDialogsRequest search;
  search.add_agent_ids("agent-b");  // asking for someone else's changes nothing
  crm::SearchDialogsResponse found;
  REQUIRE(crm.records->SearchDialogs(CallWith(agent_a).get(), search, &found).ok());
  CHECK(DialogIds(found) == std::vector<std::string>{mine.dialog_id});
  CHECK(found.total_count() == 1);

  CHECK(crm.GetDialog(agent_a, mine.dialog_id).ok());
  CHECK(crm.GetDialog(agent_a, theirs.dialog_id).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  crm::GetTranscriptRequest transcript;
  transcript.set_dialog_id(theirs.dialog_id);
  crm::GetTranscriptResponse messages;
  CHECK(crm.records->GetTranscript(CallWith(agent_a).get(), transcript, &messages).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  CHECK(messages.messages().empty());

  for (auto role : {common::ROLE_SUPERVISOR, common::ROLE_ADMIN}) {
    crm::SearchDialogsRequest all;
    crm::SearchDialogsResponse everything;
    REQUIRE(
        crm.records->SearchDialogs(CallWith(TokenFor(tenant, role, "boss")).get(), all, &everything)
            .ok());
    CHECK(DialogIds(everything) == Sorted({mine.dialog_id, theirs.dialog_id}));
    CHECK(crm.GetDialog(TokenFor(tenant, role, "boss"), theirs.dialog_id).ok());
  }
}

TEST_CASE(
    "dialog search combines time, agent, department, customer, Chinese and English words, "
    "end type, validity and rating, and pages") {
  Crm crm;
  const std::string tenant = kefu::testing::UniqueTenant("find");
  const std::string admin = TokenFor(tenant, common::ROLE_ADMIN, "admin");
  const absl::Time now = absl::Now();

  DialogScript refund;  // yesterday, agent-1, sales, about a refund, rated 5
  refund.tenant = tenant;
  refund.customer_id = "cust-1";
  refund.start = now - absl::Hours(24);
  refund.customer_lines = {"我要退货", "the REFUND please"};
  DialogScript invoice;  // an hour ago, agent-2, billing, about an invoice
  invoice.tenant = tenant;
  invoice.customer_id = "cust-2";
  invoice.agent_id = "agent-2";
  invoice.department_id = "dept-billing";
  invoice.start = now - absl::Hours(1);
  invoice.customer_lines = {"发票怎么开", "invoice"};
  invoice.end_type = common::DIALOG_END_TYPE_AGENT;
  DialogScript silent;  // invalid: the customer never wrote
  silent.tenant = tenant;
  silent.start = now - absl::Minutes(30);
  silent.customer_lines.clear();
  silent.end_type = common::DIALOG_END_TYPE_SYSTEM_TIMEOUT;
  for (const auto* s : {&refund, &invoice, &silent}) {
    for (const auto& event : s->All()) crm.Publish(event);
  }
  for (const auto* s : {&refund, &invoice, &silent}) crm.WaitForEndedDialog(admin, s->dialog_id);
  crm::RateDialogRequest rate;
  rate.set_tenant_id(tenant);
  rate.set_dialog_id(refund.dialog_id);
  rate.set_score(5);
  crm::RateDialogResponse rated;
  REQUIRE(crm.records->RateDialog(CallWith(PlatformToken()).get(), rate, &rated).ok());

  auto search = [&](const std::function<void(crm::SearchDialogsRequest*)>& set) {
    crm::SearchDialogsRequest request;
    set(&request);
    crm::SearchDialogsResponse response;
    grpc::Status status = crm.records->SearchDialogs(CallWith(admin).get(), request, &response);
    INFO(status.error_message());
    REQUIRE(status.ok());
    return response;
  };
  CHECK(DialogIds(search([](auto*) {})).size() == 3);
  CHECK(DialogIds(search([](auto* r) { r->set_text("退货"); })) ==
        std::vector<std::string>{refund.dialog_id});
  CHECK(DialogIds(search([](auto* r) { r->set_text("refund 退货"); })) ==
        std::vector<std::string>{refund.dialog_id});
  CHECK(DialogIds(search([](auto* r) { r->set_text("refund 发票"); })).empty());  // all words
  CHECK(DialogIds(search([](auto* r) { r->set_text("INVOICE"); })) ==
        std::vector<std::string>{invoice.dialog_id});
  CHECK(DialogIds(search([](auto* r) { r->add_agent_ids("agent-2"); })) ==
        std::vector<std::string>{invoice.dialog_id});
  CHECK(DialogIds(search([](auto* r) { r->add_department_ids("dept-billing"); })) ==
        std::vector<std::string>{invoice.dialog_id});
  CHECK(DialogIds(search([](auto* r) { r->set_customer_id("cust-1"); })) ==
        std::vector<std::string>{refund.dialog_id});
  CHECK(DialogIds(search([](auto* r) { r->add_end_types(common::DIALOG_END_TYPE_AGENT); })) ==
        std::vector<std::string>{invoice.dialog_id});
  CHECK(DialogIds(search([](auto* r) { r->set_validity(crm::VALIDITY_FILTER_INVALID); })) ==
        std::vector<std::string>{silent.dialog_id});
  CHECK(DialogIds(search([](auto* r) {
          r->set_rating(crm::RATING_FILTER_RATED);
          r->set_min_score(4);
        })) == std::vector<std::string>{refund.dialog_id});
  CHECK(DialogIds(search([](auto* r) { r->set_rating(crm::RATING_FILTER_UNRATED); })) ==
        Sorted({invoice.dialog_id, silent.dialog_id}));
  CHECK(DialogIds(search([&](auto* r) {
          *r->mutable_time_range()->mutable_start_time() = Ts(now - absl::Hours(2));
        })) == Sorted({invoice.dialog_id, silent.dialog_id}));
  // Several criteria at once.
  CHECK(DialogIds(search([&](auto* r) {
          *r->mutable_time_range()->mutable_start_time() = Ts(now - absl::Hours(48));
          *r->mutable_time_range()->mutable_end_time() = Ts(now);
          r->add_agent_ids("agent-1");
          r->set_validity(crm::VALIDITY_FILTER_VALID);
          r->set_text("退货");
          r->add_end_types(common::DIALOG_END_TYPE_CUSTOMER);
        })) == std::vector<std::string>{refund.dialog_id});
  // Hits carry the rating and the matching fragments.
  auto hit = search([](auto* r) { r->set_text("退货"); });
  REQUIRE(hit.hits_size() == 1);
  CHECK(hit.hits(0).dialog().rating().score() == 5);
  REQUIRE(hit.hits_size() > 0);
  CHECK_THAT(hit.hits(0).snippets(0), Catch::Contains("<em>退货</em>"));

  // Newest first, one a page; the token is bound to the filters.
  crm::SearchDialogsRequest paged;
  paged.set_page_size(1);
  std::vector<std::string> order;
  crm::SearchDialogsResponse page;
  do {
    REQUIRE(crm.records->SearchDialogs(CallWith(admin).get(), paged, &page).ok());
    CHECK(page.total_count() == 3);
    for (const auto& h : page.hits()) order.push_back(h.dialog().dialog_id());
    paged.set_page_token(page.next_page_token());
  } while (!page.next_page_token().empty());
  CHECK(order == std::vector<std::string>{silent.dialog_id, invoice.dialog_id, refund.dialog_id});

  crm::SearchDialogsRequest bad;
  bad.add_end_types(static_cast<common::DialogEndType>(99));
  crm::SearchDialogsResponse none;
  CHECK(NamesField(crm.records->SearchDialogs(CallWith(admin).get(), bad, &none), "end_types[0]"));
  crm::SearchDialogsRequest inverted;
  *inverted.mutable_time_range()->mutable_start_time() = Ts(now);
  *inverted.mutable_time_range()->mutable_end_time() = Ts(now - absl::Hours(1));
  CHECK(NamesField(crm.records->SearchDialogs(CallWith(admin).get(), inverted, &none),
                   "time_range.end_time"));
}

TEST_CASE(
    "a dialog takes one rating: a second is refused, a retry with its key returns the "
    "first") {
  Crm crm;
  const std::string tenant = kefu::testing::UniqueTenant("rate");
  const std::string admin = TokenFor(tenant, common::ROLE_ADMIN, "admin");
  DialogScript script;
  script.tenant = tenant;
  script.customer_id = "cust-9";
  for (const auto& event : script.All()) crm.Publish(event);
  crm.WaitForEndedDialog(admin, script.dialog_id);

  crm::RateDialogRequest rate;
  rate.set_tenant_id(tenant);
  rate.set_dialog_id(script.dialog_id);
  rate.set_score(0);
  crm::RateDialogResponse rated;
  const std::string gateway = PlatformToken();
  CHECK(NamesField(crm.records->RateDialog(CallWith(gateway).get(), rate, &rated), "score"));
  rate.set_score(4);
  rate.set_comment("很好");
  rate.set_idempotency_key("rate-1");
  REQUIRE(crm.records->RateDialog(CallWith(gateway).get(), rate, &rated).ok());
  CHECK(rated.rating().agent_id() == "agent-1");
  CHECK(rated.rating().customer_id() == "cust-9");
  CHECK(rated.rating().department_id() == "dept-sales");

  crm::RateDialogResponse retried;
  REQUIRE(crm.records->RateDialog(CallWith(gateway).get(), rate, &retried).ok());
  CHECK(retried.rating().score() == 4);

  crm::RateDialogRequest second = rate;
  second.set_idempotency_key("rate-2");
  second.set_score(1);
  crm::RateDialogResponse refused;
  grpc::Status status = crm.records->RateDialog(CallWith(gateway).get(), second, &refused);
  CHECK(status.error_code() == grpc::StatusCode::ALREADY_EXISTS);
  CHECK_THAT(status.error_message(), Catch::Contains("already rated"));

  crm::Dialog dialog;
  REQUIRE(crm.GetDialog(admin, script.dialog_id, &dialog).ok());
  CHECK(dialog.rating().score() == 4);
  auto events = EventsOf(*crm.redis, tenant, "dialog_rated", 1);
  REQUIRE(events.size() == 1);
  CHECK(events[0].dialog_rated().score() == 4);

  crm::ListRatingsRequest list;
  list.add_agent_ids("agent-1");
  crm::ListRatingsResponse ratings;
  REQUIRE(crm.records->ListRatings(CallWith(admin).get(), list, &ratings).ok());
  CHECK(ratings.ratings_size() == 1);

  rate.set_dialog_id("no-such-dialog");
  rate.set_idempotency_key("");
  CHECK(crm.records->RateDialog(CallWith(gateway).get(), rate, &rated).error_code() ==
        grpc::StatusCode::NOT_FOUND);
}

TEST_CASE(
    "a rating on the event stream (the gateway's) is recorded after the dialog, once: a "
    "redelivery or a second rating changes nothing") {
  Crm crm;
  const std::string tenant = kefu::testing::UniqueTenant("rated");
  const std::string admin = TokenFor(tenant, common::ROLE_ADMIN, "admin");
  DialogScript script;
  script.tenant = tenant;
  script.customer_id = "cust-7";
  auto rated = [&](int score) {
    ev::Event event = script.Envelope();
    *event.mutable_occurred_time() = Ts(absl::Now());
    auto* r = event.mutable_dialog_rated();
    r->set_dialog_id(script.dialog_id);
    r->set_customer_id(script.customer_id);
    r->set_agent_id(script.agent_id);
    r->set_department_id(script.department_id);
    r->set_score(score);
    r->set_comment("很好");
    return event;
  };
  for (const auto& event : script.All()) crm.Publish(event);
  const ev::Event first = rated(5);
  crm.Publish(first);
  crm.Publish(first);     // redelivered
  crm.Publish(rated(1));  // never sent by the gateway (it rates once); the first stays
  DialogScript marker;
  marker.tenant = tenant;
  for (const auto& event : marker.All()) crm.Publish(event);
  crm.WaitForEndedDialog(admin, marker.dialog_id);

  crm::Dialog dialog;
  REQUIRE(crm.GetDialog(admin, script.dialog_id, &dialog).ok());
  REQUIRE(dialog.has_rating());
  CHECK(dialog.rating().score() == 5);
  CHECK(dialog.rating().agent_id() == "agent-1");
  CHECK(dialog.rating().department_id() == "dept-sales");
  crm::ListRatingsRequest list;
  crm::ListRatingsResponse ratings;
  REQUIRE(crm.records->ListRatings(CallWith(admin).get(), list, &ratings).ok());
  CHECK(ratings.ratings_size() == 1);
  // crm records the rating and reports nothing more: the gateway's event is the only one.
  CHECK(EventsOf(*crm.redis, tenant, "dialog_rated", 3).size() == 3);

  // The RPC refuses to rate a dialog already rated from the stream.
  crm::RateDialogRequest rate;
  rate.set_tenant_id(tenant);
  rate.set_dialog_id(script.dialog_id);
  rate.set_score(3);
  crm::RateDialogResponse refused;
  CHECK(crm.records->RateDialog(CallWith(PlatformToken()).get(), rate, &refused).error_code() ==
        grpc::StatusCode::ALREADY_EXISTS);
}

TEST_CASE("offline messages are stored PENDING, listed by status, and replied to once") {
  Crm crm;
  const std::string tenant = kefu::testing::UniqueTenant("offline");
  const std::string admin = TokenFor(tenant, common::ROLE_ADMIN, "admin-1");
  auto customer = crm.IdentifyPhone(PlatformToken(), "+8613800000013", tenant);

  crm::CreateOfflineMessageRequest create;
  create.set_tenant_id(tenant);
  auto* m = create.mutable_offline_message();
  m->set_customer_id(customer.customer().customer_id());
  m->set_department_id("dept-sales");
  m->set_channel(common::CHANNEL_CHAT);
  m->set_content("请回电话，谢谢");
  (*m->mutable_form_fields())["phone"] = "+8613800000013";
  m->set_status(crm::OFFLINE_MESSAGE_STATUS_REPLIED);  // set by the server, not the caller
  create.set_idempotency_key("leave-1");
  crm::CreateOfflineMessageResponse created, retried;
  REQUIRE(
      crm.records->CreateOfflineMessage(CallWith(PlatformToken()).get(), create, &created).ok());
  CHECK(created.offline_message().status() == crm::OFFLINE_MESSAGE_STATUS_PENDING);
  CHECK(created.offline_message().form_fields().at("phone") == "+8613800000013");
  REQUIRE(
      crm.records->CreateOfflineMessage(CallWith(PlatformToken()).get(), create, &retried).ok());
  CHECK(retried.offline_message().offline_message_id() ==
        created.offline_message().offline_message_id());
  const std::string id = created.offline_message().offline_message_id();

  crm::CreateOfflineMessageRequest empty;
  empty.set_tenant_id(tenant);
  empty.mutable_offline_message()->set_content("  ");
  crm::CreateOfflineMessageResponse none;
  CHECK(NamesField(crm.records->CreateOfflineMessage(CallWith(PlatformToken()).get(), empty, &none),
                   "offline_message.content"));

  auto list = [&](crm::OfflineMessageStatus status) {
    crm::ListOfflineMessagesRequest request;
    request.set_status(status);
    crm::ListOfflineMessagesResponse response;
    REQUIRE(crm.records->ListOfflineMessages(CallWith(admin).get(), request, &response).ok());
    return response.offline_messages_size();
  };
  CHECK(list(crm::OFFLINE_MESSAGE_STATUS_PENDING) == 1);
  CHECK(list(crm::OFFLINE_MESSAGE_STATUS_REPLIED) == 0);

  crm::ReplyOfflineMessageRequest reply;
  reply.set_offline_message_id(id);
  reply.set_text("已回电");
  reply.set_channel(crm::REPLY_CHANNEL_PHONE);
  crm::ReplyOfflineMessageResponse replied;
  REQUIRE(crm.records->ReplyOfflineMessage(CallWith(admin).get(), reply, &replied).ok());
  CHECK(replied.offline_message().status() == crm::OFFLINE_MESSAGE_STATUS_REPLIED);
  CHECK(replied.offline_message().replied_by() == "admin-1");
  CHECK(replied.offline_message().has_reply_time());
  CHECK(list(crm::OFFLINE_MESSAGE_STATUS_PENDING) == 0);
  CHECK(list(crm::OFFLINE_MESSAGE_STATUS_REPLIED) == 1);

  crm::ReplyOfflineMessageResponse twice;
  CHECK(crm.records->ReplyOfflineMessage(CallWith(admin).get(), reply, &twice).error_code() ==
        grpc::StatusCode::FAILED_PRECONDITION);
  crm::GetOfflineMessageRequest get;
  get.set_offline_message_id(id);
  crm::GetOfflineMessageResponse got;
  REQUIRE(crm.records->GetOfflineMessage(CallWith(admin).get(), get, &got).ok());
  CHECK(got.offline_message().reply_text() == "已回电");

  CHECK(EventsOf(*crm.redis, tenant, "offline_message_left", 1).size() == 1);
  auto replied_events = EventsOf(*crm.redis, tenant, "offline_message_replied", 1);
  REQUIRE(replied_events.size() == 1);
  CHECK(replied_events[0].offline_message_replied().replied_by() == "admin-1");
}

TEST_CASE("contact plans take their method from the card or OTHER and agents keep to their own") {
  Crm crm;
  const std::string tenant = kefu::testing::UniqueTenant("plan");
  const std::string agent = TokenFor(tenant, common::ROLE_AGENT, "agent-1");
  const std::string other_agent = TokenFor(tenant, common::ROLE_AGENT, "agent-2");
  crm::Customer card;
  card.set_name("Plan");
  card.add_phones("+8613800000014");
  card.add_emails("plan@example.com");
  card = crm.Create(agent, card);

  crm::CreateContactPlanRequest create;
  auto* plan = create.mutable_contact_plan();
  plan->set_customer_id(card.customer_id());
  *plan->mutable_contact_time() = Ts(absl::Now() + absl::Hours(24));
  plan->set_notes("回访退货");
  crm::CreateContactPlanResponse created;
  REQUIRE(crm.records->CreateContactPlan(CallWith(agent).get(), create, &created).ok());
  CHECK(created.contact_plan().method().kind() == crm::CONTACT_METHOD_KIND_PHONE);
  CHECK(created.contact_plan().method().value() == "+8613800000014");
  CHECK(created.contact_plan().status() == crm::CONTACT_PLAN_STATUS_PLANNED);
  CHECK(created.contact_plan().owner_id() == "agent-1");
  const std::string id = created.contact_plan().contact_plan_id();

  plan->mutable_method()->set_kind(crm::CONTACT_METHOD_KIND_EMAIL);
  plan->mutable_method()->set_value("someone@else.com");
  crm::CreateContactPlanResponse refused;
  CHECK(NamesField(crm.records->CreateContactPlan(CallWith(agent).get(), create, &refused),
                   "contact_plan.method.value"));

  crm::UpdateContactPlanRequest update;
  update.mutable_contact_plan()->set_contact_plan_id(id);
  update.mutable_contact_plan()->set_status(crm::CONTACT_PLAN_STATUS_DONE);
  update.mutable_contact_plan()->mutable_method()->set_kind(crm::CONTACT_METHOD_KIND_OTHER);
  update.mutable_contact_plan()->mutable_method()->set_value("上门拜访");
  update.mutable_update_mask()->add_paths("status");
  update.mutable_update_mask()->add_paths("method");
  crm::UpdateContactPlanResponse updated;
  CHECK(
      crm.records->UpdateContactPlan(CallWith(other_agent).get(), update, &updated).error_code() ==
      grpc::StatusCode::PERMISSION_DENIED);
  REQUIRE(crm.records->UpdateContactPlan(CallWith(agent).get(), update, &updated).ok());
  CHECK(updated.contact_plan().status() == crm::CONTACT_PLAN_STATUS_DONE);
  CHECK(updated.contact_plan().method().value() == "上门拜访");
  CHECK(updated.contact_plan().notes() == "回访退货");  // outside the mask

  crm::ListContactPlansRequest list;
  crm::ListContactPlansResponse mine, theirs;
  REQUIRE(crm.records->ListContactPlans(CallWith(agent).get(), list, &mine).ok());
  CHECK(mine.contact_plans_size() == 1);
  REQUIRE(crm.records->ListContactPlans(CallWith(other_agent).get(), list, &theirs).ok());
  CHECK(theirs.contact_plans().empty());

  crm::DeleteContactPlanRequest del;
  del.set_contact_plan_id(id);
  crm::DeleteContactPlanResponse deleted;
  REQUIRE(crm.records->DeleteContactPlan(CallWith(agent).get(), del, &deleted).ok());
  CHECK(crm.records->DeleteContactPlan(CallWith(agent).get(), del, &deleted).error_code() ==
        grpc::StatusCode::NOT_FOUND);
}

TEST_CASE(
    "a visitor's trail keeps pages with dwell time and the referrer as domain, engine and "
    "keyword and a known visitor shows as the customer") {
  Crm crm;
  const std::string tenant = kefu::testing::UniqueTenant("visit");
  const std::string gateway = PlatformToken();
  const absl::Time t0 = absl::Now() - absl::Minutes(5);
  auto page_view = [&](const std::string& url, const std::string& title, absl::Time at,
                       bool first) {
    ev::Event event;
    event.set_tenant_id(tenant);
    *event.mutable_occurred_time() = Ts(at);
    auto* v = event.mutable_visit_tracked();
    v->set_visitor_id("v-42");
    v->set_visit_id("visit-1");
    v->set_ip("203.0.113.9");
    v->mutable_region()->set_country_code("CN");
    v->mutable_region()->set_province("浙江");
    v->mutable_region()->set_city("宁波");
    v->mutable_page()->set_url(url);
    v->mutable_page()->set_title(title);
    *v->mutable_page()->mutable_entered_time() = Ts(at);
    if (first) v->mutable_referrer()->set_url("https://www.baidu.com/s?wd=%E9%80%80%E8%B4%A7");
    return event;
  };
  crm.Publish(page_view("https://shop.example.com/", "首页", t0, true));
  crm.Publish(
      page_view("https://shop.example.com/returns", "退货政策", t0 + absl::Seconds(45), false));

  crm::ListVisitsRequest list;
  list.set_tenant_id(tenant);
  list.set_visitor_id("v-42");
  crm::ListVisitsResponse visits;
  REQUIRE(Eventually([&] {
    return crm.records->ListVisits(CallWith(gateway).get(), list, &visits).ok() &&
           visits.visits_size() == 1 && visits.visits(0).pages_size() == 2;
  }));
  const auto& visit = visits.visits(0);
  CHECK(visit.referrer().domain() == "www.baidu.com");
  CHECK(visit.referrer().search_engine() == "baidu");
  CHECK(visit.referrer().search_keyword() == "退货");
  CHECK(visit.ip() == "203.0.113.9");
  CHECK(visit.region().city() == "宁波");
  CHECK(visit.pages(0).title() == "首页");
  CHECK(visit.pages(0).dwell().seconds() == 45);
  CHECK_FALSE(visit.pages(1).has_dwell());  // still on it

  crm::GetVisitorRequest get;
  get.set_tenant_id(tenant);
  get.set_visitor_id("v-42");
  crm::GetVisitorResponse visitor;
  REQUIRE(crm.records->GetVisitor(CallWith(gateway).get(), get, &visitor).ok());
  CHECK(visitor.visitor().visit_count() == 1);
  CHECK(visitor.visitor().last_region().province() == "浙江");
  CHECK_FALSE(visitor.visitor().has_customer());

  // Identified by the visitor id: from then on the visitor shows as the customer (F5).
  crm::IdentifyCustomerRequest identify;
  identify.set_tenant_id(tenant);
  identify.set_visitor_id("v-42");
  identify.set_name("访客42");
  crm::IdentifyCustomerResponse identified;
  REQUIRE(crm.customers->IdentifyCustomer(CallWith(gateway).get(), identify, &identified).ok());
  REQUIRE(crm.records->GetVisitor(CallWith(gateway).get(), get, &visitor).ok());
  CHECK(visitor.visitor().customer().customer_id() == identified.customer().customer_id());
  CHECK(visitor.visitor().customer().customer_number() == identified.customer().customer_number());
  CHECK(visitor.visitor().customer().name() == "访客42");

  get.set_visitor_id("v-unknown");
  CHECK(crm.records->GetVisitor(CallWith(gateway).get(), get, &visitor).error_code() ==
        grpc::StatusCode::NOT_FOUND);
}
