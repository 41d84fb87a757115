#pragma once

#include <vector>

#include "kefu/identity/v1/auth.grpc.pb.h"
#include "kefu/identity/v1/verification.grpc.pb.h"
#include "libs/common/embedded.h"
#include "libs/server/service_main.h"
#include "services/identity/auth_service.h"
#include "services/identity/verification_service.h"

namespace kefu::embedded {
const std::vector<EmbeddedFile>& IdentityMigrations();
}  // namespace kefu::embedded

namespace kefu::identity {

// The identity service for ServiceMain or a test's ServiceRuntime: its flags
// (--access-token-ttl, --refresh-token-ttl, the --voice-* / --challenge-* /
// --voiceprint-key flags of VerificationService) and its Setup.
server::ServiceDefinition Definition();

}  // namespace kefu::identity
