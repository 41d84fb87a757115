#pragma once

#include <grpcpp/client_context.h>
#include <grpcpp/server_context.h>

#include <initializer_list>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/auth/token.h"

// What handlers call first: who is calling, may they, and for which tenant (F70).
namespace kefu::auth {

class Authenticator final {
 public:
  explicit Authenticator(const TokenCodec* codec) : codec_(codec) {}

  // Verifies "authorization: Bearer <token>"; UNAUTHENTICATED when absent or bad.
  absl::StatusOr<Claims> Authenticate(const grpc::ServerContextBase& ctx) const;
  absl::StatusOr<Claims> AuthenticateHeader(absl::string_view authorization) const;

  // Authenticate, then PERMISSION_DENIED unless the caller's role is one of `roles`.
  // Refresh tokens never pass: they only buy new access tokens.
  absl::StatusOr<Claims> Require(const grpc::ServerContextBase& ctx,
                                 std::initializer_list<Role> roles) const;

 private:
  const TokenCodec* codec_;
};

// The tenant a call acts in. A tenant's token acts in its own tenant: `request_tenant`
// must be empty or name it. A platform service token (kefu services calling each
// other) acts for the tenant the request names, which is then required.
absl::StatusOr<std::string> ActingTenant(const Claims& claims, absl::string_view request_tenant);

// PERMISSION_DENIED: "role agent may not call CreateUser (needs admin)".
absl::Status RoleDenied(const Claims& claims, absl::string_view what,
                        std::initializer_list<Role> roles);

// Adds the bearer token to an outgoing call.
void AttachToken(grpc::ClientContext* ctx, absl::string_view token);

}  // namespace kefu::auth
