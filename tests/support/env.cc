#include "tests/support/env.h"

#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "tests/support/servers.h"

namespace kefu::testing {
namespace {

std::unique_ptr<RedisServer> g_redis;  // owned when this process started them
std::unique_ptr<PostgresServer> g_postgres;

TestEnv LoadOrStart() {
  TestEnv env;
  if (const char* file = std::getenv("KEFU_TEST_ENV_FILE"); file != nullptr && *file != '\0') {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
      if (kv.first == "redis_url") env.redis_url = kv.second;
      if (kv.first == "pg_dsn") env.pg_dsn = kv.second;
    }
    if (!env.redis_url.empty() && !env.pg_dsn.empty()) return env;
  }
  auto redis = RedisServer::Start();
  if (!redis.ok()) {
    throw std::runtime_error(
        absl::StrCat("test support: cannot start Redis: ", redis.status().ToString()));
  }
  auto postgres = PostgresServer::Start();
  if (!postgres.ok()) {
    throw std::runtime_error(
        absl::StrCat("test support: cannot start PostgreSQL: ", postgres.status().ToString()));
  }
  g_redis = std::move(*redis);
  g_postgres = std::move(*postgres);
  env.redis_url = g_redis->url();
  env.pg_dsn = g_postgres->dsn();
  return env;
}

}  // namespace

const TestEnv& SharedEnv() {
  static std::once_flag once;
  static TestEnv env;
  std::call_once(once, [] { env = LoadOrStart(); });
  return env;
}

std::string FreshDatabase(const std::string& prefix) {
  auto dsn = CreateDatabase(SharedEnv().pg_dsn, prefix);
  if (!dsn.ok()) throw std::runtime_error(dsn.status().ToString());
  return *dsn;
}

std::string UniqueTenant(const std::string& prefix) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return absl::StrFormat("t-%s-%08x", prefix, static_cast<uint32_t>(rng()));
}

}  // namespace kefu::testing
