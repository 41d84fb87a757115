#include "services/crm/validation.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "libs/common/status.h"

namespace kefu::crm {
namespace {

using kefu::crm::v1::Customer;
using kefu::crm::v1::FormField;
using kefu::crm::v1::RegistrationForm;

bool HasControl(absl::string_view text, bool allow_newlines) {
  for (unsigned char c : text) {
    if (c == 0x7f) return true;
    if (c < 0x20 && !(allow_newlines && (c == '\n' || c == '\r' || c == '\t'))) return true;
  }
  return false;
}

bool IsFieldKey(absl::string_view key) {
  if (key.empty() || key.size() > 32) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_';
  });
}

bool Wants(const std::vector<std::string>& paths, absl::string_view field) {
  return paths.empty() || std::find(paths.begin(), paths.end(), field) != paths.end();
}

std::string Indexed(absl::string_view prefix, absl::string_view field, int i) {
  return absl::StrCat(prefix, ".", field, "[", i, "]");
}

// Normalises each element of a repeated string field with `normalize`, dropping duplicates.
template <typename Normalize>
absl::Status NormalizeList(absl::string_view prefix, absl::string_view field,
                           google::protobuf::RepeatedPtrField<std::string>* list,
                           Normalize normalize) {
  if (static_cast<size_t>(list->size()) > kMaxContactKeys) {
    return InvalidField(absl::StrCat(prefix, ".", field),
                        absl::StrCat("at most ", kMaxContactKeys, " entries"));
  }
  std::vector<std::string> out;
  for (int i = 0; i < list->size(); ++i) {
    auto value = normalize(Indexed(prefix, field, i), list->Get(i));
    if (!value.ok()) return value.status();
    if (std::find(out.begin(), out.end(), *value) == out.end()) out.push_back(*std::move(value));
  }
  list->Clear();
  for (auto& value : out) list->Add(std::move(value));
  return absl::OkStatus();
}

absl::StatusOr<std::string> NormalizeVisitorId(absl::string_view field, absl::string_view raw) {
  if (auto st = CheckId(field, raw); !st.ok()) return st;
  return std::string(raw);
}

absl::StatusOr<std::string> NormalizeTag(absl::string_view field, absl::string_view raw) {
  absl::string_view tag = absl::StripAsciiWhitespace(raw);
  if (tag.empty()) return InvalidField(field, "empty tag");
  if (auto st = CheckText(field, tag, kMaxTagChars); !st.ok()) return st;
  return std::string(tag);
}

absl::string_view FormKindName(kefu::crm::v1::FormKind kind) {
  return kind == kefu::crm::v1::FORM_KIND_LEAVE_MESSAGE ? "leave-message" : "pre-chat";
}

}  // namespace

bool IsValidUtf8(absl::string_view text) {
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(text[i]);
    int extra;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      extra = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (int k = 1; k <= extra; ++k) {
      if (i + k >= n) return false;
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and values above U+10FFFF are not UTF-8.
    if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

size_t Utf8Length(absl::string_view text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  }));
}

absl::Status CheckText(absl::string_view field, absl::string_view value, size_t max_chars,
                       bool multi_line) {
  if (!IsValidUtf8(value)) return InvalidField(field, "not valid UTF-8");
  const size_t length = Utf8Length(value);
  if (length > max_chars) {
    return InvalidField(field,
                        absl::StrCat("at most ", max_chars, " characters (got ", length, ")"));
  }
  if (HasControl(value, multi_line)) return InvalidField(field, "control characters not allowed");
  return absl::OkStatus();
}

absl::Status CheckId(absl::string_view field, absl::string_view id) {
  if (id.empty()) return InvalidField(field, "required");
  if (id.size() > kMaxIdChars) {
    return InvalidField(field, absl::StrCat("at most ", kMaxIdChars, " characters"));
  }
  for (unsigned char c : id) {
    if (c <= 0x20 || c == 0x7f) return InvalidField(field, "no spaces or control characters");
  }
  if (!IsValidUtf8(id)) return InvalidField(field, "not valid UTF-8");
  return absl::OkStatus();
}

absl::Status CheckOptionalId(absl::string_view field, absl::string_view id) {
  return id.empty() ? absl::OkStatus() : CheckId(field, id);
}

absl::Status CheckEnum(absl::string_view field, int value, bool (*is_valid)(int), bool required) {
  if (!is_valid(value)) return InvalidField(field, absl::StrCat("unknown value ", value));
  if (required && value == 0) return InvalidField(field, "required (UNSPECIFIED is not a value)");
  return absl::OkStatus();
}

absl::StatusOr<std::string> NormalizePhone(absl::string_view field, absl::string_view raw) {
  absl::string_view text = absl::StripAsciiWhitespace(raw);
  if (text.empty()) return InvalidField(field, "empty phone number");
  std::string out;
  bool plus = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (absl::ascii_isdigit(c)) {
      out.push_back(c);
    } else if (c == '+' && out.empty() && !plus) {
      plus = true;
    } else if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')') {
      continue;
    } else {
      return InvalidField(
          field, absl::StrCat("not a phone number: \"", raw, "\" (digits, an optional leading +)"));
    }
  }
  if (!plus && absl::StartsWith(out, "00")) {  // international prefix
    out.erase(0, 2);
    plus = true;
  }
  if (out.size() < 5 || out.size() > 15) {
    return InvalidField(field, absl::StrCat("not a phone number: \"", raw, "\" (5 to 15 digits)"));
  }
  return plus ? absl::StrCat("+", out) : out;
}

absl::StatusOr<std::string> NormalizeEmail(absl::string_view field, absl::string_view raw) {
  std::string email = absl::AsciiStrToLower(absl::StripAsciiWhitespace(raw));
  auto bad = [&](absl::string_view why) {
    return InvalidField(field, absl::StrCat("not an e-mail address: \"", raw, "\" (", why, ")"));
  };
  if (email.empty()) return bad("empty");
  if (email.size() > 254) return bad("longer than 254 characters");
  if (!IsValidUtf8(email)) return bad("not valid UTF-8");
  const size_t at = email.find('@');
  if (at == std::string::npos || email.find('@', at + 1) != std::string::npos) {
    return bad("needs exactly one @");
  }
  absl::string_view local = absl::string_view(email).substr(0, at);
  absl::string_view domain = absl::string_view(email).substr(at + 1);
  if (local.empty() || local.size() > 64) return bad("local part must be 1 to 64 characters");
  for (unsigned char c : email) {
    if (c <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == ',' || c == ';' || c == '"') {
      return bad("spaces and <>,;\" are not allowed");
    }
  }
  if (domain.find('.') == absl::string_view::npos) return bad("domain needs a dot");
  for (absl::string_view label : absl::StrSplit(domain, '.')) {
    if (label.empty() || label.front() == '-' || label.back() == '-') {
      return bad("malformed domain");
    }
    for (unsigned char c : label) {
      if (!(absl::ascii_isalnum(c) || c == '-' || c >= 0x80)) return bad("malformed domain");
    }
  }
  return email;
}

absl::StatusOr<std::string> NormalizeImAccount(absl::string_view field,
                                               const kefu::crm::v1::ImAccount& account) {
  const std::string platform =
      absl::AsciiStrToLower(absl::StripAsciiWhitespace(account.platform()));
  if (platform.empty() || platform.size() > 32 ||
      !std::all_of(platform.begin(), platform.end(), [](char c) {
        return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_' || c == '-';
      })) {
    return InvalidField(absl::StrCat(field, ".platform"),
                        "1 to 32 of a-z, 0-9, _ and - (e.g. \"wechat\")");
  }
  absl::string_view name = absl::StripAsciiWhitespace(account.account());
  if (name.empty()) return InvalidField(absl::StrCat(field, ".account"), "required");
  if (auto st = CheckText(absl::StrCat(field, ".account"), name, kMaxIdChars); !st.ok()) return st;
  return absl::StrCat(platform, ":", name);
}

kefu::crm::v1::ImAccount ImAccountFromKey(absl::string_view key) {
  kefu::crm::v1::ImAccount account;
  const size_t colon = key.find(':');
  account.set_platform(std::string(key.substr(0, colon)));
  if (colon != absl::string_view::npos) account.set_account(std::string(key.substr(colon + 1)));
  return account;
}

absl::StatusOr<CustomerKey> KeyOfRequest(const kefu::crm::v1::IdentifyCustomerRequest& request) {
  using Request = kefu::crm::v1::IdentifyCustomerRequest;
  CustomerKey key;
  switch (request.key_case()) {
    case Request::kPhone: {
      key.kind = kefu::common::v1::IDENTIFICATION_KEY_PHONE;
      auto phone = NormalizePhone("phone", request.phone());
      if (!phone.ok()) return phone.status();
      key.value = *std::move(phone);
      break;
    }
    case Request::kEmail: {
      key.kind = kefu::common::v1::IDENTIFICATION_KEY_EMAIL;
      auto email = NormalizeEmail("email", request.email());
      if (!email.ok()) return email.status();
      key.value = *std::move(email);
      break;
    }
    case Request::kVisitorId: {
      key.kind = kefu::common::v1::IDENTIFICATION_KEY_VISITOR_ID;
      if (auto st = CheckId("visitor_id", request.visitor_id()); !st.ok()) return st;
      key.value = request.visitor_id();
      break;
    }
    case Request::kImAccount: {
      key.kind = kefu::common::v1::IDENTIFICATION_KEY_IM_ACCOUNT;
      auto im = NormalizeImAccount("im_account", request.im_account());
      if (!im.ok()) return im.status();
      key.value = *std::move(im);
      break;
    }
    case Request::KEY_NOT_SET:
      return InvalidField("key", "set one of phone, visitor_id, email, im_account");
  }
  return key;
}

std::vector<CustomerKey> KeysOfCard(const Customer& card) {
  std::vector<CustomerKey> keys;
  for (const auto& phone : card.phones()) {
    keys.push_back({kefu::common::v1::IDENTIFICATION_KEY_PHONE, phone});
  }
  for (const auto& email : card.emails()) {
    keys.push_back({kefu::common::v1::IDENTIFICATION_KEY_EMAIL, email});
  }
  for (const auto& im : card.im_accounts()) {
    keys.push_back({kefu::common::v1::IDENTIFICATION_KEY_IM_ACCOUNT,
                    absl::StrCat(im.platform(), ":", im.account())});
  }
  for (const auto& visitor : card.visitor_ids()) {
    keys.push_back({kefu::common::v1::IDENTIFICATION_KEY_VISITOR_ID, visitor});
  }
  return keys;
}

const std::vector<std::string>& EditableCardFields() {
  static const auto* const kFields = new std::vector<std::string>{
      "name", "phones",  "emails", "im_accounts", "visitor_ids", "tags", "registration_fields",
      "note", "language"};
  return *kFields;
}

absl::Status NormalizeCard(absl::string_view prefix, const std::vector<std::string>& paths,
                           Customer* card) {
  for (const std::string& path : paths) {
    const auto& editable = EditableCardFields();
    if (std::find(editable.begin(), editable.end(), path) == editable.end()) {
      return InvalidField(
          "update_mask",
          absl::StrCat("\"", path, "\" is not an editable field (", absl::StrJoin(editable, ", "),
                       "; tier and exclusive agent have RPCs of their own)"));
    }
  }
  if (Wants(paths, "name")) {
    card->set_name(std::string(absl::StripAsciiWhitespace(card->name())));
    if (auto st = CheckText(absl::StrCat(prefix, ".name"), card->name(), kMaxNameChars); !st.ok()) {
      return st;
    }
  }
  if (Wants(paths, "phones")) {
    if (auto st = NormalizeList(prefix, "phones", card->mutable_phones(), NormalizePhone);
        !st.ok()) {
      return st;
    }
  }
  if (Wants(paths, "emails")) {
    if (auto st = NormalizeList(prefix, "emails", card->mutable_emails(), NormalizeEmail);
        !st.ok()) {
      return st;
    }
  }
  if (Wants(paths, "im_accounts")) {
    if (static_cast<size_t>(card->im_accounts_size()) > kMaxContactKeys) {
      return InvalidField(absl::StrCat(prefix, ".im_accounts"),
                          absl::StrCat("at most ", kMaxContactKeys, " entries"));
    }
    std::vector<std::string> seen;
    google::protobuf::RepeatedPtrField<kefu::crm::v1::ImAccount> out;
    for (int i = 0; i < card->im_accounts_size(); ++i) {
      auto key = NormalizeImAccount(Indexed(prefix, "im_accounts", i), card->im_accounts(i));
      if (!key.ok()) return key.status();
      if (std::find(seen.begin(), seen.end(), *key) != seen.end()) continue;
      *out.Add() = ImAccountFromKey(*key);
      seen.push_back(*std::move(key));
    }
    card->mutable_im_accounts()->Swap(&out);
  }
  if (Wants(paths, "visitor_ids")) {
    if (auto st =
            NormalizeList(prefix, "visitor_ids", card->mutable_visitor_ids(), NormalizeVisitorId);
        !st.ok()) {
      return st;
    }
  }
  if (Wants(paths, "tags")) {
    if (static_cast<size_t>(card->tags_size()) > kMaxTags) {
      return InvalidField(
          absl::StrCat(prefix, ".tags"),
          absl::StrCat("at most ", kMaxTags, " tags (got ", card->tags_size(), ")"));
    }
    std::vector<std::string> tags;
    for (int i = 0; i < card->tags_size(); ++i) {
      auto tag = NormalizeTag(Indexed(prefix, "tags", i), card->tags(i));
      if (!tag.ok()) return tag.status();
      if (std::find(tags.begin(), tags.end(), *tag) == tags.end()) tags.push_back(*std::move(tag));
    }
    card->clear_tags();
    for (auto& tag : tags) card->add_tags(std::move(tag));
  }
  if (Wants(paths, "registration_fields")) {
    if (static_cast<size_t>(card->registration_fields_size()) > kMaxRegistrationFields) {
      return InvalidField(absl::StrCat(prefix, ".registration_fields"),
                          absl::StrCat("at most ", kMaxRegistrationFields, " fields"));
    }
    for (const auto& [key, value] : card->registration_fields()) {
      const std::string field = absl::StrCat(prefix, ".registration_fields[", key, "]");
      if (!IsFieldKey(key)) return InvalidField(field, "keys are [a-z0-9_]{1,32}");
      if (auto st = CheckText(field, value, kDefaultFieldValueChars, true); !st.ok()) return st;
    }
  }
  if (Wants(paths, "note")) {
    if (auto st = CheckText(absl::StrCat(prefix, ".note"), card->note(), kMaxNoteChars, true);
        !st.ok()) {
      return st;
    }
  }
  if (Wants(paths, "language")) {
    if (auto st = CheckEnum(absl::StrCat(prefix, ".language"), card->language(),
                            kefu::common::v1::Language_IsValid, false);
        !st.ok()) {
      return st;
    }
  }
  return absl::OkStatus();
}

absl::Status NormalizeForm(RegistrationForm* form) {
  using kefu::common::v1::FormFieldType;
  if (auto st = CheckEnum("form.kind", form->kind(), kefu::crm::v1::FormKind_IsValid, true);
      !st.ok()) {
    return st;
  }
  if (auto st = CheckOptionalId("form.entry_point_id", form->entry_point_id()); !st.ok()) {
    return st;
  }
  if (static_cast<size_t>(form->fields_size()) > kMaxFormFields) {
    return InvalidField("form.fields", absl::StrCat("at most ", kMaxFormFields, " fields"));
  }
  std::set<std::string> keys;
  int name_fields = 0;
  for (int i = 0; i < form->fields_size(); ++i) {
    FormField* f = form->mutable_fields(i);
    const std::string at = absl::StrCat("form.fields[", i, "]");
    if (!IsFieldKey(f->key())) {
      return InvalidField(absl::StrCat(at, ".key"), "required, [a-z0-9_]{1,32}");
    }
    if (!keys.insert(f->key()).second) {
      return InvalidField(absl::StrCat(at, ".key"), absl::StrCat("\"", f->key(), "\" repeated"));
    }
    if (auto st = CheckText(absl::StrCat(at, ".label.zh"), f->label().zh(), kMaxNameChars);
        !st.ok()) {
      return st;
    }
    if (auto st = CheckText(absl::StrCat(at, ".label.en"), f->label().en(), kMaxNameChars);
        !st.ok()) {
      return st;
    }
    if (auto st = CheckEnum(absl::StrCat(at, ".type"), f->type(),
                            kefu::common::v1::FormFieldType_IsValid, true);
        !st.ok()) {
      return st;
    }
    if (auto st = CheckEnum(absl::StrCat(at, ".maps_to"), f->maps_to(),
                            kefu::crm::v1::CardField_IsValid, false);
        !st.ok()) {
      return st;
    }
    if (f->max_length() < 0 || f->max_length() > static_cast<int>(kMaxContentChars)) {
      return InvalidField(absl::StrCat(at, ".max_length"),
                          absl::StrCat("0 (= 500) to ", kMaxContentChars));
    }
    if (f->max_length() == 0) f->set_max_length(static_cast<int>(kDefaultFieldValueChars));
    if (f->type() == kefu::common::v1::FORM_FIELD_TYPE_SELECT) {
      if (f->options_size() == 0) {
        return InvalidField(absl::StrCat(at, ".options"), "a SELECT field needs options");
      }
      for (int k = 0; k < f->options_size(); ++k) {
        if (auto st =
                CheckText(absl::StrCat(at, ".options[", k, "]"), f->options(k), kMaxNameChars);
            !st.ok()) {
          return st;
        }
      }
    } else if (f->options_size() > 0) {
      return InvalidField(absl::StrCat(at, ".options"), "only SELECT fields have options");
    }
    switch (f->maps_to()) {
      case kefu::crm::v1::CARD_FIELD_NAME:
        if (++name_fields > 1) {
          return InvalidField(absl::StrCat(at, ".maps_to"), "only one field may fill the name");
        }
        break;
      case kefu::crm::v1::CARD_FIELD_PHONE:
        if (f->type() != kefu::common::v1::FORM_FIELD_TYPE_PHONE) {
          return InvalidField(absl::StrCat(at, ".maps_to"), "PHONE needs a field of type PHONE");
        }
        break;
      case kefu::crm::v1::CARD_FIELD_EMAIL:
        if (f->type() != kefu::common::v1::FORM_FIELD_TYPE_EMAIL) {
          return InvalidField(absl::StrCat(at, ".maps_to"), "EMAIL needs a field of type EMAIL");
        }
        break;
      default:
        break;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Submission> ValidateSubmission(const RegistrationForm& form,
                                              const std::map<std::string, std::string>& values) {
  Submission out;
  std::set<std::string> known;
  for (const FormField& f : form.fields()) known.insert(f.key());
  for (const auto& [key, value] : values) {
    if (!known.contains(key)) {
      return InvalidField(absl::StrCat("form_fields[", key, "]"),
                          absl::StrCat("not a field of the ", FormKindName(form.kind()), " form"));
    }
  }
  for (const FormField& f : form.fields()) {
    const std::string field = absl::StrCat("form_fields[", f.key(), "]");
    auto it = values.find(f.key());
    const absl::string_view value =
        it == values.end() ? absl::string_view() : absl::StripAsciiWhitespace(it->second);
    if (value.empty()) {
      if (f.required()) return InvalidField(field, "required");
      continue;
    }
    const size_t max_chars =
        f.max_length() > 0 ? static_cast<size_t>(f.max_length()) : kDefaultFieldValueChars;
    std::string normalized(value);
    switch (f.type()) {
      case kefu::common::v1::FORM_FIELD_TYPE_PHONE: {
        auto phone = NormalizePhone(field, value);
        if (!phone.ok()) return phone.status();
        normalized = *phone;
        out.phones.push_back(*std::move(phone));
        break;
      }
      case kefu::common::v1::FORM_FIELD_TYPE_EMAIL: {
        auto email = NormalizeEmail(field, value);
        if (!email.ok()) return email.status();
        normalized = *email;
        out.emails.push_back(*std::move(email));
        break;
      }
      case kefu::common::v1::FORM_FIELD_TYPE_NUMBER: {
        double number;
        if (!absl::SimpleAtod(value, &number)) return InvalidField(field, "not a number");
        break;
      }
      case kefu::common::v1::FORM_FIELD_TYPE_SELECT:
        if (std::find(f.options().begin(), f.options().end(), value) == f.options().end()) {
          return InvalidField(field,
                              absl::StrCat("must be one of: ", absl::StrJoin(f.options(), ", ")));
        }
        break;
      case kefu::common::v1::FORM_FIELD_TYPE_TEXTAREA:
        if (auto st = CheckText(field, value, max_chars, true); !st.ok()) return st;
        break;
      default:
        if (auto st = CheckText(field, value, max_chars); !st.ok()) return st;
        break;
    }
    if (f.maps_to() == kefu::crm::v1::CARD_FIELD_NAME) {
      if (auto st = CheckText(field, normalized, kMaxNameChars); !st.ok()) return st;
      out.name = normalized;
    }
    out.values[f.key()] = std::move(normalized);
  }
  return out;
}

absl::StatusOr<kefu::crm::v1::ContactMethod> ResolveContactMethod(
    absl::string_view field, const kefu::crm::v1::ContactMethod& wanted, const Customer& card) {
  using kefu::crm::v1::ContactMethod;
  if (auto st = CheckEnum(absl::StrCat(field, ".kind"), wanted.kind(),
                          kefu::crm::v1::ContactMethodKind_IsValid, false);
      !st.ok()) {
    return st;
  }
  const std::string value_field = absl::StrCat(field, ".value");
  ContactMethod out;
  out.set_kind(wanted.kind());
  switch (wanted.kind()) {
    case kefu::crm::v1::CONTACT_METHOD_KIND_UNSPECIFIED:
      if (!wanted.value().empty()) {
        return InvalidField(absl::StrCat(field, ".kind"), "required with a value");
      }
      if (card.phones_size() > 0) {
        out.set_kind(kefu::crm::v1::CONTACT_METHOD_KIND_PHONE);
        out.set_value(card.phones(0));
      } else if (card.emails_size() > 0) {
        out.set_kind(kefu::crm::v1::CONTACT_METHOD_KIND_EMAIL);
        out.set_value(card.emails(0));
      } else if (card.im_accounts_size() > 0) {
        out.set_kind(kefu::crm::v1::CONTACT_METHOD_KIND_IM);
        out.set_value(
            absl::StrCat(card.im_accounts(0).platform(), ":", card.im_accounts(0).account()));
      } else {
        return InvalidField(field,
                            "the card has no phone, email or IM account; use OTHER with a "
                            "description");
      }
      return out;
    case kefu::crm::v1::CONTACT_METHOD_KIND_PHONE: {
      if (wanted.value().empty()) {
        if (card.phones_size() == 0) return InvalidField(field, "the card has no phone number");
        out.set_value(card.phones(0));
        return out;
      }
      auto phone = NormalizePhone(value_field, wanted.value());
      if (!phone.ok()) return phone.status();
      if (std::find(card.phones().begin(), card.phones().end(), *phone) == card.phones().end()) {
        return InvalidField(value_field, absl::StrCat(*phone, " is not a phone on the card"));
      }
      out.set_value(*phone);
      return out;
    }
    case kefu::crm::v1::CONTACT_METHOD_KIND_EMAIL: {
      if (wanted.value().empty()) {
        if (card.emails_size() == 0) return InvalidField(field, "the card has no email");
        out.set_value(card.emails(0));
        return out;
      }
      auto email = NormalizeEmail(value_field, wanted.value());
      if (!email.ok()) return email.status();
      if (std::find(card.emails().begin(), card.emails().end(), *email) == card.emails().end()) {
        return InvalidField(value_field, absl::StrCat(*email, " is not an email on the card"));
      }
      out.set_value(*email);
      return out;
    }
    case kefu::crm::v1::CONTACT_METHOD_KIND_IM: {
      std::vector<std::string> accounts;
      for (const auto& im : card.im_accounts()) {
        accounts.push_back(absl::StrCat(im.platform(), ":", im.account()));
      }
      if (wanted.value().empty()) {
        if (accounts.empty()) return InvalidField(field, "the card has no IM account");
        out.set_value(accounts.front());
        return out;
      }
      auto key = NormalizeImAccount(value_field, ImAccountFromKey(wanted.value()));
      if (!key.ok()) return key.status();
      if (std::find(accounts.begin(), accounts.end(), *key) == accounts.end()) {
        return InvalidField(value_field, absl::StrCat(*key, " is not an IM account on the card"));
      }
      out.set_value(*key);
      return out;
    }
    default:  // OTHER: free text
      if (wanted.value().empty()) {
        return InvalidField(value_field, "describe the method when the kind is OTHER");
      }
      if (auto st = CheckText(value_field, wanted.value(), kMaxNameChars); !st.ok()) return st;
      out.set_value(wanted.value());
      return out;
  }
}

}  // namespace kefu::crm
