// PgRecordStore::ApplyEvent: the records other services report through the event
// stream (docs/API.md "Events"): dialogs, agents, transcripts, ratings, visits, card
// updates.
// Each event is applied together with its processed_events row in one transaction (of its
// own, or of the consumer's batch of that tenant), so a redelivered event (at-least-once
// consumption) finds its id and changes nothing.
// Events may arrive in any order across producers: every handler creates the dialog
// row it needs and only fills what it knows. Once DialogEnded has given the dialog its
// final account, an assignment or transfer that arrives later (redelivered after a failed
// attempt, or applied by another replica) changes nothing: it would add a segment.
#include <optional>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "libs/common/log.h"
#include "services/crm/pg_customer_store.h"
#include "services/crm/pg_record_store.h"
#include "services/crm/pg_support.h"
#include "services/crm/referrer.h"
#include "services/crm/tier_rules.h"

namespace kefu::crm {
namespace {

using kefu::events::v1::Event;
using pgsupport::Micros;

constexpr char kMarkProcessed[] =
    "INSERT INTO crm.processed_events (tenant_id, event_id) VALUES ($1, $2)"
    " ON CONFLICT DO NOTHING RETURNING 1";

constexpr char kEnsureDialog[] =
    "INSERT INTO crm.dialogs (tenant_id, dialog_id, start_time)"
    " VALUES ($1, $2, crm.from_micros($3)) ON CONFLICT DO NOTHING";

constexpr char kDialogOfContact[] =
    "SELECT dialog_id FROM crm.dialogs WHERE tenant_id = $1 AND contact_id = $2 LIMIT 1";

constexpr char kContactStarted[] =
    "UPDATE crm.dialogs SET contact_id = $3, channel = $4, entry_point_id = $5,"
    " department_id = CASE WHEN department_id = '' THEN $6::text ELSE department_id END,"
    " initiation = $7, start_time = LEAST(start_time, crm.from_micros($8)), visitor_id = $9,"
    " country_code = $10, province = $11, city = $12"
    " WHERE tenant_id = $1 AND dialog_id = $2";

constexpr char kCustomerIdentified[] =
    "UPDATE crm.dialogs SET customer_id = $3, tier = $4,"
    " contact_id = CASE WHEN contact_id = '' THEN $5::text ELSE contact_id END"
    " WHERE tenant_id = $1 AND dialog_id = $2";

constexpr char kFirstContact[] =
    "UPDATE crm.customers SET first_contact_time ="
    " LEAST(COALESCE(first_contact_time, crm.from_micros($3)), crm.from_micros($3))"
    " WHERE tenant_id = $1 AND customer_id = $2";

// The dialog row, locked until the transaction ends, unless DialogEnded has been applied
// (end_time is set only there). The lock orders an assignment and a DialogEnded applied by
// two transactions at once: the one that waits sees what the other committed.
constexpr char kLockOpenDialog[] =
    "SELECT 1 FROM crm.dialogs WHERE tenant_id = $1 AND dialog_id = $2 AND end_time IS NULL"
    " FOR UPDATE";

// First assignment: connected, the wait until now, the department of the agent.
constexpr char kAssigned[] =
    "UPDATE crm.dialogs SET connected = true,"
    " customer_id = CASE WHEN $3::text <> '' THEN $3::text ELSE customer_id END,"
    " department_id = CASE WHEN $4::text <> '' THEN $4::text ELSE department_id END,"
    " tier = CASE WHEN $5::int <> 0 THEN $5::int ELSE tier END,"
    " wait_us = CASE WHEN connected THEN wait_us ELSE $6::bigint END"
    " WHERE tenant_id = $1 AND dialog_id = $2";

constexpr char kCloseOtherAgents[] =
    "UPDATE crm.dialog_agents SET end_time = crm.from_micros($4)"
    " WHERE tenant_id = $1 AND dialog_id = $2 AND agent_id <> $3 AND end_time IS NULL";

constexpr char kCloseAgent[] =
    "UPDATE crm.dialog_agents SET end_time = crm.from_micros($4)"
    " WHERE tenant_id = $1 AND dialog_id = $2 AND agent_id = $3 AND end_time IS NULL";

// A new segment unless the agent already has an open one.
constexpr char kAddAgent[] =
    "INSERT INTO crm.dialog_agents (tenant_id, dialog_id, position, agent_id, department_id,"
    " initiation, start_time)"
    " SELECT $1, $2, COALESCE(max(position), 0) + 1, $3, $4, $5, crm.from_micros($6)"
    " FROM crm.dialog_agents WHERE tenant_id = $1 AND dialog_id = $2"
    " HAVING NOT EXISTS (SELECT 1 FROM crm.dialog_agents WHERE tenant_id = $1"
    "  AND dialog_id = $2 AND agent_id = $3 AND end_time IS NULL)";

constexpr char kInsertMessage[] =
    "INSERT INTO crm.messages (tenant_id, dialog_id, message_id, sequence, sender_type,"
    " sent_time, search_text, message)"
    " VALUES ($1, $2, $3, CASE WHEN $4::bigint > 0 THEN $4::bigint ELSE"
    "  (SELECT COALESCE(max(sequence), 0) + 1 FROM crm.messages"
    "   WHERE tenant_id = $1 AND dialog_id = $2) END,"
    " $5, crm.from_micros($6), $7, $8)"
    " ON CONFLICT DO NOTHING RETURNING 1";

constexpr char kCountMessage[] =
    "UPDATE crm.dialogs SET message_count = message_count + 1, valid = valid OR $3"
    " WHERE tenant_id = $1 AND dialog_id = $2";

// The gateway's account of the whole dialog is authoritative (F31, F53).
constexpr char kDialogEnded[] =
    "UPDATE crm.dialogs SET"
    " contact_id = CASE WHEN $3::text <> '' THEN $3::text ELSE contact_id END,"
    " customer_id = CASE WHEN $4::text <> '' THEN $4::text ELSE customer_id END,"
    " channel = CASE WHEN $5::int <> 0 THEN $5::int ELSE channel END,"
    " entry_point_id = CASE WHEN $6::text <> '' THEN $6::text ELSE entry_point_id END,"
    " department_id = CASE WHEN $7::text <> '' THEN $7::text ELSE department_id END,"
    " initiation = CASE WHEN $8::int <> 0 THEN $8::int ELSE initiation END,"
    " end_type = $9, valid = $10, connected = $11,"
    " start_time = CASE WHEN $12::bigint IS NULL THEN start_time"
    "  ELSE crm.from_micros($12::bigint) END,"
    " end_time = crm.from_micros($13), wait_us = $14, duration_us = $15, summary = $16::bytea,"
    " tier = CASE WHEN $17::int <> 0 THEN $17::int ELSE tier END"
    " WHERE tenant_id = $1 AND dialog_id = $2"
    " RETURNING counted, customer_id, crm.micros(start_time)";

constexpr char kDeleteAgents[] =
    "DELETE FROM crm.dialog_agents WHERE tenant_id = $1 AND dialog_id = $2";

constexpr char kInsertSegment[] =
    "INSERT INTO crm.dialog_agents (tenant_id, dialog_id, position, agent_id, department_id,"
    " initiation, start_time, end_time)"
    " VALUES ($1, $2, $3, $4, $5, $6, crm.from_micros($7), crm.from_micros($8))";

constexpr char kMarkCounted[] =
    "UPDATE crm.dialogs SET counted = true WHERE tenant_id = $1 AND dialog_id = $2";

// The card learns of the dialog: completed count, first and last contact (F2, F50).
constexpr char kCountDialogOnCard[] =
    "UPDATE crm.customers AS c SET dialog_count = dialog_count + $3,"
    " first_contact_time ="
    "  LEAST(COALESCE(first_contact_time, crm.from_micros($4)), crm.from_micros($4)),"
    " last_contact_time ="
    "  GREATEST(COALESCE(last_contact_time, crm.from_micros($5)), crm.from_micros($5)),"
    " update_time = now()"
    " WHERE c.tenant_id = $1 AND c.customer_id = $2 RETURNING " KEFU_CRM_CUSTOMER_COLUMNS;

constexpr char kUpsertVisitor[] =
    "INSERT INTO crm.visitors (tenant_id, visitor_id, customer_id, first_seen_time,"
    " last_seen_time, last_ip, country_code, province, city)"
    " VALUES ($1, $2, $3, crm.from_micros($4), crm.from_micros($4), $5, $6, $7, $8)"
    " ON CONFLICT (tenant_id, visitor_id) DO UPDATE SET"
    " customer_id = CASE WHEN EXCLUDED.customer_id <> '' THEN EXCLUDED.customer_id"
    "  ELSE crm.visitors.customer_id END,"
    " first_seen_time = LEAST(crm.visitors.first_seen_time, EXCLUDED.first_seen_time),"
    " last_seen_time = GREATEST(crm.visitors.last_seen_time, EXCLUDED.last_seen_time),"
    " last_ip = CASE WHEN EXCLUDED.last_ip <> '' THEN EXCLUDED.last_ip"
    "  ELSE crm.visitors.last_ip END,"
    " country_code = CASE WHEN EXCLUDED.last_ip <> '' THEN EXCLUDED.country_code"
    "  ELSE crm.visitors.country_code END,"
    " province = CASE WHEN EXCLUDED.last_ip <> '' THEN EXCLUDED.province"
    "  ELSE crm.visitors.province END,"
    " city = CASE WHEN EXCLUDED.last_ip <> '' THEN EXCLUDED.city ELSE crm.visitors.city END";

// RETURNING (xmax = 0): true when the visit row is new, to count the visit once.
constexpr char kUpsertVisit[] =
    "INSERT INTO crm.visits (tenant_id, visit_id, visitor_id, customer_id, entry_point_id, ip,"
    " country_code, province, city, referrer_url, referrer_domain, search_engine,"
    " search_keyword, user_agent, start_time)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, crm.from_micros($15))"
    " ON CONFLICT (tenant_id, visit_id) DO UPDATE SET"
    " customer_id = CASE WHEN EXCLUDED.customer_id <> '' THEN EXCLUDED.customer_id"
    "  ELSE crm.visits.customer_id END,"
    " referrer_url = CASE WHEN crm.visits.referrer_url = '' THEN EXCLUDED.referrer_url"
    "  ELSE crm.visits.referrer_url END,"
    " referrer_domain = CASE WHEN crm.visits.referrer_url = '' THEN EXCLUDED.referrer_domain"
    "  ELSE crm.visits.referrer_domain END,"
    " search_engine = CASE WHEN crm.visits.referrer_url = '' THEN EXCLUDED.search_engine"
    "  ELSE crm.visits.search_engine END,"
    " search_keyword = CASE WHEN crm.visits.referrer_url = '' THEN EXCLUDED.search_keyword"
    "  ELSE crm.visits.search_keyword END,"
    " start_time = LEAST(crm.visits.start_time, EXCLUDED.start_time)"
    " RETURNING (xmax = 0)";

constexpr char kCountVisit[] =
    "UPDATE crm.visitors SET visit_count = visit_count + 1"
    " WHERE tenant_id = $1 AND visitor_id = $2";

constexpr char kInsertPage[] =
    "INSERT INTO crm.visit_pages (tenant_id, visit_id, url, title, entered_time, dwell_us)"
    " VALUES ($1, $2, $3, $4, crm.from_micros($5), $6) ON CONFLICT DO NOTHING RETURNING 1";

// The page before a new one ends when the new one is entered (F5 dwell time).
constexpr char kCloseEarlierPage[] =
    "UPDATE crm.visit_pages p SET dwell_us = $3::bigint - crm.micros(p.entered_time)"
    " WHERE p.tenant_id = $1 AND p.visit_id = $2 AND p.dwell_us IS NULL"
    " AND p.entered_time = (SELECT max(q.entered_time) FROM crm.visit_pages q"
    "  WHERE q.tenant_id = $1 AND q.visit_id = $2 AND q.entered_time < "
    "crm.from_micros($3::bigint))";

// The gateway decides that a dialog is rated (F32, once per dialog) and reports the rating
// after the dialog's other events; a rating already recorded stays.
constexpr char kRated[] =
    "INSERT INTO crm.ratings (tenant_id, dialog_id, customer_id, agent_id, department_id, score,"
    " comment, invited_by_agent, create_time)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, crm.from_micros($9)) ON CONFLICT DO NOTHING";

constexpr char kExclusiveAgent[] =
    "UPDATE crm.customers SET exclusive_agent_id = $3, update_time = now()"
    " WHERE tenant_id = $1 AND customer_id = $2";

bool Handled(const Event& event) {
  switch (event.payload_case()) {
    case Event::kContactStarted:
    case Event::kCustomerIdentified:
    case Event::kContactAssigned:
    case Event::kContactTransferred:
    case Event::kContactPickedUp:
    case Event::kMessageSent:
    case Event::kDialogEnded:
    case Event::kVisitTracked:
    case Event::kExclusiveAgentBound:
    case Event::kDialogRated:
      return true;
    default:
      return false;
  }
}

// The dialog an event is about: its dialog_id, else the dialog of its contact ("" = none).
std::string ResolveDialog(pqxx::work& txn, const std::string& tenant, const std::string& dialog_id,
                          const std::string& contact_id) {
  if (!dialog_id.empty()) return dialog_id;
  if (contact_id.empty()) return "";
  auto rows = txn.exec_params(kDialogOfContact, tenant, contact_id);
  return rows.empty() ? "" : rows[0][0].as<std::string>();
}

void EnsureDialog(pqxx::work& txn, const std::string& tenant, const std::string& dialog_id,
                  int64_t at) {
  txn.exec_params(kEnsureDialog, tenant, dialog_id, at);
}

// EnsureDialog, then true while the dialog is open (and locks it), false once it has ended.
bool EnsureOpenDialog(pqxx::work& txn, const std::string& tenant, const std::string& dialog_id,
                      int64_t at) {
  EnsureDialog(txn, tenant, dialog_id, at);
  return !txn.exec_params(kLockOpenDialog, tenant, dialog_id).empty();
}

void AddAgent(pqxx::work& txn, const std::string& tenant, const std::string& dialog_id,
              const std::string& agent_id, const std::string& department_id, int initiation,
              int64_t at) {
  txn.exec_params(kCloseOtherAgents, tenant, dialog_id, agent_id, at);
  txn.exec_params(kAddAgent, tenant, dialog_id, agent_id, department_id, initiation, at);
}

// What full-text search looks at: the text, a notice in both languages, a file's name.
std::string SearchText(const kefu::common::v1::Message& message) {
  switch (message.content_case()) {
    case kefu::common::v1::Message::kText:
      return message.text();
    case kefu::common::v1::Message::kNotice:
      return absl::StrCat(message.notice().zh(), "\n", message.notice().en());
    case kefu::common::v1::Message::kFile:
      return message.file().file_name();
    default:
      return "";
  }
}

void ApplyContactStarted(pqxx::work& txn, const std::string& tenant, int64_t at,
                         const kefu::events::v1::ContactStarted& e) {
  if (e.dialog_id().empty()) return;
  EnsureDialog(txn, tenant, e.dialog_id(), at);
  txn.exec_params(kContactStarted, tenant, e.dialog_id(), e.contact_id(),
                  static_cast<int>(e.channel()), e.entry_point_id(), e.requested_department_id(),
                  static_cast<int>(e.initiation()), at, e.visitor_id(), e.region().country_code(),
                  e.region().province(), e.region().city());
}

void ApplyCustomerIdentified(pqxx::work& txn, const std::string& tenant, int64_t at,
                             const kefu::events::v1::CustomerIdentified& e) {
  const std::string dialog_id = ResolveDialog(txn, tenant, e.dialog_id(), e.contact_id());
  if (!dialog_id.empty()) {
    EnsureDialog(txn, tenant, dialog_id, at);
    txn.exec_params(kCustomerIdentified, tenant, dialog_id, e.customer_id(),
                    static_cast<int>(e.tier()), e.contact_id());
  }
  if (!e.customer_id().empty()) txn.exec_params(kFirstContact, tenant, e.customer_id(), at);
}

void ApplyAssigned(pqxx::work& txn, const std::string& tenant, int64_t at,
                   const std::string& dialog_id, const std::string& customer_id,
                   const std::string& agent_id, const std::string& department_id, int tier,
                   int initiation, int64_t waited_us) {
  if (dialog_id.empty() || agent_id.empty()) return;
  // After the end the gateway's segments are the record (F53).
  if (!EnsureOpenDialog(txn, tenant, dialog_id, at)) return;
  txn.exec_params(kAssigned, tenant, dialog_id, customer_id, department_id, tier, waited_us);
  AddAgent(txn, tenant, dialog_id, agent_id, department_id, initiation, at);
}

void ApplyTransferred(pqxx::work& txn, const std::string& tenant, int64_t at,
                      const kefu::events::v1::ContactTransferred& e) {
  const std::string dialog_id = ResolveDialog(txn, tenant, e.dialog_id(), e.contact_id());
  if (dialog_id.empty()) return;
  if (!EnsureOpenDialog(txn, tenant, dialog_id, at)) return;
  if (!e.from_agent_id().empty())
    txn.exec_params(kCloseAgent, tenant, dialog_id, e.from_agent_id(), at);
  // A transfer to a department or a bot gets its agent with the ContactAssigned that follows.
  if (e.target_case() == kefu::events::v1::ContactTransferred::kToAgentId) {
    AddAgent(txn, tenant, dialog_id, e.to_agent_id(), "",
             kefu::common::v1::DIALOG_INITIATION_TRANSFER, at);
  }
}

void ApplyMessage(pqxx::work& txn, const std::string& tenant, int64_t at,
                  const kefu::events::v1::MessageSent& e) {
  const auto& message = e.message();
  const std::string dialog_id = ResolveDialog(txn, tenant, message.dialog_id(), e.contact_id());
  if (dialog_id.empty() || message.message_id().empty()) return;
  EnsureDialog(txn, tenant, dialog_id, at);
  const int64_t sent = message.has_sent_time() ? Micros(message.sent_time()) : at;
  const pqxx::binarystring bytes(message.SerializeAsString());
  auto inserted =
      txn.exec_params(kInsertMessage, tenant, dialog_id, message.message_id(), message.sequence(),
                      static_cast<int>(message.sender().type()), sent, SearchText(message), bytes);
  if (inserted.empty()) return;  // the same message id again (F51: idempotent by message id)
  const bool from_customer = message.sender().type() == kefu::common::v1::PARTICIPANT_TYPE_CUSTOMER;
  txn.exec_params(kCountMessage, tenant, dialog_id, from_customer);
}

void ApplyDialogEnded(pqxx::work& txn, const std::string& tenant, int64_t at,
                      const kefu::events::v1::DialogEnded& e, EventOutcome* out) {
  const std::string dialog_id = ResolveDialog(txn, tenant, e.dialog_id(), e.contact_id());
  if (dialog_id.empty()) return;
  const int64_t end = e.has_end_time() ? Micros(e.end_time()) : at;
  EnsureDialog(txn, tenant, dialog_id, e.has_start_time() ? Micros(e.start_time()) : end);
  std::optional<int64_t> start;
  if (e.has_start_time()) start = Micros(e.start_time());
  std::optional<std::string> summary;  // bytea in hex input format
  if (e.has_summary())
    summary = absl::StrCat("\\x", absl::BytesToHexString(e.summary().SerializeAsString()));
  auto row = txn.exec_params1(kDialogEnded, tenant, dialog_id, e.contact_id(), e.customer_id(),
                              static_cast<int>(e.channel()), e.entry_point_id(), e.department_id(),
                              static_cast<int>(e.initiation()), static_cast<int>(e.end_type()),
                              e.valid(), e.connected(), start, end, Micros(e.wait_duration()),
                              Micros(e.talk_duration()), summary, static_cast<int>(e.tier()));
  if (e.segments_size() > 0) {
    txn.exec_params(kDeleteAgents, tenant, dialog_id);
    for (int i = 0; i < e.segments_size(); ++i) {
      const auto& s = e.segments(i);
      std::optional<int64_t> s_start, s_end;
      if (s.has_start_time()) s_start = Micros(s.start_time());
      if (s.has_end_time()) s_end = Micros(s.end_time());
      txn.exec_params(kInsertSegment, tenant, dialog_id, i + 1, s.agent_id(), s.department_id(),
                      static_cast<int>(s.initiation()), s_start, s_end);
    }
  } else {
    txn.exec_params(kCloseOtherAgents, tenant, dialog_id, "", end);
  }
  const bool counted = row[0].as<bool>();
  const std::string customer_id = row[1].as<std::string>();
  if (counted || customer_id.empty()) return;
  // The card counts each dialog once, however many DialogEnded events name it.
  txn.exec_params(kMarkCounted, tenant, dialog_id);
  const bool completed = CountsAsCompleted(e.end_type(), e.valid(), e.connected());
  auto cards = txn.exec_params(kCountDialogOnCard, tenant, customer_id, completed ? 1 : 0,
                               row[2].as<int64_t>(), end);
  if (cards.empty()) return;  // a customer crm does not know (yet)
  kefu::crm::v1::Customer card = customer_rows::CustomerFromRow(cards[0]);
  if (auto raised = customer_rows::ApplyTierRules(txn, tenant, &card)) {
    out->follow_ups.push_back(*std::move(raised));
  }
}

void ApplyVisit(pqxx::work& txn, const std::string& tenant, int64_t at,
                const kefu::events::v1::VisitTracked& e) {
  if (e.visitor_id().empty() || e.visit_id().empty()) return;
  const int64_t entered = e.page().has_entered_time() ? Micros(e.page().entered_time()) : at;
  txn.exec_params(kUpsertVisitor, tenant, e.visitor_id(), e.customer_id(), entered, e.ip(),
                  e.region().country_code(), e.region().province(), e.region().city());
  // The gateway may send the raw referrer only: crm shortens it and finds the engine (F5).
  const ParsedReferrer parsed = ParseReferrer(e.referrer().url());
  const std::string domain = e.referrer().domain().empty() ? parsed.domain : e.referrer().domain();
  const std::string engine =
      e.referrer().search_engine().empty() ? parsed.search_engine : e.referrer().search_engine();
  const std::string keyword =
      e.referrer().search_keyword().empty() ? parsed.search_keyword : e.referrer().search_keyword();
  auto visit = txn.exec_params1(kUpsertVisit, tenant, e.visit_id(), e.visitor_id(), e.customer_id(),
                                e.entry_point_id(), e.ip(), e.region().country_code(),
                                e.region().province(), e.region().city(), e.referrer().url(),
                                domain, engine, keyword, e.user_agent(), entered);
  if (visit[0].as<bool>()) txn.exec_params(kCountVisit, tenant, e.visitor_id());
  if (e.page().url().empty()) return;
  std::optional<int64_t> dwell;
  if (e.page().has_dwell()) dwell = Micros(e.page().dwell());
  auto page = txn.exec_params(kInsertPage, tenant, e.visit_id(), e.page().url(), e.page().title(),
                              entered, dwell);
  if (!page.empty()) txn.exec_params(kCloseEarlierPage, tenant, e.visit_id(), entered);
}

// One handled event's writes inside the caller's transaction, its processed_events row
// first: an event id already there changes nothing.
EventOutcome ApplyIn(pqxx::work& txn, const Event& event) {
  const std::string& tenant = event.tenant_id();
  const int64_t at =
      event.has_occurred_time() ? Micros(event.occurred_time()) : pgsupport::NowMicros();
  EventOutcome result;
  if (txn.exec_params(kMarkProcessed, tenant, event.event_id()).empty()) {
    result.duplicate = true;
    return result;
  }
  switch (event.payload_case()) {
    case Event::kContactStarted:
      ApplyContactStarted(txn, tenant, at, event.contact_started());
      break;
    case Event::kCustomerIdentified:
      ApplyCustomerIdentified(txn, tenant, at, event.customer_identified());
      break;
    case Event::kContactAssigned: {
      const auto& e = event.contact_assigned();
      ApplyAssigned(txn, tenant, at, ResolveDialog(txn, tenant, e.dialog_id(), e.contact_id()),
                    e.customer_id(), e.agent_id(), e.department_id(), static_cast<int>(e.tier()),
                    static_cast<int>(e.initiation()), Micros(e.waited()));
      break;
    }
    case Event::kContactPickedUp: {
      const auto& e = event.contact_picked_up();
      ApplyAssigned(txn, tenant, at, ResolveDialog(txn, tenant, e.dialog_id(), e.contact_id()), "",
                    e.agent_id(), "", 0, kefu::common::v1::DIALOG_INITIATION_CUSTOMER,
                    Micros(e.waited()));
      break;
    }
    case Event::kContactTransferred:
      ApplyTransferred(txn, tenant, at, event.contact_transferred());
      break;
    case Event::kMessageSent:
      ApplyMessage(txn, tenant, at, event.message_sent());
      break;
    case Event::kDialogEnded:
      ApplyDialogEnded(txn, tenant, at, event.dialog_ended(), &result);
      break;
    case Event::kVisitTracked:
      ApplyVisit(txn, tenant, at, event.visit_tracked());
      break;
    case Event::kDialogRated: {
      const auto& e = event.dialog_rated();
      if (e.dialog_id().empty() || e.score() < 1 || e.score() > 5) break;
      EnsureDialog(txn, tenant, e.dialog_id(), at);
      txn.exec_params(kRated, tenant, e.dialog_id(), e.customer_id(), e.agent_id(),
                      e.department_id(), e.score(), e.comment(), e.invited_by_agent(), at);
      break;
    }
    case Event::kExclusiveAgentBound: {
      const auto& e = event.exclusive_agent_bound();
      txn.exec_params(kExclusiveAgent, tenant, e.customer_id(), e.agent_id());
      break;
    }
    default:
      break;
  }
  return result;
}

// What an event gets without a transaction: ignored (not crm's), or refused (no event id).
std::optional<absl::StatusOr<EventOutcome>> Precheck(const Event& event) {
  if (!Handled(event)) {
    EventOutcome out;
    out.ignored = true;
    return out;
  }
  if (event.event_id().empty()) {
    return absl::InvalidArgumentError("event_id: required to apply an event exactly once");
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<EventOutcome> PgRecordStore::ApplyEvent(const Event& event) {
  if (auto decided = Precheck(event)) return *std::move(decided);
  return pool_->TransactIn(event.tenant_id(), [&](pqxx::work& txn) -> absl::StatusOr<EventOutcome> {
    return ApplyIn(txn, event);
  });
}

std::vector<absl::StatusOr<EventOutcome>> PgRecordStore::ApplyEvents(
    const std::string& tenant, const std::vector<const Event*>& events) {
  std::vector<absl::StatusOr<EventOutcome>> outcomes(events.size(), EventOutcome{});
  std::vector<size_t> todo;  // indexes of the events that need the database, in order
  for (size_t i = 0; i < events.size(); ++i) {
    if (events[i]->tenant_id() != tenant) {
      outcomes[i] = absl::InvalidArgumentError(absl::StrCat(
          "tenant_id: \"", events[i]->tenant_id(), "\" in a batch of tenant \"", tenant, "\""));
    } else if (auto decided = Precheck(*events[i])) {
      outcomes[i] = *std::move(decided);
    } else {
      todo.push_back(i);
    }
  }
  if (todo.empty()) return outcomes;
  if (todo.size() == 1) {
    outcomes[todo[0]] = ApplyEvent(*events[todo[0]]);
    return outcomes;
  }
  // In stream order, so a later event sees what an earlier one wrote, and a duplicate
  // inside the batch finds the processed_events row its first copy inserted.
  auto batch =
      pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<std::vector<EventOutcome>> {
        std::vector<EventOutcome> applied;
        applied.reserve(todo.size());
        for (size_t i : todo) applied.push_back(ApplyIn(txn, *events[i]));
        return applied;
      });
  if (batch.ok()) {
    for (size_t k = 0; k < todo.size(); ++k) outcomes[todo[k]] = std::move((*batch)[k]);
    return outcomes;
  }
  // Nothing of the batch was written. One event the database refuses, a deadlock or a lost
  // connection: apply each on its own, so that only the event at fault fails (and is
  // dropped, or retried when the failure is transient) and the others go through.
  log::Warn("event batch rolled back; applying its events one by one",
            {{"tenant", tenant},
             {"events", std::to_string(todo.size())},
             {"error", batch.status().ToString()}});
  for (size_t i : todo) outcomes[i] = ApplyEvent(*events[i]);
  return outcomes;
}

}  // namespace kefu::crm
