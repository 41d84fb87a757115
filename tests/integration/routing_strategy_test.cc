// The routing strategies other than least-busy (F12), and the free-agent index that serves
// them (libs/redis/lua/agent_index.lua): every strategy picks from it, a queue's strategy
// change reorders it, and an agent that leaves a queue leaves it.
#include "tests/integration/routing_harness.h"

namespace {

// Offers each contact, accepts it and returns who took it.
std::string Route(Centre& c, const std::string& contact) {
  auto offer = c.WaitOffer(c.Enqueue(contact, NEW).routing().contact_id());
  REQUIRE_FALSE(offer.agent_id().empty());
  REQUIRE(c.Accept(offer).ok());
  return offer.agent_id();
}

}  // namespace

TEST_CASE("longest idle offers the agent who finished their last dialog longest ago") {
  Centre c;
  c.Queue("main", rv1::ROUTING_STRATEGY_LONGEST_IDLE, true);
  c.Department("support", "main");
  for (const char* a : {"a1", "a2", "a3"}) c.Agent(a, {"support"}, 1, ONLINE);
  std::map<std::string, std::string> dialog_of;  // agent -> its contact
  for (const char* contact : {"c1", "c2", "c3"}) dialog_of[Route(c, contact)] = contact;
  REQUIRE(dialog_of.size() == 3);
  // They finish in the order a3, a1, a2: a3 has been idle longest, then a1, then a2.
  for (const char* a : {"a3", "a1", "a2"}) {
    REQUIRE(c.Release(dialog_of[a], a).ok());
    absl::SleepFor(absl::Milliseconds(5));
  }
  CHECK(Route(c, "c4") == "a3");
  CHECK(Route(c, "c5") == "a1");
  CHECK(Route(c, "c6") == "a2");
}

TEST_CASE("round robin hands contacts to the agents in turn") {
  Centre c;
  c.Queue("main", rv1::ROUTING_STRATEGY_ROUND_ROBIN, true);
  c.Department("support", "main");
  for (const char* a : {"a1", "a2", "a3"}) c.Agent(a, {"support"}, 5, ONLINE);
  std::vector<std::string> order;
  for (int i = 0; i < 7; ++i) order.push_back(Route(c, "c" + std::to_string(i)));
  CHECK(order == std::vector<std::string>{"a1", "a2", "a3", "a1", "a2", "a3", "a1"});
  // An agent who is not free is skipped and the turn goes on after it.
  c.SetStatus("a3", BUSY);
  CHECK(Route(c, "c7") == "a2");
  CHECK(Route(c, "c8") == "a1");
}

TEST_CASE("highest capability fills the best agent first, then the next best") {
  Centre c;
  c.Queue("main", rv1::ROUTING_STRATEGY_HIGHEST_CAPABILITY, true);
  c.Department("support", "main");
  c.Agent("low", {"support"}, 2, ONLINE, 10);
  c.Agent("high", {"support"}, 2, ONLINE, 90);
  c.Agent("mid", {"support"}, 2, ONLINE, 50);
  std::vector<std::string> order;
  for (int i = 0; i < 5; ++i) order.push_back(Route(c, "c" + std::to_string(i)));
  CHECK(order == std::vector<std::string>{"high", "high", "mid", "mid", "low"});
}

TEST_CASE("a queue switched to another strategy routes by the new one at once") {
  Centre c;
  c.Queue("main", rv1::ROUTING_STRATEGY_LEAST_BUSY, true);
  c.Department("support", "main");
  c.Agent("a1", {"support"}, 5, ONLINE, 10);
  c.Agent("a2", {"support"}, 5, ONLINE, 90);
  CHECK(Route(c, "c1") == "a1");        // equal load: by id
  CHECK(Route(c, "c2") == "a2");        // least busy
  REQUIRE(c.Release("c1", "a1").ok());  // least busy would now pick a1 (0 dialogs against 1)
  rv1::GetQueueRequest get;
  get.set_queue_id("main");
  rv1::GetQueueResponse current;
  REQUIRE(c.admin_stub->GetQueue(CallWith(c.admin).get(), get, &current).ok());
  rv1::UpdateQueueRequest update;
  *update.mutable_queue() = current.queue();
  update.mutable_queue()->set_strategy(rv1::ROUTING_STRATEGY_HIGHEST_CAPABILITY);
  rv1::UpdateQueueResponse updated;
  auto st = c.admin_stub->UpdateQueue(CallWith(c.admin).get(), update, &updated);
  INFO(st.error_message());
  REQUIRE(st.ok());
  CHECK(Route(c, "c3") == "a2");  // the most capable, though busier
  CHECK(Route(c, "c4") == "a2");
}

TEST_CASE("an agent moved to another department gets none of the old queue's contacts") {
  Centre c;
  c.Queue("main", rv1::ROUTING_STRATEGY_LEAST_BUSY, true);
  c.Queue("sales-q", rv1::ROUTING_STRATEGY_LEAST_BUSY);
  c.Department("support", "main");
  c.Department("sales", "sales-q");
  c.Agent("a1", {"support"}, 5, ONLINE);
  CHECK(Route(c, "c1") == "a1");
  c.Agent("a1", {"sales"}, 5, ONLINE);  // the admin moves a1 to sales
  auto support = c.Enqueue("c2", NEW, "support");
  CHECK(support.routing().state() == QUEUED);
  CHECK(support.no_agent_available());
  CHECK(c.Enqueue("c3", NEW, "sales").routing().agent_id() == "a1");
  absl::SleepFor(absl::Milliseconds(200));
  CHECK(c.Contact("c2").state() == QUEUED);
}

TEST_CASE("an agent going AWAY leaves the free index in the same step as the status change") {
  Centre c;
  c.Queue("main", rv1::ROUTING_STRATEGY_LEAST_BUSY, true);
  c.Department("support", "main");
  c.Agent("a1", {"support"}, 5, ONLINE);
  c.Agent("a2", {"support"}, 5, ONLINE);
  auto redis = kefu::redis::Connection::Open(
      *kefu::redis::ParseUrl(kefu::testing::SharedEnv().redis_url), absl::Seconds(3));
  REQUIRE(redis.ok());
  const std::string free_key = kefu::events::TenantKey(c.tenant, "qfree:main");
  auto members = [&] {
    auto reply = (*redis)->Command({"ZRANGE", free_key, "0", "-1"});
    REQUIRE(reply.ok());
    std::vector<std::string> out;
    for (size_t i = 0; i < (*reply)->elements; ++i) {
      out.emplace_back(kefu::redis::ReplyString(*(*reply)->element[i]));
    }
    return out;
  };
  CHECK(members() == std::vector<std::string>{"a1", "a2"});
  c.SetStatus("a1", AWAY);  // presence's own script updates the index, no router involved
  CHECK(members() == std::vector<std::string>{"a2"});
  CHECK(Route(c, "c1") == "a2");
  c.SetStatus("a1", ONLINE);
  CHECK(members() == std::vector<std::string>{"a1", "a2"});
}
