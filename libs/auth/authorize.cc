#include "libs/auth/authorize.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "libs/common/status.h"

namespace kefu::auth {

absl::StatusOr<Claims> Authenticator::AuthenticateHeader(absl::string_view authorization) const {
  constexpr absl::string_view kBearer = "Bearer ";
  if (authorization.empty()) {
    return absl::UnauthenticatedError("missing authorization metadata: send Bearer <token>");
  }
  if (!absl::StartsWith(authorization, kBearer)) {
    return absl::UnauthenticatedError("authorization metadata must be \"Bearer <token>\"");
  }
  return codec_->Verify(authorization.substr(kBearer.size()), absl::Now());
}

absl::StatusOr<Claims> Authenticator::Authenticate(const grpc::ServerContextBase& ctx) const {
  const auto& metadata = ctx.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) return AuthenticateHeader("");
  return AuthenticateHeader(absl::string_view(it->second.data(), it->second.size()));
}

absl::StatusOr<Claims> Authenticator::Require(const grpc::ServerContextBase& ctx,
                                              std::initializer_list<Role> roles) const {
  auto claims = Authenticate(ctx);
  if (!claims.ok()) return claims.status();
  if (claims->kind != "access") {
    return absl::UnauthenticatedError("token: a refresh token is not an access token");
  }
  for (Role role : roles) {
    if (claims->role == role) return claims;
  }
  return RoleDenied(*claims, "this RPC", roles);
}

absl::Status RoleDenied(const Claims& claims, absl::string_view what,
                        std::initializer_list<Role> roles) {
  std::vector<absl::string_view> names;
  for (Role role : roles) names.push_back(RoleName(role));
  return absl::PermissionDeniedError(absl::StrCat("role ", RoleName(claims.role), " may not call ",
                                                  what, " (needs ", absl::StrJoin(names, " or "),
                                                  ")"));
}

absl::StatusOr<std::string> ActingTenant(const Claims& claims, absl::string_view request_tenant) {
  if (claims.platform()) {
    if (request_tenant.empty()) {
      return InvalidField("tenant_id", "required when a kefu service calls for a tenant");
    }
    return std::string(request_tenant);
  }
  if (!request_tenant.empty() && request_tenant != claims.tenant_id) {
    return absl::PermissionDeniedError(absl::StrCat("tenant_id: your token acts in tenant \"",
                                                    claims.tenant_id, "\", not \"", request_tenant,
                                                    "\""));
  }
  return claims.tenant_id;
}

void AttachToken(grpc::ClientContext* ctx, absl::string_view token) {
  ctx->AddMetadata("authorization", absl::StrCat("Bearer ", token));
}

}  // namespace kefu::auth
