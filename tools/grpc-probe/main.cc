// kefu-grpc-probe: asks a gRPC server for its health (grpc.health.v1.Health/Check) and
// exits 0 when it answers SERVING. Container health checks run it (docker-compose.yml);
// Kubernetes uses its native gRPC probes instead.
//
//   kefu-grpc-probe [--addr=127.0.0.1:7003] [--service=NAME] [--timeout=2s]
//
// Exit codes: 0 SERVING, 1 anything else (NOT_SERVING, UNKNOWN, no answer), 2 bad usage.
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "libs/common/config.h"

int main(int argc, char** argv) {
  std::string addr = "127.0.0.1:7001";
  std::string service;
  absl::Duration timeout = absl::Seconds(2);
  kefu::FlagSet flags("kefu-grpc-probe");
  flags.String("addr", "KEFU_PROBE_ADDR", "gRPC address to ask (host:port)", &addr);
  flags.String("service", "KEFU_PROBE_SERVICE", "service name to check (empty: the whole server)",
               &service);
  flags.Duration("timeout", "KEFU_PROBE_TIMEOUT", "deadline of the check", &timeout);
  if (auto st = flags.Parse(argc, argv); !st.ok()) {
    std::fprintf(stderr, "kefu-grpc-probe: %s\n", std::string(st.message()).c_str());
    return 2;
  }
  if (flags.help_requested()) {
    std::cout << flags.Usage();
    return 0;
  }
  if (!flags.args().empty()) addr = flags.args().front();  // `kefu-grpc-probe host:port`
  if (auto st = kefu::ValidateHostPort("--addr", addr); !st.ok()) {
    std::fprintf(stderr, "kefu-grpc-probe: %s\n", std::string(st.message()).c_str());
    return 2;
  }

  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(addr, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) {
    std::fprintf(stderr, "%s: no answer (%d %s)\n", addr.c_str(),
                 static_cast<int>(status.error_code()), status.error_message().c_str());
    return 1;
  }
  const std::string name =
      grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
  std::printf("%s %s\n", addr.c_str(), name.c_str());
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING ? 0 : 1;
}
