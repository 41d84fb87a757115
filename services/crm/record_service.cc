#include "services/crm/record_service.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "libs/common/status.h"
#include "libs/common/status_macros.h"
#include "services/crm/paging.h"
#include "services/crm/rpc_support.h"
#include "services/crm/search_text.h"
#include "services/crm/validation.h"

namespace kefu::crm {
namespace {

using kefu::common::v1::ROLE_ADMIN;
using kefu::common::v1::ROLE_AGENT;
using kefu::common::v1::ROLE_SERVICE;
using kefu::common::v1::ROLE_SUPERVISOR;

constexpr int kMaxScore = 5;
constexpr size_t kMaxCommentChars = 1000;

bool IsAgent(const auth::Claims& caller) { return caller.role == ROLE_AGENT; }

// Each value of a repeated enum field must be a known, non-zero value.
template <typename Repeated>
absl::Status CheckEnums(absl::string_view field, const Repeated& values, bool (*is_valid)(int),
                        std::vector<int>* out) {
  for (int i = 0; i < values.size(); ++i) {
    KEFU_RETURN_IF_ERROR(
        CheckEnum(absl::StrCat(field, "[", i, "]"), values.Get(i), is_valid, true));
    out->push_back(values.Get(i));
  }
  return absl::OkStatus();
}

absl::Status CheckFormFields(absl::string_view field,
                             const google::protobuf::Map<std::string, std::string>& values) {
  if (static_cast<size_t>(values.size()) > kMaxRegistrationFields) {
    return InvalidField(field, absl::StrCat("at most ", kMaxRegistrationFields, " fields"));
  }
  for (const auto& [key, value] : values) {
    const std::string at = absl::StrCat(field, "[", key, "]");
    if (key.empty() || key.size() > 32) return InvalidField(at, "keys are 1 to 32 characters");
    KEFU_RETURN_IF_ERROR(CheckText(at, key, 32));
    KEFU_RETURN_IF_ERROR(CheckText(at, value, kDefaultFieldValueChars, true));
  }
  return absl::OkStatus();
}

// The fields UpdateContactPlan may change.
absl::Status CheckPlanPaths(const std::vector<std::string>& paths) {
  static const auto* const kEditable =
      new std::vector<std::string>{"contact_time", "method", "status", "notes", "owner_id"};
  for (const std::string& path : paths) {
    if (std::find(kEditable->begin(), kEditable->end(), path) == kEditable->end()) {
      return InvalidField("update_mask",
                          absl::StrCat("\"", path,
                                       "\" is not an editable field (contact_time, method, "
                                       "status, notes, owner_id)"));
    }
  }
  return absl::OkStatus();
}

bool Wants(const std::vector<std::string>& paths, absl::string_view field) {
  return paths.empty() || std::find(paths.begin(), paths.end(), field) != paths.end();
}

}  // namespace

absl::StatusOr<v1::Dialog> RecordServiceImpl::VisibleDialog(const auth::Claims& caller,
                                                            const std::string& tenant,
                                                            const std::string& dialog_id) {
  KEFU_ASSIGN_OR_RETURN(v1::Dialog dialog, records_->GetDialog(tenant, dialog_id));
  if (IsAgent(caller)) {
    const bool took_part = std::any_of(
        dialog.agents().begin(), dialog.agents().end(),
        [&](const v1::DialogAgent& agent) { return agent.agent_id() == caller.subject; });
    // F51: agents see only their own dialogs.
    if (!took_part) {
      return absl::PermissionDeniedError(
          absl::StrCat("dialog_id: agent ", caller.subject, " did not take part in this dialog"));
    }
  }
  return dialog;
}

absl::StatusOr<v1::ContactPlan> RecordServiceImpl::OwnedPlan(const auth::Claims& caller,
                                                             const std::string& tenant,
                                                             const std::string& contact_plan_id) {
  KEFU_ASSIGN_OR_RETURN(v1::ContactPlan plan, records_->GetContactPlan(tenant, contact_plan_id));
  if (IsAgent(caller) && plan.owner_id() != caller.subject) {
    return absl::PermissionDeniedError(
        absl::StrCat("contact_plan_id: agents change only their own contact plans"));
  }
  return plan;
}

grpc::Status RecordServiceImpl::GetDialog(grpc::ServerContext* context,
                                          const v1::GetDialogRequest* request,
                                          v1::GetDialogResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto caller, auth_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR,
                                                                 ROLE_AGENT, ROLE_SERVICE}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, rpc::TokenTenant(caller, "GetDialog"));
    KEFU_RETURN_IF_ERROR(CheckId("dialog_id", request->dialog_id()));
    KEFU_ASSIGN_OR_RETURN(*response->mutable_dialog(),
                          VisibleDialog(caller, tenant, request->dialog_id()));
    return absl::OkStatus();
  });
}

grpc::Status RecordServiceImpl::GetTranscript(grpc::ServerContext* context,
                                              const v1::GetTranscriptRequest* request,
                                              v1::GetTranscriptResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto caller, auth_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR,
                                                                 ROLE_AGENT, ROLE_SERVICE}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
    KEFU_RETURN_IF_ERROR(CheckId("dialog_id", request->dialog_id()));
    KEFU_ASSIGN_OR_RETURN(PageRequest page,
                          PageOf(*request, request->page_size(), request->page_token()));
    KEFU_RETURN_IF_ERROR(VisibleDialog(caller, tenant, request->dialog_id()).status());
    KEFU_ASSIGN_OR_RETURN(TranscriptPage found,
                          records_->GetTranscript(tenant, request->dialog_id(), page));
    for (auto& message : found.messages) *response->add_messages() = std::move(message);
    response->set_next_page_token(EncodePageToken(FilterFingerprint(*request), found.next_cursor));
    return absl::OkStatus();
  });
}

grpc::Status RecordServiceImpl::SearchDialogs(grpc::ServerContext* context,
                                              const v1::SearchDialogsRequest* request,
                                              v1::SearchDialogsResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto caller, auth_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR,
                                                                 ROLE_AGENT, ROLE_SERVICE}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, rpc::TokenTenant(caller, "SearchDialogs"));
    DialogQuery query;
    KEFU_ASSIGN_OR_RETURN(query.started, rpc::WindowOf("time_range", request->time_range()));
    KEFU_RETURN_IF_ERROR(rpc::CheckIds("agent_ids", request->agent_ids()));
    KEFU_RETURN_IF_ERROR(rpc::CheckIds("department_ids", request->department_ids()));
    KEFU_RETURN_IF_ERROR(CheckOptionalId("customer_id", request->customer_id()));
    KEFU_RETURN_IF_ERROR(CheckText("text", request->text(), 500));
    KEFU_ASSIGN_OR_RETURN(query.words, SplitSearchWords("text", request->text()));
    KEFU_RETURN_IF_ERROR(CheckEnums("end_types", request->end_types(),
                                    kefu::common::v1::DialogEndType_IsValid, &query.end_types));
    KEFU_RETURN_IF_ERROR(CheckEnums("channels", request->channels(),
                                    kefu::common::v1::Channel_IsValid, &query.channels));
    KEFU_RETURN_IF_ERROR(CheckEnums("initiations", request->initiations(),
                                    kefu::common::v1::DialogInitiation_IsValid,
                                    &query.initiations));
    KEFU_RETURN_IF_ERROR(
        CheckEnum("validity", request->validity(), v1::ValidityFilter_IsValid, false));
    KEFU_RETURN_IF_ERROR(CheckEnum("rating", request->rating(), v1::RatingFilter_IsValid, false));
    KEFU_RETURN_IF_ERROR(
        CheckEnum("order", request->order(), kefu::common::v1::SortOrder_IsValid, false));
    if (request->min_score() < 0 || request->min_score() > kMaxScore) {
      return InvalidField("min_score", "0 (no bound) or 1 to 5");
    }
    if (request->max_score() < 0 || request->max_score() > kMaxScore) {
      return InvalidField("max_score", "0 (no bound) or 1 to 5");
    }
    if (request->min_score() > 0 && request->max_score() > 0 &&
        request->min_score() > request->max_score()) {
      return InvalidField("max_score", "must not be below min_score");
    }
    KEFU_ASSIGN_OR_RETURN(PageRequest page,
                          PageOf(*request, request->page_size(), request->page_token()));
    query.agent_ids.assign(request->agent_ids().begin(), request->agent_ids().end());
    // F51: an agent searches only their own dialogs, whatever the request names.
    if (IsAgent(caller)) query.agent_ids = {caller.subject};
    query.department_ids.assign(request->department_ids().begin(), request->department_ids().end());
    query.customer_id = request->customer_id();
    query.validity = request->validity();
    query.rating = request->rating();
    query.min_score = request->min_score();
    query.max_score = request->max_score();
    query.ascending = request->order() == kefu::common::v1::SORT_ORDER_ASCENDING;
    KEFU_ASSIGN_OR_RETURN(DialogSearchPage found, records_->SearchDialogs(tenant, query, page));
    for (auto& hit : found.hits) *response->add_hits() = std::move(hit);
    response->set_total_count(found.total_count);
    response->set_next_page_token(EncodePageToken(FilterFingerprint(*request), found.next_cursor));
    return absl::OkStatus();
  });
}

grpc::Status RecordServiceImpl::CreateOfflineMessage(grpc::ServerContext* context,
                                                     const v1::CreateOfflineMessageRequest* request,
                                                     v1::CreateOfflineMessageResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto caller, auth_->Require(*context, {ROLE_SERVICE, ROLE_ADMIN,
                                                                 ROLE_SUPERVISOR, ROLE_AGENT}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
    if (!request->has_offline_message()) return InvalidField("offline_message", "required");
    const v1::OfflineMessage& m = request->offline_message();
    KEFU_RETURN_IF_ERROR(CheckOptionalId("offline_message.customer_id", m.customer_id()));
    KEFU_RETURN_IF_ERROR(CheckOptionalId("offline_message.contact_id", m.contact_id()));
    KEFU_RETURN_IF_ERROR(CheckOptionalId("offline_message.visitor_id", m.visitor_id()));
    KEFU_RETURN_IF_ERROR(CheckOptionalId("offline_message.entry_point_id", m.entry_point_id()));
    KEFU_RETURN_IF_ERROR(CheckOptionalId("offline_message.department_id", m.department_id()));
    KEFU_RETURN_IF_ERROR(CheckEnum("offline_message.channel", m.channel(),
                                   kefu::common::v1::Channel_IsValid, false));
    if (absl::StripAsciiWhitespace(m.content()).empty()) {
      return InvalidField("offline_message.content", "required");
    }
    KEFU_RETURN_IF_ERROR(CheckText("offline_message.content", m.content(), kMaxNoteChars, true));
    KEFU_RETURN_IF_ERROR(CheckFormFields("offline_message.form_fields", m.form_fields()));
    // The customer must be one of the caller's tenant (NOT_FOUND otherwise).
    if (!m.customer_id().empty()) {
      KEFU_RETURN_IF_ERROR(customers_->Get(tenant, m.customer_id()).status());
    }
    v1::OfflineMessage input;
    input.set_customer_id(m.customer_id());
    input.set_contact_id(m.contact_id());
    input.set_visitor_id(m.visitor_id());
    input.set_entry_point_id(m.entry_point_id());
    input.set_department_id(m.department_id());
    input.set_channel(m.channel());
    input.set_content(m.content());
    *input.mutable_form_fields() = m.form_fields();
    KEFU_ASSIGN_OR_RETURN(
        auto result,
        records_->CreateOfflineMessage(tenant, input,
                                       rpc::IdempotencyOf(caller, "CreateOfflineMessage",
                                                          request->idempotency_key(), *request)));
    *response->mutable_offline_message() = std::move(result.value);
    rpc::PublishAll(publish_, caller, std::move(result.events));
    return absl::OkStatus();
  });
}

grpc::Status RecordServiceImpl::GetOfflineMessage(grpc::ServerContext* context,
                                                  const v1::GetOfflineMessageRequest* request,
                                                  v1::GetOfflineMessageResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto caller, auth_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR,
                                                                 ROLE_AGENT, ROLE_SERVICE}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, rpc::TokenTenant(caller, "GetOfflineMessage"));
    KEFU_RETURN_IF_ERROR(CheckId("offline_message_id", request->offline_message_id()));
    KEFU_ASSIGN_OR_RETURN(*response->mutable_offline_message(),
                          records_->GetOfflineMessage(tenant, request->offline_message_id()));
    return absl::OkStatus();
  });
}

grpc::Status RecordServiceImpl::ListOfflineMessages(grpc::ServerContext* context,
                                                    const v1::ListOfflineMessagesRequest* request,
                                                    v1::ListOfflineMessagesResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto caller, auth_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR,
                                                                 ROLE_AGENT, ROLE_SERVICE}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, rpc::TokenTenant(caller, "ListOfflineMessages"));
    OfflineMessageFilter filter;
    KEFU_RETURN_IF_ERROR(
        CheckEnum("status", request->status(), v1::OfflineMessageStatus_IsValid, false));
    KEFU_ASSIGN_OR_RETURN(filter.created, rpc::WindowOf("time_range", request->time_range()));
    KEFU_RETURN_IF_ERROR(rpc::CheckIds("department_ids", request->department_ids()));
    KEFU_RETURN_IF_ERROR(CheckOptionalId("customer_id", request->customer_id()));
    KEFU_ASSIGN_OR_RETURN(PageRequest page,
                          PageOf(*request, request->page_size(), request->page_token()));
    filter.status = request->status();
    filter.department_ids.assign(request->department_ids().begin(),
                                 request->department_ids().end());
    filter.customer_id = request->customer_id();
    KEFU_ASSIGN_OR_RETURN(OfflineMessagePage found,
                          records_->ListOfflineMessages(tenant, filter, page));
    for (auto& m : found.messages) *response->add_offline_messages() = std::move(m);
    response->set_next_page_token(EncodePageToken(FilterFingerprint(*request), found.next_cursor));
    return absl::OkStatus();
  });
}

grpc::Status RecordServiceImpl::ReplyOfflineMessage(grpc::ServerContext* context,
                                                    const v1::ReplyOfflineMessageRequest* request,
                                                    v1::ReplyOfflineMessageResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto caller,
                          auth_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_AGENT}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, rpc::TokenTenant(caller, "ReplyOfflineMessage"));
    KEFU_RETURN_IF_ERROR(CheckId("offline_message_id", request->offline_message_id()));
    if (absl::StripAsciiWhitespace(request->text()).empty()) {
      return InvalidField("text", "required");
    }
    KEFU_RETURN_IF_ERROR(CheckText("text", request->text(), kMaxNoteChars, true));
    KEFU_RETURN_IF_ERROR(CheckEnum("channel", request->channel(), v1::ReplyChannel_IsValid, false));
    Reply reply;
    reply.offline_message_id = request->offline_message_id();
    reply.text = request->text();
    reply.channel = request->channel();
    reply.replied_by = caller.subject;
    KEFU_ASSIGN_OR_RETURN(
        auto result,
        records_->ReplyOfflineMessage(tenant, reply,
                                      rpc::IdempotencyOf(caller, "ReplyOfflineMessage",
                                                         request->idempotency_key(), *request)));
    *response->mutable_offline_message() = std::move(result.value);
    rpc::PublishAll(publish_, caller, std::move(result.events));
    return absl::OkStatus();
  });
}

grpc::Status RecordServiceImpl::RateDialog(grpc::ServerContext* context,
                                           const v1::RateDialogRequest* request,
                                           v1::RateDialogResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto caller,
                          auth_->Require(*context, {ROLE_SERVICE, ROLE_ADMIN, ROLE_SUPERVISOR}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
    KEFU_RETURN_IF_ERROR(CheckId("dialog_id", request->dialog_id()));
    if (request->score() < 1 || request->score() > kMaxScore) {
      return InvalidField("score", absl::StrCat("must be 1 to 5 (got ", request->score(), ")"));
    }
    KEFU_RETURN_IF_ERROR(CheckText("comment", request->comment(), kMaxCommentChars, true));
    v1::Rating rating;
    rating.set_dialog_id(request->dialog_id());
    rating.set_score(request->score());
    rating.set_comment(request->comment());
    rating.set_invited_by_agent(request->invited_by_agent());
    KEFU_ASSIGN_OR_RETURN(
        auto result,
        records_->RateDialog(
            tenant, rating,
            rpc::IdempotencyOf(caller, "RateDialog", request->idempotency_key(), *request)));
    *response->mutable_rating() = std::move(result.value);
    rpc::PublishAll(publish_, caller, std::move(result.events));
    return absl::OkStatus();
  });
}

grpc::Status RecordServiceImpl::ListRatings(grpc::ServerContext* context,
                                            const v1::ListRatingsRequest* request,
                                            v1::ListRatingsResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto caller, auth_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR,
                                                                 ROLE_AGENT, ROLE_SERVICE}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, rpc::TokenTenant(caller, "ListRatings"));
    RatingFilter filter;
    KEFU_ASSIGN_OR_RETURN(filter.created, rpc::WindowOf("time_range", request->time_range()));
    KEFU_RETURN_IF_ERROR(rpc::CheckIds("agent_ids", request->agent_ids()));
    KEFU_RETURN_IF_ERROR(rpc::CheckIds("department_ids", request->department_ids()));
    KEFU_ASSIGN_OR_RETURN(PageRequest page,
                          PageOf(*request, request->page_size(), request->page_token()));
    filter.agent_ids.assign(request->agent_ids().begin(), request->agent_ids().end());
    if (IsAgent(caller)) filter.agent_ids = {caller.subject};  // their own ratings
    filter.department_ids.assign(request->department_ids().begin(),
                                 request->department_ids().end());
    KEFU_ASSIGN_OR_RETURN(RatingPage found, records_->ListRatings(tenant, filter, page));
    for (auto& rating : found.ratings) *response->add_ratings() = std::move(rating);
    response->set_next_page_token(EncodePageToken(FilterFingerprint(*request), found.next_cursor));
    return absl::OkStatus();
  });
}

grpc::Status RecordServiceImpl::CreateContactPlan(grpc::ServerContext* context,
                                                  const v1::CreateContactPlanRequest* request,
                                                  v1::CreateContactPlanResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto caller, auth_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR,
                                                                 ROLE_AGENT, ROLE_SERVICE}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, rpc::TokenTenant(caller, "CreateContactPlan"));
    if (!request->has_contact_plan()) return InvalidField("contact_plan", "required");
    v1::ContactPlan plan = request->contact_plan();
    KEFU_RETURN_IF_ERROR(CheckId("contact_plan.customer_id", plan.customer_id()));
    if (!plan.has_contact_time()) return InvalidField("contact_plan.contact_time", "required");
    KEFU_RETURN_IF_ERROR(
        CheckEnum("contact_plan.status", plan.status(), v1::ContactPlanStatus_IsValid, false));
    if (plan.status() == v1::CONTACT_PLAN_STATUS_UNSPECIFIED) {
      plan.set_status(v1::CONTACT_PLAN_STATUS_PLANNED);
    }
    KEFU_RETURN_IF_ERROR(CheckText("contact_plan.notes", plan.notes(), kMaxNoteChars, true));
    KEFU_RETURN_IF_ERROR(CheckOptionalId("contact_plan.owner_id", plan.owner_id()));
    if (plan.owner_id().empty()) plan.set_owner_id(caller.subject);
    if (IsAgent(caller) && plan.owner_id() != caller.subject) {
      return absl::PermissionDeniedError(
          "contact_plan.owner_id: agents create contact plans for themselves");
    }
    // F52: the method comes from the card (of this tenant: NOT_FOUND otherwise).
    auto card = customers_->Get(tenant, plan.customer_id());
    if (absl::IsNotFound(card.status())) {
      return absl::NotFoundError(
          absl::StrCat("contact_plan.customer_id: no customer \"", plan.customer_id(), "\""));
    }
    if (!card.ok()) return card.status();
    KEFU_ASSIGN_OR_RETURN(*plan.mutable_method(),
                          ResolveContactMethod("contact_plan.method", plan.method(), *card));
    KEFU_ASSIGN_OR_RETURN(
        *response->mutable_contact_plan(),
        records_->CreateContactPlan(
            tenant, plan,
            rpc::IdempotencyOf(caller, "CreateContactPlan", request->idempotency_key(), *request)));
    return absl::OkStatus();
  });
}

grpc::Status RecordServiceImpl::UpdateContactPlan(grpc::ServerContext* context,
                                                  const v1::UpdateContactPlanRequest* request,
                                                  v1::UpdateContactPlanResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto caller, auth_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR,
                                                                 ROLE_AGENT, ROLE_SERVICE}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, rpc::TokenTenant(caller, "UpdateContactPlan"));
    v1::ContactPlan plan = request->contact_plan();
    KEFU_RETURN_IF_ERROR(CheckId("contact_plan.contact_plan_id", plan.contact_plan_id()));
    const std::vector<std::string> paths = rpc::PathsOf(request->update_mask());
    KEFU_RETURN_IF_ERROR(CheckPlanPaths(paths));
    if (Wants(paths, "contact_time") && !plan.has_contact_time()) {
      return InvalidField("contact_plan.contact_time", "required");
    }
    if (Wants(paths, "status")) {
      KEFU_RETURN_IF_ERROR(
          CheckEnum("contact_plan.status", plan.status(), v1::ContactPlanStatus_IsValid, true));
    }
    if (Wants(paths, "notes")) {
      KEFU_RETURN_IF_ERROR(CheckText("contact_plan.notes", plan.notes(), kMaxNoteChars, true));
    }
    if (Wants(paths, "owner_id")) {
      KEFU_RETURN_IF_ERROR(CheckId("contact_plan.owner_id", plan.owner_id()));
      if (IsAgent(caller) && plan.owner_id() != caller.subject) {
        return absl::PermissionDeniedError(
            "contact_plan.owner_id: agents cannot hand their contact plans to others");
      }
    }
    KEFU_ASSIGN_OR_RETURN(v1::ContactPlan stored,
                          OwnedPlan(caller, tenant, plan.contact_plan_id()));
    if (Wants(paths, "method")) {
      KEFU_ASSIGN_OR_RETURN(v1::Customer card, customers_->Get(tenant, stored.customer_id()));
      KEFU_ASSIGN_OR_RETURN(*plan.mutable_method(),
                            ResolveContactMethod("contact_plan.method", plan.method(), card));
    }
    KEFU_ASSIGN_OR_RETURN(
        *response->mutable_contact_plan(),
        records_->UpdateContactPlan(
            tenant, plan, paths,
            rpc::IdempotencyOf(caller, "UpdateContactPlan", request->idempotency_key(), *request)));
    return absl::OkStatus();
  });
}

grpc::Status RecordServiceImpl::DeleteContactPlan(grpc::ServerContext* context,
                                                  const v1::DeleteContactPlanRequest* request,
                                                  v1::DeleteContactPlanResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto caller, auth_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR,
                                                                 ROLE_AGENT, ROLE_SERVICE}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, rpc::TokenTenant(caller, "DeleteContactPlan"));
    KEFU_RETURN_IF_ERROR(CheckId("contact_plan_id", request->contact_plan_id()));
    const Idempotency idem =
        rpc::IdempotencyOf(caller, "DeleteContactPlan", request->idempotency_key(), *request);
    auto stored = OwnedPlan(caller, tenant, request->contact_plan_id());
    // A plan already gone may be a retry: the store answers it from the idempotency record
    // (or NOT_FOUND).
    const bool maybe_retry = absl::IsNotFound(stored.status()) && !idem.key.empty();
    if (!stored.ok() && !maybe_retry) return stored.status();
    return records_->DeleteContactPlan(tenant, request->contact_plan_id(), idem);
  });
}

grpc::Status RecordServiceImpl::ListContactPlans(grpc::ServerContext* context,
                                                 const v1::ListContactPlansRequest* request,
                                                 v1::ListContactPlansResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto caller, auth_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR,
                                                                 ROLE_AGENT, ROLE_SERVICE}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, rpc::TokenTenant(caller, "ListContactPlans"));
    ContactPlanFilter filter;
    KEFU_RETURN_IF_ERROR(CheckOptionalId("customer_id", request->customer_id()));
    KEFU_RETURN_IF_ERROR(CheckOptionalId("owner_id", request->owner_id()));
    KEFU_RETURN_IF_ERROR(
        CheckEnum("status", request->status(), v1::ContactPlanStatus_IsValid, false));
    KEFU_ASSIGN_OR_RETURN(filter.contact, rpc::WindowOf("time_range", request->time_range()));
    KEFU_ASSIGN_OR_RETURN(PageRequest page,
                          PageOf(*request, request->page_size(), request->page_token()));
    filter.customer_id = request->customer_id();
    filter.owner_id = IsAgent(caller) ? caller.subject : request->owner_id();
    filter.status = request->status();
    KEFU_ASSIGN_OR_RETURN(ContactPlanPage found, records_->ListContactPlans(tenant, filter, page));
    for (auto& plan : found.plans) *response->add_contact_plans() = std::move(plan);
    response->set_next_page_token(EncodePageToken(FilterFingerprint(*request), found.next_cursor));
    return absl::OkStatus();
  });
}

grpc::Status RecordServiceImpl::GetVisitor(grpc::ServerContext* context,
                                           const v1::GetVisitorRequest* request,
                                           v1::GetVisitorResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto caller, auth_->Require(*context, {ROLE_SERVICE, ROLE_ADMIN,
                                                                 ROLE_SUPERVISOR, ROLE_AGENT}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
    KEFU_RETURN_IF_ERROR(CheckId("visitor_id", request->visitor_id()));
    KEFU_ASSIGN_OR_RETURN(*response->mutable_visitor(),
                          records_->GetVisitor(tenant, request->visitor_id()));
    return absl::OkStatus();
  });
}

grpc::Status RecordServiceImpl::ListVisits(grpc::ServerContext* context,
                                           const v1::ListVisitsRequest* request,
                                           v1::ListVisitsResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto caller, auth_->Require(*context, {ROLE_SERVICE, ROLE_ADMIN,
                                                                 ROLE_SUPERVISOR, ROLE_AGENT}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
    KEFU_RETURN_IF_ERROR(CheckId("visitor_id", request->visitor_id()));
    KEFU_ASSIGN_OR_RETURN(TimeWindow window, rpc::WindowOf("time_range", request->time_range()));
    KEFU_ASSIGN_OR_RETURN(PageRequest page,
                          PageOf(*request, request->page_size(), request->page_token()));
    KEFU_ASSIGN_OR_RETURN(VisitPage found,
                          records_->ListVisits(tenant, request->visitor_id(), window, page));
    for (auto& visit : found.visits) *response->add_visits() = std::move(visit);
    response->set_next_page_token(EncodePageToken(FilterFingerprint(*request), found.next_cursor));
    return absl::OkStatus();
  });
}

namespace {

constexpr size_t kMaxFileNameChars = 255;
// Chunks read from PostgreSQL per round trip of a download (1 MiB).
constexpr int kChunksPerRead = 16;

absl::Status TooLarge(int64_t size, int64_t limit) {
  return absl::ResourceExhaustedError(absl::StrCat(
      "size_bytes: ", size, " bytes is more than the largest file accepted, ", limit, " bytes"));
}

absl::Status CheckFileName(const std::string& name) {
  if (name.empty()) return InvalidField("file_name", "required");
  KEFU_RETURN_IF_ERROR(CheckText("file_name", name, kMaxFileNameChars));
  if (name.find_first_of("/\\") != std::string::npos || name == "." || name == "..") {
    return InvalidField("file_name", "a name without a path (no / or \\)");
  }
  return absl::OkStatus();
}

}  // namespace

grpc::Status RecordServiceImpl::UploadFile(grpc::ServerContext* context,
                                           grpc::ServerReader<v1::UploadFileRequest>* reader,
                                           v1::UploadFileResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto caller, auth_->Require(*context, {ROLE_SERVICE, ROLE_ADMIN,
                                                                 ROLE_SUPERVISOR, ROLE_AGENT}));
    v1::UploadFileRequest part;
    if (!reader->Read(&part) || !part.has_metadata()) {
      return InvalidField("metadata", "the first message of an upload must be the metadata");
    }
    const v1::FileMetadata meta = part.metadata();
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, meta.tenant_id()));
    KEFU_RETURN_IF_ERROR(CheckId("dialog_id", meta.dialog_id()));
    KEFU_RETURN_IF_ERROR(CheckFileName(meta.file_name()));
    KEFU_RETURN_IF_ERROR(CheckContentType(file_rules_, meta.content_type()));
    if (meta.size_bytes() <= 0) return InvalidField("size_bytes", "must be positive");
    if (meta.size_bytes() > file_rules_.max_bytes) {
      return TooLarge(meta.size_bytes(), file_rules_.max_bytes);
    }
    if (meta.idempotency_key().size() > 128) {
      return InvalidField("idempotency_key", "at most 128 characters");
    }
    StoredFile file;
    file.dialog_id = meta.dialog_id();
    file.attachment.set_file_name(meta.file_name());
    file.attachment.set_content_type(BaseContentType(meta.content_type()));
    if (caller.role == ROLE_SERVICE) {
      // The gateway names the sender it checked.
      file.uploader = meta.uploader();
    } else {
      // Staff calling crm directly upload as themselves, agents only into their dialogs.
      if (IsAgent(caller)) {
        KEFU_RETURN_IF_ERROR(VisibleDialog(caller, tenant, meta.dialog_id()).status());
      }
      file.uploader.set_type(kefu::common::v1::PARTICIPANT_TYPE_AGENT);
      file.uploader.set_id(caller.subject);
    }

    std::string bytes;
    bytes.reserve(static_cast<size_t>(meta.size_bytes()));
    while (reader->Read(&part)) {
      if (!part.has_chunk()) {
        return InvalidField("metadata", "only the first message of an upload is the metadata");
      }
      if (part.chunk().size() > kFileChunkBytes) {
        return InvalidField("chunk", absl::StrCat("at most ", kFileChunkBytes, " bytes each"));
      }
      if (static_cast<int64_t>(bytes.size() + part.chunk().size()) > meta.size_bytes()) {
        return InvalidField("size_bytes", absl::StrCat("the upload has more than the declared ",
                                                       meta.size_bytes(), " bytes"));
      }
      bytes += part.chunk();
    }
    if (static_cast<int64_t>(bytes.size()) != meta.size_bytes()) {
      return InvalidField("size_bytes", absl::StrCat("declared ", meta.size_bytes(),
                                                     " bytes, received ", bytes.size()));
    }
    KEFU_RETURN_IF_ERROR(CheckContentMagic(file.attachment.content_type(), bytes));
    KEFU_ASSIGN_OR_RETURN(StoredFile stored,
                          files_->PutFile(tenant, std::move(file), bytes, meta.idempotency_key()));
    *response->mutable_file() = stored.attachment;
    return absl::OkStatus();
  });
}

grpc::Status RecordServiceImpl::DownloadFile(grpc::ServerContext* context,
                                             const v1::DownloadFileRequest* request,
                                             grpc::ServerWriter<v1::DownloadFileResponse>* writer) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto caller, auth_->Require(*context, {ROLE_SERVICE, ROLE_ADMIN,
                                                                 ROLE_SUPERVISOR, ROLE_AGENT}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
    KEFU_RETURN_IF_ERROR(CheckId("file_id", request->file_id()));
    KEFU_RETURN_IF_ERROR(CheckOptionalId("dialog_id", request->dialog_id()));
    KEFU_ASSIGN_OR_RETURN(StoredFile file, files_->GetFile(tenant, request->file_id()));
    // A file is reached through its own dialog only: naming another is as if it did not exist.
    if (!request->dialog_id().empty() && request->dialog_id() != file.dialog_id) {
      return absl::NotFoundError(absl::StrCat("file_id: no file \"", request->file_id(),
                                              "\" in dialog ", request->dialog_id()));
    }
    if (IsAgent(caller)) {
      KEFU_RETURN_IF_ERROR(VisibleDialog(caller, tenant, file.dialog_id).status());
    }
    v1::DownloadFileResponse out;
    *out.mutable_metadata() = file.attachment;
    if (!writer->Write(out)) return absl::CancelledError("the caller went away");
    for (int first = 0; first < file.chunk_count; first += kChunksPerRead) {
      KEFU_ASSIGN_OR_RETURN(
          std::vector<std::string> chunks,
          files_->ReadChunks(tenant, file.attachment.file_id(), first, kChunksPerRead));
      if (chunks.empty()) return absl::DataLossError("file_id: stored content is incomplete");
      for (auto& chunk : chunks) {
        out.set_chunk(std::move(chunk));
        if (!writer->Write(out)) return absl::CancelledError("the caller went away");
      }
    }
    return absl::OkStatus();
  });
}

}  // namespace kefu::crm
