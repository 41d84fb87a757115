#pragma once

#include "libs/pg/pool.h"
#include "services/identity/identity_store.h"

namespace kefu::identity {

class PgIdentityStore final : public IdentityStore {
 public:
  explicit PgIdentityStore(pg::Pool* pool) : pool_(pool) {}

  // IdentityStore
  absl::Status CreateTenant(const kefu::identity::v1::Tenant& tenant,
                            const UserRecord& admin) override;
  absl::StatusOr<kefu::identity::v1::Tenant> GetTenant(const std::string& tenant_id) override;
  absl::StatusOr<kefu::identity::v1::Tenant> UpdateTenantSettings(
      const std::string& tenant_id, const kefu::identity::v1::TenantSettings& settings,
      const std::vector<std::string>& paths) override;
  absl::Status CreateUser(const std::string& tenant_id, const UserRecord& user) override;
  absl::StatusOr<UserRecord> GetUser(const std::string& tenant_id,
                                     const std::string& user_id) override;
  absl::StatusOr<UserRecord> FindByUsername(const std::string& tenant_id,
                                            const std::string& username) override;
  absl::StatusOr<UserPage> ListUsers(const std::string& tenant_id, kefu::common::v1::Role role,
                                     bool include_disabled, const std::string& after_username,
                                     int limit) override;
  absl::StatusOr<kefu::identity::v1::User> UpdateUser(
      const std::string& tenant_id, const kefu::identity::v1::User& user,
      const std::vector<std::string>& paths) override;
  absl::StatusOr<kefu::identity::v1::User> SetDisabled(const std::string& tenant_id,
                                                       const std::string& user_id,
                                                       bool disabled) override;
  absl::Status SetPasswordHash(const std::string& tenant_id, const std::string& user_id,
                               const std::string& hash) override;
  absl::Status RecordLogin(const std::string& tenant_id, const std::string& user_id) override;
  absl::Status SaveRefreshToken(const std::string& tenant_id, const std::string& token_id,
                                const std::string& user_id, absl::Time expires_at) override;
  absl::StatusOr<std::string> ConsumeRefreshToken(const std::string& tenant_id,
                                                  const std::string& token_id) override;
  absl::Status RevokeUserTokens(const std::string& tenant_id, const std::string& user_id) override;
  absl::StatusOr<std::optional<std::string>> FindIdempotent(const std::string& tenant_id,
                                                            const std::string& rpc,
                                                            const std::string& key) override;
  absl::Status SaveIdempotent(const std::string& tenant_id, const std::string& rpc,
                              const std::string& key, const std::string& response) override;

 private:
  pg::Pool* pool_;
};

}  // namespace kefu::identity
