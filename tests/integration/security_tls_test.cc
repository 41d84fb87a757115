// TLS as a config switch (libs/server/tls, peer_channel): a server with a certificate from a CA
// generated here, and peer channels that trust that CA, or do not.
#include <grpcpp/grpcpp.h>
#include <prometheus/registry.h>

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "kefu/router/v1/routing.grpc.pb.h"
#include "libs/server/grpc_server.h"
#include "libs/server/peer_channel.h"
#include "libs/server/tls.h"
#include "tests/support/pki.h"
#include "tests/support/process.h"
#include "tests/support/servers.h"

namespace {

grpc::StatusCode Health(const std::shared_ptr<grpc::Channel>& channel) {
  return kefu::testing::CheckLiveness(channel).error_code();
}

}  // namespace

TEST_CASE("a TLS server is reached by peer channels that trust its CA and by no other") {
  auto made = kefu::testing::MakeTestPki("kefu-tls-it");
  INFO(made.status().ToString());
  REQUIRE(made.ok());
  const kefu::testing::TestPki& pki = *made;
  auto credentials = kefu::server::ServerCredentialsFrom({pki.cert, pki.key, ""});
  REQUIRE(credentials.ok());
  prometheus::Registry registry;
  kefu::router::v1::RoutingService::Service routing;
  kefu::server::GrpcServerOptions options;
  options.credentials = *credentials;
  options.services = {{kefu::router::v1::RoutingService::service_full_name(), &routing}};
  auto server = kefu::server::GrpcServer::Start(options, registry);
  REQUIRE(server.ok());
  const std::string addr = absl::StrCat("127.0.0.1:", (*server)->port());

  auto trusting = kefu::server::ChannelCredentialsFrom({"", "", pki.ca});
  REQUIRE(trusting.ok());
  CHECK(Health(kefu::server::PeerChannel(addr, *trusting)) == grpc::StatusCode::OK);

  auto distrusting = kefu::server::ChannelCredentialsFrom({"", "", pki.other_ca});
  REQUIRE(distrusting.ok());
  CHECK(Health(kefu::server::PeerChannel(addr, *distrusting)) == grpc::StatusCode::UNAVAILABLE);
  // The default peer channel is plaintext until a service configures --tls-ca.
  CHECK(Health(kefu::server::PeerChannel(addr)) == grpc::StatusCode::UNAVAILABLE);
  kefu::server::SetPeerChannelCredentials(*trusting);
  CHECK(Health(kefu::server::PeerChannel(addr)) == grpc::StatusCode::OK);
  kefu::server::SetPeerChannelCredentials(grpc::InsecureChannelCredentials());
}

TEST_CASE("a half or unreadable TLS configuration is an error naming the flag, never plaintext") {
  auto made = kefu::testing::MakeTestPki("kefu-tls-it");
  INFO(made.status().ToString());
  REQUIRE(made.ok());
  const kefu::testing::TestPki& pki = *made;
  auto no_key = kefu::server::ServerCredentialsFrom({pki.cert, "", ""});
  REQUIRE_FALSE(no_key.ok());
  CHECK_THAT(std::string(no_key.status().message()), Catch::Contains("--tls-key"));
  auto missing = kefu::server::ServerCredentialsFrom({pki.cert, "/nonexistent/server.key", ""});
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(std::string(missing.status().message()), Catch::Contains("--tls-key"));
  auto not_pem = kefu::server::ChannelCredentialsFrom({"", "", pki.ca + ".nothing"});
  REQUIRE_FALSE(not_pem.ok());
  CHECK_THAT(std::string(not_pem.status().message()), Catch::Contains("--tls-ca"));
  // Nothing configured: plaintext, as before.
  CHECK(kefu::server::ServerCredentialsFrom({}).ok());
  CHECK(kefu::server::ChannelCredentialsFrom({}).ok());
}
