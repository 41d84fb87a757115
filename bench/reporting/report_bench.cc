// report_bench: the report queries (F61-F67) over one tenant's 1,000,000 dialogs.
//
// Starts its own PostgreSQL and Redis (tests/support) and kefu-reporting in-process on
// loopback, whose start-up applies the reporting migrations. Then, in one run:
//  1. builds a synthetic tenant: --dialogs dialogs over --days days (Asia/Shanghai, busy
//     in the day), --departments groups of skewed size, --agents agents on shifts, with
//     ratings, offers, offline messages and replies, logins, logouts and status changes;
//  2. applies a sample of it (--verify-dialogs) event by event through
//     ReportStore::ApplyEvent, and again in batches of 100 through ReportStore::ApplyEvents
//     as the event consumer does (rows compared), and times both;
//  3. loads the full data set through that path when it would take at most
//     --apply-limit seconds, else (the usual case: it runs one transaction of five to
//     eight statements per event) through bulk SQL: COPY of what each event adds into
//     staging tables, then one INSERT ... SELECT ... GROUP BY per table. The sample is
//     also loaded the bulk way under a second tenant and every reporting table is
//     compared row by row with the applied one, so the bulk rows are the apply rows
//     (the day and hour rollups of the report zone included: both tenants keep them from
//     the first event);
//  4. times every report --reps times on three filters over the last 30 local days —
//     the whole tenant, its largest department, its busiest agent — through ReportStore
//     (the SQL), then through ReportServiceImpl's CSV export in-process and the gRPC
//     ReportService on loopback (whole tenant), against the floor of a SELECT 1 round
//     trip on the same pool. group_hourly_kolkata is the hourly report in a UTC+5:30 zone
//     (hour rows of phase 30, filled by its first call). The group reports are also timed
//     from the 15-minute rows alone (path "slots", not counted in worst_p99_ms), and their
//     rows must equal those from the hour rollups.
//
//   report_bench [--dialogs 1000000] [--days 90] [--departments 20] [--agents 200]
//                [--reps 20] [--verify-dialogs 5000] [--load auto|apply|bulk]
//                [--apply-limit 180] [--apply-threads 2] [--hold]
// --hold keeps PostgreSQL up after the run (until stdin closes), for EXPLAIN ANALYZE.
// Last line: report_bench dialogs=… worst_p99_ms=… floor_us=…
#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "bench/bench_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "kefu/reporting/v1/report.grpc.pb.h"
#include "libs/pg/pool.h"
#include "services/reporting/report_store.h"
#include "services/reporting/reporting_service.h"
#include "tests/support/env.h"
#include "tests/support/service_harness.h"

namespace {

namespace common = kefu::common::v1;
namespace ev = kefu::events::v1;
namespace rep = kefu::reporting::v1;
using google::protobuf::util::TimeUtil;
using kefu::reporting::ReportQuery;
using kefu::reporting::ReportStore;

constexpr char kZone[] = "Asia/Shanghai";
constexpr int kPhase = 0;  // of kZone's hours: UTC+8
// A zone whose hours start half past the UTC hour (UTC+5:30): group_hourly_kolkata reads
// hour rows of phase 30, filled from the slots by its first call (first_ms).
constexpr char kHalfHourZone[] = "Asia/Kolkata";
// The data set ends at this local midnight; reports cover the 30 local days before it.
constexpr absl::CivilDay kLastDayEnd(2024, 6, 1);
constexpr int kRangeDays = 30;
constexpr double kTargetMs = 200;

// ---------------------------------------------------------------------------------------
// Flags

struct Options {
  int64_t dialogs = 1000000;
  int days = 90;
  int departments = 20;
  int agents = 200;
  int reps = 20;
  int64_t verify_dialogs = 5000;
  std::string load = "auto";
  int apply_limit_s = 180;
  int apply_threads = 2;
  bool hold = false;
};

bool ParseOptions(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    const std::string name = argv[i];
    if (name == "--hold") {
      o->hold = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s: needs a value\n", name.c_str());
      return false;
    }
    const std::string value = argv[++i];
    bool ok = true;
    int64_t n = 0;
    if (name == "--load") {
      o->load = value;
      ok = value == "auto" || value == "apply" || value == "bulk";
    } else if (!absl::SimpleAtoi(value, &n) || n < 0) {
      ok = false;
    } else if (name == "--dialogs") {
      o->dialogs = n;
    } else if (name == "--days") {
      o->days = static_cast<int>(n);
    } else if (name == "--departments") {
      o->departments = static_cast<int>(n);
    } else if (name == "--agents") {
      o->agents = static_cast<int>(n);
    } else if (name == "--reps") {
      o->reps = static_cast<int>(n);
    } else if (name == "--verify-dialogs") {
      o->verify_dialogs = n;
    } else if (name == "--apply-limit") {
      o->apply_limit_s = static_cast<int>(n);
    } else if (name == "--apply-threads") {
      o->apply_threads = static_cast<int>(n);
    } else {
      std::fprintf(stderr, "unknown flag %s\n", name.c_str());
      return false;
    }
    if (!ok) {
      std::fprintf(stderr, "%s: bad value \"%s\"\n", name.c_str(), value.c_str());
      return false;
    }
  }
  if (o->days < kRangeDays || o->departments < 1 || o->agents < o->departments || o->reps < 1 ||
      o->apply_threads < 1) {
    std::fprintf(stderr,
                 "need --days >= %d, --agents >= --departments >= 1, --reps >= 1, "
                 "--apply-threads >= 1\n",
                 kRangeDays);
    return false;
  }
  return true;
}

using kefu::bench::Percentile;

double Seconds(absl::Time since) { return absl::ToDoubleSeconds(absl::Now() - since); }

int64_t Micros(const google::protobuf::Timestamp& t) {
  return TimeUtil::TimestampToMicroseconds(t);
}
int64_t Micros(const google::protobuf::Duration& d) { return TimeUtil::DurationToMicroseconds(d); }
google::protobuf::Timestamp Ts(int64_t us) { return TimeUtil::MicrosecondsToTimestamp(us); }
google::protobuf::Duration Dur(int64_t us) { return TimeUtil::MicrosecondsToDuration(us); }

constexpr int64_t kSecond = 1000000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;

// ---------------------------------------------------------------------------------------
// The synthetic tenant

struct Shape {
  int64_t dialogs;
  int days;
  int departments;
  int agents;
};

// Dialogs by local hour of the day: a contact centre's day, quiet at night.
constexpr double kHourWeights[24] = {1.0, 0.5, 0.3, 0.2, 0.2, 0.3, 1.0, 2.0, 5.0, 8.0, 9.0, 9.0,
                                     7.0, 8.0, 9.0, 9.0, 8.0, 7.0, 6.0, 6.0, 6.0, 5.0, 3.0, 2.0};

// Events of one tenant, a day at a time, from a fixed seed. Agent i works in department
// i % departments; department k takes a share of dialogs proportional to (k + 1)^-0.7,
// so dept-00 is the largest.
class Generator {
 public:
  Generator(const Shape& shape, uint64_t seed)
      : shape_(shape), rng_(seed), last_logout_(shape.agents, 0) {
    zone_ = absl::FixedTimeZone(8 * 3600);
    absl::LoadTimeZone(kZone, &zone_);
    double sum = 0;
    for (int k = 0; k < shape.departments; ++k) dept_cdf_.push_back(sum += std::pow(k + 1, -0.7));
    for (double& c : dept_cdf_) c /= sum;
    sum = 0;
    for (double w : kHourWeights) hour_cdf_.push_back(sum += w);
    for (double& c : hour_cdf_) c /= sum;
  }

  static std::string Agent(int i) { return absl::StrFormat("agent-%03d", i); }
  static std::string Department(int k) { return absl::StrFormat("dept-%02d", k); }

  int64_t DayStartUs(int day) const {
    return absl::ToUnixMicros(absl::FromCivil(kLastDayEnd - (shape_.days - day), zone_));
  }

  // Appends day `day`'s events (0 = the first day); call for days in order.
  void Day(int day, const std::string& tenant, std::vector<ev::Event>* out) {
    const int64_t n = shape_.dialogs * (day + 1) / shape_.days - shape_.dialogs * day / shape_.days;
    for (int64_t i = 0; i < n; ++i) Dialog(day, tenant, out);
    for (int a = 0; a < shape_.agents; ++a) Shift(a, day, tenant, out);
  }

 private:
  double U() { return uniform_(rng_); }
  int64_t Exp(int64_t mean) {
    return static_cast<int64_t>(-static_cast<double>(mean) * std::log(1 - U()));
  }
  int Pick(const std::vector<double>& cdf) {
    const double u = U();
    return static_cast<int>(std::upper_bound(cdf.begin(), cdf.end() - 1, u) - cdf.begin());
  }
  int AgentIn(int dept) {
    const int count = (shape_.agents - dept + shape_.departments - 1) / shape_.departments;
    return dept + shape_.departments * std::min(count - 1, static_cast<int>(U() * count));
  }
  std::string Uuid() {
    const uint64_t a = rng_(), b = rng_();
    return absl::StrFormat("%08x-%04x-4%03x-%04x-%012x", a >> 32, (a >> 16) & 0xffff, a & 0xfff,
                           0x8000 | ((b >> 48) & 0x3fff), b & 0xffffffffffffULL);
  }
  ev::Event& Add(std::vector<ev::Event>* out, const std::string& tenant, int64_t at_us,
                 const char* producer) {
    ev::Event& e = out->emplace_back();
    e.set_event_id(Uuid());
    e.set_tenant_id(tenant);
    *e.mutable_occurred_time() = Ts(at_us);
    e.set_producer(producer);
    return e;
  }

  void Offer(std::vector<ev::Event>* out, const std::string& tenant, const std::string& dialog,
             int agent, int64_t created_us, int64_t response_us) {
    const std::string offer = Uuid();
    auto* o = Add(out, tenant, created_us, "router").mutable_offer_created();
    o->set_offer_id(offer);
    o->set_dialog_id(dialog);
    o->set_agent_id(Agent(agent));
    o->set_attempt(1);
    if (response_us <= 0) return;  // never answered: it expires
    auto* a = Add(out, tenant, created_us + response_us, "router").mutable_offer_accepted();
    a->set_offer_id(offer);
    a->set_agent_id(Agent(agent));
    *a->mutable_response_time() = Dur(response_us);
  }

  void Dialog(int day, const std::string& tenant, std::vector<ev::Event>* out) {
    const int64_t start =
        DayStartUs(day) + Pick(hour_cdf_) * kHour + static_cast<int64_t>(U() * kHour);
    const std::string id = Uuid();
    int dept = Pick(dept_cdf_);
    const double kind = U();
    common::DialogEndType end_type;
    bool valid = true;
    int64_t wait, end;
    struct Seg {
      int agent;
      int64_t from, to;
    };
    std::vector<Seg> segments;
    bool resolved = false;
    if (kind < 0.08) {  // nobody free: the customer leaves an offline message
      end_type = common::DIALOG_END_TYPE_OFFLINE_MESSAGE;
      wait = 5 * kSecond + Exp(30 * kSecond);
      end = start + wait;
    } else if (kind < 0.20) {
      end_type = common::DIALOG_END_TYPE_ABANDONED;
      valid = U() < 0.4;
      wait = 3 * kSecond + Exp(60 * kSecond);
      end = start + wait;
    } else {
      const double how = U();
      end_type = how < 0.45   ? common::DIALOG_END_TYPE_CUSTOMER
                 : how < 0.85 ? common::DIALOG_END_TYPE_AGENT
                              : common::DIALOG_END_TYPE_SYSTEM_TIMEOUT;
      valid = U() < 0.92;
      resolved = end_type == common::DIALOG_END_TYPE_AGENT && U() < 0.75;
      wait = std::min<int64_t>(Exp(25 * kSecond), 15 * kMinute);
      const int64_t talk = 30 * kSecond + Exp(330 * kSecond);
      end = start + wait + talk;
      const int first = AgentIn(dept);
      if (U() < 0.06) {  // transferred once, half the time to another group
        const int64_t split = start + wait + static_cast<int64_t>(talk * (0.2 + 0.4 * U()));
        const int to_dept = U() < 0.5 ? dept : Pick(dept_cdf_);
        const int second = AgentIn(to_dept);
        segments = {{first, start + wait, split}, {second, split, end}};
        dept = to_dept;  // a dialog counts for the group of its last agent
      } else {
        segments = {{first, start + wait, end}};
      }
    }
    ev::Event& e = Add(out, tenant, end, "gateway");
    auto* d = e.mutable_dialog_ended();
    d->set_dialog_id(id);
    d->set_contact_id(Uuid());
    d->set_customer_id(Uuid());
    d->set_channel(common::CHANNEL_CHAT);
    d->set_department_id(Department(dept));
    d->set_queue_id("main");
    d->set_end_type(end_type);
    d->set_valid(valid);
    d->set_connected(!segments.empty());
    *d->mutable_start_time() = Ts(start);
    *d->mutable_end_time() = Ts(end);
    *d->mutable_wait_duration() = Dur(wait);
    if (!segments.empty()) {
      *d->mutable_first_assigned_time() = Ts(start + wait);
      *d->mutable_talk_duration() = Dur(end - start - wait);
    }
    d->set_transfer_count(segments.empty() ? 0 : static_cast<int>(segments.size()) - 1);
    d->set_customer_message_count(valid ? 1 + static_cast<int>(U() * 12) : 0);
    for (const Seg& s : segments) {
      auto* seg = d->add_segments();
      seg->set_agent_id(Agent(s.agent));
      seg->set_department_id(Department(s.agent % shape_.departments));
      *seg->mutable_start_time() = Ts(s.from);
      *seg->mutable_end_time() = Ts(s.to);
    }
    if (end_type == common::DIALOG_END_TYPE_AGENT) d->mutable_summary()->set_resolved(resolved);

    for (size_t i = 0; i < segments.size(); ++i) {
      const int64_t response = 2 * kSecond + static_cast<int64_t>(U() * 18 * kSecond);
      if (i == 0 && U() < 0.1) {  // the first agent offered did not answer in time
        Offer(out, tenant, id, AgentIn(segments[0].agent % shape_.departments),
              segments[i].from - response - 20 * kSecond, 0);
      }
      Offer(out, tenant, id, segments[i].agent, segments[i].from - response, response);
    }
    if (!segments.empty() && U() < 0.35) {
      const double s = U();
      const int score = s < 0.55 ? 5 : s < 0.80 ? 4 : s < 0.90 ? 3 : s < 0.95 ? 2 : 1;
      auto* r = Add(out, tenant, end + 30 * kSecond + static_cast<int64_t>(U() * 270 * kSecond),
                    "gateway")
                    .mutable_dialog_rated();
      r->set_dialog_id(id);
      r->set_customer_id(d->customer_id());
      r->set_agent_id(Agent(segments.back().agent));
      r->set_department_id(Department(dept));
      r->set_score(score);
    }
    if (end_type == common::DIALOG_END_TYPE_OFFLINE_MESSAGE) {
      const std::string message = Uuid();
      auto* m = Add(out, tenant, end, "gateway").mutable_offline_message_left();
      m->set_offline_message_id(message);
      m->set_department_id(Department(dept));
      m->set_contact_id(d->contact_id());
      if (U() < 0.85) {
        const int64_t delay = 2 * kMinute + Exp(3 * kHour);
        auto* r = Add(out, tenant, end + delay, "gateway").mutable_offline_message_replied();
        r->set_offline_message_id(message);
        r->set_replied_by(Agent(AgentIn(dept)));
        r->set_department_id(Department(dept));
        *r->mutable_left_time() = Ts(end);
        *r->mutable_reply_delay() = Dur(delay);
      }
    }
  }

  void Status(std::vector<ev::Event>* out, const std::string& tenant, int agent,
              const std::string& session, common::AgentStatus from, common::AgentStatus to,
              int64_t at, int64_t held, common::AgentStatusReason reason) {
    auto* s = Add(out, tenant, at, "presence").mutable_agent_status_changed();
    s->set_agent_id(Agent(agent));
    s->set_session_id(session);
    s->set_previous_status(from);
    s->set_status(to);
    s->set_reason(reason);
    *s->mutable_previous_status_duration() = Dur(held);
    s->add_department_ids(Department(agent % shape_.departments));
  }

  // Five days a week, a morning or an afternoon shift of about eight hours: AWAY after
  // login, ONLINE, breaks in BUSY, at most one empty seat, OFFLINE at logout.
  void Shift(int agent, int day, const std::string& tenant, std::vector<ev::Event>* out) {
    if ((agent + day) % 7 >= 5) return;
    const int64_t login = DayStartUs(day) + (agent % 2 == 0 ? 8 : 13) * kHour +
                          static_cast<int64_t>(U() * 20 * kMinute);
    const int64_t logout = login + 8 * kHour + static_cast<int64_t>((U() - 0.5) * kHour);
    const std::string session = Uuid();
    auto* in = Add(out, tenant, login, "presence").mutable_agent_logged_in();
    in->set_agent_id(Agent(agent));
    in->set_session_id(session);
    in->add_department_ids(Department(agent % shape_.departments));
    // Logged-out time: reported nowhere (F65), but the interval is recorded.
    Status(out, tenant, agent, session, common::AGENT_STATUS_OFFLINE, common::AGENT_STATUS_AWAY,
           login, last_logout_[agent] == 0 ? 0 : login - last_logout_[agent],
           common::AGENT_STATUS_REASON_LOGIN);
    int64_t t = login + 2 * kMinute + static_cast<int64_t>(U() * 8 * kMinute);
    Status(out, tenant, agent, session, common::AGENT_STATUS_AWAY, common::AGENT_STATUS_ONLINE, t,
           t - login, common::AGENT_STATUS_REASON_MANUAL);
    bool seat_left = false;
    while (true) {
      const int64_t next = t + 20 * kMinute + Exp(70 * kMinute);
      if (next > logout - 40 * kMinute) break;
      const bool seat = !seat_left && U() < 0.3;
      const int64_t back =
          next + std::min<int64_t>(30 * kMinute, (seat ? 3 * kMinute : 5 * kMinute) +
                                                     Exp(seat ? 6 * kMinute : 10 * kMinute));
      const common::AgentStatus away =
          seat ? common::AGENT_STATUS_OFFLINE : common::AGENT_STATUS_BUSY;
      Status(out, tenant, agent, session, common::AGENT_STATUS_ONLINE, away, next, next - t,
             seat ? common::AGENT_STATUS_REASON_SEAT_EMPTY : common::AGENT_STATUS_REASON_MANUAL);
      Status(out, tenant, agent, session, away, common::AGENT_STATUS_ONLINE, back, back - next,
             seat ? common::AGENT_STATUS_REASON_SEAT_RETURNED : common::AGENT_STATUS_REASON_MANUAL);
      seat_left = seat_left || seat;
      t = back;
    }
    Status(out, tenant, agent, session, common::AGENT_STATUS_ONLINE, common::AGENT_STATUS_OFFLINE,
           logout, logout - t, common::AGENT_STATUS_REASON_LOGOUT);
    auto* o = Add(out, tenant, logout, "presence").mutable_agent_logged_out();
    o->set_agent_id(Agent(agent));
    o->set_session_id(session);
    *o->mutable_session_duration() = Dur(logout - login);
    o->set_reason(common::AGENT_STATUS_REASON_LOGOUT);
    last_logout_[agent] = logout;
  }

  const Shape shape_;
  std::mt19937_64 rng_;
  std::uniform_real_distribution<double> uniform_{0.0, 1.0};
  absl::TimeZone zone_;
  std::vector<double> dept_cdf_, hour_cdf_;
  std::vector<int64_t> last_logout_;
};

// ---------------------------------------------------------------------------------------
// Loading through the service's apply path

struct ApplyCounts {
  int64_t applied = 0, duplicate = 0, ignored = 0, retried = 0;
};

// ReportStore::ApplyEvent for each event, on `threads` threads (event i on thread
// i % threads); ABORTED (a deadlock between two rollup upserts) is retried, as the
// consumer's redelivery would.
absl::Status ApplyAll(ReportStore& store, const std::vector<ev::Event>& events, int threads,
                      ApplyCounts* counts) {
  std::vector<ApplyCounts> per(threads);
  std::vector<absl::Status> status(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (size_t i = t; i < events.size(); i += threads) {
        for (int attempt = 0;; ++attempt) {
          auto outcome = store.ApplyEvent(events[i].tenant_id(), events[i]);
          if (!outcome.ok() && absl::IsAborted(outcome.status()) && attempt < 5) {
            ++per[t].retried;
            continue;
          }
          if (!outcome.ok()) {
            status[t] = outcome.status();
            return;
          }
          switch (*outcome) {
            case kefu::reporting::ApplyOutcome::kApplied:
              ++per[t].applied;
              break;
            case kefu::reporting::ApplyOutcome::kDuplicate:
              ++per[t].duplicate;
              break;
            case kefu::reporting::ApplyOutcome::kIgnored:
              ++per[t].ignored;
              break;
          }
          break;
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  for (int t = 0; t < threads; ++t) {
    if (!status[t].ok()) return status[t];
    counts->applied += per[t].applied;
    counts->duplicate += per[t].duplicate;
    counts->ignored += per[t].ignored;
    counts->retried += per[t].retried;
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------
// Loading in bulk
//
// What ApplyEvent writes for each event (report_store.cc: the fact row, and the numbers
// AddToSlot adds to a rollup row) is streamed by COPY into unlogged staging tables; then
// one INSERT ... SELECT per reporting table sums the rollup deltas per slot and merges
// the fact rows of an offline message or a session that two events write. This holds
// for event streams without duplicates (the generator's): the dedup rules of the apply
// path are not repeated here. Rows are inserted in time order, as the consumer creates
// them: a heap in hash-aggregate order would spread a month's slots over every page of
// the table and make each report read all of it.

constexpr char kStageSchema[] = R"sql(
DROP SCHEMA IF EXISTS bench_stage CASCADE;
CREATE SCHEMA bench_stage;
SET search_path = bench_stage;
CREATE UNLOGGED TABLE processed (tenant_id text, event_id text);
CREATE UNLOGGED TABLE dialogs (tenant_id text, dialog_id text, department_id text,
  start_us bigint, end_us bigint, valid boolean, connected boolean, end_type smallint,
  wait_us bigint, talk_us bigint, transfer_count integer, resolved boolean);
CREATE UNLOGGED TABLE group_deltas (tenant_id text, at_us bigint, department_id text,
  total bigint, valid bigint, invalid bigint, connected bigint, abandoned bigint,
  offline_messages bigint, transferred bigint, wait_us bigint, talk_us bigint, rated bigint,
  score_sum bigint, s1 bigint, s2 bigint, s3 bigint, s4 bigint, s5 bigint);
CREATE UNLOGGED TABLE agent_deltas (tenant_id text, at_us bigint, agent_id text,
  department_id text, consultations bigint, valid bigint, invalid bigint, transferred bigint,
  resolved bigint, wait_us bigint, waited bigint, duration_us bigint, rated bigint,
  score_sum bigint, s1 bigint, s2 bigint, s3 bigint, s4 bigint, s5 bigint, offered bigint,
  answered bigint, response_us bigint);
CREATE UNLOGGED TABLE ratings (tenant_id text, dialog_id text, agent_id text,
  department_id text, score smallint, rated_us bigint);
CREATE UNLOGGED TABLE offers (tenant_id text, offer_id text, created boolean, accepted boolean);
-- -1: not known from this event (NULL).
CREATE UNLOGGED TABLE offline (tenant_id text, offline_message_id text, department_id text,
  left_us bigint, replied_us bigint, reply_us bigint);
CREATE UNLOGGED TABLE sessions (tenant_id text, session_id text, agent_id text,
  login_us bigint, logout_us bigint);
CREATE UNLOGGED TABLE intervals (tenant_id text, event_id text, agent_id text, status smallint,
  start_us bigint, end_us bigint, next_status smallint, reason smallint);
)sql";

// Rollup columns in staging order after the keys; the merge adds them (AddToSlot's
// "col = table.col + EXCLUDED.col").
constexpr const char* kGroupSums[] = {
    "total",       "valid",   "invalid", "connected", "abandoned", "offline_messages",
    "transferred", "wait_us", "talk_us", "rated",     "score_sum", "s1",
    "s2",          "s3",      "s4",      "s5"};
constexpr const char* kAgentSums[] = {
    // dialog segments
    "consultations", "valid", "invalid", "transferred", "resolved", "wait_us", "waited",
    "duration_us",
    // ratings
    "rated", "score_sum", "s1", "s2", "s3", "s4", "s5",
    // offers
    "offered", "answered", "response_us"};
constexpr const char* kScoreColumns[] = {"s1", "s2", "s3", "s4", "s5"};

using Adds = std::vector<std::pair<const char*, int64_t>>;

// The numbers an AddToSlot call adds, in staging column order.
template <size_t N>
std::array<int64_t, N> Sums(const char* const (&columns)[N], const Adds& adds) {
  std::array<int64_t, N> out{};
  for (const auto& [name, value] : adds) {
    size_t i = 0;
    while (i < N && std::strcmp(columns[i], name) != 0) ++i;
    if (i == N) std::abort();  // a column the staging table does not have
    out[i] += value;
  }
  return out;
}

std::string RollupMerge(const std::string& table, const std::string& stage,
                        const std::vector<std::string>& keys,
                        const std::vector<std::string>& sums) {
  std::vector<std::string> select = {"tenant_id", "reporting.slot_of(reporting.ts(at_us))"};
  std::vector<std::string> columns = {"tenant_id", "slot"};
  std::vector<std::string> conflict = {"tenant_id", "slot"};
  for (const auto& k : keys) {
    select.push_back(k);
    columns.push_back(k);
    conflict.push_back(k);
  }
  std::vector<std::string> sets;
  for (const auto& s : sums) {
    select.push_back(absl::StrCat("sum(", s, ")"));
    columns.push_back(s);
    sets.push_back(absl::StrCat(s, " = r.", s, " + EXCLUDED.", s));
  }
  std::vector<std::string> group;
  for (size_t i = 1; i <= conflict.size(); ++i) group.push_back(absl::StrCat(i));
  return absl::StrCat("INSERT INTO reporting.", table, " AS r (", absl::StrJoin(columns, ", "),
                      ") SELECT ", absl::StrJoin(select, ", "), " FROM bench_stage.", stage,
                      " GROUP BY ", absl::StrJoin(group, ", "), " ORDER BY 2, 1 ON CONFLICT (",
                      absl::StrJoin(conflict, ", "), ") DO UPDATE SET ", absl::StrJoin(sets, ", "));
}

template <size_t N>
auto AsTuple(const std::array<int64_t, N>& a) {
  return std::apply([](auto... v) { return std::make_tuple(v...); }, a);
}

// The day rollups of agent_slots and agent_status_intervals for the report zones (migration
// 003): agent deltas summed per local day of their slot, status intervals cut at local
// midnights (reporting.day_parts) with the seat-empty changes on the day they ended.
std::string AgentDaysMerge() {
  std::vector<std::string> sums, sets;
  for (const char* s : kAgentSums) {
    sums.push_back(absl::StrCat("sum(", s, ")"));
    sets.push_back(absl::StrCat(s, " = r.", s, " + EXCLUDED.", s));
  }
  return absl::StrCat(
      "INSERT INTO reporting.agent_days AS r (tenant_id, time_zone, day, agent_id, department_id, ",
      absl::StrJoin(kAgentSums, ", "),
      ") SELECT a.tenant_id, z.time_zone,"
      " reporting.local_day(reporting.slot_of(reporting.ts(at_us)), z.time_zone), agent_id,"
      " department_id, ",
      absl::StrJoin(sums, ", "),
      " FROM bench_stage.agent_deltas a JOIN reporting.day_zones z ON z.tenant_id = a.tenant_id"
      " GROUP BY 1, 2, 3, 4, 5 ORDER BY 3 ON CONFLICT (tenant_id, time_zone, day, agent_id,"
      " department_id) DO UPDATE SET ",
      absl::StrJoin(sets, ", "));
}

constexpr char kStatusDaysMerge[] =
    "INSERT INTO reporting.agent_status_days AS r (tenant_id, time_zone, day, agent_id,"
    " online_us, busy_us, away_us, offline_us, seat_empty)"
    " SELECT tenant_id, time_zone, day, agent_id,"
    " coalesce(sum(us) FILTER (WHERE status = 1), 0), coalesce(sum(us) FILTER (WHERE status = 2), "
    "0),"
    " coalesce(sum(us) FILTER (WHERE status = 3), 0), coalesce(sum(us) FILTER (WHERE status = 4), "
    "0),"
    " sum(seat) FROM ("
    "  SELECT i.tenant_id, z.time_zone, p.day, i.agent_id, i.status, p.us, 0 AS seat"
    "  FROM bench_stage.intervals i JOIN reporting.day_zones z ON z.tenant_id = i.tenant_id,"
    "  reporting.day_parts(reporting.ts(i.start_us), reporting.ts(i.end_us), z.time_zone) p"
    "  WHERE NOT (i.status = 4 AND i.reason = 2)"
    "  UNION ALL"
    "  SELECT i.tenant_id, z.time_zone, reporting.local_day(reporting.ts(i.end_us), z.time_zone),"
    "  i.agent_id, 0, 0, 1"
    "  FROM bench_stage.intervals i JOIN reporting.day_zones z ON z.tenant_id = i.tenant_id"
    "  WHERE i.reason = 4) x"
    " GROUP BY 1, 2, 3, 4 ORDER BY 3 ON CONFLICT (tenant_id, time_zone, day, agent_id) DO UPDATE"
    " SET online_us = r.online_us + EXCLUDED.online_us, busy_us = r.busy_us + EXCLUDED.busy_us,"
    " away_us = r.away_us + EXCLUDED.away_us, offline_us = r.offline_us + EXCLUDED.offline_us,"
    " seat_empty = r.seat_empty + EXCLUDED.seat_empty";

// The hour rollups of group_slots for the report zones' phases (migration 004): group deltas
// summed per hour of each kept phase that holds their slot.
std::string GroupHoursMerge() {
  std::vector<std::string> sums, sets;
  for (const char* s : kGroupSums) {
    sums.push_back(absl::StrCat("sum(", s, ")"));
    sets.push_back(absl::StrCat(s, " = r.", s, " + EXCLUDED.", s));
  }
  return absl::StrCat(
      "INSERT INTO reporting.group_hours AS r (tenant_id, phase_minutes, hour, department_id, ",
      absl::StrJoin(kGroupSums, ", "),
      ") SELECT g.tenant_id, p.phase_minutes,"
      " reporting.hour_of(reporting.slot_of(reporting.ts(at_us)), p.phase_minutes),"
      " department_id, ",
      absl::StrJoin(sums, ", "),
      " FROM bench_stage.group_deltas g JOIN reporting.hour_phases p ON p.tenant_id = g.tenant_id"
      " GROUP BY 1, 2, 3, 4 ORDER BY 3 ON CONFLICT (tenant_id, phase_minutes, hour, department_id)"
      " DO UPDATE SET ",
      absl::StrJoin(sets, ", "));
}

class BulkLoader {
 public:
  // `day_zones`: the zones whose day rollups every loaded tenant keeps, `hour_phases` the
  // phases of its hour rollups (as if a report in each had been asked for before the first
  // event).
  BulkLoader(std::string dsn, std::vector<std::string> day_zones, std::vector<int> hour_phases)
      : dsn_(std::move(dsn)),
        day_zones_(std::move(day_zones)),
        hour_phases_(std::move(hour_phases)) {}

  // Creates the staging tables and opens one COPY per table, each on its own connection.
  void Begin() {
    {
      pqxx::connection conn(dsn_);
      pqxx::work txn(conn);
      txn.exec(kStageSchema);
      txn.commit();
    }
    processed_ = Open("processed", {"tenant_id", "event_id"});
    dialogs_ = Open("dialogs",
                    {"tenant_id", "dialog_id", "department_id", "start_us", "end_us", "valid",
                     "connected", "end_type", "wait_us", "talk_us", "transfer_count", "resolved"});
    std::vector<std::string> group = {"tenant_id", "at_us", "department_id"};
    group.insert(group.end(), std::begin(kGroupSums), std::end(kGroupSums));
    group_ = Open("group_deltas", group);
    std::vector<std::string> agent = {"tenant_id", "at_us", "agent_id", "department_id"};
    agent.insert(agent.end(), std::begin(kAgentSums), std::end(kAgentSums));
    agent_ = Open("agent_deltas", agent);
    ratings_ = Open("ratings",
                    {"tenant_id", "dialog_id", "agent_id", "department_id", "score", "rated_us"});
    offers_ = Open("offers", {"tenant_id", "offer_id", "created", "accepted"});
    offline_ = Open("offline", {"tenant_id", "offline_message_id", "department_id", "left_us",
                                "replied_us", "reply_us"});
    sessions_ = Open("sessions", {"tenant_id", "session_id", "agent_id", "login_us", "logout_us"});
    intervals_ = Open("intervals", {"tenant_id", "event_id", "agent_id", "status", "start_us",
                                    "end_us", "next_status", "reason"});
  }

  // Mirrors ReportStore::ApplyEvent (report_store.cc) for one event.
  void Add(const ev::Event& e) {
    const std::string& tenant = e.tenant_id();
    tenants_.insert(tenant);
    const int64_t occurred = Micros(e.occurred_time());
    switch (e.payload_case()) {
      case ev::Event::kDialogEnded:
      case ev::Event::kDialogRated:
      case ev::Event::kOfferCreated:
      case ev::Event::kOfferAccepted:
      case ev::Event::kOfflineMessageLeft:
      case ev::Event::kOfflineMessageReplied:
      case ev::Event::kAgentLoggedIn:
      case ev::Event::kAgentLoggedOut:
      case ev::Event::kAgentStatusChanged:
        *processed_.out << std::make_tuple(tenant, e.event_id());
        ++events_;
        break;
      default:
        return;
    }
    switch (e.payload_case()) {
      case ev::Event::kDialogEnded: {
        const auto& d = e.dialog_ended();
        const int64_t end = d.has_end_time() ? Micros(d.end_time()) : occurred;
        const int64_t start = d.has_start_time() ? Micros(d.start_time()) : end;
        const int64_t wait = std::max<int64_t>(0, Micros(d.wait_duration()));
        const int64_t talk = std::max<int64_t>(0, Micros(d.talk_duration()));
        const bool resolved = d.has_summary() && d.summary().resolved();
        *dialogs_.out << std::make_tuple(tenant, d.dialog_id(), d.department_id(), start, end,
                                         d.valid(), d.connected(), static_cast<int>(d.end_type()),
                                         wait, talk, d.transfer_count(), resolved);
        const bool abandoned = d.end_type() == common::DIALOG_END_TYPE_ABANDONED;
        const bool offline = d.end_type() == common::DIALOG_END_TYPE_OFFLINE_MESSAGE;
        AddGroup(tenant, start, d.department_id(),
                 {{"total", 1},
                  {"valid", d.valid() ? 1 : 0},
                  {"invalid", d.valid() ? 0 : 1},
                  {"connected", d.connected() ? 1 : 0},
                  {"abandoned", abandoned ? 1 : 0},
                  {"offline_messages", offline ? 1 : 0},
                  {"transferred", d.transfer_count() > 0 || d.segments_size() > 1 ? 1 : 0},
                  {"wait_us", d.connected() ? wait : 0},
                  {"talk_us", d.connected() ? talk : 0}});
        for (int i = 0; i < d.segments_size(); ++i) {
          const auto& s = d.segments(i);
          if (s.agent_id().empty()) continue;
          const bool last = i + 1 == d.segments_size();
          const int64_t s_start = s.has_start_time() ? Micros(s.start_time()) : start;
          const int64_t s_end = s.has_end_time() ? Micros(s.end_time()) : end;
          AddAgent(tenant, s_start, s.agent_id(), s.department_id(),
                   {{"consultations", 1},
                    {"valid", d.valid() ? 1 : 0},
                    {"invalid", d.valid() ? 0 : 1},
                    {"transferred", last ? 0 : 1},
                    {"resolved", last && resolved ? 1 : 0},
                    {"wait_us", i == 0 ? wait : 0},
                    {"waited", i == 0 ? 1 : 0},
                    {"duration_us", std::max<int64_t>(0, s_end - s_start)}});
        }
        break;
      }
      case ev::Event::kDialogRated: {
        const auto& r = e.dialog_rated();
        if (r.score() < 1 || r.score() > 5) break;
        *ratings_.out << std::make_tuple(tenant, r.dialog_id(), r.agent_id(), r.department_id(),
                                         r.score(), occurred);
        const Adds adds = {
            {"rated", 1}, {"score_sum", r.score()}, {kScoreColumns[r.score() - 1], 1}};
        AddGroup(tenant, occurred, r.department_id(), adds);
        if (!r.agent_id().empty()) {
          AddAgent(tenant, occurred, r.agent_id(), r.department_id(), adds);
        }
        break;
      }
      case ev::Event::kOfferCreated: {
        const auto& o = e.offer_created();
        *offers_.out << std::make_tuple(tenant, o.offer_id(), true, false);
        AddAgent(tenant, occurred, o.agent_id(), "", {{"offered", 1}});
        break;
      }
      case ev::Event::kOfferAccepted: {
        const auto& o = e.offer_accepted();
        *offers_.out << std::make_tuple(tenant, o.offer_id(), false, true);
        AddAgent(
            tenant, occurred, o.agent_id(), "",
            {{"answered", 1}, {"response_us", std::max<int64_t>(0, Micros(o.response_time()))}});
        break;
      }
      case ev::Event::kOfflineMessageLeft: {
        const auto& m = e.offline_message_left();
        *offline_.out << std::make_tuple(tenant, m.offline_message_id(), m.department_id(),
                                         occurred, int64_t{-1}, int64_t{-1});
        break;
      }
      case ev::Event::kOfflineMessageReplied: {
        const auto& m = e.offline_message_replied();
        const int64_t left = m.has_left_time() ? Micros(m.left_time()) : -1;
        const int64_t reply = m.has_reply_delay() ? Micros(m.reply_delay())
                              : left >= 0         ? occurred - left
                                                  : -1;
        *offline_.out << std::make_tuple(tenant, m.offline_message_id(), m.department_id(), left,
                                         occurred, reply);
        break;
      }
      case ev::Event::kAgentLoggedIn: {
        const auto& l = e.agent_logged_in();
        *sessions_.out << std::make_tuple(tenant,
                                          l.session_id().empty() ? e.event_id() : l.session_id(),
                                          l.agent_id(), occurred, int64_t{-1});
        break;
      }
      case ev::Event::kAgentLoggedOut: {
        const auto& l = e.agent_logged_out();
        const int64_t login =
            l.has_session_duration() ? occurred - Micros(l.session_duration()) : -1;
        *sessions_.out << std::make_tuple(tenant,
                                          l.session_id().empty() ? e.event_id() : l.session_id(),
                                          l.agent_id(), login, occurred);
        break;
      }
      case ev::Event::kAgentStatusChanged: {
        const auto& s = e.agent_status_changed();
        const int64_t held = Micros(s.previous_status_duration());
        if (s.previous_status() != common::AGENT_STATUS_UNSPECIFIED && held > 0) {
          *intervals_.out << std::make_tuple(tenant, e.event_id(), s.agent_id(),
                                             static_cast<int>(s.previous_status()), occurred - held,
                                             occurred, static_cast<int>(s.status()),
                                             static_cast<int>(s.reason()));
        }
        break;
      }
      default:
        break;
    }
  }

  // Ends the COPYs, then moves the staged rows into the reporting tables in one
  // transaction; prints the time of each statement.
  void Finish(bool verbose) {
    for (Stage* s : {&processed_, &dialogs_, &group_, &agent_, &ratings_, &offers_, &offline_,
                     &sessions_, &intervals_}) {
      s->out->complete();
      s->txn->commit();
      s->out.reset();
      s->txn.reset();
      s->conn.reset();
    }
    pqxx::connection conn(dsn_);
    pqxx::work txn(conn);
    txn.exec("SET LOCAL work_mem = '256MB'");
    for (const std::string& tenant : tenants_) {
      for (const std::string& zone : day_zones_) {
        txn.exec_params("INSERT INTO reporting.day_zones (tenant_id, time_zone) VALUES ($1, $2)",
                        tenant, zone);
      }
      for (int phase : hour_phases_) {
        txn.exec_params(
            "INSERT INTO reporting.hour_phases (tenant_id, phase_minutes) VALUES ($1, $2)", tenant,
            phase);
      }
    }
    const std::vector<std::pair<const char*, std::string>> steps = {
        {"processed_events",
         "INSERT INTO reporting.processed_events (tenant_id, event_id)"
         " SELECT tenant_id, event_id FROM bench_stage.processed ON CONFLICT DO NOTHING"},
        {"dialogs",
         "INSERT INTO reporting.dialogs (tenant_id, dialog_id, department_id, start_time,"
         " end_time, valid, connected, end_type, wait_us, talk_us, transfer_count, resolved)"
         " SELECT tenant_id, dialog_id, department_id, reporting.ts(start_us),"
         " reporting.ts(end_us), valid, connected, end_type, wait_us, talk_us, transfer_count,"
         " resolved FROM bench_stage.dialogs ORDER BY end_us ON CONFLICT DO NOTHING"},
        {"group_slots", RollupMerge("group_slots", "group_deltas", {"department_id"},
                                    {std::begin(kGroupSums), std::end(kGroupSums)})},
        {"agent_slots", RollupMerge("agent_slots", "agent_deltas", {"agent_id", "department_id"},
                                    {std::begin(kAgentSums), std::end(kAgentSums)})},
        {"agent_days", AgentDaysMerge()},
        {"group_hours", GroupHoursMerge()},
        {"agent_status_days", kStatusDaysMerge},
        {"ratings",
         "INSERT INTO reporting.ratings (tenant_id, dialog_id, agent_id, department_id, score,"
         " rated_time) SELECT tenant_id, dialog_id, agent_id, department_id, score,"
         " reporting.ts(rated_us) FROM bench_stage.ratings ORDER BY rated_us"
         " ON CONFLICT DO NOTHING"},
        {"offers",
         "INSERT INTO reporting.offers AS o (tenant_id, offer_id, created, accepted)"
         " SELECT tenant_id, offer_id, bool_or(created), bool_or(accepted)"
         " FROM bench_stage.offers GROUP BY 1, 2 ON CONFLICT (tenant_id, offer_id) DO UPDATE"
         " SET created = o.created OR EXCLUDED.created,"
         " accepted = o.accepted OR EXCLUDED.accepted"},
        {"offline_messages",
         "INSERT INTO reporting.offline_messages (tenant_id, offline_message_id,"
         " department_id, left_time, replied_time, reply_us)"
         " SELECT tenant_id, offline_message_id, max(department_id),"
         " reporting.ts(min(NULLIF(left_us, -1))), reporting.ts(max(NULLIF(replied_us, -1))),"
         " max(NULLIF(reply_us, -1)) FROM bench_stage.offline GROUP BY 1, 2 ORDER BY 4"
         " ON CONFLICT DO NOTHING"},
        {"agent_sessions",
         "INSERT INTO reporting.agent_sessions (tenant_id, session_id, agent_id, login_time,"
         " logout_time) SELECT tenant_id, session_id, max(agent_id),"
         " reporting.ts(min(NULLIF(login_us, -1))), reporting.ts(max(NULLIF(logout_us, -1)))"
         " FROM bench_stage.sessions GROUP BY 1, 2 ORDER BY 4 ON CONFLICT DO NOTHING"},
        {"agent_status_intervals",
         "INSERT INTO reporting.agent_status_intervals (tenant_id, event_id, agent_id, status,"
         " start_time, end_time, next_status, reason) SELECT tenant_id, event_id, agent_id,"
         " status, reporting.ts(start_us), reporting.ts(end_us), next_status, reason"
         " FROM bench_stage.intervals ORDER BY end_us ON CONFLICT DO NOTHING"},
    };
    for (const auto& [name, sql] : steps) {
      const absl::Time start = absl::Now();
      const pqxx::result r = txn.exec(sql);
      if (verbose) {
        std::printf("  %-24s %9zu rows %7.1f s\n", name, r.affected_rows(), Seconds(start));
      }
    }
    txn.exec("DROP SCHEMA bench_stage CASCADE");
    txn.commit();
  }

  int64_t events() const { return events_; }

 private:
  struct Stage {
    std::unique_ptr<pqxx::connection> conn;
    std::unique_ptr<pqxx::work> txn;
    std::unique_ptr<pqxx::stream_to> out;
  };
  Stage Open(const std::string& table, const std::vector<std::string>& columns) {
    Stage s;
    s.conn = std::make_unique<pqxx::connection>(dsn_);
    s.txn = std::make_unique<pqxx::work>(*s.conn);
    s.txn->exec("SET LOCAL search_path = bench_stage");
    s.out = std::make_unique<pqxx::stream_to>(*s.txn, table, columns);
    return s;
  }

  void AddGroup(const std::string& tenant, int64_t at_us, const std::string& department,
                const Adds& adds) {
    *group_.out << std::tuple_cat(std::make_tuple(tenant, at_us, department),
                                  AsTuple(Sums(kGroupSums, adds)));
  }
  void AddAgent(const std::string& tenant, int64_t at_us, const std::string& agent,
                const std::string& department, const Adds& adds) {
    *agent_.out << std::tuple_cat(std::make_tuple(tenant, at_us, agent, department),
                                  AsTuple(Sums(kAgentSums, adds)));
  }

  const std::string dsn_;
  const std::vector<std::string> day_zones_;
  const std::vector<int> hour_phases_;
  std::set<std::string> tenants_;
  Stage processed_, dialogs_, group_, agent_, ratings_, offers_, offline_, sessions_, intervals_;
  int64_t events_ = 0;
};

// ---------------------------------------------------------------------------------------
// Checks

constexpr const char* kReportingTables[] = {
    "processed_events", "dialogs",        "group_slots",
    "agent_slots",      "ratings",        "offers",
    "offline_messages", "agent_sessions", "agent_status_intervals",
    "day_zones",        "agent_days",     "agent_status_days",
    "hour_phases",      "group_hours"};

// Every reporting table's rows of tenant `a` and of tenant `b` (all columns but the tenant
// and processed_at) are the same multiset. Prints one line per table.
bool SameRows(pqxx::connection& conn, const std::string& a, const std::string& b) {
  bool same = true;
  pqxx::work txn(conn);
  for (const char* table : kReportingTables) {
    const std::string columns =
        txn.exec_params1(
               "SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position)"
               " FROM information_schema.columns WHERE table_schema = 'reporting'"
               " AND table_name = $1"
               " AND column_name NOT IN ('tenant_id', 'processed_at', 'created_at')",
               table)[0]
            .as<std::string>();
    const std::string of =
        absl::StrCat("SELECT ", columns, " FROM reporting.", table, " WHERE tenant_id = ");
    const pqxx::row r = txn.exec_params1(
        absl::StrCat("SELECT (SELECT count(*) FROM reporting.", table, " WHERE tenant_id = $1),",
                     " (SELECT count(*) FROM reporting.", table, " WHERE tenant_id = $2),",
                     " (SELECT count(*) FROM ((", of, "$1 EXCEPT ALL ", of, "$2) UNION ALL (", of,
                     "$2 EXCEPT ALL ", of, "$1)) d)"),
        a, b);
    const int64_t applied = r[0].as<int64_t>(), bulk = r[1].as<int64_t>(),
                  differ = r[2].as<int64_t>();
    std::printf("  %-24s apply=%7ld bulk=%7ld differing=%ld %s\n", table, applied, bulk, differ,
                differ == 0 && applied > 0 ? "ok" : "MISMATCH");
    same = same && differ == 0 && applied > 0;
  }
  return same;
}

void DeleteTenant(pqxx::connection& conn, const std::string& tenant) {
  pqxx::work txn(conn);
  for (const char* table : kReportingTables) {
    txn.exec_params(absl::StrCat("DELETE FROM reporting.", table, " WHERE tenant_id = $1"), tenant);
  }
  txn.commit();
}

// ---------------------------------------------------------------------------------------
// The reports

struct Filter {
  std::string name;
  std::vector<std::string> departments, agents;
};

struct Report {
  const char* name;
  bool takes_departments, takes_agents;
  // The store call; returns the number of rows.
  std::function<absl::StatusOr<size_t>(ReportStore&, const ReportQuery&, int64_t now_us)> store;
  // The same report as an export request (and, inside it, the Get…Report request).
  std::function<void(rep::ExportCsvRequest*, const rep::ReportFilter&)> request;
};

template <typename T>
absl::StatusOr<size_t> Count(const absl::StatusOr<std::vector<T>>& rows) {
  if (!rows.ok()) return rows.status();
  return rows->size();
}

std::vector<Report> Reports() {
  return {
      {"satisfaction_by_agent", true, true,
       [](ReportStore& s, const ReportQuery& q, int64_t) {
         return Count(s.Satisfaction(q, false));
       },
       [](rep::ExportCsvRequest* r, const rep::ReportFilter& f) {
         *r->mutable_satisfaction()->mutable_filter() = f;
         r->mutable_satisfaction()->set_grouping(rep::SATISFACTION_GROUPING_AGENT);
       }},
      {"satisfaction_by_group", true, false,
       [](ReportStore& s, const ReportQuery& q, int64_t) { return Count(s.Satisfaction(q, true)); },
       [](rep::ExportCsvRequest* r, const rep::ReportFilter& f) {
         *r->mutable_satisfaction()->mutable_filter() = f;
         r->mutable_satisfaction()->set_grouping(rep::SATISFACTION_GROUPING_DEPARTMENT);
       }},
      {"group_daily", true, false,
       [](ReportStore& s, const ReportQuery& q, int64_t) {
         return Count(s.GroupDialogs(q, false));
       },
       [](rep::ExportCsvRequest* r, const rep::ReportFilter& f) {
         *r->mutable_group_daily()->mutable_filter() = f;
       }},
      {"group_hourly", true, false,
       [](ReportStore& s, const ReportQuery& q, int64_t) { return Count(s.GroupDialogs(q, true)); },
       [](rep::ExportCsvRequest* r, const rep::ReportFilter& f) {
         *r->mutable_group_hourly()->mutable_filter() = f;
       }},
      {"group_hourly_kolkata", true, false,
       [](ReportStore& s, const ReportQuery& q, int64_t) {
         ReportQuery in_zone = q;
         in_zone.time_zone = kHalfHourZone;
         return Count(s.GroupDialogs(in_zone, true));
       },
       [](rep::ExportCsvRequest* r, const rep::ReportFilter& f) {
         *r->mutable_group_hourly()->mutable_filter() = f;
         r->mutable_group_hourly()->mutable_filter()->set_time_zone(kHalfHourZone);
       }},
      {"agent_daily", true, true,
       [](ReportStore& s, const ReportQuery& q, int64_t) { return Count(s.AgentDialogs(q)); },
       [](rep::ExportCsvRequest* r, const rep::ReportFilter& f) {
         *r->mutable_agent_daily()->mutable_filter() = f;
       }},
      {"online_time", false, true,
       [](ReportStore& s, const ReportQuery& q, int64_t now) {
         return Count(s.OnlineTime(q, false, now));
       },
       [](rep::ExportCsvRequest* r, const rep::ReportFilter& f) {
         *r->mutable_online_time()->mutable_filter() = f;
       }},
      {"online_time_per_day", false, true,
       [](ReportStore& s, const ReportQuery& q, int64_t now) {
         return Count(s.OnlineTime(q, true, now));
       },
       [](rep::ExportCsvRequest* r, const rep::ReportFilter& f) {
         *r->mutable_online_time()->mutable_filter() = f;
         r->mutable_online_time()->set_per_day(true);
       }},
      {"offline_messages", true, false,
       [](ReportStore& s, const ReportQuery& q, int64_t) { return Count(s.OfflineMessages(q)); },
       [](rep::ExportCsvRequest* r, const rep::ReportFilter& f) {
         *r->mutable_offline_messages()->mutable_filter() = f;
       }},
      {"agent_scorecard", true, true,
       [](ReportStore& s, const ReportQuery& q, int64_t now) { return Count(s.Scorecard(q, now)); },
       [](rep::ExportCsvRequest* r, const rep::ReportFilter& f) {
         *r->mutable_agent_scorecard()->mutable_filter() = f;
       }},
  };
}

std::unique_ptr<grpc::ClientContext> Call(const std::string& token) {
  auto ctx = kefu::testing::CallWith(token);
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
  return ctx;
}

// The Get…Report RPC inside `r`, first page of up to 1000 rows; returns the rows.
absl::StatusOr<size_t> CallReport(rep::ReportService::Stub& stub, const std::string& token,
                                  rep::ExportCsvRequest r) {
  grpc::Status st;
  size_t rows = 0;
  switch (r.report_case()) {
    case rep::ExportCsvRequest::kSatisfaction: {
      r.mutable_satisfaction()->set_page_size(1000);
      rep::GetSatisfactionReportResponse out;
      st = stub.GetSatisfactionReport(Call(token).get(), r.satisfaction(), &out);
      rows = out.rows_size();
      break;
    }
    case rep::ExportCsvRequest::kGroupDaily: {
      r.mutable_group_daily()->set_page_size(1000);
      rep::GetGroupDailyReportResponse out;
      st = stub.GetGroupDailyReport(Call(token).get(), r.group_daily(), &out);
      rows = out.rows_size();
      break;
    }
    case rep::ExportCsvRequest::kGroupHourly: {
      r.mutable_group_hourly()->set_page_size(1000);
      rep::GetGroupHourlyReportResponse out;
      st = stub.GetGroupHourlyReport(Call(token).get(), r.group_hourly(), &out);
      rows = out.rows_size();
      break;
    }
    case rep::ExportCsvRequest::kAgentDaily: {
      r.mutable_agent_daily()->set_page_size(1000);
      rep::GetAgentDailyReportResponse out;
      st = stub.GetAgentDailyReport(Call(token).get(), r.agent_daily(), &out);
      rows = out.rows_size();
      break;
    }
    case rep::ExportCsvRequest::kOnlineTime: {
      r.mutable_online_time()->set_page_size(1000);
      rep::GetOnlineTimeReportResponse out;
      st = stub.GetOnlineTimeReport(Call(token).get(), r.online_time(), &out);
      rows = out.rows_size();
      break;
    }
    case rep::ExportCsvRequest::kOfflineMessages: {
      r.mutable_offline_messages()->set_page_size(1000);
      rep::GetOfflineMessageReportResponse out;
      st = stub.GetOfflineMessageReport(Call(token).get(), r.offline_messages(), &out);
      rows = out.rows_size();
      break;
    }
    case rep::ExportCsvRequest::kAgentScorecard: {
      r.mutable_agent_scorecard()->set_page_size(1000);
      rep::GetAgentScorecardResponse out;
      st = stub.GetAgentScorecard(Call(token).get(), r.agent_scorecard(), &out);
      rows = out.rows_size();
      break;
    }
    default:
      return absl::InvalidArgumentError("no report");
  }
  if (!st.ok()) return absl::UnknownError(st.error_message());
  return rows;
}

struct Timing {
  size_t rows = 0;
  double first_ms = 0;
  std::vector<double> ms;
};

// One untimed-in-percentiles first call (cold-ish: it shows as first_ms), then `reps`.
absl::StatusOr<Timing> Measure(int reps, const std::function<absl::StatusOr<size_t>()>& run) {
  Timing t;
  for (int i = 0; i <= reps; ++i) {
    const absl::Time start = absl::Now();
    auto rows = run();
    const double ms = absl::ToDoubleMilliseconds(absl::Now() - start);
    if (!rows.ok()) return rows.status();
    t.rows = *rows;
    if (i == 0) {
      t.first_ms = ms;
    } else {
      t.ms.push_back(ms);
    }
  }
  return t;
}

// ---------------------------------------------------------------------------------------

int Run(const Options& o) {
  const Shape shape{o.dialogs, o.days, o.departments, o.agents};
  std::printf(
      "report_bench: %ld dialogs over %d days to %s 00:00 %s, %d departments, %d agents, "
      "%d reps\n",
      o.dialogs, o.days, absl::FormatCivilTime(kLastDayEnd).c_str(), kZone, o.departments, o.agents,
      o.reps);

  // The service, in-process on loopback; its start-up runs the reporting migrations.
  absl::Time step = absl::Now();
  kefu::reporting::ReportingOptions service_options;
  service_options.events.group = "report-bench";
  service_options.events.consumer = "report-bench";
  service_options.capability.interval = absl::ZeroDuration();  // no background queries
  const kefu::server::ServiceDefinition definition = {
      .name = "reporting",
      .register_flags = nullptr,
      .setup = [service_options](kefu::server::ServiceContext& ctx) {
        return kefu::reporting::SetupWith(ctx, service_options);
      }};
  const std::string dsn = kefu::testing::FreshDatabase("report_bench");
  kefu::ServiceConfig config = kefu::testing::TestServiceConfig(definition, dsn);
  config.pg_statement_timeout = absl::Seconds(60);
  auto runtime = kefu::server::ServiceRuntime::Start(definition, config);
  if (!runtime.ok()) {
    std::fprintf(stderr, "cannot start reporting: %s\n", runtime.status().ToString().c_str());
    return 1;
  }
  std::printf("setup: postgres + redis + kefu-reporting (migrations applied) in %.1f s\n",
              Seconds(step));

  // The store as the service builds it: role kefu_app, row-level security on.
  kefu::pg::PoolOptions pool_options;
  pool_options.dsn = dsn;
  pool_options.size = std::max(2, o.apply_threads);
  pool_options.statement_timeout = absl::Seconds(60);
  pool_options.session_role = kefu::pg::kAppRole;
  kefu::pg::Pool pool(pool_options, {});
  ReportStore store(&pool);
  pqxx::connection admin(dsn);  // superuser: bulk load, checks (bypasses RLS)

  // 1-2. The apply path on a sample, and the bulk path on the same events.
  double apply_events_per_s = 0;
  {
    const std::string applied_tenant = kefu::testing::UniqueTenant("sample-apply");
    const std::string bulk_tenant = kefu::testing::UniqueTenant("sample-bulk");
    Generator sample({o.verify_dialogs, 2, o.departments, o.agents}, 7);
    std::vector<ev::Event> events;
    for (int d = 0; d < 2; ++d) sample.Day(d, applied_tenant, &events);
    // The report zone's day and hour rows are kept from the first event: the apply path
    // writes them.
    if (auto kept = store.EnsureDayZone(applied_tenant, kZone); !kept.ok() || !*kept) {
      std::fprintf(stderr, "cannot keep day rows for %s\n", kZone);
      return 1;
    }
    if (auto kept = store.EnsureHourPhase(applied_tenant, kPhase); !kept.ok() || !*kept) {
      std::fprintf(stderr, "cannot keep hour rows of phase %d\n", kPhase);
      return 1;
    }
    step = absl::Now();
    ApplyCounts counts;
    if (auto st = ApplyAll(store, events, 1, &counts); !st.ok()) {
      std::fprintf(stderr, "apply failed: %s\n", st.ToString().c_str());
      return 1;
    }
    const double apply_s = Seconds(step);
    apply_events_per_s = static_cast<double>(events.size()) / apply_s;
    std::printf(
        "apply path sample: %ld dialogs, %zu events through ReportStore::ApplyEvent (one "
        "transaction each, 1 thread) in %.1f s = %.0f events/s (applied=%ld duplicate=%ld)\n",
        o.verify_dialogs, events.size(), apply_s, apply_events_per_s, counts.applied,
        counts.duplicate);
    // The consumer's way: what one read of a stream brings (up to 100 events) in one
    // transaction through ReportStore::ApplyEvents.
    const std::string batch_tenant = kefu::testing::UniqueTenant("sample-batch");
    if (auto kept = store.EnsureDayZone(batch_tenant, kZone); !kept.ok() || !*kept) {
      std::fprintf(stderr, "cannot keep day rows for %s\n", kZone);
      return 1;
    }
    if (auto kept = store.EnsureHourPhase(batch_tenant, kPhase); !kept.ok() || !*kept) {
      std::fprintf(stderr, "cannot keep hour rows of phase %d\n", kPhase);
      return 1;
    }
    std::vector<ev::Event> batch_events = events;
    for (auto& e : batch_events) e.set_tenant_id(batch_tenant);
    constexpr size_t kBatch = 100;  // events::ConsumerOptions::batch
    step = absl::Now();
    for (size_t i = 0; i < batch_events.size(); i += kBatch) {
      std::vector<const ev::Event*> batch;
      for (size_t j = i; j < std::min(batch_events.size(), i + kBatch); ++j) {
        batch.push_back(&batch_events[j]);
      }
      for (const auto& outcome : store.ApplyEvents(batch_tenant, batch)) {
        if (!outcome.ok()) {
          std::fprintf(stderr, "batch apply failed: %s\n", outcome.status().ToString().c_str());
          return 1;
        }
      }
    }
    const double batch_s = Seconds(step);
    std::printf(
        "apply path sample, batched: the same events through ReportStore::ApplyEvents (%zu per "
        "transaction, 1 thread) in %.1f s = %.0f events/s; rows compared with one by one:\n",
        kBatch, batch_s, static_cast<double>(batch_events.size()) / batch_s);
    if (!SameRows(admin, applied_tenant, batch_tenant)) {
      std::fprintf(stderr, "batched apply does not produce the one-by-one rows\n");
      return 1;
    }
    DeleteTenant(admin, batch_tenant);
    BulkLoader bulk(dsn, {kZone}, {kPhase});
    bulk.Begin();
    step = absl::Now();
    for (auto& e : events) {
      e.set_tenant_id(bulk_tenant);
      bulk.Add(e);
    }
    bulk.Finish(false);
    std::printf("bulk path sample: the same %ld events in %.2f s; rows compared:\n", bulk.events(),
                Seconds(step));
    if (!SameRows(admin, applied_tenant, bulk_tenant)) {
      std::fprintf(stderr, "the bulk path does not produce the apply path's rows\n");
      return 1;
    }
    DeleteTenant(admin, applied_tenant);
    DeleteTenant(admin, bulk_tenant);
  }

  // 3. The tenant.
  const std::string tenant = kefu::testing::UniqueTenant("bench");
  Generator generator(shape, 1);
  // Events per dialog of the full mix, estimated from the first day.
  std::vector<ev::Event> day_events;
  generator.Day(0, tenant, &day_events);
  const double estimated_events = static_cast<double>(day_events.size()) * o.days;
  const double projected_s = estimated_events / apply_events_per_s;
  const bool apply = o.load == "apply" || (o.load == "auto" && projected_s <= o.apply_limit_s);
  std::printf(
      "load: ~%.0f events; the apply path would take ~%.0f s on 1 thread (limit %d s): "
      "loading through %s\n",
      estimated_events, projected_s, o.apply_limit_s,
      apply ? "ReportStore::ApplyEvent" : "bulk SQL (COPY + INSERT ... SELECT)");
  step = absl::Now();
  int64_t loaded = 0;
  if (apply) {
    if (auto kept = store.EnsureDayZone(tenant, kZone); !kept.ok() || !*kept) {
      std::fprintf(stderr, "cannot keep day rows for %s\n", kZone);
      return 1;
    }
    if (auto kept = store.EnsureHourPhase(tenant, kPhase); !kept.ok() || !*kept) {
      std::fprintf(stderr, "cannot keep hour rows of phase %d\n", kPhase);
      return 1;
    }
    for (int d = 0; d < o.days; ++d) {
      if (d > 0) generator.Day(d, tenant, &day_events);
      ApplyCounts counts;
      if (auto st = ApplyAll(store, day_events, o.apply_threads, &counts); !st.ok()) {
        std::fprintf(stderr, "apply failed: %s\n", st.ToString().c_str());
        return 1;
      }
      loaded += static_cast<int64_t>(day_events.size());
      day_events.clear();
    }
    std::printf("load: %ld events applied on %d threads in %.1f s\n", loaded, o.apply_threads,
                Seconds(step));
  } else {
    BulkLoader bulk(dsn, {kZone}, {kPhase});
    bulk.Begin();
    for (int d = 0; d < o.days; ++d) {
      if (d > 0) generator.Day(d, tenant, &day_events);
      for (const auto& e : day_events) bulk.Add(e);
      day_events.clear();
    }
    std::printf("load: %ld events generated and staged by COPY in %.1f s\n", bulk.events(),
                Seconds(step));
    bulk.Finish(true);
    loaded = bulk.events();
    std::printf("load: total %.1f s\n", Seconds(step));
  }
  step = absl::Now();
  pqxx::nontransaction(admin).exec("SET maintenance_work_mem = '256MB'");
  for (const char* table : kReportingTables) {
    pqxx::nontransaction(admin).exec(absl::StrCat("VACUUM (ANALYZE) reporting.", table));
  }
  std::printf("vacuum analyze (as autovacuum would after a load): %.1f s\n", Seconds(step));
  {
    pqxx::work txn(admin);
    std::printf("tables (this tenant's rows, whole table size):\n");
    for (const char* table : kReportingTables) {
      const pqxx::row r = txn.exec_params1(
          absl::StrCat("SELECT count(*), pg_size_pretty(pg_total_relation_size('reporting.", table,
                       "')) FROM reporting.", table, " WHERE tenant_id = $1"),
          tenant);
      std::printf("  %-24s %9ld rows %10s\n", table, r[0].as<int64_t>(),
                  r[1].as<std::string>().c_str());
    }
  }

  // 4. The reports.
  absl::TimeZone zone;
  absl::LoadTimeZone(kZone, &zone);
  const int64_t end_us = absl::ToUnixMicros(absl::FromCivil(kLastDayEnd, zone));
  const int64_t start_us = absl::ToUnixMicros(absl::FromCivil(kLastDayEnd - kRangeDays, zone));
  const int64_t now_us = end_us;  // sessions still open end here
  // The largest department and the busiest agent of the range: the heaviest one-id filters.
  std::string top_department, top_agent;
  {
    pqxx::work txn(admin);
    top_department = txn.exec_params1(
                            "SELECT department_id FROM reporting.group_slots WHERE tenant_id = $1"
                            " AND slot >= reporting.ts($2) AND slot < reporting.ts($3)"
                            " GROUP BY 1 ORDER BY sum(total) DESC LIMIT 1",
                            tenant, start_us, end_us)[0]
                         .as<std::string>();
    top_agent = txn.exec_params1(
                       "SELECT agent_id FROM reporting.agent_slots WHERE tenant_id = $1"
                       " AND slot >= reporting.ts($2) AND slot < reporting.ts($3)"
                       " GROUP BY 1 ORDER BY sum(consultations) DESC LIMIT 1",
                       tenant, start_us, end_us)[0]
                    .as<std::string>();
  }
  std::printf("range: %s to %s local (%d days, %s); one department = %s, one agent = %s\n",
              absl::FormatCivilTime(kLastDayEnd - kRangeDays).c_str(),
              absl::FormatCivilTime(kLastDayEnd).c_str(), kRangeDays, kZone, top_department.c_str(),
              top_agent.c_str());

  // Floor: a SELECT 1 round trip on a pooled connection, and the same inside TransactIn
  // (BEGIN, set_config of the tenant, SELECT 1, COMMIT: every report's fixed cost).
  std::vector<double> select_one, transact_one, health_rtt;
  for (int i = 0; i < 200; ++i) {
    {
      auto lease = pool.Acquire();
      if (!lease.ok()) return 1;
      pqxx::nontransaction txn(**lease);
      const absl::Time start = absl::Now();
      txn.exec("SELECT 1");
      select_one.push_back(absl::ToDoubleMicroseconds(absl::Now() - start));
    }
    const absl::Time start = absl::Now();
    (void)pool.TransactIn(tenant, [](pqxx::work& txn) -> absl::Status {
      txn.exec("SELECT 1");
      return absl::OkStatus();
    });
    transact_one.push_back(absl::ToDoubleMicroseconds(absl::Now() - start));
  }
  const std::string addr = absl::StrCat("127.0.0.1:", (*runtime)->port());
  auto channel = grpc::CreateChannel(addr, grpc::InsecureChannelCredentials());
  auto health = grpc::health::v1::Health::NewStub(channel);
  for (int i = 0; i < 200; ++i) {
    grpc::health::v1::HealthCheckRequest req;
    grpc::health::v1::HealthCheckResponse resp;
    const absl::Time start = absl::Now();
    health->Check(Call("").get(), req, &resp);
    health_rtt.push_back(absl::ToDoubleMicroseconds(absl::Now() - start));
  }
  const double floor_us = Percentile(select_one, 0.5);
  std::printf("floor: select1_p50_us=%.0f transact_select1_p50_us=%.0f grpc_health_p50_us=%.0f\n",
              floor_us, Percentile(transact_one, 0.5), Percentile(health_rtt, 0.5));

  const std::vector<Filter> filters = {
      {"all", {}, {}}, {"dept", {top_department}, {}}, {"agent", {}, {top_agent}}};
  const std::vector<Report> reports = Reports();
  kefu::auth::Claims admin_claims;
  admin_claims.tenant_id = tenant;
  admin_claims.role = common::ROLE_ADMIN;
  admin_claims.subject = "bench-admin";
  prometheus::Registry registry;
  kefu::reporting::ReportServiceImpl handlers(&store, nullptr, kZone, registry);
  auto stub = rep::ReportService::NewStub(channel);
  const std::string token =
      kefu::testing::TokenFor(tenant, common::ROLE_ADMIN, "bench-admin", absl::Hours(24));

  double worst = 0;
  std::string worst_name;
  std::vector<std::string> over;
  std::printf("\n%-6s %-22s %-6s %7s %9s %9s %9s\n", "path", "report", "filter", "rows", "first_ms",
              "p50_ms", "p99_ms");
  auto print = [&](const char* path, const char* report, const std::string& filter,
                   const Timing& t) {
    const double p50 = Percentile(t.ms, 0.5), p99 = Percentile(t.ms, 0.99);
    std::printf("%-6s %-22s %-6s %7zu %9.1f %9.1f %9.1f\n", path, report, filter.c_str(), t.rows,
                t.first_ms, p50, p99);
    std::fflush(stdout);
    if (std::string_view(path) == "slots") return;  // the old way, for comparison only
    const std::string name = absl::StrCat(path, "/", report, "/", filter);
    if (p99 > worst) {
      worst = p99;
      worst_name = name;
    }
    if (p99 > kTargetMs) over.push_back(absl::StrFormat("%s p99 %.1f ms", name, p99));
  };
  auto failed = [](const char* what, const absl::Status& st) {
    std::fprintf(stderr, "%s failed: %s\n", what, st.ToString().c_str());
    return 1;
  };

  // ReportStore: the SQL of each report.
  for (const Filter& f : filters) {
    for (const Report& r : reports) {
      if (!f.departments.empty() && !r.takes_departments) continue;
      if (!f.agents.empty() && !r.takes_agents) continue;
      ReportQuery q{tenant, start_us, end_us, kZone, f.departments, f.agents};
      auto t = Measure(o.reps, [&] { return r.store(store, q, now_us); });
      if (!t.ok()) return failed(r.name, t.status());
      print("store", r.name, f.name, *t);
    }
  }
  // The group reports from the 15-minute rows alone (as before migration 004), timed for
  // comparison in the same run, and their rows required to be those of the hour rollups.
  ReportStore slots_store(&pool, {.hour_rollups = false});
  for (const Filter& f : filters) {
    if (!f.agents.empty()) continue;
    for (const char* zone : {kZone, kHalfHourZone}) {
      for (const bool hourly : {false, true}) {
        ReportQuery q{tenant, start_us, end_us, zone, f.departments, f.agents};
        auto from_hours = store.GroupDialogs(q, hourly);
        auto from_slots = slots_store.GroupDialogs(q, hourly);
        if (!from_hours.ok()) return failed("group report", from_hours.status());
        if (!from_slots.ok()) return failed("group report", from_slots.status());
        bool same = from_hours->size() == from_slots->size();
        for (size_t i = 0; same && i < from_hours->size(); ++i) {
          same = (*from_hours)[i].SerializeAsString() == (*from_slots)[i].SerializeAsString();
        }
        if (!same) {
          std::fprintf(stderr, "group %s in %s, filter %s: hour rows answer differently\n",
                       hourly ? "hourly" : "daily", zone, f.name.c_str());
          return 1;
        }
        if (std::string_view(zone) != kZone) continue;
        auto t = Measure(o.reps, [&]() -> absl::StatusOr<size_t> {
          return Count(slots_store.GroupDialogs(q, hourly));
        });
        if (!t.ok()) return failed("group report", t.status());
        print("slots", hourly ? "group_hourly" : "group_daily", f.name, *t);
      }
    }
  }
  std::printf("group reports: hour rollups and 15-minute rows give the same rows (%s, %s)\n", kZone,
              kHalfHourZone);

  rep::ReportFilter whole;
  *whole.mutable_time_range()->mutable_start_time() = Ts(start_us);
  *whole.mutable_time_range()->mutable_end_time() = Ts(end_us);
  whole.set_time_zone(kZone);
  // CSV export: no query of its own; the handler's query (all rows) and the rendering.
  for (const Report& r : reports) {
    rep::ExportCsvRequest request;
    r.request(&request, whole);
    auto t = Measure(o.reps, [&]() -> absl::StatusOr<size_t> {
      std::string file_name;
      auto csv = kefu::reporting::RenderCsv(handlers, admin_claims, request, &file_name);
      if (!csv.ok()) return csv.status();
      return static_cast<size_t>(std::count(csv->begin(), csv->end(), '\n') - 1);
    });
    if (!t.ok()) return failed(r.name, t.status());
    print("csv", r.name, "all", *t);
  }
  // gRPC ReportService on loopback: authentication, the handler, one page of <= 1000 rows.
  for (const Report& r : reports) {
    rep::ExportCsvRequest request;
    r.request(&request, whole);
    auto t = Measure(o.reps, [&] { return CallReport(*stub, token, request); });
    if (!t.ok()) return failed(r.name, t.status());
    print("grpc", r.name, "all", *t);
  }

  std::printf("\n%s\n",
              over.empty()
                  ? absl::StrFormat("every p99 under %.0f ms", kTargetMs).c_str()
                  : absl::StrCat("over ", kTargetMs, " ms: ", absl::StrJoin(over, "; ")).c_str());
  std::printf("worst: %s\n", worst_name.c_str());
  if (o.hold) {
    std::printf("holding: psql '%s'  (close stdin to stop)\n", dsn.c_str());
    std::fflush(stdout);
    std::string line;
    while (std::getline(std::cin, line)) {
    }
  }
  (*runtime)->Stop();
  std::printf("report_bench dialogs=%ld worst_p99_ms=%.1f floor_us=%.0f\n", o.dialogs, worst,
              floor_us);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  Options options;
  if (!ParseOptions(argc, argv, &options)) return 2;
  try {
    return Run(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "report_bench: %s\n", e.what());
    return 1;
  }
}
