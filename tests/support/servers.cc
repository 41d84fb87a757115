#include "tests/support/servers.h"

#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <pqxx/pqxx>
#include <random>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "libs/redis/client.h"
#include "tests/support/process.h"

namespace kefu::testing {
namespace {

namespace fs = std::filesystem;

// PostgreSQL refuses to run as root: drop to the `postgres` user when we are root.
absl::StatusOr<RunAs> PostgresUser() {
  RunAs as;
  if (geteuid() != 0) return as;
  struct passwd* pw = getpwnam("postgres");
  if (pw == nullptr) {
    return absl::FailedPreconditionError(
        "running as root but there is no `postgres` user: install postgresql "
        "(scripts/install-deps.sh)");
  }
  as.drop = true;
  as.uid = pw->pw_uid;
  as.gid = pw->pw_gid;
  return as;
}

absl::Status RunToCompletion(const std::vector<std::string>& argv, const std::string& log_path,
                             const RunAs& as) {
  auto pid = Spawn(argv, log_path, as);
  if (!pid.ok()) return pid.status();
  int status = 0;
  waitpid(*pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(
        absl::StrCat(argv[0], " failed (exit ", WEXITSTATUS(status), "); see ", log_path));
  }
  return absl::OkStatus();
}

std::string PostgresBinary(const std::string& name) {
  if (const char* dir = std::getenv("KEFU_PG_BINDIR"); dir != nullptr && *dir != '\0') {
    return absl::StrCat(dir, "/", name);
  }
  // Debian keeps the server binaries off PATH, under /usr/lib/postgresql/<major>/bin.
  std::string best;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    fs::path candidate = entry.path() / "bin" / name;
    if (fs::exists(candidate) && candidate.string() > best) best = candidate.string();
  }
  return best.empty() ? name : best;
}

void KillAndWait(pid_t pid, int sig) {
  if (pid <= 0) return;
  kill(pid, sig);
  if (!WaitForExit(pid, 10000)) {
    kill(pid, SIGKILL);
    WaitForExit(pid, 5000);
  }
}

}  // namespace

namespace {

// True when `port` can be bound on loopback right now.
bool PortBindable(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

// The first port of the kernel's ephemeral range (net.ipv4.ip_local_port_range).
int EphemeralLow() {
  FILE* f = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
  int low = 32768, high = 60999;
  if (f != nullptr) {
    if (std::fscanf(f, "%d %d", &low, &high) != 2) low = 32768;
    std::fclose(f);
  }
  return low;
}

}  // namespace

int FreePort() {
  // A port below the ephemeral range: the kernel never hands those out as the source port
  // of an outgoing connection (any Redis or PostgreSQL client of a test running in parallel
  // could otherwise take a port between this check and the server's bind, and the server
  // fails with "cannot listen"), nor to a listener bound to port 0.
  const int high = EphemeralLow() - 1;
  const int low = 20000;
  // A port is bindable now, but its process binds it later: never name one twice in this
  // process, or two servers of one stack or harness may be handed the same port (one of
  // them then fails with "cannot listen").
  if (high - low >= 1000) {
    static std::mutex mu;
    static std::mt19937 rng(std::random_device{}());
    static std::set<int> given;
    for (int attempt = 0; attempt < 200; ++attempt) {
      std::lock_guard lock(mu);
      const int port = std::uniform_int_distribution<int>(low, high)(rng);
      if (!given.contains(port) && PortBindable(port)) {
        given.insert(port);
        return port;
      }
    }
  }
  // Fallback: whatever port the kernel picks.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) close(fd);
    return 0;
  }
  close(fd);
  return ntohs(addr.sin_port);
}

std::string MakeTempDir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ =
      absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/", prefix, "-XXXXXX");
  if (mkdtemp(templ.data()) == nullptr) return "";
  return templ;
}

// --- Redis -------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start() {
  std::string dir = MakeTempDir("kefu-redis");
  if (dir.empty()) return absl::InternalError("cannot create a temporary directory");
  auto server = std::unique_ptr<RedisServer>(new RedisServer(dir, FreePort()));
  if (auto st = server->Launch(); !st.ok()) return st;
  return server;
}

absl::Status RedisServer::Launch() {
  auto pid = Spawn({"redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1", "--dir",
                    dir_, "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
                    "--daemonize", "no", "--protected-mode", "no"},
                   dir_ + "/redis.log", RunAs{});
  if (!pid.ok()) return pid.status();
  pid_ = *pid;
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  redis::RedisUrl url;
  url.port = port_;
  while (absl::Now() < deadline) {
    if (WaitForExit(pid_, 0)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "redis-server exited at start (is it installed? scripts/install-deps.sh); see ", dir_,
          "/redis.log"));
    }
    auto conn = redis::Connection::Open(url, absl::Milliseconds(500));
    if (conn.ok() && (*conn)->Command({"PING"}).ok()) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(25));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("redis-server did not answer PING within 15 s; see ", dir_, "/redis.log"));
}

RedisServer::~RedisServer() {
  if (detached_) return;
  KillAndWait(pid_, SIGTERM);
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string RedisServer::url() const { return absl::StrCat("redis://127.0.0.1:", port_); }

absl::Status RedisServer::Kill() {
  KillAndWait(pid_, SIGKILL);
  pid_ = -1;
  return absl::OkStatus();
}

absl::Status RedisServer::Restart() {
  if (pid_ > 0) KillAndWait(pid_, SIGTERM);
  return Launch();
}

// --- PostgreSQL ----------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start() {
  auto as = PostgresUser();
  if (!as.ok()) return as.status();
  std::string dir = MakeTempDir("kefu-pg");
  if (dir.empty()) return absl::InternalError("cannot create a temporary directory");
  if (as->drop && chown(dir.c_str(), as->uid, as->gid) != 0) {
    return absl::InternalError(absl::StrCat("chown ", dir, ": ", std::strerror(errno)));
  }
  auto server = std::unique_ptr<PostgresServer>(new PostgresServer(dir, FreePort()));
  auto st = RunToCompletion({PostgresBinary("initdb"), "-D", dir + "/data", "-U", "postgres", "-A",
                             "trust", "-E", "UTF8", "--locale=C", "--no-sync"},
                            dir + "/initdb.log", *as);
  if (!st.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "initdb failed (is postgresql installed? scripts/install-deps.sh): ", st.message()));
  }
  if (auto launched = server->Launch(); !launched.ok()) return launched;
  return server;
}

absl::Status PostgresServer::Launch() {
  auto as = PostgresUser();
  if (!as.ok()) return as.status();
  // Durability is not what these tests measure: no fsync makes start and DDL fast.
  auto pid = Spawn(
      {PostgresBinary("postgres"), "-D", dir_ + "/data", "-p", std::to_string(port_), "-k", dir_,
       "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c",
       "full_page_writes=off", "-c", "max_connections=300", "-c", "shared_buffers=64MB"},
      dir_ + "/postgres.log", *as);
  if (!pid.ok()) return pid.status();
  pid_ = *pid;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  std::string last_error;
  while (absl::Now() < deadline) {
    if (WaitForExit(pid_, 0)) {
      return absl::FailedPreconditionError(
          absl::StrCat("postgres exited at start; see ", dir_, "/postgres.log"));
    }
    try {
      pqxx::connection conn(dsn() + " connect_timeout=1");
      pqxx::nontransaction txn(conn);
      txn.exec("SELECT 1");
      return absl::OkStatus();
    } catch (const std::exception& e) {
      last_error = e.what();
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(absl::StrCat("postgres did not accept connections in 30 s: ",
                                                  last_error, "; see ", dir_, "/postgres.log"));
}

PostgresServer::~PostgresServer() {
  if (detached_) return;
  KillAndWait(pid_, SIGINT);  // fast shutdown
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string PostgresServer::dsn(const std::string& database) const {
  return absl::StrFormat("host=127.0.0.1 port=%d user=postgres dbname=%s", port_, database);
}

absl::Status PostgresServer::Kill() {
  KillAndWait(pid_, SIGQUIT);
  pid_ = -1;
  return absl::OkStatus();
}

absl::Status PostgresServer::Restart() {
  if (pid_ > 0) KillAndWait(pid_, SIGINT);
  return Launch();
}

absl::StatusOr<std::string> CreateDatabase(const std::string& admin_dsn,
                                           const std::string& prefix) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  const std::string name = absl::StrFormat("%s_%012x", prefix, rng() & 0xffffffffffffULL);
  try {
    pqxx::connection conn(admin_dsn);
    pqxx::nontransaction txn(conn);
    txn.exec("CREATE DATABASE " + conn.quote_name(name));
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("CREATE DATABASE ", name, ": ", e.what()));
  }
  // Same server, other database: replace dbname=... in the admin DSN.
  std::string dsn = admin_dsn;
  auto pos = dsn.find("dbname=");
  if (pos == std::string::npos) return absl::StrCat(dsn, " dbname=", name);
  auto end = dsn.find(' ', pos);
  dsn.replace(pos, end == std::string::npos ? std::string::npos : end - pos,
              absl::StrCat("dbname=", name));
  return dsn;
}

}  // namespace kefu::testing
