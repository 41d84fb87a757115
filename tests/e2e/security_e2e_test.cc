// Security end to end (issue 10), on one stack of the seven binaries: bad tokens, the role
// matrix of every RPC, cross-tenant ids (BOLA), size limits, per-tenant rate limits,
// injection strings, and what the logs must not hold. TLS on a service of its own.
// docs/SECURITY.md describes what these tests show and what they leave out.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "kefu/crm/v1/customer.grpc.pb.h"
#include "kefu/crm/v1/record.grpc.pb.h"
#include "kefu/gateway/v1/gateway.grpc.pb.h"
#include "kefu/identity/v1/auth.grpc.pb.h"
#include "kefu/identity/v1/verification.grpc.pb.h"
#include "kefu/kb/v1/bot.grpc.pb.h"
#include "kefu/kb/v1/knowledge_admin.grpc.pb.h"
#include "kefu/router/v1/routing_admin.grpc.pb.h"
#include "libs/auth/authorize.h"
#include "libs/auth/token.h"
#include "tests/e2e/client.h"
#include "tests/e2e/stack.h"
#include "tests/support/pki.h"
#include "tests/support/process.h"
#include "tests/support/servers.h"
#include "tools/kefuctl/probe.h"

namespace {

namespace cv1 = kefu::common::v1;
namespace crm = kefu::crm::v1;
namespace gv1 = kefu::gateway::v1;
namespace iv1 = kefu::identity::v1;
namespace kb = kefu::kb::v1;
namespace rv1 = kefu::router::v1;

// Who gets past authorization, per RPC, for the callers a person can be: "widget" (a customer
// token for an entry point, before any contact: IssueEntryPointToken), "customer" (a customer
// token bound to one contact: what StartContact returns), and the staff roles agent,
// supervisor and admin. Read off each handler's Authenticator::Require(...) and the checks
// right after it (RequireCustomer, AgentCall, Authorize, Staff; reporting's QueryOf denies
// agents the group reports). "-" is a method only kefu services (ROLE_SERVICE) may call,
// "open" needs no token, "unbuilt" answers UNIMPLEMENTED to everyone (none at the moment).
// Every RPC the stack serves must have a row, and every row an RPC: a new RPC fails this
// test until its callers are written down here.
struct Allowed {
  const char* method;
  const char* roles;
};
const Allowed kRoleMatrix[] = {
    {"/kefu.crm.v1.CustomerService/BindExclusiveAgent", "supervisor admin"},
    {"/kefu.crm.v1.CustomerService/CreateCustomer", "agent supervisor admin"},
    {"/kefu.crm.v1.CustomerService/GetCustomer", "agent supervisor admin"},
    {"/kefu.crm.v1.CustomerService/GetRegistrationForm", "agent supervisor admin"},
    {"/kefu.crm.v1.CustomerService/GetTierRules", "agent supervisor admin"},
    {"/kefu.crm.v1.CustomerService/IdentifyCustomer", "agent supervisor admin"},
    {"/kefu.crm.v1.CustomerService/ListCustomers", "agent supervisor admin"},
    {"/kefu.crm.v1.CustomerService/SearchCustomers", "agent supervisor admin"},
    {"/kefu.crm.v1.CustomerService/SetRegistrationForm", "admin"},
    {"/kefu.crm.v1.CustomerService/SetTier", "supervisor admin"},
    {"/kefu.crm.v1.CustomerService/SetTierRules", "admin"},
    {"/kefu.crm.v1.CustomerService/SubmitRegistration", "agent supervisor admin"},
    {"/kefu.crm.v1.CustomerService/UpdateCustomer", "agent supervisor admin"},
    {"/kefu.crm.v1.RecordService/CreateContactPlan", "agent supervisor admin"},
    {"/kefu.crm.v1.RecordService/CreateOfflineMessage", "agent supervisor admin"},
    {"/kefu.crm.v1.RecordService/DeleteContactPlan", "agent supervisor admin"},
    {"/kefu.crm.v1.RecordService/DownloadFile", "agent supervisor admin"},
    {"/kefu.crm.v1.RecordService/GetDialog", "agent supervisor admin"},
    {"/kefu.crm.v1.RecordService/GetOfflineMessage", "agent supervisor admin"},
    {"/kefu.crm.v1.RecordService/GetTranscript", "agent supervisor admin"},
    {"/kefu.crm.v1.RecordService/GetVisitor", "agent supervisor admin"},
    {"/kefu.crm.v1.RecordService/ListContactPlans", "agent supervisor admin"},
    {"/kefu.crm.v1.RecordService/ListOfflineMessages", "agent supervisor admin"},
    {"/kefu.crm.v1.RecordService/ListRatings", "agent supervisor admin"},
    {"/kefu.crm.v1.RecordService/ListVisits", "agent supervisor admin"},
    {"/kefu.crm.v1.RecordService/RateDialog", "supervisor admin"},
    {"/kefu.crm.v1.RecordService/ReplyOfflineMessage", "agent supervisor admin"},
    {"/kefu.crm.v1.RecordService/SearchDialogs", "agent supervisor admin"},
    {"/kefu.crm.v1.RecordService/UpdateContactPlan", "agent supervisor admin"},
    {"/kefu.crm.v1.RecordService/UploadFile", "agent supervisor admin"},
    {"/kefu.gateway.v1.AgentGatewayService/Accept", "agent supervisor"},
    {"/kefu.gateway.v1.AgentGatewayService/Broadcast", "admin"},
    {"/kefu.gateway.v1.AgentGatewayService/Close", "agent supervisor"},
    {"/kefu.gateway.v1.AgentGatewayService/DownloadFile", "agent supervisor admin"},
    {"/kefu.gateway.v1.AgentGatewayService/InviteRating", "agent supervisor"},
    {"/kefu.gateway.v1.AgentGatewayService/InviteVisitor", "agent supervisor"},
    {"/kefu.gateway.v1.AgentGatewayService/ListVisitors", "agent supervisor admin"},
    {"/kefu.gateway.v1.AgentGatewayService/ListWaitingContacts", "agent supervisor admin"},
    {"/kefu.gateway.v1.AgentGatewayService/Monitor", "supervisor admin"},
    {"/kefu.gateway.v1.AgentGatewayService/PickUp", "agent supervisor"},
    {"/kefu.gateway.v1.AgentGatewayService/Reject", "agent supervisor"},
    {"/kefu.gateway.v1.AgentGatewayService/Send", "agent supervisor"},
    {"/kefu.gateway.v1.AgentGatewayService/Transfer", "agent supervisor"},
    {"/kefu.gateway.v1.AgentGatewayService/TransferTargets", "agent supervisor"},
    {"/kefu.gateway.v1.AgentGatewayService/Typing", "agent supervisor"},
    {"/kefu.gateway.v1.AgentGatewayService/Updates", "agent supervisor admin"},
    {"/kefu.gateway.v1.AgentGatewayService/UploadFile", "agent supervisor"},
    {"/kefu.gateway.v1.CustomerGatewayService/AnswerChallenge", "customer"},
    {"/kefu.gateway.v1.CustomerGatewayService/ChooseAgent", "customer"},
    {"/kefu.gateway.v1.CustomerGatewayService/DownloadFile", "customer"},
    {"/kefu.gateway.v1.CustomerGatewayService/End", "customer"},
    {"/kefu.gateway.v1.CustomerGatewayService/GetEntryConfig", "widget"},
    {"/kefu.gateway.v1.CustomerGatewayService/LeaveMessage", "widget customer"},
    {"/kefu.gateway.v1.CustomerGatewayService/Rate", "customer"},
    {"/kefu.gateway.v1.CustomerGatewayService/RequestAgent", "customer"},
    {"/kefu.gateway.v1.CustomerGatewayService/Send", "customer"},
    {"/kefu.gateway.v1.CustomerGatewayService/StartContact", "widget"},
    {"/kefu.gateway.v1.CustomerGatewayService/SuggestAgents", "customer"},
    {"/kefu.gateway.v1.CustomerGatewayService/TrackVisit", "widget customer"},
    {"/kefu.gateway.v1.CustomerGatewayService/Typing", "customer"},
    {"/kefu.gateway.v1.CustomerGatewayService/Updates", "widget customer"},
    {"/kefu.gateway.v1.CustomerGatewayService/UploadFile", "customer"},
    {"/kefu.gateway.v1.CustomerGatewayService/VerifyCaller", "customer"},
    {"/kefu.identity.v1.AuthService/ChangePassword", "agent supervisor admin"},
    {"/kefu.identity.v1.AuthService/CreateTenant", "-"},
    {"/kefu.identity.v1.AuthService/CreateUser", "admin"},
    {"/kefu.identity.v1.AuthService/DisableUser", "admin"},
    {"/kefu.identity.v1.AuthService/EnableUser", "admin"},
    {"/kefu.identity.v1.AuthService/GetTenant", "agent supervisor admin"},
    {"/kefu.identity.v1.AuthService/GetUser", "agent supervisor admin"},
    {"/kefu.identity.v1.AuthService/IssueCustomerToken", "-"},
    {"/kefu.identity.v1.AuthService/IssueEntryPointToken", "admin"},
    {"/kefu.identity.v1.AuthService/ListUsers", "supervisor admin"},
    {"/kefu.identity.v1.AuthService/Login", "open"},
    {"/kefu.identity.v1.AuthService/Refresh", "open"},
    {"/kefu.identity.v1.AuthService/ResetPassword", "admin"},
    {"/kefu.identity.v1.AuthService/RevokeToken", "open"},
    {"/kefu.identity.v1.AuthService/UpdateTenantSettings", "admin"},
    {"/kefu.identity.v1.AuthService/UpdateUser", "admin"},
    {"/kefu.identity.v1.VerificationService/AnswerChallenge", "agent supervisor admin"},
    {"/kefu.identity.v1.VerificationService/DeleteVoiceprint", "agent supervisor admin"},
    {"/kefu.identity.v1.VerificationService/EnrollVoiceprint", "agent supervisor admin"},
    {"/kefu.identity.v1.VerificationService/GetVoiceprint", "agent supervisor admin"},
    {"/kefu.identity.v1.VerificationService/SetSecretAnswers", "agent supervisor admin"},
    {"/kefu.identity.v1.VerificationService/StartChallenge", "agent supervisor admin"},
    {"/kefu.identity.v1.VerificationService/VerifyVoice", "agent supervisor admin"},
    {"/kefu.kb.v1.BotService/Ask", "supervisor admin"},
    {"/kefu.kb.v1.BotService/Search", "agent supervisor admin"},
    {"/kefu.kb.v1.CannedPhraseService/CreatePhrase", "agent supervisor admin"},
    {"/kefu.kb.v1.CannedPhraseService/CreatePhraseCategory", "agent supervisor admin"},
    {"/kefu.kb.v1.CannedPhraseService/DeletePhrase", "agent supervisor admin"},
    {"/kefu.kb.v1.CannedPhraseService/DeletePhraseCategory", "agent supervisor admin"},
    {"/kefu.kb.v1.CannedPhraseService/ListPhraseCategories", "agent supervisor admin"},
    {"/kefu.kb.v1.CannedPhraseService/ListPhrases", "agent supervisor admin"},
    {"/kefu.kb.v1.CannedPhraseService/UpdatePhrase", "agent supervisor admin"},
    {"/kefu.kb.v1.CannedPhraseService/UpdatePhraseCategory", "agent supervisor admin"},
    {"/kefu.kb.v1.KnowledgeAdminService/CreateBot", "admin"},
    {"/kefu.kb.v1.KnowledgeAdminService/CreateCategory", "admin"},
    {"/kefu.kb.v1.KnowledgeAdminService/CreateEntry", "admin"},
    {"/kefu.kb.v1.KnowledgeAdminService/DeleteBot", "admin"},
    {"/kefu.kb.v1.KnowledgeAdminService/DeleteCategory", "admin"},
    {"/kefu.kb.v1.KnowledgeAdminService/DeleteEntry", "admin"},
    {"/kefu.kb.v1.KnowledgeAdminService/ExportEntries", "agent supervisor admin"},
    {"/kefu.kb.v1.KnowledgeAdminService/GetBot", "agent supervisor admin"},
    {"/kefu.kb.v1.KnowledgeAdminService/GetEntry", "agent supervisor admin"},
    {"/kefu.kb.v1.KnowledgeAdminService/ImportEntries", "admin"},
    {"/kefu.kb.v1.KnowledgeAdminService/ListBots", "agent supervisor admin"},
    {"/kefu.kb.v1.KnowledgeAdminService/ListCategories", "agent supervisor admin"},
    {"/kefu.kb.v1.KnowledgeAdminService/ListEntries", "agent supervisor admin"},
    {"/kefu.kb.v1.KnowledgeAdminService/UpdateBot", "admin"},
    {"/kefu.kb.v1.KnowledgeAdminService/UpdateCategory", "admin"},
    {"/kefu.kb.v1.KnowledgeAdminService/UpdateEntry", "admin"},
    {"/kefu.presence.v1.PresenceService/GetAgent", "agent supervisor admin"},
    {"/kefu.presence.v1.PresenceService/GetPresenceSettings", "agent supervisor admin"},
    {"/kefu.presence.v1.PresenceService/Heartbeat", "agent"},
    {"/kefu.presence.v1.PresenceService/ListAgents", "agent supervisor admin"},
    {"/kefu.presence.v1.PresenceService/Login", "agent"},
    {"/kefu.presence.v1.PresenceService/Logout", "agent"},
    {"/kefu.presence.v1.PresenceService/ReportSeat", "admin"},
    {"/kefu.presence.v1.PresenceService/SetStatus", "agent supervisor admin"},
    {"/kefu.presence.v1.PresenceService/UpdatePresenceSettings", "admin"},
    {"/kefu.presence.v1.PresenceService/Watch", "supervisor admin"},
    {"/kefu.reporting.v1.MonitorService/GetSnapshot", "supervisor admin"},
    {"/kefu.reporting.v1.MonitorService/WatchSnapshot", "supervisor admin"},
    {"/kefu.reporting.v1.ReportService/ExportCsv", "agent supervisor admin"},
    {"/kefu.reporting.v1.ReportService/GetAgentDailyReport", "agent supervisor admin"},
    {"/kefu.reporting.v1.ReportService/GetAgentScorecard", "agent supervisor admin"},
    {"/kefu.reporting.v1.ReportService/GetGroupDailyReport", "supervisor admin"},
    {"/kefu.reporting.v1.ReportService/GetGroupHourlyReport", "supervisor admin"},
    {"/kefu.reporting.v1.ReportService/GetOfflineMessageReport", "supervisor admin"},
    {"/kefu.reporting.v1.ReportService/GetOnlineTimeReport", "agent supervisor admin"},
    {"/kefu.reporting.v1.ReportService/GetSatisfactionReport", "agent supervisor admin"},
    {"/kefu.router.v1.RoutingAdminService/CreateDepartment", "admin"},
    {"/kefu.router.v1.RoutingAdminService/CreateEntryPoint", "admin"},
    {"/kefu.router.v1.RoutingAdminService/CreateQueue", "admin"},
    {"/kefu.router.v1.RoutingAdminService/CreateRegionStrategy", "admin"},
    {"/kefu.router.v1.RoutingAdminService/DeleteAgentProfile", "admin"},
    {"/kefu.router.v1.RoutingAdminService/DeleteDepartment", "admin"},
    {"/kefu.router.v1.RoutingAdminService/DeleteEntryPoint", "admin"},
    {"/kefu.router.v1.RoutingAdminService/DeleteQueue", "admin"},
    {"/kefu.router.v1.RoutingAdminService/DeleteRegionStrategy", "admin"},
    {"/kefu.router.v1.RoutingAdminService/GetAgentProfile", "agent supervisor admin"},
    {"/kefu.router.v1.RoutingAdminService/GetDepartment", "agent supervisor admin"},
    {"/kefu.router.v1.RoutingAdminService/GetEntryPoint", "supervisor admin"},
    {"/kefu.router.v1.RoutingAdminService/GetQueue", "supervisor admin"},
    {"/kefu.router.v1.RoutingAdminService/GetTierMap", "supervisor admin"},
    {"/kefu.router.v1.RoutingAdminService/ListAgentProfiles", "supervisor admin"},
    {"/kefu.router.v1.RoutingAdminService/ListDepartments", "agent supervisor admin"},
    {"/kefu.router.v1.RoutingAdminService/ListEntryPoints", "supervisor admin"},
    {"/kefu.router.v1.RoutingAdminService/ListQueues", "supervisor admin"},
    {"/kefu.router.v1.RoutingAdminService/ListRegionStrategies", "supervisor admin"},
    {"/kefu.router.v1.RoutingAdminService/SetAgentProfile", "admin"},
    {"/kefu.router.v1.RoutingAdminService/SetCapabilityScores", "admin"},
    {"/kefu.router.v1.RoutingAdminService/SetTierMap", "admin"},
    {"/kefu.router.v1.RoutingAdminService/UpdateDepartment", "admin"},
    {"/kefu.router.v1.RoutingAdminService/UpdateEntryPoint", "admin"},
    {"/kefu.router.v1.RoutingAdminService/UpdateQueue", "admin"},
    {"/kefu.router.v1.RoutingAdminService/UpdateRegionStrategy", "admin"},
    {"/kefu.router.v1.RoutingService/AcceptOffer", "agent"},
    {"/kefu.router.v1.RoutingService/BindExclusiveAgent", "admin"},
    {"/kefu.router.v1.RoutingService/Cancel", "-"},
    {"/kefu.router.v1.RoutingService/Enqueue", "-"},
    {"/kefu.router.v1.RoutingService/ListWaitingContacts", "agent supervisor admin"},
    {"/kefu.router.v1.RoutingService/PickUp", "agent"},
    {"/kefu.router.v1.RoutingService/QueueStatus", "agent supervisor admin"},
    {"/kefu.router.v1.RoutingService/RejectOffer", "agent"},
    {"/kefu.router.v1.RoutingService/Release", "agent"},
    {"/kefu.router.v1.RoutingService/ResolveRegion", "agent supervisor admin"},
    {"/kefu.router.v1.RoutingService/SuggestAgents", "-"},
    {"/kefu.router.v1.RoutingService/Transfer", "agent"},
    {"/kefu.router.v1.RoutingService/TransferTargets", "agent"},
};

const char* const kRoleNames[] = {"widget", "customer", "agent", "supervisor", "admin"};
const cv1::Role kRoles[] = {cv1::ROLE_CUSTOMER, cv1::ROLE_CUSTOMER, cv1::ROLE_AGENT,
                            cv1::ROLE_SUPERVISOR, cv1::ROLE_ADMIN};

using e2e::ClaimsFor;
using e2e::Codec;
using e2e::Token;
using e2e::With;

std::shared_ptr<grpc::Channel> Channel(int port) {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(64 << 20);
  return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                   grpc::InsecureChannelCredentials(), args);
}

struct Target {
  std::shared_ptr<grpc::Channel> channel;
  std::string method;
};

// Calls every target at once with `payload` (a serialized request; "" is the empty message)
// and `token`, each with its own `deadline`; the statuses in order. Server streams that a
// role may open run until the deadline, so a short one keeps the walk fast.
std::vector<grpc::Status> CallAll(const std::vector<Target>& targets, const std::string& token,
                                  absl::Duration deadline, const std::string& payload = "") {
  struct Pending {
    grpc::ClientContext ctx;
    grpc::ByteBuffer request;
    grpc::ByteBuffer response;
    std::unique_ptr<grpc::GenericStub> stub;
  };
  std::vector<std::unique_ptr<Pending>> calls;
  std::vector<grpc::Status> statuses(targets.size());
  std::mutex mu;
  std::condition_variable cv;
  size_t done = 0;
  for (size_t i = 0; i < targets.size(); ++i) {
    auto call = std::make_unique<Pending>();
    call->ctx.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    if (!token.empty()) call->ctx.AddMetadata("authorization", "Bearer " + token);
    grpc::Slice slice(payload);
    call->request = grpc::ByteBuffer(&slice, 1);
    call->stub = std::make_unique<grpc::GenericStub>(targets[i].channel);
    call->stub->UnaryCall(&call->ctx, targets[i].method, grpc::StubOptions(), &call->request,
                          &call->response, [&, i](grpc::Status s) {
                            std::lock_guard lock(mu);
                            statuses[i] = std::move(s);
                            ++done;
                            cv.notify_one();
                          });
    calls.push_back(std::move(call));
  }
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return done == targets.size(); });
  return statuses;
}

// Every kefu RPC of the stack, found through each server's reflection.
std::vector<Target> WalkRpcs(const e2e::Stack& stack) {
  std::vector<Target> targets;
  for (const auto& [name, ports] : stack.ports()) {
    const std::string addr = absl::StrCat("127.0.0.1:", ports.grpc);
    auto channel = Channel(ports.grpc);
    auto services = kefu::ctl::ListServices(addr, absl::Seconds(5));
    REQUIRE(services.ok());
    for (const std::string& service : *services) {
      if (!absl::StartsWith(service, "kefu.")) continue;
      auto methods = kefu::ctl::ListMethods(addr, service, absl::Seconds(5));
      REQUIRE(methods.ok());
      for (const std::string& method : *methods) targets.push_back({channel, method});
    }
  }
  return targets;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Strings that would break out of a SQL literal or a Lua string built by concatenation, and
// text outside ASCII; each must come back byte for byte.
const std::vector<std::string> kHostile = {
    "'); DROP TABLE customers;--",
    "\" .. redis.call('FLUSHALL') .. \"",
    "Robert'); DELETE FROM kb.entries WHERE ('1'='1",
    "]] redis.call('DEL', KEYS[1]) --[[",
    "Zoë 李小龙 ☎ 🙂 \\x27 %s %n ${jndi:ldap://x}",
};

}  // namespace

TEST_CASE(
    "security: bad tokens, the role matrix, cross-tenant ids, size and rate limits, injection "
    "strings and the logs hold on every service") {
  // Small limits so the test can exceed them; a window of an hour so that a burst crosses a
  // window boundary at most once.
  const std::string limits =
      "/kefu.kb.v1.BotService/Ask=5/1h,/kefu.crm.v1.CustomerService/SearchCustomers=5/1h,"
      "/kefu.identity.v1.VerificationService/VerifyVoice=3/1h";
  e2e::Stack stack(kefu::testing::SharedEnv().redis_url, kefu::testing::FreshDatabase("e2e_sec"),
                   {{"KEFU_RATE_LIMITS", limits}});
  INFO(stack.Logs());
  REQUIRE(stack.SecondsUntilAll("SERVING", 30) >= 0);
  const std::string log_dir(absl::StripPrefix(stack.Logs(), "service logs are in "));
  const auto& ports = stack.ports();

  const std::vector<Target> rpcs = WalkRpcs(stack);
  REQUIRE(rpcs.size() > 150);
  std::map<std::string, std::string> matrix;
  for (const Allowed& row : kRoleMatrix) matrix[row.method] = row.roles;

  // --- (1) expired, forged and malformed tokens: UNAUTHENTICATED on every guarded RPC ---
  {
    const std::string matrix_tenant = kefu::testing::UniqueTenant("secx");
    kefu::auth::Claims expired = ClaimsFor(matrix_tenant, cv1::ROLE_ADMIN, "old-admin");
    expired.issued_at = absl::Now() - absl::Hours(2);
    expired.expires_at = absl::Now() - absl::Hours(1);
    auto other_key = kefu::auth::TokenCodec::Create("an-attackers-key-0123456789abcdefghij");
    REQUIRE(other_key.ok());
    const std::string forged = other_key->Sign(ClaimsFor(matrix_tenant, cv1::ROLE_ADMIN, "x"));
    // The right signature over a changed payload: the role claim raised to admin.
    const std::vector<std::string> agent =
        absl::StrSplit(Token(matrix_tenant, cv1::ROLE_AGENT, "amy"), '.');
    const std::vector<std::string> admin =
        absl::StrSplit(Token(matrix_tenant, cv1::ROLE_ADMIN, "amy"), '.');
    REQUIRE(agent.size() == 3);
    REQUIRE(admin.size() == 3);
    const std::string tampered = absl::StrCat(agent[0], ".", admin[1], ".", agent[2]);
    const std::map<std::string, std::string> bad_tokens = {
        {"expired", Codec().Sign(expired)},
        {"signed with another key", forged},
        {"payload changed after signing", tampered},
        {"malformed", "not-a-jwt"},
        {"three empty parts", ".."},
        {"unsigned (alg none)",
         absl::StrCat("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.", admin[1], ".")},
    };
    std::vector<Target> guarded;
    for (const Target& t : rpcs) {
      if (matrix[t.method] != "open") guarded.push_back(t);
    }
    for (const auto& [what, token] : bad_tokens) {
      auto statuses = CallAll(guarded, token, absl::Seconds(5));
      for (size_t i = 0; i < guarded.size(); ++i) {
        INFO(what << ": " << guarded[i].method << ": " << statuses[i].error_message());
        CHECK(statuses[i].error_code() == grpc::StatusCode::UNAUTHENTICATED);
      }
    }
  }

  // --- (2) the role matrix: no role gets past authorization where it must not ---------
  {
    std::set<std::string> served;
    for (const Target& t : rpcs) served.insert(t.method);
    for (const auto& [method, roles] : matrix) {
      INFO("the matrix lists " << method << ", which no service serves");
      CHECK(served.contains(method));
    }
    for (const std::string& method : served) {
      INFO(method << " is served but has no row in kRoleMatrix: write down who may call it");
      CHECK(matrix.contains(method));
    }
    const std::string tenant = kefu::testing::UniqueTenant("secm");
    for (size_t r = 0; r < std::size(kRoles); ++r) {
      const std::string role = kRoleNames[r];
      kefu::auth::Claims claims = ClaimsFor(tenant, kRoles[r], absl::StrCat("m-", role));
      if (role == "widget") {
        claims.contact_id.clear();
        claims.entry_point_id = "ep-web";
      }
      auto statuses = CallAll(rpcs, Codec().Sign(claims), absl::Seconds(2));
      for (size_t i = 0; i < rpcs.size(); ++i) {
        const std::string& allowed = matrix[rpcs[i].method];
        const auto code = statuses[i].error_code();
        INFO(role << " calls " << rpcs[i].method << " (allowed: " << allowed << "): " << code << " "
                  << statuses[i].error_message());
        CHECK(code != grpc::StatusCode::UNAUTHENTICATED);
        if (allowed == "unbuilt") {
          CHECK(code == grpc::StatusCode::UNIMPLEMENTED);
        } else if (allowed == "open") {
          CHECK(code != grpc::StatusCode::PERMISSION_DENIED);
        } else if (absl::StrContains(absl::StrCat(" ", allowed, " "),
                                     absl::StrCat(" ", role, " "))) {
          CHECK(code != grpc::StatusCode::PERMISSION_DENIED);
        } else {
          CHECK(code == grpc::StatusCode::PERMISSION_DENIED);
        }
      }
    }
  }

  // Two tenants with their admins, created the way kefuctl bootstraps one.
  auto auth = iv1::AuthService::NewStub(Channel(ports.at("identity").grpc));
  const std::string platform = kefu::auth::PlatformServiceToken(Codec(), "e2e", absl::Minutes(5));
  auto create_tenant = [&](const std::string& prefix) {
    iv1::CreateTenantRequest request;
    request.set_tenant_id(kefu::testing::UniqueTenant(prefix));
    request.set_name(absl::StrCat("Tenant ", prefix));
    request.set_admin_username("boss");
    request.set_admin_password("a-long-password-1");
    request.set_idempotency_key(kefu::auth::RandomId());
    iv1::CreateTenantResponse response;
    auto st = auth->CreateTenant(With(platform).get(), request, &response);
    INFO(st.error_message());
    REQUIRE(st.ok());
    return std::make_pair(request.tenant_id(),
                          Token(request.tenant_id(), cv1::ROLE_ADMIN, response.admin().user_id()));
  };
  const auto [tenant_a, admin_a] = create_tenant("seca");
  const auto [tenant_b, admin_b] = create_tenant("secb");

  auto customers = crm::CustomerService::NewStub(Channel(ports.at("crm").grpc));
  auto records = crm::RecordService::NewStub(Channel(ports.at("crm").grpc));
  auto kb_admin = kb::KnowledgeAdminService::NewStub(Channel(ports.at("kb").grpc));
  auto routing_admin = rv1::RoutingAdminService::NewStub(Channel(ports.at("router").grpc));

  // --- (5) injection strings are stored and returned verbatim --------------------------
  // Also A's objects for the cross-tenant checks below. The phone number and name are what
  // the log check looks for.
  const std::string phone = "+8613912345678";
  const std::string person = "Pérez-Secret 王秘密";
  crm::Customer customer_a;
  {
    crm::CreateCustomerRequest request;
    request.mutable_customer()->set_name(person);
    request.mutable_customer()->add_phones(phone);
    request.mutable_customer()->set_note(kHostile[0]);
    request.set_idempotency_key(kefu::auth::RandomId());
    crm::CreateCustomerResponse response;
    auto st = customers->CreateCustomer(With(admin_a).get(), request, &response);
    INFO(st.error_message());
    REQUIRE(st.ok());
    customer_a = response.customer();
  }
  for (const std::string& hostile : kHostile) {
    INFO("customer name and note: " << hostile);
    crm::CreateCustomerRequest request;
    request.mutable_customer()->set_name(hostile);
    request.mutable_customer()->set_note(hostile);
    request.set_idempotency_key(kefu::auth::RandomId());
    crm::CreateCustomerResponse created;
    auto st = customers->CreateCustomer(With(admin_a).get(), request, &created);
    INFO(st.error_message());
    REQUIRE(st.ok());
    crm::GetCustomerRequest get;
    get.set_customer_id(created.customer().customer_id());
    crm::GetCustomerResponse got;
    REQUIRE(customers->GetCustomer(With(admin_a).get(), get, &got).ok());
    CHECK(got.customer().name() == hostile);
    CHECK(got.customer().note() == hostile);
  }
  for (const std::string& hostile : kHostile) {
    // Five searches: exactly tenant A's SearchCustomers limit in this stack.
    INFO("customer search for: " << hostile);
    crm::SearchCustomersRequest search;
    search.set_query(hostile);
    crm::SearchCustomersResponse found;
    auto st = customers->SearchCustomers(With(admin_a).get(), search, &found);
    INFO(st.error_message());
    CHECK(st.ok());
  }
  std::vector<std::string> entry_ids;
  for (const std::string& hostile : kHostile) {
    INFO("KB question and answer: " << hostile);
    kb::CreateEntryRequest request;
    request.mutable_entry()->set_question(hostile);
    request.mutable_entry()->set_answer(hostile);
    request.set_idempotency_key(kefu::auth::RandomId());
    kb::CreateEntryResponse created;
    auto st = kb_admin->CreateEntry(With(admin_a).get(), request, &created);
    INFO(st.error_message());
    REQUIRE(st.ok());
    kb::GetEntryRequest get;
    get.set_entry_id(created.entry().entry_id());
    kb::GetEntryResponse got;
    REQUIRE(kb_admin->GetEntry(With(admin_a).get(), get, &got).ok());
    CHECK(got.entry().question() == hostile);
    CHECK(got.entry().answer() == hostile);
    entry_ids.push_back(created.entry().entry_id());
  }
  const std::string secret_text = "my card is 4111-1111-1111-1111 secret-message-7";
  std::string offline_id;
  for (const std::string& text : {kHostile[1], kHostile[3], secret_text}) {
    INFO("offline message text: " << text);
    crm::CreateOfflineMessageRequest request;
    request.mutable_offline_message()->set_content(text);
    request.mutable_offline_message()->set_customer_id(customer_a.customer_id());
    request.mutable_offline_message()->set_channel(cv1::CHANNEL_CHAT);
    request.set_idempotency_key(kefu::auth::RandomId());
    crm::CreateOfflineMessageResponse created;
    auto st = records->CreateOfflineMessage(With(admin_a).get(), request, &created);
    INFO(st.error_message());
    REQUIRE(st.ok());
    crm::GetOfflineMessageRequest get;
    get.set_offline_message_id(created.offline_message().offline_message_id());
    crm::GetOfflineMessageResponse got;
    REQUIRE(records->GetOfflineMessage(With(admin_a).get(), get, &got).ok());
    CHECK(got.offline_message().content() == text);
    offline_id = created.offline_message().offline_message_id();
  }
  std::string user_a;
  {
    iv1::CreateUserRequest request;
    request.set_username("amy");
    request.set_display_name(kHostile[2]);
    request.set_role(cv1::ROLE_AGENT);
    request.set_password("another-long-password");
    request.set_idempotency_key(kefu::auth::RandomId());
    iv1::CreateUserResponse created;
    auto st = auth->CreateUser(With(admin_a).get(), request, &created);
    INFO(st.error_message());
    REQUIRE(st.ok());
    user_a = created.user().user_id();
    iv1::GetUserRequest get;
    get.set_user_id(user_a);
    iv1::GetUserResponse got;
    REQUIRE(auth->GetUser(With(admin_a).get(), get, &got).ok());
    CHECK(got.user().display_name() == kHostile[2]);
  }
  {
    rv1::CreateQueueRequest request;
    request.mutable_queue()->set_queue_id("sec-queue");
    request.mutable_queue()->set_name(kHostile[1]);
    request.mutable_queue()->set_is_default(true);
    request.set_idempotency_key(kefu::auth::RandomId());
    rv1::CreateQueueResponse created;
    auto st = routing_admin->CreateQueue(With(admin_a).get(), request, &created);
    INFO(st.error_message());
    REQUIRE(st.ok());
    rv1::GetQueueRequest get;
    get.set_queue_id("sec-queue");
    rv1::GetQueueResponse got;
    REQUIRE(routing_admin->GetQueue(With(admin_a).get(), get, &got).ok());
    CHECK(got.queue().name() == kHostile[1]);
  }
  // A customer's chat through the gateway: their phone number and first words pass through
  // the gateway's Redis scripts, router and crm (and so past every service's logging).
  {
    auto customer_gw = gv1::CustomerGatewayService::NewStub(Channel(ports.at("gateway").grpc));
    gv1::StartContactRequest start;
    start.set_channel(cv1::CHANNEL_CHAT);
    start.set_caller_number(phone);
    start.set_first_message(secret_text);
    start.set_idempotency_key(kefu::auth::RandomId());
    gv1::StartContactResponse contact;
    auto st = customer_gw->StartContact(
        With(Token(tenant_a, cv1::ROLE_SERVICE, "svc:widget")).get(), start, &contact);
    INFO(st.error_message());
    REQUIRE(st.ok());
    gv1::CustomerGatewayServiceSendRequest send;
    send.set_text(absl::StrCat(kHostile[1], " ", secret_text));
    gv1::CustomerGatewayServiceSendResponse sent;
    st = customer_gw->Send(With(contact.customer_token()).get(), send, &sent);
    INFO(st.error_message());
    CHECK(st.ok());
    CHECK(sent.message().text() == send.text());
  }

  // --- (3) BOLA: tenant B's admin cannot see, change or delete A's objects --------------
  {
    auto expect_not_found = [](const char* what, const grpc::Status& st) {
      INFO(what << ": " << st.error_code() << " " << st.error_message());
      CHECK(st.error_code() == grpc::StatusCode::NOT_FOUND);
    };
    crm::GetCustomerRequest get_customer;
    get_customer.set_customer_id(customer_a.customer_id());
    crm::GetCustomerResponse got_customer;
    expect_not_found("GetCustomer",
                     customers->GetCustomer(With(admin_b).get(), get_customer, &got_customer));
    crm::UpdateCustomerRequest update_customer;
    update_customer.mutable_customer()->set_customer_id(customer_a.customer_id());
    update_customer.mutable_customer()->set_name("taken over");
    update_customer.mutable_update_mask()->add_paths("name");
    update_customer.set_idempotency_key(kefu::auth::RandomId());
    crm::UpdateCustomerResponse updated_customer;
    expect_not_found(
        "UpdateCustomer",
        customers->UpdateCustomer(With(admin_b).get(), update_customer, &updated_customer));
    // Naming A's tenant in the request does not help B either.
    get_customer.set_tenant_id(tenant_a);
    auto st = customers->GetCustomer(With(admin_b).get(), get_customer, &got_customer);
    CHECK((st.error_code() == grpc::StatusCode::PERMISSION_DENIED ||
           st.error_code() == grpc::StatusCode::NOT_FOUND));

    kb::GetEntryRequest get_entry;
    get_entry.set_entry_id(entry_ids[0]);
    kb::GetEntryResponse got_entry;
    expect_not_found("GetEntry", kb_admin->GetEntry(With(admin_b).get(), get_entry, &got_entry));
    kb::UpdateEntryRequest update_entry;
    update_entry.mutable_entry()->set_entry_id(entry_ids[0]);
    update_entry.mutable_entry()->set_answer("taken over");
    update_entry.mutable_update_mask()->add_paths("answer");
    update_entry.set_idempotency_key(kefu::auth::RandomId());
    kb::UpdateEntryResponse updated_entry;
    expect_not_found("UpdateEntry",
                     kb_admin->UpdateEntry(With(admin_b).get(), update_entry, &updated_entry));
    kb::DeleteEntryRequest delete_entry;
    delete_entry.set_entry_id(entry_ids[0]);
    delete_entry.set_idempotency_key(kefu::auth::RandomId());
    kb::DeleteEntryResponse deleted_entry;
    expect_not_found("DeleteEntry",
                     kb_admin->DeleteEntry(With(admin_b).get(), delete_entry, &deleted_entry));

    crm::GetOfflineMessageRequest get_offline;
    get_offline.set_offline_message_id(offline_id);
    crm::GetOfflineMessageResponse got_offline;
    expect_not_found("GetOfflineMessage",
                     records->GetOfflineMessage(With(admin_b).get(), get_offline, &got_offline));
    crm::ReplyOfflineMessageRequest reply;
    reply.set_offline_message_id(offline_id);
    reply.set_text("taken over");
    reply.set_channel(crm::REPLY_CHANNEL_SMS);
    reply.set_idempotency_key(kefu::auth::RandomId());
    crm::ReplyOfflineMessageResponse replied;
    expect_not_found("ReplyOfflineMessage",
                     records->ReplyOfflineMessage(With(admin_b).get(), reply, &replied));

    iv1::GetUserRequest get_user;
    get_user.set_user_id(user_a);
    iv1::GetUserResponse got_user;
    expect_not_found("GetUser", auth->GetUser(With(admin_b).get(), get_user, &got_user));
    iv1::UpdateUserRequest update_user;
    update_user.mutable_user()->set_user_id(user_a);
    update_user.mutable_user()->set_display_name("taken over");
    update_user.mutable_update_mask()->add_paths("display_name");
    update_user.set_idempotency_key(kefu::auth::RandomId());
    iv1::UpdateUserResponse updated_user;
    expect_not_found("UpdateUser",
                     auth->UpdateUser(With(admin_b).get(), update_user, &updated_user));
    iv1::DisableUserRequest disable_user;
    disable_user.set_user_id(user_a);
    disable_user.set_idempotency_key(kefu::auth::RandomId());
    iv1::DisableUserResponse disabled_user;
    expect_not_found("DisableUser",
                     auth->DisableUser(With(admin_b).get(), disable_user, &disabled_user));

    rv1::GetQueueRequest get_queue;
    get_queue.set_queue_id("sec-queue");
    rv1::GetQueueResponse got_queue;
    expect_not_found("GetQueue",
                     routing_admin->GetQueue(With(admin_b).get(), get_queue, &got_queue));
    rv1::UpdateQueueRequest update_queue;
    update_queue.mutable_queue()->set_queue_id("sec-queue");
    update_queue.mutable_queue()->set_name("taken over");
    update_queue.mutable_update_mask()->add_paths("name");
    update_queue.set_idempotency_key(kefu::auth::RandomId());
    rv1::UpdateQueueResponse updated_queue;
    expect_not_found("UpdateQueue",
                     routing_admin->UpdateQueue(With(admin_b).get(), update_queue, &updated_queue));
    rv1::DeleteQueueRequest delete_queue;
    delete_queue.set_queue_id("sec-queue");
    delete_queue.set_idempotency_key(kefu::auth::RandomId());
    rv1::DeleteQueueResponse deleted_queue;
    expect_not_found("DeleteQueue",
                     routing_admin->DeleteQueue(With(admin_b).get(), delete_queue, &deleted_queue));

    // A's objects are as A left them.
    get_customer.set_tenant_id("");
    REQUIRE(customers->GetCustomer(With(admin_a).get(), get_customer, &got_customer).ok());
    CHECK(got_customer.customer().name() == person);
    REQUIRE(kb_admin->GetEntry(With(admin_a).get(), get_entry, &got_entry).ok());
    CHECK(got_entry.entry().answer() == kHostile[0]);
    REQUIRE(records->GetOfflineMessage(With(admin_a).get(), get_offline, &got_offline).ok());
    CHECK(got_offline.offline_message().reply_text().empty());
    REQUIRE(auth->GetUser(With(admin_a).get(), get_user, &got_user).ok());
    CHECK(got_user.user().display_name() == kHostile[2]);
    CHECK_FALSE(got_user.user().disabled());
    REQUIRE(routing_admin->GetQueue(With(admin_a).get(), get_queue, &got_queue).ok());
    CHECK(got_queue.queue().name() == kHostile[1]);
  }

  // --- (4) oversized messages and streams ----------------------------------------------
  {
    // Above the default --max-message-bytes (8 MiB): every service refuses it before any
    // handler (or the token check) sees it; health is open, so this is the transport alone.
    grpc::health::v1::HealthCheckRequest huge_health;
    huge_health.set_service(std::string(9 << 20, 'x'));
    for (const auto& [name, port] : ports) {
      auto statuses = CallAll({{Channel(port.grpc), "/grpc.health.v1.Health/Check"}}, "",
                              absl::Seconds(20), huge_health.SerializeAsString());
      INFO(name << ": " << statuses[0].error_code() << " " << statuses[0].error_message());
      CHECK(statuses[0].error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
    }
    const Target search{Channel(ports.at("crm").grpc),
                        "/kefu.crm.v1.CustomerService/SearchCustomers"};
    crm::SearchCustomersRequest huge;
    huge.set_query(std::string(9 << 20, 'x'));
    auto statuses = CallAll({search}, admin_b, absl::Seconds(20), huge.SerializeAsString());
    INFO(statuses[0].error_message());
    CHECK(statuses[0].error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
    // Just under it is read, and refused by the field's own limit instead.
    huge.set_query(std::string(7 << 20, 'x'));
    statuses = CallAll({search}, admin_b, absl::Seconds(20), huge.SerializeAsString());
    INFO(statuses[0].error_message());
    CHECK(statuses[0].error_code() == grpc::StatusCode::INVALID_ARGUMENT);

    // A voice stream longer than the 30 s a verification may send: 64 KiB chunks of 8 kHz
    // PCM16 (16 KB a second) until the server stops it.
    auto verification = iv1::VerificationService::NewStub(Channel(ports.at("identity").grpc));
    auto ctx = With(admin_b);
    iv1::VerifyVoiceResponse verdict;
    auto writer = verification->VerifyVoice(ctx.get(), &verdict);
    iv1::VerifyVoiceRequest first;
    first.mutable_metadata()->set_customer_id("c-long-talker");
    first.mutable_metadata()->mutable_format()->set_encoding(cv1::AUDIO_ENCODING_PCM16);
    first.mutable_metadata()->mutable_format()->set_sample_rate_hz(8000);
    writer->Write(first);
    iv1::VerifyVoiceRequest chunk;
    chunk.mutable_audio()->set_data(std::string(64 << 10, '\1'));
    for (int i = 0; i < 64 && writer->Write(chunk); ++i) {
    }
    writer->WritesDone();
    auto st = writer->Finish();
    INFO(st.error_message());
    CHECK(st.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  }

  // --- rate limits per tenant on Ask, SearchCustomers and VerifyVoice ---------------------
  {
    const std::string tenant_c = kefu::testing::UniqueTenant("secr");
    const std::string admin_c = Token(tenant_c, cv1::ROLE_ADMIN, "boss");
    struct Limited {
      int port;
      std::string method;
      int calls;
      std::string payload;
    };
    kb::AskRequest ask;
    ask.set_question("how do I reset my password?");
    crm::SearchCustomersRequest search;
    search.set_query("wang");
    const std::vector<Limited> limited = {
        {ports.at("kb").grpc, "/kefu.kb.v1.BotService/Ask", 5, ask.SerializeAsString()},
        {ports.at("crm").grpc, "/kefu.crm.v1.CustomerService/SearchCustomers", 5,
         search.SerializeAsString()},
        {ports.at("identity").grpc, "/kefu.identity.v1.VerificationService/VerifyVoice", 3, ""}};
    for (const Limited& l : limited) {
      std::vector<grpc::Status> seen;
      for (int i = 0; i < 2 * l.calls + 1; ++i) {
        seen.push_back(
            CallAll({{Channel(l.port), l.method}}, admin_c, absl::Seconds(5), l.payload)[0]);
      }
      int exhausted = 0;
      for (int i = 0; i < static_cast<int>(seen.size()); ++i) {
        INFO(l.method << " call " << i + 1 << ": " << seen[i].error_code() << " "
                      << seen[i].error_message());
        if (i < l.calls) CHECK(seen[i].error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED);
        if (seen[i].error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
          ++exhausted;
          CHECK_THAT(seen[i].error_message(), Catch::Contains(l.method));
          CHECK_THAT(seen[i].error_message(), Catch::Contains(absl::StrCat("at most ", l.calls)));
        }
      }
      INFO(l.method);
      CHECK(exhausted >= l.calls);
      // Another tenant is not held back by this one's flood.
      auto other = CallAll({{Channel(l.port), l.method}},
                           Token(kefu::testing::UniqueTenant("seco"), cv1::ROLE_ADMIN, "boss"),
                           absl::Seconds(5), l.payload)[0];
      CHECK(other.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED);
    }
    // The gateway asks for customers with a platform token: the request's tenant is counted.
    ask.set_tenant_id(tenant_c);
    auto through_platform = CallAll({{Channel(ports.at("kb").grpc), "/kefu.kb.v1.BotService/Ask"}},
                                    platform, absl::Seconds(5), ask.SerializeAsString())[0];
    CHECK(through_platform.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  }

  // --- (6) no phone number, customer name or message text in any service's log --------
  {
    // Let crm and reporting consume the events of the traffic above first.
    absl::SleepFor(absl::Seconds(2));
    int logs = 0;
    for (const auto& [name, port] : ports) {
      const std::string log = ReadFile(absl::StrCat(log_dir, "/", name, ".log"));
      INFO(name << ".log");
      CHECK_FALSE(log.empty());
      ++logs;
      for (const std::string& secret :
           {phone, std::string("13912345678"), person, std::string("Pérez-Secret"), secret_text,
            std::string("secret-message-7"), kHostile[0]}) {
        INFO("must not appear: " << secret);
        CHECK_FALSE(absl::StrContains(log, secret));
      }
    }
    CHECK(logs == 7);
  }
}

namespace {

using kefu::testing::CheckLiveness;

std::shared_ptr<grpc::ChannelCredentials> TrustOnly(const std::string& ca_path) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ReadFile(ca_path);
  return grpc::SslCredentials(options);
}

}  // namespace

TEST_CASE(
    "a service started with --tls-cert/--tls-key answers TLS clients that trust its CA and no "
    "plaintext client") {
  auto made = kefu::testing::MakeTestPki("kefu-tls");
  INFO(made.status().ToString());
  REQUIRE(made.ok());
  const kefu::testing::TestPki& pki = *made;
  e2e::RedisDatabase redis(kefu::testing::SharedEnv().redis_url);
  const int port = kefu::testing::FreePort();
  const std::string log = pki.dir + "/presence.log";
  auto pid = kefu::testing::Spawn(
      {absl::StrCat(KEFU_BIN_DIR, "/kefu-presence")}, log, {},
      {{"KEFU_GRPC_ADDR", absl::StrCat("127.0.0.1:", port)},
       {"KEFU_METRICS_ADDR", absl::StrCat("127.0.0.1:", kefu::testing::FreePort())},
       {"KEFU_REDIS_URL", redis.url()},
       {"KEFU_JWT_KEY", e2e::kJwtKey},
       {"KEFU_TLS_CERT", pki.cert},
       {"KEFU_TLS_KEY", pki.key}});
  REQUIRE(pid.ok());
  INFO("kefu-presence log: " << log);
  const std::string addr = absl::StrCat("127.0.0.1:", port);

  grpc::Status tls;
  const absl::Time give_up = absl::Now() + absl::Seconds(15);
  do {
    tls = CheckLiveness(grpc::CreateChannel(addr, TrustOnly(pki.ca)));
    if (!tls.ok()) absl::SleepFor(absl::Milliseconds(100));
  } while (!tls.ok() && absl::Now() < give_up);
  INFO(tls.error_message());
  CHECK(tls.ok());
  // The same call in plaintext, and over TLS from a client that trusts another CA, fail.
  CHECK(CheckLiveness(grpc::CreateChannel(addr, grpc::InsecureChannelCredentials())).error_code() ==
        grpc::StatusCode::UNAVAILABLE);
  CHECK(CheckLiveness(grpc::CreateChannel(addr, TrustOnly(pki.other_ca))).error_code() ==
        grpc::StatusCode::UNAVAILABLE);
  // An authenticated RPC works over TLS like over plaintext.
  auto statuses = CallAll({{grpc::CreateChannel(addr, TrustOnly(pki.ca)),
                            "/kefu.presence.v1.PresenceService/ListAgents"}},
                          Token("t-tls", cv1::ROLE_ADMIN, "boss"), absl::Seconds(5));
  INFO(statuses[0].error_message());
  CHECK(statuses[0].ok());
  kill(*pid, SIGKILL);
  kefu::testing::WaitForExit(*pid, 5000);

  // Half a TLS configuration is a start-up error, never a silent plaintext server.
  auto half = kefu::testing::RunCommand(
      {absl::StrCat(KEFU_BIN_DIR, "/kefu-presence")},
      {{"KEFU_GRPC_ADDR", "127.0.0.1:0"},
       {"KEFU_METRICS_ADDR", absl::StrCat("127.0.0.1:", kefu::testing::FreePort())},
       {"KEFU_REDIS_URL", redis.url()},
       {"KEFU_JWT_KEY", e2e::kJwtKey},
       {"KEFU_TLS_CERT", pki.cert}});
  CHECK(half.exit_code == 1);
  CHECK_THAT(half.output, Catch::Contains("--tls-key"));
}
