#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "kefu/common/v1/common.pb.h"

// Field checks of the AuthService requests: pure functions, INVALID_ARGUMENT naming the
// field (docs/API.md "Errors").
namespace kefu::identity {

// 3-32 of [a-z0-9-]: tenant ids go into Redis keys and URLs.
absl::Status ValidateNewTenantId(absl::string_view field, absl::string_view tenant_id);
// 1-64 of letters, digits and . _ @ -
absl::Status ValidateUsername(absl::string_view field, absl::string_view username);
// Optional; when given, local@domain.tld, at most 254 characters.
absl::Status ValidateEmail(absl::string_view field, absl::string_view email);
// At most `max` bytes of valid-looking text (no control characters).
absl::Status ValidateText(absl::string_view field, absl::string_view text, size_t max,
                          bool required);
// Staff roles only: admin, supervisor, agent, service.
absl::Status ValidateStaffRole(absl::string_view field, kefu::common::v1::Role role);

}  // namespace kefu::identity
