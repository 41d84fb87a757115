#include "services/kb/pg_common.h"

#include <google/protobuf/util/time_util.h>

#include "libs/auth/token.h"

namespace kefu::kb::pg_internal {
namespace {

// Claims the key; nothing comes back when another request holds it already. The insert
// waits for a concurrent holder to commit or roll back first.
constexpr char kClaim[] =
    "INSERT INTO kb.idempotency (tenant_id, caller, rpc, key, request_hash)"
    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING 1";
constexpr char kFind[] =
    "SELECT request_hash, response FROM kb.idempotency"
    " WHERE tenant_id = $1 AND caller = $2 AND rpc = $3 AND key = $4";
constexpr char kSave[] =
    "UPDATE kb.idempotency SET response = $5"
    " WHERE tenant_id = $1 AND caller = $2 AND rpc = $3 AND key = $4";
// Keys are kept at least 24 h (docs/API.md); older ones go as new ones come.
constexpr char kExpire[] =
    "DELETE FROM kb.idempotency WHERE tenant_id = $1 AND created_at < now() - interval '48 hours'";
constexpr char kNextRevision[] =
    "INSERT INTO kb.tenant_state AS s (tenant_id, revision) VALUES ($1, 1)"
    " ON CONFLICT (tenant_id) DO UPDATE SET revision = s.revision + 1 RETURNING revision";

}  // namespace

std::string TextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.push_back('"');
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

std::vector<std::string> ParseTextArray(const pqxx::field& field) {
  std::vector<std::string> out;
  if (field.is_null()) return out;
  pqxx::array_parser parser = field.as_array();
  while (true) {
    auto [juncture, value] = parser.get_next();
    if (juncture == pqxx::array_parser::juncture::done) break;
    if (juncture == pqxx::array_parser::juncture::string_value) out.push_back(std::move(value));
  }
  return out;
}

google::protobuf::Timestamp FromMicros(const pqxx::field& field) {
  return google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(field.as<int64_t>());
}

std::string NewId() { return auth::RandomId(); }

int64_t NextRevision(pqxx::work& txn, const std::string& tenant_id) {
  return txn.exec_params(kNextRevision, tenant_id)[0][0].as<int64_t>();
}

std::optional<absl::StatusOr<std::string>> FindIdempotent(pqxx::work& txn,
                                                          const WriteScope& scope) {
  const pqxx::result claimed = txn.exec_params(kClaim, scope.tenant_id, scope.caller, scope.rpc,
                                               scope.idempotency_key, scope.request_hash);
  if (!claimed.empty()) {
    txn.exec_params(kExpire, scope.tenant_id);
    return std::nullopt;
  }
  const pqxx::result rows =
      txn.exec_params(kFind, scope.tenant_id, scope.caller, scope.rpc, scope.idempotency_key);
  if (rows.empty() || rows[0][1].is_null()) {
    return absl::StatusOr<std::string>(
        absl::AbortedError("idempotency_key: the first request is still running; retry"));
  }
  if (rows[0][0].as<std::string>() != scope.request_hash) {
    return absl::StatusOr<std::string>(
        InvalidField("idempotency_key", "reused with a different request"));
  }
  return absl::StatusOr<std::string>(pqxx::binarystring(rows[0][1]).str());
}

void SaveIdempotent(pqxx::work& txn, const WriteScope& scope, const std::string& response) {
  txn.exec_params(kSave, scope.tenant_id, scope.caller, scope.rpc, scope.idempotency_key,
                  pqxx::binarystring(response));
}

}  // namespace kefu::kb::pg_internal
