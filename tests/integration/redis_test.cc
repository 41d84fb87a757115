// The Redis wrapper against a real redis-server (tests/support).
#include <catch2/catch.hpp>

#include "libs/redis/client.h"
#include "libs/redis/script.h"
#include "tests/support/env.h"
#include "tests/support/servers.h"

namespace {

kefu::redis::Pool MakePool(const std::string& url) {
  kefu::redis::PoolOptions options;
  options.url = *kefu::redis::ParseUrl(url);
  options.size = 2;
  options.timeout = absl::Milliseconds(500);
  return kefu::redis::Pool(options);
}

std::string Get(kefu::redis::Pool& pool, const std::string& key) {
  auto reply = pool.Command({"GET", key});
  REQUIRE(reply.ok());
  return std::string(kefu::redis::ReplyString(**reply));
}

constexpr char kIncrBy[] = R"lua(
-- KEYS[1] counter; ARGV[1] step. Refuses to go above 10 with a coded error.
local next = redis.call('INCRBY', KEYS[1], ARGV[1])
if next > 10 then
  redis.call('DECRBY', KEYS[1], ARGV[1])
  return redis.error_reply('FAILED_PRECONDITION counter would pass 10')
end
return next
)lua";

}  // namespace

TEST_CASE("a value written through the pool is read back from the real Redis server") {
  auto pool = MakePool(kefu::testing::SharedEnv().redis_url);
  const std::string key = "kefu:{t:" + kefu::testing::UniqueTenant("rw") + "}:greeting";
  REQUIRE(pool.Command({"SET", key, "你好"}).ok());
  CHECK(Get(pool, key) == "你好");
  REQUIRE(pool.Ping().ok());
}

TEST_CASE("a Lua script runs by SHA, reports coded errors, and survives SCRIPT FLUSH") {
  auto pool = MakePool(kefu::testing::SharedEnv().redis_url);
  kefu::redis::Script script("incr_by", kIncrBy);
  const std::string key = "kefu:{t:" + kefu::testing::UniqueTenant("lua") + "}:n";

  auto first = script.Run(pool, {key}, {"4"});
  REQUIRE(first.ok());
  CHECK((*first)->integer == 4);

  // The server forgets every script (as after a restart without persistence of scripts):
  // the next call gets NOSCRIPT, loads the script again and still succeeds.
  REQUIRE(pool.Command({"SCRIPT", "FLUSH"}).ok());
  auto second = script.Run(pool, {key}, {"5"});
  REQUIRE(second.ok());
  CHECK((*second)->integer == 9);

  auto refused = script.Run(pool, {key}, {"5"});
  CHECK(refused.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(refused.status().message() == "counter would pass 10");
  CHECK(Get(pool, key) == "9");
}

TEST_CASE("the pool heals after Redis restarts, and AOF keeps the data") {
  auto server = kefu::testing::RedisServer::Start();
  REQUIRE(server.ok());
  auto pool = MakePool((*server)->url());
  REQUIRE(pool.Command({"SET", "kefu:{t:x}:k", "kept"}).ok());

  REQUIRE((*server)->Kill().ok());
  CHECK(pool.Ping().code() == absl::StatusCode::kUnavailable);

  // SIGKILL may lose the last second of an everysec AOF; SET again is not the point here.
  REQUIRE((*server)->Restart().ok());
  REQUIRE(pool.Ping().ok());
  REQUIRE(pool.Command({"SET", "kefu:{t:x}:k2", "after"}).ok());
  CHECK(Get(pool, "kefu:{t:x}:k2") == "after");

  // A clean restart (SIGTERM) flushes the AOF: what was written is there afterwards.
  // (The first call after a restart finds its pooled connection dead; Ping, as the
  // health monitor does every interval, retries on a fresh one.)
  REQUIRE((*server)->Restart().ok());
  REQUIRE(pool.Ping().ok());
  CHECK(Get(pool, "kefu:{t:x}:k2") == "after");
}
