// ReportStore: applying events to facts and rollups, and the report queries over them
// (docs/MONITORING.md "Reporting data"). Times cross the wire as microseconds since the epoch.
#include "services/reporting/report_store.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <optional>
#include <string_view>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "libs/common/log.h"

namespace kefu::reporting {
namespace {

using google::protobuf::util::TimeUtil;
using kefu::events::v1::Event;

int64_t Micros(const google::protobuf::Timestamp& ts) {
  return TimeUtil::TimestampToMicroseconds(ts);
}
int64_t Micros(const google::protobuf::Duration& d) { return TimeUtil::DurationToMicroseconds(d); }
google::protobuf::Duration Dur(int64_t us) { return TimeUtil::MicrosecondsToDuration(us); }
google::protobuf::Timestamp Ts(int64_t us) { return TimeUtil::MicrosecondsToTimestamp(us); }

// The tenant's rollup lock is taken shared by every apply, before any statement that reads
// day_zones or hour_phases, and exclusively by EnsureDayZone and EnsureHourPhase while
// they fill a zone's day rows or a phase's hour rows.
#define KEFU_DAYS_LOCK_KEY "hashtextextended('kefu.reporting.days:' || $1::text, 0)"
constexpr char kMarkProcessed[] =
    "WITH days_lock AS (SELECT pg_advisory_xact_lock_shared(" KEFU_DAYS_LOCK_KEY
    "))"
    " INSERT INTO reporting.processed_events (tenant_id, event_id) SELECT $1, $2 FROM days_lock"
    " ON CONFLICT DO NOTHING RETURNING 1";

// The sums of the rollup tables, in the order Rollups keeps them.
constexpr const char* kGroupColumns[] = {
    "total",       "valid",   "invalid", "connected", "abandoned", "offline_messages",
    "transferred", "wait_us", "talk_us", "rated",     "score_sum", "s1",
    "s2",          "s3",      "s4",      "s5"};
constexpr const char* kAgentColumns[] = {"consultations",
                                         "valid",
                                         "invalid",
                                         "transferred",
                                         "resolved",
                                         "wait_us",
                                         "waited",
                                         "duration_us",
                                         "rated",
                                         "score_sum",
                                         "s1",
                                         "s2",
                                         "s3",
                                         "s4",
                                         "s5",
                                         "offered",
                                         "answered",
                                         "response_us"};

using Adds = std::vector<std::pair<const char*, int64_t>>;

// Prepares `statement` on `conn` unless it was prepared there before. Planning the rollup
// statements costs more than running them for one event's rows (bench/reporting: the
// apply path fell from ~960 to ~400 events/s unprepared). A connection is known by its
// address and server process, so a reopened connection is prepared again.
void PrepareOnce(pqxx::connection_base& conn, const pg::Statement& statement) {
  static std::mutex mu;
  static std::set<std::tuple<const pqxx::connection_base*, int, std::string>> prepared;
  const auto key = std::make_tuple(&conn, conn.backendpid(), statement.name);
  {
    std::lock_guard<std::mutex> lock(mu);
    if (prepared.contains(key)) return;
  }
  conn.prepare(statement.name, statement.sql);
  std::lock_guard<std::mutex> lock(mu);
  prepared.insert(key);
}

// What the events applied in one transaction add to the slot rollups. Nothing reads those
// rows while events are applied, so the additions are collected and written at the end:
// one statement per table, summed per row, rows in key order (two appliers then lock the
// rows they share in the same order). The statement for agent_slots adds the same numbers
// to the agent's day row of each zone in day_zones (the day of the slot), and the one for
// group_slots to the group's hour row of each phase in hour_phases (the hour holding the
// slot), so slots, days and hours never disagree.
class Rollups {
 public:
  // Adds `adds` to the group_slots row (slot of `at_us`, department).
  void AddGroup(int64_t at_us, const std::string& department, const Adds& adds) {
    group_.Add(at_us, {department}, adds, kGroupColumns);
  }
  // Adds `adds` to the agent_slots row (slot of `at_us`, agent, department).
  void AddAgent(int64_t at_us, const std::string& agent, const std::string& department,
                const Adds& adds) {
    agent_.Add(at_us, {agent, department}, adds, kAgentColumns);
  }

  void Flush(pqxx::work& txn, const std::string& tenant) {
    static const pg::Statement group_sql = {
        "reporting_add_group_slots",
        FlushSql("group_slots", {"department_id"}, kGroupColumns, Coarser::kGroupHours)};
    static const pg::Statement agent_sql = {
        "reporting_add_agent_slots",
        FlushSql("agent_slots", {"agent_id", "department_id"}, kAgentColumns, Coarser::kAgentDays)};
    group_.Flush(txn, tenant, group_sql);
    agent_.Flush(txn, tenant, agent_sql);
  }

 private:
  struct Table {
    std::vector<int64_t> at_us;
    std::vector<std::vector<std::string>> keys;  // per key column
    std::vector<std::vector<int64_t>> sums;      // per sum column

    template <size_t N>
    void Add(int64_t at, std::vector<std::string> key_values, const Adds& adds,
             const char* const (&columns)[N]) {
      if (sums.empty()) sums.resize(N);
      if (keys.empty()) keys.resize(key_values.size());
      at_us.push_back(at);
      for (size_t k = 0; k < key_values.size(); ++k) keys[k].push_back(std::move(key_values[k]));
      for (auto& column : sums) column.push_back(0);
      for (const auto& [name, value] : adds) {
        size_t c = 0;
        while (c < N && std::string_view(columns[c]) != name) ++c;
        sums.at(c).back() += value;  // at() throws for a column the table has not
      }
    }

    void Flush(pqxx::work& txn, const std::string& tenant, const pg::Statement& statement) {
      if (at_us.empty()) return;
      std::vector<std::string> params = {tenant, BigintArray(at_us)};
      for (const auto& k : keys) params.push_back(pg::TextArray(k));
      for (const auto& c : sums) params.push_back(BigintArray(c));
      PrepareOnce(txn.conn(), statement);
      txn.exec_prepared(statement.name, pqxx::prepare::make_dynamic_params(params));
      at_us.clear();
      keys.clear();
      sums.clear();
    }
  };

  static std::string BigintArray(const std::vector<int64_t>& values) {
    return absl::StrCat("{", absl::StrJoin(values, ","), "}");
  }

  // The coarser rollup a slot statement also adds to.
  enum class Coarser { kAgentDays, kGroupHours };

  // $1 tenant, $2 the instants, then one array per key and per sum column.
  template <size_t N>
  static std::string FlushSql(const char* table, const std::vector<std::string>& keys,
                              const char* const (&columns)[N], Coarser coarser) {
    std::vector<std::string> arrays = {"$2::bigint[]"}, names = {"at_us"}, sums, sets;
    for (const auto& k : keys) {
      arrays.push_back(absl::StrCat("$", arrays.size() + 2, "::text[]"));
      names.push_back(k);
    }
    for (const char* c : columns) {
      arrays.push_back(absl::StrCat("$", arrays.size() + 2, "::bigint[]"));
      names.push_back(c);
      sums.push_back(absl::StrCat("sum(", c, ")"));
      sets.push_back(absl::StrCat(c, " = r.", c, " + EXCLUDED.", c));
    }
    const std::string key_list = absl::StrJoin(keys, ", ");
    const std::string column_list = absl::StrJoin(columns, ", ");
    const std::string group = keys.size() == 1 ? "2, 3" : "2, 3, 4";
    const std::string deltas =
        absl::StrCat("WITH d AS (SELECT * FROM unnest(", absl::StrJoin(arrays, ", "), ") AS d(",
                     absl::StrJoin(names, ", "), "))");
    const std::string slots = absl::StrCat(
        "INSERT INTO reporting.", table, " AS r (tenant_id, slot, ", key_list, ", ", column_list,
        ") SELECT $1::text, reporting.slot_of(reporting.ts(at_us)), ", key_list, ", ",
        absl::StrJoin(sums, ", "), " FROM d GROUP BY ", group, " ORDER BY ", group,
        " ON CONFLICT (tenant_id, slot, ", key_list, ") DO UPDATE SET ", absl::StrJoin(sets, ", "));
    if (coarser == Coarser::kGroupHours) {
      return absl::StrCat(
          deltas, ", slots AS (", slots,
          ") INSERT INTO reporting.group_hours AS r (tenant_id, phase_minutes, hour, ", key_list,
          ", ", column_list,
          ") SELECT $1::text, p.phase_minutes,"
          " reporting.hour_of(reporting.slot_of(reporting.ts(at_us)), p.phase_minutes), ",
          key_list, ", ", absl::StrJoin(sums, ", "),
          " FROM d, reporting.hour_phases p WHERE p.tenant_id = $1::text GROUP BY 2, 3, 4"
          " ORDER BY 2, 3, 4 ON CONFLICT (tenant_id, phase_minutes, hour, ",
          key_list, ") DO UPDATE SET ", absl::StrJoin(sets, ", "));
    }
    return absl::StrCat(
        deltas, ", slots AS (", slots,
        ") INSERT INTO reporting.agent_days AS r (tenant_id,"
        " time_zone, day, ",
        key_list, ", ", column_list,
        ") SELECT $1::text, z.time_zone,"
        " reporting.local_day(reporting.slot_of(reporting.ts(at_us)), z.time_zone), ",
        key_list, ", ", absl::StrJoin(sums, ", "),
        " FROM d, reporting.day_zones z WHERE z.tenant_id = $1::text GROUP BY 2, 3, 4, 5"
        " ORDER BY 2, 3, 4, 5 ON CONFLICT (tenant_id, time_zone, day, ",
        key_list, ") DO UPDATE SET ", absl::StrJoin(sets, ", "));
  }

  Table group_, agent_;
};

constexpr char kInsertDialog[] =
    "INSERT INTO reporting.dialogs (tenant_id, dialog_id, department_id, start_time, end_time,"
    " valid, connected, end_type, wait_us, talk_us, transfer_count, resolved)"
    " VALUES ($1, $2, $3, reporting.ts($4), reporting.ts($5), $6, $7, $8, $9, $10, $11, $12)"
    " ON CONFLICT DO NOTHING RETURNING 1";

void ApplyDialogEnded(pqxx::work& txn, const std::string& tenant, const Event& event,
                      int64_t occurred_us, Rollups& rollups, bool* applied) {
  const auto& d = event.dialog_ended();
  const int64_t end_us = d.has_end_time() ? Micros(d.end_time()) : occurred_us;
  const int64_t start_us = d.has_start_time() ? Micros(d.start_time()) : end_us;
  const int64_t wait_us = std::max<int64_t>(0, Micros(d.wait_duration()));
  const int64_t talk_us = std::max<int64_t>(0, Micros(d.talk_duration()));
  const bool resolved = d.has_summary() && d.summary().resolved();
  pqxx::result fresh =
      txn.exec_params(kInsertDialog, tenant, d.dialog_id(), d.department_id(), start_us, end_us,
                      d.valid(), d.connected(), static_cast<int>(d.end_type()), wait_us, talk_us,
                      d.transfer_count(), resolved);
  if (fresh.empty()) return;  // the dialog was counted under another event id
  *applied = true;
  const bool abandoned = d.end_type() == kefu::common::v1::DIALOG_END_TYPE_ABANDONED;
  const bool offline = d.end_type() == kefu::common::v1::DIALOG_END_TYPE_OFFLINE_MESSAGE;
  rollups.AddGroup(start_us, d.department_id(),
                   {{"total", 1},
                    {"valid", d.valid() ? 1 : 0},
                    {"invalid", d.valid() ? 0 : 1},
                    {"connected", d.connected() ? 1 : 0},
                    {"abandoned", abandoned ? 1 : 0},
                    {"offline_messages", offline ? 1 : 0},
                    {"transferred", d.transfer_count() > 0 || d.segments_size() > 1 ? 1 : 0},
                    {"wait_us", d.connected() ? wait_us : 0},
                    {"talk_us", d.connected() ? talk_us : 0}});
  for (int i = 0; i < d.segments_size(); ++i) {
    const auto& s = d.segments(i);
    if (s.agent_id().empty()) continue;
    const bool last = i + 1 == d.segments_size();
    const int64_t s_start = s.has_start_time() ? Micros(s.start_time()) : start_us;
    const int64_t s_end = s.has_end_time() ? Micros(s.end_time()) : end_us;
    rollups.AddAgent(s_start, s.agent_id(), s.department_id(),
                     {{"consultations", 1},
                      {"valid", d.valid() ? 1 : 0},
                      {"invalid", d.valid() ? 0 : 1},
                      {"transferred", last ? 0 : 1},
                      {"resolved", last && resolved ? 1 : 0},
                      {"wait_us", i == 0 ? wait_us : 0},
                      {"waited", i == 0 ? 1 : 0},
                      {"duration_us", std::max<int64_t>(0, s_end - s_start)}});
  }
}

constexpr char kRatingOf[] =
    "SELECT agent_id, department_id, score, reporting.micros(rated_time)"
    " FROM reporting.ratings WHERE tenant_id = $1 AND dialog_id = $2 FOR UPDATE";
constexpr char kPutRating[] =
    "INSERT INTO reporting.ratings (tenant_id, dialog_id, agent_id, department_id, score,"
    " rated_time) VALUES ($1, $2, $3, $4, $5, reporting.ts($6))"
    " ON CONFLICT (tenant_id, dialog_id) DO UPDATE SET agent_id = EXCLUDED.agent_id,"
    " department_id = EXCLUDED.department_id, score = EXCLUDED.score,"
    " rated_time = EXCLUDED.rated_time";

// Adds (sign 1) or takes back (sign -1) one rating in its group's and agent's slots.
void CountRating(Rollups& rollups, const std::string& agent, const std::string& department,
                 int score, int64_t rated_us, int sign) {
  static constexpr const char* kScoreColumns[] = {"s1", "s2", "s3", "s4", "s5"};
  const Adds adds = {
      {"rated", sign}, {"score_sum", sign * score}, {kScoreColumns[score - 1], sign}};
  rollups.AddGroup(rated_us, department, adds);
  if (!agent.empty()) rollups.AddAgent(rated_us, agent, department, adds);
}

// One rating per dialog (F32): the first given. Events may arrive out of order, so an
// earlier rating that arrives later replaces the one counted so far.
void ApplyRated(pqxx::work& txn, const std::string& tenant, const Event& event, int64_t occurred_us,
                Rollups& rollups, bool* applied) {
  const auto& r = event.dialog_rated();
  if (r.score() < 1 || r.score() > 5) return;
  pqxx::result known = txn.exec_params(kRatingOf, tenant, r.dialog_id());
  if (!known.empty()) {
    const int64_t known_us = known[0][3].as<int64_t>();
    if (known_us <= occurred_us) return;  // the same rating again, or a later one
    CountRating(rollups, known[0][0].as<std::string>(), known[0][1].as<std::string>(),
                known[0][2].as<int>(), known_us, -1);
  }
  txn.exec_params(kPutRating, tenant, r.dialog_id(), r.agent_id(), r.department_id(), r.score(),
                  occurred_us);
  CountRating(rollups, r.agent_id(), r.department_id(), r.score(), occurred_us, 1);
  *applied = true;
}

constexpr char kOfferCreated[] =
    "INSERT INTO reporting.offers AS o (tenant_id, offer_id, created) VALUES ($1, $2, true)"
    " ON CONFLICT (tenant_id, offer_id) DO UPDATE SET created = true WHERE NOT o.created"
    " RETURNING 1";
constexpr char kOfferAccepted[] =
    "INSERT INTO reporting.offers AS o (tenant_id, offer_id, accepted) VALUES ($1, $2, true)"
    " ON CONFLICT (tenant_id, offer_id) DO UPDATE SET accepted = true WHERE NOT o.accepted"
    " RETURNING 1";

constexpr char kOfflineLeft[] =
    "INSERT INTO reporting.offline_messages AS m (tenant_id, offline_message_id, department_id,"
    " left_time) VALUES ($1, $2, $3, reporting.ts($4))"
    " ON CONFLICT (tenant_id, offline_message_id) DO UPDATE SET"
    " left_time = COALESCE(m.left_time, EXCLUDED.left_time),"
    " department_id = CASE WHEN m.department_id = '' THEN EXCLUDED.department_id"
    "  ELSE m.department_id END";
constexpr char kOfflineReplied[] =
    "INSERT INTO reporting.offline_messages AS m (tenant_id, offline_message_id, department_id,"
    " left_time, replied_time, reply_us)"
    " VALUES ($1, $2, $3, CASE WHEN $4::bigint IS NULL THEN NULL ELSE reporting.ts($4) END,"
    "  reporting.ts($5), $6)"
    " ON CONFLICT (tenant_id, offline_message_id) DO UPDATE SET"
    " left_time = COALESCE(m.left_time, EXCLUDED.left_time),"
    " replied_time = COALESCE(m.replied_time, EXCLUDED.replied_time),"
    " reply_us = COALESCE(m.reply_us, EXCLUDED.reply_us),"
    " department_id = CASE WHEN m.department_id = '' THEN EXCLUDED.department_id"
    "  ELSE m.department_id END";

constexpr char kLoggedIn[] =
    "INSERT INTO reporting.agent_sessions AS s (tenant_id, session_id, agent_id, login_time)"
    " VALUES ($1, $2, $3, reporting.ts($4))"
    " ON CONFLICT (tenant_id, session_id) DO UPDATE SET login_time = EXCLUDED.login_time";
constexpr char kLoggedOut[] =
    "INSERT INTO reporting.agent_sessions AS s (tenant_id, session_id, agent_id, login_time,"
    " logout_time) VALUES ($1, $2, $3,"
    " CASE WHEN $4::bigint IS NULL THEN NULL ELSE reporting.ts($4) END, reporting.ts($5))"
    " ON CONFLICT (tenant_id, session_id) DO UPDATE SET"
    " login_time = COALESCE(s.login_time, EXCLUDED.login_time),"
    " logout_time = COALESCE(s.logout_time, EXCLUDED.logout_time)";

// The status held over [start, end) and the seat-empty change at its end, per local day of
// each zone in day_zones (`zone` is $2 when filling one zone, z.time_zone when applying).
// OFFLINE held while logged out (ended by a LOGIN) is not counted, as in kStatusTime.
#define KEFU_STATUS_DAYS(intervals, zones, zone)                                                  \
  "INSERT INTO reporting.agent_status_days AS d (tenant_id, time_zone, day, agent_id,"            \
  " online_us, busy_us, away_us, offline_us, seat_empty)"                                         \
  " SELECT $1::text, tz, day, agent_id,"                                                          \
  " coalesce(sum(us) FILTER (WHERE status = 1), 0), coalesce(sum(us) FILTER (WHERE status = 2), " \
  "0),"                                                                                           \
  " coalesce(sum(us) FILTER (WHERE status = 3), 0), coalesce(sum(us) FILTER (WHERE status = 4), " \
  "0),"                                                                                           \
  " sum(seat) FROM ("                                                                             \
  "  SELECT " zone                                                                                \
  " AS tz, p.day, i.agent_id, i.status, p.us, 0 AS seat"                                          \
  "  FROM " intervals ", " zones ", reporting.day_parts(i.start_time, i.end_time, " zone          \
  ") p"                                                                                           \
  "  WHERE NOT (i.status = 4 AND i.reason = 2)"                                                   \
  "  UNION ALL"                                                                                   \
  "  SELECT " zone ", reporting.local_day(i.end_time, " zone                                      \
  "), i.agent_id, 0, 0, 1"                                                                        \
  "  FROM " intervals ", " zones                                                                  \
  " WHERE i.reason = 4) x"                                                                        \
  " GROUP BY tz, day, agent_id"                                                                   \
  " ON CONFLICT (tenant_id, time_zone, day, agent_id) DO UPDATE SET"                              \
  " online_us = d.online_us + EXCLUDED.online_us, busy_us = d.busy_us + EXCLUDED.busy_us,"        \
  " away_us = d.away_us + EXCLUDED.away_us, offline_us = d.offline_us + EXCLUDED.offline_us,"     \
  " seat_empty = d.seat_empty + EXCLUDED.seat_empty"

// The interval, and (only when it is new) its day rows.
constexpr char kStatusInterval[] =
    "WITH i AS (INSERT INTO reporting.agent_status_intervals (tenant_id, event_id, agent_id,"
    " status, start_time, end_time, next_status, reason)"
    " VALUES ($1::text, $2, $3, $4, reporting.ts($5), reporting.ts($6), $7, $8)"
    " ON CONFLICT DO NOTHING RETURNING agent_id, status, start_time, end_time, "
    "reason) " KEFU_STATUS_DAYS(
        "i", "(SELECT time_zone FROM reporting.day_zones WHERE tenant_id = $1::text) z",
        "z.time_zone");

bool Handled(const Event& event) {
  switch (event.payload_case()) {
    case Event::kDialogEnded:
    case Event::kDialogRated:
    case Event::kOfferCreated:
    case Event::kOfferAccepted:
    case Event::kOfflineMessageLeft:
    case Event::kOfflineMessageReplied:
    case Event::kAgentLoggedIn:
    case Event::kAgentLoggedOut:
    case Event::kAgentStatusChanged:
      return true;
    default:
      return false;
  }
}

// The filter clause shared by the rollup queries: $1 tenant, $2/$3 range, $4 zone,
// $5 departments, $6 agents.
constexpr char kRange[] =
    " tenant_id = $1 AND slot >= reporting.ts($2) AND slot < reporting.ts($3)"
    " AND (cardinality($5::text[]) = 0 OR department_id = ANY($5::text[]))";
constexpr char kAgentFilter[] = " AND (cardinality($6::text[]) = 0 OR agent_id = ANY($6::text[]))";
constexpr char kDepartmentFilter[] =
    " AND (cardinality($5::text[]) = 0 OR department_id = ANY($5::text[]))";

// How a range is read from the day rollups: the local days first_day..last_day of the
// report's zone lie wholly inside it and are read from agent_days / agent_status_days;
// the partial days at its edges, [start, lo) and [hi, end), from the 15-minute rows and
// the facts. Without whole days (or day rows for the zone) it is all edge.
struct DaySplit {
  bool whole_days = false;
  std::string first_day = "2000-01-02", last_day = "2000-01-01";  // none
  int64_t lo_us = 0, hi_us = 0;
};

// $1 tenant, $2 start, $3 end, $4 zone. The whole local days of the range, when the zone's
// day rows are kept, and only when every slot and instant falls on the same side of the
// split as its local date says: at every midnight of the whole days, and across a day
// either side of each edge (a clock set back over midnight would otherwise put a slot of
// one day before that day's midnight).
constexpr char kDaySplit[] =
    "WITH c AS (SELECT reporting.local_day(reporting.ts($2::bigint - 1), $4::text) + 1 AS d1,"
    "  reporting.local_day(reporting.ts($3::bigint), $4::text) - 1 AS d2),"
    " b AS (SELECT d1, d2, d1::timestamp AT TIME ZONE $4::text AS lo,"
    "  (d2 + 1)::timestamp AT TIME ZONE $4::text AS hi FROM c)"
    " SELECT d1::text, d2::text, reporting.micros(lo), reporting.micros(hi) FROM b"
    " WHERE d1 <= d2 AND lo >= reporting.ts($2::bigint) AND hi <= reporting.ts($3::bigint)"
    " AND EXISTS (SELECT 1 FROM reporting.day_zones WHERE tenant_id = $1 AND time_zone = $4::text)"
    " AND (SELECT bool_and(reporting.local_day(m - interval '1 microsecond', $4::text) = d::date - "
    "1"
    "   AND reporting.local_day(m, $4::text) = d::date)"
    "  FROM generate_series(d1::timestamp, (d2 + 1)::timestamp, interval '1 day') AS d,"
    "  LATERAL (SELECT d AT TIME ZONE $4::text AS m) AS midnight)"
    " AND (SELECT bool_and((reporting.local_day(p, $4::text) >= d1) = (p >= lo)"
    "   AND (reporting.local_day(p, $4::text) <= d2) = (p < hi))"
    "  FROM (SELECT generate_series(lo - interval '1 day', lo + interval '1 day',"
    "    interval '15 minutes')"
    "   UNION ALL SELECT generate_series(hi - interval '1 day', hi + interval '1 day',"
    "    interval '15 minutes')) AS g(p))";

DaySplit SplitOf(pqxx::work& txn, const ReportQuery& q, bool day_rollups) {
  DaySplit split;
  split.lo_us = split.hi_us = q.end_us;
  if (!day_rollups) return split;
  pqxx::result r = txn.exec_params(kDaySplit, q.tenant, q.start_us, q.end_us, q.time_zone);
  if (r.empty()) return split;
  split.whole_days = true;
  split.first_day = r[0][0].as<std::string>();
  split.last_day = r[0][1].as<std::string>();
  split.lo_us = r[0][2].as<int64_t>();
  split.hi_us = r[0][3].as<int64_t>();
  return split;
}

// The agent rollup rows of a range as (day, agent_id, department_id, columns...): day rows
// of the whole days and slot rows of the edges, `day` being the local date. Parameters:
// $1 tenant, $2 start, $3 end, $4 zone, $5 departments, $6 agents, $7/$8 first/last whole
// day, $9 lo, $10 hi (DaySplit).
std::string AgentRows(const std::string& columns, const std::string& filter) {
  const std::string slots = absl::StrCat(
      " SELECT reporting.local_day(slot, $4::text) AS day, agent_id, department_id, ", columns,
      " FROM reporting.agent_slots WHERE tenant_id = $1", filter, kAgentFilter);
  return absl::StrCat(
      "(SELECT day, agent_id, department_id, ", columns,
      " FROM reporting.agent_days WHERE tenant_id = $1 AND time_zone = $4::text"
      " AND day >= $7::date AND day <= $8::date",
      filter, kAgentFilter, " UNION ALL", slots,
      " AND slot >= reporting.ts($2::bigint) AND slot < reporting.ts($9::bigint) UNION ALL", slots,
      " AND slot >= reporting.ts($10::bigint) AND slot < reporting.ts($3::bigint)) AS r");
}

pqxx::result ExecAgentRows(pqxx::work& txn, const std::string& sql, const ReportQuery& q,
                           const DaySplit& split) {
  return txn.exec_params(sql, q.tenant, q.start_us, q.end_us, q.time_zone,
                         pg::TextArray(q.departments), pg::TextArray(q.agents), split.first_day,
                         split.last_day, split.lo_us, split.hi_us);
}

#define KEFU_DIALOG_SUMS                                                                  \
  "sum(total)::bigint, sum(valid)::bigint, sum(invalid)::bigint, sum(connected)::bigint," \
  " sum(abandoned)::bigint, sum(offline_messages)::bigint, sum(transferred)::bigint,"     \
  " sum(wait_us)::bigint, sum(connected)::bigint, sum(talk_us)::bigint, sum(connected)::bigint"

DialogSums SumsAt(const pqxx::row& row, int first) {
  DialogSums s;
  int64_t* fields[] = {&s.total,     &s.valid,   &s.invalid,     &s.connected,
                       &s.abandoned, &s.offline, &s.transferred, &s.wait_us,
                       &s.waited,    &s.talk_us, &s.talked};
  for (int i = 0; i < 11; ++i) {
    *fields[i] = row[first + i].is_null() ? 0 : row[first + i].as<int64_t>();
  }
  return s;
}

int64_t Int(const pqxx::field& f) { return f.is_null() ? 0 : f.as<int64_t>(); }

double Ratio(int64_t num, int64_t den) {
  return den == 0 ? 0.0 : static_cast<double>(num) / static_cast<double>(den);
}

void FillSatisfaction(v1::SatisfactionRow* row, int64_t dialogs, int64_t rated, int64_t score_sum,
                      const int64_t (&scores)[5]) {
  row->set_dialog_count(dialogs);
  row->set_rated_count(rated);
  row->set_rating_rate(Ratio(rated, dialogs));
  row->set_average_score(Ratio(score_sum, rated));
  for (int64_t c : scores) row->add_score_counts(c);
  row->set_satisfied_rate(Ratio(scores[3] + scores[4], rated));
}

}  // namespace

void DialogSums::Add(const DialogSums& o) {
  total += o.total;
  valid += o.valid;
  invalid += o.invalid;
  connected += o.connected;
  abandoned += o.abandoned;
  offline += o.offline;
  transferred += o.transferred;
  wait_us += o.wait_us;
  waited += o.waited;
  talk_us += o.talk_us;
  talked += o.talked;
}

void DialogSums::Fill(v1::DialogCounts* c) const {
  c->set_total(total);
  c->set_valid(valid);
  c->set_invalid(invalid);
  c->set_connected(connected);
  c->set_connection_rate(Ratio(connected, total));
  c->set_abandoned(abandoned);
  c->set_offline_messages(offline);
  c->set_transferred(transferred);
  *c->mutable_average_wait() = Dur(waited == 0 ? 0 : wait_us / waited);
  *c->mutable_average_duration() = Dur(talked == 0 ? 0 : talk_us / talked);
}

namespace {

// One handled event's writes inside the caller's transaction, its processed_events row
// first: an event id already there changes nothing. Its rollup additions go to `rollups`,
// which the caller flushes before committing.
ApplyOutcome ApplyIn(pqxx::work& txn, const std::string& tenant, const Event& event,
                     Rollups& rollups) {
  const int64_t occurred_us =
      event.has_occurred_time() ? Micros(event.occurred_time()) : absl::ToUnixMicros(absl::Now());
  if (txn.exec_params(kMarkProcessed, tenant, event.event_id()).empty()) {
    return ApplyOutcome::kDuplicate;
  }
  bool applied = false;
  switch (event.payload_case()) {
    case Event::kDialogEnded:
      ApplyDialogEnded(txn, tenant, event, occurred_us, rollups, &applied);
      break;
    case Event::kDialogRated:
      ApplyRated(txn, tenant, event, occurred_us, rollups, &applied);
      break;
    case Event::kOfferCreated: {
      const auto& o = event.offer_created();
      if (!txn.exec_params(kOfferCreated, tenant, o.offer_id()).empty()) {
        applied = true;
        rollups.AddAgent(occurred_us, o.agent_id(), "", {{"offered", 1}});
      }
      break;
    }
    case Event::kOfferAccepted: {
      const auto& o = event.offer_accepted();
      if (!txn.exec_params(kOfferAccepted, tenant, o.offer_id()).empty()) {
        applied = true;
        rollups.AddAgent(
            occurred_us, o.agent_id(), "",
            {{"answered", 1}, {"response_us", std::max<int64_t>(0, Micros(o.response_time()))}});
      }
      break;
    }
    case Event::kOfflineMessageLeft: {
      const auto& m = event.offline_message_left();
      txn.exec_params(kOfflineLeft, tenant, m.offline_message_id(), m.department_id(), occurred_us);
      applied = true;
      break;
    }
    case Event::kOfflineMessageReplied: {
      const auto& m = event.offline_message_replied();
      std::optional<int64_t> left;
      if (m.has_left_time()) left = Micros(m.left_time());
      std::optional<int64_t> reply_us;
      if (m.has_reply_delay()) {
        reply_us = Micros(m.reply_delay());
      } else if (left) {
        reply_us = occurred_us - *left;
      }
      txn.exec_params(kOfflineReplied, tenant, m.offline_message_id(), m.department_id(), left,
                      occurred_us, reply_us);
      applied = true;
      break;
    }
    case Event::kAgentLoggedIn: {
      const auto& l = event.agent_logged_in();
      const std::string session = l.session_id().empty() ? event.event_id() : l.session_id();
      txn.exec_params(kLoggedIn, tenant, session, l.agent_id(), occurred_us);
      applied = true;
      break;
    }
    case Event::kAgentLoggedOut: {
      const auto& l = event.agent_logged_out();
      const std::string session = l.session_id().empty() ? event.event_id() : l.session_id();
      std::optional<int64_t> login;
      if (l.has_session_duration()) login = occurred_us - Micros(l.session_duration());
      txn.exec_params(kLoggedOut, tenant, session, l.agent_id(), login, occurred_us);
      applied = true;
      break;
    }
    case Event::kAgentStatusChanged: {
      const auto& s = event.agent_status_changed();
      const int64_t held = Micros(s.previous_status_duration());
      if (s.previous_status() != kefu::common::v1::AGENT_STATUS_UNSPECIFIED && held > 0) {
        txn.exec_params(kStatusInterval, tenant, event.event_id(), s.agent_id(),
                        static_cast<int>(s.previous_status()), occurred_us - held, occurred_us,
                        static_cast<int>(s.status()), static_cast<int>(s.reason()));
      }
      applied = true;
      break;
    }
    default:
      break;
  }
  return applied ? ApplyOutcome::kApplied : ApplyOutcome::kDuplicate;
}

}  // namespace

absl::StatusOr<ApplyOutcome> ReportStore::ApplyEvent(const std::string& tenant,
                                                     const Event& event) {
  if (!Handled(event)) return ApplyOutcome::kIgnored;
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<ApplyOutcome> {
    Rollups rollups;
    const ApplyOutcome outcome = ApplyIn(txn, tenant, event, rollups);
    rollups.Flush(txn, tenant);
    return outcome;
  });
}

std::vector<absl::StatusOr<ApplyOutcome>> ReportStore::ApplyEvents(
    const std::string& tenant, const std::vector<const Event*>& events) {
  std::vector<absl::StatusOr<ApplyOutcome>> outcomes(events.size(), ApplyOutcome::kIgnored);
  bool any = false;
  for (const Event* e : events) any = any || Handled(*e);
  if (!any) return outcomes;
  auto batch = pool_->TransactIn(
      tenant, [&](pqxx::work& txn) -> absl::StatusOr<std::vector<absl::StatusOr<ApplyOutcome>>> {
        std::vector<absl::StatusOr<ApplyOutcome>> out(events.size(), ApplyOutcome::kIgnored);
        Rollups rollups;
        for (size_t i = 0; i < events.size(); ++i) {
          if (Handled(*events[i])) out[i] = ApplyIn(txn, tenant, *events[i], rollups);
        }
        rollups.Flush(txn, tenant);
        return out;
      });
  if (batch.ok()) return *std::move(batch);
  // One event the database refuses (or a deadlock, a lost connection) rolls back the whole
  // batch: apply each on its own, so the others are not held back and the failure is
  // reported for the event that caused it.
  for (size_t i = 0; i < events.size(); ++i) outcomes[i] = ApplyEvent(tenant, *events[i]);
  return outcomes;
}

namespace {

// How a range is read from the group hour rows of one phase: the hours [lo, hi) starting
// `phase` minutes past a UTC hour lie wholly inside it and are read from group_hours; the
// slots of [start, lo) and [hi, end) from group_slots. Without whole hours (or hour rows
// kept for the phase) it is all edge.
struct HourSplit {
  bool whole_hours = false;
  int phase = 0;
  int64_t lo_us = 0, hi_us = 0;
};

// $1 tenant, $2 start, $3 end, $4 zone, $5 phase. The whole hours of the range, when the
// phase's rows are kept, and only when each of them is one local hour of the zone: its four
// slots fall in the same local hour (as the report groups them), which fails when the
// zone's offset is not of this phase for part of the range (a DST change of 30 minutes,
// a zone that changed its offset).
constexpr char kHourSplit[] =
    "WITH b AS (SELECT reporting.hour_of(reporting.ts($2::bigint - 1), $5::smallint)"
    "  + interval '1 hour' AS lo, reporting.hour_of(reporting.ts($3::bigint), $5::smallint) AS hi)"
    " SELECT reporting.micros(lo), reporting.micros(hi) FROM b WHERE lo < hi"
    " AND EXISTS (SELECT 1 FROM reporting.hour_phases WHERE tenant_id = $1"
    "  AND phase_minutes = $5::smallint)"
    " AND (SELECT bool_and("
    "   date_trunc('hour', (h + interval '15 minutes') AT TIME ZONE $4::text) = l"
    "   AND date_trunc('hour', (h + interval '30 minutes') AT TIME ZONE $4::text) = l"
    "   AND date_trunc('hour', (h + interval '45 minutes') AT TIME ZONE $4::text) = l)"
    "  FROM generate_series(lo, hi - interval '1 hour', interval '1 hour') AS h,"
    "  LATERAL (SELECT date_trunc('hour', h AT TIME ZONE $4::text) AS l) AS hour_start)";

HourSplit SplitHours(pqxx::work& txn, const ReportQuery& q, std::optional<int> phase) {
  HourSplit split;
  split.lo_us = split.hi_us = q.end_us;
  if (!phase) return split;
  pqxx::result r = txn.exec_params(kHourSplit, q.tenant, q.start_us, q.end_us, q.time_zone, *phase);
  if (r.empty()) return split;
  split.whole_hours = true;
  split.phase = *phase;
  split.lo_us = r[0][0].as<int64_t>();
  split.hi_us = r[0][1].as<int64_t>();
  return split;
}

}  // namespace

std::optional<int> ReportStore::HourPhase(const std::string& time_zone, int64_t at_us) {
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(time_zone, &zone)) return std::nullopt;
  const int offset_s = zone.At(absl::FromUnixMicros(at_us)).offset;
  if (offset_s % (15 * 60) != 0) return std::nullopt;
  return ((-offset_s / 60) % 60 + 60) % 60;
}

absl::StatusOr<std::vector<v1::GroupHourlyRow>> ReportStore::GroupDialogs(const ReportQuery& q,
                                                                          bool hourly) {
  std::optional<int> phase;
  if (options_.hour_rollups) phase = HourPhase(q.time_zone, q.start_us);
  if (phase) TryHourPhase(q.tenant, *phase);
  auto local = [&](const char* column) {
    return absl::StrCat("date_trunc('", hourly ? "hour" : "day", "', ", column,
                        " AT TIME ZONE $4::text)");
  };
  constexpr char kColumns[] =
      "department_id, total, valid, invalid, connected, abandoned, offline_messages,"
      " transferred, wait_us, talk_us";
  // Grouped by the local hour (day) itself, formatted once per result row rather than on
  // every rollup row (bench/reporting). An hour row's four slots share their local hour
  // (SplitHours), so it is grouped as each of them would be. Without whole hours, $8 = $9
  // = end: slots only.
  const std::string slots_at =
      absl::StrCat(" SELECT ", local("slot"), " AS local_at, ", kColumns,
                   " FROM reporting.group_slots WHERE tenant_id = $1", kDepartmentFilter);
  const std::string rollup_rows = absl::StrCat(
      "SELECT ", local("hour"), " AS local_at, ", kColumns,
      " FROM reporting.group_hours WHERE tenant_id = $1 AND phase_minutes = $7::smallint"
      " AND hour >= reporting.ts($8::bigint) AND hour < reporting.ts($9::bigint)",
      kDepartmentFilter, " AND $6::text IS NOT NULL UNION ALL", slots_at,
      " AND slot >= reporting.ts($2::bigint) AND slot < reporting.ts($8::bigint) UNION ALL",
      slots_at, " AND slot >= reporting.ts($9::bigint) AND slot < reporting.ts($3::bigint)");
  const std::string grouped = absl::StrCat(
      "SELECT to_char(local_at, 'YYYY-MM-DD') AS day, ",
      hourly ? "extract(hour FROM local_at)::int" : "0",
      " AS hour, department_id, " KEFU_DIALOG_SUMS " FROM (", rollup_rows,
      ") AS r GROUP BY local_at, department_id HAVING sum(total) > 0 ORDER BY 1, 2, 3");
  // Hourly with hour rows: the same rows ordered by local hour and group, unsummed. Nearly
  // every (local hour, group) has one hour row, and summing and formatting them in
  // PostgreSQL (numeric sums, to_char) took twice as long as reading them (bench/reporting,
  // 78 against 24 ms for 11,800 rows). The rows of one key, an hour row and edge slots,
  // come adjacent and are summed here.
  const std::string unsummed = absl::StrCat(rollup_rows, " ORDER BY local_at, department_id");
  return pool_->TransactIn(
      q.tenant, [&](pqxx::work& txn) -> absl::StatusOr<std::vector<v1::GroupHourlyRow>> {
        const HourSplit split = SplitHours(txn, q, phase);
        std::vector<v1::GroupHourlyRow> rows;
        if (!hourly || !split.whole_hours) {
          // A day sums 24 hour rows: PostgreSQL returns one row for them. Slots alone, four.
          pqxx::result r = txn.exec_params(grouped, q.tenant, q.start_us, q.end_us, q.time_zone,
                                           pg::TextArray(q.departments), pg::TextArray(q.agents),
                                           split.phase, split.lo_us, split.hi_us);
          rows.reserve(r.size());
          for (const auto& row : r) {
            v1::GroupHourlyRow out;
            out.set_date(row[0].as<std::string>());
            out.set_hour(row[1].as<int>());
            out.set_department_id(row[2].as<std::string>());
            SumsAt(row, 3).Fill(out.mutable_counts());
            rows.push_back(std::move(out));
          }
          return rows;
        }
        // The local timestamps as "YYYY-MM-DD HH:MI:SS", whatever the server's DateStyle.
        txn.exec("SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL jit = off");
        pqxx::result r = txn.exec_params(unsummed, q.tenant, q.start_us, q.end_us, q.time_zone,
                                         pg::TextArray(q.departments), pg::TextArray(q.agents),
                                         split.phase, split.lo_us, split.hi_us);
        std::string_view key_local, key_department;
        DialogSums sums;
        auto emit = [&] {
          if (sums.total > 0) {  // HAVING sum(total) > 0
            v1::GroupHourlyRow out;
            out.set_date(std::string(key_local.substr(0, 10)));
            out.set_hour((key_local[11] - '0') * 10 + (key_local[12] - '0'));
            out.set_department_id(std::string(key_department));
            sums.Fill(out.mutable_counts());
            rows.push_back(std::move(out));
          }
          sums = DialogSums{};
        };
        for (const auto& row : r) {
          const std::string_view at(row[0].c_str(), row[0].size()),
              department(row[1].c_str(), row[1].size());
          if (at.size() < 19)
            return absl::InternalError(absl::StrCat("local time \"", std::string(at), "\""));
          if (at != key_local || department != key_department) {
            if (!key_local.empty()) emit();
            key_local = at;
            key_department = department;
          }
          const int64_t connected = Int(row[5]);
          sums.Add({.total = Int(row[2]),
                    .valid = Int(row[3]),
                    .invalid = Int(row[4]),
                    .connected = connected,
                    .abandoned = Int(row[6]),
                    .offline = Int(row[7]),
                    .transferred = Int(row[8]),
                    .wait_us = Int(row[9]),
                    .waited = connected,
                    .talk_us = Int(row[10]),
                    .talked = connected});
        }
        if (!key_local.empty()) emit();
        return rows;
      });
}

absl::StatusOr<std::vector<v1::AgentDailyRow>> ReportStore::AgentDialogs(const ReportQuery& q) {
  TryDayZone(q.tenant, q.time_zone);
  // Segments are all connected: total = consultations = connected.
  const std::string sql = absl::StrCat(
      "SELECT to_char(day, 'YYYY-MM-DD'), agent_id,"
      " sum(consultations)::bigint, sum(valid)::bigint, sum(invalid)::bigint,"
      " sum(consultations)::bigint, 0::bigint, 0::bigint, sum(transferred)::bigint,"
      " sum(wait_us)::bigint, sum(waited)::bigint, sum(duration_us)::bigint,"
      " sum(consultations)::bigint FROM ",
      AgentRows("consultations, valid, invalid, transferred, wait_us, waited, duration_us",
                kDepartmentFilter),
      " GROUP BY day, agent_id HAVING sum(consultations) > 0 ORDER BY 1, 2");
  return pool_->TransactIn(q.tenant,
                           [&](pqxx::work& txn) -> absl::StatusOr<std::vector<v1::AgentDailyRow>> {
                             const DaySplit split = SplitOf(txn, q, options_.day_rollups);
                             pqxx::result r = ExecAgentRows(txn, sql, q, split);
                             std::vector<v1::AgentDailyRow> rows;
                             for (const auto& row : r) {
                               v1::AgentDailyRow out;
                               out.set_date(row[0].as<std::string>());
                               out.set_agent_id(row[1].as<std::string>());
                               SumsAt(row, 2).Fill(out.mutable_counts());
                               rows.push_back(std::move(out));
                             }
                             return rows;
                           });
}

absl::StatusOr<std::vector<v1::SatisfactionRow>> ReportStore::Satisfaction(const ReportQuery& q,
                                                                           bool by_department) {
  const std::string sql =
      by_department
          ? absl::StrCat(
                "SELECT department_id, sum(connected)::bigint, sum(rated)::bigint,"
                " sum(score_sum)::bigint, sum(s1)::bigint, sum(s2)::bigint,"
                " sum(s3)::bigint, sum(s4)::bigint, sum(s5)::bigint"
                " FROM reporting.group_slots WHERE",
                kRange,
                " AND $4::text IS NOT NULL AND $6::text IS NOT NULL GROUP BY 1"
                " HAVING sum(connected) > 0 OR sum(rated) > 0 ORDER BY 1")
          : absl::StrCat(
                "SELECT agent_id, sum(consultations)::bigint, sum(rated)::bigint,"
                " sum(score_sum)::bigint, sum(s1)::bigint, sum(s2)::bigint,"
                " sum(s3)::bigint, sum(s4)::bigint, sum(s5)::bigint FROM ",
                AgentRows("consultations, rated, score_sum, s1, s2, s3, s4, s5", kDepartmentFilter),
                " GROUP BY 1 HAVING sum(consultations) > 0 OR sum(rated) > 0"
                " ORDER BY 1");
  if (!by_department) TryDayZone(q.tenant, q.time_zone);
  return pool_->TransactIn(
      q.tenant, [&](pqxx::work& txn) -> absl::StatusOr<std::vector<v1::SatisfactionRow>> {
        pqxx::result r =
            by_department ? txn.exec_params(sql, q.tenant, q.start_us, q.end_us, q.time_zone,
                                            pg::TextArray(q.departments), pg::TextArray(q.agents))
                          : ExecAgentRows(txn, sql, q, SplitOf(txn, q, options_.day_rollups));
        std::vector<v1::SatisfactionRow> rows;
        for (const auto& row : r) {
          v1::SatisfactionRow out;
          if (by_department) {
            out.set_department_id(row[0].as<std::string>());
          } else {
            out.set_agent_id(row[0].as<std::string>());
          }
          const int64_t scores[5] = {Int(row[4]), Int(row[5]), Int(row[6]), Int(row[7]),
                                     Int(row[8])};
          FillSatisfaction(&out, Int(row[1]), Int(row[2]), Int(row[3]), scores);
          rows.push_back(std::move(out));
        }
        return rows;
      });
}

namespace {

// Local days of [$2, $3) in zone $4 clipped to the range, or the whole range as one ''
// day unless $5 (per day). $7 = now (ends what is still open).
constexpr char kDays[] =
    "WITH days AS ("
    " SELECT CASE WHEN $5 THEN to_char(d, 'YYYY-MM-DD') ELSE '' END AS day,"
    "  CASE WHEN $5 THEN greatest(d AT TIME ZONE $4, reporting.ts($2))"
    "   ELSE reporting.ts($2) END AS ds,"
    "  CASE WHEN $5 THEN least((d + interval '1 day') AT TIME ZONE $4, reporting.ts($3))"
    "   ELSE reporting.ts($3) END AS de"
    " FROM generate_series(date_trunc('day', reporting.ts($2) AT TIME ZONE $4),"
    "  CASE WHEN $5 THEN reporting.ts($3::bigint - 1) AT TIME ZONE $4"
    "   ELSE date_trunc('day', reporting.ts($2) AT TIME ZONE $4) END,"
    "  interval '1 day') AS d)";

// Status intervals and sessions: each row that touches [$2, $3) is joined to the local day
// holding its start (or $2) by equality on that day's `ds`, and again to each further day
// it runs into (`spill`, a few rows). The range join "start < de AND end > ds" against
// every day instead index-scanned, for each day, every row that ended after that day's
// start: 0.3-0.7 s for 30 days of 200 agents, growing with the history after the range
// (bench/reporting). Durations are summed as intervals, converted once per group.

// Time in each status. OFFLINE held while logged out (ended by a LOGIN) is not counted.
constexpr char kStatusTime[] =
    ", i AS ("
    " SELECT i.agent_id, i.status, i.start_time, i.end_time, f.day, f.ds, f.de"
    " FROM reporting.agent_status_intervals i"
    " JOIN days f ON f.ds = CASE WHEN $5 THEN greatest(date_trunc('day',"
    "  greatest(i.start_time, reporting.ts($2)) AT TIME ZONE $4) AT TIME ZONE $4,"
    "  reporting.ts($2)) ELSE reporting.ts($2) END"
    " WHERE i.tenant_id = $1 AND i.end_time > reporting.ts($2)"
    "  AND i.start_time < reporting.ts($3)"
    "  AND (cardinality($6::text[]) = 0 OR i.agent_id = ANY($6::text[]))"
    "  AND NOT (i.status = 4 AND i.reason = 2) AND $7::bigint IS NOT NULL)"
    " SELECT agent_id, day, status,"
    " reporting.us(sum(least(end_time, de) - greatest(start_time, ds)))::bigint, 0::bigint"
    " FROM (SELECT agent_id, status, start_time, end_time, day, ds, de FROM i"
    "  UNION ALL"  // spill
    "  SELECT i.agent_id, i.status, i.start_time, i.end_time, d.day, d.ds, d.de"
    "  FROM i JOIN days d ON d.ds >= i.de AND d.ds < i.end_time WHERE i.end_time > i.de) x"
    " GROUP BY 1, 2, 3"
    " UNION ALL"
    " SELECT agent_id,"
    "  CASE WHEN $5 THEN to_char(end_time AT TIME ZONE $4, 'YYYY-MM-DD') ELSE '' END,"
    "  0, 0::bigint, count(*)::bigint"
    " FROM reporting.agent_status_intervals"
    " WHERE tenant_id = $1 AND end_time >= reporting.ts($2) AND end_time < reporting.ts($3)"
    "  AND reason = 4 AND (cardinality($6::text[]) = 0 OR agent_id = ANY($6::text[]))"
    " GROUP BY 1, 2";

constexpr char kSessions[] =
    ", s AS ("
    " SELECT s.agent_id, s.login_time, s.logout_time,"
    "  COALESCE(s.logout_time, reporting.ts($7)) AS until, f.day, f.ds, f.de"
    " FROM reporting.agent_sessions s"
    " JOIN days f ON f.ds = CASE WHEN $5 THEN greatest(date_trunc('day',"
    "  greatest(s.login_time, reporting.ts($2)) AT TIME ZONE $4) AT TIME ZONE $4,"
    "  reporting.ts($2)) ELSE reporting.ts($2) END"
    " WHERE s.tenant_id = $1 AND s.login_time IS NOT NULL AND s.login_time < reporting.ts($3)"
    "  AND COALESCE(s.logout_time, reporting.ts($7)) > reporting.ts($2)"
    "  AND (cardinality($6::text[]) = 0 OR s.agent_id = ANY($6::text[])))"
    " SELECT agent_id, day,"
    " count(*) FILTER (WHERE login_time >= ds AND login_time < de),"
    " count(*) FILTER (WHERE logout_time >= ds AND logout_time < de),"
    " reporting.micros(min(login_time) FILTER (WHERE login_time >= ds AND login_time < de)),"
    " reporting.micros(max(logout_time) FILTER (WHERE logout_time >= ds AND logout_time < de)),"
    " reporting.us(sum(least(until, de) - greatest(login_time, ds)))::bigint"
    " FROM (SELECT agent_id, login_time, logout_time, until, day, ds, de FROM s WHERE until > ds"
    "  UNION ALL"  // spill
    "  SELECT s.agent_id, s.login_time, s.logout_time, s.until, d.day, d.ds, d.de"
    "  FROM s JOIN days d ON d.ds >= s.de AND d.ds < s.until WHERE s.until > s.de) x"
    " GROUP BY 1, 2";

struct OnlineSums {
  int32_t logins = 0, logouts = 0, seat_empty = 0;
  int64_t first_login = 0, last_logout = 0, logged_in = 0;
  int64_t status_us[5] = {0, 0, 0, 0, 0};
};

absl::StatusOr<std::map<std::pair<std::string, std::string>, OnlineSums>> LoadOnline(
    pg::Pool* pool, const ReportQuery& q, bool per_day, int64_t now_us, bool day_rollups) {
  using Map = std::map<std::pair<std::string, std::string>, OnlineSums>;
  return pool->TransactIn(q.tenant, [&](pqxx::work& txn) -> absl::StatusOr<Map> {
    // The planner takes the days CTE for 1000 rows, so these cost past jit_optimize_above_cost;
    // compiling took 0.3-0.7 s for queries that run in 50-150 ms (bench/reporting).
    txn.exec("SET LOCAL jit = off");
    Map out;
    const std::string agents = pg::TextArray(q.agents);
    // Status time: the whole local days from their day rows, the partial days at the edges
    // from the intervals. Either way a day runs from its midnight to the next, so the parts
    // add up to what the intervals give over the whole range.
    const DaySplit split = SplitOf(txn, q, day_rollups);
    if (split.whole_days) {
      pqxx::result days = txn.exec_params(
          "SELECT agent_id, CASE WHEN $5 THEN to_char(day, 'YYYY-MM-DD') ELSE '' END,"
          " sum(online_us)::bigint, sum(busy_us)::bigint, sum(away_us)::bigint,"
          " sum(offline_us)::bigint, sum(seat_empty)::bigint"
          " FROM reporting.agent_status_days WHERE tenant_id = $1 AND time_zone = $2"
          " AND day >= $3::date AND day <= $4::date"
          " AND (cardinality($6::text[]) = 0 OR agent_id = ANY($6::text[])) GROUP BY 1, 2",
          q.tenant, q.time_zone, split.first_day, split.last_day, per_day, agents);
      for (const auto& row : days) {
        OnlineSums& s = out[{row[0].as<std::string>(), row[1].as<std::string>()}];
        for (int st = 1; st <= 4; ++st) s.status_us[st] += Int(row[1 + st]);
        s.seat_empty += static_cast<int32_t>(Int(row[6]));
      }
    }
    for (const auto& [from, to] :
         {std::pair(q.start_us, split.lo_us), std::pair(split.hi_us, q.end_us)}) {
      if (from >= to) continue;
      pqxx::result status = txn.exec_params(absl::StrCat(kDays, kStatusTime), q.tenant, from, to,
                                            q.time_zone, per_day, agents, now_us);
      for (const auto& row : status) {
        OnlineSums& s = out[{row[0].as<std::string>(), row[1].as<std::string>()}];
        const int st = row[2].as<int>();
        if (st >= 1 && st <= 4) s.status_us[st] += Int(row[3]);
        if (st == 0) s.seat_empty += static_cast<int32_t>(Int(row[4]));
      }
    }
    pqxx::result sessions = txn.exec_params(absl::StrCat(kDays, kSessions), q.tenant, q.start_us,
                                            q.end_us, q.time_zone, per_day, agents, now_us);
    for (const auto& row : sessions) {
      OnlineSums& s = out[{row[0].as<std::string>(), row[1].as<std::string>()}];
      s.logins = static_cast<int32_t>(Int(row[2]));
      s.logouts = static_cast<int32_t>(Int(row[3]));
      s.first_login = Int(row[4]);
      s.last_logout = Int(row[5]);
      s.logged_in = Int(row[6]);
    }
    return out;
  });
}

}  // namespace

absl::StatusOr<std::vector<v1::OnlineTimeRow>> ReportStore::OnlineTime(const ReportQuery& q,
                                                                       bool per_day,
                                                                       int64_t now_us) {
  TryDayZone(q.tenant, q.time_zone);
  auto sums = LoadOnline(pool_, q, per_day, now_us, options_.day_rollups);
  if (!sums.ok()) return sums.status();
  std::vector<v1::OnlineTimeRow> rows;
  for (const auto& [key, s] : *sums) {
    v1::OnlineTimeRow row;
    row.set_agent_id(key.first);
    row.set_date(key.second);
    row.set_login_count(s.logins);
    row.set_logout_count(s.logouts);
    if (s.first_login != 0) *row.mutable_first_login_time() = Ts(s.first_login);
    if (s.last_logout != 0) *row.mutable_last_logout_time() = Ts(s.last_logout);
    *row.mutable_logged_in() = Dur(s.logged_in);
    for (int st = 1; st <= 4; ++st) {
      auto* d = row.add_status_durations();
      d->set_status(static_cast<kefu::common::v1::AgentStatus>(st));
      *d->mutable_duration() = Dur(s.status_us[st]);
    }
    row.set_seat_empty_count(s.seat_empty);
    rows.push_back(std::move(row));
  }
  // Per day: by date, then agent (the map orders by agent first).
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return std::tie(a.date(), a.agent_id()) < std::tie(b.date(), b.agent_id());
  });
  return rows;
}

absl::StatusOr<std::vector<v1::OfflineMessageRow>> ReportStore::OfflineMessages(
    const ReportQuery& q) {
  constexpr char kSql[] =
      "SELECT to_char(left_time AT TIME ZONE $4, 'YYYY-MM-DD'), department_id, count(*)::bigint,"
      " count(replied_time)::bigint,"
      " sum(COALESCE(reply_us, reporting.us(replied_time - left_time)))"
      "  FILTER (WHERE replied_time IS NOT NULL)::bigint,"
      " max(COALESCE(reply_us, reporting.us(replied_time - left_time)))"
      "  FILTER (WHERE replied_time IS NOT NULL)::bigint"
      " FROM reporting.offline_messages"
      " WHERE tenant_id = $1 AND left_time >= reporting.ts($2) AND left_time < reporting.ts($3)"
      " AND (cardinality($5::text[]) = 0 OR department_id = ANY($5::text[]))"
      " GROUP BY 1, 2 ORDER BY 1, 2";
  return pool_->TransactIn(
      q.tenant, [&](pqxx::work& txn) -> absl::StatusOr<std::vector<v1::OfflineMessageRow>> {
        pqxx::result r = txn.exec_params(kSql, q.tenant, q.start_us, q.end_us, q.time_zone,
                                         pg::TextArray(q.departments));
        std::vector<v1::OfflineMessageRow> rows;
        for (const auto& row : r) {
          v1::OfflineMessageRow out;
          out.set_date(row[0].as<std::string>());
          out.set_department_id(row[1].as<std::string>());
          const int64_t received = Int(row[2]), replied = Int(row[3]);
          out.set_received(received);
          out.set_replied(replied);
          out.set_pending(received - replied);
          out.set_reply_rate(Ratio(replied, received));
          *out.mutable_average_reply_time() = Dur(replied == 0 ? 0 : Int(row[4]) / replied);
          *out.mutable_max_reply_time() = Dur(Int(row[5]));
          rows.push_back(std::move(out));
        }
        return rows;
      });
}

absl::StatusOr<std::vector<v1::AgentScorecardRow>> ReportStore::Scorecard(const ReportQuery& q,
                                                                          int64_t now_us) {
  // Dialog figures honour the department filter; offers carry no department, so answer
  // rate and response time are the agent's over all departments.
  TryDayZone(q.tenant, q.time_zone);
  const std::string sql = absl::StrCat(
      "SELECT agent_id,"
      " sum(consultations) FILTER (WHERE department_id <> '')::bigint,"
      " sum(valid) FILTER (WHERE department_id <> '')::bigint,"
      " sum(duration_us) FILTER (WHERE department_id <> '')::bigint,"
      " sum(rated) FILTER (WHERE department_id <> '')::bigint,"
      " sum(score_sum) FILTER (WHERE department_id <> '')::bigint,"
      " sum(offered)::bigint, sum(answered)::bigint, sum(response_us)::bigint FROM ",
      AgentRows("consultations, valid, duration_us, rated, score_sum, offered, answered,"
                " response_us",
                " AND (cardinality($5::text[]) = 0 OR department_id = ANY($5::text[])"
                "  OR department_id = '')"),
      " GROUP BY 1 ORDER BY 1");
  struct Dialogs {
    int64_t consultations = 0, valid = 0, duration = 0, rated = 0, score = 0, offered = 0,
            answered = 0, response = 0;
  };
  auto dialogs = pool_->TransactIn(
      q.tenant, [&](pqxx::work& txn) -> absl::StatusOr<std::map<std::string, Dialogs>> {
        pqxx::result r = ExecAgentRows(txn, sql, q, SplitOf(txn, q, options_.day_rollups));
        std::map<std::string, Dialogs> out;
        for (const auto& row : r) {
          out[row[0].as<std::string>()] = {Int(row[1]), Int(row[2]), Int(row[3]), Int(row[4]),
                                           Int(row[5]), Int(row[6]), Int(row[7]), Int(row[8])};
        }
        return out;
      });
  if (!dialogs.ok()) return dialogs.status();
  auto online = LoadOnline(pool_, q, /*per_day=*/false, now_us, options_.day_rollups);
  if (!online.ok()) return online.status();
  std::map<std::string, std::pair<Dialogs, OnlineSums>> merged;
  for (const auto& [agent, d] : *dialogs) merged[agent].first = d;
  for (const auto& [key, s] : *online) merged[key.first].second = s;
  std::vector<v1::AgentScorecardRow> rows;
  for (const auto& [agent, both] : merged) {
    const auto& [d, s] = both;
    v1::AgentScorecardRow row;
    row.set_agent_id(agent);
    if (s.first_login != 0) *row.mutable_first_login_time() = Ts(s.first_login);
    *row.mutable_login_duration() = Dur(s.logged_in);
    *row.mutable_online_duration() = Dur(s.status_us[kefu::common::v1::AGENT_STATUS_ONLINE]);
    row.set_consultations(d.consultations);
    row.set_valid_consultations(d.valid);
    *row.mutable_total_dialog_duration() = Dur(d.duration);
    *row.mutable_average_dialog_duration() =
        Dur(d.consultations == 0 ? 0 : d.duration / d.consultations);
    row.set_rated_count(d.rated);
    row.set_average_rating(Ratio(d.score, d.rated));
    row.set_answer_rate(Ratio(d.answered, d.offered));
    *row.mutable_average_response_time() = Dur(d.answered == 0 ? 0 : d.response / d.answered);
    rows.push_back(std::move(row));
  }
  return rows;
}

absl::StatusOr<std::map<std::string, GroupToday>> ReportStore::Today(const std::string& tenant,
                                                                     const std::string& time_zone,
                                                                     int64_t now_us) {
  constexpr char kSql[] =
      "SELECT department_id, sum(total)::bigint, sum(connected)::bigint, sum(abandoned)::bigint"
      " FROM reporting.group_slots WHERE tenant_id = $1"
      " AND slot >= (date_trunc('day', reporting.ts($3) AT TIME ZONE $2) AT TIME ZONE $2)"
      " GROUP BY 1";
  return pool_->TransactIn(
      tenant, [&](pqxx::work& txn) -> absl::StatusOr<std::map<std::string, GroupToday>> {
        std::map<std::string, GroupToday> out;
        for (const auto& row : txn.exec_params(kSql, tenant, time_zone, now_us)) {
          out[row[0].as<std::string>()] = {Int(row[1]), Int(row[2]), Int(row[3])};
        }
        return out;
      });
}

absl::StatusOr<std::vector<AgentPerformance>> ReportStore::Performance(const std::string& tenant,
                                                                       int64_t since_us) {
  constexpr char kSql[] =
      "SELECT agent_id, sum(consultations)::bigint, sum(resolved)::bigint, sum(rated)::bigint,"
      " sum(score_sum)::bigint FROM reporting.agent_slots"
      " WHERE tenant_id = $1 AND slot >= reporting.slot_of(reporting.ts($2))"
      " AND department_id <> '' GROUP BY 1"
      " HAVING sum(consultations) > 0 OR sum(rated) > 0 ORDER BY 1";
  return pool_->TransactIn(
      tenant, [&](pqxx::work& txn) -> absl::StatusOr<std::vector<AgentPerformance>> {
        std::vector<AgentPerformance> out;
        for (const auto& row : txn.exec_params(kSql, tenant, since_us)) {
          out.push_back(
              {row[0].as<std::string>(), Int(row[1]), Int(row[2]), Int(row[3]), Int(row[4])});
        }
        return out;
      });
}

namespace {

constexpr char kLockDays[] = "SELECT pg_advisory_xact_lock(" KEFU_DAYS_LOCK_KEY ")";
constexpr char kZoneState[] =
    "SELECT count(*) FILTER (WHERE time_zone = $2), count(*) FROM reporting.day_zones"
    " WHERE tenant_id = $1";
constexpr char kAddZone[] =
    "INSERT INTO reporting.day_zones (tenant_id, time_zone) VALUES ($1, $2)";
constexpr char kFillAgentDays[] =
    "INSERT INTO reporting.agent_days (tenant_id, time_zone, day, agent_id, department_id,"
    " consultations, valid, invalid, transferred, resolved, wait_us, waited, duration_us, rated,"
    " score_sum, s1, s2, s3, s4, s5, offered, answered, response_us)"
    " SELECT $1, $2, reporting.local_day(slot, $2), agent_id, department_id,"
    " sum(consultations), sum(valid), sum(invalid), sum(transferred), sum(resolved), sum(wait_us),"
    " sum(waited), sum(duration_us), sum(rated), sum(score_sum), sum(s1), sum(s2), sum(s3),"
    " sum(s4), sum(s5), sum(offered), sum(answered), sum(response_us)"
    " FROM reporting.agent_slots WHERE tenant_id = $1 GROUP BY 3, 4, 5 ORDER BY 3";
constexpr char kFillStatusDays[] = KEFU_STATUS_DAYS(
    "(SELECT * FROM reporting.agent_status_intervals WHERE tenant_id = $1::text) i", "(SELECT 1) z",
    "$2::text");

}  // namespace

absl::StatusOr<bool> ReportStore::EnsureDayZone(const std::string& tenant,
                                                const std::string& time_zone) {
  if (!options_.day_rollups) return false;
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<bool> {
    const pqxx::row state = txn.exec_params1(kZoneState, tenant, time_zone);
    if (state[0].as<int64_t>() > 0) return true;
    if (state[1].as<int64_t>() >= options_.max_day_zones) return false;
    // Exclusive: waits for the applies in flight and holds new ones back until the zone's
    // rows are filled and listed, so each event lands in them exactly once.
    txn.exec("SET LOCAL statement_timeout = '10min'");
    txn.exec_params(kLockDays, tenant);
    const pqxx::row again = txn.exec_params1(kZoneState, tenant, time_zone);
    if (again[0].as<int64_t>() > 0) return true;  // another replica filled it meanwhile
    if (again[1].as<int64_t>() >= options_.max_day_zones) return false;
    const absl::Time start = absl::Now();
    txn.exec_params(kAddZone, tenant, time_zone);
    const pqxx::result agent_days = txn.exec_params(kFillAgentDays, tenant, time_zone);
    const pqxx::result status_days = txn.exec_params(kFillStatusDays, tenant, time_zone);
    log::Info("day rollups filled for a report time zone",
              {{"tenant", tenant},
               {"time_zone", time_zone},
               {"agent_days", absl::StrCat(agent_days.affected_rows())},
               {"agent_status_days", absl::StrCat(status_days.affected_rows())},
               {"seconds", absl::StrCat(absl::ToDoubleSeconds(absl::Now() - start))}});
    return true;
  });
}

namespace {

constexpr char kPhaseKept[] =
    "SELECT count(*) FROM reporting.hour_phases WHERE tenant_id = $1 AND phase_minutes = $2";
constexpr char kAddPhase[] =
    "INSERT INTO reporting.hour_phases (tenant_id, phase_minutes) VALUES ($1, $2)";
constexpr char kFillGroupHours[] =
    "INSERT INTO reporting.group_hours (tenant_id, phase_minutes, hour, department_id, total,"
    " valid, invalid, connected, abandoned, offline_messages, transferred, wait_us, talk_us,"
    " rated, score_sum, s1, s2, s3, s4, s5)"
    " SELECT $1, $2::smallint, reporting.hour_of(slot, $2::smallint), department_id, sum(total),"
    " sum(valid), sum(invalid), sum(connected), sum(abandoned), sum(offline_messages),"
    " sum(transferred), sum(wait_us), sum(talk_us), sum(rated), sum(score_sum), sum(s1), sum(s2),"
    " sum(s3), sum(s4), sum(s5)"
    " FROM reporting.group_slots WHERE tenant_id = $1 GROUP BY 3, 4 ORDER BY 3, 4";

}  // namespace

absl::StatusOr<bool> ReportStore::EnsureHourPhase(const std::string& tenant, int phase_minutes) {
  if (!options_.hour_rollups || phase_minutes < 0 || phase_minutes > 45 ||
      phase_minutes % 15 != 0) {
    return false;
  }
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<bool> {
    if (txn.exec_params1(kPhaseKept, tenant, phase_minutes)[0].as<int64_t>() > 0) return true;
    // Exclusive, as for a day zone: each event lands in the phase's hours exactly once.
    txn.exec("SET LOCAL statement_timeout = '10min'");
    txn.exec_params(kLockDays, tenant);
    if (txn.exec_params1(kPhaseKept, tenant, phase_minutes)[0].as<int64_t>() > 0) return true;
    const absl::Time start = absl::Now();
    txn.exec_params(kAddPhase, tenant, phase_minutes);
    const pqxx::result hours = txn.exec_params(kFillGroupHours, tenant, phase_minutes);
    log::Info("hour rollups filled for a report hour phase",
              {{"tenant", tenant},
               {"phase_minutes", absl::StrCat(phase_minutes)},
               {"group_hours", absl::StrCat(hours.affected_rows())},
               {"seconds", absl::StrCat(absl::ToDoubleSeconds(absl::Now() - start))}});
    return true;
  });
}

void ReportStore::TryHourPhase(const std::string& tenant, int phase_minutes) {
  const auto key = std::make_pair(tenant, phase_minutes);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (phases_known_.contains(key)) return;
  }
  auto kept = EnsureHourPhase(tenant, phase_minutes);
  if (!kept.ok()) {
    // The report reads the 15-minute rows this time; the next one tries again.
    log::Warn("hour rollups not filled for a report hour phase",
              {{"tenant", tenant},
               {"phase_minutes", absl::StrCat(phase_minutes)},
               {"error", kept.status().ToString()}});
    return;
  }
  if (!*kept) return;
  std::lock_guard<std::mutex> lock(mu_);
  phases_known_.insert(key);
}

void ReportStore::TryDayZone(const std::string& tenant, const std::string& time_zone) {
  if (!options_.day_rollups) return;
  const auto key = std::make_pair(tenant, time_zone);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (zones_known_.contains(key)) return;
  }
  auto kept = EnsureDayZone(tenant, time_zone);
  if (!kept.ok()) {
    // The report reads the 15-minute rows this time; the next one tries again.
    log::Warn("day rollups not filled for a report time zone",
              {{"tenant", tenant}, {"time_zone", time_zone}, {"error", kept.status().ToString()}});
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  zones_known_.insert(key);
}

}  // namespace kefu::reporting
