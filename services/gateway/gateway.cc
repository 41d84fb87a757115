#include "services/gateway/gateway.h"

#include <google/protobuf/util/time_util.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/auth/authorize.h"
#include "libs/common/log.h"
#include "libs/common/status.h"
#include "libs/common/status_macros.h"
#include "libs/events/events.h"
#include "libs/server/peer_channel.h"

namespace kefu::gateway {
namespace {

using google::protobuf::util::TimeUtil;
using kefu::common::v1::ContactState;
using kefu::common::v1::DialogEndType;
using kefu::common::v1::Message;
using kefu::common::v1::Participant;
namespace cv1 = kefu::common::v1;
using Outcome = CommitResult::Outcome;

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

std::string Pack(const google::protobuf::Message& m) { return m.SerializeAsString(); }

}  // namespace

absl::Status FromGrpc(const grpc::Status& s, absl::string_view peer) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat(peer, ": ", s.error_message()));
}

std::string CustomerUpdate(int64_t sequence, v1::CustomerGatewayServiceUpdatesResponse update) {
  update.set_sequence(sequence);
  *update.mutable_time() = TimeUtil::GetCurrentTime();
  return update.SerializeAsString();
}

std::string AgentUpdate(v1::AgentGatewayServiceUpdatesResponse update) {
  *update.mutable_time() = TimeUtil::GetCurrentTime();
  return update.SerializeAsString();
}

// --- Peers --------------------------------------------------------------------------------

Peers::Peers(const auth::TokenCodec* codec,
             const std::map<std::string, std::string, std::less<>>& addrs)
    : codec_(codec) {
  auto channel = [&](const char* name) {
    auto it = addrs.find(name);
    const std::string addr = it == addrs.end() ? std::string("127.0.0.1:1") : it->second;
    return server::PeerChannel(addr);
  };
  auto crm = channel("crm");
  customers_ = kefu::crm::v1::CustomerService::NewStub(crm);
  records_ = kefu::crm::v1::RecordService::NewStub(crm);
  auto router = channel("router");
  routing_ = kefu::router::v1::RoutingService::NewStub(router);
  routing_admin_ = kefu::router::v1::RoutingAdminService::NewStub(router);
  auto identity = channel("identity");
  identity_ = kefu::identity::v1::AuthService::NewStub(identity);
  verification_ = kefu::identity::v1::VerificationService::NewStub(identity);
  presence_ = kefu::presence::v1::PresenceService::NewStub(channel("presence"));
  auto kb = channel("kb");
  bots_ = kefu::kb::v1::BotService::NewStub(kb);
  kb_admin_ = kefu::kb::v1::KnowledgeAdminService::NewStub(kb);
}

std::unique_ptr<grpc::ClientContext> Peers::Context(absl::Duration deadline) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  auth::AttachToken(ctx.get(), auth::PlatformServiceToken(*codec_, "gateway", absl::Minutes(5)));
  return ctx;
}

// --- Gateway ------------------------------------------------------------------------------

kefu::events::v1::Event Gateway::NewEvent(const std::string& tenant) const {
  kefu::events::v1::Event e;
  e.set_event_id(events::NewEventId());
  e.set_tenant_id(tenant);
  *e.mutable_occurred_time() = TimeUtil::GetCurrentTime();
  e.set_producer("gateway");
  return e;
}

absl::Status Gateway::Publish(const std::string& channel, const std::string& payload) {
  return store_->pool().Command({"PUBLISH", channel, payload}).status();
}

absl::StatusOr<CommitResult> Gateway::CommitWithRetry(
    const std::string& tenant, const std::string& contact_id,
    const std::function<absl::StatusOr<std::optional<Change>>(const Contact&)>& make,
    const Contact* known) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    Contact c;
    if (attempt == 0 && known != nullptr) {
      c = *known;
    } else {
      KEFU_ASSIGN_OR_RETURN(c, store_->Get(tenant, contact_id));
    }
    KEFU_ASSIGN_OR_RETURN(std::optional<Change> change, make(c));
    if (!change) {
      CommitResult unchanged;
      unchanged.version = c.version;
      return unchanged;
    }
    change->expect_version = c.version;
    KEFU_ASSIGN_OR_RETURN(CommitResult r, store_->Commit(tenant, contact_id, *change));
    if (r.outcome == Outcome::kGone) {
      return absl::NotFoundError(absl::StrCat("contact \"", contact_id, "\" not found"));
    }
    if (r.outcome != Outcome::kConflict) return r;
  }
  return absl::AbortedError("contact changed too often concurrently; retry");
}

cv1::AgentSummary Gateway::AgentSummaryOf(const std::string& tenant, const std::string& agent) {
  const std::string key = absl::StrCat(tenant, "/", agent);
  {
    std::lock_guard lock(agents_mu_);
    auto it = agents_.find(key);
    if (it != agents_.end() && absl::Now() - it->second.fetched < absl::Minutes(1)) {
      return it->second.summary;
    }
  }
  cv1::AgentSummary summary;
  summary.set_agent_id(agent);
  kefu::router::v1::GetAgentProfileRequest req;
  req.set_tenant_id(tenant);
  req.set_agent_id(agent);
  kefu::router::v1::GetAgentProfileResponse resp;
  auto ctx = peers_->Context(absl::Seconds(2));
  if (peers_->routing_admin().GetAgentProfile(ctx.get(), req, &resp).ok()) {
    summary.set_nickname(resp.profile().nickname());
    summary.set_avatar_url(resp.profile().avatar_url());
  }
  std::lock_guard lock(agents_mu_);
  agents_[key] = {summary, absl::Now()};
  return summary;
}

absl::StatusOr<v1::StartContactResponse> Gateway::StartContact(const auth::Claims& caller,
                                                               const v1::StartContactRequest& req,
                                                               const std::string& peer_ip) {
  const std::string& tenant = caller.tenant_id;
  v1::StartContactResponse out;

  // A retried StartContact returns the same contact.
  std::string idem;
  if (!req.idempotency_key().empty()) {
    idem = absl::StrCat("start:", req.idempotency_key());
    auto seen = store_->pool().Command({"GET", events::TenantKey(tenant, "gw:idem:" + idem)});
    if (seen.ok() && !redis::ReplyIsNil(**seen)) {
      KEFU_ASSIGN_OR_RETURN(Contact c,
                            store_->Get(tenant, std::string(redis::ReplyString(**seen))));
      out.set_contact_id(c.contact_id);
      out.set_dialog_id(c.dialog_id);
      out.set_customer_id(c.customer_id);
      out.set_state(c.state);
      // The first attempt stored the contact but failed before the router queued it (router
      // or Redis away): queue it now, or the customer is told OK for a contact that waits
      // nowhere. Enqueue is idempotent per contact.
      if (c.state == cv1::CONTACT_STATE_STARTED && c.channel != cv1::CHANNEL_VOICE) {
        KEFU_ASSIGN_OR_RETURN(auto routed,
                              Route(c, req.requested_department_id(), req.requested_agent_id()));
        out.set_state(routed.routing().state());
        out.set_queue_position(routed.routing().position());
        *out.mutable_estimated_wait() = routed.routing().estimated_wait();
        out.set_no_agent_available(routed.no_agent_available());
      }
    }
  }

  Contact c;
  c.tenant_id = tenant;
  if (out.contact_id().empty()) {
    c.contact_id = auth::RandomId();
    c.dialog_id = auth::RandomId();
    // A widget's token names its entry point; a service caller (IVR) passes one.
    c.entry_point_id = caller.entry_point_id.empty() ? req.entry_point_id() : caller.entry_point_id;
    c.ip = peer_ip;
    c.department_id = req.requested_department_id();
    c.visitor_id = req.visitor_id();
    c.channel = req.channel();
    c.initiation = req.invitation_id().empty() ? cv1::DIALOG_INITIATION_CUSTOMER
                                               : cv1::DIALOG_INITIATION_INVITATION;
    c.state = cv1::CONTACT_STATE_STARTED;
    c.start_ms = NowMs();

    // A website visitor: the trail so far (F5) and, when invited, the invitation (F34).
    std::optional<VisitorState> visitor;
    if (!req.visitor_id().empty()) {
      auto known = visitors_.Get(tenant, req.visitor_id());
      if (known.ok()) visitor = std::move(*known);
    }
    std::string invited_by;
    if (!req.invitation_id().empty()) {
      if (!visitor || visitor->invitation_id != req.invitation_id()) {
        return InvalidField("invitation_id",
                            "no invitation with this id is pending for the visitor_id");
      }
      invited_by = visitor->invited_by;
    }

    // Who is calling (F2): crm finds or creates the customer card.
    kefu::crm::v1::IdentifyCustomerRequest ident;
    ident.set_tenant_id(tenant);
    if (!req.caller_number().empty()) {
      ident.set_phone(req.caller_number());
    } else if (!req.visitor_id().empty()) {
      ident.set_visitor_id(req.visitor_id());
    } else if (!req.email().empty()) {
      ident.set_email(req.email());
    } else {
      std::vector<std::string> parts = absl::StrSplit(req.im_account(), absl::MaxSplits(':', 1));
      ident.mutable_im_account()->set_platform(parts[0]);
      if (parts.size() > 1) ident.mutable_im_account()->set_account(parts[1]);
    }
    ident.set_contact_id(c.contact_id);
    ident.set_idempotency_key(c.contact_id);
    kefu::crm::v1::IdentifyCustomerResponse who;
    auto ctx = peers_->Context();
    KEFU_RETURN_IF_ERROR(
        FromGrpc(peers_->customers().IdentifyCustomer(ctx.get(), ident, &who), "crm"));
    const auto& card = who.customer();
    c.customer_id = card.customer_id();
    c.customer_name = card.name();
    c.tier = card.tier();

    // The screen pop the agent gets with the offer (F4, F38).
    v1::ScreenPop pop;
    auto* summary = pop.mutable_customer();
    summary->set_customer_id(card.customer_id());
    summary->set_customer_number(card.customer_number());
    summary->set_name(card.name());
    summary->set_tier(card.tier());
    for (const auto& t : card.tags()) summary->add_tags(t);
    if (!card.phones().empty()) summary->set_primary_phone(card.phones(0));
    if (!card.emails().empty()) summary->set_primary_email(card.emails(0));
    summary->set_exclusive_agent_id(card.exclusive_agent_id());
    *summary->mutable_registration_fields() = card.registration_fields();
    summary->set_dialog_count(card.dialog_count());
    *summary->mutable_last_contact_time() = card.last_contact_time();
    pop.set_channel(req.channel());
    pop.set_entry_point_id(req.entry_point_id());
    pop.set_caller_number(req.caller_number());
    pop.set_email(req.email());
    if (visitor) *pop.mutable_visit() = visitor->visit;
    pop.mutable_visit()->set_visitor_id(req.visitor_id());
    *pop.mutable_form_fields() = req.form_fields();
    pop.set_requested_department_id(req.requested_department_id());
    pop.set_language(req.language());
    if (who.has_last_dialog()) {
      pop.set_last_dialog_id(who.last_dialog().dialog_id());
      *pop.mutable_last_summary() = who.last_dialog().summary();
      // The last conversation itself when the tenant allows it (F38); best effort.
      if (TenantSettingsOf(tenant).show_last_transcript()) {
        kefu::crm::v1::GetTranscriptRequest last;
        last.set_tenant_id(tenant);
        last.set_dialog_id(who.last_dialog().dialog_id());
        last.set_page_size(settings_.snapshot_messages);
        kefu::crm::v1::GetTranscriptResponse transcript;
        auto tctx = peers_->Context(absl::Seconds(2));
        if (peers_->records().GetTranscript(tctx.get(), last, &transcript).ok()) {
          *pop.mutable_last_transcript() = std::move(*transcript.mutable_messages());
        }
      }
    }
    c.screen_pop = pop.SerializeAsString();

    auto started = NewEvent(tenant);
    auto* s = started.mutable_contact_started();
    s->set_contact_id(c.contact_id);
    s->set_dialog_id(c.dialog_id);
    s->set_channel(c.channel);
    s->set_entry_point_id(c.entry_point_id);
    s->set_initiation(c.initiation);
    s->set_visitor_id(req.visitor_id());
    s->set_caller_number(req.caller_number());
    s->set_email(req.email());
    s->set_ip(peer_ip);
    s->set_page_url(req.page_url());
    s->set_requested_department_id(req.requested_department_id());
    s->set_language(req.language());
    auto identified = NewEvent(tenant);
    auto* id = identified.mutable_customer_identified();
    id->set_contact_id(c.contact_id);
    id->set_dialog_id(c.dialog_id);
    id->set_customer_id(c.customer_id);
    id->set_tier(c.tier);
    id->set_created(who.created());
    id->set_matched_by(who.matched_by());
    id->set_exclusive_agent_id(card.exclusive_agent_id());

    Change change;
    change.idempotency_key = idem;
    change.idempotency_value = c.contact_id;
    change.events = {std::move(started), std::move(identified)};
    change.fields = InitialFields(c);
    change.commands.push_back({"SET", keys::Dialog(tenant, c.dialog_id), c.contact_id});
    KEFU_ASSIGN_OR_RETURN(CommitResult r, store_->Commit(tenant, c.contact_id, change));
    if (r.outcome == Outcome::kDuplicate) {
      KEFU_ASSIGN_OR_RETURN(c, store_->Get(tenant, r.stored));
    }

    if (!req.visitor_id().empty()) {
      (void)visitors_.LinkContact(tenant, req.visitor_id(), c.contact_id, pop.customer());
    }

    out.set_contact_id(c.contact_id);
    out.set_dialog_id(c.dialog_id);
    out.set_customer_id(c.customer_id);
    // Bot first when the entry point's bot serves now (F41); else routing (F1). An invited
    // visitor goes to the agent who invited them (F34).
    std::optional<kefu::kb::v1::Bot> bot;
    if (!c.entry_point_id.empty() && invited_by.empty() && req.requested_agent_id().empty() &&
        c.channel != cv1::CHANNEL_VOICE) {
      bot = ServingBot(tenant, c.entry_point_id);
    }
    if (c.channel == cv1::CHANNEL_VOICE) {
      // A caller is verified by voice first (F3): VerifyCaller routes the contact.
      KEFU_RETURN_IF_ERROR(
          store_->pool()
              .Command({"ZADD", keys::Verifying(tenant),
                        std::to_string(NowMs() +
                                       absl::ToInt64Milliseconds(settings_.verification_timeout)),
                        c.contact_id})
              .status());
      out.set_state(cv1::CONTACT_STATE_STARTED);
    } else if (bot) {
      KEFU_RETURN_IF_ERROR(HandToBot(c, *bot));
      out.set_state(cv1::CONTACT_STATE_BOT);
    } else {
      KEFU_ASSIGN_OR_RETURN(
          auto routed,
          Route(c, req.requested_department_id(),
                req.requested_agent_id().empty() ? invited_by : req.requested_agent_id()));
      out.set_state(routed.routing().state());
      out.set_queue_position(routed.routing().position());
      *out.mutable_estimated_wait() = routed.routing().estimated_wait();
      out.set_no_agent_available(routed.no_agent_available());
    }

    if (!req.first_message().empty()) {
      Participant me;
      me.set_type(cv1::PARTICIPANT_TYPE_CUSTOMER);
      me.set_id(c.customer_id);
      me.set_display_name(c.customer_name);
      KEFU_RETURN_IF_ERROR(
          PostMessage(tenant, c.contact_id, me, req.first_message(), "first").status());
    }
  }

  auth::Claims token;
  token.tenant_id = tenant;
  token.subject = out.contact_id();
  token.role = cv1::ROLE_CUSTOMER;
  token.contact_id = out.contact_id();
  token.entry_point_id =
      caller.entry_point_id.empty() ? req.entry_point_id() : caller.entry_point_id;
  token.issued_at = absl::Now();
  token.expires_at = token.issued_at + settings_.customer_token_ttl;
  token.token_id = auth::RandomId();
  out.set_customer_token(codec_->Sign(token));
  *out.mutable_customer_token_expire_time() =
      TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(token.expires_at));
  out.set_verification_requested(req.channel() == cv1::CHANNEL_VOICE);
  return out;
}

kefu::identity::v1::TenantSettings Gateway::TenantSettingsOf(const std::string& tenant) {
  {
    std::lock_guard lock(settings_mu_);
    auto it = tenant_settings_.find(tenant);
    if (it != tenant_settings_.end() &&
        absl::Now() - it->second.fetched < settings_.tenant_settings_ttl) {
      return it->second.settings;
    }
  }
  kefu::identity::v1::GetTenantRequest req;
  req.set_tenant_id(tenant);
  kefu::identity::v1::GetTenantResponse resp;
  auto ctx = peers_->Context(absl::Seconds(2));
  const grpc::Status st = peers_->identity().GetTenant(ctx.get(), req, &resp);
  std::lock_guard lock(settings_mu_);
  if (!st.ok()) {
    // Keep (or start from defaults) and ask again after the TTL, not on every call.
    log::Warn("tenant settings unavailable; using the last known or the defaults",
              {{"tenant", tenant}, {"error", st.error_message()}});
    auto [it, fresh] = tenant_settings_.try_emplace(tenant);
    it->second.fetched = absl::Now();
    return it->second.settings;
  }
  tenant_settings_[tenant] = {absl::Now(), resp.tenant().settings()};
  return resp.tenant().settings();
}

absl::Duration Gateway::SilenceTimeout(const std::string& tenant) {
  const auto& own = TenantSettingsOf(tenant).silence_timeout();
  const absl::Duration d = absl::Seconds(own.seconds()) + absl::Nanoseconds(own.nanos());
  return d > absl::ZeroDuration() ? d : settings_.silence_timeout;
}

int64_t Gateway::MaxFileBytes(const std::string& tenant) {
  const int64_t own = TenantSettingsOf(tenant).max_file_size_bytes();
  return own > 0 ? own : settings_.max_file_bytes;
}

absl::StatusOr<Message> Gateway::PostMessage(const std::string& tenant,
                                             const std::string& contact_id,
                                             const Participant& sender, const std::string& text,
                                             const std::string& idempotency_key,
                                             const cv1::FileAttachment* file,
                                             const Contact* known) {
  const bool from_customer = sender.type() == cv1::PARTICIPANT_TYPE_CUSTOMER;
  const bool from_bot = sender.type() == cv1::PARTICIPANT_TYPE_BOT;
  // The customer's silence after this agent message ends the dialog (F31).
  const absl::Duration silence = from_customer || sender.type() == cv1::PARTICIPANT_TYPE_BOT
                                     ? absl::ZeroDuration()
                                     : SilenceTimeout(tenant);
  const std::string idem = idempotency_key.empty()
                               ? std::string()
                               : absl::StrCat("msg:", contact_id, ":", idempotency_key);
  Message message;
  KEFU_ASSIGN_OR_RETURN(
      CommitResult r,
      CommitWithRetry(
          tenant, contact_id,
          [&](const Contact& c) -> absl::StatusOr<std::optional<Change>> {
            if (c.ended()) {
              return absl::FailedPreconditionError(
                  absl::StrCat("the dialog ", c.dialog_id, " has ended; no more messages"));
            }
            if (from_bot ? c.bot_id != sender.id()
                         : (!from_customer && c.agent_id != sender.id())) {
              return absl::PermissionDeniedError(absl::StrCat(
                  "dialog_id: agent ", sender.id(), " is not serving dialog ", c.dialog_id));
            }
            const int64_t now = NowMs();
            message.Clear();
            message.set_message_id(auth::RandomId());
            message.set_dialog_id(c.dialog_id);
            message.set_sequence(c.version + 1);
            *message.mutable_sender() = sender;
            *message.mutable_sent_time() = TimeUtil::MillisecondsToTimestamp(now);
            message.set_text(text);
            if (file != nullptr) *message.mutable_file() = *file;

            Change ch;
            ch.idempotency_key = idem;
            ch.idempotency_value = message.SerializeAsString();
            auto event = NewEvent(tenant);
            event.mutable_message_sent()->set_contact_id(contact_id);
            *event.mutable_message_sent()->mutable_message() = message;
            event.mutable_actor()->set_role(from_customer ? cv1::ROLE_CUSTOMER
                                            : from_bot    ? cv1::ROLE_SERVICE
                                                          : cv1::ROLE_AGENT);
            event.mutable_actor()->set_subject(from_customer ? c.contact_id
                                               : from_bot    ? "bot:" + sender.id()
                                                             : sender.id());
            ch.events.push_back(std::move(event));
            ch.messages.push_back(message);
            if (from_customer) {
              ch.fields = {{field::kCustomerMessages, std::to_string(c.customer_messages + 1)}};
              ch.commands.push_back({"ZREM", keys::Silence(tenant), contact_id});
            } else if (from_bot) {
              ch.fields = {{field::kBotMessages, std::to_string(c.bot_messages + 1)}};
            } else {
              ch.fields = {{field::kAgentMessages, std::to_string(c.agent_messages + 1)},
                           {field::kSegmentMessages, std::to_string(c.segment_messages + 1)}};
              ch.commands.push_back({"ZADD", keys::Silence(tenant),
                                     std::to_string(now + absl::ToInt64Milliseconds(silence)),
                                     contact_id});
            }
            v1::CustomerGatewayServiceUpdatesResponse cu;
            *cu.mutable_message() = message;
            ch.publish.emplace_back(keys::CustomerChannel(tenant, contact_id),
                                    CustomerUpdate(message.sequence(), cu));
            if (!c.agent_id.empty()) {
              v1::AgentGatewayServiceUpdatesResponse au;
              *au.mutable_message() = message;
              ch.publish.emplace_back(keys::AgentChannel(tenant, c.agent_id), AgentUpdate(au));
            }
            v1::MonitorResponse mu;
            *mu.mutable_message() = message;
            ch.publish.emplace_back(keys::MonitorChannel(tenant, contact_id), Pack(mu));
            return ch;
          },
          known));
  if (r.outcome == Outcome::kDuplicate) {
    Message first;
    if (!first.ParseFromString(r.stored)) return absl::InternalError("stored message unreadable");
    return first;
  }
  if (metrics_ != nullptr) metrics_->CountRelayed(from_customer);
  return message;
}

absl::Status Gateway::CustomerTyping(const std::string& tenant, const std::string& contact_id,
                                     const std::string& draft) {
  KEFU_ASSIGN_OR_RETURN(Contact c, store_->Get(tenant, contact_id));
  if (c.ended()) return absl::FailedPreconditionError("the dialog has ended");
  v1::TypingDraft d;
  d.set_dialog_id(c.dialog_id);
  d.set_draft(draft);
  if (!c.agent_id.empty()) {
    v1::AgentGatewayServiceUpdatesResponse au;
    *au.mutable_typing_draft() = d;
    KEFU_RETURN_IF_ERROR(Publish(keys::AgentChannel(tenant, c.agent_id), AgentUpdate(au)));
  }
  v1::MonitorResponse mu;
  *mu.mutable_typing_draft() = d;
  return Publish(keys::MonitorChannel(tenant, contact_id), Pack(mu));
}

absl::Status Gateway::AgentTyping(const std::string& tenant, const std::string& agent_id,
                                  const std::string& contact_id, bool typing) {
  KEFU_ASSIGN_OR_RETURN(Contact c, store_->Get(tenant, contact_id));
  if (c.agent_id != agent_id) {
    return absl::PermissionDeniedError("dialog_id: not a dialog this agent is serving");
  }
  v1::CustomerGatewayServiceUpdatesResponse cu;
  cu.mutable_agent_typing()->set_agent_id(agent_id);
  cu.mutable_agent_typing()->set_typing(typing);
  return Publish(keys::CustomerChannel(tenant, contact_id), CustomerUpdate(0, cu));
}

namespace {

// Closes the serving agent's segment into the contact's segment list.
std::string WithClosedSegment(const Contact& c, int64_t end_ms) {
  kefu::events::v1::DialogEnded holder;
  (void)holder.ParseFromString(c.segments);
  if (!c.agent_id.empty()) {
    auto* seg = holder.add_segments();
    seg->set_agent_id(c.agent_id);
    seg->set_department_id(c.department_id);
    seg->set_initiation(c.initiation);
    *seg->mutable_start_time() = TimeUtil::MillisecondsToTimestamp(c.assigned_ms);
    *seg->mutable_end_time() = TimeUtil::MillisecondsToTimestamp(end_ms);
    seg->set_agent_message_count(c.segment_messages);
  }
  return holder.SerializeAsString();
}

}  // namespace

absl::StatusOr<Contact> Gateway::Assign(const std::string& tenant, const std::string& contact_id,
                                        const std::string& agent_id, const std::string& queue_id,
                                        const std::string& department_id, bool from_event) {
  // Asked for (a peer call when not cached) only when an assignment is made: most
  // ContactAssigned events find it made already by the Accept or PickUp call.
  std::optional<cv1::AgentSummary> agent;
  KEFU_ASSIGN_OR_RETURN(
      CommitResult r,
      CommitWithRetry(
          tenant, contact_id, [&](const Contact& c) -> absl::StatusOr<std::optional<Change>> {
            if (c.ended()) {
              return absl::FailedPreconditionError(
                  absl::StrCat("the contact ", contact_id, " has ended"));
            }
            if (c.agent_id == agent_id && c.state == cv1::CONTACT_STATE_ACTIVE) return std::nullopt;
            if (from_event && c.first_assigned_ms != 0) {
              // The event stands for an assignment the gateway has not made only while the
              // agent's offer is still open here: Accept removes it in the same commit that
              // assigns. Without it, the assignment was made and since undone (a transfer):
              // replaying it would give the dialog back to the first agent. Read after `c`,
              // and the commit expects c's version, so an Accept in between is seen.
              auto open = store_->pool().Command(
                  {"HEXISTS", keys::AgentOffers(tenant, agent_id), contact_id});
              if (!open.ok()) return open.status();
              if (redis::ReplyInt(open->get()) == 0) return std::nullopt;
            }
            const int64_t now = NowMs();
            Change ch;
            ch.fields = {{field::kState, std::to_string(cv1::CONTACT_STATE_ACTIVE)},
                         {field::kAgent, agent_id},
                         {field::kAssigned, std::to_string(now)},
                         {field::kSegmentMessages, "0"}};
            if (c.first_assigned_ms == 0)
              ch.fields.emplace_back(field::kFirstAssigned, std::to_string(now));
            if (!queue_id.empty()) ch.fields.emplace_back(field::kQueue, queue_id);
            if (!department_id.empty()) ch.fields.emplace_back(field::kDepartment, department_id);
            if (!c.agent_id.empty()) {
              // Taken over from another agent (transfer): close that agent's segment.
              ch.fields.emplace_back(field::kSegments, WithClosedSegment(c, now));
              ch.commands.push_back({"SREM", keys::AgentDialogs(tenant, c.agent_id), contact_id});
            }
            if (c.transfers > 0) {
              ch.fields.emplace_back(field::kInitiation,
                                     std::to_string(cv1::DIALOG_INITIATION_TRANSFER));
            }
            ch.commands.push_back({"SADD", keys::AgentDialogs(tenant, agent_id), contact_id});
            ch.commands.push_back({"SADD", keys::ActiveDialogs(tenant), contact_id});
            ch.commands.push_back({"HDEL", keys::AgentOffers(tenant, agent_id), contact_id});
            v1::CustomerGatewayServiceUpdatesResponse cu;
            if (!agent) agent = AgentSummaryOf(tenant, agent_id);
            *cu.mutable_agent_joined()->mutable_agent() = *agent;
            ch.publish.emplace_back(keys::CustomerChannel(tenant, contact_id),
                                    CustomerUpdate(c.version + 1, cu));
            return ch;
          }));
  (void)r;
  return store_->Get(tenant, contact_id);
}

absl::StatusOr<Contact> Gateway::End(const std::string& tenant, const std::string& contact_id,
                                     DialogEndType end_type, const cv1::DialogSummary* summary,
                                     const std::string& actor_agent_id) {
  Contact before;
  bool ended_now = false;
  KEFU_RETURN_IF_ERROR(
      CommitWithRetry(
          tenant, contact_id,
          [&](const Contact& c) -> absl::StatusOr<std::optional<Change>> {
            if (c.ended()) return std::nullopt;
            if (!actor_agent_id.empty() && c.agent_id != actor_agent_id) {
              return absl::PermissionDeniedError(absl::StrCat(
                  "dialog_id: agent ", actor_agent_id, " is not serving dialog ", c.dialog_id));
            }
            before = c;
            ended_now = true;
            const int64_t now = NowMs();
            const bool valid = c.customer_messages > 0;
            const bool connected = c.first_assigned_ms > 0;

            auto event = NewEvent(tenant);
            auto* e = event.mutable_dialog_ended();
            (void)e->ParseFromString(WithClosedSegment(c, now));
            e->set_dialog_id(c.dialog_id);
            e->set_contact_id(c.contact_id);
            e->set_customer_id(c.customer_id);
            e->set_channel(c.channel);
            e->set_entry_point_id(c.entry_point_id);
            e->set_department_id(c.department_id);
            e->set_queue_id(c.queue_id);
            e->set_initiation(c.transfers > 0 && c.initiation == cv1::DIALOG_INITIATION_TRANSFER
                                  ? cv1::DIALOG_INITIATION_CUSTOMER
                                  : c.initiation);
            e->set_end_type(end_type);
            e->set_valid(valid);
            e->set_connected(connected);
            *e->mutable_start_time() = TimeUtil::MillisecondsToTimestamp(c.start_ms);
            if (connected) {
              *e->mutable_first_assigned_time() =
                  TimeUtil::MillisecondsToTimestamp(c.first_assigned_ms);
              *e->mutable_wait_duration() =
                  TimeUtil::MillisecondsToDuration(c.first_assigned_ms - c.start_ms);
              *e->mutable_talk_duration() =
                  TimeUtil::MillisecondsToDuration(now - c.first_assigned_ms);
            } else {
              *e->mutable_wait_duration() = TimeUtil::MillisecondsToDuration(now - c.start_ms);
            }
            *e->mutable_end_time() = TimeUtil::MillisecondsToTimestamp(now);
            e->set_customer_message_count(c.customer_messages);
            e->set_agent_message_count(c.agent_messages);
            e->set_bot_message_count(c.bot_messages);
            if (summary != nullptr) *e->mutable_summary() = *summary;
            e->set_tier(c.tier);
            e->set_transfer_count(c.transfers);
            if (!actor_agent_id.empty()) {
              event.mutable_actor()->set_role(cv1::ROLE_AGENT);
              event.mutable_actor()->set_subject(actor_agent_id);
            }

            Change ch;
            ch.events.push_back(std::move(event));
            ch.fields = {{field::kState, std::to_string(cv1::CONTACT_STATE_ENDED)},
                         {field::kEnd, std::to_string(now)},
                         {field::kEndType, std::to_string(end_type)}};
            const std::string ttl = std::to_string(absl::ToInt64Seconds(settings_.ended_retention));
            ch.commands.push_back({"ZREM", keys::Silence(tenant), contact_id});
            ch.commands.push_back({"SREM", keys::ActiveDialogs(tenant), contact_id});
            // Until the router confirms the end (slot freed, contact out of its queue): a
            // router outage or this replica dying in between must not keep the slot forever.
            ch.commands.push_back(
                {"ZADD", keys::RouterEnds(tenant), std::to_string(now), contact_id});
            ch.commands.push_back({"EXPIRE", keys::Contact(tenant, contact_id), ttl});
            ch.commands.push_back({"EXPIRE", keys::Messages(tenant, contact_id), ttl});
            ch.commands.push_back({"EXPIRE", keys::Dialog(tenant, c.dialog_id), ttl});
            v1::CustomerGatewayServiceUpdatesResponse cu;
            cu.mutable_ended()->set_end_type(end_type);
            cu.mutable_ended()->set_rating_allowed(connected);
            ch.publish.emplace_back(keys::CustomerChannel(tenant, contact_id),
                                    CustomerUpdate(c.version + 1, cu));
            v1::MonitorResponse mu;
            mu.mutable_ended()->set_dialog_id(c.dialog_id);
            mu.mutable_ended()->set_end_type(end_type);
            ch.publish.emplace_back(keys::MonitorChannel(tenant, contact_id), Pack(mu));
            if (!c.agent_id.empty()) {
              ch.commands.push_back({"SREM", keys::AgentDialogs(tenant, c.agent_id), contact_id});
              v1::AgentGatewayServiceUpdatesResponse au;
              au.mutable_dialog_ended()->set_dialog_id(c.dialog_id);
              au.mutable_dialog_ended()->set_end_type(end_type);
              ch.publish.emplace_back(keys::AgentChannel(tenant, c.agent_id), AgentUpdate(au));
            }
            return ch;
          })
          .status());
  if (ended_now && TellRouterEnded(tenant, contact_id, before.agent_id, end_type)) {
    (void)store_->pool().Command({"ZREM", keys::RouterEnds(tenant), contact_id});
  }
  return store_->Get(tenant, contact_id);
}

// The router frees the agent's slot, or takes the contact out of its queue. True once the
// router has done it (or had nothing left to do); false when it could not be reached.
bool Gateway::TellRouterEnded(const std::string& tenant, const std::string& contact_id,
                              const std::string& agent_id, DialogEndType end_type) {
  grpc::Status st;
  if (!agent_id.empty()) {
    kefu::router::v1::ReleaseRequest rel;
    rel.set_tenant_id(tenant);
    rel.set_contact_id(contact_id);
    rel.set_agent_id(agent_id);
    rel.set_end_type(end_type);
    rel.set_idempotency_key(absl::StrCat("end:", contact_id));
    kefu::router::v1::ReleaseResponse resp;
    auto ctx = peers_->Context();
    st = peers_->routing().Release(ctx.get(), rel, &resp);
  } else {
    kefu::router::v1::CancelRequest cancel;
    cancel.set_tenant_id(tenant);
    cancel.set_contact_id(contact_id);
    cancel.set_reason(end_type == cv1::DIALOG_END_TYPE_OFFLINE_MESSAGE
                          ? kefu::router::v1::CANCEL_REASON_OFFLINE_MESSAGE
                          : kefu::router::v1::CANCEL_REASON_CUSTOMER_LEFT);
    cancel.set_idempotency_key(absl::StrCat("end:", contact_id));
    kefu::router::v1::CancelResponse resp;
    auto ctx = peers_->Context();
    st = peers_->routing().Cancel(ctx.get(), cancel, &resp);
  }
  if (st.ok() || st.error_code() == grpc::StatusCode::NOT_FOUND ||
      st.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
    return true;
  }
  log::Warn(agent_id.empty() ? "router cancel failed; retried by the sweeper"
                             : "router release failed; retried by the sweeper",
            {{"tenant", tenant}, {"error", st.error_message()}});
  return false;
}

void Gateway::SweepRouterEnds(const std::string& tenant) {
  // Left alone for 2 s: the End that wrote the entry is still telling the router itself.
  const std::string before = std::to_string(NowMs() - 2000);
  auto due = store_->pool().Command(
      {"ZRANGEBYSCORE", keys::RouterEnds(tenant), "-inf", before, "LIMIT", "0", "50"});
  if (!due.ok()) return;
  for (size_t i = 0; i < (*due)->elements; ++i) {
    const std::string contact_id = redis::ReplyText((*due)->element[i]);
    auto c = store_->Get(tenant, contact_id);
    const bool done = (!c.ok() && absl::IsNotFound(c.status())) ||
                      (c.ok() && TellRouterEnded(tenant, contact_id, c->agent_id, c->end_type));
    if (done) (void)store_->pool().Command({"ZREM", keys::RouterEnds(tenant), contact_id});
  }
}

absl::Status Gateway::TransferAway(const std::string& tenant, const std::string& contact_id,
                                   const std::string& from_agent_id, const std::string& transfer_id,
                                   ContactState next_state, const v1::TransferNotice& notice) {
  return CommitWithRetry(
             tenant, contact_id,
             [&](const Contact& c) -> absl::StatusOr<std::optional<Change>> {
               if (c.ended()) return std::nullopt;
               Change ch;
               const int64_t now = NowMs();
               if (c.agent_id == from_agent_id) {
                 ch.fields.emplace_back(field::kSegments, WithClosedSegment(c, now));
                 ch.fields.emplace_back(field::kAgent, field::Deleted());
                 ch.fields.emplace_back(field::kState, std::to_string(next_state));
               }
               ch.commands.push_back(
                   {"SREM", keys::AgentDialogs(tenant, from_agent_id), contact_id});
               ch.commands.push_back({"ZREM", keys::Silence(tenant), contact_id});
               v1::AgentGatewayServiceUpdatesResponse au;
               au.mutable_transferred_away()->set_dialog_id(c.dialog_id);
               au.mutable_transferred_away()->set_transfer_id(transfer_id);
               ch.publish.emplace_back(keys::AgentChannel(tenant, from_agent_id), AgentUpdate(au));
               v1::CustomerGatewayServiceUpdatesResponse cu;
               *cu.mutable_transfer() = notice;
               ch.publish.emplace_back(keys::CustomerChannel(tenant, contact_id),
                                       CustomerUpdate(c.version + 1, cu));
               v1::MonitorResponse mu;
               *mu.mutable_transferred() = au.transferred_away();
               ch.publish.emplace_back(keys::MonitorChannel(tenant, contact_id), Pack(mu));
               return ch;
             })
      .status();
}

absl::Status Gateway::CountTransfer(const std::string& tenant, const std::string& contact_id,
                                    int delta, const std::string& note) {
  return CommitWithRetry(tenant, contact_id,
                         [&](const Contact& c) -> absl::StatusOr<std::optional<Change>> {
                           Change ch;
                           ch.fields = {{field::kTransfers, std::to_string(c.transfers + delta)}};
                           // Kept before the router is called: its offer may come first.
                           if (delta > 0) {
                             ch.fields.emplace_back(field::kTransferNote,
                                                    note.empty() ? field::Deleted() : note);
                           }
                           return ch;
                         })
      .status();
}

absl::Status Gateway::Rate(const std::string& tenant, const std::string& contact_id, int score,
                           const std::string& comment, const std::string& idempotency_key) {
  // The gateway decides "rated once" (F32) in the contact's commit, atomic across replicas,
  // and reports the rating on the tenant's stream after the dialog's other events: crm and
  // reporting record it from there, so the customer does not wait for crm to catch up.
  const std::string idem = idempotency_key.empty()
                               ? std::string()
                               : absl::StrCat("rate:", contact_id, ":", idempotency_key);
  return CommitWithRetry(
             tenant, contact_id,
             [&](const Contact& c) -> absl::StatusOr<std::optional<Change>> {
               if (!c.ended()) {
                 return absl::FailedPreconditionError(
                     "the dialog is still open; rate it after it ends (F32)");
               }
               if (c.first_assigned_ms == 0) {
                 return absl::FailedPreconditionError(
                     "no agent served this dialog; there is nothing to rate");
               }
               if (c.rated) {
                 return absl::AlreadyExistsError(
                     absl::StrCat("the dialog ", c.dialog_id,
                                  " is already rated; a dialog takes one rating (F32)"));
               }
               // The last agent who served the dialog is rated, in their segment's department:
               // the segments as DialogEnded reported them (crm's RateDialog decides alike).
               std::string agent, department = c.department_id;
               kefu::events::v1::DialogEnded holder;
               if (holder.ParseFromString(WithClosedSegment(c, c.end_ms)) &&
                   holder.segments_size() > 0) {
                 const auto& last = holder.segments(holder.segments_size() - 1);
                 agent = last.agent_id();
                 if (!last.department_id().empty()) department = last.department_id();
               }
               Change ch;
               ch.idempotency_key = idem;
               ch.idempotency_value = "rated";
               ch.fields = {{field::kRated, "1"}};
               auto event = NewEvent(tenant);
               auto* rated = event.mutable_dialog_rated();
               rated->set_dialog_id(c.dialog_id);
               rated->set_customer_id(c.customer_id);
               rated->set_agent_id(agent);
               rated->set_department_id(department);
               rated->set_score(score);
               rated->set_comment(comment);
               event.mutable_actor()->set_role(cv1::ROLE_CUSTOMER);
               event.mutable_actor()->set_subject(c.contact_id);
               ch.events.push_back(std::move(event));
               if (!agent.empty()) {
                 v1::AgentGatewayServiceUpdatesResponse au;
                 au.mutable_rating()->set_dialog_id(c.dialog_id);
                 au.mutable_rating()->set_score(score);
                 au.mutable_rating()->set_comment(comment);
                 ch.publish.emplace_back(keys::AgentChannel(tenant, agent), AgentUpdate(au));
               }
               return ch;
             })
      .status();
}

absl::StatusOr<v1::ActiveDialog> Gateway::ActiveDialogOf(const Contact& c) {
  v1::ActiveDialog d;
  d.set_contact_id(c.contact_id);
  d.set_dialog_id(c.dialog_id);
  (void)d.mutable_screen_pop()->ParseFromString(c.screen_pop);
  KEFU_ASSIGN_OR_RETURN(auto messages,
                        store_->Messages(c.tenant_id, c.contact_id, settings_.snapshot_messages));
  for (auto& m : messages) *d.add_messages() = std::move(m);
  d.set_customer_online(c.customer_online);
  *d.mutable_assigned_time() = TimeUtil::MillisecondsToTimestamp(c.assigned_ms);
  return d;
}

absl::StatusOr<v1::ContactSnapshot> Gateway::SnapshotOf(const Contact& c) {
  v1::ContactSnapshot s;
  s.set_contact_id(c.contact_id);
  s.set_dialog_id(c.dialog_id);
  s.set_state(c.state);
  if (!c.agent_id.empty()) *s.mutable_agent() = AgentSummaryOf(c.tenant_id, c.agent_id);
  KEFU_ASSIGN_OR_RETURN(auto messages,
                        store_->Messages(c.tenant_id, c.contact_id, settings_.snapshot_messages));
  for (auto& m : messages) *s.add_messages() = std::move(m);
  return s;
}

// --- Reactions to other services' events ----------------------------------------------------

void Gateway::OnOffer(const std::string& tenant, const kefu::events::v1::OfferCreated& e) {
  auto c = store_->Get(tenant, e.contact_id());
  if (!c.ok() || c->ended()) return;  // not a gateway contact (e.g. routed by a benchmark)
  v1::Offer offer;
  offer.set_offer_id(e.offer_id());
  offer.set_contact_id(e.contact_id());
  offer.set_dialog_id(c->dialog_id);
  *offer.mutable_deadline() = e.deadline();
  (void)offer.mutable_screen_pop()->ParseFromString(c->screen_pop);
  *offer.mutable_screen_pop()->mutable_waited() =
      TimeUtil::MillisecondsToDuration(NowMs() - c->start_ms);
  // The router's event may not say; the contact's own record does.
  offer.set_exclusive(e.exclusive() ||
                      offer.screen_pop().customer().exclusive_agent_id() == e.agent_id());
  offer.set_queue_id(e.queue_id());
  if (e.transfer() || c->transfers > 0) {
    // The receiving agent gets the conversation so far (F18).
    auto* info = offer.mutable_transfer();
    // The router may offer before TransferAway has closed the sender's segment: then the
    // sender is still the contact's agent.
    kefu::events::v1::DialogEnded holder;
    if (!c->agent_id.empty()) {
      *info->mutable_from_agent() = AgentSummaryOf(tenant, c->agent_id);
    } else if (holder.ParseFromString(c->segments) && holder.segments_size() > 0) {
      const auto& last = holder.segments(holder.segments_size() - 1);
      *info->mutable_from_agent() = AgentSummaryOf(tenant, last.agent_id());
    }
    info->set_note(c->transfer_note);
    auto messages = store_->Messages(tenant, e.contact_id(), settings_.snapshot_messages);
    if (messages.ok()) {
      for (auto& m : *messages) *info->add_transcript() = std::move(m);
    }
  }
  (void)CommitWithRetry(
      tenant, e.contact_id(),
      [&](const Contact& now) -> absl::StatusOr<std::optional<Change>> {
        if (now.ended()) return std::nullopt;
        Change ch;
        if (now.state != cv1::CONTACT_STATE_ACTIVE) {
          ch.fields = {{field::kState, std::to_string(cv1::CONTACT_STATE_OFFERED)}};
        }
        ch.commands.push_back({"HSET", keys::AgentOffers(tenant, e.agent_id()), e.contact_id(),
                               offer.SerializeAsString()});
        v1::AgentGatewayServiceUpdatesResponse au;
        *au.mutable_offer() = offer;
        ch.publish.emplace_back(keys::AgentChannel(tenant, e.agent_id()), AgentUpdate(au));
        return ch;
      },
      &*c);
}

void Gateway::OnOfferGone(const std::string& tenant, const std::string& contact_id,
                          const std::string& agent_id, const std::string& offer_id,
                          v1::OfferWithdrawnReason reason) {
  (void)store_->pool().Command({"HDEL", keys::AgentOffers(tenant, agent_id), contact_id});
  v1::AgentGatewayServiceUpdatesResponse au;
  au.mutable_offer_withdrawn()->set_offer_id(offer_id);
  au.mutable_offer_withdrawn()->set_reason(reason);
  (void)Publish(keys::AgentChannel(tenant, agent_id), AgentUpdate(au));
}

void Gateway::OnEvent(const kefu::events::v1::Event& event) {
  const std::string& tenant = event.tenant_id();
  using E = kefu::events::v1::Event;
  switch (event.payload_case()) {
    case E::kOfferCreated:
      OnOffer(tenant, event.offer_created());
      break;
    case E::kOfferExpired:
      OnOfferGone(tenant, event.offer_expired().contact_id(), event.offer_expired().agent_id(),
                  event.offer_expired().offer_id(), v1::OFFER_WITHDRAWN_REASON_EXPIRED);
      break;
    case E::kOfferRejected:
      (void)store_->pool().Command({"HDEL",
                                    keys::AgentOffers(tenant, event.offer_rejected().agent_id()),
                                    event.offer_rejected().contact_id()});
      break;
    case E::kOfferWithdrawn: {
      const auto& w = event.offer_withdrawn();
      v1::OfferWithdrawnReason reason = v1::OFFER_WITHDRAWN_REASON_UNSPECIFIED;
      switch (w.reason()) {
        case kefu::events::v1::WITHDRAW_REASON_TAKEN_BY_OTHER:
          reason = v1::OFFER_WITHDRAWN_REASON_TAKEN_BY_OTHER;
          break;
        case kefu::events::v1::WITHDRAW_REASON_CONTACT_ENDED:
          reason = v1::OFFER_WITHDRAWN_REASON_CONTACT_ENDED;
          break;
        case kefu::events::v1::WITHDRAW_REASON_AGENT_UNAVAILABLE:
          reason = v1::OFFER_WITHDRAWN_REASON_AGENT_UNAVAILABLE;
          break;
        default:
          break;
      }
      OnOfferGone(tenant, w.contact_id(), w.agent_id(), w.offer_id(), reason);
      break;
    }
    case E::kContactAssigned: {
      // Not a gateway contact (e.g. routed by a benchmark): Assign finds none and does nothing.
      const auto& a = event.contact_assigned();
      (void)Assign(tenant, a.contact_id(), a.agent_id(), a.queue_id(), a.department_id(),
                   /*from_event=*/true);
      break;
    }
    case E::kContactQueued: {
      const auto& q = event.contact_queued();
      v1::CustomerGatewayServiceUpdatesResponse cu;
      cu.mutable_queue_position()->set_position(q.position());
      (void)Publish(keys::CustomerChannel(tenant, q.contact_id()), CustomerUpdate(0, cu));
      break;
    }
    case E::kAgentStatusChanged: {
      const auto& s = event.agent_status_changed();
      v1::AgentGatewayServiceUpdatesResponse au;
      au.mutable_status()->set_status(s.status());
      au.mutable_status()->set_reason(s.reason());
      (void)Publish(keys::AgentChannel(tenant, s.agent_id()), AgentUpdate(au));
      break;
    }
    case E::kDialogRated: {
      // A rating through crm's RateDialog (staff); the gateway's own reached the agent with
      // the rating's commit.
      const auto& r = event.dialog_rated();
      if (r.agent_id().empty() || event.producer() == "gateway") break;
      v1::AgentGatewayServiceUpdatesResponse au;
      au.mutable_rating()->set_dialog_id(r.dialog_id());
      au.mutable_rating()->set_score(r.score());
      au.mutable_rating()->set_comment(r.comment());
      (void)Publish(keys::AgentChannel(tenant, r.agent_id()), AgentUpdate(au));
      break;
    }
    default:
      break;
  }
}

void Gateway::SweepSilence(const std::string& tenant) {
  const std::string now = std::to_string(NowMs());
  auto due = store_->pool().Command(
      {"ZRANGEBYSCORE", keys::Silence(tenant), "-inf", now, "LIMIT", "0", "100"});
  if (!due.ok()) return;
  for (size_t i = 0; i < (*due)->elements; ++i) {
    const std::string contact = redis::ReplyText((*due)->element[i]);
    // The replica whose ZREM removes it owns the timeout: one end per dialog.
    auto claimed = store_->pool().Command({"ZREM", keys::Silence(tenant), contact});
    if (!claimed.ok() || (*claimed)->integer != 1) continue;
    auto ended = End(tenant, contact, cv1::DIALOG_END_TYPE_SYSTEM_TIMEOUT, nullptr, "");
    if (!ended.ok()) {
      log::Warn("silence timeout could not end a dialog",
                {{"tenant", tenant}, {"error", ended.status().ToString()}});
    }
  }
}

}  // namespace kefu::gateway
