// Writes the seed corpora under tests/fuzz/corpus/<target>/ from real request messages and
// real audio and model files, so a seed stays valid when a proto changes: rerun it, review
// the diff, commit. Not part of ctest:
//   cmake --build build --target kefu_fuzz_make_seeds && build/bin/kefu_fuzz_make_seeds
//   tests/fuzz/corpus
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <string>

#include "kefu/crm/v1/customer.pb.h"
#include "kefu/crm/v1/record.pb.h"
#include "kefu/identity/v1/auth.pb.h"
#include "kefu/kb/v1/canned_phrase.pb.h"
#include "kefu/kb/v1/knowledge_admin.pb.h"
#include "kefu/router/v1/routing.pb.h"
#include "kefu/router/v1/routing_admin.pb.h"
#include "libs/audio/gmm.h"
#include "libs/audio/pcm.h"
#include "libs/audio/voice_model.h"

namespace {

std::filesystem::path root;

void Write(const std::string& target, const std::string& name, const std::string& bytes) {
  const auto dir = root / target;
  std::filesystem::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

// Deterministic, so map fields do not reorder and churn the committed seeds.
void Message(const std::string& target, const std::string& name, char selector,
             const google::protobuf::Message& message) {
  std::string bytes(1, selector);
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  Write(target, name, bytes);
}

// A vowel-like tone with harmonics, a quarter second, then silence.
kefu::audio::Audio Tone(int rate) {
  kefu::audio::Audio audio;
  audio.sample_rate = rate;
  for (int i = 0; i < rate * 3 / 10; ++i) {
    const double t = static_cast<double>(i) / rate;
    double v = 0;
    if (i < rate / 4) {
      for (int h = 1; h <= 5; ++h) v += 0.2 / h * std::sin(2 * std::numbers::pi * 140 * h * t);
    }
    audio.samples.push_back(static_cast<float>(v));
  }
  return audio;
}

void Audio() {
  for (int rate : {8000, 16000, 44100}) {
    Write("audio_decoder", "tone_" + std::to_string(rate) + ".wav",
          std::string(1, '\0') + *kefu::audio::EncodeWav(Tone(rate)));
  }
  kefu::audio::Audio short_tone = Tone(8000);
  short_tone.samples.resize(400);
  Write("audio_decoder", "pcm16_8k",
        std::string(1, '\x80') + kefu::audio::EncodePcm16(short_tone.samples));
  Write("audio_decoder", "pcm16_16k",
        std::string(1, '\xc0') + kefu::audio::EncodePcm16(Tone(16000).samples));
  Write("audio_decoder", "header_only.wav",
        std::string(1, '\0') + kefu::audio::EncodeWav(short_tone)->substr(0, 44));
}

void VoiceModels() {
  // The smallest model the format allows: 4 mels, 2 cepstra, statics only, 2 components.
  kefu::audio::FrontEndConfig front_end;
  front_end.num_mels = 4;
  front_end.num_ceps = 2;
  front_end.delta_order = 0;
  const int d = front_end.Dims();
  Eigen::VectorXf weights(2);
  weights << 0.5f, 0.5f;
  kefu::audio::FeatureMatrix means(2, d), vars(2, d);
  means << -1, 0.5f, 1, -0.5f;
  vars.setConstant(1.0f);
  kefu::audio::FeatureMatrix cohort(3, d);
  cohort << 0.1f, -0.2f, 1.5f, 0.25f, -3.0f, 2.0f;
  auto model = kefu::audio::VoiceModel::Create(
      front_end, {}, kefu::audio::DiagGmm(weights, means, vars), {cohort});
  Write("voice_model", "tiny_model", std::string(1, '\x01') + model->Serialize());
  kefu::audio::SpeakerModel speaker;
  speaker.ubm_id = model->id();
  speaker.occupancy = Eigen::VectorXd::Constant(2, 3.0);
  speaker.means = means;
  speaker.znorm_mean = 0.1;
  speaker.znorm_std = 0.9;
  speaker.speech_seconds = 2.5;
  speaker.utterances = 1;
  Write("voice_model", "voiceprint", std::string(1, '\0') + kefu::audio::SerializeSpeaker(speaker));
}

void Kb() {
  for (const auto& [name, text] : std::initializer_list<std::pair<const char*, const char*>>{
           {"zh_question", "请问退货运费谁出?"},
           {"en_question", "How do I get a refund for my parcel?"},
           {"mixed", "iPhone15 的发票怎么开 invoice"},
           {"traditional_fullwidth", "退貨運費 ＡＢＣ１２３"},
           {"stop_words_only", "the my how 的了吗"}}) {
    Write("kb_tokenizer", name, text);
    Write("kb_query", name, std::string(1, '\x03') + text);
  }
  namespace v1 = kefu::kb::v1;
  v1::CreateCategoryRequest category;
  category.mutable_category()->mutable_name()->set_zh("物流");
  Message("kb_requests", "create_category", 0, category);
  v1::CreateEntryRequest entry;
  entry.mutable_entry()->set_question("退货运费谁出?");
  entry.mutable_entry()->add_phrasings("退货要付邮费吗");
  entry.mutable_entry()->add_keywords("退货");
  entry.mutable_entry()->add_keywords("运费");
  entry.mutable_entry()->set_answer("七天无理由退货,运费由买家承担。");
  entry.mutable_entry()->set_status(v1::ENTRY_STATUS_PUBLISHED);
  Message("kb_requests", "create_entry", 2, entry);
  v1::UpdateEntryRequest update;
  update.mutable_entry()->set_entry_id("e1");
  update.mutable_entry()->set_answer("Refunds take 3-5 days.");
  update.mutable_update_mask()->add_paths("answer");
  Message("kb_requests", "update_entry", 3, update);
  v1::ImportEntriesRequest import;
  *import.add_entries()->mutable_entry() = entry.entry();
  import.mutable_entries(0)->set_category_name("物流");
  import.mutable_entries(0)->mutable_entry()->set_entry_id("faq.1");
  Message("kb_requests", "import_entries", 4, import);
  v1::CreateBotRequest bot;
  bot.mutable_bot()->set_name("小助手");
  bot.mutable_bot()->set_answer_threshold(0.6);
  bot.mutable_bot()->set_clarify_threshold(0.3);
  bot.mutable_bot()->add_escalation_phrases("人工");
  Message("kb_requests", "create_bot", 5, bot);
  v1::CreatePhraseRequest phrase;
  phrase.mutable_phrase()->set_scope(v1::PHRASE_SCOPE_PUBLIC);
  phrase.mutable_phrase()->set_text("您好,请问有什么可以帮您?");
  phrase.mutable_phrase()->set_shortcut("hi");
  Message("kb_requests", "create_phrase", 8, phrase);
}

void Crm() {
  namespace v1 = kefu::crm::v1;
  v1::IdentifyCustomerRequest by_phone;
  by_phone.set_phone("+86 138-0013-8000");
  Message("crm_requests", "identify_phone", 0, by_phone);
  v1::IdentifyCustomerRequest by_im;
  by_im.mutable_im_account()->set_platform("WeChat");
  by_im.mutable_im_account()->set_account("xm:2024");
  Message("crm_requests", "identify_im", 0, by_im);
  v1::CreateCustomerRequest create;
  create.mutable_customer()->set_name("王小明");
  create.mutable_customer()->add_phones("0086 138 0013 8000");
  create.mutable_customer()->add_emails(" XiaoMing@Example.CN ");
  create.mutable_customer()->add_tags("vip");
  (*create.mutable_customer()->mutable_registration_fields())["city"] = "杭州";
  Message("crm_requests", "create_customer", 1, create);
  v1::UpdateCustomerRequest update;
  update.mutable_customer()->set_customer_id("c1");
  update.mutable_customer()->set_note("prefers e-mail");
  update.mutable_update_mask()->add_paths("note");
  Message("crm_requests", "update_customer", 2, update);
  v1::SetTierRulesRequest rules;
  rules.add_rules()->set_min_completed_dialogs(1);
  rules.mutable_rules(0)->set_tier(kefu::common::v1::CUSTOMER_TIER_REGULAR);
  rules.mutable_rules(0)->set_enabled(true);
  rules.add_rules()->set_has_tag("vip");
  rules.mutable_rules(1)->set_tier(kefu::common::v1::CUSTOMER_TIER_VIP);
  rules.mutable_rules(1)->set_enabled(true);
  Message("crm_requests", "set_tier_rules", 3, rules);
  v1::SetRegistrationFormRequest form;
  form.mutable_form()->set_kind(v1::FORM_KIND_PRE_CHAT);
  auto* field = form.mutable_form()->add_fields();
  field->set_key("phone");
  field->mutable_label()->set_zh("手机");
  field->set_type(kefu::common::v1::FORM_FIELD_TYPE_PHONE);
  field->set_maps_to(v1::CARD_FIELD_PHONE);
  Message("crm_requests", "set_form", 4, form);
  v1::SubmitRegistrationRequest submit;
  (*submit.mutable_values())["name"] = "张三";
  (*submit.mutable_values())["phone"] = "13800138000";
  (*submit.mutable_values())["topic"] = "售后";
  (*submit.mutable_values())["age"] = "42";
  Message("crm_requests", "submit_registration", 5, submit);
  v1::CreateContactPlanRequest plan;
  plan.mutable_contact_plan()->set_customer_id("c1");
  plan.mutable_contact_plan()->mutable_method()->set_kind(v1::CONTACT_METHOD_KIND_IM);
  Message("crm_requests", "create_contact_plan", 6, plan);
  Write("crm_requests", "referrer_baidu", "\x07https://www.baidu.com/s?wd=%E9%80%80%E8%B4%A7");
  Write("crm_requests", "referrer_gb18030",
        "\x07http://www.sogou.com/web?query=%CD%CB%BB%F5&ie=gbk");

  v1::SearchDialogsRequest search;
  search.set_text("退货 Refund");
  search.add_agent_ids("agent-1");
  search.add_channels(kefu::common::v1::CHANNEL_CHAT);
  search.set_min_score(1);
  search.set_max_score(5);
  search.set_page_size(20);
  Message("crm_search", "search_request", 0, search);
  Write("crm_search", "words_and_transcript",
        std::string("\x80") + "退货\xe3\x80\x80refund <b>" + std::string(1, '\0') +
            "客户说:我要退货 & REFUND <now>");
  Write("crm_search", "page_token",
        "\x80"
        "cDEuMDEyMzQ1Njc4OWFiY2RlZi4xMjM");
}

void Identity() {
  namespace v1 = kefu::identity::v1;
  v1::CreateTenantRequest tenant;
  tenant.set_tenant_id("acme-shop");
  tenant.set_name("Acme 商城");
  tenant.set_admin_username("admin@acme");
  tenant.set_admin_display_name("管理员");
  Message("identity_requests", "create_tenant", 0, tenant);
  v1::UpdateTenantSettingsRequest settings;
  settings.mutable_settings()->set_time_zone("Asia/Shanghai");
  settings.mutable_update_mask()->add_paths("time_zone");
  Message("identity_requests", "update_settings", 1, settings);
  v1::CreateUserRequest user;
  user.set_username("li.lei");
  user.set_display_name("李雷");
  user.set_email("li.lei@example.com");
  user.set_role(kefu::common::v1::ROLE_AGENT);
  Message("identity_requests", "create_user", 2, user);
  v1::IssueCustomerTokenRequest customer;
  customer.set_tenant_id("acme-shop");
  customer.set_contact_id("ct-1");
  Message("identity_requests", "issue_customer_token", 5, customer);
}

// router_eligibility: a length byte and an EnqueueRequest, a length byte and an EntryPoint,
// then a ListRegionStrategiesResponse.
void Router() {
  namespace v1 = kefu::router::v1;
  const auto lengthed = [](const google::protobuf::Message& m) {
    const std::string bytes = m.SerializeAsString();
    if (bytes.size() > 255) std::abort();
    return std::string(1, static_cast<char>(bytes.size())) + bytes;
  };
  v1::EnqueueRequest request;
  request.set_entry_point_id("web-cn");
  request.set_requested_department_id("after-sales");
  request.mutable_region()->set_country_code("CN");
  request.mutable_region()->set_province("浙江");
  request.mutable_region()->set_city("杭州");
  v1::EntryPoint entry_point;
  entry_point.add_designated_department_ids("sales");
  entry_point.add_designated_agent_ids("agent-1");
  v1::ListRegionStrategiesResponse strategies;
  v1::RegionStrategy* zj = strategies.add_strategies();
  zj->set_strategy_id("zhejiang");
  zj->set_enabled(true);
  zj->set_override_designation(true);
  zj->add_regions()->set_province("浙江");
  zj->add_department_ids("after-sales");
  zj->add_department_ids("sales");
  v1::RegionStrategy* us = strategies.add_strategies();
  us->set_strategy_id("us");
  us->set_enabled(true);
  us->add_regions()->set_country_code("US");
  us->add_department_ids("english");
  us->add_entry_point_ids("web-cn");
  Write("router_eligibility", "override_by_province",
        lengthed(request) + lengthed(entry_point) + strategies.SerializeAsString());
  request.clear_requested_department_id();
  request.set_requested_agent_id("agent-1");
  Write("router_eligibility", "requested_agent",
        lengthed(request) + lengthed(entry_point) + strategies.SerializeAsString());
  request.clear_entry_point_id();
  Write("router_eligibility", "no_entry_point",
        lengthed(request) + std::string(1, '\0') + strategies.SerializeAsString());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <tests/fuzz/corpus>\n", argv[0]);
    return 2;
  }
  root = argv[1];
  Audio();
  VoiceModels();
  Kb();
  Crm();
  Identity();
  Router();
  std::printf("seeds written under %s\n", root.c_str());
  return 0;
}
