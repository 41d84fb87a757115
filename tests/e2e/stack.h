#pragma once

// The seven service binaries as processes on free ports, sharing one PostgreSQL database
// and one Redis: what the end-to-end tests drive the way an operator would.
#include <signal.h>

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "libs/redis/client.h"
#include "tests/support/env.h"
#include "tests/support/process.h"
#include "tests/support/servers.h"

namespace e2e {
using kefu::testing::EnvVars;

const std::vector<std::string> kServices = {"gateway", "identity", "router",   "presence",
                                            "kb",      "crm",      "reporting"};

constexpr char kJwtKey[] = "e2e-test-signing-key-0123456789abcdef";

// Stacks sharing one Redis server must not take each other's events: crm, reporting and the
// router read every tenant's stream under fixed consumer-group names, so a concurrent stack
// would apply this one's events to its own database. Each stack gets a Redis database of its
// own (1..15), claimed in database 0 (key kefu-test:db:<n>, also used by
// tests/deploy/prometheus_live.sh) for as long as it lives, and emptied first.
class RedisDatabase {
 public:
  explicit RedisDatabase(const std::string& server_url) {
    auto url = kefu::redis::ParseUrl(server_url);
    REQUIRE(url.ok());
    url->db = 0;
    auto conn = kefu::redis::Connection::Open(*url, absl::Seconds(2));
    REQUIRE(conn.ok());
    const absl::Time give_up = absl::Now() + absl::Seconds(60);
    while (db_ == 0 && absl::Now() < give_up) {
      for (int n = 1; n <= 15 && db_ == 0; ++n) {
        const std::string key = absl::StrCat("kefu-test:db:", n);
        auto claimed = (*conn)->Command({"SET", key, absl::StrCat(getpid()), "NX", "EX", "900"});
        if (claimed.ok() && !kefu::redis::ReplyIsNil(**claimed)) db_ = n;
      }
      if (db_ == 0) absl::SleepFor(absl::Milliseconds(200));
    }
    INFO("every Redis database 1..15 is claimed by another test stack");
    REQUIRE(db_ != 0);
    url->db = db_;
    auto mine = kefu::redis::Connection::Open(*url, absl::Seconds(2));
    REQUIRE(mine.ok());
    REQUIRE((*mine)->Command({"FLUSHDB"}).ok());
    conn_ = std::move(*conn);
    // redis://host:port[/db] -> redis://host:port/<db_>
    const size_t path = server_url.find('/', server_url.find("://") + 3);
    url_ = absl::StrCat(server_url.substr(0, path), "/", db_);
  }
  ~RedisDatabase() {
    if (conn_ != nullptr) (void)conn_->Command({"DEL", absl::StrCat("kefu-test:db:", db_)});
  }
  const std::string& url() const { return url_; }

 private:
  int db_ = 0;
  std::string url_;
  std::unique_ptr<kefu::redis::Connection> conn_;
};

struct Ports {
  int grpc;
  int metrics;
};

// The seven binaries on free ports, sharing one PostgreSQL database and one Redis.
class Stack {
 public:
  // `extra_env` goes to every service (e.g. a short silence timeout).
  Stack(const std::string& redis_server_url, const std::string& pg_dsn, EnvVars extra_env = {})
      : Stack(redis_server_url, pg_dsn, std::move(extra_env), /*routers=*/1) {}

  // With `routers` > 1, router replicas "router-2".. run beside "router", and every service
  // reaches them through one target listing them all ("ipv4:a,b"), whose pick_first policy
  // moves to the next replica when the one in use dies (as a Service in front of pods would).
  Stack(const std::string& redis_server_url, const std::string& pg_dsn, EnvVars extra_env,
        int routers)
      : log_dir_(kefu::testing::MakeTempDir("kefu-e2e")), redis_(redis_server_url) {
    redis_url_ = redis_.url();
    pg_dsn_ = pg_dsn;
    extra_env_ = std::move(extra_env);
    std::vector<std::pair<std::string, std::string>> launches;  // name -> binary
    for (const std::string& name : kServices) {
      ports_[name] = {kefu::testing::FreePort(), kefu::testing::FreePort()};
      launches.emplace_back(name, name);
    }
    for (int i = 2; i <= routers; ++i) {
      const std::string name = absl::StrCat("router-", i);
      ports_[name] = {kefu::testing::FreePort(), kefu::testing::FreePort()};
      launches.emplace_back(name, "router");
    }
    if (routers > 1) {
      std::vector<std::string> addrs;
      for (const auto& [name, binary] : launches) {
        if (binary == "router") addrs.push_back(absl::StrCat("127.0.0.1:", ports_[name].grpc));
      }
      router_target_ = absl::StrCat("ipv4:", absl::StrJoin(addrs, ","));
    }
    for (const auto& [name, binary] : launches) {
      binaries_[name] = absl::StrCat(KEFU_BIN_DIR, "/kefu-", binary);
      Start(name);
    }
  }

  // Another gateway replica of this stack on free ports; returns its gRPC port.
  int AddGateway() {
    const std::string name = absl::StrCat("gateway-", extra_gateways_.size() + 2);
    ports_[name] = {kefu::testing::FreePort(), kefu::testing::FreePort()};
    binaries_[name] = absl::StrCat(KEFU_BIN_DIR, "/kefu-gateway");
    Start(name);
    extra_gateways_.push_back(name);
    return ports_[name].grpc;
  }

  // SIGKILL of one process ("router-2", "gateway"), as a crash; Start(name) brings it back on
  // the same ports with the same environment (its log goes on in the same file).
  void Kill(const std::string& name) {
    auto it = pids_.find(name);
    if (it == pids_.end()) return;
    kill(it->second, SIGKILL);
    kefu::testing::WaitForExit(it->second, 5000);
    pids_.erase(it);
  }
  void Start(const std::string& name) {
    EnvVars env = ServiceEnv(name, redis_url_, pg_dsn_, extra_env_);
    auto pid = kefu::testing::Spawn({binaries_.at(name)}, absl::StrCat(log_dir_, "/", name, ".log"),
                                    {}, env);
    REQUIRE(pid.ok());
    pids_[name] = *pid;
  }

  // The stack's own Redis database (redis://host:port/<db>).
  const std::string& redis_url() const { return redis_url_; }
  const std::string& log_dir() const { return log_dir_; }

  EnvVars ServiceEnv(const std::string& name, const std::string& redis_url,
                     const std::string& pg_dsn, const EnvVars& extra_env) {
    EnvVars env = PeerEnv();
    env.push_back({"KEFU_GRPC_ADDR", absl::StrCat("127.0.0.1:", ports_[name].grpc)});
    env.push_back({"KEFU_METRICS_ADDR", absl::StrCat("127.0.0.1:", ports_[name].metrics)});
    env.push_back({"KEFU_PG_DSN", pg_dsn});
    env.push_back({"KEFU_REDIS_URL", redis_url});
    env.push_back({"KEFU_HEALTH_INTERVAL", "250ms"});
    env.push_back({"KEFU_DEPENDENCY_TIMEOUT", "1s"});
    env.push_back({"KEFU_DRAIN_TIMEOUT", "2s"});
    env.push_back({"KEFU_JWT_KEY", kJwtKey});
    // Stacks sharing a Redis must not take each other's events.
    env.push_back({"KEFU_GATEWAY_EVENT_GROUP", absl::StrCat("gateway-", log_dir_)});
    if (!router_target_.empty()) env.push_back({"KEFU_ROUTER_ADDR", router_target_});
    for (const auto& e : extra_env) env.push_back(e);
    return env;
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
      if (!absl::c_linear_search(kServices, name)) continue;  // extra replicas
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
  RedisDatabase redis_;
  std::map<std::string, Ports> ports_;
  std::map<std::string, pid_t> pids_;
  std::string redis_url_;
  std::string pg_dsn_;
  EnvVars extra_env_;
  std::vector<std::string> extra_gateways_;
  std::map<std::string, std::string> binaries_;  // name -> executable
  std::string router_target_;                    // set with router replicas
};

}  // namespace e2e
