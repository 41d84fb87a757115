#pragma once

#include <grpcpp/support/server_interceptor.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/auth/authorize.h"
#include "libs/redis/client.h"
#include "libs/redis/script.h"

// Per-tenant rate limits on expensive calls (voice verification, bot answers, searches):
// one tenant flooding them cannot starve the others. Counted in Redis, so the limit holds
// across every replica of a service.
namespace kefu::server {

struct RateLimit {
  std::string method;  // "/kefu.kb.v1.BotService/Ask"
  int64_t calls = 0;   // allowed per window and tenant
  absl::Duration window;
};

// What every service starts with (--rate-limits / KEFU_RATE_LIMITS replaces the whole list).
inline constexpr char kDefaultRateLimits[] =
    "/kefu.identity.v1.VerificationService/VerifyVoice=600/1m,"
    "/kefu.identity.v1.VerificationService/EnrollVoiceprint=600/1m,"
    "/kefu.identity.v1.VerificationService/AnswerChallenge=600/1m,"
    "/kefu.kb.v1.BotService/Ask=1200/1m,"
    "/kefu.kb.v1.BotService/Search=1200/1m,"
    "/kefu.crm.v1.CustomerService/SearchCustomers=600/1m,"
    "/kefu.crm.v1.RecordService/SearchDialogs=600/1m";

// "<method>=<calls>/<window>[,...]", e.g. "/kefu.kb.v1.BotService/Ask=1200/1m"; an empty
// spec or "off" means no limits. INVALID_ARGUMENT names the bad entry.
absl::StatusOr<std::vector<RateLimit>> ParseRateLimits(absl::string_view spec);

// Counts calls per key and window. The Redis implementation is what services use; tests
// may count in memory.
class CallCounter {
 public:
  virtual ~CallCounter() = default;
  // Adds one call to `key`, which lives for `window`; returns the calls counted so far.
  virtual absl::StatusOr<int64_t> Add(const std::string& key, absl::Duration window) = 0;
};

class RedisCallCounter final : public CallCounter {
 public:
  explicit RedisCallCounter(redis::Pool* pool);
  // CallCounter
  absl::StatusOr<int64_t> Add(const std::string& key, absl::Duration window) override;

 private:
  redis::Pool* pool_;
  redis::Script script_;
};

// Fixed windows: window n of a limit covers [n * window, (n + 1) * window) since the epoch,
// the same on every replica. A burst may reach twice the limit across a window boundary,
// which is enough to stop a flood and costs one Redis round trip per call.
class RateLimiter final {
 public:
  RateLimiter(std::vector<RateLimit> limits, CallCounter* counter,
              prometheus::Registry* registry = nullptr);

  // The limit on `method`, or nullptr when it has none.
  const RateLimit* Find(absl::string_view method) const;
  // Counts one call of `tenant` against `limit`: OK, or RESOURCE_EXHAUSTED naming the limit.
  // When the counter fails (Redis down) the call is let through and counted in
  // kefu_rate_limit_errors_total: a limiter outage must not take the service down with it.
  absl::Status Admit(absl::string_view tenant, const RateLimit& limit, absl::Time now);

 private:
  std::map<std::string, RateLimit, std::less<>> limits_;
  CallCounter* counter_;
  prometheus::Family<prometheus::Counter>* rejected_ = nullptr;
  prometheus::Counter* errors_ = nullptr;
};

// Server interceptor applying `limiter` to the methods it limits. The tenant is the token's,
// or for a platform service token (the gateway asking for a customer) the request's
// tenant_id. gRPC C++ server interceptors cannot stop a call, so a call over its limit has
// its request messages emptied (the handler then fails validation before doing any
// expensive work) and its status replaced by RESOURCE_EXHAUSTED.
class RateLimitInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  RateLimitInterceptorFactory(const auth::Authenticator* authenticator, RateLimiter* limiter)
      : authenticator_(authenticator), limiter_(limiter) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  const auth::Authenticator* authenticator_;
  RateLimiter* limiter_;
};

}  // namespace kefu::server
