// The crm handlers' request validation (F2, F5, F6, F50, F52), on the request protos as
// they arrive: the selector byte picks the RPC, the rest is parsed as its request, and the
// checks run as customer_service.cc / record_service.cc run them. What passes must hold
// what the stores rely on: normalised keys, unique rule ids, UTF-8 text.
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "kefu/crm/v1/customer.pb.h"
#include "kefu/crm/v1/record.pb.h"
#include "services/crm/referrer.h"
#include "services/crm/tier_rules.h"
#include "services/crm/validation.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

namespace v1 = kefu::crm::v1;
namespace common = kefu::common::v1;
using kefu::fuzz::IsUtf8;

template <typename Request>
bool Parse(absl::string_view bytes, Request* request) {
  return request->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

// Map fields make plain serialisation order-dependent.
std::string Bytes(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  message.SerializeToCodedStream(&coded);
  return out;
}

void CheckKey(const kefu::crm::CustomerKey& key) {
  KEFU_FUZZ_CHECK(key.kind != common::IDENTIFICATION_KEY_UNSPECIFIED, "a key has a kind");
  KEFU_FUZZ_CHECK(!key.value.empty() && IsUtf8(key.value), "a key's value is non-empty UTF-8");
  switch (key.kind) {
    case common::IDENTIFICATION_KEY_PHONE: {
      auto again = kefu::crm::NormalizePhone("phone", key.value);
      KEFU_FUZZ_CHECK(again.ok() && *again == key.value, "a normalised phone stays as it is");
      break;
    }
    case common::IDENTIFICATION_KEY_EMAIL: {
      auto again = kefu::crm::NormalizeEmail("email", key.value);
      KEFU_FUZZ_CHECK(again.ok() && *again == key.value, "a normalised e-mail stays as it is");
      break;
    }
    case common::IDENTIFICATION_KEY_IM_ACCOUNT: {
      auto again = kefu::crm::NormalizeImAccount("im", kefu::crm::ImAccountFromKey(key.value));
      KEFU_FUZZ_CHECK(again.ok() && *again == key.value,
                      "an IM key splits and joins back to itself");
      break;
    }
    default:
      break;
  }
}

void Card(const v1::Customer& request_card, const std::vector<std::string>& paths) {
  v1::Customer card = request_card;
  if (!kefu::crm::NormalizeCard("customer", paths, &card).ok()) return;
  v1::Customer twice = card;
  KEFU_FUZZ_CHECK(kefu::crm::NormalizeCard("customer", paths, &twice).ok(),
                  "a normalised card is valid");
  KEFU_FUZZ_CHECK(Bytes(twice) == Bytes(card), "NormalizeCard is idempotent");
  if (paths.empty()) {
    for (const kefu::crm::CustomerKey& key : kefu::crm::KeysOfCard(card)) CheckKey(key);
    KEFU_FUZZ_CHECK(IsUtf8(card.name()) && IsUtf8(card.note()), "card text is UTF-8");
  }
}

v1::RegistrationForm PreChatForm() {
  v1::RegistrationForm form;
  form.set_kind(v1::FORM_KIND_PRE_CHAT);
  form.set_enabled(true);
  const auto add = [&](const char* key, common::FormFieldType type, bool required,
                       v1::CardField maps_to) {
    v1::FormField* field = form.add_fields();
    field->set_key(key);
    field->mutable_label()->set_zh(key);
    field->set_type(type);
    field->set_required(required);
    field->set_maps_to(maps_to);
    return field;
  };
  add("name", common::FORM_FIELD_TYPE_TEXT, true, v1::CARD_FIELD_NAME);
  add("phone", common::FORM_FIELD_TYPE_PHONE, false, v1::CARD_FIELD_PHONE);
  add("email", common::FORM_FIELD_TYPE_EMAIL, false, v1::CARD_FIELD_EMAIL);
  add("age", common::FORM_FIELD_TYPE_NUMBER, false, v1::CARD_FIELD_NONE);
  v1::FormField* topic = add("topic", common::FORM_FIELD_TYPE_SELECT, false, v1::CARD_FIELD_NONE);
  topic->add_options("售后");
  topic->add_options("billing");
  add("note", common::FORM_FIELD_TYPE_TEXTAREA, false, v1::CARD_FIELD_NONE);
  if (!kefu::crm::NormalizeForm(&form).ok()) std::abort();
  return form;
}

void Submission(const v1::RegistrationForm& form,
                const std::map<std::string, std::string>& values) {
  auto submission = kefu::crm::ValidateSubmission(form, values);
  if (!submission.ok()) return;
  std::set<std::string> keys;
  for (const v1::FormField& field : form.fields()) keys.insert(field.key());
  for (const auto& [key, value] : submission->values) {
    KEFU_FUZZ_CHECK(keys.count(key) == 1, "a submission holds only the form's fields");
    KEFU_FUZZ_CHECK(IsUtf8(value), "submitted values are UTF-8");
  }
  for (const std::string& phone : submission->phones) {
    CheckKey({common::IDENTIFICATION_KEY_PHONE, phone});
  }
  for (const std::string& email : submission->emails) {
    CheckKey({common::IDENTIFICATION_KEY_EMAIL, email});
  }
}

v1::Customer KnownCard() {
  v1::Customer card;
  card.set_name("王小明");
  card.add_phones("+8613800138000");
  card.add_emails("xiaoming@example.cn");
  v1::ImAccount* im = card.add_im_accounts();
  im->set_platform("wechat");
  im->set_account("xm:2024");
  return card;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto [selector, bytes] = kefu::fuzz::Select(data, size);
  switch (selector % 8) {
    case 0: {
      v1::IdentifyCustomerRequest request;
      if (!Parse(bytes, &request)) break;
      if (auto key = kefu::crm::KeyOfRequest(request); key.ok()) CheckKey(*key);
      break;
    }
    case 1: {
      v1::CreateCustomerRequest request;
      if (Parse(bytes, &request)) Card(request.customer(), {});
      break;
    }
    case 2: {
      v1::UpdateCustomerRequest request;
      if (!Parse(bytes, &request)) break;
      Card(request.customer(), std::vector<std::string>(request.update_mask().paths().begin(),
                                                        request.update_mask().paths().end()));
      break;
    }
    case 3: {
      v1::SetTierRulesRequest request;
      if (!Parse(bytes, &request)) break;
      std::vector<v1::TierRule> rules(request.rules().begin(), request.rules().end());
      if (!kefu::crm::NormalizeTierRules(&rules).ok()) break;
      std::set<std::string> ids;
      for (const v1::TierRule& rule : rules) {
        KEFU_FUZZ_CHECK(!rule.rule_id().empty(), "every stored rule has an id");
        KEFU_FUZZ_CHECK(ids.insert(rule.rule_id()).second, "rule ids are unique");
      }
      for (int dialogs : {0, 1, 1000000}) {
        kefu::crm::CustomerFacts facts;
        facts.completed_dialogs = dialogs;
        facts.tags = {"vip", "退货"};
        const kefu::crm::TierDecision decision = kefu::crm::EvaluateTier(facts, rules);
        KEFU_FUZZ_CHECK(kefu::crm::TierRank(decision.tier) >= kefu::crm::TierRank(facts.tier),
                        "rules only ever raise a tier");
      }
      break;
    }
    case 4: {
      v1::SetRegistrationFormRequest request;
      if (!Parse(bytes, &request)) break;
      v1::RegistrationForm form = request.form();
      if (!kefu::crm::NormalizeForm(&form).ok()) break;
      v1::RegistrationForm twice = form;
      KEFU_FUZZ_CHECK(kefu::crm::NormalizeForm(&twice).ok() && Bytes(twice) == Bytes(form),
                      "NormalizeForm is idempotent");
      Submission(form, {{"name", "张三"}, {"phone", "138 0013 8000"}});
      break;
    }
    case 5: {
      static const v1::RegistrationForm form = PreChatForm();
      v1::SubmitRegistrationRequest request;
      if (!Parse(bytes, &request)) break;
      Submission(form, std::map<std::string, std::string>(request.values().begin(),
                                                          request.values().end()));
      break;
    }
    case 6: {
      static const v1::Customer card = KnownCard();
      v1::CreateContactPlanRequest request;
      if (!Parse(bytes, &request)) break;
      auto method = kefu::crm::ResolveContactMethod("contact_plan.method",
                                                    request.contact_plan().method(), card);
      if (!method.ok()) break;
      KEFU_FUZZ_CHECK(method->kind() != v1::CONTACT_METHOD_KIND_UNSPECIFIED,
                      "a resolved method has a kind");
      KEFU_FUZZ_CHECK(IsUtf8(method->value()), "a resolved method's value is UTF-8");
      break;
    }
    case 7: {
      // The visitor's referrer (F5), as the gateway reports it.
      const kefu::crm::ParsedReferrer referrer = kefu::crm::ParseReferrer(bytes);
      KEFU_FUZZ_CHECK(IsUtf8(referrer.search_keyword), "search keywords are UTF-8");
      KEFU_FUZZ_CHECK(IsUtf8(kefu::crm::ReferrerDisplay(referrer)) || !IsUtf8(bytes),
                      "the referrer display of a UTF-8 URL is UTF-8");
      (void)kefu::crm::PercentDecode(bytes);
      break;
    }
  }
  return 0;
}
