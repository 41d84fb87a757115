#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "tests/support/process.h"

// Throwaway Redis and PostgreSQL servers for tests: own temporary directory, free
// loopback port, torn down (process stopped, directory removed) on destruction.
namespace kefu::testing {

// A TCP port on 127.0.0.1 that was free a moment ago, below the kernel's ephemeral range so
// that no outgoing connection can take it before the server binds it.
int FreePort();
// mkdtemp under $TMPDIR (or /tmp).
std::string MakeTempDir(const std::string& prefix);

class RedisServer final {
 public:
  // redis-server with AOF on (appendfsync everysec), as production runs it.
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start();
  ~RedisServer();

  std::string url() const;
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }

  // SIGKILL, as a crash; data survives in the AOF up to the last fsync.
  absl::Status Kill();
  // Starts again on the same port and directory.
  absl::Status Restart();
  // Leaves the server running after this object is gone (ctest fixtures).
  void Detach() { detached_ = true; }

 private:
  RedisServer(std::string dir, int port) : dir_(std::move(dir)), port_(port) {}
  absl::Status Launch();
  std::string dir_;
  int port_;
  pid_t pid_ = -1;
  bool detached_ = false;
};

class PostgresServer final {
 public:
  // initdb (as the `postgres` user when running as root: initdb refuses root) and start.
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start();
  ~PostgresServer();

  // DSN of `database` as superuser `postgres` over TCP on loopback.
  std::string dsn(const std::string& database = "postgres") const;
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }

  // Immediate shutdown (SIGQUIT): no checkpoint, as a crash.
  absl::Status Kill();
  absl::Status Restart();
  void Detach() { detached_ = true; }

 private:
  PostgresServer(std::string dir, int port) : dir_(std::move(dir)), port_(port) {}
  absl::Status Launch();
  std::string dir_;
  int port_;
  pid_t pid_ = -1;
  bool detached_ = false;
};

// Creates a fresh database named <prefix>_<random> on the server behind `admin_dsn`
// and returns its DSN: each test gets its own, so no state leaks between tests.
absl::StatusOr<std::string> CreateDatabase(const std::string& admin_dsn, const std::string& prefix);

}  // namespace kefu::testing
