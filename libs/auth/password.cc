#include "libs/auth/password.h"

#include <sodium.h>

#include "absl/strings/str_cat.h"
#include "libs/common/status.h"

namespace kefu::auth {

absl::Status CheckPassword(absl::string_view field, absl::string_view password,
                           const PasswordPolicy& policy) {
  if (password.size() < policy.min_length) {
    return InvalidField(field, absl::StrCat("must be at least ", policy.min_length, " characters"));
  }
  if (password.size() > policy.max_length) {
    return InvalidField(field, absl::StrCat("must be at most ", policy.max_length, " characters"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> HashPassword(absl::string_view password) {
  if (sodium_init() < 0) return absl::InternalError("libsodium failed to initialise");
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(),
                            crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return absl::ResourceExhaustedError("password hashing ran out of memory");
  }
  return std::string(out);
}

bool VerifyPassword(absl::string_view hash, absl::string_view password) {
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  const std::string terminated(hash);  // crypto_pwhash_str_verify wants a C string
  return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
}

}  // namespace kefu::auth
