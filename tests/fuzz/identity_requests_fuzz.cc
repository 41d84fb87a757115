// The identity AuthService handlers' request validation (F70), on the request protos as
// they arrive: the selector byte picks the RPC, the rest is parsed as its request, and the
// checks run as auth_service.cc runs them. What passes must hold the documented shapes
// (tenant ids go into Redis keys and URLs, usernames into tokens).
#include <string>

#include "absl/strings/ascii.h"
#include "kefu/identity/v1/auth.pb.h"
#include "services/identity/validation.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

namespace v1 = kefu::identity::v1;
namespace id = kefu::identity;

template <typename Request>
bool Parse(absl::string_view bytes, Request* request) {
  return request->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

bool All(absl::string_view s, bool (*ok)(char)) {
  for (char c : s) {
    if (!ok(c)) return false;
  }
  return true;
}

void TenantId(absl::string_view tenant_id) {
  if (!id::ValidateNewTenantId("tenant_id", tenant_id).ok()) return;
  KEFU_FUZZ_CHECK(
      tenant_id.size() >= 3 && tenant_id.size() <= 32 &&
          All(tenant_id,
              [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }),
      "a tenant id is 3-32 of [a-z0-9-]");
}

void Username(absl::string_view username) {
  if (!id::ValidateUsername("username", username).ok()) return;
  KEFU_FUZZ_CHECK(!username.empty() && username.size() <= 64 &&
                      All(username,
                          [](char c) {
                            return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
                                   c == '_' || c == '@' || c == '-';
                          }),
                  "a username is 1-64 of letters, digits and . _ @ -");
}

void Email(absl::string_view email) {
  if (!id::ValidateEmail("email", email).ok() || email.empty()) return;
  const size_t at = email.find('@');
  KEFU_FUZZ_CHECK(email.size() <= 254 && at != absl::string_view::npos && at > 0 &&
                      email.find('@', at + 1) == absl::string_view::npos,
                  "an e-mail address has one @ after a local part");
  const absl::string_view domain = email.substr(at + 1);
  const size_t dot = domain.rfind('.');
  KEFU_FUZZ_CHECK(dot != absl::string_view::npos && dot > 0 && dot + 1 < domain.size(),
                  "an e-mail domain is dotted");
  KEFU_FUZZ_CHECK(All(email,
                      [](char c) {
                        return !absl::ascii_isspace(static_cast<unsigned char>(c)) &&
                               !absl::ascii_iscntrl(static_cast<unsigned char>(c));
                      }),
                  "an e-mail address has no spaces or control characters");
}

void Text(absl::string_view text, size_t max, bool required) {
  if (!id::ValidateText("text", text, max, required).ok()) return;
  KEFU_FUZZ_CHECK(text.size() <= max && (!required || !text.empty()), "text is within its bounds");
  KEFU_FUZZ_CHECK(
      All(text, [](char c) { return !absl::ascii_iscntrl(static_cast<unsigned char>(c)); }),
      "text has no control characters");
}

void Role(kefu::common::v1::Role role) {
  if (!id::ValidateStaffRole("role", role).ok()) return;
  KEFU_FUZZ_CHECK(
      role == kefu::common::v1::ROLE_ADMIN || role == kefu::common::v1::ROLE_SUPERVISOR ||
          role == kefu::common::v1::ROLE_AGENT || role == kefu::common::v1::ROLE_SERVICE,
      "a staff role is admin, supervisor, agent or service");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto [selector, bytes] = kefu::fuzz::Select(data, size);
  switch (selector % 6) {
    case 0: {
      v1::CreateTenantRequest request;
      if (!Parse(bytes, &request)) break;
      TenantId(request.tenant_id());
      Text(request.name(), 200, true);
      Username(request.admin_username());
      Text(request.admin_display_name(), 100, false);
      break;
    }
    case 1: {
      v1::UpdateTenantSettingsRequest request;
      if (Parse(bytes, &request)) Text(request.settings().time_zone(), 64, false);
      break;
    }
    case 2: {
      v1::CreateUserRequest request;
      if (!Parse(bytes, &request)) break;
      Username(request.username());
      Text(request.display_name(), 100, false);
      Email(request.email());
      Role(request.role());
      break;
    }
    case 3: {
      v1::UpdateUserRequest request;
      if (!Parse(bytes, &request)) break;
      Text(request.user().display_name(), 100, false);
      Email(request.user().email());
      Role(request.user().role());
      break;
    }
    case 4: {
      v1::IssueEntryPointTokenRequest request;
      if (Parse(bytes, &request)) Text(request.entry_point_id(), 64, true);
      break;
    }
    case 5: {
      v1::IssueCustomerTokenRequest request;
      if (!Parse(bytes, &request)) break;
      Text(request.contact_id(), 64, true);
      Text(request.customer_id(), 64, false);
      TenantId(request.tenant_id());
      break;
    }
  }
  return 0;
}
