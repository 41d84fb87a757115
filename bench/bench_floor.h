#pragma once

// The machine's floor that every benchmark measures in the same run as its figures: a Redis
// round trip and an empty gRPC call (health Check: no auth, no storage).
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "bench/bench_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "libs/redis/client.h"

namespace kefu::bench {

// Round-trip times in microseconds of `n` Redis PINGs.
inline std::vector<double> RedisRoundTrips(const std::string& redis_url, int n = 2000) {
  redis::PoolOptions options;
  options.url = *redis::ParseUrl(redis_url);
  redis::Pool pool(options);
  std::vector<double> out;
  for (int i = 0; i < n; ++i) {
    const absl::Time start = absl::Now();
    (void)pool.Command({"PING"});
    out.push_back(absl::ToDoubleMicroseconds(absl::Now() - start));
  }
  return out;
}

// Round-trip times in microseconds of `n` empty gRPC calls (health Check) on `channel`.
inline std::vector<double> EmptyCallRoundTrips(const std::shared_ptr<grpc::Channel>& channel,
                                               int n = 2000) {
  auto health = grpc::health::v1::Health::NewStub(channel);
  std::vector<double> out;
  for (int i = 0; i < n; ++i) {
    grpc::ClientContext ctx;
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    const absl::Time start = absl::Now();
    (void)health->Check(&ctx, request, &response);
    out.push_back(absl::ToDoubleMicroseconds(absl::Now() - start));
  }
  return out;
}

// Measures both, prints the `floor:` line every benchmark shows, and returns the empty call's
// p50 in microseconds (what the benches' ratios divide by).
inline double PrintFloor(const std::string& redis_url,
                         const std::shared_ptr<grpc::Channel>& channel) {
  const double redis_p50 = Percentile(RedisRoundTrips(redis_url), 0.5);
  const double grpc_p50 = Percentile(EmptyCallRoundTrips(channel), 0.5);
  std::printf("floor: redis_rtt_p50_us=%.0f grpc_rtt_p50_us=%.0f\n", redis_p50, grpc_p50);
  std::fflush(stdout);
  return grpc_p50;
}

}  // namespace kefu::bench
