#include "tools/kefuctl/ctl.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "libs/auth/authorize.h"
#include "libs/auth/token.h"
#include "libs/common/status.h"

namespace kefu::ctl {

std::shared_ptr<grpc::Channel> CtlContext::Channel(const std::string& service) const {
  return grpc::CreateChannel(peers.at(service), grpc::InsecureChannelCredentials());
}

absl::StatusOr<std::unique_ptr<grpc::ClientContext>> CtlContext::Call(bool platform) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  if (!token.empty() && !platform) {
    auth::AttachToken(ctx.get(), token);
    return ctx;
  }
  if (jwt_key.empty()) {
    return absl::UnauthenticatedError(
        "no credentials: pass --token (from `kefuctl login`) or set KEFU_JWT_KEY");
  }
  auto codec = auth::TokenCodec::Create(jwt_key);
  if (!codec.ok()) return codec.status();
  if (platform) {
    auth::AttachToken(ctx.get(), auth::PlatformServiceToken(*codec, "kefuctl", absl::Minutes(5)));
    return ctx;
  }
  if (tenant.empty()) {
    return absl::InvalidArgumentError("--tenant: required with KEFU_JWT_KEY (or pass --token)");
  }
  auth::Claims claims;
  claims.tenant_id = tenant;
  claims.subject = "kefuctl";
  claims.role = kefu::common::v1::ROLE_ADMIN;
  claims.issued_at = absl::Now();
  claims.expires_at = claims.issued_at + absl::Minutes(5);
  claims.token_id = auth::RandomId();
  auth::AttachToken(ctx.get(), codec->Sign(claims));
  return ctx;
}

int Failed(const grpc::Status& status) { return Failed(FromGrpcStatus(status)); }

int Failed(const absl::Status& status) {
  std::fprintf(stderr, "kefuctl: %s\n", status.ToString().c_str());
  return 1;
}

}  // namespace kefu::ctl
