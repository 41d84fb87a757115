#include "services/identity/auth_service.h"

#include <google/protobuf/util/time_util.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/auth/password.h"
#include "libs/common/log.h"
#include "libs/common/status.h"
#include "libs/common/status_macros.h"
#include "services/identity/validation.h"

namespace kefu::identity {
namespace {

using google::protobuf::util::TimeUtil;
using kefu::common::v1::ROLE_ADMIN;
using kefu::common::v1::ROLE_AGENT;
using kefu::common::v1::ROLE_CUSTOMER;
using kefu::common::v1::ROLE_SERVICE;
using kefu::common::v1::ROLE_SUPERVISOR;

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 200;

// Runs `fn`, which returns absl::Status, and maps its status for gRPC.

google::protobuf::Timestamp ToProto(absl::Time t) {
  return TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(t));
}

std::vector<std::string> MaskPaths(const google::protobuf::FieldMask& mask) {
  return {mask.paths().begin(), mask.paths().end()};
}

// Page tokens are opaque to clients: the last username, bound to the filters it came with.
std::string PageToken(const v1::ListUsersRequest& request, const std::string& last) {
  if (last.empty()) return "";
  return absl::WebSafeBase64Escape(
      absl::StrCat(static_cast<int>(request.role()), "|", request.include_disabled(), "|", last));
}

absl::StatusOr<std::string> AfterFromPageToken(const v1::ListUsersRequest& request) {
  if (request.page_token().empty()) return std::string();
  std::string raw;
  if (!absl::WebSafeBase64Unescape(request.page_token(), &raw)) {
    return InvalidField("page_token", "not a token this API issued");
  }
  std::vector<std::string> parts = absl::StrSplit(raw, absl::MaxSplits('|', 2));
  if (parts.size() != 3 || parts[0] != std::to_string(static_cast<int>(request.role())) ||
      parts[1] != (request.include_disabled() ? "1" : "0")) {
    return InvalidField("page_token", "belongs to a listing with other filters");
  }
  return parts[2];
}

}  // namespace

absl::StatusOr<v1::TokenPair> AuthServiceImpl::IssuePair(const v1::User& user) {
  const absl::Time now = absl::Now();
  auth::Claims access;
  access.tenant_id = user.tenant_id();
  access.subject = user.user_id();
  access.role = user.role();
  access.issued_at = now;
  access.expires_at = now + settings_.access_token_ttl;
  access.token_id = auth::RandomId();
  auth::Claims refresh = access;
  refresh.kind = "refresh";
  refresh.expires_at = now + settings_.refresh_token_ttl;
  refresh.token_id = auth::RandomId();
  KEFU_RETURN_IF_ERROR(store_->SaveRefreshToken(user.tenant_id(), refresh.token_id, user.user_id(),
                                                refresh.expires_at));
  v1::TokenPair pair;
  pair.set_access_token(codec_->Sign(access));
  *pair.mutable_access_token_expire_time() = ToProto(access.expires_at);
  pair.set_refresh_token(codec_->Sign(refresh));
  *pair.mutable_refresh_token_expire_time() = ToProto(refresh.expires_at);
  return pair;
}

grpc::Status AuthServiceImpl::Login(grpc::ServerContext*, const v1::LoginRequest* request,
                                    v1::LoginResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    if (request->tenant_id().empty()) return InvalidField("tenant_id", "required");
    if (request->username().empty()) return InvalidField("username", "required");
    if (request->password().empty()) return InvalidField("password", "required");
    if (request->tenant_id().size() > 64 || request->username().size() > 64 ||
        request->password().size() > 256) {
      return absl::UnauthenticatedError("wrong tenant, username or password");
    }
    // One answer for every failure, so a caller cannot probe which part was wrong.
    const absl::Status wrong = absl::UnauthenticatedError("wrong tenant, username or password");
    auto record = store_->FindByUsername(request->tenant_id(), request->username());
    if (absl::IsNotFound(record.status())) {
      auth::VerifyPassword("", request->password());  // similar time either way
      return wrong;
    }
    if (!record.ok()) return record.status();
    if (!auth::VerifyPassword(record->password_hash, request->password())) {
      log::Warn("login failed",
                {{"tenant", request->tenant_id()}, {"user", record->user.user_id()}});
      return wrong;
    }
    if (record->user.disabled()) {
      return absl::PermissionDeniedError("user is disabled; ask an admin of your tenant");
    }
    KEFU_ASSIGN_OR_RETURN(*response->mutable_tokens(), IssuePair(record->user));
    KEFU_RETURN_IF_ERROR(store_->RecordLogin(request->tenant_id(), record->user.user_id()));
    *response->mutable_user() = record->user;
    return absl::OkStatus();
  });
}

grpc::Status AuthServiceImpl::Refresh(grpc::ServerContext*, const v1::RefreshRequest* request,
                                      v1::RefreshResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    if (request->refresh_token().empty()) return InvalidField("refresh_token", "required");
    auto claims = codec_->Verify(request->refresh_token(), absl::Now());
    if (!claims.ok()) return claims.status();
    if (claims->kind != "refresh") {
      return absl::UnauthenticatedError("refresh_token: this is an access token");
    }
    KEFU_ASSIGN_OR_RETURN(std::string user_id,
                          store_->ConsumeRefreshToken(claims->tenant_id, claims->token_id));
    KEFU_ASSIGN_OR_RETURN(UserRecord record, store_->GetUser(claims->tenant_id, user_id));
    if (record.user.disabled()) return absl::PermissionDeniedError("user is disabled");
    KEFU_ASSIGN_OR_RETURN(*response->mutable_tokens(), IssuePair(record.user));
    return absl::OkStatus();
  });
}

grpc::Status AuthServiceImpl::RevokeToken(grpc::ServerContext*,
                                          const v1::RevokeTokenRequest* request,
                                          v1::RevokeTokenResponse*) {
  return HandleRpc([&]() -> absl::Status {
    if (request->refresh_token().empty()) return InvalidField("refresh_token", "required");
    auto claims = codec_->Verify(request->refresh_token(), absl::Now());
    if (!claims.ok() || claims->kind != "refresh") return absl::OkStatus();  // nothing to revoke
    auto consumed = store_->ConsumeRefreshToken(claims->tenant_id, claims->token_id);
    if (!consumed.ok() && !absl::IsUnauthenticated(consumed.status())) return consumed.status();
    return absl::OkStatus();
  });
}

grpc::Status AuthServiceImpl::CreateTenant(grpc::ServerContext* context,
                                           const v1::CreateTenantRequest* request,
                                           v1::CreateTenantResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_SERVICE}));
    if (!caller.platform()) {
      return absl::PermissionDeniedError(
          "CreateTenant needs the platform credential (kefuctl tenant create with KEFU_JWT_KEY)");
    }
    KEFU_RETURN_IF_ERROR(ValidateNewTenantId("tenant_id", request->tenant_id()));
    KEFU_RETURN_IF_ERROR(ValidateText("name", request->name(), 200, true));
    KEFU_RETURN_IF_ERROR(ValidateUsername("admin_username", request->admin_username()));
    KEFU_RETURN_IF_ERROR(
        ValidateText("admin_display_name", request->admin_display_name(), 100, false));
    KEFU_RETURN_IF_ERROR(auth::CheckPassword("admin_password", request->admin_password()));
    const std::string& tenant_id = request->tenant_id();
    if (!request->idempotency_key().empty()) {
      auto seen = store_->FindIdempotent(tenant_id, "CreateTenant", request->idempotency_key());
      if (seen.ok() && seen->has_value() && response->ParseFromString(**seen)) {
        return absl::OkStatus();
      }
    }
    v1::Tenant tenant;
    tenant.set_tenant_id(tenant_id);
    tenant.set_name(request->name());
    v1::TenantSettings* settings = tenant.mutable_settings();
    *settings = request->settings();
    if (settings->time_zone().empty()) settings->set_time_zone("Asia/Shanghai");
    if (settings->default_language() == kefu::common::v1::LANGUAGE_UNSPECIFIED) {
      settings->set_default_language(kefu::common::v1::LANGUAGE_ZH);
    }
    if (!request->has_settings()) {
      settings->set_show_last_transcript(true);
      settings->set_invitations_enabled(true);
      settings->set_voiceprint_refresh_enabled(true);
    }
    if (!settings->has_silence_timeout()) {
      *settings->mutable_silence_timeout() = TimeUtil::SecondsToDuration(360);  // F31
    }
    if (settings->max_file_size_bytes() <= 0) settings->set_max_file_size_bytes(10 << 20);
    UserRecord admin;
    admin.user.set_user_id(auth::RandomId());
    admin.user.set_tenant_id(tenant_id);
    admin.user.set_username(request->admin_username());
    admin.user.set_display_name(request->admin_display_name());
    admin.user.set_role(ROLE_ADMIN);
    KEFU_ASSIGN_OR_RETURN(admin.password_hash, auth::HashPassword(request->admin_password()));
    KEFU_RETURN_IF_ERROR(store_->CreateTenant(tenant, admin));
    KEFU_ASSIGN_OR_RETURN(*response->mutable_tenant(), store_->GetTenant(tenant_id));
    KEFU_ASSIGN_OR_RETURN(UserRecord stored, store_->GetUser(tenant_id, admin.user.user_id()));
    *response->mutable_admin() = stored.user;
    if (!request->idempotency_key().empty()) {
      KEFU_RETURN_IF_ERROR(store_->SaveIdempotent(
          tenant_id, "CreateTenant", request->idempotency_key(), response->SerializeAsString()));
    }
    log::Info("tenant created", {{"tenant", tenant_id}});
    return absl::OkStatus();
  });
}

grpc::Status AuthServiceImpl::GetTenant(grpc::ServerContext* context,
                                        const v1::GetTenantRequest* request,
                                        v1::GetTenantResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(
        auth::Claims caller,
        authenticator_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_AGENT, ROLE_SERVICE}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
    KEFU_ASSIGN_OR_RETURN(*response->mutable_tenant(), store_->GetTenant(tenant));
    return absl::OkStatus();
  });
}

grpc::Status AuthServiceImpl::UpdateTenantSettings(grpc::ServerContext* context,
                                                   const v1::UpdateTenantSettingsRequest* request,
                                                   v1::UpdateTenantSettingsResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_ADMIN}));
    static const std::set<std::string> kPaths = {"time_zone",
                                                 "default_language",
                                                 "show_last_transcript",
                                                 "invitations_enabled",
                                                 "silence_timeout",
                                                 "max_file_size_bytes",
                                                 "voiceprint_refresh_enabled"};
    for (const std::string& path : request->update_mask().paths()) {
      if (!kPaths.contains(path)) {
        return InvalidField("update_mask", absl::StrCat("unknown field \"", path, "\""));
      }
    }
    const v1::TenantSettings& s = request->settings();
    KEFU_RETURN_IF_ERROR(ValidateText("settings.time_zone", s.time_zone(), 64, false));
    if (!kefu::common::v1::Language_IsValid(s.default_language())) {
      return InvalidField("settings.default_language", "unknown value");
    }
    if (s.max_file_size_bytes() < 0) {
      return InvalidField("settings.max_file_size_bytes", "must not be negative");
    }
    KEFU_ASSIGN_OR_RETURN(
        *response->mutable_tenant(),
        store_->UpdateTenantSettings(caller.tenant_id, s, MaskPaths(request->update_mask())));
    return absl::OkStatus();
  });
}

grpc::Status AuthServiceImpl::CreateUser(grpc::ServerContext* context,
                                         const v1::CreateUserRequest* request,
                                         v1::CreateUserResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_ADMIN}));
    KEFU_RETURN_IF_ERROR(ValidateUsername("username", request->username()));
    KEFU_RETURN_IF_ERROR(ValidateText("display_name", request->display_name(), 100, false));
    KEFU_RETURN_IF_ERROR(ValidateEmail("email", request->email()));
    KEFU_RETURN_IF_ERROR(ValidateStaffRole("role", request->role()));
    KEFU_RETURN_IF_ERROR(auth::CheckPassword("password", request->password()));
    const std::string& key = request->idempotency_key();
    if (!key.empty()) {
      KEFU_ASSIGN_OR_RETURN(auto seen, store_->FindIdempotent(caller.tenant_id, "CreateUser", key));
      if (seen.has_value() && response->ParseFromString(*seen)) return absl::OkStatus();
    }
    UserRecord record;
    record.user.set_user_id(auth::RandomId());
    record.user.set_tenant_id(caller.tenant_id);
    record.user.set_username(request->username());
    record.user.set_display_name(request->display_name());
    record.user.set_email(request->email());
    record.user.set_role(request->role());
    KEFU_ASSIGN_OR_RETURN(record.password_hash, auth::HashPassword(request->password()));
    KEFU_RETURN_IF_ERROR(store_->CreateUser(caller.tenant_id, record));
    KEFU_ASSIGN_OR_RETURN(UserRecord stored,
                          store_->GetUser(caller.tenant_id, record.user.user_id()));
    *response->mutable_user() = stored.user;
    if (!key.empty()) {
      KEFU_RETURN_IF_ERROR(store_->SaveIdempotent(caller.tenant_id, "CreateUser", key,
                                                  response->SerializeAsString()));
    }
    return absl::OkStatus();
  });
}

grpc::Status AuthServiceImpl::GetUser(grpc::ServerContext* context,
                                      const v1::GetUserRequest* request,
                                      v1::GetUserResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(
        auth::Claims caller,
        authenticator_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_AGENT, ROLE_SERVICE}));
    if (request->user_id().empty()) return InvalidField("user_id", "required");
    if (caller.role == ROLE_AGENT && request->user_id() != caller.subject) {
      // Agents read their own account only; others' ids look as if they did not exist.
      return absl::NotFoundError(absl::StrCat("user ", request->user_id(), " not found"));
    }
    KEFU_ASSIGN_OR_RETURN(UserRecord record, store_->GetUser(caller.tenant_id, request->user_id()));
    *response->mutable_user() = record.user;
    return absl::OkStatus();
  });
}

grpc::Status AuthServiceImpl::ListUsers(grpc::ServerContext* context,
                                        const v1::ListUsersRequest* request,
                                        v1::ListUsersResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller,
                          authenticator_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR}));
    if (!kefu::common::v1::Role_IsValid(request->role())) {
      return InvalidField("role", "unknown value");
    }
    if (request->page_size() < 0) return InvalidField("page_size", "must not be negative");
    const int limit =
        request->page_size() == 0 ? kDefaultPageSize : std::min(request->page_size(), kMaxPageSize);
    KEFU_ASSIGN_OR_RETURN(std::string after, AfterFromPageToken(*request));
    KEFU_ASSIGN_OR_RETURN(UserPage page,
                          store_->ListUsers(caller.tenant_id, request->role(),
                                            request->include_disabled(), after, limit));
    for (auto& user : page.users) *response->add_users() = std::move(user);
    response->set_next_page_token(PageToken(*request, page.last_username));
    return absl::OkStatus();
  });
}

grpc::Status AuthServiceImpl::UpdateUser(grpc::ServerContext* context,
                                         const v1::UpdateUserRequest* request,
                                         v1::UpdateUserResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_ADMIN}));
    const v1::User& user = request->user();
    if (user.user_id().empty()) return InvalidField("user.user_id", "required");
    std::vector<std::string> paths = MaskPaths(request->update_mask());
    if (paths.empty()) return InvalidField("update_mask", "name the fields to change");
    for (const std::string& path : paths) {
      if (path == "display_name") {
        KEFU_RETURN_IF_ERROR(ValidateText("user.display_name", user.display_name(), 100, false));
      } else if (path == "email") {
        KEFU_RETURN_IF_ERROR(ValidateEmail("user.email", user.email()));
      } else if (path == "role") {
        KEFU_RETURN_IF_ERROR(ValidateStaffRole("user.role", user.role()));
      } else {
        return InvalidField("update_mask", absl::StrCat("\"", path,
                                                        "\" cannot be changed here (display_name, "
                                                        "email, role can)"));
      }
    }
    KEFU_ASSIGN_OR_RETURN(*response->mutable_user(),
                          store_->UpdateUser(caller.tenant_id, user, paths));
    return absl::OkStatus();
  });
}

absl::Status AuthServiceImpl::SetDisabled(grpc::ServerContext* context, const std::string& user_id,
                                          bool disabled, v1::User* out) {
  KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_ADMIN}));
  if (user_id.empty()) return InvalidField("user_id", "required");
  if (disabled && user_id == caller.subject) {
    return absl::FailedPreconditionError("user_id: an admin cannot disable their own account");
  }
  KEFU_ASSIGN_OR_RETURN(*out, store_->SetDisabled(caller.tenant_id, user_id, disabled));
  return absl::OkStatus();
}

grpc::Status AuthServiceImpl::DisableUser(grpc::ServerContext* context,
                                          const v1::DisableUserRequest* request,
                                          v1::DisableUserResponse* response) {
  return ToGrpcStatus(SetDisabled(context, request->user_id(), true, response->mutable_user()));
}

grpc::Status AuthServiceImpl::EnableUser(grpc::ServerContext* context,
                                         const v1::EnableUserRequest* request,
                                         v1::EnableUserResponse* response) {
  return ToGrpcStatus(SetDisabled(context, request->user_id(), false, response->mutable_user()));
}

grpc::Status AuthServiceImpl::ChangePassword(grpc::ServerContext* context,
                                             const v1::ChangePasswordRequest* request,
                                             v1::ChangePasswordResponse*) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(
        auth::Claims caller,
        authenticator_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_AGENT, ROLE_SERVICE}));
    if (caller.platform()) return absl::PermissionDeniedError("a platform token has no password");
    KEFU_RETURN_IF_ERROR(auth::CheckPassword("new_password", request->new_password()));
    KEFU_ASSIGN_OR_RETURN(UserRecord record, store_->GetUser(caller.tenant_id, caller.subject));
    if (!auth::VerifyPassword(record.password_hash, request->old_password())) {
      return InvalidField("old_password", "does not match");
    }
    KEFU_ASSIGN_OR_RETURN(std::string hash, auth::HashPassword(request->new_password()));
    KEFU_RETURN_IF_ERROR(store_->SetPasswordHash(caller.tenant_id, caller.subject, hash));
    return store_->RevokeUserTokens(caller.tenant_id, caller.subject);
  });
}

grpc::Status AuthServiceImpl::ResetPassword(grpc::ServerContext* context,
                                            const v1::ResetPasswordRequest* request,
                                            v1::ResetPasswordResponse*) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_ADMIN}));
    if (request->user_id().empty()) return InvalidField("user_id", "required");
    KEFU_RETURN_IF_ERROR(auth::CheckPassword("new_password", request->new_password()));
    KEFU_ASSIGN_OR_RETURN(std::string hash, auth::HashPassword(request->new_password()));
    KEFU_RETURN_IF_ERROR(store_->SetPasswordHash(caller.tenant_id, request->user_id(), hash));
    return store_->RevokeUserTokens(caller.tenant_id, request->user_id());
  });
}

grpc::Status AuthServiceImpl::IssueEntryPointToken(grpc::ServerContext* context,
                                                   const v1::IssueEntryPointTokenRequest* request,
                                                   v1::IssueEntryPointTokenResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_ADMIN}));
    KEFU_RETURN_IF_ERROR(ValidateText("entry_point_id", request->entry_point_id(), 64, true));
    absl::Duration ttl = settings_.max_entry_point_token_ttl;
    if (request->has_ttl()) {
      ttl = absl::Seconds(TimeUtil::DurationToSeconds(request->ttl()));
      if (ttl <= absl::ZeroDuration() || ttl > settings_.max_entry_point_token_ttl) {
        return InvalidField("ttl", "must be positive and at most 365 days");
      }
    }
    auth::Claims claims;
    claims.tenant_id = caller.tenant_id;
    claims.subject = absl::StrCat("ep:", request->entry_point_id());
    claims.role = ROLE_CUSTOMER;
    claims.entry_point_id = request->entry_point_id();
    claims.issued_at = absl::Now();
    claims.expires_at = claims.issued_at + ttl;
    claims.token_id = auth::RandomId();
    response->set_token(codec_->Sign(claims));
    *response->mutable_expire_time() = ToProto(claims.expires_at);
    return absl::OkStatus();
  });
}

grpc::Status AuthServiceImpl::IssueCustomerToken(grpc::ServerContext* context,
                                                 const v1::IssueCustomerTokenRequest* request,
                                                 v1::IssueCustomerTokenResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_SERVICE}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
    KEFU_RETURN_IF_ERROR(ValidateText("contact_id", request->contact_id(), 64, true));
    KEFU_RETURN_IF_ERROR(ValidateText("customer_id", request->customer_id(), 64, false));
    absl::Duration ttl = settings_.customer_token_ttl;
    if (request->has_ttl()) {
      ttl = absl::Seconds(TimeUtil::DurationToSeconds(request->ttl()));
      if (ttl <= absl::ZeroDuration() || ttl > absl::Hours(24)) {
        return InvalidField("ttl", "must be positive and at most 24 hours");
      }
    }
    auth::Claims claims;
    claims.tenant_id = tenant;
    claims.subject =
        request->customer_id().empty() ? request->contact_id() : request->customer_id();
    claims.role = ROLE_CUSTOMER;
    claims.contact_id = request->contact_id();
    claims.issued_at = absl::Now();
    claims.expires_at = claims.issued_at + ttl;
    claims.token_id = auth::RandomId();
    response->set_token(codec_->Sign(claims));
    *response->mutable_expire_time() = ToProto(claims.expires_at);
    return absl::OkStatus();
  });
}

}  // namespace kefu::identity
