#include "services/router/router_service.h"

#include <google/protobuf/util/field_mask_util.h>
#include <google/protobuf/util/time_util.h>

#include <functional>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/auth/token.h"
#include "libs/common/status.h"
#include "libs/common/status_macros.h"
#include "services/router/eligibility.h"

namespace kefu::router {
namespace {

using google::protobuf::util::TimeUtil;
using kefu::common::v1::ROLE_ADMIN;
using kefu::common::v1::ROLE_AGENT;
using kefu::common::v1::ROLE_SERVICE;
using kefu::common::v1::ROLE_SUPERVISOR;

// Ids go into Redis keys: 1-64 of letters, digits, - _ . : @
absl::Status ValidateId(absl::string_view field, absl::string_view id, bool required = true) {
  if (id.empty()) return required ? InvalidField(field, "required") : absl::OkStatus();
  if (id.size() > 64) return InvalidField(field, "must be at most 64 characters");
  for (char c : id) {
    if (!(absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':' || c == '@')) {
      return InvalidField(field,
                          absl::StrCat("\"", id, "\" may hold only letters, digits and - _ . : @"));
    }
  }
  return absl::OkStatus();
}

google::protobuf::Timestamp ToProto(absl::Time t) {
  return TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(t));
}

google::protobuf::Duration ToProto(absl::Duration d) {
  return TimeUtil::MillisecondsToDuration(absl::ToInt64Milliseconds(d));
}

absl::Duration FromProto(const google::protobuf::Duration& d, absl::Duration fallback) {
  const int64_t ms = TimeUtil::DurationToMilliseconds(d);
  return ms > 0 ? absl::Milliseconds(ms) : fallback;
}

}  // namespace

// --- RoutingService -----------------------------------------------------------------

absl::StatusOr<std::pair<std::string, std::string>> RoutingServiceImpl::AgentCall(
    grpc::ServerContext* context, const std::string& tenant_id, const std::string& agent_id) {
  KEFU_ASSIGN_OR_RETURN(auth::Claims caller,
                        authenticator_->Require(*context, {ROLE_SERVICE, ROLE_AGENT}));
  KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, tenant_id));
  std::string agent = agent_id;
  if (caller.role == ROLE_AGENT) {
    if (!agent.empty() && agent != caller.subject) {
      return absl::PermissionDeniedError("agent_id: agents act only for themselves");
    }
    agent = caller.subject;
  }
  KEFU_RETURN_IF_ERROR(ValidateId("agent_id", agent));
  return std::make_pair(tenant, agent);
}

grpc::Status RoutingServiceImpl::Enqueue(grpc::ServerContext* context,
                                         const v1::EnqueueRequest* request,
                                         v1::EnqueueResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_SERVICE}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
    KEFU_RETURN_IF_ERROR(ValidateId("contact_id", request->contact_id()));
    KEFU_RETURN_IF_ERROR(
        ValidateId("requested_department_id", request->requested_department_id(), false));
    KEFU_RETURN_IF_ERROR(ValidateId("exclusive_agent_id", request->exclusive_agent_id(), false));
    if (!kefu::common::v1::CustomerTier_IsValid(request->tier())) {
      return InvalidField("tier", "unknown value");
    }
    if (request->dialog_id().size() > 64 || request->customer_id().size() > 64) {
      return InvalidField(request->dialog_id().size() > 64 ? "dialog_id" : "customer_id",
                          "must be at most 64 characters");
    }
    KEFU_RETURN_IF_ERROR(ValidateId("entry_point_id", request->entry_point_id(), false));
    KEFU_RETURN_IF_ERROR(ValidateId("requested_agent_id", request->requested_agent_id(), false));
    if (!kefu::common::v1::Channel_IsValid(request->channel())) {
      return InvalidField("channel", "unknown value");
    }
    // F15: the region given, else resolved from the visitor's IP.
    kefu::common::v1::Region region = request->region();
    const bool has_region =
        !region.country_code().empty() || !region.province().empty() || !region.city().empty();
    if (!has_region && !request->ip().empty()) {
      KEFU_ASSIGN_OR_RETURN(region, geo_->Lookup(request->ip()));
    }
    // F15, F16: who may take the contact. Only contacts that come through an entry point,
    // with a region or with a picked agent pay for the (cached) configuration.
    std::string department = request->requested_department_id();
    Eligibility eligibility;
    const bool any_region =
        !region.country_code().empty() || !region.province().empty() || !region.city().empty();
    if (!request->entry_point_id().empty() || any_region ||
        !request->requested_agent_id().empty()) {
      KEFU_ASSIGN_OR_RETURN(auto config, designations_->Get(tenant));
      const v1::EntryPoint* entry_point = nullptr;
      if (!request->entry_point_id().empty()) {
        auto it = config->entry_points.find(request->entry_point_id());
        if (it == config->entry_points.end()) {
          return InvalidField("entry_point_id", absl::StrCat("unknown entry point \"",
                                                             request->entry_point_id(), "\""));
        }
        entry_point = &it->second;
      }
      KEFU_ASSIGN_OR_RETURN(Decision decision, Decide(entry_point, config->strategies, region,
                                                      request->requested_department_id(),
                                                      request->requested_agent_id()));
      eligibility = std::move(decision.eligibility);
      // The contact waits in its first eligible department's queue (else the tier's or
      // the default one); the designated agents may serve any queue.
      if (!eligibility.department_ids.empty()) department = eligibility.department_ids.front();
    }
    KEFU_ASSIGN_OR_RETURN(
        EnqueueResult result,
        router_->Enqueue(tenant, request->contact_id(), department, request->tier(),
                         request->dialog_id(), request->customer_id(),
                         request->exclusive_agent_id(), eligibility, request->channel()));
    *response->mutable_region() = region;
    for (const auto& d : eligibility.department_ids) response->add_eligible_department_ids(d);
    v1::ContactRouting* routing = response->mutable_routing();
    routing->set_contact_id(request->contact_id());
    routing->set_state(static_cast<kefu::common::v1::ContactState>(result.state));
    routing->set_queue_id(result.queue_id);
    routing->set_position(result.position + 1);
    routing->set_agent_id(result.agent_id);
    if (!result.offer_id.empty()) {
      v1::OfferRef* offer = routing->add_offers();
      offer->set_offer_id(result.offer_id);
      offer->set_agent_id(result.agent_id);
    }
    for (const auto& [agent, offer_id] : result.ring_offers) {  // ring-all (F12)
      v1::OfferRef* offer = routing->add_offers();
      offer->set_offer_id(offer_id);
      offer->set_agent_id(agent);
    }
    response->set_no_agent_available(result.state == kefu::common::v1::CONTACT_STATE_QUEUED &&
                                     !result.staffed);
    return absl::OkStatus();
  });
}

grpc::Status RoutingServiceImpl::Cancel(grpc::ServerContext* context,
                                        const v1::CancelRequest* request,
                                        v1::CancelResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_SERVICE}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
    KEFU_RETURN_IF_ERROR(ValidateId("contact_id", request->contact_id()));
    if (!v1::CancelReason_IsValid(request->reason())) {
      return InvalidField("reason", "unknown value");
    }
    // CancelReason -> events.v1.AbandonReason.
    int abandon = 1;  // ABANDON_REASON_CUSTOMER_LEFT (also for UNSPECIFIED and SYSTEM)
    if (request->reason() == v1::CANCEL_REASON_OFFLINE_MESSAGE) abandon = 2;
    if (request->reason() == v1::CANCEL_REASON_BOT_RESOLVED) abandon = 4;
    KEFU_ASSIGN_OR_RETURN(auto result, router_->Cancel(tenant, request->contact_id(), abandon));
    response->set_cancelled(result.first);
    *response->mutable_waited() = ToProto(result.second);
    return absl::OkStatus();
  });
}

grpc::Status RoutingServiceImpl::AcceptOffer(grpc::ServerContext* context,
                                             const v1::AcceptOfferRequest* request,
                                             v1::AcceptOfferResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto call, AgentCall(context, request->tenant_id(), request->agent_id()));
    if (request->offer_id().empty()) return InvalidField("offer_id", "required");
    KEFU_ASSIGN_OR_RETURN(AcceptResult result,
                          router_->Accept(call.first, request->offer_id(), call.second));
    response->set_contact_id(result.contact_id);
    response->set_dialog_id(result.dialog_id);
    response->set_customer_id(result.customer_id);
    response->set_queue_id(result.queue_id);
    response->set_department_id(result.department_id);
    *response->mutable_assign_time() = ToProto(absl::Now());
    *response->mutable_waited() = ToProto(result.waited);
    response->set_agent_load(result.agent_load);
    return absl::OkStatus();
  });
}

grpc::Status RoutingServiceImpl::RejectOffer(grpc::ServerContext* context,
                                             const v1::RejectOfferRequest* request,
                                             v1::RejectOfferResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto call, AgentCall(context, request->tenant_id(), request->agent_id()));
    if (request->offer_id().empty()) return InvalidField("offer_id", "required");
    if (request->reason().size() > 200) return InvalidField("reason", "at most 200 characters");
    KEFU_ASSIGN_OR_RETURN(absl::Time until, router_->Reject(call.first, request->offer_id(),
                                                            call.second, request->reason()));
    *response->mutable_delay_until() = ToProto(until);
    return absl::OkStatus();
  });
}

grpc::Status RoutingServiceImpl::PickUp(grpc::ServerContext* context,
                                        const v1::PickUpRequest* request,
                                        v1::PickUpResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto call, AgentCall(context, request->tenant_id(), request->agent_id()));
    KEFU_RETURN_IF_ERROR(ValidateId("queue_id", request->queue_id()));
    KEFU_RETURN_IF_ERROR(ValidateId("contact_id", request->contact_id(), false));
    KEFU_ASSIGN_OR_RETURN(
        PickUpResult result,
        router_->PickUp(call.first, call.second, request->queue_id(), request->contact_id()));
    response->set_contact_id(result.contact_id);
    response->set_dialog_id(result.dialog_id);
    response->set_customer_id(result.customer_id);
    response->set_queue_id(request->queue_id());
    *response->mutable_waited() = ToProto(result.waited);
    response->set_agent_load(result.agent_load);
    return absl::OkStatus();
  });
}

grpc::Status RoutingServiceImpl::Transfer(grpc::ServerContext* context,
                                          const v1::TransferRequest* request,
                                          v1::TransferResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto call,
                          AgentCall(context, request->tenant_id(), request->from_agent_id()));
    KEFU_RETURN_IF_ERROR(ValidateId("contact_id", request->contact_id()));
    if (request->note().size() > 1000) return InvalidField("note", "at most 1000 characters");
    bool to_department = false;
    std::string target;
    switch (request->target_case()) {
      case v1::TransferRequest::kToAgentId:
        KEFU_RETURN_IF_ERROR(ValidateId("to_agent_id", request->to_agent_id()));
        target = request->to_agent_id();
        break;
      case v1::TransferRequest::kToDepartmentId:
        KEFU_RETURN_IF_ERROR(ValidateId("to_department_id", request->to_department_id()));
        target = request->to_department_id();
        to_department = true;
        break;
      case v1::TransferRequest::kToBotId:
        return absl::UnimplementedError("to_bot_id: transfers to bots arrive with the kb issue");
      default:
        return InvalidField("target", "set to_agent_id or to_department_id");
    }
    const std::string transfer_id = auth::RandomId();
    KEFU_ASSIGN_OR_RETURN(EnqueueResult result,
                          router_->Transfer(call.first, request->contact_id(), call.second,
                                            to_department, target, request->note(), transfer_id));
    response->set_transfer_id(transfer_id);
    v1::ContactRouting* routing = response->mutable_routing();
    routing->set_contact_id(request->contact_id());
    routing->set_state(static_cast<kefu::common::v1::ContactState>(result.state));
    routing->set_queue_id(result.queue_id);
    routing->set_agent_id(result.agent_id);
    if (!result.offer_id.empty()) {
      v1::OfferRef* offer = routing->add_offers();
      offer->set_offer_id(result.offer_id);
      offer->set_agent_id(result.agent_id);
    }
    return absl::OkStatus();
  });
}

grpc::Status RoutingServiceImpl::TransferTargets(grpc::ServerContext* context,
                                                 const v1::TransferTargetsRequest* request,
                                                 v1::TransferTargetsResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto call, AgentCall(context, request->tenant_id(), request->agent_id()));
    const std::string& tenant = call.first;
    KEFU_ASSIGN_OR_RETURN(auto departments, store_->ListDepartments(tenant));
    KEFU_ASSIGN_OR_RETURN(auto profiles, store_->ListAgentProfiles(tenant));
    // Each department with its agents and their live dialog counts (F18), as a tree.
    std::map<std::string, v1::TargetDepartment> nodes;
    std::map<std::string, std::string> nicknames;
    for (const auto& d : departments) {
      v1::TargetDepartment& node = nodes[d.department_id()];
      node.set_department_id(d.department_id());
      *node.mutable_name() = d.name();
    }
    for (const auto& profile : profiles) {
      if (!profile.enabled()) continue;
      nicknames[profile.agent_id()] = profile.nickname();
      KEFU_ASSIGN_OR_RETURN(RedisRouter::AgentLive live,
                            router_->Agent(tenant, profile.agent_id()));
      for (const auto& d : profile.department_ids()) {
        auto it = nodes.find(d);
        if (it == nodes.end()) continue;
        v1::TargetAgent* agent = it->second.add_agents();
        agent->mutable_agent()->set_agent_id(profile.agent_id());
        agent->mutable_agent()->set_nickname(profile.nickname());
        agent->mutable_agent()->set_avatar_url(profile.avatar_url());
        agent->set_status(live.status == 0
                              ? kefu::common::v1::AGENT_STATUS_OFFLINE
                              : static_cast<kefu::common::v1::AgentStatus>(live.status));
        agent->set_active_dialogs(live.load);
        agent->set_max_concurrent(live.max);
      }
    }
    // Children are attached bottom-up: a department is added to its parent after its own
    // children, so the copy carries the whole subtree.
    std::map<std::string, std::vector<std::string>> children;
    for (const auto& d : departments) children[d.parent_id()].push_back(d.department_id());
    std::function<v1::TargetDepartment(const std::string&)> build = [&](const std::string& id) {
      v1::TargetDepartment node = nodes[id];
      for (const auto& child : children[id]) *node.add_children() = build(child);
      return node;
    };
    for (const auto& root : children[""]) *response->add_departments() = build(root);
    KEFU_ASSIGN_OR_RETURN(auto recent, router_->RecentTargets(tenant, call.second));
    for (const std::string& entry : recent) {
      v1::RecentTarget* target = response->add_recent();
      const auto colon = entry.find(':');
      const std::string kind = entry.substr(0, colon), id = entry.substr(colon + 1);
      if (kind == "department") {
        target->set_department_id(id);
        if (auto it = nodes.find(id); it != nodes.end())
          target->set_display_name(it->second.name().zh());
      } else {
        target->mutable_agent()->set_agent_id(id);
        target->set_display_name(nicknames[id].empty() ? id : nicknames[id]);
      }
    }
    return absl::OkStatus();
  });
}

grpc::Status RoutingServiceImpl::BindExclusiveAgent(grpc::ServerContext* context,
                                                    const v1::BindExclusiveAgentRequest* request,
                                                    v1::BindExclusiveAgentResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller,
                          authenticator_->Require(*context, {ROLE_SERVICE, ROLE_ADMIN}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
    KEFU_RETURN_IF_ERROR(ValidateId("customer_id", request->customer_id()));
    KEFU_RETURN_IF_ERROR(ValidateId("agent_id", request->agent_id(), false));
    KEFU_RETURN_IF_ERROR(ValidateId("contact_id", request->contact_id(), false));
    if (!request->agent_id().empty()) {
      auto profile = store_->GetAgentProfile(tenant, request->agent_id());
      if (absl::IsNotFound(profile.status())) {
        return InvalidField("agent_id",
                            absl::StrCat("unknown agent \"", request->agent_id(), "\""));
      }
      if (!profile.ok()) return profile.status();
    }
    KEFU_ASSIGN_OR_RETURN(std::string previous,
                          router_->BindExclusive(tenant, request->customer_id(),
                                                 request->agent_id(), request->contact_id()));
    response->set_previous_agent_id(previous);
    return absl::OkStatus();
  });
}

grpc::Status RoutingServiceImpl::SuggestAgents(grpc::ServerContext* context,
                                               const v1::SuggestAgentsRequest* request,
                                               v1::SuggestAgentsResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_SERVICE}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
    KEFU_RETURN_IF_ERROR(ValidateId("department_id", request->department_id(), false));
    for (const auto& declined : request->declined_agent_ids()) {
      KEFU_RETURN_IF_ERROR(ValidateId("declined_agent_ids", declined));
    }
    if (request->page_size() < 0) return InvalidField("page_size", "must not be negative");
    // The department's queue, else the tenant's default queue.
    std::string queue;
    if (!request->department_id().empty()) {
      auto department = store_->GetDepartment(tenant, request->department_id());
      if (absl::IsNotFound(department.status())) {
        return InvalidField("department_id",
                            absl::StrCat("unknown department \"", request->department_id(), "\""));
      }
      if (!department.ok()) return department.status();
      queue = department->queue_id();
    }
    if (queue.empty()) {
      KEFU_ASSIGN_OR_RETURN(queue, store_->DefaultQueue(tenant));
    }
    if (queue.empty()) return absl::FailedPreconditionError("no queue to suggest agents from");
    std::vector<std::string> declined(request->declined_agent_ids().begin(),
                                      request->declined_agent_ids().end());
    KEFU_ASSIGN_OR_RETURN(auto suggestions, router_->Suggest(tenant, queue, declined));
    // F14: one at a time unless the caller asks for more.
    const int limit = request->page_size() == 0 ? 1 : request->page_size();
    for (const auto& s : suggestions) {
      if (response->agents_size() >= limit) break;
      v1::SuggestedAgent* agent = response->add_agents();
      agent->mutable_agent()->set_agent_id(s.agent_id);
      if (auto profile = store_->GetAgentProfile(tenant, s.agent_id); profile.ok()) {
        agent->mutable_agent()->set_nickname(profile->nickname());
        agent->mutable_agent()->set_avatar_url(profile->avatar_url());
      }
      agent->set_capability_score(s.capability);
      agent->set_status(kefu::common::v1::AGENT_STATUS_ONLINE);
      agent->set_active_dialogs(s.load);
    }
    return absl::OkStatus();
  });
}

grpc::Status RoutingServiceImpl::ListWaitingContacts(grpc::ServerContext* context,
                                                     const v1::ListWaitingContactsRequest* request,
                                                     v1::ListWaitingContactsResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(
        auth::Claims caller,
        authenticator_->Require(*context, {ROLE_SERVICE, ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_AGENT}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
    KEFU_RETURN_IF_ERROR(ValidateId("queue_id", request->queue_id()));
    if (request->page_size() < 0) return InvalidField("page_size", "must not be negative");
    const int limit = request->page_size() == 0 ? 50 : std::min(request->page_size(), 500);
    // The token is the next position: a queue moves, so a page is a snapshot in order.
    int offset = 0;
    if (!request->page_token().empty() &&
        (!absl::SimpleAtoi(request->page_token(), &offset) || offset < 0)) {
      return InvalidField("page_token", "not a token this API issued");
    }
    KEFU_ASSIGN_OR_RETURN(auto waiting,
                          router_->ListWaiting(tenant, request->queue_id(), offset, limit));
    for (size_t i = 0; i < waiting.size(); ++i) {
      v1::WaitingContact* contact = response->add_contacts();
      contact->set_contact_id(waiting[i].contact_id);
      contact->set_dialog_id(waiting[i].dialog_id);
      contact->set_customer_id(waiting[i].customer_id);
      contact->set_tier(static_cast<kefu::common::v1::CustomerTier>(waiting[i].tier));
      contact->set_position(offset + static_cast<int>(i) + 1);
      *contact->mutable_enqueue_time() = ToProto(waiting[i].enqueued);
    }
    if (static_cast<int>(waiting.size()) == limit) {
      response->set_next_page_token(std::to_string(offset + limit));
    }
    return absl::OkStatus();
  });
}

grpc::Status RoutingServiceImpl::QueueStatus(grpc::ServerContext* context,
                                             const v1::QueueStatusRequest* request,
                                             v1::QueueStatusResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(
        auth::Claims caller,
        authenticator_->Require(*context, {ROLE_SERVICE, ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_AGENT}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
    for (const std::string& queue_id : request->queue_ids()) {
      KEFU_RETURN_IF_ERROR(ValidateId("queue_ids", queue_id));
      KEFU_ASSIGN_OR_RETURN(QueueSnapshot snapshot, router_->Queue(tenant, queue_id));
      v1::QueueState* state = response->add_queues();
      state->set_queue_id(queue_id);
      state->set_length(snapshot.length);
      *state->mutable_longest_wait() = ToProto(snapshot.longest_wait);
      state->set_available_agents(snapshot.available_agents);
    }
    if (!request->contact_id().empty()) {
      KEFU_RETURN_IF_ERROR(ValidateId("contact_id", request->contact_id()));
      KEFU_ASSIGN_OR_RETURN(ContactSnapshot contact,
                            router_->Contact(tenant, request->contact_id()));
      v1::ContactRouting* routing = response->mutable_contact();
      routing->set_contact_id(request->contact_id());
      routing->set_state(static_cast<kefu::common::v1::ContactState>(contact.state));
      routing->set_queue_id(contact.queue_id);
      routing->set_position(contact.position + 1);
      routing->set_agent_id(contact.agent_id);
      *routing->mutable_enqueue_time() = ToProto(contact.enqueued);
      if (contact.state == kefu::common::v1::CONTACT_STATE_OFFERED && !contact.offer_id.empty()) {
        v1::OfferRef* offer = routing->add_offers();
        offer->set_offer_id(contact.offer_id);
        offer->set_agent_id(contact.agent_id);
        *offer->mutable_deadline() = ToProto(contact.offer_deadline);
      }
      for (const auto& [agent, offer_id] : contact.ring_offers) {  // ring-all (F12)
        v1::OfferRef* offer = routing->add_offers();
        offer->set_offer_id(offer_id);
        offer->set_agent_id(agent);
        *offer->mutable_deadline() = ToProto(contact.offer_deadline);
      }
    }
    return absl::OkStatus();
  });
}

grpc::Status RoutingServiceImpl::Release(grpc::ServerContext* context,
                                         const v1::ReleaseRequest* request, v1::ReleaseResponse*) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auto call, AgentCall(context, request->tenant_id(), request->agent_id()));
    KEFU_RETURN_IF_ERROR(ValidateId("contact_id", request->contact_id()));
    return router_->Release(call.first, request->contact_id(), call.second);
  });
}

grpc::Status RoutingServiceImpl::ResolveRegion(grpc::ServerContext* context,
                                               const v1::ResolveRegionRequest* request,
                                               v1::ResolveRegionResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_RETURN_IF_ERROR(
        authenticator_->Require(*context, {ROLE_SERVICE, ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_AGENT})
            .status());
    if (request->ip().size() > 64) return InvalidField("ip", "must be at most 64 characters");
    KEFU_ASSIGN_OR_RETURN(*response->mutable_region(), geo_->Lookup(request->ip()));
    return absl::OkStatus();
  });
}

// --- RoutingAdminService ------------------------------------------------------------

absl::Status RoutingAdminServiceImpl::PutDepartment(grpc::ServerContext* context,
                                                    const v1::Department& department, bool create,
                                                    v1::Department* out) {
  KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_ADMIN}));
  KEFU_RETURN_IF_ERROR(ValidateId("department.department_id", department.department_id()));
  KEFU_RETURN_IF_ERROR(ValidateId("department.parent_id", department.parent_id(), false));
  KEFU_RETURN_IF_ERROR(ValidateId("department.queue_id", department.queue_id(), false));
  if (department.parent_id() == department.department_id()) {
    return InvalidField("department.parent_id", "a department cannot be its own parent");
  }
  if (!department.parent_id().empty()) {
    auto parent = store_->GetDepartment(caller.tenant_id, department.parent_id());
    if (absl::IsNotFound(parent.status())) {
      return InvalidField("department.parent_id",
                          absl::StrCat("unknown department \"", department.parent_id(), "\""));
    }
    if (!parent.ok()) return parent.status();
  }
  if (!department.queue_id().empty()) {
    auto queue = store_->GetQueue(caller.tenant_id, department.queue_id());
    if (absl::IsNotFound(queue.status())) {
      return InvalidField("department.queue_id",
                          absl::StrCat("unknown queue \"", department.queue_id(), "\""));
    }
    if (!queue.ok()) return queue.status();
  }
  v1::Department stored = department;
  *stored.mutable_update_time() = ToProto(absl::Now());
  if (create) *stored.mutable_create_time() = stored.update_time();
  KEFU_RETURN_IF_ERROR(store_->PutDepartment(caller.tenant_id, stored, create));
  std::string queue = department.queue_id();
  if (queue.empty()) {
    KEFU_ASSIGN_OR_RETURN(queue, store_->DefaultQueue(caller.tenant_id));
  }
  if (!queue.empty()) {
    KEFU_RETURN_IF_ERROR(
        router_->PutDepartment(caller.tenant_id, department.department_id(), queue));
  }
  // Agents of this department may now serve another queue.
  KEFU_ASSIGN_OR_RETURN(auto profiles, store_->ListAgentProfiles(caller.tenant_id));
  for (const auto& profile : profiles) {
    for (const auto& d : profile.department_ids()) {
      if (d == department.department_id()) {
        KEFU_RETURN_IF_ERROR(SyncAgent(caller.tenant_id, profile));
        break;
      }
    }
  }
  *out = stored;
  return absl::OkStatus();
}

grpc::Status RoutingAdminServiceImpl::CreateDepartment(grpc::ServerContext* context,
                                                       const v1::CreateDepartmentRequest* request,
                                                       v1::CreateDepartmentResponse* response) {
  return ToGrpcStatus(
      PutDepartment(context, request->department(), true, response->mutable_department()));
}

grpc::Status RoutingAdminServiceImpl::UpdateDepartment(grpc::ServerContext* context,
                                                       const v1::UpdateDepartmentRequest* request,
                                                       v1::UpdateDepartmentResponse* response) {
  return ToGrpcStatus(
      PutDepartment(context, request->department(), false, response->mutable_department()));
}

grpc::Status RoutingAdminServiceImpl::GetDepartment(grpc::ServerContext* context,
                                                    const v1::GetDepartmentRequest* request,
                                                    v1::GetDepartmentResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(
        auth::Claims caller,
        authenticator_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_AGENT, ROLE_SERVICE}));
    KEFU_RETURN_IF_ERROR(ValidateId("department_id", request->department_id()));
    KEFU_ASSIGN_OR_RETURN(*response->mutable_department(),
                          store_->GetDepartment(caller.tenant_id, request->department_id()));
    return absl::OkStatus();
  });
}

grpc::Status RoutingAdminServiceImpl::ListDepartments(grpc::ServerContext* context,
                                                      const v1::ListDepartmentsRequest* request,
                                                      v1::ListDepartmentsResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(
        auth::Claims caller,
        authenticator_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_AGENT, ROLE_SERVICE}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
    KEFU_ASSIGN_OR_RETURN(auto departments, store_->ListDepartments(tenant));
    for (auto& department : departments) *response->add_departments() = std::move(department);
    return absl::OkStatus();
  });
}

absl::Status RoutingAdminServiceImpl::PutQueue(grpc::ServerContext* context, const v1::Queue& queue,
                                               bool create, v1::Queue* out) {
  KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_ADMIN}));
  KEFU_RETURN_IF_ERROR(ValidateId("queue.queue_id", queue.queue_id()));
  if (!v1::RoutingStrategy_IsValid(queue.strategy())) {
    return InvalidField("queue.strategy", "unknown value");
  }
  v1::Queue stored = queue;
  if (stored.strategy() == v1::ROUTING_STRATEGY_UNSPECIFIED) {
    stored.set_strategy(v1::ROUTING_STRATEGY_LEAST_BUSY);  // F12 default
  }
  QueueConfig config;
  config.strategy = stored.strategy();
  config.offer_timeout = FromProto(stored.offer_timeout(), absl::Seconds(15));
  config.reject_delay = FromProto(stored.reject_delay(), absl::Seconds(10));
  config.no_answer_delay = FromProto(stored.no_answer_delay(), absl::Seconds(30));
  config.exclusive_wait = FromProto(stored.exclusive_wait(), absl::Seconds(60));
  *stored.mutable_offer_timeout() = ToProto(config.offer_timeout);
  *stored.mutable_reject_delay() = ToProto(config.reject_delay);
  *stored.mutable_no_answer_delay() = ToProto(config.no_answer_delay);
  *stored.mutable_exclusive_wait() = ToProto(config.exclusive_wait);
  *stored.mutable_update_time() = ToProto(absl::Now());
  if (create) *stored.mutable_create_time() = stored.update_time();
  KEFU_RETURN_IF_ERROR(store_->PutQueue(caller.tenant_id, stored, create));
  KEFU_RETURN_IF_ERROR(
      router_->PutQueue(caller.tenant_id, stored.queue_id(), config, stored.is_default()));
  *out = stored;
  return absl::OkStatus();
}

grpc::Status RoutingAdminServiceImpl::CreateQueue(grpc::ServerContext* context,
                                                  const v1::CreateQueueRequest* request,
                                                  v1::CreateQueueResponse* response) {
  return ToGrpcStatus(PutQueue(context, request->queue(), true, response->mutable_queue()));
}

grpc::Status RoutingAdminServiceImpl::UpdateQueue(grpc::ServerContext* context,
                                                  const v1::UpdateQueueRequest* request,
                                                  v1::UpdateQueueResponse* response) {
  return ToGrpcStatus(PutQueue(context, request->queue(), false, response->mutable_queue()));
}

grpc::Status RoutingAdminServiceImpl::GetQueue(grpc::ServerContext* context,
                                               const v1::GetQueueRequest* request,
                                               v1::GetQueueResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller,
                          authenticator_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR}));
    KEFU_RETURN_IF_ERROR(ValidateId("queue_id", request->queue_id()));
    KEFU_ASSIGN_OR_RETURN(*response->mutable_queue(),
                          store_->GetQueue(caller.tenant_id, request->queue_id()));
    return absl::OkStatus();
  });
}

grpc::Status RoutingAdminServiceImpl::ListQueues(grpc::ServerContext* context,
                                                 const v1::ListQueuesRequest*,
                                                 v1::ListQueuesResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller,
                          authenticator_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR}));
    KEFU_ASSIGN_OR_RETURN(auto queues, store_->ListQueues(caller.tenant_id));
    for (auto& queue : queues) *response->add_queues() = std::move(queue);
    return absl::OkStatus();
  });
}

absl::Status RoutingAdminServiceImpl::SyncAgent(const std::string& tenant,
                                                const v1::AgentProfile& profile) {
  std::set<std::string> queues;
  KEFU_ASSIGN_OR_RETURN(std::string default_queue, store_->DefaultQueue(tenant));
  for (const std::string& department_id : profile.department_ids()) {
    auto department = store_->GetDepartment(tenant, department_id);
    if (!department.ok()) continue;  // deleted since; the profile keeps the rest
    if (!department->queue_id().empty()) {
      queues.insert(department->queue_id());
    } else if (!default_queue.empty()) {
      queues.insert(default_queue);
    }
  }
  std::vector<int> tiers(profile.tiers().begin(), profile.tiers().end());
  return router_->PutAgent(
      tenant, profile.agent_id(), profile.enabled() ? profile.max_concurrent() : 0, tiers,
      profile.capability_score(), std::vector<std::string>(queues.begin(), queues.end()),
      std::vector<std::string>(profile.department_ids().begin(), profile.department_ids().end()));
}

grpc::Status RoutingAdminServiceImpl::SetAgentProfile(grpc::ServerContext* context,
                                                      const v1::SetAgentProfileRequest* request,
                                                      v1::SetAgentProfileResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_ADMIN}));
    const v1::AgentProfile& profile = request->profile();
    KEFU_RETURN_IF_ERROR(ValidateId("profile.agent_id", profile.agent_id()));
    if (profile.max_concurrent() < 0 || profile.max_concurrent() > 100) {
      return InvalidField("profile.max_concurrent", "must be between 0 and 100");  // F13
    }
    if (profile.nickname().size() > 64) {
      return InvalidField("profile.nickname", "must be at most 64 characters");
    }
    if (profile.avatar_url().size() > 512) {
      return InvalidField("profile.avatar_url", "must be at most 512 characters");
    }
    for (int tier : profile.tiers()) {
      if (!kefu::common::v1::CustomerTier_IsValid(tier) || tier == 0) {
        return InvalidField("profile.tiers", "unknown tier");
      }
    }
    for (const std::string& department_id : profile.department_ids()) {
      auto department = store_->GetDepartment(caller.tenant_id, department_id);
      if (absl::IsNotFound(department.status())) {
        return InvalidField("profile.department_ids",
                            absl::StrCat("unknown department \"", department_id, "\""));
      }
      if (!department.ok()) return department.status();
    }
    v1::AgentProfile stored = profile;
    *stored.mutable_update_time() = ToProto(absl::Now());
    KEFU_RETURN_IF_ERROR(store_->PutAgentProfile(caller.tenant_id, stored));
    KEFU_RETURN_IF_ERROR(SyncAgent(caller.tenant_id, stored));
    *response->mutable_profile() = stored;
    return absl::OkStatus();
  });
}

grpc::Status RoutingAdminServiceImpl::GetAgentProfile(grpc::ServerContext* context,
                                                      const v1::GetAgentProfileRequest* request,
                                                      v1::GetAgentProfileResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(
        auth::Claims caller,
        authenticator_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_AGENT, ROLE_SERVICE}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
    KEFU_RETURN_IF_ERROR(ValidateId("agent_id", request->agent_id()));
    KEFU_ASSIGN_OR_RETURN(*response->mutable_profile(),
                          store_->GetAgentProfile(tenant, request->agent_id()));
    return absl::OkStatus();
  });
}

grpc::Status RoutingAdminServiceImpl::ListAgentProfiles(grpc::ServerContext* context,
                                                        const v1::ListAgentProfilesRequest* request,
                                                        v1::ListAgentProfilesResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(
        auth::Claims caller,
        authenticator_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_SERVICE}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
    KEFU_ASSIGN_OR_RETURN(auto profiles, store_->ListAgentProfiles(tenant));
    for (auto& profile : profiles) {
      bool in_department = request->department_id().empty();
      for (const auto& d : profile.department_ids()) in_department |= d == request->department_id();
      if (in_department) *response->add_profiles() = std::move(profile);
    }
    return absl::OkStatus();
  });
}

grpc::Status RoutingAdminServiceImpl::GetTierMap(grpc::ServerContext* context,
                                                 const v1::GetTierMapRequest*,
                                                 v1::GetTierMapResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller,
                          authenticator_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR}));
    KEFU_ASSIGN_OR_RETURN(*response, store_->GetTierMap(caller.tenant_id));
    return absl::OkStatus();
  });
}

grpc::Status RoutingAdminServiceImpl::SetTierMap(grpc::ServerContext* context,
                                                 const v1::SetTierMapRequest* request,
                                                 v1::SetTierMapResponse*) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_ADMIN}));
    v1::GetTierMapResponse map;
    std::vector<std::pair<int, std::string>> cached;
    std::set<int> seen;
    for (const auto& group : request->groups()) {
      if (!kefu::common::v1::CustomerTier_IsValid(group.tier()) || group.tier() == 0) {
        return InvalidField("groups.tier", "unknown tier");
      }
      if (!seen.insert(group.tier()).second) return InvalidField("groups.tier", "given twice");
      if (group.department_ids().empty()) {
        return InvalidField("groups.department_ids", "name at least one department");
      }
      for (const std::string& department_id : group.department_ids()) {
        auto department = store_->GetDepartment(caller.tenant_id, department_id);
        if (absl::IsNotFound(department.status())) {
          return InvalidField("groups.department_ids",
                              absl::StrCat("unknown department \"", department_id, "\""));
        }
        if (!department.ok()) return department.status();
      }
      // A contact waits in one queue: the tier's first department routes it.
      cached.emplace_back(group.tier(), group.department_ids(0));
      *map.add_groups() = group;
    }
    KEFU_RETURN_IF_ERROR(store_->PutTierMap(caller.tenant_id, map));
    return router_->PutTierMap(caller.tenant_id, cached);
  });
}

grpc::Status RoutingAdminServiceImpl::DeleteDepartment(grpc::ServerContext* context,
                                                       const v1::DeleteDepartmentRequest* request,
                                                       v1::DeleteDepartmentResponse*) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_ADMIN}));
    KEFU_RETURN_IF_ERROR(ValidateId("department_id", request->department_id()));
    KEFU_RETURN_IF_ERROR(store_->DeleteDepartment(caller.tenant_id, request->department_id()));
    KEFU_RETURN_IF_ERROR(router_->DeleteDepartment(caller.tenant_id, request->department_id()));
    return router_->BumpConfigVersion(caller.tenant_id);
  });
}

grpc::Status RoutingAdminServiceImpl::DeleteQueue(grpc::ServerContext* context,
                                                  const v1::DeleteQueueRequest* request,
                                                  v1::DeleteQueueResponse*) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_ADMIN}));
    KEFU_RETURN_IF_ERROR(ValidateId("queue_id", request->queue_id()));
    KEFU_ASSIGN_OR_RETURN(QueueSnapshot live,
                          router_->Queue(caller.tenant_id, request->queue_id()));
    if (live.length > 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "queue \"", request->queue_id(), "\" still has ", live.length, " waiting contacts"));
    }
    KEFU_RETURN_IF_ERROR(store_->DeleteQueue(caller.tenant_id, request->queue_id()));
    return router_->DeleteQueue(caller.tenant_id, request->queue_id());
  });
}

grpc::Status RoutingAdminServiceImpl::DeleteAgentProfile(
    grpc::ServerContext* context, const v1::DeleteAgentProfileRequest* request,
    v1::DeleteAgentProfileResponse*) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_ADMIN}));
    KEFU_RETURN_IF_ERROR(ValidateId("agent_id", request->agent_id()));
    KEFU_RETURN_IF_ERROR(store_->DeleteAgentProfile(caller.tenant_id, request->agent_id()));
    return router_->DeleteAgent(caller.tenant_id, request->agent_id());
  });
}

grpc::Status RoutingAdminServiceImpl::SetCapabilityScores(
    grpc::ServerContext* context, const v1::SetCapabilityScoresRequest* request,
    v1::SetCapabilityScoresResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller,
                          authenticator_->Require(*context, {ROLE_ADMIN, ROLE_SERVICE}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
    if (request->scores_size() > 10000) return InvalidField("scores", "at most 10000 per call");
    for (const auto& score : request->scores()) {
      KEFU_RETURN_IF_ERROR(ValidateId("scores.agent_id", score.agent_id()));
      if (!(score.capability_score() >= 0 && score.capability_score() <= 100)) {
        return InvalidField("scores.capability_score", "must be between 0 and 100");  // F54
      }
    }
    int updated = 0;
    for (const auto& score : request->scores()) {
      auto profile = store_->GetAgentProfile(tenant, score.agent_id());
      if (absl::IsNotFound(profile.status())) continue;  // an agent deleted since: skipped
      if (!profile.ok()) return profile.status();
      profile->set_capability_score(score.capability_score());
      *profile->mutable_update_time() = ToProto(absl::Now());
      KEFU_RETURN_IF_ERROR(store_->PutAgentProfile(tenant, *profile));
      KEFU_RETURN_IF_ERROR(SyncAgent(tenant, *profile));
      ++updated;
    }
    response->set_updated_count(updated);
    return absl::OkStatus();
  });
}

absl::Status RoutingAdminServiceImpl::CheckAgents(
    const std::string& tenant, absl::string_view field,
    const google::protobuf::RepeatedPtrField<std::string>& ids) {
  for (const std::string& id : ids) {
    KEFU_RETURN_IF_ERROR(ValidateId(field, id));
    auto profile = store_->GetAgentProfile(tenant, id);
    if (absl::IsNotFound(profile.status())) {
      return InvalidField(field, absl::StrCat("unknown agent \"", id, "\""));
    }
    if (!profile.ok()) return profile.status();
  }
  return absl::OkStatus();
}

absl::Status RoutingAdminServiceImpl::CheckDepartments(
    const std::string& tenant, absl::string_view field,
    const google::protobuf::RepeatedPtrField<std::string>& ids) {
  for (const std::string& id : ids) {
    KEFU_RETURN_IF_ERROR(ValidateId(field, id));
    auto department = store_->GetDepartment(tenant, id);
    if (absl::IsNotFound(department.status())) {
      return InvalidField(field, absl::StrCat("unknown department \"", id, "\""));
    }
    if (!department.ok()) return department.status();
  }
  return absl::OkStatus();
}

namespace {

// The stored message with the request's fields applied: all of them for an empty mask.
template <typename Message>
absl::StatusOr<Message> Merge(const Message& stored, const Message& update,
                              const google::protobuf::FieldMask& mask) {
  if (mask.paths().empty()) return update;
  if (!google::protobuf::util::FieldMaskUtil::IsValidFieldMask<Message>(mask)) {
    return InvalidField("update_mask", "names a field the message does not have");
  }
  Message out = stored;
  google::protobuf::util::FieldMaskUtil::MergeOptions options;
  options.set_replace_repeated_fields(true);
  options.set_replace_message_fields(true);
  google::protobuf::util::FieldMaskUtil::MergeMessageTo(update, mask, options, &out);
  return out;
}

}  // namespace

absl::Status RoutingAdminServiceImpl::PutEntryPoint(grpc::ServerContext* context,
                                                    const v1::EntryPoint& entry_point,
                                                    const google::protobuf::FieldMask& mask,
                                                    bool create, v1::EntryPoint* out) {
  KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_ADMIN}));
  const std::string& tenant = caller.tenant_id;
  KEFU_RETURN_IF_ERROR(ValidateId("entry_point.entry_point_id", entry_point.entry_point_id()));
  v1::EntryPoint stored = entry_point;
  if (!create) {
    KEFU_ASSIGN_OR_RETURN(v1::EntryPoint current,
                          store_->GetEntryPoint(tenant, entry_point.entry_point_id()));
    KEFU_ASSIGN_OR_RETURN(stored, Merge(current, entry_point, mask));
    stored.set_entry_point_id(current.entry_point_id());
    *stored.mutable_create_time() = current.create_time();
  }
  if (stored.name().empty() || stored.name().size() > 100) {
    return InvalidField("entry_point.name", "required, at most 100 characters");
  }
  if (!kefu::common::v1::Channel_IsValid(stored.channel())) {
    return InvalidField("entry_point.channel", "unknown value");
  }
  if (!kefu::common::v1::Language_IsValid(stored.default_language())) {
    return InvalidField("entry_point.default_language", "unknown value");
  }
  if (stored.designated_agent_ids_size() > 200 || stored.designated_department_ids_size() > 200) {
    return InvalidField("entry_point.designated_agent_ids", "at most 200 agents and departments");
  }
  KEFU_RETURN_IF_ERROR(
      CheckAgents(tenant, "entry_point.designated_agent_ids", stored.designated_agent_ids()));
  KEFU_RETURN_IF_ERROR(CheckDepartments(tenant, "entry_point.designated_department_ids",
                                        stored.designated_department_ids()));
  // F16: at most one bot per entry point (one id; a list in it is not a bot id).
  if (stored.bot_id().find(',') != std::string::npos) {
    return InvalidField("entry_point.bot_id", "an entry point has at most one bot");
  }
  KEFU_RETURN_IF_ERROR(ValidateId("entry_point.bot_id", stored.bot_id(), false));
  *stored.mutable_update_time() = ToProto(absl::Now());
  if (create) *stored.mutable_create_time() = stored.update_time();
  KEFU_RETURN_IF_ERROR(store_->PutEntryPoint(tenant, stored, create));
  KEFU_RETURN_IF_ERROR(router_->BumpConfigVersion(tenant));
  *out = stored;
  return absl::OkStatus();
}

grpc::Status RoutingAdminServiceImpl::CreateEntryPoint(grpc::ServerContext* context,
                                                       const v1::CreateEntryPointRequest* request,
                                                       v1::CreateEntryPointResponse* response) {
  return ToGrpcStatus(
      PutEntryPoint(context, request->entry_point(), {}, true, response->mutable_entry_point()));
}

grpc::Status RoutingAdminServiceImpl::UpdateEntryPoint(grpc::ServerContext* context,
                                                       const v1::UpdateEntryPointRequest* request,
                                                       v1::UpdateEntryPointResponse* response) {
  return ToGrpcStatus(PutEntryPoint(context, request->entry_point(), request->update_mask(), false,
                                    response->mutable_entry_point()));
}

grpc::Status RoutingAdminServiceImpl::DeleteEntryPoint(grpc::ServerContext* context,
                                                       const v1::DeleteEntryPointRequest* request,
                                                       v1::DeleteEntryPointResponse*) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_ADMIN}));
    KEFU_RETURN_IF_ERROR(ValidateId("entry_point_id", request->entry_point_id()));
    KEFU_RETURN_IF_ERROR(store_->DeleteEntryPoint(caller.tenant_id, request->entry_point_id()));
    return router_->BumpConfigVersion(caller.tenant_id);
  });
}

grpc::Status RoutingAdminServiceImpl::GetEntryPoint(grpc::ServerContext* context,
                                                    const v1::GetEntryPointRequest* request,
                                                    v1::GetEntryPointResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(
        auth::Claims caller,
        authenticator_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_SERVICE}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
    KEFU_RETURN_IF_ERROR(ValidateId("entry_point_id", request->entry_point_id()));
    KEFU_ASSIGN_OR_RETURN(*response->mutable_entry_point(),
                          store_->GetEntryPoint(tenant, request->entry_point_id()));
    return absl::OkStatus();
  });
}

grpc::Status RoutingAdminServiceImpl::ListEntryPoints(grpc::ServerContext* context,
                                                      const v1::ListEntryPointsRequest*,
                                                      v1::ListEntryPointsResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller,
                          authenticator_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR}));
    KEFU_ASSIGN_OR_RETURN(auto entry_points, store_->ListEntryPoints(caller.tenant_id));
    for (auto& e : entry_points) *response->add_entry_points() = std::move(e);
    return absl::OkStatus();
  });
}

absl::Status RoutingAdminServiceImpl::PutRegionStrategy(grpc::ServerContext* context,
                                                        const v1::RegionStrategy& strategy,
                                                        const google::protobuf::FieldMask& mask,
                                                        bool create, v1::RegionStrategy* out) {
  KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_ADMIN}));
  const std::string& tenant = caller.tenant_id;
  KEFU_RETURN_IF_ERROR(ValidateId("strategy.strategy_id", strategy.strategy_id()));
  v1::RegionStrategy stored = strategy;
  if (!create) {
    KEFU_ASSIGN_OR_RETURN(v1::RegionStrategy current,
                          store_->GetRegionStrategy(tenant, strategy.strategy_id()));
    KEFU_ASSIGN_OR_RETURN(stored, Merge(current, strategy, mask));
    stored.set_strategy_id(current.strategy_id());
  }
  if (stored.name().size() > 100) return InvalidField("strategy.name", "at most 100 characters");
  if (stored.regions().empty() || stored.regions_size() > 500) {
    return InvalidField("strategy.regions", "name 1 to 500 regions");
  }
  for (const auto& region : stored.regions()) {
    if (region.country_code().empty() && region.province().empty() && region.city().empty()) {
      return InvalidField("strategy.regions", "a region needs a country, province or city");
    }
    if (region.country_code().size() > 2 || region.province().size() > 100 ||
        region.city().size() > 100) {
      return InvalidField("strategy.regions", "country is an ISO code; names at most 100 bytes");
    }
  }
  if (stored.department_ids().empty()) {
    return InvalidField("strategy.department_ids", "name at least one department");
  }
  KEFU_RETURN_IF_ERROR(
      CheckDepartments(tenant, "strategy.department_ids", stored.department_ids()));
  for (const auto& id : stored.entry_point_ids()) {
    KEFU_RETURN_IF_ERROR(ValidateId("strategy.entry_point_ids", id));
    auto entry_point = store_->GetEntryPoint(tenant, id);
    if (absl::IsNotFound(entry_point.status())) {
      return InvalidField("strategy.entry_point_ids",
                          absl::StrCat("unknown entry point \"", id, "\""));
    }
    if (!entry_point.ok()) return entry_point.status();
  }
  *stored.mutable_update_time() = ToProto(absl::Now());
  KEFU_RETURN_IF_ERROR(store_->PutRegionStrategy(tenant, stored, create));
  KEFU_RETURN_IF_ERROR(router_->BumpConfigVersion(tenant));
  *out = stored;
  return absl::OkStatus();
}

grpc::Status RoutingAdminServiceImpl::CreateRegionStrategy(
    grpc::ServerContext* context, const v1::CreateRegionStrategyRequest* request,
    v1::CreateRegionStrategyResponse* response) {
  return ToGrpcStatus(
      PutRegionStrategy(context, request->strategy(), {}, true, response->mutable_strategy()));
}

grpc::Status RoutingAdminServiceImpl::UpdateRegionStrategy(
    grpc::ServerContext* context, const v1::UpdateRegionStrategyRequest* request,
    v1::UpdateRegionStrategyResponse* response) {
  return ToGrpcStatus(PutRegionStrategy(context, request->strategy(), request->update_mask(), false,
                                        response->mutable_strategy()));
}

grpc::Status RoutingAdminServiceImpl::DeleteRegionStrategy(
    grpc::ServerContext* context, const v1::DeleteRegionStrategyRequest* request,
    v1::DeleteRegionStrategyResponse*) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_ADMIN}));
    KEFU_RETURN_IF_ERROR(ValidateId("strategy_id", request->strategy_id()));
    KEFU_RETURN_IF_ERROR(store_->DeleteRegionStrategy(caller.tenant_id, request->strategy_id()));
    return router_->BumpConfigVersion(caller.tenant_id);
  });
}

grpc::Status RoutingAdminServiceImpl::ListRegionStrategies(
    grpc::ServerContext* context, const v1::ListRegionStrategiesRequest*,
    v1::ListRegionStrategiesResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller,
                          authenticator_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR}));
    KEFU_ASSIGN_OR_RETURN(auto strategies, store_->ListRegionStrategies(caller.tenant_id));
    for (auto& s : strategies) *response->add_strategies() = std::move(s);
    return absl::OkStatus();
  });
}

}  // namespace kefu::router
