#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/redis/client.h"

// Redis Streams helpers: the transport of kefu's domain events.
namespace kefu::redis {

struct StreamEntry {
  std::string stream;  // key the entry came from
  std::string id;      // "1700000000000-0"
  std::vector<std::pair<std::string, std::string>> fields;

  // The value of `name`, or "" when absent.
  absl::string_view Field(absl::string_view name) const;
};

// XADD key MAXLEN ~ max_len * field value ... -> the new entry id.
absl::StatusOr<std::string> XAdd(
    Connection& conn, absl::string_view key,
    const std::vector<std::pair<absl::string_view, absl::string_view>>& fields, int64_t max_len);

// XGROUP CREATE key group start MKSTREAM; an existing group is not an error.
absl::Status XGroupCreate(Connection& conn, absl::string_view key, absl::string_view group,
                          absl::string_view start = "0");

// XREADGROUP GROUP group consumer COUNT count [BLOCK ms] STREAMS keys... ids...
// `id` is ">" for new entries or "0" for this consumer's pending ones.
// A block of zero duration means no BLOCK.
absl::StatusOr<std::vector<StreamEntry>> XReadGroup(Connection& conn, absl::string_view group,
                                                    absl::string_view consumer,
                                                    const std::vector<std::string>& keys,
                                                    absl::string_view id, int count,
                                                    absl::Duration block);

absl::Status XAck(Connection& conn, absl::string_view key, absl::string_view group,
                  absl::string_view id);

// XAUTOCLAIM key group consumer min_idle 0-0 COUNT count: takes over entries another
// consumer read but never acknowledged (it crashed) after min_idle.
absl::StatusOr<std::vector<StreamEntry>> XAutoClaim(Connection& conn, absl::string_view key,
                                                    absl::string_view group,
                                                    absl::string_view consumer,
                                                    absl::Duration min_idle, int count);

}  // namespace kefu::redis
