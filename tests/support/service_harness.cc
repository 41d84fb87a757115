#include "tests/support/service_harness.h"

#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "libs/auth/authorize.h"
#include "tests/support/env.h"

namespace kefu::testing {

ServiceConfig TestServiceConfig(const server::ServiceDefinition& definition,
                                const std::string& pg_dsn) {
  ServiceConfig config;
  config.service = std::string(definition.name);
  config.grpc_addr = "127.0.0.1:0";
  config.metrics_addr = "";
  config.redis_url = SharedEnv().redis_url;
  config.jwt_key = kTestJwtKey;
  config.health_interval = absl::Milliseconds(200);
  config.drain_timeout = absl::Seconds(1);
  config.pg_dsn = pg_dsn;
  return config;
}

RunningService StartService(const server::ServiceDefinition& definition) {
  return StartService(definition, "");
}

RunningService StartService(const server::ServiceDefinition& definition,
                            const std::string& redis_url) {
  RunningService out;
  const ServiceInfo* info = FindService(definition.name);
  if (info != nullptr && info->needs_postgres) {
    out.pg_dsn = FreshDatabase(std::string(definition.name));
  }
  ServiceConfig config = TestServiceConfig(definition, out.pg_dsn);
  if (!redis_url.empty()) config.redis_url = redis_url;
  auto runtime = server::ServiceRuntime::Start(definition, config);
  if (!runtime.ok()) {
    throw std::runtime_error(
        absl::StrCat("cannot start ", definition.name, ": ", runtime.status().ToString()));
  }
  out.runtime = std::move(*runtime);
  out.addr = absl::StrCat("127.0.0.1:", out.runtime->port());
  out.channel = grpc::CreateChannel(out.addr, grpc::InsecureChannelCredentials());
  return out;
}

std::string TokenFor(const std::string& tenant, auth::Role role, const std::string& subject,
                     absl::Duration ttl) {
  static const auth::TokenCodec codec = *auth::TokenCodec::Create(kTestJwtKey);
  auth::Claims claims;
  claims.tenant_id = tenant;
  claims.role = role;
  claims.subject = subject;
  claims.issued_at = absl::Now();
  claims.expires_at = claims.issued_at + ttl;
  claims.token_id = auth::RandomId();
  return codec.Sign(claims);
}

std::string PlatformToken() {
  static const auth::TokenCodec codec = *auth::TokenCodec::Create(kTestJwtKey);
  return auth::PlatformServiceToken(codec, "test", absl::Minutes(5));
}

std::unique_ptr<grpc::ClientContext> CallWith(const std::string& token) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  if (!token.empty()) auth::AttachToken(ctx.get(), token);
  return ctx;
}

}  // namespace kefu::testing
