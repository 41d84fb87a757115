// End to end: the seven service binaries as processes against real Redis and
// PostgreSQL, checked the way an operator would: kefuctl health, kefuctl services,
// /metrics, a Redis outage, SIGTERM.
#include "tests/e2e/stack.h"

#include <signal.h>

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "tests/support/env.h"
#include "tests/support/process.h"
#include "tests/support/raw_call.h"
#include "tests/support/servers.h"
#include "tools/kefuctl/probe.h"

using e2e::Stack;
using kefu::testing::EnvVars;

TEST_CASE("the seven services come up SERVING, show their APIs and metrics, and drain on SIGTERM") {
  Stack stack(kefu::testing::SharedEnv().redis_url, kefu::testing::FreshDatabase("e2e"));
  INFO(stack.Logs());
  REQUIRE(stack.SecondsUntilAll("SERVING", 30) >= 0);

  auto health = stack.Kefuctl("health");
  CHECK(health.exit_code == 0);
  INFO(health.output);
  CHECK(std::count(health.output.begin(), health.output.end(), '\n') == 7);

  // Every service's API is visible to any reflection client.
  auto services = stack.Kefuctl("services");
  INFO(services.output);
  CHECK(services.exit_code == 0);
  for (const char* api :
       {"kefu.gateway.v1.CustomerGatewayService", "kefu.gateway.v1.AgentGatewayService",
        "kefu.identity.v1.AuthService", "kefu.identity.v1.VerificationService",
        "kefu.router.v1.RoutingService", "kefu.router.v1.RoutingAdminService",
        "kefu.presence.v1.PresenceService", "kefu.kb.v1.KnowledgeAdminService",
        "kefu.kb.v1.BotService", "kefu.kb.v1.CannedPhraseService", "kefu.crm.v1.CustomerService",
        "kefu.crm.v1.RecordService", "kefu.reporting.v1.ReportService",
        "kefu.reporting.v1.MonitorService", "grpc.health.v1.Health"}) {
    CHECK_THAT(services.output, Catch::Contains(api));
  }

  // Each /metrics endpoint serves kefu_ metrics, including the health pings' results.
  for (const auto& [name, ports] : stack.ports()) {
    auto body = kefu::testing::HttpGet(ports.metrics, "/metrics");
    INFO(name);
    REQUIRE(body.ok());
    CHECK_THAT(*body, Catch::Contains("kefu_build_info{service=\"" + name + "\""));
    CHECK_THAT(*body, Catch::Contains("kefu_dependency_up{dependency=\"redis\"} 1"));
    CHECK_THAT(*body, Catch::Contains("kefu_rpc_requests_total"));  // kefuctl's calls
  }

  // SIGTERM: each process drains and exits 0 within its 2 s drain deadline.
  for (const auto& [name, pid] : stack.pids()) kill(pid, SIGTERM);
  for (const auto& [name, pid] : stack.pids()) {
    INFO(name);
    CHECK(kefu::testing::WaitForExitCode(pid, 10000) == std::optional<int>(0));
  }
}

TEST_CASE("every method of every service answers UNAUTHENTICATED to a call without a token") {
  Stack stack(kefu::testing::SharedEnv().redis_url, kefu::testing::FreshDatabase("e2e_auth"));
  INFO(stack.Logs());
  REQUIRE(stack.SecondsUntilAll("SERVING", 30) >= 0);
  // Open by design: health, reflection, and the calls that obtain a token.
  const std::set<std::string> open = {"/kefu.identity.v1.AuthService/Login",
                                      "/kefu.identity.v1.AuthService/Refresh",
                                      "/kefu.identity.v1.AuthService/RevokeToken"};
  int walked = 0;
  for (const auto& [name, ports] : stack.ports()) {
    const std::string addr = absl::StrCat("127.0.0.1:", ports.grpc);
    auto channel = grpc::CreateChannel(addr, grpc::InsecureChannelCredentials());
    auto services = kefu::ctl::ListServices(addr, absl::Seconds(5));
    REQUIRE(services.ok());
    for (const std::string& service : *services) {
      if (!absl::StartsWith(service, "kefu.")) continue;
      auto methods = kefu::ctl::ListMethods(addr, service, absl::Seconds(5));
      REQUIRE(methods.ok());
      CHECK_FALSE(methods->empty());
      for (const std::string& method : *methods) {
        INFO(method);
        grpc::Status status = kefu::testing::CallRaw(channel, method, "");
        if (open.contains(method)) {
          CHECK(status.error_code() != grpc::StatusCode::UNAUTHENTICATED);
        } else {
          CHECK(status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
        }
        ++walked;
      }
    }
  }
  // Every RPC of the API outline, across the seven services.
  CHECK(walked > 150);
}

TEST_CASE(
    "a Redis outage turns every service NOT_SERVING within 5 s and SERVING within 5 s of its "
    "return") {
  auto redis = kefu::testing::RedisServer::Start();
  REQUIRE(redis.ok());
  Stack stack((*redis)->url(), kefu::testing::FreshDatabase("e2e_outage"));
  INFO(stack.Logs());
  REQUIRE(stack.SecondsUntilAll("SERVING", 30) >= 0);

  REQUIRE((*redis)->Kill().ok());
  const double down = stack.SecondsUntilAll("NOT_SERVING", 5);
  CHECK(down >= 0);
  CHECK(stack.Kefuctl("health").exit_code == 1);

  REQUIRE((*redis)->Restart().ok());
  const double up = stack.SecondsUntilAll("SERVING", 5);
  CHECK(up >= 0);
  // The same processes: nothing was restarted but Redis.
  for (const auto& [name, pid] : stack.pids()) CHECK(kill(pid, 0) == 0);
}
