// kb input rules, paging tokens, highlights and request fingerprints (F40-F44).
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "services/kb/entry_lines.h"
#include "services/kb/eval_metrics.h"
#include "services/kb/highlight.h"
#include "services/kb/idempotency.h"
#include "services/kb/paging.h"
#include "services/kb/validation.h"

namespace {

namespace v1 = kefu::kb::v1;

v1::Entry GoodEntry() {
  v1::Entry e;
  e.set_question("  怎么开发票?  ");
  e.add_keywords("开发票");
  e.add_keywords("开发票");
  e.add_keywords(" ");
  e.set_answer("在订单详情申请开票。");
  e.set_status(v1::ENTRY_STATUS_PUBLISHED);
  return e;
}

v1::Entry ValidEntry() {
  v1::Entry e = GoodEntry();
  kefu::kb::NormalizeEntry(&e);
  return e;
}

std::string FieldOf(const absl::Status& status) {
  const std::string message(status.message());
  return message.substr(0, message.find(':'));
}

}  // namespace

TEST_CASE("an entry is trimmed, its repeated keywords dropped and its language detected") {
  v1::Entry e = GoodEntry();
  kefu::kb::NormalizeEntry(&e);
  CHECK(e.question() == "怎么开发票?");
  CHECK(e.keywords_size() == 1);
  CHECK(e.language() == kefu::common::v1::LANGUAGE_ZH);
  CHECK(kefu::kb::ValidateEntry(e).ok());
}

TEST_CASE("a new entry without a status is a draft") {
  v1::Entry e = GoodEntry();
  e.clear_status();
  kefu::kb::NormalizeEntry(&e);
  CHECK(e.status() == v1::ENTRY_STATUS_DRAFT);
}

TEST_CASE("a published entry needs a keyword, a draft does not") {
  v1::Entry e = GoodEntry();
  e.clear_keywords();
  kefu::kb::NormalizeEntry(&e);
  const absl::Status st = kefu::kb::ValidateEntry(e);
  CHECK(st.code() == absl::StatusCode::kInvalidArgument);
  CHECK(FieldOf(st) == "entry.keywords");
  e.set_status(v1::ENTRY_STATUS_DRAFT);
  CHECK(kefu::kb::ValidateEntry(e).ok());
}

TEST_CASE("bad entries name the field at fault") {
  v1::Entry e = ValidEntry();
  e.set_question("");
  CHECK(FieldOf(kefu::kb::ValidateEntry(e)) == "entry.question");
  e = ValidEntry();
  e.set_answer(std::string(10001, 'a'));
  CHECK(FieldOf(kefu::kb::ValidateEntry(e)) == "entry.answer");
  e = ValidEntry();
  e.add_keywords(std::string(65, 'k'));
  CHECK(FieldOf(kefu::kb::ValidateEntry(e)) == "entry.keywords[1]");
  e = ValidEntry();
  e.set_language(static_cast<kefu::common::v1::Language>(9));
  CHECK(FieldOf(kefu::kb::ValidateEntry(e)) == "entry.language");
  e = ValidEntry();
  e.set_question("\xff\xfe");
  CHECK(FieldOf(kefu::kb::ValidateEntry(e)) == "entry.question");
}

TEST_CASE("an update mask names only editable fields") {
  google::protobuf::FieldMask mask;
  CHECK(kefu::kb::MaskPaths(mask, kefu::kb::EntryPaths())->size() == 7);
  mask.add_paths("answer");
  CHECK(*kefu::kb::MaskPaths(mask, kefu::kb::EntryPaths()) == std::vector<std::string>{"answer"});
  mask.add_paths("revision");
  const auto bad = kefu::kb::MaskPaths(mask, kefu::kb::EntryPaths());
  CHECK(FieldOf(bad.status()) == "update_mask");
}

TEST_CASE("applying a mask changes only the named fields") {
  v1::Entry stored = ValidEntry();
  v1::Entry change;
  change.set_answer("新答案");
  change.set_question("");  // not in the mask: ignored
  kefu::kb::ApplyEntryMask(change, {"answer"}, &stored);
  CHECK(stored.answer() == "新答案");
  CHECK(stored.question() == ValidEntry().question());
}

TEST_CASE("import problems are reported per line with their field") {
  v1::ImportEntriesRequest request;
  v1::ImportEntry* ok = request.add_entries();
  *ok->mutable_entry() = GoodEntry();
  ok->mutable_entry()->set_entry_id("zh-1");
  v1::ImportEntry* twice = request.add_entries();
  *twice->mutable_entry() = GoodEntry();
  twice->mutable_entry()->set_entry_id("zh-1");
  v1::ImportEntry* no_keywords = request.add_entries();
  *no_keywords->mutable_entry() = GoodEntry();
  no_keywords->mutable_entry()->clear_keywords();
  v1::ImportEntry* bad_id = request.add_entries();
  *bad_id->mutable_entry() = GoodEntry();
  bad_id->mutable_entry()->set_entry_id("has space");
  const auto errors = kefu::kb::ValidateImport(request);
  REQUIRE(errors.size() == 3);
  CHECK(errors[0].index() == 2);
  CHECK(errors[0].field() == "id");
  CHECK(errors[1].index() == 3);
  CHECK(errors[1].field() == "keywords");
  CHECK(errors[2].index() == 4);
  CHECK(errors[2].field() == "id");
}

TEST_CASE("bots get defaults and an auto-online bot is online") {
  v1::Bot bot;
  bot.set_name(" 小助手 ");
  bot.set_auto_online(true);
  kefu::kb::NormalizeBot(&bot);
  CHECK(bot.name() == "小助手");
  CHECK(bot.online());
  CHECK(bot.answer_threshold() > bot.clarify_threshold());
  CHECK(bot.max_choices() == 3);
  CHECK(bot.max_low_confidence_turns() == 2);
  CHECK(kefu::kb::ValidateBot(bot).ok());
  bot.set_clarify_threshold(0.9);
  CHECK(FieldOf(kefu::kb::ValidateBot(bot)) == "bot.clarify_threshold");
}

TEST_CASE("phrases need a scope and a text, and shortcuts are simple words") {
  v1::Phrase p;
  p.set_text("您好,请问有什么可以帮您?");
  CHECK(FieldOf(kefu::kb::ValidatePhrase(p)) == "phrase.scope");
  p.set_scope(v1::PHRASE_SCOPE_PERSONAL);
  CHECK(kefu::kb::ValidatePhrase(p).ok());
  p.set_shortcut("hi there");
  CHECK(FieldOf(kefu::kb::ValidatePhrase(p)) == "phrase.shortcut");
}

TEST_CASE("page sizes default to 50 and stop at 500") {
  CHECK(*kefu::kb::PageSize(0) == 50);
  CHECK(*kefu::kb::PageSize(7) == 7);
  CHECK(*kefu::kb::PageSize(100000) == 500);
  CHECK_FALSE(kefu::kb::PageSize(-1).ok());
}

TEST_CASE("a page token works only with the filters it was made for") {
  const std::string token = kefu::kb::EncodePageToken("entries|c1", {"e-17"});
  CHECK(*kefu::kb::DecodePageToken(token, "entries|c1") == std::vector<std::string>{"e-17"});
  CHECK(FieldOf(kefu::kb::DecodePageToken(token, "entries|c2").status()) == "page_token");
  CHECK(FieldOf(kefu::kb::DecodePageToken("garbage!", "entries|c1").status()) == "page_token");
  CHECK(kefu::kb::DecodePageToken("", "x")->empty());
}

TEST_CASE("highlights wrap the query's words and escape the rest") {
  const absl::flat_hash_set<std::string> terms = {"退货", "运费", "refund"};
  CHECK(*kefu::kb::HighlightFragment("退货运费<b>谁出", terms, 200) ==
        "<em>退货运费</em>&lt;b&gt;谁出");
  CHECK(*kefu::kb::HighlightFragment("Refunds take 5 days", terms, 200) ==
        "<em>Refunds</em> take 5 days");
  CHECK_FALSE(kefu::kb::HighlightFragment("发票", terms, 200).has_value());
}

TEST_CASE("a long answer is cut around its first match on character boundaries") {
  std::string text;
  for (int i = 0; i < 100; ++i) text += "说明";
  text += "退货";
  for (int i = 0; i < 100; ++i) text += "文字";
  const auto fragment = kefu::kb::HighlightFragment(text, {"退货"}, 60);
  REQUIRE(fragment.has_value());
  CHECK(absl::StartsWith(*fragment, "…"));
  CHECK(absl::EndsWith(*fragment, "…"));
  CHECK(absl::StrContains(*fragment, "<em>退货</em>"));
}

TEST_CASE("a retried request has the fingerprint of the first, another request not") {
  v1::CreateEntryRequest a;
  *a.mutable_entry() = GoodEntry();
  a.set_idempotency_key("k1");
  v1::CreateEntryRequest b = a;
  b.set_idempotency_key("k2");
  CHECK(kefu::kb::RequestFingerprint(a) == kefu::kb::RequestFingerprint(b));
  b.mutable_entry()->set_answer("другой");
  CHECK(kefu::kb::RequestFingerprint(a) != kefu::kb::RequestFingerprint(b));
}

TEST_CASE("JSONL lines map to import entries and back") {
  auto line = kefu::kb::ParseJsonLine<v1::EntryLine>(
      R"({"id":"zh-1","category":"退货","question":"能退吗","keywords":["退货"],)"
      R"("answer":"能","lang":"zh","phrasings":["可以退吗"],"extra":1})");
  REQUIRE(line.ok());
  auto entry = kefu::kb::ToImportEntry(*line);
  REQUIRE(entry.ok());
  CHECK(entry->entry().entry_id() == "zh-1");
  CHECK(entry->category_name() == "退货");
  CHECK(entry->entry().language() == kefu::common::v1::LANGUAGE_ZH);
  CHECK(entry->entry().phrasings_size() == 1);
  const std::string back = kefu::kb::ToJsonLine(kefu::kb::ToEntryLine(*entry));
  CHECK(absl::StrContains(back, R"("id":"zh-1")"));
  CHECK(absl::StrContains(back, "能退吗"));
  // A lone keyword is taken as a list of one; what is not JSON of the line's shape is not.
  CHECK(kefu::kb::ParseJsonLine<v1::EntryLine>(R"({"keywords":"退货"})")->keywords_size() == 1);
  CHECK_FALSE(kefu::kb::ParseJsonLine<v1::EntryLine>(R"({"question":{"a":1}})").ok());
  CHECK_FALSE(kefu::kb::ParseJsonLine<v1::EntryLine>("not json").ok());
  line->set_lang("fr");
  CHECK_FALSE(kefu::kb::ToImportEntry(*line).ok());
}

TEST_CASE("an eval line with a null expected id expects an escalation") {
  auto q = kefu::kb::ParseJsonLine<v1::EvalQueryLine>(R"({"query":"人工","expected_id":null})");
  REQUIRE(q.ok());
  CHECK(q->expected_id().empty());
}

TEST_CASE("eval figures count top-1, reciprocal rank and escalations") {
  std::vector<kefu::kb::EvalCase> cases(4);
  cases[0].expected_id = "a";
  cases[0].ranked_ids = {"a", "b"};
  cases[0].answered = true;
  cases[1].expected_id = "b";
  cases[1].ranked_ids = {"a", "b"};
  cases[2].expected_id = "";
  cases[2].escalated = true;
  cases[3].expected_id = "c";
  cases[3].escalated = true;
  const auto r = kefu::kb::Evaluate(cases, {1, 2, 3, 4});
  CHECK(r.top1 == Approx(1.0 / 3));
  CHECK(r.mrr == Approx((1 + 0.5) / 3));
  CHECK(r.esc_precision == Approx(0.5));
  CHECK(r.esc_recall == Approx(1.0));
  CHECK(r.p50_ms == Approx(2));
  CHECK(r.p99_ms == Approx(4));
  CHECK(absl::StrContains(kefu::kb::FormatReport(r, 4), "kb_eval top1=0.333 mrr=0.500"));
}
