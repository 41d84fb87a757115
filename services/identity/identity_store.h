#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kefu/identity/v1/auth.pb.h"

namespace kefu::identity {

// A user as stored: the API's User plus the password hash, which never leaves identity.
struct UserRecord {
  kefu::identity::v1::User user;
  std::string password_hash;
};

struct UserPage {
  std::vector<kefu::identity::v1::User> users;
  std::string last_username;  // empty when this was the last page
};

// Tenants, users, refresh tokens and idempotency records. Every call is scoped to one
// tenant; another tenant's rows are invisible (NOT_FOUND), enforced by the queries and
// by row-level security underneath.
class IdentityStore {
 public:
  virtual ~IdentityStore() = default;

  // Creates the tenant and its first admin in one transaction; ALREADY_EXISTS if taken.
  virtual absl::Status CreateTenant(const kefu::identity::v1::Tenant& tenant,
                                    const UserRecord& admin) = 0;
  virtual absl::StatusOr<kefu::identity::v1::Tenant> GetTenant(const std::string& tenant_id) = 0;
  virtual absl::StatusOr<kefu::identity::v1::Tenant> UpdateTenantSettings(
      const std::string& tenant_id, const kefu::identity::v1::TenantSettings& settings,
      const std::vector<std::string>& paths) = 0;

  virtual absl::Status CreateUser(const std::string& tenant_id, const UserRecord& user) = 0;
  virtual absl::StatusOr<UserRecord> GetUser(const std::string& tenant_id,
                                             const std::string& user_id) = 0;
  virtual absl::StatusOr<UserRecord> FindByUsername(const std::string& tenant_id,
                                                    const std::string& username) = 0;
  // Users ordered by username, after `after_username`; role ROLE_UNSPECIFIED = any.
  virtual absl::StatusOr<UserPage> ListUsers(const std::string& tenant_id,
                                             kefu::common::v1::Role role, bool include_disabled,
                                             const std::string& after_username, int limit) = 0;
  virtual absl::StatusOr<kefu::identity::v1::User> UpdateUser(
      const std::string& tenant_id, const kefu::identity::v1::User& user,
      const std::vector<std::string>& paths) = 0;
  virtual absl::StatusOr<kefu::identity::v1::User> SetDisabled(const std::string& tenant_id,
                                                               const std::string& user_id,
                                                               bool disabled) = 0;
  virtual absl::Status SetPasswordHash(const std::string& tenant_id, const std::string& user_id,
                                       const std::string& hash) = 0;
  virtual absl::Status RecordLogin(const std::string& tenant_id, const std::string& user_id) = 0;

  virtual absl::Status SaveRefreshToken(const std::string& tenant_id, const std::string& token_id,
                                        const std::string& user_id, absl::Time expires_at) = 0;
  // Revokes the token and returns its user; UNAUTHENTICATED if unknown or already revoked.
  virtual absl::StatusOr<std::string> ConsumeRefreshToken(const std::string& tenant_id,
                                                          const std::string& token_id) = 0;
  virtual absl::Status RevokeUserTokens(const std::string& tenant_id,
                                        const std::string& user_id) = 0;

  // The response a retried mutation got the first time, if any.
  virtual absl::StatusOr<std::optional<std::string>> FindIdempotent(const std::string& tenant_id,
                                                                    const std::string& rpc,
                                                                    const std::string& key) = 0;
  virtual absl::Status SaveIdempotent(const std::string& tenant_id, const std::string& rpc,
                                      const std::string& key, const std::string& response) = 0;
};

}  // namespace kefu::identity
