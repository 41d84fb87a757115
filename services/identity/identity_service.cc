#include "services/identity/identity_service.h"

#include "libs/common/status_macros.h"

namespace kefu::identity {

absl::Status Setup(server::ServiceContext& ctx) {
  KEFU_RETURN_IF_ERROR(ctx.Migrate({"identity", embedded::IdentityMigrations()}));
  ctx.AddService(std::make_unique<AuthServiceImpl>(), v1::AuthService::service_full_name());
  ctx.AddService(std::make_unique<VerificationServiceImpl>(),
                 v1::VerificationService::service_full_name());
  return absl::OkStatus();
}

}  // namespace kefu::identity
