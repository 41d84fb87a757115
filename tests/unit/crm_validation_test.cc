// crm input rules: phone / e-mail normalisation, card and form checks, paging tokens,
// dialog search words and snippets.
#include <catch2/catch.hpp>
#include <string>

#include "services/crm/paging.h"
#include "services/crm/search_text.h"
#include "services/crm/validation.h"

namespace {

using kefu::crm::v1::FormField;
using kefu::crm::v1::RegistrationForm;

bool StartsWith(absl::string_view text, absl::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

FormField Field(const std::string& key, kefu::common::v1::FormFieldType type, bool required,
                kefu::crm::v1::CardField maps_to = kefu::crm::v1::CARD_FIELD_NONE) {
  FormField f;
  f.set_key(key);
  f.mutable_label()->set_zh(key);
  f.set_type(type);
  f.set_required(required);
  f.set_maps_to(maps_to);
  return f;
}

RegistrationForm PreChatForm() {
  RegistrationForm form;
  form.set_kind(kefu::crm::v1::FORM_KIND_PRE_CHAT);
  form.set_enabled(true);
  *form.add_fields() =
      Field("name", kefu::common::v1::FORM_FIELD_TYPE_TEXT, true, kefu::crm::v1::CARD_FIELD_NAME);
  *form.add_fields() = Field("phone", kefu::common::v1::FORM_FIELD_TYPE_PHONE, true,
                             kefu::crm::v1::CARD_FIELD_PHONE);
  *form.add_fields() = Field("email", kefu::common::v1::FORM_FIELD_TYPE_EMAIL, false);
  FormField topic = Field("topic", kefu::common::v1::FORM_FIELD_TYPE_SELECT, false);
  topic.add_options("refund");
  topic.add_options("delivery");
  *form.add_fields() = topic;
  REQUIRE(kefu::crm::NormalizeForm(&form).ok());
  return form;
}

}  // namespace

TEST_CASE("phone numbers keep digits and a leading plus and 00 becomes +") {
  CHECK(*kefu::crm::NormalizePhone("phone", " +86 138-0013-8000 ") == "+8613800138000");
  CHECK(*kefu::crm::NormalizePhone("phone", "(0574) 8765 4321") == "057487654321");
  CHECK(*kefu::crm::NormalizePhone("phone", "0086 13800138000") == "+8613800138000");
  for (const char* bad :
       {"", "12ab34", "++8613800138000", "86+13800138000", "1234", "1234567890123456"}) {
    INFO(bad);
    auto st = kefu::crm::NormalizePhone("customer.phones[0]", bad).status();
    CHECK(st.code() == absl::StatusCode::kInvalidArgument);
    CHECK(StartsWith(st.message(), "customer.phones[0]: "));
  }
}

TEST_CASE("e-mail addresses are lower-cased and need one @ and a dotted domain") {
  CHECK(*kefu::crm::NormalizeEmail("email", " Li.Lei@Example.COM ") == "li.lei@example.com");
  for (const char* bad : {"", "no-at.example.com", "a@b", "a@@b.com", "@example.com",
                          "a b@example.com", "a@-x.com", "a@x..com"}) {
    INFO(bad);
    auto st = kefu::crm::NormalizeEmail("email", bad).status();
    CHECK(st.code() == absl::StatusCode::kInvalidArgument);
    CHECK(StartsWith(st.message(), "email: "));
  }
}

TEST_CASE("cards are normalised and oversized fields are refused by name") {
  kefu::crm::v1::Customer card;
  card.set_name("  李雷 ");
  card.add_phones("+86 138 0013 8000");
  card.add_phones("+8613800138000");  // the same number: kept once
  card.add_emails("LI@EXAMPLE.COM");
  card.add_im_accounts()->set_platform("WeChat");
  card.mutable_im_accounts(0)->set_account("lilei88");
  card.add_tags("vip-candidate");
  REQUIRE(kefu::crm::NormalizeCard("customer", {}, &card).ok());
  CHECK(card.name() == "李雷");
  CHECK(card.phones_size() == 1);
  CHECK(card.emails(0) == "li@example.com");
  CHECK(card.im_accounts(0).platform() == "wechat");

  kefu::crm::v1::Customer long_name;
  long_name.set_name(std::string(201, 'x'));
  CHECK(StartsWith(kefu::crm::NormalizeCard("customer", {}, &long_name).message(),
                   "customer.name: "));
  kefu::crm::v1::Customer chinese_name;  // 200 characters, 600 bytes: fine
  std::string name;
  for (int i = 0; i < 200; ++i) name += "客";
  chinese_name.set_name(name);
  CHECK(kefu::crm::NormalizeCard("customer", {}, &chinese_name).ok());

  kefu::crm::v1::Customer long_note;
  long_note.set_note(std::string(4001, 'n'));
  CHECK(StartsWith(kefu::crm::NormalizeCard("customer", {}, &long_note).message(),
                   "customer.note: "));
  kefu::crm::v1::Customer long_tag;
  long_tag.add_tags(std::string(51, 't'));
  CHECK(StartsWith(kefu::crm::NormalizeCard("customer", {}, &long_tag).message(),
                   "customer.tags[0]: "));
  kefu::crm::v1::Customer many_tags;
  for (int i = 0; i < 51; ++i) many_tags.add_tags("t" + std::to_string(i));
  CHECK(StartsWith(kefu::crm::NormalizeCard("customer", {}, &many_tags).message(),
                   "customer.tags: "));
  kefu::crm::v1::Customer bad_mask;
  CHECK(StartsWith(kefu::crm::NormalizeCard("customer", {"tier"}, &bad_mask).message(),
                   "update_mask: "));
}

TEST_CASE("a submission is checked against its form, naming the field") {
  const RegistrationForm form = PreChatForm();
  auto ok = kefu::crm::ValidateSubmission(
      form, {{"name", "韩梅梅"}, {"phone", "+86 139 0000 1111"}, {"topic", "refund"}});
  REQUIRE(ok.ok());
  CHECK(ok->name == "韩梅梅");
  CHECK(ok->phones == std::vector<std::string>{"+8613900001111"});
  CHECK(ok->values.at("phone") == "+8613900001111");

  auto missing = kefu::crm::ValidateSubmission(form, {{"name", "韩梅梅"}});
  CHECK(missing.status().message() == "form_fields[phone]: required");
  auto bad_phone = kefu::crm::ValidateSubmission(form, {{"name", "x"}, {"phone", "call me"}});
  CHECK(StartsWith(bad_phone.status().message(), "form_fields[phone]: not a phone number"));
  auto bad_email = kefu::crm::ValidateSubmission(
      form, {{"name", "x"}, {"phone", "13900001111"}, {"email", "nope"}});
  CHECK(StartsWith(bad_email.status().message(), "form_fields[email]: "));
  auto bad_option = kefu::crm::ValidateSubmission(
      form, {{"name", "x"}, {"phone", "13900001111"}, {"topic", "other"}});
  CHECK(StartsWith(bad_option.status().message(), "form_fields[topic]: must be one of"));
  auto unknown =
      kefu::crm::ValidateSubmission(form, {{"name", "x"}, {"phone", "13900001111"}, {"age", "3"}});
  CHECK(StartsWith(unknown.status().message(), "form_fields[age]: "));
}

TEST_CASE("form definitions need keys, types and options that fit") {
  RegistrationForm form;
  form.set_kind(kefu::crm::v1::FORM_KIND_LEAVE_MESSAGE);
  *form.add_fields() = Field("Bad Key", kefu::common::v1::FORM_FIELD_TYPE_TEXT, false);
  CHECK(StartsWith(kefu::crm::NormalizeForm(&form).message(), "form.fields[0].key: "));
  form.mutable_fields(0)->set_key("city");
  form.mutable_fields(0)->set_type(kefu::common::v1::FORM_FIELD_TYPE_SELECT);
  CHECK(StartsWith(kefu::crm::NormalizeForm(&form).message(), "form.fields[0].options: "));
  form.mutable_fields(0)->set_type(static_cast<kefu::common::v1::FormFieldType>(42));
  CHECK(StartsWith(kefu::crm::NormalizeForm(&form).message(), "form.fields[0].type: "));
  RegistrationForm no_kind;
  CHECK(StartsWith(kefu::crm::NormalizeForm(&no_kind).message(), "form.kind: "));
}

TEST_CASE("a contact plan's method comes from the card or is OTHER") {
  kefu::crm::v1::Customer card;
  card.add_phones("+8613800138000");
  card.add_emails("li@example.com");
  kefu::crm::v1::ContactMethod any;
  auto picked = kefu::crm::ResolveContactMethod("contact_plan.method", any, card);
  REQUIRE(picked.ok());
  CHECK(picked->kind() == kefu::crm::v1::CONTACT_METHOD_KIND_PHONE);
  CHECK(picked->value() == "+8613800138000");

  kefu::crm::v1::ContactMethod email;
  email.set_kind(kefu::crm::v1::CONTACT_METHOD_KIND_EMAIL);
  email.set_value("LI@example.com");
  CHECK(kefu::crm::ResolveContactMethod("m", email, card)->value() == "li@example.com");
  email.set_value("other@example.com");
  CHECK(StartsWith(kefu::crm::ResolveContactMethod("m", email, card).status().message(),
                   "m.value: "));
  kefu::crm::v1::ContactMethod im;
  im.set_kind(kefu::crm::v1::CONTACT_METHOD_KIND_IM);
  CHECK(StartsWith(kefu::crm::ResolveContactMethod("m", im, card).status().message(), "m: "));
  kefu::crm::v1::ContactMethod other;
  other.set_kind(kefu::crm::v1::CONTACT_METHOD_KIND_OTHER);
  other.set_value("visit the shop");
  CHECK(kefu::crm::ResolveContactMethod("m", other, card)->value() == "visit the shop");
}

TEST_CASE("page tokens are opaque and bound to the filters they were made for") {
  kefu::crm::v1::ListCustomersRequest request;
  request.set_tag("gold");
  request.set_page_size(10);
  const std::string fingerprint = kefu::crm::FilterFingerprint(request);
  const std::string token = kefu::crm::EncodePageToken(fingerprint, "42");
  request.set_page_token(token);
  request.set_page_size(20);  // page size and token are not filters
  CHECK(kefu::crm::FilterFingerprint(request) == fingerprint);
  CHECK(*kefu::crm::DecodePageToken(token, fingerprint) == "42");
  request.set_tag("silver");
  auto changed = kefu::crm::DecodePageToken(token, kefu::crm::FilterFingerprint(request));
  CHECK(StartsWith(changed.status().message(), "page_token: "));
  CHECK(
      StartsWith(kefu::crm::DecodePageToken("!!", fingerprint).status().message(), "page_token: "));
  CHECK(kefu::crm::EncodePageToken(fingerprint, "").empty());
  CHECK(*kefu::crm::PageSize(0) == 50);
  CHECK(*kefu::crm::PageSize(1000) == 500);
  CHECK(StartsWith(kefu::crm::PageSize(-1).status().message(), "page_size: "));
}

TEST_CASE("search words split on ASCII and ideographic spaces and snippets mark every match") {
  auto words = kefu::crm::SplitSearchWords("text", "退货\u3000Refund  退货");
  REQUIRE(words.ok());
  CHECK(*words == std::vector<std::string>{"退货", "refund"});
  const std::string snippet =
      kefu::crm::MakeSnippet("我想退货，REFUND please <now>", {"退货", "refund"});
  CHECK(snippet == "我想<em>退货</em>，<em>REFUND</em> please &lt;now&gt;");
  CHECK(kefu::crm::MakeSnippet("nothing here", {"退货"}).empty());
  std::string many;
  for (int i = 0; i < 11; ++i) many += "w" + std::to_string(i) + " ";
  CHECK(StartsWith(kefu::crm::SplitSearchWords("text", many).status().message(), "text: "));
}
