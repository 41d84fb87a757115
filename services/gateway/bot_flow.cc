// Bot first, then a human (F16, F41, F42): which bot serves an entry point now, the
// customer's turns with it (kb BotService.Ask), and the handover to routing with the bot
// conversation in the agent's screen pop.
#include <google/protobuf/util/time_util.h>

#include "absl/strings/str_cat.h"
#include "libs/common/log.h"
#include "libs/common/status.h"
#include "libs/common/status_macros.h"
#include "services/gateway/gateway.h"

namespace kefu::gateway {
namespace {

namespace cv1 = kefu::common::v1;
namespace kbv1 = kefu::kb::v1;
namespace rv1 = kefu::router::v1;
using google::protobuf::util::TimeUtil;

// How many earlier messages travel with a question to the bot.
constexpr int kBotContextMessages = 20;

std::string InLanguage(const cv1::LocalizedText& text, cv1::Language language) {
  if (language == cv1::LANGUAGE_EN && !text.en().empty()) return text.en();
  return text.zh().empty() ? text.en() : text.zh();
}

cv1::Participant BotParticipant(const kbv1::Bot& bot) {
  cv1::Participant p;
  p.set_type(cv1::PARTICIPANT_TYPE_BOT);
  p.set_id(bot.bot_id());
  p.set_display_name(bot.name());
  return p;
}

}  // namespace

absl::StatusOr<rv1::EntryPoint> Gateway::EntryPointOf(const std::string& tenant,
                                                      const std::string& entry_point_id) {
  const std::string key = absl::StrCat(tenant, "/", entry_point_id);
  {
    std::lock_guard lock(settings_mu_);
    auto it = entry_points_.find(key);
    if (it != entry_points_.end() &&
        absl::Now() - it->second.fetched < settings_.tenant_settings_ttl) {
      return it->second.entry_point;
    }
  }
  rv1::GetEntryPointRequest req;
  req.set_tenant_id(tenant);
  req.set_entry_point_id(entry_point_id);
  rv1::GetEntryPointResponse resp;
  auto ctx = peers_->Context(absl::Seconds(2));
  const grpc::Status st = peers_->routing_admin().GetEntryPoint(ctx.get(), req, &resp);
  absl::StatusOr<rv1::EntryPoint> found = resp.entry_point();
  if (!st.ok()) found = FromGrpc(st, "router");
  // Only answers are cached: an outage is asked again next time.
  if (st.ok() || st.error_code() == grpc::StatusCode::NOT_FOUND) {
    std::lock_guard lock(settings_mu_);
    entry_points_[key] = {absl::Now(), found};
  }
  return found;
}

bool Gateway::HumansOnline(const std::string& tenant, const std::string& entry_point_id) {
  rv1::EntryPoint ep;
  if (!entry_point_id.empty()) {
    auto found = EntryPointOf(tenant, entry_point_id);
    if (found.ok()) ep = *found;
  }
  auto online_in = [&](const std::string& department) {
    kefu::presence::v1::ListAgentsRequest req;
    req.set_tenant_id(tenant);
    req.set_department_id(department);
    req.add_statuses(cv1::AGENT_STATUS_ONLINE);
    req.set_page_size(1);
    kefu::presence::v1::ListAgentsResponse resp;
    auto ctx = peers_->Context(absl::Seconds(2));
    return peers_->presence().ListAgents(ctx.get(), req, &resp).ok() && resp.counts().online() > 0;
  };
  for (const std::string& agent : ep.designated_agent_ids()) {
    kefu::presence::v1::GetAgentRequest req;
    req.set_tenant_id(tenant);
    req.set_agent_id(agent);
    kefu::presence::v1::GetAgentResponse resp;
    auto ctx = peers_->Context(absl::Seconds(2));
    if (peers_->presence().GetAgent(ctx.get(), req, &resp).ok() &&
        resp.presence().status() == cv1::AGENT_STATUS_ONLINE) {
      return true;
    }
  }
  for (const std::string& department : ep.designated_department_ids()) {
    if (online_in(department)) return true;
  }
  if (ep.designated_agent_ids().empty() && ep.designated_department_ids().empty()) {
    return online_in("");
  }
  return false;
}

std::optional<kbv1::Bot> Gateway::ServingBot(const std::string& tenant,
                                             const std::string& entry_point_id) {
  auto ep = EntryPointOf(tenant, entry_point_id);
  if (!ep.ok() || ep->bot_id().empty()) return std::nullopt;
  kbv1::GetBotRequest req;
  req.set_tenant_id(tenant);
  req.set_bot_id(ep->bot_id());
  req.set_humans_online(HumansOnline(tenant, entry_point_id));
  kbv1::GetBotResponse resp;
  auto ctx = peers_->Context(absl::Seconds(2));
  if (auto st = peers_->kb_admin().GetBot(ctx.get(), req, &resp); !st.ok()) {
    // Without kb the customer goes to the humans rather than nowhere.
    log::Warn("bot unavailable; routing to agents",
              {{"tenant", tenant}, {"bot", ep->bot_id()}, {"error", st.error_message()}});
    return std::nullopt;
  }
  if (!resp.serving()) return std::nullopt;
  return resp.bot();
}

absl::StatusOr<rv1::EnqueueResponse> Gateway::Route(const Contact& c,
                                                    const std::string& department_id,
                                                    const std::string& agent_id) {
  v1::ScreenPop pop;
  (void)pop.ParseFromString(c.screen_pop);
  rv1::EnqueueRequest enq;
  enq.set_tenant_id(c.tenant_id);
  enq.set_contact_id(c.contact_id);
  enq.set_dialog_id(c.dialog_id);
  enq.set_customer_id(c.customer_id);
  enq.set_tier(c.tier);
  enq.set_channel(c.channel);
  enq.set_entry_point_id(c.entry_point_id);
  enq.set_requested_department_id(department_id.empty() ? c.department_id : department_id);
  enq.set_requested_agent_id(agent_id);
  enq.set_ip(c.ip);
  enq.set_exclusive_agent_id(pop.customer().exclusive_agent_id());
  enq.set_language(pop.language());
  enq.set_initiation(c.initiation);
  enq.set_idempotency_key(c.contact_id);
  rv1::EnqueueResponse routed;
  auto ctx = peers_->Context();
  KEFU_RETURN_IF_ERROR(FromGrpc(peers_->routing().Enqueue(ctx.get(), enq, &routed), "router"));
  const cv1::ContactState state = routed.routing().state();
  KEFU_RETURN_IF_ERROR(
      CommitWithRetry(c.tenant_id, c.contact_id,
                      [&](const Contact& now) -> absl::StatusOr<std::optional<Change>> {
                        // An offer or assignment may already be ahead.
                        if (now.state != cv1::CONTACT_STATE_STARTED &&
                            now.state != cv1::CONTACT_STATE_BOT) {
                          return std::nullopt;
                        }
                        Change ch;
                        ch.fields = {{field::kState, std::to_string(state)},
                                     {field::kQueue, routed.routing().queue_id()},
                                     {field::kBot, field::Deleted()}};
                        return ch;
                      })
          .status());
  return routed;
}

absl::Status Gateway::HandToBot(const Contact& c, const kbv1::Bot& bot) {
  KEFU_RETURN_IF_ERROR(
      CommitWithRetry(c.tenant_id, c.contact_id,
                      [&](const Contact& now) -> absl::StatusOr<std::optional<Change>> {
                        if (now.state != cv1::CONTACT_STATE_STARTED) return std::nullopt;
                        Change ch;
                        ch.fields = {{field::kState, std::to_string(cv1::CONTACT_STATE_BOT)},
                                     {field::kBot, bot.bot_id()},
                                     {field::kBotName, bot.name()}};
                        return ch;
                      })
          .status());
  v1::ScreenPop pop;
  (void)pop.ParseFromString(c.screen_pop);
  const std::string greeting = InLanguage(bot.greeting(), pop.language());
  if (greeting.empty()) return absl::OkStatus();
  return PostMessage(c.tenant_id, c.contact_id, BotParticipant(bot), greeting, "bot-greeting")
      .status();
}

absl::Status Gateway::BotTurn(const std::string& tenant, const std::string& contact_id,
                              const std::string& question) {
  KEFU_ASSIGN_OR_RETURN(Contact c, store_->Get(tenant, contact_id));
  if (c.state != cv1::CONTACT_STATE_BOT || c.bot_id.empty()) return absl::OkStatus();
  v1::ScreenPop pop;
  (void)pop.ParseFromString(c.screen_pop);
  kbv1::AskRequest ask;
  ask.set_tenant_id(tenant);
  ask.set_bot_id(c.bot_id);
  ask.set_question(question);
  ask.set_contact_id(contact_id);
  ask.set_language(pop.language());
  ask.set_humans_online(HumansOnline(tenant, c.entry_point_id));
  KEFU_ASSIGN_OR_RETURN(auto so_far, store_->Messages(tenant, contact_id, kBotContextMessages + 1));
  // The last message is the question itself.
  for (size_t i = 0; i + 1 < so_far.size(); ++i) *ask.add_conversation() = std::move(so_far[i]);
  kbv1::AskResponse answer;
  auto ctx = peers_->Context(absl::Seconds(3));
  if (auto st = peers_->bots().Ask(ctx.get(), ask, &answer); !st.ok()) {
    log::Warn("bot did not answer; handing over to agents",
              {{"tenant", tenant}, {"bot", c.bot_id}, {"error", st.error_message()}});
    return Escalate(tenant, contact_id, "").status();
  }
  kbv1::Bot bot;
  bot.set_bot_id(c.bot_id);
  bot.set_name(c.bot_name);
  if (!answer.reply().empty()) {
    KEFU_RETURN_IF_ERROR(PostMessage(tenant, contact_id, BotParticipant(bot), answer.reply(),
                                     absl::StrCat("bot-reply:", c.version))
                             .status());
  }
  switch (answer.decision()) {
    case kbv1::ASK_DECISION_CLARIFY: {
      v1::CustomerGatewayServiceUpdatesResponse cu;
      auto* choices = cu.mutable_bot_choices();
      choices->set_bot_id(c.bot_id);
      for (const auto& a : answer.answers()) {
        auto* choice = choices->add_choices();
        choice->set_entry_id(a.entry_id());
        choice->set_question(a.question());
      }
      return Publish(keys::CustomerChannel(tenant, contact_id), CustomerUpdate(0, cu));
    }
    case kbv1::ASK_DECISION_ESCALATE:
      return Escalate(tenant, contact_id, "").status();
    default:
      return absl::OkStatus();
  }
}

absl::StatusOr<rv1::EnqueueResponse> Gateway::Escalate(const std::string& tenant,
                                                       const std::string& contact_id,
                                                       const std::string& department_id) {
  KEFU_ASSIGN_OR_RETURN(Contact c, store_->Get(tenant, contact_id));
  if (c.state != cv1::CONTACT_STATE_BOT) {
    return absl::FailedPreconditionError(absl::StrCat("the contact is not with a bot (state ",
                                                      cv1::ContactState_Name(c.state), ")"));
  }
  // The agent sees what the customer and the bot said (F42).
  KEFU_ASSIGN_OR_RETURN(auto transcript,
                        store_->Messages(tenant, contact_id, settings_.snapshot_messages));
  KEFU_ASSIGN_OR_RETURN(
      CommitResult r,
      CommitWithRetry(tenant, contact_id,
                      [&](const Contact& now) -> absl::StatusOr<std::optional<Change>> {
                        if (now.state != cv1::CONTACT_STATE_BOT) return std::nullopt;
                        v1::ScreenPop pop;
                        (void)pop.ParseFromString(now.screen_pop);
                        pop.clear_bot_transcript();
                        for (const auto& m : transcript) *pop.add_bot_transcript() = m;
                        Change ch;
                        ch.fields = {{field::kScreenPop, pop.SerializeAsString()}};
                        return ch;
                      }));
  (void)r;
  KEFU_ASSIGN_OR_RETURN(c, store_->Get(tenant, contact_id));
  if (c.state != cv1::CONTACT_STATE_BOT) {
    return absl::FailedPreconditionError("the contact already left the bot");
  }
  return Route(c, department_id, "");
}

}  // namespace kefu::gateway
