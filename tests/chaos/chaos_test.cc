// Chaos (issue 10): steady chat traffic through two gateway replicas and two router replicas
// while processes and servers die under it; then a checker over the tenant's event history
// and the final records proves the promises of docs/RELIABILITY.md and prints
//   chaos faults=… lost=0 double=0 dup_msgs=0 max_reclaim_s=…
//
// Short form by default (one round of six faults). KEFU_CHAOS_LONG=1 plays more rounds with
// more traffic; KEFU_CHAOS_ROUNDS=<n> sets the rounds.
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <pqxx/pqxx>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "kefu/crm/v1/record.grpc.pb.h"
#include "kefu/events/v1/events.pb.h"
#include "kefu/gateway/v1/gateway.grpc.pb.h"
#include "kefu/presence/v1/presence.grpc.pb.h"
#include "kefu/router/v1/routing.grpc.pb.h"
#include "kefu/router/v1/routing_admin.grpc.pb.h"
#include "libs/auth/authorize.h"
#include "libs/events/events.h"
#include "libs/redis/client.h"
#include "tests/chaos/checker.h"
#include "tests/e2e/client.h"
#include "tests/e2e/stack.h"
#include "tests/support/servers.h"

namespace {

namespace cv1 = kefu::common::v1;
namespace gv1 = kefu::gateway::v1;
namespace rv1 = kefu::router::v1;
namespace pv1 = kefu::presence::v1;
namespace crm = kefu::crm::v1;
namespace ev = kefu::events::v1;
using google::protobuf::util::TimeUtil;
using kefu::chaos::AckedContact;
using kefu::chaos::AckedMessage;

// Every client call has this deadline: a call that reaches it got no answer at all (a hang).
constexpr absl::Duration kCallDeadline = absl::Seconds(10);
// How long a client keeps retrying UNAVAILABLE before it gives up on one action.
constexpr absl::Duration kRetryBudget = absl::Seconds(45);
constexpr int kMaxConcurrent = 2;
constexpr absl::Duration kOfferTimeout = absl::Seconds(3);

struct Settings {
  int rounds = 1;
  int agents = 10;
  double customers_per_s = 1.0;
  absl::Duration fault_gap = absl::Seconds(6);
  absl::Duration down_time = absl::Seconds(1);
};

Settings FromEnv() {
  Settings s;
  const char* long_form = std::getenv("KEFU_CHAOS_LONG");
  if (long_form != nullptr && std::string(long_form) == "1") {
    s.rounds = 4;
    s.agents = 12;
    s.customers_per_s = 1.5;
    s.fault_gap = absl::Seconds(8);
    s.down_time = absl::Seconds(2);
  }
  if (const char* rounds = std::getenv("KEFU_CHAOS_ROUNDS"); rounds != nullptr) {
    int n = 0;
    if (absl::SimpleAtoi(rounds, &n) && n > 0) s.rounds = n;
  }
  return s;
}

class Rng {
 public:
  double Uniform(double lo, double hi) {
    std::lock_guard lock(mu_);
    return std::uniform_real_distribution<double>(lo, hi)(engine_);
  }
  int Int(int lo, int hi) {
    std::lock_guard lock(mu_);
    return std::uniform_int_distribution<int>(lo, hi)(engine_);
  }
  absl::Duration Seconds(double lo, double hi) { return absl::Seconds(Uniform(lo, hi)); }

 private:
  std::mutex mu_;
  std::mt19937_64 engine_{std::random_device{}()};
};

// What the clients saw, per call.
struct CallStats {
  std::atomic<int> calls{0};
  std::atomic<int> unavailable{0};  // answered UNAVAILABLE (then retried with backoff)
  std::atomic<int> hangs{0};        // no answer before the deadline
  std::atomic<int> gave_up{0};      // still UNAVAILABLE after kRetryBudget
  std::atomic<int> other{0};        // any other error (final)
  std::atomic<int> stream_breaks{0};
  std::atomic<int> stream_hangs{0};  // a desk stream still open 5 s after its gateway died
  std::mutex mu;
  std::vector<std::string> samples;  // a few of the unexpected errors

  void Sample(std::string line) {
    std::lock_guard lock(mu);
    if (samples.size() < 12) samples.push_back(std::move(line));
  }
};

bool Retryable(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED ||
         code == grpc::StatusCode::ABORTED;
}

// One client action: the call with a deadline, retried with exponential backoff and jitter
// while the answer is UNAVAILABLE (or nothing), with the same request (idempotency key).
template <typename Fn>
grpc::Status Call(const char* what, const std::string& token, CallStats& stats, Rng& rng,
                  const std::atomic<bool>* stop, Fn fn) {
  absl::Duration backoff = absl::Milliseconds(100);
  const absl::Time give_up = absl::Now() + kRetryBudget;
  while (true) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + kCallDeadline));
    kefu::auth::AttachToken(&ctx, token);
    ++stats.calls;
    grpc::Status st = fn(&ctx);
    if (st.ok() || !Retryable(st.error_code())) {
      if (!st.ok() && st.error_code() != grpc::StatusCode::FAILED_PRECONDITION &&
          st.error_code() != grpc::StatusCode::NOT_FOUND &&
          st.error_code() != grpc::StatusCode::PERMISSION_DENIED) {
        ++stats.other;
        stats.Sample(absl::StrCat(what, ": ", st.error_code(), " ", st.error_message()));
      }
      return st;
    }
    if (st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      ++stats.hangs;
      stats.Sample(absl::StrCat(what, ": no answer within ", absl::FormatDuration(kCallDeadline)));
    } else {
      ++stats.unavailable;
    }
    if (absl::Now() + backoff > give_up || (stop != nullptr && stop->load())) {
      ++stats.gave_up;
      stats.Sample(
          absl::StrCat(what, ": gave up after ", st.error_code(), " ", st.error_message()));
      return st;
    }
    absl::SleepFor(backoff * rng.Uniform(0.5, 1.5));
    backoff = std::min(backoff * 2, absl::Seconds(2));
  }
}

std::shared_ptr<grpc::Channel> Balanced(const std::vector<int>& ports) {
  std::vector<std::string> addrs;
  for (int port : ports) addrs.push_back(absl::StrCat("127.0.0.1:", port));
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 5000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 3000);
  return grpc::CreateCustomChannel(absl::StrCat("ipv4:", absl::StrJoin(addrs, ",")),
                                   grpc::InsecureChannelCredentials(), args);
}

int PortOfPeer(const std::string& peer) {  // "ipv4:127.0.0.1:1234"
  int port = 0;
  const auto colon = peer.rfind(':');
  if (colon != std::string::npos) (void)absl::SimpleAtoi(peer.substr(colon + 1), &port);
  return port;
}

// Everything the clients were told, for the checker.
struct Ledger {
  std::mutex mu;
  std::vector<AckedContact> contacts;
  std::vector<AckedMessage> messages;
  std::atomic<int> started{0}, start_failed{0}, offers_ignored{0}, accepted{0}, closed{0};

  void Message(const cv1::Message& m) {
    std::lock_guard lock(mu);
    messages.push_back({m.dialog_id(), m.message_id(), m.sequence(), m.text()});
  }
};

// The shared pieces every simulated person uses.
struct World {
  std::string tenant;
  std::string run;  // unique per run: keys and texts
  std::vector<std::unique_ptr<gv1::CustomerGatewayService::Stub>> customer_stubs;
  std::vector<std::unique_ptr<gv1::AgentGatewayService::Stub>> agent_stubs;
  std::unique_ptr<rv1::RoutingService::Stub> routing;
  std::unique_ptr<pv1::PresenceService::Stub> presence;
  CallStats stats;
  Ledger ledger;
  Rng rng;

  std::string Admin() const { return e2e::Token(tenant, cv1::ROLE_ADMIN, "boss"); }
};

// ---------------------------------------------------------------------------------------
// An agent desktop: the Updates stream (reconnecting to any gateway replica when its own dies)
// and a worker that accepts offers, answers twice and closes the dialog. One offer in ten is
// left unanswered, as a frozen desktop would, so the offer times out and must be reclaimed.

class AgentDesk {
 public:
  AgentDesk(World* world, std::string agent_id, int replica)
      : world_(world),
        id_(std::move(agent_id)),
        stub_(world->agent_stubs[replica % world->agent_stubs.size()].get()) {}

  ~AgentDesk() { Stop(); }

  const std::string& id() const { return id_; }
  // Signed afresh for each call: e2e tokens live 10 minutes, a long run lasts longer.
  std::string token() const { return e2e::Token(world_->tenant, cv1::ROLE_AGENT, id_); }
  int connected_port() const { return connected_port_.load(); }

  void Begin() {
    desk_ = std::thread([this] { DeskLoop(); });
    worker_ = std::thread([this] { WorkLoop(); });
  }

  void Stop() {
    stopping_ = true;
    {
      std::lock_guard lock(mu_);
      if (stream_ != nullptr) stream_->TryCancel();
    }
    if (desk_.joinable()) desk_.join();
    if (worker_.joinable()) worker_.join();
  }

  bool Idle() {
    std::lock_guard lock(mu_);
    return dialogs_.empty() && offers_.empty();
  }

 private:
  struct Dialog {
    std::string contact_id;
    int replies = 0;
    absl::Time next;
  };

  void DeskLoop() {
    absl::Duration backoff = absl::Milliseconds(100);
    while (!stopping_) {
      grpc::ClientContext ctx;
      kefu::auth::AttachToken(&ctx, token());
      {
        std::lock_guard lock(mu_);
        stream_ = &ctx;
      }
      auto reader = stub_->Updates(&ctx, gv1::AgentGatewayServiceUpdatesRequest());
      gv1::AgentGatewayServiceUpdatesResponse u;
      bool first = true;
      while (reader->Read(&u)) {
        if (first) {
          connected_port_ = PortOfPeer(ctx.peer());
          first = false;
          backoff = absl::Milliseconds(100);
        }
        Handle(u);
      }
      const grpc::Status st = reader->Finish();
      connected_port_ = 0;
      {
        std::lock_guard lock(mu_);
        stream_ = nullptr;
      }
      if (stopping_) break;
      ++world_->stats.stream_breaks;
      if (st.error_code() == grpc::StatusCode::UNAVAILABLE) ++world_->stats.unavailable;
      absl::SleepFor(backoff * world_->rng.Uniform(0.5, 1.5));
      backoff = std::min(backoff * 2, absl::Seconds(2));
    }
  }

  void Handle(const gv1::AgentGatewayServiceUpdatesResponse& u) {
    std::lock_guard lock(mu_);
    auto offer = [&](const gv1::Offer& o) {
      if (seen_offers_.insert(o.offer_id()).second) offers_.push_back(o);
    };
    if (u.has_snapshot()) {
      for (const auto& o : u.snapshot().offers()) offer(o);
      for (const auto& d : u.snapshot().dialogs()) {
        if (!dialogs_.contains(d.dialog_id()) && !ended_.contains(d.dialog_id())) {
          dialogs_[d.dialog_id()] = {d.contact_id(), 0, absl::Now() + absl::Milliseconds(500)};
        }
      }
    } else if (u.has_offer()) {
      offer(u.offer());
    } else if (u.has_dialog_ended()) {
      ended_.insert(u.dialog_ended().dialog_id());
      dialogs_.erase(u.dialog_ended().dialog_id());
    }
  }

  void WorkLoop() {
    while (!stopping_) {
      absl::SleepFor(absl::Milliseconds(100));
      std::optional<gv1::Offer> offer;
      {
        std::lock_guard lock(mu_);
        if (!offers_.empty()) {
          offer = offers_.front();
          offers_.pop_front();
        }
      }
      if (offer) Answer(*offer);
      std::vector<std::pair<std::string, Dialog>> due;
      {
        std::lock_guard lock(mu_);
        for (const auto& [dialog_id, d] : dialogs_) {
          if (d.next <= absl::Now()) due.emplace_back(dialog_id, d);
        }
      }
      for (auto& [dialog_id, d] : due) Serve(dialog_id, d);
    }
  }

  void Answer(const gv1::Offer& offer) {
    if (world_->rng.Uniform(0, 1) < 0.1) {
      ++world_->ledger.offers_ignored;  // the desktop froze: the offer must time out
      return;
    }
    absl::SleepFor(world_->rng.Seconds(0.1, 0.6));
    gv1::AcceptRequest accept;
    accept.set_offer_id(offer.offer_id());
    accept.set_idempotency_key(offer.offer_id());
    gv1::AcceptResponse accepted;
    const grpc::Status st =
        Call("Accept", token(), world_->stats, world_->rng, &stopping_,
             [&](grpc::ClientContext* ctx) { return stub_->Accept(ctx, accept, &accepted); });
    if (!st.ok()) return;  // expired meanwhile, or the contact left
    ++world_->ledger.accepted;
    std::lock_guard lock(mu_);
    const std::string& dialog_id = accepted.dialog().dialog_id();
    if (!ended_.contains(dialog_id) && !dialogs_.contains(dialog_id)) {
      dialogs_[dialog_id] = {accepted.dialog().contact_id(), 0,
                             absl::Now() + world_->rng.Seconds(0.5, 1.2)};
    }
  }

  void Serve(const std::string& dialog_id, Dialog d) {
    bool done = false;
    if (d.replies < 2) {
      gv1::AgentGatewayServiceSendRequest send;
      send.set_dialog_id(dialog_id);
      send.set_text(absl::StrCat(world_->run, " ", id_, " to ", dialog_id, " reply ", d.replies + 1,
                                 " 您好"));
      send.set_idempotency_key(absl::StrCat("r", d.replies + 1));
      gv1::AgentGatewayServiceSendResponse sent;
      const grpc::Status st =
          Call("agent Send", token(), world_->stats, world_->rng, &stopping_,
               [&](grpc::ClientContext* ctx) { return stub_->Send(ctx, send, &sent); });
      if (st.ok()) {
        world_->ledger.Message(sent.message());
        ++d.replies;
        d.next = absl::Now() + world_->rng.Seconds(0.6, 1.2);
      } else if (!Retryable(st.error_code())) {
        done = true;  // ended by the customer, or no longer this agent's
      } else {
        d.next = absl::Now() + absl::Milliseconds(500);
      }
    } else {
      gv1::CloseRequest close;
      close.set_dialog_id(dialog_id);
      close.mutable_summary()->set_category("chaos");
      close.set_idempotency_key("close");
      gv1::CloseResponse closed;
      const grpc::Status st =
          Call("Close", token(), world_->stats, world_->rng, &stopping_,
               [&](grpc::ClientContext* ctx) { return stub_->Close(ctx, close, &closed); });
      if (st.ok()) ++world_->ledger.closed;
      done = st.ok() || !Retryable(st.error_code());
      if (!done) d.next = absl::Now() + absl::Milliseconds(500);
    }
    std::lock_guard lock(mu_);
    if (done) {
      ended_.insert(dialog_id);
      dialogs_.erase(dialog_id);
    } else if (dialogs_.contains(dialog_id)) {
      dialogs_[dialog_id] = d;
    }
  }

  World* world_;
  const std::string id_;
  gv1::AgentGatewayService::Stub* stub_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connected_port_{0};
  std::mutex mu_;
  grpc::ClientContext* stream_ = nullptr;  // guarded by mu_
  std::deque<gv1::Offer> offers_;          // guarded by mu_
  std::set<std::string> seen_offers_;      // guarded by mu_
  std::map<std::string, Dialog> dialogs_;  // guarded by mu_
  std::set<std::string> ended_;            // guarded by mu_
  std::thread desk_, worker_;
};

// ---------------------------------------------------------------------------------------
// A customer: starts a chat, says three things, waits a little and leaves. Before leaving it
// asks the router where its contact stands (the "none lost" probe).

void RunCustomer(World* world, int serial) {
  auto& stub = *world->customer_stubs[serial % world->customer_stubs.size()];
  const std::string service = e2e::Token(world->tenant, cv1::ROLE_SERVICE, "svc:widget");
  gv1::StartContactRequest start;
  start.set_channel(cv1::CHANNEL_CHAT);
  start.set_caller_number(absl::StrFormat("1391%07d", serial));
  start.set_requested_department_id("sales");
  start.set_idempotency_key(absl::StrCat(world->run, "-c", serial));
  gv1::StartContactResponse contact;
  ++world->ledger.started;
  grpc::Status st = Call("StartContact", service, world->stats, world->rng, nullptr,
                         [&](grpc::ClientContext* ctx) {
                           contact.Clear();
                           return stub.StartContact(ctx, start, &contact);
                         });
  if (!st.ok()) {
    ++world->ledger.start_failed;
    return;
  }
  AckedContact acked{contact.contact_id(), contact.dialog_id()};
  const std::string token = contact.customer_token();

  for (int k = 1; k <= 3; ++k) {
    absl::SleepFor(world->rng.Seconds(0.4, 1.2));
    gv1::CustomerGatewayServiceSendRequest send;
    send.set_text(absl::StrCat(world->run, " customer ", serial, " says ", k, " 你好"));
    send.set_idempotency_key(absl::StrCat("m", k));
    gv1::CustomerGatewayServiceSendResponse sent;
    st = Call("customer Send", token, world->stats, world->rng, nullptr,
              [&](grpc::ClientContext* ctx) { return stub.Send(ctx, send, &sent); });
    if (st.ok()) world->ledger.Message(sent.message());
    if (st.error_code() == grpc::StatusCode::FAILED_PRECONDITION) break;  // ended
  }
  absl::SleepFor(world->rng.Seconds(3, 7));

  rv1::QueueStatusRequest where;
  where.set_tenant_id(world->tenant);
  where.set_contact_id(acked.contact_id);
  rv1::QueueStatusResponse status;
  st = Call(
      "QueueStatus", world->Admin(), world->stats, world->rng, nullptr,
      [&](grpc::ClientContext* ctx) { return world->routing->QueueStatus(ctx, where, &status); });
  if (st.ok()) {
    acked.probed = true;
    acked.last_routing_state = status.contact().state();
  } else if (st.error_code() == grpc::StatusCode::NOT_FOUND) {
    acked.probed = true;
    acked.unknown_to_router = true;
  }

  gv1::EndRequest end;
  end.set_idempotency_key("end");
  gv1::EndResponse ended;
  (void)Call("End", token, world->stats, world->rng, nullptr,
             [&](grpc::ClientContext* ctx) { return stub.End(ctx, end, &ended); });
  std::lock_guard lock(world->ledger.mu);
  world->ledger.contacts.push_back(std::move(acked));
}

// ---------------------------------------------------------------------------------------
// Set-up through the public admin APIs: a queue with a 3 s offer timeout (so an orphaned offer
// comes back quickly), a department, agents with max concurrent 2, logged in and ONLINE.

void SetUpTenant(const e2e::Stack& stack, World* world) {
  auto admin_stub =
      rv1::RoutingAdminService::NewStub(e2e::Channel(stack.ports().at("router").grpc));
  rv1::CreateQueueRequest queue;
  queue.mutable_queue()->set_queue_id("q-sales");
  queue.mutable_queue()->set_is_default(true);
  queue.mutable_queue()->mutable_offer_timeout()->set_seconds(absl::ToInt64Seconds(kOfferTimeout));
  queue.mutable_queue()->mutable_reject_delay()->set_seconds(1);
  queue.mutable_queue()->mutable_no_answer_delay()->set_seconds(1);
  rv1::CreateQueueResponse queued;
  auto st = admin_stub->CreateQueue(e2e::With(world->Admin()).get(), queue, &queued);
  INFO(st.error_message());
  REQUIRE(st.ok());
  rv1::CreateDepartmentRequest department;
  department.mutable_department()->set_department_id("sales");
  department.mutable_department()->mutable_name()->set_zh("销售");
  department.mutable_department()->set_queue_id("q-sales");
  rv1::CreateDepartmentResponse created;
  st = admin_stub->CreateDepartment(e2e::With(world->Admin()).get(), department, &created);
  INFO(st.error_message());
  REQUIRE(st.ok());
}

std::string LogIn(World* world, rv1::RoutingAdminService::Stub& admin_stub,
                  const std::string& agent_id) {
  rv1::SetAgentProfileRequest profile;
  profile.mutable_profile()->set_agent_id(agent_id);
  profile.mutable_profile()->set_nickname(agent_id);
  profile.mutable_profile()->set_max_concurrent(kMaxConcurrent);
  profile.mutable_profile()->set_enabled(true);
  profile.mutable_profile()->add_department_ids("sales");
  rv1::SetAgentProfileResponse set;
  auto st = admin_stub.SetAgentProfile(e2e::With(world->Admin()).get(), profile, &set);
  INFO(st.error_message());
  REQUIRE(st.ok());
  const std::string token = e2e::Token(world->tenant, cv1::ROLE_AGENT, agent_id);
  pv1::LoginResponse session;
  REQUIRE(world->presence->Login(e2e::With(token).get(), pv1::LoginRequest(), &session).ok());
  pv1::SetStatusRequest online;
  online.set_status(cv1::AGENT_STATUS_ONLINE);
  pv1::SetStatusResponse status;
  REQUIRE(world->presence->SetStatus(e2e::With(token).get(), online, &status).ok());
  return session.session_id();
}

// The test servers run PostgreSQL with synchronous_commit=off for speed, which lets a crash
// take back transactions already reported committed; production commits synchronously. The
// chaos database does too, so a crash here must lose nothing that was acknowledged.
void CommitSynchronously(const std::string& admin_dsn, const std::string& dsn) {
  const auto at = dsn.find("dbname=");
  REQUIRE(at != std::string::npos);
  const std::string name = dsn.substr(at + 7, dsn.find(' ', at) - at - 7);
  pqxx::connection conn(admin_dsn);
  pqxx::nontransaction txn(conn);
  txn.exec("ALTER DATABASE " + conn.quote_name(name) + " SET synchronous_commit = on");
}

// The tenant's whole event stream, oldest first.
std::vector<ev::Event> ReadEvents(const std::string& redis_url, const std::string& tenant) {
  auto url = kefu::redis::ParseUrl(redis_url);
  REQUIRE(url.ok());
  auto conn = kefu::redis::Connection::Open(*url, absl::Seconds(5));
  REQUIRE(conn.ok());
  const std::string key = kefu::events::StreamKey(tenant);
  std::vector<ev::Event> events;
  std::string from = "-";
  while (true) {
    auto reply = (*conn)->Command({"XRANGE", key, from, "+", "COUNT", "1000"});
    REQUIRE(reply.ok());
    const redisReply* entries = reply->get();
    if (entries->elements == 0) break;
    for (size_t i = 0; i < entries->elements; ++i) {
      const redisReply* entry = entries->element[i];
      from = absl::StrCat("(", kefu::redis::ReplyString(*entry->element[0]));
      const redisReply* fields = entry->element[1];
      for (size_t f = 0; f + 1 < fields->elements; f += 2) {
        if (kefu::redis::ReplyString(*fields->element[f]) != "event") continue;
        const auto bytes = kefu::redis::ReplyString(*fields->element[f + 1]);
        ev::Event event;
        if (event.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
          events.push_back(std::move(event));
        }
      }
    }
  }
  return events;
}

}  // namespace

TEST_CASE(
    "under steady traffic, killed router and gateway replicas and restarted Redis and "
    "PostgreSQL lose no contact, double-book no agent, duplicate no message and leave no "
    "offer orphaned for more than 5 s") {
  const Settings settings = FromEnv();
  const absl::Time begin = absl::Now();
  // Private servers: this test kills them. Redis runs with AOF (appendfsync everysec).
  auto redis = kefu::testing::RedisServer::Start();
  INFO((redis.ok() ? std::string() : redis.status().ToString()));
  REQUIRE(redis.ok());
  auto pg = kefu::testing::PostgresServer::Start();
  INFO((pg.ok() ? std::string() : pg.status().ToString()));
  REQUIRE(pg.ok());
  auto dsn = kefu::testing::CreateDatabase((*pg)->dsn(), "chaos");
  REQUIRE(dsn.ok());
  CommitSynchronously((*pg)->dsn(), *dsn);

  e2e::Stack stack((*redis)->url(), *dsn, {}, /*routers=*/2);
  INFO(stack.Logs());
  const int second_gateway = stack.AddGateway();
  REQUIRE(stack.SecondsUntilAll("SERVING", 60) >= 0);
  const std::vector<int> gateways = {stack.ports().at("gateway").grpc, second_gateway};
  const std::vector<int> routers = {stack.ports().at("router").grpc,
                                    stack.ports().at("router-2").grpc};

  World world;
  world.tenant = kefu::testing::UniqueTenant("chaos");
  world.run = absl::StrFormat("run%06x", world.rng.Int(0, 0xffffff));
  // Half the people reach the gateways as {1, 2}, half as {2, 1}: each channel uses the
  // first replica that answers, as a client behind a load balancer would.
  for (const auto& order : {gateways, std::vector<int>{gateways[1], gateways[0]}}) {
    auto channel = Balanced(order);
    world.customer_stubs.push_back(gv1::CustomerGatewayService::NewStub(channel));
    world.agent_stubs.push_back(gv1::AgentGatewayService::NewStub(channel));
  }
  world.routing = rv1::RoutingService::NewStub(Balanced(routers));
  world.presence = pv1::PresenceService::NewStub(e2e::Channel(stack.ports().at("presence").grpc));
  SetUpTenant(stack, &world);

  auto admin_stub = rv1::RoutingAdminService::NewStub(e2e::Channel(routers[0]));
  std::vector<std::unique_ptr<AgentDesk>> desks;
  std::map<std::string, std::string> sessions;
  for (int i = 1; i <= settings.agents; ++i) {
    const std::string agent_id = absl::StrCat("agent-", i);
    sessions[agent_id] = LogIn(&world, *admin_stub, agent_id);
    desks.push_back(std::make_unique<AgentDesk>(&world, agent_id, i));
  }
  for (auto& desk : desks) desk->Begin();
  // Desktops send heartbeats (F22), so presence keeps them ONLINE through the faults.
  std::atomic<bool> stop_heartbeats{false};
  std::thread heartbeats([&] {
    while (!stop_heartbeats) {
      for (auto& desk : desks) {
        pv1::HeartbeatRequest beat;
        beat.set_session_id(sessions[desk->id()]);
        pv1::HeartbeatResponse beaten;
        (void)Call("Heartbeat", desk->token(), world.stats, world.rng, &stop_heartbeats,
                   [&](grpc::ClientContext* ctx) {
                     return world.presence->Heartbeat(ctx, beat, &beaten);
                   });
      }
      for (int i = 0; i < 50 && !stop_heartbeats; ++i) absl::SleepFor(absl::Milliseconds(100));
    }
  });

  // Steady arrivals until the faults are over.
  std::atomic<bool> stop_arrivals{false};
  std::vector<std::thread> customers;
  std::mutex customers_mu;
  std::thread arrivals([&] {
    int serial = 0;
    while (!stop_arrivals) {
      {
        std::lock_guard lock(customers_mu);
        customers.emplace_back(RunCustomer, &world, ++serial);
      }
      absl::SleepFor(absl::Seconds(1.0 / settings.customers_per_s) * world.rng.Uniform(0.5, 1.5));
    }
  });

  // The faults, each after a stretch of steady traffic.
  int faults = 0;
  std::vector<std::string> fault_log;
  auto log_fault = [&](const std::string& what) {
    ++faults;
    fault_log.push_back(
        absl::StrFormat("%.1fs %s", absl::ToDoubleSeconds(absl::Now() - begin), what));
  };
  auto kill_gateway = [&](const std::string& name) {
    const int port = stack.ports().at(name).grpc;
    stack.Kill(name);
    log_fault(absl::StrCat("SIGKILL ", name));
    // Every desk that was on it sees its stream end (UNAVAILABLE), none stays silently open.
    const bool noticed = e2e::Eventually(
        [&] {
          for (auto& desk : desks) {
            if (desk->connected_port() == port) return false;
          }
          return true;
        },
        absl::Seconds(5));
    if (!noticed) {
      for (auto& desk : desks) {
        if (desk->connected_port() == port) ++world.stats.stream_hangs;
      }
    }
    absl::SleepFor(settings.down_time);
    stack.Start(name);
  };
  for (int round = 0; round < settings.rounds; ++round) {
    absl::SleepFor(settings.fault_gap);
    stack.Kill("router");
    log_fault("SIGKILL router");
    absl::SleepFor(settings.down_time);
    stack.Start("router");

    absl::SleepFor(settings.fault_gap);
    kill_gateway("gateway");

    absl::SleepFor(settings.fault_gap);
    log_fault("restart redis");
    REQUIRE((*redis)->Restart().ok());

    absl::SleepFor(settings.fault_gap);
    stack.Kill("router-2");
    log_fault("SIGKILL router-2");
    absl::SleepFor(settings.down_time);
    stack.Start("router-2");

    absl::SleepFor(settings.fault_gap);
    kill_gateway("gateway-2");

    // Both router replicas at once (a bad roll-out): contacts started meanwhile are stored
    // by the gateway but cannot be queued; the customers' retries must get them queued.
    absl::SleepFor(settings.fault_gap);
    stack.Kill("router");
    stack.Kill("router-2");
    log_fault("SIGKILL router and router-2");
    // 3 s in both forms: with no router at all nobody sweeps, so an offer due meanwhile is
    // reclaimed only when one is back; a longer outage would exceed the 5 s by design.
    absl::SleepFor(absl::Seconds(3));
    stack.Start("router");
    stack.Start("router-2");

    absl::SleepFor(settings.fault_gap);
    log_fault("crash+restart postgres");
    REQUIRE((*pg)->Kill().ok());
    absl::SleepFor(settings.down_time);
    REQUIRE((*pg)->Restart().ok());
  }
  absl::SleepFor(settings.fault_gap);
  stop_arrivals = true;
  arrivals.join();
  for (auto& t : customers) t.join();  // each leaves within its retry budgets
  // Agents finish the dialogs they still have (the customers have all left).
  e2e::Eventually(
      [&] {
        for (auto& desk : desks) {
          if (!desk->Idle()) return false;
        }
        return true;
      },
      absl::Seconds(20));
  for (auto& desk : desks) desk->Stop();
  stop_heartbeats = true;
  heartbeats.join();
  const absl::Time traffic_end = absl::Now();

  // Every dialog is over, so the router may hold no agent's slot any more: a Release lost
  // with a dead router or gateway would keep one for good (the agent takes fewer contacts).
  int leaked_slots = 0;
  std::vector<std::string> leaks;
  const std::string service = e2e::Token(world.tenant, cv1::ROLE_SERVICE, "svc:chaos");
  e2e::Eventually(
      [&] {
        rv1::TransferTargetsRequest request;
        request.set_tenant_id(world.tenant);
        request.set_agent_id("chaos-observer");
        rv1::TransferTargetsResponse tree;
        const grpc::Status st = Call("TransferTargets", service, world.stats, world.rng, nullptr,
                                     [&](grpc::ClientContext* ctx) {
                                       return world.routing->TransferTargets(ctx, request, &tree);
                                     });
        if (!st.ok()) return false;
        leaked_slots = 0;
        leaks.clear();
        std::vector<const rv1::TargetDepartment*> todo;
        for (const auto& d : tree.departments()) todo.push_back(&d);
        while (!todo.empty()) {
          const rv1::TargetDepartment* d = todo.back();
          todo.pop_back();
          for (const auto& child : d->children()) todo.push_back(&child);
          for (const auto& a : d->agents()) {
            if (a.active_dialogs() == 0) continue;
            leaked_slots += a.active_dialogs();
            leaks.push_back(absl::StrCat("router still counts ", a.active_dialogs(),
                                         " dialogs for ", a.agent().agent_id(),
                                         " after every dialog ended"));
          }
        }
        return leaked_slots == 0;
      },
      absl::Seconds(15));

  // Final state: crm's records of every acknowledged dialog, once crm has caught up with
  // the event stream (it follows it at least once, after the PostgreSQL restart too).
  auto records = crm::RecordService::NewStub(e2e::Channel(stack.ports().at("crm").grpc));
  std::set<std::string> crm_ended;
  std::map<std::string, std::vector<cv1::Message>> transcripts;
  std::map<std::string, int> expected_messages;
  for (const auto& m : world.ledger.messages) ++expected_messages[m.dialog_id];
  const absl::Time crm_deadline = absl::Now() + absl::Seconds(60);
  for (const AckedContact& c : world.ledger.contacts) {
    e2e::Eventually(
        [&] {
          crm::GetDialogRequest get;
          get.set_dialog_id(c.dialog_id);
          crm::GetDialogResponse found;
          if (records->GetDialog(e2e::With(world.Admin()).get(), get, &found).ok() &&
              found.dialog().end_type() != cv1::DIALOG_END_TYPE_UNSPECIFIED) {
            crm_ended.insert(c.dialog_id);
            return true;
          }
          return false;
        },
        std::max(absl::ZeroDuration(), crm_deadline - absl::Now()));
  }
  // The transcript of every dialog with an acknowledged message (an agent may have served a
  // contact whose customer never got StartContact's answer).
  for (const auto& [dialog_id, expected] : expected_messages) {
    e2e::Eventually(
        [&, dialog_id = dialog_id, expected = expected] {
          std::vector<cv1::Message> all;
          crm::GetTranscriptRequest get;
          get.set_dialog_id(dialog_id);
          get.set_page_size(100);
          do {
            crm::GetTranscriptResponse page;
            if (!records->GetTranscript(e2e::With(world.Admin()).get(), get, &page).ok()) {
              return false;
            }
            for (auto& m : *page.mutable_messages()) all.push_back(std::move(m));
            get.set_page_token(page.next_page_token());
          } while (!get.page_token().empty());
          const int ours =
              static_cast<int>(std::count_if(all.begin(), all.end(), [&](const auto& m) {
                return absl::StartsWith(m.text(), world.run);
              }));
          transcripts[dialog_id] = std::move(all);
          return ours >= expected;
        },
        std::max(absl::ZeroDuration(), crm_deadline - absl::Now()));
  }

  const std::vector<ev::Event> events = ReadEvents(stack.redis_url(), world.tenant);
  kefu::chaos::Verdict verdict;
  kefu::chaos::CheckContacts(world.ledger.contacts, events, crm_ended, &verdict);
  kefu::chaos::CheckConcurrency(events, kMaxConcurrent, &verdict);
  kefu::chaos::CheckTranscripts(world.ledger.messages, transcripts, &verdict);
  kefu::chaos::CheckReclaim(events, traffic_end, &verdict);

  const int hangs = world.stats.hangs + world.stats.stream_hangs;
  const std::string line = absl::StrFormat(
      "chaos faults=%d lost=%d double=%d dup_msgs=%d max_reclaim_s=%.2f hangs=%d "
      "lost_msgs=%d out_of_order=%d unreclaimed=%d contacts=%d messages=%d offers=%d "
      "reclaimed=%d leaked_slots=%d unavailable=%d gave_up=%d other_errors=%d stream_breaks=%d "
      "events=%zu seconds=%.0f",
      faults, verdict.lost, verdict.double_booked, verdict.dup_msgs, verdict.max_reclaim_s, hangs,
      verdict.lost_msgs, verdict.out_of_order, verdict.unreclaimed, verdict.contacts,
      verdict.messages, verdict.offers, verdict.reclaimed, leaked_slots,
      world.stats.unavailable.load(), world.stats.gave_up.load(), world.stats.other.load(),
      world.stats.stream_breaks.load(), events.size(), absl::ToDoubleSeconds(absl::Now() - begin));
  std::printf("%s\n", line.c_str());
  std::printf("chaos faults: %s\n", absl::StrJoin(fault_log, "; ").c_str());
  for (const auto& l : leaks) verdict.problems.push_back(l);
  for (const auto& p : verdict.problems) std::printf("chaos problem: %s\n", p.c_str());
  for (const auto& s : world.stats.samples) std::printf("chaos client error: %s\n", s.c_str());
  if (!verdict.problems.empty()) {
    // Where the event consumers stand: entries read but never acknowledged, per group.
    auto url = kefu::redis::ParseUrl(stack.redis_url());
    auto conn = kefu::redis::Connection::Open(*url, absl::Seconds(5));
    if (conn.ok()) {
      const std::string key = kefu::events::StreamKey(world.tenant);
      for (const char* group : {"crm", "reporting"}) {
        auto pending = (*conn)->Command({"XPENDING", key, group});
        if (pending.ok() && (*pending)->elements > 0) {
          std::printf("chaos pending in %s: %lld\n", group,
                      static_cast<long long>((*pending)->element[0]->integer));
        }
      }
    }
    auto metrics = kefu::testing::HttpGet(stack.ports().at("crm").metrics, "/metrics");
    if (metrics.ok()) {
      for (absl::string_view l : absl::StrSplit(*metrics, '\n')) {
        if (absl::StartsWith(l, "kefu_crm_events_total")) {
          std::printf("chaos crm: %s\n", std::string(l).c_str());
        }
      }
    }
  }
  std::fflush(stdout);

  INFO(line);
  INFO("problems: " << absl::StrJoin(verdict.problems, "\n  "));
  INFO("client errors: " << absl::StrJoin(world.stats.samples, "\n  "));
  // The traffic was real: enough contacts, and frozen desktops made offers time out.
  CHECK(verdict.contacts >= 20 * settings.rounds);
  CHECK(verdict.reclaimed > 0);
  CHECK(verdict.lost == 0);
  CHECK(verdict.double_booked == 0);
  CHECK(verdict.dup_msgs == 0);
  CHECK(verdict.lost_msgs == 0);
  CHECK(verdict.out_of_order == 0);
  CHECK(hangs == 0);
  CHECK(verdict.unreclaimed == 0);
  CHECK(leaked_slots == 0);
  CHECK(verdict.max_reclaim_s <= 5);
}
