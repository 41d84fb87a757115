// `kefuctl demo` against the seven binaries (issue 5): the traffic a new user watches in
// their first minute runs through the public APIs and loses no contact.
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "tests/e2e/stack.h"

namespace {

// "demo contacts=12 routed=10 ..." -> {contacts: 12, routed: 10, ...}; empty when the
// output has no such line.
std::map<std::string, int> DemoCounts(const std::string& output) {
  std::map<std::string, int> counts;
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    if (!absl::StartsWith(line, "demo contacts=")) continue;
    counts.clear();
    for (absl::string_view pair : absl::StrSplit(line.substr(5), ' ', absl::SkipEmpty())) {
      std::vector<absl::string_view> kv = absl::StrSplit(pair, '=');
      int value = 0;
      if (kv.size() == 2 && absl::SimpleAtoi(kv[1], &value)) counts[std::string(kv[0])] = value;
    }
  }
  return counts;
}

}  // namespace

TEST_CASE("kefuctl demo plays routed and rated contacts through the stack and loses none") {
  e2e::Stack stack(kefu::testing::SharedEnv().redis_url, kefu::testing::FreshDatabase("e2e_demo"));
  INFO(stack.Logs());
  REQUIRE(stack.SecondsUntilAll("SERVING", 30) >= 0);
  const std::string tenant = kefu::testing::UniqueTenant("demo");
  const std::string kefuctl = absl::StrCat(KEFU_BIN_DIR, "/kefuctl");
  kefu::testing::EnvVars env = stack.PeerEnv();
  env.push_back({"KEFU_JWT_KEY", e2e::kJwtKey});

  auto created = kefu::testing::RunCommand(
      {kefuctl, "tenant", "create", tenant, "Demo shop", "admin", "demo-password-1"}, env);
  INFO(created.output);
  REQUIRE(created.exit_code == 0);

  auto demo = kefu::testing::RunCommand(
      {kefuctl, "--tenant", tenant, "demo", "--duration", "8", "--rate", "3", "--agents", "4",
       "--drain", "90", "--admin-password", "demo-password-1"},
      env);
  INFO(demo.output);
  const auto counts = DemoCounts(demo.output);
  REQUIRE(counts.count("contacts") == 1);
  CHECK(demo.exit_code == 0);
  CHECK(counts.at("lost") == 0);
  CHECK(counts.at("contacts") >= 10);
  CHECK(counts.at("routed") > 0);
  CHECK(counts.at("rated") > 0);
  CHECK(counts.at("ended") > 0);
}
