#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kefu/crm/v1/record.pb.h"
#include "kefu/events/v1/events.pb.h"
#include "services/crm/customer_store.h"
#include "services/crm/paging.h"

namespace kefu::crm {

// An optional time bound; InfinitePast / InfiniteFuture = open.
struct TimeWindow {
  absl::Time from = absl::InfinitePast();
  absl::Time to = absl::InfiniteFuture();
};

// SearchDialogs criteria (F51), all at once; empty = any.
struct DialogQuery {
  TimeWindow started;
  std::vector<std::string> agent_ids;
  std::vector<std::string> department_ids;
  std::string customer_id;
  std::vector<std::string> words;  // all must occur in the transcript
  std::vector<int> end_types;
  std::vector<int> channels;
  std::vector<int> initiations;
  kefu::crm::v1::ValidityFilter validity = kefu::crm::v1::VALIDITY_FILTER_UNSPECIFIED;
  kefu::crm::v1::RatingFilter rating = kefu::crm::v1::RATING_FILTER_UNSPECIFIED;
  int min_score = 0;
  int max_score = 0;
  bool ascending = false;
};

struct DialogSearchPage {
  std::vector<kefu::crm::v1::DialogHit> hits;
  std::string next_cursor;
  int64_t total_count = 0;
};

struct TranscriptPage {
  std::vector<kefu::common::v1::Message> messages;
  std::string next_cursor;
};

struct OfflineMessageFilter {
  kefu::crm::v1::OfflineMessageStatus status = kefu::crm::v1::OFFLINE_MESSAGE_STATUS_UNSPECIFIED;
  TimeWindow created;
  std::vector<std::string> department_ids;
  std::string customer_id;
};

struct OfflineMessagePage {
  std::vector<kefu::crm::v1::OfflineMessage> messages;
  std::string next_cursor;
};

struct Reply {
  std::string offline_message_id;
  std::string text;
  kefu::crm::v1::ReplyChannel channel = kefu::crm::v1::REPLY_CHANNEL_UNSPECIFIED;
  std::string replied_by;
};

struct RatingFilter {
  TimeWindow created;
  std::vector<std::string> agent_ids;
  std::vector<std::string> department_ids;
};

struct RatingPage {
  std::vector<kefu::crm::v1::Rating> ratings;
  std::string next_cursor;
};

struct ContactPlanFilter {
  std::string customer_id;
  std::string owner_id;
  kefu::crm::v1::ContactPlanStatus status = kefu::crm::v1::CONTACT_PLAN_STATUS_UNSPECIFIED;
  TimeWindow contact;
};

struct ContactPlanPage {
  std::vector<kefu::crm::v1::ContactPlan> plans;
  std::string next_cursor;
};

struct VisitPage {
  std::vector<kefu::common::v1::Visit> visits;
  std::string next_cursor;
};

// What applying one event did.
struct EventOutcome {
  bool ignored = false;    // not an event crm records
  bool duplicate = false;  // already applied under this event id: nothing changed
  // Events crm emits because of it (CustomerTierChanged), published after the commit.
  std::vector<kefu::events::v1::Event> follow_ups;
};

// Dialogs and transcripts, offline messages, ratings, contact plans, visitors and visits
// (F5, F32, F33, F51-F53), plus applying the domain events other services report. Every
// call is scoped to one tenant, like CustomerStore.
class RecordStore {
 public:
  virtual ~RecordStore() = default;

  virtual absl::StatusOr<kefu::crm::v1::Dialog> GetDialog(const std::string& tenant,
                                                          const std::string& dialog_id) = 0;
  // Oldest first, by sequence.
  virtual absl::StatusOr<TranscriptPage> GetTranscript(const std::string& tenant,
                                                       const std::string& dialog_id,
                                                       const PageRequest& page) = 0;
  virtual absl::StatusOr<DialogSearchPage> SearchDialogs(const std::string& tenant,
                                                         const DialogQuery& query,
                                                         const PageRequest& page) = 0;

  // Stores a PENDING message; emits OfflineMessageLeft.
  virtual absl::StatusOr<Mutation<kefu::crm::v1::OfflineMessage>> CreateOfflineMessage(
      const std::string& tenant, const kefu::crm::v1::OfflineMessage& message,
      const Idempotency& idem) = 0;
  virtual absl::StatusOr<kefu::crm::v1::OfflineMessage> GetOfflineMessage(
      const std::string& tenant, const std::string& offline_message_id) = 0;
  // Newest first.
  virtual absl::StatusOr<OfflineMessagePage> ListOfflineMessages(const std::string& tenant,
                                                                 const OfflineMessageFilter& filter,
                                                                 const PageRequest& page) = 0;
  // PENDING -> REPLIED with text, channel, replier and time; FAILED_PRECONDITION when it
  // is not PENDING. Emits OfflineMessageReplied.
  virtual absl::StatusOr<Mutation<kefu::crm::v1::OfflineMessage>> ReplyOfflineMessage(
      const std::string& tenant, const Reply& reply, const Idempotency& idem) = 0;

  // One rating per dialog: ALREADY_EXISTS for a second. Emits DialogRated.
  virtual absl::StatusOr<Mutation<kefu::crm::v1::Rating>> RateDialog(
      const std::string& tenant, const kefu::crm::v1::Rating& rating, const Idempotency& idem) = 0;
  // Newest first.
  virtual absl::StatusOr<RatingPage> ListRatings(const std::string& tenant,
                                                 const RatingFilter& filter,
                                                 const PageRequest& page) = 0;

  virtual absl::StatusOr<kefu::crm::v1::ContactPlan> CreateContactPlan(
      const std::string& tenant, const kefu::crm::v1::ContactPlan& plan,
      const Idempotency& idem) = 0;
  virtual absl::StatusOr<kefu::crm::v1::ContactPlan> GetContactPlan(
      const std::string& tenant, const std::string& contact_plan_id) = 0;
  // Replaces the fields in `paths` of the stored plan with those of `plan`.
  virtual absl::StatusOr<kefu::crm::v1::ContactPlan> UpdateContactPlan(
      const std::string& tenant, const kefu::crm::v1::ContactPlan& plan,
      const std::vector<std::string>& paths, const Idempotency& idem) = 0;
  virtual absl::Status DeleteContactPlan(const std::string& tenant,
                                         const std::string& contact_plan_id,
                                         const Idempotency& idem) = 0;
  // By contact time, earliest first.
  virtual absl::StatusOr<ContactPlanPage> ListContactPlans(const std::string& tenant,
                                                           const ContactPlanFilter& filter,
                                                           const PageRequest& page) = 0;

  virtual absl::StatusOr<kefu::crm::v1::Visitor> GetVisitor(const std::string& tenant,
                                                            const std::string& visitor_id) = 0;
  // Newest first, with their page trails.
  virtual absl::StatusOr<VisitPage> ListVisits(const std::string& tenant,
                                               const std::string& visitor_id,
                                               const TimeWindow& started,
                                               const PageRequest& page) = 0;

  // Applies one domain event in one transaction with its event id recorded, so a
  // replayed event changes nothing (at-least-once delivery).
  virtual absl::StatusOr<EventOutcome> ApplyEvent(const kefu::events::v1::Event& event) = 0;
  // ApplyEvent for one tenant's events in stream order (what one poll brought), in one
  // transaction: an outcome per event. When that transaction fails, nothing of it is kept
  // and each event is applied in a transaction of its own instead, so only the event at
  // fault fails. Follow-up events are to be published only after this returns.
  virtual std::vector<absl::StatusOr<EventOutcome>> ApplyEvents(
      const std::string& tenant, const std::vector<const kefu::events::v1::Event*>& events) = 0;
};

}  // namespace kefu::crm
