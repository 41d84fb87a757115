#include "services/crm/pg_support.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/auth/token.h"

namespace kefu::crm::pgsupport {
namespace {

// Claims the key, or finds the first call's row. Old keys of the tenant go first: the
// API promises 24 h, a week is kept.
constexpr char kPurgeIdempotency[] =
    "DELETE FROM crm.idempotency_keys WHERE tenant_id = $1 "
    "AND create_time < now() - interval '7 days'";
constexpr char kClaimIdempotency[] =
    "INSERT INTO crm.idempotency_keys (tenant_id, caller, rpc, key, request) "
    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING 1";
constexpr char kReadIdempotency[] =
    "SELECT request, response FROM crm.idempotency_keys "
    "WHERE tenant_id = $1 AND caller = $2 AND rpc = $3 AND key = $4";
constexpr char kSaveIdempotency[] =
    "UPDATE crm.idempotency_keys SET response = $5 "
    "WHERE tenant_id = $1 AND caller = $2 AND rpc = $3 AND key = $4";

absl::Status BadCursor() {
  return InvalidField("page_token", "malformed; pass the next_page_token of the last answer");
}

}  // namespace

std::string IntArray(const std::vector<int>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) absl::StrAppend(&out, i > 0 ? "," : "", values[i]);
  out += '}';
  return out;
}

std::vector<std::string> ParseTextArray(const pqxx::field& field) {
  std::vector<std::string> out;
  if (field.is_null()) return out;
  pqxx::array_parser parser = field.as_array();
  for (auto [juncture, value] = parser.get_next(); juncture != pqxx::array_parser::done;
       std::tie(juncture, value) = parser.get_next()) {
    if (juncture == pqxx::array_parser::string_value) out.push_back(value);
  }
  return out;
}

int64_t Micros(const google::protobuf::Timestamp& ts) {
  return ts.seconds() * 1000000 + ts.nanos() / 1000;
}

google::protobuf::Timestamp TimestampOf(int64_t micros) {
  google::protobuf::Timestamp ts;
  int64_t seconds = micros / 1000000;
  int64_t rest = micros % 1000000;
  if (rest < 0) {
    rest += 1000000;
    --seconds;
  }
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>(rest * 1000));
  return ts;
}

google::protobuf::Duration DurationOf(int64_t micros) {
  google::protobuf::Duration d;
  d.set_seconds(micros / 1000000);
  d.set_nanos(static_cast<int32_t>((micros % 1000000) * 1000));
  return d;
}

int64_t Micros(const google::protobuf::Duration& d) {
  return d.seconds() * 1000000 + d.nanos() / 1000;
}

std::optional<int64_t> BoundMicros(absl::Time t) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return std::nullopt;
  return absl::ToUnixMicros(t);
}

void SetTime(const pqxx::field& field, google::protobuf::Timestamp* ts) {
  if (field.is_null()) return;
  *ts = TimestampOf(field.as<int64_t>());
}

int64_t NowMicros() { return absl::ToUnixMicros(absl::Now()); }

std::string MapToJson(const google::protobuf::Map<std::string, std::string>& map) {
  google::protobuf::Struct object;
  for (const auto& [key, value] : map) (*object.mutable_fields())[key].set_string_value(value);
  return MessageToJson(object);
}

std::string MapToJson(const std::map<std::string, std::string>& map) {
  google::protobuf::Struct object;
  for (const auto& [key, value] : map) (*object.mutable_fields())[key].set_string_value(value);
  return MessageToJson(object);
}

void JsonToMap(const std::string& json, google::protobuf::Map<std::string, std::string>* map) {
  google::protobuf::Struct object;
  if (!JsonToMessage(json, &object).ok()) return;
  for (const auto& [key, value] : object.fields()) (*map)[key] = value.string_value();
}

std::string MessageToJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

absl::Status JsonToMessage(const std::string& json, google::protobuf::Message* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // documents written by a newer version
  auto status = google::protobuf::util::JsonStringToMessage(json, message, options);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("stored document unreadable: ", status.ToString()));
  }
  return absl::OkStatus();
}

std::string Bytes(const pqxx::field& field) {
  if (field.is_null()) return "";
  return pqxx::binarystring(field).str();
}

std::string TimeCursor(int64_t micros, absl::string_view id) {
  return absl::StrCat(micros, "|", id);
}

absl::StatusOr<std::pair<std::optional<int64_t>, std::string>> ParseTimeCursor(
    absl::string_view cursor) {
  if (cursor.empty()) return std::make_pair(std::optional<int64_t>(), std::string());
  const size_t bar = cursor.find('|');
  int64_t micros;
  if (bar == absl::string_view::npos || !absl::SimpleAtoi(cursor.substr(0, bar), &micros)) {
    return BadCursor();
  }
  return std::make_pair(std::optional<int64_t>(micros), std::string(cursor.substr(bar + 1)));
}

absl::StatusOr<std::optional<int64_t>> ParseNumberCursor(absl::string_view cursor) {
  if (cursor.empty()) return std::optional<int64_t>();
  int64_t number;
  if (!absl::SimpleAtoi(cursor, &number)) return BadCursor();
  return std::optional<int64_t>(number);
}

std::string NewId() { return auth::RandomId(); }

absl::StatusOr<std::optional<std::string>> ClaimIdempotency(pqxx::work& txn,
                                                            const std::string& tenant,
                                                            const Idempotency& idem) {
  if (idem.key.size() > 128) return InvalidField("idempotency_key", "at most 128 characters");
  txn.exec_params(kPurgeIdempotency, tenant);
  const pqxx::binarystring request(idem.request);
  auto claimed =
      txn.exec_params(kClaimIdempotency, tenant, idem.caller, idem.rpc, idem.key, request);
  if (!claimed.empty()) return std::optional<std::string>();
  auto row = txn.exec_params1(kReadIdempotency, tenant, idem.caller, idem.rpc, idem.key);
  if (Bytes(row[0]) != idem.request) {
    return InvalidField("idempotency_key", "reused with a different request");
  }
  if (row[1].is_null()) {
    return absl::AbortedError("idempotency_key: the first call is still running; retry");
  }
  return std::optional<std::string>(Bytes(row[1]));
}

void SaveIdempotency(pqxx::work& txn, const std::string& tenant, const Idempotency& idem,
                     const std::string& response) {
  const pqxx::binarystring bytes(response);
  txn.exec_params(kSaveIdempotency, tenant, idem.caller, idem.rpc, idem.key, bytes);
}

}  // namespace kefu::crm::pgsupport
