// crm CustomerService against real PostgreSQL and Redis: authentication, identification
// (F2), cards (F50), tiers and their rules, registration forms (F6), input validation.
#include <grpcpp/generic/generic_stub.h>

#include <thread>

#include "tests/integration/crm_harness.h"

namespace {

using namespace crmtest;  // NOLINT(google-build-using-namespace): test vocabulary

// Calls `full_method` without a token through the generic API, whatever its streaming
// kind (one empty message, then half-close), and returns the final status.
grpc::Status CallWithoutToken(const std::shared_ptr<grpc::Channel>& channel,
                              const std::string& full_method) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  auto call = stub.PrepareCall(&ctx, full_method, &cq);
  void* tag;
  bool ok;
  grpc::Status status;
  call->StartCall(reinterpret_cast<void*>(1));
  cq.Next(&tag, &ok);
  if (ok) {
    grpc::Slice empty;
    grpc::ByteBuffer message(&empty, 1);
    call->Write(message, reinterpret_cast<void*>(2));
    cq.Next(&tag, &ok);
    call->WritesDone(reinterpret_cast<void*>(3));
    cq.Next(&tag, &ok);
  }
  call->Finish(&status, reinterpret_cast<void*>(4));
  while (cq.Next(&tag, &ok)) {
    if (tag == reinterpret_cast<void*>(4)) break;
  }
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return status;
}

crm::Customer CardWithPhone(const std::string& name, const std::string& phone) {
  crm::Customer card;
  card.set_name(name);
  card.add_phones(phone);
  return card;
}

}  // namespace

TEST_CASE("every crm RPC answers UNAUTHENTICATED without a token") {
  Crm crm;
  int methods = 0;
  for (const char* name :
       {crm::CustomerService::service_full_name(), crm::RecordService::service_full_name()}) {
    const auto* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
    REQUIRE(service != nullptr);
    for (int i = 0; i < service->method_count(); ++i) {
      const std::string method =
          absl::StrCat("/", service->full_name(), "/", service->method(i)->name());
      INFO(method);
      CHECK(CallWithoutToken(crm.service.channel, method).error_code() ==
            grpc::StatusCode::UNAUTHENTICATED);
      ++methods;
    }
  }
  CHECK(methods == 13 + 17);  // every RPC of both services was walked
}

TEST_CASE("customer tokens get nothing from crm and roles are enforced per RPC") {
  Crm crm;
  const std::string tenant = kefu::testing::UniqueTenant("roles");
  const std::string customer = TokenFor(tenant, common::ROLE_CUSTOMER, "contact-1");
  const std::string agent = TokenFor(tenant, common::ROLE_AGENT, "agent-1");

  crm::IdentifyCustomerRequest identify;
  identify.set_phone("+8613800000001");
  crm::IdentifyCustomerResponse identified;
  CHECK(crm.customers->IdentifyCustomer(CallWith(customer).get(), identify, &identified)
            .error_code() == grpc::StatusCode::PERMISSION_DENIED);
  crm::SearchDialogsRequest search;
  crm::SearchDialogsResponse found;
  CHECK(crm.records->SearchDialogs(CallWith(customer).get(), search, &found).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  // Tier rules are the admin's; tiers by hand are for admins and supervisors.
  crm::SetTierRulesRequest rules;
  crm::SetTierRulesResponse rules_out;
  CHECK(crm.customers->SetTierRules(CallWith(agent).get(), rules, &rules_out).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  crm::SetTierRequest set_tier;
  set_tier.set_customer_id("c-1");
  set_tier.set_tier(common::CUSTOMER_TIER_VIP);
  crm::SetTierResponse set_tier_out;
  CHECK(crm.customers->SetTier(CallWith(agent).get(), set_tier, &set_tier_out).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  // Nothing was created by the refused calls.
  CHECK(crm.ListAll(TokenFor(tenant, common::ROLE_ADMIN, "admin")).empty());
}

TEST_CASE("a platform service token acts only for the tenant its request names") {
  Crm crm;
  const std::string tenant = kefu::testing::UniqueTenant("svc");
  const std::string admin = TokenFor(tenant, common::ROLE_ADMIN, "admin");

  auto made = crm.IdentifyPhone(PlatformToken(), "+8613800000002", tenant);
  CHECK(made.created());
  CHECK(crm.Get(admin, made.customer().customer_id()).ok());

  crm::IdentifyCustomerRequest no_tenant;
  no_tenant.set_phone("+8613800000002");
  crm::IdentifyCustomerResponse out;
  CHECK(
      NamesField(crm.customers->IdentifyCustomer(CallWith(PlatformToken()).get(), no_tenant, &out),
                 "tenant_id"));
  crm::IdentifyCustomerRequest other_tenant = no_tenant;
  other_tenant.set_tenant_id(kefu::testing::UniqueTenant("other"));
  CHECK(crm.customers->IdentifyCustomer(CallWith(admin).get(), other_tenant, &out).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  // RPCs without tenant_id act in the token's tenant, which a platform token has not.
  crm::CreateCustomerRequest create;
  crm::CreateCustomerResponse created;
  CHECK(crm.customers->CreateCustomer(CallWith(PlatformToken()).get(), create, &created)
            .error_code() == grpc::StatusCode::PERMISSION_DENIED);
}

TEST_CASE(
    "identification finds a customer by phone, email, IM account and visitor id, and "
    "creates a NEW one when nobody matches") {
  Crm crm;
  const std::string tenant = kefu::testing::UniqueTenant("ident");
  const std::string gateway = PlatformToken();
  const std::string admin = TokenFor(tenant, common::ROLE_ADMIN, "admin");

  // Nobody has this number: a NEW customer holding it.
  auto first = crm.IdentifyPhone(gateway, "+86 138-0013-8000", tenant);
  CHECK(first.created());
  CHECK(first.matched_by() == common::IDENTIFICATION_KEY_NONE);
  CHECK(first.customer().tier() == common::CUSTOMER_TIER_NEW);
  CHECK(first.customer().phones(0) == "+8613800138000");
  CHECK(absl::StartsWith(first.customer().customer_number(), "C"));
  CHECK_FALSE(first.has_last_dialog());
  const std::string id = first.customer().customer_id();

  // The same number, written differently: the same customer, not a second one.
  auto again = crm.IdentifyPhone(gateway, "+8613800138000", tenant);
  CHECK_FALSE(again.created());
  CHECK(again.matched_by() == common::IDENTIFICATION_KEY_PHONE);
  CHECK(again.customer().customer_id() == id);

  // Give the card an email, an IM account and a visitor id; each finds it.
  crm::UpdateCustomerRequest update;
  update.mutable_customer()->set_customer_id(id);
  update.mutable_customer()->add_emails("li.lei@example.com");
  auto* im = update.mutable_customer()->add_im_accounts();
  im->set_platform("wechat");
  im->set_account("lilei88");
  update.mutable_customer()->add_visitor_ids("v-cookie-1");
  for (const char* path : {"emails", "im_accounts", "visitor_ids"}) {
    update.mutable_update_mask()->add_paths(path);
  }
  crm::UpdateCustomerResponse updated;
  REQUIRE(crm.customers->UpdateCustomer(CallWith(admin).get(), update, &updated).ok());
  CHECK(updated.customer().phones_size() == 1);  // outside the mask: kept

  struct Key {
    std::function<void(crm::IdentifyCustomerRequest*)> set;
    common::IdentificationKey kind;
  };
  const std::vector<Key> keys = {
      {[](auto* r) { r->set_email("LI.LEI@Example.com"); }, common::IDENTIFICATION_KEY_EMAIL},
      {[](auto* r) {
         r->mutable_im_account()->set_platform("WeChat");
         r->mutable_im_account()->set_account("lilei88");
       },
       common::IDENTIFICATION_KEY_IM_ACCOUNT},
      {[](auto* r) { r->set_visitor_id("v-cookie-1"); }, common::IDENTIFICATION_KEY_VISITOR_ID},
  };
  for (const Key& key : keys) {
    crm::IdentifyCustomerRequest request;
    request.set_tenant_id(tenant);
    key.set(&request);
    crm::IdentifyCustomerResponse response;
    REQUIRE(crm.customers->IdentifyCustomer(CallWith(gateway).get(), request, &response).ok());
    CHECK(response.customer().customer_id() == id);
    CHECK(response.matched_by() == key.kind);
    CHECK_FALSE(response.created());
  }

  // An unknown visitor, an unknown email, an unknown IM account: each a new customer.
  for (const auto& set : std::vector<std::function<void(crm::IdentifyCustomerRequest*)>>{
           [](auto* r) { r->set_visitor_id("v-new"); },
           [](auto* r) { r->set_email("new@example.com"); },
           [](auto* r) {
             r->mutable_im_account()->set_platform("qq");
             r->mutable_im_account()->set_account("10001");
           }}) {
    crm::IdentifyCustomerRequest request;
    request.set_tenant_id(tenant);
    set(&request);
    crm::IdentifyCustomerResponse response;
    REQUIRE(crm.customers->IdentifyCustomer(CallWith(gateway).get(), request, &response).ok());
    CHECK(response.created());
    CHECK(response.customer().customer_id() != id);
    // ...found as the same one the second time.
    crm::IdentifyCustomerResponse second;
    REQUIRE(crm.customers->IdentifyCustomer(CallWith(gateway).get(), request, &second).ok());
    CHECK_FALSE(second.created());
    CHECK(second.customer().customer_id() == response.customer().customer_id());
  }
  CHECK(crm.ListAll(admin).size() == 4);

  // lookup_only never creates.
  crm::IdentifyCustomerRequest lookup;
  lookup.set_tenant_id(tenant);
  lookup.set_phone("+8613900000000");
  lookup.set_lookup_only(true);
  crm::IdentifyCustomerResponse none;
  CHECK(crm.customers->IdentifyCustomer(CallWith(gateway).get(), lookup, &none).error_code() ==
        grpc::StatusCode::NOT_FOUND);
  CHECK(crm.ListAll(admin).size() == 4);
}

TEST_CASE("concurrent identical identifications create one customer") {
  Crm crm;
  const std::string tenant = kefu::testing::UniqueTenant("race");
  const std::string gateway = PlatformToken();
  constexpr int kCalls = 8;
  std::vector<crm::IdentifyCustomerResponse> responses(kCalls);
  std::vector<grpc::Status> statuses(kCalls);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&, i] {
      crm::IdentifyCustomerRequest request;
      request.set_tenant_id(tenant);
      request.set_phone("+8613700001111");
      statuses[i] =
          crm.customers->IdentifyCustomer(CallWith(gateway).get(), request, &responses[i]);
    });
  }
  for (auto& t : threads) t.join();
  int created = 0;
  for (int i = 0; i < kCalls; ++i) {
    INFO(statuses[i].error_message());
    REQUIRE(statuses[i].ok());
    CHECK(responses[i].customer().customer_id() == responses[0].customer().customer_id());
    created += responses[i].created() ? 1 : 0;
  }
  CHECK(created == 1);
  CHECK(crm.ListAll(TokenFor(tenant, common::ROLE_ADMIN, "admin")).size() == 1);
}

TEST_CASE("bad input answers INVALID_ARGUMENT naming the field and writes nothing") {
  Crm crm;
  const std::string tenant = kefu::testing::UniqueTenant("bad");
  const std::string admin = TokenFor(tenant, common::ROLE_ADMIN, "admin");

  crm::IdentifyCustomerRequest phone;
  phone.set_tenant_id(tenant);
  phone.set_phone("call me maybe");
  crm::IdentifyCustomerResponse identified;
  CHECK(NamesField(crm.customers->IdentifyCustomer(CallWith(admin).get(), phone, &identified),
                   "phone"));
  crm::IdentifyCustomerRequest email;
  email.set_email("not-an-email");
  CHECK(NamesField(crm.customers->IdentifyCustomer(CallWith(admin).get(), email, &identified),
                   "email"));
  crm::IdentifyCustomerRequest no_key;
  CHECK(NamesField(crm.customers->IdentifyCustomer(CallWith(admin).get(), no_key, &identified),
                   "key"));

  auto create = [&](const crm::Customer& card) {
    crm::CreateCustomerRequest request;
    *request.mutable_customer() = card;
    crm::CreateCustomerResponse response;
    return crm.customers->CreateCustomer(CallWith(admin).get(), request, &response);
  };
  crm::Customer long_name = CardWithPhone(std::string(201, 'x'), "+8613800000003");
  CHECK(NamesField(create(long_name), "customer.name"));
  crm::Customer bad_phone = CardWithPhone("ok", "+86 138 0000 000a");
  CHECK(NamesField(create(bad_phone), "customer.phones[0]"));
  crm::Customer bad_email = CardWithPhone("ok", "+8613800000003");
  bad_email.add_emails("a@b");
  CHECK(NamesField(create(bad_email), "customer.emails[0]"));
  crm::Customer long_note = CardWithPhone("ok", "+8613800000003");
  long_note.set_note(std::string(4001, 'n'));
  CHECK(NamesField(create(long_note), "customer.note"));
  crm::Customer long_tag = CardWithPhone("ok", "+8613800000003");
  long_tag.add_tags(std::string(51, 't'));
  CHECK(NamesField(create(long_tag), "customer.tags[0]"));
  crm::Customer bad_tier = CardWithPhone("ok", "+8613800000003");
  bad_tier.set_tier(static_cast<common::CustomerTier>(99));
  CHECK(NamesField(create(bad_tier), "customer.tier"));

  crm::SetTierRequest tier99;
  tier99.set_customer_id("c-1");
  tier99.set_tier(static_cast<common::CustomerTier>(99));
  crm::SetTierResponse tier_out;
  CHECK(NamesField(crm.customers->SetTier(CallWith(admin).get(), tier99, &tier_out), "tier"));
  crm::GetCustomerRequest empty_id;
  crm::GetCustomerResponse got;
  CHECK(
      NamesField(crm.customers->GetCustomer(CallWith(admin).get(), empty_id, &got), "customer_id"));
  crm::ListCustomersRequest bad_page;
  bad_page.set_page_token("not a token");
  crm::ListCustomersResponse listed;
  CHECK(NamesField(crm.customers->ListCustomers(CallWith(admin).get(), bad_page, &listed),
                   "page_token"));

  // An update that fails on its second field changes nothing, not even its first.
  crm::Customer card = crm.Create(admin, CardWithPhone("韩梅梅", "+8613800000004"));
  crm::UpdateCustomerRequest update;
  update.mutable_customer()->set_customer_id(card.customer_id());
  update.mutable_customer()->set_name("Han Meimei");
  update.mutable_customer()->add_emails("broken@");
  crm::UpdateCustomerResponse updated;
  CHECK(NamesField(crm.customers->UpdateCustomer(CallWith(admin).get(), update, &updated),
                   "customer.emails[0]"));
  crm::Customer stored;
  REQUIRE(crm.Get(admin, card.customer_id(), &stored).ok());
  CHECK(stored.name() == "韩梅梅");
  CHECK(stored.emails().empty());

  // Of everything above, only the one valid card exists.
  CHECK(crm.ListAll(admin).size() == 1);
}

TEST_CASE(
    "a retried CreateCustomer returns the first customer and a reused key with another "
    "request is refused") {
  Crm crm;
  const std::string tenant = kefu::testing::UniqueTenant("idem");
  const std::string admin = TokenFor(tenant, common::ROLE_ADMIN, "admin");
  crm::CreateCustomerRequest request;
  *request.mutable_customer() = CardWithPhone("李雷", "+8613800000005");
  request.set_idempotency_key("create-1");
  crm::CreateCustomerResponse first, retry;
  REQUIRE(crm.customers->CreateCustomer(CallWith(admin).get(), request, &first).ok());
  REQUIRE(crm.customers->CreateCustomer(CallWith(admin).get(), request, &retry).ok());
  CHECK(retry.customer().customer_id() == first.customer().customer_id());
  CHECK(retry.customer().customer_number() == first.customer().customer_number());

  request.mutable_customer()->set_name("someone else");
  crm::CreateCustomerResponse other;
  CHECK(NamesField(crm.customers->CreateCustomer(CallWith(admin).get(), request, &other),
                   "idempotency_key"));
  CHECK(crm.ListAll(admin).size() == 1);
}

TEST_CASE("a phone of another card cannot be put on a second card") {
  Crm crm;
  const std::string tenant = kefu::testing::UniqueTenant("dup");
  const std::string admin = TokenFor(tenant, common::ROLE_ADMIN, "admin");
  crm::Customer first = crm.Create(admin, CardWithPhone("A", "+8613800000006"));
  crm::CreateCustomerRequest request;
  *request.mutable_customer() = CardWithPhone("B", "+86 138 0000 0006");
  crm::CreateCustomerResponse response;
  grpc::Status status = crm.customers->CreateCustomer(CallWith(admin).get(), request, &response);
  CHECK(status.error_code() == grpc::StatusCode::ALREADY_EXISTS);
  CHECK_THAT(status.error_message(), Catch::Contains(first.customer_number()));
  CHECK(crm.ListAll(admin).size() == 1);
}

TEST_CASE(
    "customers are searched by name, number, phone digits, email and IM account, and "
    "listed by tier and tag in pages") {
  Crm crm;
  const std::string tenant = kefu::testing::UniqueTenant("search");
  const std::string agent = TokenFor(tenant, common::ROLE_AGENT, "agent-1");
  const std::string admin = TokenFor(tenant, common::ROLE_ADMIN, "admin");
  crm::Customer li = CardWithPhone("李雷", "+8613800138000");
  li.add_emails("lilei@example.com");
  li.add_tags("gold");
  auto* im = li.add_im_accounts();
  im->set_platform("wechat");
  im->set_account("lilei88");
  const crm::Customer li_card = crm.Create(agent, li);
  crm::Customer han = CardWithPhone("Han Meimei", "+8613900139000");
  han.add_tags("gold");
  const crm::Customer han_card = crm.Create(agent, han);
  crm.Create(agent, CardWithPhone("Wang", "+8613700137000"));

  auto search = [&](const std::string& query) {
    crm::SearchCustomersRequest request;
    request.set_query(query);
    crm::SearchCustomersResponse response;
    REQUIRE(crm.customers->SearchCustomers(CallWith(agent).get(), request, &response).ok());
    std::vector<std::string> ids;
    for (const auto& c : response.customers()) ids.push_back(c.customer_id());
    return ids;
  };
  CHECK(search("李") == std::vector<std::string>{li_card.customer_id()});
  CHECK(search("meimei") == std::vector<std::string>{han_card.customer_id()});
  CHECK(search(han_card.customer_number()) == std::vector<std::string>{han_card.customer_id()});
  CHECK(search("138 0013") == std::vector<std::string>{li_card.customer_id()});
  CHECK(search("LILEI@EXAMPLE") == std::vector<std::string>{li_card.customer_id()});
  CHECK(search("lilei88") == std::vector<std::string>{li_card.customer_id()});
  CHECK(search("nobody").empty());

  // Tag filter, two pages of one.
  crm::ListCustomersRequest list;
  list.set_tag("gold");
  list.set_page_size(1);
  crm::ListCustomersResponse page1, page2;
  REQUIRE(crm.customers->ListCustomers(CallWith(admin).get(), list, &page1).ok());
  REQUIRE(page1.customers_size() == 1);
  REQUIRE_FALSE(page1.next_page_token().empty());
  list.set_page_token(page1.next_page_token());
  REQUIRE(crm.customers->ListCustomers(CallWith(admin).get(), list, &page2).ok());
  REQUIRE(page2.customers_size() == 1);
  CHECK(page2.next_page_token().empty());
  CHECK(page1.customers(0).customer_id() == li_card.customer_id());
  CHECK(page2.customers(0).customer_id() == han_card.customer_id());
  // The token belongs to the tag filter.
  list.set_tag("silver");
  crm::ListCustomersResponse mismatched;
  CHECK(NamesField(crm.customers->ListCustomers(CallWith(admin).get(), list, &mismatched),
                   "page_token"));
}

TEST_CASE(
    "an admin sets a tier by hand, which emits CustomerTierChanged, and a locked tier "
    "is left alone by the rules") {
  Crm crm;
  const std::string tenant = kefu::testing::UniqueTenant("tier");
  const std::string supervisor = TokenFor(tenant, common::ROLE_SUPERVISOR, "sup-1");
  const crm::Customer card = crm.Create(supervisor, CardWithPhone("VIP", "+8613800000007"));
  crm::SetTierRequest request;
  request.set_customer_id(card.customer_id());
  request.set_tier(common::CUSTOMER_TIER_VIP);
  request.set_lock(true);
  crm::SetTierResponse response;
  REQUIRE(crm.customers->SetTier(CallWith(supervisor).get(), request, &response).ok());
  CHECK(response.customer().tier() == common::CUSTOMER_TIER_VIP);
  CHECK(response.customer().tier_locked());
  auto events = EventsOf(*crm.redis, tenant, "customer_tier_changed", 1);
  REQUIRE(events.size() == 1);
  CHECK(events[0].customer_tier_changed().customer_id() == card.customer_id());
  CHECK(events[0].customer_tier_changed().previous_tier() == common::CUSTOMER_TIER_NEW);
  CHECK(events[0].customer_tier_changed().tier() == common::CUSTOMER_TIER_VIP);
  CHECK(events[0].customer_tier_changed().rule_id().empty());
  CHECK(events[0].actor().subject() == "sup-1");

  // Back to NEW, locked: a completed dialog does not make it REGULAR.
  request.set_tier(common::CUSTOMER_TIER_NEW);
  REQUIRE(crm.customers->SetTier(CallWith(supervisor).get(), request, &response).ok());
  DialogScript dialog;
  dialog.tenant = tenant;
  dialog.customer_id = card.customer_id();
  for (const auto& event : dialog.All()) crm.Publish(event);
  crm.WaitForEndedDialog(supervisor, dialog.dialog_id);
  crm::Customer stored;
  REQUIRE(Eventually([&] {
    return crm.Get(supervisor, card.customer_id(), &stored).ok() && stored.dialog_count() == 1;
  }));
  CHECK(stored.tier() == common::CUSTOMER_TIER_NEW);
}

TEST_CASE(
    "tier rule: a NEW customer becomes REGULAR after the first completed valid dialog, "
    "reported by DialogEnded") {
  Crm crm;
  const std::string tenant = kefu::testing::UniqueTenant("rule");
  const std::string admin = TokenFor(tenant, common::ROLE_ADMIN, "admin");
  auto identified = crm.IdentifyPhone(PlatformToken(), "+8613800000008", tenant);
  const std::string id = identified.customer().customer_id();
  REQUIRE(identified.customer().tier() == common::CUSTOMER_TIER_NEW);

  // An invalid dialog (the customer never wrote) does not count.
  DialogScript invalid;
  invalid.tenant = tenant;
  invalid.customer_id = id;
  invalid.customer_lines.clear();
  invalid.end_type = common::DIALOG_END_TYPE_SYSTEM_TIMEOUT;
  for (const auto& event : invalid.All()) crm.Publish(event);
  crm.WaitForEndedDialog(admin, invalid.dialog_id);
  crm::Customer card;
  REQUIRE(crm.Get(admin, id, &card).ok());
  CHECK(card.tier() == common::CUSTOMER_TIER_NEW);
  CHECK(card.dialog_count() == 0);

  // A valid, connected dialog ended by the customer does.
  DialogScript valid;
  valid.tenant = tenant;
  valid.customer_id = id;
  for (const auto& event : valid.All()) crm.Publish(event);
  REQUIRE(Eventually([&] {
    return crm.Get(admin, id, &card).ok() && card.tier() == common::CUSTOMER_TIER_REGULAR;
  }));
  CHECK(card.dialog_count() == 1);
  CHECK(card.has_last_contact_time());
  auto events = EventsOf(*crm.redis, tenant, "customer_tier_changed", 1);
  REQUIRE(events.size() == 1);
  CHECK(events[0].customer_tier_changed().tier() == common::CUSTOMER_TIER_REGULAR);
  CHECK(events[0].customer_tier_changed().rule_id() == "regular-after-first-dialog");

  // The next identification carries the tier and the last dialog (F4, F38).
  auto again = crm.IdentifyPhone(PlatformToken(), "+8613800000008", tenant);
  CHECK(again.customer().tier() == common::CUSTOMER_TIER_REGULAR);
  CHECK(again.last_dialog().dialog_id() == valid.dialog_id);
  CHECK(again.last_dialog().agent_ids(0) == valid.agent_id);
}

TEST_CASE("tenant tier rules: VIP for a tag, set by the admin and applied when the tag is added") {
  Crm crm;
  const std::string tenant = kefu::testing::UniqueTenant("rules");
  const std::string admin = TokenFor(tenant, common::ROLE_ADMIN, "admin");
  crm::GetTierRulesRequest get;
  crm::GetTierRulesResponse defaults;
  REQUIRE(crm.customers->GetTierRules(CallWith(admin).get(), get, &defaults).ok());
  REQUIRE(defaults.rules_size() == 1);
  CHECK(defaults.rules(0).min_completed_dialogs() == 1);

  crm::SetTierRulesRequest set;
  *set.add_rules() = defaults.rules(0);
  auto* vip = set.add_rules();
  vip->set_tier(common::CUSTOMER_TIER_VIP);
  vip->set_has_tag("gold");
  vip->set_enabled(true);
  crm::SetTierRulesResponse stored;
  REQUIRE(crm.customers->SetTierRules(CallWith(admin).get(), set, &stored).ok());
  REQUIRE(stored.rules_size() == 2);
  CHECK_FALSE(stored.rules(1).rule_id().empty());
  crm::GetTierRulesResponse read_back;
  REQUIRE(crm.customers->GetTierRules(CallWith(admin).get(), get, &read_back).ok());
  CHECK(read_back.rules_size() == 2);

  const crm::Customer card = crm.Create(admin, CardWithPhone("Gold", "+8613800000009"));
  CHECK(card.tier() == common::CUSTOMER_TIER_NEW);
  crm::UpdateCustomerRequest update;
  update.mutable_customer()->set_customer_id(card.customer_id());
  update.mutable_customer()->add_tags("gold");
  update.mutable_update_mask()->add_paths("tags");
  crm::UpdateCustomerResponse updated;
  REQUIRE(crm.customers->UpdateCustomer(CallWith(admin).get(), update, &updated).ok());
  CHECK(updated.customer().tier() == common::CUSTOMER_TIER_VIP);

  crm::SetTierRulesRequest bad;
  bad.add_rules()->set_tier(static_cast<common::CustomerTier>(99));
  CHECK(NamesField(crm.customers->SetTierRules(CallWith(admin).get(), bad, &stored),
                   "rules[0].tier"));
}

TEST_CASE(
    "registration: a form missing a required field is refused naming it and writes "
    "nothing while a valid one creates the card and a later one updates it") {
  Crm crm;
  const std::string tenant = kefu::testing::UniqueTenant("form");
  const std::string admin = TokenFor(tenant, common::ROLE_ADMIN, "admin");
  const std::string gateway = PlatformToken();

  crm::SetRegistrationFormRequest set;
  auto* form = set.mutable_form();
  form->set_kind(crm::FORM_KIND_PRE_CHAT);
  form->set_enabled(true);
  auto add = [&](const std::string& key, common::FormFieldType type, bool required,
                 crm::CardField maps_to) {
    auto* f = form->add_fields();
    f->set_key(key);
    f->mutable_label()->set_zh(key);
    f->mutable_label()->set_en(key);
    f->set_type(type);
    f->set_required(required);
    f->set_maps_to(maps_to);
    return f;
  };
  add("name", common::FORM_FIELD_TYPE_TEXT, true, crm::CARD_FIELD_NAME);
  add("phone", common::FORM_FIELD_TYPE_PHONE, true, crm::CARD_FIELD_PHONE);
  add("email", common::FORM_FIELD_TYPE_EMAIL, false, crm::CARD_FIELD_EMAIL);
  add("topic", common::FORM_FIELD_TYPE_SELECT, false, crm::CARD_FIELD_NONE)->add_options("refund");
  crm::SetRegistrationFormResponse set_out;
  REQUIRE(crm.customers->SetRegistrationForm(CallWith(admin).get(), set, &set_out).ok());
  CHECK(set_out.form().fields(0).max_length() == 500);

  // The gateway reads the form for an entry point without one of its own: the default.
  crm::GetRegistrationFormRequest get;
  get.set_tenant_id(tenant);
  get.set_kind(crm::FORM_KIND_PRE_CHAT);
  get.set_entry_point_id("widget-7");
  crm::GetRegistrationFormResponse got;
  REQUIRE(crm.customers->GetRegistrationForm(CallWith(gateway).get(), get, &got).ok());
  CHECK(got.form().fields_size() == 4);
  get.set_kind(crm::FORM_KIND_LEAVE_MESSAGE);
  CHECK(crm.customers->GetRegistrationForm(CallWith(gateway).get(), get, &got).error_code() ==
        grpc::StatusCode::NOT_FOUND);

  auto submit = [&](std::map<std::string, std::string> values,
                    crm::SubmitRegistrationResponse* out) {
    crm::SubmitRegistrationRequest request;
    request.set_tenant_id(tenant);
    request.set_kind(crm::FORM_KIND_PRE_CHAT);
    request.set_visitor_id("v-form-1");
    for (auto& [k, v] : values) (*request.mutable_values())[k] = v;
    return crm.customers->SubmitRegistration(CallWith(gateway).get(), request, out);
  };
  crm::SubmitRegistrationResponse out;
  CHECK(NamesField(submit({{"name", "韩梅梅"}}, &out), "form_fields[phone]"));
  CHECK(NamesField(submit({{"name", "韩梅梅"}, {"phone", "not a number"}}, &out),
                   "form_fields[phone]"));
  CHECK(NamesField(submit({{"name", "韩梅梅"}, {"phone", "13900001111"}, {"email", "x@"}}, &out),
                   "form_fields[email]"));
  CHECK(NamesField(
      submit({{"name", "韩梅梅"}, {"phone", "13900001111"}, {"topic", "complaint"}}, &out),
      "form_fields[topic]"));
  CHECK(crm.ListAll(admin).empty());  // nothing half-written

  REQUIRE(submit({{"name", "韩梅梅"}, {"phone", "139 0000 1111"}, {"topic", "refund"}}, &out).ok());
  CHECK(out.created());
  CHECK(out.customer().name() == "韩梅梅");
  CHECK(out.customer().phones(0) == "13900001111");
  CHECK(out.customer().visitor_ids(0) == "v-form-1");
  CHECK(out.customer().registration_fields().at("topic") == "refund");
  const std::string id = out.customer().customer_id();

  // Recalled on the next visit: the visitor id identifies the card (F6).
  crm::IdentifyCustomerRequest identify;
  identify.set_tenant_id(tenant);
  identify.set_visitor_id("v-form-1");
  crm::IdentifyCustomerResponse identified;
  REQUIRE(crm.customers->IdentifyCustomer(CallWith(gateway).get(), identify, &identified).ok());
  CHECK(identified.customer().customer_id() == id);
  CHECK(identified.customer().registration_fields().at("name") == "韩梅梅");

  crm::SubmitRegistrationResponse second;
  REQUIRE(
      submit({{"name", "韩梅梅"}, {"phone", "13900001111"}, {"email", "Han@Example.com"}}, &second)
          .ok());
  CHECK_FALSE(second.created());
  CHECK(second.customer().customer_id() == id);
  CHECK(second.customer().emails(0) == "han@example.com");
  CHECK(crm.ListAll(admin).size() == 1);
}

TEST_CASE("binding an exclusive agent puts it on the card and filters the customer list") {
  Crm crm;
  const std::string tenant = kefu::testing::UniqueTenant("excl");
  const std::string admin = TokenFor(tenant, common::ROLE_ADMIN, "admin");
  const crm::Customer card = crm.Create(admin, CardWithPhone("E", "+8613800000010"));
  crm::BindExclusiveAgentRequest bind;
  bind.set_tenant_id(tenant);
  bind.set_customer_id(card.customer_id());
  bind.set_agent_id("agent-7");
  crm::BindExclusiveAgentResponse bound;
  REQUIRE(crm.customers->BindExclusiveAgent(CallWith(PlatformToken()).get(), bind, &bound).ok());
  CHECK(bound.customer().exclusive_agent_id() == "agent-7");
  auto identified = crm.IdentifyPhone(PlatformToken(), "+8613800000010", tenant);
  CHECK(identified.customer().exclusive_agent_id() == "agent-7");
  crm::ListCustomersRequest list;
  list.set_exclusive_agent_id("agent-7");
  crm::ListCustomersResponse listed;
  REQUIRE(crm.customers->ListCustomers(CallWith(admin).get(), list, &listed).ok());
  CHECK(listed.customers_size() == 1);
}
