// The fault the chaos run found, played deterministically: a StartContact whose first
// attempt was stored by the gateway but could not be queued (no router answering) must, when
// the customer retries it with the same idempotency key, come back queued, not STARTED.
#include <catch2/catch.hpp>

#include "kefu/gateway/v1/gateway.grpc.pb.h"
#include "kefu/router/v1/routing.grpc.pb.h"
#include "kefu/router/v1/routing_admin.grpc.pb.h"
#include "tests/e2e/client.h"
#include "tests/e2e/stack.h"
#include "tests/support/servers.h"

namespace {

namespace cv1 = kefu::common::v1;
namespace gv1 = kefu::gateway::v1;
namespace rv1 = kefu::router::v1;

}  // namespace

TEST_CASE("a StartContact retried after the routers were down queues the contact it stored") {
  auto redis = kefu::testing::RedisServer::Start();
  REQUIRE(redis.ok());
  auto pg = kefu::testing::PostgresServer::Start();
  REQUIRE(pg.ok());
  auto dsn = kefu::testing::CreateDatabase((*pg)->dsn(), "chaos_retry");
  REQUIRE(dsn.ok());
  e2e::Stack stack((*redis)->url(), *dsn);
  INFO(stack.Logs());
  REQUIRE(stack.SecondsUntilAll("SERVING", 60) >= 0);
  const std::string tenant = kefu::testing::UniqueTenant("retry");
  const std::string admin = e2e::Token(tenant, cv1::ROLE_ADMIN, "boss");
  const int router_port = stack.ports().at("router").grpc;
  {
    auto routing_admin = rv1::RoutingAdminService::NewStub(e2e::Channel(router_port));
    rv1::CreateQueueRequest queue;
    queue.mutable_queue()->set_queue_id("q-main");
    queue.mutable_queue()->set_is_default(true);
    rv1::CreateQueueResponse created;
    REQUIRE(routing_admin->CreateQueue(e2e::With(admin).get(), queue, &created).ok());
  }
  e2e::Gateway gateway(stack.ports().at("gateway").grpc);
  gv1::StartContactRequest start;
  start.set_channel(cv1::CHANNEL_CHAT);
  start.set_caller_number("13912345678");
  start.set_idempotency_key("retry-1");
  const std::string service = e2e::Token(tenant, cv1::ROLE_SERVICE, "svc:widget");

  stack.Kill("router");
  gv1::StartContactResponse first;
  const grpc::Status down = gateway.customer->StartContact(e2e::With(service).get(), start, &first);
  CHECK(down.error_code() == grpc::StatusCode::UNAVAILABLE);  // an answer, not a hang

  stack.Start("router");
  gv1::StartContactResponse retried;
  grpc::Status st;
  REQUIRE(e2e::Eventually(
      [&] {
        retried.Clear();
        st = gateway.customer->StartContact(e2e::With(service).get(), start, &retried);
        return st.error_code() != grpc::StatusCode::UNAVAILABLE;
      },
      absl::Seconds(20)));
  INFO(st.error_message());
  REQUIRE(st.ok());
  CHECK(retried.state() == cv1::CONTACT_STATE_QUEUED);

  // The router has it: the contact waits in the queue for an agent.
  auto routing = rv1::RoutingService::NewStub(e2e::Channel(router_port));
  rv1::QueueStatusRequest where;
  where.set_tenant_id(tenant);
  where.set_contact_id(retried.contact_id());
  rv1::QueueStatusResponse status;
  st = routing->QueueStatus(e2e::With(admin).get(), where, &status);
  INFO(st.error_message());
  REQUIRE(st.ok());
  CHECK(status.contact().state() == cv1::CONTACT_STATE_QUEUED);
  CHECK(status.contact().queue_id() == "q-main");
}
