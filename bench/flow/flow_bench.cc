// flow_bench: the whole contact flow through the gateway's public APIs (issue 10).
//
// One contact: the customer starts a chat (identified by crm, routed by the router), the
// offer reaches an agent's desktop, the agent accepts, the customer sends 3 messages that
// reach the agent, the agent closes with a summary, the customer rates. identity, router,
// presence, crm and the gateway run in this process (bench/gateway_stack.h, real gRPC on
// loopback, throwaway Redis and PostgreSQL); the agents' desktops are Updates streams that
// the gateway feeds.
//
// Two phases, each --seconds long:
//   fixed rate: contact k starts at begin + k / --rate (open loop: a late contact's steps are
//     timed from when they were due, so the queueing shows), run by --workers threads;
//   saturation: the same workers start contacts back to back (closed loop): contacts/s.
// Per step p50/p99/p99.9 (microseconds): start (StartContact), offer (StartContact returned
// -> offer on the agent's stream), accept (Accept), message (customer Send -> on the agent's
// stream, 3 per contact), close (Close), rate (Rate), and the whole flow. The floor of the
// same run: Redis PING and an empty gRPC call (health Check) round trips. After the load:
// each consumer group's backlog and how long crm takes to catch up (nothing in the flow
// waits for crm), and the offer step split at the router's OfferCreated stream entry.
//
//   flow_bench [--rate 200] [--seconds 10] [--agents 50] [--max-concurrent 10] [--workers 32]
// Last line: flow_bench rate=… p99_step_us=… sat_per_s=… ratio=…
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/bench_floor.h"
#include "bench/bench_util.h"
#include "bench/gateway_stack.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "kefu/gateway/v1/gateway.grpc.pb.h"
#include "libs/auth/authorize.h"
#include "libs/events/events.h"
#include "libs/redis/client.h"
#include "tests/support/streams.h"

namespace {

namespace common = kefu::common::v1;
namespace gw = kefu::gateway::v1;
using Clock = std::chrono::steady_clock;
using kefu::bench::Flag;
using kefu::bench::Percentile;
using kefu::testing::CallWith;

double Micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

// What the agents' desktops saw, keyed by dialog: the offer and the customer messages.
class Desk {
 public:
  struct Seen {
    Clock::time_point offer_at{};
    std::string offer_id, agent;
    int messages = 0;
    Clock::time_point last_message_at{};
  };

  void Offer(const gw::Offer& offer, const std::string& agent) {
    std::lock_guard<std::mutex> lock(mu_);
    Seen& s = seen_[offer.dialog_id()];
    s.offer_at = Clock::now();
    s.offer_id = offer.offer_id();
    s.agent = agent;
    cv_.notify_all();
  }
  void Message(const std::string& dialog) {
    std::lock_guard<std::mutex> lock(mu_);
    Seen& s = seen_[dialog];
    ++s.messages;
    s.last_message_at = Clock::now();
    cv_.notify_all();
  }
  // Waits until `dialog` satisfies `done`, at most 10 s; returns what was seen.
  template <typename Pred>
  bool Wait(const std::string& dialog, Pred done, Seen* out) {
    std::unique_lock<std::mutex> lock(mu_);
    const bool ok = cv_.wait_for(lock, std::chrono::seconds(10), [&] {
      auto it = seen_.find(dialog);
      return it != seen_.end() && done(it->second);
    });
    if (ok) *out = seen_[dialog];
    return ok;
  }
  void Forget(const std::string& dialog) {
    std::lock_guard<std::mutex> lock(mu_);
    seen_.erase(dialog);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Seen> seen_;
};

struct Steps {
  std::mutex mu;
  std::map<std::string, std::vector<double>> us;  // step -> samples
  int completed = 0, failed = 0;

  void Add(const std::map<std::string, std::vector<double>>& one) {
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& [step, v] : one) us[step].insert(us[step].end(), v.begin(), v.end());
    ++completed;
  }
  void Fail() {
    std::lock_guard<std::mutex> lock(mu);
    ++failed;
  }
};

// When each contact's StartContact returned and its offer reached the desk (wall-clock ms).
struct OfferTimes {
  std::mutex mu;
  std::map<std::string, std::pair<int64_t, int64_t>> by_contact;
};

struct Flow {
  kefu::bench::GatewayStack& stack;
  Desk& desk;
  OfferTimes* offers;
  std::map<std::string, std::string>& agent_tokens;
  std::unique_ptr<gw::CustomerGatewayService::Stub> customers =
      gw::CustomerGatewayService::NewStub(stack.gateway.channel);
  std::unique_ptr<gw::AgentGatewayService::Stub> agents =
      gw::AgentGatewayService::NewStub(stack.gateway.channel);

  static bool Failed(const grpc::Status& st, const char* what) {
    if (st.ok()) return false;
    static std::atomic<int> reported{0};
    if (reported++ < 5) {
      std::fprintf(stderr, "flow_bench: %s: %d %s\n", what, st.error_code(),
                   st.error_message().c_str());
    }
    return true;
  }

  // One contact's whole flow; `due` is when it should have started (open loop).
  void Run(const std::string& key, Clock::time_point due, Steps* steps) {
    std::map<std::string, std::vector<double>> t;
    const Clock::time_point begin = Clock::now();
    gw::StartContactRequest start;
    start.set_channel(common::CHANNEL_CHAT);
    start.set_visitor_id("visitor-" + key);
    start.set_idempotency_key("start-" + key);
    gw::StartContactResponse started;
    if (Failed(customers->StartContact(CallWith(stack.service).get(), start, &started),
               "StartContact")) {
      return steps->Fail();
    }
    const Clock::time_point returned = Clock::now();
    t["start"].push_back(Micros(returned - due));
    const std::string dialog = started.dialog_id();
    Desk::Seen seen;
    if (!desk.Wait(
            dialog, [](const Desk::Seen& s) { return !s.offer_id.empty(); }, &seen)) {
      std::fprintf(stderr, "flow_bench: no offer for %s\n", dialog.c_str());
      return steps->Fail();
    }
    t["offer"].push_back(Micros(seen.offer_at - returned));
    {
      // Wall-clock milliseconds, to compare with the OfferCreated entry's stream id.
      const absl::Time now = absl::Now();
      const auto wall_ms = [&](Clock::time_point at) {
        return absl::ToUnixMillis(now - absl::FromChrono(Clock::now() - at));
      };
      std::lock_guard<std::mutex> lock(offers->mu);
      offers->by_contact[started.contact_id()] = {wall_ms(returned), wall_ms(seen.offer_at)};
    }
    const std::string& agent_token = agent_tokens.at(seen.agent);
    Clock::time_point step = Clock::now();
    gw::AcceptRequest accept;
    accept.set_offer_id(seen.offer_id);
    gw::AcceptResponse accepted;
    if (Failed(agents->Accept(CallWith(agent_token).get(), accept, &accepted), "Accept")) {
      return steps->Fail();
    }
    t["accept"].push_back(Micros(Clock::now() - step));
    for (int m = 1; m <= 3; ++m) {
      gw::CustomerGatewayServiceSendRequest send;
      send.set_text(absl::StrCat("question ", m));
      send.set_idempotency_key(absl::StrCat(key, "-m", m));
      gw::CustomerGatewayServiceSendResponse sent;
      step = Clock::now();
      if (Failed(customers->Send(CallWith(started.customer_token()).get(), send, &sent), "Send")) {
        return steps->Fail();
      }
      if (!desk.Wait(
              dialog, [m](const Desk::Seen& s) { return s.messages >= m; }, &seen)) {
        std::fprintf(stderr, "flow_bench: message %d of %s never reached the agent\n", m,
                     dialog.c_str());
        return steps->Fail();
      }
      t["message"].push_back(Micros(seen.last_message_at - step));
    }
    gw::CloseRequest close;
    close.set_dialog_id(dialog);
    close.mutable_summary()->set_text("answered");
    close.mutable_summary()->set_resolved(true);
    gw::CloseResponse closed;
    step = Clock::now();
    if (Failed(agents->Close(CallWith(agent_token).get(), close, &closed), "Close")) {
      return steps->Fail();
    }
    t["close"].push_back(Micros(Clock::now() - step));
    gw::RateRequest rate;
    rate.set_score(5);
    rate.set_idempotency_key("rate-" + key);
    gw::RateResponse rated;
    step = Clock::now();
    if (Failed(customers->Rate(CallWith(started.customer_token()).get(), rate, &rated), "Rate")) {
      return steps->Fail();
    }
    t["rate"].push_back(Micros(Clock::now() - step));
    t["flow"].push_back(Micros(Clock::now() - std::min(begin, due)));
    desk.Forget(dialog);
    steps->Add(t);
  }
};

// What each consumer group of the tenant's stream has not yet read (lag) or not yet
// acknowledged (pending) when the load stops, then how long until crm has read everything:
// the work the flow's steps no longer wait for.
void PrintBacklog(const std::string& tenant) {
  kefu::redis::PoolOptions options;
  options.url = *kefu::redis::ParseUrl(kefu::testing::SharedEnv().redis_url);
  kefu::redis::Pool pool(options);
  const std::string stream = kefu::events::StreamKey(tenant);
  auto groups = [&] {
    std::map<std::string, std::pair<int64_t, int64_t>> out;  // group -> lag, pending
    auto reply = kefu::testing::ConsumerGroups(pool, stream);
    if (!reply.ok()) return out;
    for (const auto& group : *reply) out[group.name] = {group.lag, group.pending};
    return out;
  };
  const absl::Time stopped = absl::Now();
  for (const auto& [name, v] : groups()) {
    std::printf("backlog at the end: group %s lag=%lld pending=%lld events\n", name.c_str(),
                static_cast<long long>(v.first), static_cast<long long>(v.second));
  }
  for (const absl::Time until = stopped + absl::Seconds(60); absl::Now() < until;) {
    auto now = groups();
    auto crm = now.find("crm");
    if (crm == now.end() || (crm->second.first == 0 && crm->second.second == 0)) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  std::printf("backlog: crm had applied every event %.0f ms after the load stopped\n",
              absl::ToDoubleMilliseconds(absl::Now() - stopped));
  std::fflush(stdout);
}

// Splits the offer step at the router's OfferCreated entry (its stream id is Redis's clock
// in ms): StartContact returned -> the router offered (negative: offered before the return),
// and the router offered -> the desk has it (the gateway's event worker, OnOffer, the relay).
void PrintOfferSplit(const std::string& tenant, OfferTimes& offers) {
  kefu::redis::PoolOptions options;
  options.url = *kefu::redis::ParseUrl(kefu::testing::SharedEnv().redis_url);
  kefu::redis::Pool pool(options);
  auto reply = pool.Command({"XRANGE", kefu::events::StreamKey(tenant), "-", "+"});
  if (!reply.ok()) return;
  std::vector<double> router_ms, gateway_ms;
  std::lock_guard<std::mutex> lock(offers.mu);
  for (size_t i = 0; i < (*reply)->elements; ++i) {
    const redisReply* entry = (*reply)->element[i];
    const std::string id(kefu::redis::ReplyString(*entry->element[0]));
    int64_t xadd_ms = 0;
    if (!absl::SimpleAtoi(id.substr(0, id.find('-')), &xadd_ms)) continue;
    const redisReply* fields = entry->element[1];
    for (size_t f = 0; f + 1 < fields->elements; f += 2) {
      if (kefu::redis::ReplyString(*fields->element[f]) != "event") continue;
      const absl::string_view bytes = kefu::redis::ReplyString(*fields->element[f + 1]);
      kefu::events::v1::Event event;
      if (!event.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) ||
          !event.has_offer_created()) {
        continue;
      }
      auto it = offers.by_contact.find(event.offer_created().contact_id());
      if (it == offers.by_contact.end()) continue;
      router_ms.push_back(static_cast<double>(xadd_ms - it->second.first));
      gateway_ms.push_back(static_cast<double>(it->second.second - xadd_ms));
      offers.by_contact.erase(it);  // the first offer of the contact
    }
  }
  std::printf(
      "offer split (%zu contacts, ms): StartContact returned -> OfferCreated p50=%.0f p99=%.0f; "
      "OfferCreated -> on the desk p50=%.0f p99=%.0f\n",
      router_ms.size(), Percentile(router_ms, 0.5), Percentile(router_ms, 0.99),
      Percentile(gateway_ms, 0.5), Percentile(gateway_ms, 0.99));
  std::fflush(stdout);
}

void Print(const char* phase, Steps& steps, double seconds) {
  std::printf("%s: %d contacts completed, %d failed, %.0f contacts/s\n", phase, steps.completed,
              steps.failed, steps.completed / seconds);
  for (const char* step : {"start", "offer", "accept", "message", "close", "rate", "flow"}) {
    const auto& v = steps.us[step];
    std::printf("  %-8s p50_us=%.0f p99_us=%.0f p999_us=%.0f (n=%zu)\n", step, Percentile(v, 0.5),
                Percentile(v, 0.99), Percentile(v, 0.999), v.size());
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const int rate = std::max(1, Flag(argc, argv, "--rate", 200));
  const int seconds = std::max(1, Flag(argc, argv, "--seconds", 10));
  const int agent_count = std::max(1, Flag(argc, argv, "--agents", 50));
  const int max_concurrent = std::max(1, Flag(argc, argv, "--max-concurrent", 10));
  const int workers = std::max(1, Flag(argc, argv, "--workers", 32));
  std::printf("flow_bench: %d agents (max %d dialogs each), %d contacts/s for %d s, %d workers\n",
              agent_count, max_concurrent, rate, seconds, workers);
  std::fflush(stdout);

  kefu::bench::GatewayStack stack;
  stack.CreateQueue();

  // Floor: Redis PING and an empty gRPC call to the gateway's server.
  const double grpc_p50 =
      kefu::bench::PrintFloor(kefu::testing::SharedEnv().redis_url, stack.gateway.channel);

  // The agents' desktops.
  Desk desk;
  std::map<std::string, std::string> agent_tokens;
  std::vector<std::unique_ptr<grpc::ClientContext>> streams;
  std::vector<std::thread> readers;
  std::atomic<int> snapshots{0};
  for (int i = 0; i < agent_count; ++i) {
    const std::string id = absl::StrCat("agent-", i);
    agent_tokens[id] = stack.OnlineAgent(id, max_concurrent).token;
    streams.push_back(std::make_unique<grpc::ClientContext>());
    kefu::auth::AttachToken(streams.back().get(), agent_tokens[id]);
    grpc::ClientContext* ctx = streams.back().get();
    readers.emplace_back([&, ctx, id] {
      auto stub = gw::AgentGatewayService::NewStub(stack.gateway.channel);
      auto reader = stub->Updates(ctx, gw::AgentGatewayServiceUpdatesRequest());
      gw::AgentGatewayServiceUpdatesResponse update;
      while (reader->Read(&update)) {
        if (update.has_snapshot()) {
          ++snapshots;
        } else if (update.has_offer()) {
          desk.Offer(update.offer(), id);
        } else if (update.has_message() &&
                   update.message().sender().type() == common::PARTICIPANT_TYPE_CUSTOMER) {
          desk.Message(update.message().dialog_id());
        }
      }
      (void)reader->Finish();
    });
  }
  for (const absl::Time until = absl::Now() + absl::Seconds(20);
       snapshots < agent_count && absl::Now() < until;) {
    absl::SleepFor(absl::Milliseconds(20));
  }

  OfferTimes offer_times;
  Flow flow{stack, desk, &offer_times, agent_tokens};
  // Fixed rate, open loop: the workers take contacts in order of their due time.
  Steps fixed;
  {
    const int total = rate * seconds;
    std::atomic<int> next{0};
    const Clock::time_point begin = Clock::now() + std::chrono::milliseconds(100);
    std::vector<std::thread> pool_threads;
    for (int w = 0; w < workers; ++w) {
      pool_threads.emplace_back([&] {
        for (int k = next++; k < total; k = next++) {
          const Clock::time_point due = begin + std::chrono::microseconds(1000000LL * k / rate);
          std::this_thread::sleep_until(due);
          flow.Run(absl::StrCat("fixed-", k), due, &fixed);
        }
      });
    }
    for (auto& t : pool_threads) t.join();
  }
  Print("fixed rate", fixed, seconds);

  // Saturation, closed loop.
  Steps saturated;
  const Clock::time_point begin = Clock::now();
  {
    const Clock::time_point end = begin + std::chrono::seconds(seconds);
    std::atomic<int> next{0};
    std::vector<std::thread> pool_threads;
    for (int w = 0; w < workers; ++w) {
      pool_threads.emplace_back([&] {
        while (Clock::now() < end) {
          flow.Run(absl::StrCat("sat-", next++), Clock::now(), &saturated);
        }
      });
    }
    for (auto& t : pool_threads) t.join();
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - begin).count();
  Print("saturation", saturated, elapsed);
  PrintBacklog(stack.tenant);
  PrintOfferSplit(stack.tenant, offer_times);

  for (auto& s : streams) s->TryCancel();
  for (auto& r : readers) r.join();
  double worst_p99 = 0;
  for (const char* step : {"start", "offer", "accept", "message", "close", "rate"}) {
    worst_p99 = std::max(worst_p99, Percentile(fixed.us[step], 0.99));
  }
  std::printf(
      "flow_bench rate=%d completed=%d failed=%d p99_step_us=%.0f sat_per_s=%.0f "
      "ratio=%.2f\n",
      rate, fixed.completed, fixed.failed, worst_p99, saturated.completed / elapsed,
      Percentile(fixed.us["flow"], 0.5) / std::max(1.0, grpc_p50));
  return fixed.failed == 0 && saturated.failed == 0 ? 0 : 1;
}
