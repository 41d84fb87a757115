// Router and presence in-process on real Redis and PostgreSQL (F10-F23): the routing rules
// of ARCHITECTURE.md, driven through the public gRPC APIs as the gateway, agents and an
// admin would.
#include <prometheus/registry.h>

#include "tests/integration/routing_harness.h"
#include "tests/support/servers.h"

namespace {

// kefu_router_offers_total by outcome, summed over the given routers' registries.
std::map<std::string, double> OffersCounted(
    const std::vector<const kefu::testing::RunningService*>& routers) {
  std::map<std::string, double> out;
  for (const auto* router : routers) {
    for (const auto& family : router->runtime->context().registry().Collect()) {
      if (family.name != "kefu_router_offers_total") continue;
      for (const auto& metric : family.metric) {
        for (const auto& label : metric.label) {
          if (label.name == "outcome" && metric.counter.value > 0) {
            out[label.value] += metric.counter.value;
          }
        }
      }
    }
  }
  return out;
}

}  // namespace

TEST_CASE("each tier goes to its group: NEW to guides, REGULAR to general, VIP to VIP agents") {
  Centre c;
  for (const char* q : {"guide", "general", "vip"}) c.Queue(q, rv1::ROUTING_STRATEGY_LEAST_BUSY);
  for (const char* d : {"guide", "general", "vip"}) c.Department(d, d);
  c.TierMap({{NEW, "guide"}, {REGULAR, "general"}, {VIP, "vip"}});
  c.Agent("guide-1", {"guide"}, 5, ONLINE);
  c.Agent("general-1", {"general"}, 5, ONLINE);
  c.Agent("vip-1", {"vip"}, 5, ONLINE);

  CHECK(c.Enqueue("c-new", NEW).routing().agent_id() == "guide-1");
  CHECK(c.Enqueue("c-regular", REGULAR).routing().agent_id() == "general-1");
  auto vip = c.Enqueue("c-vip", VIP);
  CHECK(vip.routing().agent_id() == "vip-1");
  CHECK(vip.routing().queue_id() == "vip");
  // A requested department (F11) wins over the tier map.
  CHECK(c.Enqueue("c-asks-vip", NEW, "vip").routing().agent_id() == "vip-1");
}

TEST_CASE("a VIP caller is offered before a regular caller who waited longer") {
  Centre c;
  c.Queue("main", rv1::ROUTING_STRATEGY_LEAST_BUSY, true);
  c.Department("sales", "main");
  c.Agent("a1", {"sales"}, 1, AWAY);
  CHECK(c.Enqueue("c-regular", REGULAR).routing().state() == QUEUED);
  absl::SleepFor(absl::Milliseconds(20));
  auto vip = c.Enqueue("c-vip", VIP);
  CHECK(vip.routing().state() == QUEUED);
  CHECK(vip.routing().position() == 1);  // ahead of the regular caller

  c.SetStatus("a1", ONLINE);  // the router wakes on presence's event: no polling
  auto offer = c.WaitOffer("c-vip");
  CHECK(offer.agent_id() == "a1");
  CHECK(c.Contact("c-regular").state() == QUEUED);
}

TEST_CASE("least busy spreads contacts evenly and max concurrent is never exceeded") {
  Centre c;
  c.Queue("main", rv1::ROUTING_STRATEGY_LEAST_BUSY, true);
  c.Department("support", "main");
  for (const char* a : {"a1", "a2", "a3"}) c.Agent(a, {"support"}, 3, ONLINE);
  std::map<std::string, int> per_agent;
  for (int i = 0; i < 9; ++i) {
    auto r = c.Enqueue("c" + std::to_string(i), NEW);
    REQUIRE(r.routing().state() == OFFERED);
    ++per_agent[r.routing().agent_id()];
  }
  CHECK(per_agent == std::map<std::string, int>{{"a1", 3}, {"a2", 3}, {"a3", 3}});
  // Every slot is reserved (F13): the tenth waits.
  auto tenth = c.Enqueue("c9", NEW);
  CHECK(tenth.routing().state() == QUEUED);
  // Busy agents free up: the customer waits rather than being sent to LeaveMessage.
  CHECK_FALSE(tenth.no_agent_available());
  for (const char* a : {"a1", "a2", "a3"}) CHECK(c.Load(a) == 3);
}

TEST_CASE("BUSY, AWAY and OFFLINE agents get no new contacts") {
  Centre c;
  c.Queue("main", rv1::ROUTING_STRATEGY_LEAST_BUSY, true);
  c.Department("support", "main");
  c.Agent("busy", {"support"}, 5, BUSY);
  c.Agent("away", {"support"}, 5, AWAY);
  c.Agent("off", {"support"}, 5, OFFLINE);
  auto queued = c.Enqueue("c1", NEW);
  CHECK(queued.routing().state() == QUEUED);
  // Nobody who may take it is ONLINE: the customer is offered LeaveMessage (F33).
  CHECK(queued.no_agent_available());
  absl::SleepFor(absl::Milliseconds(300));
  CHECK(c.Contact("c1").state() == QUEUED);
  c.SetStatus("away", ONLINE);
  CHECK(c.WaitOffer("c1").agent_id() == "away");
}

TEST_CASE(
    "a seat empty past the limit turns the agent OFFLINE and stops offers until they sit down") {
  Centre c;
  c.Queue("main", rv1::ROUTING_STRATEGY_LEAST_BUSY, true);
  c.Department("support", "main");
  c.Agent("a1", {"support"}, 5, ONLINE, 0, "seat-7");
  const std::string sensor = TokenFor(c.tenant, kefu::common::v1::ROLE_SERVICE, "sensor-7");
  auto report = [&](double pressure) {
    pv1::ReportSeatRequest request;
    request.set_seat_id("seat-7");
    request.mutable_pressure()->set_value(pressure);
    pv1::ReportSeatResponse response;
    auto st = c.presence_stub->ReportSeat(CallWith(sensor).get(), request, &response);
    INFO(st.error_message());
    REQUIRE(st.ok());
    return response;
  };
  auto status_of = [&] {
    pv1::GetAgentRequest request;
    request.set_agent_id("a1");
    pv1::GetAgentResponse response;
    REQUIRE(c.presence_stub->GetAgent(CallWith(c.admin).get(), request, &response).ok());
    return response.presence();
  };
  auto empty = report(0.5);  // below the normal range: nobody sits there (F22)
  CHECK(empty.seat_state() == kefu::common::v1::SEAT_STATE_EMPTY);
  CHECK(empty.agent_id() == "a1");
  CHECK(status_of().status() == ONLINE);  // not yet: the limit has not passed
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (status_of().status() != OFFLINE && absl::Now() < deadline)
    absl::SleepFor(absl::Milliseconds(50));
  auto offline = status_of();
  CHECK(offline.status() == OFFLINE);
  CHECK(offline.reason() == kefu::common::v1::AGENT_STATUS_REASON_SEAT_EMPTY);
  CHECK(c.Enqueue("c1", NEW).routing().state() == QUEUED);  // routing paused

  report(80);  // seated again: previous status back (F21), and the waiting contact comes
  auto back = status_of();
  CHECK(back.status() == ONLINE);
  CHECK(back.reason() == kefu::common::v1::AGENT_STATUS_REASON_SEAT_RETURNED);
  CHECK(c.WaitOffer("c1").agent_id() == "a1");
}

TEST_CASE("a rejected or unanswered offer goes to the next agent and the first one waits a while") {
  Centre c;
  c.Queue("main", rv1::ROUTING_STRATEGY_LEAST_BUSY, true, /*offer_timeout_ms=*/400,
          /*reject_delay_ms=*/1500);
  c.Department("support", "main");
  c.Agent("a1", {"support"}, 5, ONLINE);
  c.Agent("a2", {"support"}, 5, ONLINE);
  auto first = c.WaitOffer(c.Enqueue("c1", NEW).routing().contact_id());
  REQUIRE_FALSE(first.agent_id().empty());
  REQUIRE(c.Reject(first).ok());
  auto second = c.WaitOffer("c1");
  CHECK_FALSE(second.agent_id().empty());
  CHECK(second.agent_id() != first.agent_id());
  CHECK(c.Accept(first).error_code() == grpc::StatusCode::NOT_FOUND);  // that offer is gone

  // The rejecting agent is in its delay (F19): a new contact goes to the other agent.
  CHECK(c.Enqueue("c2", NEW).routing().agent_id() == second.agent_id());

  // Nobody answers c2's offer: it expires and moves on once the first agent's delay ends.
  auto expired_from = c.WaitOffer("c2").agent_id();
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  rv1::OfferRef moved;
  while (absl::Now() < deadline) {
    moved = c.WaitOffer("c2", absl::Milliseconds(100));
    if (!moved.agent_id().empty() && moved.agent_id() != expired_from) break;
  }
  CHECK(moved.agent_id() == first.agent_id());
  REQUIRE(c.Accept(moved).ok());
  CHECK(c.Contact("c2").state() == kefu::common::v1::CONTACT_STATE_ACTIVE);
}

TEST_CASE("an agent freed by the end of a dialog is offered the next waiting contact at once") {
  Centre c;
  c.Queue("main", rv1::ROUTING_STRATEGY_LEAST_BUSY, true);
  c.Department("support", "main");
  c.Agent("a1", {"support"}, 1, ONLINE);
  auto first = c.WaitOffer(c.Enqueue("c1", NEW).routing().contact_id());
  REQUIRE(c.Accept(first).ok());
  CHECK(c.Enqueue("c2", NEW).routing().state() == QUEUED);
  REQUIRE(c.Release("c1", "a1").ok());
  CHECK(c.Contact("c2").state() == OFFERED);  // in the same call that freed the slot
}

TEST_CASE("an agent picks up the next waiting contact by hand") {
  Centre c;
  c.Queue("main", rv1::ROUTING_STRATEGY_LEAST_BUSY, true);
  c.Department("support", "main");
  c.Agent("a1", {"support"}, 2, BUSY);  // BUSY: no automatic offers, manual pickup allowed
  c.Enqueue("c1", NEW);
  c.Enqueue("c2", NEW);
  rv1::PickUpRequest request;
  request.set_queue_id("main");
  rv1::PickUpResponse response;
  REQUIRE(c.routing->PickUp(CallWith(c.AgentToken("a1")).get(), request, &response).ok());
  CHECK(response.contact_id() == "c1");
  CHECK(response.agent_load() == 1);
  CHECK(c.Contact("c1").state() == kefu::common::v1::CONTACT_STATE_ACTIVE);
  CHECK(c.Contact("c2").state() == QUEUED);
  // The queue as agents see it (F17): c2 waits first in line.
  rv1::ListWaitingContactsRequest list;
  list.set_queue_id("main");
  rv1::ListWaitingContactsResponse waiting;
  REQUIRE(c.routing->ListWaitingContacts(CallWith(c.AgentToken("a1")).get(), list, &waiting).ok());
  REQUIRE(waiting.contacts_size() == 1);
  CHECK(waiting.contacts(0).contact_id() == "c2");
  CHECK(waiting.contacts(0).position() == 1);
  // An agent who does not serve the queue may not.
  c.Queue("elsewhere", rv1::ROUTING_STRATEGY_LEAST_BUSY);
  c.Department("other", "elsewhere");
  c.Agent("stranger", {"other"}, 2, ONLINE);
  rv1::PickUpResponse denied;
  CHECK(
      c.routing->PickUp(CallWith(c.AgentToken("stranger")).get(), request, &denied).error_code() ==
      grpc::StatusCode::PERMISSION_DENIED);
}

TEST_CASE("routing decisions are events on the tenant's stream") {
  Centre c;
  c.Queue("main", rv1::ROUTING_STRATEGY_LEAST_BUSY, true);
  c.Department("support", "main");
  c.Agent("a1", {"support"}, 1, ONLINE);
  auto offer = c.WaitOffer(c.Enqueue("c1", VIP).routing().contact_id());
  REQUIRE(c.Accept(offer).ok());

  kefu::redis::PoolOptions options;
  options.url = *kefu::redis::ParseUrl(kefu::testing::SharedEnv().redis_url);
  kefu::redis::Pool pool(options);
  auto entries = pool.Command({"XRANGE", kefu::events::StreamKey(c.tenant), "-", "+"});
  REQUIRE(entries.ok());
  std::vector<std::string> types;
  kefu::events::v1::Event offered;
  for (size_t i = 0; i < (*entries)->elements; ++i) {
    const redisReply* fields = (*entries)->element[i]->element[1];
    kefu::events::v1::Event event;
    std::string bytes(kefu::redis::ReplyString(*fields->element[3]));
    REQUIRE(event.ParseFromString(bytes));
    CHECK(event.tenant_id() == c.tenant);
    CHECK(kefu::events::PayloadName(event) == kefu::redis::ReplyString(*fields->element[1]));
    types.push_back(kefu::events::PayloadName(event));
    if (event.has_offer_created()) offered = event;
  }
  for (const char* type : {"agent_logged_in", "agent_status_changed", "contact_queued",
                           "offer_created", "offer_accepted", "contact_assigned"}) {
    CHECK(std::find(types.begin(), types.end(), type) != types.end());
  }
  CHECK(offered.producer() == "router");
  CHECK(offered.offer_created().contact_id() == "c1");
  CHECK(offered.offer_created().agent_id() == "a1");
  CHECK(offered.offer_created().queue_id() == "main");
  CHECK(offered.offer_created().deadline().seconds() > absl::ToUnixSeconds(absl::Now()));
}

TEST_CASE("offers are counted by outcome once across router replicas (F68)") {
  // Its own Redis: every router replica on a Redis takes every tenant's counts, so routers
  // of tests running beside this one would take some of these.
  auto redis = kefu::testing::RedisServer::Start();
  REQUIRE(redis.ok());
  Centre c(kefu::router::RouterOptions{}, (*redis)->url());
  kefu::testing::RunningService replica =
      kefu::testing::StartService(kefu::router::Definition(), (*redis)->url());
  c.Queue("main", rv1::ROUTING_STRATEGY_LEAST_BUSY, true);
  c.Department("support", "main");
  c.Agent("a1", {"support"}, 5, ONLINE);
  c.Agent("a2", {"support"}, 5, ONLINE);
  std::vector<rv1::OfferRef> offers;
  for (const char* contact : {"c1", "c2", "c3"}) {
    offers.push_back(c.WaitOffer(c.Enqueue(contact, NEW).routing().contact_id()));
  }
  REQUIRE(c.Accept(offers[0]).ok());
  REQUIRE(c.Accept(offers[1]).ok());
  REQUIRE(c.Reject(offers[2]).ok());  // c3 goes to the other agent: a fourth offer
  const rv1::OfferRef moved = c.WaitOffer("c3");
  CHECK(moved.agent_id() != offers[2].agent_id());

  const std::map<std::string, double> want = {{"created", 4}, {"accepted", 2}, {"rejected", 1}};
  std::map<std::string, double> counted;
  const absl::Time deadline = absl::Now() + absl::Seconds(8);
  while ((counted = OffersCounted({&c.router, &replica})) != want && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  CHECK(counted == want);
  // Both replicas' loops have run again since: nothing was counted twice.
  absl::SleepFor(absl::Milliseconds(2500));
  CHECK(OffersCounted({&c.router, &replica}) == want);
}

TEST_CASE("three router replicas never double-book an agent and never lose a contact") {
  Centre c;
  c.Queue("main", rv1::ROUTING_STRATEGY_LEAST_BUSY, true);
  c.Department("support", "main");
  constexpr int kAgents = 30;
  constexpr int kMax = 2;
  for (int i = 0; i < kAgents; ++i) c.Agent("a" + std::to_string(i), {"support"}, kMax, ONLINE);
  std::vector<kefu::testing::RunningService> replicas;
  replicas.push_back(kefu::testing::StartService(kefu::router::Definition()));
  replicas.push_back(kefu::testing::StartService(kefu::router::Definition()));

  constexpr int kContacts = 300;
  std::vector<std::thread> callers;
  std::atomic<int> failures{0};
  for (int t = 0; t < 6; ++t) {
    callers.emplace_back([&, t] {
      auto channel = t % 3 == 0 ? c.router.channel : replicas[t % 3 - 1].channel;
      auto stub = rv1::RoutingService::NewStub(channel);
      for (int i = t; i < kContacts; i += 6) {
        rv1::EnqueueRequest request;
        request.set_contact_id("c" + std::to_string(i));
        request.set_tier(i % 3 == 0 ? VIP : NEW);
        rv1::EnqueueResponse response;
        if (!stub->Enqueue(CallWith(c.service).get(), request, &response).ok()) ++failures;
        // Agents flap while contacts arrive: a status change wakes every replica.
        if (i % 25 == 0) {
          const std::string agent = "a" + std::to_string(i % kAgents);
          pv1::SetStatusRequest away;
          away.set_status(i % 50 == 0 ? AWAY : ONLINE);
          pv1::SetStatusResponse ignored;
          c.presence_stub->SetStatus(CallWith(c.AgentToken(agent)).get(), away, &ignored);
        }
      }
    });
  }
  for (auto& caller : callers) caller.join();
  REQUIRE(failures == 0);
  for (int i = 0; i < kAgents; ++i) c.SetStatus("a" + std::to_string(i), ONLINE);
  absl::SleepFor(absl::Milliseconds(500));

  // Every contact is offered exactly once or still queued; no agent is above its max.
  std::map<std::string, int> offers_per_agent;
  int offered = 0, queued = 0;
  for (int i = 0; i < kContacts; ++i) {
    auto routing = c.Contact("c" + std::to_string(i));
    if (routing.state() == OFFERED) {
      ++offered;
      ++offers_per_agent[routing.agent_id()];
    } else {
      CHECK(routing.state() == QUEUED);
      ++queued;
    }
  }
  CHECK(offered + queued == kContacts);
  CHECK(offered == kAgents * kMax);  // all slots filled, the rest waits
  for (const auto& [agent, count] : offers_per_agent) {
    INFO(agent);
    CHECK(count <= kMax);
    CHECK(c.Load(agent) == count);  // the reserved slots match the offers
  }
}

TEST_CASE("a transfer reaches a BUSY agent or a department and is remembered as a shortcut") {
  Centre c;
  c.Queue("main", rv1::ROUTING_STRATEGY_LEAST_BUSY, true);
  c.Queue("billing-q", rv1::ROUTING_STRATEGY_LEAST_BUSY);
  c.Department("support", "main");
  c.Department("billing", "billing-q");
  c.Agent("a1", {"support"}, 2, ONLINE);
  c.Agent("a2", {"support"}, 2, BUSY);  // takes transfers only (F20)
  c.Agent("b1", {"billing"}, 2, BUSY);
  auto offer = c.WaitOffer(c.Enqueue("c1", NEW).routing().contact_id());
  REQUIRE(offer.agent_id() == "a1");
  REQUIRE(c.Accept(offer).ok());

  rv1::TransferRequest to_agent;
  to_agent.set_contact_id("c1");
  to_agent.set_to_agent_id("a2");
  to_agent.set_note("wants a refund");
  rv1::TransferResponse moved;
  auto st = c.routing->Transfer(CallWith(c.AgentToken("a1")).get(), to_agent, &moved);
  INFO(st.error_message());
  REQUIRE(st.ok());
  CHECK(moved.routing().state() == OFFERED);
  CHECK(moved.routing().agent_id() == "a2");
  CHECK(c.Load("a1") == 0);  // the first agent's slot is free again
  REQUIRE(c.Accept(moved.routing().offers(0)).ok());

  rv1::TransferRequest to_department;
  to_department.set_contact_id("c1");
  to_department.set_to_department_id("billing");
  REQUIRE(c.routing->Transfer(CallWith(c.AgentToken("a2")).get(), to_department, &moved).ok());
  CHECK(moved.routing().agent_id() == "b1");  // BUSY b1 takes the transferred contact
  // The dialog now belongs to billing: its assignment (and so crm and the reports) says so.
  rv1::AcceptOfferResponse accepted;
  REQUIRE(c.Accept(moved.routing().offers(0), &accepted).ok());
  CHECK(accepted.department_id() == "billing");
  CHECK(accepted.queue_id() == "billing-q");
  // A contact of a1's own can't be transferred by someone else.
  to_department.set_contact_id("c1");
  CHECK(
      c.routing->Transfer(CallWith(c.AgentToken("a1")).get(), to_department, &moved).error_code() ==
      grpc::StatusCode::FAILED_PRECONDITION);

  rv1::TransferTargetsRequest targets_request;
  rv1::TransferTargetsResponse targets;
  REQUIRE(c.routing->TransferTargets(CallWith(c.AgentToken("a2")).get(), targets_request, &targets)
              .ok());
  std::map<std::string, int> dialogs;
  for (const auto& department : targets.departments()) {
    for (const auto& agent : department.agents()) {
      dialogs[agent.agent().agent_id()] = agent.active_dialogs();
    }
  }
  CHECK(dialogs == std::map<std::string, int>{{"a1", 0}, {"a2", 0}, {"b1", 1}});
  REQUIRE(targets.recent_size() == 1);  // a2's last targets: billing
  CHECK(targets.recent(0).department_id() == "billing");
}

TEST_CASE("the exclusive agent gets the customer first and others take over after the wait") {
  Centre c;
  c.Queue("main", rv1::ROUTING_STRATEGY_LEAST_BUSY, true, 15000, 10000, /*exclusive_wait_ms=*/700);
  c.Department("support", "main");
  c.Agent("a1", {"support"}, 3, ONLINE);
  c.Agent("a2", {"support"}, 3, ONLINE);
  rv1::BindExclusiveAgentRequest bind;
  bind.set_customer_id("cust-1");
  bind.set_agent_id("a2");
  rv1::BindExclusiveAgentResponse bound;
  REQUIRE(c.routing->BindExclusiveAgent(CallWith(c.service).get(), bind, &bound).ok());

  // Least busy alone would pick a1 (equal loads, a1 first): the binding wins.
  CHECK(c.Enqueue("c1", NEW, "", "cust-1").routing().agent_id() == "a2");

  c.SetStatus("a2", AWAY);
  CHECK(c.Enqueue("c2", NEW, "", "cust-1").routing().state() == QUEUED);  // waits for a2
  CHECK(c.Enqueue("c3", NEW, "", "somebody-else").routing().agent_id() == "a1");
  // After the exclusive wait the customer falls back to anybody free (F14).
  CHECK(c.WaitOffer("c2").agent_id() == "a1");
}

TEST_CASE("suggested agents come by service capability one at a time skipping declined ones") {
  Centre c;
  c.Queue("main", rv1::ROUTING_STRATEGY_LEAST_BUSY, true);
  c.Department("support", "main");
  c.Agent("steady", {"support"}, 3, ONLINE, /*capability=*/70);
  c.Agent("star", {"support"}, 3, ONLINE, /*capability=*/95);
  c.Agent("away", {"support"}, 3, AWAY, /*capability=*/99);
  auto suggest = [&](std::vector<std::string> declined) {
    rv1::SuggestAgentsRequest request;
    request.set_customer_id("cust-9");
    for (const auto& d : declined) request.add_declined_agent_ids(d);
    rv1::SuggestAgentsResponse response;
    REQUIRE(c.routing->SuggestAgents(CallWith(c.service).get(), request, &response).ok());
    return response.agents_size() == 0 ? std::string() : response.agents(0).agent().agent_id();
  };
  CHECK(suggest({}) == "star");  // the AWAY agent is not offered, however good
  CHECK(suggest({"star"}) == "steady");
  CHECK(suggest({"star", "steady"}).empty());
}
