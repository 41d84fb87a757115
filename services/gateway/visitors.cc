#include "services/gateway/visitors.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/events/events.h"
#include "services/crm/referrer.h"

namespace kefu::gateway {

namespace cv1 = kefu::common::v1;
using events::TenantKey;
using google::protobuf::util::TimeUtil;

namespace keys {
std::string Visitor(const std::string& t, const std::string& v) {
  return TenantKey(t, "gw:v:" + v);
}
std::string Visitors(const std::string& t) { return TenantKey(t, "gw:visitors"); }
std::string VisitorChannel(const std::string& t, const std::string& v) {
  return TenantKey(t, "gw:ch:v:" + v);
}
}  // namespace keys

namespace {

// A visitor's hash lives a day after the last page view.
constexpr int64_t kRetentionMs = int64_t{24} * 3600 * 1000;

int64_t Millis(absl::string_view s) {
  int64_t v = 0;
  return absl::SimpleAtoi(s, &v) ? v : 0;
}

}  // namespace

cv1::Visit AddPage(cv1::Visit visit, const std::string& visitor_id, const PageView& view,
                   int max_pages) {
  const auto at = TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(view.at));
  if (visit.visit_id() != view.visit_id) {
    visit.Clear();
    visit.set_visit_id(view.visit_id);
    visit.set_visitor_id(visitor_id);
    visit.set_ip(view.ip);
    visit.set_user_agent(view.user_agent);
    *visit.mutable_start_time() = at;
    if (!view.referrer_url.empty()) {
      const crm::ParsedReferrer r = crm::ParseReferrer(view.referrer_url);
      visit.mutable_referrer()->set_url(view.referrer_url);
      visit.mutable_referrer()->set_domain(r.domain);
      visit.mutable_referrer()->set_search_engine(r.search_engine);
      visit.mutable_referrer()->set_search_keyword(r.search_keyword);
    }
  }
  if (visit.pages_size() > 0) {
    auto* last = visit.mutable_pages(visit.pages_size() - 1);
    if (!last->has_dwell()) {
      const int64_t dwell = TimeUtil::TimestampToMilliseconds(at) -
                            TimeUtil::TimestampToMilliseconds(last->entered_time());
      *last->mutable_dwell() = TimeUtil::MillisecondsToDuration(std::max<int64_t>(0, dwell));
    }
  }
  auto* page = visit.add_pages();
  page->set_url(view.url);
  page->set_title(view.title);
  *page->mutable_entered_time() = at;
  if (visit.pages_size() > max_pages) {
    visit.mutable_pages()->DeleteSubrange(0, visit.pages_size() - max_pages);
  }
  return visit;
}

absl::StatusOr<std::optional<VisitorState>> VisitorStore::Get(const std::string& tenant,
                                                              const std::string& visitor) {
  auto reply = pool_->Command({"HMGET", keys::Visitor(tenant, visitor), "visit", "seen", "contact",
                               "customer", "inv", "inv_agent", "inv_until", "inv_text"});
  if (!reply.ok()) return reply.status();
  const redisReply& r = **reply;
  if (r.elements < 8 || redis::ReplyIsNil(*r.element[1])) return std::nullopt;
  VisitorState s;
  s.visitor_id = visitor;
  const auto visit = redis::ReplyString(*r.element[0]);
  (void)s.visit.ParseFromArray(visit.data(), static_cast<int>(visit.size()));
  s.seen = absl::FromUnixMillis(Millis(redis::ReplyString(*r.element[1])));
  s.contact_id = std::string(redis::ReplyString(*r.element[2]));
  const auto customer = redis::ReplyString(*r.element[3]);
  if (!customer.empty()) {
    cv1::CustomerSummary summary;
    if (summary.ParseFromArray(customer.data(), static_cast<int>(customer.size()))) {
      s.customer = std::move(summary);
    }
  }
  s.invitation_id = std::string(redis::ReplyString(*r.element[4]));
  s.invited_by = std::string(redis::ReplyString(*r.element[5]));
  if (!s.invitation_id.empty()) {
    s.invited_until = absl::FromUnixMillis(Millis(redis::ReplyString(*r.element[6])));
  }
  s.invitation_text = std::string(redis::ReplyString(*r.element[7]));
  return s;
}

absl::StatusOr<cv1::Visit> VisitorStore::Track(const std::string& tenant,
                                               const std::string& visitor, const PageView& view) {
  // Read-modify-write: two page views of one visitor at the same instant may keep only one
  // of them in the live trail (crm still records both from the events).
  auto known = Get(tenant, visitor);
  if (!known.ok()) return known.status();
  cv1::Visit visit = AddPage(*known ? (*known)->visit : cv1::Visit(), visitor, view);
  if (*known && (*known)->customer) visit.set_customer_id((*known)->customer->customer_id());
  const int64_t now = absl::ToUnixMillis(view.at);
  const std::string key = keys::Visitor(tenant, visitor);
  const std::string set = keys::Visitors(tenant);
  const std::string bytes = visit.SerializeAsString();
  const std::string seen = std::to_string(now);
  const std::string retention = std::to_string(kRetentionMs);
  const std::string expired = std::to_string(now - kRetentionMs);
  const std::vector<std::vector<absl::string_view>> commands = {
      {"HSET", key, "visit", bytes, "seen", seen},
      {"PEXPIRE", key, retention},
      {"ZADD", set, seen, visitor},
      {"ZREMRANGEBYSCORE", set, "-inf", expired}};
  for (const auto& command : commands) {
    if (auto r = pool_->Command(command); !r.ok()) return r.status();
  }
  return visit;
}

absl::Status VisitorStore::SaveVisit(const std::string& tenant, const std::string& visitor,
                                     const cv1::Visit& visit) {
  return pool_
      ->Command({"HSET", keys::Visitor(tenant, visitor), "visit", visit.SerializeAsString()})
      .status();
}

absl::StatusOr<std::vector<VisitorState>> VisitorStore::Online(const std::string& tenant,
                                                               absl::Time since, int offset,
                                                               int limit) {
  const std::string min = std::to_string(absl::ToUnixMillis(since));
  const std::string from = std::to_string(offset);
  const std::string count = std::to_string(limit);
  auto ids = pool_->Command(
      {"ZREVRANGEBYSCORE", keys::Visitors(tenant), "+inf", min, "LIMIT", from, count});
  if (!ids.ok()) return ids.status();
  std::vector<VisitorState> out;
  for (size_t i = 0; i < (*ids)->elements; ++i) {
    auto state = Get(tenant, std::string(redis::ReplyString(*(*ids)->element[i])));
    if (!state.ok()) return state.status();
    if (*state) out.push_back(std::move(**state));
  }
  return out;
}

absl::Status VisitorStore::LinkContact(const std::string& tenant, const std::string& visitor,
                                       const std::string& contact_id,
                                       const cv1::CustomerSummary& customer) {
  const std::string key = keys::Visitor(tenant, visitor);
  if (auto r = pool_->Command({"HSET", key, "contact", contact_id, "customer",
                               customer.SerializeAsString(), "inv", "", "inv_until", "0"});
      !r.ok()) {
    return r.status();
  }
  return pool_->Command({"PEXPIRE", key, std::to_string(kRetentionMs)}).status();
}

absl::Status VisitorStore::SetInvitation(const std::string& tenant, const std::string& visitor,
                                         const std::string& invitation_id,
                                         const std::string& agent_id, const std::string& text,
                                         absl::Time until) {
  const std::string deadline = std::to_string(absl::ToUnixMillis(until));
  return pool_
      ->Command({"HSET", keys::Visitor(tenant, visitor), "inv", invitation_id, "inv_agent",
                 agent_id, "inv_text", text, "inv_until", deadline})
      .status();
}

}  // namespace kefu::gateway
