// What the consumer groups of a tenant's event stream have read, for tests and benchmarks
// that wait for a service to catch up with the events they wrote.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/redis/client.h"

namespace kefu::testing {

// One group of XINFO GROUPS.
struct ConsumerGroupState {
  std::string name;
  std::string last_delivered_id;
  int64_t pending = 0;  // read, not acknowledged
  int64_t lag = -1;     // not read yet; -1 when Redis cannot tell
};

absl::StatusOr<std::vector<ConsumerGroupState>> ConsumerGroups(redis::Pool& pool,
                                                               const std::string& stream);

// True when stream entry id `a` ("ms-seq") is `b` or comes after it.
bool StreamIdAtOrAfter(absl::string_view a, absl::string_view b);

}  // namespace kefu::testing
