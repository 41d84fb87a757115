#include "services/identity/pg_identity_store.h"

#include <google/protobuf/util/time_util.h>

#include "absl/strings/str_cat.h"

namespace kefu::identity {
namespace {

using google::protobuf::util::TimeUtil;
using kefu::identity::v1::Tenant;
using kefu::identity::v1::TenantSettings;
using kefu::identity::v1::User;

constexpr char kTenantColumns[] =
    "tenant_id, name, time_zone, default_language, show_last_transcript, invitations_enabled,"
    " silence_timeout_seconds, max_file_size_bytes, voiceprint_refresh_enabled,"
    " (extract(epoch from created_at) * 1000000)::bigint";

constexpr char kUserColumns[] =
    "user_id, tenant_id, username, display_name, email, role, disabled,"
    " (extract(epoch from created_at) * 1000000)::bigint,"
    " (extract(epoch from last_login_at) * 1000000)::bigint, password_hash";

constexpr char kInsertTenant[] =
    "INSERT INTO identity.tenants (tenant_id, name, time_zone, default_language,"
    " show_last_transcript, invitations_enabled, silence_timeout_seconds, max_file_size_bytes,"
    " voiceprint_refresh_enabled) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

constexpr char kInsertUser[] =
    "INSERT INTO identity.users (tenant_id, user_id, username, display_name, email, role,"
    " password_hash) VALUES ($1, $2, $3, $4, $5, $6, $7)";

Tenant TenantFromRow(const pqxx::row& row) {
  Tenant tenant;
  tenant.set_tenant_id(row[0].as<std::string>());
  tenant.set_name(row[1].as<std::string>());
  TenantSettings* s = tenant.mutable_settings();
  s->set_time_zone(row[2].as<std::string>());
  s->set_default_language(static_cast<kefu::common::v1::Language>(row[3].as<int>()));
  s->set_show_last_transcript(row[4].as<bool>());
  s->set_invitations_enabled(row[5].as<bool>());
  *s->mutable_silence_timeout() = TimeUtil::SecondsToDuration(row[6].as<int64_t>());
  s->set_max_file_size_bytes(row[7].as<int64_t>());
  s->set_voiceprint_refresh_enabled(row[8].as<bool>());
  *tenant.mutable_create_time() = TimeUtil::MicrosecondsToTimestamp(row[9].as<int64_t>());
  return tenant;
}

UserRecord UserFromRow(const pqxx::row& row) {
  UserRecord record;
  User& user = record.user;
  user.set_user_id(row[0].as<std::string>());
  user.set_tenant_id(row[1].as<std::string>());
  user.set_username(row[2].as<std::string>());
  user.set_display_name(row[3].as<std::string>());
  user.set_email(row[4].as<std::string>());
  user.set_role(static_cast<kefu::common::v1::Role>(row[5].as<int>()));
  user.set_disabled(row[6].as<bool>());
  *user.mutable_create_time() = TimeUtil::MicrosecondsToTimestamp(row[7].as<int64_t>());
  if (!row[8].is_null()) {
    *user.mutable_last_login_time() = TimeUtil::MicrosecondsToTimestamp(row[8].as<int64_t>());
  }
  record.password_hash = row[9].as<std::string>();
  return record;
}

absl::StatusOr<UserRecord> SelectUser(pqxx::work& txn, const std::string& where,
                                      const std::string& tenant_id, const std::string& value,
                                      absl::string_view what) {
  auto rows = txn.exec_params(absl::StrCat("SELECT ", kUserColumns,
                                           " FROM identity.users WHERE tenant_id = $1 AND ", where),
                              tenant_id, value);
  if (rows.empty()) return absl::NotFoundError(absl::StrCat("user ", what, " not found"));
  return UserFromRow(rows[0]);
}

bool Has(const std::vector<std::string>& paths, absl::string_view path) {
  return paths.empty() || std::find(paths.begin(), paths.end(), path) != paths.end();
}

}  // namespace

absl::Status PgIdentityStore::CreateTenant(const Tenant& tenant, const UserRecord& admin) {
  return pool_->TransactIn(tenant.tenant_id(), [&](pqxx::work& txn) -> absl::Status {
    if (!txn.exec_params("SELECT 1 FROM identity.tenants WHERE tenant_id = $1", tenant.tenant_id())
             .empty()) {
      return absl::AlreadyExistsError(
          absl::StrCat("tenant_id: tenant \"", tenant.tenant_id(), "\" already exists"));
    }
    const TenantSettings& s = tenant.settings();
    txn.exec_params(kInsertTenant, tenant.tenant_id(), tenant.name(), s.time_zone(),
                    static_cast<int>(s.default_language()), s.show_last_transcript(),
                    s.invitations_enabled(), TimeUtil::DurationToSeconds(s.silence_timeout()),
                    s.max_file_size_bytes(), s.voiceprint_refresh_enabled());
    const User& u = admin.user;
    txn.exec_params(kInsertUser, tenant.tenant_id(), u.user_id(), u.username(), u.display_name(),
                    u.email(), static_cast<int>(u.role()), admin.password_hash);
    return absl::OkStatus();
  });
}

absl::StatusOr<Tenant> PgIdentityStore::GetTenant(const std::string& tenant_id) {
  return pool_->TransactIn(tenant_id, [&](pqxx::work& txn) -> absl::StatusOr<Tenant> {
    auto rows = txn.exec_params(
        absl::StrCat("SELECT ", kTenantColumns, " FROM identity.tenants WHERE tenant_id = $1"),
        tenant_id);
    if (rows.empty()) return absl::NotFoundError(absl::StrCat("tenant ", tenant_id, " not found"));
    return TenantFromRow(rows[0]);
  });
}

absl::StatusOr<Tenant> PgIdentityStore::UpdateTenantSettings(
    const std::string& tenant_id, const TenantSettings& s, const std::vector<std::string>& paths) {
  return pool_->TransactIn(tenant_id, [&](pqxx::work& txn) -> absl::StatusOr<Tenant> {
    // Each column keeps its value unless its path is in the mask (empty mask: all).
    auto rows = txn.exec_params(
        absl::StrCat(
            "UPDATE identity.tenants SET"
            " time_zone = CASE WHEN $2 THEN $3 ELSE time_zone END,"
            " default_language = CASE WHEN $4 THEN $5 ELSE default_language END,"
            " show_last_transcript = CASE WHEN $6 THEN $7 ELSE show_last_transcript END,"
            " invitations_enabled = CASE WHEN $8 THEN $9 ELSE invitations_enabled END,"
            " silence_timeout_seconds = CASE WHEN $10 THEN $11 ELSE silence_timeout_seconds END,"
            " max_file_size_bytes = CASE WHEN $12 THEN $13 ELSE max_file_size_bytes END,"
            " voiceprint_refresh_enabled = CASE WHEN $14 THEN $15"
            " ELSE voiceprint_refresh_enabled END"
            " WHERE tenant_id = $1 RETURNING ",
            kTenantColumns),
        tenant_id, Has(paths, "time_zone"), s.time_zone(), Has(paths, "default_language"),
        static_cast<int>(s.default_language()), Has(paths, "show_last_transcript"),
        s.show_last_transcript(), Has(paths, "invitations_enabled"), s.invitations_enabled(),
        Has(paths, "silence_timeout"), TimeUtil::DurationToSeconds(s.silence_timeout()),
        Has(paths, "max_file_size_bytes"), s.max_file_size_bytes(),
        Has(paths, "voiceprint_refresh_enabled"), s.voiceprint_refresh_enabled());
    if (rows.empty()) return absl::NotFoundError(absl::StrCat("tenant ", tenant_id, " not found"));
    return TenantFromRow(rows[0]);
  });
}

absl::Status PgIdentityStore::CreateUser(const std::string& tenant_id, const UserRecord& record) {
  return pool_->TransactIn(tenant_id, [&](pqxx::work& txn) -> absl::Status {
    const User& u = record.user;
    if (!txn.exec_params("SELECT 1 FROM identity.users WHERE tenant_id = $1 AND username = $2",
                         tenant_id, u.username())
             .empty()) {
      return absl::AlreadyExistsError(
          absl::StrCat("username: \"", u.username(), "\" already exists in this tenant"));
    }
    txn.exec_params(kInsertUser, tenant_id, u.user_id(), u.username(), u.display_name(), u.email(),
                    static_cast<int>(u.role()), record.password_hash);
    return absl::OkStatus();
  });
}

absl::StatusOr<UserRecord> PgIdentityStore::GetUser(const std::string& tenant_id,
                                                    const std::string& user_id) {
  return pool_->TransactIn(tenant_id, [&](pqxx::work& txn) {
    return SelectUser(txn, "user_id = $2", tenant_id, user_id, user_id);
  });
}

absl::StatusOr<UserRecord> PgIdentityStore::FindByUsername(const std::string& tenant_id,
                                                           const std::string& username) {
  return pool_->TransactIn(tenant_id, [&](pqxx::work& txn) {
    return SelectUser(txn, "username = $2", tenant_id, username, username);
  });
}

absl::StatusOr<UserPage> PgIdentityStore::ListUsers(const std::string& tenant_id,
                                                    kefu::common::v1::Role role,
                                                    bool include_disabled,
                                                    const std::string& after_username, int limit) {
  return pool_->TransactIn(tenant_id, [&](pqxx::work& txn) -> absl::StatusOr<UserPage> {
    auto rows = txn.exec_params(
        absl::StrCat("SELECT ", kUserColumns,
                     " FROM identity.users WHERE tenant_id = $1 AND username > $2"
                     " AND ($3 = 0 OR role = $3) AND ($4 OR NOT disabled)"
                     " ORDER BY username LIMIT $5"),
        tenant_id, after_username, static_cast<int>(role), include_disabled, limit + 1);
    UserPage page;
    for (size_t i = 0; i < rows.size() && static_cast<int>(i) < limit; ++i) {
      page.users.push_back(UserFromRow(rows[i]).user);
    }
    if (static_cast<int>(rows.size()) > limit) page.last_username = page.users.back().username();
    return page;
  });
}

absl::StatusOr<User> PgIdentityStore::UpdateUser(const std::string& tenant_id, const User& user,
                                                 const std::vector<std::string>& paths) {
  return pool_->TransactIn(tenant_id, [&](pqxx::work& txn) -> absl::StatusOr<User> {
    auto rows = txn.exec_params(
        absl::StrCat("UPDATE identity.users SET"
                     " display_name = CASE WHEN $3 THEN $4 ELSE display_name END,"
                     " email = CASE WHEN $5 THEN $6 ELSE email END,"
                     " role = CASE WHEN $7 THEN $8 ELSE role END"
                     " WHERE tenant_id = $1 AND user_id = $2 RETURNING ",
                     kUserColumns),
        tenant_id, user.user_id(), Has(paths, "display_name"), user.display_name(),
        Has(paths, "email"), user.email(), Has(paths, "role"), static_cast<int>(user.role()));
    if (rows.empty()) {
      return absl::NotFoundError(absl::StrCat("user ", user.user_id(), " not found"));
    }
    return UserFromRow(rows[0]).user;
  });
}

absl::StatusOr<User> PgIdentityStore::SetDisabled(const std::string& tenant_id,
                                                  const std::string& user_id, bool disabled) {
  return pool_->TransactIn(tenant_id, [&](pqxx::work& txn) -> absl::StatusOr<User> {
    auto rows = txn.exec_params(absl::StrCat("UPDATE identity.users SET disabled = $3"
                                             " WHERE tenant_id = $1 AND user_id = $2 RETURNING ",
                                             kUserColumns),
                                tenant_id, user_id, disabled);
    if (rows.empty()) return absl::NotFoundError(absl::StrCat("user ", user_id, " not found"));
    if (disabled) {
      // A disabled user's sessions end with their access tokens: no refresh.
      txn.exec_params(
          "UPDATE identity.refresh_tokens SET revoked_at = now()"
          " WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL",
          tenant_id, user_id);
    }
    return UserFromRow(rows[0]).user;
  });
}

absl::Status PgIdentityStore::SetPasswordHash(const std::string& tenant_id,
                                              const std::string& user_id, const std::string& hash) {
  return pool_->TransactIn(tenant_id, [&](pqxx::work& txn) -> absl::Status {
    auto rows = txn.exec_params(
        "UPDATE identity.users SET password_hash = $3 WHERE tenant_id = $1 AND user_id = $2"
        " RETURNING 1",
        tenant_id, user_id, hash);
    if (rows.empty()) return absl::NotFoundError(absl::StrCat("user ", user_id, " not found"));
    return absl::OkStatus();
  });
}

absl::Status PgIdentityStore::RecordLogin(const std::string& tenant_id,
                                          const std::string& user_id) {
  return pool_->TransactIn(tenant_id, [&](pqxx::work& txn) -> absl::Status {
    txn.exec_params(
        "UPDATE identity.users SET last_login_at = now() WHERE tenant_id = $1 AND user_id = $2",
        tenant_id, user_id);
    return absl::OkStatus();
  });
}

absl::Status PgIdentityStore::SaveRefreshToken(const std::string& tenant_id,
                                               const std::string& token_id,
                                               const std::string& user_id, absl::Time expires_at) {
  return pool_->TransactIn(tenant_id, [&](pqxx::work& txn) -> absl::Status {
    txn.exec_params(
        "INSERT INTO identity.refresh_tokens (tenant_id, token_id, user_id, expires_at)"
        " VALUES ($1, $2, $3, to_timestamp($4))",
        tenant_id, token_id, user_id, absl::ToUnixSeconds(expires_at));
    return absl::OkStatus();
  });
}

absl::StatusOr<std::string> PgIdentityStore::ConsumeRefreshToken(const std::string& tenant_id,
                                                                 const std::string& token_id) {
  return pool_->TransactIn(tenant_id, [&](pqxx::work& txn) -> absl::StatusOr<std::string> {
    auto rows = txn.exec_params(
        "UPDATE identity.refresh_tokens SET revoked_at = now()"
        " WHERE tenant_id = $1 AND token_id = $2 AND revoked_at IS NULL AND expires_at > now()"
        " RETURNING user_id",
        tenant_id, token_id);
    if (rows.empty()) {
      return absl::UnauthenticatedError("refresh_token: already used, revoked or expired");
    }
    return rows[0][0].as<std::string>();
  });
}

absl::Status PgIdentityStore::RevokeUserTokens(const std::string& tenant_id,
                                               const std::string& user_id) {
  return pool_->TransactIn(tenant_id, [&](pqxx::work& txn) -> absl::Status {
    txn.exec_params(
        "UPDATE identity.refresh_tokens SET revoked_at = now()"
        " WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL",
        tenant_id, user_id);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::optional<std::string>> PgIdentityStore::FindIdempotent(
    const std::string& tenant_id, const std::string& rpc, const std::string& key) {
  return pool_->TransactIn(
      tenant_id, [&](pqxx::work& txn) -> absl::StatusOr<std::optional<std::string>> {
        auto rows = txn.exec_params(
            "SELECT response FROM identity.idempotency WHERE tenant_id = $1 AND rpc = $2"
            " AND key = $3",
            tenant_id, rpc, key);
        if (rows.empty()) return std::optional<std::string>();
        pqxx::binarystring bytes(rows[0][0]);
        return std::optional<std::string>(bytes.str());
      });
}

absl::Status PgIdentityStore::SaveIdempotent(const std::string& tenant_id, const std::string& rpc,
                                             const std::string& key, const std::string& response) {
  return pool_->TransactIn(tenant_id, [&](pqxx::work& txn) -> absl::Status {
    txn.exec_params(
        "INSERT INTO identity.idempotency (tenant_id, rpc, key, response) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT DO NOTHING",
        tenant_id, rpc, key, pqxx::binarystring(response));
    return absl::OkStatus();
  });
}

}  // namespace kefu::identity
