// kefu-test-env: the ctest fixture that shares one Redis and one PostgreSQL among all
// tests of a run.
//   kefu-test-env start FILE   start both, write their addresses and pids to FILE
//   kefu-test-env stop FILE    stop both and remove their directories
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "tests/support/servers.h"

namespace {

int Start(const std::string& file) {
  auto redis = kefu::testing::RedisServer::Start();
  if (!redis.ok()) {
    std::fprintf(stderr, "cannot start Redis: %s\n", redis.status().ToString().c_str());
    return 1;
  }
  auto postgres = kefu::testing::PostgresServer::Start();
  if (!postgres.ok()) {
    std::fprintf(stderr, "cannot start PostgreSQL: %s\n", postgres.status().ToString().c_str());
    return 1;
  }
  std::ofstream out(file, std::ios::trunc);
  out << "redis_url=" << (*redis)->url() << "\n"
      << "redis_pid=" << (*redis)->pid() << "\n"
      << "redis_dir=" << (*redis)->dir() << "\n"
      << "pg_dsn=" << (*postgres)->dsn() << "\n"
      << "pg_pid=" << (*postgres)->pid() << "\n"
      << "pg_dir=" << (*postgres)->dir() << "\n";
  out.close();
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", file.c_str());
    return 1;
  }
  (*redis)->Detach();
  (*postgres)->Detach();
  std::printf("redis %s\npostgres %s\n", (*redis)->url().c_str(), (*postgres)->dsn().c_str());
  return 0;
}

int Stop(const std::string& file) {
  std::ifstream in(file);
  if (!in) {
    std::printf("no %s: nothing to stop\n", file.c_str());
    return 0;
  }
  std::map<std::string, std::string> values;
  std::string line;
  while (std::getline(in, line)) {
    std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
    values[kv.first] = kv.second;
  }
  int failures = 0;
  for (const auto& [pid_key, sig] :
       {std::pair{"pg_pid", SIGINT}, std::pair{"redis_pid", SIGTERM}}) {
    int pid = 0;
    if (absl::SimpleAtoi(values[pid_key], &pid) && pid > 0) {
      kill(pid, sig);
      if (!kefu::testing::WaitForExit(pid, 15000)) {
        kill(pid, SIGKILL);
        ++failures;
      }
    }
  }
  std::error_code ec;
  for (const char* dir_key : {"pg_dir", "redis_dir"}) {
    if (!values[dir_key].empty()) std::filesystem::remove_all(values[dir_key], ec);
  }
  std::filesystem::remove(file, ec);
  std::printf("stopped test servers\n");
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: kefu-test-env start|stop FILE\n");
    return 2;
  }
  const std::string command = argv[1];
  if (command == "start") return Start(argv[2]);
  if (command == "stop") return Stop(argv[2]);
  std::fprintf(stderr, "unknown command %s\n", command.c_str());
  return 2;
}
