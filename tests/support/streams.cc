#include "tests/support/streams.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace kefu::testing {

absl::StatusOr<std::vector<ConsumerGroupState>> ConsumerGroups(redis::Pool& pool,
                                                               const std::string& stream) {
  auto reply = pool.Command({"XINFO", "GROUPS", stream});
  if (!reply.ok()) return reply.status();
  std::vector<ConsumerGroupState> out;
  for (size_t g = 0; g < (*reply)->elements; ++g) {
    const redisReply* fields = (*reply)->element[g];
    ConsumerGroupState group;
    for (size_t f = 0; f + 1 < fields->elements; f += 2) {
      const std::string key(redis::ReplyString(*fields->element[f]));
      const redisReply* value = fields->element[f + 1];
      if (key == "name") group.name = redis::ReplyText(value);
      if (key == "last-delivered-id") group.last_delivered_id = redis::ReplyText(value);
      if (key == "pending" && value->type == REDIS_REPLY_INTEGER) group.pending = value->integer;
      if (key == "lag" && value->type == REDIS_REPLY_INTEGER) group.lag = value->integer;
    }
    out.push_back(std::move(group));
  }
  return out;
}

bool StreamIdAtOrAfter(absl::string_view a, absl::string_view b) {
  auto parse = [](absl::string_view id) {
    std::pair<absl::string_view, absl::string_view> parts = absl::StrSplit(id, '-');
    uint64_t ms = 0, seq = 0;
    (void)absl::SimpleAtoi(parts.first, &ms);
    (void)absl::SimpleAtoi(parts.second, &seq);
    return std::make_pair(ms, seq);
  };
  return parse(a) >= parse(b);
}

}  // namespace kefu::testing
