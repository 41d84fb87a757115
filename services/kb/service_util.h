#pragma once

#include <google/protobuf/message.h>
#include <grpcpp/support/status.h>

#include <exception>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "libs/auth/token.h"
#include "libs/common/status.h"
#include "services/kb/idempotency.h"
#include "services/kb/kb_store.h"

// What the kb gRPC adapters share.
namespace kefu::kb {

// Runs `fn` (returns absl::Status) and maps its status for gRPC.

// The idempotency scope of a mutation by `caller` in `tenant` (docs/API.md).
inline WriteScope MakeScope(const auth::Claims& caller, const std::string& tenant,
                            absl::string_view rpc, const google::protobuf::Message& request,
                            const std::string& idempotency_key) {
  WriteScope scope;
  scope.tenant_id = tenant;
  scope.caller = caller.subject;
  scope.rpc = std::string(rpc);
  scope.idempotency_key = idempotency_key;
  if (!idempotency_key.empty()) scope.request_hash = RequestFingerprint(request);
  return scope;
}

inline absl::Status CheckIdempotencyKey(const std::string& key) {
  if (key.size() > 128) return InvalidField("idempotency_key", "longer than 128 characters");
  return absl::OkStatus();
}

}  // namespace kefu::kb
