#include <catch2/catch.hpp>

#include "absl/strings/str_split.h"
#include "libs/auth/authorize.h"
#include "libs/auth/password.h"
#include "libs/auth/token.h"
#include "services/identity/validation.h"

namespace {

using kefu::auth::Claims;
using kefu::auth::TokenCodec;

constexpr char kKey[] = "unit-test-signing-key-0123456789abcdef";

Claims AgentClaims(absl::Time now) {
  Claims claims;
  claims.tenant_id = "acme";
  claims.subject = "u-1";
  claims.role = kefu::common::v1::ROLE_AGENT;
  claims.issued_at = now;
  claims.expires_at = now + absl::Minutes(15);
  claims.token_id = "jti-1";
  return claims;
}

}  // namespace

TEST_CASE("a signed token verifies and carries tenant, subject and role") {
  auto codec = TokenCodec::Create(kKey);
  REQUIRE(codec.ok());
  const absl::Time now = absl::FromUnixSeconds(1'795'000'000);
  const std::string token = codec->Sign(AgentClaims(now));
  CHECK(std::count(token.begin(), token.end(), '.') == 2);

  auto claims = codec->Verify(token, now + absl::Minutes(1));
  REQUIRE(claims.ok());
  CHECK(claims->tenant_id == "acme");
  CHECK(claims->subject == "u-1");
  CHECK(claims->role == kefu::common::v1::ROLE_AGENT);
  CHECK(claims->kind == "access");
  CHECK(claims->expires_at == now + absl::Minutes(15));
  CHECK_FALSE(claims->platform());
}

TEST_CASE("expired, tampered, foreign and malformed tokens are UNAUTHENTICATED") {
  auto codec = TokenCodec::Create(kKey);
  const absl::Time now = absl::FromUnixSeconds(1'795'000'000);
  const std::string token = codec->Sign(AgentClaims(now));

  CHECK(codec->Verify(token, now + absl::Minutes(15)).status().code() ==
        absl::StatusCode::kUnauthenticated);

  // Swap in a payload that claims the admin role, keeping the agent's signature.
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  Claims admin = AgentClaims(now);
  admin.role = kefu::common::v1::ROLE_ADMIN;
  std::vector<std::string> forged = absl::StrSplit(codec->Sign(admin), '.');
  const std::string tampered = parts[0] + "." + forged[1] + "." + parts[2];
  auto rejected = codec->Verify(tampered, now);
  CHECK(rejected.status().code() == absl::StatusCode::kUnauthenticated);
  CHECK_THAT(std::string(rejected.status().message()), Catch::Contains("signature"));

  auto other = TokenCodec::Create("another-deployment-key-0123456789abcd");
  CHECK_FALSE(other->Verify(token, now).ok());

  for (const char* junk : {"", "abc", "a.b", "a.b.c", "....", "eyJ.eyJ.sig"}) {
    CHECK(codec->Verify(junk, now).status().code() == absl::StatusCode::kUnauthenticated);
  }
}

TEST_CASE("a token verified once still expires and still fails under another key") {
  // Verify keeps what it verified per thread; neither expiry nor the key may be skipped.
  auto codec = TokenCodec::Create(kKey);
  auto other = TokenCodec::Create("another-deployment-key-0123456789abcd");
  const absl::Time now = absl::FromUnixSeconds(1'795'000'000);
  const std::string token = codec->Sign(AgentClaims(now));

  for (int call = 0; call < 3; ++call) {
    auto claims = codec->Verify(token, now + absl::Minutes(call));
    REQUIRE(claims.ok());
    CHECK(claims->subject == "u-1");
  }
  CHECK(other->Verify(token, now).status().code() == absl::StatusCode::kUnauthenticated);
  auto late = codec->Verify(token, now + absl::Minutes(15));
  CHECK(late.status().code() == absl::StatusCode::kUnauthenticated);
  CHECK_THAT(std::string(late.status().message()), Catch::Contains("expired"));
  CHECK(codec->Verify(token, now + absl::Minutes(14)).ok());
}

TEST_CASE("the signing key must be long enough") {
  CHECK(TokenCodec::Create("short").status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("a platform service token has no tenant and acts for the tenant a request names") {
  auto codec = TokenCodec::Create(kKey);
  auto claims = codec->Verify(kefu::auth::PlatformServiceToken(*codec, "gateway", absl::Minutes(1)),
                              absl::Now());
  REQUIRE(claims.ok());
  CHECK(claims->platform());
  CHECK(claims->subject == "svc:gateway");
  CHECK(*kefu::auth::ActingTenant(*claims, "acme") == "acme");
  CHECK(kefu::auth::ActingTenant(*claims, "").status().code() ==
        absl::StatusCode::kInvalidArgument);

  Claims agent = AgentClaims(absl::Now());
  CHECK(*kefu::auth::ActingTenant(agent, "") == "acme");
  CHECK(*kefu::auth::ActingTenant(agent, "acme") == "acme");
  CHECK(kefu::auth::ActingTenant(agent, "globex").status().code() ==
        absl::StatusCode::kPermissionDenied);
}

TEST_CASE("bearer headers are required and checked") {
  auto codec = TokenCodec::Create(kKey);
  kefu::auth::Authenticator authenticator(&*codec);
  const std::string token = codec->Sign(AgentClaims(absl::Now()));
  CHECK(authenticator.AuthenticateHeader("Bearer " + token).ok());
  CHECK(authenticator.AuthenticateHeader(token).status().code() ==
        absl::StatusCode::kUnauthenticated);
  CHECK(authenticator.AuthenticateHeader("").status().code() == absl::StatusCode::kUnauthenticated);
}

TEST_CASE("argon2id hashes verify the right password only") {
  auto hash = kefu::auth::HashPassword("correct horse");
  REQUIRE(hash.ok());
  CHECK_THAT(*hash, Catch::StartsWith("$argon2id$"));
  CHECK(kefu::auth::VerifyPassword(*hash, "correct horse"));
  CHECK_FALSE(kefu::auth::VerifyPassword(*hash, "correct horsE"));
  CHECK_FALSE(kefu::auth::VerifyPassword("", "correct horse"));
  CHECK(*kefu::auth::HashPassword("correct horse") != *hash);  // salted
  CHECK(kefu::auth::CheckPassword("password", "short").message() ==
        "password: must be at least 8 characters");
}

TEST_CASE("identity validation names the field and explains the rule") {
  using namespace kefu::identity;  // NOLINT(google-build-using-namespace): test brevity
  CHECK(ValidateNewTenantId("tenant_id", "acme-shop").ok());
  CHECK_THAT(std::string(ValidateNewTenantId("tenant_id", "ac").message()),
             Catch::StartsWith("tenant_id: must be 3"));
  CHECK_FALSE(ValidateNewTenantId("tenant_id", "Acme").ok());
  CHECK(ValidateUsername("username", "li.na@acme").ok());
  CHECK_FALSE(ValidateUsername("username", "li na").ok());
  CHECK(ValidateEmail("email", "").ok());
  CHECK(ValidateEmail("email", "kefu@example.cn").ok());
  for (const char* bad :
       {"kefu", "@example.cn", "kefu@cn", "kefu@@x.cn", "ke fu@x.cn", "kefu@x."}) {
    INFO(bad);
    CHECK_FALSE(ValidateEmail("email", bad).ok());
  }
  CHECK(ValidateStaffRole("role", kefu::common::v1::ROLE_SERVICE).ok());
  CHECK_FALSE(ValidateStaffRole("role", kefu::common::v1::ROLE_CUSTOMER).ok());
  CHECK_FALSE(ValidateText("name", std::string(201, 'x'), 200, true).ok());
  CHECK_FALSE(ValidateText("name", "", 200, true).ok());
  CHECK_FALSE(ValidateText("name", "tab\there", 200, false).ok());
}
