// The ring-all strategy (F12): every eligible agent is offered the contact at once; the
// first accept wins and the other offers are withdrawn.
#include "tests/integration/routing_harness.h"

TEST_CASE("ring-all offers every free agent and the first accept wins") {
  Centre c;
  c.Queue("ring", rv1::ROUTING_STRATEGY_RING_ALL, true);
  c.Department("sales", "ring");
  for (const char* a : {"a1", "a2", "a3"}) c.Agent(a, {"sales"}, 2, ONLINE);
  c.Agent("away", {"sales"}, 2, AWAY);

  auto queued = c.Enqueue("c1", REGULAR);
  CHECK(queued.routing().state() == OFFERED);
  std::map<std::string, rv1::OfferRef> offers;
  for (const auto& offer : queued.routing().offers()) offers[offer.agent_id()] = offer;
  REQUIRE(offers.size() == 3);  // everyone ONLINE, nobody AWAY
  CHECK(c.Contact("c1").offers_size() == 3);
  for (const char* a : {"a1", "a2", "a3"}) CHECK(c.Load(a) == 1);  // a slot held on each

  REQUIRE(c.Accept(offers["a2"]).ok());
  CHECK(c.Accept(offers["a1"]).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(c.Load("a2") == 1);
  CHECK(c.Load("a1") == 0);  // withdrawn: the slot is free again
  CHECK(c.Load("a3") == 0);
  CHECK(c.Contact("c1").agent_id() == "a2");
}

TEST_CASE("a ring-all contact everyone rejects waits in the queue") {
  Centre c;
  c.Queue("ring", rv1::ROUTING_STRATEGY_RING_ALL, true, 15000, /*reject_delay_ms=*/60000);
  c.Department("sales", "ring");
  c.Agent("a1", {"sales"}, 1, ONLINE);
  c.Agent("a2", {"sales"}, 1, ONLINE);
  auto queued = c.Enqueue("c1", REGULAR);
  REQUIRE(queued.routing().offers_size() == 2);
  REQUIRE(c.Reject(queued.routing().offers(0)).ok());
  CHECK(c.Contact("c1").state() == OFFERED);  // the other offer is still open
  REQUIRE(c.Reject(queued.routing().offers(1)).ok());
  auto after = c.Contact("c1");
  CHECK(after.state() == QUEUED);
  CHECK(after.offers_size() == 0);
  CHECK(c.Load("a1") == 0);
  CHECK(c.Load("a2") == 0);
}
