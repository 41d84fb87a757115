// crm start-up against real PostgreSQL: a failed start is an error, never a crash, and
// services starting together on a new PostgreSQL all come up (the application role is
// created once for the whole cluster).
#include <pqxx/pqxx>
#include <thread>

#include "tests/integration/crm_harness.h"
#include "tests/support/servers.h"

namespace {

using namespace crmtest;  // NOLINT(google-build-using-namespace): test vocabulary

kefu::server::ServiceDefinition CrmDefinition() {
  return {.name = "crm", .register_flags = nullptr, .setup = [](kefu::server::ServiceContext& ctx) {
            return kefu::crm::SetupWith(ctx, TestOptions());
          }};
}

}  // namespace

TEST_CASE("a crm whose setup fails reports why instead of crashing") {
  const kefu::server::ServiceDefinition failing{
      .name = "crm", .register_flags = nullptr, .setup = [](kefu::server::ServiceContext&) {
        return absl::FailedPreconditionError("crm: refused by the test");
      }};
  auto runtime = kefu::server::ServiceRuntime::Start(
      failing, kefu::testing::TestServiceConfig(failing, kefu::testing::FreshDatabase("crm")));
  REQUIRE_FALSE(runtime.ok());
  CHECK(runtime.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(absl::StrContains(runtime.status().message(), "setup: crm: refused by the test"));
}

TEST_CASE("a crm starting while another service creates the database role comes up") {
  // A PostgreSQL of its own: the role is cluster-wide and already exists on the shared one.
  auto postgres = kefu::testing::PostgresServer::Start();
  REQUIRE(postgres.ok());
  auto database = kefu::testing::CreateDatabase((*postgres)->dsn(), "crm");
  REQUIRE(database.ok());

  // Another service (in another database) is creating the role and has not committed yet.
  pqxx::connection other((*postgres)->dsn());
  pqxx::work creating(other);
  creating.exec("CREATE ROLE kefu_app NOLOGIN NOBYPASSRLS");

  const kefu::server::ServiceDefinition definition = CrmDefinition();
  absl::StatusOr<std::unique_ptr<kefu::server::ServiceRuntime>> started =
      absl::UnknownError("not started");
  std::thread starter([&] {
    started = kefu::server::ServiceRuntime::Start(
        definition, kefu::testing::TestServiceConfig(definition, *database));
  });
  // crm's CREATE ROLE waits for the other transaction: let that one win now.
  pqxx::connection watcher((*postgres)->dsn());
  const bool waiting = Eventually(
      [&] {
        pqxx::nontransaction look(watcher);
        return look.exec1(
                       "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                       " AND query LIKE 'CREATE ROLE%'")[0]
                   .as<int>() > 0;
      },
      absl::Seconds(30));
  creating.commit();
  starter.join();
  REQUIRE(waiting);
  INFO(started.status().ToString());
  REQUIRE(started.ok());
  CHECK((*started)->port() > 0);
}
