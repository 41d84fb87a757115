#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "libs/auth/token.h"
#include "libs/server/service_main.h"

// One service's real Setup running in-process on 127.0.0.1:0 against the shared Redis and
// a fresh PostgreSQL database: integration tests call it over real gRPC with real tokens.
namespace kefu::testing {

inline constexpr char kTestJwtKey[] = "integration-test-signing-key-0123456789";

struct RunningService {
  std::unique_ptr<server::ServiceRuntime> runtime;
  std::string addr;  // 127.0.0.1:<port>
  std::shared_ptr<grpc::Channel> channel;
  std::string pg_dsn;  // the service's own database (superuser DSN; bypasses RLS)
};

// Starts `definition` with a fresh database named after it; fails the test on error.
RunningService StartService(const server::ServiceDefinition& definition);
// The same on the Redis at `redis_url` (a test's own RedisServer); empty = the shared one.
RunningService StartService(const server::ServiceDefinition& definition,
                            const std::string& redis_url);

// The configuration StartService uses: 127.0.0.1:0, the shared Redis, kTestJwtKey, and
// `pg_dsn` (may be empty) as the service's database.
ServiceConfig TestServiceConfig(const server::ServiceDefinition& definition,
                                const std::string& pg_dsn);

// A token signed with kTestJwtKey.
std::string TokenFor(const std::string& tenant, auth::Role role, const std::string& subject,
                     absl::Duration ttl = absl::Minutes(5));
// A platform service token (a kefu service calling for any tenant).
std::string PlatformToken();

// A ClientContext with a 5 s deadline and, unless `token` is empty, the bearer token.
std::unique_ptr<grpc::ClientContext> CallWith(const std::string& token);

}  // namespace kefu::testing
