#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kefu/common/v1/common.pb.h"
#include "kefu/crm/v1/customer.pb.h"
#include "kefu/crm/v1/record.pb.h"

// Input rules of the crm API: lengths, phone / e-mail / IM normalisation, card and form
// checks. Pure C++: no I/O. Every error is INVALID_ARGUMENT naming the field first
// ("customer.phones[1]: not a phone number").
namespace kefu::crm {

inline constexpr size_t kMaxIdChars = 128;
inline constexpr size_t kMaxNameChars = 200;
inline constexpr size_t kMaxNoteChars = 4000;
inline constexpr size_t kMaxTagChars = 50;
inline constexpr size_t kMaxTags = 50;
// Per list: phones, emails, IM accounts, visitor ids.
inline constexpr size_t kMaxContactKeys = 20;
inline constexpr size_t kMaxRegistrationFields = 100;
inline constexpr size_t kDefaultFieldValueChars = 500;
inline constexpr size_t kMaxFormFields = 50;
inline constexpr size_t kMaxContentChars = 10000;

bool IsValidUtf8(absl::string_view text);
// Code points of valid UTF-8 text.
size_t Utf8Length(absl::string_view text);

// At most `max_chars` code points; single-line text has no control characters.
absl::Status CheckText(absl::string_view field, absl::string_view value, size_t max_chars,
                       bool multi_line = false);
// A required opaque id: 1..128 printable characters, no spaces.
absl::Status CheckId(absl::string_view field, absl::string_view id);
// Empty, or a valid id.
absl::Status CheckOptionalId(absl::string_view field, absl::string_view id);
// `value` must be a known value of the enum (is_valid), and not 0 when `required`.
absl::Status CheckEnum(absl::string_view field, int value, bool (*is_valid)(int), bool required);

// Digits with an optional leading '+' ("00" becomes '+'); spaces, dashes, dots and
// parentheses are dropped. 5 to 15 digits.
absl::StatusOr<std::string> NormalizePhone(absl::string_view field, absl::string_view raw);
// Trimmed and lower-cased; one '@', a non-empty local part and a dotted domain.
absl::StatusOr<std::string> NormalizeEmail(absl::string_view field, absl::string_view raw);
// "platform:account" with the platform lower-cased ([a-z0-9_-]{1,32}); the account is kept.
absl::StatusOr<std::string> NormalizeImAccount(absl::string_view field,
                                               const kefu::crm::v1::ImAccount& account);
kefu::crm::v1::ImAccount ImAccountFromKey(absl::string_view key);

// One identification key of a card (F2): what IdentifyCustomer matches on.
struct CustomerKey {
  kefu::common::v1::IdentificationKey kind = kefu::common::v1::IDENTIFICATION_KEY_UNSPECIFIED;
  std::string value;  // normalised; IM accounts as "platform:account"
  bool operator==(const CustomerKey&) const = default;
};

// The normalised key of an IdentifyCustomerRequest; INVALID_ARGUMENT when none is set.
absl::StatusOr<CustomerKey> KeyOfRequest(const kefu::crm::v1::IdentifyCustomerRequest& request);
// Every key a (normalised) card holds: phones, emails, IM accounts, visitor ids.
std::vector<CustomerKey> KeysOfCard(const kefu::crm::v1::Customer& card);

// Checks the editable fields of a card and normalises them in place (phones, emails, IM
// platforms; duplicates dropped). `prefix` names the message in errors ("customer").
// Only the fields in `paths` are checked; empty `paths` = every editable field.
absl::Status NormalizeCard(absl::string_view prefix, const std::vector<std::string>& paths,
                           kefu::crm::v1::Customer* card);
// Editable fields of a card for UpdateCustomer's mask (tier, exclusive agent, counters
// and times are not).
const std::vector<std::string>& EditableCardFields();

// Checks a form definition (F6) and fills defaults (max_length 0 -> 500).
absl::Status NormalizeForm(kefu::crm::v1::RegistrationForm* form);

// What a valid submission puts on a card (F6).
struct Submission {
  std::map<std::string, std::string> values;  // every submitted field, normalised
  std::string name;                           // from the field that maps to NAME, if any
  std::vector<std::string> phones;            // PHONE fields, normalised
  std::vector<std::string> emails;            // EMAIL fields, normalised
};

// Validates `values` against `form`: required fields present, types and options
// respected, no unknown keys. Errors name "form_fields[<key>]".
absl::StatusOr<Submission> ValidateSubmission(const kefu::crm::v1::RegistrationForm& form,
                                              const std::map<std::string, std::string>& values);

// The method of a contact plan (F52), taken from the card: a phone, email or IM account
// it holds (the first one when no value is given; UNSPECIFIED picks the first the card
// has), or OTHER with a description. Errors name `field` ("contact_plan.method").
absl::StatusOr<kefu::crm::v1::ContactMethod> ResolveContactMethod(
    absl::string_view field, const kefu::crm::v1::ContactMethod& wanted,
    const kefu::crm::v1::Customer& card);

}  // namespace kefu::crm
