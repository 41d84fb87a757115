// gateway_bench: how many idle agent Updates streams one gateway holds, what each costs in
// memory, and how long a customer's message takes to reach its agent while they are open.
//
// The gateway, router, presence, crm and identity run in this process (tests/support
// ServiceRuntime, real gRPC on loopback) on throwaway Redis and PostgreSQL, as route_bench
// does. The idle agent desktops run in a child process (this program re-executed with
// --idle-client), so the RSS growth of this process while they connect is the servers'
// cost per stream, not the clients'. Each idle desktop opens one stream on its own HTTP/2
// connection by default (--per-channel 1, as real desktops do); --per-channel 100 puts
// 100 streams on each connection instead.
//
// Measured, in one run:
//   floor: Redis PING round trip p50 and an empty gRPC call (health Check) p50;
//   streams: idle agent streams opened (each waits for its snapshot), the time it took,
//     and bytes per stream = this process's RSS delta / streams (server side: gateway plus
//     gRPC core; the other services do nothing per idle stream) and the child's RSS / streams
//     (client side, for reference);
//   latency: customer Send -> the agent's Updates stream receives the message, p50/p99/max,
//     for --messages messages at --rate per second (open loop) over --dialogs dialogs, with
//     all the idle streams still open;
//   stages: where each message's time went. A plain Redis subscriber on the active agents'
//     channels stamps when Redis delivers the gateway's PUBLISH, splitting the delivery into
//     the Send handler's part (client -> handler -> auth, contact read, commit) and the
//     relay's part (Redis -> hub -> reactor write -> the agent's client), with the slowest
//     1 % broken down the same way;
//   cpu: over the sending, the CPU used by this process, the idle client and the whole
//     machine, and how long this process's threads waited runnable for a CPU
//     (/proc/self/task/*/schedstat): on this 2-core machine, shared with builds, that wait
//     is what the tail is made of (docs/PERFORMANCE.md).
//
//   gateway_bench [--streams 10000] [--per-channel 1] [--messages 3000] [--rate 300]
//                 [--dialogs 20]
// Last line: gateway_bench streams=N bytes_per_stream=N p50_us=N p99_us=N ratio=N
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "bench/bench_floor.h"
#include "bench/bench_util.h"
#include "bench/gateway_stack.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "kefu/gateway/v1/gateway.grpc.pb.h"
#include "kefu/presence/v1/presence.grpc.pb.h"
#include "kefu/router/v1/routing_admin.grpc.pb.h"
#include "libs/auth/authorize.h"
#include "libs/common/config.h"
#include "libs/redis/client.h"
#include "services/crm/crm_service.h"
#include "services/gateway/contact_store.h"
#include "services/gateway/gateway_service.h"
#include "services/identity/identity_service.h"
#include "services/presence/presence_service.h"
#include "services/router/router_service.h"
#include "tests/support/env.h"
#include "tests/support/service_harness.h"

namespace {

namespace common = kefu::common::v1;
namespace gw = kefu::gateway::v1;
namespace rv1 = kefu::router::v1;
namespace pv1 = kefu::presence::v1;
using kefu::testing::CallWith;
using kefu::testing::TokenFor;
using Clock = std::chrono::steady_clock;

using kefu::bench::Flag;
using kefu::bench::Percentile;

std::string StringFlag(int argc, char** argv, const char* name) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == name) return argv[i + 1];
  }
  return "";
}

bool HasFlag(int argc, char** argv, const char* name) {
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == name) return true;
  }
  return false;
}

// Resident set size of a process in bytes (/proc/<pid>/statm, second field).
int64_t RssBytes(pid_t pid = 0) {
  std::ifstream statm(pid == 0 ? std::string("/proc/self/statm")
                               : absl::StrCat("/proc/", pid, "/statm"));
  int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

// 10,000 connections need 10,000 descriptors on each side.
void RaiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

int64_t FileLimit() {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  return static_cast<int64_t>(limit.rlim_cur);
}

// A channel of its own: distinct channel args keep gRPC from sharing one subchannel (one
// TCP connection) between channels to the same address.
std::shared_ptr<grpc::Channel> OwnChannel(const std::string& addr, int index) {
  grpc::ChannelArguments args;
  args.SetInt("kefu.bench.channel_index", index);
  return grpc::CreateCustomChannel(addr, grpc::InsecureChannelCredentials(), args);
}

// ---------------------------------------------------------------------------------------
// Child: idle agent desktops. Prints "progress <n>" lines and "opened <ok> <failed> <ms>",
// then keeps the streams open until its stdin closes.

class IdleStream final : public grpc::ClientReadReactor<gw::AgentGatewayServiceUpdatesResponse> {
 public:
  IdleStream(gw::AgentGatewayService::Stub* stub, const std::string& token,
             std::atomic<int>* opened, std::atomic<int>* failed)
      : opened_(opened), failed_(failed) {
    kefu::auth::AttachToken(&ctx_, token);
    stub->async()->Updates(&ctx_, &request_, this);
    StartRead(&response_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows
    if (!first_) {
      first_ = true;
      ++*opened_;
    }
    StartRead(&response_);
  }
  void OnDone(const grpc::Status& status) override {
    if (!first_) {
      if (failed_->fetch_add(1) < 3) {
        std::fprintf(stderr, "idle stream failed: %d %s\n", status.error_code(),
                     status.error_message().c_str());
      }
    }
  }

 private:
  grpc::ClientContext ctx_;
  gw::AgentGatewayServiceUpdatesRequest request_;
  gw::AgentGatewayServiceUpdatesResponse response_;
  std::atomic<int>* opened_;
  std::atomic<int>* failed_;
  bool first_ = false;
};

int IdleClient(int argc, char** argv) {
  RaiseFileLimit();
  const std::string addr = StringFlag(argc, argv, "--addr");
  const std::string tenant = StringFlag(argc, argv, "--tenant");
  const int streams = Flag(argc, argv, "--streams", 10000);
  const int per_channel = std::max(1, Flag(argc, argv, "--per-channel", 1));
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<gw::AgentGatewayService::Stub>> stubs;
  std::vector<std::unique_ptr<IdleStream>> open;  // never destroyed: the process _Exits
  std::atomic<int> opened{0}, failed{0};
  const absl::Time start = absl::Now();
  for (int i = 0; i < streams; ++i) {
    if (i % per_channel == 0) {
      channels.push_back(OwnChannel(addr, i / per_channel));
      stubs.push_back(gw::AgentGatewayService::NewStub(channels.back()));
    }
    const std::string token =
        TokenFor(tenant, common::ROLE_AGENT, absl::StrCat("idle-", i), absl::Hours(2));
    open.push_back(std::make_unique<IdleStream>(stubs.back().get(), token, &opened, &failed));
    // Do not outrun the server by more than a few hundred stream opens.
    while (i - opened.load() - failed.load() > 500) absl::SleepFor(absl::Milliseconds(1));
    if ((i + 1) % 2000 == 0) {
      std::printf("progress %d\n", opened.load());
      std::fflush(stdout);
    }
  }
  const absl::Time until = absl::Now() + absl::Seconds(120);
  while (opened + failed < streams && absl::Now() < until) absl::SleepFor(absl::Milliseconds(20));
  std::printf("opened %d %d %.0f\n", opened.load(), failed.load(),
              absl::ToDoubleMilliseconds(absl::Now() - start));
  std::fflush(stdout);
  char buffer[64];
  while (read(0, buffer, sizeof(buffer)) > 0) {
  }
  std::fflush(stdout);
  std::_Exit(0);  // 10,000 reactors need no orderly teardown
}

struct Child {
  pid_t pid = -1;
  int to_child = -1;
  FILE* from_child = nullptr;
};

// fork + exec of this program; between them only async-signal-safe calls.
Child SpawnSelf(std::vector<std::string> args) {
  std::vector<char*> argv;
  args.insert(args.begin(), "/proc/self/exe");
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) return {};
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  return Child{pid, in[1], fdopen(out[0], "r")};
}

// ---------------------------------------------------------------------------------------
// Parent: the stack, the floor, the idle streams, the latency.

// An agent desktop of the latency phase: accepts every offer, stamps every customer message.
struct ActiveAgent {
  std::string id, token, session;
  std::unique_ptr<grpc::ClientContext> stream;
  std::thread reader;
};

// CPU seconds used by this process (the whole in-process stack and the bench's own
// client threads), the idle-client child, and the machine (all processes), plus threads.
struct CpuTimes {
  double wall = 0, self = 0, child = 0, machine_busy = 0, machine_total = 0;
  int threads = 0;
  // Over this process's threads (/proc/self/task/*/schedstat): time spent runnable but
  // waiting for a CPU, and the number of times a thread got a CPU.
  double runqueue_wait = 0;
  int64_t slices = 0;
};

double ProcCpuSeconds(const std::string& stat_path) {
  std::ifstream in(stat_path);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close_paren = all.rfind(')');
  if (close_paren == std::string::npos) return 0;
  std::vector<std::string> f = absl::StrSplit(all.substr(close_paren + 2), ' ');
  // Fields 14 and 15 (utime, stime) are 11 and 12 after the state field.
  double utime = 0, stime = 0;
  if (f.size() > 12) {
    (void)absl::SimpleAtod(f[11], &utime);
    (void)absl::SimpleAtod(f[12], &stime);
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

CpuTimes ReadCpuTimes(pid_t child) {
  CpuTimes t;
  t.wall = absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());
  t.self = ProcCpuSeconds("/proc/self/stat");
  t.child = ProcCpuSeconds(absl::StrCat("/proc/", child, "/stat"));
  std::ifstream stat("/proc/stat");
  std::string cpu;
  double v[8] = {};
  stat >> cpu >> v[0] >> v[1] >> v[2] >> v[3] >> v[4] >> v[5] >> v[6] >> v[7];
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  t.machine_total = (v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7]) / hz;
  t.machine_busy = t.machine_total - (v[3] + v[4]) / hz;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream schedstat(task.path() / "schedstat");
    int64_t on_cpu_ns = 0, wait_ns = 0, slices = 0;
    if (schedstat >> on_cpu_ns >> wait_ns >> slices) {
      t.runqueue_wait += static_cast<double>(wait_ns) / 1e9;
      t.slices += slices;
    }
  }
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (absl::StartsWith(line, "Threads:")) {
      (void)absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(8)), &t.threads);
    }
  }
  return t;
}

void PrintCpu(const CpuTimes& a, const CpuTimes& b) {
  const double wall = b.wall - a.wall;
  std::printf(
      "cpu: over %.1f s of sending: this process (all services + bench clients) %.2f cores, "
      "idle-client child %.2f cores, whole machine %.2f of %.0f cores busy; %d threads in "
      "this process\n",
      wall, (b.self - a.self) / wall, (b.child - a.child) / wall,
      (b.machine_busy - a.machine_busy) / wall, (b.machine_total - a.machine_total) / wall,
      b.threads);
  // Threads that exited in between are missing from both sums: a lower bound.
  const int64_t slices = b.slices - a.slices;
  const double waited = b.runqueue_wait - a.runqueue_wait;
  std::printf(
      "cpu: this process's threads waited %.2f s runnable for a CPU (%.0f %% of their CPU "
      "time); scheduled %lld times: mean wait %.0f us each\n",
      waited, 100 * waited / std::max(1e-9, b.self - a.self), static_cast<long long>(slices),
      slices > 0 ? 1e6 * waited / static_cast<double>(slices) : 0.0);
  std::fflush(stdout);
}

// Where each message's time went: Send start -> Redis delivered the gateway's PUBLISH (the
// handler's auth, read and commit) -> the agent's stream read it (hub, reactor, client);
// and Send start -> Send returned. For the slowest 1 %, the mean of each stage.
void PrintStages(const std::vector<std::atomic<int64_t>>& sent,
                 const std::vector<std::atomic<int64_t>>& tapped,
                 const std::vector<std::atomic<int64_t>>& returned,
                 const std::vector<std::atomic<int64_t>>& received) {
  struct Row {
    double total, handler, relay, rpc;
  };
  auto us = [](int64_t from_ns, int64_t to_ns) {
    return static_cast<double>(to_ns - from_ns) / 1e3;
  };
  std::vector<Row> rows;
  rows.reserve(sent.size());
  for (size_t k = 0; k < sent.size(); ++k) {
    const int64_t s = sent[k], t = tapped[k], r = returned[k], v = received[k];
    if (s == 0 || t == 0 || r == 0 || v == 0) continue;
    rows.push_back({us(s, v), us(s, t), us(t, v), us(s, r)});
  }
  auto column = [&](double Row::*m) {
    std::vector<double> out;
    out.reserve(rows.size());
    for (const auto& row : rows) out.push_back(row.*m);
    return out;
  };
  auto line = [&](const char* name, double Row::*m) {
    const auto v = column(m);
    std::printf("stages: %-40s p50_us=%7.0f p90_us=%7.0f p99_us=%7.0f max_us=%7.0f\n", name,
                Percentile(v, 0.5), Percentile(v, 0.9), Percentile(v, 0.99), Percentile(v, 1.0));
  };
  std::printf("stages: %zu messages with every stamp\n", rows.size());
  line("Send start -> agent stream (total)", &Row::total);
  line("Send start -> Redis PUBLISH seen (handler)", &Row::handler);
  line("PUBLISH seen -> agent stream (relay)", &Row::relay);
  line("Send start -> Send returned (RPC)", &Row::rpc);
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.total > b.total; });
  const size_t worst = std::max<size_t>(1, rows.size() / 100);
  const auto n = static_cast<double>(worst);
  Row mean{};
  for (size_t i = 0; i < worst && i < rows.size(); ++i) {
    mean.total += rows[i].total / n;
    mean.handler += rows[i].handler / n;
    mean.relay += rows[i].relay / n;
  }
  std::printf("stages: slowest %zu: mean total_us=%.0f = handler %.0f + relay %.0f\n", worst,
              mean.total, mean.handler, mean.relay);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  if (HasFlag(argc, argv, "--idle-client")) return IdleClient(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  RaiseFileLimit();
  const int streams = Flag(argc, argv, "--streams", 10000);
  const int per_channel = std::max(1, Flag(argc, argv, "--per-channel", 1));
  const int messages = Flag(argc, argv, "--messages", 3000);
  const int rate = std::max(1, Flag(argc, argv, "--rate", 300));
  const int dialogs = std::max(1, Flag(argc, argv, "--dialogs", 20));
  std::printf(
      "gateway_bench: %d idle streams (%d per connection), %d messages at %d/s over %d "
      "dialogs; RLIMIT_NOFILE=%lld\n",
      streams, per_channel, messages, rate, dialogs, static_cast<long long>(FileLimit()));
  std::fflush(stdout);

  kefu::bench::GatewayStack stack;
  stack.CreateQueue();
  // Floor: a Redis round trip and an empty gRPC call to the gateway's server.
  const double grpc_p50 =
      kefu::bench::PrintFloor(kefu::testing::SharedEnv().redis_url, stack.gateway.channel);

  // Idle agent streams, opened by the child process.
  absl::SleepFor(absl::Milliseconds(500));
  const int64_t rss_before = RssBytes();
  Child child = SpawnSelf({"--idle-client", "--addr", stack.gateway.addr, "--tenant", stack.tenant,
                           "--streams", std::to_string(streams), "--per-channel",
                           std::to_string(per_channel)});
  if (child.pid <= 0 || child.from_child == nullptr) {
    std::fprintf(stderr, "gateway_bench: cannot start the idle client process\n");
    return 1;
  }
  int opened = 0, failed = 0;
  double open_ms = 0;
  char line[256];
  while (std::fgets(line, sizeof(line), child.from_child) != nullptr) {
    std::vector<std::string> words = absl::StrSplit(std::string(line), ' ');
    if (words[0] == "progress") {
      std::printf("streams: %s open\n", std::string(absl::StripAsciiWhitespace(words[1])).c_str());
      std::fflush(stdout);
    } else if (words[0] == "opened" && words.size() >= 4) {
      (void)absl::SimpleAtoi(words[1], &opened);
      (void)absl::SimpleAtoi(words[2], &failed);
      (void)absl::SimpleAtod(absl::StripAsciiWhitespace(words[3]), &open_ms);
      break;
    }
  }
  absl::SleepFor(absl::Seconds(2));  // let allocations settle
  const int64_t rss_after = RssBytes();
  const int64_t child_rss = RssBytes(child.pid);
  const int64_t bytes_per_stream = opened > 0 ? (rss_after - rss_before) / opened : 0;
  std::printf(
      "streams: opened=%d failed=%d in %.1f s; server process RSS %.1f MiB -> %.1f MiB: "
      "%lld bytes/stream (in-process stack: gateway + gRPC core; client side, separate "
      "process: %lld bytes/stream)\n",
      opened, failed, open_ms / 1000, static_cast<double>(rss_before) / (1 << 20),
      static_cast<double>(rss_after) / (1 << 20), static_cast<long long>(bytes_per_stream),
      static_cast<long long>(opened > 0 ? child_rss / opened : 0));
  std::fflush(stdout);

  // Latency: agents with desktops, customers in dialogs, with the idle streams still open.
  const int agent_count = std::max(1, std::min(dialogs, 20));
  std::vector<std::unique_ptr<ActiveAgent>> agents;
  auto gateway_agents = gw::AgentGatewayService::NewStub(stack.gateway.channel);
  auto gateway_customers = gw::CustomerGatewayService::NewStub(stack.gateway.channel);
  std::vector<std::atomic<int64_t>> sent_ns(static_cast<size_t>(messages));
  std::vector<std::atomic<int64_t>> returned_ns(static_cast<size_t>(messages));
  std::vector<std::atomic<int64_t>> tapped_ns(static_cast<size_t>(messages));
  std::vector<std::atomic<int64_t>> received_ns(static_cast<size_t>(messages));
  std::mutex mu;
  std::vector<double> latency;
  std::atomic<int> accepted{0};
  for (int i = 0; i < agent_count; ++i) {
    auto agent = std::make_unique<ActiveAgent>();
    agent->id = absl::StrCat("agent-", i);
    const auto online = stack.OnlineAgent(agent->id, dialogs);
    agent->token = online.token;
    agent->session = online.session;
    agent->stream = std::make_unique<grpc::ClientContext>();
    kefu::auth::AttachToken(agent->stream.get(), agent->token);
    ActiveAgent* a = agent.get();
    agent->reader = std::thread([&, a] {
      auto stub = gw::AgentGatewayService::NewStub(stack.gateway.channel);
      gw::AgentGatewayServiceUpdatesRequest request;
      auto reader = stub->Updates(a->stream.get(), request);
      gw::AgentGatewayServiceUpdatesResponse update;
      while (reader->Read(&update)) {
        if (update.has_offer()) {
          gw::AcceptRequest accept;
          accept.set_offer_id(update.offer().offer_id());
          gw::AcceptResponse response;
          if (stub->Accept(CallWith(a->token).get(), accept, &response).ok()) ++accepted;
        } else if (update.has_message() &&
                   update.message().sender().type() == common::PARTICIPANT_TYPE_CUSTOMER) {
          const int64_t now = Clock::now().time_since_epoch().count();
          int k;
          if (!absl::SimpleAtoi(absl::StripPrefix(update.message().text(), "bench "), &k) ||
              k < 0 || k >= messages) {
            continue;
          }
          const int64_t sent = sent_ns[static_cast<size_t>(k)].load();
          if (sent == 0) continue;
          received_ns[static_cast<size_t>(k)] = now;
          std::lock_guard<std::mutex> lock(mu);
          latency.push_back(static_cast<double>(now - sent) / 1000.0);
        }
      }
      (void)reader->Finish();
    });
    agents.push_back(std::move(agent));
  }
  absl::SleepFor(absl::Milliseconds(300));  // desktops connected
  // Customers: each starts a contact (a SERVICE token of the tenant, as an IVR would) and
  // keeps its own Updates stream open, as a widget does.
  struct Dialog {
    std::string token;
    std::unique_ptr<grpc::ClientContext> stream;
    std::thread reader;
  };
  std::vector<std::unique_ptr<Dialog>> customers;
  for (int d = 0; d < dialogs; ++d) {
    gw::StartContactRequest start;
    start.set_channel(common::CHANNEL_CHAT);
    start.set_visitor_id(absl::StrCat("bench-visitor-", d));
    start.set_idempotency_key(absl::StrCat("bench-", d));
    gw::StartContactResponse started;
    kefu::bench::Check(
        gateway_customers->StartContact(CallWith(stack.service).get(), start, &started),
        "StartContact");
    auto dialog = std::make_unique<Dialog>();
    dialog->token = started.customer_token();
    dialog->stream = std::make_unique<grpc::ClientContext>();
    kefu::auth::AttachToken(dialog->stream.get(), dialog->token);
    Dialog* p = dialog.get();
    dialog->reader = std::thread([&, p] {
      gw::CustomerGatewayServiceUpdatesRequest request;
      auto reader = gateway_customers->Updates(p->stream.get(), request);
      gw::CustomerGatewayServiceUpdatesResponse update;
      while (reader->Read(&update)) {
      }
      (void)reader->Finish();
    });
    customers.push_back(std::move(dialog));
  }
  for (const absl::Time until = absl::Now() + absl::Seconds(20);
       accepted < dialogs && absl::Now() < until;) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  std::printf("latency: %d of %d dialogs accepted by %d agents\n", accepted.load(), dialogs,
              agent_count);
  std::fflush(stdout);
  if (accepted < dialogs) {
    std::fprintf(stderr, "gateway_bench: not every dialog reached an agent\n");
  }

  // Stage tap: a plain Redis subscriber on the active agents' channels stamps when Redis
  // delivers each PUBLISH (the gateway's commit), which splits the delivery into the Send
  // handler's part (before the publish) and the relay's part (hub -> reactor -> client).
  const auto redis_url = *kefu::redis::ParseUrl(kefu::testing::SharedEnv().redis_url);
  redisContext* tap = redisConnect(redis_url.host.c_str(), redis_url.port);
  if (tap != nullptr && tap->err == 0 && !redis_url.password.empty()) {
    freeReplyObject(redisCommand(tap, "AUTH %s", redis_url.password.c_str()));
  }
  for (auto& a : agents) {
    const std::string channel = kefu::gateway::keys::AgentChannel(stack.tenant, a->id);
    freeReplyObject(redisCommand(tap, "SUBSCRIBE %b", channel.data(), channel.size()));
  }
  std::thread tapper([&] {
    void* raw = nullptr;
    while (redisGetReply(tap, &raw) == REDIS_OK && raw != nullptr) {
      const int64_t now = Clock::now().time_since_epoch().count();
      auto* r = static_cast<redisReply*>(raw);
      if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
          r->element[2]->type == REDIS_REPLY_STRING) {
        gw::AgentGatewayServiceUpdatesResponse u;
        int k;
        if (u.ParseFromArray(r->element[2]->str, static_cast<int>(r->element[2]->len)) &&
            u.has_message() &&
            absl::SimpleAtoi(absl::StripPrefix(u.message().text(), "bench "), &k) && k >= 0 &&
            k < messages) {
          tapped_ns[static_cast<size_t>(k)] = now;
        }
      }
      freeReplyObject(raw);
    }
  });
  const CpuTimes cpu_before = ReadCpuTimes(child.pid);

  // Open loop: message k is due at start + k / rate, from dialog k % dialogs; one sender
  // thread per few dialogs keeps each dialog's messages in order.
  const int senders = std::min(dialogs, 8);
  std::atomic<int> send_errors{0};
  const Clock::time_point start = Clock::now() + std::chrono::milliseconds(100);
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < senders; ++t) {
      threads.emplace_back([&, t] {
        for (int k = 0; k < messages; ++k) {
          const int d = k % dialogs;
          if (d % senders != t) continue;
          std::this_thread::sleep_until(start + std::chrono::microseconds(1000000LL * k / rate));
          gw::CustomerGatewayServiceSendRequest send;
          send.set_text(absl::StrCat("bench ", k));
          send.set_idempotency_key(absl::StrCat("m-", k));
          gw::CustomerGatewayServiceSendResponse sent;
          sent_ns[static_cast<size_t>(k)] = Clock::now().time_since_epoch().count();
          auto st = gateway_customers->Send(
              CallWith(customers[static_cast<size_t>(d)]->token).get(), send, &sent);
          returned_ns[static_cast<size_t>(k)] = Clock::now().time_since_epoch().count();
          if (!st.ok() && send_errors.fetch_add(1) < 3) {
            std::fprintf(stderr, "Send: %d %s\n", st.error_code(), st.error_message().c_str());
          }
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  // Wait (bounded) for the last deliveries.
  for (const absl::Time until = absl::Now() + absl::Seconds(5); absl::Now() < until;) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (static_cast<int>(latency.size()) >= messages - send_errors) break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  std::vector<double> delivered;
  {
    std::lock_guard<std::mutex> lock(mu);
    delivered = latency;
  }
  const CpuTimes cpu_after = ReadCpuTimes(child.pid);
  shutdown(tap->fd, SHUT_RDWR);
  tapper.join();
  redisFree(tap);
  PrintStages(sent_ns, tapped_ns, returned_ns, received_ns);
  PrintCpu(cpu_before, cpu_after);
  const double p50 = Percentile(delivered, 0.5), p99 = Percentile(delivered, 0.99),
               max = Percentile(delivered, 1.0);
  std::printf(
      "latency: customer Send -> agent stream, %zu of %d delivered (send errors %d) with %d idle "
      "streams open: p50_us=%.0f p99_us=%.0f max_us=%.0f\n",
      delivered.size(), messages, send_errors.load(), opened, p50, p99, max);
  std::fflush(stdout);

  // Tear down: the idle client exits when its stdin closes.
  close(child.to_child);
  int status = 0;
  waitpid(child.pid, &status, 0);
  std::fclose(child.from_child);
  for (auto& c : customers) c->stream->TryCancel();
  for (auto& a : agents) a->stream->TryCancel();
  for (auto& c : customers) c->reader.join();
  for (auto& a : agents) a->reader.join();
  std::printf("gateway_bench streams=%d bytes_per_stream=%lld p50_us=%.0f p99_us=%.0f ratio=%.2f\n",
              opened, static_cast<long long>(bytes_per_stream), p50, p99,
              p50 / std::max(1.0, grpc_p50));
  std::fflush(stdout);
  return 0;
}
