#pragma once

#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kefu::pg {

// A statement prepared on every connection of a pool: SQL lives in the store as a
// named constant with $1-style parameters (STYLE.md section 5).
struct Statement {
  std::string name;
  std::string sql;
};

struct PoolOptions {
  std::string dsn;
  int size = 4;
  absl::Duration statement_timeout = absl::Seconds(5);
  absl::Duration connect_timeout = absl::Seconds(2);
  absl::Duration acquire_timeout = absl::Seconds(2);
  std::string application_name = "kefu";
  // When set, every pooled connection runs `SET ROLE <session_role>`: a non-owner role
  // without BYPASSRLS, so row-level security applies even when the DSN's user owns the
  // tables (or is a superuser, as in tests). Migrations reset it and run as the owner.
  std::string session_role;
};

// The setting row-level security policies compare tenant_id with:
//   USING (tenant_id = current_setting('kefu.tenant_id', true))
inline constexpr char kTenantSetting[] = "kefu.tenant_id";
// The application role every service's queries run as; migrations grant it what it
// needs and put the tenant_isolation policy on every tenant table.
inline constexpr char kAppRole[] = "kefu_app";

// Maps a libpqxx exception to the narrowest canonical status: a unique violation is
// ALREADY_EXISTS, a cancelled statement (statement_timeout) DEADLINE_EXCEEDED, a broken
// connection UNAVAILABLE. Stores call this; a pqxx exception never reaches gRPC.
absl::Status StatusFromException(const std::exception& e);

// A PostgreSQL array literal ("{\"a\",\"b\"}") for a text[] parameter.
std::string TextArray(const std::vector<std::string>& values);

// libpq DSN (key=value or URI) with connect_timeout and application_name added.
std::string DsnWithOptions(const std::string& dsn, absl::Duration connect_timeout,
                           const std::string& application_name);

// A fixed-size pool of connections, opened lazily and reopened after a failure, so a
// PostgreSQL restart heals without restarting the service.
class Pool final {
 public:
  class Lease;

  Pool(PoolOptions options, std::vector<Statement> statements);
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  ~Pool();

  // Waits up to acquire_timeout for a free connection; UNAVAILABLE if none can be had.
  absl::StatusOr<Lease> Acquire();

  // Runs fn(pqxx::work&) in a transaction and commits when fn returns OK. fn returns
  // absl::Status or absl::StatusOr<T>; libpqxx exceptions become statuses.
  template <typename Fn>
  auto Transact(Fn&& fn) -> std::invoke_result_t<Fn, pqxx::work&>;

  // Transact with the transaction bound to `tenant_id` (SET LOCAL kefu.tenant_id), so
  // row-level security shows and accepts only that tenant's rows.
  template <typename Fn>
  auto TransactIn(const std::string& tenant_id, Fn&& fn) -> std::invoke_result_t<Fn, pqxx::work&>;

  // SELECT 1 on a pooled connection: the health check.
  absl::Status Ping();

  const PoolOptions& options() const { return options_; }

 private:
  friend class Lease;
  absl::StatusOr<std::unique_ptr<pqxx::connection>> Open();
  void Release(std::unique_ptr<pqxx::connection> conn, bool reusable);

  const PoolOptions options_;
  const std::vector<Statement> statements_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;  // guarded by mu_
  int open_ = 0;                                         // connections leased or idle
};

// A connection borrowed from the pool; returns it on destruction. Call Discard() when
// the connection may be broken so the pool opens a fresh one next time.
class Pool::Lease {
 public:
  Lease(Lease&& other) noexcept
      : pool_(std::exchange(other.pool_, nullptr)), conn_(std::move(other.conn_)) {}
  Lease& operator=(Lease&&) = delete;
  ~Lease();

  pqxx::connection& operator*() { return *conn_; }
  pqxx::connection* operator->() { return conn_.get(); }
  void Discard() { reusable_ = false; }

 private:
  friend class Pool;
  Lease(Pool* pool, std::unique_ptr<pqxx::connection> conn) : pool_(pool), conn_(std::move(conn)) {}
  Pool* pool_;
  std::unique_ptr<pqxx::connection> conn_;
  bool reusable_ = true;
};

template <typename Fn>
auto Pool::Transact(Fn&& fn) -> std::invoke_result_t<Fn, pqxx::work&> {
  auto lease = Acquire();
  if (!lease.ok()) return lease.status();
  try {
    pqxx::work txn(**lease);
    auto result = fn(txn);
    if (result.ok()) txn.commit();
    return result;
  } catch (const std::exception& e) {
    if (!(*lease)->is_open() || dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr ||
        dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) {
      lease->Discard();
    }
    return StatusFromException(e);
  }
}

template <typename Fn>
auto Pool::TransactIn(const std::string& tenant_id, Fn&& fn)
    -> std::invoke_result_t<Fn, pqxx::work&> {
  return Transact([&](pqxx::work& txn) -> std::invoke_result_t<Fn, pqxx::work&> {
    txn.exec_params("SELECT set_config($1, $2, true)", kTenantSetting, tenant_id);
    return fn(txn);
  });
}

}  // namespace kefu::pg
