#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace kefu {

// absl and gRPC share the canonical code space, so the mapping is one to one.
// Handlers return ToGrpcStatus(store_or_domain_status); nothing else maps codes.
grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

// Runs a handler body `fn` (returning absl::Status) and maps its status for gRPC:
//   return HandleRpc([&]() -> absl::Status { ...; return absl::OkStatus(); });
template <typename Fn>
grpc::Status HandleRpc(Fn&& fn) {
  return ToGrpcStatus(fn());
}

// INVALID_ARGUMENT whose message starts with the field name, as the API promises:
// "queue_id: unknown queue \"vip\"".
absl::Status InvalidField(absl::string_view field, absl::string_view problem);

// "OK", "NOT_FOUND", ... as gRPC spells them (metric labels, logs).
absl::string_view GrpcCodeName(grpc::StatusCode code);

}  // namespace kefu
