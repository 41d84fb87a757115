// heartbeat_bench: presence heartbeats per second through gRPC on loopback (issue 10, F22).
//
// presence runs in this process (tests/support, real gRPC, throwaway Redis). --agents agents
// log in; then, closed loop for --seconds, --inflight heartbeats are kept in flight with the
// callback API (a desktop sends one at a time, a few thousand desktops many), round robin
// over the sessions. The same is done with empty calls (health Check: no auth, no Redis) for
// the floor, and Redis PINGs are timed, so the figures compare against this machine's limits
// in one run.
//
//   heartbeat_bench [--agents 1000] [--seconds 5] [--inflight 64]
// Last line: heartbeat_bench hb_per_s=… p50_us=… p99_us=… floor_calls_per_s=… ratio=…
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/bench_floor.h"
#include "bench/bench_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "kefu/presence/v1/presence.grpc.pb.h"
#include "libs/auth/authorize.h"
#include "libs/redis/client.h"
#include "services/presence/presence_service.h"
#include "tests/support/env.h"
#include "tests/support/service_harness.h"

namespace {

namespace pv1 = kefu::presence::v1;
using Clock = std::chrono::steady_clock;
using kefu::bench::Flag;
using kefu::bench::Percentile;

struct Result {
  double per_s = 0;
  long errors = 0;
  std::vector<double> latency_us;
};

// Keeps `inflight` calls going until `seconds` have passed. `issue(i, done)` starts call
// number i and must invoke done(ok) when it completes (from any thread).
Result ClosedLoop(int inflight, int seconds,
                  const std::function<void(long, std::function<void(bool)>)>& issue) {
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<long> next{0}, completed{0}, errors{0};
  int active = 0;
  std::vector<double> latency;
  latency.reserve(1 << 20);
  const Clock::time_point end = Clock::now() + std::chrono::seconds(seconds);
  std::function<void()> start_one;
  start_one = [&] {
    const long i = next++;
    const Clock::time_point started = Clock::now();
    issue(i, [&, started](bool ok) {
      const Clock::time_point now = Clock::now();
      bool again;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (ok) {
          ++completed;
          if (latency.size() < latency.capacity()) {
            latency.push_back(std::chrono::duration<double, std::micro>(now - started).count());
          }
        } else {
          ++errors;
        }
        again = now < end;
        if (!again && --active == 0) cv.notify_all();
      }
      if (again) start_one();
    });
  };
  const Clock::time_point begin = Clock::now();
  {
    std::lock_guard<std::mutex> lock(mu);
    active = inflight;
  }
  for (int k = 0; k < inflight; ++k) start_one();
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return active == 0; });
  const double elapsed = std::chrono::duration<double>(Clock::now() - begin).count();
  return Result{static_cast<double>(completed.load()) / elapsed, errors.load(), std::move(latency)};
}

// Per-call state of the callback API: the context and messages live until the callback.
template <typename Request, typename Response>
struct Call {
  grpc::ClientContext ctx;
  Request request;
  Response response;
};

}  // namespace

int main(int argc, char** argv) {
  const int agents = std::max(1, Flag(argc, argv, "--agents", 1000));
  const int seconds = std::max(1, Flag(argc, argv, "--seconds", 5));
  const int inflight = std::max(1, Flag(argc, argv, "--inflight", 64));

  kefu::testing::RunningService presence =
      kefu::testing::StartService(kefu::presence::Definition());
  const std::string tenant = kefu::testing::UniqueTenant("hbbench");
  auto stub = pv1::PresenceService::NewStub(presence.channel);
  std::vector<std::string> tokens, sessions;
  for (int i = 0; i < agents; ++i) {
    tokens.push_back(kefu::testing::TokenFor(tenant, kefu::common::v1::ROLE_AGENT,
                                             absl::StrCat("hb-", i), absl::Hours(1)));
    pv1::LoginResponse logged_in;
    grpc::Status st =
        stub->Login(kefu::testing::CallWith(tokens.back()).get(), pv1::LoginRequest(), &logged_in);
    if (!st.ok()) {
      std::fprintf(stderr, "heartbeat_bench: Login: %s\n", st.error_message().c_str());
      return 1;
    }
    sessions.push_back(logged_in.session_id());
  }
  std::printf("heartbeat_bench: %d agents logged in, %d calls in flight, %d s per phase\n", agents,
              inflight, seconds);

  // Floor: Redis round trip, and empty gRPC calls per second with the same window.
  const std::vector<double> redis_rtt =
      kefu::bench::RedisRoundTrips(kefu::testing::SharedEnv().redis_url);
  auto health = grpc::health::v1::Health::NewStub(presence.channel);
  using HealthCall =
      Call<grpc::health::v1::HealthCheckRequest, grpc::health::v1::HealthCheckResponse>;
  Result floor = ClosedLoop(inflight, seconds, [&](long, std::function<void(bool)> done) {
    auto* call = new HealthCall;
    health->async()->Check(&call->ctx, &call->request, &call->response,
                           [call, done = std::move(done)](grpc::Status st) {
                             done(st.ok());
                             delete call;
                           });
  });
  std::printf("floor: redis_rtt_p50_us=%.0f empty_grpc_calls_per_s=%.0f (p50_us=%.0f)\n",
              Percentile(redis_rtt, 0.5), floor.per_s, Percentile(floor.latency_us, 0.5));

  // Heartbeats: authenticated, each one a presence script run in Redis.
  using HeartbeatCall = Call<pv1::HeartbeatRequest, pv1::HeartbeatResponse>;
  Result beats = ClosedLoop(inflight, seconds, [&](long i, std::function<void(bool)> done) {
    const size_t agent = static_cast<size_t>(i % agents);
    auto* call = new HeartbeatCall;
    call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    kefu::auth::AttachToken(&call->ctx, tokens[agent]);
    call->request.set_session_id(sessions[agent]);
    stub->async()->Heartbeat(&call->ctx, &call->request, &call->response,
                             [call, done = std::move(done)](grpc::Status st) {
                               done(st.ok());
                               delete call;
                             });
  });
  const double p50 = Percentile(beats.latency_us, 0.5), p99 = Percentile(beats.latency_us, 0.99);
  std::printf("heartbeats: %.0f per second, p50_us=%.0f p99_us=%.0f, errors=%ld\n", beats.per_s,
              p50, p99, beats.errors);
  std::printf(
      "heartbeat_bench hb_per_s=%.0f p50_us=%.0f p99_us=%.0f floor_calls_per_s=%.0f "
      "ratio=%.2f\n",
      beats.per_s, p50, p99, floor.per_s, beats.per_s / std::max(1.0, floor.per_s));
  return beats.errors == 0 ? 0 : 1;
}
