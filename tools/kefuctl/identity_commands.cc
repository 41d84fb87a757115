// kefuctl commands of identity: bootstrap a tenant, log in, manage staff users.
#include <cstdio>

#include "absl/strings/str_format.h"
#include "kefu/identity/v1/auth.grpc.pb.h"
#include "libs/auth/token.h"
#include "tools/kefuctl/ctl.h"

namespace kefu::ctl {
namespace {

namespace v1 = kefu::identity::v1;

int Usage(const char* usage) {
  std::fprintf(stderr, "usage: kefuctl %s\n", usage);
  return 2;
}

std::unique_ptr<v1::AuthService::Stub> Stub(const CtlContext& ctx) {
  return v1::AuthService::NewStub(ctx.Channel("identity"));
}

void PrintUser(const v1::User& user) {
  std::printf("%s  %-24s %-10s %s%s\n", user.user_id().c_str(), user.username().c_str(),
              std::string(auth::RoleName(user.role())).c_str(), user.display_name().c_str(),
              user.disabled() ? "  (disabled)" : "");
}

int TenantCreate(const std::vector<std::string>& args, const CtlContext& ctx) {
  if (args.size() < 4) {
    return Usage("tenant create <tenant_id> <name> <admin_username> <admin_password>");
  }
  auto call = ctx.Call(/*platform=*/true);
  if (!call.ok()) return Failed(call.status());
  v1::CreateTenantRequest request;
  request.set_tenant_id(args[0]);
  request.set_name(args[1]);
  request.set_admin_username(args[2]);
  request.set_admin_password(args[3]);
  request.set_admin_display_name(args[2]);
  request.set_idempotency_key("kefuctl-tenant-create-" + args[0]);
  v1::CreateTenantResponse response;
  if (auto st = Stub(ctx)->CreateTenant(call->get(), request, &response); !st.ok()) {
    return Failed(st);
  }
  std::printf("tenant %s (%s) created; admin %s is user %s\n",
              response.tenant().tenant_id().c_str(), response.tenant().name().c_str(),
              response.admin().username().c_str(), response.admin().user_id().c_str());
  return 0;
}

int Login(const std::vector<std::string>& args, const CtlContext& ctx) {
  if (args.size() < 3) return Usage("login <tenant_id> <username> <password>");
  grpc::ClientContext call;
  call.set_deadline(absl::ToChronoTime(absl::Now() + ctx.timeout));
  v1::LoginRequest request;
  request.set_tenant_id(args[0]);
  request.set_username(args[1]);
  request.set_password(args[2]);
  v1::LoginResponse response;
  if (auto st = Stub(ctx)->Login(&call, request, &response); !st.ok()) return Failed(st);
  // The access token alone on stdout, so `export KEFUCTL_TOKEN=$(kefuctl login ...)` works.
  std::printf("%s\n", response.tokens().access_token().c_str());
  std::fprintf(stderr, "logged in as %s (%s); token valid for 15 minutes\n",
               response.user().username().c_str(),
               std::string(auth::RoleName(response.user().role())).c_str());
  return 0;
}

int UserCreate(const std::vector<std::string>& args, const CtlContext& ctx) {
  kefu::common::v1::Role role;
  if (args.size() < 3 || !auth::ParseRoleName(args[1], &role)) {
    return Usage("user create <username> <admin|supervisor|agent|service> <password> [name]");
  }
  auto call = ctx.Call();
  if (!call.ok()) return Failed(call.status());
  v1::CreateUserRequest request;
  request.set_username(args[0]);
  request.set_role(role);
  request.set_password(args[2]);
  if (args.size() > 3) request.set_display_name(args[3]);
  v1::CreateUserResponse response;
  if (auto st = Stub(ctx)->CreateUser(call->get(), request, &response); !st.ok()) {
    return Failed(st);
  }
  PrintUser(response.user());
  return 0;
}

int UserList(const std::vector<std::string>&, const CtlContext& ctx) {
  std::string page_token;
  do {
    auto call = ctx.Call();
    if (!call.ok()) return Failed(call.status());
    v1::ListUsersRequest request;
    request.set_include_disabled(true);
    request.set_page_token(page_token);
    v1::ListUsersResponse response;
    if (auto st = Stub(ctx)->ListUsers(call->get(), request, &response); !st.ok()) {
      return Failed(st);
    }
    for (const auto& user : response.users()) PrintUser(user);
    page_token = response.next_page_token();
  } while (!page_token.empty());
  return 0;
}

int UserDisable(const std::vector<std::string>& args, const CtlContext& ctx) {
  if (args.empty()) return Usage("user disable <user_id>");
  auto call = ctx.Call();
  if (!call.ok()) return Failed(call.status());
  v1::DisableUserRequest request;
  request.set_user_id(args[0]);
  v1::DisableUserResponse response;
  if (auto st = Stub(ctx)->DisableUser(call->get(), request, &response); !st.ok()) {
    return Failed(st);
  }
  PrintUser(response.user());
  return 0;
}

}  // namespace

std::vector<CommandSpec> IdentityCommands() {
  return {
      {"tenant create", "tenant create <id> <name> <admin_user> <admin_password>",
       "bootstrap a tenant and its first admin (needs KEFU_JWT_KEY)", TenantCreate},
      {"login", "login <tenant> <username> <password>",
       "print an access token (export KEFUCTL_TOKEN=...)", Login},
      {"user create", "user create <username> <role> <password> [name]",
       "create a staff user (admin)", UserCreate},
      {"user list", "user list", "list the tenant's staff users", UserList},
      {"user disable", "user disable <user_id>", "disable a user and end their sessions",
       UserDisable},
  };
}

}  // namespace kefu::ctl
