#pragma once

#include <vector>

#include "kefu/identity/v1/auth.grpc.pb.h"
#include "kefu/identity/v1/verification.grpc.pb.h"
#include "libs/common/embedded.h"
#include "libs/server/service_main.h"

namespace kefu::embedded {
const std::vector<EmbeddedFile>& IdentityMigrations();
}  // namespace kefu::embedded

namespace kefu::identity {

// kefu.identity.v1.AuthService. The generated base answers UNIMPLEMENTED for every RPC
// until the issue that builds it overrides them here.
class AuthServiceImpl final : public v1::AuthService::Service {};

// kefu.identity.v1.VerificationService. The generated base answers UNIMPLEMENTED for every RPC
// until the issue that builds it overrides them here.
class VerificationServiceImpl final : public v1::VerificationService::Service {};

// Builds the identity service inside ServiceMain: migrations, stores, gRPC services.
absl::Status Setup(server::ServiceContext& ctx);

}  // namespace kefu::identity
