#pragma once

#include <google/protobuf/timestamp.pb.h>

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/common/status.h"
#include "services/kb/kb_store.h"

// What the kb PostgreSQL stores share: text[] literals, timestamps, ids, and the
// idempotency record written in the mutation's own transaction.
namespace kefu::kb::pg_internal {

// '{"a","b"}' for a text[] parameter ($n::text[]).
std::string TextArray(const std::vector<std::string>& values);
template <typename Container>
std::string TextArray(const Container& values) {
  return TextArray(std::vector<std::string>(values.begin(), values.end()));
}
std::vector<std::string> ParseTextArray(const pqxx::field& field);

// A column selected as (extract(epoch from t) * 1000000)::bigint.
google::protobuf::Timestamp FromMicros(const pqxx::field& field);

// 32 hex digits.
std::string NewId();

// Takes the tenant's next kb revision (locks its counter row until commit).
int64_t NextRevision(pqxx::work& txn, const std::string& tenant_id);

// Claims (tenant, caller, rpc, key); when an earlier request holds it, returns its stored
// result (same fingerprint) or INVALID_ARGUMENT (different request). Otherwise runs `fn`
// and stores its result. Rolled back with the mutation when `fn` fails.
std::optional<absl::StatusOr<std::string>> FindIdempotent(pqxx::work& txn, const WriteScope& scope);
void SaveIdempotent(pqxx::work& txn, const WriteScope& scope, const std::string& response);

template <typename Result, typename Fn>
absl::StatusOr<Result> Idempotent(pqxx::work& txn, const WriteScope& scope, Fn&& fn) {
  if (scope.idempotency_key.empty()) return fn();
  if (auto earlier = FindIdempotent(txn, scope)) {
    if (!earlier->ok()) return earlier->status();
    Result result;
    if (!result.ParseFromString(**earlier)) {
      return absl::InternalError("idempotency record does not parse");
    }
    return result;
  }
  absl::StatusOr<Result> result = fn();
  if (result.ok()) SaveIdempotent(txn, scope, result->SerializeAsString());
  return result;
}

}  // namespace kefu::kb::pg_internal
