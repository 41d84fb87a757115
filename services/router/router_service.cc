#include "services/router/router_service.h"

#include "libs/common/status_macros.h"

namespace kefu::router {

absl::Status Setup(server::ServiceContext& ctx) {
  KEFU_RETURN_IF_ERROR(ctx.Migrate({"router", embedded::RouterMigrations()}));
  ctx.AddService(std::make_unique<RoutingServiceImpl>(), v1::RoutingService::service_full_name());
  ctx.AddService(std::make_unique<RoutingAdminServiceImpl>(),
                 v1::RoutingAdminService::service_full_name());
  return absl::OkStatus();
}

}  // namespace kefu::router
