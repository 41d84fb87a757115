#include "tests/support/pki.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/support/process.h"
#include "tests/support/servers.h"

namespace kefu::testing {

absl::StatusOr<TestPki> MakeTestPki(const std::string& prefix) {
  TestPki pki;
  pki.dir = MakeTempDir(prefix);
  const std::string& d = pki.dir;
  pki.ca = d + "/ca.pem";
  pki.cert = d + "/server.pem";
  pki.key = d + "/server.key";
  pki.other_ca = d + "/other-ca.pem";
  const std::vector<std::vector<std::string>> steps = {
      {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
       "/CN=kefu test CA", "-keyout", d + "/ca.key", "-out", pki.ca},
      {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
       "/CN=another CA", "-keyout", d + "/other-ca.key", "-out", pki.other_ca},
      {"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout",
       pki.key, "-out", d + "/server.csr"},
      {"sh", "-c", absl::StrCat("echo subjectAltName=IP:127.0.0.1,DNS:localhost > ", d, "/san")},
      {"openssl", "x509", "-req", "-in", d + "/server.csr", "-CA", pki.ca, "-CAkey", d + "/ca.key",
       "-CAcreateserial", "-days", "1", "-extfile", d + "/san", "-out", pki.cert},
  };
  for (const auto& step : steps) {
    CommandResult result = RunCommand(step);
    if (result.exit_code != 0) {
      return absl::InternalError(
          absl::StrCat(absl::StrJoin(step, " "), " failed: ", result.output));
    }
  }
  return pki;
}

grpc::Status CheckLiveness(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(3)));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service("liveness");
  grpc::health::v1::HealthCheckResponse response;
  return stub->Check(&ctx, request, &response);
}

}  // namespace kefu::testing
