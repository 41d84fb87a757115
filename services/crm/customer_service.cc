#include "services/crm/customer_service.h"

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "libs/common/status.h"
#include "libs/common/status_macros.h"
#include "services/crm/paging.h"
#include "services/crm/rpc_support.h"
#include "services/crm/tier_rules.h"
#include "services/crm/validation.h"

namespace kefu::crm {
namespace {

using kefu::common::v1::ROLE_ADMIN;
using kefu::common::v1::ROLE_AGENT;
using kefu::common::v1::ROLE_SERVICE;
using kefu::common::v1::ROLE_SUPERVISOR;

// Enum fields of a card that no RPC may carry unknown values in.
absl::Status CheckCardEnums(const v1::Customer& card) {
  KEFU_RETURN_IF_ERROR(
      CheckEnum("customer.tier", card.tier(), kefu::common::v1::CustomerTier_IsValid, false));
  return CheckEnum("customer.language", card.language(), kefu::common::v1::Language_IsValid, false);
}

}  // namespace

grpc::Status CustomerServiceImpl::IdentifyCustomer(grpc::ServerContext* context,
                                                   const v1::IdentifyCustomerRequest* request,
                                                   v1::IdentifyCustomerResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto caller, auth_->Require(*context, {ROLE_SERVICE, ROLE_ADMIN,
                                                                 ROLE_SUPERVISOR, ROLE_AGENT}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
    KEFU_ASSIGN_OR_RETURN(CustomerKey key, KeyOfRequest(*request));
    KEFU_RETURN_IF_ERROR(CheckText("name", request->name(), kMaxNameChars));
    KEFU_RETURN_IF_ERROR(CheckOptionalId("contact_id", request->contact_id()));
    IdentifyOptions options;
    options.lookup_only = request->lookup_only();
    options.name = std::string(absl::StripAsciiWhitespace(request->name()));
    options.contact_id = request->contact_id();
    KEFU_ASSIGN_OR_RETURN(
        auto result, store_->Identify(tenant, key, options,
                                      rpc::IdempotencyOf(caller, "IdentifyCustomer",
                                                         request->idempotency_key(), *request)));
    *response = std::move(result.value);
    rpc::PublishAll(publish_, caller, std::move(result.events));
    return absl::OkStatus();
  });
}

grpc::Status CustomerServiceImpl::GetCustomer(grpc::ServerContext* context,
                                              const v1::GetCustomerRequest* request,
                                              v1::GetCustomerResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto caller, auth_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR,
                                                                 ROLE_AGENT, ROLE_SERVICE}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
    KEFU_RETURN_IF_ERROR(CheckId("customer_id", request->customer_id()));
    KEFU_ASSIGN_OR_RETURN(*response->mutable_customer(),
                          store_->Get(tenant, request->customer_id()));
    return absl::OkStatus();
  });
}

grpc::Status CustomerServiceImpl::CreateCustomer(grpc::ServerContext* context,
                                                 const v1::CreateCustomerRequest* request,
                                                 v1::CreateCustomerResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto caller, auth_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR,
                                                                 ROLE_AGENT, ROLE_SERVICE}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, rpc::TokenTenant(caller, "CreateCustomer"));
    v1::Customer card = request->customer();
    KEFU_RETURN_IF_ERROR(CheckCardEnums(card));
    KEFU_RETURN_IF_ERROR(NormalizeCard("customer", {}, &card));
    KEFU_RETURN_IF_ERROR(CheckOptionalId("customer.exclusive_agent_id", card.exclusive_agent_id()));
    KEFU_RETURN_IF_ERROR(CheckOptionalId("from_visitor_id", request->from_visitor_id()));
    // Assigned here, whatever the request says.
    card.clear_customer_id();
    card.clear_customer_number();
    card.clear_dialog_count();
    card.clear_first_contact_time();
    card.clear_last_contact_time();
    KEFU_ASSIGN_OR_RETURN(auto result,
                          store_->Create(tenant, card, request->from_visitor_id(),
                                         rpc::IdempotencyOf(caller, "CreateCustomer",
                                                            request->idempotency_key(), *request)));
    *response->mutable_customer() = std::move(result.value);
    rpc::PublishAll(publish_, caller, std::move(result.events));
    return absl::OkStatus();
  });
}

grpc::Status CustomerServiceImpl::UpdateCustomer(grpc::ServerContext* context,
                                                 const v1::UpdateCustomerRequest* request,
                                                 v1::UpdateCustomerResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto caller, auth_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR,
                                                                 ROLE_AGENT, ROLE_SERVICE}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, rpc::TokenTenant(caller, "UpdateCustomer"));
    v1::Customer card = request->customer();
    KEFU_RETURN_IF_ERROR(CheckId("customer.customer_id", card.customer_id()));
    KEFU_RETURN_IF_ERROR(CheckCardEnums(card));
    const std::vector<std::string> paths = rpc::PathsOf(request->update_mask());
    KEFU_RETURN_IF_ERROR(NormalizeCard("customer", paths, &card));
    KEFU_ASSIGN_OR_RETURN(auto result,
                          store_->Update(tenant, card, paths,
                                         rpc::IdempotencyOf(caller, "UpdateCustomer",
                                                            request->idempotency_key(), *request)));
    *response->mutable_customer() = std::move(result.value);
    rpc::PublishAll(publish_, caller, std::move(result.events));
    return absl::OkStatus();
  });
}

grpc::Status CustomerServiceImpl::ListCustomers(grpc::ServerContext* context,
                                                const v1::ListCustomersRequest* request,
                                                v1::ListCustomersResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto caller, auth_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR,
                                                                 ROLE_AGENT, ROLE_SERVICE}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, rpc::TokenTenant(caller, "ListCustomers"));
    KEFU_RETURN_IF_ERROR(
        CheckEnum("tier", request->tier(), kefu::common::v1::CustomerTier_IsValid, false));
    KEFU_RETURN_IF_ERROR(CheckText("tag", request->tag(), kMaxTagChars));
    KEFU_RETURN_IF_ERROR(CheckOptionalId("exclusive_agent_id", request->exclusive_agent_id()));
    KEFU_ASSIGN_OR_RETURN(PageRequest page,
                          PageOf(*request, request->page_size(), request->page_token()));
    CustomerFilter filter;
    filter.tier = request->tier();
    filter.tag = request->tag();
    filter.exclusive_agent_id = request->exclusive_agent_id();
    KEFU_ASSIGN_OR_RETURN(CustomerPage found, store_->List(tenant, filter, page));
    for (auto& customer : found.customers) *response->add_customers() = std::move(customer);
    response->set_next_page_token(EncodePageToken(FilterFingerprint(*request), found.next_cursor));
    return absl::OkStatus();
  });
}

grpc::Status CustomerServiceImpl::SearchCustomers(grpc::ServerContext* context,
                                                  const v1::SearchCustomersRequest* request,
                                                  v1::SearchCustomersResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto caller, auth_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR,
                                                                 ROLE_AGENT, ROLE_SERVICE}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, rpc::TokenTenant(caller, "SearchCustomers"));
    const std::string query(absl::StripAsciiWhitespace(request->query()));
    if (query.empty()) return InvalidField("query", "required");
    KEFU_RETURN_IF_ERROR(CheckText("query", query, kMaxNameChars));
    KEFU_ASSIGN_OR_RETURN(PageRequest page,
                          PageOf(*request, request->page_size(), request->page_token()));
    KEFU_ASSIGN_OR_RETURN(CustomerPage found, store_->Search(tenant, query, page));
    for (auto& customer : found.customers) *response->add_customers() = std::move(customer);
    response->set_next_page_token(EncodePageToken(FilterFingerprint(*request), found.next_cursor));
    return absl::OkStatus();
  });
}

grpc::Status CustomerServiceImpl::SetTier(grpc::ServerContext* context,
                                          const v1::SetTierRequest* request,
                                          v1::SetTierResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto caller, auth_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, rpc::TokenTenant(caller, "SetTier"));
    KEFU_RETURN_IF_ERROR(CheckId("customer_id", request->customer_id()));
    KEFU_RETURN_IF_ERROR(
        CheckEnum("tier", request->tier(), kefu::common::v1::CustomerTier_IsValid, true));
    KEFU_RETURN_IF_ERROR(CheckText("reason", request->reason(), kDefaultFieldValueChars, true));
    KEFU_ASSIGN_OR_RETURN(
        auto result,
        store_->SetTier(
            tenant, request->customer_id(), request->tier(), request->lock(),
            rpc::IdempotencyOf(caller, "SetTier", request->idempotency_key(), *request)));
    *response->mutable_customer() = std::move(result.value);
    rpc::PublishAll(publish_, caller, std::move(result.events));
    return absl::OkStatus();
  });
}

grpc::Status CustomerServiceImpl::GetTierRules(grpc::ServerContext* context,
                                               const v1::GetTierRulesRequest* request,
                                               v1::GetTierRulesResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto caller, auth_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR,
                                                                 ROLE_AGENT, ROLE_SERVICE}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, rpc::TokenTenant(caller, "GetTierRules"));
    KEFU_ASSIGN_OR_RETURN(auto rules, store_->GetTierRules(tenant));
    for (auto& rule : rules) *response->add_rules() = std::move(rule);
    return absl::OkStatus();
  });
}

grpc::Status CustomerServiceImpl::SetTierRules(grpc::ServerContext* context,
                                               const v1::SetTierRulesRequest* request,
                                               v1::SetTierRulesResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto caller, auth_->Require(*context, {ROLE_ADMIN}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, rpc::TokenTenant(caller, "SetTierRules"));
    std::vector<v1::TierRule> rules(request->rules().begin(), request->rules().end());
    KEFU_RETURN_IF_ERROR(NormalizeTierRules(&rules));
    KEFU_ASSIGN_OR_RETURN(
        auto stored,
        store_->SetTierRules(
            tenant, rules,
            rpc::IdempotencyOf(caller, "SetTierRules", request->idempotency_key(), *request)));
    for (auto& rule : stored) *response->add_rules() = std::move(rule);
    return absl::OkStatus();
  });
}

grpc::Status CustomerServiceImpl::GetRegistrationForm(grpc::ServerContext* context,
                                                      const v1::GetRegistrationFormRequest* request,
                                                      v1::GetRegistrationFormResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto caller, auth_->Require(*context, {ROLE_SERVICE, ROLE_ADMIN,
                                                                 ROLE_SUPERVISOR, ROLE_AGENT}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
    KEFU_RETURN_IF_ERROR(CheckEnum("kind", request->kind(), v1::FormKind_IsValid, true));
    KEFU_RETURN_IF_ERROR(CheckOptionalId("entry_point_id", request->entry_point_id()));
    KEFU_ASSIGN_OR_RETURN(*response->mutable_form(),
                          store_->GetForm(tenant, request->kind(), request->entry_point_id()));
    return absl::OkStatus();
  });
}

grpc::Status CustomerServiceImpl::SetRegistrationForm(grpc::ServerContext* context,
                                                      const v1::SetRegistrationFormRequest* request,
                                                      v1::SetRegistrationFormResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto caller, auth_->Require(*context, {ROLE_ADMIN}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, rpc::TokenTenant(caller, "SetRegistrationForm"));
    if (!request->has_form()) return InvalidField("form", "required");
    v1::RegistrationForm form = request->form();
    KEFU_RETURN_IF_ERROR(NormalizeForm(&form));
    KEFU_ASSIGN_OR_RETURN(
        *response->mutable_form(),
        store_->SetForm(tenant, form,
                        rpc::IdempotencyOf(caller, "SetRegistrationForm",
                                           request->idempotency_key(), *request)));
    return absl::OkStatus();
  });
}

grpc::Status CustomerServiceImpl::SubmitRegistration(grpc::ServerContext* context,
                                                     const v1::SubmitRegistrationRequest* request,
                                                     v1::SubmitRegistrationResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto caller, auth_->Require(*context, {ROLE_SERVICE, ROLE_ADMIN,
                                                                 ROLE_SUPERVISOR, ROLE_AGENT}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
    KEFU_RETURN_IF_ERROR(CheckEnum("kind", request->kind(), v1::FormKind_IsValid, true));
    KEFU_RETURN_IF_ERROR(CheckOptionalId("entry_point_id", request->entry_point_id()));
    RegistrationPlan plan;
    if (request->subject_case() == v1::SubmitRegistrationRequest::kCustomerId) {
      KEFU_RETURN_IF_ERROR(CheckId("customer_id", request->customer_id()));
      plan.customer_id = request->customer_id();
    } else if (request->subject_case() == v1::SubmitRegistrationRequest::kVisitorId) {
      KEFU_RETURN_IF_ERROR(CheckId("visitor_id", request->visitor_id()));
      plan.visitor_id = request->visitor_id();
    }
    if (static_cast<size_t>(request->values_size()) > kMaxRegistrationFields) {
      return InvalidField("form_fields",
                          absl::StrCat("at most ", kMaxRegistrationFields, " values"));
    }
    auto form = store_->GetForm(tenant, request->kind(), request->entry_point_id());
    if (absl::IsNotFound(form.status())) {
      return absl::FailedPreconditionError(form.status().message());
    }
    if (!form.ok()) return form.status();
    if (!form->enabled()) {
      return absl::FailedPreconditionError("kind: this form is switched off for the tenant");
    }
    std::map<std::string, std::string> values(request->values().begin(), request->values().end());
    KEFU_ASSIGN_OR_RETURN(plan.submission, ValidateSubmission(*form, values));
    KEFU_ASSIGN_OR_RETURN(auto result,
                          store_->Submit(tenant, plan,
                                         rpc::IdempotencyOf(caller, "SubmitRegistration",
                                                            request->idempotency_key(), *request)));
    *response = std::move(result.value);
    rpc::PublishAll(publish_, caller, std::move(result.events));
    return absl::OkStatus();
  });
}

grpc::Status CustomerServiceImpl::BindExclusiveAgent(grpc::ServerContext* context,
                                                     const v1::BindExclusiveAgentRequest* request,
                                                     v1::BindExclusiveAgentResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto caller,
                          auth_->Require(*context, {ROLE_SERVICE, ROLE_ADMIN, ROLE_SUPERVISOR}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
    KEFU_RETURN_IF_ERROR(CheckId("customer_id", request->customer_id()));
    KEFU_RETURN_IF_ERROR(CheckOptionalId("agent_id", request->agent_id()));
    KEFU_RETURN_IF_ERROR(CheckOptionalId("contact_id", request->contact_id()));
    KEFU_ASSIGN_OR_RETURN(
        *response->mutable_customer(),
        store_->BindExclusiveAgent(tenant, request->customer_id(), request->agent_id(),
                                   rpc::IdempotencyOf(caller, "BindExclusiveAgent",
                                                      request->idempotency_key(), *request)));
    return absl::OkStatus();
  });
}

}  // namespace kefu::crm
