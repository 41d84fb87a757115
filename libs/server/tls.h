#pragma once

// TLS for every gRPC server and peer channel: a config switch (ARCHITECTURE.md, Security).
// Off when no certificate is configured; then servers and channels speak plaintext.
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace kefu::server {

struct TlsFiles {
  std::string cert;  // PEM certificate chain this process presents (servers)
  std::string key;   // PEM private key of `cert`
  std::string ca;    // PEM CA bundle that peer certificates must chain to (clients)

  bool server_enabled() const { return !cert.empty() || !key.empty(); }
  bool client_enabled() const { return !ca.empty(); }
};

// TLS server credentials from cert + key, or insecure ones when neither is set. A half
// configuration or an unreadable file is INVALID_ARGUMENT naming the flag: a server that was
// asked for TLS never falls back to plaintext.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFrom(
    const TlsFiles& files);

// Channel credentials that verify the server against `files.ca` (and present cert + key
// when both are set, for a peer that asks for a client certificate), or insecure ones when
// no CA is set.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ChannelCredentialsFrom(
    const TlsFiles& files);

}  // namespace kefu::server
