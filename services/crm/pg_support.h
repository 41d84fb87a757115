#pragma once

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/map.h>
#include <google/protobuf/timestamp.pb.h>

#include <cstdint>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/common/status.h"
#include "libs/pg/pool.h"
#include "services/crm/customer_store.h"

// What the crm PostgreSQL stores share: value conversions (arrays, times, JSON maps),
// cursors, new ids and idempotent mutations.
namespace kefu::crm::pgsupport {

// PostgreSQL array literals ("{\"a\",\"b\"}") for text[] / int[] parameters.
using ::kefu::pg::TextArray;
std::string IntArray(const std::vector<int>& values);
std::vector<std::string> ParseTextArray(const pqxx::field& field);

// Times as microseconds since the epoch (SQL: crm.micros / crm.from_micros).
int64_t Micros(const google::protobuf::Timestamp& ts);
google::protobuf::Timestamp TimestampOf(int64_t micros);
google::protobuf::Duration DurationOf(int64_t micros);
int64_t Micros(const google::protobuf::Duration& d);
// NULL for an open bound.
std::optional<int64_t> BoundMicros(absl::Time t);
// Sets *ts from a nullable bigint column; leaves it unset when NULL.
void SetTime(const pqxx::field& field, google::protobuf::Timestamp* ts);
int64_t NowMicros();

// map<string,string> <-> a JSON object (jsonb columns).
std::string MapToJson(const google::protobuf::Map<std::string, std::string>& map);
std::string MapToJson(const std::map<std::string, std::string>& map);
void JsonToMap(const std::string& json, google::protobuf::Map<std::string, std::string>* map);

// Protobuf JSON for configuration documents (tier rules, forms).
std::string MessageToJson(const google::protobuf::Message& message);
absl::Status JsonToMessage(const std::string& json, google::protobuf::Message* message);

// A bytea column's bytes.
std::string Bytes(const pqxx::field& field);

// Keyset cursors: "<micros>|<id>" or "<number>".
std::string TimeCursor(int64_t micros, absl::string_view id);
// (micros, id) of a cursor; NULLs for the first page; INVALID_ARGUMENT page_token when bad.
absl::StatusOr<std::pair<std::optional<int64_t>, std::string>> ParseTimeCursor(
    absl::string_view cursor);
absl::StatusOr<std::optional<int64_t>> ParseNumberCursor(absl::string_view cursor);

// A fresh opaque id (32 hex digits).
std::string NewId();

// Runs `op` (returning absl::StatusOr<Mutation<Msg>>) inside `txn` unless `idem` was seen:
// then the stored result comes back with no events. The same key with another request is
// INVALID_ARGUMENT. The claim row and the result are written in `txn`, so a failed
// mutation leaves no trace and a concurrent retry waits for the first to commit.
absl::StatusOr<std::optional<std::string>> ClaimIdempotency(pqxx::work& txn,
                                                            const std::string& tenant,
                                                            const Idempotency& idem);
void SaveIdempotency(pqxx::work& txn, const std::string& tenant, const Idempotency& idem,
                     const std::string& response);

template <typename Msg, typename Op>
absl::StatusOr<Mutation<Msg>> Idempotent(pqxx::work& txn, const std::string& tenant,
                                         const Idempotency& idem, Op&& op) {
  if (idem.key.empty()) return op();
  auto stored = ClaimIdempotency(txn, tenant, idem);
  if (!stored.ok()) return stored.status();
  if (stored->has_value()) {
    Mutation<Msg> replay;
    if (!replay.value.ParseFromString(**stored)) {
      return absl::InternalError("idempotency_key: stored response unreadable");
    }
    return replay;
  }
  absl::StatusOr<Mutation<Msg>> result = op();
  if (!result.ok()) return result;
  SaveIdempotency(txn, tenant, idem, result->value.SerializeAsString());
  return result;
}

// The same for mutations whose result has no events.
template <typename Msg, typename Op>
absl::StatusOr<Msg> IdempotentValue(pqxx::work& txn, const std::string& tenant,
                                    const Idempotency& idem, Op&& op) {
  auto result = Idempotent<Msg>(txn, tenant, idem, [&]() -> absl::StatusOr<Mutation<Msg>> {
    absl::StatusOr<Msg> value = op();
    if (!value.ok()) return value.status();
    return Mutation<Msg>{*std::move(value), {}};
  });
  if (!result.ok()) return result.status();
  return std::move(result->value);
}

}  // namespace kefu::crm::pgsupport
