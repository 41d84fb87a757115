#pragma once

#include <google/protobuf/message.h>

#include <string>

// Fingerprints of retried requests (docs/API.md "Idempotency").
namespace kefu::kb {

// 16 hex digits over the request's deterministic serialization with its
// `idempotency_key` field cleared: the same request retried gives the same fingerprint.
std::string RequestFingerprint(const google::protobuf::Message& request);

}  // namespace kefu::kb
