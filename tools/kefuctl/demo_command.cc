// kefuctl demo: simulated agents and customers play realistic traffic against a running
// stack through the gateway's public API, so a new user sees kefu work in one minute.
//
// Set-up (idempotent, as the tenant's admin): one queue per department, departments for
// the three tiers (guide / general / vip, F10) and two topics (billing / tech, F11), plus
// "overseas" with nobody in it (its customers leave offline messages, F33); the tier map;
// known VIP and regular customers by phone number (F2); demo agents with routing profiles,
// logged in to presence, ONLINE, sending heartbeats (F20, F22).
//
// Agents follow their Updates stream: accept offers, greet, answer each customer message
// (typing first), and when the customer goes quiet close with a summary (F31) or, now and
// then, transfer to the other topic department (F18). Customers arrive at --rate per second
// with a mix of tiers, channels and departments, type (the agent sees the draft, F30), send,
// sometimes end themselves, and rate most dialogs after the end (F32).
//
// The last line is `demo contacts=N routed=N ended=N rated=N offline=N lost=N`; lost counts
// started contacts neither ended nor left as an offline message. Exit 1 when lost > 0.
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <queue>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "kefu/crm/v1/customer.grpc.pb.h"
#include "kefu/gateway/v1/gateway.grpc.pb.h"
#include "kefu/identity/v1/auth.grpc.pb.h"
#include "kefu/presence/v1/presence.grpc.pb.h"
#include "kefu/router/v1/routing_admin.grpc.pb.h"
#include "libs/auth/authorize.h"
#include "libs/common/config.h"
#include "libs/common/status.h"
#include "tools/kefuctl/ctl.h"

namespace kefu::ctl {
namespace {

namespace common = kefu::common::v1;
namespace gw = kefu::gateway::v1;
namespace idv1 = kefu::identity::v1;
namespace rv1 = kefu::router::v1;
namespace pv1 = kefu::presence::v1;
namespace crm = kefu::crm::v1;
using google::protobuf::util::TimeUtil;

struct DemoOptions {
  int duration_s = 60;
  int agents = 8;
  std::string rate = "2";  // customers per second, may be fractional
  int drain_s = 90;
  std::string admin_user = "admin";
  std::string admin_password = "demo-admin-password";
};

constexpr char kEntryPoint[] = "demo-web";
constexpr int kMaxConcurrent = 3;

// ---------------------------------------------------------------------------------------
// Small helpers: randomness, a timer queue, call contexts.

class Rng {
 public:
  Rng() : engine_(std::random_device{}()) {}
  double Uniform(double lo, double hi) {
    std::lock_guard<std::mutex> lock(mu_);
    return std::uniform_real_distribution<double>(lo, hi)(engine_);
  }
  int Int(int lo, int hi) {  // inclusive
    std::lock_guard<std::mutex> lock(mu_);
    return std::uniform_int_distribution<int>(lo, hi)(engine_);
  }
  bool Chance(double p) { return Uniform(0, 1) < p; }
  absl::Duration Seconds(double lo, double hi) { return absl::Seconds(Uniform(lo, hi)); }
  template <typename T>
  const T& Pick(const std::vector<T>& items) {
    return items[static_cast<size_t>(Int(0, static_cast<int>(items.size()) - 1))];
  }

 private:
  std::mutex mu_;
  std::mt19937_64 engine_;
};

// Runs delayed actions (a reply after "thinking", an accept after the ring) on a few threads,
// so that stream readers never block on a unary call.
class Scheduler {
 public:
  explicit Scheduler(int threads) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
  }
  ~Scheduler() { Stop(); }

  void After(absl::Duration delay, std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    tasks_.push(Task{absl::Now() + delay, next_++, std::move(fn)});
    cv_.notify_one();
  }

  // Drops pending actions and joins the threads.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_) return;
      stopped_ = true;
      cv_.notify_all();
    }
    for (auto& t : threads_) t.join();
  }

 private:
  struct Task {
    absl::Time due;
    uint64_t seq;
    std::function<void()> fn;
    bool operator>(const Task& other) const {
      return due != other.due ? due > other.due : seq > other.seq;
    }
  };

  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopped_) {
      if (tasks_.empty()) {
        cv_.wait(lock);
        continue;
      }
      const absl::Time due = tasks_.top().due;
      if (absl::Now() < due) {
        cv_.wait_until(lock, absl::ToChronoTime(due));
        continue;
      }
      std::function<void()> fn = tasks_.top().fn;
      tasks_.pop();
      lock.unlock();
      fn();
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::priority_queue<Task, std::vector<Task>, std::greater<>> tasks_;
  uint64_t next_ = 0;
  bool stopped_ = false;
  std::vector<std::thread> threads_;
};

std::unique_ptr<grpc::ClientContext> CallWith(const std::string& token, absl::Duration timeout) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (timeout > absl::ZeroDuration()) {
    ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  }
  if (!token.empty()) auth::AttachToken(ctx.get(), token);
  return ctx;
}

std::string Describe(const grpc::Status& st) { return FromGrpcStatus(st).ToString(); }

bool AlreadyThere(const grpc::Status& st) {
  return st.ok() || st.error_code() == grpc::StatusCode::ALREADY_EXISTS;
}

// ---------------------------------------------------------------------------------------
// What the simulation plays: departments, people and lines.

struct DepartmentSpec {
  std::string id;
  std::string zh;
  std::string en;
};

const std::vector<DepartmentSpec>& Departments() {
  static const auto* d = new std::vector<DepartmentSpec>{
      {"guide", "新客引导", "New customer guides"},
      {"general", "综合服务", "General service"},
      {"vip", "VIP 专席", "VIP desk"},
      {"billing", "账单与发票", "Billing and invoices"},
      {"tech", "技术支持", "Technical support"},
      {"overseas", "海外业务", "Overseas orders"},  // nobody serves it: offline messages
  };
  return *d;
}

const std::vector<std::string>& TierDepartments() {  // index = i % 3 of an agent
  static const auto* d = new std::vector<std::string>{"guide", "general", "vip"};
  return *d;
}

const std::vector<std::string>& TopicDepartments() {
  static const auto* d = new std::vector<std::string>{"billing", "tech"};
  return *d;
}

std::string VipPhone(int i) { return absl::StrFormat("1380000%04d", i); }
std::string RegularPhone(int i) { return absl::StrFormat("1390000%04d", i); }
constexpr int kVipCustomers = 5;
constexpr int kRegularCustomers = 20;

const std::vector<std::string>& AgentNames() {
  static const auto* n = new std::vector<std::string>{
      "小王 Wang", "小李 Li",    "小张 Zhang", "小刘 Liu", "小陈 Chen", "小杨 Yang",
      "小赵 Zhao", "小黄 Huang", "小周 Zhou",  "小吴 Wu",  "小徐 Xu",   "小孙 Sun"};
  return *n;
}

const std::vector<std::string>& CustomerLines() {
  static const auto* l = new std::vector<std::string>{
      "你好，我的订单 {n} 还没有发货，能帮我查一下吗？",
      "Hi, I was charged twice for order {n}.",
      "请问怎么修改收货地址？订单号 {n}",
      "The app crashes when I open my cart.",
      "发票抬头写错了，可以重开吗？",
      "Can I change the delivery date of order {n}?",
      "优惠券为什么用不了？",
      "I forgot my password and the reset mail never arrives.",
      "退货运费谁来承担？",
      "Is there a warranty on this item?",
  };
  return *l;
}

const std::vector<std::string>& FollowUps() {
  static const auto* l = new std::vector<std::string>{
      "好的，大概什么时候能处理好？", "OK, how long will it take?",
      "明白了，还有一个问题。",       "Thanks. One more thing: can you email me the receipt?",
      "那我需要做什么吗？",           "Great, and is the refund automatic?"};
  return *l;
}

const std::vector<std::string>& AgentReplies() {
  static const auto* l =
      new std::vector<std::string>{"好的，我帮您查一下，请稍等。",
                                   "Let me check that for you, one moment.",
                                   "已经为您处理好了，预计 24 小时内生效。",
                                   "I've updated it; you'll get a confirmation email.",
                                   "这个问题我们已经记录，会尽快解决。",
                                   "No action is needed on your side.",
                                   "还有什么可以帮您的吗？",
                                   "Is there anything else I can help with?"};
  return *l;
}

const std::vector<std::string>& Categories() {
  static const auto* c =
      new std::vector<std::string>{"order", "billing", "delivery", "technical", "account"};
  return *c;
}

std::string Fill(std::string line, int n) {
  const auto pos = line.find("{n}");
  if (pos != std::string::npos) line.replace(pos, 3, absl::StrCat("E", 20240000 + n));
  return line;
}

// ---------------------------------------------------------------------------------------
// Counters and the two kinds of simulated people.

struct Counters {
  std::atomic<int> contacts{0}, routed{0}, ended{0}, rated{0}, offline{0};
  std::atomic<int> start_errors{0}, rpc_errors{0}, abandoned{0}, transfers{0};
  std::atomic<int> customer_messages{0}, agent_messages{0}, drafts_seen{0};
  std::atomic<int> offers{0}, accepted{0}, rejected{0}, closed{0}, ratings_seen{0};
  std::atomic<int> waiting{0}, talking{0};
};

struct AgentDialog {
  std::string contact_id;
  int customer_messages = 0;
  bool transferred_in = false;
  bool finishing = false;  // a close or transfer is on its way
};

struct Agent {
  int index = 0;
  std::string username, password, user_id, nickname;
  std::vector<std::string> departments;
  std::mutex mu;
  std::string token;
  absl::Time token_time;
  std::string session_id;
  absl::Duration heartbeat_interval = absl::Seconds(10);
  int64_t last_sequence = 0;
  bool snapshot_seen = false;
  std::map<std::string, AgentDialog> dialogs;  // by dialog id
  std::unique_ptr<grpc::ClientContext> stream;
  std::thread reader;

  std::string Token() {
    std::lock_guard<std::mutex> lock(mu);
    return token;
  }
};

struct Customer {
  int serial = 0;
  common::CustomerTier tier = common::CUSTOMER_TIER_NEW;
  common::Channel channel = common::CHANNEL_CHAT;
  std::string phone, visitor_id, department;
  int turns_max = 1;
  bool ends_itself = false;
  absl::Duration patience;
  std::mutex mu;
  std::string contact_id, dialog_id, token;
  int64_t last_sequence = 0;
  int turns_sent = 0;
  int joins = 0;
  bool awaiting_reply = false;
  bool turn_pending = false;
  bool routed = false;
  bool ended = false;
  bool offline = false;
  bool leaving = false;  // LeaveMessage on its way: the end it causes is not counted as ended
  bool rated = false;
  std::unique_ptr<grpc::ClientContext> stream;
  std::atomic<bool> done{false};
  std::thread thread;
};

class Demo {
 public:
  Demo(const CtlContext& ctx, DemoOptions options, double rate)
      : ctx_(ctx), options_(std::move(options)), rate_(rate), scheduler_(8) {
    if (ctx_.tenant.empty()) ctx_.tenant = "demo";
    gateway_ = ctx_.Channel("gateway");
    customers_stub_ = gw::CustomerGatewayService::NewStub(gateway_);
    agents_stub_ = gw::AgentGatewayService::NewStub(gateway_);
    auth_stub_ = idv1::AuthService::NewStub(ctx_.Channel("identity"));
    presence_stub_ = pv1::PresenceService::NewStub(ctx_.Channel("presence"));
  }

  int Run();

 private:
  // Set-up.
  absl::Status AdminLogin();
  absl::StatusOr<std::unique_ptr<grpc::ClientContext>> Admin() const;
  absl::Status SetUpRouting();
  absl::Status SetUpCustomers();
  absl::Status SetUpEntryPoint();
  absl::Status SetUpAgent(Agent& agent);
  absl::Status LoginAgent(Agent& agent);

  // Agents.
  void AgentLoop(Agent* agent);
  void HandleAgentUpdate(Agent* agent, const gw::AgentGatewayServiceUpdatesResponse& update);
  void AcceptOffer(Agent* agent, const gw::Offer& offer);
  void AgentSend(Agent* agent, const std::string& dialog_id, const std::string& text);
  void MaybeFinish(Agent* agent, const std::string& dialog_id, int seen_messages);
  void CloseDialog(Agent* agent, const std::string& dialog_id, const std::string& note);
  void HeartbeatLoop();

  // Customers.
  std::shared_ptr<Customer> NewCustomer(int serial);
  void CustomerLoop(std::shared_ptr<Customer> c);
  void HandleCustomerUpdate(const std::shared_ptr<Customer>& c,
                            const gw::CustomerGatewayServiceUpdatesResponse& update);
  void CustomerTurn(const std::shared_ptr<Customer>& c);
  void CustomerSend(const std::shared_ptr<Customer>& c, const std::string& token,
                    const std::string& text, int turn);
  void CustomerEnd(const std::shared_ptr<Customer>& c, bool abandon);
  void LeaveMessage(const std::shared_ptr<Customer>& c);
  void MarkEnded(const std::shared_ptr<Customer>& c);
  void Rate(const std::shared_ptr<Customer>& c);

  void Summary(absl::Duration elapsed, const char* phase);
  void RpcError(const char* what, const grpc::Status& st);

  CtlContext ctx_;
  DemoOptions options_;
  double rate_;
  std::string admin_token_;  // from Login when neither --token nor KEFU_JWT_KEY is given
  std::string entry_token_;
  std::shared_ptr<grpc::Channel> gateway_;
  std::unique_ptr<gw::CustomerGatewayService::Stub> customers_stub_;
  std::unique_ptr<gw::AgentGatewayService::Stub> agents_stub_;
  std::unique_ptr<idv1::AuthService::Stub> auth_stub_;
  std::unique_ptr<pv1::PresenceService::Stub> presence_stub_;
  std::vector<std::unique_ptr<Agent>> agents_;
  Counters n_;
  Rng rng_;
  std::atomic<bool> stopping_{false};  // no new arrivals; agents keep serving
  std::atomic<bool> shutdown_{false};  // streams are being torn down
  std::atomic<int> errors_printed_{0};
  // Keeps this run's idempotency keys apart from an earlier run's.
  const std::string run_ = absl::StrCat(absl::ToUnixSeconds(absl::Now()));
  Scheduler scheduler_;
};

void Demo::RpcError(const char* what, const grpc::Status& st) {
  ++n_.rpc_errors;
  if (shutdown_) return;
  if (errors_printed_.fetch_add(1) < 20) {
    std::fprintf(stderr, "demo: %s: %s\n", what, Describe(st).c_str());
  }
}

// ---------------------------------------------------------------------------------------
// Set-up.

absl::Status Demo::AdminLogin() {
  if (!ctx_.token.empty() || !ctx_.jwt_key.empty()) return absl::OkStatus();
  // Neither a token nor the deployment key: log in as the tenant's admin, as scripts/dev.sh
  // created it.
  grpc::ClientContext call;
  call.set_deadline(absl::ToChronoTime(absl::Now() + ctx_.timeout));
  idv1::LoginRequest request;
  request.set_tenant_id(ctx_.tenant);
  request.set_username(options_.admin_user);
  request.set_password(options_.admin_password);
  idv1::LoginResponse response;
  if (auto st = auth_stub_->Login(&call, request, &response); !st.ok()) {
    return absl::UnauthenticatedError(
        absl::StrCat("cannot log in as ", options_.admin_user, " of tenant ", ctx_.tenant, ": ",
                     st.error_message(), " (pass --token, set KEFU_JWT_KEY, or --admin-password)"));
  }
  admin_token_ = response.tokens().access_token();
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<grpc::ClientContext>> Demo::Admin() const {
  if (!admin_token_.empty()) return CallWith(admin_token_, ctx_.timeout);
  return ctx_.Call();
}

absl::Status Demo::SetUpRouting() {
  auto stub = rv1::RoutingAdminService::NewStub(ctx_.Channel("router"));
  for (const DepartmentSpec& d : Departments()) {
    auto call = Admin();
    if (!call.ok()) return call.status();
    rv1::CreateQueueRequest queue;
    queue.mutable_queue()->set_queue_id("q-" + d.id);
    queue.mutable_queue()->set_name(d.en);
    queue.mutable_queue()->set_strategy(rv1::ROUTING_STRATEGY_LEAST_BUSY);
    queue.mutable_queue()->set_is_default(d.id == "general");
    *queue.mutable_queue()->mutable_offer_timeout() = TimeUtil::SecondsToDuration(15);
    queue.set_idempotency_key("kefuctl-demo-queue-" + d.id);
    rv1::CreateQueueResponse queue_response;
    if (auto st = stub->CreateQueue(call->get(), queue, &queue_response); !AlreadyThere(st)) {
      return absl::UnknownError(absl::StrCat("CreateQueue q-", d.id, ": ", Describe(st)));
    }
    call = Admin();
    if (!call.ok()) return call.status();
    rv1::CreateDepartmentRequest dept;
    dept.mutable_department()->set_department_id(d.id);
    dept.mutable_department()->mutable_name()->set_zh(d.zh);
    dept.mutable_department()->mutable_name()->set_en(d.en);
    dept.mutable_department()->set_queue_id("q-" + d.id);
    dept.set_idempotency_key("kefuctl-demo-department-" + d.id);
    rv1::CreateDepartmentResponse dept_response;
    if (auto st = stub->CreateDepartment(call->get(), dept, &dept_response); !AlreadyThere(st)) {
      return absl::UnknownError(absl::StrCat("CreateDepartment ", d.id, ": ", Describe(st)));
    }
  }
  // F10: NEW -> guides, REGULAR -> general, VIP -> the VIP desk.
  auto call = Admin();
  if (!call.ok()) return call.status();
  rv1::SetTierMapRequest tiers;
  const std::vector<std::pair<common::CustomerTier, std::string>> map = {
      {common::CUSTOMER_TIER_NEW, "guide"},
      {common::CUSTOMER_TIER_REGULAR, "general"},
      {common::CUSTOMER_TIER_VIP, "vip"}};
  for (const auto& [tier, department] : map) {
    auto* group = tiers.add_groups();
    group->set_tier(tier);
    group->add_department_ids(department);
  }
  tiers.set_idempotency_key(absl::StrCat("kefuctl-demo-tiermap-", absl::ToUnixMicros(absl::Now())));
  rv1::SetTierMapResponse tiers_response;
  if (auto st = stub->SetTierMap(call->get(), tiers, &tiers_response); !st.ok()) {
    return absl::UnknownError(absl::StrCat("SetTierMap: ", Describe(st)));
  }
  return absl::OkStatus();
}

absl::Status Demo::SetUpCustomers() {
  auto stub = crm::CustomerService::NewStub(ctx_.Channel("crm"));
  auto known = [&](const std::string& phone, const std::string& name,
                   common::CustomerTier tier) -> absl::Status {
    auto call = Admin();
    if (!call.ok()) return call.status();
    crm::IdentifyCustomerRequest identify;
    identify.set_phone(phone);
    identify.set_name(name);
    identify.set_idempotency_key("kefuctl-demo-customer-" + phone);
    crm::IdentifyCustomerResponse identified;
    if (auto st = stub->IdentifyCustomer(call->get(), identify, &identified); !st.ok()) {
      return absl::UnknownError(absl::StrCat("IdentifyCustomer ", phone, ": ", Describe(st)));
    }
    if (identified.customer().tier() == tier && identified.customer().tier_locked()) {
      return absl::OkStatus();
    }
    call = Admin();
    if (!call.ok()) return call.status();
    crm::SetTierRequest set;
    set.set_customer_id(identified.customer().customer_id());
    set.set_tier(tier);
    set.set_lock(true);
    set.set_reason("kefuctl demo");
    crm::SetTierResponse set_response;
    if (auto st = stub->SetTier(call->get(), set, &set_response); !st.ok()) {
      return absl::UnknownError(absl::StrCat("SetTier ", phone, ": ", Describe(st)));
    }
    return absl::OkStatus();
  };
  for (int i = 1; i <= kVipCustomers; ++i) {
    if (auto st = known(VipPhone(i), absl::StrCat("VIP customer ", i), common::CUSTOMER_TIER_VIP);
        !st.ok()) {
      return st;
    }
  }
  for (int i = 1; i <= kRegularCustomers; ++i) {
    if (auto st = known(RegularPhone(i), absl::StrCat("Regular customer ", i),
                        common::CUSTOMER_TIER_REGULAR);
        !st.ok()) {
      return st;
    }
  }
  return absl::OkStatus();
}

absl::Status Demo::SetUpEntryPoint() {
  auto call = Admin();
  if (!call.ok()) return call.status();
  // The web widget customers come through (F16): no designations, so the tier map routes.
  auto router = rv1::RoutingAdminService::NewStub(ctx_.Channel("router"));
  rv1::CreateEntryPointRequest entry;
  entry.mutable_entry_point()->set_entry_point_id(kEntryPoint);
  entry.mutable_entry_point()->set_name("Demo shop web chat");
  entry.mutable_entry_point()->set_channel(common::CHANNEL_CHAT);
  entry.mutable_entry_point()->mutable_greeting()->set_zh("您好，欢迎光临 Demo shop！");
  entry.mutable_entry_point()->mutable_greeting()->set_en("Hello, welcome to Demo shop!");
  entry.set_idempotency_key("kefuctl-demo-entry-point");
  rv1::CreateEntryPointResponse entry_response;
  if (auto st = router->CreateEntryPoint(call->get(), entry, &entry_response); !AlreadyThere(st)) {
    return absl::UnknownError(absl::StrCat("CreateEntryPoint: ", Describe(st)));
  }
  call = Admin();
  if (!call.ok()) return call.status();
  idv1::IssueEntryPointTokenRequest request;
  request.set_entry_point_id(kEntryPoint);
  *request.mutable_ttl() = TimeUtil::SecondsToDuration(24 * 3600);
  idv1::IssueEntryPointTokenResponse response;
  if (auto st = auth_stub_->IssueEntryPointToken(call->get(), request, &response); !st.ok()) {
    return absl::UnknownError(absl::StrCat("IssueEntryPointToken: ", Describe(st)));
  }
  entry_token_ = response.token();
  return absl::OkStatus();
}

absl::Status Demo::LoginAgent(Agent& agent) {
  grpc::ClientContext call;
  call.set_deadline(absl::ToChronoTime(absl::Now() + ctx_.timeout));
  idv1::LoginRequest request;
  request.set_tenant_id(ctx_.tenant);
  request.set_username(agent.username);
  request.set_password(agent.password);
  idv1::LoginResponse response;
  if (auto st = auth_stub_->Login(&call, request, &response); !st.ok()) {
    return absl::UnauthenticatedError(absl::StrCat("Login ", agent.username, ": ", Describe(st)));
  }
  std::lock_guard<std::mutex> lock(agent.mu);
  agent.token = response.tokens().access_token();
  agent.token_time = absl::Now();
  agent.user_id = response.user().user_id();
  return absl::OkStatus();
}

absl::Status Demo::SetUpAgent(Agent& agent) {
  {
    auto call = Admin();
    if (!call.ok()) return call.status();
    idv1::CreateUserRequest create;
    create.set_username(agent.username);
    create.set_display_name(agent.nickname);
    create.set_role(common::ROLE_AGENT);
    create.set_password(agent.password);
    create.set_idempotency_key("kefuctl-demo-user-" + agent.username);
    idv1::CreateUserResponse created;
    if (auto st = auth_stub_->CreateUser(call->get(), create, &created); !AlreadyThere(st)) {
      return absl::UnknownError(absl::StrCat("CreateUser ", agent.username, ": ", Describe(st)));
    }
  }
  if (!LoginAgent(agent).ok()) {
    // The user exists with another password (an older demo): reset it.
    std::string user_id, page_token;
    do {
      auto call = Admin();
      if (!call.ok()) return call.status();
      idv1::ListUsersRequest list;
      list.set_role(common::ROLE_AGENT);
      list.set_include_disabled(true);
      list.set_page_token(page_token);
      idv1::ListUsersResponse users;
      if (auto st = auth_stub_->ListUsers(call->get(), list, &users); !st.ok()) {
        return absl::UnknownError(absl::StrCat("ListUsers: ", Describe(st)));
      }
      for (const auto& u : users.users()) {
        if (u.username() == agent.username) user_id = u.user_id();
      }
      page_token = users.next_page_token();
    } while (user_id.empty() && !page_token.empty());
    if (user_id.empty()) return absl::NotFoundError("user " + agent.username + " not found");
    for (const bool enable : {true, false}) {
      auto call = Admin();
      if (!call.ok()) return call.status();
      if (enable) {
        idv1::EnableUserRequest request;
        request.set_user_id(user_id);
        idv1::EnableUserResponse response;
        (void)auth_stub_->EnableUser(call->get(), request, &response);
      } else {
        idv1::ResetPasswordRequest request;
        request.set_user_id(user_id);
        request.set_new_password(agent.password);
        idv1::ResetPasswordResponse response;
        if (auto st = auth_stub_->ResetPassword(call->get(), request, &response); !st.ok()) {
          return absl::UnknownError(
              absl::StrCat("ResetPassword ", agent.username, ": ", Describe(st)));
        }
      }
    }
    if (auto st = LoginAgent(agent); !st.ok()) return st;
  }
  {
    auto call = Admin();
    if (!call.ok()) return call.status();
    auto stub = rv1::RoutingAdminService::NewStub(ctx_.Channel("router"));
    rv1::SetAgentProfileRequest profile;
    profile.mutable_profile()->set_agent_id(agent.user_id);
    profile.mutable_profile()->set_nickname(agent.nickname);
    for (const auto& d : agent.departments) profile.mutable_profile()->add_department_ids(d);
    profile.mutable_profile()->set_max_concurrent(kMaxConcurrent);
    profile.mutable_profile()->set_capability_score(60 + 5 * (agent.index % 8));
    profile.mutable_profile()->set_enabled(true);
    rv1::SetAgentProfileResponse ignored;
    if (auto st = stub->SetAgentProfile(call->get(), profile, &ignored); !st.ok()) {
      return absl::UnknownError(
          absl::StrCat("SetAgentProfile ", agent.username, ": ", Describe(st)));
    }
  }
  {
    pv1::LoginRequest login;
    login.set_seat_id(absl::StrCat("demo-seat-", agent.index));
    login.set_client_version("kefuctl-demo");
    pv1::LoginResponse session;
    if (auto st =
            presence_stub_->Login(CallWith(agent.Token(), ctx_.timeout).get(), login, &session);
        !st.ok()) {
      return absl::UnknownError(
          absl::StrCat("presence Login ", agent.username, ": ", Describe(st)));
    }
    std::lock_guard<std::mutex> lock(agent.mu);
    agent.session_id = session.session_id();
    if (session.has_heartbeat_interval()) {
      agent.heartbeat_interval =
          absl::Milliseconds(TimeUtil::DurationToMilliseconds(session.heartbeat_interval()));
    }
  }
  pv1::SetStatusRequest online;
  online.set_status(common::AGENT_STATUS_ONLINE);
  pv1::SetStatusResponse status;
  if (auto st =
          presence_stub_->SetStatus(CallWith(agent.Token(), ctx_.timeout).get(), online, &status);
      !st.ok()) {
    return absl::UnknownError(absl::StrCat("SetStatus ", agent.username, ": ", Describe(st)));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------
// Agents.

void Demo::HeartbeatLoop() {
  absl::Duration interval = absl::Seconds(10);
  for (const auto& agent : agents_) interval = std::min(interval, agent->heartbeat_interval);
  absl::Time next = absl::Now();
  while (!shutdown_) {
    if (absl::Now() < next) {
      absl::SleepFor(std::min(absl::Milliseconds(200), next - absl::Now()));
      continue;
    }
    next = absl::Now() + interval;
    for (const auto& agent : agents_) {
      if (shutdown_) break;
      // Staff tokens last 15 minutes: log in again well before.
      bool refresh;
      {
        std::lock_guard<std::mutex> lock(agent->mu);
        refresh = absl::Now() - agent->token_time > absl::Minutes(10);
      }
      if (refresh) (void)LoginAgent(*agent);
      pv1::HeartbeatRequest beat;
      {
        std::lock_guard<std::mutex> lock(agent->mu);
        beat.set_session_id(agent->session_id);
      }
      pv1::HeartbeatResponse response;
      auto st =
          presence_stub_->Heartbeat(CallWith(agent->Token(), ctx_.timeout).get(), beat, &response);
      if (!st.ok()) {
        RpcError("presence Heartbeat", st);
        continue;
      }
      // Back ONLINE when a missed heartbeat turned the agent OFFLINE.
      if (response.status() == common::AGENT_STATUS_OFFLINE && !stopping_) {
        pv1::SetStatusRequest online;
        online.set_status(common::AGENT_STATUS_ONLINE);
        pv1::SetStatusResponse status;
        (void)presence_stub_->SetStatus(CallWith(agent->Token(), ctx_.timeout).get(), online,
                                        &status);
      }
    }
  }
}

void Demo::AgentLoop(Agent* agent) {
  int failures = 0;
  while (!shutdown_) {
    gw::AgentGatewayServiceUpdatesRequest request;
    grpc::ClientContext* ctx;
    {
      // Under the lock that the tear-down takes to cancel: no stream opens after it.
      std::lock_guard<std::mutex> lock(agent->mu);
      if (shutdown_) break;
      request.set_resume_after_sequence(agent->last_sequence);
      agent->stream = CallWith(agent->token, absl::ZeroDuration());
      ctx = agent->stream.get();
    }
    auto reader = agents_stub_->Updates(ctx, request);
    gw::AgentGatewayServiceUpdatesResponse update;
    while (reader->Read(&update)) {
      failures = 0;
      {
        std::lock_guard<std::mutex> lock(agent->mu);
        if (update.sequence() > 0) agent->last_sequence = update.sequence();
      }
      HandleAgentUpdate(agent, update);
    }
    grpc::Status st = reader->Finish();
    if (shutdown_) break;
    if (!st.ok()) RpcError("agent Updates", st);
    absl::SleepFor(absl::Milliseconds(std::min(5000, 250 << std::min(failures++, 4))));
  }
}

void Demo::HandleAgentUpdate(Agent* agent, const gw::AgentGatewayServiceUpdatesResponse& update) {
  switch (update.update_case()) {
    case gw::AgentGatewayServiceUpdatesResponse::kSnapshot: {
      std::vector<std::string> leftovers;
      {
        std::lock_guard<std::mutex> lock(agent->mu);
        for (const auto& d : update.snapshot().dialogs()) {
          if (agent->dialogs.count(d.dialog_id()) == 0) {
            agent->dialogs[d.dialog_id()].contact_id = d.contact_id();
            // Dialogs of an earlier demo run: close them so their customers are released.
            if (!agent->snapshot_seen) leftovers.push_back(d.dialog_id());
          }
        }
        agent->snapshot_seen = true;
      }
      for (const auto& offer : update.snapshot().offers()) {
        ++n_.offers;
        scheduler_.After(rng_.Seconds(0.2, 0.8),
                         [this, agent, offer] { AcceptOffer(agent, offer); });
      }
      for (const auto& dialog_id : leftovers) {
        scheduler_.After(absl::Milliseconds(100), [this, agent, dialog_id] {
          CloseDialog(agent, dialog_id, "closed by kefuctl demo (left over from an earlier run)");
        });
      }
      break;
    }
    case gw::AgentGatewayServiceUpdatesResponse::kOffer: {
      ++n_.offers;
      const gw::Offer offer = update.offer();
      // F19: now and then an agent rejects a fresh contact; it goes to the next agent.
      if (!offer.has_transfer() && rng_.Chance(0.03) && !stopping_) {
        scheduler_.After(rng_.Seconds(0.5, 1.5), [this, agent, offer] {
          gw::RejectRequest reject;
          reject.set_offer_id(offer.offer_id());
          reject.set_reason("demo: on a break");
          reject.set_idempotency_key("reject-" + offer.offer_id());
          gw::RejectResponse response;
          auto st =
              agents_stub_->Reject(CallWith(agent->Token(), ctx_.timeout).get(), reject, &response);
          if (st.ok()) ++n_.rejected;
        });
        break;
      }
      scheduler_.After(rng_.Seconds(0.3, 1.5), [this, agent, offer] { AcceptOffer(agent, offer); });
      break;
    }
    case gw::AgentGatewayServiceUpdatesResponse::kMessage: {
      const common::Message& m = update.message();
      if (m.sender().type() != common::PARTICIPANT_TYPE_CUSTOMER) break;
      int seen;
      {
        std::lock_guard<std::mutex> lock(agent->mu);
        auto it = agent->dialogs.find(m.dialog_id());
        if (it == agent->dialogs.end()) break;
        seen = ++it->second.customer_messages;
      }
      const std::string dialog_id = m.dialog_id();
      // Think, type, answer; then close when the customer goes quiet.
      scheduler_.After(rng_.Seconds(0.5, 1.5), [this, agent, dialog_id, seen] {
        gw::AgentGatewayServiceTypingRequest typing;
        typing.set_dialog_id(dialog_id);
        typing.set_typing(true);
        gw::AgentGatewayServiceTypingResponse ignored;
        (void)agents_stub_->Typing(CallWith(agent->Token(), ctx_.timeout).get(), typing, &ignored);
        scheduler_.After(rng_.Seconds(0.4, 1.2), [this, agent, dialog_id, seen] {
          AgentSend(agent, dialog_id, rng_.Pick(AgentReplies()));
          scheduler_.After(rng_.Seconds(4, 6),
                           [this, agent, dialog_id, seen] { MaybeFinish(agent, dialog_id, seen); });
        });
      });
      break;
    }
    case gw::AgentGatewayServiceUpdatesResponse::kTypingDraft:
      ++n_.drafts_seen;
      break;
    case gw::AgentGatewayServiceUpdatesResponse::kTransferredAway: {
      std::lock_guard<std::mutex> lock(agent->mu);
      agent->dialogs.erase(update.transferred_away().dialog_id());
      break;
    }
    case gw::AgentGatewayServiceUpdatesResponse::kDialogEnded: {
      std::lock_guard<std::mutex> lock(agent->mu);
      agent->dialogs.erase(update.dialog_ended().dialog_id());
      break;
    }
    case gw::AgentGatewayServiceUpdatesResponse::kRating:
      ++n_.ratings_seen;
      break;
    default:
      break;
  }
}

void Demo::AcceptOffer(Agent* agent, const gw::Offer& offer) {
  gw::AcceptRequest accept;
  accept.set_offer_id(offer.offer_id());
  accept.set_idempotency_key("accept-" + offer.offer_id());
  gw::AcceptResponse accepted;
  auto st = agents_stub_->Accept(CallWith(agent->Token(), ctx_.timeout).get(), accept, &accepted);
  if (!st.ok()) {
    // Withdrawn meanwhile (the customer left, the offer expired): not an error of the demo.
    if (st.error_code() != grpc::StatusCode::FAILED_PRECONDITION &&
        st.error_code() != grpc::StatusCode::NOT_FOUND) {
      RpcError("agent Accept", st);
    }
    return;
  }
  ++n_.accepted;
  const std::string dialog_id =
      accepted.dialog().dialog_id().empty() ? offer.dialog_id() : accepted.dialog().dialog_id();
  {
    std::lock_guard<std::mutex> lock(agent->mu);
    AgentDialog& d = agent->dialogs[dialog_id];
    d.contact_id = offer.contact_id();
    d.transferred_in = offer.has_transfer();
  }
  const std::string greeting =
      offer.has_transfer()
          ? absl::StrCat("您好，我是", agent->nickname,
                         "，已收到转接的对话记录。I have your history.")
          : absl::StrCat("您好，我是", agent->nickname, "，很高兴为您服务。How can I help?");
  scheduler_.After(rng_.Seconds(0.2, 0.6),
                   [this, agent, dialog_id, greeting] { AgentSend(agent, dialog_id, greeting); });
}

void Demo::AgentSend(Agent* agent, const std::string& dialog_id, const std::string& text) {
  {
    std::lock_guard<std::mutex> lock(agent->mu);
    if (agent->dialogs.count(dialog_id) == 0) return;  // ended meanwhile
  }
  gw::AgentGatewayServiceSendRequest send;
  send.set_dialog_id(dialog_id);
  send.set_text(text);
  send.set_idempotency_key(
      absl::StrCat("a-", dialog_id, "-", n_.agent_messages.load(), "-", rng_.Int(0, 1 << 30)));
  gw::AgentGatewayServiceSendResponse sent;
  auto st = agents_stub_->Send(CallWith(agent->Token(), ctx_.timeout).get(), send, &sent);
  if (st.ok()) {
    ++n_.agent_messages;
  } else if (st.error_code() != grpc::StatusCode::FAILED_PRECONDITION &&
             st.error_code() != grpc::StatusCode::NOT_FOUND) {
    RpcError("agent Send", st);
  }
}

// The customer has said nothing new since the reply to message `seen`: wrap up.
void Demo::MaybeFinish(Agent* agent, const std::string& dialog_id, int seen) {
  bool transfer = false;
  std::string target;
  {
    std::lock_guard<std::mutex> lock(agent->mu);
    auto it = agent->dialogs.find(dialog_id);
    if (it == agent->dialogs.end() || it->second.finishing ||
        it->second.customer_messages != seen) {
      return;
    }
    it->second.finishing = true;
    // F18: about one dialog in eight goes on to the other topic department.
    if (!it->second.transferred_in && !stopping_ && rng_.Chance(0.12)) {
      for (const auto& topic : TopicDepartments()) {
        if (std::find(agent->departments.begin(), agent->departments.end(), topic) ==
            agent->departments.end()) {
          target = topic;
        }
      }
      if (target.empty()) target = rng_.Pick(TopicDepartments());
      transfer = true;
    }
  }
  if (transfer) {
    AgentSend(agent, dialog_id, "这个问题我帮您转给专门的同事。Let me pass you to a specialist.");
    gw::TransferRequest request;
    request.set_dialog_id(dialog_id);
    request.set_department_id(target);
    request.set_note("kefuctl demo: customer needs " + target);
    request.set_idempotency_key("transfer-" + dialog_id);
    gw::TransferResponse response;
    auto st =
        agents_stub_->Transfer(CallWith(agent->Token(), ctx_.timeout).get(), request, &response);
    if (st.ok()) {
      ++n_.transfers;
      std::lock_guard<std::mutex> lock(agent->mu);
      agent->dialogs.erase(dialog_id);
      return;
    }
    if (st.error_code() != grpc::StatusCode::FAILED_PRECONDITION &&
        st.error_code() != grpc::StatusCode::NOT_FOUND) {
      RpcError("agent Transfer", st);
    }
  }
  CloseDialog(agent, dialog_id, "");
}

void Demo::CloseDialog(Agent* agent, const std::string& dialog_id, const std::string& note) {
  gw::CloseRequest close;
  close.set_dialog_id(dialog_id);
  common::DialogSummary* summary = close.mutable_summary();
  summary->set_category(rng_.Pick(Categories()));
  summary->set_text(note.empty() ? "已解答客户问题 / answered the customer's question" : note);
  summary->set_resolved(note.empty() && rng_.Chance(0.85));
  summary->add_tags("demo");
  close.set_idempotency_key("close-" + dialog_id);
  gw::CloseResponse closed;
  auto st = agents_stub_->Close(CallWith(agent->Token(), ctx_.timeout).get(), close, &closed);
  if (st.ok()) {
    ++n_.closed;
  } else if (st.error_code() != grpc::StatusCode::FAILED_PRECONDITION &&
             st.error_code() != grpc::StatusCode::NOT_FOUND) {
    RpcError("agent Close", st);
    std::lock_guard<std::mutex> lock(agent->mu);
    auto it = agent->dialogs.find(dialog_id);
    if (it != agent->dialogs.end()) it->second.finishing = false;  // try again later
    return;
  }
  std::lock_guard<std::mutex> lock(agent->mu);
  agent->dialogs.erase(dialog_id);
}

// ---------------------------------------------------------------------------------------
// Customers.

std::shared_ptr<Customer> Demo::NewCustomer(int serial) {
  auto c = std::make_shared<Customer>();
  c->serial = serial;
  const double who = rng_.Uniform(0, 1);
  if (who < 0.15) {
    c->tier = common::CUSTOMER_TIER_VIP;
    c->phone = VipPhone(rng_.Int(1, kVipCustomers));
  } else if (who < 0.5) {
    c->tier = common::CUSTOMER_TIER_REGULAR;
    c->phone = RegularPhone(rng_.Int(1, kRegularCustomers));
  } else if (who < 0.8) {
    c->phone = absl::StrFormat("137%08d", rng_.Int(0, 99999999));  // a new caller
  } else {
    c->visitor_id = absl::StrFormat("demo-visitor-%08x", rng_.Int(0, 1 << 30));  // web only
  }
  c->channel =
      c->visitor_id.empty() && rng_.Chance(0.4) ? common::CHANNEL_APP : common::CHANNEL_CHAT;
  const double topic = rng_.Uniform(0, 1);
  if (topic < 0.07) {
    c->department = "overseas";  // nobody there: leaves an offline message (F33)
  } else if (topic < 0.22) {
    c->department = "billing";
  } else if (topic < 0.37) {
    c->department = "tech";
  }
  c->turns_max = rng_.Int(1, 3);
  c->ends_itself = rng_.Chance(0.3);
  c->patience = rng_.Seconds(60, 120);
  return c;
}

void Demo::CustomerLoop(std::shared_ptr<Customer> c) {
  gw::StartContactRequest start;
  start.set_channel(c->channel);
  start.set_entry_point_id(kEntryPoint);
  start.set_caller_number(c->phone);
  start.set_visitor_id(c->visitor_id);
  start.set_page_url(rng_.Pick(std::vector<std::string>{"https://shop.example.com/cart",
                                                        "https://shop.example.com/orders",
                                                        "https://shop.example.com/help"}));
  start.set_page_title("Demo shop");
  start.set_referrer_url("https://www.baidu.com/s?wd=demo+shop");
  start.set_user_agent("kefuctl-demo/1.0");
  start.set_requested_department_id(c->department);
  start.set_language(rng_.Chance(0.6) ? common::LANGUAGE_ZH : common::LANGUAGE_EN);
  start.set_idempotency_key(absl::StrCat("demo-", run_, "-", c->serial));
  gw::StartContactResponse started;
  auto st =
      customers_stub_->StartContact(CallWith(entry_token_, ctx_.timeout).get(), start, &started);
  if (!st.ok()) {
    ++n_.start_errors;
    RpcError("customer StartContact", st);
    c->done = true;
    return;
  }
  ++n_.contacts;
  ++n_.waiting;
  {
    std::lock_guard<std::mutex> lock(c->mu);
    c->contact_id = started.contact_id();
    c->dialog_id = started.dialog_id();
    c->token = started.customer_token();
  }
  if (started.no_agent_available()) {
    LeaveMessage(c);
  } else {
    // Patience: a customer nobody answers leaves (the contact ends as abandoned).
    scheduler_.After(c->patience, [this, c] {
      bool give_up;
      {
        std::lock_guard<std::mutex> lock(c->mu);
        give_up = !c->routed && !c->ended && !c->offline;
      }
      if (give_up) CustomerEnd(c, /*abandon=*/true);
    });
    int failures = 0;
    while (!shutdown_) {
      gw::CustomerGatewayServiceUpdatesRequest request;
      grpc::ClientContext* ctx;
      {
        std::lock_guard<std::mutex> lock(c->mu);
        if (c->ended || c->offline || shutdown_) break;
        request.set_resume_after_sequence(c->last_sequence);
        c->stream = CallWith(c->token, absl::ZeroDuration());
        ctx = c->stream.get();
      }
      auto reader = customers_stub_->Updates(ctx, request);
      gw::CustomerGatewayServiceUpdatesResponse update;
      while (reader->Read(&update)) {
        failures = 0;
        {
          std::lock_guard<std::mutex> lock(c->mu);
          if (update.sequence() > 0) c->last_sequence = update.sequence();
        }
        HandleCustomerUpdate(c, update);
      }
      auto finish = reader->Finish();
      {
        std::lock_guard<std::mutex> lock(c->mu);
        if (c->ended || c->offline) break;
      }
      if (shutdown_) break;
      if (!finish.ok()) RpcError("customer Updates", finish);
      if (++failures > 8) break;
      absl::SleepFor(absl::Milliseconds(250 << std::min(failures, 4)));
    }
  }
  {
    std::lock_guard<std::mutex> lock(c->mu);
    if (c->routed && !c->ended && !c->offline) --n_.talking;
    if (!c->routed && !c->ended && !c->offline) --n_.waiting;
  }
  c->done = true;
}

void Demo::HandleCustomerUpdate(const std::shared_ptr<Customer>& c,
                                const gw::CustomerGatewayServiceUpdatesResponse& update) {
  switch (update.update_case()) {
    case gw::CustomerGatewayServiceUpdatesResponse::kSnapshot: {
      // Accepted before this stream opened: the snapshot shows the agent.
      if (!update.snapshot().has_agent() ||
          update.snapshot().state() != common::CONTACT_STATE_ACTIVE) {
        break;
      }
      bool first_turn = false;
      {
        std::lock_guard<std::mutex> lock(c->mu);
        if (c->ended) break;
        if (!c->routed) {
          c->routed = true;
          ++n_.routed;
          --n_.waiting;
          ++n_.talking;
          c->joins = 1;
        }
        if (c->turns_sent == 0 && !c->turn_pending) {
          c->turn_pending = true;
          first_turn = true;
        }
      }
      if (first_turn) {
        scheduler_.After(rng_.Seconds(1.0, 2.5), [this, c] { CustomerTurn(c); });
      }
      break;
    }
    case gw::CustomerGatewayServiceUpdatesResponse::kAgentJoined: {
      bool first_turn = false;
      {
        std::lock_guard<std::mutex> lock(c->mu);
        if (c->ended) break;
        if (!c->routed) {
          c->routed = true;
          ++n_.routed;
          --n_.waiting;
          ++n_.talking;
        }
        ++c->joins;
        // The first agent, or a new one after a transfer: (re)state the problem.
        if (!c->turn_pending) {
          c->turn_pending = true;
          first_turn = true;
        }
      }
      if (first_turn) {
        scheduler_.After(rng_.Seconds(1.0, 2.5), [this, c] { CustomerTurn(c); });
      }
      break;
    }
    case gw::CustomerGatewayServiceUpdatesResponse::kMessage: {
      if (update.message().sender().type() != common::PARTICIPANT_TYPE_AGENT) break;
      bool next_turn = false, end = false;
      {
        std::lock_guard<std::mutex> lock(c->mu);
        if (!c->awaiting_reply || c->ended) break;
        c->awaiting_reply = false;
        if (c->turns_sent < c->turns_max + c->joins - 1 && !stopping_) {
          c->turn_pending = true;
          next_turn = true;
        } else if (c->ends_itself) {
          end = true;
        }
      }
      if (next_turn) scheduler_.After(rng_.Seconds(1.0, 2.5), [this, c] { CustomerTurn(c); });
      if (end) scheduler_.After(rng_.Seconds(1.0, 2.0), [this, c] { CustomerEnd(c, false); });
      break;
    }
    case gw::CustomerGatewayServiceUpdatesResponse::kNoAgentAvailable:
      LeaveMessage(c);  // the contact ends with it; the stream closes after `ended`
      break;
    case gw::CustomerGatewayServiceUpdatesResponse::kEnded:
      MarkEnded(c);
      if (update.ended().rating_allowed()) Rate(c);
      break;
    case gw::CustomerGatewayServiceUpdatesResponse::kRatingInvitation: {
      bool ended;
      {
        std::lock_guard<std::mutex> lock(c->mu);
        ended = c->ended;
      }
      if (ended) Rate(c);
      break;
    }
    default:
      break;
  }
}

void Demo::CustomerTurn(const std::shared_ptr<Customer>& c) {
  std::string token;
  int turn;
  {
    std::lock_guard<std::mutex> lock(c->mu);
    c->turn_pending = false;
    if (c->ended || c->offline) return;
    token = c->token;
    turn = ++c->turns_sent;
  }
  const std::string text =
      turn == 1 ? Fill(rng_.Pick(CustomerLines()), c->serial) : rng_.Pick(FollowUps());
  // F30: the agent sees the draft before it is sent.
  gw::CustomerGatewayServiceTypingRequest typing;
  // Half the line, cut on a character boundary (a draft is UTF-8 like any proto string).
  size_t half = text.size() / 2;
  while (half > 0 && (static_cast<unsigned char>(text[half]) & 0xC0) == 0x80) --half;
  typing.set_draft(text.substr(0, half));
  gw::CustomerGatewayServiceTypingResponse typed;
  (void)customers_stub_->Typing(CallWith(token, ctx_.timeout).get(), typing, &typed);
  scheduler_.After(rng_.Seconds(0.3, 0.8),
                   [this, c, token, text, turn] { CustomerSend(c, token, text, turn); });
}

void Demo::CustomerSend(const std::shared_ptr<Customer>& c, const std::string& token,
                        const std::string& text, int turn) {
  {
    std::lock_guard<std::mutex> lock(c->mu);
    if (c->ended || c->offline) return;
    c->awaiting_reply = true;
  }
  gw::CustomerGatewayServiceSendRequest send;
  send.set_text(text);
  send.set_idempotency_key(absl::StrCat("c-", run_, "-", c->serial, "-", turn));
  gw::CustomerGatewayServiceSendResponse sent;
  auto st = customers_stub_->Send(CallWith(token, ctx_.timeout).get(), send, &sent);
  if (st.ok()) {
    ++n_.customer_messages;
  } else if (st.error_code() != grpc::StatusCode::FAILED_PRECONDITION) {
    RpcError("customer Send", st);
  }
}

void Demo::CustomerEnd(const std::shared_ptr<Customer>& c, bool abandon) {
  std::string token;
  {
    std::lock_guard<std::mutex> lock(c->mu);
    if (c->ended || c->offline || c->leaving) return;
    token = c->token;
  }
  gw::EndRequest end;
  end.set_idempotency_key(absl::StrCat("end-", run_, "-", c->serial));
  gw::EndResponse ended;
  auto st = customers_stub_->End(CallWith(token, ctx_.timeout).get(), end, &ended);
  if (!st.ok()) {
    // Already ended by the agent: the stream says so.
    if (st.error_code() != grpc::StatusCode::FAILED_PRECONDITION) RpcError("customer End", st);
    return;
  }
  if (abandon) ++n_.abandoned;
  MarkEnded(c);
  if (ended.rating_allowed()) Rate(c);
}

void Demo::MarkEnded(const std::shared_ptr<Customer>& c) {
  std::lock_guard<std::mutex> lock(c->mu);
  if (c->ended || c->leaving || c->offline) return;
  c->ended = true;
  ++n_.ended;
  if (c->offline) return;
  if (c->routed) {
    --n_.talking;
  } else {
    --n_.waiting;
  }
}

void Demo::Rate(const std::shared_ptr<Customer>& c) {
  std::string token;
  {
    std::lock_guard<std::mutex> lock(c->mu);
    if (c->rated || !c->routed) return;
    c->rated = true;  // decided once, rated or not
    token = c->token;
  }
  if (!rng_.Chance(0.8)) return;
  gw::RateRequest rate;
  const double mood = rng_.Uniform(0, 1);
  rate.set_score(mood < 0.05 ? 1 : mood < 0.12 ? 2 : mood < 0.3 ? 3 : mood < 0.6 ? 4 : 5);
  if (rate.score() >= 4)
    rate.set_comment(rng_.Chance(0.5) ? "很满意，谢谢！" : "Quick and helpful.");
  rate.set_idempotency_key(absl::StrCat("rate-", run_, "-", c->serial));
  gw::RateResponse rated;
  auto st = customers_stub_->Rate(CallWith(token, ctx_.timeout).get(), rate, &rated);
  if (st.ok()) {
    ++n_.rated;
  } else {
    RpcError("customer Rate", st);
  }
}

void Demo::LeaveMessage(const std::shared_ptr<Customer>& c) {
  std::string token;
  {
    std::lock_guard<std::mutex> lock(c->mu);
    if (c->offline || c->ended || c->leaving) return;
    c->leaving = true;
    token = c->token;
  }
  gw::LeaveMessageRequest leave;
  leave.set_content(Fill(rng_.Pick(CustomerLines()), c->serial) + " 请回电 / please call me back.");
  (*leave.mutable_form_fields())["name"] = absl::StrCat("Demo customer ", c->serial);
  (*leave.mutable_form_fields())["phone"] =
      c->phone.empty() ? absl::StrFormat("136%08d", c->serial) : c->phone;
  leave.set_idempotency_key(absl::StrCat("leave-", run_, "-", c->serial));
  gw::LeaveMessageResponse left;
  auto st = customers_stub_->LeaveMessage(CallWith(token, ctx_.timeout).get(), leave, &left);
  if (!st.ok()) {
    RpcError("customer LeaveMessage", st);
    {
      std::lock_guard<std::mutex> lock(c->mu);
      c->leaving = false;
    }
    // The contact must not stay open: end it.
    CustomerEnd(c, /*abandon=*/true);
    return;
  }
  std::lock_guard<std::mutex> lock(c->mu);
  c->leaving = false;
  if (c->ended) return;  // ended meanwhile by other means: counted there
  c->offline = true;
  ++n_.offline;
  if (c->routed) {
    --n_.talking;
  } else {
    --n_.waiting;
  }
}

// ---------------------------------------------------------------------------------------
// The run.

void Demo::Summary(absl::Duration elapsed, const char* phase) {
  std::printf(
      "demo %-7s t=%3.0fs contacts=%d waiting=%d talking=%d routed=%d ended=%d rated=%d "
      "offline=%d transfers=%d messages=%d/%d drafts=%d errors=%d\n",
      phase, absl::ToDoubleSeconds(elapsed), n_.contacts.load(), n_.waiting.load(),
      n_.talking.load(), n_.routed.load(), n_.ended.load(), n_.rated.load(), n_.offline.load(),
      n_.transfers.load(), n_.customer_messages.load(), n_.agent_messages.load(),
      n_.drafts_seen.load(), n_.rpc_errors.load());
  std::fflush(stdout);
}

int Demo::Run() {
  std::printf("demo: tenant %s, gateway %s, %d agents, %s customers/s for %d s\n",
              ctx_.tenant.c_str(), ctx_.peers.at("gateway").c_str(), options_.agents,
              options_.rate.c_str(), options_.duration_s);
  std::fflush(stdout);
  for (auto step :
       {&Demo::AdminLogin, &Demo::SetUpRouting, &Demo::SetUpCustomers, &Demo::SetUpEntryPoint}) {
    if (auto st = (this->*step)(); !st.ok()) {
      std::fprintf(stderr, "demo: set-up failed: %s\n", st.ToString().c_str());
      return 1;
    }
  }
  // Agents: tier desk i % 3 and topic desk i % 2; a small team covers every desk.
  for (int i = 0; i < options_.agents; ++i) {
    auto agent = std::make_unique<Agent>();
    agent->index = i;
    agent->username = absl::StrCat("demo-agent-", i + 1);
    agent->password = absl::StrCat("demo-agent-password-", i + 1);
    agent->nickname = AgentNames()[static_cast<size_t>(i) % AgentNames().size()];
    if (options_.agents < 6) {
      agent->departments = {"guide", "general", "vip", "billing", "tech"};
    } else {
      agent->departments = {TierDepartments()[static_cast<size_t>(i % 3)],
                            TopicDepartments()[static_cast<size_t>(i % 2)]};
    }
    if (auto st = SetUpAgent(*agent); !st.ok()) {
      std::fprintf(stderr, "demo: set-up failed: %s\n", st.ToString().c_str());
      return 1;
    }
    agents_.push_back(std::move(agent));
  }
  std::thread heartbeats([this] { HeartbeatLoop(); });
  for (auto& agent : agents_) {
    Agent* a = agent.get();
    a->reader = std::thread([this, a] { AgentLoop(a); });
  }
  // Customers start once every desktop has its snapshot (bounded wait).
  for (const absl::Time until = absl::Now() + absl::Seconds(10); absl::Now() < until;) {
    bool all = true;
    for (auto& agent : agents_) {
      std::lock_guard<std::mutex> lock(agent->mu);
      all = all && agent->snapshot_seen;
    }
    if (all) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  std::printf(
      "demo: %d agents online (departments guide/general/vip + billing/tech; "
      "nobody in overseas)\n",
      options_.agents);
  std::fflush(stdout);

  const absl::Time start = absl::Now();
  const absl::Time arrivals_end = start + absl::Seconds(options_.duration_s);
  std::vector<std::shared_ptr<Customer>> customers;
  absl::Time next_arrival = start;
  absl::Time next_summary = start + absl::Seconds(5);
  absl::Time drain_end = absl::InfiniteFuture();
  int serial = 0;
  auto reap = [&customers] {
    for (auto& c : customers) {
      if (c->done && c->thread.joinable()) c->thread.join();
    }
  };
  auto in_flight = [&customers] {
    int n = 0;
    for (auto& c : customers) n += c->done ? 0 : 1;
    return n;
  };
  while (true) {
    const absl::Time now = absl::Now();
    if (now < arrivals_end) {
      while (next_arrival <= now) {
        auto c = NewCustomer(++serial);
        c->thread = std::thread([this, c] { CustomerLoop(c); });
        customers.push_back(c);
        // Poisson arrivals at the given rate.
        next_arrival += absl::Seconds(-std::log(1.0 - rng_.Uniform(0, 0.999)) / rate_);
      }
    } else if (!stopping_) {
      stopping_ = true;
      drain_end = now + absl::Seconds(options_.drain_s);
      std::printf("demo: no new customers; waiting up to %d s for %d contacts in flight\n",
                  options_.drain_s, in_flight());
      std::fflush(stdout);
    }
    if (now >= next_summary) {
      Summary(now - start, stopping_ ? "drain" : "running");
      next_summary += absl::Seconds(5);
    }
    reap();
    if (stopping_ && (in_flight() == 0 || now >= drain_end)) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  Summary(absl::Now() - start, "done");

  // Tear down: cancel what is still open, log the agents out.
  shutdown_ = true;
  for (auto& c : customers) {
    std::lock_guard<std::mutex> lock(c->mu);
    if (c->stream) c->stream->TryCancel();
  }
  for (auto& agent : agents_) {
    {
      std::lock_guard<std::mutex> lock(agent->mu);
      if (agent->stream) agent->stream->TryCancel();
    }
    pv1::LogoutRequest logout;
    logout.set_session_id(agent->session_id);
    pv1::LogoutResponse out;
    (void)presence_stub_->Logout(CallWith(agent->Token(), ctx_.timeout).get(), logout, &out);
  }
  heartbeats.join();
  for (auto& agent : agents_) agent->reader.join();
  scheduler_.Stop();
  for (auto& c : customers) {
    if (c->thread.joinable()) c->thread.join();
  }

  int lost = 0;
  for (auto& c : customers) {
    if (c->contact_id.empty()) continue;  // never started (counted as an error)
    if (!c->ended && !c->offline) ++lost;
  }
  std::printf(
      "demo: offers=%d accepted=%d rejected=%d closed=%d transfers=%d abandoned=%d "
      "ratings_seen_by_agents=%d drafts_seen=%d start_errors=%d rpc_errors=%d\n",
      n_.offers.load(), n_.accepted.load(), n_.rejected.load(), n_.closed.load(),
      n_.transfers.load(), n_.abandoned.load(), n_.ratings_seen.load(), n_.drafts_seen.load(),
      n_.start_errors.load(), n_.rpc_errors.load());
  std::printf("demo contacts=%d routed=%d ended=%d rated=%d offline=%d lost=%d\n",
              n_.contacts.load(), n_.routed.load(), n_.ended.load(), n_.rated.load(),
              n_.offline.load(), lost);
  std::fflush(stdout);
  return lost > 0 || n_.start_errors > 0 || n_.contacts == 0 ? 1 : 0;
}

}  // namespace

std::vector<CommandSpec> DemoCommands(FlagSet* flags) {
  auto options = std::make_shared<DemoOptions>();
  flags->Int("duration", "", "demo: seconds during which customers arrive", &options->duration_s);
  flags->Int("agents", "", "demo: simulated agents", &options->agents);
  flags->String("rate", "", "demo: customers arriving per second (may be fractional)",
                &options->rate);
  flags->Int("drain", "", "demo: seconds to wait for contacts in flight at the end",
             &options->drain_s);
  flags->String("admin-password", "KEFU_DEV_ADMIN_PASSWORD",
                "demo: the tenant admin's password, used without --token or KEFU_JWT_KEY",
                &options->admin_password);
  return {
      {"demo", "demo [--duration 60] [--agents 8] [--rate 2]",
       "simulated agents and customers talk through the gateway; prints a live summary",
       [options](const std::vector<std::string>&, const CtlContext& ctx) {
         double rate = 0;
         if (!absl::SimpleAtod(options->rate, &rate) || rate <= 0 || rate > 200) {
           std::fprintf(stderr, "kefuctl: --rate: must be a number in (0, 200]\n");
           return 2;
         }
         if (options->agents < 1 || options->agents > 500) {
           std::fprintf(stderr, "kefuctl: --agents: must be 1..500\n");
           return 2;
         }
         if (options->duration_s < 1) {
           std::fprintf(stderr, "kefuctl: --duration: must be at least 1 (seconds)\n");
           return 2;
         }
         Demo demo(ctx, *options, rate);
         return demo.Run();
       }},
  };
}

}  // namespace kefu::ctl
