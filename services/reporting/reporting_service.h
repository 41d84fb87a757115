#pragma once

#include <prometheus/histogram.h>

#include <string>
#include <vector>

#include "kefu/reporting/v1/monitor.grpc.pb.h"
#include "kefu/reporting/v1/report.grpc.pb.h"
#include "libs/auth/authorize.h"
#include "libs/common/embedded.h"
#include "libs/server/service_main.h"
#include "services/reporting/capability.h"
#include "services/reporting/event_consumer.h"
#include "services/reporting/monitor.h"
#include "services/reporting/report_store.h"

namespace kefu::embedded {
const std::vector<EmbeddedFile>& ReportingMigrations();
}  // namespace kefu::embedded

namespace kefu::reporting {

struct ReportingOptions {
  EventConsumerOptions events;
  CapabilityOptions capability;
  // --report-time-zone: the zone of days and hours when a request names none (the
  // tenant default of identity's settings is Asia/Shanghai too).
  std::string time_zone = "Asia/Shanghai";
};

// kefu.reporting.v1.ReportService (F61-F67): admin, supervisor and service callers see the
// whole tenant; an agent only the agent-keyed reports, about themselves.
//   kefu_reporting_query_duration_seconds{report}  time of each report query
class ReportServiceImpl final : public v1::ReportService::Service {
 public:
  ReportServiceImpl(ReportStore* store, const auth::Authenticator* auth,
                    std::string default_time_zone, prometheus::Registry& registry);

  grpc::Status GetSatisfactionReport(grpc::ServerContext* context,
                                     const v1::GetSatisfactionReportRequest* request,
                                     v1::GetSatisfactionReportResponse* response) override;
  grpc::Status GetGroupDailyReport(grpc::ServerContext* context,
                                   const v1::GetGroupDailyReportRequest* request,
                                   v1::GetGroupDailyReportResponse* response) override;
  grpc::Status GetGroupHourlyReport(grpc::ServerContext* context,
                                    const v1::GetGroupHourlyReportRequest* request,
                                    v1::GetGroupHourlyReportResponse* response) override;
  grpc::Status GetAgentDailyReport(grpc::ServerContext* context,
                                   const v1::GetAgentDailyReportRequest* request,
                                   v1::GetAgentDailyReportResponse* response) override;
  grpc::Status GetOnlineTimeReport(grpc::ServerContext* context,
                                   const v1::GetOnlineTimeReportRequest* request,
                                   v1::GetOnlineTimeReportResponse* response) override;
  grpc::Status GetOfflineMessageReport(grpc::ServerContext* context,
                                       const v1::GetOfflineMessageReportRequest* request,
                                       v1::GetOfflineMessageReportResponse* response) override;
  grpc::Status GetAgentScorecard(grpc::ServerContext* context,
                                 const v1::GetAgentScorecardRequest* request,
                                 v1::GetAgentScorecardResponse* response) override;
  grpc::Status ExportCsv(grpc::ServerContext* context, const v1::ExportCsvRequest* request,
                         grpc::ServerWriter<v1::ExportCsvResponse>* writer) override;

  // The handlers without gRPC: `caller` already authenticated. Paging fields are honoured
  // unless `all` (CSV export).
  absl::Status Satisfaction(const auth::Claims& caller, const v1::GetSatisfactionReportRequest& r,
                            bool all, v1::GetSatisfactionReportResponse* out);
  absl::Status GroupDaily(const auth::Claims& caller, const v1::GetGroupDailyReportRequest& r,
                          bool all, v1::GetGroupDailyReportResponse* out);
  absl::Status GroupHourly(const auth::Claims& caller, const v1::GetGroupHourlyReportRequest& r,
                           bool all, v1::GetGroupHourlyReportResponse* out);
  absl::Status AgentDaily(const auth::Claims& caller, const v1::GetAgentDailyReportRequest& r,
                          bool all, v1::GetAgentDailyReportResponse* out);
  absl::Status OnlineTime(const auth::Claims& caller, const v1::GetOnlineTimeReportRequest& r,
                          bool all, v1::GetOnlineTimeReportResponse* out);
  absl::Status OfflineMessages(const auth::Claims& caller,
                               const v1::GetOfflineMessageReportRequest& r, bool all,
                               v1::GetOfflineMessageReportResponse* out);
  absl::Status Scorecard(const auth::Claims& caller, const v1::GetAgentScorecardRequest& r,
                         bool all, v1::GetAgentScorecardResponse* out);

 private:
  absl::StatusOr<ReportQuery> QueryOf(const auth::Claims& caller, const v1::ReportFilter& filter,
                                      bool agent_report);
  prometheus::Histogram& Timer(const char* report);

  ReportStore* store_;
  const auth::Authenticator* auth_;
  const std::string default_time_zone_;
  prometheus::Family<prometheus::Histogram>& query_seconds_;
};

// The CSV of one export request's rows (RFC 4180, UTF-8 with BOM, CRLF), headers in
// `language` (ZH unless EN). `file_name` is set to a suggested name.
absl::StatusOr<std::string> RenderCsv(ReportServiceImpl& service, const auth::Claims& caller,
                                      const v1::ExportCsvRequest& request, std::string* file_name);

// The service with its flags (--report-time-zone, --capability-sync-interval,
// --capability-window, --router-addr peer), for ServiceMain.
server::ServiceDefinition Definition();
// Builds the reporting service: migrations, store, event consumer, capability sync,
// ReportService and MonitorService.
absl::Status Setup(server::ServiceContext& ctx);
absl::Status SetupWith(server::ServiceContext& ctx, const ReportingOptions& options);

}  // namespace kefu::reporting
