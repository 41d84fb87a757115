#pragma once

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

}  // namespace kefu::testing
