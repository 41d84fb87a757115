// kefuctl: the operator's command-line client.
//   kefuctl health     one line per service: name, address, health status
//   kefuctl services   the gRPC services each server lists through reflection
#include <cstdio>
#include <iostream>
#include <map>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "libs/common/config.h"
#include "tools/kefuctl/probe.h"

namespace {

constexpr char kUsage[] = R"(usage: kefuctl [flags] <command>

commands:
  health     check every service's gRPC health; exit 1 unless all are SERVING
  services   list the gRPC services each server offers (server reflection)

)";

int Health(const std::map<std::string, std::string, std::less<>>& peers, absl::Duration timeout) {
  int not_serving = 0;
  for (const kefu::ServiceInfo& info : kefu::AllServices()) {
    const std::string& addr = peers.at(std::string(info.name));
    auto status = kefu::ctl::CheckHealth(addr, timeout);
    std::string text =
        status.ok() ? *status : absl::StrFormat("DOWN (%s)", status.status().ToString());
    if (!status.ok() || *status != "SERVING") ++not_serving;
    std::printf("%-10s %-22s %s\n", std::string(info.name).c_str(), addr.c_str(), text.c_str());
  }
  return not_serving == 0 ? 0 : 1;
}

int Services(const std::map<std::string, std::string, std::less<>>& peers, absl::Duration timeout) {
  int failed = 0;
  for (const kefu::ServiceInfo& info : kefu::AllServices()) {
    const std::string& addr = peers.at(std::string(info.name));
    auto names = kefu::ctl::ListServices(addr, timeout);
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

}  // namespace

int main(int argc, char** argv) {
  kefu::FlagSet flags("kefuctl");
  std::map<std::string, std::string, std::less<>> peers;
  kefu::RegisterPeerFlags(&flags, &peers);
  absl::Duration timeout = absl::Seconds(3);
  flags.Duration("timeout", "KEFUCTL_TIMEOUT", "deadline of each call", &timeout);
  if (auto st = flags.Parse(argc, argv); !st.ok()) {
    std::fprintf(stderr, "kefuctl: %s\n", std::string(st.message()).c_str());
    return 2;
  }
  if (flags.help_requested() || flags.args().empty()) {
    std::cout << kUsage << flags.Usage();
    return flags.help_requested() ? 0 : 2;
  }
  const std::string& command = flags.args().front();
  if (command == "health") return Health(peers, timeout);
  if (command == "services") return Services(peers, timeout);
  std::fprintf(stderr, "kefuctl: unknown command \"%s\"\n%s", command.c_str(), kUsage);
  return 2;
}
