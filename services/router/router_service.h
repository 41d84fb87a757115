#pragma once

#include <vector>

#include "kefu/router/v1/routing.grpc.pb.h"
#include "kefu/router/v1/routing_admin.grpc.pb.h"
#include "libs/common/embedded.h"
#include "libs/server/service_main.h"

namespace kefu::embedded {
const std::vector<EmbeddedFile>& RouterMigrations();
}  // namespace kefu::embedded

namespace kefu::router {

// kefu.router.v1.RoutingService. The generated base answers UNIMPLEMENTED for every RPC
// until the issue that builds it overrides them here.
class RoutingServiceImpl final : public v1::RoutingService::Service {};

// kefu.router.v1.RoutingAdminService. The generated base answers UNIMPLEMENTED for every RPC
// until the issue that builds it overrides them here.
class RoutingAdminServiceImpl final : public v1::RoutingAdminService::Service {};

// Builds the router service inside ServiceMain: migrations, stores, gRPC services.
absl::Status Setup(server::ServiceContext& ctx);

}  // namespace kefu::router
