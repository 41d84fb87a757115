// What a widget shows before a contact (GetEntryConfig: F6, F16, F34, F41) and the
// customer's "人工" button (RequestAgent: F42).
#include "absl/strings/str_cat.h"
#include "libs/common/status.h"
#include "libs/common/status_macros.h"
#include "services/gateway/gateway_service.h"

namespace kefu::gateway {
namespace {

namespace cv1 = kefu::common::v1;
namespace rv1 = kefu::router::v1;
namespace crm = kefu::crm::v1;

// A crm form as the widget renders it; empty when the form is off or missing.
void AddForm(Gateway& gateway, const std::string& tenant, const std::string& entry_point,
             crm::FormKind kind, google::protobuf::RepeatedPtrField<v1::FormFieldView>* out) {
  crm::GetRegistrationFormRequest req;
  req.set_tenant_id(tenant);
  req.set_kind(kind);
  req.set_entry_point_id(entry_point);
  crm::GetRegistrationFormResponse resp;
  auto ctx = gateway.peers().Context(absl::Seconds(2));
  if (!gateway.peers().customers().GetRegistrationForm(ctx.get(), req, &resp).ok() ||
      !resp.form().enabled()) {
    return;
  }
  for (const auto& f : resp.form().fields()) {
    auto* view = out->Add();
    view->set_key(f.key());
    *view->mutable_label() = f.label();
    view->set_type(f.type());
    view->set_required(f.required());
    *view->mutable_options() = f.options();
    view->set_max_length(f.max_length() > 0 ? f.max_length() : 500);
  }
}

}  // namespace

grpc::Status CustomerGatewayServiceImpl::GetEntryConfig(grpc::ServerContext* context,
                                                        const v1::GetEntryConfigRequest* request,
                                                        v1::GetEntryConfigResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authn_->Require(*context, {cv1::ROLE_CUSTOMER}));
    if (caller.entry_point_id.empty() || !caller.contact_id.empty()) {
      return absl::PermissionDeniedError(
          "GetEntryConfig needs the widget's entry-point token (IssueEntryPointToken)");
    }
    if (request->visitor_id().size() > 64) {
      return InvalidField("visitor_id", "at most 64 characters");
    }
    const std::string& tenant = caller.tenant_id;
    KEFU_ASSIGN_OR_RETURN(rv1::EntryPoint ep,
                          gateway_->EntryPointOf(tenant, caller.entry_point_id));
    response->set_entry_point_id(ep.entry_point_id());
    *response->mutable_greeting() = ep.greeting();

    // Departments to pick from, unless hidden (F16).
    if (!ep.hide_department() && !ep.designated_department_ids().empty()) {
      rv1::ListDepartmentsRequest req;
      req.set_tenant_id(tenant);
      req.set_page_size(1000);
      rv1::ListDepartmentsResponse resp;
      auto ctx = gateway_->peers().Context(absl::Seconds(2));
      KEFU_RETURN_IF_ERROR(FromGrpc(
          gateway_->peers().routing_admin().ListDepartments(ctx.get(), req, &resp), "router"));
      for (const std::string& id : ep.designated_department_ids()) {
        for (const auto& d : resp.departments()) {
          if (d.department_id() != id) continue;
          auto* out = response->add_departments();
          out->set_department_id(id);
          *out->mutable_name() = d.name();
        }
      }
    }
    // Designated agents with their status; offline ones left out when hidden (F16).
    for (const std::string& agent : ep.designated_agent_ids()) {
      kefu::presence::v1::GetAgentRequest req;
      req.set_tenant_id(tenant);
      req.set_agent_id(agent);
      kefu::presence::v1::GetAgentResponse resp;
      auto ctx = gateway_->peers().Context(absl::Seconds(2));
      const cv1::AgentStatus status =
          gateway_->peers().presence().GetAgent(ctx.get(), req, &resp).ok()
              ? resp.presence().status()
              : cv1::AGENT_STATUS_OFFLINE;
      const bool offline =
          status == cv1::AGENT_STATUS_OFFLINE || status == cv1::AGENT_STATUS_UNSPECIFIED;
      if (offline && ep.hide_offline()) continue;
      auto* out = response->add_agents();
      *out->mutable_agent() = gateway_->AgentSummaryOf(tenant, agent);
      out->set_status(offline ? cv1::AGENT_STATUS_OFFLINE : status);
    }
    AddForm(*gateway_, tenant, ep.entry_point_id(), crm::FORM_KIND_PRE_CHAT,
            response->mutable_pre_chat_fields());
    AddForm(*gateway_, tenant, ep.entry_point_id(), crm::FORM_KIND_LEAVE_MESSAGE,
            response->mutable_leave_message_fields());
    response->set_agents_available(gateway_->HumansOnline(tenant, ep.entry_point_id()));
    response->set_bot_serving(gateway_->ServingBot(tenant, ep.entry_point_id()).has_value());
    response->set_invitations_enabled(gateway_->TenantSettingsOf(tenant).invitations_enabled());
    return absl::OkStatus();
  });
}

grpc::Status CustomerGatewayServiceImpl::RequestAgent(grpc::ServerContext* context,
                                                      const v1::RequestAgentRequest* request,
                                                      v1::RequestAgentResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, RequireCustomer(*authn_, *context));
    if (request->department_id().size() > 64) {
      return InvalidField("department_id", "at most 64 characters");
    }
    if (request->idempotency_key().size() > 128) {
      return InvalidField("idempotency_key", "at most 128 characters");
    }
    KEFU_ASSIGN_OR_RETURN(Contact c, gateway_->store().Get(caller.tenant_id, caller.contact_id));
    if (c.state != cv1::CONTACT_STATE_BOT) {
      // Already with (or on the way to) a human: a retried button press changes nothing.
      response->set_state(c.state);
      if (c.ended()) {
        return absl::FailedPreconditionError(
            absl::StrCat("the dialog ", c.dialog_id, " has ended"));
      }
      return absl::OkStatus();
    }
    KEFU_ASSIGN_OR_RETURN(auto routed, gateway_->Escalate(caller.tenant_id, caller.contact_id,
                                                          request->department_id()));
    response->set_state(routed.routing().state());
    response->set_queue_position(routed.routing().position());
    *response->mutable_estimated_wait() = routed.routing().estimated_wait();
    response->set_no_agent_available(routed.no_agent_available());
    return absl::OkStatus();
  });
}

}  // namespace kefu::gateway
