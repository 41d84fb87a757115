#include "libs/redis/script.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace kefu::redis {

std::string Script::Concat(const std::vector<EmbeddedFile>& files) {
  std::string source;
  for (const EmbeddedFile& file : files) absl::StrAppend(&source, file.content, "\n");
  return source;
}

absl::StatusOr<std::string> Script::Load(Connection& conn) {
  auto reply = conn.Command({"SCRIPT", "LOAD", source_});
  if (!reply.ok()) {
    return absl::Status(reply.status().code(),
                        absl::StrCat("loading script ", name_, ": ", reply.status().message()));
  }
  std::string sha(ReplyString(**reply));
  std::lock_guard<std::mutex> lock(mu_);
  sha_ = sha;
  return sha;
}

absl::StatusOr<Reply> Script::Run(Connection& conn, const std::vector<absl::string_view>& keys,
                                  const std::vector<absl::string_view>& args) {
  std::string sha;
  {
    std::lock_guard<std::mutex> lock(mu_);
    sha = sha_;
  }
  if (sha.empty()) {
    auto loaded = Load(conn);
    if (!loaded.ok()) return loaded.status();
    sha = *loaded;
  }
  const std::string num_keys = std::to_string(keys.size());
  std::vector<absl::string_view> argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.push_back("EVALSHA");
  argv.push_back(sha);
  argv.push_back(num_keys);
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  auto reply = conn.Command(argv);
  if (!reply.ok() && absl::StrContains(reply.status().message(), "NOSCRIPT")) {
    auto loaded = Load(conn);
    if (!loaded.ok()) return loaded.status();
    argv[1] = *loaded;
    reply = conn.Command(argv);
  }
  return reply;
}

absl::StatusOr<Reply> Script::Run(Pool& pool, const std::vector<absl::string_view>& keys,
                                  const std::vector<absl::string_view>& args) {
  auto lease = pool.Acquire();
  if (!lease.ok()) return lease.status();
  return Run(**lease, keys, args);
}

}  // namespace kefu::redis
