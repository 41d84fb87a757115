#pragma once

#include <vector>

#include "kefu/presence/v1/presence.grpc.pb.h"
#include "libs/common/embedded.h"
#include "libs/server/service_main.h"

namespace kefu::presence {

// kefu.presence.v1.PresenceService. The generated base answers UNIMPLEMENTED for every RPC
// until the issue that builds it overrides them here.
class PresenceServiceImpl final : public v1::PresenceService::Service {};

// Builds the presence service inside ServiceMain: migrations, stores, gRPC services.
absl::Status Setup(server::ServiceContext& ctx);

}  // namespace kefu::presence
