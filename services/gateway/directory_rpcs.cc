// Who can serve and who is waiting: transfer targets (F18), the pickup list (F17), the
// agents a customer may choose (F14), and the website visit trail (F5). The router and
// crm hold the data; the gateway checks the caller and translates.
#include <google/protobuf/util/time_util.h>

#include "absl/strings/str_cat.h"
#include "libs/common/status.h"
#include "libs/common/status_macros.h"
#include "libs/events/events.h"
#include "services/gateway/gateway_service.h"

namespace kefu::gateway {
namespace {

namespace cv1 = kefu::common::v1;
namespace rv1 = kefu::router::v1;
using google::protobuf::util::TimeUtil;

std::string NameOf(const cv1::LocalizedText& text) {
  return text.zh().empty() ? text.en() : text.zh();
}

void ToNode(const rv1::TargetDepartment& in, v1::TransferDepartmentNode* out) {
  out->set_department_id(in.department_id());
  out->set_name(NameOf(in.name()));
  for (const auto& a : in.agents()) {
    auto* item = out->add_agents();
    *item->mutable_agent() = a.agent();
    item->set_status(a.status());
    item->set_active_dialogs(a.active_dialogs());
    item->set_max_concurrent(a.max_concurrent());
  }
  for (const auto& child : in.children()) ToNode(child, out->add_children());
}

absl::Status ValidatePage(int32_t page_size, const std::string& token) {
  if (page_size < 0 || page_size > 500) return InvalidField("page_size", "must be 0..500");
  if (token.size() > 512) return InvalidField("page_token", "not a token this service issued");
  return absl::OkStatus();
}

}  // namespace

grpc::Status AgentGatewayServiceImpl::TransferTargets(grpc::ServerContext* context,
                                                      const v1::TransferTargetsRequest* request,
                                                      v1::TransferTargetsResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller,
                          authn_->Require(*context, {cv1::ROLE_AGENT, cv1::ROLE_SUPERVISOR}));
    std::string exclude;
    if (!request->dialog_id().empty()) {
      KEFU_ASSIGN_OR_RETURN(Contact c, ServedContact(caller, request->dialog_id()));
      exclude = c.agent_id;
    }
    rv1::TransferTargetsRequest req;
    req.set_tenant_id(caller.tenant_id);
    req.set_agent_id(caller.subject);
    rv1::TransferTargetsResponse resp;
    auto ctx = gateway_->peers().Context();
    KEFU_RETURN_IF_ERROR(
        FromGrpc(gateway_->peers().routing().TransferTargets(ctx.get(), req, &resp), "router"));
    for (const auto& d : resp.departments()) ToNode(d, response->add_departments());
    for (const auto& b : resp.bots()) {
      auto* bot = response->add_bots();
      bot->set_bot_id(b.bot_id());
      bot->set_name(b.name());
    }
    for (const auto& r : resp.recent()) {
      auto* out = response->add_recent();
      switch (r.target_case()) {
        case rv1::RecentTarget::kAgent:
          *out->mutable_agent() = r.agent();
          break;
        case rv1::RecentTarget::kDepartmentId:
          out->mutable_department()->set_department_id(r.department_id());
          out->mutable_department()->set_name(r.display_name());
          break;
        case rv1::RecentTarget::kBotId:
          out->mutable_bot()->set_bot_id(r.bot_id());
          out->mutable_bot()->set_name(r.display_name());
          break;
        default:
          break;
      }
    }
    (void)exclude;  // the router already leaves the caller out of the tree
    return absl::OkStatus();
  });
}

grpc::Status AgentGatewayServiceImpl::ListWaitingContacts(
    grpc::ServerContext* context, const v1::ListWaitingContactsRequest* request,
    v1::ListWaitingContactsResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(
        auth::Claims caller,
        authn_->Require(*context, {cv1::ROLE_AGENT, cv1::ROLE_SUPERVISOR, cv1::ROLE_ADMIN}));
    KEFU_RETURN_IF_ERROR(ValidatePage(request->page_size(), request->page_token()));
    if (request->queue_id().size() > 64) return InvalidField("queue_id", "at most 64 characters");
    rv1::ListWaitingContactsRequest req;
    req.set_tenant_id(caller.tenant_id);
    req.set_queue_id(request->queue_id());
    req.set_page_size(request->page_size());
    req.set_page_token(request->page_token());
    rv1::ListWaitingContactsResponse resp;
    auto ctx = gateway_->peers().Context();
    KEFU_RETURN_IF_ERROR(
        FromGrpc(gateway_->peers().routing().ListWaitingContacts(ctx.get(), req, &resp), "router"));
    for (const auto& w : resp.contacts()) {
      auto* out = response->add_contacts();
      out->set_contact_id(w.contact_id());
      out->set_queue_id(request->queue_id());
      out->set_channel(w.channel());
      out->set_position(w.position());
      *out->mutable_enqueue_time() = w.enqueue_time();
      // The card as the screen pop has it (name, tier), when the gateway started it.
      auto c = gateway_->store().Get(caller.tenant_id, w.contact_id());
      v1::ScreenPop pop;
      if (c.ok() && pop.ParseFromString(c->screen_pop)) {
        *out->mutable_customer() = pop.customer();
        if (out->queue_id().empty()) out->set_queue_id(c->queue_id);
      } else {
        out->mutable_customer()->set_customer_id(w.customer_id());
        out->mutable_customer()->set_tier(w.tier());
      }
    }
    response->set_next_page_token(resp.next_page_token());
    return absl::OkStatus();
  });
}

grpc::Status CustomerGatewayServiceImpl::SuggestAgents(grpc::ServerContext* context,
                                                       const v1::SuggestAgentsRequest* request,
                                                       v1::SuggestAgentsResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, RequireCustomer(*authn_, *context));
    KEFU_RETURN_IF_ERROR(ValidatePage(request->page_size(), request->page_token()));
    if (request->declined_agent_ids_size() > 100) {
      return InvalidField("declined_agent_ids", "at most 100");
    }
    KEFU_ASSIGN_OR_RETURN(Contact c, gateway_->store().Get(caller.tenant_id, caller.contact_id));
    rv1::SuggestAgentsRequest req;
    req.set_tenant_id(caller.tenant_id);
    req.set_contact_id(c.contact_id);
    req.set_customer_id(c.customer_id);
    req.set_department_id(c.department_id);
    *req.mutable_declined_agent_ids() = request->declined_agent_ids();
    req.set_page_size(request->page_size());
    req.set_page_token(request->page_token());
    rv1::SuggestAgentsResponse resp;
    auto ctx = gateway_->peers().Context();
    KEFU_RETURN_IF_ERROR(
        FromGrpc(gateway_->peers().routing().SuggestAgents(ctx.get(), req, &resp), "router"));
    for (const auto& a : resp.agents()) {
      auto* out = response->add_agents();
      *out->mutable_agent() = a.agent();
      out->set_capability_score(a.capability_score());
    }
    response->set_next_page_token(resp.next_page_token());
    return absl::OkStatus();
  });
}

grpc::Status CustomerGatewayServiceImpl::ChooseAgent(grpc::ServerContext* context,
                                                     const v1::ChooseAgentRequest* request,
                                                     v1::ChooseAgentResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, RequireCustomer(*authn_, *context));
    if (request->agent_id().empty()) return InvalidField("agent_id", "required");
    if (request->agent_id().size() > 64) return InvalidField("agent_id", "at most 64 characters");
    KEFU_ASSIGN_OR_RETURN(Contact c, gateway_->store().Get(caller.tenant_id, caller.contact_id));
    if (c.ended()) return absl::FailedPreconditionError("the contact has ended");
    // The card remembers the choice (crm); the router serves the customer by it (F14).
    kefu::crm::v1::BindExclusiveAgentRequest card;
    card.set_tenant_id(caller.tenant_id);
    card.set_customer_id(c.customer_id);
    card.set_agent_id(request->agent_id());
    card.set_idempotency_key(request->idempotency_key());
    kefu::crm::v1::BindExclusiveAgentResponse carded;
    auto cctx = gateway_->peers().Context();
    KEFU_RETURN_IF_ERROR(FromGrpc(
        gateway_->peers().customers().BindExclusiveAgent(cctx.get(), card, &carded), "crm"));
    rv1::BindExclusiveAgentRequest req;
    req.set_tenant_id(caller.tenant_id);
    req.set_customer_id(c.customer_id);
    req.set_agent_id(request->agent_id());
    req.set_contact_id(c.contact_id);
    req.set_idempotency_key(request->idempotency_key());
    rv1::BindExclusiveAgentResponse resp;
    auto ctx = gateway_->peers().Context();
    KEFU_RETURN_IF_ERROR(
        FromGrpc(gateway_->peers().routing().BindExclusiveAgent(ctx.get(), req, &resp), "router"));
    KEFU_ASSIGN_OR_RETURN(Contact now, gateway_->store().Get(caller.tenant_id, caller.contact_id));
    response->set_state(now.state);
    return absl::OkStatus();
  });
}

grpc::Status CustomerGatewayServiceImpl::TrackVisit(grpc::ServerContext* context,
                                                    const v1::TrackVisitRequest* request,
                                                    v1::TrackVisitResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller,
                          authn_->Require(*context, {cv1::ROLE_CUSTOMER, cv1::ROLE_SERVICE}));
    if (caller.tenant_id.empty())
      return absl::PermissionDeniedError("TrackVisit needs a tenant's token");
    if (request->page_url().empty()) return InvalidField("page_url", "required");
    for (const auto* f : {&request->page_url(), &request->referrer_url(), &request->page_title(),
                          &request->user_agent()}) {
      if (f->size() > 2048)
        return InvalidField("page_url", "URLs and titles are at most 2048 bytes");
    }
    if (request->visitor_id().size() > 64)
      return InvalidField("visitor_id", "at most 64 characters");
    KEFU_RETURN_IF_ERROR(request->idempotency_key().size() > 128
                             ? InvalidField("idempotency_key", "at most 128 characters")
                             : absl::OkStatus());
    const std::string visitor =
        request->visitor_id().empty() ? auth::RandomId() : request->visitor_id();
    // One visit id per visitor and day keeps a visit's pages together.
    const std::string visit = absl::StrCat(visitor, "-", absl::ToUnixSeconds(absl::Now()) / 86400);
    if (!request->idempotency_key().empty()) {
      auto claimed = gateway_->store().pool().Command(
          {"SET",
           events::TenantKey(caller.tenant_id, "gw:idem:visit:" + request->idempotency_key()), "1",
           "NX", "EX", "86400"});
      if (claimed.ok() && redis::ReplyIsNil(**claimed)) {
        response->set_visitor_id(visitor);
        response->set_visit_id(visit);
        return absl::OkStatus();  // a retry: recorded once
      }
    }
    auto event = gateway_->NewEvent(caller.tenant_id);
    auto* v = event.mutable_visit_tracked();
    v->set_visitor_id(visitor);
    v->set_visit_id(visit);
    v->mutable_page()->set_url(request->page_url());
    v->mutable_page()->set_title(request->page_title());
    *v->mutable_page()->mutable_entered_time() = TimeUtil::GetCurrentTime();
    v->mutable_referrer()->set_url(request->referrer_url());
    v->set_entry_point_id(caller.entry_point_id);
    v->set_user_agent(request->user_agent());
    KEFU_RETURN_IF_ERROR(
        gateway_->store()
            .pool()
            .Command({"XADD", events::StreamKey(caller.tenant_id), "MAXLEN", "~", "1000000", "*",
                      "type", "visit_tracked", "event", event.SerializeAsString()})
            .status());
    // The live trail the visitor list and the screen pop show (F5).
    PageView view{.visit_id = visit,
                  .url = request->page_url(),
                  .title = request->page_title(),
                  .referrer_url = request->referrer_url(),
                  .user_agent = request->user_agent(),
                  .ip = PeerIp(context->peer()),
                  .at = absl::Now()};
    KEFU_ASSIGN_OR_RETURN(cv1::Visit trail,
                          gateway_->visitors().Track(caller.tenant_id, visitor, view));
    if (trail.pages_size() == 1 && !view.ip.empty()) {
      // A new visit: its region from the router's geo database, best effort.
      rv1::ResolveRegionRequest where;
      where.set_ip(view.ip);
      rv1::ResolveRegionResponse region;
      auto ctx = gateway_->peers().Context(absl::Seconds(1));
      if (gateway_->peers().routing().ResolveRegion(ctx.get(), where, &region).ok()) {
        *trail.mutable_region() = region.region();
        (void)gateway_->visitors().SaveVisit(caller.tenant_id, visitor, trail);
      }
    }
    if (auto known = gateway_->visitors().Get(caller.tenant_id, visitor);
        known.ok() && *known && (*known)->customer) {
      *response->mutable_customer() = *(*known)->customer;
    }
    response->set_visitor_id(visitor);
    response->set_visit_id(visit);
    return absl::OkStatus();
  });
}

}  // namespace kefu::gateway
