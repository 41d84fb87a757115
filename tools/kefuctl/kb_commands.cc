// kefuctl commands of kb: import and export the knowledge base as JSONL, ask a bot,
// search, and evaluate a bot on a query set (F40, F42, F44).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "kefu/kb/v1/bot.grpc.pb.h"
#include "kefu/kb/v1/knowledge_admin.grpc.pb.h"
#include "libs/auth/token.h"
#include "services/kb/entry_lines.h"
#include "services/kb/eval_metrics.h"
#include "tools/kefuctl/ctl.h"

namespace kefu::ctl {
namespace {

namespace v1 = kefu::kb::v1;

// Entries a request: well below the 8 MiB message limit for long answers.
constexpr int kImportBatch = 1000;
constexpr absl::Duration kBulkTimeout = absl::Minutes(2);
constexpr char kEvalBotName[] = "kb-eval";

int Usage(const char* usage) {
  std::fprintf(stderr, "usage: kefuctl %s\n", usage);
  return 2;
}

// "name=value" and bare-word options after the positional arguments.
struct Options {
  std::vector<std::string> positional;
  std::map<std::string, std::string> named;
  bool Has(const std::string& name) const { return named.count(name) > 0; }
};

Options ParseOptions(const std::vector<std::string>& args, const std::vector<std::string>& words) {
  Options o;
  for (const std::string& arg : args) {
    const size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      o.named[arg.substr(0, eq)] = arg.substr(eq + 1);
    } else if (std::find(words.begin(), words.end(), arg) != words.end()) {
      o.named[arg] = "";
    } else {
      o.positional.push_back(arg);
    }
  }
  return o;
}

std::unique_ptr<v1::KnowledgeAdminService::Stub> Admin(const CtlContext& ctx) {
  return v1::KnowledgeAdminService::NewStub(ctx.Channel("kb"));
}

std::unique_ptr<v1::BotService::Stub> Bots(const CtlContext& ctx) {
  return v1::BotService::NewStub(ctx.Channel("kb"));
}

struct Line {
  int number = 0;  // in the file, 1-based
  v1::ImportEntry entry;
};

// Reads a JSONL file of EntryLine objects; prints every bad line and fails on any.
bool ReadEntries(const std::string& path, std::vector<Line>* out) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "kefuctl: cannot read %s\n", path.c_str());
    return false;
  }
  std::string text;
  int number = 0;
  bool ok = true;
  while (std::getline(in, text)) {
    ++number;
    if (absl::StripAsciiWhitespace(text).empty()) continue;
    auto line = kefu::kb::ParseJsonLine<v1::EntryLine>(text);
    absl::StatusOr<v1::ImportEntry> entry =
        line.ok() ? kefu::kb::ToImportEntry(*line) : line.status();
    if (!entry.ok()) {
      std::fprintf(stderr, "%s:%d: %s\n", path.c_str(), number,
                   std::string(entry.status().message()).c_str());
      ok = false;
      continue;
    }
    out->push_back({number, std::move(*entry)});
  }
  return ok;
}

int Import(const std::vector<std::string>& args, const CtlContext& ctx) {
  const Options o = ParseOptions(args, {"replace", "draft", "dry-run"});
  if (o.positional.size() != 1) return Usage("kb import FILE [replace] [draft] [dry-run]");
  const std::string& path = o.positional[0];
  std::vector<Line> lines;
  if (!ReadEntries(path, &lines)) return 2;
  if (lines.empty()) {
    std::fprintf(stderr, "kefuctl: %s has no entries\n", path.c_str());
    return 2;
  }
  auto stub = Admin(ctx);
  // Every batch is checked first (dry run), so a bad line anywhere writes nothing.
  const auto send = [&](size_t from, bool dry_run, bool first,
                        v1::ImportEntriesResponse* response) -> grpc::Status {
    v1::ImportEntriesRequest request;
    for (size_t i = from; i < lines.size() && i < from + kImportBatch; ++i) {
      *request.add_entries() = lines[i].entry;
    }
    request.set_mode(o.Has("replace") && first ? v1::IMPORT_MODE_REPLACE_ALL
                                               : v1::IMPORT_MODE_UPSERT);
    request.set_status(o.Has("draft") ? v1::ENTRY_STATUS_DRAFT : v1::ENTRY_STATUS_PUBLISHED);
    request.set_dry_run(dry_run);
    if (!dry_run) request.set_idempotency_key(auth::RandomId());
    auto call = ctx.Call();
    if (!call.ok()) return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no credentials");
    (*call)->set_deadline(absl::ToChronoTime(absl::Now() + std::max(ctx.timeout, kBulkTimeout)));
    return stub->ImportEntries(call->get(), request, response);
  };
  if (auto call = ctx.Call(); !call.ok()) return Failed(call.status());
  int errors = 0;
  for (size_t from = 0; from < lines.size(); from += kImportBatch) {
    v1::ImportEntriesResponse response;
    if (auto st = send(from, /*dry_run=*/true, from == 0, &response); !st.ok()) return Failed(st);
    for (const v1::ImportError& e : response.errors()) {
      const size_t i = from + static_cast<size_t>(std::max(1, e.index())) - 1;
      std::fprintf(stderr, "%s:%d: %s: %s\n", path.c_str(), i < lines.size() ? lines[i].number : 0,
                   e.field().c_str(), e.message().c_str());
      ++errors;
    }
  }
  if (errors > 0) {
    std::fprintf(stderr, "kefuctl: %d problem%s; nothing imported\n", errors,
                 errors == 1 ? "" : "s");
    return 1;
  }
  if (o.Has("dry-run")) {
    std::printf("%zu entries are valid; nothing imported (dry-run)\n", lines.size());
    return 0;
  }
  int created = 0;
  int updated = 0;
  int deleted = 0;
  for (size_t from = 0; from < lines.size(); from += kImportBatch) {
    v1::ImportEntriesResponse response;
    if (auto st = send(from, /*dry_run=*/false, from == 0, &response); !st.ok()) {
      std::fprintf(stderr, "kefuctl: batch from line %d failed; earlier batches are imported\n",
                   lines[from].number);
      return Failed(st);
    }
    created += response.created_count();
    updated += response.updated_count();
    deleted += response.deleted_count();
  }
  std::printf("imported %zu entries from %s: %d created, %d updated, %d deleted\n", lines.size(),
              path.c_str(), created, updated, deleted);
  return 0;
}

int Export(const std::vector<std::string>& args, const CtlContext& ctx) {
  const Options o = ParseOptions(args, {"published", "draft"});
  if (o.positional.size() > 1) return Usage("kb export [FILE] [published|draft] [category=ID]");
  v1::ExportEntriesRequest request;
  if (o.Has("published")) request.set_status(v1::ENTRY_STATUS_PUBLISHED);
  if (o.Has("draft")) request.set_status(v1::ENTRY_STATUS_DRAFT);
  if (o.Has("category")) request.set_category_id(o.named.at("category"));
  std::ofstream file;
  if (!o.positional.empty()) {
    file.open(o.positional[0]);
    if (!file) {
      std::fprintf(stderr, "kefuctl: cannot write %s\n", o.positional[0].c_str());
      return 1;
    }
  }
  std::ostream& out = o.positional.empty() ? std::cout : file;
  auto call = ctx.Call();
  if (!call.ok()) return Failed(call.status());
  (*call)->set_deadline(absl::ToChronoTime(absl::Now() + std::max(ctx.timeout, kBulkTimeout)));
  auto reader = Admin(ctx)->ExportEntries(call->get(), request);
  v1::ExportEntriesResponse batch;
  int count = 0;
  while (reader->Read(&batch)) {
    for (const v1::ImportEntry& entry : batch.entries()) {
      out << kefu::kb::ToJsonLine(kefu::kb::ToEntryLine(entry)) << "\n";
      ++count;
    }
  }
  if (auto st = reader->Finish(); !st.ok()) return Failed(st);
  std::fprintf(stderr, "exported %d entries\n", count);
  return 0;
}

const char* DecisionName(v1::AskDecision decision) {
  switch (decision) {
    case v1::ASK_DECISION_ANSWER:
      return "ANSWER";
    case v1::ASK_DECISION_CLARIFY:
      return "CLARIFY";
    case v1::ASK_DECISION_ESCALATE:
      return "ESCALATE";
    default:
      return "?";
  }
}

int Ask(const std::vector<std::string>& args, const CtlContext& ctx) {
  if (args.size() < 2) return Usage("kb ask BOT_ID QUESTION");
  v1::AskRequest request;
  request.set_bot_id(args[0]);
  std::string question;
  for (size_t i = 1; i < args.size(); ++i) question += (i > 1 ? " " : "") + args[i];
  request.set_question(question);
  auto call = ctx.Call();
  if (!call.ok()) return Failed(call.status());
  v1::AskResponse response;
  if (auto st = Bots(ctx)->Ask(call->get(), request, &response); !st.ok()) return Failed(st);
  std::printf("%s", DecisionName(response.decision()));
  if (response.decision() == v1::ASK_DECISION_ESCALATE) {
    std::printf(" (%s)", v1::EscalationReason_Name(response.escalation_reason()).c_str());
  }
  std::printf("\n%s\n", response.reply().c_str());
  for (const v1::RankedAnswer& a : response.answers()) {
    std::printf("  %.3f  %-20s %s\n", a.score(), a.entry_id().c_str(), a.question().c_str());
  }
  return 0;
}

int Search(const std::vector<std::string>& args, const CtlContext& ctx) {
  if (args.empty()) return Usage("kb search WORDS...");
  v1::SearchRequest request;
  std::string query;
  for (size_t i = 0; i < args.size(); ++i) query += (i > 0 ? " " : "") + args[i];
  request.set_query(query);
  request.set_page_size(10);
  auto call = ctx.Call();
  if (!call.ok()) return Failed(call.status());
  v1::SearchResponse response;
  if (auto st = Bots(ctx)->Search(call->get(), request, &response); !st.ok()) return Failed(st);
  for (const v1::SearchHit& hit : response.hits()) {
    std::printf("%.3f  %s  %s\n", hit.score(), hit.entry_id().c_str(), hit.question().c_str());
    for (const v1::Highlight& h : hit.highlights()) {
      std::printf("       %-9s %s\n", h.field().c_str(), h.fragment().c_str());
    }
  }
  if (response.hits().empty()) std::printf("no published entry matches\n");
  return 0;
}

// The bot to evaluate: bot=ID, else the tenant's "kb-eval" bot, created (auto-online,
// answering from every category) when missing.
absl::StatusOr<std::string> EvalBot(const Options& o, const CtlContext& ctx) {
  if (o.Has("bot")) return o.named.at("bot");
  auto stub = Admin(ctx);
  std::string token;
  do {
    v1::ListBotsRequest list;
    list.set_page_token(token);
    v1::ListBotsResponse bots;
    auto call = ctx.Call();
    if (!call.ok()) return call.status();
    if (auto st = stub->ListBots(call->get(), list, &bots); !st.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(st.error_code()), st.error_message());
    }
    for (const v1::Bot& bot : bots.bots()) {
      if (bot.name() == kEvalBotName) return bot.bot_id();
    }
    token = bots.next_page_token();
  } while (!token.empty());
  v1::CreateBotRequest create;
  create.mutable_bot()->set_name(kEvalBotName);
  create.mutable_bot()->set_auto_online(true);
  create.set_idempotency_key(auth::RandomId());
  v1::CreateBotResponse created;
  auto call = ctx.Call();
  if (!call.ok()) return call.status();
  if (auto st = stub->CreateBot(call->get(), create, &created); !st.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(st.error_code()), st.error_message());
  }
  std::fprintf(stderr, "created bot %s (\"%s\", auto-online, every category)\n",
               created.bot().bot_id().c_str(), kEvalBotName);
  return created.bot().bot_id();
}

int Eval(const std::vector<std::string>& args, const CtlContext& ctx) {
  const Options o = ParseOptions(args, {"verbose"});
  constexpr char kUsage[] = "kb eval FILE [bot=BOT_ID] [repeat=N] [verbose]";
  if (o.positional.size() != 1) return Usage(kUsage);
  int repeat = 1;
  if (o.Has("repeat") && (!absl::SimpleAtoi(o.named.at("repeat"), &repeat) || repeat < 1)) {
    return Usage(kUsage);
  }
  std::vector<v1::EvalQueryLine> queries;
  {
    std::ifstream in(o.positional[0]);
    if (!in) {
      std::fprintf(stderr, "kefuctl: cannot read %s\n", o.positional[0].c_str());
      return 2;
    }
    std::string text;
    int number = 0;
    while (std::getline(in, text)) {
      ++number;
      if (absl::StripAsciiWhitespace(text).empty()) continue;
      auto line = kefu::kb::ParseJsonLine<v1::EvalQueryLine>(text);
      if (!line.ok() || line->query().empty()) {
        std::fprintf(stderr, "%s:%d: %s\n", o.positional[0].c_str(), number,
                     line.ok() ? "query: required" : std::string(line.status().message()).c_str());
        return 2;
      }
      queries.push_back(std::move(*line));
    }
  }
  if (queries.empty()) return Usage(kUsage);
  auto bot = EvalBot(o, ctx);
  if (!bot.ok()) return Failed(bot.status());
  auto stub = Bots(ctx);
  const auto ask = [&](const std::string& question, v1::AskResponse* response,
                       double* ms) -> grpc::Status {
    v1::AskRequest request;
    request.set_bot_id(*bot);
    request.set_question(question);
    request.set_max_answers(10);
    auto call = ctx.Call();
    if (!call.ok()) return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no credentials");
    const auto start = std::chrono::steady_clock::now();
    grpc::Status st = stub->Ask(call->get(), request, response);
    *ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return st;
  };
  // The first Ask of a tenant on a replica loads its index; that is not a typical Ask.
  {
    v1::AskResponse warm;
    double ms = 0;
    if (auto st = ask(queries[0].query(), &warm, &ms); !st.ok()) return Failed(st);
    std::printf("bot %s; first Ask (may load the tenant's index) %.1f ms\n", bot->c_str(), ms);
  }
  std::vector<kefu::kb::EvalCase> cases;
  std::vector<double> latencies;
  for (int r = 0; r < repeat; ++r) {
    for (const v1::EvalQueryLine& q : queries) {
      v1::AskResponse response;
      double ms = 0;
      if (auto st = ask(q.query(), &response, &ms); !st.ok()) return Failed(st);
      latencies.push_back(ms);
      if (r > 0) continue;
      kefu::kb::EvalCase c;
      c.expected_id = q.expected_id();
      for (const v1::RankedAnswer& a : response.answers()) c.ranked_ids.push_back(a.entry_id());
      c.escalated = response.decision() == v1::ASK_DECISION_ESCALATE;
      c.answered = response.decision() == v1::ASK_DECISION_ANSWER;
      c.latency_ms = ms;
      if (o.Has("verbose")) {
        const bool right = c.expected_id.empty() ? c.escalated
                                                 : !c.escalated && !c.ranked_ids.empty() &&
                                                       c.ranked_ids[0] == c.expected_id;
        std::printf(
            "%s %-8s want=%-12s got=%-12s %.3f  %s\n", right ? "ok  " : "MISS",
            DecisionName(response.decision()), c.expected_id.empty() ? "-" : c.expected_id.c_str(),
            c.ranked_ids.empty() ? "-" : c.ranked_ids[0].c_str(),
            response.answers().empty() ? 0.0 : response.answers(0).score(), q.query().c_str());
      }
      cases.push_back(std::move(c));
    }
  }
  std::cout << kefu::kb::FormatReport(kefu::kb::Evaluate(cases, latencies), latencies.size());
  return 0;
}

int Categories(const std::vector<std::string>&, const CtlContext& ctx) {
  auto stub = Admin(ctx);
  std::string token;
  do {
    v1::ListCategoriesRequest request;
    request.set_page_token(token);
    v1::ListCategoriesResponse response;
    auto call = ctx.Call();
    if (!call.ok()) return Failed(call.status());
    if (auto st = stub->ListCategories(call->get(), request, &response); !st.ok()) {
      return Failed(st);
    }
    for (const v1::Category& c : response.categories()) {
      std::printf("%s  %-20s %-20s %s\n", c.category_id().c_str(), c.name().zh().c_str(),
                  c.name().en().c_str(),
                  c.parent_id().empty() ? "" : ("in " + c.parent_id()).c_str());
    }
    token = response.next_page_token();
  } while (!token.empty());
  return 0;
}

void PrintBot(const v1::Bot& b) {
  std::string flags;
  if (b.auto_online())
    flags += " auto-online";
  else if (b.online())
    flags += " online";
  else
    flags += " offline";
  if (b.hidden()) flags += " hidden";
  if (b.accept_transfer()) flags += " accept-transfer";
  std::printf("%s  %-20s%s  answer>=%.2f clarify>=%.2f  categories=%s\n", b.bot_id().c_str(),
              b.name().c_str(), flags.c_str(), b.answer_threshold(), b.clarify_threshold(),
              b.category_ids().empty() ? "(all)" : absl::StrJoin(b.category_ids(), ",").c_str());
}

int BotList(const std::vector<std::string>&, const CtlContext& ctx) {
  auto stub = Admin(ctx);
  std::string token;
  do {
    v1::ListBotsRequest request;
    request.set_page_token(token);
    v1::ListBotsResponse response;
    auto call = ctx.Call();
    if (!call.ok()) return Failed(call.status());
    if (auto st = stub->ListBots(call->get(), request, &response); !st.ok()) return Failed(st);
    for (const v1::Bot& b : response.bots()) PrintBot(b);
    token = response.next_page_token();
  } while (!token.empty());
  return 0;
}

int BotCreate(const std::vector<std::string>& args, const CtlContext& ctx) {
  const Options o = ParseOptions(args, {"online", "auto-online", "hidden", "accept-transfer"});
  constexpr char kUsage[] =
      "kb bot create NAME [online|auto-online] [hidden] [accept-transfer] [categories=ID,ID] "
      "[answer=0.55] [clarify=0.3]";
  if (o.positional.size() != 1) return Usage(kUsage);
  v1::CreateBotRequest request;
  v1::Bot* bot = request.mutable_bot();
  bot->set_name(o.positional[0]);
  bot->set_online(o.Has("online"));
  bot->set_auto_online(o.Has("auto-online"));
  bot->set_hidden(o.Has("hidden"));
  bot->set_accept_transfer(o.Has("accept-transfer"));
  if (o.Has("categories")) {
    for (absl::string_view id : absl::StrSplit(o.named.at("categories"), ',', absl::SkipEmpty())) {
      bot->add_category_ids(std::string(id));
    }
  }
  double value = 0;
  if (o.Has("answer")) {
    if (!absl::SimpleAtod(o.named.at("answer"), &value)) return Usage(kUsage);
    bot->set_answer_threshold(value);
  }
  if (o.Has("clarify")) {
    if (!absl::SimpleAtod(o.named.at("clarify"), &value)) return Usage(kUsage);
    bot->set_clarify_threshold(value);
  }
  request.set_idempotency_key(auth::RandomId());
  auto call = ctx.Call();
  if (!call.ok()) return Failed(call.status());
  v1::CreateBotResponse response;
  if (auto st = Admin(ctx)->CreateBot(call->get(), request, &response); !st.ok()) {
    return Failed(st);
  }
  PrintBot(response.bot());
  return 0;
}

}  // namespace

std::vector<CommandSpec> KbCommands() {
  return {
      {"kb import", "kb import FILE [replace] [draft] [dry-run]",
       "import knowledge entries from JSONL (all checked before any is written)", Import},
      {"kb export", "kb export [FILE] [published|draft] [category=ID]",
       "export knowledge entries as JSONL (stdout by default)", Export},
      {"kb categories", "kb categories", "list knowledge categories", Categories},
      {"kb bots", "kb bots", "list bots", BotList},
      {"kb bot create",
       "kb bot create NAME [online|auto-online] [hidden] [accept-transfer] [categories=ID,..]",
       "create a bot (answers from every category unless given)", BotCreate},
      {"kb ask", "kb ask BOT_ID QUESTION", "ask a bot as a customer would", Ask},
      {"kb search", "kb search WORDS...", "search published entries as an agent would", Search},
      {"kb eval", "kb eval FILE [bot=BOT_ID] [repeat=N] [verbose]",
       "ask a bot every query of a JSONL set; top-1, MRR, escalation P/R, latency", Eval},
  };
}

}  // namespace kefu::ctl
