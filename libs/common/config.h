#pragma once

#include <array>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kefu {

// Command-line flags with environment fallbacks: `--name=value` or `--name value` wins,
// then the environment variable, then the default already held by the target.
// Values are validated once, here, into plain structs: nothing else reads the environment.
class FlagSet {
 public:
  using GetEnv = std::function<const char*(const char*)>;

  explicit FlagSet(std::string program) : program_(std::move(program)) {}

  void String(std::string name, std::string env, std::string help, std::string* target);
  void Int(std::string name, std::string env, std::string help, int* target);
  // Durations in Go/absl syntax: "500ms", "5s", "2m".
  void Duration(std::string name, std::string env, std::string help, absl::Duration* target);

  // Unknown flags and malformed values are INVALID_ARGUMENT naming the flag.
  absl::Status Parse(int argc, const char* const* argv, const GetEnv& getenv = DefaultGetEnv);
  bool help_requested() const { return help_requested_; }
  // Positional arguments, in order (for command-line tools).
  const std::vector<std::string>& args() const { return args_; }
  std::string Usage() const;

  static const char* DefaultGetEnv(const char* name);

 private:
  struct Flag {
    std::string name;
    std::string env;
    std::string help;
    std::string default_text;
    std::function<absl::Status(absl::string_view)> set;
  };
  absl::Status Set(const Flag& flag, absl::string_view value, absl::string_view source);
  const Flag* Find(absl::string_view name) const;

  std::string program_;
  std::vector<Flag> flags_;
  std::vector<std::string> args_;
  bool help_requested_ = false;
};

// The seven services and their ports (ARCHITECTURE.md "Services").
struct ServiceInfo {
  absl::string_view name;    // "router"
  absl::string_view binary;  // "kefu-router"
  int grpc_port;
  int metrics_port;
  bool needs_postgres;
  bool needs_redis;
};
const std::array<ServiceInfo, 7>& AllServices();
const ServiceInfo* FindService(absl::string_view name);

// Settings every service binary shares. Service-specific settings live in the
// service's own struct, registered on the same FlagSet.
struct ServiceConfig {
  std::string service;
  std::string grpc_addr;
  std::string metrics_addr;
  std::string pg_dsn;
  std::string redis_url = "redis://127.0.0.1:6379";
  std::string jwt_key;
  std::string log_level = "info";
  int pg_pool_size = 4;
  int max_message_bytes = 8 << 20;
  absl::Duration pg_statement_timeout = absl::Seconds(5);
  absl::Duration dependency_timeout = absl::Seconds(2);
  absl::Duration health_interval = absl::Seconds(1);
  absl::Duration drain_timeout = absl::Seconds(10);
  absl::Duration startup_timeout = absl::Seconds(60);
  std::map<std::string, std::string, std::less<>> peers;  // "identity" -> "127.0.0.1:7002"
};

// Registers the shared flags with defaults for `info` (ports from the table above).
void RegisterServiceFlags(const ServiceInfo& info, FlagSet* flags, ServiceConfig* config);
// Peer address flags (--identity-addr / KEFU_IDENTITY_ADDR ...) for every service.
void RegisterPeerFlags(FlagSet* flags, std::map<std::string, std::string, std::less<>>* peers);
absl::Status ValidateServiceConfig(const ServiceInfo& info, const ServiceConfig& config);

// "host:port" or "[v6]:port" with a port in 0..65535; INVALID_ARGUMENT names `field`.
absl::Status ValidateHostPort(absl::string_view field, absl::string_view value);

}  // namespace kefu
