#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/common/embedded.h"
#include "libs/pg/pool.h"

namespace kefu::pg {

// A service's schema and its numbered migrations (services/<svc>/migrations/NNN_name.sql,
// compiled in by kefu_embed_migrations).
struct MigrationSet {
  std::string schema;
  std::vector<EmbeddedFile> files;
};

// "007_add_rls.sql" -> 7. INVALID_ARGUMENT when the name does not start with digits and '_'.
absl::StatusOr<int> MigrationVersion(absl::string_view file_name);

// Checks names, and that versions are unique and ascending.
absl::Status ValidateMigrationSet(const MigrationSet& set);

// Applies the migrations not yet recorded in <schema>.schema_migrations, each in its own
// transaction, under a PostgreSQL advisory lock so that replicas starting together apply
// each file exactly once. A recorded migration whose SQL changed since is
// FAILED_PRECONDITION: migrations are append-only.
absl::Status Migrate(Pool& pool, const MigrationSet& set);

// Creates the application role (NOLOGIN, no BYPASSRLS) when it does not exist and lets
// the connecting user SET ROLE to it. Serialised by an advisory lock: every service
// calls it at start-up. Needs CREATEROLE (or a DBA who created the role beforehand).
absl::Status EnsureRole(Pool& pool, const std::string& role);

}  // namespace kefu::pg
