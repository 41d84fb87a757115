// The shipped knowledge base and its held-out query set through the real service (F42):
// what `kefuctl kb eval` measures, kept as a regression test of retrieval quality.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "kefu/kb/v1/bot.grpc.pb.h"
#include "kefu/kb/v1/knowledge_admin.grpc.pb.h"
#include "services/kb/entry_lines.h"
#include "services/kb/eval_metrics.h"
#include "services/kb/kb_service.h"
#include "tests/support/env.h"
#include "tests/support/service_harness.h"

namespace {

namespace v1 = kefu::kb::v1;
using kefu::testing::CallWith;

// <repo>/testdata/kb/<name>, found from this file's place in the source tree.
std::filesystem::path TestData(const std::string& name) {
  for (auto dir = std::filesystem::path(__FILE__).parent_path(); !dir.empty();
       dir = dir.parent_path()) {
    if (std::filesystem::exists(dir / "testdata" / "kb" / name))
      return dir / "testdata" / "kb" / name;
    if (dir == dir.parent_path()) break;
  }
  return name;
}

std::vector<std::string> Lines(const std::filesystem::path& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

}  // namespace

struct Floors {
  const char* file;
  double top1;
  double mrr;
  double esc_precision;
  double esc_recall;
};

// Measured through this service (docs/KB.md "Evaluation"); the floors sit a query or two
// below, so a regression fails. v3 was written before issue 7 and is the check of its
// second pass (tuned on dev, v1 and v2): top-1 0.817, MRR 0.879, escalation precision
// 0.810, recall 0.810. v2 was studied while tuning: 0.868, 0.911, 0.947, 0.818. v3 does
// not reach the 0.85 top-1 the issue asks for.
constexpr Floors kSets[] = {
    {"queries_heldout_v3.jsonl", 0.79, 0.87, 0.76, 0.76},
    {"queries_heldout.jsonl", 0.85, 0.90, 0.90, 0.77},
};

TEST_CASE("retrieval quality on the shipped held-out sets stays at its measured level") {
  auto service = kefu::testing::StartService(kefu::kb::Definition());
  const std::string tenant = kefu::testing::UniqueTenant("kbe");
  const std::string admin = kefu::testing::TokenFor(tenant, kefu::common::v1::ROLE_ADMIN, "a");
  auto admin_stub = v1::KnowledgeAdminService::NewStub(service.channel);
  auto bot_stub = v1::BotService::NewStub(service.channel);

  v1::ImportEntriesRequest import;
  for (const std::string& text : Lines(TestData("kb.jsonl"))) {
    auto line = kefu::kb::ParseJsonLine<v1::EntryLine>(text);
    REQUIRE(line.ok());
    auto entry = kefu::kb::ToImportEntry(*line);
    REQUIRE(entry.ok());
    *import.add_entries() = *entry;
  }
  REQUIRE(import.entries_size() >= 100);
  v1::ImportEntriesResponse imported;
  REQUIRE(admin_stub->ImportEntries(CallWith(admin).get(), import, &imported).ok());
  REQUIRE(imported.errors().empty());

  v1::CreateBotRequest create;
  create.mutable_bot()->set_name("eval");
  create.mutable_bot()->set_auto_online(true);
  v1::CreateBotResponse bot;
  REQUIRE(admin_stub->CreateBot(CallWith(admin).get(), create, &bot).ok());

  for (const Floors& set : kSets) {
    std::vector<kefu::kb::EvalCase> cases;
    for (const std::string& text : Lines(TestData(set.file))) {
      auto query = kefu::kb::ParseJsonLine<v1::EvalQueryLine>(text);
      REQUIRE(query.ok());
      v1::AskRequest ask;
      ask.set_bot_id(bot.bot().bot_id());
      ask.set_question(query->query());
      ask.set_max_answers(10);
      v1::AskResponse answer;
      REQUIRE(bot_stub->Ask(CallWith(admin).get(), ask, &answer).ok());
      kefu::kb::EvalCase c;
      c.expected_id = query->expected_id();
      for (const auto& a : answer.answers()) c.ranked_ids.push_back(a.entry_id());
      c.escalated = answer.decision() == v1::ASK_DECISION_ESCALATE;
      c.answered = answer.decision() == v1::ASK_DECISION_ANSWER;
      cases.push_back(std::move(c));
    }
    REQUIRE(cases.size() >= 120);
    const kefu::kb::EvalReport report = kefu::kb::Evaluate(cases, {});
    INFO(set.file << "\n" << kefu::kb::FormatReport(report, 0));
    CHECK(report.top1 >= set.top1);
    CHECK(report.mrr >= set.mrr);
    CHECK(report.esc_precision >= set.esc_precision);
    CHECK(report.esc_recall >= set.esc_recall);
  }
}
