// kb's CannedPhraseService in-process on real PostgreSQL (F43): public phrases need
// admin, personal ones belong to their agent alone, tenants stay apart.
#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "kefu/kb/v1/canned_phrase.grpc.pb.h"
#include "services/kb/kb_service.h"
#include "tests/support/env.h"
#include "tests/support/service_harness.h"

namespace {

namespace v1 = kefu::kb::v1;
using kefu::common::v1::ROLE_ADMIN;
using kefu::common::v1::ROLE_AGENT;
using kefu::common::v1::ROLE_SUPERVISOR;
using kefu::testing::CallWith;
using kefu::testing::TokenFor;

struct Phrases {
  kefu::testing::RunningService service = kefu::testing::StartService(kefu::kb::Definition());
  std::string tenant = kefu::testing::UniqueTenant("kbp");
  std::string admin = TokenFor(tenant, ROLE_ADMIN, "admin-1");
  std::string agent = TokenFor(tenant, ROLE_AGENT, "agent-1");
  std::string other_agent = TokenFor(tenant, ROLE_AGENT, "agent-2");
  std::unique_ptr<v1::CannedPhraseService::Stub> stub =
      v1::CannedPhraseService::NewStub(service.channel);

  grpc::Status Create(const std::string& token, v1::PhraseScope scope, const std::string& text,
                      v1::Phrase* out = nullptr, const std::string& category = "",
                      const std::string& shortcut = "") {
    v1::CreatePhraseRequest request;
    request.mutable_phrase()->set_scope(scope);
    request.mutable_phrase()->set_text(text);
    request.mutable_phrase()->set_title("title");
    request.mutable_phrase()->set_category_id(category);
    request.mutable_phrase()->set_shortcut(shortcut);
    v1::CreatePhraseResponse response;
    grpc::Status st = stub->CreatePhrase(CallWith(token).get(), request, &response);
    if (out != nullptr) *out = response.phrase();
    return st;
  }

  grpc::Status CreateCategory(const std::string& token, v1::PhraseScope scope,
                              const std::string& name, v1::PhraseCategory* out = nullptr) {
    v1::CreatePhraseCategoryRequest request;
    request.mutable_category()->set_scope(scope);
    request.mutable_category()->set_name(name);
    v1::CreatePhraseCategoryResponse response;
    grpc::Status st = stub->CreatePhraseCategory(CallWith(token).get(), request, &response);
    if (out != nullptr) *out = response.category();
    return st;
  }

  std::set<std::string> Texts(const std::string& token,
                              const std::function<void(v1::ListPhrasesRequest*)>& filter = {}) {
    v1::ListPhrasesRequest request;
    if (filter) filter(&request);
    std::set<std::string> texts;
    do {
      v1::ListPhrasesResponse response;
      REQUIRE(stub->ListPhrases(CallWith(token).get(), request, &response).ok());
      for (const auto& p : response.phrases()) texts.insert(p.text());
      request.set_page_token(response.next_page_token());
    } while (!request.page_token().empty());
    return texts;
  }
};

}  // namespace

TEST_CASE("public canned phrases need admin") {
  Phrases p;
  using v1::PHRASE_SCOPE_PUBLIC;
  CHECK(p.Create(p.agent, PHRASE_SCOPE_PUBLIC, "您好!").error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  CHECK(p.Create(TokenFor(p.tenant, ROLE_SUPERVISOR, "sup-1"), PHRASE_SCOPE_PUBLIC, "您好!")
            .error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK(p.CreateCategory(p.agent, PHRASE_SCOPE_PUBLIC, "问候").error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);

  v1::PhraseCategory greetings;
  REQUIRE(p.CreateCategory(p.admin, PHRASE_SCOPE_PUBLIC, "问候", &greetings).ok());
  v1::Phrase hello;
  REQUIRE(p.Create(p.admin, PHRASE_SCOPE_PUBLIC, "您好,请问有什么可以帮您?", &hello,
                   greetings.category_id(), "hi")
              .ok());
  CHECK(hello.owner_id().empty());

  // Agents use public phrases but cannot change or delete them.
  CHECK(p.Texts(p.agent).count(hello.text()) == 1);
  v1::UpdatePhraseRequest update;
  update.mutable_phrase()->set_phrase_id(hello.phrase_id());
  update.mutable_phrase()->set_text("改掉");
  update.mutable_update_mask()->add_paths("text");
  v1::UpdatePhraseResponse updated;
  CHECK(p.stub->UpdatePhrase(CallWith(p.agent).get(), update, &updated).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  v1::DeletePhraseRequest del;
  del.set_phrase_id(hello.phrase_id());
  v1::DeletePhraseResponse deleted;
  CHECK(p.stub->DeletePhrase(CallWith(p.agent).get(), del, &deleted).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  v1::DeletePhraseCategoryRequest del_category;
  del_category.set_category_id(greetings.category_id());
  v1::DeletePhraseCategoryResponse deleted_category;
  CHECK(p.stub->DeletePhraseCategory(CallWith(p.agent).get(), del_category, &deleted_category)
            .error_code() == grpc::StatusCode::PERMISSION_DENIED);

  // Admins can.
  REQUIRE(p.stub->UpdatePhrase(CallWith(p.admin).get(), update, &updated).ok());
  CHECK(updated.phrase().text() == "改掉");
  CHECK(p.stub->DeletePhraseCategory(CallWith(p.admin).get(), del_category, &deleted_category)
            .error_code() == grpc::StatusCode::FAILED_PRECONDITION);  // still has a phrase
  REQUIRE(p.stub->DeletePhrase(CallWith(p.admin).get(), del, &deleted).ok());
  CHECK(
      p.stub->DeletePhraseCategory(CallWith(p.admin).get(), del_category, &deleted_category).ok());
}

TEST_CASE("personal phrases belong to their agent alone") {
  Phrases p;
  using v1::PHRASE_SCOPE_PERSONAL;
  v1::PhraseCategory mine;
  REQUIRE(p.CreateCategory(p.agent, PHRASE_SCOPE_PERSONAL, "我的", &mine).ok());
  CHECK(mine.owner_id() == "agent-1");
  v1::Phrase phrase;
  REQUIRE(p.Create(p.agent, PHRASE_SCOPE_PERSONAL, "稍等,我帮您查一下。", &phrase,
                   mine.category_id(), "wait")
              .ok());
  CHECK(phrase.owner_id() == "agent-1");
  CHECK(p.Texts(p.agent).count(phrase.text()) == 1);
  // Another agent, and even an admin, do not see it and cannot touch it.
  CHECK(p.Texts(p.other_agent).empty());
  CHECK(p.Texts(p.admin).empty());
  v1::UpdatePhraseRequest update;
  update.mutable_phrase()->set_phrase_id(phrase.phrase_id());
  update.mutable_phrase()->set_text("x");
  update.mutable_update_mask()->add_paths("text");
  v1::UpdatePhraseResponse updated;
  CHECK(p.stub->UpdatePhrase(CallWith(p.other_agent).get(), update, &updated).error_code() ==
        grpc::StatusCode::NOT_FOUND);
  // Nor file a phrase under someone else's category.
  CHECK(p.Create(p.other_agent, PHRASE_SCOPE_PERSONAL, "我的话", nullptr, mine.category_id())
            .error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  // Shortcuts are unique per owner, not across owners.
  CHECK(p.Create(p.agent, PHRASE_SCOPE_PERSONAL, "again", nullptr, "", "wait").error_code() ==
        grpc::StatusCode::ALREADY_EXISTS);
  CHECK(p.Create(p.other_agent, PHRASE_SCOPE_PERSONAL, "等一下", nullptr, "", "wait").ok());
}

TEST_CASE("phrases are listed by scope, category and words") {
  Phrases p;
  REQUIRE(p.Create(p.admin, v1::PHRASE_SCOPE_PUBLIC, "感谢您的耐心等待").ok());
  REQUIRE(p.Create(p.agent, v1::PHRASE_SCOPE_PERSONAL, "Thanks for waiting").ok());
  for (int i = 0; i < 5; ++i) {
    REQUIRE(p.Create(p.agent, v1::PHRASE_SCOPE_PERSONAL, "常用语 " + std::to_string(i)).ok());
  }
  CHECK(p.Texts(p.agent).size() == 7);
  CHECK(p.Texts(p.agent, [](auto* r) { r->set_scope(v1::PHRASE_SCOPE_PUBLIC); }) ==
        std::set<std::string>{"感谢您的耐心等待"});
  CHECK(p.Texts(p.agent, [](auto* r) { r->set_query("THANKS"); }) ==
        std::set<std::string>{"Thanks for waiting"});
  CHECK(p.Texts(p.agent, [](auto* r) { r->set_page_size(2); }).size() == 7);  // across four pages
  CHECK(p.Texts(p.agent, [](auto* r) { r->set_query("100%_"); }).empty());
}

TEST_CASE("one tenant's phrases are invisible to another") {
  Phrases p;
  v1::Phrase phrase;
  REQUIRE(p.Create(p.admin, v1::PHRASE_SCOPE_PUBLIC, "欢迎光临", &phrase).ok());
  const std::string other_admin =
      TokenFor(kefu::testing::UniqueTenant("kbp"), ROLE_ADMIN, "admin-1");
  CHECK(p.Texts(other_admin).empty());
  v1::DeletePhraseRequest del;
  del.set_phrase_id(phrase.phrase_id());
  v1::DeletePhraseResponse deleted;
  CHECK(p.stub->DeletePhrase(CallWith(other_admin).get(), del, &deleted).error_code() ==
        grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("a phrase without text or scope is refused naming the field") {
  Phrases p;
  const grpc::Status no_text = p.Create(p.agent, v1::PHRASE_SCOPE_PERSONAL, "");
  CHECK(no_text.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(absl::StartsWith(no_text.error_message(), "phrase.text:"));
  const grpc::Status no_scope = p.Create(p.agent, v1::PHRASE_SCOPE_UNSPECIFIED, "x");
  CHECK(absl::StartsWith(no_scope.error_message(), "phrase.scope:"));
}
