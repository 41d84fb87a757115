#include "services/gateway/contact_store.h"

#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/common/embedded.h"
#include "libs/events/events.h"

namespace kefu::embedded {
const std::vector<EmbeddedFile>& GatewayScripts();
}  // namespace kefu::embedded

namespace kefu::gateway {

namespace keys {
using events::TenantKey;
std::string Contact(const std::string& t, const std::string& c) {
  return TenantKey(t, "gw:c:" + c);
}
std::string Messages(const std::string& t, const std::string& c) {
  return TenantKey(t, "gw:msgs:" + c);
}
std::string Dialog(const std::string& t, const std::string& d) {
  return TenantKey(t, "gw:dialog:" + d);
}
std::string AgentDialogs(const std::string& t, const std::string& a) {
  return TenantKey(t, absl::StrCat("gw:agent:", a, ":dialogs"));
}
std::string AgentOffers(const std::string& t, const std::string& a) {
  return TenantKey(t, absl::StrCat("gw:agent:", a, ":offers"));
}
std::string Silence(const std::string& t) { return TenantKey(t, "gw:silence"); }
std::string AgentStreams(const std::string& t) { return TenantKey(t, "gw:agents"); }
std::string Verifying(const std::string& t) { return TenantKey(t, "gw:verifying"); }
std::string ActiveDialogs(const std::string& t) { return TenantKey(t, "gw:dialogs"); }
std::string RouterEnds(const std::string& t) { return TenantKey(t, "gw:router-ends"); }
std::string CustomerChannel(const std::string& t, const std::string& c) {
  return TenantKey(t, "gw:ch:c:" + c);
}
std::string AgentChannel(const std::string& t, const std::string& a) {
  return TenantKey(t, "gw:ch:a:" + a);
}
std::string MonitorChannel(const std::string& t, const std::string& c) {
  return TenantKey(t, "gw:ch:m:" + c);
}
std::string BroadcastChannel(const std::string& t) { return TenantKey(t, "gw:ch:all"); }
}  // namespace keys

namespace {

int64_t ToInt(const std::map<std::string, std::string>& h, const char* name) {
  auto it = h.find(name);
  int64_t v = 0;
  if (it != h.end()) (void)absl::SimpleAtoi(it->second, &v);
  return v;
}

std::string ToText(const std::map<std::string, std::string>& h, const char* name) {
  auto it = h.find(name);
  return it == h.end() ? std::string() : it->second;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> InitialFields(const Contact& c) {
  return {{"dialog", c.dialog_id},
          {field::kCustomer, c.customer_id},
          {field::kCustomerName, c.customer_name},
          {"ep", c.entry_point_id},
          {field::kDepartment, c.department_id},
          {"visitor", c.visitor_id},
          {"ip", c.ip},
          {field::kBot, c.bot_id},
          {field::kState, std::to_string(c.state)},
          {field::kTier, std::to_string(c.tier)},
          {"channel", std::to_string(c.channel)},
          {field::kInitiation, std::to_string(c.initiation)},
          {"start_ms", std::to_string(c.start_ms)},
          {field::kCustomerOnline, "0"},
          {field::kScreenPop, c.screen_pop}};
}

ContactStore::ContactStore(redis::Pool* pool)
    : pool_(pool), commit_("gateway commit", redis::Script::Concat(embedded::GatewayScripts())) {}

absl::StatusOr<Contact> ContactStore::Get(const std::string& tenant,
                                          const std::string& contact_id) {
  auto reply = pool_->Command({"HGETALL", keys::Contact(tenant, contact_id)});
  if (!reply.ok()) return reply.status();
  std::map<std::string, std::string> h;
  for (size_t i = 0; i + 1 < (*reply)->elements; i += 2) {
    h.emplace(redis::ReplyText((*reply)->element[i]), redis::ReplyText((*reply)->element[i + 1]));
  }
  if (h.empty()) {
    return absl::NotFoundError(absl::StrCat("contact \"", contact_id, "\" not found"));
  }
  Contact c;
  c.tenant_id = tenant;
  c.contact_id = contact_id;
  c.version = ToInt(h, "ver");
  c.dialog_id = ToText(h, "dialog");
  c.customer_id = ToText(h, field::kCustomer);
  c.customer_name = ToText(h, field::kCustomerName);
  c.agent_id = ToText(h, field::kAgent);
  c.entry_point_id = ToText(h, "ep");
  c.department_id = ToText(h, field::kDepartment);
  c.queue_id = ToText(h, field::kQueue);
  c.visitor_id = ToText(h, "visitor");
  c.ip = ToText(h, "ip");
  c.bot_id = ToText(h, field::kBot);
  c.bot_name = ToText(h, field::kBotName);
  c.challenge_id = ToText(h, field::kChallenge);
  c.state = static_cast<kefu::common::v1::ContactState>(ToInt(h, field::kState));
  c.tier = static_cast<kefu::common::v1::CustomerTier>(ToInt(h, field::kTier));
  c.channel = static_cast<kefu::common::v1::Channel>(ToInt(h, "channel"));
  c.initiation = static_cast<kefu::common::v1::DialogInitiation>(ToInt(h, field::kInitiation));
  c.end_type = static_cast<kefu::common::v1::DialogEndType>(ToInt(h, field::kEndType));
  c.start_ms = ToInt(h, "start_ms");
  c.first_assigned_ms = ToInt(h, field::kFirstAssigned);
  c.assigned_ms = ToInt(h, field::kAssigned);
  c.end_ms = ToInt(h, field::kEnd);
  c.customer_messages = static_cast<int32_t>(ToInt(h, field::kCustomerMessages));
  c.agent_messages = static_cast<int32_t>(ToInt(h, field::kAgentMessages));
  c.segment_messages = static_cast<int32_t>(ToInt(h, field::kSegmentMessages));
  c.bot_messages = static_cast<int32_t>(ToInt(h, field::kBotMessages));
  c.transfers = static_cast<int32_t>(ToInt(h, field::kTransfers));
  c.transfer_note = ToText(h, field::kTransferNote);
  c.rated = ToInt(h, field::kRated) != 0;
  c.customer_online = ToInt(h, field::kCustomerOnline) != 0;
  c.screen_pop = ToText(h, field::kScreenPop);
  c.segments = ToText(h, field::kSegments);
  return c;
}

absl::StatusOr<std::vector<kefu::common::v1::Message>> ContactStore::Messages(
    const std::string& tenant, const std::string& contact_id, int limit) {
  auto reply =
      pool_->Command({"LRANGE", keys::Messages(tenant, contact_id), std::to_string(-limit), "-1"});
  if (!reply.ok()) return reply.status();
  std::vector<kefu::common::v1::Message> out;
  out.reserve((*reply)->elements);
  for (size_t i = 0; i < (*reply)->elements; ++i) {
    kefu::common::v1::Message m;
    if (m.ParseFromString(redis::ReplyText((*reply)->element[i]))) out.push_back(std::move(m));
  }
  return out;
}

absl::StatusOr<std::string> ContactStore::ContactOfDialog(const std::string& tenant,
                                                          const std::string& dialog_id) {
  auto reply = pool_->Command({"GET", keys::Dialog(tenant, dialog_id)});
  if (!reply.ok()) return reply.status();
  if (redis::ReplyIsNil(**reply)) {
    return absl::NotFoundError(absl::StrCat("dialog_id: dialog \"", dialog_id, "\" not found"));
  }
  return std::string(redis::ReplyString(**reply));
}

absl::StatusOr<CommitResult> ContactStore::Commit(const std::string& tenant,
                                                  const std::string& contact_id,
                                                  const Change& change) {
  std::vector<std::string> args;
  args.push_back(change.expect_version ? std::to_string(*change.expect_version) : "");
  args.push_back(change.idempotency_value);
  args.push_back("86400");
  args.push_back(std::to_string(change.events.size()));
  for (const auto& event : change.events) {
    args.push_back(events::PayloadName(event));
    args.push_back(event.SerializeAsString());
  }
  args.push_back(std::to_string(change.fields.size()));
  for (const auto& [name, value] : change.fields) {
    args.push_back(name);
    args.push_back(value);
  }
  args.push_back(std::to_string(change.messages.size()));
  for (const auto& m : change.messages) args.push_back(m.SerializeAsString());
  args.push_back(std::to_string(change.publish.size()));
  for (const auto& [channel, payload] : change.publish) {
    args.push_back(channel);
    args.push_back(payload);
  }
  args.push_back(std::to_string(change.commands.size()));
  for (const auto& cmd : change.commands) {
    args.push_back(std::to_string(cmd.size()));
    for (const auto& a : cmd) args.push_back(a);
  }
  const std::string contact_key = keys::Contact(tenant, contact_id);
  const std::string stream = events::StreamKey(tenant);
  const std::string idem = events::TenantKey(tenant, "gw:idem:" + change.idempotency_key);
  const std::string msgs = keys::Messages(tenant, contact_id);
  std::vector<absl::string_view> argv(args.begin(), args.end());
  auto reply = commit_.Run(*pool_, {contact_key, stream, idem, msgs}, argv);
  if (!reply.ok()) return reply.status();
  if ((*reply)->elements != 2) return absl::InternalError("commit.lua: malformed reply");
  const std::string outcome = redis::ReplyText((*reply)->element[0]);
  const std::string value = redis::ReplyText((*reply)->element[1]);
  CommitResult result;
  if (outcome == "OK") {
    result.outcome = CommitResult::Outcome::kOk;
    (void)absl::SimpleAtoi(value, &result.version);
  } else if (outcome == "DUPLICATE") {
    result.outcome = CommitResult::Outcome::kDuplicate;
    result.stored = value;
  } else if (outcome == "CONFLICT") {
    result.outcome = CommitResult::Outcome::kConflict;
    (void)absl::SimpleAtoi(value, &result.version);
  } else {
    result.outcome = CommitResult::Outcome::kGone;
  }
  return result;
}

}  // namespace kefu::gateway
