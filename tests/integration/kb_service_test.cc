// kb's KnowledgeAdminService and BotService in-process over real gRPC, PostgreSQL and
// Redis (F40-F42, F44): categories, entries, import/export, bots, Ask and Search; tenant
// isolation, tokens, idempotency, paging, and answers that follow every edit at once.
#include "services/kb/kb_service.h"

#include <google/protobuf/descriptor.h>

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "kefu/kb/v1/bot.grpc.pb.h"
#include "kefu/kb/v1/canned_phrase.grpc.pb.h"
#include "kefu/kb/v1/knowledge_admin.grpc.pb.h"
#include "tests/support/env.h"
#include "tests/support/raw_call.h"
#include "tests/support/service_harness.h"

namespace {

namespace v1 = kefu::kb::v1;
using kefu::common::v1::ROLE_ADMIN;
using kefu::common::v1::ROLE_AGENT;
using kefu::common::v1::ROLE_CUSTOMER;
using kefu::common::v1::ROLE_SUPERVISOR;
using kefu::testing::CallWith;
using kefu::testing::PlatformToken;
using kefu::testing::TokenFor;

struct Kb {
  explicit Kb(kefu::testing::RunningService running) : service(std::move(running)) {}
  Kb() : Kb(kefu::testing::StartService(kefu::kb::Definition())) {}

  kefu::testing::RunningService service;
  std::string tenant = kefu::testing::UniqueTenant("kb");
  std::string admin = TokenFor(tenant, ROLE_ADMIN, "admin-1");
  std::string agent = TokenFor(tenant, ROLE_AGENT, "agent-1");
  std::unique_ptr<v1::KnowledgeAdminService::Stub> kb =
      v1::KnowledgeAdminService::NewStub(service.channel);
  std::unique_ptr<v1::BotService::Stub> bots = v1::BotService::NewStub(service.channel);

  std::string Category(const std::string& name, const std::string& parent = "") {
    v1::CreateCategoryRequest request;
    request.mutable_category()->mutable_name()->set_zh(name);
    request.mutable_category()->set_parent_id(parent);
    v1::CreateCategoryResponse response;
    const grpc::Status st = kb->CreateCategory(CallWith(admin).get(), request, &response);
    REQUIRE(st.error_message() == "");
    return response.category().category_id();
  }

  v1::Entry Entry(const std::string& category, const std::string& question,
                  const std::vector<std::string>& keywords, const std::string& answer,
                  v1::EntryStatus status = v1::ENTRY_STATUS_PUBLISHED) {
    v1::CreateEntryRequest request;
    v1::Entry* e = request.mutable_entry();
    e->set_category_id(category);
    e->set_question(question);
    for (const auto& k : keywords) e->add_keywords(k);
    e->set_answer(answer);
    e->set_status(status);
    v1::CreateEntryResponse response;
    const grpc::Status st = kb->CreateEntry(CallWith(admin).get(), request, &response);
    REQUIRE(st.error_message() == "");
    return response.entry();
  }

  v1::Bot Bot(const std::function<void(v1::Bot*)>& configure = nullptr) {
    v1::CreateBotRequest request;
    request.mutable_bot()->set_name("小助手");
    request.mutable_bot()->set_auto_online(true);
    if (configure) configure(request.mutable_bot());
    v1::CreateBotResponse response;
    const grpc::Status st = kb->CreateBot(CallWith(admin).get(), request, &response);
    REQUIRE(st.error_message() == "");
    return response.bot();
  }

  // The gateway's call: a platform token acting for the tenant.
  v1::AskResponse Ask(const std::string& bot_id, const std::string& question,
                      const std::function<void(v1::AskRequest*)>& configure = nullptr) {
    v1::AskRequest request;
    request.set_tenant_id(tenant);
    request.set_bot_id(bot_id);
    request.set_question(question);
    if (configure) configure(&request);
    v1::AskResponse response;
    const grpc::Status st = bots->Ask(CallWith(PlatformToken()).get(), request, &response);
    REQUIRE(st.error_message() == "");
    return response;
  }
};

// A small shop: returns and invoices, in Chinese and English.
struct Shop {
  std::string returns;
  std::string invoices;
  v1::Entry refund_days;
  v1::Entry return_fee;
  v1::Entry invoice;
  v1::Entry invoice_en;
};

Shop MakeShop(Kb& kb) {
  Shop s;
  s.returns = kb.Category("退货");
  s.invoices = kb.Category("发票");
  s.refund_days = kb.Entry(s.returns, "收到商品后多久内可以退货?", {"退货期限", "七天无理由"},
                           "签收后7天内可以申请退货。");
  s.return_fee = kb.Entry(s.returns, "退货的运费由谁承担?", {"退货运费", "运费险"},
                          "质量问题的退货运费由商家承担。");
  s.invoice =
      kb.Entry(s.invoices, "怎么开发票?", {"开发票", "申请发票"}, "在订单详情点击「申请开票」。");
  s.invoice_en = kb.Entry(s.invoices, "How do I get an invoice?", {"invoice", "receipt"},
                          "Open Orders and click Invoice.");
  return s;
}

kefu::common::v1::Message Said(kefu::common::v1::ParticipantType who, const std::string& text) {
  kefu::common::v1::Message m;
  m.mutable_sender()->set_type(who);
  m.set_text(text);
  return m;
}

}  // namespace

TEST_CASE("every kb RPC without a token is UNAUTHENTICATED") {
  Kb kb;
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  int methods = 0;
  for (const char* name : {"kefu.kb.v1.KnowledgeAdminService", "kefu.kb.v1.BotService",
                           "kefu.kb.v1.CannedPhraseService"}) {
    const auto* service = pool->FindServiceByName(name);
    REQUIRE(service != nullptr);
    for (int i = 0; i < service->method_count(); ++i) {
      const std::string method = "/" + std::string(name) + "/" + service->method(i)->name();
      INFO(method);
      const grpc::Status st = kefu::testing::CallRaw(kb.service.channel, method, "");
      CHECK(st.error_code() == grpc::StatusCode::UNAUTHENTICATED);
      ++methods;
    }
  }
  CHECK(methods == 16 + 2 + 8);
}

TEST_CASE("only admins change the knowledge base while staff read it and customers get nothing") {
  Kb kb;
  const std::string category = kb.Category("退货");
  v1::CreateEntryRequest create;
  create.mutable_entry()->set_question("能退吗");
  create.mutable_entry()->set_answer("能");
  create.mutable_entry()->add_keywords("退货");
  v1::CreateEntryResponse created;
  CHECK(kb.kb->CreateEntry(CallWith(kb.agent).get(), create, &created).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  kb.Entry(category, "能退吗", {"退货"}, "能");
  v1::ListEntriesRequest list;
  v1::ListEntriesResponse listed;
  for (auto role : {ROLE_AGENT, ROLE_SUPERVISOR}) {
    CHECK(kb.kb->ListEntries(CallWith(TokenFor(kb.tenant, role, "u")).get(), list, &listed).ok());
  }
  CHECK(listed.entries_size() == 1);
  v1::SearchRequest search;
  search.set_query("退货");
  v1::SearchResponse found;
  CHECK(kb.bots->Search(CallWith(TokenFor(kb.tenant, ROLE_CUSTOMER, "c-1")).get(), search, &found)
            .error_code() == grpc::StatusCode::PERMISSION_DENIED);
}

TEST_CASE("a bot never answers outside its categories") {
  Kb kb;
  const Shop shop = MakeShop(kb);
  const v1::Bot bot = kb.Bot([&](v1::Bot* b) { b->add_category_ids(shop.returns); });

  const v1::AskResponse inside = kb.Ask(bot.bot_id(), "退货期限是多久");
  CHECK(inside.decision() == v1::ASK_DECISION_ANSWER);
  REQUIRE(inside.answers_size() >= 1);
  CHECK(inside.answers(0).entry_id() == shop.refund_days.entry_id());
  CHECK(inside.reply() == shop.refund_days.answer());

  for (const char* question : {"怎么开发票", "How do I get an invoice?"}) {
    INFO(question);
    const v1::AskResponse outside = kb.Ask(bot.bot_id(), question);
    CHECK(outside.decision() == v1::ASK_DECISION_ESCALATE);
    CHECK(outside.escalation_reason() == v1::ESCALATION_REASON_OUT_OF_SCOPE);
    for (const v1::RankedAnswer& a : outside.answers()) CHECK(a.category_id() == shop.returns);
  }
  // A sub-category is part of its parent's memory.
  const std::string sub = kb.Category("生鲜退货", shop.returns);
  const v1::Entry fresh = kb.Entry(sub, "水果坏了能退吗", {"生鲜", "腐烂"}, "拍照申请售后。");
  CHECK(kb.Ask(bot.bot_id(), "买的水果腐烂了").answers(0).entry_id() == fresh.entry_id());
}

TEST_CASE("an edited entry changes the next answer immediately") {
  Kb kb;
  const Shop shop = MakeShop(kb);
  const v1::Bot bot = kb.Bot();
  CHECK(kb.Ask(bot.bot_id(), "怎么开发票").reply() == shop.invoice.answer());

  v1::UpdateEntryRequest update;
  update.mutable_entry()->set_entry_id(shop.invoice.entry_id());
  update.mutable_entry()->set_answer("请在「我的-发票管理」中申请。");
  update.mutable_update_mask()->add_paths("answer");
  v1::UpdateEntryResponse updated;
  REQUIRE(kb.kb->UpdateEntry(CallWith(kb.admin).get(), update, &updated).ok());
  CHECK(updated.entry().revision() > shop.invoice.revision());
  CHECK(kb.Ask(bot.bot_id(), "怎么开发票").reply() == "请在「我的-发票管理」中申请。");

  // Unpublished: the bot no longer answers with it.
  update.mutable_entry()->set_status(v1::ENTRY_STATUS_DRAFT);
  update.mutable_update_mask()->Clear();
  update.mutable_update_mask()->add_paths("status");
  REQUIRE(kb.kb->UpdateEntry(CallWith(kb.admin).get(), update, &updated).ok());
  const v1::AskResponse unpublished = kb.Ask(bot.bot_id(), "怎么开发票");
  for (const v1::RankedAnswer& a : unpublished.answers()) {
    CHECK(a.entry_id() != shop.invoice.entry_id());
  }

  // Deleted: gone from answers too.
  v1::DeleteEntryRequest del;
  del.set_entry_id(shop.return_fee.entry_id());
  v1::DeleteEntryResponse deleted;
  REQUIRE(kb.kb->DeleteEntry(CallWith(kb.admin).get(), del, &deleted).ok());
  const v1::AskResponse after_delete = kb.Ask(bot.bot_id(), "退货运费谁出");
  for (const v1::RankedAnswer& a : after_delete.answers()) {
    CHECK(a.entry_id() != shop.return_fee.entry_id());
  }
}

TEST_CASE("an edit on one kb replica changes the next answer on another at once") {
  Kb a;
  kefu::ServiceConfig config;
  config.service = "kb";
  config.grpc_addr = "127.0.0.1:0";
  config.redis_url = kefu::testing::SharedEnv().redis_url;
  config.jwt_key = kefu::testing::kTestJwtKey;
  config.pg_dsn = a.service.pg_dsn;  // the same database: two replicas of one deployment
  config.health_interval = absl::Milliseconds(200);
  config.drain_timeout = absl::Seconds(1);
  auto runtime = kefu::server::ServiceRuntime::Start(kefu::kb::Definition(), config);
  REQUIRE(runtime.ok());
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string((*runtime)->port()),
                                     grpc::InsecureChannelCredentials());
  auto b_bots = v1::BotService::NewStub(channel);

  const Shop shop = MakeShop(a);
  const v1::Bot bot = a.Bot();
  const auto ask_b = [&](const std::string& question) {
    v1::AskRequest request;
    request.set_tenant_id(a.tenant);
    request.set_bot_id(bot.bot_id());
    request.set_question(question);
    v1::AskResponse response;
    REQUIRE(b_bots->Ask(CallWith(PlatformToken()).get(), request, &response).ok());
    return response;
  };
  CHECK(ask_b("怎么开发票").reply() == shop.invoice.answer());  // b loads the tenant

  v1::UpdateEntryRequest update;
  update.mutable_entry()->set_entry_id(shop.invoice.entry_id());
  update.mutable_entry()->set_answer("新的开票方式。");
  update.mutable_update_mask()->add_paths("answer");
  v1::UpdateEntryResponse updated;
  REQUIRE(a.kb->UpdateEntry(CallWith(a.admin).get(), update, &updated).ok());
  CHECK(ask_b("怎么开发票").reply() == "新的开票方式。");  // no wait, no sleep
  (*runtime)->Stop();
}

TEST_CASE("hidden bot serves only while all humans are offline") {
  Kb kb;
  const Shop shop = MakeShop(kb);
  const v1::Bot hidden = kb.Bot([](v1::Bot* b) {
    b->set_auto_online(false);
    b->set_online(true);
    b->set_hidden(true);
  });
  const auto ask = [&](bool humans_online) {
    return kb.Ask(hidden.bot_id(), "怎么开发票",
                  [&](v1::AskRequest* r) { r->set_humans_online(humans_online); });
  };
  const v1::AskResponse with_humans = ask(true);
  CHECK(with_humans.decision() == v1::ASK_DECISION_ESCALATE);
  CHECK(with_humans.escalation_reason() == v1::ESCALATION_REASON_BOT_UNAVAILABLE);
  CHECK(with_humans.answers().empty());
  const v1::AskResponse alone = ask(false);
  CHECK(alone.decision() == v1::ASK_DECISION_ANSWER);
  CHECK(alone.answers(0).entry_id() == shop.invoice.entry_id());

  // GetBot tells the gateway the same before the contact starts.
  for (bool humans : {true, false}) {
    v1::GetBotRequest get;
    get.set_tenant_id(kb.tenant);
    get.set_bot_id(hidden.bot_id());
    get.set_humans_online(humans);
    v1::GetBotResponse got;
    REQUIRE(kb.kb->GetBot(CallWith(PlatformToken()).get(), get, &got).ok());
    CHECK(got.serving() == !humans);
  }
}

TEST_CASE("an offline bot does not serve and a transfer reaches only a bot that accepts it") {
  Kb kb;
  MakeShop(kb);
  const v1::Bot offline = kb.Bot([](v1::Bot* b) { b->set_auto_online(false); });
  CHECK(kb.Ask(offline.bot_id(), "怎么开发票").escalation_reason() ==
        v1::ESCALATION_REASON_BOT_UNAVAILABLE);
  const v1::Bot taker = kb.Bot([](v1::Bot* b) {
    b->set_hidden(true);
    b->set_accept_transfer(true);
  });
  const v1::Bot plain = kb.Bot();
  const auto transferred = [](v1::AskRequest* r) {
    r->set_transferred(true);
    r->set_humans_online(true);
  };
  CHECK(kb.Ask(taker.bot_id(), "怎么开发票", transferred).decision() == v1::ASK_DECISION_ANSWER);
  CHECK(kb.Ask(plain.bot_id(), "怎么开发票", transferred).escalation_reason() ==
        v1::ESCALATION_REASON_BOT_UNAVAILABLE);

  // The transfer target list shows the online bots that accept transfers.
  v1::ListBotsRequest list;
  list.set_tenant_id(kb.tenant);
  list.set_accept_transfer_only(true);
  v1::ListBotsResponse listed;
  REQUIRE(kb.kb->ListBots(CallWith(PlatformToken()).get(), list, &listed).ok());
  REQUIRE(listed.bots_size() == 1);
  CHECK(listed.bots(0).bot_id() == taker.bot_id());
}

TEST_CASE("asking for a human or staying unsure escalates with the reason") {
  Kb kb;
  MakeShop(kb);
  const v1::Bot bot = kb.Bot();
  for (const char* message : {"转人工", "我要人工客服", "talk to a real person please"}) {
    INFO(message);
    const v1::AskResponse r = kb.Ask(bot.bot_id(), message);
    CHECK(r.decision() == v1::ASK_DECISION_ESCALATE);
    CHECK(r.escalation_reason() == v1::ESCALATION_REASON_CUSTOMER_REQUEST);
    CHECK_FALSE(r.reply().empty());
  }
  const v1::AskResponse weather = kb.Ask(bot.bot_id(), "明天天气怎么样");
  CHECK(weather.decision() == v1::ASK_DECISION_ESCALATE);
  CHECK(weather.escalation_reason() == v1::ESCALATION_REASON_LOW_CONFIDENCE);
  CHECK(weather.language() == kefu::common::v1::LANGUAGE_ZH);
  CHECK(absl::StrContains(weather.reply(), "人工"));

  // The same unsure question after two unsure turns: escalate instead of asking again.
  using kefu::common::v1::PARTICIPANT_TYPE_BOT;
  using kefu::common::v1::PARTICIPANT_TYPE_CUSTOMER;
  const std::string vague = "退货";
  const v1::AskResponse first = kb.Ask(bot.bot_id(), vague);
  REQUIRE(first.decision() == v1::ASK_DECISION_CLARIFY);
  CHECK(first.answers_size() >= 2);
  CHECK(absl::StrContains(first.reply(), first.answers(0).question()));
  const v1::AskResponse third = kb.Ask(bot.bot_id(), vague, [&](v1::AskRequest* r) {
    *r->add_conversation() = Said(PARTICIPANT_TYPE_CUSTOMER, vague);
    *r->add_conversation() = Said(PARTICIPANT_TYPE_BOT, first.reply());
    *r->add_conversation() = Said(PARTICIPANT_TYPE_CUSTOMER, vague);
    *r->add_conversation() = Said(PARTICIPANT_TYPE_BOT, first.reply());
  });
  CHECK(third.decision() == v1::ASK_DECISION_ESCALATE);
  CHECK(third.escalation_reason() == v1::ESCALATION_REASON_REPEATED_LOW_CONFIDENCE);
}

TEST_CASE("a bot answers in the customer's language with its own texts") {
  Kb kb;
  const Shop shop = MakeShop(kb);
  const v1::Bot bot = kb.Bot([](v1::Bot* b) {
    b->mutable_escalation_message()->set_en("One moment, a colleague will help you.");
  });
  const v1::AskResponse en = kb.Ask(bot.bot_id(), "how do I get an invoice");
  CHECK(en.language() == kefu::common::v1::LANGUAGE_EN);
  CHECK(en.answers(0).entry_id() == shop.invoice_en.entry_id());
  const v1::AskResponse human = kb.Ask(bot.bot_id(), "agent");
  CHECK(human.reply() == "One moment, a colleague will help you.");
}

TEST_CASE("tenant A cannot see tenant B's entries, bots or categories") {
  Kb a;
  const Shop shop = MakeShop(a);
  const v1::Bot bot = a.Bot();
  const std::string other = kefu::testing::UniqueTenant("kb");
  const std::string b_admin = TokenFor(other, ROLE_ADMIN, "admin-b");

  v1::GetEntryRequest get;
  get.set_entry_id(shop.invoice.entry_id());
  v1::GetEntryResponse got;
  CHECK(a.kb->GetEntry(CallWith(b_admin).get(), get, &got).error_code() ==
        grpc::StatusCode::NOT_FOUND);
  v1::UpdateEntryRequest update;
  update.mutable_entry()->set_entry_id(shop.invoice.entry_id());
  update.mutable_entry()->set_answer("hijacked");
  update.mutable_update_mask()->add_paths("answer");
  v1::UpdateEntryResponse updated;
  CHECK(a.kb->UpdateEntry(CallWith(b_admin).get(), update, &updated).error_code() ==
        grpc::StatusCode::NOT_FOUND);
  v1::ListEntriesRequest list;
  v1::ListEntriesResponse listed;
  REQUIRE(a.kb->ListEntries(CallWith(b_admin).get(), list, &listed).ok());
  CHECK(listed.entries().empty());
  v1::ListCategoriesRequest cats;
  v1::ListCategoriesResponse cats_listed;
  REQUIRE(a.kb->ListCategories(CallWith(b_admin).get(), cats, &cats_listed).ok());
  CHECK(cats_listed.categories().empty());

  v1::GetBotRequest get_bot;
  get_bot.set_bot_id(bot.bot_id());
  v1::GetBotResponse got_bot;
  CHECK(a.kb->GetBot(CallWith(b_admin).get(), get_bot, &got_bot).error_code() ==
        grpc::StatusCode::NOT_FOUND);
  v1::AskRequest ask;
  ask.set_tenant_id(other);
  ask.set_bot_id(bot.bot_id());
  ask.set_question("怎么开发票");
  v1::AskResponse asked;
  CHECK(a.bots->Ask(CallWith(PlatformToken()).get(), ask, &asked).error_code() ==
        grpc::StatusCode::NOT_FOUND);
  // A tenant's token naming another tenant is refused outright.
  ask.set_tenant_id(a.tenant);
  CHECK(a.bots->Ask(CallWith(b_admin).get(), ask, &asked).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  v1::SearchRequest search;
  search.set_query("发票");
  v1::SearchResponse found;
  REQUIRE(a.bots->Search(CallWith(b_admin).get(), search, &found).ok());
  CHECK(found.hits().empty());
  // And the platform token must say which tenant it acts for.
  ask.clear_tenant_id();
  CHECK(a.bots->Ask(CallWith(PlatformToken()).get(), ask, &asked).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_CASE("agents search published entries with highlights and drafts stay hidden") {
  Kb kb;
  const Shop shop = MakeShop(kb);
  kb.Entry(shop.returns, "退货草稿", {"退货"}, "还没写好", v1::ENTRY_STATUS_DRAFT);
  v1::SearchRequest request;
  request.set_query("退货运费");
  v1::SearchResponse response;
  REQUIRE(kb.bots->Search(CallWith(kb.agent).get(), request, &response).ok());
  REQUIRE(response.hits_size() >= 1);
  const v1::SearchHit& top = response.hits(0);
  CHECK(top.entry_id() == shop.return_fee.entry_id());
  CHECK(top.answer() == shop.return_fee.answer());
  std::set<std::string> fields;
  for (const v1::Highlight& h : top.highlights()) {
    fields.insert(h.field());
    CHECK(absl::StrContains(h.fragment(), "<em>"));
  }
  CHECK(fields.count("question") == 1);
  CHECK(fields.count("keywords") == 1);
  for (const v1::SearchHit& hit : response.hits()) CHECK(hit.question() != "退货草稿");

  request.add_category_ids(shop.invoices);
  REQUIRE(kb.bots->Search(CallWith(kb.agent).get(), request, &response).ok());
  for (const v1::SearchHit& hit : response.hits()) CHECK(hit.category_id() == shop.invoices);
}

TEST_CASE("import is all or nothing and export gives the lines back") {
  Kb kb;
  v1::ImportEntriesRequest request;
  const auto add = [&](const std::string& id, const std::string& category,
                       const std::string& question, const std::string& keyword) {
    v1::ImportEntry* line = request.add_entries();
    line->mutable_entry()->set_entry_id(id);
    line->mutable_entry()->set_question(question);
    line->mutable_entry()->add_keywords(keyword);
    line->mutable_entry()->set_answer("answer of " + id);
    line->set_category_name(category);
  };
  add("zh-1", "退货", "能退货吗", "退货");
  add("zh-2", "发票", "能开发票吗", "发票");
  add("bad", "发票", "", "发票");  // no question
  v1::ImportEntriesResponse response;
  REQUIRE(kb.kb->ImportEntries(CallWith(kb.admin).get(), request, &response).ok());
  REQUIRE(response.errors_size() == 1);
  CHECK(response.errors(0).index() == 3);
  CHECK(response.errors(0).field() == "question");
  v1::ListEntriesRequest list;
  v1::ListEntriesResponse listed;
  REQUIRE(kb.kb->ListEntries(CallWith(kb.admin).get(), list, &listed).ok());
  CHECK(listed.entries().empty());  // nothing half-written

  request.mutable_entries()->RemoveLast();
  REQUIRE(kb.kb->ImportEntries(CallWith(kb.admin).get(), request, &response).ok());
  CHECK(response.errors().empty());
  CHECK(response.created_count() == 2);
  const v1::Bot bot = kb.Bot();
  CHECK(kb.Ask(bot.bot_id(), "能开发票吗").answers(0).entry_id() == "zh-2");  // ids kept

  request.mutable_entries(0)->mutable_entry()->set_answer("changed");
  REQUIRE(kb.kb->ImportEntries(CallWith(kb.admin).get(), request, &response).ok());
  CHECK(response.updated_count() == 2);
  CHECK(response.created_count() == 0);

  v1::ExportEntriesRequest export_request;
  auto export_call = CallWith(kb.agent);  // the context must outlive the stream
  auto reader = kb.kb->ExportEntries(export_call.get(), export_request);
  std::vector<v1::ImportEntry> lines;
  v1::ExportEntriesResponse batch;
  while (reader->Read(&batch)) {
    for (const auto& e : batch.entries()) lines.push_back(e);
  }
  REQUIRE(reader->Finish().ok());
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].entry().entry_id() == "zh-1");
  CHECK(lines[0].category_name() == "退货");
  CHECK(lines[0].entry().answer() == "changed");
  CHECK(lines[1].category_name() == "发票");

  // REPLACE_ALL: everything else goes.
  v1::ImportEntriesRequest replace;
  replace.set_mode(v1::IMPORT_MODE_REPLACE_ALL);
  *replace.add_entries() = request.entries(1);
  REQUIRE(kb.kb->ImportEntries(CallWith(kb.admin).get(), replace, &response).ok());
  CHECK(response.deleted_count() == 2);
  CHECK(response.created_count() == 1);
  REQUIRE(kb.kb->ListEntries(CallWith(kb.admin).get(), list, &listed).ok());
  REQUIRE(listed.entries_size() == 1);
  CHECK(listed.entries(0).entry_id() == "zh-2");
  const v1::AskResponse replaced = kb.Ask(bot.bot_id(), "能退货吗");
  for (const auto& a : replaced.answers()) CHECK(a.entry_id() != "zh-1");
}

TEST_CASE("bad input is INVALID_ARGUMENT naming the field and writes nothing") {
  Kb kb;
  const std::string category = kb.Category("退货");
  const auto create = [&](const std::function<void(v1::Entry*)>& change) {
    v1::CreateEntryRequest request;
    request.mutable_entry()->set_category_id(category);
    request.mutable_entry()->set_question("能退吗");
    request.mutable_entry()->set_answer("能");
    request.mutable_entry()->add_keywords("退货");
    request.mutable_entry()->set_status(v1::ENTRY_STATUS_PUBLISHED);
    change(request.mutable_entry());
    v1::CreateEntryResponse response;
    return kb.kb->CreateEntry(CallWith(kb.admin).get(), request, &response);
  };
  const std::vector<std::pair<std::function<void(v1::Entry*)>, std::string>> cases = {
      {[](v1::Entry* e) { e->clear_question(); }, "entry.question"},
      {[](v1::Entry* e) { e->clear_keywords(); }, "entry.keywords"},
      {[](v1::Entry* e) { e->set_category_id("nope"); }, "entry.category_id"},
      {[](v1::Entry* e) { e->set_entry_id("mine"); }, "entry.entry_id"},
      {[](v1::Entry* e) { e->set_status(static_cast<v1::EntryStatus>(7)); }, "entry.status"},
  };
  for (const auto& [change, field] : cases) {
    INFO(field);
    const grpc::Status st = create(change);
    CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(absl::StartsWith(st.error_message(), field + ":"));
  }
  v1::ListEntriesRequest list;
  v1::ListEntriesResponse listed;
  REQUIRE(kb.kb->ListEntries(CallWith(kb.admin).get(), list, &listed).ok());
  CHECK(listed.entries().empty());

  v1::CreateBotRequest bot;
  bot.mutable_bot()->set_name("b");
  bot.mutable_bot()->add_category_ids("nope");
  v1::CreateBotResponse created;
  const grpc::Status st = kb.kb->CreateBot(CallWith(kb.admin).get(), bot, &created);
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(absl::StartsWith(st.error_message(), "bot.category_ids[0]:"));
  v1::UpdateEntryRequest update;
  update.mutable_entry()->set_entry_id("x");
  update.mutable_update_mask()->add_paths("revision");
  v1::UpdateEntryResponse updated;
  CHECK(absl::StartsWith(
      kb.kb->UpdateEntry(CallWith(kb.admin).get(), update, &updated).error_message(),
      "update_mask:"));
}

TEST_CASE("a retried create with the same idempotency key returns the first entry") {
  Kb kb;
  const std::string category = kb.Category("退货");
  v1::CreateEntryRequest request;
  request.mutable_entry()->set_category_id(category);
  request.mutable_entry()->set_question("能退吗");
  request.mutable_entry()->set_answer("能");
  request.mutable_entry()->add_keywords("退货");
  request.set_idempotency_key("key-1");
  v1::CreateEntryResponse first;
  v1::CreateEntryResponse second;
  REQUIRE(kb.kb->CreateEntry(CallWith(kb.admin).get(), request, &first).ok());
  REQUIRE(kb.kb->CreateEntry(CallWith(kb.admin).get(), request, &second).ok());
  CHECK(first.entry().entry_id() == second.entry().entry_id());
  v1::ListEntriesRequest list;
  v1::ListEntriesResponse listed;
  REQUIRE(kb.kb->ListEntries(CallWith(kb.admin).get(), list, &listed).ok());
  CHECK(listed.entries_size() == 1);

  request.mutable_entry()->set_answer("另一个答案");
  const grpc::Status st = kb.kb->CreateEntry(CallWith(kb.admin).get(), request, &second);
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(absl::StartsWith(st.error_message(), "idempotency_key:"));
}

TEST_CASE("entries are listed page by page and a token is bound to its filters") {
  Kb kb;
  const std::string category = kb.Category("退货");
  for (int i = 0; i < 5; ++i) kb.Entry(category, "问题" + std::to_string(i), {"退货"}, "答");
  v1::ListEntriesRequest request;
  request.set_page_size(2);
  std::set<std::string> seen;
  int pages = 0;
  std::string first_token;
  do {
    v1::ListEntriesResponse page;
    REQUIRE(kb.kb->ListEntries(CallWith(kb.agent).get(), request, &page).ok());
    for (const auto& e : page.entries()) seen.insert(e.entry_id());
    if (pages == 0) first_token = page.next_page_token();
    request.set_page_token(page.next_page_token());
    ++pages;
  } while (!request.page_token().empty());
  CHECK(seen.size() == 5);
  CHECK(pages == 3);
  request.set_page_token(first_token);
  request.set_status(v1::ENTRY_STATUS_DRAFT);
  v1::ListEntriesResponse page;
  const grpc::Status st = kb.kb->ListEntries(CallWith(kb.agent).get(), request, &page);
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(absl::StartsWith(st.error_message(), "page_token:"));
}

TEST_CASE("an update with a stale expected_revision is ABORTED") {
  Kb kb;
  const Shop shop = MakeShop(kb);
  v1::UpdateEntryRequest update;
  update.mutable_entry()->set_entry_id(shop.invoice.entry_id());
  update.mutable_entry()->set_answer("一");
  update.mutable_update_mask()->add_paths("answer");
  update.set_expected_revision(shop.invoice.revision());
  v1::UpdateEntryResponse updated;
  REQUIRE(kb.kb->UpdateEntry(CallWith(kb.admin).get(), update, &updated).ok());
  update.mutable_entry()->set_answer("二");
  CHECK(kb.kb->UpdateEntry(CallWith(kb.admin).get(), update, &updated).error_code() ==
        grpc::StatusCode::ABORTED);
}

TEST_CASE("a category in use cannot be deleted but an empty one can") {
  Kb kb;
  const Shop shop = MakeShop(kb);
  v1::DeleteCategoryRequest request;
  request.set_category_id(shop.returns);
  v1::DeleteCategoryResponse response;
  CHECK(kb.kb->DeleteCategory(CallWith(kb.admin).get(), request, &response).error_code() ==
        grpc::StatusCode::FAILED_PRECONDITION);
  const std::string empty = kb.Category("空");
  request.set_category_id(empty);
  CHECK(kb.kb->DeleteCategory(CallWith(kb.admin).get(), request, &response).ok());
  CHECK(kb.kb->DeleteCategory(CallWith(kb.admin).get(), request, &response).error_code() ==
        grpc::StatusCode::NOT_FOUND);
  // A category cannot move under its own child.
  const std::string child = kb.Category("子", shop.returns);
  v1::UpdateCategoryRequest move;
  move.mutable_category()->set_category_id(shop.returns);
  move.mutable_category()->set_parent_id(child);
  move.mutable_update_mask()->add_paths("parent_id");
  v1::UpdateCategoryResponse moved;
  CHECK(kb.kb->UpdateCategory(CallWith(kb.admin).get(), move, &moved).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_CASE("changing a bot changes its next answer") {
  Kb kb;
  const Shop shop = MakeShop(kb);
  const v1::Bot bot = kb.Bot();
  CHECK(kb.Ask(bot.bot_id(), "怎么开发票").decision() == v1::ASK_DECISION_ANSWER);
  v1::UpdateBotRequest update;
  update.mutable_bot()->set_bot_id(bot.bot_id());
  update.mutable_bot()->add_category_ids(shop.returns);
  update.mutable_update_mask()->add_paths("category_ids");
  v1::UpdateBotResponse updated;
  REQUIRE(kb.kb->UpdateBot(CallWith(kb.admin).get(), update, &updated).ok());
  CHECK(updated.bot().auto_online());  // untouched fields stay
  CHECK(kb.Ask(bot.bot_id(), "怎么开发票").escalation_reason() ==
        v1::ESCALATION_REASON_OUT_OF_SCOPE);
  v1::DeleteBotRequest del;
  del.set_bot_id(bot.bot_id());
  v1::DeleteBotResponse deleted;
  REQUIRE(kb.kb->DeleteBot(CallWith(kb.admin).get(), del, &deleted).ok());
  v1::AskRequest ask;
  ask.set_tenant_id(kb.tenant);
  ask.set_bot_id(bot.bot_id());
  ask.set_question("怎么开发票");
  v1::AskResponse asked;
  CHECK(kb.bots->Ask(CallWith(PlatformToken()).get(), ask, &asked).error_code() ==
        grpc::StatusCode::NOT_FOUND);
}
