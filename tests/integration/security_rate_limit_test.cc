// Per-tenant rate limits (libs/server/rate_limit): the parser, the Redis-counted limiter shared
// by replicas, and the interceptor on a gRPC server in-process.
#include <grpcpp/grpcpp.h>
#include <prometheus/text_serializer.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "kefu/kb/v1/bot.grpc.pb.h"
#include "libs/auth/authorize.h"
#include "libs/auth/token.h"
#include "libs/redis/client.h"
#include "libs/server/grpc_server.h"
#include "libs/server/rate_limit.h"
#include "tests/support/env.h"

namespace {

using kefu::server::RateLimit;
using kefu::server::RateLimiter;

constexpr char kKey[] = "rate-limit-test-key-0123456789abcdef";

std::unique_ptr<kefu::redis::Pool> SharedRedis() {
  kefu::redis::PoolOptions options;
  auto url = kefu::redis::ParseUrl(kefu::testing::SharedEnv().redis_url);
  REQUIRE(url.ok());
  options.url = *url;
  return std::make_unique<kefu::redis::Pool>(options);
}

RateLimit Limit(const std::string& method, int64_t calls, absl::Duration window) {
  RateLimit limit;
  limit.method = method;
  limit.calls = calls;
  limit.window = window;
  return limit;
}

class FailingCounter final : public kefu::server::CallCounter {
 public:
  absl::StatusOr<int64_t> Add(const std::string&, absl::Duration) override {
    return absl::UnavailableError("redis: connection refused");
  }
};

// A BotService whose Ask remembers the questions it was given.
// Records the questions it acts on; like every kefu handler it authenticates first.
class RecordingBot final : public kefu::kb::v1::BotService::Service {
 public:
  explicit RecordingBot(const kefu::auth::Authenticator* authenticator)
      : authenticator_(authenticator) {}

  grpc::Status Ask(grpc::ServerContext* context, const kefu::kb::v1::AskRequest* request,
                   kefu::kb::v1::AskResponse*) override {
    auto caller = authenticator_->Require(
        *context, {kefu::common::v1::ROLE_ADMIN, kefu::common::v1::ROLE_SERVICE});
    if (!caller.ok()) return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no");
    std::lock_guard lock(mu_);
    questions_.push_back(request->question());
    return grpc::Status::OK;
  }
  std::vector<std::string> questions() {
    std::lock_guard lock(mu_);
    return questions_;
  }

 private:
  const kefu::auth::Authenticator* authenticator_;
  std::mutex mu_;
  std::vector<std::string> questions_;
};

std::string Sign(const kefu::auth::TokenCodec& codec, const std::string& tenant,
                 kefu::common::v1::Role role) {
  kefu::auth::Claims claims;
  claims.tenant_id = tenant;
  claims.role = role;
  claims.subject = "someone";
  claims.issued_at = absl::Now();
  claims.expires_at = claims.issued_at + absl::Minutes(5);
  claims.token_id = kefu::auth::RandomId();
  return codec.Sign(claims);
}

}  // namespace

TEST_CASE("rate limits parse from method=calls/window lists and bad entries name themselves") {
  auto defaults = kefu::server::ParseRateLimits(kefu::server::kDefaultRateLimits);
  REQUIRE(defaults.ok());
  std::set<std::string> methods;
  for (const RateLimit& limit : *defaults) methods.insert(limit.method);
  CHECK(methods.contains("/kefu.identity.v1.VerificationService/VerifyVoice"));
  CHECK(methods.contains("/kefu.kb.v1.BotService/Ask"));
  CHECK(methods.contains("/kefu.crm.v1.CustomerService/SearchCustomers"));

  auto parsed = kefu::server::ParseRateLimits(" kefu.kb.v1.BotService/Ask = 30/1m ,");
  REQUIRE(parsed.ok());
  REQUIRE(parsed->size() == 1);
  CHECK((*parsed)[0].method == "/kefu.kb.v1.BotService/Ask");
  CHECK((*parsed)[0].calls == 30);
  CHECK((*parsed)[0].window == absl::Minutes(1));

  CHECK(kefu::server::ParseRateLimits("off")->empty());
  CHECK(kefu::server::ParseRateLimits("")->empty());
  for (const char* bad :
       {"/kefu.kb.v1.BotService/Ask", "/kefu.kb.v1.BotService/Ask=0/1m",
        "/kefu.kb.v1.BotService/Ask=10", "/kefu.kb.v1.BotService/Ask=10/soon", "Ask=10/1m",
        "/kefu.kb.v1.BotService/Ask=1/1s,/kefu.kb.v1.BotService/Ask=2/1s"}) {
    auto st = kefu::server::ParseRateLimits(bad);
    INFO(bad);
    REQUIRE_FALSE(st.ok());
    CHECK(st.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(st.status().message()), Catch::Contains("--rate-limits"));
  }
}

TEST_CASE(
    "a tenant over its limit is refused until the next window, other tenants are not, and "
    "replicas share the count through Redis") {
  auto redis = SharedRedis();
  kefu::server::RedisCallCounter counter(redis.get());
  const RateLimit ask = Limit("/kefu.kb.v1.BotService/Ask", 3, absl::Hours(1));
  // Two replicas of a service, each with its own limiter, counting in one Redis.
  RateLimiter replica_1({ask}, &counter);
  RateLimiter replica_2({ask}, &counter);
  const std::string flooding = kefu::testing::UniqueTenant("flood");
  const std::string quiet = kefu::testing::UniqueTenant("quiet");
  // The start of an hour, so the whole test stays in one window.
  const absl::Time now = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()) / 3600 * 3600);

  CHECK(replica_1.Admit(flooding, ask, now).ok());
  CHECK(replica_2.Admit(flooding, ask, now).ok());
  CHECK(replica_1.Admit(flooding, ask, now + absl::Minutes(1)).ok());
  absl::Status refused = replica_2.Admit(flooding, ask, now + absl::Minutes(2));
  CHECK(refused.code() == absl::StatusCode::kResourceExhausted);
  CHECK_THAT(std::string(refused.message()),
             Catch::Contains("may call /kefu.kb.v1.BotService/Ask at most 3 times per 1h"));
  CHECK(replica_1.Admit(flooding, ask, now + absl::Minutes(3)).code() ==
        absl::StatusCode::kResourceExhausted);

  CHECK(replica_1.Admit(quiet, ask, now + absl::Minutes(3)).ok());
  // The next window starts afresh.
  CHECK(replica_2.Admit(flooding, ask, now + absl::Hours(1)).ok());

  // Counters expire with their window: nothing piles up in Redis.
  auto ttl = redis->Command(
      {"PTTL", absl::StrCat("kefu:{t:", flooding, "}:ratelimit:/kefu.kb.v1.BotService/Ask:",
                            absl::ToUnixMillis(now) / absl::ToInt64Milliseconds(absl::Hours(1)))});
  REQUIRE(ttl.ok());
  CHECK(kefu::redis::ReplyInt(ttl->get()) > 0);
  CHECK(kefu::redis::ReplyInt(ttl->get()) <= 3600 * 1000);
}

TEST_CASE("a limiter whose Redis is down lets calls through and counts the failure") {
  FailingCounter counter;
  prometheus::Registry registry;
  const RateLimit ask = Limit("/kefu.kb.v1.BotService/Ask", 1, absl::Minutes(1));
  RateLimiter limiter({ask}, &counter, &registry);
  CHECK(limiter.Admit("t-1", ask, absl::Now()).ok());
  CHECK(limiter.Admit("t-1", ask, absl::Now()).ok());
  CHECK_THAT(prometheus::TextSerializer().Serialize(registry.Collect()),
             Catch::Contains("kefu_rate_limit_errors_total 2"));
}

TEST_CASE(
    "a gRPC server answers RESOURCE_EXHAUSTED over the limit, and the handler never sees the "
    "refused request") {
  auto redis = SharedRedis();
  kefu::server::RedisCallCounter counter(redis.get());
  prometheus::Registry registry;
  RateLimiter limiter({Limit("/kefu.kb.v1.BotService/Ask", 2, absl::Hours(1))}, &counter,
                      &registry);
  auto codec = kefu::auth::TokenCodec::Create(kKey);
  REQUIRE(codec.ok());
  kefu::auth::Authenticator authenticator(&*codec);
  RecordingBot bot(&authenticator);
  kefu::server::GrpcServerOptions options;
  options.services = {{kefu::kb::v1::BotService::service_full_name(), &bot}};
  options.authenticator = &authenticator;
  options.rate_limiter = &limiter;
  auto server = kefu::server::GrpcServer::Start(options, registry);
  REQUIRE(server.ok());
  auto stub = kefu::kb::v1::BotService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", (*server)->port()), grpc::InsecureChannelCredentials()));

  const std::string tenant = kefu::testing::UniqueTenant("rl");
  auto ask = [&](const std::string& token, const std::string& question,
                 const std::string& request_tenant = "") {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    kefu::auth::AttachToken(&ctx, token);
    kefu::kb::v1::AskRequest request;
    request.set_question(question);
    request.set_tenant_id(request_tenant);
    kefu::kb::v1::AskResponse response;
    return stub->Ask(&ctx, request, &response);
  };
  const std::string admin = Sign(*codec, tenant, kefu::common::v1::ROLE_ADMIN);
  // Two calls a window may run (unless they cross an hour boundary: then a third does too).
  CHECK(ask(admin, "first").ok());
  CHECK(ask(admin, "second").ok());
  size_t admitted_calls = 2;
  std::string refused_question = "third";
  grpc::Status refused = ask(admin, refused_question);
  if (refused.ok()) {
    ++admitted_calls;
    refused_question = "fourth";
    refused = ask(admin, refused_question);
  }
  INFO(refused.error_message());
  CHECK(refused.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK_THAT(refused.error_message(), Catch::Contains("at most 2 times per 1h"));
  // The handler ran (interceptors cannot stop a call) but without the request or the
  // token: it acted on the admitted calls only.
  const std::vector<std::string> admitted = bot.questions();
  CHECK(admitted.size() == admitted_calls);
  for (const std::string& question : admitted) {
    CHECK(question != refused_question);
    CHECK_FALSE(question.empty());
  }

  // A platform service token (the gateway asking for a customer) is counted against the
  // tenant its request names.
  const std::string platform =
      kefu::auth::PlatformServiceToken(*codec, "gateway", absl::Minutes(1));
  CHECK(ask(platform, "via gateway", tenant).error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK(ask(platform, "another tenant", kefu::testing::UniqueTenant("rl2")).ok());
  // A call without a valid token is the auth interceptor's (UNAUTHENTICATED), never counted.
  CHECK(ask("", "anonymous").error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK_THAT(
      prometheus::TextSerializer().Serialize(registry.Collect()),
      Catch::Contains("kefu_rate_limit_rejected_total{method=\"/kefu.kb.v1.BotService/Ask\"}"));
}
