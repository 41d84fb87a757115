// route_bench: the router over gRPC on loopback, with real Redis and PostgreSQL.
//
// Prints, in one run: the Redis round trip p50 and an empty gRPC round trip p50 (the
// floor), enqueue-to-offer latency p50/p99/p99.9 at a fixed offered load (open loop,
// measured from each contact's scheduled arrival, so a slow call delays the next ones'
// figures rather than hiding them), and routed contacts per second at saturation
// (closed loop). Simulated agents accept each offer and end the dialog at once.
//
//   route_bench [--rate 1000] [--seconds 5] [--agents 50] [--threads 8]
//   route_bench --scenario acd50 [--seconds 20]   (per rate; see Acd50 below)
// Last line: route_bench p50_us=… p99_us=… rps=… ratio=…
#include <grpcpp/grpcpp.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "bench/bench_floor.h"
#include "bench/bench_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "kefu/presence/v1/presence.grpc.pb.h"
#include "kefu/router/v1/routing.grpc.pb.h"
#include "kefu/router/v1/routing_admin.grpc.pb.h"
#include "libs/events/events.h"
#include "libs/redis/client.h"
#include "libs/server/grpc_server.h"
#include "services/presence/presence_service.h"
#include "services/router/redis_router.h"
#include "services/router/router_service.h"
#include "tests/support/env.h"
#include "tests/support/service_harness.h"

namespace {

namespace rv1 = kefu::router::v1;
namespace pv1 = kefu::presence::v1;
using kefu::testing::CallWith;
using kefu::testing::TokenFor;

using kefu::bench::Flag;
using kefu::bench::Percentile;

struct Bench {
  kefu::testing::RunningService presence =
      kefu::testing::StartService(kefu::presence::Definition());
  kefu::testing::RunningService router = kefu::testing::StartService(kefu::router::Definition());
  std::string tenant = kefu::testing::UniqueTenant("bench");
  std::string admin = TokenFor(tenant, kefu::common::v1::ROLE_ADMIN, "boss");
  std::string service = TokenFor(tenant, kefu::common::v1::ROLE_SERVICE, "svc:bench");
  std::vector<std::string> agent_tokens;
  // Agent id -> its token, signed once at set-up as a desktop holds one (read-only after).
  std::map<std::string, std::string> token_of;
  std::vector<std::string> sessions;

  // Agent desktops send heartbeats; without them presence turns agents OFFLINE after
  // the heartbeat timeout (F22), which a run longer than 30 s would hit.
  std::thread StartHeartbeats(std::atomic<bool>* done) {
    return std::thread([this, done] {
      auto stub = pv1::PresenceService::NewStub(presence.channel);
      while (!*done) {
        for (size_t i = 0; i < sessions.size() && !*done; ++i) {
          pv1::HeartbeatRequest beat;
          beat.set_session_id(sessions[i]);
          pv1::HeartbeatResponse response;
          stub->Heartbeat(CallWith(agent_tokens[i]).get(), beat, &response);
        }
        for (int i = 0; i < 50 && !*done; ++i) absl::SleepFor(absl::Milliseconds(100));
      }
    });
  }

  void Setup(int agents, int max_concurrent = 100) {
    auto admin_stub = rv1::RoutingAdminService::NewStub(router.channel);
    auto presence_stub = pv1::PresenceService::NewStub(presence.channel);
    rv1::CreateQueueRequest queue;
    queue.mutable_queue()->set_queue_id("main");
    queue.mutable_queue()->set_is_default(true);
    rv1::CreateQueueResponse queue_response;
    admin_stub->CreateQueue(CallWith(admin).get(), queue, &queue_response);
    rv1::CreateDepartmentRequest dept;
    dept.mutable_department()->set_department_id("support");
    dept.mutable_department()->set_queue_id("main");
    rv1::CreateDepartmentResponse dept_response;
    admin_stub->CreateDepartment(CallWith(admin).get(), dept, &dept_response);
    for (int i = 0; i < agents; ++i) {
      const std::string id = "a" + std::to_string(i);
      rv1::SetAgentProfileRequest profile;
      profile.mutable_profile()->set_agent_id(id);
      profile.mutable_profile()->set_max_concurrent(max_concurrent);
      profile.mutable_profile()->set_enabled(true);
      profile.mutable_profile()->add_department_ids("support");
      rv1::SetAgentProfileResponse ignored;
      admin_stub->SetAgentProfile(CallWith(admin).get(), profile, &ignored);
      agent_tokens.push_back(TokenFor(tenant, kefu::common::v1::ROLE_AGENT, id));
      token_of[id] = agent_tokens.back();
      pv1::LoginRequest login;
      pv1::LoginResponse logged_in;
      presence_stub->Login(CallWith(agent_tokens.back()).get(), login, &logged_in);
      sessions.push_back(logged_in.session_id());
      pv1::SetStatusRequest online;
      online.set_status(kefu::common::v1::AGENT_STATUS_ONLINE);
      pv1::SetStatusResponse status;
      presence_stub->SetStatus(CallWith(agent_tokens.back()).get(), online, &status);
    }
  }

  // One contact's life at the router: enqueue (offer in the reply), accept, release.
  // Returns the enqueue-to-offer time, or a negative value when no offer was made.
  double Route(rv1::RoutingService::Stub& stub, const std::string& contact) {
    rv1::EnqueueRequest enqueue;
    enqueue.set_contact_id(contact);
    enqueue.set_tier(kefu::common::v1::CUSTOMER_TIER_NEW);
    rv1::EnqueueResponse enqueued;
    const absl::Time start = absl::Now();
    if (!stub.Enqueue(CallWith(service).get(), enqueue, &enqueued).ok()) return -1;
    const double micros = absl::ToDoubleMicroseconds(absl::Now() - start);
    if (enqueued.routing().offers_size() == 0) return -1;
    const std::string& agent = enqueued.routing().agent_id();
    const std::string& token = token_of.at(agent);
    rv1::AcceptOfferRequest accept;
    accept.set_offer_id(enqueued.routing().offers(0).offer_id());
    rv1::AcceptOfferResponse accepted;
    stub.AcceptOffer(CallWith(token).get(), accept, &accepted);
    rv1::ReleaseRequest release;
    release.set_contact_id(contact);
    rv1::ReleaseResponse released;
    stub.Release(CallWith(token).get(), release, &released);
    return micros;
  }
};

// --scenario acd50: the standard ACD comparison. 50 agents in one queue (one dialog each),
// each contact held 200 ms then released, offered at 25, 50, 75, 150 and 300 contacts/s.
// Offers are observed on the tenant's event stream, as an agent desktop would get them.
int Acd50(int seconds_per_rate) {
  Bench bench;
  bench.Setup(50, /*max_concurrent=*/1);
  auto stub = rv1::RoutingService::NewStub(bench.router.channel);
  using Clock = std::chrono::steady_clock;
  struct Shared {
    std::mutex mu;
    std::map<std::string, Clock::time_point> enqueued;       // contact -> Enqueue start
    std::map<std::string, Clock::time_point> release_start;  // agent -> last Release start
    std::vector<double> join_to_offer, free_to_offer;        // microseconds
    std::multimap<Clock::time_point, std::pair<std::string, std::string>> releases;
  } shared;
  std::atomic<bool> done{false};
  std::thread heartbeats = bench.StartHeartbeats(&done);
  const std::string stream = kefu::events::StreamKey(bench.tenant);

  // Agent desktops: follow the stream; accept each offer at once, release 200 ms later.
  // They follow from the stream's end as it is now, before the first contact arrives ("$"
  // in the thread would miss offers made before its first XREAD: they would wait for the
  // offer timeout and show up as multi-second waits).
  std::string first_id = "0-0";
  {
    auto conn = kefu::redis::Connection::Open(
        *kefu::redis::ParseUrl(kefu::testing::SharedEnv().redis_url), absl::Seconds(3));
    if (conn.ok()) {
      auto tail = (*conn)->Command({"XREVRANGE", stream, "+", "-", "COUNT", "1"});
      if (tail.ok() && (*tail)->elements > 0) {
        first_id = std::string(kefu::redis::ReplyString(*(*tail)->element[0]->element[0]));
      }
    }
  }
  std::thread follower([&, first_id] {
    auto conn = kefu::redis::Connection::Open(
        *kefu::redis::ParseUrl(kefu::testing::SharedEnv().redis_url), absl::Seconds(3));
    if (!conn.ok()) return;
    std::string last = first_id;
    auto accept_stub = rv1::RoutingService::NewStub(bench.router.channel);
    while (!done) {
      auto reply =
          (*conn)->Command({"XREAD", "COUNT", "200", "BLOCK", "200", "STREAMS", stream, last});
      if (!reply.ok() || kefu::redis::ReplyIsNil(**reply)) continue;
      const redisReply* entries = (*reply)->element[0]->element[1];
      for (size_t i = 0; i < entries->elements; ++i) {
        last = std::string(kefu::redis::ReplyString(*entries->element[i]->element[0]));
        const redisReply* fields = entries->element[i]->element[1];
        if (kefu::redis::ReplyString(*fields->element[1]) != "offer_created") continue;
        const Clock::time_point seen = Clock::now();
        kefu::events::v1::Event event;
        const auto bytes = kefu::redis::ReplyString(*fields->element[3]);
        if (!event.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) continue;
        const auto& offer = event.offer_created();
        {
          std::lock_guard<std::mutex> lock(shared.mu);
          auto it = shared.enqueued.find(offer.contact_id());
          if (it != shared.enqueued.end()) {
            shared.join_to_offer.push_back(
                std::chrono::duration<double, std::micro>(seen - it->second).count());
            // Offered while its agent was being freed: the agent-free -> next-offer path.
            auto rel = shared.release_start.find(offer.agent_id());
            if (rel != shared.release_start.end() && rel->second > it->second) {
              shared.free_to_offer.push_back(
                  std::chrono::duration<double, std::micro>(seen - rel->second).count());
            }
            shared.enqueued.erase(it);
          }
        }
        rv1::AcceptOfferRequest accept;
        accept.set_offer_id(offer.offer_id());
        rv1::AcceptOfferResponse accepted;
        const std::string& token = bench.token_of.at(offer.agent_id());
        if (accept_stub->AcceptOffer(CallWith(token).get(), accept, &accepted).ok()) {
          std::lock_guard<std::mutex> lock(shared.mu);
          shared.releases.emplace(Clock::now() + std::chrono::milliseconds(200),
                                  std::make_pair(offer.contact_id(), offer.agent_id()));
        }
      }
    }
  });
  // Dialogs end after 200 ms.
  std::thread releaser([&] {
    auto release_stub = rv1::RoutingService::NewStub(bench.router.channel);
    while (!done) {
      std::pair<std::string, std::string> next;
      {
        std::lock_guard<std::mutex> lock(shared.mu);
        if (!shared.releases.empty() && shared.releases.begin()->first <= Clock::now()) {
          next = shared.releases.begin()->second;
          shared.releases.erase(shared.releases.begin());
          shared.release_start[next.second] = Clock::now();
        }
      }
      if (next.first.empty()) {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        continue;
      }
      rv1::ReleaseRequest release;
      release.set_contact_id(next.first);
      rv1::ReleaseResponse released;
      release_stub->Release(CallWith(bench.token_of.at(next.second)).get(), release, &released);
    }
  });

  std::printf("acd50: 50 agents, one queue, hold 200 ms, %d s per rate\n", seconds_per_rate);
  std::printf("%8s %10s %14s %14s %16s %16s\n", "rate/s", "contacts", "join_p50_ms", "join_p99_ms",
              "free_next_p50_ms", "free_next_p99_ms");
  int serial = 0;
  for (int rate : {25, 50, 75, 150, 300}) {
    {
      std::lock_guard<std::mutex> lock(shared.mu);
      shared.join_to_offer.clear();
      shared.free_to_offer.clear();
    }
    const int total = rate * seconds_per_rate;
    const Clock::time_point start = Clock::now();
    for (int k = 0; k < total; ++k) {
      std::this_thread::sleep_until(start + std::chrono::microseconds(1000000LL * k / rate));
      const std::string contact = absl::StrCat("acd-", serial++);
      {
        std::lock_guard<std::mutex> lock(shared.mu);
        shared.enqueued[contact] = Clock::now();
      }
      rv1::EnqueueRequest enqueue;
      enqueue.set_contact_id(contact);
      enqueue.set_tier(kefu::common::v1::CUSTOMER_TIER_NEW);
      rv1::EnqueueResponse enqueued;
      stub->Enqueue(CallWith(bench.service).get(), enqueue, &enqueued);
    }
    // Let this rate's backlog drain before the next rate starts.
    for (int i = 0; i < 600; ++i) {
      {
        std::lock_guard<std::mutex> lock(shared.mu);
        if (shared.enqueued.empty()) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::lock_guard<std::mutex> lock(shared.mu);
    std::printf("%8d %10d %14.2f %14.2f %16.2f %16.2f\n", rate, total,
                Percentile(shared.join_to_offer, 0.5) / 1000,
                Percentile(shared.join_to_offer, 0.99) / 1000,
                Percentile(shared.free_to_offer, 0.5) / 1000,
                Percentile(shared.free_to_offer, 0.99) / 1000);
    std::fflush(stdout);
    shared.enqueued.clear();
  }
  done = true;
  follower.join();
  releaser.join();
  heartbeats.join();
  return 0;
}

}  // namespace

namespace {

// Redis's CPU time (user + sys, seconds) when read.
struct RedisCpu {
  double seconds = 0;
  absl::Time at;
};

// The value of `field:` in an INFO reply, or "" when absent.
std::string InfoField(const std::string& info, const std::string& field) {
  const size_t at = info.find(field + ":");
  if (at == std::string::npos) return "";
  const size_t begin = at + field.size() + 1;
  return info.substr(begin, info.find_first_of("\r\n,", begin) - begin);
}

RedisCpu ReadRedisCpu(kefu::redis::Pool& pool) {
  RedisCpu out;
  out.at = absl::Now();
  auto info = pool.Command({"INFO", "cpu"});
  if (!info.ok()) return out;
  const std::string text(kefu::redis::ReplyString(**info));
  double user = 0, sys = 0;
  (void)absl::SimpleAtod(InfoField(text, "used_cpu_user"), &user);
  (void)absl::SimpleAtod(InfoField(text, "used_cpu_sys"), &sys);
  out.seconds = user + sys;
  return out;
}

// EVALSHA calls since the last CONFIG RESETSTAT and Redis's time per call (the script's run
// time, without the network).
struct ScriptStats {
  long calls = 0;
  double usec_per_call = 0;
  long commands = 0;  // every command, EVALSHA and the scripts' calls alike
};

ScriptStats ReadScriptStats(kefu::redis::Pool& pool) {
  ScriptStats out;
  auto info = pool.Command({"INFO", "commandstats"});
  if (!info.ok()) return out;
  const std::string text(kefu::redis::ReplyString(**info));
  const size_t at = text.find("cmdstat_evalsha:");
  if (at == std::string::npos) return out;
  const std::string line = text.substr(at, text.find('\n', at) - at);
  const auto value = [&](const std::string& key) {
    const size_t k = line.find(key + "=");
    if (k == std::string::npos) return std::string();
    const size_t b = k + key.size() + 1;
    return line.substr(b, line.find(',', b) - b);
  };
  (void)absl::SimpleAtoi(value("calls"), &out.calls);
  (void)absl::SimpleAtod(value("usec_per_call"), &out.usec_per_call);
  // Every command Redis ran, scripts' own calls included: the work, whatever the load.
  for (size_t pos = text.find("cmdstat_"); pos != std::string::npos;
       pos = text.find("cmdstat_", pos + 1)) {
    const std::string stat = text.substr(pos, text.find('\n', pos) - pos);
    const size_t k = stat.find("calls=");
    long calls = 0;
    if (k != std::string::npos &&
        absl::SimpleAtoi(stat.substr(k + 6, stat.find(',', k) - k - 6), &calls)) {
      out.commands += calls;
    }
  }
  return out;
}

// Runs step(thread, k) on `threads` threads, each back to back until `end`; returns how
// many steps succeeded.
long ClosedLoop(int threads, absl::Time end, const std::function<bool(int, int)>& step) {
  std::atomic<long> done{0};
  std::vector<std::thread> workers;
  workers.reserve(threads);
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int k = 0; absl::Now() < end; ++k) {
        if (step(t, k)) ++done;
      }
    });
  }
  for (auto& w : workers) w.join();
  return done.load();
}

// One contact's life at the router through the async client: Enqueue, then AcceptOffer as
// the offered agent, then Release, each call started when the one before completes.
class AsyncContact {
 public:
  // Contacts are named `prefix` and a serial number.
  AsyncContact(Bench* bench, grpc::CompletionQueue* cq, std::string prefix)
      : bench_(bench),
        stub_(rv1::RoutingService::NewStub(bench->router.channel)),
        cq_(cq),
        prefix_(std::move(prefix)) {}

  // Starts the next contact's life.
  void Start() {
    contact_ = absl::StrCat(prefix_, serial_++);
    stage_ = Stage::kEnqueue;
    enqueue_.set_contact_id(contact_);
    enqueue_.set_tier(kefu::common::v1::CUSTOMER_TIER_NEW);
    enqueued_.Clear();
    ctx_ = CallWith(bench_->service);
    enqueue_reader_ = stub_->AsyncEnqueue(ctx_.get(), enqueue_, cq_);
    enqueue_reader_->Finish(&enqueued_, &status_, this);
  }

  // Takes the completion of this contact's current call. Returns false while the contact's
  // life goes on (the next call started), true when it ended; then *routed says whether
  // all three calls succeeded.
  bool Step(bool* routed) {
    *routed = false;
    if (!status_.ok()) return true;
    switch (stage_) {
      case Stage::kEnqueue: {
        if (enqueued_.routing().offers_size() == 0) return true;
        token_ = &bench_->token_of.at(enqueued_.routing().agent_id());
        accept_.set_offer_id(enqueued_.routing().offers(0).offer_id());
        accepted_.Clear();
        ctx_ = CallWith(*token_);
        accept_reader_ = stub_->AsyncAcceptOffer(ctx_.get(), accept_, cq_);
        accept_reader_->Finish(&accepted_, &status_, this);
        stage_ = Stage::kAccept;
        return false;
      }
      case Stage::kAccept: {
        release_.set_contact_id(contact_);
        released_.Clear();
        ctx_ = CallWith(*token_);
        release_reader_ = stub_->AsyncRelease(ctx_.get(), release_, cq_);
        release_reader_->Finish(&released_, &status_, this);
        stage_ = Stage::kRelease;
        return false;
      }
      case Stage::kRelease:
        *routed = true;
        return true;
    }
    return true;
  }

 private:
  enum class Stage { kEnqueue, kAccept, kRelease };
  Bench* bench_;
  std::unique_ptr<rv1::RoutingService::Stub> stub_;
  grpc::CompletionQueue* cq_;
  std::string prefix_;
  int serial_ = 0;
  Stage stage_ = Stage::kEnqueue;
  std::string contact_;
  const std::string* token_ = nullptr;
  std::unique_ptr<grpc::ClientContext> ctx_;
  grpc::Status status_;
  rv1::EnqueueRequest enqueue_;
  rv1::EnqueueResponse enqueued_;
  rv1::AcceptOfferRequest accept_;
  rv1::AcceptOfferResponse accepted_;
  rv1::ReleaseRequest release_;
  rv1::ReleaseResponse released_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<rv1::EnqueueResponse>> enqueue_reader_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<rv1::AcceptOfferResponse>> accept_reader_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<rv1::ReleaseResponse>> release_reader_;
};

// One empty call (health Check) at a time through the async client, with AsyncContact's
// Start/Step shape.
class AsyncEmptyCall {
 public:
  AsyncEmptyCall(const std::shared_ptr<grpc::Channel>& channel, grpc::CompletionQueue* cq)
      : health_(grpc::health::v1::Health::NewStub(channel)), cq_(cq) {}

  void Start() {
    ctx_ = std::make_unique<grpc::ClientContext>();
    reader_ = health_->AsyncCheck(ctx_.get(), request_, cq_);
    reader_->Finish(&response_, &status_, this);
  }
  bool Step(bool* succeeded) {
    *succeeded = status_.ok();
    return true;
  }

 private:
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
  grpc::CompletionQueue* cq_;
  std::unique_ptr<grpc::ClientContext> ctx_;
  const grpc::health::v1::HealthCheckRequest request_;
  grpc::health::v1::HealthCheckResponse response_;
  grpc::Status status_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<grpc::health::v1::HealthCheckResponse>> reader_;
};

// The async client: `threads` completion-queue threads, each keeping `in_flight` lives
// (AsyncContact, AsyncEmptyCall; made by make(cq, thread)) going until `end`. Returns how
// many lives ended with Step's flag set. A gateway calls the router this way: few threads,
// many calls in flight.
template <typename Life>
long RunAsyncClient(int threads, int in_flight, absl::Time end,
                    const std::function<std::unique_ptr<Life>(grpc::CompletionQueue*, int)>& make) {
  std::atomic<long> counted{0};
  std::vector<std::thread> workers;
  workers.reserve(threads);
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      grpc::CompletionQueue cq;
      std::vector<std::unique_ptr<Life>> lives;
      for (int i = 0; i < in_flight; ++i) {
        lives.push_back(make(&cq, t));
        lives.back()->Start();
      }
      int running = in_flight;
      void* tag = nullptr;
      bool ok = false;
      while (running > 0 && cq.Next(&tag, &ok)) {
        auto* life = static_cast<Life*>(tag);
        bool flag = false;
        if (!life->Step(&flag)) continue;
        if (flag) ++counted;
        if (absl::Now() < end) {
          life->Start();
        } else {
          --running;
        }
      }
      cq.Shutdown();
      while (cq.Next(&tag, &ok)) {
      }
    });
  }
  for (auto& w : workers) w.join();
  return counted.load();
}

// Saturation: contacts routed (all three calls succeeded) by the async client until `end`.
long AsyncClosedLoop(Bench& bench, int threads, int in_flight, absl::Time end,
                     const std::string& prefix) {
  return RunAsyncClient<AsyncContact>(
      threads, in_flight, end, [&](grpc::CompletionQueue* cq, int thread) {
        static std::atomic<int> life_serial{0};
        return std::make_unique<AsyncContact>(
            &bench, cq, absl::StrCat(prefix, thread, "-", life_serial++, "-"));
      });
}

// Empty calls that succeeded through the async client until `end`.
long AsyncEmptyCalls(const std::shared_ptr<grpc::Channel>& channel, int threads, int in_flight,
                     absl::Time end) {
  return RunAsyncClient<AsyncEmptyCall>(threads, in_flight, end,
                                        [&](grpc::CompletionQueue* cq, int) {
                                          return std::make_unique<AsyncEmptyCall>(channel, cq);
                                        });
}

// The bare server side of an empty call: grpc.health.v1 Check answered by a sync or by a
// callback service, without interceptors, alone on its own loopback port.
class SyncHealth final : public grpc::health::v1::Health::Service {
  grpc::Status Check(grpc::ServerContext*, const grpc::health::v1::HealthCheckRequest*,
                     grpc::health::v1::HealthCheckResponse* response) override {
    response->set_status(grpc::health::v1::HealthCheckResponse::SERVING);
    return grpc::Status::OK;
  }
};
class CallbackHealth final : public grpc::health::v1::Health::CallbackService {
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::health::v1::HealthCheckRequest*,
                                  grpc::health::v1::HealthCheckResponse* response) override {
    response->set_status(grpc::health::v1::HealthCheckResponse::SERVING);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

// CPU seconds this process has used, all threads, user and system.
double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// Run time of each script call by op (ARGV[1]), from the SLOWLOG with every call logged:
// op -> microseconds.
std::map<std::string, std::vector<double>> ScriptTimesByOp(kefu::redis::Pool& pool) {
  std::map<std::string, std::vector<double>> out;
  auto log = pool.Command({"SLOWLOG", "GET", "-1"});
  if (!log.ok()) return out;
  for (size_t i = 0; i < (*log)->elements; ++i) {
    const redisReply* entry = (*log)->element[i];
    if (entry->elements < 4) continue;
    const redisReply* args = entry->element[3];
    // EVALSHA sha numkeys key op ...
    if (args->elements < 5 || kefu::redis::ReplyString(*args->element[0]) != "EVALSHA") {
      continue;
    }
    out[std::string(kefu::redis::ReplyString(*args->element[4]))].push_back(
        static_cast<double>(kefu::redis::ReplyInt(entry->element[2])));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  // As the service binaries run (ServiceMain): no deadlock-detection graph on every mutex.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--scenario" && std::string(argv[i + 1]) == "acd50") {
      return Acd50(Flag(argc, argv, "--seconds", 20));
    }
  }
  const int rate = Flag(argc, argv, "--rate", 1000);
  const int seconds = Flag(argc, argv, "--seconds", 5);
  const int agents = Flag(argc, argv, "--agents", 50);
  const int threads = Flag(argc, argv, "--threads", 8);
  // The saturation client: completion-queue threads and the contacts each keeps in flight.
  const int client_threads = Flag(argc, argv, "--client-threads", 2);
  const int in_flight = Flag(argc, argv, "--in-flight", 8);

  Bench bench;
  bench.Setup(agents);
  std::atomic<bool> stop_heartbeats{false};
  std::thread heartbeats = bench.StartHeartbeats(&stop_heartbeats);

  // Floor: a Redis round trip and an empty gRPC call to the same server.
  const double grpc_p50 =
      kefu::bench::PrintFloor(kefu::testing::SharedEnv().redis_url, bench.router.channel);

  // Fixed offered load, open loop: contact k arrives at start + k / rate.
  std::vector<std::vector<double>> per_thread(threads);
  std::atomic<int> misses{0};
  const int total = rate * seconds;
  const absl::Time start = absl::Now() + absl::Milliseconds(100);
  {
    std::vector<std::thread> workers;
    workers.reserve(threads);
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        auto stub = rv1::RoutingService::NewStub(bench.router.channel);
        for (int k = t; k < total; k += threads) {
          const absl::Time due = start + absl::Seconds(k) / rate;
          if (absl::Now() < due) absl::SleepFor(due - absl::Now());
          const absl::Time issued = absl::Now();
          const double route = bench.Route(*stub, "load-" + std::to_string(k));
          if (route < 0) {
            ++misses;
            continue;
          }
          // Latency from the scheduled arrival: includes any wait for a free thread.
          per_thread[t].push_back(route + absl::ToDoubleMicroseconds(issued - due));
        }
      });
    }
    for (auto& w : workers) w.join();
  }
  std::vector<double> latency;
  for (auto& v : per_thread) latency.insert(latency.end(), v.begin(), v.end());
  const double p50 = Percentile(latency, 0.5), p99 = Percentile(latency, 0.99),
               p999 = Percentile(latency, 0.999);
  std::printf(
      "offered %d contacts/s for %d s: enqueue_to_offer p50_us=%.0f p99_us=%.0f "
      "p999_us=%.0f (no offer: %d)\n",
      rate, seconds, p50, p99, p999, misses.load());

  // Closed loop: every thread routes contacts back to back until `end`; returns how many.
  std::vector<std::unique_ptr<rv1::RoutingService::Stub>> stubs;
  stubs.reserve(threads);
  for (int t = 0; t < threads; ++t)
    stubs.push_back(rv1::RoutingService::NewStub(bench.router.channel));
  auto route_until = [&](absl::Time end, const std::string& prefix) {
    return static_cast<int>(ClosedLoop(threads, end, [&](int t, int k) {
      return bench.Route(*stubs[t], absl::StrCat(prefix, t, "-", k)) >= 0;
    }));
  };

  // Saturation. Redis's own view of the same seconds (script time per call, its CPU)
  // shows whether Redis is what limits.
  kefu::redis::PoolOptions redis_options;
  redis_options.url = *kefu::redis::ParseUrl(kefu::testing::SharedEnv().redis_url);
  kefu::redis::Pool redis_pool(redis_options);
  (void)redis_pool.Command({"CONFIG", "RESETSTAT"});
  const RedisCpu cpu_before = ReadRedisCpu(redis_pool);
  const double sat_cpu_before = ProcessCpuSeconds();
  const int routed = static_cast<int>(AsyncClosedLoop(
      bench, client_threads, in_flight, absl::Now() + absl::Seconds(seconds), "sat-"));
  const double sat_process_us = 1e6 * (ProcessCpuSeconds() - sat_cpu_before) / std::max(1, routed);
  const double rps = routed / static_cast<double>(seconds);
  std::printf(
      "saturation (async client, %d threads x %d contacts in flight): routed_per_s=%.0f (each: "
      "enqueue + accept + release)\n",
      client_threads, in_flight, rps);
  const RedisCpu cpu_after = ReadRedisCpu(redis_pool);
  const ScriptStats scripts = ReadScriptStats(redis_pool);
  std::printf(
      "redis during saturation: scripts=%ld script_us_per_call=%.1f script_us_per_contact=%.0f "
      "redis_commands_per_contact=%.1f redis_cpu=%.0f%% of one core\n",
      scripts.calls, scripts.usec_per_call,
      static_cast<double>(scripts.calls) * scripts.usec_per_call / std::max(1, routed),
      static_cast<double>(scripts.commands) / std::max(1, routed),
      100 * (cpu_after.seconds - cpu_before.seconds) /
          absl::ToDoubleSeconds(cpu_after.at - cpu_before.at));
  const double sat_redis_us = 1e6 * (cpu_after.seconds - cpu_before.seconds) / std::max(1, routed);
  std::printf(
      "cpu per routed contact at saturation: %.0f us (bench process: client, router and "
      "presence %.0f, redis %.0f)\n",
      sat_process_us + sat_redis_us, sat_process_us, sat_redis_us);

  // The same saturation through blocking calls, `threads` threads each routing one contact
  // at a time. Such a client costs about twice the CPU per call (the floor lines below),
  // and here it shares the router's two cores.
  const double blocking_rps =
      route_until(absl::Now() + absl::Seconds(seconds), "blocking-") / static_cast<double>(seconds);
  std::printf("saturation (blocking client, %d threads): routed_per_s=%.0f\n", threads,
              blocking_rps);

  // The same contact life (enqueue, accept, release) called straight on Redis, as the
  // router makes it, without gRPC: what the routing scripts alone allow, and the Redis CPU
  // time one contact costs (the part of the CPU budget no client or server code can save).
  kefu::router::RedisRouter direct(&redis_pool);
  const RedisCpu direct_before = ReadRedisCpu(redis_pool);
  const double direct_cpu_before = ProcessCpuSeconds();
  const auto direct_routed = static_cast<double>(
      ClosedLoop(threads, absl::Now() + absl::Seconds(seconds), [&](int t, int k) {
        const std::string contact = absl::StrCat("direct-", t, "-", k);
        auto enqueued = direct.Enqueue(bench.tenant, contact, "", 1, "", "");
        return enqueued.ok() && !enqueued->offer_id.empty() &&
               direct.Accept(bench.tenant, enqueued->offer_id, enqueued->agent_id).ok() &&
               direct.Release(bench.tenant, contact, enqueued->agent_id).ok();
      }));
  const RedisCpu direct_after = ReadRedisCpu(redis_pool);
  const double redis_us_per_contact =
      1e6 * (direct_after.seconds - direct_before.seconds) / std::max(1.0, direct_routed);
  const double caller_us_per_contact =
      1e6 * (ProcessCpuSeconds() - direct_cpu_before) / std::max(1.0, direct_routed);
  std::printf(
      "redis only, no gRPC (%d threads): routed_per_s=%.0f redis_cpu_us_per_contact=%.0f "
      "caller_cpu_us_per_contact=%.0f (3 round trips)\n",
      threads, direct_routed / seconds, redis_us_per_contact, caller_us_per_contact);

  // Each op's script run time, from one more second at saturation with every command
  // logged by the SLOWLOG. Kept out of the saturation figures: logging every command, the
  // scripts' own calls included, costs Redis a fifth of its time.
  (void)redis_pool.Command({"CONFIG", "SET", "slowlog-max-len", "100000"});
  (void)redis_pool.Command({"CONFIG", "SET", "slowlog-log-slower-than", "0"});
  (void)redis_pool.Command({"SLOWLOG", "RESET"});
  (void)route_until(absl::Now() + absl::Seconds(1), "op-");
  (void)redis_pool.Command({"CONFIG", "SET", "slowlog-log-slower-than", "10000"});
  std::string per_op;
  for (auto& [op, times] : ScriptTimesByOp(redis_pool)) {
    absl::StrAppend(&per_op, " ", op, "_p50_us=", static_cast<int>(Percentile(times, 0.5)));
  }
  std::printf("script run time by op (SLOWLOG):%s\n", per_op.c_str());

  // The throughput floor, closed loop on the same threads: calls per second and the CPU
  // each costs. Client and server both live in this process, so its CPU time is what a
  // call costs them (the kernel's loopback work included), whatever else runs.
  struct Floor {
    double calls_per_s = 0, cpu_us_per_call = 0;
  };
  auto call_floor = [&](const std::function<bool()>& call) {
    const double cpu_before = ProcessCpuSeconds();
    const auto done = static_cast<double>(ClosedLoop(threads, absl::Now() + absl::Seconds(seconds),
                                                     [&](int, int) { return call(); }));
    return Floor{done / seconds, 1e6 * (ProcessCpuSeconds() - cpu_before) / std::max(1.0, done)};
  };
  // Empty calls: health Check, no auth, no Redis. A routed contact takes three calls, so a
  // third of this is what any router could route on this machine with this client.
  auto health = grpc::health::v1::Health::NewStub(bench.router.channel);
  const Floor empty = call_floor([&] {
    grpc::ClientContext ctx;
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    return health->Check(&ctx, request, &response).ok();
  });
  std::printf(
      "floor, blocking client (%d threads): empty_grpc_calls_per_s=%.0f, i.e. at most %.0f "
      "contacts/s at 3 calls each; cpu_us_per_empty_call=%.0f (client and server)\n",
      threads, empty.calls_per_s, empty.calls_per_s / 3, empty.cpu_us_per_call);
  // The same empty calls through the async client, against any server.
  auto async_floor = [&](const std::shared_ptr<grpc::Channel>& channel) {
    const double cpu_before = ProcessCpuSeconds();
    const auto done = static_cast<double>(
        AsyncEmptyCalls(channel, client_threads, in_flight, absl::Now() + absl::Seconds(seconds)));
    return Floor{done / seconds, 1e6 * (ProcessCpuSeconds() - cpu_before) / std::max(1.0, done)};
  };
  const Floor async_empty = async_floor(bench.router.channel);
  std::printf(
      "floor, async client (%d threads x %d in flight): empty_grpc_calls_per_s=%.0f, i.e. at most "
      "%.0f contacts/s at 3 calls each; routed/ceiling=%.2f; cpu_us_per_empty_call=%.0f\n",
      client_threads, in_flight, async_empty.calls_per_s, async_empty.calls_per_s / 3,
      rps / std::max(1.0, async_empty.calls_per_s / 3), async_empty.cpu_us_per_call);
  // What the server API alone costs: the sync API (every kefu service) against the callback
  // API, the same async client, no interceptors. CPU includes the client's.
  double server_us[2] = {0, 0};
  grpc::EnableDefaultHealthCheckService(false);  // ours answer Check on these two servers
  for (const bool callback : {false, true}) {
    SyncHealth sync_health;
    CallbackHealth callback_health;
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    if (callback) {
      builder.RegisterService(&callback_health);
    } else {
      builder.RegisterService(&sync_health);
    }
    const kefu::server::GrpcServerOptions kefu_defaults;  // as kefu's sync servers poll
    builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS,
                                kefu_defaults.min_pollers);
    builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                                kefu_defaults.max_pollers);
    std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
    server_us[callback ? 1 : 0] =
        async_floor(grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                        grpc::InsecureChannelCredentials()))
            .cpu_us_per_call;
    server->Shutdown();
  }
  grpc::EnableDefaultHealthCheckService(true);
  std::printf(
      "server api, bare empty call (async client): cpu_us_per_call sync=%.0f callback=%.0f\n",
      server_us[0], server_us[1]);
  // A routing call refused after authentication (no contact id): the token checked, the
  // interceptors run, no Redis.
  auto routing = rv1::RoutingService::NewStub(bench.router.channel);
  const Floor refused = call_floor([&] {
    rv1::EnqueueRequest request;
    rv1::EnqueueResponse response;
    return routing->Enqueue(CallWith(bench.service).get(), request, &response).error_code() ==
           grpc::StatusCode::INVALID_ARGUMENT;
  });
  std::printf("authenticated call refused before Redis: calls_per_s=%.0f cpu_us_per_call=%.0f\n",
              refused.calls_per_s, refused.cpu_us_per_call);
  // The CPU a routed contact needs at least: its Redis time plus three empty calls. At
  // 5,000 contacts/s the machine has cores * 200 us for each.
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  std::printf(
      "cpu budget at 5,000 contacts/s: %.0f us per contact on %u cores; needed at least "
      "%.0f us (redis %.0f + 3 empty gRPC calls %.0f)\n",
      cores * 1e6 / 5000, cores, redis_us_per_contact + 3 * async_empty.cpu_us_per_call,
      redis_us_per_contact, 3 * async_empty.cpu_us_per_call);
  stop_heartbeats = true;
  heartbeats.join();
  const double ratio = p50 / std::max(1.0, grpc_p50);
  std::printf("route_bench p50_us=%.0f p99_us=%.0f rps=%.0f ratio=%.2f\n", p50, p99, rps, ratio);
  return 0;
}
