#include "services/kb/knowledge_admin_service.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "libs/common/log.h"
#include "libs/common/status.h"
#include "libs/common/status_macros.h"
#include "services/kb/bot_rules.h"
#include "services/kb/paging.h"
#include "services/kb/service_util.h"
#include "services/kb/validation.h"

namespace kefu::kb {
namespace {

using kefu::common::v1::ROLE_ADMIN;
using kefu::common::v1::ROLE_AGENT;
using kefu::common::v1::ROLE_SERVICE;
using kefu::common::v1::ROLE_SUPERVISOR;
using kefu::events::v1::CHANGE_TYPE_CREATED;
using kefu::events::v1::CHANGE_TYPE_DELETED;
using kefu::events::v1::CHANGE_TYPE_UPDATED;

constexpr int kExportBatch = 500;

absl::Status CheckEntryFilter(kefu::kb::v1::EntryStatus status,
                              kefu::common::v1::Language language) {
  if (!v1::EntryStatus_IsValid(status)) return InvalidField("status", "unknown value");
  if (!kefu::common::v1::Language_IsValid(language)) {
    return InvalidField("language", "unknown value");
  }
  return absl::OkStatus();
}

BotFlags FlagsOf(const v1::Bot& bot) {
  return {bot.online(), bot.auto_online(), bot.hidden(), bot.accept_transfer()};
}

}  // namespace

void KnowledgeAdminServiceImpl::RefreshIndex(const std::string& tenant, int64_t revision) {
  if (auto st = cache_->Refresh(tenant, revision); !st.ok()) {
    log::Warn("kb index refresh after a write failed; the next Ask catches up",
              {{"tenant", tenant}, {"error", st.ToString()}});
  }
}

void KnowledgeAdminServiceImpl::PublishEntry(const auth::Claims& caller, const std::string& tenant,
                                             const std::string& entry_id,
                                             const std::string& category_id,
                                             kefu::events::v1::ChangeType change,
                                             int64_t revision) {
  kefu::events::v1::Event event;
  event.set_tenant_id(tenant);
  event.mutable_actor()->set_role(caller.role);
  event.mutable_actor()->set_subject(caller.subject);
  auto* payload = event.mutable_knowledge_entry_changed();
  payload->set_entry_id(entry_id);
  payload->set_category_id(category_id);
  payload->set_change(change);
  payload->set_revision(revision);
  if (auto id = publisher_->Publish(std::move(event)); !id.ok()) {
    // PostgreSQL holds the change; replicas see it on their next Ask (revision check).
    log::Warn("KnowledgeEntryChanged not published",
              {{"tenant", tenant}, {"entry", entry_id}, {"error", id.status().ToString()}});
  }
}

void KnowledgeAdminServiceImpl::PublishBot(const auth::Claims& caller, const std::string& tenant,
                                           const v1::Bot& bot,
                                           kefu::events::v1::ChangeType change) {
  kefu::events::v1::Event event;
  event.set_tenant_id(tenant);
  event.mutable_actor()->set_role(caller.role);
  event.mutable_actor()->set_subject(caller.subject);
  auto* payload = event.mutable_bot_changed();
  payload->set_bot_id(bot.bot_id());
  payload->set_change(change);
  payload->set_online(EffectiveOnline(FlagsOf(bot)) && change != CHANGE_TYPE_DELETED);
  payload->set_hidden(bot.hidden());
  payload->set_accept_transfer(bot.accept_transfer() && change != CHANGE_TYPE_DELETED);
  if (auto id = publisher_->Publish(std::move(event)); !id.ok()) {
    log::Warn("BotChanged not published",
              {{"tenant", tenant}, {"bot", bot.bot_id()}, {"error", id.status().ToString()}});
  }
}

// --- Categories -------------------------------------------------------------------------

grpc::Status KnowledgeAdminServiceImpl::CreateCategory(grpc::ServerContext* context,
                                                       const v1::CreateCategoryRequest* request,
                                                       v1::CreateCategoryResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_ADMIN}));
    KEFU_RETURN_IF_ERROR(CheckIdempotencyKey(request->idempotency_key()));
    if (!request->category().category_id().empty()) {
      return InvalidField("category.category_id", "assigned by the server; leave it empty");
    }
    KEFU_RETURN_IF_ERROR(ValidateCategory(request->category()));
    const WriteScope scope =
        MakeScope(caller, caller.tenant_id, "CreateCategory", *request, request->idempotency_key());
    KEFU_ASSIGN_OR_RETURN(*response->mutable_category(),
                          store_->CreateCategory(scope, request->category()));
    RefreshIndex(caller.tenant_id, 0);
    return absl::OkStatus();
  });
}

grpc::Status KnowledgeAdminServiceImpl::UpdateCategory(grpc::ServerContext* context,
                                                       const v1::UpdateCategoryRequest* request,
                                                       v1::UpdateCategoryResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_ADMIN}));
    KEFU_RETURN_IF_ERROR(CheckIdempotencyKey(request->idempotency_key()));
    KEFU_RETURN_IF_ERROR(CheckId("category.category_id", request->category().category_id()));
    KEFU_ASSIGN_OR_RETURN(std::vector<std::string> paths,
                          MaskPaths(request->update_mask(), {"parent_id", "name", "sort_order"}));
    const WriteScope scope =
        MakeScope(caller, caller.tenant_id, "UpdateCategory", *request, request->idempotency_key());
    KEFU_ASSIGN_OR_RETURN(*response->mutable_category(),
                          store_->UpdateCategory(scope, request->category().category_id(),
                                                 [&](v1::Category* category) {
                                                   ApplyCategoryMask(request->category(), paths,
                                                                     category);
                                                   return ValidateCategory(*category);
                                                 }));
    RefreshIndex(caller.tenant_id, 0);
    return absl::OkStatus();
  });
}

grpc::Status KnowledgeAdminServiceImpl::DeleteCategory(grpc::ServerContext* context,
                                                       const v1::DeleteCategoryRequest* request,
                                                       v1::DeleteCategoryResponse*) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_ADMIN}));
    KEFU_RETURN_IF_ERROR(CheckIdempotencyKey(request->idempotency_key()));
    KEFU_RETURN_IF_ERROR(CheckId("category_id", request->category_id()));
    const WriteScope scope =
        MakeScope(caller, caller.tenant_id, "DeleteCategory", *request, request->idempotency_key());
    KEFU_RETURN_IF_ERROR(store_->DeleteCategory(scope, request->category_id()));
    RefreshIndex(caller.tenant_id, 0);
    return absl::OkStatus();
  });
}

grpc::Status KnowledgeAdminServiceImpl::ListCategories(grpc::ServerContext* context,
                                                       const v1::ListCategoriesRequest* request,
                                                       v1::ListCategoriesResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(
        auth::Claims caller,
        authenticator_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_AGENT}));
    KEFU_ASSIGN_OR_RETURN(int limit, PageSize(request->page_size()));
    KEFU_ASSIGN_OR_RETURN(std::vector<std::string> after,
                          DecodePageToken(request->page_token(), "categories"));
    KEFU_ASSIGN_OR_RETURN(Page<v1::Category> page,
                          store_->ListCategories(caller.tenant_id, after, limit));
    for (v1::Category& c : page.items) *response->add_categories() = std::move(c);
    if (page.more) {
      const v1::Category& last = response->categories(response->categories_size() - 1);
      response->set_next_page_token(
          EncodePageToken("categories", {absl::StrCat(last.sort_order()), last.category_id()}));
    }
    return absl::OkStatus();
  });
}

// --- Entries ----------------------------------------------------------------------------

grpc::Status KnowledgeAdminServiceImpl::CreateEntry(grpc::ServerContext* context,
                                                    const v1::CreateEntryRequest* request,
                                                    v1::CreateEntryResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_ADMIN}));
    KEFU_RETURN_IF_ERROR(CheckIdempotencyKey(request->idempotency_key()));
    if (!request->entry().entry_id().empty()) {
      return InvalidField("entry.entry_id",
                          "assigned by the server; leave it empty (ImportEntries keeps ids)");
    }
    v1::Entry entry = request->entry();
    NormalizeEntry(&entry);
    KEFU_RETURN_IF_ERROR(ValidateEntry(entry));
    const WriteScope scope =
        MakeScope(caller, caller.tenant_id, "CreateEntry", *request, request->idempotency_key());
    KEFU_ASSIGN_OR_RETURN(v1::Entry stored, store_->CreateEntry(scope, entry));
    RefreshIndex(caller.tenant_id, stored.revision());
    PublishEntry(caller, caller.tenant_id, stored.entry_id(), stored.category_id(),
                 CHANGE_TYPE_CREATED, stored.revision());
    *response->mutable_entry() = std::move(stored);
    return absl::OkStatus();
  });
}

grpc::Status KnowledgeAdminServiceImpl::UpdateEntry(grpc::ServerContext* context,
                                                    const v1::UpdateEntryRequest* request,
                                                    v1::UpdateEntryResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_ADMIN}));
    KEFU_RETURN_IF_ERROR(CheckIdempotencyKey(request->idempotency_key()));
    KEFU_RETURN_IF_ERROR(CheckId("entry.entry_id", request->entry().entry_id()));
    if (request->expected_revision() < 0) {
      return InvalidField("expected_revision", "must not be negative");
    }
    KEFU_ASSIGN_OR_RETURN(std::vector<std::string> paths,
                          MaskPaths(request->update_mask(), EntryPaths()));
    const WriteScope scope =
        MakeScope(caller, caller.tenant_id, "UpdateEntry", *request, request->idempotency_key());
    KEFU_ASSIGN_OR_RETURN(v1::Entry stored,
                          store_->UpdateEntry(scope, request->entry().entry_id(),
                                              request->expected_revision(), [&](v1::Entry* entry) {
                                                ApplyEntryMask(request->entry(), paths, entry);
                                                NormalizeEntry(entry);
                                                return ValidateEntry(*entry);
                                              }));
    RefreshIndex(caller.tenant_id, stored.revision());
    PublishEntry(caller, caller.tenant_id, stored.entry_id(), stored.category_id(),
                 CHANGE_TYPE_UPDATED, stored.revision());
    *response->mutable_entry() = std::move(stored);
    return absl::OkStatus();
  });
}

grpc::Status KnowledgeAdminServiceImpl::DeleteEntry(grpc::ServerContext* context,
                                                    const v1::DeleteEntryRequest* request,
                                                    v1::DeleteEntryResponse*) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_ADMIN}));
    KEFU_RETURN_IF_ERROR(CheckIdempotencyKey(request->idempotency_key()));
    KEFU_RETURN_IF_ERROR(CheckId("entry_id", request->entry_id()));
    const WriteScope scope =
        MakeScope(caller, caller.tenant_id, "DeleteEntry", *request, request->idempotency_key());
    KEFU_ASSIGN_OR_RETURN(v1::Entry gone, store_->DeleteEntry(scope, request->entry_id()));
    RefreshIndex(caller.tenant_id, gone.revision());
    PublishEntry(caller, caller.tenant_id, gone.entry_id(), gone.category_id(), CHANGE_TYPE_DELETED,
                 gone.revision());
    return absl::OkStatus();
  });
}

grpc::Status KnowledgeAdminServiceImpl::GetEntry(grpc::ServerContext* context,
                                                 const v1::GetEntryRequest* request,
                                                 v1::GetEntryResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(
        auth::Claims caller,
        authenticator_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_AGENT}));
    KEFU_RETURN_IF_ERROR(CheckId("entry_id", request->entry_id()));
    KEFU_ASSIGN_OR_RETURN(*response->mutable_entry(),
                          store_->GetEntry(caller.tenant_id, request->entry_id()));
    return absl::OkStatus();
  });
}

grpc::Status KnowledgeAdminServiceImpl::ListEntries(grpc::ServerContext* context,
                                                    const v1::ListEntriesRequest* request,
                                                    v1::ListEntriesResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(
        auth::Claims caller,
        authenticator_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_AGENT}));
    KEFU_RETURN_IF_ERROR(CheckEntryFilter(request->status(), request->language()));
    KEFU_ASSIGN_OR_RETURN(int limit, PageSize(request->page_size()));
    const std::string filters = absl::StrCat("entries|", request->category_id(), "|",
                                             request->status(), "|", request->language());
    KEFU_ASSIGN_OR_RETURN(std::vector<std::string> after,
                          DecodePageToken(request->page_token(), filters));
    EntryFilter filter{request->category_id(), request->status(), request->language()};
    KEFU_ASSIGN_OR_RETURN(
        Page<v1::Entry> page,
        store_->ListEntries(caller.tenant_id, filter, after.empty() ? "" : after[0], limit));
    for (v1::Entry& e : page.items) *response->add_entries() = std::move(e);
    if (page.more) {
      response->set_next_page_token(
          EncodePageToken(filters, {response->entries(response->entries_size() - 1).entry_id()}));
    }
    return absl::OkStatus();
  });
}

grpc::Status KnowledgeAdminServiceImpl::ImportEntries(grpc::ServerContext* context,
                                                      const v1::ImportEntriesRequest* request,
                                                      v1::ImportEntriesResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_ADMIN}));
    KEFU_RETURN_IF_ERROR(CheckIdempotencyKey(request->idempotency_key()));
    if (!v1::ImportMode_IsValid(request->mode())) return InvalidField("mode", "unknown value");
    if (!v1::EntryStatus_IsValid(request->status())) {
      return InvalidField("status", "unknown value");
    }
    // All or nothing: any bad line and nothing is written (the errors say which).
    std::vector<v1::ImportError> errors = ValidateImport(*request);
    if (!errors.empty()) {
      for (v1::ImportError& e : errors) *response->add_errors() = std::move(e);
      return absl::OkStatus();
    }
    v1::ImportEntriesRequest normalized = *request;
    for (v1::ImportEntry& line : *normalized.mutable_entries()) {
      NormalizeEntry(line.mutable_entry());
      line.set_category_name(std::string(absl::StripAsciiWhitespace(line.category_name())));
    }
    const WriteScope scope =
        MakeScope(caller, caller.tenant_id, "ImportEntries", *request, request->idempotency_key());
    std::vector<EntryChange> changes;
    KEFU_ASSIGN_OR_RETURN(*response, store_->ImportEntries(scope, normalized, &changes));
    if (request->dry_run() || response->errors_size() > 0 || changes.empty()) {
      return absl::OkStatus();
    }
    RefreshIndex(caller.tenant_id, changes.front().revision);
    for (const EntryChange& c : changes) {
      PublishEntry(caller, caller.tenant_id, c.entry_id, c.category_id,
                   c.kind == EntryChange::kDeleted   ? CHANGE_TYPE_DELETED
                   : c.kind == EntryChange::kUpdated ? CHANGE_TYPE_UPDATED
                                                     : CHANGE_TYPE_CREATED,
                   c.revision);
    }
    log::Info("kb entries imported", {{"tenant", caller.tenant_id},
                                      {"created", absl::StrCat(response->created_count())},
                                      {"updated", absl::StrCat(response->updated_count())},
                                      {"deleted", absl::StrCat(response->deleted_count())}});
    return absl::OkStatus();
  });
}

grpc::Status KnowledgeAdminServiceImpl::ExportEntries(
    grpc::ServerContext* context, const v1::ExportEntriesRequest* request,
    grpc::ServerWriter<v1::ExportEntriesResponse>* writer) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(
        auth::Claims caller,
        authenticator_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_AGENT}));
    KEFU_RETURN_IF_ERROR(CheckEntryFilter(request->status(), request->language()));
    EntryFilter filter{request->category_id(), request->status(), request->language()};
    std::string after;
    while (true) {
      if (context->IsCancelled()) return absl::CancelledError("export cancelled by the client");
      KEFU_ASSIGN_OR_RETURN(Page<v1::ImportEntry> page,
                            store_->ExportEntries(caller.tenant_id, filter, after, kExportBatch));
      if (page.items.empty()) break;
      v1::ExportEntriesResponse batch;
      for (v1::ImportEntry& e : page.items) *batch.add_entries() = std::move(e);
      after = batch.entries(batch.entries_size() - 1).entry().entry_id();
      if (!writer->Write(batch)) return absl::CancelledError("export client went away");
      if (!page.more) break;
    }
    return absl::OkStatus();
  });
}

// --- Bots -------------------------------------------------------------------------------

grpc::Status KnowledgeAdminServiceImpl::CreateBot(grpc::ServerContext* context,
                                                  const v1::CreateBotRequest* request,
                                                  v1::CreateBotResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_ADMIN}));
    KEFU_RETURN_IF_ERROR(CheckIdempotencyKey(request->idempotency_key()));
    if (!request->bot().bot_id().empty()) {
      return InvalidField("bot.bot_id", "assigned by the server; leave it empty");
    }
    v1::Bot bot = request->bot();
    NormalizeBot(&bot);
    KEFU_RETURN_IF_ERROR(ValidateBot(bot));
    const WriteScope scope =
        MakeScope(caller, caller.tenant_id, "CreateBot", *request, request->idempotency_key());
    KEFU_ASSIGN_OR_RETURN(v1::Bot stored, store_->CreateBot(scope, bot));
    RefreshIndex(caller.tenant_id, 0);
    PublishBot(caller, caller.tenant_id, stored, CHANGE_TYPE_CREATED);
    *response->mutable_bot() = std::move(stored);
    return absl::OkStatus();
  });
}

grpc::Status KnowledgeAdminServiceImpl::UpdateBot(grpc::ServerContext* context,
                                                  const v1::UpdateBotRequest* request,
                                                  v1::UpdateBotResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_ADMIN}));
    KEFU_RETURN_IF_ERROR(CheckIdempotencyKey(request->idempotency_key()));
    KEFU_RETURN_IF_ERROR(CheckId("bot.bot_id", request->bot().bot_id()));
    KEFU_ASSIGN_OR_RETURN(std::vector<std::string> paths,
                          MaskPaths(request->update_mask(), BotPaths()));
    const WriteScope scope =
        MakeScope(caller, caller.tenant_id, "UpdateBot", *request, request->idempotency_key());
    KEFU_ASSIGN_OR_RETURN(v1::Bot stored,
                          store_->UpdateBot(scope, request->bot().bot_id(), [&](v1::Bot* bot) {
                            ApplyBotMask(request->bot(), paths, bot);
                            NormalizeBot(bot);
                            return ValidateBot(*bot);
                          }));
    RefreshIndex(caller.tenant_id, 0);
    PublishBot(caller, caller.tenant_id, stored, CHANGE_TYPE_UPDATED);
    *response->mutable_bot() = std::move(stored);
    return absl::OkStatus();
  });
}

grpc::Status KnowledgeAdminServiceImpl::DeleteBot(grpc::ServerContext* context,
                                                  const v1::DeleteBotRequest* request,
                                                  v1::DeleteBotResponse*) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_ADMIN}));
    KEFU_RETURN_IF_ERROR(CheckIdempotencyKey(request->idempotency_key()));
    KEFU_RETURN_IF_ERROR(CheckId("bot_id", request->bot_id()));
    const WriteScope scope =
        MakeScope(caller, caller.tenant_id, "DeleteBot", *request, request->idempotency_key());
    KEFU_ASSIGN_OR_RETURN(v1::Bot gone, store_->DeleteBot(scope, request->bot_id()));
    RefreshIndex(caller.tenant_id, 0);
    PublishBot(caller, caller.tenant_id, gone, CHANGE_TYPE_DELETED);
    return absl::OkStatus();
  });
}

grpc::Status KnowledgeAdminServiceImpl::GetBot(grpc::ServerContext* context,
                                               const v1::GetBotRequest* request,
                                               v1::GetBotResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(
        auth::Claims caller,
        authenticator_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_AGENT, ROLE_SERVICE}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
    KEFU_RETURN_IF_ERROR(CheckId("bot_id", request->bot_id()));
    KEFU_ASSIGN_OR_RETURN(*response->mutable_bot(), store_->GetBot(tenant, request->bot_id()));
    response->set_serving(
        Serves(FlagsOf(response->bot()), request->humans_online(), BotArrival::kEntryPoint));
    return absl::OkStatus();
  });
}

grpc::Status KnowledgeAdminServiceImpl::ListBots(grpc::ServerContext* context,
                                                 const v1::ListBotsRequest* request,
                                                 v1::ListBotsResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(
        auth::Claims caller,
        authenticator_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_AGENT, ROLE_SERVICE}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
    KEFU_ASSIGN_OR_RETURN(int limit, PageSize(request->page_size()));
    const std::string filters = absl::StrCat("bots|", request->accept_transfer_only());
    KEFU_ASSIGN_OR_RETURN(std::vector<std::string> after,
                          DecodePageToken(request->page_token(), filters));
    KEFU_ASSIGN_OR_RETURN(Page<v1::Bot> page,
                          store_->ListBots(tenant, request->accept_transfer_only(),
                                           after.empty() ? "" : after[0], limit));
    for (v1::Bot& b : page.items) *response->add_bots() = std::move(b);
    if (page.more) {
      response->set_next_page_token(
          EncodePageToken(filters, {response->bots(response->bots_size() - 1).bot_id()}));
    }
    return absl::OkStatus();
  });
}

}  // namespace kefu::kb
