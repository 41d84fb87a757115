// kefu-reporting against real PostgreSQL and Redis: a known day of events (with
// duplicates, a second rating, out-of-order delivery) becomes every report's exact
// numbers (F61-F67), through a restart of the service mid-stream and a full replay of the
// stream; CSV export; agents see only themselves.
#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "kefu/reporting/v1/report.grpc.pb.h"
#include "libs/events/events.h"
#include "libs/redis/client.h"
#include "services/reporting/reporting_service.h"
#include "tests/support/env.h"
#include "tests/support/service_harness.h"
#include "tests/support/streams.h"

namespace {

namespace common = kefu::common::v1;
namespace rep = kefu::reporting::v1;
namespace ev = kefu::events::v1;
using google::protobuf::util::TimeUtil;
using kefu::testing::CallWith;
using kefu::testing::TokenFor;

std::string Group() { return absl::StrCat("reporting-test-", getpid()); }

kefu::reporting::ReportingOptions TestOptions() {
  kefu::reporting::ReportingOptions options;
  options.events.group = Group();
  options.events.consumer = Group();
  options.events.block = absl::Milliseconds(100);
  options.events.tenant_refresh = absl::Milliseconds(100);
  options.events.retry_pause = absl::Milliseconds(100);
  options.events.claim_idle = absl::Seconds(1);
  options.capability.interval = absl::ZeroDuration();
  return options;
}

kefu::server::ServiceDefinition Definition(kefu::reporting::ReportingOptions options) {
  return {.name = "reporting",
          .register_flags = nullptr,
          .setup = [options](kefu::server::ServiceContext& ctx) {
            return kefu::reporting::SetupWith(ctx, options);
          }};
}

// Starts reporting on `pg_dsn` (a database kept across restarts).
std::unique_ptr<kefu::server::ServiceRuntime> StartOn(const std::string& pg_dsn) {
  kefu::ServiceConfig config;
  config.service = "reporting";
  config.grpc_addr = "127.0.0.1:0";
  config.redis_url = kefu::testing::SharedEnv().redis_url;
  config.jwt_key = kefu::testing::kTestJwtKey;
  config.health_interval = absl::Milliseconds(200);
  config.drain_timeout = absl::Seconds(1);
  config.pg_dsn = pg_dsn;
  auto runtime = kefu::server::ServiceRuntime::Start(Definition(TestOptions()), config);
  INFO(runtime.status().ToString());
  REQUIRE(runtime.ok());
  return std::move(*runtime);
}

absl::Time At(const char* rfc3339) {
  absl::Time t;
  std::string err;
  REQUIRE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err));
  return t;
}
google::protobuf::Timestamp Ts(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}
google::protobuf::Duration Dur(absl::Duration d) {
  return TimeUtil::MicrosecondsToDuration(absl::ToInt64Microseconds(d));
}
int64_t Secs(const google::protobuf::Duration& d) { return TimeUtil::DurationToMilliseconds(d); }

bool Eventually(const std::function<bool()>& done, absl::Duration limit = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + limit;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(25));
  }
  return done();
}

// The known day: four dialogs, ratings, offers, offline messages, one agent session.
struct Day {
  std::string tenant;
  std::vector<ev::Event> events;

  ev::Event& Add(absl::Time when) {
    ev::Event& e = events.emplace_back();
    e.set_tenant_id(tenant);
    e.set_event_id(kefu::events::NewEventId());
    *e.mutable_occurred_time() = Ts(when);
    return e;
  }

  struct Segment {
    std::string agent;
    std::string department;
    absl::Duration from, to;  // after the dialog's start
  };
  void Dialog(const std::string& id, const std::string& department, absl::Time start,
              absl::Duration wait, absl::Duration end, bool valid, common::DialogEndType end_type,
              std::vector<Segment> segments, bool resolved) {
    ev::Event& e = Add(start + end);
    auto* d = e.mutable_dialog_ended();
    d->set_dialog_id(id);
    d->set_contact_id("c-" + id);
    d->set_department_id(department);
    d->set_end_type(end_type);
    d->set_valid(valid);
    d->set_connected(!segments.empty());
    *d->mutable_start_time() = Ts(start);
    *d->mutable_end_time() = Ts(start + end);
    *d->mutable_wait_duration() = Dur(wait);
    if (!segments.empty()) *d->mutable_talk_duration() = Dur(end - wait);
    d->set_transfer_count(segments.empty() ? 0 : static_cast<int>(segments.size()) - 1);
    for (const auto& s : segments) {
      auto* seg = d->add_segments();
      seg->set_agent_id(s.agent);
      seg->set_department_id(s.department);
      *seg->mutable_start_time() = Ts(start + s.from);
      *seg->mutable_end_time() = Ts(start + s.to);
    }
    d->mutable_summary()->set_resolved(resolved);
  }
  void Rating(const std::string& dialog, const std::string& agent, const std::string& dept,
              int score, absl::Time when) {
    auto* r = Add(when).mutable_dialog_rated();
    r->set_dialog_id(dialog);
    r->set_agent_id(agent);
    r->set_department_id(dept);
    r->set_score(score);
  }
  void Offer(const std::string& id, const std::string& agent, absl::Time created,
             absl::Duration response /* 0 = never answered */) {
    auto* o = Add(created).mutable_offer_created();
    o->set_offer_id(id);
    o->set_agent_id(agent);
    if (response > absl::ZeroDuration()) {
      auto* a = Add(created + response).mutable_offer_accepted();
      a->set_offer_id(id);
      a->set_agent_id(agent);
      *a->mutable_response_time() = Dur(response);
    }
  }
  void Status(const std::string& agent, common::AgentStatus from, common::AgentStatus to,
              absl::Time at, absl::Duration held, common::AgentStatusReason reason) {
    auto* s = Add(at).mutable_agent_status_changed();
    s->set_agent_id(agent);
    s->set_session_id("s-" + agent);
    s->set_previous_status(from);
    s->set_status(to);
    s->set_reason(reason);
    *s->mutable_previous_status_duration() = Dur(held);
  }

  static Day Build(const std::string& tenant) {
    Day day;
    day.tenant = tenant;
    const absl::Time t1 = At("2024-03-10T01:10:00Z");  // 09:10 in Shanghai
    const absl::Time t2 = At("2024-03-10T01:40:00Z");
    const absl::Time t3 = At("2024-03-10T02:05:00Z");
    const absl::Time t4 = At("2024-03-10T16:30:00Z");  // 00:30 on the 11th in Shanghai
    const auto s = [](int64_t n) { return absl::Seconds(n); };
    day.Dialog("d1", "sales", t1, s(20), s(300), true, common::DIALOG_END_TYPE_CUSTOMER,
               {{"a1", "sales", s(20), s(300)}}, true);
    day.Dialog("d2", "sales", t2, s(30), s(210), true, common::DIALOG_END_TYPE_AGENT,
               {{"a1", "sales", s(30), s(90)}, {"a2", "sales", s(90), s(210)}}, false);
    day.Dialog("d3", "sales", t3, s(40), s(40), false, common::DIALOG_END_TYPE_ABANDONED, {},
               false);
    day.Dialog("d4", "support", t4, s(10), s(110), true, common::DIALOG_END_TYPE_CUSTOMER,
               {{"a2", "support", s(10), s(110)}}, false);
    day.Rating("d1", "a1", "sales", 5, t1 + s(310));
    day.Rating("d2", "a2", "sales", 3, t2 + s(220));
    day.Rating("d4", "a2", "support", 4, t4 + s(120));
    day.Rating("d1", "a1", "sales", 1, t1 + s(400));  // a second rating of d1: not counted
    day.Offer("o1", "a1", t1 + s(5), s(15));
    day.Offer("o2", "a2", t2 + s(85), s(5));
    day.Offer("o3", "a1", t2 + s(100), absl::ZeroDuration());
    // Offline messages; m3's reply is listed (and so delivered) before it was left.
    const absl::Time m1 = At("2024-03-10T04:00:00Z"), m2 = At("2024-03-10T05:00:00Z"),
                     m3 = At("2024-03-11T00:00:00Z");
    auto left = [&](const std::string& id, const std::string& dept, absl::Time at) {
      auto* m = day.Add(at).mutable_offline_message_left();
      m->set_offline_message_id(id);
      m->set_department_id(dept);
    };
    auto replied = [&](const std::string& id, const std::string& dept, absl::Time left_at,
                       absl::Duration delay) {
      auto* m = day.Add(left_at + delay).mutable_offline_message_replied();
      m->set_offline_message_id(id);
      m->set_department_id(dept);
      *m->mutable_left_time() = Ts(left_at);
      *m->mutable_reply_delay() = Dur(delay);
    };
    left("m1", "sales", m1);
    replied("m1", "sales", m1, s(1800));
    left("m2", "sales", m2);
    replied("m3", "support", m3, s(600));
    left("m3", "support", m3);
    // a1's session: logout listed first; AWAY 10 min, ONLINE 2 h, BUSY 30 min.
    const absl::Time login = At("2024-03-10T00:50:00Z");
    const absl::Time logout = At("2024-03-10T03:30:00Z");
    auto* out = day.Add(logout).mutable_agent_logged_out();
    out->set_agent_id("a1");
    out->set_session_id("s-a1");
    *out->mutable_session_duration() = Dur(logout - login);
    auto* in = day.Add(login).mutable_agent_logged_in();
    in->set_agent_id("a1");
    in->set_session_id("s-a1");
    day.Status("a1", common::AGENT_STATUS_OFFLINE, common::AGENT_STATUS_AWAY, login,
               absl::Hours(20), common::AGENT_STATUS_REASON_LOGIN);  // logged-out time
    day.Status("a1", common::AGENT_STATUS_AWAY, common::AGENT_STATUS_ONLINE, login + s(600), s(600),
               common::AGENT_STATUS_REASON_MANUAL);
    day.Status("a1", common::AGENT_STATUS_ONLINE, common::AGENT_STATUS_BUSY, login + s(600 + 7200),
               s(7200), common::AGENT_STATUS_REASON_MANUAL);
    day.Status("a1", common::AGENT_STATUS_BUSY, common::AGENT_STATUS_OFFLINE, logout, s(1800),
               common::AGENT_STATUS_REASON_LOGOUT);
    // Out of order: the day is published newest first.
    std::reverse(day.events.begin(), day.events.end());
    return day;
  }
};

struct Reporting {
  std::string pg_dsn = kefu::testing::FreshDatabase("reporting");
  std::unique_ptr<kefu::server::ServiceRuntime> runtime = StartOn(pg_dsn);
  std::unique_ptr<kefu::redis::Pool> redis;
  std::unique_ptr<kefu::events::Publisher> publisher;

  Reporting() {
    kefu::redis::PoolOptions options;
    options.url = *kefu::redis::ParseUrl(kefu::testing::SharedEnv().redis_url);
    redis = std::make_unique<kefu::redis::Pool>(options);
    publisher = std::make_unique<kefu::events::Publisher>(redis.get(), "test");
  }
  ~Reporting() {
    if (runtime) runtime->Stop();
  }

  void Restart() {
    runtime->Stop();
    runtime.reset();
    runtime = StartOn(pg_dsn);
  }

  std::unique_ptr<rep::ReportService::Stub> Stub() {
    return rep::ReportService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", runtime->port()), grpc::InsecureChannelCredentials()));
  }

  void Publish(const ev::Event& event) { REQUIRE(publisher->Publish(event).ok()); }

  // True when this test's consumer group has read and acknowledged the whole stream.
  bool Drained(const std::string& tenant) {
    const std::string stream = kefu::events::StreamKey(tenant);
    auto last = redis->Command({"XREVRANGE", stream, "+", "-", "COUNT", "1"});
    if (!last.ok() || (*last)->elements == 0) return false;
    const std::string last_id(kefu::redis::ReplyString(*(*last)->element[0]->element[0]));
    auto groups = kefu::testing::ConsumerGroups(*redis, stream);
    if (!groups.ok()) return false;
    for (const auto& group : *groups) {
      if (group.name == Group()) return group.last_delivered_id == last_id && group.pending == 0;
    }
    return false;
  }

  void WaitDrained(const std::string& tenant) {
    INFO("the consumer never caught up with the stream");
    REQUIRE(Eventually([&] { return Drained(tenant); }));
  }
};

rep::ReportFilter Filter(const std::string& tz = "Asia/Shanghai") {
  rep::ReportFilter f;
  *f.mutable_time_range()->mutable_start_time() = Ts(At("2024-03-09T16:00:00Z"));
  *f.mutable_time_range()->mutable_end_time() = Ts(At("2024-03-11T16:00:00Z"));
  f.set_time_zone(tz);
  return f;
}

// Every report's numbers for the known day.
void CheckReports(rep::ReportService::Stub& stub, const std::string& tenant) {
  const std::string admin = TokenFor(tenant, common::ROLE_SUPERVISOR, "boss");

  // F62: dialogs per group per day; connection rate = connected / (valid + invalid).
  rep::GetGroupDailyReportRequest daily;
  *daily.mutable_filter() = Filter();
  rep::GetGroupDailyReportResponse d;
  REQUIRE(stub.GetGroupDailyReport(CallWith(admin).get(), daily, &d).ok());
  REQUIRE(d.rows_size() == 2);
  CHECK(d.rows(0).date() == "2024-03-10");
  CHECK(d.rows(0).department_id() == "sales");
  const auto& sales = d.rows(0).counts();
  CHECK(sales.total() == 3);
  CHECK(sales.valid() == 2);
  CHECK(sales.invalid() == 1);
  CHECK(sales.connected() == 2);
  CHECK(sales.connection_rate() == Approx(2.0 / 3.0));
  CHECK(sales.abandoned() == 1);
  CHECK(sales.transferred() == 1);
  CHECK(Secs(sales.average_wait()) == 25'000);
  CHECK(Secs(sales.average_duration()) == 230'000);
  CHECK(d.rows(1).date() == "2024-03-11");
  CHECK(d.rows(1).department_id() == "support");
  CHECK(d.rows(1).counts().total() == 1);
  CHECK(d.rows(1).counts().connection_rate() == 1.0);
  CHECK(Secs(d.rows(1).counts().average_duration()) == 100'000);
  CHECK(d.total().total() == 4);
  CHECK(d.total().valid() + d.total().invalid() == d.total().total());
  CHECK(d.total().connected() == 3);
  CHECK(d.total().connection_rate() == Approx(0.75));
  CHECK(Secs(d.total().average_wait()) == 20'000);

  // The same day in UTC: d4 (00:30 on the 11th in Shanghai) falls on the 10th.
  *daily.mutable_filter() = Filter("UTC");
  REQUIRE(stub.GetGroupDailyReport(CallWith(admin).get(), daily, &d).ok());
  std::vector<std::string> days;
  for (const auto& row : d.rows()) days.push_back(row.date() + "/" + row.department_id());
  CHECK(days == std::vector<std::string>{"2024-03-10/sales", "2024-03-10/support"});

  // F63: per group per hour.
  rep::GetGroupHourlyReportRequest hourly;
  *hourly.mutable_filter() = Filter();
  rep::GetGroupHourlyReportResponse h;
  REQUIRE(stub.GetGroupHourlyReport(CallWith(admin).get(), hourly, &h).ok());
  std::vector<std::string> hours;
  for (const auto& row : h.rows()) {
    hours.push_back(absl::StrCat(row.date(), " ", row.hour(), " ", row.department_id(), " ",
                                 row.counts().total(), "/", row.counts().connected()));
  }
  CHECK(hours == std::vector<std::string>{"2024-03-10 9 sales 2/2", "2024-03-10 10 sales 1/0",
                                          "2024-03-11 0 support 1/1"});

  // F64: per agent per day; a transferred dialog counts for both its agents.
  rep::GetAgentDailyReportRequest agents;
  *agents.mutable_filter() = Filter();
  rep::GetAgentDailyReportResponse a;
  REQUIRE(stub.GetAgentDailyReport(CallWith(admin).get(), agents, &a).ok());
  REQUIRE(a.rows_size() == 3);
  CHECK(a.rows(0).agent_id() == "a1");
  CHECK(a.rows(0).counts().total() == 2);
  CHECK(a.rows(0).counts().transferred() == 1);
  CHECK(Secs(a.rows(0).counts().average_wait()) == 25'000);
  CHECK(Secs(a.rows(0).counts().average_duration()) == 170'000);
  CHECK(a.rows(1).agent_id() == "a2");
  CHECK(a.rows(1).date() == "2024-03-10");
  CHECK(a.rows(1).counts().total() == 1);
  CHECK(Secs(a.rows(1).counts().average_duration()) == 120'000);
  CHECK(a.rows(2).agent_id() == "a2");
  CHECK(a.rows(2).date() == "2024-03-11");
  CHECK(a.total().total() == 4);

  // F61: satisfaction per agent and per group; d1's second rating is not counted.
  rep::GetSatisfactionReportRequest sat;
  *sat.mutable_filter() = Filter();
  rep::GetSatisfactionReportResponse s;
  REQUIRE(stub.GetSatisfactionReport(CallWith(admin).get(), sat, &s).ok());
  REQUIRE(s.rows_size() == 2);
  CHECK(s.rows(0).agent_id() == "a1");
  CHECK(s.rows(0).dialog_count() == 2);
  CHECK(s.rows(0).rated_count() == 1);
  CHECK(s.rows(0).rating_rate() == 0.5);
  CHECK(s.rows(0).average_score() == 5.0);
  CHECK(std::vector<int64_t>(s.rows(0).score_counts().begin(), s.rows(0).score_counts().end()) ==
        std::vector<int64_t>{0, 0, 0, 0, 1});
  CHECK(s.rows(1).agent_id() == "a2");
  CHECK(s.rows(1).rated_count() == 2);
  CHECK(s.rows(1).average_score() == 3.5);
  CHECK(s.rows(1).satisfied_rate() == 0.5);
  CHECK(s.total().rated_count() == 3);
  CHECK(s.total().average_score() == 4.0);
  sat.set_grouping(rep::SATISFACTION_GROUPING_DEPARTMENT);
  REQUIRE(stub.GetSatisfactionReport(CallWith(admin).get(), sat, &s).ok());
  REQUIRE(s.rows_size() == 2);
  CHECK(s.rows(0).department_id() == "sales");
  CHECK(s.rows(0).dialog_count() == 2);
  CHECK(s.rows(0).rated_count() == 2);
  CHECK(s.rows(0).average_score() == 4.0);
  CHECK(s.rows(1).department_id() == "support");
  CHECK(s.rows(1).average_score() == 4.0);

  // F65: online time per status, logins and logouts; logged-out time is not OFFLINE time.
  rep::GetOnlineTimeReportRequest online;
  *online.mutable_filter() = Filter();
  rep::GetOnlineTimeReportResponse o;
  const grpc::Status online_status = stub.GetOnlineTimeReport(CallWith(admin).get(), online, &o);
  INFO(online_status.error_message());
  REQUIRE(online_status.ok());
  REQUIRE(o.rows_size() == 1);
  CHECK(o.rows(0).agent_id() == "a1");
  CHECK(o.rows(0).login_count() == 1);
  CHECK(o.rows(0).logout_count() == 1);
  CHECK(o.rows(0).first_login_time().seconds() == absl::ToUnixSeconds(At("2024-03-10T00:50:00Z")));
  CHECK(o.rows(0).last_logout_time().seconds() == absl::ToUnixSeconds(At("2024-03-10T03:30:00Z")));
  CHECK(Secs(o.rows(0).logged_in()) == 9'600'000);
  std::vector<int64_t> per_status;
  for (const auto& sd : o.rows(0).status_durations()) per_status.push_back(Secs(sd.duration()));
  CHECK(per_status == std::vector<int64_t>{7'200'000, 1'800'000, 600'000, 0});

  // F66: offline messages received, replied, reply time.
  rep::GetOfflineMessageReportRequest offline;
  *offline.mutable_filter() = Filter();
  rep::GetOfflineMessageReportResponse m;
  REQUIRE(stub.GetOfflineMessageReport(CallWith(admin).get(), offline, &m).ok());
  REQUIRE(m.rows_size() == 2);
  CHECK(m.rows(0).department_id() == "sales");
  CHECK(m.rows(0).received() == 2);
  CHECK(m.rows(0).replied() == 1);
  CHECK(m.rows(0).pending() == 1);
  CHECK(Secs(m.rows(0).average_reply_time()) == 1'800'000);
  CHECK(m.rows(1).department_id() == "support");
  CHECK(m.rows(1).date() == "2024-03-11");
  CHECK(m.rows(1).replied() == 1);
  CHECK(Secs(m.rows(1).max_reply_time()) == 600'000);
  CHECK(m.total().received() == 3);
  CHECK(m.total().replied() == 2);
  CHECK(Secs(m.total().average_reply_time()) == 1'200'000);

  // F67: scorecard.
  rep::GetAgentScorecardRequest card;
  *card.mutable_filter() = Filter();
  rep::GetAgentScorecardResponse c;
  REQUIRE(stub.GetAgentScorecard(CallWith(admin).get(), card, &c).ok());
  REQUIRE(c.rows_size() == 2);
  const auto& a1 = c.rows(0);
  CHECK(a1.agent_id() == "a1");
  CHECK(a1.first_login_time().seconds() == absl::ToUnixSeconds(At("2024-03-10T00:50:00Z")));
  CHECK(Secs(a1.login_duration()) == 9'600'000);
  CHECK(Secs(a1.online_duration()) == 7'200'000);
  CHECK(a1.consultations() == 2);
  CHECK(a1.valid_consultations() == 2);
  CHECK(Secs(a1.total_dialog_duration()) == 340'000);
  CHECK(Secs(a1.average_dialog_duration()) == 170'000);
  CHECK(a1.rated_count() == 1);
  CHECK(a1.average_rating() == 5.0);
  CHECK(a1.answer_rate() == 0.5);
  CHECK(Secs(a1.average_response_time()) == 15'000);
  const auto& a2 = c.rows(1);
  CHECK(a2.agent_id() == "a2");
  CHECK_FALSE(a2.has_first_login_time());
  CHECK(a2.consultations() == 2);
  CHECK(Secs(a2.average_dialog_duration()) == 110'000);
  CHECK(a2.average_rating() == 3.5);
  CHECK(a2.answer_rate() == 1.0);
  CHECK(Secs(a2.average_response_time()) == 5'000);
}

}  // namespace

TEST_CASE("every report counts a known day exactly despite duplicates and out-of-order events") {
  Reporting reporting;
  const std::string tenant = kefu::testing::UniqueTenant("rep");
  Day day = Day::Build(tenant);
  for (const auto& e : day.events) {
    reporting.Publish(e);
    if (e.has_dialog_ended() || e.has_offer_created()) reporting.Publish(e);  // redelivered
  }
  reporting.WaitDrained(tenant);
  auto stub = reporting.Stub();
  CheckReports(*stub, tenant);
}

TEST_CASE("restarting reporting mid-stream and replaying the whole stream changes no number") {
  Reporting reporting;
  const std::string tenant = kefu::testing::UniqueTenant("reprs");
  Day day = Day::Build(tenant);
  const size_t half = day.events.size() / 2;
  for (size_t i = 0; i < half; ++i) reporting.Publish(day.events[i]);
  reporting.Restart();  // whatever was read but not acknowledged comes back
  for (size_t i = half; i < day.events.size(); ++i) reporting.Publish(day.events[i]);
  reporting.WaitDrained(tenant);
  {
    auto stub = reporting.Stub();
    CheckReports(*stub, tenant);
  }
  // A replay of everything from the start (a group reset to 0) counts nothing twice.
  REQUIRE(
      reporting.redis->Command({"XGROUP", "SETID", kefu::events::StreamKey(tenant), Group(), "0"})
          .ok());
  reporting.Restart();
  reporting.WaitDrained(tenant);
  auto stub = reporting.Stub();
  CheckReports(*stub, tenant);
}

TEST_CASE("an agent reads only their own agent reports and no group report") {
  Reporting reporting;
  const std::string tenant = kefu::testing::UniqueTenant("repag");
  Day day = Day::Build(tenant);
  for (const auto& e : day.events) reporting.Publish(e);
  reporting.WaitDrained(tenant);
  auto stub = reporting.Stub();
  const std::string a1 = TokenFor(tenant, common::ROLE_AGENT, "a1");
  rep::GetAgentDailyReportRequest agents;
  *agents.mutable_filter() = Filter();
  agents.mutable_filter()->add_agent_ids("a2");  // asks for someone else: still only a1
  rep::GetAgentDailyReportResponse a;
  REQUIRE(stub->GetAgentDailyReport(CallWith(a1).get(), agents, &a).ok());
  REQUIRE(a.rows_size() == 1);
  CHECK(a.rows(0).agent_id() == "a1");
  rep::GetGroupDailyReportRequest daily;
  *daily.mutable_filter() = Filter();
  rep::GetGroupDailyReportResponse d;
  CHECK(stub->GetGroupDailyReport(CallWith(a1).get(), daily, &d).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  CHECK(stub->GetGroupDailyReport(CallWith("").get(), daily, &d).error_code() ==
        grpc::StatusCode::UNAUTHENTICATED);
  const std::string admin = TokenFor(tenant, common::ROLE_ADMIN, "admin");
  daily.mutable_filter()->set_time_zone("Mars/Olympus");
  grpc::Status bad = stub->GetGroupDailyReport(CallWith(admin).get(), daily, &d);
  CHECK(bad.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(bad.error_message().rfind("filter.time_zone:", 0) == 0);
  daily.mutable_filter()->clear_time_range();
  bad = stub->GetGroupDailyReport(CallWith(admin).get(), daily, &d);
  CHECK(bad.error_message().rfind("filter.time_range:", 0) == 0);
}

TEST_CASE("each report exports as CSV with a BOM and one line per row") {
  Reporting reporting;
  const std::string tenant = kefu::testing::UniqueTenant("repcsv");
  Day day = Day::Build(tenant);
  for (const auto& e : day.events) reporting.Publish(e);
  reporting.WaitDrained(tenant);
  auto stub = reporting.Stub();
  const std::string admin = TokenFor(tenant, common::ROLE_ADMIN, "admin");
  auto export_csv = [&](const rep::ExportCsvRequest& request, std::string* name) {
    auto ctx = CallWith(admin);
    auto reader = stub->ExportCsv(ctx.get(), request);
    rep::ExportCsvResponse chunk;
    std::string csv;
    while (reader->Read(&chunk)) {
      if (!chunk.file_name().empty()) *name = chunk.file_name();
      csv += chunk.chunk();
    }
    grpc::Status status = reader->Finish();
    INFO(status.error_message());
    REQUIRE(status.ok());
    return csv;
  };
  rep::ExportCsvRequest request;
  request.set_language(common::LANGUAGE_EN);
  *request.mutable_group_daily()->mutable_filter() = Filter();
  std::string name;
  std::string csv = export_csv(request, &name);
  CHECK(name == "group_daily.csv");
  CHECK(csv ==
        "\xEF\xBB\xBF"
        "date,department_id,total,valid,invalid,connected,connection_rate,abandoned,"
        "offline_messages,transferred,average_wait_s,average_duration_s\r\n"
        "2024-03-10,sales,3,2,1,2,0.6667,1,0,1,25.000,230.000\r\n"
        "2024-03-11,support,1,1,0,1,1.0000,0,0,0,10.000,100.000\r\n");
  // Every other report exports with a header and its rows.
  const std::vector<std::pair<std::function<void(rep::ExportCsvRequest*)>, size_t>> reports = {
      {[](auto* r) { *r->mutable_satisfaction()->mutable_filter() = Filter(); }, 2},
      {[](auto* r) { *r->mutable_group_hourly()->mutable_filter() = Filter(); }, 3},
      {[](auto* r) { *r->mutable_agent_daily()->mutable_filter() = Filter(); }, 3},
      {[](auto* r) { *r->mutable_online_time()->mutable_filter() = Filter(); }, 1},
      {[](auto* r) { *r->mutable_offline_messages()->mutable_filter() = Filter(); }, 2},
      {[](auto* r) { *r->mutable_agent_scorecard()->mutable_filter() = Filter(); }, 2}};
  for (const auto& [fill, rows] : reports) {
    rep::ExportCsvRequest r;
    fill(&r);
    std::string file;
    std::string text = export_csv(r, &file);
    std::vector<std::string> lines = absl::StrSplit(text, "\r\n", absl::SkipEmpty());
    INFO(file << "\n" << text);
    CHECK(lines.size() == rows + 1);
  }
}
