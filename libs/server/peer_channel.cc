#include "libs/server/peer_channel.h"

#include <mutex>

namespace kefu::server {
namespace {

// A call that could not reach the peer (UNAVAILABLE: not listening yet, restarting) is
// tried again after a short random pause, up to five times within the call's deadline. A
// peer that stays down still answers UNAVAILABLE after about 2 s, so callers never hang.
constexpr char kRetryConfig[] = R"({
  "methodConfig": [{
    "name": [{}],
    "retryPolicy": {
      "maxAttempts": 5,
      "initialBackoff": "0.1s",
      "maxBackoff": "1s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
})";

std::mutex credentials_mu;
std::shared_ptr<grpc::ChannelCredentials>& DefaultCredentials() {
  static auto* credentials =
      new std::shared_ptr<grpc::ChannelCredentials>(grpc::InsecureChannelCredentials());
  return *credentials;
}

}  // namespace

void SetPeerChannelCredentials(std::shared_ptr<grpc::ChannelCredentials> credentials) {
  std::lock_guard lock(credentials_mu);
  DefaultCredentials() = std::move(credentials);
}

std::shared_ptr<grpc::Channel> PeerChannel(const std::string& addr) {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  {
    std::lock_guard lock(credentials_mu);
    credentials = DefaultCredentials();
  }
  return PeerChannel(addr, std::move(credentials));
}

std::shared_ptr<grpc::Channel> PeerChannel(const std::string& addr,
                                           std::shared_ptr<grpc::ChannelCredentials> credentials) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 1);
  args.SetServiceConfigJSON(kRetryConfig);
  // Detects a peer that vanished without closing the connection (a killed pod).
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  return grpc::CreateCustomChannel(addr, credentials, args);
}

}  // namespace kefu::server
