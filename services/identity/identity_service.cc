#include "services/identity/identity_service.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "libs/common/status_macros.h"
#include "services/identity/pg_identity_store.h"

namespace kefu::identity {
namespace {

absl::Status Setup(server::ServiceContext& ctx, const AuthSettings& settings) {
  KEFU_RETURN_IF_ERROR(ctx.Migrate({"identity", embedded::IdentityMigrations()}));
  // The store lives as long as the services that use it: both are owned by ctx.
  auto store = std::make_shared<PgIdentityStore>(ctx.pg());
  auto auth = std::make_unique<AuthServiceImpl>(store.get(), &ctx.token_codec(),
                                                &ctx.authenticator(), settings);
  ctx.Keep(std::move(store));
  ctx.AddService(std::move(auth), v1::AuthService::service_full_name());
  for (const char* method : {"Login", "Refresh", "RevokeToken"}) {
    ctx.AddOpenMethod(absl::StrCat("/", v1::AuthService::service_full_name(), "/", method));
  }
  ctx.AddService(std::make_unique<VerificationServiceImpl>(),
                 v1::VerificationService::service_full_name());
  return absl::OkStatus();
}

}  // namespace

server::ServiceDefinition Definition() {
  auto settings = std::make_shared<AuthSettings>();
  return {.name = "identity",
          .register_flags =
              [settings](FlagSet& flags) {
                flags.Duration("access-token-ttl", "KEFU_ACCESS_TOKEN_TTL",
                               "lifetime of access tokens", &settings->access_token_ttl);
                flags.Duration("refresh-token-ttl", "KEFU_REFRESH_TOKEN_TTL",
                               "lifetime of refresh tokens", &settings->refresh_token_ttl);
              },
          .setup = [settings](server::ServiceContext& ctx) { return Setup(ctx, *settings); }};
}

}  // namespace kefu::identity
