#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/common/embedded.h"
#include "libs/redis/client.h"

namespace kefu::redis {

// A Lua script called by SHA (EVALSHA). The SHA is learnt with SCRIPT LOAD on first
// use; when the server answers NOSCRIPT (restart, SCRIPT FLUSH, failover) the script is
// loaded again and the call retried once. Scripts are files beside their store, each
// with a header comment listing KEYS and ARGV (STYLE.md section 5).
class Script final {
 public:
  Script(std::string name, std::string source)
      : name_(std::move(name)), source_(std::move(source)) {}
  // A script made of embedded files in order (libs/redis/lua/proto.lua first, then the
  // script that uses its helpers), as kefu_embed_files() compiled them in.
  static std::string Concat(const std::vector<EmbeddedFile>& files);

  absl::StatusOr<Reply> Run(Connection& conn, const std::vector<absl::string_view>& keys,
                            const std::vector<absl::string_view>& args);
  absl::StatusOr<Reply> Run(Pool& pool, const std::vector<absl::string_view>& keys,
                            const std::vector<absl::string_view>& args);

  const std::string& name() const { return name_; }

 private:
  absl::StatusOr<std::string> Load(Connection& conn);

  const std::string name_;
  const std::string source_;
  std::mutex mu_;
  std::string sha_;  // guarded by mu_; empty until loaded once
};

}  // namespace kefu::redis
