#pragma once

#include <vector>

#include "kefu/reporting/v1/monitor.grpc.pb.h"
#include "kefu/reporting/v1/report.grpc.pb.h"
#include "libs/common/embedded.h"
#include "libs/server/service_main.h"

namespace kefu::embedded {
const std::vector<EmbeddedFile>& ReportingMigrations();
}  // namespace kefu::embedded

namespace kefu::reporting {

// kefu.reporting.v1.ReportService. The generated base answers UNIMPLEMENTED for every RPC
// until the issue that builds it overrides them here.
class ReportServiceImpl final : public v1::ReportService::Service {};

// kefu.reporting.v1.MonitorService. The generated base answers UNIMPLEMENTED for every RPC
// until the issue that builds it overrides them here.
class MonitorServiceImpl final : public v1::MonitorService::Service {};

// Builds the reporting service inside ServiceMain: migrations, stores, gRPC services.
absl::Status Setup(server::ServiceContext& ctx);

}  // namespace kefu::reporting
