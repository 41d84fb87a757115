#include "libs/server/peer_channel.h"

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

}  // namespace

std::shared_ptr<grpc::Channel> PeerChannel(const std::string& addr) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 1);
  args.SetServiceConfigJSON(kRetryConfig);
  // Detects a peer that vanished without closing the connection (a killed pod).
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  return grpc::CreateCustomChannel(addr, grpc::InsecureChannelCredentials(), args);
}

}  // namespace kefu::server
