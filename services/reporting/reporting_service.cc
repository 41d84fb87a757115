#include "services/reporting/reporting_service.h"

#include "libs/common/status_macros.h"

namespace kefu::reporting {

absl::Status Setup(server::ServiceContext& ctx) {
  KEFU_RETURN_IF_ERROR(ctx.Migrate({"reporting", embedded::ReportingMigrations()}));
  ctx.AddService(std::make_unique<ReportServiceImpl>(), v1::ReportService::service_full_name());
  ctx.AddService(std::make_unique<MonitorServiceImpl>(), v1::MonitorService::service_full_name());
  return absl::OkStatus();
}

}  // namespace kefu::reporting
