#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kefu/crm/v1/customer.pb.h"
#include "kefu/events/v1/events.pb.h"
#include "services/crm/paging.h"
#include "services/crm/validation.h"

namespace kefu::crm {

// Deduplication of a retried mutation (docs/API.md "Idempotency"): scope (tenant, caller,
// rpc, key). The first result is stored with the request bytes; a retry with the same
// request gets it back and changes nothing, the same key with another request is
// INVALID_ARGUMENT. An empty key disables deduplication.
struct Idempotency {
  std::string caller;   // the token's subject
  std::string rpc;      // "CreateCustomer"
  std::string key;      // the request's idempotency_key
  std::string request;  // deterministic serialization of the request
};

// A mutation's result and the events it causes, published after the commit. Replays
// (idempotency) carry no events: they were published the first time.
template <typename T>
struct Mutation {
  T value;
  std::vector<kefu::events::v1::Event> events;
};

struct CustomerFilter {
  kefu::common::v1::CustomerTier tier = kefu::common::v1::CUSTOMER_TIER_UNSPECIFIED;
  std::string tag;
  std::string exclusive_agent_id;
};

struct CustomerPage {
  std::vector<kefu::crm::v1::Customer> customers;
  std::string next_cursor;  // "" on the last page
};

// What IdentifyCustomer may do when nobody matches.
struct IdentifyOptions {
  bool lookup_only = false;  // NOT_FOUND instead of creating
  std::string name;          // name on a new card
  std::string contact_id;    // for the log
};

// A validated registration (F6) to apply to a card.
struct RegistrationPlan {
  std::string customer_id;  // the card to update, or
  std::string visitor_id;   // the visitor whose card to find or create (may be empty)
  Submission submission;
};

// Customer cards, identification keys, tier rules and registration forms (F2, F6, F50).
// Every call is scoped to one tenant: another tenant's rows are invisible (NOT_FOUND),
// by the queries and by row-level security underneath. Cards passed in are normalised
// (validation.h).
class CustomerStore {
 public:
  virtual ~CustomerStore() = default;

  // Finds the card holding `key`, or creates a NEW one holding it. Concurrent calls with
  // one key create one card.
  virtual absl::StatusOr<Mutation<kefu::crm::v1::IdentifyCustomerResponse>> Identify(
      const std::string& tenant, const CustomerKey& key, const IdentifyOptions& options,
      const Idempotency& idem) = 0;
  virtual absl::StatusOr<kefu::crm::v1::Customer> Get(const std::string& tenant,
                                                      const std::string& customer_id) = 0;
  // Assigns id and number; links `from_visitor_id` (F50) when given. ALREADY_EXISTS when a
  // phone, email, IM account or visitor id belongs to another card.
  virtual absl::StatusOr<Mutation<kefu::crm::v1::Customer>> Create(
      const std::string& tenant, const kefu::crm::v1::Customer& card,
      const std::string& from_visitor_id, const Idempotency& idem) = 0;
  // Changes the fields in `paths` (empty = every editable field); tag rules may raise the tier.
  virtual absl::StatusOr<Mutation<kefu::crm::v1::Customer>> Update(
      const std::string& tenant, const kefu::crm::v1::Customer& card,
      const std::vector<std::string>& paths, const Idempotency& idem) = 0;
  // By customer number, oldest first.
  virtual absl::StatusOr<CustomerPage> List(const std::string& tenant, const CustomerFilter& filter,
                                            const PageRequest& page) = 0;
  // Name, number, phones, emails, IM accounts containing `query` (case-insensitive).
  virtual absl::StatusOr<CustomerPage> Search(const std::string& tenant, const std::string& query,
                                              const PageRequest& page) = 0;
  virtual absl::StatusOr<Mutation<kefu::crm::v1::Customer>> SetTier(
      const std::string& tenant, const std::string& customer_id,
      kefu::common::v1::CustomerTier tier, bool lock, const Idempotency& idem) = 0;
  virtual absl::StatusOr<kefu::crm::v1::Customer> BindExclusiveAgent(const std::string& tenant,
                                                                     const std::string& customer_id,
                                                                     const std::string& agent_id,
                                                                     const Idempotency& idem) = 0;

  // The tenant's rules, DefaultTierRules() until it sets some.
  virtual absl::StatusOr<std::vector<kefu::crm::v1::TierRule>> GetTierRules(
      const std::string& tenant) = 0;
  virtual absl::StatusOr<std::vector<kefu::crm::v1::TierRule>> SetTierRules(
      const std::string& tenant, const std::vector<kefu::crm::v1::TierRule>& rules,
      const Idempotency& idem) = 0;

  // The form for the entry point, else the tenant default; NOT_FOUND when neither exists.
  virtual absl::StatusOr<kefu::crm::v1::RegistrationForm> GetForm(
      const std::string& tenant, kefu::crm::v1::FormKind kind,
      const std::string& entry_point_id) = 0;
  virtual absl::StatusOr<kefu::crm::v1::RegistrationForm> SetForm(
      const std::string& tenant, const kefu::crm::v1::RegistrationForm& form,
      const Idempotency& idem) = 0;
  // Applies a validated submission: updates the named card, or the visitor's card, or
  // the card holding a submitted phone / email, else creates one (response.created).
  virtual absl::StatusOr<Mutation<kefu::crm::v1::SubmitRegistrationResponse>> Submit(
      const std::string& tenant, const RegistrationPlan& plan, const Idempotency& idem) = 0;
};

}  // namespace kefu::crm
