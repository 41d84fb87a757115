#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <set>
#include <string>

#include "libs/auth/authorize.h"

namespace kefu::auth {

// Server interceptor that makes every method but `open_methods` (health, reflection,
// Login, Refresh) answer UNAUTHENTICATED to a call without a valid token, including
// methods no handler implements yet. gRPC C++ server interceptors cannot stop a
// call, so handlers still call Authenticator::Require before touching anything; the
// interceptor guarantees the status a client sees, whatever the handler did.
class AuthInterceptorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  AuthInterceptorFactory(const Authenticator* authenticator, std::set<std::string> open_methods)
      : authenticator_(authenticator), open_methods_(std::move(open_methods)) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  const Authenticator* authenticator_;
  const std::set<std::string> open_methods_;
};

}  // namespace kefu::auth
