#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kefu::ctl {

// grpc.health.v1 Check of the whole server (service ""): "SERVING", "NOT_SERVING",
// "UNKNOWN" or "SERVICE_UNKNOWN"; UNAVAILABLE/DEADLINE_EXCEEDED when nobody answers.
absl::StatusOr<std::string> CheckHealth(const std::string& addr, absl::Duration timeout);

// Service names the server lists through gRPC server reflection.
absl::StatusOr<std::vector<std::string>> ListServices(const std::string& addr,
                                                      absl::Duration timeout);

// Full method paths ("/kefu.crm.v1.CustomerService/GetCustomer") of `service`, read
// through server reflection.
absl::StatusOr<std::vector<std::string>> ListMethods(const std::string& addr,
                                                     const std::string& service,
                                                     absl::Duration timeout);

}  // namespace kefu::ctl
