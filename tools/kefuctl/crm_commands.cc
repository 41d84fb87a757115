// kefuctl commands for crm: customer cards, identification, dialogs and visitors.
#include <google/protobuf/util/time_util.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "kefu/crm/v1/customer.grpc.pb.h"
#include "kefu/crm/v1/record.grpc.pb.h"
#include "libs/common/status.h"
#include "tools/kefuctl/ctl.h"

namespace kefu::ctl {
namespace {

namespace common = kefu::common::v1;
namespace crm = kefu::crm::v1;

int Usage(const char* usage) {
  std::fprintf(stderr, "usage: kefuctl %s\n", usage);
  return 2;
}

int CallFailed(const absl::Status& status) {
  std::fprintf(stderr, "kefuctl: %s\n", status.ToString().c_str());
  return 1;
}

std::string Time(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixSeconds(ts.seconds()),
                          absl::LocalTimeZone());
}

// "CUSTOMER_TIER_VIP" -> "VIP".
template <typename Enum>
std::string EnumName(const google::protobuf::EnumDescriptor* descriptor, Enum value,
                     const std::string& prefix) {
  const auto* v = descriptor->FindValueByNumber(static_cast<int>(value));
  if (v == nullptr) return absl::StrCat(static_cast<int>(value));
  std::string name = v->name();
  if (name.rfind(prefix, 0) == 0) name = name.substr(prefix.size());
  return name;
}

std::string Tier(common::CustomerTier tier) {
  return EnumName(common::CustomerTier_descriptor(), tier, "CUSTOMER_TIER_");
}

std::string OrDash(const std::string& text) { return text.empty() ? "-" : text; }

void PrintCustomer(const crm::Customer& c) {
  std::printf("customer:     %s (%s)\n", c.customer_id().c_str(), c.customer_number().c_str());
  std::printf("name:         %s\n", OrDash(c.name()).c_str());
  std::printf("tier:         %s%s\n", Tier(c.tier()).c_str(), c.tier_locked() ? " (locked)" : "");
  std::printf("phones:       %s\n", OrDash(absl::StrJoin(c.phones(), ", ")).c_str());
  std::printf("emails:       %s\n", OrDash(absl::StrJoin(c.emails(), ", ")).c_str());
  std::vector<std::string> ims;
  for (const auto& im : c.im_accounts())
    ims.push_back(absl::StrCat(im.platform(), ":", im.account()));
  std::printf("im accounts:  %s\n", OrDash(absl::StrJoin(ims, ", ")).c_str());
  std::printf("visitor ids:  %s\n", OrDash(absl::StrJoin(c.visitor_ids(), ", ")).c_str());
  std::printf("tags:         %s\n", OrDash(absl::StrJoin(c.tags(), ", ")).c_str());
  std::printf("exclusive:    %s\n", OrDash(c.exclusive_agent_id()).c_str());
  std::printf("dialogs:      %d (first %s, last %s)\n", c.dialog_count(),
              Time(c.first_contact_time()).c_str(), Time(c.last_contact_time()).c_str());
  for (const auto& [key, value] : c.registration_fields()) {
    std::printf("field %-7s %s\n", (key + ":").c_str(), value.c_str());
  }
  if (!c.note().empty()) std::printf("note:         %s\n", c.note().c_str());
}

std::string CustomerLine(const crm::Customer& c) {
  return absl::StrFormat("%-10s %-8s %-20s %-18s %s", c.customer_number(), Tier(c.tier()),
                         OrDash(c.name()), c.phones().empty() ? "-" : c.phones(0), c.customer_id());
}

int CustomerShow(const std::vector<std::string>& args, const CtlContext& ctx) {
  if (args.size() != 1) return Usage("customer show <customer_id>");
  auto call = ctx.Call();
  if (!call.ok()) return CallFailed(call.status());
  crm::GetCustomerRequest request;
  request.set_customer_id(args[0]);
  crm::GetCustomerResponse response;
  auto stub = crm::CustomerService::NewStub(ctx.Channel("crm"));
  grpc::Status status = stub->GetCustomer(call->get(), request, &response);
  if (!status.ok()) return Failed(status);
  PrintCustomer(response.customer());
  return 0;
}

int CustomerSearch(const std::vector<std::string>& args, const CtlContext& ctx) {
  if (args.empty()) return Usage("customer search <text>");
  auto call = ctx.Call();
  if (!call.ok()) return CallFailed(call.status());
  crm::SearchCustomersRequest request;
  request.set_query(absl::StrJoin(args, " "));
  request.set_page_size(100);
  crm::SearchCustomersResponse response;
  auto stub = crm::CustomerService::NewStub(ctx.Channel("crm"));
  grpc::Status status = stub->SearchCustomers(call->get(), request, &response);
  if (!status.ok()) return Failed(status);
  for (const auto& c : response.customers()) std::printf("%s\n", CustomerLine(c).c_str());
  std::printf("%d customer(s)%s\n", response.customers_size(),
              response.next_page_token().empty() ? "" : " (more: narrow the search)");
  return 0;
}

int CustomerIdentify(const std::vector<std::string>& args, const CtlContext& ctx) {
  constexpr char kUsage[] =
      "customer identify phone|email|visitor <value> | customer identify im <platform> <account>";
  crm::IdentifyCustomerRequest request;
  if (args.size() == 2 && args[0] == "phone") {
    request.set_phone(args[1]);
  } else if (args.size() == 2 && args[0] == "email") {
    request.set_email(args[1]);
  } else if (args.size() == 2 && args[0] == "visitor") {
    request.set_visitor_id(args[1]);
  } else if (args.size() == 3 && args[0] == "im") {
    request.mutable_im_account()->set_platform(args[1]);
    request.mutable_im_account()->set_account(args[2]);
  } else {
    return Usage(kUsage);
  }
  auto call = ctx.Call();
  if (!call.ok()) return CallFailed(call.status());
  crm::IdentifyCustomerResponse response;
  auto stub = crm::CustomerService::NewStub(ctx.Channel("crm"));
  grpc::Status status = stub->IdentifyCustomer(call->get(), request, &response);
  if (!status.ok()) return Failed(status);
  std::printf("%s\n", response.created()
                          ? "new customer created"
                          : absl::StrCat("matched by ",
                                         EnumName(common::IdentificationKey_descriptor(),
                                                  response.matched_by(), "IDENTIFICATION_KEY_"))
                                .c_str());
  PrintCustomer(response.customer());
  if (response.has_last_dialog()) {
    std::printf("last dialog:  %s ended %s by %s\n", response.last_dialog().dialog_id().c_str(),
                Time(response.last_dialog().end_time()).c_str(),
                OrDash(absl::StrJoin(response.last_dialog().agent_ids(), ", ")).c_str());
  }
  return 0;
}

std::string DialogLine(const crm::DialogHit& hit) {
  const crm::Dialog& d = hit.dialog();
  std::vector<std::string> agents;
  for (const auto& a : d.agents()) agents.push_back(a.agent_id());
  const std::string end =
      d.end_type() == common::DIALOG_END_TYPE_UNSPECIFIED
          ? "IN_PROGRESS"
          : EnumName(common::DialogEndType_descriptor(), d.end_type(), "DIALOG_END_TYPE_");
  return absl::StrFormat("%s  %s  %-14s %-7s agents=%s customer=%s rating=%s msgs=%d",
                         d.dialog_id(), Time(d.start_time()), end, d.valid() ? "valid" : "invalid",
                         OrDash(absl::StrJoin(agents, ",")), OrDash(d.customer_id()),
                         d.has_rating() ? absl::StrCat(d.rating().score()) : "-",
                         d.message_count());
}

int DialogSearch(const std::vector<std::string>& args, const CtlContext& ctx) {
  auto call = ctx.Call();
  if (!call.ok()) return CallFailed(call.status());
  crm::SearchDialogsRequest request;
  request.set_text(absl::StrJoin(args, " "));
  request.set_page_size(50);
  crm::SearchDialogsResponse response;
  auto stub = crm::RecordService::NewStub(ctx.Channel("crm"));
  grpc::Status status = stub->SearchDialogs(call->get(), request, &response);
  if (!status.ok()) return Failed(status);
  for (const auto& hit : response.hits()) {
    std::printf("%s\n", DialogLine(hit).c_str());
    for (const auto& snippet : hit.snippets()) std::printf("    %s\n", snippet.c_str());
  }
  std::printf("%d of %lld dialog(s)\n", response.hits_size(),
              static_cast<long long>(response.total_count()));
  return 0;
}

int DialogShow(const std::vector<std::string>& args, const CtlContext& ctx) {
  if (args.size() != 1) return Usage("dialog show <dialog_id>");
  auto stub = crm::RecordService::NewStub(ctx.Channel("crm"));
  auto call = ctx.Call();
  if (!call.ok()) return CallFailed(call.status());
  crm::GetDialogRequest request;
  request.set_dialog_id(args[0]);
  crm::GetDialogResponse dialog;
  grpc::Status status = stub->GetDialog(call->get(), request, &dialog);
  if (!status.ok()) return Failed(status);
  crm::DialogHit hit;
  *hit.mutable_dialog() = dialog.dialog();
  std::printf("%s\n", DialogLine(hit).c_str());
  if (!dialog.dialog().summary().text().empty()) {
    std::printf("summary: %s\n", dialog.dialog().summary().text().c_str());
  }
  crm::GetTranscriptRequest transcript;
  transcript.set_dialog_id(args[0]);
  transcript.set_page_size(500);
  do {
    auto page_call = ctx.Call();
    if (!page_call.ok()) return CallFailed(page_call.status());
    crm::GetTranscriptResponse page;
    status = stub->GetTranscript(page_call->get(), transcript, &page);
    if (!status.ok()) return Failed(status);
    for (const auto& m : page.messages()) {
      std::string body = m.has_file()     ? absl::StrCat("[file] ", m.file().file_name())
                         : m.has_notice() ? absl::StrCat("[notice] ", m.notice().zh())
                                          : m.text();
      std::printf(
          "%4lld %s %-8s %s\n", static_cast<long long>(m.sequence()), Time(m.sent_time()).c_str(),
          EnumName(common::ParticipantType_descriptor(), m.sender().type(), "PARTICIPANT_TYPE_")
              .c_str(),
          body.c_str());
    }
    transcript.set_page_token(page.next_page_token());
  } while (!transcript.page_token().empty());
  return 0;
}

int VisitorShow(const std::vector<std::string>& args, const CtlContext& ctx) {
  if (args.size() != 1) return Usage("visitor show <visitor_id>");
  auto stub = crm::RecordService::NewStub(ctx.Channel("crm"));
  auto call = ctx.Call();
  if (!call.ok()) return CallFailed(call.status());
  crm::GetVisitorRequest request;
  request.set_visitor_id(args[0]);
  crm::GetVisitorResponse visitor;
  grpc::Status status = stub->GetVisitor(call->get(), request, &visitor);
  if (!status.ok()) return Failed(status);
  const auto& v = visitor.visitor();
  std::printf("visitor:  %s (%d visits, last seen %s from %s %s%s)\n", v.visitor_id().c_str(),
              v.visit_count(), Time(v.last_seen_time()).c_str(), OrDash(v.last_ip()).c_str(),
              v.last_region().province().c_str(), v.last_region().city().c_str());
  if (v.has_customer()) {
    std::printf("customer: %s %s\n", v.customer().customer_number().c_str(),
                v.customer().name().c_str());
  }
  auto visits_call = ctx.Call();
  if (!visits_call.ok()) return CallFailed(visits_call.status());
  crm::ListVisitsRequest list;
  list.set_visitor_id(args[0]);
  list.set_page_size(20);
  crm::ListVisitsResponse visits;
  status = stub->ListVisits(visits_call->get(), list, &visits);
  if (!status.ok()) return Failed(status);
  for (const auto& visit : visits.visits()) {
    const auto& r = visit.referrer();
    // F5: the referrer as the domain, or `engine (keyword)` for a search engine.
    std::string from = r.search_engine().empty() ? OrDash(r.domain())
                       : r.search_keyword().empty()
                           ? r.search_engine()
                           : absl::StrCat(r.search_engine(), " (", r.search_keyword(), ")");
    std::printf("visit %s  %s  from %s\n", visit.visit_id().c_str(),
                Time(visit.start_time()).c_str(), from.c_str());
    for (const auto& page : visit.pages()) {
      std::printf(
          "    %s  %-24s %s%s\n", Time(page.entered_time()).c_str(), page.title().c_str(),
          page.url().c_str(),
          page.has_dwell() ? absl::StrCat("  (", page.dwell().seconds(), " s)").c_str() : "");
    }
  }
  return 0;
}

}  // namespace

std::vector<CommandSpec> CrmCommands() {
  return {
      {"customer show", "customer show <customer_id>", "print a customer card (F50)", CustomerShow},
      {"customer search", "customer search <text>",
       "find customers by name, number, phone, email or IM account", CustomerSearch},
      {"customer identify", "customer identify phone|email|visitor|im <value>",
       "match a contact to a customer, creating a NEW one if nobody matches (F2)",
       CustomerIdentify},
      {"dialog search", "dialog search [words...]",
       "search dialogs by words in their transcripts (F51)", DialogSearch},
      {"dialog show", "dialog show <dialog_id>", "print a dialog and its transcript (F51, F53)",
       DialogShow},
      {"visitor show", "visitor show <visitor_id>",
       "print a website visitor and their visit trail (F5)", VisitorShow},
  };
}

}  // namespace kefu::ctl
