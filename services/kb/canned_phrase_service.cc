#include "services/kb/canned_phrase_service.h"

#include "absl/strings/str_cat.h"
#include "libs/common/status.h"
#include "libs/common/status_macros.h"
#include "services/kb/paging.h"
#include "services/kb/service_util.h"
#include "services/kb/validation.h"

namespace kefu::kb {
namespace {

using kefu::common::v1::ROLE_ADMIN;
using kefu::common::v1::ROLE_AGENT;
using kefu::common::v1::ROLE_SUPERVISOR;

// F43 (53KF 2.7): managing public phrases and categories needs admin rights.
absl::Status MayChange(const auth::Claims& caller, v1::PhraseScope scope, absl::string_view what) {
  if (scope == v1::PHRASE_SCOPE_PUBLIC && caller.role != ROLE_ADMIN) {
    return absl::PermissionDeniedError(
        absl::StrCat("public ", what, " need admin; keep it personal or ask an admin"));
  }
  return absl::OkStatus();
}

absl::Status CheckScopeFilter(v1::PhraseScope scope) {
  if (!v1::PhraseScope_IsValid(scope)) return InvalidField("scope", "unknown value");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<auth::Claims> CannedPhraseServiceImpl::Staff(
    const grpc::ServerContext& context) const {
  return authenticator_->Require(context, {ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_AGENT});
}

grpc::Status CannedPhraseServiceImpl::CreatePhraseCategory(
    grpc::ServerContext* context, const v1::CreatePhraseCategoryRequest* request,
    v1::CreatePhraseCategoryResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, Staff(*context));
    KEFU_RETURN_IF_ERROR(CheckIdempotencyKey(request->idempotency_key()));
    v1::PhraseCategory category = request->category();
    category.clear_category_id();
    KEFU_RETURN_IF_ERROR(ValidatePhraseCategory(category));
    KEFU_RETURN_IF_ERROR(MayChange(caller, category.scope(), "phrase categories"));
    category.set_owner_id(category.scope() == v1::PHRASE_SCOPE_PERSONAL ? caller.subject : "");
    const WriteScope scope = MakeScope(caller, caller.tenant_id, "CreatePhraseCategory", *request,
                                       request->idempotency_key());
    KEFU_ASSIGN_OR_RETURN(*response->mutable_category(),
                          store_->CreatePhraseCategory(scope, category));
    return absl::OkStatus();
  });
}

grpc::Status CannedPhraseServiceImpl::UpdatePhraseCategory(
    grpc::ServerContext* context, const v1::UpdatePhraseCategoryRequest* request,
    v1::UpdatePhraseCategoryResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, Staff(*context));
    KEFU_RETURN_IF_ERROR(CheckIdempotencyKey(request->idempotency_key()));
    KEFU_RETURN_IF_ERROR(CheckId("category.category_id", request->category().category_id()));
    KEFU_ASSIGN_OR_RETURN(std::vector<std::string> paths,
                          MaskPaths(request->update_mask(), {"name", "sort_order"}));
    const WriteScope scope = MakeScope(caller, caller.tenant_id, "UpdatePhraseCategory", *request,
                                       request->idempotency_key());
    KEFU_ASSIGN_OR_RETURN(
        *response->mutable_category(),
        store_->UpdatePhraseCategory(
            scope, caller.subject, request->category().category_id(),
            [&](v1::PhraseCategory* category) -> absl::Status {
              KEFU_RETURN_IF_ERROR(MayChange(caller, category->scope(), "phrase categories"));
              for (const std::string& path : paths) {
                if (path == "name") category->set_name(request->category().name());
                if (path == "sort_order")
                  category->set_sort_order(request->category().sort_order());
              }
              return ValidatePhraseCategory(*category);
            }));
    return absl::OkStatus();
  });
}

grpc::Status CannedPhraseServiceImpl::DeletePhraseCategory(
    grpc::ServerContext* context, const v1::DeletePhraseCategoryRequest* request,
    v1::DeletePhraseCategoryResponse*) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, Staff(*context));
    KEFU_RETURN_IF_ERROR(CheckIdempotencyKey(request->idempotency_key()));
    KEFU_RETURN_IF_ERROR(CheckId("category_id", request->category_id()));
    const WriteScope scope = MakeScope(caller, caller.tenant_id, "DeletePhraseCategory", *request,
                                       request->idempotency_key());
    return store_->DeletePhraseCategory(
        scope, caller.subject, request->category_id(), [&](const v1::PhraseCategory& category) {
          return MayChange(caller, category.scope(), "phrase categories");
        });
  });
}

grpc::Status CannedPhraseServiceImpl::ListPhraseCategories(
    grpc::ServerContext* context, const v1::ListPhraseCategoriesRequest* request,
    v1::ListPhraseCategoriesResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, Staff(*context));
    KEFU_RETURN_IF_ERROR(CheckScopeFilter(request->scope()));
    KEFU_ASSIGN_OR_RETURN(int limit, PageSize(request->page_size()));
    const std::string filters = absl::StrCat("phrase-categories|", request->scope());
    KEFU_ASSIGN_OR_RETURN(std::vector<std::string> after,
                          DecodePageToken(request->page_token(), filters));
    KEFU_ASSIGN_OR_RETURN(Page<v1::PhraseCategory> page,
                          store_->ListPhraseCategories(caller.tenant_id, caller.subject,
                                                       request->scope(), after, limit));
    for (v1::PhraseCategory& c : page.items) *response->add_categories() = std::move(c);
    if (page.more) {
      const v1::PhraseCategory& last = response->categories(response->categories_size() - 1);
      response->set_next_page_token(
          EncodePageToken(filters, {absl::StrCat(static_cast<int>(last.scope())),
                                    absl::StrCat(last.sort_order()), last.category_id()}));
    }
    return absl::OkStatus();
  });
}

grpc::Status CannedPhraseServiceImpl::CreatePhrase(grpc::ServerContext* context,
                                                   const v1::CreatePhraseRequest* request,
                                                   v1::CreatePhraseResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, Staff(*context));
    KEFU_RETURN_IF_ERROR(CheckIdempotencyKey(request->idempotency_key()));
    v1::Phrase phrase = request->phrase();
    phrase.clear_phrase_id();
    phrase.clear_update_time();
    KEFU_RETURN_IF_ERROR(ValidatePhrase(phrase));
    KEFU_RETURN_IF_ERROR(MayChange(caller, phrase.scope(), "phrases"));
    phrase.set_owner_id(phrase.scope() == v1::PHRASE_SCOPE_PERSONAL ? caller.subject : "");
    const WriteScope scope =
        MakeScope(caller, caller.tenant_id, "CreatePhrase", *request, request->idempotency_key());
    KEFU_ASSIGN_OR_RETURN(*response->mutable_phrase(), store_->CreatePhrase(scope, phrase));
    return absl::OkStatus();
  });
}

grpc::Status CannedPhraseServiceImpl::UpdatePhrase(grpc::ServerContext* context,
                                                   const v1::UpdatePhraseRequest* request,
                                                   v1::UpdatePhraseResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, Staff(*context));
    KEFU_RETURN_IF_ERROR(CheckIdempotencyKey(request->idempotency_key()));
    KEFU_RETURN_IF_ERROR(CheckId("phrase.phrase_id", request->phrase().phrase_id()));
    KEFU_ASSIGN_OR_RETURN(std::vector<std::string> paths,
                          MaskPaths(request->update_mask(), PhrasePaths()));
    const WriteScope scope =
        MakeScope(caller, caller.tenant_id, "UpdatePhrase", *request, request->idempotency_key());
    KEFU_ASSIGN_OR_RETURN(
        *response->mutable_phrase(),
        store_->UpdatePhrase(scope, caller.subject, request->phrase().phrase_id(),
                             [&](v1::Phrase* phrase) -> absl::Status {
                               KEFU_RETURN_IF_ERROR(MayChange(caller, phrase->scope(), "phrases"));
                               ApplyPhraseMask(request->phrase(), paths, phrase);
                               return ValidatePhrase(*phrase);
                             }));
    return absl::OkStatus();
  });
}

grpc::Status CannedPhraseServiceImpl::DeletePhrase(grpc::ServerContext* context,
                                                   const v1::DeletePhraseRequest* request,
                                                   v1::DeletePhraseResponse*) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, Staff(*context));
    KEFU_RETURN_IF_ERROR(CheckIdempotencyKey(request->idempotency_key()));
    KEFU_RETURN_IF_ERROR(CheckId("phrase_id", request->phrase_id()));
    const WriteScope scope =
        MakeScope(caller, caller.tenant_id, "DeletePhrase", *request, request->idempotency_key());
    return store_->DeletePhrase(
        scope, caller.subject, request->phrase_id(),
        [&](const v1::Phrase& phrase) { return MayChange(caller, phrase.scope(), "phrases"); });
  });
}

grpc::Status CannedPhraseServiceImpl::ListPhrases(grpc::ServerContext* context,
                                                  const v1::ListPhrasesRequest* request,
                                                  v1::ListPhrasesResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, Staff(*context));
    KEFU_RETURN_IF_ERROR(CheckScopeFilter(request->scope()));
    if (!kefu::common::v1::Language_IsValid(request->language())) {
      return InvalidField("language", "unknown value");
    }
    KEFU_RETURN_IF_ERROR(CheckText("query", request->query(), 100, false));
    KEFU_ASSIGN_OR_RETURN(int limit, PageSize(request->page_size()));
    const std::string filters =
        absl::StrCat("phrases|", request->scope(), "|", request->category_id(), "|",
                     request->query(), "|", request->language());
    KEFU_ASSIGN_OR_RETURN(std::vector<std::string> after,
                          DecodePageToken(request->page_token(), filters));
    PhraseFilter filter;
    filter.owner_id = caller.subject;
    filter.scope = request->scope();
    filter.category_id = request->category_id();
    filter.query = request->query();
    filter.language = request->language();
    KEFU_ASSIGN_OR_RETURN(Page<v1::Phrase> page,
                          store_->ListPhrases(caller.tenant_id, filter, after, limit));
    for (v1::Phrase& p : page.items) *response->add_phrases() = std::move(p);
    if (page.more) {
      const v1::Phrase& last = response->phrases(response->phrases_size() - 1);
      response->set_next_page_token(
          EncodePageToken(filters, {absl::StrCat(static_cast<int>(last.scope())),
                                    absl::StrCat(last.sort_order()), last.phrase_id()}));
    }
    return absl::OkStatus();
  });
}

}  // namespace kefu::kb
