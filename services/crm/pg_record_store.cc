#include "services/crm/pg_record_store.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "libs/common/status_macros.h"
#include "services/crm/pg_customer_store.h"
#include "services/crm/pg_support.h"
#include "services/crm/search_text.h"

namespace kefu::crm {

using kefu::crm::v1::ContactPlan;
using kefu::crm::v1::Dialog;
using kefu::crm::v1::OfflineMessage;
using kefu::crm::v1::Rating;
using pgsupport::BoundMicros;
using pgsupport::IntArray;
using pgsupport::TextArray;

namespace {

// --- dialogs --------------------------------------------------------------------------

// Dialog columns (0-20) and its rating (21-28, NULL when unrated).
#define KEFU_CRM_DIALOG_SELECT                                                              \
  "SELECT d.dialog_id, d.contact_id, d.customer_id, d.channel, d.entry_point_id,"           \
  " d.department_id, d.initiation, d.end_type, d.valid, d.connected,"                       \
  " crm.micros(d.start_time), crm.micros(d.end_time), d.wait_us, d.duration_us, d.summary," \
  " d.message_count, d.visitor_id, d.country_code, d.province, d.city, d.tier,"             \
  " r.dialog_id, r.customer_id, r.agent_id, r.department_id, r.score, r.comment,"           \
  " r.invited_by_agent, crm.micros(r.create_time)"                                          \
  " FROM crm.dialogs d LEFT JOIN crm.ratings r"                                             \
  " ON r.tenant_id = d.tenant_id AND r.dialog_id = d.dialog_id"

constexpr char kGetDialog[] = KEFU_CRM_DIALOG_SELECT " WHERE d.tenant_id = $1 AND d.dialog_id = $2";

constexpr char kDialogAgents[] =
    "SELECT dialog_id, agent_id, department_id, initiation, crm.micros(start_time),"
    " crm.micros(end_time) FROM crm.dialog_agents"
    " WHERE tenant_id = $1 AND dialog_id = ANY($2::text[]) ORDER BY dialog_id, position";

// Every SearchDialogs criterion at once (F51); an empty list / 0 / NULL means any.
// $2/$3 start range, $4 agents, $5 departments, $6 customer, $7 words (lower-case, all
// must occur in the transcript), $8 end types, $9 validity, $10 rating filter,
// $11/$12 score bounds, $13 channels, $14 initiations.
#define KEFU_CRM_DIALOG_WHERE                                                                \
  " WHERE d.tenant_id = $1"                                                                  \
  " AND ($2::bigint IS NULL OR d.start_time >= crm.from_micros($2::bigint))"                 \
  " AND ($3::bigint IS NULL OR d.start_time < crm.from_micros($3::bigint))"                  \
  " AND (cardinality($4::text[]) = 0 OR EXISTS (SELECT 1 FROM crm.dialog_agents a"           \
  "  WHERE a.tenant_id = d.tenant_id AND a.dialog_id = d.dialog_id"                          \
  "  AND a.agent_id = ANY($4::text[])))"                                                     \
  " AND (cardinality($5::text[]) = 0 OR d.department_id = ANY($5::text[])"                   \
  "  OR EXISTS (SELECT 1 FROM crm.dialog_agents a WHERE a.tenant_id = d.tenant_id"           \
  "  AND a.dialog_id = d.dialog_id AND a.department_id = ANY($5::text[])))"                  \
  " AND ($6::text = '' OR d.customer_id = $6::text)"                                         \
  " AND NOT EXISTS (SELECT 1 FROM unnest($7::text[]) AS w(word) WHERE NOT EXISTS ("          \
  "  SELECT 1 FROM crm.messages m WHERE m.tenant_id = d.tenant_id"                           \
  "  AND m.dialog_id = d.dialog_id AND strpos(lower(m.search_text), w.word) > 0))"           \
  " AND (cardinality($8::int[]) = 0 OR d.end_type = ANY($8::int[]))"                         \
  " AND ($9::int = 0 OR ($9::int = 1 AND d.valid) OR ($9::int = 2 AND NOT d.valid))"         \
  " AND ($10::int = 0"                                                                       \
  "  OR ($10::int = 1 AND r.dialog_id IS NOT NULL AND ($11::int = 0 OR r.score >= $11::int)" \
  "      AND ($12::int = 0 OR r.score <= $12::int))"                                         \
  "  OR ($10::int = 2 AND r.dialog_id IS NULL))"                                             \
  " AND (cardinality($13::int[]) = 0 OR d.channel = ANY($13::int[]))"                        \
  " AND (cardinality($14::int[]) = 0 OR d.initiation = ANY($14::int[]))"

constexpr char kSearchDialogsNewest[] = KEFU_CRM_DIALOG_SELECT KEFU_CRM_DIALOG_WHERE
    " AND ($15::bigint IS NULL OR (d.start_time, d.dialog_id) <"
    " (crm.from_micros($15::bigint), $16::text))"
    " ORDER BY d.start_time DESC, d.dialog_id DESC LIMIT $17";
constexpr char kSearchDialogsOldest[] = KEFU_CRM_DIALOG_SELECT KEFU_CRM_DIALOG_WHERE
    " AND ($15::bigint IS NULL OR (d.start_time, d.dialog_id) >"
    " (crm.from_micros($15::bigint), $16::text))"
    " ORDER BY d.start_time ASC, d.dialog_id ASC LIMIT $17";
constexpr char kCountDialogs[] =
    "SELECT count(*) FROM crm.dialogs d LEFT JOIN crm.ratings r"
    " ON r.tenant_id = d.tenant_id AND r.dialog_id = d.dialog_id" KEFU_CRM_DIALOG_WHERE;

#undef KEFU_CRM_DIALOG_WHERE
#undef KEFU_CRM_DIALOG_SELECT

constexpr int kMaxSnippetsPerDialog = 3;
constexpr char kSnippetMessages[] =
    "SELECT dialog_id, search_text FROM crm.messages"
    " WHERE tenant_id = $1 AND dialog_id = ANY($2::text[])"
    " AND EXISTS (SELECT 1 FROM unnest($3::text[]) AS w(word)"
    "  WHERE strpos(lower(search_text), w.word) > 0)"
    " ORDER BY dialog_id, sequence, message_id";

constexpr char kTranscript[] =
    "SELECT message, sequence, message_id FROM crm.messages"
    " WHERE tenant_id = $1 AND dialog_id = $2"
    " AND ($3::bigint IS NULL OR (sequence, message_id) > ($3::bigint, $4::text))"
    " ORDER BY sequence, message_id LIMIT $5";

// --- offline messages -----------------------------------------------------------------

constexpr char kOfflineColumns[] =
    "offline_message_id, customer_id, contact_id, visitor_id, entry_point_id, department_id,"
    " channel, content, form_fields::text, status, crm.micros(create_time), reply_text,"
    " reply_channel, replied_by, crm.micros(reply_time)";

constexpr char kInsertOffline[] =
    "INSERT INTO crm.offline_messages (tenant_id, offline_message_id, customer_id, contact_id,"
    " visitor_id, entry_point_id, department_id, channel, content, form_fields, status)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, 1) RETURNING "
    "offline_message_id, customer_id, contact_id, visitor_id, entry_point_id, department_id,"
    " channel, content, form_fields::text, status, crm.micros(create_time), reply_text,"
    " reply_channel, replied_by, crm.micros(reply_time)";

constexpr char kGetOffline[] =
    "SELECT offline_message_id, customer_id, contact_id, visitor_id, entry_point_id,"
    " department_id, channel, content, form_fields::text, status, crm.micros(create_time),"
    " reply_text, reply_channel, replied_by, crm.micros(reply_time)"
    " FROM crm.offline_messages WHERE tenant_id = $1 AND offline_message_id = $2";

constexpr char kListOffline[] =
    "SELECT offline_message_id, customer_id, contact_id, visitor_id, entry_point_id,"
    " department_id, channel, content, form_fields::text, status, crm.micros(create_time),"
    " reply_text, reply_channel, replied_by, crm.micros(reply_time)"
    " FROM crm.offline_messages WHERE tenant_id = $1"
    " AND ($2::int = 0 OR status = $2::int)"
    " AND ($3::bigint IS NULL OR create_time >= crm.from_micros($3::bigint))"
    " AND ($4::bigint IS NULL OR create_time < crm.from_micros($4::bigint))"
    " AND (cardinality($5::text[]) = 0 OR department_id = ANY($5::text[]))"
    " AND ($6::text = '' OR customer_id = $6::text)"
    " AND ($7::bigint IS NULL OR (create_time, offline_message_id) <"
    " (crm.from_micros($7::bigint), $8::text))"
    " ORDER BY create_time DESC, offline_message_id DESC LIMIT $9";

constexpr char kReplyOffline[] =
    "UPDATE crm.offline_messages SET status = 2, reply_text = $3, reply_channel = $4,"
    " replied_by = $5, reply_time = now()"
    " WHERE tenant_id = $1 AND offline_message_id = $2 RETURNING "
    "offline_message_id, customer_id, contact_id, visitor_id, entry_point_id, department_id,"
    " channel, content, form_fields::text, status, crm.micros(create_time), reply_text,"
    " reply_channel, replied_by, crm.micros(reply_time)";

// --- ratings --------------------------------------------------------------------------

// The dialog's customer, department and last agent (the one rated, F32).
constexpr char kDialogForRating[] =
    "SELECT d.customer_id, d.department_id,"
    " COALESCE((SELECT a.agent_id FROM crm.dialog_agents a WHERE a.tenant_id = d.tenant_id"
    "  AND a.dialog_id = d.dialog_id ORDER BY a.position DESC LIMIT 1), ''),"
    " COALESCE((SELECT a.department_id FROM crm.dialog_agents a WHERE a.tenant_id = d.tenant_id"
    "  AND a.dialog_id = d.dialog_id ORDER BY a.position DESC LIMIT 1), '')"
    " FROM crm.dialogs d WHERE d.tenant_id = $1 AND d.dialog_id = $2";

constexpr char kInsertRating[] =
    "INSERT INTO crm.ratings (tenant_id, dialog_id, customer_id, agent_id, department_id, score,"
    " comment, invited_by_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    " ON CONFLICT DO NOTHING RETURNING crm.micros(create_time)";

constexpr char kListRatings[] =
    "SELECT dialog_id, customer_id, agent_id, department_id, score, comment, invited_by_agent,"
    " crm.micros(create_time) FROM crm.ratings WHERE tenant_id = $1"
    " AND ($2::bigint IS NULL OR create_time >= crm.from_micros($2::bigint))"
    " AND ($3::bigint IS NULL OR create_time < crm.from_micros($3::bigint))"
    " AND (cardinality($4::text[]) = 0 OR agent_id = ANY($4::text[]))"
    " AND (cardinality($5::text[]) = 0 OR department_id = ANY($5::text[]))"
    " AND ($6::bigint IS NULL OR (create_time, dialog_id) < (crm.from_micros($6::bigint), "
    "$7::text))"
    " ORDER BY create_time DESC, dialog_id DESC LIMIT $8";

// --- contact plans --------------------------------------------------------------------

#define KEFU_CRM_PLAN_COLUMNS                                                          \
  "contact_plan_id, customer_id, crm.micros(contact_time), method_kind, method_value," \
  " status, notes, owner_id, crm.micros(create_time), crm.micros(update_time)"

constexpr char kCustomerExists[] =
    "SELECT 1 FROM crm.customers WHERE tenant_id = $1 AND customer_id = $2";

constexpr char kInsertPlan[] =
    "INSERT INTO crm.contact_plans (tenant_id, contact_plan_id, customer_id, contact_time,"
    " method_kind, method_value, status, notes, owner_id)"
    " VALUES ($1, $2, $3, crm.from_micros($4), $5, $6, $7, $8, $9) "
    "RETURNING " KEFU_CRM_PLAN_COLUMNS;

constexpr char kGetPlan[] = "SELECT " KEFU_CRM_PLAN_COLUMNS
                            " FROM crm.contact_plans WHERE tenant_id = $1 AND contact_plan_id = $2";

constexpr char kUpdatePlan[] =
    "UPDATE crm.contact_plans SET contact_time = crm.from_micros($3), method_kind = $4,"
    " method_value = $5, status = $6, notes = $7, owner_id = $8, update_time = now()"
    " WHERE tenant_id = $1 AND contact_plan_id = $2 RETURNING " KEFU_CRM_PLAN_COLUMNS;

constexpr char kDeletePlan[] =
    "DELETE FROM crm.contact_plans WHERE tenant_id = $1 AND contact_plan_id = $2 RETURNING 1";

constexpr char kListPlans[] =
    "SELECT " KEFU_CRM_PLAN_COLUMNS
    " FROM crm.contact_plans WHERE tenant_id = $1"
    " AND ($2::text = '' OR customer_id = $2::text)"
    " AND ($3::text = '' OR owner_id = $3::text)"
    " AND ($4::int = 0 OR status = $4::int)"
    " AND ($5::bigint IS NULL OR contact_time >= crm.from_micros($5::bigint))"
    " AND ($6::bigint IS NULL OR contact_time < crm.from_micros($6::bigint))"
    " AND ($7::bigint IS NULL OR (contact_time, contact_plan_id) >"
    " (crm.from_micros($7::bigint), $8::text))"
    " ORDER BY contact_time, contact_plan_id LIMIT $9";

#undef KEFU_CRM_PLAN_COLUMNS

// --- visitors -------------------------------------------------------------------------

constexpr char kGetVisitor[] =
    "SELECT visitor_id, customer_id, crm.micros(first_seen_time), crm.micros(last_seen_time),"
    " visit_count, last_ip, country_code, province, city"
    " FROM crm.visitors WHERE tenant_id = $1 AND visitor_id = $2";

constexpr char kCustomerCard[] =
    "SELECT " KEFU_CRM_CUSTOMER_COLUMNS
    " FROM crm.customers c WHERE c.tenant_id = $1 AND c.customer_id = $2";

constexpr char kVisitorCustomer[] =
    "SELECT customer_id FROM crm.customer_keys WHERE tenant_id = $1 AND kind = 2 AND value = $2";

constexpr char kListVisits[] =
    "SELECT visit_id, visitor_id, customer_id, ip, country_code, province, city, referrer_url,"
    " referrer_domain, search_engine, search_keyword, crm.micros(start_time), user_agent"
    " FROM crm.visits WHERE tenant_id = $1 AND visitor_id = $2"
    " AND ($3::bigint IS NULL OR start_time >= crm.from_micros($3::bigint))"
    " AND ($4::bigint IS NULL OR start_time < crm.from_micros($4::bigint))"
    " AND ($5::bigint IS NULL OR (start_time, visit_id) < (crm.from_micros($5::bigint), $6::text))"
    " ORDER BY start_time DESC, visit_id DESC LIMIT $7";

constexpr char kVisitPages[] =
    "SELECT visit_id, url, title, crm.micros(entered_time), dwell_us FROM crm.visit_pages"
    " WHERE tenant_id = $1 AND visit_id = ANY($2::text[]) ORDER BY visit_id, entered_time";

// --- row readers ----------------------------------------------------------------------

Dialog DialogFromRow(const pqxx::row& row) {
  Dialog d;
  d.set_dialog_id(row[0].as<std::string>());
  d.set_contact_id(row[1].as<std::string>());
  d.set_customer_id(row[2].as<std::string>());
  d.set_channel(static_cast<kefu::common::v1::Channel>(row[3].as<int>()));
  d.set_entry_point_id(row[4].as<std::string>());
  d.set_department_id(row[5].as<std::string>());
  d.set_initiation(static_cast<kefu::common::v1::DialogInitiation>(row[6].as<int>()));
  d.set_end_type(static_cast<kefu::common::v1::DialogEndType>(row[7].as<int>()));
  d.set_valid(row[8].as<bool>());
  d.set_connected(row[9].as<bool>());
  pgsupport::SetTime(row[10], d.mutable_start_time());
  pgsupport::SetTime(row[11], d.mutable_end_time());
  *d.mutable_wait_duration() = pgsupport::DurationOf(row[12].as<int64_t>());
  *d.mutable_duration() = pgsupport::DurationOf(row[13].as<int64_t>());
  if (!row[14].is_null()) d.mutable_summary()->ParseFromString(pgsupport::Bytes(row[14]));
  d.set_message_count(row[15].as<int>());
  d.set_visitor_id(row[16].as<std::string>());
  if (!row[17].as<std::string>().empty() || !row[18].as<std::string>().empty() ||
      !row[19].as<std::string>().empty()) {
    d.mutable_region()->set_country_code(row[17].as<std::string>());
    d.mutable_region()->set_province(row[18].as<std::string>());
    d.mutable_region()->set_city(row[19].as<std::string>());
  }
  d.set_tier(static_cast<kefu::common::v1::CustomerTier>(row[20].as<int>()));
  if (!row[21].is_null()) {
    Rating* r = d.mutable_rating();
    r->set_dialog_id(row[21].as<std::string>());
    r->set_customer_id(row[22].as<std::string>());
    r->set_agent_id(row[23].as<std::string>());
    r->set_department_id(row[24].as<std::string>());
    r->set_score(row[25].as<int>());
    r->set_comment(row[26].as<std::string>());
    r->set_invited_by_agent(row[27].as<bool>());
    pgsupport::SetTime(row[28], r->mutable_create_time());
  }
  return d;
}

// Fills the agents of `dialogs` (one query for the page).
void LoadAgents(pqxx::work& txn, const std::string& tenant, const std::vector<Dialog*>& dialogs) {
  if (dialogs.empty()) return;
  std::map<std::string, Dialog*> by_id;
  std::vector<std::string> ids;
  for (Dialog* d : dialogs) {
    by_id[d->dialog_id()] = d;
    ids.push_back(d->dialog_id());
  }
  for (const auto& row : txn.exec_params(kDialogAgents, tenant, TextArray(ids))) {
    auto it = by_id.find(row[0].as<std::string>());
    if (it == by_id.end()) continue;
    auto* agent = it->second->add_agents();
    agent->set_agent_id(row[1].as<std::string>());
    agent->set_department_id(row[2].as<std::string>());
    agent->set_initiation(static_cast<kefu::common::v1::DialogInitiation>(row[3].as<int>()));
    pgsupport::SetTime(row[4], agent->mutable_start_time());
    pgsupport::SetTime(row[5], agent->mutable_end_time());
  }
}

OfflineMessage OfflineFromRow(const pqxx::row& row) {
  OfflineMessage m;
  m.set_offline_message_id(row[0].as<std::string>());
  m.set_customer_id(row[1].as<std::string>());
  m.set_contact_id(row[2].as<std::string>());
  m.set_visitor_id(row[3].as<std::string>());
  m.set_entry_point_id(row[4].as<std::string>());
  m.set_department_id(row[5].as<std::string>());
  m.set_channel(static_cast<kefu::common::v1::Channel>(row[6].as<int>()));
  m.set_content(row[7].as<std::string>());
  pgsupport::JsonToMap(row[8].as<std::string>(), m.mutable_form_fields());
  m.set_status(static_cast<kefu::crm::v1::OfflineMessageStatus>(row[9].as<int>()));
  pgsupport::SetTime(row[10], m.mutable_create_time());
  m.set_reply_text(row[11].as<std::string>());
  m.set_reply_channel(static_cast<kefu::crm::v1::ReplyChannel>(row[12].as<int>()));
  m.set_replied_by(row[13].as<std::string>());
  pgsupport::SetTime(row[14], m.mutable_reply_time());
  return m;
}

Rating RatingFromRow(const pqxx::row& row) {
  Rating r;
  r.set_dialog_id(row[0].as<std::string>());
  r.set_customer_id(row[1].as<std::string>());
  r.set_agent_id(row[2].as<std::string>());
  r.set_department_id(row[3].as<std::string>());
  r.set_score(row[4].as<int>());
  r.set_comment(row[5].as<std::string>());
  r.set_invited_by_agent(row[6].as<bool>());
  pgsupport::SetTime(row[7], r.mutable_create_time());
  return r;
}

ContactPlan PlanFromRow(const pqxx::row& row) {
  ContactPlan p;
  p.set_contact_plan_id(row[0].as<std::string>());
  p.set_customer_id(row[1].as<std::string>());
  pgsupport::SetTime(row[2], p.mutable_contact_time());
  p.mutable_method()->set_kind(static_cast<kefu::crm::v1::ContactMethodKind>(row[3].as<int>()));
  p.mutable_method()->set_value(row[4].as<std::string>());
  p.set_status(static_cast<kefu::crm::v1::ContactPlanStatus>(row[5].as<int>()));
  p.set_notes(row[6].as<std::string>());
  p.set_owner_id(row[7].as<std::string>());
  pgsupport::SetTime(row[8], p.mutable_create_time());
  pgsupport::SetTime(row[9], p.mutable_update_time());
  return p;
}

absl::Status NoDialog(const std::string& dialog_id) {
  return absl::NotFoundError(absl::StrCat("dialog_id: no dialog \"", dialog_id, "\""));
}

absl::Status NoOfflineMessage(const std::string& id) {
  return absl::NotFoundError(absl::StrCat("offline_message_id: no offline message \"", id, "\""));
}

absl::Status NoPlan(const std::string& id) {
  return absl::NotFoundError(absl::StrCat("contact_plan_id: no contact plan \"", id, "\""));
}

// (micros, id) of a time cursor as query parameters.
struct TimeKey {
  std::optional<int64_t> micros;
  std::string id;
};

absl::StatusOr<TimeKey> CursorOf(const PageRequest& page) {
  auto parsed = pgsupport::ParseTimeCursor(page.cursor);
  if (!parsed.ok()) return parsed.status();
  return TimeKey{parsed->first, parsed->second};
}

}  // namespace

// --- dialogs --------------------------------------------------------------------------

absl::StatusOr<Dialog> PgRecordStore::GetDialog(const std::string& tenant,
                                                const std::string& dialog_id) {
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<Dialog> {
    auto rows = txn.exec_params(kGetDialog, tenant, dialog_id);
    if (rows.empty()) return NoDialog(dialog_id);
    Dialog dialog = DialogFromRow(rows[0]);
    LoadAgents(txn, tenant, {&dialog});
    return dialog;
  });
}

absl::StatusOr<TranscriptPage> PgRecordStore::GetTranscript(const std::string& tenant,
                                                            const std::string& dialog_id,
                                                            const PageRequest& page) {
  KEFU_ASSIGN_OR_RETURN(TimeKey after, CursorOf(page));
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<TranscriptPage> {
    auto rows =
        txn.exec_params(kTranscript, tenant, dialog_id, after.micros, after.id, page.limit + 1);
    TranscriptPage out;
    for (size_t i = 0; i < rows.size() && static_cast<int>(i) < page.limit; ++i) {
      kefu::common::v1::Message message;
      message.ParseFromString(pgsupport::Bytes(rows[i][0]));
      message.set_sequence(rows[i][1].as<int64_t>());
      message.set_dialog_id(dialog_id);
      out.messages.push_back(std::move(message));
      if (static_cast<int>(rows.size()) > page.limit && static_cast<int>(i) == page.limit - 1) {
        out.next_cursor =
            pgsupport::TimeCursor(rows[i][1].as<int64_t>(), rows[i][2].as<std::string>());
      }
    }
    return out;
  });
}

absl::StatusOr<DialogSearchPage> PgRecordStore::SearchDialogs(const std::string& tenant,
                                                              const DialogQuery& q,
                                                              const PageRequest& page) {
  KEFU_ASSIGN_OR_RETURN(TimeKey after, CursorOf(page));
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<DialogSearchPage> {
    const auto from = BoundMicros(q.started.from);
    const auto to = BoundMicros(q.started.to);
    const std::string agents = TextArray(q.agent_ids);
    const std::string departments = TextArray(q.department_ids);
    const std::string words = TextArray(q.words);
    const std::string end_types = IntArray(q.end_types);
    const std::string channels = IntArray(q.channels);
    const std::string initiations = IntArray(q.initiations);
    const int validity = static_cast<int>(q.validity);
    const int rating = static_cast<int>(q.rating);
    auto rows = txn.exec_params(q.ascending ? kSearchDialogsOldest : kSearchDialogsNewest, tenant,
                                from, to, agents, departments, q.customer_id, words, end_types,
                                validity, rating, q.min_score, q.max_score, channels, initiations,
                                after.micros, after.id, page.limit + 1);
    DialogSearchPage out;
    out.total_count = txn.exec_params1(kCountDialogs, tenant, from, to, agents, departments,
                                       q.customer_id, words, end_types, validity, rating,
                                       q.min_score, q.max_score, channels, initiations)[0]
                          .as<int64_t>();
    std::vector<std::string> ids;
    for (size_t i = 0; i < rows.size() && static_cast<int>(i) < page.limit; ++i) {
      kefu::crm::v1::DialogHit hit;
      *hit.mutable_dialog() = DialogFromRow(rows[i]);
      ids.push_back(hit.dialog().dialog_id());
      if (static_cast<int>(rows.size()) > page.limit && static_cast<int>(i) == page.limit - 1) {
        out.next_cursor =
            pgsupport::TimeCursor(rows[i][10].as<int64_t>(), hit.dialog().dialog_id());
      }
      out.hits.push_back(std::move(hit));
    }
    std::vector<Dialog*> dialogs;
    std::map<std::string, kefu::crm::v1::DialogHit*> by_id;
    for (auto& hit : out.hits) {
      dialogs.push_back(hit.mutable_dialog());
      by_id[hit.dialog().dialog_id()] = &hit;
    }
    LoadAgents(txn, tenant, dialogs);
    if (!q.words.empty() && !ids.empty()) {
      for (const auto& row : txn.exec_params(kSnippetMessages, tenant, TextArray(ids), words)) {
        auto* hit = by_id[row[0].as<std::string>()];
        if (hit == nullptr || hit->snippets_size() >= kMaxSnippetsPerDialog) continue;
        std::string snippet = MakeSnippet(row[1].as<std::string>(), q.words);
        if (!snippet.empty()) hit->add_snippets(std::move(snippet));
      }
    }
    return out;
  });
}

// --- offline messages -----------------------------------------------------------------

absl::StatusOr<Mutation<OfflineMessage>> PgRecordStore::CreateOfflineMessage(
    const std::string& tenant, const OfflineMessage& message, const Idempotency& idem) {
  return pool_->TransactIn(
      tenant, [&](pqxx::work& txn) -> absl::StatusOr<Mutation<OfflineMessage>> {
        return pgsupport::Idempotent<OfflineMessage>(
            txn, tenant, idem, [&]() -> absl::StatusOr<Mutation<OfflineMessage>> {
              Mutation<OfflineMessage> out;
              out.value = OfflineFromRow(txn.exec_params1(
                  kInsertOffline, tenant, pgsupport::NewId(), message.customer_id(),
                  message.contact_id(), message.visitor_id(), message.entry_point_id(),
                  message.department_id(), static_cast<int>(message.channel()), message.content(),
                  pgsupport::MapToJson(message.form_fields())));
              kefu::events::v1::Event event;
              event.set_tenant_id(tenant);
              auto* left = event.mutable_offline_message_left();
              left->set_offline_message_id(out.value.offline_message_id());
              left->set_customer_id(out.value.customer_id());
              left->set_contact_id(out.value.contact_id());
              left->set_department_id(out.value.department_id());
              left->set_entry_point_id(out.value.entry_point_id());
              left->set_channel(out.value.channel());
              out.events.push_back(std::move(event));
              return out;
            });
      });
}

absl::StatusOr<OfflineMessage> PgRecordStore::GetOfflineMessage(const std::string& tenant,
                                                                const std::string& id) {
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<OfflineMessage> {
    auto rows = txn.exec_params(kGetOffline, tenant, id);
    if (rows.empty()) return NoOfflineMessage(id);
    return OfflineFromRow(rows[0]);
  });
}

absl::StatusOr<OfflineMessagePage> PgRecordStore::ListOfflineMessages(
    const std::string& tenant, const OfflineMessageFilter& filter, const PageRequest& page) {
  KEFU_ASSIGN_OR_RETURN(TimeKey after, CursorOf(page));
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<OfflineMessagePage> {
    auto rows = txn.exec_params(kListOffline, tenant, static_cast<int>(filter.status),
                                BoundMicros(filter.created.from), BoundMicros(filter.created.to),
                                TextArray(filter.department_ids), filter.customer_id, after.micros,
                                after.id, page.limit + 1);
    OfflineMessagePage out;
    for (size_t i = 0; i < rows.size() && static_cast<int>(i) < page.limit; ++i) {
      out.messages.push_back(OfflineFromRow(rows[i]));
      if (static_cast<int>(rows.size()) > page.limit && static_cast<int>(i) == page.limit - 1) {
        out.next_cursor = pgsupport::TimeCursor(rows[i][10].as<int64_t>(),
                                                out.messages.back().offline_message_id());
      }
    }
    return out;
  });
}

absl::StatusOr<Mutation<OfflineMessage>> PgRecordStore::ReplyOfflineMessage(
    const std::string& tenant, const Reply& reply, const Idempotency& idem) {
  return pool_->TransactIn(
      tenant, [&](pqxx::work& txn) -> absl::StatusOr<Mutation<OfflineMessage>> {
        return pgsupport::Idempotent<OfflineMessage>(
            txn, tenant, idem, [&]() -> absl::StatusOr<Mutation<OfflineMessage>> {
              auto rows = txn.exec_params(std::string(kGetOffline) + " FOR UPDATE", tenant,
                                          reply.offline_message_id);
              if (rows.empty()) return NoOfflineMessage(reply.offline_message_id);
              const OfflineMessage before = OfflineFromRow(rows[0]);
              if (before.status() == kefu::crm::v1::OFFLINE_MESSAGE_STATUS_REPLIED) {
                return absl::FailedPreconditionError(
                    absl::StrCat("offline_message_id: \"", reply.offline_message_id,
                                 "\" was already replied to by ", before.replied_by()));
              }
              if (before.status() != kefu::crm::v1::OFFLINE_MESSAGE_STATUS_PENDING) {
                return absl::FailedPreconditionError(absl::StrCat(
                    "offline_message_id: \"", reply.offline_message_id, "\" is closed"));
              }
              Mutation<OfflineMessage> out;
              out.value = OfflineFromRow(
                  txn.exec_params1(kReplyOffline, tenant, reply.offline_message_id, reply.text,
                                   static_cast<int>(reply.channel), reply.replied_by));
              kefu::events::v1::Event event;
              event.set_tenant_id(tenant);
              auto* replied = event.mutable_offline_message_replied();
              replied->set_offline_message_id(out.value.offline_message_id());
              replied->set_replied_by(out.value.replied_by());
              replied->set_department_id(out.value.department_id());
              *replied->mutable_left_time() = out.value.create_time();
              *replied->mutable_reply_delay() =
                  pgsupport::DurationOf(pgsupport::Micros(out.value.reply_time()) -
                                        pgsupport::Micros(out.value.create_time()));
              out.events.push_back(std::move(event));
              return out;
            });
      });
}

// --- ratings --------------------------------------------------------------------------

absl::StatusOr<Mutation<Rating>> PgRecordStore::RateDialog(const std::string& tenant,
                                                           const Rating& rating,
                                                           const Idempotency& idem) {
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<Mutation<Rating>> {
    return pgsupport::Idempotent<Rating>(
        txn, tenant, idem, [&]() -> absl::StatusOr<Mutation<Rating>> {
          auto dialog = txn.exec_params(kDialogForRating, tenant, rating.dialog_id());
          if (dialog.empty()) return NoDialog(rating.dialog_id());
          Mutation<Rating> out;
          out.value = rating;
          out.value.set_customer_id(dialog[0][0].as<std::string>());
          out.value.set_agent_id(dialog[0][2].as<std::string>());
          const std::string agent_department = dialog[0][3].as<std::string>();
          out.value.set_department_id(agent_department.empty() ? dialog[0][1].as<std::string>()
                                                               : agent_department);
          auto inserted =
              txn.exec_params(kInsertRating, tenant, rating.dialog_id(), out.value.customer_id(),
                              out.value.agent_id(), out.value.department_id(), rating.score(),
                              rating.comment(), rating.invited_by_agent());
          if (inserted.empty()) {
            return absl::AlreadyExistsError(
                absl::StrCat("dialog_id: dialog \"", rating.dialog_id(),
                             "\" is already rated; a dialog takes one rating (F32)"));
          }
          pgsupport::SetTime(inserted[0][0], out.value.mutable_create_time());
          kefu::events::v1::Event event;
          event.set_tenant_id(tenant);
          auto* rated = event.mutable_dialog_rated();
          rated->set_dialog_id(out.value.dialog_id());
          rated->set_customer_id(out.value.customer_id());
          rated->set_agent_id(out.value.agent_id());
          rated->set_department_id(out.value.department_id());
          rated->set_score(out.value.score());
          rated->set_comment(out.value.comment());
          rated->set_invited_by_agent(out.value.invited_by_agent());
          out.events.push_back(std::move(event));
          return out;
        });
  });
}

absl::StatusOr<RatingPage> PgRecordStore::ListRatings(const std::string& tenant,
                                                      const RatingFilter& filter,
                                                      const PageRequest& page) {
  KEFU_ASSIGN_OR_RETURN(TimeKey after, CursorOf(page));
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<RatingPage> {
    auto rows =
        txn.exec_params(kListRatings, tenant, BoundMicros(filter.created.from),
                        BoundMicros(filter.created.to), TextArray(filter.agent_ids),
                        TextArray(filter.department_ids), after.micros, after.id, page.limit + 1);
    RatingPage out;
    for (size_t i = 0; i < rows.size() && static_cast<int>(i) < page.limit; ++i) {
      out.ratings.push_back(RatingFromRow(rows[i]));
      if (static_cast<int>(rows.size()) > page.limit && static_cast<int>(i) == page.limit - 1) {
        out.next_cursor =
            pgsupport::TimeCursor(rows[i][7].as<int64_t>(), out.ratings.back().dialog_id());
      }
    }
    return out;
  });
}

// --- contact plans --------------------------------------------------------------------

absl::StatusOr<ContactPlan> PgRecordStore::CreateContactPlan(const std::string& tenant,
                                                             const ContactPlan& plan,
                                                             const Idempotency& idem) {
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<ContactPlan> {
    return pgsupport::IdempotentValue<ContactPlan>(
        txn, tenant, idem, [&]() -> absl::StatusOr<ContactPlan> {
          if (txn.exec_params(kCustomerExists, tenant, plan.customer_id()).empty()) {
            return absl::NotFoundError(
                absl::StrCat("contact_plan.customer_id: no customer \"", plan.customer_id(), "\""));
          }
          return PlanFromRow(
              txn.exec_params1(kInsertPlan, tenant, pgsupport::NewId(), plan.customer_id(),
                               pgsupport::Micros(plan.contact_time()),
                               static_cast<int>(plan.method().kind()), plan.method().value(),
                               static_cast<int>(plan.status()), plan.notes(), plan.owner_id()));
        });
  });
}

absl::StatusOr<ContactPlan> PgRecordStore::GetContactPlan(const std::string& tenant,
                                                          const std::string& id) {
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<ContactPlan> {
    auto rows = txn.exec_params(kGetPlan, tenant, id);
    if (rows.empty()) return NoPlan(id);
    return PlanFromRow(rows[0]);
  });
}

absl::StatusOr<ContactPlan> PgRecordStore::UpdateContactPlan(const std::string& tenant,
                                                             const ContactPlan& plan,
                                                             const std::vector<std::string>& paths,
                                                             const Idempotency& idem) {
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<ContactPlan> {
    return pgsupport::IdempotentValue<ContactPlan>(
        txn, tenant, idem, [&]() -> absl::StatusOr<ContactPlan> {
          auto rows = txn.exec_params(std::string(kGetPlan) + " FOR UPDATE", tenant,
                                      plan.contact_plan_id());
          if (rows.empty()) return NoPlan(plan.contact_plan_id());
          ContactPlan merged = PlanFromRow(rows[0]);
          auto wants = [&](absl::string_view f) {
            return paths.empty() || std::find(paths.begin(), paths.end(), f) != paths.end();
          };
          if (wants("contact_time")) *merged.mutable_contact_time() = plan.contact_time();
          if (wants("method")) *merged.mutable_method() = plan.method();
          if (wants("status")) merged.set_status(plan.status());
          if (wants("notes")) merged.set_notes(plan.notes());
          if (wants("owner_id")) merged.set_owner_id(plan.owner_id());
          return PlanFromRow(txn.exec_params1(
              kUpdatePlan, tenant, plan.contact_plan_id(), pgsupport::Micros(merged.contact_time()),
              static_cast<int>(merged.method().kind()), merged.method().value(),
              static_cast<int>(merged.status()), merged.notes(), merged.owner_id()));
        });
  });
}

absl::Status PgRecordStore::DeleteContactPlan(const std::string& tenant, const std::string& id,
                                              const Idempotency& idem) {
  using Done = kefu::crm::v1::DeleteContactPlanResponse;
  return pool_
      ->TransactIn(tenant,
                   [&](pqxx::work& txn) -> absl::StatusOr<Done> {
                     return pgsupport::IdempotentValue<Done>(
                         txn, tenant, idem, [&]() -> absl::StatusOr<Done> {
                           if (txn.exec_params(kDeletePlan, tenant, id).empty()) return NoPlan(id);
                           return Done();
                         });
                   })
      .status();
}

absl::StatusOr<ContactPlanPage> PgRecordStore::ListContactPlans(const std::string& tenant,
                                                                const ContactPlanFilter& filter,
                                                                const PageRequest& page) {
  KEFU_ASSIGN_OR_RETURN(TimeKey after, CursorOf(page));
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<ContactPlanPage> {
    auto rows =
        txn.exec_params(kListPlans, tenant, filter.customer_id, filter.owner_id,
                        static_cast<int>(filter.status), BoundMicros(filter.contact.from),
                        BoundMicros(filter.contact.to), after.micros, after.id, page.limit + 1);
    ContactPlanPage out;
    for (size_t i = 0; i < rows.size() && static_cast<int>(i) < page.limit; ++i) {
      out.plans.push_back(PlanFromRow(rows[i]));
      if (static_cast<int>(rows.size()) > page.limit && static_cast<int>(i) == page.limit - 1) {
        out.next_cursor =
            pgsupport::TimeCursor(rows[i][2].as<int64_t>(), out.plans.back().contact_plan_id());
      }
    }
    return out;
  });
}

// --- visitors -------------------------------------------------------------------------

absl::StatusOr<kefu::crm::v1::Visitor> PgRecordStore::GetVisitor(const std::string& tenant,
                                                                 const std::string& visitor_id) {
  using Visitor = kefu::crm::v1::Visitor;
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<Visitor> {
    Visitor visitor;
    visitor.set_visitor_id(visitor_id);
    std::string customer_id;
    auto rows = txn.exec_params(kGetVisitor, tenant, visitor_id);
    if (!rows.empty()) {
      const auto& row = rows[0];
      customer_id = row[1].as<std::string>();
      pgsupport::SetTime(row[2], visitor.mutable_first_seen_time());
      pgsupport::SetTime(row[3], visitor.mutable_last_seen_time());
      visitor.set_visit_count(row[4].as<int>());
      visitor.set_last_ip(row[5].as<std::string>());
      if (!row[6].as<std::string>().empty() || !row[7].as<std::string>().empty() ||
          !row[8].as<std::string>().empty()) {
        visitor.mutable_last_region()->set_country_code(row[6].as<std::string>());
        visitor.mutable_last_region()->set_province(row[7].as<std::string>());
        visitor.mutable_last_region()->set_city(row[8].as<std::string>());
      }
    }
    // The card that holds the visitor id wins over what the visits said (F5).
    auto key = txn.exec_params(kVisitorCustomer, tenant, visitor_id);
    if (!key.empty()) customer_id = key[0][0].as<std::string>();
    if (rows.empty() && key.empty()) {
      return absl::NotFoundError(absl::StrCat("visitor_id: no visitor \"", visitor_id, "\""));
    }
    if (!customer_id.empty()) {
      auto card = txn.exec_params(kCustomerCard, tenant, customer_id);
      if (!card.empty()) {
        *visitor.mutable_customer() =
            customer_rows::SummaryOf(customer_rows::CustomerFromRow(card[0]));
      }
    }
    return visitor;
  });
}

absl::StatusOr<VisitPage> PgRecordStore::ListVisits(const std::string& tenant,
                                                    const std::string& visitor_id,
                                                    const TimeWindow& started,
                                                    const PageRequest& page) {
  KEFU_ASSIGN_OR_RETURN(TimeKey after, CursorOf(page));
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<VisitPage> {
    auto rows = txn.exec_params(kListVisits, tenant, visitor_id, BoundMicros(started.from),
                                BoundMicros(started.to), after.micros, after.id, page.limit + 1);
    VisitPage out;
    std::vector<std::string> ids;
    for (size_t i = 0; i < rows.size() && static_cast<int>(i) < page.limit; ++i) {
      const auto& row = rows[i];
      kefu::common::v1::Visit visit;
      visit.set_visit_id(row[0].as<std::string>());
      visit.set_visitor_id(row[1].as<std::string>());
      visit.set_customer_id(row[2].as<std::string>());
      visit.set_ip(row[3].as<std::string>());
      if (!row[4].as<std::string>().empty() || !row[5].as<std::string>().empty() ||
          !row[6].as<std::string>().empty()) {
        visit.mutable_region()->set_country_code(row[4].as<std::string>());
        visit.mutable_region()->set_province(row[5].as<std::string>());
        visit.mutable_region()->set_city(row[6].as<std::string>());
      }
      if (!row[7].as<std::string>().empty() || !row[8].as<std::string>().empty()) {
        auto* referrer = visit.mutable_referrer();
        referrer->set_url(row[7].as<std::string>());
        referrer->set_domain(row[8].as<std::string>());
        referrer->set_search_engine(row[9].as<std::string>());
        referrer->set_search_keyword(row[10].as<std::string>());
      }
      pgsupport::SetTime(row[11], visit.mutable_start_time());
      visit.set_user_agent(row[12].as<std::string>());
      ids.push_back(visit.visit_id());
      if (static_cast<int>(rows.size()) > page.limit && static_cast<int>(i) == page.limit - 1) {
        out.next_cursor = pgsupport::TimeCursor(row[11].as<int64_t>(), visit.visit_id());
      }
      out.visits.push_back(std::move(visit));
    }
    if (!ids.empty()) {
      std::map<std::string, kefu::common::v1::Visit*> by_id;
      for (auto& visit : out.visits) by_id[visit.visit_id()] = &visit;
      for (const auto& row : txn.exec_params(kVisitPages, tenant, TextArray(ids))) {
        auto it = by_id.find(row[0].as<std::string>());
        if (it == by_id.end()) continue;
        auto* page_view = it->second->add_pages();
        page_view->set_url(row[1].as<std::string>());
        page_view->set_title(row[2].as<std::string>());
        pgsupport::SetTime(row[3], page_view->mutable_entered_time());
        if (!row[4].is_null())
          *page_view->mutable_dwell() = pgsupport::DurationOf(row[4].as<int64_t>());
      }
    }
    return out;
  });
}

}  // namespace kefu::crm
