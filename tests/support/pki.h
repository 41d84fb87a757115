#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace kefu::testing {

// A throwaway public-key infrastructure made with openssl in a fresh temporary directory: a CA,
// a server certificate it signs for 127.0.0.1 / localhost (with its key), and an unrelated CA
// that a client may trust instead, to be refused.
struct TestPki {
  std::string dir;
  std::string ca, cert, key, other_ca;  // PEM files in dir
};

// Fails with the openssl step's output when a step fails (openssl missing, say).
absl::StatusOr<TestPki> MakeTestPki(const std::string& prefix);

// A liveness health check through `channel` (3 s deadline): how the TLS tests see whether a
// client with some credentials gets through.
grpc::Status CheckLiveness(const std::shared_ptr<grpc::Channel>& channel);

}  // namespace kefu::testing
