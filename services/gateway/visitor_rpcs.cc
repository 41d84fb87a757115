// Website visitors online now (F5) and proactive invitations (F34): the agent's list, the
// invitation, and the visitor's own stream (Updates with an entry-point token).
#include <google/protobuf/util/time_util.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/common/status.h"
#include "libs/common/status_macros.h"
#include "libs/events/events.h"
#include "services/gateway/gateway_service.h"
#include "services/gateway/outbox.h"

namespace kefu::gateway {
namespace {

namespace cv1 = kefu::common::v1;
using google::protobuf::util::TimeUtil;

// How long an invitation stays pending for the visitor.
constexpr absl::Duration kInvitationTtl = absl::Minutes(2);
constexpr int kMaxInvitationChars = 500;

// The visitor is in a contact that has not ended.
bool InContact(Gateway& gateway, const std::string& tenant, const VisitorState& v) {
  if (v.contact_id.empty()) return false;
  auto c = gateway.store().Get(tenant, v.contact_id);
  return c.ok() && !c->ended();
}

}  // namespace

grpc::Status AgentGatewayServiceImpl::ListVisitors(grpc::ServerContext* context,
                                                   const v1::ListVisitorsRequest* request,
                                                   v1::ListVisitorsResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(
        auth::Claims caller,
        authn_->Require(*context, {cv1::ROLE_AGENT, cv1::ROLE_SUPERVISOR, cv1::ROLE_ADMIN}));
    if (request->page_size() < 0) return InvalidField("page_size", "must not be negative");
    const int size = request->page_size() == 0 ? 50 : std::min(request->page_size(), 200);
    int offset = 0;
    if (!request->page_token().empty() &&
        (!absl::SimpleAtoi(request->page_token(), &offset) || offset < 0)) {
      return InvalidField("page_token", "not a token this call returned");
    }
    const absl::Time now = absl::Now();
    KEFU_ASSIGN_OR_RETURN(
        auto online,
        gateway_->visitors().Online(caller.tenant_id, now - gateway_->settings().visitor_idle,
                                    offset, size + 1));
    for (size_t i = 0; i < online.size() && static_cast<int>(i) < size; ++i) {
      VisitorState& v = online[i];
      v1::VisitorView* view = response->add_visitors();
      view->set_visitor_id(v.visitor_id);
      if (v.customer) *view->mutable_customer() = *v.customer;
      *view->mutable_visit() = std::move(v.visit);
      view->set_in_contact(InContact(*gateway_, caller.tenant_id, v));
      view->set_invited(!v.invitation_id.empty() && v.invited_until > now);
    }
    if (static_cast<int>(online.size()) > size) {
      response->set_next_page_token(std::to_string(offset + size));
    }
    return absl::OkStatus();
  });
}

grpc::Status AgentGatewayServiceImpl::InviteVisitor(grpc::ServerContext* context,
                                                    const v1::InviteVisitorRequest* request,
                                                    v1::InviteVisitorResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller,
                          authn_->Require(*context, {cv1::ROLE_AGENT, cv1::ROLE_SUPERVISOR}));
    const std::string& tenant = caller.tenant_id;
    if (request->visitor_id().empty()) return InvalidField("visitor_id", "required");
    if (request->visitor_id().size() > 64) {
      return InvalidField("visitor_id", "at most 64 characters");
    }
    if (request->text().size() > kMaxInvitationChars * 4) {
      return InvalidField("text", "at most 500 characters");
    }
    if (request->idempotency_key().size() > 128) {
      return InvalidField("idempotency_key", "at most 128 characters");
    }
    if (!gateway_->TenantSettingsOf(tenant).invitations_enabled()) {
      return absl::FailedPreconditionError(
          "proactive invitations are switched off for this tenant (F34: tenant setting "
          "invitations_enabled)");
    }
    const absl::Time now = absl::Now();
    KEFU_ASSIGN_OR_RETURN(auto visitor, gateway_->visitors().Get(tenant, request->visitor_id()));
    if (!visitor || visitor->seen < now - gateway_->settings().visitor_idle) {
      return absl::NotFoundError(absl::StrCat("visitor_id: no visitor \"", request->visitor_id(),
                                              "\" is on the website now"));
    }
    if (InContact(*gateway_, tenant, *visitor)) {
      return absl::FailedPreconditionError(
          absl::StrCat("visitor ", request->visitor_id(), " is already in a contact"));
    }

    std::string invitation = auth::RandomId();
    if (!request->idempotency_key().empty()) {
      // A retry returns the first invitation.
      const std::string key = events::TenantKey(
          tenant, absl::StrCat("gw:idem:invite:", caller.subject, ":", request->idempotency_key()));
      KEFU_ASSIGN_OR_RETURN(
          auto claimed,
          gateway_->store().pool().Command({"SET", key, invitation, "NX", "GET", "EX", "86400"}));
      if (!redis::ReplyIsNil(*claimed)) {
        response->set_invitation_id(std::string(redis::ReplyString(*claimed)));
        return absl::OkStatus();
      }
    }
    KEFU_RETURN_IF_ERROR(gateway_->visitors().SetInvitation(tenant, request->visitor_id(),
                                                            invitation, caller.subject,
                                                            request->text(), now + kInvitationTtl));
    v1::CustomerGatewayServiceUpdatesResponse update;
    auto* invite = update.mutable_invitation();
    invite->set_invitation_id(invitation);
    *invite->mutable_agent() = gateway_->AgentSummaryOf(tenant, caller.subject);
    invite->set_text(request->text());
    KEFU_RETURN_IF_ERROR(gateway_->Publish(keys::VisitorChannel(tenant, request->visitor_id()),
                                           CustomerUpdate(0, update)));
    response->set_invitation_id(invitation);
    return absl::OkStatus();
  });
}

grpc::ServerWriteReactor<v1::CustomerGatewayServiceUpdatesResponse>* VisitorUpdates(
    Gateway* gateway, const auth::Claims& caller, const std::string& visitor_id) {
  using Update = v1::CustomerGatewayServiceUpdatesResponse;
  if (visitor_id.empty() || visitor_id.size() > 64) {
    return FailedStream<Update>(ToGrpcStatus(
        InvalidField("visitor_id",
                     "required with an entry-point token (the visitor whose invitations to "
                     "receive), at most 64 characters")));
  }
  const std::string tenant = caller.tenant_id;
  auto* stream = new UpdateStream<Update>(gateway->settings().stream_queue_limit);
  auto handle = std::make_shared<StreamHandle<UpdateStream<Update>>>(stream);
  const std::string channel = keys::VisitorChannel(tenant, visitor_id);
  const uint64_t sub = gateway->hub().Subscribe(
      channel,
      [handle](const std::string& payload) {
        Update u;
        if (u.ParseFromString(payload)) handle->With([&](auto& s) { s.Push(std::move(u)); });
      },
      [handle] {
        handle->With([](auto& s) {
          s.Close(grpc::Status(grpc::StatusCode::UNAVAILABLE, "relay interrupted; reconnect"),
                  true);
        });
      });
  stream->SetOnDone([gateway, handle, channel, sub] {
    handle->Clear();
    gateway->hub().Unsubscribe(channel, sub);
  });
  gateway->hub().WaitSubscribed(channel, 2000);
  // First update: the invitation still pending, if any (else an empty snapshot).
  Update first;
  auto known = gateway->visitors().Get(tenant, visitor_id);
  if (known.ok() && *known && !(*known)->invitation_id.empty() &&
      (*known)->invited_until > absl::Now()) {
    auto* invite = first.mutable_invitation();
    invite->set_invitation_id((*known)->invitation_id);
    *invite->mutable_agent() = gateway->AgentSummaryOf(tenant, (*known)->invited_by);
    invite->set_text((*known)->invitation_text);
  } else {
    first.mutable_snapshot();
  }
  *first.mutable_time() = TimeUtil::GetCurrentTime();
  stream->Open(std::move(first), 0);
  return stream;
}

}  // namespace kefu::gateway
