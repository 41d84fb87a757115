// The PostgreSQL pool and migrations against a real server (tests/support).
#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include "libs/pg/migrate.h"
#include "libs/pg/pool.h"
#include "tests/support/env.h"

namespace {

kefu::pg::PoolOptions Options(const std::string& dsn) {
  kefu::pg::PoolOptions options;
  options.dsn = dsn;
  options.size = 2;
  options.statement_timeout = absl::Milliseconds(300);
  return options;
}

const kefu::pg::MigrationSet kNotes{
    "notes",
    {{"001_init.sql",
      "CREATE TABLE notes (tenant_id text NOT NULL, note_id text NOT NULL, body text NOT NULL,"
      " PRIMARY KEY (tenant_id, note_id));"},
     {"002_counter.sql", "CREATE TABLE starts (n serial PRIMARY KEY);"}}};

}  // namespace

TEST_CASE("a row written in a transaction is read back from the real PostgreSQL server") {
  kefu::pg::Pool pool(
      Options(kefu::testing::FreshDatabase("rw")),
      {{"insert_note", "INSERT INTO notes.notes VALUES ($1, $2, $3)"},
       {"get_note", "SELECT body FROM notes.notes WHERE tenant_id=$1 AND note_id=$2"}});
  REQUIRE(kefu::pg::Migrate(pool, kNotes).ok());

  auto written = pool.Transact([](pqxx::work& txn) -> absl::Status {
    txn.exec_prepared("insert_note", "acme", "n1", "客户要求回电");
    return absl::OkStatus();
  });
  REQUIRE(written.ok());
  auto body = pool.Transact([](pqxx::work& txn) -> absl::StatusOr<std::string> {
    auto rows = txn.exec_prepared("get_note", "acme", "n1");
    if (rows.empty()) return absl::NotFoundError("note n1");
    return rows[0][0].as<std::string>();
  });
  REQUIRE(body.ok());
  CHECK(*body == "客户要求回电");
}

TEST_CASE("database errors come back as the narrowest status, and failures roll back") {
  kefu::pg::Pool pool(Options(kefu::testing::FreshDatabase("errs")), {});
  REQUIRE(kefu::pg::Migrate(pool, kNotes).ok());
  auto insert = [](pqxx::work& txn) -> absl::Status {
    txn.exec("INSERT INTO notes.notes VALUES ('acme', 'dup', 'x')");
    return absl::OkStatus();
  };
  REQUIRE(pool.Transact(insert).ok());
  CHECK(pool.Transact(insert).code() == absl::StatusCode::kAlreadyExists);

  auto slow = pool.Transact([](pqxx::work& txn) -> absl::Status {
    txn.exec("SELECT pg_sleep(2)");  // above the 300 ms statement_timeout
    return absl::OkStatus();
  });
  CHECK(slow.code() == absl::StatusCode::kDeadlineExceeded);

  // fn returning an error aborts: its write is not visible afterwards.
  auto refused = pool.Transact([](pqxx::work& txn) -> absl::Status {
    txn.exec("INSERT INTO notes.notes VALUES ('acme', 'gone', 'x')");
    return absl::FailedPreconditionError("changed my mind");
  });
  CHECK(refused.code() == absl::StatusCode::kFailedPrecondition);
  auto count = pool.Transact([](pqxx::work& txn) -> absl::StatusOr<int> {
    return txn.exec1("SELECT count(*) FROM notes.notes WHERE note_id = 'gone'")[0].as<int>();
  });
  REQUIRE(count.ok());
  CHECK(*count == 0);
  // The pool still works after all of that.
  CHECK(pool.Ping().ok());
}

TEST_CASE("replicas starting together apply each migration exactly once") {
  const std::string dsn = kefu::testing::FreshDatabase("mig");
  std::vector<absl::Status> results(4);
  std::vector<std::thread> replicas;
  for (size_t i = 0; i < results.size(); ++i) {
    replicas.emplace_back([&, i] {
      kefu::pg::Pool pool(Options(dsn), {});
      results[i] = kefu::pg::Migrate(pool, kNotes);
    });
  }
  for (auto& replica : replicas) replica.join();
  for (const auto& result : results) CHECK(result.ok());

  kefu::pg::Pool pool(Options(dsn), {});
  auto applied = pool.Transact([](pqxx::work& txn) -> absl::StatusOr<std::vector<int>> {
    std::vector<int> versions;
    for (const auto& row : txn.exec("SELECT version FROM notes.schema_migrations ORDER BY 1")) {
      versions.push_back(row[0].as<int>());
    }
    return versions;
  });
  REQUIRE(applied.ok());
  CHECK(*applied == std::vector<int>{1, 2});
  // Running again is a no-op.
  CHECK(kefu::pg::Migrate(pool, kNotes).ok());
}

TEST_CASE("a migration edited after it was applied is refused") {
  kefu::pg::Pool pool(Options(kefu::testing::FreshDatabase("edit")), {});
  REQUIRE(kefu::pg::Migrate(pool, kNotes).ok());
  kefu::pg::MigrationSet edited = kNotes;
  edited.files[0].content = "CREATE TABLE notes (id int);";
  auto status = kefu::pg::Migrate(pool, edited);
  CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(status.message()), Catch::Contains("001_init.sql"));
  // The lock was released: the unedited set still passes.
  CHECK(kefu::pg::Migrate(pool, kNotes).ok());
}

TEST_CASE("an unreachable server is UNAVAILABLE, not a crash") {
  kefu::pg::Pool pool(Options("host=127.0.0.1 port=1 user=postgres dbname=postgres"), {});
  CHECK(pool.Ping().code() == absl::StatusCode::kUnavailable);
  CHECK(kefu::pg::Migrate(pool, kNotes).code() == absl::StatusCode::kUnavailable);
}
