#include "libs/auth/interceptor.h"

#include "libs/common/status.h"

namespace kefu::auth {
namespace {

class AuthInterceptor final : public grpc::experimental::Interceptor {
 public:
  AuthInterceptor(const Authenticator* authenticator, bool open)
      : authenticator_(authenticator), open_(open) {}

  // grpc::experimental::Interceptor
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (!open_ &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      absl::string_view header;
      auto* metadata = methods->GetRecvInitialMetadata();
      if (auto it = metadata->find("authorization"); it != metadata->end()) {
        header = absl::string_view(it->second.data(), it->second.size());
      }
      auto claims = authenticator_->AuthenticateHeader(header);
      if (!claims.ok()) rejection_ = claims.status();
    }
    if (!rejection_.ok() &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      methods->ModifySendStatus(ToGrpcStatus(rejection_));
    }
    methods->Proceed();
  }

 private:
  const Authenticator* authenticator_;
  const bool open_;
  absl::Status rejection_;
};

}  // namespace

grpc::experimental::Interceptor* AuthInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new AuthInterceptor(authenticator_, open_methods_.contains(info->method()));
}

}  // namespace kefu::auth
