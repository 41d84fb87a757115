#pragma once

#include <vector>

#include "kefu/identity/v1/auth.grpc.pb.h"
#include "kefu/identity/v1/verification.grpc.pb.h"
#include "libs/common/embedded.h"
#include "libs/server/service_main.h"
#include "services/identity/auth_service.h"

namespace kefu::embedded {
const std::vector<EmbeddedFile>& IdentityMigrations();
}  // namespace kefu::embedded

namespace kefu::identity {

// kefu.identity.v1.VerificationService. The generated base answers UNIMPLEMENTED for every
// RPC until the voiceprint issue overrides them here.
class VerificationServiceImpl final : public v1::VerificationService::Service {};

// The identity service for ServiceMain or a test's ServiceRuntime: its flags
// (--access-token-ttl, --refresh-token-ttl) and its Setup.
server::ServiceDefinition Definition();

}  // namespace kefu::identity
