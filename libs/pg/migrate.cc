#include "libs/pg/migrate.h"

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "libs/common/log.h"

namespace kefu::pg {
namespace {

bool IsSchemaName(absl::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  for (char c : name) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_')) return false;
  }
  return !absl::ascii_isdigit(name.front());
}

}  // namespace

absl::StatusOr<int> MigrationVersion(absl::string_view file_name) {
  auto underscore = file_name.find('_');
  int version = 0;
  if (underscore == absl::string_view::npos || underscore == 0 ||
      !absl::SimpleAtoi(file_name.substr(0, underscore), &version) || version <= 0 ||
      !absl::EndsWith(file_name, ".sql")) {
    return absl::InvalidArgumentError(
        absl::StrCat("migration \"", file_name, "\": name must look like NNN_description.sql"));
  }
  return version;
}

absl::Status ValidateMigrationSet(const MigrationSet& set) {
  if (!IsSchemaName(set.schema)) {
    return absl::InvalidArgumentError(
        absl::StrCat("schema \"", set.schema, "\": use lower-case letters, digits and _"));
  }
  int previous = 0;
  for (const EmbeddedFile& file : set.files) {
    auto version = MigrationVersion(file.name);
    if (!version.ok()) return version.status();
    if (*version <= previous) {
      return absl::InvalidArgumentError(absl::StrCat("migration \"", file.name, "\": version ",
                                                     *version, " is not above ", previous));
    }
    previous = *version;
  }
  return absl::OkStatus();
}

absl::Status Migrate(Pool& pool, const MigrationSet& set) {
  if (auto st = ValidateMigrationSet(set); !st.ok()) return st;
  auto lease = pool.Acquire();
  if (!lease.ok()) return lease.status();
  pqxx::connection& conn = **lease;
  const std::string lock_key = absl::StrCat("kefu.migrate.", set.schema);
  const std::string table = absl::StrCat(set.schema, ".schema_migrations");
  try {
    {
      pqxx::nontransaction lock(conn);
      lock.exec("RESET ROLE");  // migrations run as the owner, not the application role
      // Session-level lock: held across the per-file transactions below and released
      // at the end (or by the server if this process dies).
      lock.exec_params("SELECT pg_advisory_lock(hashtext($1))", lock_key);
    }
    std::map<int, std::string> applied;  // version -> md5 of its SQL
    {
      pqxx::work txn(conn);
      txn.exec(absl::StrCat("CREATE SCHEMA IF NOT EXISTS ", set.schema));
      txn.exec(absl::StrCat("CREATE TABLE IF NOT EXISTS ", table,
                            " (version integer PRIMARY KEY, name text NOT NULL,"
                            " checksum text NOT NULL,"
                            " applied_at timestamptz NOT NULL DEFAULT now())"));
      for (const auto& row : txn.exec(absl::StrCat("SELECT version, checksum FROM ", table))) {
        applied[row[0].as<int>()] = row[1].as<std::string>();
      }
      txn.commit();
    }
    for (const EmbeddedFile& file : set.files) {
      const int version = *MigrationVersion(file.name);
      pqxx::work txn(conn);
      const std::string sql(file.content);
      const std::string checksum = txn.exec_params1("SELECT md5($1)", sql)[0].as<std::string>();
      if (auto it = applied.find(version); it != applied.end()) {
        if (it->second != checksum) {
          txn.abort();
          pqxx::nontransaction unlock(conn);
          unlock.exec_params("SELECT pg_advisory_unlock(hashtext($1))", lock_key);
          return absl::FailedPreconditionError(absl::StrCat(
              "migration ", set.schema, "/", file.name,
              " differs from the one applied; add a new migration instead of editing it"));
        }
        continue;
      }
      txn.exec("SET LOCAL statement_timeout = 0");
      txn.exec(absl::StrCat("SET LOCAL search_path TO ", set.schema, ", public"));
      txn.exec(sql);
      txn.exec_params(
          absl::StrCat("INSERT INTO ", table, " (version, name, checksum) VALUES ($1, $2, $3)"),
          version, std::string(file.name), checksum);
      txn.commit();
      log::Info("migration applied", {{"schema", set.schema}, {"file", file.name}});
    }
    pqxx::nontransaction unlock(conn);
    unlock.exec_params("SELECT pg_advisory_unlock(hashtext($1))", lock_key);
    lease->Discard();  // the pool reopens it with its session role
  } catch (const std::exception& e) {
    lease->Discard();  // drops the session and with it the advisory lock
    return StatusFromException(e);
  }
  return absl::OkStatus();
}

absl::Status EnsureRole(Pool& pool, const std::string& role) {
  if (!IsSchemaName(role)) {
    return absl::InvalidArgumentError(
        absl::StrCat("role \"", role, "\": use lower-case letters, digits and _"));
  }
  auto lease = pool.Acquire();
  if (!lease.ok()) return lease.status();
  try {
    pqxx::work txn(**lease);
    txn.exec("RESET ROLE");
    txn.exec("SELECT pg_advisory_xact_lock(hashtext('kefu.migrate.role'))");
    if (txn.exec_params("SELECT 1 FROM pg_roles WHERE rolname = $1", role).empty()) {
      txn.exec(absl::StrCat("CREATE ROLE ", txn.quote_name(role), " NOLOGIN NOBYPASSRLS"));
    }
    const bool superuser =
        txn.exec1("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")[0].as<bool>();
    if (!superuser) txn.exec(absl::StrCat("GRANT ", txn.quote_name(role), " TO CURRENT_USER"));
    txn.commit();
  } catch (const std::exception& e) {
    lease->Discard();
    return StatusFromException(e);
  }
  lease->Discard();  // it ran RESET ROLE
  return absl::OkStatus();
}

}  // namespace kefu::pg
