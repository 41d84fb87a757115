#include "services/gateway/gateway_service.h"

#include <google/protobuf/util/time_util.h>
#include <unistd.h>

#include <array>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/common/log.h"
#include "libs/common/status.h"
#include "libs/common/status_macros.h"
#include "libs/events/events.h"
#include "services/gateway/outbox.h"

namespace kefu::gateway {
namespace {

using google::protobuf::util::TimeUtil;
namespace cv1 = kefu::common::v1;
using cv1::ROLE_ADMIN;
using cv1::ROLE_AGENT;
using cv1::ROLE_CUSTOMER;
using cv1::ROLE_SERVICE;
using cv1::ROLE_SUPERVISOR;

absl::Status ValidateText(absl::string_view field, const std::string& text, int max_chars) {
  if (text.empty()) return InvalidField(field, "required");
  if (static_cast<int>(text.size()) > max_chars * 4) {
    return InvalidField(field, absl::StrCat("at most ", max_chars, " characters"));
  }
  return absl::OkStatus();
}

absl::Status ValidateKey(absl::string_view field, const std::string& key) {
  if (key.size() > 128) return InvalidField(field, "at most 128 characters");
  return absl::OkStatus();
}

cv1::Participant AgentParticipant(Gateway& gw, const std::string& tenant,
                                  const std::string& agent) {
  cv1::Participant p;
  p.set_type(cv1::PARTICIPANT_TYPE_AGENT);
  p.set_id(agent);
  p.set_display_name(gw.AgentSummaryOf(tenant, agent).nickname());
  return p;
}

// Where the customer is told the contact goes (F18): the agent, or the department's name
// unless the contact's entry point hides department names (F16). Best effort: the transfer
// has happened when this is asked.
v1::TransferNotice TransferNoticeOf(Gateway& gw, const Contact& c,
                                    const v1::TransferRequest& request) {
  v1::TransferNotice notice;
  if (request.target_case() == v1::TransferRequest::kAgentId) {
    *notice.mutable_to_agent() = gw.AgentSummaryOf(c.tenant_id, request.agent_id());
  } else if (request.target_case() == v1::TransferRequest::kDepartmentId) {
    if (!c.entry_point_id.empty()) {
      auto ep = gw.EntryPointOf(c.tenant_id, c.entry_point_id);
      if (!ep.ok() || ep->hide_department()) return notice;
    }
    kefu::router::v1::ListDepartmentsRequest req;
    req.set_tenant_id(c.tenant_id);
    req.set_page_size(1000);
    kefu::router::v1::ListDepartmentsResponse resp;
    auto ctx = gw.peers().Context(absl::Seconds(2));
    if (!gw.peers().routing_admin().ListDepartments(ctx.get(), req, &resp).ok()) return notice;
    for (const auto& d : resp.departments()) {
      if (d.department_id() == request.department_id()) *notice.mutable_to_department() = d.name();
    }
  }
  return notice;
}

// The agents in any of `departments` by their router profiles: a broadcast's audience (F37).
absl::StatusOr<std::set<std::string>> AgentsIn(
    Gateway& gw, const std::string& tenant,
    const google::protobuf::RepeatedPtrField<std::string>& departments) {
  const std::set<std::string> wanted(departments.begin(), departments.end());
  std::set<std::string> agents;
  std::string page;
  do {
    kefu::router::v1::ListAgentProfilesRequest req;
    req.set_tenant_id(tenant);
    req.set_page_token(page);
    kefu::router::v1::ListAgentProfilesResponse resp;
    auto ctx = gw.peers().Context();
    KEFU_RETURN_IF_ERROR(
        FromGrpc(gw.peers().routing_admin().ListAgentProfiles(ctx.get(), req, &resp), "router"));
    for (const auto& p : resp.profiles()) {
      for (const auto& d : p.department_ids()) {
        if (wanted.contains(d)) agents.insert(p.agent_id());
      }
    }
    page = resp.next_page_token();
  } while (!page.empty());
  return agents;
}

}  // namespace

std::string PeerIp(const std::string& peer) {
  std::string s = peer;
  if (absl::StartsWith(s, "ipv4:")) {
    s = s.substr(5);
    return s.substr(0, s.rfind(':'));
  }
  if (absl::StartsWith(s, "ipv6:")) {
    s = s.substr(5);
    s = s.substr(0, s.rfind(':'));
    if (s.size() >= 2 && s.front() == '[') s = s.substr(1, s.size() - 2);
    return s;
  }
  return "";
}

absl::StatusOr<auth::Claims> RequireCustomer(const auth::Authenticator& authn,
                                             const grpc::ServerContextBase& ctx) {
  KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authn.Require(ctx, {ROLE_CUSTOMER}));
  if (caller.contact_id.empty()) {
    return absl::PermissionDeniedError(
        "this call needs the customer token StartContact returned (bound to the contact)");
  }
  return caller;
}

// --- Customer side ------------------------------------------------------------------------

grpc::Status CustomerGatewayServiceImpl::StartContact(grpc::ServerContext* context,
                                                      const v1::StartContactRequest* request,
                                                      v1::StartContactResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller,
                          authn_->Require(*context, {ROLE_CUSTOMER, ROLE_SERVICE}));
    if (caller.tenant_id.empty()) {
      return absl::PermissionDeniedError(
          "StartContact needs a tenant's entry-point or service token, not a platform token");
    }
    if (!caller.contact_id.empty()) {
      return absl::PermissionDeniedError(
          "a customer token belongs to one contact; use an "
          "entry-point token to start another");
    }
    if (!caller.entry_point_id.empty() && !request->entry_point_id().empty() &&
        request->entry_point_id() != caller.entry_point_id) {
      return InvalidField("entry_point_id", "does not match the entry-point token");
    }
    if (request->channel() == cv1::CHANNEL_UNSPECIFIED ||
        !cv1::Channel_IsValid(request->channel())) {
      return InvalidField("channel", "must be VOICE, CHAT, APP or EMAIL");
    }
    if (request->caller_number().empty() && request->visitor_id().empty() &&
        request->email().empty() && request->im_account().empty()) {
      return InvalidField("caller_number",
                          "one of caller_number, visitor_id, email or im_account is required");
    }
    for (const auto* f : {&request->caller_number(), &request->visitor_id(), &request->email(),
                          &request->im_account(), &request->entry_point_id(),
                          &request->requested_department_id(), &request->requested_agent_id()}) {
      if (f->size() > 256)
        return InvalidField("caller_number", "identifiers are at most 256 bytes");
    }
    if (request->first_message().size() > 20000) {
      return InvalidField("first_message", "at most 5000 characters");
    }
    KEFU_RETURN_IF_ERROR(ValidateKey("idempotency_key", request->idempotency_key()));
    // A widget's address is the peer's; a SERVICE caller (IVR proxy) passes the client's.
    std::string ip = PeerIp(context->peer());
    if (caller.role == ROLE_SERVICE && !request->ip().empty()) ip = request->ip();
    KEFU_ASSIGN_OR_RETURN(*response, gateway_->StartContact(caller, *request, ip));
    return absl::OkStatus();
  });
}

grpc::ServerWriteReactor<v1::CustomerGatewayServiceUpdatesResponse>*
CustomerGatewayServiceImpl::Updates(grpc::CallbackServerContext* context,
                                    const v1::CustomerGatewayServiceUpdatesRequest* request) {
  using Update = v1::CustomerGatewayServiceUpdatesResponse;
  if (auto visitor = authn_->Require(*context, {ROLE_CUSTOMER});
      visitor.ok() && visitor->contact_id.empty()) {
    return VisitorUpdates(gateway_, *visitor, request->visitor_id());
  }
  auto caller = RequireCustomer(*authn_, *context);
  if (!caller.ok()) return FailedStream<Update>(ToGrpcStatus(caller.status()));
  const std::string tenant = caller->tenant_id;
  const std::string contact_id = caller->contact_id;
  auto contact = gateway_->store().Get(tenant, contact_id);
  if (!contact.ok()) return FailedStream<Update>(ToGrpcStatus(contact.status()));

  auto* stream = new UpdateStream<Update>(gateway_->settings().stream_queue_limit);
  auto handle = std::make_shared<StreamHandle<UpdateStream<Update>>>(stream);
  const std::string channel = keys::CustomerChannel(tenant, contact_id);
  Hub& hub = gateway_->hub();
  const uint64_t sub = hub.Subscribe(
      channel,
      [handle](const std::string& payload) {
        Update u;
        if (!u.ParseFromString(payload)) return;
        const bool ended = u.has_ended();
        handle->With([&](auto& s) {
          s.Push(std::move(u));
          if (ended) s.Close(grpc::Status::OK, true);
        });
      },
      [handle] {
        handle->With([](auto& s) {
          s.Close(grpc::Status(grpc::StatusCode::UNAVAILABLE, "relay interrupted; resume"), true);
        });
      });
  Gateway* gw = gateway_;
  stream->SetOnDone([gw, handle, channel, sub, tenant, contact_id] {
    handle->Clear();
    gw->hub().Unsubscribe(channel, sub);
    // The customer went away: the dialog is greyed for the agent, not ended (F31).
    auto c = gw->store().Get(tenant, contact_id);
    if (c.ok() && !c->ended()) {
      (void)gw->store().pool().Command(
          {"HSET", keys::Contact(tenant, contact_id), field::kCustomerOnline, "0"});
      if (!c->agent_id.empty()) {
        v1::AgentGatewayServiceUpdatesResponse au;
        au.mutable_customer_presence()->set_dialog_id(c->dialog_id);
        au.mutable_customer_presence()->set_online(false);
        (void)gw->Publish(keys::AgentChannel(tenant, c->agent_id), AgentUpdate(au));
      }
    }
  });
  hub.WaitSubscribed(channel, 2000);

  // Snapshot after subscribing: nothing published in between is lost; older updates are
  // dropped by sequence.
  auto now = gateway_->store().Get(tenant, contact_id);
  if (!now.ok()) {
    stream->Close(ToGrpcStatus(now.status()), false);
    return stream;
  }
  Update first;
  auto snapshot = gateway_->SnapshotOf(*now);
  if (!snapshot.ok()) {
    stream->Close(ToGrpcStatus(snapshot.status()), false);
    return stream;
  }
  *first.mutable_snapshot() = std::move(*snapshot);
  first.set_sequence(now->version);
  *first.mutable_time() = TimeUtil::GetCurrentTime();
  stream->Open(std::move(first), now->version);
  if (now->ended()) {
    Update ended;
    ended.set_sequence(now->version);
    ended.mutable_ended()->set_end_type(now->end_type);
    ended.mutable_ended()->set_rating_allowed(now->first_assigned_ms > 0 && !now->rated);
    // Sequence equal to the snapshot's would be dropped; send it as part of the close.
    ended.set_sequence(0);
    stream->Push(std::move(ended));
    stream->Close(grpc::Status::OK, true);
  } else {
    (void)gateway_->store().pool().Command(
        {"HSET", keys::Contact(tenant, contact_id), field::kCustomerOnline, "1"});
    if (!now->agent_id.empty()) {
      v1::AgentGatewayServiceUpdatesResponse au;
      au.mutable_customer_presence()->set_dialog_id(now->dialog_id);
      au.mutable_customer_presence()->set_online(true);
      (void)gateway_->Publish(keys::AgentChannel(tenant, now->agent_id), AgentUpdate(au));
    }
  }
  (void)request;
  return stream;
}

grpc::Status CustomerGatewayServiceImpl::Send(grpc::ServerContext* context,
                                              const v1::CustomerGatewayServiceSendRequest* request,
                                              v1::CustomerGatewayServiceSendResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, RequireCustomer(*authn_, *context));
    KEFU_RETURN_IF_ERROR(
        ValidateText("text", request->text(), gateway_->settings().max_message_chars));
    KEFU_RETURN_IF_ERROR(ValidateKey("idempotency_key", request->idempotency_key()));
    KEFU_ASSIGN_OR_RETURN(Contact c, gateway_->store().Get(caller.tenant_id, caller.contact_id));
    cv1::Participant me;
    me.set_type(cv1::PARTICIPANT_TYPE_CUSTOMER);
    me.set_id(c.customer_id);
    me.set_display_name(c.customer_name);
    KEFU_ASSIGN_OR_RETURN(
        *response->mutable_message(),
        gateway_->PostMessage(caller.tenant_id, caller.contact_id, me, request->text(),
                              request->idempotency_key(), nullptr, &c));
    // With a bot, the bot answers (F42); its reply arrives on the Updates stream.
    if (c.state == cv1::CONTACT_STATE_BOT) {
      if (auto st = gateway_->BotTurn(caller.tenant_id, caller.contact_id, request->text());
          !st.ok()) {
        log::Warn("bot turn failed",
                  {{"tenant", caller.tenant_id}, {"error", std::string(st.message())}});
      }
    }
    return absl::OkStatus();
  });
}

grpc::Status CustomerGatewayServiceImpl::Typing(
    grpc::ServerContext* context, const v1::CustomerGatewayServiceTypingRequest* request,
    v1::CustomerGatewayServiceTypingResponse*) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, RequireCustomer(*authn_, *context));
    if (request->draft().size() > static_cast<size_t>(gateway_->settings().max_message_chars) * 4) {
      return InvalidField("draft", "longer than a message may be");
    }
    return gateway_->CustomerTyping(caller.tenant_id, caller.contact_id, request->draft());
  });
}

grpc::Status CustomerGatewayServiceImpl::End(grpc::ServerContext* context,
                                             const v1::EndRequest* request,
                                             v1::EndResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, RequireCustomer(*authn_, *context));
    KEFU_RETURN_IF_ERROR(ValidateKey("idempotency_key", request->idempotency_key()));
    KEFU_ASSIGN_OR_RETURN(Contact c, gateway_->End(caller.tenant_id, caller.contact_id,
                                                   cv1::DIALOG_END_TYPE_CUSTOMER, nullptr, ""));
    response->set_end_type(c.end_type);
    response->set_rating_allowed(c.first_assigned_ms > 0 && !c.rated);
    return absl::OkStatus();
  });
}

grpc::Status CustomerGatewayServiceImpl::Rate(grpc::ServerContext* context,
                                              const v1::RateRequest* request,
                                              v1::RateResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, RequireCustomer(*authn_, *context));
    if (request->score() < 1 || request->score() > 5) return InvalidField("score", "must be 1..5");
    if (request->comment().size() > 4000) return InvalidField("comment", "at most 1000 characters");
    KEFU_RETURN_IF_ERROR(ValidateKey("idempotency_key", request->idempotency_key()));
    KEFU_RETURN_IF_ERROR(gateway_->Rate(caller.tenant_id, caller.contact_id, request->score(),
                                        request->comment(), request->idempotency_key()));
    KEFU_ASSIGN_OR_RETURN(Contact c, gateway_->store().Get(caller.tenant_id, caller.contact_id));
    response->set_dialog_id(c.dialog_id);
    return absl::OkStatus();
  });
}

grpc::Status CustomerGatewayServiceImpl::LeaveMessage(grpc::ServerContext* context,
                                                      const v1::LeaveMessageRequest* request,
                                                      v1::LeaveMessageResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller,
                          authn_->Require(*context, {ROLE_CUSTOMER, ROLE_SERVICE}));
    if (caller.tenant_id.empty()) {
      return absl::PermissionDeniedError("LeaveMessage needs a tenant's token");
    }
    KEFU_RETURN_IF_ERROR(ValidateText("content", request->content(), 5000));
    KEFU_RETURN_IF_ERROR(ValidateKey("idempotency_key", request->idempotency_key()));
    kefu::crm::v1::CreateOfflineMessageRequest req;
    req.set_tenant_id(caller.tenant_id);
    auto* m = req.mutable_offline_message();
    m->set_content(request->content());
    *m->mutable_form_fields() = request->form_fields();
    m->set_department_id(request->department_id());
    m->set_entry_point_id(caller.entry_point_id);
    std::optional<Contact> contact;
    if (!caller.contact_id.empty()) {
      KEFU_ASSIGN_OR_RETURN(Contact c, gateway_->store().Get(caller.tenant_id, caller.contact_id));
      m->set_customer_id(c.customer_id);
      m->set_contact_id(c.contact_id);
      m->set_visitor_id(c.visitor_id);
      m->set_channel(c.channel);
      if (m->department_id().empty()) m->set_department_id(c.department_id);
      if (m->entry_point_id().empty()) m->set_entry_point_id(c.entry_point_id);
      contact = std::move(c);
    } else {
      m->set_visitor_id(request->visitor_id());
      m->set_channel(cv1::CHANNEL_CHAT);
    }
    req.set_idempotency_key(request->idempotency_key().empty()
                                ? (contact ? "offline:" + contact->contact_id : "")
                                : request->idempotency_key());
    kefu::crm::v1::CreateOfflineMessageResponse resp;
    auto ctx = gateway_->peers().Context();
    KEFU_RETURN_IF_ERROR(
        FromGrpc(gateway_->peers().records().CreateOfflineMessage(ctx.get(), req, &resp), "crm"));
    response->set_offline_message_id(resp.offline_message().offline_message_id());
    // A waiting contact that leaves a message stops waiting (F33).
    if (contact && !contact->ended() && contact->agent_id.empty()) {
      KEFU_RETURN_IF_ERROR(gateway_
                               ->End(caller.tenant_id, contact->contact_id,
                                     cv1::DIALOG_END_TYPE_OFFLINE_MESSAGE, nullptr, "")
                               .status());
    }
    return absl::OkStatus();
  });
}

// --- Agent side ---------------------------------------------------------------------------

absl::StatusOr<Contact> AgentGatewayServiceImpl::ServedContact(const auth::Claims& caller,
                                                               const std::string& dialog_id) {
  if (dialog_id.empty()) return InvalidField("dialog_id", "required");
  if (dialog_id.size() > 64) return InvalidField("dialog_id", "at most 64 characters");
  KEFU_ASSIGN_OR_RETURN(std::string contact_id,
                        gateway_->store().ContactOfDialog(caller.tenant_id, dialog_id));
  KEFU_ASSIGN_OR_RETURN(Contact c, gateway_->store().Get(caller.tenant_id, contact_id));
  if (c.agent_id != caller.subject) {
    return absl::PermissionDeniedError(
        absl::StrCat("dialog_id: you are not serving dialog ", dialog_id));
  }
  return c;
}

grpc::ServerWriteReactor<v1::AgentGatewayServiceUpdatesResponse>* AgentGatewayServiceImpl::Updates(
    grpc::CallbackServerContext* context, const v1::AgentGatewayServiceUpdatesRequest* request) {
  using Update = v1::AgentGatewayServiceUpdatesResponse;
  auto caller = authn_->Require(*context, {ROLE_AGENT, ROLE_SUPERVISOR, ROLE_ADMIN});
  if (!caller.ok()) return FailedStream<Update>(ToGrpcStatus(caller.status()));
  const std::string tenant = caller->tenant_id;
  const std::string agent = caller->subject;

  auto* stream = new UpdateStream<Update>(gateway_->settings().stream_queue_limit);
  auto handle = std::make_shared<StreamHandle<UpdateStream<Update>>>(stream);
  auto sink = [handle](const std::string& payload) {
    Update u;
    if (!u.ParseFromString(payload)) return;
    handle->With([&](auto& s) { s.Push(std::move(u)); });
  };
  auto lost = [handle] {
    handle->With([](auto& s) {
      s.Close(grpc::Status(grpc::StatusCode::UNAVAILABLE, "relay interrupted; resume"), true);
    });
  };
  const std::string own = keys::AgentChannel(tenant, agent);
  const std::string all = keys::BroadcastChannel(tenant);
  Hub& hub = gateway_->hub();
  const uint64_t sub_own = hub.Subscribe(own, sink, lost);
  const uint64_t sub_all = hub.Subscribe(all, sink, lost);
  auto& pool = gateway_->store().pool();
  (void)pool.Command({"HINCRBY", keys::AgentStreams(tenant), agent, "1"});
  Gateway* gw = gateway_;
  stream->SetOnDone([gw, handle, own, all, sub_own, sub_all, tenant, agent] {
    handle->Clear();
    gw->hub().Unsubscribe(own, sub_own);
    gw->hub().Unsubscribe(all, sub_all);
    (void)gw->store().pool().Command({"HINCRBY", keys::AgentStreams(tenant), agent, "-1"});
  });
  hub.WaitSubscribed(own, 2000);
  hub.WaitSubscribed(all, 2000);

  // Snapshot: the dialogs the agent serves, the offers on screen, the status.
  Update first;
  auto* snap = first.mutable_snapshot();
  auto dialogs = pool.Command({"SMEMBERS", keys::AgentDialogs(tenant, agent)});
  if (dialogs.ok()) {
    for (size_t i = 0; i < (*dialogs)->elements; ++i) {
      auto c = gateway_->store().Get(tenant, redis::ReplyText((*dialogs)->element[i]));
      if (!c.ok() || c->ended() || c->agent_id != agent) continue;
      auto d = gateway_->ActiveDialogOf(*c);
      if (d.ok()) *snap->add_dialogs() = std::move(*d);
    }
  }
  auto offers = pool.Command({"HVALS", keys::AgentOffers(tenant, agent)});
  if (offers.ok()) {
    for (size_t i = 0; i < (*offers)->elements; ++i) {
      v1::Offer o;
      if (o.ParseFromString(redis::ReplyText((*offers)->element[i])))
        *snap->add_offers() = std::move(o);
    }
  }
  auto status = pool.Command({"HGET", events::TenantKey(tenant, "agent:" + agent), "status"});
  if (status.ok()) snap->set_status(static_cast<cv1::AgentStatus>(redis::ReplyInt(status->get())));
  *first.mutable_time() = TimeUtil::GetCurrentTime();
  stream->Open(std::move(first), 0);
  (void)request;
  return stream;
}

grpc::ServerWriteReactor<v1::MonitorResponse>* AgentGatewayServiceImpl::Monitor(
    grpc::CallbackServerContext* context, const v1::MonitorRequest* request) {
  using Update = v1::MonitorResponse;
  auto caller = authn_->Require(*context, {ROLE_SUPERVISOR, ROLE_ADMIN});
  if (!caller.ok()) return FailedStream<Update>(ToGrpcStatus(caller.status()));
  if (request->dialog_id().empty())
    return FailedStream<Update>(ToGrpcStatus(InvalidField("dialog_id", "required")));
  const std::string tenant = caller->tenant_id;
  auto contact_id = gateway_->store().ContactOfDialog(tenant, request->dialog_id());
  if (!contact_id.ok()) return FailedStream<Update>(ToGrpcStatus(contact_id.status()));

  auto* stream = new UpdateStream<Update>(gateway_->settings().stream_queue_limit);
  auto handle = std::make_shared<StreamHandle<UpdateStream<Update>>>(stream);
  const std::string channel = keys::MonitorChannel(tenant, *contact_id);
  Hub& hub = gateway_->hub();
  const uint64_t sub = hub.Subscribe(
      channel,
      [handle](const std::string& payload) {
        Update u;
        if (!u.ParseFromString(payload)) return;
        const bool ended = u.has_ended();
        handle->With([&](auto& s) {
          s.Push(std::move(u));
          if (ended) s.Close(grpc::Status::OK, true);
        });
      },
      [handle] {
        handle->With([](auto& s) {
          s.Close(grpc::Status(grpc::StatusCode::UNAVAILABLE, "relay interrupted; resume"), true);
        });
      });
  Gateway* gw = gateway_;
  stream->SetOnDone([gw, handle, channel, sub] {
    handle->Clear();
    gw->hub().Unsubscribe(channel, sub);
  });
  hub.WaitSubscribed(channel, 2000);
  auto c = gateway_->store().Get(tenant, *contact_id);
  if (!c.ok()) {
    stream->Close(ToGrpcStatus(c.status()), false);
    return stream;
  }
  auto d = gateway_->ActiveDialogOf(*c);
  if (!d.ok()) {
    stream->Close(ToGrpcStatus(d.status()), false);
    return stream;
  }
  Update first;
  *first.mutable_snapshot() = std::move(*d);
  // Messages already in the snapshot may also arrive live: the client dedupes by sequence.
  stream->Open(std::move(first), 0);
  if (c->ended()) {
    Update ended;
    ended.mutable_ended()->set_dialog_id(c->dialog_id);
    ended.mutable_ended()->set_end_type(c->end_type);
    stream->Push(std::move(ended));
    stream->Close(grpc::Status::OK, true);
  }
  return stream;
}

grpc::Status AgentGatewayServiceImpl::Accept(grpc::ServerContext* context,
                                             const v1::AcceptRequest* request,
                                             v1::AcceptResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller,
                          authn_->Require(*context, {ROLE_AGENT, ROLE_SUPERVISOR}));
    if (request->offer_id().empty()) return InvalidField("offer_id", "required");
    if (request->offer_id().size() > 128) return InvalidField("offer_id", "at most 128 characters");
    KEFU_RETURN_IF_ERROR(ValidateKey("idempotency_key", request->idempotency_key()));
    kefu::router::v1::AcceptOfferRequest req;
    req.set_tenant_id(caller.tenant_id);
    req.set_offer_id(request->offer_id());
    req.set_agent_id(caller.subject);
    req.set_idempotency_key(request->idempotency_key().empty() ? "accept:" + request->offer_id()
                                                               : request->idempotency_key());
    kefu::router::v1::AcceptOfferResponse resp;
    auto ctx = gateway_->peers().Context();
    KEFU_RETURN_IF_ERROR(
        FromGrpc(gateway_->peers().routing().AcceptOffer(ctx.get(), req, &resp), "router"));
    KEFU_ASSIGN_OR_RETURN(Contact c,
                          gateway_->Assign(caller.tenant_id, resp.contact_id(), caller.subject,
                                           resp.queue_id(), resp.department_id()));
    KEFU_ASSIGN_OR_RETURN(*response->mutable_dialog(), gateway_->ActiveDialogOf(c));
    return absl::OkStatus();
  });
}

grpc::Status AgentGatewayServiceImpl::Reject(grpc::ServerContext* context,
                                             const v1::RejectRequest* request,
                                             v1::RejectResponse*) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller,
                          authn_->Require(*context, {ROLE_AGENT, ROLE_SUPERVISOR}));
    if (request->offer_id().empty()) return InvalidField("offer_id", "required");
    if (request->reason().size() > 1000) return InvalidField("reason", "at most 1000 bytes");
    KEFU_RETURN_IF_ERROR(ValidateKey("idempotency_key", request->idempotency_key()));
    kefu::router::v1::RejectOfferRequest req;
    req.set_tenant_id(caller.tenant_id);
    req.set_offer_id(request->offer_id());
    req.set_agent_id(caller.subject);
    req.set_reason(request->reason());
    req.set_idempotency_key(request->idempotency_key().empty() ? "reject:" + request->offer_id()
                                                               : request->idempotency_key());
    kefu::router::v1::RejectOfferResponse resp;
    auto ctx = gateway_->peers().Context();
    return FromGrpc(gateway_->peers().routing().RejectOffer(ctx.get(), req, &resp), "router");
  });
}

grpc::Status AgentGatewayServiceImpl::Send(grpc::ServerContext* context,
                                           const v1::AgentGatewayServiceSendRequest* request,
                                           v1::AgentGatewayServiceSendResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller,
                          authn_->Require(*context, {ROLE_AGENT, ROLE_SUPERVISOR}));
    KEFU_RETURN_IF_ERROR(
        ValidateText("text", request->text(), gateway_->settings().max_message_chars));
    KEFU_RETURN_IF_ERROR(ValidateKey("idempotency_key", request->idempotency_key()));
    KEFU_ASSIGN_OR_RETURN(Contact c, ServedContact(caller, request->dialog_id()));
    KEFU_ASSIGN_OR_RETURN(
        *response->mutable_message(),
        gateway_->PostMessage(caller.tenant_id, c.contact_id,
                              AgentParticipant(*gateway_, caller.tenant_id, caller.subject),
                              request->text(), request->idempotency_key(), nullptr, &c));
    return absl::OkStatus();
  });
}

grpc::Status AgentGatewayServiceImpl::Typing(grpc::ServerContext* context,
                                             const v1::AgentGatewayServiceTypingRequest* request,
                                             v1::AgentGatewayServiceTypingResponse*) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller,
                          authn_->Require(*context, {ROLE_AGENT, ROLE_SUPERVISOR}));
    KEFU_ASSIGN_OR_RETURN(Contact c, ServedContact(caller, request->dialog_id()));
    return gateway_->AgentTyping(caller.tenant_id, caller.subject, c.contact_id, request->typing());
  });
}

grpc::Status AgentGatewayServiceImpl::Transfer(grpc::ServerContext* context,
                                               const v1::TransferRequest* request,
                                               v1::TransferResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller,
                          authn_->Require(*context, {ROLE_AGENT, ROLE_SUPERVISOR}));
    KEFU_RETURN_IF_ERROR(ValidateKey("idempotency_key", request->idempotency_key()));
    if (request->note().size() > 4000) return InvalidField("note", "at most 1000 characters");
    KEFU_ASSIGN_OR_RETURN(Contact c, ServedContact(caller, request->dialog_id()));
    kefu::router::v1::TransferRequest req;
    req.set_tenant_id(caller.tenant_id);
    req.set_contact_id(c.contact_id);
    req.set_from_agent_id(caller.subject);
    switch (request->target_case()) {
      case v1::TransferRequest::kAgentId:
        if (request->agent_id() == caller.subject) {
          return InvalidField("agent_id", "cannot transfer a dialog to yourself");
        }
        req.set_to_agent_id(request->agent_id());
        break;
      case v1::TransferRequest::kDepartmentId:
        req.set_to_department_id(request->department_id());
        break;
      case v1::TransferRequest::kBotId:
        req.set_to_bot_id(request->bot_id());
        break;
      default:
        return InvalidField("agent_id", "one of agent_id, department_id or bot_id is required");
    }
    req.set_note(request->note());
    req.set_idempotency_key(request->idempotency_key().empty()
                                ? absl::StrCat("transfer:", c.contact_id, ":", c.version)
                                : request->idempotency_key());
    kefu::router::v1::TransferResponse resp;
    auto ctx = gateway_->peers().Context();
    KEFU_RETURN_IF_ERROR(
        gateway_->CountTransfer(caller.tenant_id, c.contact_id, 1, request->note()));
    if (auto st = FromGrpc(gateway_->peers().routing().Transfer(ctx.get(), req, &resp), "router");
        !st.ok()) {
      (void)gateway_->CountTransfer(caller.tenant_id, c.contact_id, -1);
      return st;
    }
    response->set_transfer_id(resp.transfer_id());
    response->set_state(resp.routing().state());
    KEFU_RETURN_IF_ERROR(gateway_->TransferAway(caller.tenant_id, c.contact_id, caller.subject,
                                                resp.transfer_id(), resp.routing().state(),
                                                TransferNoticeOf(*gateway_, c, *request)));
    return absl::OkStatus();
  });
}

grpc::Status AgentGatewayServiceImpl::InviteRating(grpc::ServerContext* context,
                                                   const v1::InviteRatingRequest* request,
                                                   v1::InviteRatingResponse*) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller,
                          authn_->Require(*context, {ROLE_AGENT, ROLE_SUPERVISOR}));
    KEFU_ASSIGN_OR_RETURN(Contact c, ServedContact(caller, request->dialog_id()));
    v1::CustomerGatewayServiceUpdatesResponse cu;
    cu.mutable_rating_invitation()->set_dialog_id(c.dialog_id);
    cu.mutable_rating_invitation()->set_from_agent(true);
    return gateway_->Publish(keys::CustomerChannel(caller.tenant_id, c.contact_id),
                             CustomerUpdate(0, cu));
  });
}

grpc::Status AgentGatewayServiceImpl::Close(grpc::ServerContext* context,
                                            const v1::CloseRequest* request,
                                            v1::CloseResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller,
                          authn_->Require(*context, {ROLE_AGENT, ROLE_SUPERVISOR}));
    if (!request->has_summary() ||
        (request->summary().text().empty() && request->summary().category().empty())) {
      return InvalidField("summary", "required: a category or a text (F31)");
    }
    if (request->summary().text().size() > 20000)
      return InvalidField("summary", "text at most 5000 characters");
    KEFU_RETURN_IF_ERROR(ValidateKey("idempotency_key", request->idempotency_key()));
    if (request->dialog_id().empty()) return InvalidField("dialog_id", "required");
    KEFU_ASSIGN_OR_RETURN(std::string contact_id, gateway_->store().ContactOfDialog(
                                                      caller.tenant_id, request->dialog_id()));
    KEFU_ASSIGN_OR_RETURN(Contact before, gateway_->store().Get(caller.tenant_id, contact_id));
    if (!before.ended() && before.agent_id != caller.subject) {
      return absl::PermissionDeniedError(
          absl::StrCat("dialog_id: you are not serving dialog ", request->dialog_id()));
    }
    KEFU_ASSIGN_OR_RETURN(Contact c,
                          gateway_->End(caller.tenant_id, contact_id, cv1::DIALOG_END_TYPE_AGENT,
                                        &request->summary(), before.ended() ? "" : caller.subject));
    response->set_valid(c.customer_messages > 0);
    *response->mutable_duration() = TimeUtil::MillisecondsToDuration(c.end_ms - c.start_ms);
    return absl::OkStatus();
  });
}

grpc::Status AgentGatewayServiceImpl::PickUp(grpc::ServerContext* context,
                                             const v1::PickUpRequest* request,
                                             v1::PickUpResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller,
                          authn_->Require(*context, {ROLE_AGENT, ROLE_SUPERVISOR}));
    KEFU_RETURN_IF_ERROR(ValidateKey("idempotency_key", request->idempotency_key()));
    kefu::router::v1::PickUpRequest req;
    req.set_tenant_id(caller.tenant_id);
    req.set_agent_id(caller.subject);
    req.set_queue_id(request->queue_id());
    req.set_contact_id(request->contact_id());
    req.set_idempotency_key(request->idempotency_key());
    kefu::router::v1::PickUpResponse resp;
    auto ctx = gateway_->peers().Context();
    KEFU_RETURN_IF_ERROR(
        FromGrpc(gateway_->peers().routing().PickUp(ctx.get(), req, &resp), "router"));
    KEFU_ASSIGN_OR_RETURN(Contact c, gateway_->Assign(caller.tenant_id, resp.contact_id(),
                                                      caller.subject, resp.queue_id(), ""));
    KEFU_ASSIGN_OR_RETURN(*response->mutable_dialog(), gateway_->ActiveDialogOf(c));
    return absl::OkStatus();
  });
}

grpc::Status AgentGatewayServiceImpl::Broadcast(grpc::ServerContext* context,
                                                const v1::BroadcastRequest* request,
                                                v1::BroadcastResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authn_->Require(*context, {ROLE_ADMIN}));
    KEFU_RETURN_IF_ERROR(
        ValidateText("text", request->text(), gateway_->settings().max_message_chars));
    KEFU_RETURN_IF_ERROR(ValidateKey("idempotency_key", request->idempotency_key()));
    const std::string id = auth::RandomId();
    v1::AgentGatewayServiceUpdatesResponse au;
    auto* b = au.mutable_broadcast();
    b->set_broadcast_id(id);
    b->mutable_sender()->set_agent_id(caller.subject);
    b->set_text(request->text());
    auto event = gateway_->NewEvent(caller.tenant_id);
    event.mutable_actor()->set_role(caller.role);
    event.mutable_actor()->set_subject(caller.subject);
    auto* sent = event.mutable_broadcast_sent();
    sent->set_broadcast_id(id);
    sent->set_sender_id(caller.subject);
    sent->set_text(request->text());
    for (const auto& d : request->department_ids()) {
      KEFU_RETURN_IF_ERROR(ValidateKey("department_ids", d));
      sent->add_department_ids(d);
    }
    std::set<std::string> audience;
    if (!request->department_ids().empty()) {
      KEFU_ASSIGN_OR_RETURN(audience,
                            AgentsIn(*gateway_, caller.tenant_id, request->department_ids()));
    }
    auto& pool = gateway_->store().pool();
    KEFU_RETURN_IF_ERROR(
        pool.Command({"XADD", events::StreamKey(caller.tenant_id), "MAXLEN", "~", "1000000", "*",
                      "type", "broadcast_sent", "event", event.SerializeAsString()})
            .status());
    // Agents with an open desktop stream, on any replica.
    int delivered = 0;
    if (request->department_ids().empty()) {
      KEFU_RETURN_IF_ERROR(
          gateway_->Publish(keys::BroadcastChannel(caller.tenant_id), AgentUpdate(au)));
      KEFU_ASSIGN_OR_RETURN(redis::Reply streams,
                            pool.Command({"HVALS", keys::AgentStreams(caller.tenant_id)}));
      for (size_t i = 0; i < streams->elements; ++i) {
        if (redis::ReplyInt(streams->element[i]) > 0) ++delivered;
      }
    } else {
      // Only the departments' agents, each on its own channel.
      for (const std::string& agent : audience) {
        KEFU_RETURN_IF_ERROR(
            gateway_->Publish(keys::AgentChannel(caller.tenant_id, agent), AgentUpdate(au)));
        KEFU_ASSIGN_OR_RETURN(redis::Reply streams,
                              pool.Command({"HGET", keys::AgentStreams(caller.tenant_id), agent}));
        if (redis::ReplyInt(streams.get()) > 0) ++delivered;
      }
    }
    response->set_broadcast_id(id);
    response->set_delivered_count(delivered);
    return absl::OkStatus();
  });
}

// --- Wiring -------------------------------------------------------------------------------

namespace {}  // namespace

absl::Status SetupWith(server::ServiceContext& ctx, const GatewaySettings& settings) {
  auto store = std::make_shared<ContactStore>(ctx.redis());
  auto hub = std::make_shared<Hub>(ctx.redis_url());
  auto peers = std::make_shared<Peers>(&ctx.token_codec(), ctx.config().peers);
  auto gateway =
      std::make_shared<Gateway>(store.get(), hub.get(), peers.get(), &ctx.token_codec(), settings);
  ctx.Keep(store);
  ctx.Keep(hub);
  ctx.Keep(peers);
  ctx.Keep(gateway);
  auto metrics = std::make_shared<GatewayMetrics>(ctx.registry());
  ctx.Keep(metrics);
  gateway->set_metrics(metrics.get());
  ctx.AddService(std::make_unique<CustomerGatewayServiceImpl>(gateway.get(), &ctx.authenticator()),
                 v1::CustomerGatewayService::service_full_name());
  ctx.AddService(std::make_unique<AgentGatewayServiceImpl>(gateway.get(), &ctx.authenticator()),
                 v1::AgentGatewayService::service_full_name());

  ctx.AddWorker("gateway pub/sub", [hub](std::stop_token stop) { hub->Run(stop); });

  // Offers, assignments, status changes and ratings from the other services become
  // updates on the sessions' channels; one replica handles each event.
  events::ConsumerOptions options;
  options.group = settings.event_group;
  options.consumer = events::ConsumerName("gw");
  options.block = absl::Milliseconds(500);
  options.tenant_refresh = absl::Milliseconds(500);
  options.claim_idle = absl::Seconds(10);
  auto url = ctx.redis_url();
  ctx.AddWorker("gateway events", [gateway, url, options](std::stop_token stop) {
    events::Consumer consumer(url, options);
    while (!stop.stop_requested()) {
      auto batch = consumer.Poll();
      if (!batch.ok()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        continue;
      }
      // One XACK for what the poll brought (not one per event: most are messages the
      // gateway ignores here, and each round trip competes with the sessions' work).
      std::vector<const events::Delivery*> handled;
      handled.reserve(batch->size());
      for (const auto& d : *batch) {
        // Draining: what is left of the batch stays pending and another replica claims it.
        if (stop.stop_requested()) break;
        gateway->OnEvent(d.event);
        handled.push_back(&d);
      }
      if (!handled.empty()) (void)consumer.Ack(handled);
    }
  });

  ctx.AddWorker("gateway sweeper", [gateway, store, metrics](std::stop_token stop) {
    while (!stop.stop_requested()) {
      std::vector<std::string> tenants;
      {
        auto lease = store->pool().Acquire();
        if (lease.ok()) {
          auto listed = events::ListTenants(**lease);
          if (listed.ok()) tenants = std::move(*listed);
        }
      }
      for (const auto& t : tenants) {
        gateway->SweepSilence(t);
        gateway->SweepVerification(t);
        gateway->SweepRouterEnds(t);
        const std::string key = keys::ActiveDialogs(t);
        auto active = store->pool().Command({"SCARD", key});
        if (active.ok()) metrics->SetActiveDialogs(t, redis::ReplyInt(active->get()));
      }
      const auto wait = absl::ToChronoMilliseconds(gateway->settings().sweep_interval);
      for (auto waited = std::chrono::milliseconds(0); waited < wait && !stop.stop_requested();
           waited += std::chrono::milliseconds(50)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  });
  return absl::OkStatus();
}

absl::Status Setup(server::ServiceContext& ctx) { return SetupWith(ctx, GatewaySettings{}); }

server::ServiceDefinition Definition(GatewaySettings settings) {
  auto shared = std::make_shared<GatewaySettings>(std::move(settings));
  return {.name = "gateway",
          .register_flags = nullptr,
          .setup = [shared](server::ServiceContext& ctx) { return SetupWith(ctx, *shared); }};
}

server::ServiceDefinition Definition() {
  auto settings = std::make_shared<GatewaySettings>();
  return {.name = "gateway",
          .register_flags =
              [settings](FlagSet& flags) {
                flags.Duration("silence-timeout", "KEFU_SILENCE_TIMEOUT",
                               "a dialog ends after this long of customer silence following an "
                               "agent message (F31)",
                               &settings->silence_timeout);
                flags.String("event-group", "KEFU_GATEWAY_EVENT_GROUP",
                             "consumer group reading the tenants' event streams (one per "
                             "deployment)",
                             &settings->event_group);
                flags.Int("stream-queue-limit", "KEFU_STREAM_QUEUE_LIMIT",
                          "updates queued for one slow client before its stream is ended",
                          &settings->stream_queue_limit);
                flags.Duration("verification-timeout", "KEFU_VERIFICATION_TIMEOUT",
                               "a VOICE contact whose caller is not verified by then is routed "
                               "unverified (F3)",
                               &settings->verification_timeout);
                flags.Int("max-file-bytes", "KEFU_MAX_FILE_BYTES",
                          "largest file sent inside a dialog, unless the tenant's settings "
                          "say otherwise (F35)",
                          &settings->max_file_bytes);
              },
          .setup = [settings](server::ServiceContext& ctx) { return SetupWith(ctx, *settings); }};
}

}  // namespace kefu::gateway
