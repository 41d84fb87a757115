#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "kefu/events/v1/events.pb.h"
#include "kefu/reporting/v1/report.pb.h"
#include "libs/pg/pool.h"

namespace kefu::reporting {

// What every report query takes, already validated: [start_us, end_us) in UTC
// microseconds, an IANA zone for day and hour boundaries, optional id filters.
struct ReportQuery {
  std::string tenant;
  int64_t start_us = 0;
  int64_t end_us = 0;
  std::string time_zone;
  std::vector<std::string> departments;
  std::vector<std::string> agents;
};

enum class ApplyOutcome { kApplied, kDuplicate, kIgnored };

// Today's contacts of one group, for the monitor (F60).
struct GroupToday {
  int64_t contacts = 0;
  int64_t connected = 0;
  int64_t abandoned = 0;
};

// One agent's record over a window, what the capability score is computed from.
struct AgentPerformance {
  std::string agent_id;
  int64_t consultations = 0;
  int64_t resolved = 0;
  int64_t rated = 0;
  int64_t score_sum = 0;
};

struct ReportStoreOptions {
  // Per-agent reports read day rollups for the whole local days of their range
  // (migrations/003_agent_days.sql); false reads only the 15-minute rows (tests compare).
  bool day_rollups = true;
  // Zones whose day rows are kept per tenant: every event that adds to an agent's figures
  // writes one day row per zone. Reports in further zones read the 15-minute rows.
  int max_day_zones = 3;
  // The group reports (F62, F63) read hour rollups for the whole hours of their range
  // (migrations/004_group_hours.sql); false reads only the 15-minute rows (tests compare).
  bool hour_rollups = true;
};

// The reporting schema in PostgreSQL: facts keyed by what makes them unique, their
// 15-minute rollups (migrations/002_rollups.sql), per-day agent rollups (003) and hourly
// group rollups (004), every query bound to its tenant.
class ReportStore final {
 public:
  explicit ReportStore(pg::Pool* pool, ReportStoreOptions options = {})
      : pool_(pool), options_(options) {}

  // Applies one domain event in one transaction together with its processed_events row:
  // an event id seen before changes nothing (kDuplicate); so does a second DialogEnded of
  // the same dialog or a second rating of it. Payloads reports do not use: kIgnored.
  absl::StatusOr<ApplyOutcome> ApplyEvent(const std::string& tenant,
                                          const kefu::events::v1::Event& event);
  // ApplyEvent for a batch of one tenant's events in one transaction (the consumer's read
  // of a stream), an outcome per event. Nothing is written unless the whole batch commits;
  // when it cannot, each event is applied in a transaction of its own instead.
  std::vector<absl::StatusOr<ApplyOutcome>> ApplyEvents(
      const std::string& tenant, const std::vector<const kefu::events::v1::Event*>& events);

  // F62 (hourly = false, hour 0) and F63. Rows by local date, hour, department.
  absl::StatusOr<std::vector<v1::GroupHourlyRow>> GroupDialogs(const ReportQuery& q, bool hourly);
  // F64.
  absl::StatusOr<std::vector<v1::AgentDailyRow>> AgentDialogs(const ReportQuery& q);
  // F61.
  absl::StatusOr<std::vector<v1::SatisfactionRow>> Satisfaction(const ReportQuery& q,
                                                                bool by_department);
  // F65; `now_us` ends sessions and statuses still open.
  absl::StatusOr<std::vector<v1::OnlineTimeRow>> OnlineTime(const ReportQuery& q, bool per_day,
                                                            int64_t now_us);
  // F66.
  absl::StatusOr<std::vector<v1::OfflineMessageRow>> OfflineMessages(const ReportQuery& q);
  // F67.
  absl::StatusOr<std::vector<v1::AgentScorecardRow>> Scorecard(const ReportQuery& q,
                                                               int64_t now_us);

  // Monitor: contacts of each group since local midnight (F60).
  absl::StatusOr<std::map<std::string, GroupToday>> Today(const std::string& tenant,
                                                          const std::string& time_zone,
                                                          int64_t now_us);
  // Capability feedback: every agent's dialogs and ratings since `since_us`.
  absl::StatusOr<std::vector<AgentPerformance>> Performance(const std::string& tenant,
                                                            int64_t since_us);

  // Keeps day rows for `time_zone` from now on, filling them from the finer rows first
  // (once per tenant and zone, under the tenant's lock, so no event is missed or counted
  // twice). True when the zone's rows are kept; false when the tenant already has
  // max_day_zones zones or day rollups are off. The per-agent reports call it.
  absl::StatusOr<bool> EnsureDayZone(const std::string& tenant, const std::string& time_zone);

  // Keeps group hour rows starting `phase_minutes` (0, 15, 30 or 45) past each UTC hour
  // from now on, filling them from group_slots first (once per tenant and phase, under the
  // tenant's lock, as EnsureDayZone). True when the phase's rows are kept; false for
  // another phase or when hour rollups are off. The group reports call it.
  absl::StatusOr<bool> EnsureHourPhase(const std::string& tenant, int phase_minutes);

  // The phase of `time_zone`'s hours at `at_us`: the minutes past the UTC hour at which its
  // local hours start, minus its UTC offset modulo one hour (30 for UTC+5:30 and UTC-3:30,
  // 15 for UTC+5:45); nullopt for an unknown zone or an offset that is not a whole number
  // of 15 minutes (local mean times before 1900).
  static std::optional<int> HourPhase(const std::string& time_zone, int64_t at_us);

 private:
  // EnsureDayZone, logging a failure: a report then reads the 15-minute rows.
  void TryDayZone(const std::string& tenant, const std::string& time_zone);
  // EnsureHourPhase likewise.
  void TryHourPhase(const std::string& tenant, int phase_minutes);

  pg::Pool* pool_;
  const ReportStoreOptions options_;
  std::mutex mu_;
  // (tenant, zone) pairs EnsureDayZone has answered for good: kept, or over the limit.
  std::set<std::pair<std::string, std::string>> zones_known_;  // guarded by mu_
  // (tenant, phase) pairs whose hour rows EnsureHourPhase has answered are kept.
  std::set<std::pair<std::string, int>> phases_known_;  // guarded by mu_
};

// Rates and averages of DialogCounts from its counters and the summed wait/talk time of
// connected dialogs; `total` accumulates the sums.
struct DialogSums {
  int64_t total = 0, valid = 0, invalid = 0, connected = 0, abandoned = 0, offline = 0,
          transferred = 0, wait_us = 0, waited = 0, talk_us = 0, talked = 0;
  void Add(const DialogSums& o);
  void Fill(v1::DialogCounts* counts) const;
};

}  // namespace kefu::reporting
