#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// Staff passwords: argon2id through libsodium's crypto_pwhash_str (salted, with its
// parameters encoded in the result, so stronger settings later still verify old hashes).
namespace kefu::auth {

struct PasswordPolicy {
  size_t min_length = 8;
  size_t max_length = 256;
};

// INVALID_ARGUMENT naming `field` when the password breaks the policy.
absl::Status CheckPassword(absl::string_view field, absl::string_view password,
                           const PasswordPolicy& policy = {});
absl::StatusOr<std::string> HashPassword(absl::string_view password);
bool VerifyPassword(absl::string_view hash, absl::string_view password);

}  // namespace kefu::auth
