#include "libs/common/config.h"

#include <catch2/catch.hpp>
#include <map>
#include <string>

namespace {

using kefu::FlagSet;

FlagSet::GetEnv EnvOf(std::map<std::string, std::string> env) {
  return [env = std::move(env)](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
}

struct Parsed {
  kefu::ServiceConfig config;
  absl::Status status;
};

Parsed ParseRouter(std::vector<const char*> argv, std::map<std::string, std::string> env) {
  Parsed out;
  FlagSet flags("kefu-router");
  kefu::RegisterServiceFlags(*kefu::FindService("router"), &flags, &out.config);
  argv.insert(argv.begin(), "kefu-router");
  out.status = flags.Parse(static_cast<int>(argv.size()), argv.data(), EnvOf(std::move(env)));
  return out;
}

}  // namespace

TEST_CASE("service defaults follow the port table of ARCHITECTURE.md") {
  auto parsed = ParseRouter({}, {});
  REQUIRE(parsed.status.ok());
  CHECK(parsed.config.grpc_addr == "0.0.0.0:7003");
  CHECK(parsed.config.metrics_addr == "0.0.0.0:9103");
  CHECK(parsed.config.peers.at("gateway") == "127.0.0.1:7001");
  CHECK(parsed.config.peers.at("reporting") == "127.0.0.1:7007");
}

TEST_CASE("an environment variable sets a value and a flag overrides it") {
  auto env_only = ParseRouter({}, {{"KEFU_GRPC_ADDR", "127.0.0.1:17003"},
                                   {"KEFU_PG_DSN", "host=db"},
                                   {"KEFU_IDENTITY_ADDR", "identity:7002"}});
  REQUIRE(env_only.status.ok());
  CHECK(env_only.config.grpc_addr == "127.0.0.1:17003");
  CHECK(env_only.config.pg_dsn == "host=db");
  CHECK(env_only.config.peers.at("identity") == "identity:7002");

  auto both = ParseRouter({"--grpc-addr=127.0.0.1:27003", "--pg-dsn", "host=other"},
                          {{"KEFU_GRPC_ADDR", "127.0.0.1:17003"}, {"KEFU_PG_DSN", "host=db"}});
  REQUIRE(both.status.ok());
  CHECK(both.config.grpc_addr == "127.0.0.1:27003");
  CHECK(both.config.pg_dsn == "host=other");
}

TEST_CASE("durations parse with units and bad ones name the variable") {
  auto ok = ParseRouter({"--drain-timeout=1500ms"}, {{"KEFU_HEALTH_INTERVAL", "250ms"}});
  REQUIRE(ok.status.ok());
  CHECK(ok.config.drain_timeout == absl::Milliseconds(1500));
  CHECK(ok.config.health_interval == absl::Milliseconds(250));

  auto bad = ParseRouter({}, {{"KEFU_HEALTH_INTERVAL", "soon"}});
  REQUIRE(bad.status.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(bad.status.message()),
             Catch::Contains("--health-interval") && Catch::Contains("KEFU_HEALTH_INTERVAL"));
}

TEST_CASE("an unknown flag is refused with a pointer to --help") {
  auto parsed = ParseRouter({"--grpc-adr=:1"}, {});
  REQUIRE(parsed.status.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(parsed.status.message()),
             Catch::Contains("--grpc-adr") && Catch::Contains("--help"));
}

TEST_CASE("validation names the field that is wrong") {
  const auto& router = *kefu::FindService("router");
  auto parsed = ParseRouter({}, {});
  REQUIRE(parsed.status.ok());

  auto missing_dsn = kefu::ValidateServiceConfig(router, parsed.config);
  CHECK(missing_dsn.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(missing_dsn.message()), Catch::StartsWith("--pg-dsn"));

  parsed.config.pg_dsn = "host=db";
  CHECK(kefu::ValidateServiceConfig(router, parsed.config).ok());

  parsed.config.grpc_addr = "localhost";
  CHECK_THAT(std::string(kefu::ValidateServiceConfig(router, parsed.config).message()),
             Catch::StartsWith("--grpc-addr"));
  parsed.config.grpc_addr = "localhost:70000";
  CHECK_THAT(std::string(kefu::ValidateServiceConfig(router, parsed.config).message()),
             Catch::Contains("port"));
  parsed.config.grpc_addr = "[::]:7003";
  parsed.config.redis_url = "http://x";
  CHECK_THAT(std::string(kefu::ValidateServiceConfig(router, parsed.config).message()),
             Catch::StartsWith("--redis-url"));
}

TEST_CASE("services without PostgreSQL do not ask for a DSN") {
  kefu::ServiceConfig config;
  FlagSet flags("kefu-gateway");
  const auto& gateway = *kefu::FindService("gateway");
  kefu::RegisterServiceFlags(gateway, &flags, &config);
  const char* argv[] = {"kefu-gateway", "--pg-dsn=x"};
  CHECK_FALSE(flags.Parse(2, argv, EnvOf({})).ok());
  CHECK(kefu::ValidateServiceConfig(gateway, config).ok());
  CHECK_THAT(flags.Usage(), Catch::Contains("KEFU_REDIS_URL") && !Catch::Contains("KEFU_PG_DSN"));
}
