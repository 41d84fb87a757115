#include "services/crm/pg_customer_store.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/common/log.h"
#include "libs/common/status_macros.h"
#include "services/crm/pg_support.h"
#include "services/crm/tier_rules.h"

namespace kefu::crm {

using kefu::common::v1::CustomerTier;
using kefu::common::v1::IdentificationKey;
using kefu::crm::v1::Customer;
using pgsupport::TextArray;

namespace {

// --- SQL ----------------------------------------------------------------------------
// Every value is a $n parameter; statements that read a card splice in the column list
// at compile time.

constexpr char kSelectCustomer[] =
    "SELECT " KEFU_CRM_CUSTOMER_COLUMNS
    " FROM crm.customers c WHERE c.tenant_id = $1 AND c.customer_id = $2";

constexpr char kLockCustomer[] =
    "SELECT " KEFU_CRM_CUSTOMER_COLUMNS
    " FROM crm.customers c WHERE c.tenant_id = $1 AND c.customer_id = $2 FOR UPDATE";

// The card holding a key; kLockByKey also locks it.
#define KEFU_CRM_SELECT_BY_KEY                                      \
  "SELECT " KEFU_CRM_CUSTOMER_COLUMNS                               \
  " FROM crm.customer_keys k JOIN crm.customers c"                  \
  " ON c.tenant_id = k.tenant_id AND c.customer_id = k.customer_id" \
  " WHERE k.tenant_id = $1 AND k.kind = $2 AND k.value = $3"
constexpr char kSelectByKey[] = KEFU_CRM_SELECT_BY_KEY;
constexpr char kLockByKey[] = KEFU_CRM_SELECT_BY_KEY " FOR UPDATE OF c";
#undef KEFU_CRM_SELECT_BY_KEY

constexpr char kNextCustomerNumber[] =
    "INSERT INTO crm.counters (tenant_id, name, value) VALUES ($1, 'customer_number', 1)"
    " ON CONFLICT (tenant_id, name) DO UPDATE SET value = crm.counters.value + 1"
    " RETURNING value";

constexpr char kInsertCustomer[] =
    "INSERT INTO crm.customers AS c (tenant_id, customer_id, number_seq, customer_number, name,"
    " tier, tier_locked, phones, emails, im_accounts, visitor_ids, tags, registration_fields,"
    " note, language, exclusive_agent_id)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text[], $9::text[], $10::text[], $11::text[],"
    " $12::text[], $13::jsonb, $14, $15, $16) RETURNING " KEFU_CRM_CUSTOMER_COLUMNS;

constexpr char kUpdateCard[] =
    "UPDATE crm.customers AS c SET name = $3, phones = $4::text[], emails = $5::text[],"
    " im_accounts = $6::text[], visitor_ids = $7::text[], tags = $8::text[],"
    " registration_fields = $9::jsonb, note = $10, language = $11, update_time = now()"
    " WHERE c.tenant_id = $1 AND c.customer_id = $2 RETURNING " KEFU_CRM_CUSTOMER_COLUMNS;

constexpr char kSetTier[] =
    "UPDATE crm.customers AS c SET tier = $3, tier_locked = $4, update_time = now()"
    " WHERE c.tenant_id = $1 AND c.customer_id = $2 RETURNING " KEFU_CRM_CUSTOMER_COLUMNS;

constexpr char kRaiseTier[] =
    "UPDATE crm.customers SET tier = $3, update_time = now()"
    " WHERE tenant_id = $1 AND customer_id = $2";

constexpr char kBindAgent[] =
    "UPDATE crm.customers AS c SET exclusive_agent_id = $3, update_time = now()"
    " WHERE c.tenant_id = $1 AND c.customer_id = $2 RETURNING " KEFU_CRM_CUSTOMER_COLUMNS;

constexpr char kInsertKey[] =
    "INSERT INTO crm.customer_keys (tenant_id, kind, value, customer_id) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT DO NOTHING RETURNING 1";

constexpr char kKeyOwner[] =
    "SELECT k.customer_id, c.customer_number FROM crm.customer_keys k"
    " JOIN crm.customers c ON c.tenant_id = k.tenant_id AND c.customer_id = k.customer_id"
    " WHERE k.tenant_id = $1 AND k.kind = $2 AND k.value = $3";

constexpr char kDeleteKey[] =
    "DELETE FROM crm.customer_keys"
    " WHERE tenant_id = $1 AND kind = $2 AND value = $3 AND customer_id = $4";

// A visitor's history follows the card it is linked to (F5, F50).
constexpr char kLinkVisitor[] =
    "UPDATE crm.visitors SET customer_id = $3 WHERE tenant_id = $1 AND visitor_id = $2";
constexpr char kLinkVisits[] =
    "UPDATE crm.visits SET customer_id = $3 WHERE tenant_id = $1 AND visitor_id = $2";

constexpr char kList[] = "SELECT c.number_seq, " KEFU_CRM_CUSTOMER_COLUMNS
                         " FROM crm.customers c WHERE c.tenant_id = $1"
                         " AND ($2::smallint = 0 OR c.tier = $2::smallint)"
                         " AND ($3::text = '' OR c.tags @> ARRAY[$3::text])"
                         " AND ($4::text = '' OR c.exclusive_agent_id = $4::text)"
                         " AND ($5::bigint IS NULL OR c.number_seq > $5::bigint)"
                         " ORDER BY c.number_seq LIMIT $6";

// $2: the query lower-cased; $3: its digits when it looks like a phone number, else ''.
constexpr char kSearch[] =
    "SELECT c.number_seq, " KEFU_CRM_CUSTOMER_COLUMNS
    " FROM crm.customers c WHERE c.tenant_id = $1"
    " AND (strpos(lower(c.name), $2::text) > 0 OR strpos(lower(c.customer_number), $2::text) > 0"
    "  OR EXISTS (SELECT 1 FROM crm.customer_keys k"
    "   WHERE k.tenant_id = c.tenant_id AND k.customer_id = c.customer_id"
    "   AND (strpos(lower(k.value), $2::text) > 0 OR ($3::text <> '' AND k.kind = 1"
    "        AND strpos(k.value, $3::text) > 0))))"
    " AND ($4::bigint IS NULL OR c.number_seq > $4::bigint)"
    " ORDER BY c.number_seq LIMIT $5";

constexpr char kLastDialog[] =
    "SELECT d.dialog_id, crm.micros(d.end_time), d.summary,"
    " ARRAY(SELECT a.agent_id FROM crm.dialog_agents a"
    "  WHERE a.tenant_id = d.tenant_id AND a.dialog_id = d.dialog_id ORDER BY a.position)"
    " FROM crm.dialogs d WHERE d.tenant_id = $1 AND d.customer_id = $2"
    " AND d.end_time IS NOT NULL ORDER BY d.end_time DESC LIMIT 1";

constexpr char kGetTierRules[] = "SELECT rules::text FROM crm.tier_rules WHERE tenant_id = $1";
constexpr char kSetTierRules[] =
    "INSERT INTO crm.tier_rules (tenant_id, rules) VALUES ($1, $2::jsonb)"
    " ON CONFLICT (tenant_id) DO UPDATE SET rules = EXCLUDED.rules, update_time = now()";

constexpr char kGetForm[] =
    "SELECT form::text, crm.micros(update_time) FROM crm.registration_forms"
    " WHERE tenant_id = $1 AND kind = $2 AND entry_point_id IN ($3, '')"
    " ORDER BY (entry_point_id <> '') DESC LIMIT 1";
constexpr char kSetForm[] =
    "INSERT INTO crm.registration_forms (tenant_id, kind, entry_point_id, form)"
    " VALUES ($1, $2, $3, $4::jsonb)"
    " ON CONFLICT (tenant_id, kind, entry_point_id)"
    " DO UPDATE SET form = EXCLUDED.form, update_time = now()"
    " RETURNING crm.micros(update_time)";

// --- helpers --------------------------------------------------------------------------

constexpr int kIdentifyAttempts = 4;

absl::string_view KindField(IdentificationKey kind) {
  switch (kind) {
    case kefu::common::v1::IDENTIFICATION_KEY_PHONE:
      return "phones";
    case kefu::common::v1::IDENTIFICATION_KEY_EMAIL:
      return "emails";
    case kefu::common::v1::IDENTIFICATION_KEY_IM_ACCOUNT:
      return "im_accounts";
    case kefu::common::v1::IDENTIFICATION_KEY_VISITOR_ID:
      return "visitor_ids";
    default:
      return "key";
  }
}

absl::string_view KindName(IdentificationKey kind) {
  switch (kind) {
    case kefu::common::v1::IDENTIFICATION_KEY_PHONE:
      return "phone";
    case kefu::common::v1::IDENTIFICATION_KEY_EMAIL:
      return "email";
    case kefu::common::v1::IDENTIFICATION_KEY_IM_ACCOUNT:
      return "IM account";
    case kefu::common::v1::IDENTIFICATION_KEY_VISITOR_ID:
      return "visitor id";
    default:
      return "key";
  }
}

std::vector<std::string> ImKeys(const Customer& card) {
  std::vector<std::string> out;
  for (const auto& im : card.im_accounts())
    out.push_back(absl::StrCat(im.platform(), ":", im.account()));
  return out;
}

std::vector<std::string> ToVector(const google::protobuf::RepeatedPtrField<std::string>& list) {
  return {list.begin(), list.end()};
}

template <typename T>
bool Contains(const std::vector<T>& list, const T& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// The card's customer_id and the owner's number when `key` belongs to a card.
std::optional<std::pair<std::string, std::string>> KeyOwner(pqxx::work& txn,
                                                            const std::string& tenant,
                                                            const CustomerKey& key) {
  auto rows = txn.exec_params(kKeyOwner, tenant, static_cast<int>(key.kind), key.value);
  if (rows.empty()) return std::nullopt;
  return std::make_pair(rows[0][0].as<std::string>(), rows[0][1].as<std::string>());
}

// Makes customer_keys hold exactly `after` for the card. A key of another card is
// ALREADY_EXISTS naming the field ("customer.phones: +86... already belongs to C000003").
absl::Status SyncKeys(pqxx::work& txn, const std::string& tenant, const std::string& customer_id,
                      const std::vector<CustomerKey>& before, const std::vector<CustomerKey>& after,
                      absl::string_view prefix) {
  for (const CustomerKey& key : before) {
    if (Contains(after, key)) continue;
    txn.exec_params(kDeleteKey, tenant, static_cast<int>(key.kind), key.value, customer_id);
  }
  for (const CustomerKey& key : after) {
    if (Contains(before, key)) continue;
    auto inserted =
        txn.exec_params(kInsertKey, tenant, static_cast<int>(key.kind), key.value, customer_id);
    if (!inserted.empty()) continue;
    auto owner = KeyOwner(txn, tenant, key);
    if (owner.has_value() && owner->first == customer_id) continue;
    return absl::AlreadyExistsError(absl::StrCat(
        prefix, ".", KindField(key.kind), ": ", KindName(key.kind), " ", key.value,
        " already belongs to customer ", owner.has_value() ? owner->second : "(another card)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Customer> LockCustomer(pqxx::work& txn, const std::string& tenant,
                                      const std::string& customer_id) {
  auto rows = txn.exec_params(kLockCustomer, tenant, customer_id);
  if (rows.empty()) {
    return absl::NotFoundError(absl::StrCat("customer_id: no customer \"", customer_id, "\""));
  }
  return customer_rows::CustomerFromRow(rows[0]);
}

std::optional<Customer> FindByKey(pqxx::work& txn, const std::string& tenant,
                                  const CustomerKey& key, bool lock) {
  auto rows = txn.exec_params(lock ? kLockByKey : kSelectByKey, tenant, static_cast<int>(key.kind),
                              key.value);
  if (rows.empty()) return std::nullopt;
  return customer_rows::CustomerFromRow(rows[0]);
}

// Inserts a new card (NEW unless set) with a fresh id and number, then its keys.
absl::StatusOr<Customer> InsertCard(pqxx::work& txn, const std::string& tenant, Customer card,
                                    absl::string_view prefix) {
  const int64_t seq = txn.exec_params1(kNextCustomerNumber, tenant)[0].as<int64_t>();
  if (card.tier() == kefu::common::v1::CUSTOMER_TIER_UNSPECIFIED) {
    card.set_tier(kefu::common::v1::CUSTOMER_TIER_NEW);
  }
  const std::string id = pgsupport::NewId();
  auto row = txn.exec_params1(
      kInsertCustomer, tenant, id, seq, absl::StrFormat("C%06d", seq), card.name(),
      static_cast<int>(card.tier()), card.tier_locked(), TextArray(ToVector(card.phones())),
      TextArray(ToVector(card.emails())), TextArray(ImKeys(card)),
      TextArray(ToVector(card.visitor_ids())), TextArray(ToVector(card.tags())),
      pgsupport::MapToJson(card.registration_fields()), card.note(),
      static_cast<int>(card.language()), card.exclusive_agent_id());
  Customer stored = customer_rows::CustomerFromRow(row);
  KEFU_RETURN_IF_ERROR(SyncKeys(txn, tenant, id, {}, KeysOfCard(stored), prefix));
  for (const std::string& visitor : stored.visitor_ids()) {
    txn.exec_params(kLinkVisitor, tenant, visitor, id);
    txn.exec_params(kLinkVisits, tenant, visitor, id);
  }
  return stored;
}

// Writes the editable fields of `card` over the stored card `before`, keys included.
absl::StatusOr<Customer> WriteCard(pqxx::work& txn, const std::string& tenant,
                                   const Customer& before, const Customer& card,
                                   absl::string_view prefix) {
  KEFU_RETURN_IF_ERROR(
      SyncKeys(txn, tenant, before.customer_id(), KeysOfCard(before), KeysOfCard(card), prefix));
  auto row = txn.exec_params1(
      kUpdateCard, tenant, before.customer_id(), card.name(), TextArray(ToVector(card.phones())),
      TextArray(ToVector(card.emails())), TextArray(ImKeys(card)),
      TextArray(ToVector(card.visitor_ids())), TextArray(ToVector(card.tags())),
      pgsupport::MapToJson(card.registration_fields()), card.note(),
      static_cast<int>(card.language()));
  for (const std::string& visitor : card.visitor_ids()) {
    if (Contains(ToVector(before.visitor_ids()), visitor)) continue;
    txn.exec_params(kLinkVisitor, tenant, visitor, before.customer_id());
    txn.exec_params(kLinkVisits, tenant, visitor, before.customer_id());
  }
  return customer_rows::CustomerFromRow(row);
}

// Copies the fields named in `paths` (all editable fields when empty) from `from`.
Customer Merge(const Customer& stored, const Customer& from,
               const std::vector<std::string>& paths) {
  Customer out = stored;
  auto wants = [&](absl::string_view f) {
    return paths.empty() || Contains(paths, std::string(f));
  };
  if (wants("name")) out.set_name(from.name());
  if (wants("phones")) *out.mutable_phones() = from.phones();
  if (wants("emails")) *out.mutable_emails() = from.emails();
  if (wants("im_accounts")) *out.mutable_im_accounts() = from.im_accounts();
  if (wants("visitor_ids")) *out.mutable_visitor_ids() = from.visitor_ids();
  if (wants("tags")) *out.mutable_tags() = from.tags();
  if (wants("registration_fields")) *out.mutable_registration_fields() = from.registration_fields();
  if (wants("note")) out.set_note(from.note());
  if (wants("language")) out.set_language(from.language());
  return out;
}

std::optional<kefu::crm::v1::DialogBrief> LastDialog(pqxx::work& txn, const std::string& tenant,
                                                     const std::string& customer_id) {
  auto rows = txn.exec_params(kLastDialog, tenant, customer_id);
  if (rows.empty()) return std::nullopt;
  kefu::crm::v1::DialogBrief brief;
  brief.set_dialog_id(rows[0][0].as<std::string>());
  pgsupport::SetTime(rows[0][1], brief.mutable_end_time());
  if (!rows[0][2].is_null()) brief.mutable_summary()->ParseFromString(pgsupport::Bytes(rows[0][2]));
  for (auto& agent : pgsupport::ParseTextArray(rows[0][3])) brief.add_agent_ids(std::move(agent));
  return brief;
}

// Retries `fn` when it lost a race (ABORTED): the next attempt sees the winner's row.
template <typename Fn>
auto WithRetry(Fn&& fn) -> decltype(fn()) {
  auto result = fn();
  for (int attempt = 1; attempt < kIdentifyAttempts && absl::IsAborted(result.status());
       ++attempt) {
    result = fn();
  }
  return result;
}

}  // namespace

namespace customer_rows {

Customer CustomerFromRow(const pqxx::row& row) {
  Customer c;
  c.set_customer_id(row[0].as<std::string>());
  c.set_customer_number(row[1].as<std::string>());
  c.set_name(row[2].as<std::string>());
  c.set_tier(static_cast<CustomerTier>(row[3].as<int>()));
  c.set_tier_locked(row[4].as<bool>());
  for (auto& v : pgsupport::ParseTextArray(row[5])) c.add_phones(std::move(v));
  for (auto& v : pgsupport::ParseTextArray(row[6])) c.add_emails(std::move(v));
  for (auto& v : pgsupport::ParseTextArray(row[7])) *c.add_im_accounts() = ImAccountFromKey(v);
  for (auto& v : pgsupport::ParseTextArray(row[8])) c.add_visitor_ids(std::move(v));
  for (auto& v : pgsupport::ParseTextArray(row[9])) c.add_tags(std::move(v));
  pgsupport::JsonToMap(row[10].as<std::string>(), c.mutable_registration_fields());
  c.set_exclusive_agent_id(row[11].as<std::string>());
  c.set_note(row[12].as<std::string>());
  c.set_language(static_cast<kefu::common::v1::Language>(row[13].as<int>()));
  c.set_dialog_count(row[14].as<int>());
  pgsupport::SetTime(row[15], c.mutable_first_contact_time());
  pgsupport::SetTime(row[16], c.mutable_last_contact_time());
  pgsupport::SetTime(row[17], c.mutable_create_time());
  pgsupport::SetTime(row[18], c.mutable_update_time());
  return c;
}

kefu::common::v1::CustomerSummary SummaryOf(const Customer& customer) {
  kefu::common::v1::CustomerSummary s;
  s.set_customer_id(customer.customer_id());
  s.set_customer_number(customer.customer_number());
  s.set_name(customer.name());
  s.set_tier(customer.tier());
  *s.mutable_tags() = customer.tags();
  if (customer.phones_size() > 0) s.set_primary_phone(customer.phones(0));
  if (customer.emails_size() > 0) s.set_primary_email(customer.emails(0));
  s.set_exclusive_agent_id(customer.exclusive_agent_id());
  *s.mutable_registration_fields() = customer.registration_fields();
  s.set_dialog_count(customer.dialog_count());
  if (customer.has_last_contact_time()) {
    *s.mutable_last_contact_time() = customer.last_contact_time();
  }
  return s;
}

std::vector<kefu::crm::v1::TierRule> LoadTierRules(pqxx::work& txn, const std::string& tenant) {
  auto rows = txn.exec_params(kGetTierRules, tenant);
  if (rows.empty()) return DefaultTierRules();
  kefu::crm::v1::GetTierRulesResponse stored;
  if (!pgsupport::JsonToMessage(rows[0][0].as<std::string>(), &stored).ok()) {
    log::Error("tier rules unreadable; using the defaults", {{"tenant", tenant}});
    return DefaultTierRules();
  }
  return {stored.rules().begin(), stored.rules().end()};
}

kefu::events::v1::Event TierChangedEvent(const std::string& tenant, const std::string& customer_id,
                                         CustomerTier previous, CustomerTier tier,
                                         const std::string& rule_id) {
  kefu::events::v1::Event event;
  event.set_tenant_id(tenant);
  auto* changed = event.mutable_customer_tier_changed();
  changed->set_customer_id(customer_id);
  changed->set_previous_tier(previous);
  changed->set_tier(tier);
  changed->set_rule_id(rule_id);
  return event;
}

std::optional<kefu::events::v1::Event> ApplyTierRules(pqxx::work& txn, const std::string& tenant,
                                                      Customer* customer) {
  CustomerFacts facts;
  facts.tier = customer->tier();
  facts.tier_locked = customer->tier_locked();
  facts.completed_dialogs = customer->dialog_count();
  facts.tags = ToVector(customer->tags());
  const TierDecision decision = EvaluateTier(facts, LoadTierRules(txn, tenant));
  if (!decision.changed()) return std::nullopt;
  const CustomerTier previous = customer->tier();
  txn.exec_params(kRaiseTier, tenant, customer->customer_id(), static_cast<int>(decision.tier));
  customer->set_tier(decision.tier);
  return TierChangedEvent(tenant, customer->customer_id(), previous, decision.tier,
                          decision.rule_id);
}

}  // namespace customer_rows

absl::StatusOr<Mutation<kefu::crm::v1::IdentifyCustomerResponse>> PgCustomerStore::Identify(
    const std::string& tenant, const CustomerKey& key, const IdentifyOptions& options,
    const Idempotency& idem) {
  using Response = kefu::crm::v1::IdentifyCustomerResponse;
  return WithRetry([&] {
    return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<Mutation<Response>> {
      return pgsupport::Idempotent<Response>(
          txn, tenant, idem, [&]() -> absl::StatusOr<Mutation<Response>> {
            Mutation<Response> out;
            if (auto found = FindByKey(txn, tenant, key, false)) {
              *out.value.mutable_customer() = *std::move(found);
              out.value.set_matched_by(key.kind);
              if (auto last = LastDialog(txn, tenant, out.value.customer().customer_id())) {
                *out.value.mutable_last_dialog() = *std::move(last);
              }
              return out;
            }
            if (options.lookup_only) {
              return absl::NotFoundError(
                  absl::StrCat("no customer with ", KindName(key.kind), " ", key.value));
            }
            Customer card;
            card.set_name(options.name);
            switch (key.kind) {
              case kefu::common::v1::IDENTIFICATION_KEY_PHONE:
                card.add_phones(key.value);
                break;
              case kefu::common::v1::IDENTIFICATION_KEY_EMAIL:
                card.add_emails(key.value);
                break;
              case kefu::common::v1::IDENTIFICATION_KEY_IM_ACCOUNT:
                *card.add_im_accounts() = ImAccountFromKey(key.value);
                break;
              default:
                card.add_visitor_ids(key.value);
                break;
            }
            auto created = InsertCard(txn, tenant, card, "customer");
            // Another call created the card for this key first: roll back and find it.
            if (absl::IsAlreadyExists(created.status())) {
              return absl::AbortedError("identify raced another call for the same key");
            }
            if (!created.ok()) return created.status();
            *out.value.mutable_customer() = *std::move(created);
            out.value.set_created(true);
            out.value.set_matched_by(kefu::common::v1::IDENTIFICATION_KEY_NONE);
            log::Info("customer created by identification",
                      {{"tenant", tenant},
                       {"customer", out.value.customer().customer_id()},
                       {"contact", options.contact_id}});
            return out;
          });
    });
  });
}

absl::StatusOr<Customer> PgCustomerStore::Get(const std::string& tenant,
                                              const std::string& customer_id) {
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<Customer> {
    auto rows = txn.exec_params(kSelectCustomer, tenant, customer_id);
    if (rows.empty()) {
      return absl::NotFoundError(absl::StrCat("customer_id: no customer \"", customer_id, "\""));
    }
    return customer_rows::CustomerFromRow(rows[0]);
  });
}

absl::StatusOr<Mutation<Customer>> PgCustomerStore::Create(const std::string& tenant,
                                                           const Customer& card,
                                                           const std::string& from_visitor_id,
                                                           const Idempotency& idem) {
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<Mutation<Customer>> {
    return pgsupport::Idempotent<Customer>(
        txn, tenant, idem, [&]() -> absl::StatusOr<Mutation<Customer>> {
          Customer input = card;
          if (!from_visitor_id.empty() &&
              !Contains(ToVector(input.visitor_ids()), from_visitor_id)) {
            input.add_visitor_ids(from_visitor_id);
          }
          Mutation<Customer> out;
          KEFU_ASSIGN_OR_RETURN(out.value, InsertCard(txn, tenant, input, "customer"));
          if (auto event = customer_rows::ApplyTierRules(txn, tenant, &out.value)) {
            out.events.push_back(*std::move(event));
          }
          return out;
        });
  });
}

absl::StatusOr<Mutation<Customer>> PgCustomerStore::Update(const std::string& tenant,
                                                           const Customer& card,
                                                           const std::vector<std::string>& paths,
                                                           const Idempotency& idem) {
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<Mutation<Customer>> {
    return pgsupport::Idempotent<Customer>(
        txn, tenant, idem, [&]() -> absl::StatusOr<Mutation<Customer>> {
          KEFU_ASSIGN_OR_RETURN(Customer before, LockCustomer(txn, tenant, card.customer_id()));
          Mutation<Customer> out;
          KEFU_ASSIGN_OR_RETURN(
              out.value, WriteCard(txn, tenant, before, Merge(before, card, paths), "customer"));
          if (auto event = customer_rows::ApplyTierRules(txn, tenant, &out.value)) {
            out.events.push_back(*std::move(event));
          }
          return out;
        });
  });
}

absl::StatusOr<CustomerPage> PgCustomerStore::List(const std::string& tenant,
                                                   const CustomerFilter& filter,
                                                   const PageRequest& page) {
  KEFU_ASSIGN_OR_RETURN(std::optional<int64_t> after, pgsupport::ParseNumberCursor(page.cursor));
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<CustomerPage> {
    auto rows = txn.exec_params(kList, tenant, static_cast<int>(filter.tier), filter.tag,
                                filter.exclusive_agent_id, after, page.limit + 1);
    CustomerPage out;
    for (size_t i = 0; i < rows.size() && static_cast<int>(i) < page.limit; ++i) {
      // The columns after number_seq: CustomerFromRow reads from index 0.
      out.customers.push_back(customer_rows::CustomerFromRow(rows[i].slice(1, rows[i].size())));
      if (static_cast<int>(rows.size()) > page.limit && static_cast<int>(i) == page.limit - 1) {
        out.next_cursor = rows[i][0].as<std::string>();
      }
    }
    return out;
  });
}

absl::StatusOr<CustomerPage> PgCustomerStore::Search(const std::string& tenant,
                                                     const std::string& query,
                                                     const PageRequest& page) {
  KEFU_ASSIGN_OR_RETURN(std::optional<int64_t> after, pgsupport::ParseNumberCursor(page.cursor));
  const std::string lower = absl::AsciiStrToLower(absl::StripAsciiWhitespace(query));
  std::string digits;
  bool phone_like = true;
  for (char c : lower) {
    if (absl::ascii_isdigit(c)) {
      digits.push_back(c);
    } else if (!(c == '+' || c == ' ' || c == '-' || c == '(' || c == ')')) {
      phone_like = false;
    }
  }
  if (!phone_like || digits.size() < 3) digits.clear();
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<CustomerPage> {
    auto rows = txn.exec_params(kSearch, tenant, lower, digits, after, page.limit + 1);
    CustomerPage out;
    for (size_t i = 0; i < rows.size() && static_cast<int>(i) < page.limit; ++i) {
      out.customers.push_back(customer_rows::CustomerFromRow(rows[i].slice(1, rows[i].size())));
      if (static_cast<int>(rows.size()) > page.limit && static_cast<int>(i) == page.limit - 1) {
        out.next_cursor = rows[i][0].as<std::string>();
      }
    }
    return out;
  });
}

absl::StatusOr<Mutation<Customer>> PgCustomerStore::SetTier(const std::string& tenant,
                                                            const std::string& customer_id,
                                                            CustomerTier tier, bool lock,
                                                            const Idempotency& idem) {
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<Mutation<Customer>> {
    return pgsupport::Idempotent<Customer>(
        txn, tenant, idem, [&]() -> absl::StatusOr<Mutation<Customer>> {
          KEFU_ASSIGN_OR_RETURN(Customer before, LockCustomer(txn, tenant, customer_id));
          Mutation<Customer> out;
          out.value = customer_rows::CustomerFromRow(
              txn.exec_params1(kSetTier, tenant, customer_id, static_cast<int>(tier), lock));
          std::string rule_id;
          // Unlocked, the rules apply again at once (they may raise the tier further).
          if (auto raised = customer_rows::ApplyTierRules(txn, tenant, &out.value)) {
            rule_id = raised->customer_tier_changed().rule_id();
          }
          if (out.value.tier() != before.tier()) {
            out.events.push_back(customer_rows::TierChangedEvent(tenant, customer_id, before.tier(),
                                                                 out.value.tier(), rule_id));
          }
          return out;
        });
  });
}

absl::StatusOr<Customer> PgCustomerStore::BindExclusiveAgent(const std::string& tenant,
                                                             const std::string& customer_id,
                                                             const std::string& agent_id,
                                                             const Idempotency& idem) {
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<Customer> {
    return pgsupport::IdempotentValue<Customer>(
        txn, tenant, idem, [&]() -> absl::StatusOr<Customer> {
          auto rows = txn.exec_params(kBindAgent, tenant, customer_id, agent_id);
          if (rows.empty()) {
            return absl::NotFoundError(
                absl::StrCat("customer_id: no customer \"", customer_id, "\""));
          }
          return customer_rows::CustomerFromRow(rows[0]);
        });
  });
}

absl::StatusOr<std::vector<kefu::crm::v1::TierRule>> PgCustomerStore::GetTierRules(
    const std::string& tenant) {
  using Rules = std::vector<kefu::crm::v1::TierRule>;
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<Rules> {
    return customer_rows::LoadTierRules(txn, tenant);
  });
}

absl::StatusOr<std::vector<kefu::crm::v1::TierRule>> PgCustomerStore::SetTierRules(
    const std::string& tenant, const std::vector<kefu::crm::v1::TierRule>& rules,
    const Idempotency& idem) {
  using Stored = kefu::crm::v1::SetTierRulesResponse;
  auto stored = pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<Stored> {
    return pgsupport::IdempotentValue<Stored>(txn, tenant, idem, [&]() -> absl::StatusOr<Stored> {
      Stored doc;
      for (const auto& rule : rules) *doc.add_rules() = rule;
      txn.exec_params(kSetTierRules, tenant, pgsupport::MessageToJson(doc));
      return doc;
    });
  });
  if (!stored.ok()) return stored.status();
  return std::vector<kefu::crm::v1::TierRule>(stored->rules().begin(), stored->rules().end());
}

absl::StatusOr<kefu::crm::v1::RegistrationForm> PgCustomerStore::GetForm(
    const std::string& tenant, kefu::crm::v1::FormKind kind, const std::string& entry_point_id) {
  using Form = kefu::crm::v1::RegistrationForm;
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<Form> {
    auto rows = txn.exec_params(kGetForm, tenant, static_cast<int>(kind), entry_point_id);
    if (rows.empty()) {
      return absl::NotFoundError(absl::StrCat(
          "kind: no ",
          kind == kefu::crm::v1::FORM_KIND_LEAVE_MESSAGE ? "leave-message" : "pre-chat",
          " form is set up for this tenant (SetRegistrationForm)"));
    }
    Form form;
    KEFU_RETURN_IF_ERROR(pgsupport::JsonToMessage(rows[0][0].as<std::string>(), &form));
    pgsupport::SetTime(rows[0][1], form.mutable_update_time());
    return form;
  });
}

absl::StatusOr<kefu::crm::v1::RegistrationForm> PgCustomerStore::SetForm(
    const std::string& tenant, const kefu::crm::v1::RegistrationForm& form,
    const Idempotency& idem) {
  using Form = kefu::crm::v1::RegistrationForm;
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<Form> {
    return pgsupport::IdempotentValue<Form>(txn, tenant, idem, [&]() -> absl::StatusOr<Form> {
      Form doc = form;
      doc.clear_update_time();
      auto row = txn.exec_params1(kSetForm, tenant, static_cast<int>(form.kind()),
                                  form.entry_point_id(), pgsupport::MessageToJson(doc));
      pgsupport::SetTime(row[0], doc.mutable_update_time());
      return doc;
    });
  });
}

absl::StatusOr<Mutation<kefu::crm::v1::SubmitRegistrationResponse>> PgCustomerStore::Submit(
    const std::string& tenant, const RegistrationPlan& plan, const Idempotency& idem) {
  using Response = kefu::crm::v1::SubmitRegistrationResponse;
  const Submission& sub = plan.submission;
  return WithRetry([&] {
    return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<Mutation<Response>> {
      return pgsupport::Idempotent<Response>(
          txn, tenant, idem, [&]() -> absl::StatusOr<Mutation<Response>> {
            // Whose card: the named one, the visitor's, or the one holding a submitted
            // phone / email (a returning customer on a new browser, F5/F6).
            std::optional<Customer> card;
            if (!plan.customer_id.empty()) {
              KEFU_ASSIGN_OR_RETURN(card, LockCustomer(txn, tenant, plan.customer_id));
            }
            if (!card && !plan.visitor_id.empty()) {
              card = FindByKey(txn, tenant,
                               {kefu::common::v1::IDENTIFICATION_KEY_VISITOR_ID, plan.visitor_id},
                               true);
            }
            for (const auto& phone : sub.phones) {
              if (!card)
                card = FindByKey(txn, tenant, {kefu::common::v1::IDENTIFICATION_KEY_PHONE, phone},
                                 true);
            }
            for (const auto& email : sub.emails) {
              if (!card)
                card = FindByKey(txn, tenant, {kefu::common::v1::IDENTIFICATION_KEY_EMAIL, email},
                                 true);
            }
            Customer next = card ? *card : Customer();
            if (!sub.name.empty()) next.set_name(sub.name);
            for (const auto& [key, value] : sub.values)
              (*next.mutable_registration_fields())[key] = value;
            // Keys another card holds stay there; the value is still kept in the fields.
            auto add_key = [&](IdentificationKey kind, const std::string& value,
                               google::protobuf::RepeatedPtrField<std::string>* list) {
              if (Contains(ToVector(*list), value)) return;
              auto owner = KeyOwner(txn, tenant, {kind, value});
              if (owner.has_value() && (!card || owner->first != card->customer_id())) return;
              list->Add(std::string(value));
            };
            for (const auto& phone : sub.phones) {
              add_key(kefu::common::v1::IDENTIFICATION_KEY_PHONE, phone, next.mutable_phones());
            }
            for (const auto& email : sub.emails) {
              add_key(kefu::common::v1::IDENTIFICATION_KEY_EMAIL, email, next.mutable_emails());
            }
            if (!plan.visitor_id.empty()) {
              add_key(kefu::common::v1::IDENTIFICATION_KEY_VISITOR_ID, plan.visitor_id,
                      next.mutable_visitor_ids());
            }
            Mutation<Response> out;
            if (card) {
              KEFU_ASSIGN_OR_RETURN(*out.value.mutable_customer(),
                                    WriteCard(txn, tenant, *card, next, "form_fields"));
            } else {
              auto created = InsertCard(txn, tenant, next, "form_fields");
              if (absl::IsAlreadyExists(created.status())) {
                return absl::AbortedError("registration raced another call for the same key");
              }
              if (!created.ok()) return created.status();
              *out.value.mutable_customer() = *std::move(created);
              out.value.set_created(true);
            }
            return out;
          });
    });
  });
}

}  // namespace kefu::crm
