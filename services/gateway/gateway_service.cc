#include "services/gateway/gateway_service.h"

#include "libs/common/status_macros.h"

namespace kefu::gateway {

absl::Status Setup(server::ServiceContext& ctx) {
  ctx.AddService(std::make_unique<CustomerGatewayServiceImpl>(),
                 v1::CustomerGatewayService::service_full_name());
  ctx.AddService(std::make_unique<AgentGatewayServiceImpl>(),
                 v1::AgentGatewayService::service_full_name());
  return absl::OkStatus();
}

}  // namespace kefu::gateway
