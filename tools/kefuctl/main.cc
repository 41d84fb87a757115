// kefuctl: the operator's command-line client. `kefuctl --help` lists the commands.
#include <cstdio>
#include <iostream>
#include <map>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "libs/common/config.h"
#include "tools/kefuctl/ctl.h"
#include "tools/kefuctl/probe.h"

namespace {

using kefu::ctl::CommandSpec;
using kefu::ctl::CtlContext;

int Health(const std::vector<std::string>&, const CtlContext& ctx) {
  int not_serving = 0;
  for (const kefu::ServiceInfo& info : kefu::AllServices()) {
    const std::string& addr = ctx.peers.at(std::string(info.name));
    auto status = kefu::ctl::CheckHealth(addr, ctx.timeout);
    std::string text =
        status.ok() ? *status : absl::StrFormat("DOWN (%s)", status.status().ToString());
    if (!status.ok() || *status != "SERVING") ++not_serving;
    std::printf("%-10s %-22s %s\n", std::string(info.name).c_str(), addr.c_str(), text.c_str());
  }
  return not_serving == 0 ? 0 : 1;
}

int Services(const std::vector<std::string>&, const CtlContext& ctx) {
  int failed = 0;
  for (const kefu::ServiceInfo& info : kefu::AllServices()) {
    const std::string& addr = ctx.peers.at(std::string(info.name));
    auto names = kefu::ctl::ListServices(addr, ctx.timeout);
    if (!names.ok()) {
      ++failed;
      std::printf("%-10s %-22s DOWN (%s)\n", std::string(info.name).c_str(), addr.c_str(),
                  names.status().ToString().c_str());
      continue;
    }
    std::printf("%-10s %-22s %s\n", std::string(info.name).c_str(), addr.c_str(),
                absl::StrJoin(*names, " ").c_str());
  }
  return failed == 0 ? 0 : 1;
}

std::vector<CommandSpec> AllCommands(kefu::FlagSet* flags) {
  std::vector<CommandSpec> commands = {
      {"health", "health", "check every service's gRPC health; exit 1 unless all are SERVING",
       Health},
      {"services", "services", "list the gRPC services each server offers (reflection)", Services},
  };
  for (auto group :
       {kefu::ctl::IdentityCommands(), kefu::ctl::CrmCommands(), kefu::ctl::KbCommands(),
        kefu::ctl::VoiceCommands(), kefu::ctl::DemoCommands(flags)}) {
    commands.insert(commands.end(), group.begin(), group.end());
  }
  return commands;
}

std::string Usage(const std::vector<CommandSpec>& commands) {
  std::string out = "usage: kefuctl [flags] <command> [args]\n\ncommands:\n";
  for (const CommandSpec& command : commands) {
    out += absl::StrFormat("  %-44s %s\n", command.usage, command.help);
  }
  out +=
      "\ncredentials: --token (an access token from `kefuctl login`), or KEFU_JWT_KEY (the\n"
      "deployment key) with --tenant to act as that tenant's admin.\n\n";
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  kefu::FlagSet flags("kefuctl");
  CtlContext ctx;
  kefu::RegisterPeerFlags(&flags, &ctx.peers);
  flags.Duration("timeout", "KEFUCTL_TIMEOUT", "deadline of each call", &ctx.timeout);
  flags.String("tenant", "KEFUCTL_TENANT", "tenant to act in (with KEFU_JWT_KEY)", &ctx.tenant);
  flags.String("token", "KEFUCTL_TOKEN", "access token to call with", &ctx.token);
  flags.String("jwt-key", "KEFU_JWT_KEY", "deployment signing key (operators only)", &ctx.jwt_key);
  const std::vector<CommandSpec> commands = AllCommands(&flags);
  if (auto st = flags.Parse(argc, argv); !st.ok()) {
    std::fprintf(stderr, "kefuctl: %s\n", std::string(st.message()).c_str());
    return 2;
  }
  if (flags.help_requested() || flags.args().empty()) {
    std::cout << Usage(commands) << flags.Usage();
    return flags.help_requested() ? 0 : 2;
  }
  // The longest command whose words start the arguments ("customer show" before "customer").
  const std::vector<std::string>& args = flags.args();
  const CommandSpec* best = nullptr;
  size_t best_words = 0;
  for (const CommandSpec& command : commands) {
    std::vector<std::string> words = absl::StrSplit(command.words, ' ');
    if (words.size() > args.size() || words.size() <= best_words) continue;
    if (std::equal(words.begin(), words.end(), args.begin())) {
      best = &command;
      best_words = words.size();
    }
  }
  if (best == nullptr) {
    std::fprintf(stderr, "kefuctl: unknown command \"%s\"\n%s", absl::StrJoin(args, " ").c_str(),
                 Usage(commands).c_str());
    return 2;
  }
  return best->run(std::vector<std::string>(args.begin() + best_words, args.end()), ctx);
}
