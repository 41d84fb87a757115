#pragma once

// Channels one kefu service opens to another (gateway -> router, reporting -> router ...).
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

namespace kefu::server {

// A channel to a peer service at `addr` that rides out a peer starting or restarting: the
// connection is retried after 100 ms, backing off to at most 1 s (gRPC's default is 1 s
// growing to 120 s), and a call that finds the peer UNAVAILABLE is retried up to five times
// with short random pauses (within its deadline) instead of failing at once with "failed to
// connect to all addresses". A peer that stays down still gets UNAVAILABLE in about 2 s:
// unlike wait_for_ready, nothing waits for the whole deadline (a draining service would).
std::shared_ptr<grpc::Channel> PeerChannel(const std::string& addr);
// The same with explicit credentials (TLS towards a peer whose CA a test generated).
std::shared_ptr<grpc::Channel> PeerChannel(const std::string& addr,
                                           std::shared_ptr<grpc::ChannelCredentials> credentials);

// The credentials PeerChannel(addr) uses: insecure until ServiceRuntime sets TLS ones from
// --tls-ca. Process-wide on purpose, like the peers' addresses: one process talks to its
// peers one way, and the services that open peer channels need not carry them around.
void SetPeerChannelCredentials(std::shared_ptr<grpc::ChannelCredentials> credentials);

}  // namespace kefu::server
