#pragma once

#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "libs/pg/pool.h"
#include "services/crm/customer_store.h"

namespace kefu::crm {

// CustomerStore on PostgreSQL (schema crm, migrations/). Queries run as the application
// role inside pg::Pool::TransactIn, so row-level security sees one tenant.
class PgCustomerStore final : public CustomerStore {
 public:
  explicit PgCustomerStore(pg::Pool* pool) : pool_(pool) {}

  // CustomerStore
  absl::StatusOr<Mutation<kefu::crm::v1::IdentifyCustomerResponse>> Identify(
      const std::string& tenant, const CustomerKey& key, const IdentifyOptions& options,
      const Idempotency& idem) override;
  absl::StatusOr<kefu::crm::v1::Customer> Get(const std::string& tenant,
                                              const std::string& customer_id) override;
  absl::StatusOr<Mutation<kefu::crm::v1::Customer>> Create(const std::string& tenant,
                                                           const kefu::crm::v1::Customer& card,
                                                           const std::string& from_visitor_id,
                                                           const Idempotency& idem) override;
  absl::StatusOr<Mutation<kefu::crm::v1::Customer>> Update(const std::string& tenant,
                                                           const kefu::crm::v1::Customer& card,
                                                           const std::vector<std::string>& paths,
                                                           const Idempotency& idem) override;
  absl::StatusOr<CustomerPage> List(const std::string& tenant, const CustomerFilter& filter,
                                    const PageRequest& page) override;
  absl::StatusOr<CustomerPage> Search(const std::string& tenant, const std::string& query,
                                      const PageRequest& page) override;
  absl::StatusOr<Mutation<kefu::crm::v1::Customer>> SetTier(const std::string& tenant,
                                                            const std::string& customer_id,
                                                            kefu::common::v1::CustomerTier tier,
                                                            bool lock,
                                                            const Idempotency& idem) override;
  absl::StatusOr<kefu::crm::v1::Customer> BindExclusiveAgent(const std::string& tenant,
                                                             const std::string& customer_id,
                                                             const std::string& agent_id,
                                                             const Idempotency& idem) override;
  absl::StatusOr<std::vector<kefu::crm::v1::TierRule>> GetTierRules(
      const std::string& tenant) override;
  absl::StatusOr<std::vector<kefu::crm::v1::TierRule>> SetTierRules(
      const std::string& tenant, const std::vector<kefu::crm::v1::TierRule>& rules,
      const Idempotency& idem) override;
  absl::StatusOr<kefu::crm::v1::RegistrationForm> GetForm(
      const std::string& tenant, kefu::crm::v1::FormKind kind,
      const std::string& entry_point_id) override;
  absl::StatusOr<kefu::crm::v1::RegistrationForm> SetForm(
      const std::string& tenant, const kefu::crm::v1::RegistrationForm& form,
      const Idempotency& idem) override;
  absl::StatusOr<Mutation<kefu::crm::v1::SubmitRegistrationResponse>> Submit(
      const std::string& tenant, const RegistrationPlan& plan, const Idempotency& idem) override;

 private:
  pg::Pool* pool_;
};

// Shared with the record store (visitors, tier rules applied on DialogEnded).
namespace customer_rows {

// The columns CustomerFromRow reads, for "SELECT " KEFU_CRM_CUSTOMER_COLUMNS " FROM
// crm.customers c": a macro so that statements are composed at compile time.
#define KEFU_CRM_CUSTOMER_COLUMNS                                                        \
  "c.customer_id, c.customer_number, c.name, c.tier, c.tier_locked, c.phones, c.emails," \
  " c.im_accounts, c.visitor_ids, c.tags, c.registration_fields::text,"                  \
  " c.exclusive_agent_id, c.note, c.language, c.dialog_count,"                           \
  " crm.micros(c.first_contact_time), crm.micros(c.last_contact_time),"                  \
  " crm.micros(c.create_time), crm.micros(c.update_time)"
kefu::crm::v1::Customer CustomerFromRow(const pqxx::row& row);
kefu::common::v1::CustomerSummary SummaryOf(const kefu::crm::v1::Customer& customer);
std::vector<kefu::crm::v1::TierRule> LoadTierRules(pqxx::work& txn, const std::string& tenant);
// Applies the tenant's tier rules to the (locked) card after a change; when the tier
// rises, stores it and returns the CustomerTierChanged event.
std::optional<kefu::events::v1::Event> ApplyTierRules(pqxx::work& txn, const std::string& tenant,
                                                      kefu::crm::v1::Customer* customer);
kefu::events::v1::Event TierChangedEvent(const std::string& tenant, const std::string& customer_id,
                                         kefu::common::v1::CustomerTier previous,
                                         kefu::common::v1::CustomerTier tier,
                                         const std::string& rule_id);

}  // namespace customer_rows

}  // namespace kefu::crm
