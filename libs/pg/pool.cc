#include "libs/pg/pool.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/common/log.h"

namespace kefu::pg {

std::string TextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

absl::Status StatusFromException(const std::exception& e) {
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) {
    return absl::UnavailableError(absl::StrCat("postgres: connection lost: ", e.what()));
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string& state = sql->sqlstate();
    const std::string msg = absl::StrCat("postgres: ", e.what());
    if (state == "23505") return absl::AlreadyExistsError(msg);
    if (state == "57014") return absl::DeadlineExceededError(msg);             // statement_timeout
    if (state == "40001" || state == "40P01") return absl::AbortedError(msg);  // retry
    if (absl::StartsWith(state, "23")) return absl::FailedPreconditionError(msg);
    if (absl::StartsWith(state, "22")) return absl::InvalidArgumentError(msg);
    if (state == "42501") return absl::PermissionDeniedError(msg);
    if (absl::StartsWith(state, "08") || absl::StartsWith(state, "57P")) {
      return absl::UnavailableError(msg);  // connection exceptions, admin shutdown
    }
    return absl::InternalError(msg);
  }
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) {
    return absl::UnavailableError(absl::StrCat("postgres: commit outcome unknown: ", e.what()));
  }
  return absl::InternalError(absl::StrCat("postgres: ", e.what()));
}

std::string DsnWithOptions(const std::string& dsn, absl::Duration connect_timeout,
                           const std::string& application_name) {
  const int64_t seconds = std::max<int64_t>(1, absl::ToInt64Seconds(connect_timeout));
  if (absl::StartsWith(dsn, "postgres://") || absl::StartsWith(dsn, "postgresql://")) {
    const char* sep = absl::StrContains(dsn, '?') ? "&" : "?";
    return absl::StrCat(dsn, sep, "connect_timeout=", seconds,
                        "&application_name=", application_name);
  }
  return absl::StrCat(dsn, " connect_timeout=", seconds, " application_name=", application_name);
}

Pool::Pool(PoolOptions options, std::vector<Statement> statements)
    : options_(std::move(options)), statements_(std::move(statements)) {}

Pool::~Pool() = default;

absl::StatusOr<std::unique_ptr<pqxx::connection>> Pool::Open() {
  try {
    auto conn = std::make_unique<pqxx::connection>(
        DsnWithOptions(options_.dsn, options_.connect_timeout, options_.application_name));
    pqxx::nontransaction setup(*conn);
    setup.exec(absl::StrCat("SET statement_timeout = ",
                            absl::ToInt64Milliseconds(options_.statement_timeout)));
    if (!options_.session_role.empty()) {
      setup.exec(absl::StrCat("SET ROLE ", conn->quote_name(options_.session_role)));
    }
    setup.commit();
    for (const Statement& statement : statements_) conn->prepare(statement.name, statement.sql);
    return conn;
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
}

absl::StatusOr<Pool::Lease> Pool::Acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  const auto deadline = absl::ToChronoTime(absl::Now() + options_.acquire_timeout);
  while (idle_.empty() && open_ >= options_.size) {
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= options_.size) {
      return absl::UnavailableError(
          absl::StrCat("postgres: all ", options_.size, " pooled connections busy"));
    }
  }
  if (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(conn));
  }
  ++open_;
  lock.unlock();  // connecting takes a round trip: never under the lock
  auto conn = Open();
  if (!conn.ok()) {
    lock.lock();
    --open_;
    cv_.notify_one();
    return conn.status();
  }
  return Lease(this, std::move(*conn));
}

void Pool::Release(std::unique_ptr<pqxx::connection> conn, bool reusable) {
  std::lock_guard<std::mutex> lock(mu_);
  if (reusable && conn->is_open()) {
    idle_.push_back(std::move(conn));
  } else {
    // A broken connection usually means the server restarted: the idle ones are dead
    // too, so drop them rather than fail one call on each.
    open_ -= 1 + static_cast<int>(idle_.size());
    idle_.clear();
  }
  cv_.notify_one();
}

Pool::Lease::~Lease() {
  if (pool_ != nullptr && conn_ != nullptr) pool_->Release(std::move(conn_), reusable_);
}

absl::Status Pool::Ping() {
  auto select_one = [](pqxx::work& txn) -> absl::Status {
    txn.exec1("SELECT 1");
    return absl::OkStatus();
  };
  absl::Status status = Transact(select_one);
  // An idle connection left over from before a server restart fails once and is
  // discarded; a second try on a fresh connection tells whether the server is back.
  if (absl::IsUnavailable(status)) status = Transact(select_one);
  return status;
}

}  // namespace kefu::pg
