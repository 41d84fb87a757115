#include "services/kb/bot_service.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/common/status.h"
#include "libs/common/status_macros.h"
#include "services/kb/answerer.h"
#include "services/kb/bot_rules.h"
#include "services/kb/highlight.h"
#include "services/kb/paging.h"
#include "services/kb/service_util.h"
#include "services/kb/text.h"
#include "services/kb/validation.h"

namespace kefu::kb {
namespace {

using kefu::common::v1::Language;
using kefu::common::v1::LANGUAGE_EN;
using kefu::common::v1::LANGUAGE_UNSPECIFIED;
using kefu::common::v1::LANGUAGE_ZH;
using kefu::common::v1::ROLE_ADMIN;
using kefu::common::v1::ROLE_AGENT;
using kefu::common::v1::ROLE_SERVICE;
using kefu::common::v1::ROLE_SUPERVISOR;

constexpr int kMaxAskAnswers = 20;
// Search hits below this share of the question are noise to an agent.
constexpr double kMinSearchScore = 0.05;
constexpr size_t kMaxSearchHits = 1000;
constexpr size_t kAnswerFragmentBytes = 240;
constexpr size_t kFieldFragmentBytes = 400;

BotFlags FlagsOf(const v1::Bot& bot) {
  return {bot.online(), bot.auto_online(), bot.hidden(), bot.accept_transfer()};
}

BotPolicy PolicyOf(const v1::Bot& bot) {
  BotPolicy policy;
  policy.answer_threshold = bot.answer_threshold();
  policy.clarify_threshold = bot.clarify_threshold();
  policy.max_choices = bot.max_choices();
  policy.max_low_confidence_turns = bot.max_low_confidence_turns();
  policy.escalation_phrases = {bot.escalation_phrases().begin(), bot.escalation_phrases().end()};
  return policy;
}

// F71: the question's language unless the caller says; the bot's when the question has
// no letters.
Language ReplyLanguage(const v1::AskRequest& request, const v1::Bot& bot) {
  if (request.language() != LANGUAGE_UNSPECIFIED) return request.language();
  switch (DetectLanguage(request.question())) {
    case TextLanguage::kChinese:
      return LANGUAGE_ZH;
    case TextLanguage::kEnglish:
      return LANGUAGE_EN;
    case TextLanguage::kUnknown:
      break;
  }
  return bot.language() != LANGUAGE_UNSPECIFIED ? bot.language() : LANGUAGE_ZH;
}

std::string Localized(const kefu::common::v1::LocalizedText& text, Language language,
                      absl::string_view zh_default, absl::string_view en_default) {
  const std::string& own = language == LANGUAGE_EN ? text.en() : text.zh();
  if (!own.empty()) return own;
  return std::string(language == LANGUAGE_EN ? en_default : zh_default);
}

std::string EscalationReply(const v1::Bot& bot, Language language) {
  return Localized(bot.escalation_message(), language, "正在为您转接人工客服,请稍候。",
                   "Let me connect you with a human agent. Please wait a moment.");
}

Speaker SpeakerOf(kefu::common::v1::ParticipantType type) {
  switch (type) {
    case kefu::common::v1::PARTICIPANT_TYPE_CUSTOMER:
      return Speaker::kCustomer;
    case kefu::common::v1::PARTICIPANT_TYPE_AGENT:
      return Speaker::kAgent;
    case kefu::common::v1::PARTICIPANT_TYPE_BOT:
      return Speaker::kBot;
    default:
      return Speaker::kSystem;
  }
}

v1::EscalationReason ReasonProto(EscalationReason reason) {
  switch (reason) {
    case EscalationReason::kCustomerRequest:
      return v1::ESCALATION_REASON_CUSTOMER_REQUEST;
    case EscalationReason::kLowConfidence:
      return v1::ESCALATION_REASON_LOW_CONFIDENCE;
    case EscalationReason::kRepeatedLowConfidence:
      return v1::ESCALATION_REASON_REPEATED_LOW_CONFIDENCE;
    case EscalationReason::kOutOfScope:
      return v1::ESCALATION_REASON_OUT_OF_SCOPE;
    case EscalationReason::kBotUnavailable:
      return v1::ESCALATION_REASON_BOT_UNAVAILABLE;
    case EscalationReason::kNone:
      break;
  }
  return v1::ESCALATION_REASON_UNSPECIFIED;
}

}  // namespace

KbMetrics::KbMetrics(prometheus::Registry& registry)
    : decisions(prometheus::BuildCounter()
                    .Name("kefu_kb_ask_decisions_total")
                    .Help("Bot decisions of Ask by decision and escalation reason")
                    .Register(registry)) {}

grpc::Status BotServiceImpl::Ask(grpc::ServerContext* context, const v1::AskRequest* request,
                                 v1::AskResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(
        auth::Claims caller,
        authenticator_->Require(*context, {ROLE_SERVICE, ROLE_ADMIN, ROLE_SUPERVISOR}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
    KEFU_RETURN_IF_ERROR(CheckId("bot_id", request->bot_id()));
    KEFU_RETURN_IF_ERROR(CheckText("question", request->question(), kMaxAskChars, true));
    if (request->conversation_size() > kMaxConversation) {
      return InvalidField("conversation",
                          absl::StrCat("at most ", kMaxConversation, " messages; send the latest"));
    }
    if (!kefu::common::v1::Language_IsValid(request->language())) {
      return InvalidField("language", "unknown value");
    }
    if (request->max_answers() < 0 || request->max_answers() > kMaxAskAnswers) {
      return InvalidField("max_answers", absl::StrCat("between 0 and ", kMaxAskAnswers));
    }
    std::vector<PastMessage> history;
    history.reserve(request->conversation_size());
    for (const kefu::common::v1::Message& message : request->conversation()) {
      if (message.content_case() != kefu::common::v1::Message::kText) continue;
      // Past messages are scored again (the unsure streak): bound the work one can cost.
      history.push_back({SpeakerOf(message.sender().type()),
                         std::string(TruncateUtf8(message.text(), 4 * kMaxAskChars))});
    }

    return cache_->Read(tenant, [&](const TenantView& view) -> absl::Status {
      const v1::Bot* bot = view.FindBot(request->bot_id());
      if (bot == nullptr) {
        return absl::NotFoundError(absl::StrCat("bot \"", request->bot_id(), "\" not found"));
      }
      const Language language = ReplyLanguage(*request, *bot);
      response->set_language(language);
      const BotAvailability availability =
          Availability(FlagsOf(*bot), request->humans_online(),
                       request->transferred() ? BotArrival::kTransfer : BotArrival::kEntryPoint);
      if (availability != BotAvailability::kServing) {
        response->set_decision(v1::ASK_DECISION_ESCALATE);
        response->set_escalation_reason(v1::ESCALATION_REASON_BOT_UNAVAILABLE);
        response->set_reply(EscalationReply(*bot, language));
        metrics_->decisions.Add({{"decision", "escalate"}, {"reason", "bot_unavailable"}})
            .Increment();
        return absl::OkStatus();
      }

      // F41: the bot answers only from its memory (and the categories under it).
      absl::flat_hash_set<std::string> memory;
      if (bot->category_ids_size() > 0) memory = view.WithDescendants(bot->category_ids());
      AskInput input;
      input.question = request->question();
      input.conversation = &history;
      input.categories = bot->category_ids_size() > 0 ? &memory : nullptr;
      input.policy = PolicyOf(*bot);
      input.max_answers = static_cast<size_t>(request->max_answers() > 0 ? request->max_answers()
                                                                         : bot->max_choices());
      const AskOutput out = AnswerQuestion(view.index(), input);

      size_t count = out.hits.size();
      if (out.outcome.decision == Decision::kClarify) {
        count = static_cast<size_t>(out.outcome.shown);  // exactly the choices to offer
      }
      for (size_t i = 0; i < count && i < out.hits.size(); ++i) {
        const IndexedEntry& e = *out.hits[i].entry;
        v1::RankedAnswer* answer = response->add_answers();
        answer->set_entry_id(e.entry_id);
        answer->set_category_id(e.category_id);
        answer->set_question(e.question);
        answer->set_answer(e.answer);
        answer->set_score(std::clamp(out.hits[i].score, 0.0, 1.0));
      }
      const char* decision = "escalate";
      switch (out.outcome.decision) {
        case Decision::kAnswer:
          decision = "answer";
          response->set_decision(v1::ASK_DECISION_ANSWER);
          response->set_reply(out.hits.front().entry->answer);
          break;
        case Decision::kClarify: {
          decision = "clarify";
          response->set_decision(v1::ASK_DECISION_CLARIFY);
          std::string reply = language == LANGUAGE_EN ? "Which of these questions do you mean?"
                                                      : "您想问的是下面哪一个问题?";
          for (int i = 0; i < response->answers_size(); ++i) {
            absl::StrAppend(&reply, "\n", i + 1, ". ", response->answers(i).question());
          }
          response->set_reply(std::move(reply));
          break;
        }
        case Decision::kEscalate:
          response->set_decision(v1::ASK_DECISION_ESCALATE);
          response->set_escalation_reason(ReasonProto(out.outcome.reason));
          response->set_reply(EscalationReply(*bot, language));
          break;
      }
      metrics_->decisions
          .Add({{"decision", decision},
                {"reason", v1::EscalationReason_Name(response->escalation_reason())}})
          .Increment();
      return absl::OkStatus();
    });
  });
}

grpc::Status BotServiceImpl::Search(grpc::ServerContext* context, const v1::SearchRequest* request,
                                    v1::SearchResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(
        auth::Claims caller,
        authenticator_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_AGENT}));
    KEFU_RETURN_IF_ERROR(CheckText("query", request->query(), kMaxQuestionChars, true));
    if (request->category_ids_size() > 100) return InvalidField("category_ids", "at most 100");
    for (int i = 0; i < request->category_ids_size(); ++i) {
      KEFU_RETURN_IF_ERROR(
          CheckId(absl::StrCat("category_ids[", i, "]"), request->category_ids(i)));
    }
    if (!kefu::common::v1::Language_IsValid(request->language())) {
      return InvalidField("language", "unknown value");
    }
    KEFU_ASSIGN_OR_RETURN(int limit, PageSize(request->page_size()));
    const std::string filters =
        absl::StrCat("search|", request->query(), "|", absl::StrJoin(request->category_ids(), ","),
                     "|", request->language());
    KEFU_ASSIGN_OR_RETURN(std::vector<std::string> after,
                          DecodePageToken(request->page_token(), filters));
    size_t offset = 0;
    if (!after.empty() && !absl::SimpleAtoi(after[0], &offset)) {
      return InvalidField("page_token", "not a token this API issued");
    }
    return cache_->Read(caller.tenant_id, [&](const TenantView& view) -> absl::Status {
      absl::flat_hash_set<std::string> categories;
      SearchOptions options;
      if (request->category_ids_size() > 0) {
        categories = view.WithDescendants(request->category_ids());
        options.categories = &categories;
      }
      options.language = request->language();
      options.min_score = kMinSearchScore;
      options.limit = std::min(kMaxSearchHits, offset + static_cast<size_t>(limit) + 1);
      const SearchResult result = view.index().Search(request->query(), options);
      const absl::flat_hash_set<std::string> terms(result.terms.begin(), result.terms.end());
      for (size_t i = offset; i < result.hits.size() && i < offset + static_cast<size_t>(limit);
           ++i) {
        const IndexedEntry& e = *result.hits[i].entry;
        v1::SearchHit* hit = response->add_hits();
        hit->set_entry_id(e.entry_id);
        hit->set_category_id(e.category_id);
        hit->set_question(e.question);
        hit->set_answer(e.answer);
        hit->set_score(std::clamp(result.hits[i].score, 0.0, 1.0));
        hit->set_language(e.language);
        const auto add = [&](absl::string_view field, absl::string_view text, size_t max_bytes) {
          auto fragment = HighlightFragment(text, terms, max_bytes);
          if (!fragment.has_value()) return false;
          v1::Highlight* h = hit->add_highlights();
          h->set_field(std::string(field));
          h->set_fragment(std::move(*fragment));
          return true;
        };
        add("question", e.question, kFieldFragmentBytes);
        for (const std::string& phrasing : e.phrasings) {
          if (add("phrasings", phrasing, kFieldFragmentBytes)) break;
        }
        add("keywords", absl::StrJoin(e.keywords, e.language == LANGUAGE_EN ? ", " : "、"),
            kFieldFragmentBytes);
        add("answer", e.answer, kAnswerFragmentBytes);
      }
      if (result.hits.size() > offset + static_cast<size_t>(limit)) {
        response->set_next_page_token(
            EncodePageToken(filters, {absl::StrCat(offset + static_cast<size_t>(limit))}));
      }
      return absl::OkStatus();
    });
  });
}

}  // namespace kefu::kb
