#pragma once

#include "absl/time/time.h"
#include "kefu/identity/v1/auth.grpc.pb.h"
#include "libs/auth/authorize.h"
#include "libs/auth/token.h"
#include "services/identity/identity_store.h"

namespace kefu::identity {

struct AuthSettings {
  absl::Duration access_token_ttl = absl::Minutes(15);
  absl::Duration refresh_token_ttl = absl::Hours(24 * 7);
  absl::Duration customer_token_ttl = absl::Hours(12);
  absl::Duration max_entry_point_token_ttl = absl::Hours(24 * 365);
};

// kefu.identity.v1.AuthService: tenants, staff users, login and tokens (F70).
class AuthServiceImpl final : public kefu::identity::v1::AuthService::Service {
 public:
  AuthServiceImpl(IdentityStore* store, const auth::TokenCodec* codec,
                  const auth::Authenticator* authenticator, AuthSettings settings)
      : store_(store), codec_(codec), authenticator_(authenticator), settings_(settings) {}

  // kefu::identity::v1::AuthService::Service
  grpc::Status Login(grpc::ServerContext* context, const v1::LoginRequest* request,
                     v1::LoginResponse* response) override;
  grpc::Status Refresh(grpc::ServerContext* context, const v1::RefreshRequest* request,
                       v1::RefreshResponse* response) override;
  grpc::Status RevokeToken(grpc::ServerContext* context, const v1::RevokeTokenRequest* request,
                           v1::RevokeTokenResponse* response) override;
  grpc::Status CreateTenant(grpc::ServerContext* context, const v1::CreateTenantRequest* request,
                            v1::CreateTenantResponse* response) override;
  grpc::Status GetTenant(grpc::ServerContext* context, const v1::GetTenantRequest* request,
                         v1::GetTenantResponse* response) override;
  grpc::Status UpdateTenantSettings(grpc::ServerContext* context,
                                    const v1::UpdateTenantSettingsRequest* request,
                                    v1::UpdateTenantSettingsResponse* response) override;
  grpc::Status CreateUser(grpc::ServerContext* context, const v1::CreateUserRequest* request,
                          v1::CreateUserResponse* response) override;
  grpc::Status GetUser(grpc::ServerContext* context, const v1::GetUserRequest* request,
                       v1::GetUserResponse* response) override;
  grpc::Status ListUsers(grpc::ServerContext* context, const v1::ListUsersRequest* request,
                         v1::ListUsersResponse* response) override;
  grpc::Status UpdateUser(grpc::ServerContext* context, const v1::UpdateUserRequest* request,
                          v1::UpdateUserResponse* response) override;
  grpc::Status DisableUser(grpc::ServerContext* context, const v1::DisableUserRequest* request,
                           v1::DisableUserResponse* response) override;
  grpc::Status EnableUser(grpc::ServerContext* context, const v1::EnableUserRequest* request,
                          v1::EnableUserResponse* response) override;
  grpc::Status ChangePassword(grpc::ServerContext* context,
                              const v1::ChangePasswordRequest* request,
                              v1::ChangePasswordResponse* response) override;
  grpc::Status ResetPassword(grpc::ServerContext* context, const v1::ResetPasswordRequest* request,
                             v1::ResetPasswordResponse* response) override;
  grpc::Status IssueEntryPointToken(grpc::ServerContext* context,
                                    const v1::IssueEntryPointTokenRequest* request,
                                    v1::IssueEntryPointTokenResponse* response) override;
  grpc::Status IssueCustomerToken(grpc::ServerContext* context,
                                  const v1::IssueCustomerTokenRequest* request,
                                  v1::IssueCustomerTokenResponse* response) override;

 private:
  // Signs an access + refresh pair for `user` and records the refresh token.
  absl::StatusOr<v1::TokenPair> IssuePair(const v1::User& user);
  absl::Status SetDisabled(grpc::ServerContext* context, const std::string& user_id, bool disabled,
                           v1::User* out);

  IdentityStore* store_;
  const auth::TokenCodec* codec_;
  const auth::Authenticator* authenticator_;
  const AuthSettings settings_;
};

}  // namespace kefu::identity
