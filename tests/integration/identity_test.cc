// identity's AuthService in-process on real PostgreSQL: tenants, users, login, tokens,
// roles, tenant isolation and row-level security (F70).
#include <google/protobuf/descriptor.h>

#include <catch2/catch.hpp>
#include <pqxx/pqxx>
#include <set>

#include "kefu/identity/v1/auth.grpc.pb.h"
#include "libs/auth/token.h"
#include "services/identity/identity_service.h"
#include "tests/support/env.h"
#include "tests/support/raw_call.h"
#include "tests/support/service_harness.h"

namespace {

namespace v1 = kefu::identity::v1;
using kefu::common::v1::ROLE_ADMIN;
using kefu::common::v1::ROLE_AGENT;
using kefu::common::v1::ROLE_SUPERVISOR;
using kefu::testing::CallWith;
using kefu::testing::PlatformToken;
using kefu::testing::TokenFor;

struct Identity {
  kefu::testing::RunningService service = kefu::testing::StartService(kefu::identity::Definition());
  std::unique_ptr<v1::AuthService::Stub> stub = v1::AuthService::NewStub(service.channel);

  // A tenant with admin "boss" / "correct horse"; returns the admin's access token.
  std::string CreateTenant(const std::string& tenant) {
    v1::CreateTenantRequest request;
    request.set_tenant_id(tenant);
    request.set_name("Shop " + tenant);
    request.set_admin_username("boss");
    request.set_admin_password("correct horse");
    v1::CreateTenantResponse response;
    auto status = stub->CreateTenant(CallWith(PlatformToken()).get(), request, &response);
    REQUIRE(status.error_message() == "");
    REQUIRE(status.ok());
    return Login(tenant, "boss", "correct horse").tokens().access_token();
  }

  v1::LoginResponse Login(const std::string& tenant, const std::string& user,
                          const std::string& password, grpc::Status* status_out = nullptr) {
    v1::LoginRequest request;
    request.set_tenant_id(tenant);
    request.set_username(user);
    request.set_password(password);
    v1::LoginResponse response;
    grpc::Status status = stub->Login(CallWith("").get(), request, &response);
    if (status_out != nullptr) {
      *status_out = status;
    } else {
      REQUIRE(status.ok());
    }
    return response;
  }

  grpc::Status CreateUser(const std::string& token, const std::string& username,
                          kefu::common::v1::Role role, v1::User* out = nullptr) {
    v1::CreateUserRequest request;
    request.set_username(username);
    request.set_role(role);
    request.set_password("agent password");
    v1::CreateUserResponse response;
    grpc::Status status = stub->CreateUser(CallWith(token).get(), request, &response);
    if (out != nullptr) *out = response.user();
    return status;
  }
};

std::string NewTenant() {
  // Tenant ids in identity are 3-32 of [a-z0-9-].
  std::string t = kefu::testing::UniqueTenant("id");
  return t;
}

}  // namespace

TEST_CASE(
    "bootstrap creates a tenant and its admin who can log in and only the platform may bootstrap") {
  Identity identity;
  const std::string tenant = NewTenant();
  const std::string admin_token = identity.CreateTenant(tenant);

  auto claims =
      kefu::auth::TokenCodec::Create(kefu::testing::kTestJwtKey)->Verify(admin_token, absl::Now());
  REQUIRE(claims.ok());
  CHECK(claims->tenant_id == tenant);
  CHECK(claims->role == ROLE_ADMIN);
  CHECK(claims->expires_at > absl::Now() + absl::Minutes(10));

  v1::CreateTenantRequest again;
  again.set_tenant_id(NewTenant());
  again.set_name("x");
  again.set_admin_username("boss");
  again.set_admin_password("correct horse");
  v1::CreateTenantResponse response;
  CHECK(identity.stub->CreateTenant(CallWith("").get(), again, &response).error_code() ==
        grpc::StatusCode::UNAUTHENTICATED);
  CHECK(identity.stub->CreateTenant(CallWith(admin_token).get(), again, &response).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);

  again.set_tenant_id(tenant);  // taken
  CHECK(
      identity.stub->CreateTenant(CallWith(PlatformToken()).get(), again, &response).error_code() ==
      grpc::StatusCode::ALREADY_EXISTS);
}

TEST_CASE("login refuses a wrong password and a disabled user and tokens expire") {
  Identity identity;
  const std::string tenant = NewTenant();
  const std::string admin = identity.CreateTenant(tenant);
  v1::User agent;
  REQUIRE(identity.CreateUser(admin, "alice", ROLE_AGENT, &agent).ok());

  grpc::Status status;
  identity.Login(tenant, "alice", "wrong password", &status);
  CHECK(status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  identity.Login(tenant, "nobody", "agent password", &status);
  CHECK(status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  identity.Login("other-tenant", "alice", "agent password", &status);
  CHECK(status.error_code() == grpc::StatusCode::UNAUTHENTICATED);

  auto login = identity.Login(tenant, "alice", "agent password");
  CHECK(login.user().user_id() == agent.user_id());
  CHECK(login.user().role() == ROLE_AGENT);

  // An expired token is refused like a missing one.
  const std::string expired = TokenFor(tenant, ROLE_ADMIN, "boss", absl::Seconds(-1));
  v1::ListUsersRequest list;
  v1::ListUsersResponse users;
  status = identity.stub->ListUsers(CallWith(expired).get(), list, &users);
  CHECK(status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK_THAT(status.error_message(), Catch::Contains("expired"));
  // A token signed with another key is refused.
  auto forged_codec = kefu::auth::TokenCodec::Create("some-other-key-0123456789abcdefghij");
  kefu::auth::Claims forged;
  forged.tenant_id = tenant;
  forged.subject = "boss";
  forged.role = ROLE_ADMIN;
  forged.issued_at = absl::Now();
  forged.expires_at = absl::Now() + absl::Minutes(5);
  status = identity.stub->ListUsers(CallWith(forged_codec->Sign(forged)).get(), list, &users);
  CHECK(status.error_code() == grpc::StatusCode::UNAUTHENTICATED);

  v1::DisableUserRequest disable;
  disable.set_user_id(agent.user_id());
  v1::DisableUserResponse disabled;
  REQUIRE(identity.stub->DisableUser(CallWith(admin).get(), disable, &disabled).ok());
  CHECK(disabled.user().disabled());
  identity.Login(tenant, "alice", "agent password", &status);
  CHECK(status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  // Their refresh token died with the account.
  v1::RefreshRequest refresh;
  refresh.set_refresh_token(login.tokens().refresh_token());
  v1::RefreshResponse refreshed;
  CHECK_FALSE(identity.stub->Refresh(CallWith("").get(), refresh, &refreshed).ok());
}

TEST_CASE("a refresh token buys a new pair once and is refused the second time") {
  Identity identity;
  const std::string tenant = NewTenant();
  identity.CreateTenant(tenant);
  auto login = identity.Login(tenant, "boss", "correct horse");

  v1::RefreshRequest request;
  request.set_refresh_token(login.tokens().refresh_token());
  v1::RefreshResponse first;
  REQUIRE(identity.stub->Refresh(CallWith("").get(), request, &first).ok());
  CHECK_FALSE(first.tokens().access_token().empty());
  CHECK(first.tokens().refresh_token() != login.tokens().refresh_token());

  v1::RefreshResponse second;
  CHECK(identity.stub->Refresh(CallWith("").get(), request, &second).error_code() ==
        grpc::StatusCode::UNAUTHENTICATED);

  // An access token is not a refresh token, and a refresh token is not an access token.
  request.set_refresh_token(login.tokens().access_token());
  CHECK(identity.stub->Refresh(CallWith("").get(), request, &second).error_code() ==
        grpc::StatusCode::UNAUTHENTICATED);
  v1::ListUsersRequest list;
  v1::ListUsersResponse users;
  CHECK(identity.stub->ListUsers(CallWith(first.tokens().refresh_token()).get(), list, &users)
            .error_code() == grpc::StatusCode::UNAUTHENTICATED);
}

TEST_CASE("only admins manage users and agents see only themselves") {
  Identity identity;
  const std::string tenant = NewTenant();
  const std::string admin = identity.CreateTenant(tenant);
  v1::User agent, lead;
  REQUIRE(identity.CreateUser(admin, "alice", ROLE_AGENT, &agent).ok());
  REQUIRE(identity.CreateUser(admin, "lead", ROLE_SUPERVISOR, &lead).ok());
  const std::string agent_token =
      identity.Login(tenant, "alice", "agent password").tokens().access_token();

  auto denied = identity.CreateUser(agent_token, "mallory", ROLE_ADMIN);
  CHECK(denied.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK_THAT(denied.error_message(), Catch::Contains("needs admin"));

  v1::GetUserRequest get;
  v1::GetUserResponse got;
  get.set_user_id(agent.user_id());
  CHECK(identity.stub->GetUser(CallWith(agent_token).get(), get, &got).ok());
  get.set_user_id(lead.user_id());
  CHECK(identity.stub->GetUser(CallWith(agent_token).get(), get, &got).error_code() ==
        grpc::StatusCode::NOT_FOUND);

  CHECK(identity.CreateUser(admin, "alice", ROLE_AGENT).error_code() ==
        grpc::StatusCode::ALREADY_EXISTS);

  // Paging walks every user exactly once.
  for (int i = 0; i < 5; ++i) {
    REQUIRE(identity.CreateUser(admin, "agent" + std::to_string(i), ROLE_AGENT).ok());
  }
  std::set<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    v1::ListUsersRequest list;
    list.set_page_size(3);
    list.set_page_token(token);
    v1::ListUsersResponse page;
    REQUIRE(identity.stub->ListUsers(CallWith(admin).get(), list, &page).ok());
    for (const auto& user : page.users()) CHECK(seen.insert(user.username()).second);
    token = page.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 10);
  CHECK(seen.size() == 8);  // boss, alice, lead, agent0..4
  CHECK(pages == 3);
}

TEST_CASE("an admin of one tenant cannot see or change another tenant's users") {
  Identity identity;
  const std::string tenant_a = NewTenant();
  const std::string tenant_b = NewTenant();
  const std::string admin_a = identity.CreateTenant(tenant_a);
  const std::string admin_b = identity.CreateTenant(tenant_b);
  v1::User bob;
  REQUIRE(identity.CreateUser(admin_b, "bob", ROLE_AGENT, &bob).ok());

  v1::GetUserRequest get;
  get.set_user_id(bob.user_id());
  v1::GetUserResponse got;
  auto status = identity.stub->GetUser(CallWith(admin_a).get(), get, &got);
  CHECK(status.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(got.user().username().empty());

  v1::DisableUserRequest disable;
  disable.set_user_id(bob.user_id());
  v1::DisableUserResponse disabled;
  CHECK(identity.stub->DisableUser(CallWith(admin_a).get(), disable, &disabled).error_code() ==
        grpc::StatusCode::NOT_FOUND);
  v1::ResetPasswordRequest reset;
  reset.set_user_id(bob.user_id());
  reset.set_new_password("hijacked password");
  v1::ResetPasswordResponse reset_response;
  CHECK(
      identity.stub->ResetPassword(CallWith(admin_a).get(), reset, &reset_response).error_code() ==
      grpc::StatusCode::NOT_FOUND);
  identity.Login(tenant_b, "bob", "agent password");  // unchanged

  v1::ListUsersRequest list;
  v1::ListUsersResponse users;
  REQUIRE(identity.stub->ListUsers(CallWith(admin_a).get(), list, &users).ok());
  for (const auto& user : users.users()) CHECK(user.tenant_id() == tenant_a);

  v1::GetTenantRequest tenant_request;
  tenant_request.set_tenant_id(tenant_b);
  v1::GetTenantResponse tenant_response;
  CHECK(identity.stub->GetTenant(CallWith(admin_a).get(), tenant_request, &tenant_response)
            .error_code() == grpc::StatusCode::PERMISSION_DENIED);
}

TEST_CASE("row-level security hides other tenants' rows even from a query without a WHERE") {
  Identity identity;
  const std::string tenant_a = NewTenant();
  const std::string tenant_b = NewTenant();
  identity.CreateTenant(tenant_a);
  identity.CreateTenant(tenant_b);

  pqxx::connection conn(identity.service.pg_dsn);
  pqxx::work txn(conn);
  txn.exec("SET ROLE kefu_app");
  // No tenant bound: nothing is visible.
  CHECK(txn.exec1("SELECT count(*) FROM identity.users")[0].as<int>() == 0);
  txn.exec_params("SELECT set_config('kefu.tenant_id', $1, true)", tenant_a);
  auto rows = txn.exec("SELECT DISTINCT tenant_id FROM identity.users");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0][0].as<std::string>() == tenant_a);
  // Writing a row of another tenant is refused by the policy's WITH CHECK.
  CHECK_THROWS(txn.exec_params(
      "INSERT INTO identity.tenants (tenant_id, name) VALUES ($1, 'sneaky')", "sneaky-one"));
}

TEST_CASE("bad input is INVALID_ARGUMENT naming the field, and nothing is written") {
  Identity identity;
  const std::string tenant = NewTenant();
  const std::string admin = identity.CreateTenant(tenant);

  struct Case {
    std::string username, email, password;
    kefu::common::v1::Role role;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"", "", "agent password", ROLE_AGENT, "username"},
      {"has space", "", "agent password", ROLE_AGENT, "username"},
      {std::string(65, 'a'), "", "agent password", ROLE_AGENT, "username"},
      {"carol", "not-an-email", "agent password", ROLE_AGENT, "email"},
      {"carol", "", "short", ROLE_AGENT, "password"},
      {"carol", "", "agent password", kefu::common::v1::ROLE_CUSTOMER, "role"},
      {"carol", "", "agent password", static_cast<kefu::common::v1::Role>(42), "role"},
  };
  for (const Case& c : cases) {
    v1::CreateUserRequest request;
    request.set_username(c.username);
    request.set_email(c.email);
    request.set_password(c.password);
    request.set_role(c.role);
    v1::CreateUserResponse response;
    auto status = identity.stub->CreateUser(CallWith(admin).get(), request, &response);
    INFO(c.field);
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(status.error_message(), Catch::StartsWith(c.field + ":"));
  }
  v1::ListUsersRequest list;
  v1::ListUsersResponse users;
  REQUIRE(identity.stub->ListUsers(CallWith(admin).get(), list, &users).ok());
  CHECK(users.users_size() == 1);  // only the admin

  v1::CreateTenantRequest bad_tenant;
  bad_tenant.set_tenant_id("Bad_Tenant");
  bad_tenant.set_name("x");
  bad_tenant.set_admin_username("boss");
  bad_tenant.set_admin_password("correct horse");
  v1::CreateTenantResponse created;
  auto status = identity.stub->CreateTenant(CallWith(PlatformToken()).get(), bad_tenant, &created);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(status.error_message(), Catch::StartsWith("tenant_id:"));
}

TEST_CASE("every identity RPC but Login, Refresh and RevokeToken refuses a call without a token") {
  Identity identity;
  const auto* service = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
      v1::AuthService::service_full_name());
  REQUIRE(service != nullptr);
  int checked = 0;
  for (int i = 0; i < service->method_count(); ++i) {
    const std::string name = service->method(i)->name();
    if (name == "Login" || name == "Refresh" || name == "RevokeToken") continue;
    grpc::Status status = kefu::testing::CallRaw(identity.service.channel,
                                                 "/" + service->full_name() + "/" + name, "");
    INFO(name);
    CHECK(status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
    ++checked;
  }
  CHECK(checked == service->method_count() - 3);
}
