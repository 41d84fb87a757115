#pragma once

#include <vector>

#include "kefu/gateway/v1/gateway.grpc.pb.h"
#include "libs/common/embedded.h"
#include "libs/server/service_main.h"

namespace kefu::gateway {

// kefu.gateway.v1.CustomerGatewayService. The generated base answers UNIMPLEMENTED for every RPC
// until the issue that builds it overrides them here.
class CustomerGatewayServiceImpl final : public v1::CustomerGatewayService::Service {};

// kefu.gateway.v1.AgentGatewayService. The generated base answers UNIMPLEMENTED for every RPC
// until the issue that builds it overrides them here.
class AgentGatewayServiceImpl final : public v1::AgentGatewayService::Service {};

// Builds the gateway service inside ServiceMain: migrations, stores, gRPC services.
absl::Status Setup(server::ServiceContext& ctx);

}  // namespace kefu::gateway
