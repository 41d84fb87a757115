#pragma once

#include <string>

// The Redis and PostgreSQL servers a test process shares.
//
// Under ctest, the `test_env_start` fixture starts one of each for the whole run and
// writes their addresses to $KEFU_TEST_ENV_FILE; every test reads that file. A test
// binary run by hand (no such file) starts its own pair, stopped at exit. Either way a
// test that cannot get its servers fails loudly: nothing here ever skips.
namespace kefu::testing {

struct TestEnv {
  std::string redis_url;  // redis://127.0.0.1:<port>
  std::string pg_dsn;     // superuser DSN of the `postgres` database
};

const TestEnv& SharedEnv();

// A fresh database on the shared server, for one test.
std::string FreshDatabase(const std::string& prefix);

// A tenant id no other test uses ("t-<prefix>-<random>"), to keep Redis state apart.
std::string UniqueTenant(const std::string& prefix);

}  // namespace kefu::testing
