// Tenant isolation in crm (F70): a user of tenant A can neither read nor change any object
// of tenant B through any crm RPC, and row-level security holds underneath.
#include <pqxx/pqxx>

#include "tests/integration/crm_harness.h"

namespace {

using namespace crmtest;  // NOLINT(google-build-using-namespace): test vocabulary

// Everything tenant B has in crm.
struct TenantB {
  std::string tenant;
  crm::Customer customer;
  std::string dialog_id;
  std::string offline_message_id;
  std::string contact_plan_id;
  std::string visitor_id = "v-tenant-b";
};

TenantB Populate(Crm& crm) {
  TenantB b;
  b.tenant = kefu::testing::UniqueTenant("b");
  const std::string admin = TokenFor(b.tenant, common::ROLE_ADMIN, "admin-b");
  crm::Customer card;
  card.set_name("Secret B");
  card.add_phones("+8613811112222");
  card.add_emails("secret@b.example");
  card.add_visitor_ids(b.visitor_id);
  card.add_tags("b-only");
  b.customer = crm.Create(admin, card);

  crm::SetTierRulesRequest rules;
  auto* rule = rules.add_rules();
  rule->set_rule_id("b-rule");
  rule->set_tier(common::CUSTOMER_TIER_VIP);
  rule->set_min_completed_dialogs(3);
  rule->set_enabled(true);
  crm::SetTierRulesResponse rules_out;
  REQUIRE(crm.customers->SetTierRules(CallWith(admin).get(), rules, &rules_out).ok());
  crm::SetRegistrationFormRequest form;
  form.mutable_form()->set_kind(crm::FORM_KIND_PRE_CHAT);
  form.mutable_form()->set_enabled(true);
  auto* field = form.mutable_form()->add_fields();
  field->set_key("b_secret");
  field->set_type(common::FORM_FIELD_TYPE_TEXT);
  crm::SetRegistrationFormResponse form_out;
  REQUIRE(crm.customers->SetRegistrationForm(CallWith(admin).get(), form, &form_out).ok());

  DialogScript script;
  script.tenant = b.tenant;
  script.customer_id = b.customer.customer_id();
  script.customer_lines = {"tenant b secret words"};
  for (const auto& event : script.All()) crm.Publish(event);
  ev::Event visit;
  visit.set_tenant_id(b.tenant);
  visit.mutable_visit_tracked()->set_visitor_id(b.visitor_id);
  visit.mutable_visit_tracked()->set_visit_id("visit-b");
  visit.mutable_visit_tracked()->mutable_page()->set_url("https://b.example/");
  crm.Publish(visit);
  crm.WaitForEndedDialog(admin, script.dialog_id);
  b.dialog_id = script.dialog_id;

  crm::RateDialogRequest rate;
  rate.set_dialog_id(b.dialog_id);
  rate.set_score(3);
  crm::RateDialogResponse rated;
  REQUIRE(crm.records->RateDialog(CallWith(admin).get(), rate, &rated).ok());

  crm::CreateOfflineMessageRequest offline;
  offline.mutable_offline_message()->set_customer_id(b.customer.customer_id());
  offline.mutable_offline_message()->set_content("b's message");
  crm::CreateOfflineMessageResponse offline_out;
  REQUIRE(crm.records->CreateOfflineMessage(CallWith(admin).get(), offline, &offline_out).ok());
  b.offline_message_id = offline_out.offline_message().offline_message_id();

  crm::CreateContactPlanRequest plan;
  plan.mutable_contact_plan()->set_customer_id(b.customer.customer_id());
  *plan.mutable_contact_plan()->mutable_contact_time() = Ts(absl::Now() + absl::Hours(1));
  crm::CreateContactPlanResponse plan_out;
  REQUIRE(crm.records->CreateContactPlan(CallWith(admin).get(), plan, &plan_out).ok());
  b.contact_plan_id = plan_out.contact_plan().contact_plan_id();
  return b;
}

void CheckNotFound(const grpc::Status& status, const std::string& rpc) {
  INFO(rpc << ": " << status.error_message());
  CHECK(status.error_code() == grpc::StatusCode::NOT_FOUND);
}

}  // namespace

TEST_CASE("a user of tenant A can neither read nor change any crm object of tenant B") {
  Crm crm;
  const TenantB b = Populate(crm);
  const std::string tenant_a = kefu::testing::UniqueTenant("a");
  const std::string a = TokenFor(tenant_a, common::ROLE_ADMIN, "admin-a");
  const std::string b_id = b.customer.customer_id();

  // --- CustomerService ---
  {
    crm::Customer out;
    CheckNotFound(crm.Get(a, b_id, &out), "GetCustomer");
    CHECK(out.name().empty());
  }
  {
    crm::UpdateCustomerRequest r;
    r.mutable_customer()->set_customer_id(b_id);
    r.mutable_customer()->set_name("hijacked");
    r.mutable_update_mask()->add_paths("name");
    crm::UpdateCustomerResponse out;
    CheckNotFound(crm.customers->UpdateCustomer(CallWith(a).get(), r, &out), "UpdateCustomer");
  }
  {
    crm::SetTierRequest r;
    r.set_customer_id(b_id);
    r.set_tier(common::CUSTOMER_TIER_VIP);
    crm::SetTierResponse out;
    CheckNotFound(crm.customers->SetTier(CallWith(a).get(), r, &out), "SetTier");
  }
  {
    crm::BindExclusiveAgentRequest r;
    r.set_customer_id(b_id);
    r.set_agent_id("agent-a");
    crm::BindExclusiveAgentResponse out;
    CheckNotFound(crm.customers->BindExclusiveAgent(CallWith(a).get(), r, &out),
                  "BindExclusiveAgent");
  }
  {
    // B's phone, email and visitor id identify nobody in A: A gets a card of its own.
    for (const auto& set : std::vector<std::function<void(crm::IdentifyCustomerRequest*)>>{
             [](auto* r) { r->set_phone("+8613811112222"); },
             [](auto* r) { r->set_email("secret@b.example"); },
             [&](auto* r) { r->set_visitor_id(b.visitor_id); }}) {
      crm::IdentifyCustomerRequest r;
      set(&r);
      r.set_lookup_only(true);
      crm::IdentifyCustomerResponse out;
      CheckNotFound(crm.customers->IdentifyCustomer(CallWith(a).get(), r, &out),
                    "IdentifyCustomer");
    }
    auto own = crm.IdentifyPhone(a, "+8613811112222");
    CHECK(own.created());
    CHECK(own.customer().customer_id() != b_id);
    CHECK(own.customer().name().empty());
  }
  {
    crm::SearchCustomersRequest r;
    r.set_query("Secret");
    crm::SearchCustomersResponse out;
    REQUIRE(crm.customers->SearchCustomers(CallWith(a).get(), r, &out).ok());
    CHECK(out.customers().empty());
    crm::ListCustomersRequest list;
    list.set_tag("b-only");
    crm::ListCustomersResponse listed;
    REQUIRE(crm.customers->ListCustomers(CallWith(a).get(), list, &listed).ok());
    CHECK(listed.customers().empty());
  }
  {
    crm::GetTierRulesRequest r;
    crm::GetTierRulesResponse out;
    REQUIRE(crm.customers->GetTierRules(CallWith(a).get(), r, &out).ok());
    for (const auto& rule : out.rules()) CHECK(rule.rule_id() != "b-rule");
    crm::GetRegistrationFormRequest form;
    form.set_kind(crm::FORM_KIND_PRE_CHAT);
    crm::GetRegistrationFormResponse form_out;
    CheckNotFound(crm.customers->GetRegistrationForm(CallWith(a).get(), form, &form_out),
                  "GetRegistrationForm");
    // With a form of A's own, B's customer still cannot be written through it.
    crm::SetRegistrationFormRequest set;
    set.mutable_form()->set_kind(crm::FORM_KIND_PRE_CHAT);
    set.mutable_form()->set_enabled(true);
    auto* f = set.mutable_form()->add_fields();
    f->set_key("name");
    f->set_type(common::FORM_FIELD_TYPE_TEXT);
    f->set_maps_to(crm::CARD_FIELD_NAME);
    crm::SetRegistrationFormResponse set_out;
    REQUIRE(crm.customers->SetRegistrationForm(CallWith(a).get(), set, &set_out).ok());
    crm::SubmitRegistrationRequest submit;
    submit.set_kind(crm::FORM_KIND_PRE_CHAT);
    submit.set_customer_id(b_id);
    (*submit.mutable_values())["name"] = "hijacked";
    crm::SubmitRegistrationResponse submitted;
    CheckNotFound(crm.customers->SubmitRegistration(CallWith(a).get(), submit, &submitted),
                  "SubmitRegistration");
  }
  {
    // Naming tenant B in a request with A's token is refused outright.
    crm::GetCustomerRequest r;
    r.set_tenant_id(b.tenant);
    r.set_customer_id(b_id);
    crm::GetCustomerResponse out;
    CHECK(crm.customers->GetCustomer(CallWith(a).get(), r, &out).error_code() ==
          grpc::StatusCode::PERMISSION_DENIED);
  }

  // --- RecordService ---
  CheckNotFound(crm.GetDialog(a, b.dialog_id), "GetDialog");
  {
    crm::GetTranscriptRequest r;
    r.set_dialog_id(b.dialog_id);
    crm::GetTranscriptResponse out;
    CheckNotFound(crm.records->GetTranscript(CallWith(a).get(), r, &out), "GetTranscript");
    CHECK(out.messages().empty());
  }
  {
    crm::SearchDialogsRequest r;
    r.set_text("secret");
    crm::SearchDialogsResponse out;
    REQUIRE(crm.records->SearchDialogs(CallWith(a).get(), r, &out).ok());
    CHECK(out.hits().empty());
    CHECK(out.total_count() == 0);
  }
  {
    crm::CreateOfflineMessageRequest r;
    r.mutable_offline_message()->set_customer_id(b_id);
    r.mutable_offline_message()->set_content("x");
    crm::CreateOfflineMessageResponse out;
    CheckNotFound(crm.records->CreateOfflineMessage(CallWith(a).get(), r, &out),
                  "CreateOfflineMessage");
    crm::GetOfflineMessageRequest get;
    get.set_offline_message_id(b.offline_message_id);
    crm::GetOfflineMessageResponse got;
    CheckNotFound(crm.records->GetOfflineMessage(CallWith(a).get(), get, &got),
                  "GetOfflineMessage");
    crm::ListOfflineMessagesRequest list;
    crm::ListOfflineMessagesResponse listed;
    REQUIRE(crm.records->ListOfflineMessages(CallWith(a).get(), list, &listed).ok());
    CHECK(listed.offline_messages().empty());
    crm::ReplyOfflineMessageRequest reply;
    reply.set_offline_message_id(b.offline_message_id);
    reply.set_text("hijacked");
    crm::ReplyOfflineMessageResponse replied;
    CheckNotFound(crm.records->ReplyOfflineMessage(CallWith(a).get(), reply, &replied),
                  "ReplyOfflineMessage");
  }
  {
    crm::RateDialogRequest r;
    r.set_dialog_id(b.dialog_id);
    r.set_score(1);
    crm::RateDialogResponse out;
    CheckNotFound(crm.records->RateDialog(CallWith(a).get(), r, &out), "RateDialog");
    crm::ListRatingsRequest list;
    crm::ListRatingsResponse listed;
    REQUIRE(crm.records->ListRatings(CallWith(a).get(), list, &listed).ok());
    CHECK(listed.ratings().empty());
  }
  {
    crm::CreateContactPlanRequest r;
    r.mutable_contact_plan()->set_customer_id(b_id);
    *r.mutable_contact_plan()->mutable_contact_time() = Ts(absl::Now());
    crm::CreateContactPlanResponse out;
    CheckNotFound(crm.records->CreateContactPlan(CallWith(a).get(), r, &out), "CreateContactPlan");
    crm::UpdateContactPlanRequest update;
    update.mutable_contact_plan()->set_contact_plan_id(b.contact_plan_id);
    update.mutable_contact_plan()->set_notes("hijacked");
    update.mutable_update_mask()->add_paths("notes");
    crm::UpdateContactPlanResponse updated;
    CheckNotFound(crm.records->UpdateContactPlan(CallWith(a).get(), update, &updated),
                  "UpdateContactPlan");
    crm::DeleteContactPlanRequest del;
    del.set_contact_plan_id(b.contact_plan_id);
    crm::DeleteContactPlanResponse deleted;
    CheckNotFound(crm.records->DeleteContactPlan(CallWith(a).get(), del, &deleted),
                  "DeleteContactPlan");
    crm::ListContactPlansRequest list;
    list.set_customer_id(b_id);
    crm::ListContactPlansResponse listed;
    REQUIRE(crm.records->ListContactPlans(CallWith(a).get(), list, &listed).ok());
    CHECK(listed.contact_plans().empty());
  }
  {
    crm::GetVisitorRequest r;
    r.set_visitor_id(b.visitor_id);
    crm::GetVisitorResponse out;
    CheckNotFound(crm.records->GetVisitor(CallWith(a).get(), r, &out), "GetVisitor");
    crm::ListVisitsRequest list;
    list.set_visitor_id(b.visitor_id);
    crm::ListVisitsResponse visits;
    REQUIRE(crm.records->ListVisits(CallWith(a).get(), list, &visits).ok());
    CHECK(visits.visits().empty());
  }

  // B's records are as B left them.
  const std::string admin_b = TokenFor(b.tenant, common::ROLE_ADMIN, "admin-b");
  crm::Customer card;
  REQUIRE(crm.Get(admin_b, b_id, &card).ok());
  CHECK(card.name() == "Secret B");
  CHECK(card.tier() != common::CUSTOMER_TIER_VIP);
  CHECK(card.exclusive_agent_id().empty());
  crm::GetOfflineMessageRequest get;
  get.set_offline_message_id(b.offline_message_id);
  crm::GetOfflineMessageResponse offline;
  REQUIRE(crm.records->GetOfflineMessage(CallWith(admin_b).get(), get, &offline).ok());
  CHECK(offline.offline_message().status() == crm::OFFLINE_MESSAGE_STATUS_PENDING);
  crm::ListContactPlansRequest plans;
  crm::ListContactPlansResponse b_plans;
  REQUIRE(crm.records->ListContactPlans(CallWith(admin_b).get(), plans, &b_plans).ok());
  REQUIRE(b_plans.contact_plans_size() == 1);
  CHECK(b_plans.contact_plans(0).notes().empty());
  crm::Dialog dialog;
  REQUIRE(crm.GetDialog(admin_b, b.dialog_id, &dialog).ok());
  CHECK(dialog.rating().score() == 3);
}

TEST_CASE("row-level security shows the application role only the tenant it acts for") {
  Crm crm;
  const TenantB b = Populate(crm);
  pqxx::connection conn(crm.service.pg_dsn);
  pqxx::work txn(conn);
  txn.exec("SET LOCAL ROLE kefu_app");
  // No tenant set: nothing at all.
  CHECK(txn.exec1("SELECT count(*) FROM crm.customers")[0].as<int>() == 0);
  txn.exec_params("SELECT set_config('kefu.tenant_id', $1, true)", "t-someone-else");
  for (const char* table :
       {"crm.customers", "crm.customer_keys", "crm.dialogs", "crm.messages", "crm.ratings",
        "crm.offline_messages", "crm.contact_plans", "crm.visits", "crm.tier_rules",
        "crm.registration_forms", "crm.processed_events"}) {
    INFO(table);
    CHECK(txn.exec1(std::string("SELECT count(*) FROM ") + table)[0].as<int>() == 0);
  }
  txn.exec_params("SELECT set_config('kefu.tenant_id', $1, true)", b.tenant);
  CHECK(txn.exec1("SELECT count(*) FROM crm.customers")[0].as<int>() == 1);
  // Writing a row of another tenant is refused by the policy's WITH CHECK.
  CHECK_THROWS(txn.exec(
      "INSERT INTO crm.counters (tenant_id, name, value) VALUES ('t-someone-else', 'x', 1)"));
}
