// Domain events over real Redis Streams: at-least-once delivery per consumer group.
#include "libs/events/events.h"

#include <catch2/catch.hpp>
#include <map>
#include <set>

#include "tests/support/env.h"

namespace {

using kefu::events::v1::Event;

kefu::events::ConsumerOptions Options(const std::string& group, const std::string& consumer) {
  kefu::events::ConsumerOptions options;
  options.group = group;
  options.consumer = consumer;
  options.block = absl::Milliseconds(100);
  options.claim_idle = absl::Milliseconds(300);
  options.tenant_refresh = absl::Milliseconds(100);
  return options;
}

Event StatusChange(const std::string& tenant, const std::string& agent) {
  Event event;
  event.set_tenant_id(tenant);
  event.mutable_agent_status_changed()->set_agent_id(agent);
  event.mutable_agent_status_changed()->set_status(kefu::common::v1::AGENT_STATUS_ONLINE);
  return event;
}

// Polls until `want` deliveries of `tenant` arrived (other tests' tenants share the
// server and are ignored) or `limit` passed.
std::vector<kefu::events::Delivery> Collect(kefu::events::Consumer& consumer,
                                            const std::string& tenant, size_t want,
                                            absl::Duration limit = absl::Seconds(5)) {
  std::vector<kefu::events::Delivery> got;
  const absl::Time deadline = absl::Now() + limit;
  while (got.size() < want && absl::Now() < deadline) {
    auto batch = consumer.Poll();
    REQUIRE(batch.ok());
    for (auto& delivery : *batch) {
      if (delivery.tenant_id == tenant) got.push_back(std::move(delivery));
    }
  }
  return got;
}

kefu::redis::Pool MakePool() {
  kefu::redis::PoolOptions options;
  options.url = *kefu::redis::ParseUrl(kefu::testing::SharedEnv().redis_url);
  return kefu::redis::Pool(options);
}

}  // namespace

TEST_CASE(
    "each consumer group gets every event, and unacknowledged ones come back after a restart") {
  auto pool = MakePool();
  kefu::events::Publisher publisher(&pool, "presence");
  const std::string tenant = kefu::testing::UniqueTenant("ev");
  const std::string group = kefu::testing::UniqueTenant("crm");
  const auto url = *kefu::redis::ParseUrl(kefu::testing::SharedEnv().redis_url);

  std::vector<std::string> agents = {"a1", "a2", "a3"};
  for (const auto& agent : agents) REQUIRE(publisher.Publish(StatusChange(tenant, agent)).ok());

  std::string redelivered_id;
  {
    kefu::events::Consumer crm(url, Options(group, "crm-1"));
    auto got = Collect(crm, tenant, 3);
    REQUIRE(got.size() == 3);
    for (size_t i = 0; i < got.size(); ++i) {
      CHECK(got[i].event.agent_status_changed().agent_id() == agents[i]);
      CHECK(got[i].event.event_id().size() == 32);
      CHECK(got[i].event.producer() == "presence");
      CHECK(got[i].event.has_occurred_time());
      CHECK(kefu::events::PayloadName(got[i].event) == "agent_status_changed");
    }
    REQUIRE(crm.Ack(got[0]).ok());
    REQUIRE(crm.Ack(got[1]).ok());
    redelivered_id = got[2].event.event_id();
    // crm-1 "crashes" here with the third event read but not acknowledged.
  }
  kefu::events::Consumer restarted(url, Options(group, "crm-1"));
  auto again = Collect(restarted, tenant, 1);
  REQUIRE(again.size() == 1);
  CHECK(again[0].event.event_id() == redelivered_id);
  REQUIRE(restarted.Ack(again[0]).ok());
  CHECK(Collect(restarted, tenant, 1, absl::Seconds(1)).empty());

  // Another group (reporting) independently gets all three.
  kefu::events::Consumer reporting(url, Options(group + "-reporting", "rep-1"));
  CHECK(Collect(reporting, tenant, 3).size() == 3);
}

TEST_CASE("entries a dead consumer left unacknowledged are claimed by another replica") {
  auto pool = MakePool();
  kefu::events::Publisher publisher(&pool, "router");
  const std::string tenant = kefu::testing::UniqueTenant("claim");
  const std::string group = kefu::testing::UniqueTenant("grp");
  const auto url = *kefu::redis::ParseUrl(kefu::testing::SharedEnv().redis_url);
  REQUIRE(publisher.Publish(StatusChange(tenant, "a9")).ok());

  {
    kefu::events::Consumer dead(url, Options(group, "replica-a"));
    REQUIRE(Collect(dead, tenant, 1).size() == 1);  // read, never acknowledged
  }
  absl::SleepFor(absl::Milliseconds(400));  // above claim_idle
  kefu::events::Consumer survivor(url, Options(group, "replica-b"));
  auto claimed = Collect(survivor, tenant, 1);
  REQUIRE(claimed.size() == 1);
  CHECK(claimed[0].event.agent_status_changed().agent_id() == "a9");
}

TEST_CASE("an event without tenant or payload is refused before it reaches Redis") {
  auto pool = MakePool();
  kefu::events::Publisher publisher(&pool, "router");
  Event no_payload;
  no_payload.set_tenant_id("acme");
  CHECK(publisher.Publish(no_payload).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(publisher.Publish(StatusChange("", "a1")).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(publisher.Publish(StatusChange("ACME:{x}", "a1")).status().code() ==
        absl::StatusCode::kInvalidArgument);
}
