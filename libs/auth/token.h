#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kefu/common/v1/common.pb.h"

// Access tokens: JWTs signed with HMAC-SHA256 (HS256) under the deployment's
// KEFU_JWT_KEY. identity issues them at login; every service verifies them locally.
namespace kefu::auth {

using Role = kefu::common::v1::Role;

struct Claims {
  std::string tenant_id;  // "tenant"; empty only in a platform service token
  std::string subject;    // "sub": user id, "svc:<name>", or the contact id of a customer
  Role role = kefu::common::v1::ROLE_UNSPECIFIED;  // "role": "admin", "agent", ...
  absl::Time issued_at;                            // "iat"
  absl::Time expires_at;                           // "exp"
  std::string token_id;                            // "jti"
  std::string kind = "access";                     // "typ": "access" or "refresh"
  std::string contact_id;      // "contact": customer tokens bound to one contact
  std::string entry_point_id;  // "ep": widget tokens bound to an entry point

  // A kefu service acting for any tenant (the tenant comes from the request).
  bool platform() const { return role == kefu::common::v1::ROLE_SERVICE && tenant_id.empty(); }
};

// "admin", "supervisor", "agent", "service", "customer".
absl::string_view RoleName(Role role);
bool ParseRoleName(absl::string_view name, Role* role);

class TokenCodec final {
 public:
  // The key must hold at least 32 bytes (HS256 wants as many bits as the hash).
  static absl::StatusOr<TokenCodec> Create(absl::string_view key);

  std::string Sign(const Claims& claims) const;
  // UNAUTHENTICATED for anything but a well-formed, correctly signed, unexpired token.
  // Each thread keeps the last tokens it verified (a client sends the same token on
  // every call), so a repeat costs a hash lookup and the expiry check, not an HMAC.
  absl::StatusOr<Claims> Verify(absl::string_view token, absl::Time now) const;

 private:
  TokenCodec(std::string key, uint64_t serial) : key_(std::move(key)), serial_(serial) {}
  std::string Mac(absl::string_view signing_input) const;
  // Verify without the expiry check: the part whose result a thread may keep.
  absl::StatusOr<Claims> VerifySigned(absl::string_view token) const;
  std::string key_;
  uint64_t serial_;  // which codec (key) a thread's verified-token cache entry came from
};

// A platform service token for `service` ("gateway"), valid for `ttl`: what kefu
// services present to each other, and what `kefuctl` mints for bootstrap.
std::string PlatformServiceToken(const TokenCodec& codec, absl::string_view service,
                                 absl::Duration ttl);

// 128 random bits as 32 hex digits (token ids, opaque ids).
std::string RandomId();

}  // namespace kefu::auth
