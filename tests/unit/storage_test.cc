#include <catch2/catch.hpp>

#include "libs/events/events.h"
#include "libs/pg/migrate.h"
#include "libs/pg/pool.h"
#include "libs/redis/client.h"

TEST_CASE("redis URLs parse host, port, password and database") {
  auto full = kefu::redis::ParseUrl("redis://:s3cret@cache.internal:6380/2");
  REQUIRE(full.ok());
  CHECK(full->host == "cache.internal");
  CHECK(full->port == 6380);
  CHECK(full->password == "s3cret");
  CHECK(full->db == 2);

  auto bare = kefu::redis::ParseUrl("redis://redis");
  REQUIRE(bare.ok());
  CHECK(bare->host == "redis");
  CHECK(bare->port == 6379);
  CHECK(bare->db == 0);

  CHECK(kefu::redis::ParseUrl("http://redis").status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(kefu::redis::ParseUrl("redis://redis:notaport").status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(kefu::redis::ParseUrl("redis://redis/x").status().code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("script error replies with a code name become that status") {
  auto not_found = kefu::redis::StatusFromErrorReply("NOT_FOUND contact c-1 is not queued");
  CHECK(not_found.code() == absl::StatusCode::kNotFound);
  CHECK(not_found.message() == "contact c-1 is not queued");
  CHECK(kefu::redis::StatusFromErrorReply("FAILED_PRECONDITION agent at capacity").code() ==
        absl::StatusCode::kFailedPrecondition);
  CHECK(kefu::redis::StatusFromErrorReply("LOADING Redis is loading the dataset").code() ==
        absl::StatusCode::kUnavailable);
  CHECK(kefu::redis::StatusFromErrorReply("WRONGTYPE Operation against a key").code() ==
        absl::StatusCode::kInternal);
}

TEST_CASE("migration files are numbered and must ascend") {
  CHECK(*kefu::pg::MigrationVersion("001_init.sql") == 1);
  CHECK(*kefu::pg::MigrationVersion("042_add_rls.sql") == 42);
  CHECK_FALSE(kefu::pg::MigrationVersion("init.sql").ok());
  CHECK_FALSE(kefu::pg::MigrationVersion("001_init.txt").ok());
  CHECK_FALSE(kefu::pg::MigrationVersion("000_zero.sql").ok());

  kefu::pg::MigrationSet ok{"router", {{"001_a.sql", ""}, {"002_b.sql", ""}, {"010_c.sql", ""}}};
  CHECK(kefu::pg::ValidateMigrationSet(ok).ok());
  kefu::pg::MigrationSet twice{"router", {{"001_a.sql", ""}, {"001_b.sql", ""}}};
  CHECK_FALSE(kefu::pg::ValidateMigrationSet(twice).ok());
  kefu::pg::MigrationSet bad_schema{"Router; DROP", {{"001_a.sql", ""}}};
  CHECK_FALSE(kefu::pg::ValidateMigrationSet(bad_schema).ok());
}

TEST_CASE("DSNs get a connect timeout in either syntax") {
  CHECK(kefu::pg::DsnWithOptions("host=db dbname=kefu", absl::Seconds(3), "kefu-crm") ==
        "host=db dbname=kefu connect_timeout=3 application_name=kefu-crm");
  CHECK(kefu::pg::DsnWithOptions("postgres://u@db/kefu", absl::Seconds(2), "kefu-kb") ==
        "postgres://u@db/kefu?connect_timeout=2&application_name=kefu-kb");
  CHECK(kefu::pg::DsnWithOptions("postgres://u@db/kefu?sslmode=require", absl::Seconds(2),
                                 "kefu-kb") ==
        "postgres://u@db/kefu?sslmode=require&connect_timeout=2&application_name=kefu-kb");
}

TEST_CASE("tenant keys share one hash slot per tenant and refuse unsafe ids") {
  CHECK(kefu::events::StreamKey("acme") == "kefu:{t:acme}:events");
  CHECK(kefu::events::TenantKey("acme", "queue:vip") == "kefu:{t:acme}:queue:vip");
  CHECK(kefu::events::ValidateTenantId("acme-shop_1").ok());
  CHECK_FALSE(kefu::events::ValidateTenantId("").ok());
  CHECK_FALSE(kefu::events::ValidateTenantId("a}b").ok());
  CHECK_FALSE(kefu::events::ValidateTenantId("Acme").ok());
  CHECK_FALSE(kefu::events::ValidateTenantId(std::string(65, 'a')).ok());
  CHECK(kefu::events::NewEventId().size() == 32);
  CHECK(kefu::events::NewEventId() != kefu::events::NewEventId());
}

TEST_CASE("a poll's events are grouped by tenant and keep each tenant's stream order") {
  std::vector<kefu::events::Delivery> deliveries(5);
  const char* tenants[] = {"shop-b", "shop-a", "shop-b", "shop-a", "shop-b"};
  for (size_t i = 0; i < deliveries.size(); ++i) {
    deliveries[i].tenant_id = tenants[i];
    deliveries[i].stream_id = std::to_string(i);
    deliveries[i].event.set_event_id("e" + std::to_string(i));
  }
  std::vector<const kefu::events::Delivery*> all;
  for (const auto& d : deliveries) all.push_back(&d);
  const auto batches = kefu::events::ByTenant(all);
  REQUIRE(batches.size() == 2);
  CHECK(batches[0].tenant_id == "shop-a");
  CHECK(batches[1].tenant_id == "shop-b");
  auto ids = [](const kefu::events::TenantBatch& b) {
    std::vector<std::string> out;
    for (size_t i = 0; i < b.deliveries.size(); ++i) {
      CHECK(b.events[i] == &b.deliveries[i]->event);  // the same event, not a copy
      out.push_back(b.events[i]->event_id());
    }
    return out;
  };
  CHECK(ids(batches[0]) == std::vector<std::string>{"e1", "e3"});
  CHECK(ids(batches[1]) == std::vector<std::string>{"e0", "e2", "e4"});
}
