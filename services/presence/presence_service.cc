#include "services/presence/presence_service.h"

#include "libs/common/status_macros.h"

namespace kefu::presence {

absl::Status Setup(server::ServiceContext& ctx) {
  ctx.AddService(std::make_unique<PresenceServiceImpl>(), v1::PresenceService::service_full_name());
  return absl::OkStatus();
}

}  // namespace kefu::presence
