// ReportStore's hourly group rollups (migrations/004_group_hours.sql) against real
// PostgreSQL: the group reports (F62 daily, F63 hourly) read hour rows for the whole hours
// of a range and 15-minute slots for the partial hours at its edges. Hour rows are kept
// per phase (the minutes past the UTC hour at which a zone's hours start), so one phase
// serves every zone whose offset has it. Their answers must be exactly those of the slots
// alone in any zone (half-hour and 45-minute offsets, DST changes of an hour and of half an
// hour inside the range), whether a phase's rows were filled from history or kept by the
// apply path, through duplicate and out-of-order deliveries, a restart, and a phase filled
// while events are being applied.
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "libs/events/events.h"
#include "libs/pg/migrate.h"
#include "libs/pg/pool.h"
#include "services/reporting/report_store.h"
#include "services/reporting/reporting_service.h"
#include "tests/support/env.h"

namespace {

namespace common = kefu::common::v1;
namespace ev = kefu::events::v1;
using google::protobuf::util::TimeUtil;
using kefu::reporting::ReportQuery;
using kefu::reporting::ReportStore;
using kefu::reporting::ReportStoreOptions;

int64_t LocalUs(const char* zone_name, absl::CivilSecond local, int64_t extra_us = 0) {
  absl::TimeZone zone;
  REQUIRE(absl::LoadTimeZone(zone_name, &zone));
  return absl::ToUnixMicros(absl::FromCivil(local, zone)) + extra_us;
}
int64_t UtcUs(absl::CivilSecond utc) { return LocalUs("UTC", utc); }

// A database with the reporting migrations, and two stores on it as the service builds
// them (role kefu_app, row-level security): one reading hour rollups, one only the
// 15-minute rows.
struct Db {
  std::string dsn = kefu::testing::FreshDatabase("reporting_hours");
  std::unique_ptr<kefu::pg::Pool> pool;
  std::unique_ptr<ReportStore> hours;
  std::unique_ptr<ReportStore> slots;

  Db() {
    kefu::pg::PoolOptions owner_options;
    owner_options.dsn = dsn;
    owner_options.size = 1;
    kefu::pg::Pool owner(owner_options, {});
    absl::Status st = kefu::pg::EnsureRole(owner, kefu::pg::kAppRole);
    if (!st.ok()) st = kefu::pg::EnsureRole(owner, kefu::pg::kAppRole);  // raced another db
    REQUIRE(st.ok());
    st = kefu::pg::Migrate(owner, {"reporting", kefu::embedded::ReportingMigrations()});
    INFO(st.ToString());
    REQUIRE(st.ok());
    kefu::pg::PoolOptions options;
    options.dsn = dsn;
    options.size = 4;
    options.statement_timeout = absl::Seconds(30);
    options.session_role = kefu::pg::kAppRole;
    pool = std::make_unique<kefu::pg::Pool>(options, std::vector<kefu::pg::Statement>{});
    hours = std::make_unique<ReportStore>(pool.get());
    slots = std::make_unique<ReportStore>(pool.get(), ReportStoreOptions{.hour_rollups = false});
  }

  static void Apply(ReportStore& store, const std::vector<ev::Event>& events) {
    for (const auto& e : events) {
      auto outcome = store.ApplyEvent(e.tenant_id(), e);
      for (int attempt = 0; !outcome.ok() && absl::IsAborted(outcome.status()) && attempt < 5;
           ++attempt) {
        outcome = store.ApplyEvent(e.tenant_id(), e);  // a deadlock victim, redelivered
      }
      INFO(outcome.status().ToString());
      REQUIRE(outcome.ok());
    }
  }

  // Runs SQL as the owner (row-level security does not apply to the superuser); returns
  // the first column of the first row, if any.
  int64_t Exec(const std::string& sql, const std::string& tenant = "") {
    pqxx::connection conn(dsn);
    pqxx::work txn(conn);
    pqxx::result r = tenant.empty() ? txn.exec(sql) : txn.exec_params(sql, tenant);
    txn.commit();
    return r.empty() || r[0].empty() || r[0][0].is_null() ? 0 : r[0][0].as<int64_t>();
  }

  // Rows of group_hours that differ from group_slots summed per hour of each kept phase
  // (every column, both ways).
  int64_t HoursNotSlots(const std::string& tenant) {
    constexpr char kSums[] =
        "total, valid, invalid, connected, abandoned, offline_messages, transferred, wait_us,"
        " talk_us, rated, score_sum, s1, s2, s3, s4, s5";
    const std::string hour_rows = absl::StrCat("SELECT phase_minutes, hour, department_id, ", kSums,
                                               " FROM reporting.group_hours WHERE tenant_id = $1");
    const std::string from_slots = absl::StrCat(
        "SELECT p.phase_minutes, reporting.hour_of(s.slot, p.phase_minutes), s.department_id,"
        " sum(total)::bigint, sum(valid)::bigint, sum(invalid)::bigint, sum(connected)::bigint,"
        " sum(abandoned)::bigint, sum(offline_messages)::bigint, sum(transferred)::bigint,"
        " sum(wait_us)::bigint, sum(talk_us)::bigint, sum(rated)::bigint,"
        " sum(score_sum)::bigint, sum(s1)::bigint, sum(s2)::bigint, sum(s3)::bigint,"
        " sum(s4)::bigint, sum(s5)::bigint"
        " FROM reporting.group_slots s JOIN reporting.hour_phases p USING (tenant_id)"
        " WHERE s.tenant_id = $1 GROUP BY 1, 2, 3");
    return Exec(absl::StrCat("SELECT count(*) FROM ((", hour_rows, " EXCEPT ALL ", from_slots,
                             ") UNION ALL (", from_slots, " EXCEPT ALL ", hour_rows, ")) d"),
                tenant);
  }
};

ev::Event Ended(const std::string& tenant, const std::string& id, const std::string& department,
                int64_t start_us, int64_t wait_us, int segments, uint64_t salt) {
  ev::Event e;
  e.set_tenant_id(tenant);
  e.set_event_id(kefu::events::NewEventId());
  auto* d = e.mutable_dialog_ended();
  d->set_dialog_id(id);
  d->set_department_id(department);
  d->set_valid(salt % 10 != 0);
  d->set_connected(segments > 0);
  d->set_end_type(segments > 0    ? common::DIALOG_END_TYPE_CUSTOMER
                  : salt % 3 == 0 ? common::DIALOG_END_TYPE_OFFLINE_MESSAGE
                                  : common::DIALOG_END_TYPE_ABANDONED);
  d->set_transfer_count(std::max(0, segments - 1));
  int64_t t = start_us + wait_us;
  for (int s = 0; s < segments; ++s) {
    auto* seg = d->add_segments();
    seg->set_agent_id(absl::StrCat("a", (salt + s) % 4));
    seg->set_department_id(department);
    *seg->mutable_start_time() = TimeUtil::MicrosecondsToTimestamp(t);
    t += 60'000'000 * static_cast<int64_t>(1 + (salt >> 8) % 40);
    *seg->mutable_end_time() = TimeUtil::MicrosecondsToTimestamp(t);
  }
  *d->mutable_start_time() = TimeUtil::MicrosecondsToTimestamp(start_us);
  *d->mutable_end_time() = TimeUtil::MicrosecondsToTimestamp(t);
  *d->mutable_wait_duration() = TimeUtil::MicrosecondsToDuration(wait_us);
  *d->mutable_talk_duration() = TimeUtil::MicrosecondsToDuration(t - start_us - wait_us);
  *e.mutable_occurred_time() = d->end_time();
  return e;
}

// Dialogs around the US spring-forward of 2024-03-10, Lord Howe Island's half-hour
// fall-back of 2024-04-07 (UTC+11 to UTC+10:30) and the US fall-back of 2024-11-03 (two
// UTC hours in one local hour), at any microsecond; ratings (a second one,
// earlier or later); a few dialogs ended twice under two event ids. Shuffled.
std::vector<ev::Event> History(const std::string& tenant, uint32_t seed) {
  std::mt19937_64 rng(seed);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  const std::vector<std::string> departments = {"sales", "support", "vip"};
  const int64_t minute = 60'000'000;
  std::vector<ev::Event> out;
  for (const auto& [from, to, count] : std::vector<std::tuple<int64_t, int64_t, int>>{
           {UtcUs(absl::CivilSecond(2024, 3, 7, 12, 0, 0)),
            UtcUs(absl::CivilSecond(2024, 3, 13, 12, 0, 0)), 400},
           {UtcUs(absl::CivilSecond(2024, 4, 5, 0, 0, 0)),
            UtcUs(absl::CivilSecond(2024, 4, 9, 0, 0, 0)), 200},
           {UtcUs(absl::CivilSecond(2024, 11, 2, 12, 0, 0)),
            UtcUs(absl::CivilSecond(2024, 11, 4, 12, 0, 0)), 200}}) {
    for (int n = 0; n < count; ++n) {
      const std::string id = absl::StrCat("d", from, "-", n);
      const int segments = static_cast<int>(uniform(0, 3));
      ev::Event e =
          Ended(tenant, id, departments[uniform(0, 2)], uniform(from, to) + uniform(0, 999'999),
                uniform(0, 3 * minute), segments, rng());
      if (uniform(0, 19) == 0) {  // the same dialog under a second event id
        ev::Event again = e;
        again.set_event_id(kefu::events::NewEventId());
        out.push_back(again);
      }
      if (segments > 0) {
        const int64_t end = TimeUtil::TimestampToMicroseconds(e.occurred_time());
        const int ratings = static_cast<int>(uniform(0, 2));
        for (int r = 0; r < ratings; ++r) {
          ev::Event& rated = out.emplace_back();
          rated.set_tenant_id(tenant);
          rated.set_event_id(kefu::events::NewEventId());
          *rated.mutable_occurred_time() =
              TimeUtil::MicrosecondsToTimestamp(end + uniform(-minute, 90 * minute));
          auto* d = rated.mutable_dialog_rated();
          d->set_dialog_id(id);
          d->set_agent_id("a1");
          d->set_department_id(e.dialog_ended().department_id());
          d->set_score(static_cast<int32_t>(uniform(1, 5)));
        }
      }
      out.push_back(std::move(e));
    }
  }
  std::shuffle(out.begin(), out.end(), rng);  // out of order
  return out;
}

template <typename Row>
std::string Text(const absl::StatusOr<std::vector<Row>>& rows) {
  if (!rows.ok()) return absl::StrCat("error: ", rows.status().ToString());
  std::string text;
  for (const auto& row : rows.value()) absl::StrAppend(&text, row.ShortDebugString(), "\n");
  return text;
}

struct Range {
  const char* name;
  const char* zone;
  int64_t start_us, end_us;
};

std::vector<Range> Ranges() {
  using absl::CivilSecond;
  return {
      {"Shanghai, partial hours at both ends", "Asia/Shanghai",
       LocalUs("Asia/Shanghai", CivilSecond(2024, 3, 8, 7, 13, 27), 500'001),
       LocalUs("Asia/Shanghai", CivilSecond(2024, 3, 12, 18, 1, 0))},
      {"Shanghai, whole days", "Asia/Shanghai",
       LocalUs("Asia/Shanghai", CivilSecond(2024, 3, 8, 0, 0, 0)),
       LocalUs("Asia/Shanghai", CivilSecond(2024, 3, 13, 0, 0, 0))},
      {"Shanghai, no whole hour", "Asia/Shanghai",
       LocalUs("Asia/Shanghai", CivilSecond(2024, 3, 9, 10, 5, 0)),
       LocalUs("Asia/Shanghai", CivilSecond(2024, 3, 9, 11, 55, 0))},
      {"New York, over the spring-forward", "America/New_York",
       LocalUs("America/New_York", CivilSecond(2024, 3, 8, 22, 30, 0)),
       LocalUs("America/New_York", CivilSecond(2024, 3, 12, 3, 0, 0), 1)},
      {"New York, over the fall-back", "America/New_York",
       LocalUs("America/New_York", CivilSecond(2024, 11, 2, 10, 0, 0)),
       LocalUs("America/New_York", CivilSecond(2024, 11, 4, 6, 0, 0))},
      {"Kolkata (+05:30)", "Asia/Kolkata",
       LocalUs("Asia/Kolkata", CivilSecond(2024, 3, 7, 23, 59, 59)),
       LocalUs("Asia/Kolkata", CivilSecond(2024, 3, 11, 0, 15, 0))},
      {"Kathmandu (+05:45)", "Asia/Kathmandu",
       LocalUs("Asia/Kathmandu", CivilSecond(2024, 3, 8, 12, 0, 0)),
       LocalUs("Asia/Kathmandu", CivilSecond(2024, 3, 12, 12, 0, 0))},
      {"St. John's (-03:30), over its spring-forward", "America/St_Johns",
       LocalUs("America/St_Johns", CivilSecond(2024, 3, 9, 0, 0, 0)),
       LocalUs("America/St_Johns", CivilSecond(2024, 3, 11, 0, 0, 0))},
      {"Lord Howe, over its half-hour fall-back", "Australia/Lord_Howe",
       LocalUs("Australia/Lord_Howe", CivilSecond(2024, 4, 5, 12, 0, 0)),
       LocalUs("Australia/Lord_Howe", CivilSecond(2024, 4, 8, 12, 0, 0))},
      {"Lord Howe, after its fall-back", "Australia/Lord_Howe",
       LocalUs("Australia/Lord_Howe", CivilSecond(2024, 4, 7, 6, 0, 0)),
       LocalUs("Australia/Lord_Howe", CivilSecond(2024, 4, 9, 0, 0, 0))},
      {"UTC", "UTC", UtcUs(absl::CivilSecond(2024, 3, 8, 5, 0, 0)),
       UtcUs(absl::CivilSecond(2024, 3, 12, 0, 0, 0))},
  };
}

// Both stores' group reports (hourly and daily) on every range, whole tenant and one
// department.
void CheckSameAnswers(Db& db, const std::string& tenant) {
  for (const Range& r : Ranges()) {
    for (const std::vector<std::string>& departments :
         std::vector<std::vector<std::string>>{{}, {"support"}}) {
      for (const bool hourly : {true, false}) {
        ReportQuery q{tenant, r.start_us, r.end_us, r.zone, departments, {}};
        const std::string from_slots = Text(db.slots->GroupDialogs(q, hourly));
        INFO(r.name << (hourly ? " / hourly" : " / daily")
                    << " / departments=" << absl::StrJoin(departments, ","));
        CHECK(from_slots.rfind("error: ", 0) == std::string::npos);
        if (departments.empty()) CHECK(!from_slots.empty());  // something to compare
        CHECK(Text(db.hours->GroupDialogs(q, hourly)) == from_slots);
      }
    }
  }
}

}  // namespace

TEST_CASE("group reports from hour rollups equal the 15-minute answer in any zone and range") {
  Db db;
  const std::string tenant = kefu::testing::UniqueTenant("rephours");
  const std::vector<ev::Event> history = History(tenant, 1);
  // Phase 0 is kept from the start (the apply path writes it); the others are filled from
  // the history when a report in a zone of that phase first asks.
  REQUIRE(db.hours->EnsureHourPhase(tenant, 0).value());
  Db::Apply(*db.hours, history);
  Db::Apply(*db.hours, history);  // delivered again: counts nothing twice
  CheckSameAnswers(db, tenant);
  // Kept now: 0, 30 (Kolkata, St. John's, Lord Howe after its fall-back) and 15 (Kathmandu,
  // UTC+5:45: its hours start at a quarter past the UTC hour).
  CHECK(db.Exec("SELECT sum(phase_minutes) * 100 + count(*) FROM reporting.hour_phases"
                " WHERE tenant_id = $1",
                tenant) == 4503);
  CHECK(db.hours->EnsureHourPhase(tenant, 30).value());
  CHECK(db.hours->EnsureHourPhase(tenant, 15).value());
  CHECK(db.hours->EnsureHourPhase(tenant, 45).value());  // no zone of these ranges has it
  CHECK_FALSE(db.hours->EnsureHourPhase(tenant, 20).value());
  CHECK(db.HoursNotSlots(tenant) == 0);
  // New York's 1 o'clock of 2024-11-03 ran twice (EDT, then EST): two hour rows, summed
  // into one report row above.
  CHECK(db.Exec("SELECT count(DISTINCT hour) FROM reporting.group_hours WHERE tenant_id = $1"
                " AND phase_minutes = 0 AND total > 0"
                " AND hour IN ('2024-11-03 05:00+00', '2024-11-03 06:00+00')",
                tenant) == 2);
  // Delivered a third time, now that three phases are kept: still nothing twice.
  Db::Apply(*db.hours, history);
  CHECK(db.HoursNotSlots(tenant) == 0);

  // The whole hours really come from the hour rows: a change to them shows in the reports
  // of their phase and not in the 15-minute answer; Lord Howe over its change of phase is
  // read from the slots alone.
  const int64_t hour_rows =
      db.Exec("SELECT count(*) FROM reporting.group_hours WHERE tenant_id = $1", tenant);
  CHECK(hour_rows > 0);
  db.Exec("UPDATE reporting.group_hours SET total = total + 1000 WHERE tenant_id = $1", tenant);
  for (const Range& r : Ranges()) {
    ReportQuery q{tenant, r.start_us, r.end_us, r.zone, {}, {}};
    INFO(r.name);
    const bool whole_hours = std::string(r.name) != "Shanghai, no whole hour" &&
                             std::string(r.name) != "Lord Howe, over its half-hour fall-back";
    CHECK((Text(db.hours->GroupDialogs(q, true)) != Text(db.slots->GroupDialogs(q, true))) ==
          whole_hours);
  }
  // A restart: a new store finds the phases kept and fills nothing again.
  ReportStore restarted(db.pool.get());
  ReportQuery q{tenant, Ranges()[5].start_us, Ranges()[5].end_us, "Asia/Kolkata", {}, {}};
  REQUIRE(restarted.GroupDialogs(q, true).ok());
  CHECK(db.Exec("SELECT count(*) FROM reporting.group_hours WHERE tenant_id = $1", tenant) ==
        hour_rows);
}

TEST_CASE(
    "the hourly report counts a dialog in the local hour it started even when it arrives late") {
  Db db;
  const std::string tenant = kefu::testing::UniqueTenant("rephourly");
  using absl::CivilSecond;
  constexpr char kZone[] = "Asia/Kolkata";  // UTC+5:30: hours start at half past UTC hours
  auto at = [&](int day, int hour, int minute, int64_t extra_us = 0) {
    return LocalUs(kZone, CivilSecond(2024, 3, day, hour, minute, 0), extra_us);
  };
  const ev::Event d1 = Ended(tenant, "d1", "sales", at(8, 9, 59, 59'999'999), 0, 1, 1);
  const ev::Event d2 = Ended(tenant, "d2", "sales", at(8, 10, 0), 0, 1, 2);
  const ev::Event d3 = Ended(tenant, "d3", "sales", at(8, 10, 44), 0, 0, 4);
  Db::Apply(*db.hours, {d1, d2, d3});
  const ReportQuery day{tenant, at(8, 0, 0), at(9, 0, 0), kZone, {}, {}};
  auto hours_of = [&](const ReportQuery& q) {
    std::vector<std::string> out;
    const auto rows = db.hours->GroupDialogs(q, true);
    REQUIRE(rows.ok());
    for (const auto& row : *rows) {
      out.push_back(absl::StrCat(row.date(), " ", row.hour(), " ", row.department_id(), " ",
                                 row.counts().total(), "/", row.counts().connected()));
    }
    CHECK(Text(db.slots->GroupDialogs(q, true)) == Text(db.hours->GroupDialogs(q, true)));
    return out;
  };
  // 09:59:59.999999 is still 9 o'clock; 10:00:00 is 10 o'clock.
  CHECK(hours_of(day) ==
        std::vector<std::string>{"2024-03-08 9 sales 1/1", "2024-03-08 10 sales 2/1"});
  // The phase's hour rows are what the report read.
  CHECK(db.Exec("SELECT count(*) FROM reporting.group_hours WHERE tenant_id = $1"
                " AND phase_minutes = 30",
                tenant) == 2);

  // Late: a dialog of 09:15 and one of the evening before, delivered after; the first
  // dialog delivered again, and ended again under another event id.
  ev::Event d2_again = d2;
  d2_again.set_event_id(kefu::events::NewEventId());
  Db::Apply(*db.hours, {Ended(tenant, "d0", "sales", at(8, 9, 15), 0, 1, 5),
                        Ended(tenant, "d4", "vip", at(7, 23, 50), 0, 1, 6), d1, d2_again});
  CHECK(hours_of(day) ==
        std::vector<std::string>{"2024-03-08 9 sales 2/2", "2024-03-08 10 sales 2/1"});
  const ReportQuery two_days{tenant, at(7, 0, 0), at(9, 0, 0), kZone, {}, {}};
  CHECK(hours_of(two_days) == std::vector<std::string>{"2024-03-07 23 vip 1/1",
                                                       "2024-03-08 9 sales 2/2",
                                                       "2024-03-08 10 sales 2/1"});
  // The same dialogs in UTC (phase 0, filled from the slots by this report): 09:15 IST is
  // 03:45 UTC, 09:59:59 IST 04:29:59, 10:00 IST 04:30, 10:44 IST 05:14.
  const ReportQuery utc{tenant,
                        UtcUs(absl::CivilSecond(2024, 3, 7, 0, 0, 0)),
                        UtcUs(absl::CivilSecond(2024, 3, 9, 0, 0, 0)),
                        "UTC",
                        {},
                        {}};
  CHECK(hours_of(utc) == std::vector<std::string>{"2024-03-07 18 vip 1/1", "2024-03-08 3 sales 1/1",
                                                  "2024-03-08 4 sales 2/2",
                                                  "2024-03-08 5 sales 1/0"});
  CHECK(db.HoursNotSlots(tenant) == 0);
}

TEST_CASE("an hour phase filled while events are being applied counts every event exactly once") {
  Db db;
  const std::string tenant = kefu::testing::UniqueTenant("rephourrace");
  const std::vector<ev::Event> history = History(tenant, 2);
  std::vector<ev::Event> first(history.begin(),
                               history.begin() + static_cast<std::ptrdiff_t>(history.size() / 2));
  absl::Status replica_status;
  std::thread applier([&] {
    ReportStore replica(db.pool.get());
    for (const auto& e : history) {
      auto outcome = replica.ApplyEvent(tenant, e);
      for (int attempt = 0; !outcome.ok() && absl::IsAborted(outcome.status()) && attempt < 5;
           ++attempt) {
        outcome = replica.ApplyEvent(tenant, e);
      }
      if (!outcome.ok()) {
        replica_status = outcome.status();
        return;
      }
    }
  });
  Db::Apply(*db.hours, first);
  REQUIRE(db.hours->EnsureHourPhase(tenant, 0).value());
  REQUIRE(db.hours->EnsureHourPhase(tenant, 30).value());
  REQUIRE(db.hours->EnsureHourPhase(tenant, 15).value());
  Db::Apply(*db.hours, history);
  applier.join();
  INFO(replica_status.ToString());
  REQUIRE(replica_status.ok());
  CHECK(db.HoursNotSlots(tenant) == 0);
  CheckSameAnswers(db, tenant);
}
