#include "libs/auth/token.h"

#include <sodium.h>

#include <array>
#include <atomic>
#include <map>

#include "absl/hash/hash.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/common/log.h"

namespace kefu::auth {
namespace {

constexpr absl::string_view kHeader = R"({"alg":"HS256","typ":"JWT"})";

std::string Base64Url(absl::string_view bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                  '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

bool FromBase64Url(absl::string_view text, std::string* out) {
  out->assign(text.size(), '\0');
  size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out->data()), out->size(), text.data(),
                        text.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
    return false;
  }
  out->resize(len);
  return true;
}

// Parses a flat JSON object whose values are strings or integers: all a JWT payload
// of ours holds. Anything else (nesting, escapes beyond \" \\ \/, floats) is refused.
bool ParseFlatJson(absl::string_view json, std::map<std::string, std::string>* out) {
  size_t i = 0;
  auto skip_ws = [&] {
    while (i < json.size() &&
           (json[i] == ' ' || json[i] == '\n' || json[i] == '\t' || json[i] == '\r')) {
      ++i;
    }
  };
  auto parse_string = [&](std::string* s) {
    if (i >= json.size() || json[i] != '"') return false;
    ++i;
    while (i < json.size() && json[i] != '"') {
      char c = json[i++];
      if (c == '\\') {
        if (i >= json.size()) return false;
        char e = json[i++];
        if (e != '"' && e != '\\' && e != '/') return false;
        c = e;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        return false;
      }
      s->push_back(c);
    }
    if (i >= json.size()) return false;
    ++i;
    return true;
  };
  skip_ws();
  if (i >= json.size() || json[i++] != '{') return false;
  skip_ws();
  if (i < json.size() && json[i] == '}') return ++i, skip_ws(), i == json.size();
  while (true) {
    std::string key, value;
    skip_ws();
    if (!parse_string(&key)) return false;
    skip_ws();
    if (i >= json.size() || json[i++] != ':') return false;
    skip_ws();
    if (i < json.size() && json[i] == '"') {
      if (!parse_string(&value)) return false;
    } else {
      size_t start = i;
      if (i < json.size() && json[i] == '-') ++i;
      while (i < json.size() && json[i] >= '0' && json[i] <= '9') ++i;
      if (i == start) return false;
      value = std::string(json.substr(start, i - start));
    }
    if (!out->emplace(std::move(key), std::move(value)).second) return false;  // duplicate
    skip_ws();
    if (i >= json.size()) return false;
    if (json[i] == ',') {
      ++i;
      continue;
    }
    if (json[i++] != '}') return false;
    skip_ws();
    return i == json.size();
  }
}

absl::Status Unauthenticated(absl::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("token: ", why));
}

// Tokens this thread has verified, by codec: a client sends the same bearer token on
// every call, and each call is verified twice (the rate-limit interceptor, then the
// handler), while an HMAC and two JSON parses cost more than a routing call's own code.
// Only correctly signed, well-formed claims are kept; expiry is checked on every use.
struct VerifiedToken {
  uint64_t codec = 0;  // TokenCodec::serial_; 0 = empty slot
  std::string token;
  Claims claims;
};
constexpr size_t kVerifiedSlots = 64;
thread_local std::array<VerifiedToken, kVerifiedSlots> verified_tokens;

std::atomic<uint64_t> next_codec_serial{1};

}  // namespace

absl::string_view RoleName(Role role) {
  switch (role) {
    case kefu::common::v1::ROLE_ADMIN:
      return "admin";
    case kefu::common::v1::ROLE_SUPERVISOR:
      return "supervisor";
    case kefu::common::v1::ROLE_AGENT:
      return "agent";
    case kefu::common::v1::ROLE_SERVICE:
      return "service";
    case kefu::common::v1::ROLE_CUSTOMER:
      return "customer";
    default:
      return "unspecified";
  }
}

bool ParseRoleName(absl::string_view name, Role* role) {
  for (Role r : {kefu::common::v1::ROLE_ADMIN, kefu::common::v1::ROLE_SUPERVISOR,
                 kefu::common::v1::ROLE_AGENT, kefu::common::v1::ROLE_SERVICE,
                 kefu::common::v1::ROLE_CUSTOMER}) {
    if (RoleName(r) == name) {
      *role = r;
      return true;
    }
  }
  return false;
}

absl::StatusOr<TokenCodec> TokenCodec::Create(absl::string_view key) {
  if (key.size() < 32) {
    return absl::InvalidArgumentError(
        "--jwt-key: must be at least 32 bytes (e.g. openssl rand -hex 32)");
  }
  if (sodium_init() < 0) return absl::InternalError("libsodium failed to initialise");
  return TokenCodec(std::string(key), next_codec_serial.fetch_add(1));
}

std::string TokenCodec::Mac(absl::string_view signing_input) const {
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key_.data()),
                              key_.size());
  crypto_auth_hmacsha256_update(
      &state, reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size());
  crypto_auth_hmacsha256_final(&state, mac);
  return std::string(reinterpret_cast<const char*>(mac), sizeof(mac));
}

std::string TokenCodec::Sign(const Claims& claims) const {
  std::string payload = "{";
  auto add = [&payload](absl::string_view key, absl::string_view value) {
    if (value.empty()) return;
    if (payload.size() > 1) payload.push_back(',');
    log::AppendJsonString(&payload, key);
    payload.push_back(':');
    log::AppendJsonString(&payload, value);
  };
  add("tenant", claims.tenant_id);
  add("sub", claims.subject);
  add("role", RoleName(claims.role));
  add("typ", claims.kind);
  add("jti", claims.token_id);
  add("contact", claims.contact_id);
  add("ep", claims.entry_point_id);
  absl::StrAppend(&payload, ",\"iat\":", absl::ToUnixSeconds(claims.issued_at),
                  ",\"exp\":", absl::ToUnixSeconds(claims.expires_at), "}");
  std::string input = absl::StrCat(Base64Url(kHeader), ".", Base64Url(payload));
  std::string signature = Base64Url(Mac(input));
  return absl::StrCat(input, ".", signature);
}

absl::StatusOr<Claims> TokenCodec::Verify(absl::string_view token, absl::Time now) const {
  if (token.size() > 4096) return Unauthenticated("too long");  // before hashing it
  VerifiedToken& slot = verified_tokens[absl::Hash<absl::string_view>{}(token) % kVerifiedSlots];
  if (slot.codec != serial_ || slot.token != token) {
    auto claims = VerifySigned(token);
    if (!claims.ok()) return claims.status();
    slot.codec = serial_;
    slot.token.assign(token.data(), token.size());
    slot.claims = *std::move(claims);
  }
  if (now >= slot.claims.expires_at) return Unauthenticated("expired");
  return slot.claims;
}

absl::StatusOr<Claims> TokenCodec::VerifySigned(absl::string_view token) const {
  if (token.empty()) return Unauthenticated("missing");
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) return Unauthenticated("not a JWT");
  std::string header, payload, signature;
  if (!FromBase64Url(parts[0], &header) || !FromBase64Url(parts[1], &payload) ||
      !FromBase64Url(parts[2], &signature)) {
    return Unauthenticated("bad encoding");
  }
  const std::string input = absl::StrCat(parts[0], ".", parts[1]);
  const std::string expected = Mac(input);
  // Constant time, and before looking at anything the signer did not vouch for.
  if (signature.size() != expected.size() ||
      sodium_memcmp(signature.data(), expected.data(), expected.size()) != 0) {
    return Unauthenticated("bad signature");
  }
  std::map<std::string, std::string> head;
  if (!ParseFlatJson(header, &head) || head["alg"] != "HS256") {
    return Unauthenticated("unsupported algorithm");
  }
  std::map<std::string, std::string> fields;
  if (!ParseFlatJson(payload, &fields)) return Unauthenticated("malformed claims");
  Claims claims;
  claims.tenant_id = fields["tenant"];
  claims.subject = fields["sub"];
  claims.kind = fields["typ"].empty() ? "access" : fields["typ"];
  claims.token_id = fields["jti"];
  claims.contact_id = fields["contact"];
  claims.entry_point_id = fields["ep"];
  if (!ParseRoleName(fields["role"], &claims.role)) return Unauthenticated("unknown role");
  int64_t iat = 0, exp = 0;
  if (!absl::SimpleAtoi(fields["exp"], &exp) || !absl::SimpleAtoi(fields["iat"], &iat)) {
    return Unauthenticated("missing exp/iat");
  }
  claims.issued_at = absl::FromUnixSeconds(iat);
  claims.expires_at = absl::FromUnixSeconds(exp);
  if (claims.subject.empty()) return Unauthenticated("no subject");
  return claims;
}

std::string PlatformServiceToken(const TokenCodec& codec, absl::string_view service,
                                 absl::Duration ttl) {
  Claims claims;
  claims.subject = absl::StrCat("svc:", service);
  claims.role = kefu::common::v1::ROLE_SERVICE;
  claims.issued_at = absl::Now();
  claims.expires_at = claims.issued_at + ttl;
  claims.token_id = RandomId();
  return codec.Sign(claims);
}

std::string RandomId() {
  unsigned char bytes[16];
  randombytes_buf(bytes, sizeof(bytes));
  char hex[sizeof(bytes) * 2 + 1];
  sodium_bin2hex(hex, sizeof(hex), bytes, sizeof(bytes));
  return std::string(hex, sizeof(bytes) * 2);
}

}  // namespace kefu::auth
