#include "libs/common/config.h"

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "libs/common/log.h"
#include "libs/common/status.h"

namespace kefu {

const char* FlagSet::DefaultGetEnv(const char* name) { return std::getenv(name); }

void FlagSet::String(std::string name, std::string env, std::string help, std::string* target) {
  flags_.push_back(
      {std::move(name), std::move(env), std::move(help), *target, [target](absl::string_view v) {
         *target = std::string(v);
         return absl::OkStatus();
       }});
}

void FlagSet::Int(std::string name, std::string env, std::string help, int* target) {
  flags_.push_back({std::move(name), std::move(env), std::move(help), std::to_string(*target),
                    [target](absl::string_view v) {
                      int parsed = 0;
                      if (!absl::SimpleAtoi(v, &parsed)) {
                        return absl::InvalidArgumentError(
                            absl::StrCat("not an integer: \"", v, "\""));
                      }
                      *target = parsed;
                      return absl::OkStatus();
                    }});
}

void FlagSet::Duration(std::string name, std::string env, std::string help,
                       absl::Duration* target) {
  flags_.push_back({std::move(name), std::move(env), std::move(help), absl::FormatDuration(*target),
                    [target](absl::string_view v) {
                      absl::Duration parsed;
                      if (!absl::ParseDuration(v, &parsed) || parsed < absl::ZeroDuration()) {
                        return absl::InvalidArgumentError(
                            absl::StrCat("not a duration: \"", v, "\" (use e.g. 500ms, 5s, 2m)"));
                      }
                      *target = parsed;
                      return absl::OkStatus();
                    }});
}

const FlagSet::Flag* FlagSet::Find(absl::string_view name) const {
  for (const Flag& flag : flags_) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

absl::Status FlagSet::Set(const Flag& flag, absl::string_view value, absl::string_view source) {
  absl::Status status = flag.set(value);
  if (!status.ok()) {
    return InvalidField(absl::StrCat("--", flag.name, source), status.message());
  }
  return absl::OkStatus();
}

absl::Status FlagSet::Parse(int argc, const char* const* argv, const GetEnv& getenv) {
  // Environment first, so that flags given on the command line override it.
  for (const Flag& flag : flags_) {
    if (flag.env.empty()) continue;
    const char* value = getenv(flag.env.c_str());
    if (value != nullptr && *value != '\0') {
      if (auto st = Set(flag, value, absl::StrCat(" (from ", flag.env, ")")); !st.ok()) return st;
    }
  }
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      help_requested_ = true;
      continue;
    }
    if (arg == "--") {
      for (++i; i < argc; ++i) args_.emplace_back(argv[i]);
      break;
    }
    if (!absl::StartsWith(arg, "--")) {
      args_.emplace_back(arg);
      continue;
    }
    arg.remove_prefix(2);
    absl::string_view name = arg;
    absl::string_view value;
    bool has_value = false;
    if (auto eq = arg.find('='); eq != absl::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    const Flag* flag = Find(name);
    if (flag == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", name, "; run ", program_, " --help for the list"));
    }
    if (!has_value) {
      if (i + 1 >= argc) {
        return InvalidField(absl::StrCat("--", name), "missing value");
      }
      value = argv[++i];
    }
    if (auto st = Set(*flag, value, ""); !st.ok()) return st;
  }
  return absl::OkStatus();
}

std::string FlagSet::Usage() const {
  std::string out =
      absl::StrCat("usage: ", program_, " [flags]\n\nflags (environment variable):\n");
  for (const Flag& flag : flags_) {
    absl::StrAppendFormat(&out, "  --%-24s %s\n", flag.name, flag.help);
    absl::StrAppendFormat(&out, "  %-26s env %s, default \"%s\"\n", "",
                          flag.env.empty() ? "-" : flag.env, flag.default_text);
  }
  return out;
}

const std::array<ServiceInfo, 7>& AllServices() {
  static const std::array<ServiceInfo, 7> kServices = {{
      {"gateway", "kefu-gateway", 7001, 9101, false, true},
      {"identity", "kefu-identity", 7002, 9102, true, true},
      {"router", "kefu-router", 7003, 9103, true, true},
      {"presence", "kefu-presence", 7004, 9104, false, true},
      {"kb", "kefu-kb", 7005, 9105, true, true},
      {"crm", "kefu-crm", 7006, 9106, true, true},
      {"reporting", "kefu-reporting", 7007, 9107, true, true},
  }};
  return kServices;
}

const ServiceInfo* FindService(absl::string_view name) {
  for (const ServiceInfo& info : AllServices()) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

void RegisterPeerFlags(FlagSet* flags, std::map<std::string, std::string, std::less<>>* peers) {
  for (const ServiceInfo& peer : AllServices()) {
    std::string& addr = (*peers)[std::string(peer.name)];
    if (addr.empty()) addr = absl::StrCat("127.0.0.1:", peer.grpc_port);
    flags->String(absl::StrCat(peer.name, "-addr"),
                  absl::StrCat("KEFU_", absl::AsciiStrToUpper(peer.name), "_ADDR"),
                  absl::StrCat("gRPC address of kefu-", peer.name), &addr);
  }
}

void RegisterServiceFlags(const ServiceInfo& info, FlagSet* flags, ServiceConfig* config) {
  config->service = std::string(info.name);
  if (config->grpc_addr.empty()) config->grpc_addr = absl::StrCat("0.0.0.0:", info.grpc_port);
  if (config->metrics_addr.empty()) {
    config->metrics_addr = absl::StrCat("0.0.0.0:", info.metrics_port);
  }
  flags->String("grpc-addr", "KEFU_GRPC_ADDR", "address the gRPC server listens on",
                &config->grpc_addr);
  flags->String("metrics-addr", "KEFU_METRICS_ADDR",
                "address of the Prometheus /metrics endpoint (empty: off)", &config->metrics_addr);
  if (info.needs_postgres) {
    flags->String("pg-dsn", "KEFU_PG_DSN", "PostgreSQL connection string (libpq DSN or URI)",
                  &config->pg_dsn);
    flags->Int("pg-pool-size", "KEFU_PG_POOL_SIZE", "PostgreSQL connections in the pool",
               &config->pg_pool_size);
    flags->Duration("pg-statement-timeout", "KEFU_PG_STATEMENT_TIMEOUT",
                    "statement_timeout of every PostgreSQL connection",
                    &config->pg_statement_timeout);
  }
  if (info.needs_redis) {
    flags->String("redis-url", "KEFU_REDIS_URL", "Redis URL redis://[:password@]host:port[/db]",
                  &config->redis_url);
  }
  flags->String("jwt-key", "KEFU_JWT_KEY",
                "key that signs and verifies access tokens (required, 32+ bytes)",
                &config->jwt_key);
  flags->String("log-level", "KEFU_LOG_LEVEL", "debug, info, warn or error", &config->log_level);
  flags->Int("max-message-bytes", "KEFU_MAX_MESSAGE_BYTES",
             "largest gRPC message the server accepts", &config->max_message_bytes);
  flags->Duration("dependency-timeout", "KEFU_DEPENDENCY_TIMEOUT",
                  "connect/ping timeout towards Redis and PostgreSQL", &config->dependency_timeout);
  flags->Duration("health-interval", "KEFU_HEALTH_INTERVAL",
                  "how often dependencies are pinged for the health status",
                  &config->health_interval);
  flags->Duration("drain-timeout", "KEFU_DRAIN_TIMEOUT",
                  "how long in-flight RPCs may run after SIGTERM", &config->drain_timeout);
  flags->Duration("startup-timeout", "KEFU_STARTUP_TIMEOUT",
                  "how long start-up waits for PostgreSQL before giving up",
                  &config->startup_timeout);
  RegisterPeerFlags(flags, &config->peers);
}

absl::Status ValidateHostPort(absl::string_view field, absl::string_view value) {
  auto colon = value.rfind(':');
  if (value.empty() || colon == absl::string_view::npos || colon == 0) {
    return InvalidField(field, absl::StrCat("\"", value, "\" is not host:port"));
  }
  int port = -1;
  if (!absl::SimpleAtoi(value.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return InvalidField(field, absl::StrCat("\"", value, "\" has no valid port (0-65535)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateServiceConfig(const ServiceInfo& info, const ServiceConfig& config) {
  if (auto st = ValidateHostPort("--grpc-addr", config.grpc_addr); !st.ok()) return st;
  if (!config.metrics_addr.empty()) {
    if (auto st = ValidateHostPort("--metrics-addr", config.metrics_addr); !st.ok()) return st;
  }
  if (info.needs_postgres) {
    if (config.pg_dsn.empty()) {
      return InvalidField("--pg-dsn", "required (or set KEFU_PG_DSN)");
    }
    if (config.pg_pool_size < 1 || config.pg_pool_size > 256) {
      return InvalidField("--pg-pool-size", "must be between 1 and 256");
    }
  }
  if (info.needs_redis && !absl::StartsWith(config.redis_url, "redis://")) {
    return InvalidField("--redis-url", "must start with redis://");
  }
  log::Level level;
  if (!log::ParseLevel(config.log_level, &level)) {
    return InvalidField("--log-level", "must be debug, info, warn or error");
  }
  if (config.max_message_bytes < 1024) {
    return InvalidField("--max-message-bytes", "must be at least 1024");
  }
  if (config.health_interval <= absl::ZeroDuration()) {
    return InvalidField("--health-interval", "must be positive");
  }
  for (const auto& [name, addr] : config.peers) {
    if (auto st = ValidateHostPort(absl::StrCat("--", name, "-addr"), addr); !st.ok()) return st;
  }
  return absl::OkStatus();
}

}  // namespace kefu
