#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kefu {
class FlagSet;
}  // namespace kefu

// What every kefuctl command gets: where the services are, the deadline, and a token.
namespace kefu::ctl {

struct CtlContext {
  std::map<std::string, std::string, std::less<>> peers;  // "crm" -> "127.0.0.1:7006"
  absl::Duration timeout = absl::Seconds(3);
  std::string tenant;   // --tenant / KEFUCTL_TENANT
  std::string token;    // --token / KEFUCTL_TOKEN: an access token from `kefuctl login`
  std::string jwt_key;  // KEFU_JWT_KEY: the operator holds the deployment key

  std::shared_ptr<grpc::Channel> Channel(const std::string& service) const;
  // A ClientContext with the deadline and "authorization: Bearer ..." set. The token is
  // --token when given; else, with the deployment key, an admin token minted for
  // --tenant; else a platform service token when `platform` (bootstrap) is asked for.
  absl::StatusOr<std::unique_ptr<grpc::ClientContext>> Call(bool platform = false) const;
};

// A command: its arguments after the command words, its context; returns the exit code
// (0 ok, 1 the call failed, 2 bad usage) after printing what happened.
using Command = std::function<int(const std::vector<std::string>& args, const CtlContext& ctx)>;

struct CommandSpec {
  std::string words;  // "customer show"
  std::string usage;  // "customer show <customer_id>"
  std::string help;   // one line
  Command run;
};

// Each group of commands registers itself in a file of its own.
std::vector<CommandSpec> IdentityCommands();
std::vector<CommandSpec> CrmCommands();
std::vector<CommandSpec> KbCommands();
std::vector<CommandSpec> VoiceCommands();
// `demo` registers its own flags (--duration, --agents, --rate ...) on kefuctl's flag set.
std::vector<CommandSpec> DemoCommands(FlagSet* flags);

// Prints a status as "kefuctl: NOT_FOUND: customer c-1" to stderr and returns 1.
int Failed(const grpc::Status& status);
int Failed(const absl::Status& status);

}  // namespace kefu::ctl
