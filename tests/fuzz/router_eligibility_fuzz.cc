// Who may take a contact (F15, F16): the router's Enqueue request (requested department and
// agent, region) against an entry point and region strategies, through Decide. Input: one
// length byte and that many bytes of EnqueueRequest, one length byte and an EntryPoint (length
// 0: no entry point), and the rest a ListRegionStrategiesResponse. A decision must obey the
// rules eligibility.h lists.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "kefu/router/v1/routing.pb.h"
#include "kefu/router/v1/routing_admin.pb.h"
#include "services/router/eligibility.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

namespace v1 = kefu::router::v1;

absl::string_view TakePart(absl::string_view* rest) {
  if (rest->empty()) return {};
  const size_t n = std::min<size_t>(static_cast<unsigned char>((*rest)[0]), rest->size() - 1);
  const absl::string_view part = rest->substr(1, n);
  rest->remove_prefix(1 + n);
  return part;
}

template <typename Message>
bool Parse(absl::string_view bytes, Message* message) {
  return message->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

bool Unique(const std::vector<std::string>& list) {
  return std::set<std::string>(list.begin(), list.end()).size() == list.size();
}

bool Has(const google::protobuf::RepeatedPtrField<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view rest(reinterpret_cast<const char*>(data), size);
  v1::EnqueueRequest request;
  v1::EntryPoint entry_point;
  v1::ListRegionStrategiesResponse config;
  if (!Parse(TakePart(&rest), &request)) return 0;
  const absl::string_view entry_point_bytes = TakePart(&rest);
  if (!Parse(entry_point_bytes, &entry_point) || !Parse(rest, &config)) return 0;
  entry_point.set_entry_point_id(request.entry_point_id());
  const v1::EntryPoint* ep = entry_point_bytes.empty() ? nullptr : &entry_point;
  const std::vector<v1::RegionStrategy> strategies(config.strategies().begin(),
                                                   config.strategies().end());
  // Strategy ids are keys of the tenant's configuration: never two alike.
  std::set<std::string> ids;
  for (const v1::RegionStrategy& strategy : strategies) {
    if (!ids.insert(strategy.strategy_id()).second) return 0;
  }

  auto decision =
      kefu::router::Decide(ep, strategies, request.region(), request.requested_department_id(),
                           request.requested_agent_id());
  if (!decision.ok()) {
    KEFU_FUZZ_CHECK(decision.status().code() == absl::StatusCode::kInvalidArgument,
                    "a refused request is INVALID_ARGUMENT");
    return 0;
  }
  const kefu::router::Eligibility& e = decision->eligibility;
  KEFU_FUZZ_CHECK(Unique(e.agent_ids) && Unique(e.department_ids), "no one is eligible twice");
  const std::string& agent = request.requested_agent_id();
  const std::string& department = request.requested_department_id();
  if (!agent.empty() && ep != nullptr && ep->designated_agent_ids_size() > 0) {
    KEFU_FUZZ_CHECK(Has(ep->designated_agent_ids(), agent),
                    "a requested agent is one of the designated agents");
  }
  if (!department.empty() && !e.empty()) {
    KEFU_FUZZ_CHECK(e.agent_ids.empty() && e.department_ids == std::vector<std::string>{department},
                    "a requested department narrows the contact to it");
  }
  bool any_override = false;
  size_t next = 0;
  for (const std::string& id : decision->matched_strategy_ids) {
    while (next < strategies.size() &&
           !(strategies[next].strategy_id() == id && strategies[next].enabled())) {
      ++next;
    }
    KEFU_FUZZ_CHECK(next < strategies.size(),
                    "matched strategies are enabled ones, in evaluation order");
    any_override = any_override || strategies[next].override_designation();
    ++next;
  }
  KEFU_FUZZ_CHECK(!decision->overridden || any_override,
                  "only an override_designation strategy overrides");
  return 0;
}
