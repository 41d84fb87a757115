// End to end: the seven service binaries as processes against real Redis and
// PostgreSQL, checked the way an operator would: kefuctl health, kefuctl services,
// /metrics, a Redis outage, SIGTERM.
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

namespace {

using kefu::testing::EnvVars;

const std::vector<std::string> kServices = {"gateway", "identity", "router",   "presence",
                                            "kb",      "crm",      "reporting"};

constexpr char kJwtKey[] = "e2e-test-signing-key-0123456789abcdef";

struct Ports {
  int grpc;
  int metrics;
};

// The seven binaries on free ports, sharing one PostgreSQL database and one Redis.
class Stack {
 public:
  Stack(const std::string& redis_url, const std::string& pg_dsn)
      : log_dir_(kefu::testing::MakeTempDir("kefu-e2e")) {
    for (const std::string& name : kServices) {
      ports_[name] = {kefu::testing::FreePort(), kefu::testing::FreePort()};
    }
    for (const std::string& name : kServices) {
      EnvVars env = PeerEnv();
      env.push_back({"KEFU_GRPC_ADDR", absl::StrCat("127.0.0.1:", ports_[name].grpc)});
      env.push_back({"KEFU_METRICS_ADDR", absl::StrCat("127.0.0.1:", ports_[name].metrics)});
      env.push_back({"KEFU_PG_DSN", pg_dsn});
      env.push_back({"KEFU_REDIS_URL", redis_url});
      env.push_back({"KEFU_HEALTH_INTERVAL", "250ms"});
      env.push_back({"KEFU_DEPENDENCY_TIMEOUT", "1s"});
      env.push_back({"KEFU_DRAIN_TIMEOUT", "2s"});
      env.push_back({"KEFU_JWT_KEY", kJwtKey});
      auto pid = kefu::testing::Spawn({absl::StrCat(KEFU_BIN_DIR, "/kefu-", name)},
                                      absl::StrCat(log_dir_, "/", name, ".log"), {}, env);
      REQUIRE(pid.ok());
      pids_[name] = *pid;
    }
  }

  ~Stack() {
    for (const auto& [name, pid] : pids_) {
      kill(pid, SIGKILL);
      kefu::testing::WaitForExit(pid, 5000);
    }
  }

  // Environment that points kefuctl (or a service) at this stack's ports.
  EnvVars PeerEnv() const {
    EnvVars env;
    for (const auto& [name, ports] : ports_) {
      std::string var = absl::StrCat("KEFU_", name, "_ADDR");
      for (char& c : var) c = static_cast<char>(std::toupper(c));
      env.push_back({var, absl::StrCat("127.0.0.1:", ports.grpc)});
    }
    return env;
  }

  kefu::testing::CommandResult Kefuctl(const std::string& command) const {
    return kefu::testing::RunCommand({absl::StrCat(KEFU_BIN_DIR, "/kefuctl"), command}, PeerEnv());
  }

  // kefuctl health as a map service -> status column.
  std::map<std::string, std::string> HealthTable() const {
    std::map<std::string, std::string> table;
    for (absl::string_view line : absl::StrSplit(Kefuctl("health").output, '\n')) {
      std::vector<absl::string_view> cols = absl::StrSplit(line, ' ', absl::SkipWhitespace());
      if (cols.size() >= 3) table[std::string(cols[0])] = std::string(cols[2]);
    }
    return table;
  }

  // Seconds until every service reports `want`, or -1 after limit_s.
  double SecondsUntilAll(const std::string& want, double limit_s) const {
    const absl::Time start = absl::Now();
    while (absl::Now() - start < absl::Seconds(limit_s)) {
      auto table = HealthTable();
      bool all = table.size() == kServices.size();
      for (const auto& [name, status] : table) all = all && status == want;
      if (all) return absl::ToDoubleSeconds(absl::Now() - start);
      absl::SleepFor(absl::Milliseconds(100));
    }
    return -1;
  }

  std::string Logs() const { return absl::StrCat("service logs are in ", log_dir_); }

  const std::map<std::string, Ports>& ports() const { return ports_; }
  const std::map<std::string, pid_t>& pids() const { return pids_; }

 private:
  std::string log_dir_;
  std::map<std::string, Ports> ports_;
  std::map<std::string, pid_t> pids_;
};

}  // namespace

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
