#include "libs/server/rate_limit.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/common/embedded.h"
#include "libs/common/log.h"
#include "libs/common/status.h"

namespace kefu {
namespace embedded {
const std::vector<EmbeddedFile>& RateLimitScripts();
}  // namespace embedded

namespace server {
namespace {

absl::Status BadEntry(absl::string_view entry, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("--rate-limits: \"", entry, "\": ", why,
                   " (want <method>=<calls>/<window>, e.g. /kefu.kb.v1.BotService/Ask=1200/1m)"));
}

// The tenant a platform service token acts for: the request's tenant_id, at the top or one
// message down (a stream's first message often carries it in its metadata part).
std::string RequestTenant(const google::protobuf::Message& message, int depth = 0) {
  const auto* descriptor = message.GetDescriptor();
  const auto* reflection = message.GetReflection();
  if (const auto* field = descriptor->FindFieldByName("tenant_id");
      field != nullptr && field->type() == google::protobuf::FieldDescriptor::TYPE_STRING &&
      !field->is_repeated()) {
    return reflection->GetString(message, field);
  }
  if (depth > 0) return "";
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const auto* field = descriptor->field(i);
    if (field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE ||
        field->is_repeated() || !reflection->HasField(message, field)) {
      continue;
    }
    std::string tenant = RequestTenant(reflection->GetMessage(message, field), depth + 1);
    if (!tenant.empty()) return tenant;
  }
  return "";
}

class RateLimitInterceptor final : public grpc::experimental::Interceptor {
 public:
  RateLimitInterceptor(const auth::Authenticator* authenticator, RateLimiter* limiter,
                       const RateLimit* limit)
      : authenticator_(authenticator), limiter_(limiter), limit_(limit) {}

  // grpc::experimental::Interceptor
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      auto* metadata = methods->GetRecvInitialMetadata();
      metadata_ = metadata;
      if (auto it = metadata->find("authorization"); it != metadata->end()) {
        auto claims = authenticator_->AuthenticateHeader(
            absl::string_view(it->second.data(), it->second.size()));
        // A call without a valid token is the auth interceptor's to reject, and not counted.
        if (claims.ok()) claims_ = std::move(*claims);
      }
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE)) {
      auto* message = static_cast<google::protobuf::Message*>(methods->GetRecvMessage());
      if (!counted_ && claims_.has_value() && message != nullptr) {
        counted_ = true;
        const std::string tenant =
            claims_->platform() ? RequestTenant(*message) : claims_->tenant_id;
        if (!tenant.empty()) rejection_ = limiter_->Admit(tenant, *limit_, absl::Now());
      }
      if (!rejection_.ok()) {
        // The handler still runs (interceptors cannot stop a sync call): it gets an empty
        // request and no token, so its own authentication refuses before any work, even
        // where an empty request would mean something (Logout: any session).
        if (message != nullptr) message->Clear();
        if (metadata_ != nullptr) metadata_->erase("authorization");
      }
    }
    if (!rejection_.ok() &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      methods->ModifySendStatus(ToGrpcStatus(rejection_));
    }
    methods->Proceed();
  }

 private:
  const auth::Authenticator* authenticator_;
  RateLimiter* limiter_;
  const RateLimit* limit_;
  std::optional<auth::Claims> claims_;
  // The call's received metadata (the ServerContext's, which the handler reads).
  std::multimap<grpc::string_ref, grpc::string_ref>* metadata_ = nullptr;
  bool counted_ = false;
  absl::Status rejection_;
};

}  // namespace

absl::StatusOr<std::vector<RateLimit>> ParseRateLimits(absl::string_view spec) {
  std::vector<RateLimit> limits;
  spec = absl::StripAsciiWhitespace(spec);
  if (spec.empty() || spec == "off") return limits;
  for (absl::string_view entry : absl::StrSplit(spec, ',', absl::SkipWhitespace())) {
    entry = absl::StripAsciiWhitespace(entry);
    const size_t eq = entry.rfind('=');
    if (eq == absl::string_view::npos) return BadEntry(entry, "no '='");
    RateLimit limit;
    limit.method = std::string(absl::StripAsciiWhitespace(entry.substr(0, eq)));
    if (!absl::StartsWith(limit.method, "/")) limit.method = absl::StrCat("/", limit.method);
    std::vector<absl::string_view> parts = absl::StrSplit(limit.method, '/');
    if (parts.size() != 3 || parts[1].find('.') == absl::string_view::npos || parts[2].empty()) {
      return BadEntry(entry, "method must be /<package>.<Service>/<Method>");
    }
    const absl::string_view rate = absl::StripAsciiWhitespace(entry.substr(eq + 1));
    const size_t slash = rate.find('/');
    if (slash == absl::string_view::npos) return BadEntry(entry, "no '/' between calls and window");
    if (!absl::SimpleAtoi(rate.substr(0, slash), &limit.calls) || limit.calls < 1) {
      return BadEntry(entry, "calls must be a whole number of at least 1");
    }
    if (!absl::ParseDuration(rate.substr(slash + 1), &limit.window) ||
        limit.window < absl::Milliseconds(1)) {
      return BadEntry(entry, "window must be a duration of at least 1ms (\"1s\", \"1m\")");
    }
    for (const RateLimit& seen : limits) {
      if (seen.method == limit.method) return BadEntry(entry, "method listed twice");
    }
    limits.push_back(std::move(limit));
  }
  return limits;
}

RedisCallCounter::RedisCallCounter(redis::Pool* pool)
    : pool_(pool), script_("rate_limit", redis::Script::Concat(embedded::RateLimitScripts())) {}

absl::StatusOr<int64_t> RedisCallCounter::Add(const std::string& key, absl::Duration window) {
  const std::string window_ms = absl::StrCat(absl::ToInt64Milliseconds(window));
  auto reply = script_.Run(*pool_, {key}, {window_ms});
  if (!reply.ok()) return reply.status();
  return redis::ReplyInt(reply->get());
}

RateLimiter::RateLimiter(std::vector<RateLimit> limits, CallCounter* counter,
                         prometheus::Registry* registry)
    : counter_(counter) {
  for (RateLimit& limit : limits) {
    std::string method = limit.method;
    limits_.emplace(std::move(method), std::move(limit));
  }
  if (registry != nullptr) {
    rejected_ = &prometheus::BuildCounter()
                     .Name("kefu_rate_limit_rejected_total")
                     .Help("Calls answered RESOURCE_EXHAUSTED by a per-tenant rate limit")
                     .Register(*registry);
    errors_ = &prometheus::BuildCounter()
                   .Name("kefu_rate_limit_errors_total")
                   .Help("Calls let through because the rate-limit counter (Redis) failed")
                   .Register(*registry)
                   .Add({});
  }
}

const RateLimit* RateLimiter::Find(absl::string_view method) const {
  auto it = limits_.find(method);
  return it == limits_.end() ? nullptr : &it->second;
}

absl::Status RateLimiter::Admit(absl::string_view tenant, const RateLimit& limit, absl::Time now) {
  const int64_t window_ms = absl::ToInt64Milliseconds(limit.window);
  const int64_t index = absl::ToUnixMillis(now) / window_ms;
  // The tenant's hash tag keeps the counter in the tenant's slot (ARCHITECTURE.md, Redis).
  const std::string key =
      absl::StrCat("kefu:{t:", tenant, "}:ratelimit:", limit.method, ":", index);
  auto count = counter_->Add(key, limit.window);
  if (!count.ok()) {
    if (errors_ != nullptr) errors_->Increment();
    log::Warn("rate limit not checked; call let through",
              {{"tenant", tenant}, {"method", limit.method}, {"error", count.status().message()}});
    return absl::OkStatus();
  }
  if (*count <= limit.calls) return absl::OkStatus();
  if (rejected_ != nullptr) rejected_->Add({{"method", limit.method}}).Increment();
  return absl::ResourceExhaustedError(
      absl::StrCat("rate limit: tenant \"", tenant, "\" may call ", limit.method, " at most ",
                   limit.calls, " times per ", absl::FormatDuration(limit.window),
                   "; retry in the next window (limits: --rate-limits / KEFU_RATE_LIMITS)"));
}

grpc::experimental::Interceptor* RateLimitInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  const RateLimit* limit = limiter_->Find(info->method());
  if (limit == nullptr) return nullptr;  // the method is not limited: no interceptor at all
  return new RateLimitInterceptor(authenticator_, limiter_, limit);
}

}  // namespace server
}  // namespace kefu
