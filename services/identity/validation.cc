#include "services/identity/validation.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "libs/common/status.h"

namespace kefu::identity {

absl::Status ValidateNewTenantId(absl::string_view field, absl::string_view tenant_id) {
  if (tenant_id.size() < 3 || tenant_id.size() > 32) {
    return InvalidField(field, "must be 3 to 32 characters");
  }
  for (char c : tenant_id) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-')) {
      return InvalidField(field, absl::StrCat("\"", tenant_id, "\" may hold only a-z, 0-9 and -"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateUsername(absl::string_view field, absl::string_view username) {
  if (username.empty()) return InvalidField(field, "required");
  if (username.size() > 64) return InvalidField(field, "must be at most 64 characters");
  for (char c : username) {
    if (!(absl::ascii_isalnum(c) || c == '.' || c == '_' || c == '@' || c == '-')) {
      return InvalidField(field, "may hold only letters, digits and . _ @ -");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateEmail(absl::string_view field, absl::string_view email) {
  if (email.empty()) return absl::OkStatus();
  if (email.size() > 254) return InvalidField(field, "must be at most 254 characters");
  const auto at = email.find('@');
  if (at == absl::string_view::npos || at == 0 ||
      email.find('@', at + 1) != absl::string_view::npos) {
    return InvalidField(field, absl::StrCat("\"", email, "\" is not an e-mail address"));
  }
  const absl::string_view domain = email.substr(at + 1);
  const auto dot = domain.rfind('.');
  if (dot == absl::string_view::npos || dot == 0 || dot + 1 == domain.size()) {
    return InvalidField(field, absl::StrCat("\"", email, "\" is not an e-mail address"));
  }
  for (char c : email) {
    if (absl::ascii_isspace(c) || absl::ascii_iscntrl(c)) {
      return InvalidField(field, absl::StrCat("\"", email, "\" is not an e-mail address"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateText(absl::string_view field, absl::string_view text, size_t max,
                          bool required) {
  if (required && text.empty()) return InvalidField(field, "required");
  if (text.size() > max)
    return InvalidField(field, absl::StrCat("must be at most ", max, " bytes"));
  for (char c : text) {
    if (absl::ascii_iscntrl(c)) return InvalidField(field, "must not hold control characters");
  }
  return absl::OkStatus();
}

absl::Status ValidateStaffRole(absl::string_view field, kefu::common::v1::Role role) {
  switch (role) {
    case kefu::common::v1::ROLE_ADMIN:
    case kefu::common::v1::ROLE_SUPERVISOR:
    case kefu::common::v1::ROLE_AGENT:
    case kefu::common::v1::ROLE_SERVICE:
      return absl::OkStatus();
    default:
      return InvalidField(field, "must be ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_AGENT or ROLE_SERVICE");
  }
}

}  // namespace kefu::identity
