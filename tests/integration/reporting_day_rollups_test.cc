// ReportStore's per-day agent rollups (migrations/003_agent_days.sql) against real
// PostgreSQL: the per-agent reports (F61 by agent, F64, F65, F67) read day rows for the
// whole local days of a range and 15-minute rows and facts for the partial days at its
// edges. Their answers must be exactly those of the 15-minute rows alone, in any zone
// (half-hour and 45-minute offsets, a DST change inside the range), whether a zone's day
// rows were filled from history or kept by the apply path, through duplicate deliveries
// and a zone filled while events are being applied. And the consumer's batched apply: one
// refused event in a batch holds back no other.
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
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

absl::Time At(const char* rfc3339) {
  absl::Time t;
  std::string err;
  REQUIRE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err));
  return t;
}
int64_t Us(absl::Time t) { return absl::ToUnixMicros(t); }
int64_t LocalUs(const char* zone_name, absl::CivilSecond local, int64_t extra_us = 0) {
  absl::TimeZone zone;
  REQUIRE(absl::LoadTimeZone(zone_name, &zone));
  return Us(absl::FromCivil(local, zone)) + extra_us;
}

// A database with the reporting migrations, and two stores on it as the service builds
// them (role kefu_app, row-level security): one reading day rollups, one only the
// 15-minute rows.
struct Db {
  std::string dsn = kefu::testing::FreshDatabase("reporting_days");
  std::unique_ptr<kefu::pg::Pool> pool;
  std::unique_ptr<ReportStore> days;
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
    days = std::make_unique<ReportStore>(pool.get(), ReportStoreOptions{.max_day_zones = 3});
    slots = std::make_unique<ReportStore>(pool.get(), ReportStoreOptions{.day_rollups = false});
  }

  void Apply(ReportStore& store, const std::vector<ev::Event>& events) {
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

  // Runs SQL as the owner (row-level security does not apply to the superuser).
  void Exec(const std::string& sql) {
    pqxx::connection conn(dsn);
    pqxx::work txn(conn);
    txn.exec(sql);
    txn.commit();
  }
};

// Five busy days around the US spring-forward of 2024-03-10: dialogs with transfers,
// ratings (a second one, and an earlier one delivered later), offers, agents' statuses
// that run over midnights, seat-empty changes, sessions (one still open).
std::vector<ev::Event> History(const std::string& tenant, uint32_t seed) {
  std::mt19937_64 rng(seed);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  std::vector<ev::Event> out;
  auto add = [&](int64_t at_us) -> ev::Event& {
    ev::Event& e = out.emplace_back();
    e.set_tenant_id(tenant);
    e.set_event_id(kefu::events::NewEventId());
    *e.mutable_occurred_time() = TimeUtil::MicrosecondsToTimestamp(at_us);
    return e;
  };
  const std::vector<std::string> agents = {"a1", "a2", "a3", "a4", "a5"};
  const std::vector<std::string> departments = {"sales", "support", "vip"};
  const int64_t from = Us(At("2024-03-07T12:00:00Z"));
  const int64_t to = Us(At("2024-03-13T12:00:00Z"));
  const int64_t minute = 60'000'000;
  for (int n = 0; n < 400; ++n) {
    const std::string id = absl::StrCat("d", n);
    const int64_t start = uniform(from, to) + uniform(0, 999'999);  // any microsecond
    const int64_t wait = uniform(0, 3 * minute);
    const int segments = static_cast<int>(uniform(0, 3));
    int64_t t = start + wait;
    ev::Event& e = add(0);
    auto* d = e.mutable_dialog_ended();
    d->set_dialog_id(id);
    d->set_department_id(departments[uniform(0, 2)]);
    d->set_valid(uniform(0, 9) > 0);
    d->set_connected(segments > 0);
    d->set_end_type(segments > 0 ? common::DIALOG_END_TYPE_CUSTOMER
                                 : common::DIALOG_END_TYPE_ABANDONED);
    d->set_transfer_count(std::max(0, segments - 1));
    std::string last_agent;
    for (int s = 0; s < segments; ++s) {
      auto* seg = d->add_segments();
      last_agent = agents[uniform(0, 4)];
      seg->set_agent_id(last_agent);
      seg->set_department_id(d->department_id());
      *seg->mutable_start_time() = TimeUtil::MicrosecondsToTimestamp(t);
      t += uniform(minute, 40 * minute);
      *seg->mutable_end_time() = TimeUtil::MicrosecondsToTimestamp(t);
    }
    *d->mutable_start_time() = TimeUtil::MicrosecondsToTimestamp(start);
    *d->mutable_end_time() = TimeUtil::MicrosecondsToTimestamp(t);
    *d->mutable_wait_duration() = TimeUtil::MicrosecondsToDuration(wait);
    *d->mutable_talk_duration() = TimeUtil::MicrosecondsToDuration(t - start - wait);
    d->mutable_summary()->set_resolved(uniform(0, 1) == 1);
    *e.mutable_occurred_time() = TimeUtil::MicrosecondsToTimestamp(t);
    if (segments > 0 && uniform(0, 2) > 0) {
      const int ratings = static_cast<int>(uniform(1, 2));
      for (int r = 0; r < ratings; ++r) {
        // The second rating is given earlier or later; only the first given counts.
        auto* rated = add(t + uniform(-minute, 30 * minute)).mutable_dialog_rated();
        rated->set_dialog_id(id);
        rated->set_agent_id(last_agent);
        rated->set_department_id(d->department_id());
        rated->set_score(static_cast<int32_t>(uniform(1, 5)));
      }
    }
    for (int o = 0; o < segments; ++o) {
      const int64_t offered = start + wait - uniform(0, 20'000'000);
      auto* created = add(offered).mutable_offer_created();
      created->set_offer_id(absl::StrCat(id, "-o", o));
      created->set_agent_id(agents[uniform(0, 4)]);
      if (uniform(0, 3) > 0) {
        const int64_t response = uniform(1'000'000, 20'000'000);
        auto* accepted = add(offered + response).mutable_offer_accepted();
        accepted->set_offer_id(created->offer_id());
        accepted->set_agent_id(created->agent_id());
        *accepted->mutable_response_time() = TimeUtil::MicrosecondsToDuration(response);
      }
    }
  }
  // Statuses: each agent's chain over the whole history, held 5 min to 14 h.
  for (const auto& agent : agents) {
    int64_t t = from - uniform(0, 600) * minute;
    auto status = static_cast<common::AgentStatus>(uniform(1, 4));
    while (t < to) {
      const int64_t held = uniform(5, 14 * 60) * minute + uniform(0, 59'999'999);
      const auto next = static_cast<common::AgentStatus>(uniform(1, 4));
      const auto reason = static_cast<common::AgentStatusReason>(uniform(1, 6));
      auto* s = add(t + held).mutable_agent_status_changed();
      s->set_agent_id(agent);
      s->set_previous_status(status);
      s->set_status(next);
      s->set_reason(reason);
      *s->mutable_previous_status_duration() = TimeUtil::MicrosecondsToDuration(held);
      t += held;
      status = next;
    }
    // Sessions: a few closed ones and one still open.
    for (int n = 0; n < 4; ++n) {
      const std::string session = absl::StrCat("s-", agent, "-", n);
      const int64_t login = uniform(from, to);
      auto* in = add(login).mutable_agent_logged_in();
      in->set_agent_id(agent);
      in->set_session_id(session);
      if (n < 3) {
        const int64_t length = uniform(10, 20 * 60) * minute;
        auto* logout = add(login + length).mutable_agent_logged_out();
        logout->set_agent_id(agent);
        logout->set_session_id(session);
        *logout->mutable_session_duration() = TimeUtil::MicrosecondsToDuration(length);
      }
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

// Every per-agent report of `q` from one store, as text.
std::map<std::string, std::string> Reports(ReportStore& store, const ReportQuery& q,
                                           int64_t now_us) {
  return {{"agent_daily", Text(store.AgentDialogs(q))},
          {"satisfaction_by_agent", Text(store.Satisfaction(q, false))},
          {"online_time_per_day", Text(store.OnlineTime(q, true, now_us))},
          {"online_time", Text(store.OnlineTime(q, false, now_us))},
          {"scorecard", Text(store.Scorecard(q, now_us))}};
}

struct Range {
  const char* name;
  const char* zone;
  int64_t start_us, end_us;
};

// Ranges with partial days at both ends, on local midnights, shorter than a day; in
// Shanghai, New York (a DST change inside), Kolkata (+05:30), UTC and Kathmandu (+05:45).
std::vector<Range> Ranges() {
  using absl::CivilSecond;
  return {
      {"Shanghai, partial days at both ends", "Asia/Shanghai",
       LocalUs("Asia/Shanghai", CivilSecond(2024, 3, 8, 7, 13, 27), 500'001),
       LocalUs("Asia/Shanghai", CivilSecond(2024, 3, 12, 18, 1, 0))},
      {"Shanghai, whole days", "Asia/Shanghai",
       LocalUs("Asia/Shanghai", CivilSecond(2024, 3, 8, 0, 0, 0)),
       LocalUs("Asia/Shanghai", CivilSecond(2024, 3, 13, 0, 0, 0))},
      {"Shanghai, less than a day", "Asia/Shanghai",
       LocalUs("Asia/Shanghai", CivilSecond(2024, 3, 9, 9, 0, 0)),
       LocalUs("Asia/Shanghai", CivilSecond(2024, 3, 10, 8, 59, 59))},
      {"New York, over the spring-forward", "America/New_York",
       LocalUs("America/New_York", CivilSecond(2024, 3, 8, 22, 30, 0)),
       LocalUs("America/New_York", CivilSecond(2024, 3, 12, 3, 0, 0), 1)},
      {"Kolkata, partial days", "Asia/Kolkata",
       LocalUs("Asia/Kolkata", CivilSecond(2024, 3, 7, 23, 59, 59)),
       LocalUs("Asia/Kolkata", CivilSecond(2024, 3, 11, 0, 15, 0))},
      {"UTC (no day rows: over the zone limit)", "UTC", Us(At("2024-03-08T05:00:00Z")),
       Us(At("2024-03-12T00:00:00Z"))},
      {"Kathmandu (no day rows: over the zone limit)", "Asia/Kathmandu",
       LocalUs("Asia/Kathmandu", CivilSecond(2024, 3, 8, 12, 0, 0)),
       LocalUs("Asia/Kathmandu", CivilSecond(2024, 3, 12, 12, 0, 0))},
  };
}

// Compares both stores on every range, with no filter, one department and one agent.
void CheckSameAnswers(Db& db, const std::string& tenant) {
  const int64_t now_us = Us(At("2024-03-13T12:00:00Z"));
  for (const Range& r : Ranges()) {
    for (const auto& [departments, agents] :
         std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>>{
             {{}, {}}, {{"support"}, {}}, {{}, {"a2"}}}) {
      ReportQuery q{tenant, r.start_us, r.end_us, r.zone, departments, agents};
      const auto with_days = Reports(*db.days, q, now_us);
      const auto from_slots = Reports(*db.slots, q, now_us);
      for (const auto& [report, text] : from_slots) {
        INFO(r.name << " / " << report << " / departments=" << absl::StrJoin(departments, ",")
                    << " agents=" << absl::StrJoin(agents, ","));
        CHECK(text.rfind("error: ", 0) == std::string::npos);
        CHECK(!text.empty());  // something to compare
        CHECK(with_days.at(report) == text);
      }
    }
  }
}

}  // namespace

TEST_CASE("per-agent reports from day rollups equal the 15-minute answer in any zone and range") {
  Db db;
  const std::string tenant = kefu::testing::UniqueTenant("repdays");
  const std::vector<ev::Event> history = History(tenant, 1);
  // New York's day rows are kept from the start (the apply path writes them); Shanghai's
  // and Kolkata's are filled from the history when a report first asks.
  REQUIRE(db.days->EnsureDayZone(tenant, "America/New_York").value());
  db.Apply(*db.days, history);
  db.Apply(*db.days, history);  // delivered again: counts nothing twice
  CheckSameAnswers(db, tenant);
  CHECK(db.days->EnsureDayZone(tenant, "Asia/Shanghai").value());
  CHECK(db.days->EnsureDayZone(tenant, "Asia/Kolkata").value());
  CHECK_FALSE(db.days->EnsureDayZone(tenant, "UTC").value());  // a fourth zone is not kept

  // The whole days really come from the day rows, the DST day of New York too: a change
  // there shows in every report that reads them, and not in the 15-minute answer.
  const int64_t now_us = Us(At("2024-03-13T12:00:00Z"));
  for (const auto& [range, day] : std::vector<std::pair<int, const char*>>{
           {0, "2024-03-10"}, {3, "2024-03-10"}, {4, "2024-03-09"}}) {
    const Range r = Ranges()[range];
    INFO(r.name << ", day rows of " << day << " changed");
    ReportQuery q{tenant, r.start_us, r.end_us, r.zone, {}, {}};
    const auto before = Reports(*db.days, q, now_us);
    const std::string where = absl::StrCat("WHERE tenant_id = '", tenant, "' AND time_zone = '",
                                           r.zone, "' AND day = '", day, "' AND agent_id = 'a1'");
    db.Exec(absl::StrCat("UPDATE reporting.agent_days SET consultations = consultations + 1000 ",
                         where, " AND department_id <> '';",
                         " UPDATE reporting.agent_status_days SET online_us = online_us + 1 ",
                         where));
    const auto after = Reports(*db.days, q, now_us);
    for (const char* report : {"agent_daily", "satisfaction_by_agent", "online_time_per_day",
                               "online_time", "scorecard"}) {
      INFO(report);
      CHECK(after.at(report) != before.at(report));
    }
    CHECK(Reports(*db.slots, q, now_us) == before);
  }
}

TEST_CASE("a zone filled while events are being applied counts every event exactly once") {
  Db db;
  const std::string tenant = kefu::testing::UniqueTenant("repdayrace");
  const std::vector<ev::Event> history = History(tenant, 2);
  // Two appliers (as two replicas) deliver everything, one of them twice over, while the
  // zones are filled from what has been applied so far.
  std::vector<ev::Event> first(history.begin(), history.begin() + history.size() / 2);
  absl::Status replica_status;
  std::thread applier([&] {
    ReportStore replica(db.pool.get());
    for (const auto& e : history) {
      auto outcome = replica.ApplyEvent(tenant, e);
      // Two appliers upserting the same rollup rows in different orders may deadlock; the
      // loser is rolled back and, like a redelivered event, applied again.
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
  db.Apply(*db.days, first);
  REQUIRE(db.days->EnsureDayZone(tenant, "Asia/Shanghai").value());
  REQUIRE(db.days->EnsureDayZone(tenant, "America/New_York").value());
  REQUIRE(db.days->EnsureDayZone(tenant, "Asia/Kolkata").value());
  db.Apply(*db.days, history);
  applier.join();
  INFO(replica_status.ToString());
  REQUIRE(replica_status.ok());
  CheckSameAnswers(db, tenant);
}

TEST_CASE("a batch with an event the database refuses applies the others, each once") {
  Db db;
  const std::string tenant = kefu::testing::UniqueTenant("repbatch");
  REQUIRE(db.days->EnsureDayZone(tenant, "Asia/Shanghai").value());
  const int64_t start = Us(At("2024-03-10T02:00:00Z"));
  auto dialog = [&](const std::string& id, const std::string& department) {
    ev::Event e;
    e.set_tenant_id(tenant);
    e.set_event_id(kefu::events::NewEventId());
    *e.mutable_occurred_time() = TimeUtil::MicrosecondsToTimestamp(start + 600'000'000);
    auto* d = e.mutable_dialog_ended();
    d->set_dialog_id(id);
    d->set_department_id(department);
    d->set_valid(true);
    d->set_connected(true);
    *d->mutable_start_time() = TimeUtil::MicrosecondsToTimestamp(start);
    *d->mutable_end_time() = e.occurred_time();
    auto* s = d->add_segments();
    s->set_agent_id("a1");
    s->set_department_id(department);
    *s->mutable_start_time() = d->start_time();
    *s->mutable_end_time() = d->end_time();
    return e;
  };
  const ev::Event d1 = dialog("d1", "sales");
  const ev::Event bad = dialog("d2", "sales\xff");  // not UTF-8: PostgreSQL refuses it
  const ev::Event d3 = dialog("d3", "sales");
  const std::vector<const ev::Event*> batch = {&d1, &bad, &d3, &d1};
  auto outcomes = db.days->ApplyEvents(tenant, batch);
  REQUIRE(outcomes.size() == 4);
  CHECK(outcomes[0].value() == kefu::reporting::ApplyOutcome::kApplied);
  CHECK(outcomes[1].status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(outcomes[2].value() == kefu::reporting::ApplyOutcome::kApplied);
  CHECK(outcomes[3].value() == kefu::reporting::ApplyOutcome::kDuplicate);
  // Delivered again (the refused one was never acknowledged): nothing counts twice.
  outcomes = db.days->ApplyEvents(tenant, {&d1, &d3});
  CHECK(outcomes[0].value() == kefu::reporting::ApplyOutcome::kDuplicate);
  CHECK(outcomes[1].value() == kefu::reporting::ApplyOutcome::kDuplicate);
  ReportQuery q{
      tenant, Us(At("2024-03-09T16:00:00Z")), Us(At("2024-03-10T16:00:00Z")), "Asia/Shanghai", {},
      {}};
  auto rows = db.days->AgentDialogs(q);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 1);
  CHECK(rows->at(0).counts().total() == 2);
  CHECK(Text(db.slots->AgentDialogs(q)) == Text(rows));
}
