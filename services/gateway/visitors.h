#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kefu/common/v1/common.pb.h"
#include "kefu/gateway/v1/gateway.pb.h"
#include "libs/redis/client.h"

// Website visitors online now (F5) and proactive invitations (F34): live state in Redis,
// one hash per visitor with the current visit's trail, and a sorted set of visitors by
// their last page view. Durable visit history is crm's (from the VisitTracked events).
namespace kefu::gateway {

namespace keys {
std::string Visitor(const std::string& tenant, const std::string& visitor);
std::string Visitors(const std::string& tenant);
std::string VisitorChannel(const std::string& tenant, const std::string& visitor);
}  // namespace keys

// A page view as TrackVisit receives it.
struct PageView {
  std::string visit_id;
  std::string url;
  std::string title;
  std::string referrer_url;
  std::string user_agent;
  std::string ip;
  absl::Time at;
};

// Pure: the visit after `view`. A view of another visit starts a new trail (with the
// referrer shortened to its domain and search engine); the previous page's dwell time
// ends where the new page starts. At most `max_pages` pages are kept (the latest).
kefu::common::v1::Visit AddPage(kefu::common::v1::Visit visit, const std::string& visitor_id,
                                const PageView& view, int max_pages = 50);

// What the gateway knows of one visitor.
struct VisitorState {
  std::string visitor_id;
  kefu::common::v1::Visit visit;
  absl::Time seen = absl::InfinitePast();
  std::string contact_id;  // the visitor's latest contact (it may have ended)
  std::optional<kefu::common::v1::CustomerSummary> customer;
  std::string invitation_id;
  std::string invited_by;
  std::string invitation_text;
  absl::Time invited_until = absl::InfinitePast();
};

class VisitorStore final {
 public:
  explicit VisitorStore(redis::Pool* pool) : pool_(pool) {}

  absl::StatusOr<std::optional<VisitorState>> Get(const std::string& tenant,
                                                  const std::string& visitor);
  // Records the view and marks the visitor online; returns the visit so far.
  absl::StatusOr<kefu::common::v1::Visit> Track(const std::string& tenant,
                                                const std::string& visitor, const PageView& view);
  // Replaces the stored visit (e.g. with its region once resolved).
  absl::Status SaveVisit(const std::string& tenant, const std::string& visitor,
                         const kefu::common::v1::Visit& visit);
  // Visitors seen since `since`, most recent first, from `offset`.
  absl::StatusOr<std::vector<VisitorState>> Online(const std::string& tenant, absl::Time since,
                                                   int offset, int limit);
  // The visitor started a contact (F5: a returning visitor is known by the card).
  absl::Status LinkContact(const std::string& tenant, const std::string& visitor,
                           const std::string& contact_id,
                           const kefu::common::v1::CustomerSummary& customer);
  absl::Status SetInvitation(const std::string& tenant, const std::string& visitor,
                             const std::string& invitation_id, const std::string& agent_id,
                             const std::string& text, absl::Time until);

 private:
  redis::Pool* pool_;
};

}  // namespace kefu::gateway
