// One service's gRPC server in-process on port 0, with health driven by a real Redis.
#include "libs/server/grpc_server.h"

#include <grpcpp/grpcpp.h>
#include <prometheus/text_serializer.h>

#include <catch2/catch.hpp>

#include "grpc/health/v1/health.grpc.pb.h"
#include "kefu/reporting/v1/report.grpc.pb.h"
#include "kefu/router/v1/routing.grpc.pb.h"
#include "libs/redis/client.h"
#include "libs/server/health_monitor.h"
#include "tests/support/servers.h"

namespace {

using grpc::health::v1::HealthCheckResponse;

HealthCheckResponse::ServingStatus Health(const std::string& addr, const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(addr, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  HealthCheckResponse response;
  grpc::Status status = stub->Check(&ctx, request, &response);
  return status.ok() ? response.status() : HealthCheckResponse::UNKNOWN;
}

// Seconds until the health of `addr` reads `want`, or -1 after `limit_s`.
double SecondsUntil(const std::string& addr, HealthCheckResponse::ServingStatus want,
                    double limit_s) {
  const absl::Time start = absl::Now();
  while (absl::Now() - start < absl::Seconds(limit_s)) {
    if (Health(addr, "") == want) return absl::ToDoubleSeconds(absl::Now() - start);
    absl::SleepFor(absl::Milliseconds(50));
  }
  return -1;
}

std::string Scrape(prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

struct RouterUnderTest {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  // The generated bases answer UNIMPLEMENTED to every RPC, as a service not built yet does.
  kefu::router::v1::RoutingService::Service routing;
  kefu::reporting::v1::ReportService::Service admin;
  std::unique_ptr<kefu::server::GrpcServer> server;
  std::string addr;

  RouterUnderTest() {
    kefu::server::GrpcServerOptions options;
    options.addr = "127.0.0.1:0";
    options.services = {{kefu::router::v1::RoutingService::service_full_name(), &routing},
                        {kefu::reporting::v1::ReportService::service_full_name(), &admin}};
    auto started = kefu::server::GrpcServer::Start(options, *registry);
    REQUIRE(started.ok());
    server = std::move(*started);
    addr = "127.0.0.1:" + std::to_string(server->port());
  }
};

}  // namespace

TEST_CASE("an RPC not built yet answers UNIMPLEMENTED and is counted per method and code") {
  RouterUnderTest router;
  auto stub = kefu::router::v1::RoutingService::NewStub(
      grpc::CreateChannel(router.addr, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  kefu::router::v1::EnqueueRequest request;
  kefu::router::v1::EnqueueResponse response;
  grpc::Status status = stub->Enqueue(&ctx, request, &response);
  CHECK(status.error_code() == grpc::StatusCode::UNIMPLEMENTED);

  // The call is counted when the server lets go of it, a moment after the client has its
  // status: wait for the count rather than race it (in_flight reads 0 before the server
  // has even started on the call, so it cannot be what is waited for).
  const std::string counted =
      "kefu_rpc_requests_total{code=\"UNIMPLEMENTED\","
      "method=\"/kefu.router.v1.RoutingService/Enqueue\"} 1";
  const std::string idle =
      "kefu_rpc_in_flight{method=\"/kefu.router.v1.RoutingService/Enqueue\"} 0";
  const auto settled = [&](const std::string& t) {
    return t.find(counted) != std::string::npos && t.find(idle) != std::string::npos;
  };
  std::string text;
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  for (text = Scrape(*router.registry); !settled(text) && absl::Now() < deadline;
       text = Scrape(*router.registry)) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  CHECK_THAT(text, Catch::Contains(counted));
  CHECK_THAT(text, Catch::Contains(
                       "kefu_rpc_duration_seconds_count{method=\"/kefu.router.v1.RoutingService/"
                       "Enqueue\"} 1"));
  CHECK_THAT(text, Catch::Contains("kefu_rpc_in_flight{method=\"/kefu.router.v1.RoutingService/"
                                   "Enqueue\"} 0"));
}

TEST_CASE(
    "health follows Redis: NOT_SERVING within 5 s of losing it, SERVING within 5 s of its return") {
  auto redis_server = kefu::testing::RedisServer::Start();
  REQUIRE(redis_server.ok());
  kefu::redis::PoolOptions pool_options;
  pool_options.url = *kefu::redis::ParseUrl((*redis_server)->url());
  pool_options.timeout = absl::Milliseconds(500);
  kefu::redis::Pool pool(pool_options);

  RouterUnderTest router;
  CHECK(Health(router.addr, "") == HealthCheckResponse::NOT_SERVING);  // before any ping

  kefu::metrics::ProcessMetrics process(*router.registry, "router", "test");
  kefu::server::HealthMonitor monitor(router.server->health(), router.server->service_names(),
                                      {{"redis", [&pool] { return pool.Ping(); }}},
                                      absl::Milliseconds(200), &process);
  monitor.Start();
  REQUIRE(SecondsUntil(router.addr, HealthCheckResponse::SERVING, 5) >= 0);
  CHECK(Health(router.addr, "kefu.router.v1.RoutingService") == HealthCheckResponse::SERVING);
  CHECK_THAT(Scrape(*router.registry),
             Catch::Contains("kefu_dependency_up{dependency=\"redis\"} 1"));

  REQUIRE((*redis_server)->Kill().ok());
  const double down_after = SecondsUntil(router.addr, HealthCheckResponse::NOT_SERVING, 5);
  CHECK(down_after >= 0);
  CHECK(Health(router.addr, "kefu.reporting.v1.ReportService") == HealthCheckResponse::NOT_SERVING);
  CHECK_THAT(Scrape(*router.registry),
             Catch::Contains("kefu_dependency_up{dependency=\"redis\"} 0"));

  REQUIRE((*redis_server)->Restart().ok());
  const double up_after = SecondsUntil(router.addr, HealthCheckResponse::SERVING, 5);
  CHECK(up_after >= 0);

  // A drain reports NOT_SERVING and keeps it, whatever the pings say.
  monitor.Stop();
  CHECK(Health(router.addr, "") == HealthCheckResponse::NOT_SERVING);
}
