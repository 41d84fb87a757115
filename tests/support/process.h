#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

// Child processes for tests: servers (Redis, PostgreSQL) and kefu's own binaries.
namespace kefu::testing {

struct RunAs {
  bool drop = false;  // switch to uid/gid before exec (PostgreSQL refuses root)
  uid_t uid = 0;
  gid_t gid = 0;
};

using EnvVars = std::vector<std::pair<std::string, std::string>>;

// fork + exec `argv` with stdio sent to `log_path` (never to our own pipes: ctest
// waits for those to close) in a new session; `env` is added to our environment.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, const std::string& log_path,
                            const RunAs& as = {}, const EnvVars& env = {});

// True once the process is gone (reaping it when it is our child).
bool WaitForExit(pid_t pid, int timeout_ms);
// Exit code of our child `pid`, or nullopt if it is still running after timeout_ms
// (or was killed by a signal: then -signal).
std::optional<int> WaitForExitCode(pid_t pid, int timeout_ms);

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};
// Runs a command to completion and captures what it prints.
CommandResult RunCommand(const std::vector<std::string>& argv, const EnvVars& env = {});

// GET http://127.0.0.1:<port><path>; the body, or UNAVAILABLE.
absl::StatusOr<std::string> HttpGet(int port, const std::string& path);

}  // namespace kefu::testing
