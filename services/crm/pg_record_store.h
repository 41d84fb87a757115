#pragma once

#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "libs/pg/pool.h"
#include "services/crm/record_store.h"

namespace kefu::crm {

// RecordStore on PostgreSQL (schema crm). Dialogs, transcripts and visits are written
// by ApplyEvent (pg_event_apply.cc) from the event stream; the rest by the RPCs.
class PgRecordStore final : public RecordStore {
 public:
  explicit PgRecordStore(pg::Pool* pool) : pool_(pool) {}

  // RecordStore
  absl::StatusOr<kefu::crm::v1::Dialog> GetDialog(const std::string& tenant,
                                                  const std::string& dialog_id) override;
  absl::StatusOr<TranscriptPage> GetTranscript(const std::string& tenant,
                                               const std::string& dialog_id,
                                               const PageRequest& page) override;
  absl::StatusOr<DialogSearchPage> SearchDialogs(const std::string& tenant,
                                                 const DialogQuery& query,
                                                 const PageRequest& page) override;
  absl::StatusOr<Mutation<kefu::crm::v1::OfflineMessage>> CreateOfflineMessage(
      const std::string& tenant, const kefu::crm::v1::OfflineMessage& message,
      const Idempotency& idem) override;
  absl::StatusOr<kefu::crm::v1::OfflineMessage> GetOfflineMessage(
      const std::string& tenant, const std::string& offline_message_id) override;
  absl::StatusOr<OfflineMessagePage> ListOfflineMessages(const std::string& tenant,
                                                         const OfflineMessageFilter& filter,
                                                         const PageRequest& page) override;
  absl::StatusOr<Mutation<kefu::crm::v1::OfflineMessage>> ReplyOfflineMessage(
      const std::string& tenant, const Reply& reply, const Idempotency& idem) override;
  absl::StatusOr<Mutation<kefu::crm::v1::Rating>> RateDialog(const std::string& tenant,
                                                             const kefu::crm::v1::Rating& rating,
                                                             const Idempotency& idem) override;
  absl::StatusOr<RatingPage> ListRatings(const std::string& tenant, const RatingFilter& filter,
                                         const PageRequest& page) override;
  absl::StatusOr<kefu::crm::v1::ContactPlan> CreateContactPlan(
      const std::string& tenant, const kefu::crm::v1::ContactPlan& plan,
      const Idempotency& idem) override;
  absl::StatusOr<kefu::crm::v1::ContactPlan> GetContactPlan(
      const std::string& tenant, const std::string& contact_plan_id) override;
  absl::StatusOr<kefu::crm::v1::ContactPlan> UpdateContactPlan(
      const std::string& tenant, const kefu::crm::v1::ContactPlan& plan,
      const std::vector<std::string>& paths, const Idempotency& idem) override;
  absl::Status DeleteContactPlan(const std::string& tenant, const std::string& contact_plan_id,
                                 const Idempotency& idem) override;
  absl::StatusOr<ContactPlanPage> ListContactPlans(const std::string& tenant,
                                                   const ContactPlanFilter& filter,
                                                   const PageRequest& page) override;
  absl::StatusOr<kefu::crm::v1::Visitor> GetVisitor(const std::string& tenant,
                                                    const std::string& visitor_id) override;
  absl::StatusOr<VisitPage> ListVisits(const std::string& tenant, const std::string& visitor_id,
                                       const TimeWindow& started, const PageRequest& page) override;
  absl::StatusOr<EventOutcome> ApplyEvent(const kefu::events::v1::Event& event) override;
  std::vector<absl::StatusOr<EventOutcome>> ApplyEvents(
      const std::string& tenant,
      const std::vector<const kefu::events::v1::Event*>& events) override;

 private:
  pg::Pool* pool_;
};

}  // namespace kefu::crm
