#include "services/reporting/reporting_service.h"

#include <google/protobuf/util/time_util.h>

#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "libs/common/log.h"
#include "libs/common/status.h"
#include "libs/common/status_macros.h"
#include "libs/metrics/metrics.h"

namespace kefu::reporting {
namespace {

using google::protobuf::util::TimeUtil;
using kefu::common::v1::ROLE_ADMIN;
using kefu::common::v1::ROLE_AGENT;
using kefu::common::v1::ROLE_SERVICE;
using kefu::common::v1::ROLE_SUPERVISOR;

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;
constexpr absl::Duration kMaxRange = absl::Hours(24 * 366);

absl::Status CheckIds(absl::string_view field,
                      const google::protobuf::RepeatedPtrField<std::string>& ids) {
  if (ids.size() > 100) return InvalidField(field, "at most 100 ids");
  for (const auto& id : ids) {
    if (id.empty() || id.size() > 128) return InvalidField(field, "ids are 1-128 characters");
  }
  return absl::OkStatus();
}

// [offset, offset + size) of `rows` for page_size/page_token; next token when more remain.
template <typename Row>
absl::Status Page(std::vector<Row> rows, int32_t page_size, const std::string& token, bool all,
                  google::protobuf::RepeatedPtrField<Row>* out, std::string* next) {
  if (all) {
    for (auto& r : rows) *out->Add() = std::move(r);
    return absl::OkStatus();
  }
  if (page_size < 0) return InvalidField("page_size", "must not be negative");
  const size_t size = page_size == 0 ? kDefaultPageSize : std::min(page_size, kMaxPageSize);
  size_t offset = 0;
  if (!token.empty() && !absl::SimpleAtoi(token, &offset)) {
    return InvalidField("page_token", "not a token this report returned");
  }
  for (size_t i = offset; i < rows.size() && i < offset + size; ++i) {
    *out->Add() = std::move(rows[i]);
  }
  if (offset + size < rows.size()) *next = absl::StrCat(offset + size);
  return absl::OkStatus();
}

DialogSums SumsOf(const v1::DialogCounts& c) {
  DialogSums s;
  s.total = c.total();
  s.valid = c.valid();
  s.invalid = c.invalid();
  s.connected = c.connected();
  s.abandoned = c.abandoned();
  s.offline = c.offline_messages();
  s.transferred = c.transferred();
  return s;
}

// The total row over report rows: their counts added, waits and durations weighted by the
// connected dialogs they average over.
template <typename Row>
void FillTotal(const std::vector<Row>& rows, v1::DialogCounts* total_out) {
  DialogSums total;
  int64_t wait_us = 0, talk_us = 0;
  for (const auto& h : rows) {
    total.Add(SumsOf(h.counts()));
    wait_us += TimeUtil::DurationToMicroseconds(h.counts().average_wait()) * h.counts().connected();
    talk_us +=
        TimeUtil::DurationToMicroseconds(h.counts().average_duration()) * h.counts().connected();
  }
  total.wait_us = wait_us;
  total.talk_us = talk_us;
  total.waited = total.talked = total.connected;
  total.Fill(total_out);
}

}  // namespace

ReportServiceImpl::ReportServiceImpl(ReportStore* store, const auth::Authenticator* auth,
                                     std::string default_time_zone, prometheus::Registry& registry)
    : store_(store),
      auth_(auth),
      default_time_zone_(std::move(default_time_zone)),
      query_seconds_(prometheus::BuildHistogram()
                         .Name("kefu_reporting_query_duration_seconds")
                         .Help("Time to compute one report, by report")
                         .Register(registry)) {}

prometheus::Histogram& ReportServiceImpl::Timer(const char* report) {
  return query_seconds_.Add({{"report", report}}, metrics::LatencyBuckets());
}

absl::StatusOr<ReportQuery> ReportServiceImpl::QueryOf(const auth::Claims& caller,
                                                       const v1::ReportFilter& filter,
                                                       bool agent_report) {
  ReportQuery q;
  KEFU_ASSIGN_OR_RETURN(q.tenant, auth::ActingTenant(caller, filter.tenant_id()));
  if (caller.role == ROLE_AGENT && !agent_report) {
    return auth::RoleDenied(caller, "group reports", {ROLE_ADMIN, ROLE_SUPERVISOR});
  }
  if (!filter.has_time_range() || !filter.time_range().has_start_time() ||
      !filter.time_range().has_end_time()) {
    return InvalidField("filter.time_range", "start_time and end_time are required");
  }
  q.start_us = TimeUtil::TimestampToMicroseconds(filter.time_range().start_time());
  q.end_us = TimeUtil::TimestampToMicroseconds(filter.time_range().end_time());
  if (q.end_us <= q.start_us) {
    return InvalidField("filter.time_range", "end_time must be after start_time");
  }
  if (absl::Microseconds(q.end_us - q.start_us) > kMaxRange) {
    return InvalidField("filter.time_range", "at most 366 days");
  }
  q.time_zone = filter.time_zone().empty() ? default_time_zone_ : filter.time_zone();
  absl::TimeZone zone;
  if (q.time_zone.size() > 64 || !absl::LoadTimeZone(q.time_zone, &zone)) {
    return InvalidField("filter.time_zone",
                        absl::StrCat("unknown time zone \"", q.time_zone.substr(0, 64), "\""));
  }
  KEFU_RETURN_IF_ERROR(CheckIds("filter.department_ids", filter.department_ids()));
  KEFU_RETURN_IF_ERROR(CheckIds("filter.agent_ids", filter.agent_ids()));
  q.departments.assign(filter.department_ids().begin(), filter.department_ids().end());
  if (caller.role == ROLE_AGENT) {
    q.agents = {caller.subject};  // an agent sees only themselves
  } else {
    q.agents.assign(filter.agent_ids().begin(), filter.agent_ids().end());
  }
  return q;
}

absl::Status ReportServiceImpl::Satisfaction(const auth::Claims& caller,
                                             const v1::GetSatisfactionReportRequest& r, bool all,
                                             v1::GetSatisfactionReportResponse* out) {
  const bool by_department = r.grouping() == v1::SATISFACTION_GROUPING_DEPARTMENT;
  if (!v1::SatisfactionGrouping_IsValid(r.grouping())) {
    return InvalidField("grouping", "unknown grouping");
  }
  KEFU_ASSIGN_OR_RETURN(ReportQuery q, QueryOf(caller, r.filter(), !by_department));
  const absl::Time start = absl::Now();
  KEFU_ASSIGN_OR_RETURN(auto rows, store_->Satisfaction(q, by_department));
  Timer("satisfaction").Observe(absl::ToDoubleSeconds(absl::Now() - start));
  int64_t dialogs = 0, rated = 0;
  double score_sum = 0;
  int64_t scores[5] = {0, 0, 0, 0, 0};
  for (const auto& row : rows) {
    dialogs += row.dialog_count();
    rated += row.rated_count();
    score_sum += row.average_score() * static_cast<double>(row.rated_count());
    for (int i = 0; i < 5 && i < row.score_counts_size(); ++i) scores[i] += row.score_counts(i);
  }
  auto* total = out->mutable_total();
  total->set_dialog_count(dialogs);
  total->set_rated_count(rated);
  total->set_rating_rate(dialogs == 0 ? 0 : static_cast<double>(rated) / dialogs);
  int64_t exact_sum = 0;
  for (int i = 0; i < 5; ++i) exact_sum += scores[i] * (i + 1);
  total->set_average_score(rated == 0 ? 0 : static_cast<double>(exact_sum) / rated);
  for (int64_t c : scores) total->add_score_counts(c);
  total->set_satisfied_rate(rated == 0 ? 0 : static_cast<double>(scores[3] + scores[4]) / rated);
  return Page(std::move(rows), r.page_size(), r.page_token(), all, out->mutable_rows(),
              out->mutable_next_page_token());
}

absl::Status ReportServiceImpl::GroupDaily(const auth::Claims& caller,
                                           const v1::GetGroupDailyReportRequest& r, bool all,
                                           v1::GetGroupDailyReportResponse* out) {
  KEFU_ASSIGN_OR_RETURN(ReportQuery q, QueryOf(caller, r.filter(), false));
  const absl::Time start = absl::Now();
  KEFU_ASSIGN_OR_RETURN(auto hourly, store_->GroupDialogs(q, /*hourly=*/false));
  Timer("group_daily").Observe(absl::ToDoubleSeconds(absl::Now() - start));
  std::vector<v1::GroupDailyRow> rows;
  DialogSums total;
  int64_t wait_us = 0, talk_us = 0;
  for (auto& h : hourly) {
    v1::GroupDailyRow row;
    row.set_date(h.date());
    row.set_department_id(h.department_id());
    total.Add(SumsOf(h.counts()));
    wait_us += TimeUtil::DurationToMicroseconds(h.counts().average_wait()) * h.counts().connected();
    talk_us +=
        TimeUtil::DurationToMicroseconds(h.counts().average_duration()) * h.counts().connected();
    *row.mutable_counts() = std::move(*h.mutable_counts());
    rows.push_back(std::move(row));
  }
  total.wait_us = wait_us;
  total.talk_us = talk_us;
  total.waited = total.talked = total.connected;
  total.Fill(out->mutable_total());
  return Page(std::move(rows), r.page_size(), r.page_token(), all, out->mutable_rows(),
              out->mutable_next_page_token());
}

absl::Status ReportServiceImpl::GroupHourly(const auth::Claims& caller,
                                            const v1::GetGroupHourlyReportRequest& r, bool all,
                                            v1::GetGroupHourlyReportResponse* out) {
  KEFU_ASSIGN_OR_RETURN(ReportQuery q, QueryOf(caller, r.filter(), false));
  const absl::Time start = absl::Now();
  KEFU_ASSIGN_OR_RETURN(auto rows, store_->GroupDialogs(q, /*hourly=*/true));
  Timer("group_hourly").Observe(absl::ToDoubleSeconds(absl::Now() - start));
  FillTotal(rows, out->mutable_total());
  return Page(std::move(rows), r.page_size(), r.page_token(), all, out->mutable_rows(),
              out->mutable_next_page_token());
}

absl::Status ReportServiceImpl::AgentDaily(const auth::Claims& caller,
                                           const v1::GetAgentDailyReportRequest& r, bool all,
                                           v1::GetAgentDailyReportResponse* out) {
  KEFU_ASSIGN_OR_RETURN(ReportQuery q, QueryOf(caller, r.filter(), true));
  const absl::Time start = absl::Now();
  KEFU_ASSIGN_OR_RETURN(auto rows, store_->AgentDialogs(q));
  Timer("agent_daily").Observe(absl::ToDoubleSeconds(absl::Now() - start));
  FillTotal(rows, out->mutable_total());
  return Page(std::move(rows), r.page_size(), r.page_token(), all, out->mutable_rows(),
              out->mutable_next_page_token());
}

absl::Status ReportServiceImpl::OnlineTime(const auth::Claims& caller,
                                           const v1::GetOnlineTimeReportRequest& r, bool all,
                                           v1::GetOnlineTimeReportResponse* out) {
  KEFU_ASSIGN_OR_RETURN(ReportQuery q, QueryOf(caller, r.filter(), true));
  const absl::Time start = absl::Now();
  KEFU_ASSIGN_OR_RETURN(auto rows,
                        store_->OnlineTime(q, r.per_day(), absl::ToUnixMicros(absl::Now())));
  Timer("online_time").Observe(absl::ToDoubleSeconds(absl::Now() - start));
  return Page(std::move(rows), r.page_size(), r.page_token(), all, out->mutable_rows(),
              out->mutable_next_page_token());
}

absl::Status ReportServiceImpl::OfflineMessages(const auth::Claims& caller,
                                                const v1::GetOfflineMessageReportRequest& r,
                                                bool all,
                                                v1::GetOfflineMessageReportResponse* out) {
  KEFU_ASSIGN_OR_RETURN(ReportQuery q, QueryOf(caller, r.filter(), false));
  const absl::Time start = absl::Now();
  KEFU_ASSIGN_OR_RETURN(auto rows, store_->OfflineMessages(q));
  Timer("offline_messages").Observe(absl::ToDoubleSeconds(absl::Now() - start));
  int64_t received = 0, replied = 0, reply_us = 0, max_us = 0;
  for (const auto& row : rows) {
    received += row.received();
    replied += row.replied();
    reply_us += TimeUtil::DurationToMicroseconds(row.average_reply_time()) * row.replied();
    max_us = std::max(max_us, TimeUtil::DurationToMicroseconds(row.max_reply_time()));
  }
  auto* total = out->mutable_total();
  total->set_received(received);
  total->set_replied(replied);
  total->set_pending(received - replied);
  total->set_reply_rate(received == 0 ? 0 : static_cast<double>(replied) / received);
  *total->mutable_average_reply_time() =
      TimeUtil::MicrosecondsToDuration(replied == 0 ? 0 : reply_us / replied);
  *total->mutable_max_reply_time() = TimeUtil::MicrosecondsToDuration(max_us);
  return Page(std::move(rows), r.page_size(), r.page_token(), all, out->mutable_rows(),
              out->mutable_next_page_token());
}

absl::Status ReportServiceImpl::Scorecard(const auth::Claims& caller,
                                          const v1::GetAgentScorecardRequest& r, bool all,
                                          v1::GetAgentScorecardResponse* out) {
  KEFU_ASSIGN_OR_RETURN(ReportQuery q, QueryOf(caller, r.filter(), true));
  const absl::Time start = absl::Now();
  KEFU_ASSIGN_OR_RETURN(auto rows, store_->Scorecard(q, absl::ToUnixMicros(absl::Now())));
  Timer("agent_scorecard").Observe(absl::ToDoubleSeconds(absl::Now() - start));
  return Page(std::move(rows), r.page_size(), r.page_token(), all, out->mutable_rows(),
              out->mutable_next_page_token());
}

#define KEFU_REPORT_RPC(Rpc, Method, Req, Resp)                                               \
  grpc::Status ReportServiceImpl::Rpc(grpc::ServerContext* context, const v1::Req* request,   \
                                      v1::Resp* response) {                                   \
    return HandleRpc([&]() -> absl::Status {                                                  \
      KEFU_ASSIGN_OR_RETURN(                                                                  \
          auth::Claims caller,                                                                \
          auth_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_AGENT, ROLE_SERVICE})); \
      return Method(caller, *request, false, response);                                       \
    });                                                                                       \
  }

KEFU_REPORT_RPC(GetSatisfactionReport, Satisfaction, GetSatisfactionReportRequest,
                GetSatisfactionReportResponse)
KEFU_REPORT_RPC(GetGroupDailyReport, GroupDaily, GetGroupDailyReportRequest,
                GetGroupDailyReportResponse)
KEFU_REPORT_RPC(GetGroupHourlyReport, GroupHourly, GetGroupHourlyReportRequest,
                GetGroupHourlyReportResponse)
KEFU_REPORT_RPC(GetAgentDailyReport, AgentDaily, GetAgentDailyReportRequest,
                GetAgentDailyReportResponse)
KEFU_REPORT_RPC(GetOnlineTimeReport, OnlineTime, GetOnlineTimeReportRequest,
                GetOnlineTimeReportResponse)
KEFU_REPORT_RPC(GetOfflineMessageReport, OfflineMessages, GetOfflineMessageReportRequest,
                GetOfflineMessageReportResponse)
KEFU_REPORT_RPC(GetAgentScorecard, Scorecard, GetAgentScorecardRequest, GetAgentScorecardResponse)
#undef KEFU_REPORT_RPC

grpc::Status ReportServiceImpl::ExportCsv(grpc::ServerContext* context,
                                          const v1::ExportCsvRequest* request,
                                          grpc::ServerWriter<v1::ExportCsvResponse>* writer) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(
        auth::Claims caller,
        auth_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_AGENT, ROLE_SERVICE}));
    std::string file_name;
    KEFU_ASSIGN_OR_RETURN(std::string csv, RenderCsv(*this, caller, *request, &file_name));
    constexpr size_t kChunk = 64 * 1024;
    for (size_t offset = 0; offset == 0 || offset < csv.size(); offset += kChunk) {
      v1::ExportCsvResponse chunk;
      if (offset == 0) chunk.set_file_name(file_name);
      chunk.set_chunk(csv.substr(offset, kChunk));
      if (!writer->Write(chunk)) break;
    }
    return absl::OkStatus();
  });
}

server::ServiceDefinition Definition() {
  auto options = std::make_shared<ReportingOptions>();
  return {.name = "reporting",
          .register_flags =
              [options](FlagSet& flags) {
                flags.String("report-time-zone", "KEFU_REPORT_TIME_ZONE",
                             "IANA zone of report days and hours when a request names none",
                             &options->time_zone);
                flags.Duration("capability-sync-interval", "KEFU_CAPABILITY_SYNC_INTERVAL",
                               "how often agents' capability scores go to the router (0 = off)",
                               &options->capability.interval);
                flags.Duration("capability-window", "KEFU_CAPABILITY_WINDOW",
                               "the record capability scores are computed from",
                               &options->capability.window);
              },
          .setup = [options](server::ServiceContext& ctx) { return SetupWith(ctx, *options); }};
}

absl::Status Setup(server::ServiceContext& ctx) { return SetupWith(ctx, ReportingOptions{}); }

absl::Status SetupWith(server::ServiceContext& ctx, const ReportingOptions& options) {
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(options.time_zone, &zone)) {
    return InvalidField("report-time-zone",
                        absl::StrCat("unknown time zone \"", options.time_zone, "\""));
  }
  KEFU_RETURN_IF_ERROR(ctx.Migrate({"reporting", embedded::ReportingMigrations()}));
  auto store = std::make_shared<ReportStore>(ctx.pg());
  auto live = std::make_shared<LiveReader>(ctx.redis());
  auto consumer_metrics = std::make_shared<ConsumerMetrics>(ctx.registry());
  ctx.AddService(std::make_unique<ReportServiceImpl>(store.get(), &ctx.authenticator(),
                                                     options.time_zone, ctx.registry()),
                 v1::ReportService::service_full_name());
  ctx.AddService(std::make_unique<MonitorServiceImpl>(store.get(), live.get(), &ctx.authenticator(),
                                                      options.time_zone, ctx.registry()),
                 v1::MonitorService::service_full_name());
  CapabilityOptions capability = options.capability;
  if (capability.router_addr.empty()) {
    auto it = ctx.config().peers.find("router");
    if (it != ctx.config().peers.end()) capability.router_addr = it->second;
  }
  auto sync = std::make_shared<CapabilitySync>(capability, store.get(), ctx.redis(),
                                               &ctx.token_codec(), ctx.registry());
  ctx.AddWorker("reporting-events", [store, consumer_metrics, url = ctx.redis_url(),
                                     events = options.events](const std::stop_token& stop) {
    EventConsumer consumer(url, events, store.get(), consumer_metrics.get());
    consumer.Run(stop);
  });
  ctx.AddWorker("reporting-capability", [sync](const std::stop_token& stop) { sync->Run(stop); });
  ctx.Keep(store);
  ctx.Keep(live);
  ctx.Keep(consumer_metrics);
  ctx.Keep(sync);
  return absl::OkStatus();
}

}  // namespace kefu::reporting
