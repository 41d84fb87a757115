#include "services/router/admin_store.h"

#include "absl/strings/str_cat.h"

namespace kefu::router {
namespace {

template <typename Message>
Message Parse(const pqxx::field& field) {
  Message message;
  pqxx::binarystring bytes(field);
  message.ParseFromString(bytes.str());
  return message;
}

template <typename Message>
absl::StatusOr<std::vector<Message>> ListBodies(pg::Pool* pool, const std::string& tenant,
                                                const std::string& sql) {
  return pool->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<std::vector<Message>> {
    std::vector<Message> out;
    for (const auto& row : txn.exec_params(sql, tenant)) out.push_back(Parse<Message>(row[0]));
    return out;
  });
}

template <typename Message>
absl::StatusOr<Message> GetBody(pg::Pool* pool, const std::string& tenant, const std::string& sql,
                                const std::string& id, absl::string_view what) {
  return pool->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<Message> {
    auto rows = txn.exec_params(sql, tenant, id);
    if (rows.empty()) return absl::NotFoundError(absl::StrCat(what, " \"", id, "\" not found"));
    return Parse<Message>(rows[0][0]);
  });
}

absl::Status DeleteRow(pg::Pool* pool, const std::string& tenant, const std::string& table,
                       const std::string& column, const std::string& id, absl::string_view what) {
  return pool->TransactIn(tenant, [&](pqxx::work& txn) -> absl::Status {
    auto rows = txn.exec_params(
        absl::StrCat("DELETE FROM router.", table, " WHERE tenant_id = $1 AND ", column,
                     " = $2 RETURNING 1"),
        tenant, id);
    if (rows.empty()) return absl::NotFoundError(absl::StrCat(what, " \"", id, "\" not found"));
    return absl::OkStatus();
  });
}

}  // namespace

absl::Status AdminStore::PutDepartment(const std::string& tenant, const v1::Department& d,
                                       bool create) {
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::Status {
    const pqxx::binarystring body(d.SerializeAsString());
    if (create) {
      auto rows = txn.exec_params(
          "INSERT INTO router.departments (tenant_id, department_id, parent_id, queue_id, body)"
          " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING 1",
          tenant, d.department_id(), d.parent_id(), d.queue_id(), body);
      if (rows.empty()) {
        return absl::AlreadyExistsError(
            absl::StrCat("department.department_id: \"", d.department_id(), "\" exists"));
      }
      return absl::OkStatus();
    }
    auto rows = txn.exec_params(
        "UPDATE router.departments SET parent_id = $3, queue_id = $4, body = $5"
        " WHERE tenant_id = $1 AND department_id = $2 RETURNING 1",
        tenant, d.department_id(), d.parent_id(), d.queue_id(), body);
    if (rows.empty()) {
      return absl::NotFoundError(absl::StrCat("department \"", d.department_id(), "\" not found"));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<v1::Department> AdminStore::GetDepartment(const std::string& tenant,
                                                         const std::string& id) {
  return GetBody<v1::Department>(
      pool_, tenant,
      "SELECT body FROM router.departments WHERE tenant_id = $1 AND department_id = $2", id,
      "department");
}

absl::StatusOr<std::vector<v1::Department>> AdminStore::ListDepartments(const std::string& tenant) {
  return ListBodies<v1::Department>(
      pool_, tenant,
      "SELECT body FROM router.departments WHERE tenant_id = $1 ORDER BY department_id");
}

absl::Status AdminStore::PutQueue(const std::string& tenant, const v1::Queue& q, bool create) {
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::Status {
    if (q.is_default()) {
      // One default queue per tenant: marking this one unmarks the others.
      for (const auto& row : txn.exec_params("SELECT body FROM router.queues WHERE tenant_id = $1 "
                                             "AND is_default AND queue_id <> $2",
                                             tenant, q.queue_id())) {
        auto other = Parse<v1::Queue>(row[0]);
        other.set_is_default(false);
        txn.exec_params(
            "UPDATE router.queues SET is_default = false, body = $3"
            " WHERE tenant_id = $1 AND queue_id = $2",
            tenant, other.queue_id(), pqxx::binarystring(other.SerializeAsString()));
      }
    }
    const pqxx::binarystring body(q.SerializeAsString());
    auto rows = create ? txn.exec_params(
                             "INSERT INTO router.queues (tenant_id, queue_id, is_default, body)"
                             " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING 1",
                             tenant, q.queue_id(), q.is_default(), body)
                       : txn.exec_params(
                             "UPDATE router.queues SET is_default = $3, body = $4"
                             " WHERE tenant_id = $1 AND queue_id = $2 RETURNING 1",
                             tenant, q.queue_id(), q.is_default(), body);
    if (rows.empty()) {
      return create ? absl::AlreadyExistsError(
                          absl::StrCat("queue.queue_id: \"", q.queue_id(), "\" exists"))
                    : absl::NotFoundError(absl::StrCat("queue \"", q.queue_id(), "\" not found"));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<v1::Queue> AdminStore::GetQueue(const std::string& tenant, const std::string& id) {
  return GetBody<v1::Queue>(pool_, tenant,
                            "SELECT body FROM router.queues WHERE tenant_id = $1 AND queue_id = $2",
                            id, "queue");
}

absl::StatusOr<std::vector<v1::Queue>> AdminStore::ListQueues(const std::string& tenant) {
  return ListBodies<v1::Queue>(
      pool_, tenant, "SELECT body FROM router.queues WHERE tenant_id = $1 ORDER BY queue_id");
}

absl::StatusOr<std::string> AdminStore::DefaultQueue(const std::string& tenant) {
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<std::string> {
    auto rows = txn.exec_params(
        "SELECT queue_id FROM router.queues WHERE tenant_id = $1 AND is_default", tenant);
    return rows.empty() ? std::string() : rows[0][0].as<std::string>();
  });
}

absl::Status AdminStore::PutAgentProfile(const std::string& tenant,
                                         const v1::AgentProfile& profile) {
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::Status {
    txn.exec_params(
        "INSERT INTO router.agent_profiles (tenant_id, agent_id, body) VALUES ($1, $2, $3)"
        " ON CONFLICT (tenant_id, agent_id) DO UPDATE SET body = EXCLUDED.body",
        tenant, profile.agent_id(), pqxx::binarystring(profile.SerializeAsString()));
    return absl::OkStatus();
  });
}

absl::StatusOr<v1::AgentProfile> AdminStore::GetAgentProfile(const std::string& tenant,
                                                             const std::string& agent_id) {
  return GetBody<v1::AgentProfile>(
      pool_, tenant,
      "SELECT body FROM router.agent_profiles WHERE tenant_id = $1 AND agent_id = $2", agent_id,
      "agent profile");
}

absl::StatusOr<std::vector<v1::AgentProfile>> AdminStore::ListAgentProfiles(
    const std::string& tenant) {
  return ListBodies<v1::AgentProfile>(
      pool_, tenant,
      "SELECT body FROM router.agent_profiles WHERE tenant_id = $1 ORDER BY agent_id");
}

absl::Status AdminStore::PutTierMap(const std::string& tenant, const v1::GetTierMapResponse& map) {
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::Status {
    txn.exec_params(
        "INSERT INTO router.tier_maps (tenant_id, body) VALUES ($1, $2)"
        " ON CONFLICT (tenant_id) DO UPDATE SET body = EXCLUDED.body",
        tenant, pqxx::binarystring(map.SerializeAsString()));
    return absl::OkStatus();
  });
}

absl::StatusOr<v1::GetTierMapResponse> AdminStore::GetTierMap(const std::string& tenant) {
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<v1::GetTierMapResponse> {
    auto rows = txn.exec_params("SELECT body FROM router.tier_maps WHERE tenant_id = $1", tenant);
    if (rows.empty()) return v1::GetTierMapResponse();
    return Parse<v1::GetTierMapResponse>(rows[0][0]);
  });
}

absl::Status AdminStore::DeleteDepartment(const std::string& tenant, const std::string& id) {
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::Status {
    if (!txn.exec_params("SELECT 1 FROM router.departments WHERE tenant_id = $1 AND parent_id = $2"
                         " LIMIT 1",
                         tenant, id)
             .empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("department \"", id, "\" has child departments: delete or move them first"));
    }
    for (const auto& row : txn.exec_params(
             "SELECT body FROM router.agent_profiles WHERE tenant_id = $1", tenant)) {
      const auto profile = Parse<v1::AgentProfile>(row[0]);
      for (const auto& d : profile.department_ids()) {
        if (d == id) {
          return absl::FailedPreconditionError(absl::StrCat(
              "department \"", id, "\" still has agents (", profile.agent_id(), ")"));
        }
      }
    }
    auto rows = txn.exec_params(
        "DELETE FROM router.departments WHERE tenant_id = $1 AND department_id = $2 RETURNING 1",
        tenant, id);
    if (rows.empty()) return absl::NotFoundError(absl::StrCat("department \"", id, "\" not found"));
    return absl::OkStatus();
  });
}

absl::Status AdminStore::DeleteQueue(const std::string& tenant, const std::string& id) {
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::Status {
    if (!txn.exec_params("SELECT 1 FROM router.departments WHERE tenant_id = $1 AND queue_id = $2"
                         " LIMIT 1",
                         tenant, id)
             .empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("queue \"", id, "\" is still used by departments"));
    }
    auto rows = txn.exec_params(
        "DELETE FROM router.queues WHERE tenant_id = $1 AND queue_id = $2 RETURNING 1", tenant, id);
    if (rows.empty()) return absl::NotFoundError(absl::StrCat("queue \"", id, "\" not found"));
    return absl::OkStatus();
  });
}

absl::Status AdminStore::DeleteAgentProfile(const std::string& tenant,
                                            const std::string& agent_id) {
  return DeleteRow(pool_, tenant, "agent_profiles", "agent_id", agent_id, "agent profile");
}

absl::Status AdminStore::PutEntryPoint(const std::string& tenant, const v1::EntryPoint& e,
                                       bool create) {
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::Status {
    const pqxx::binarystring body(e.SerializeAsString());
    auto rows = create ? txn.exec_params(
                             "INSERT INTO router.entry_points (tenant_id, entry_point_id, body)"
                             " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1",
                             tenant, e.entry_point_id(), body)
                       : txn.exec_params(
                             "UPDATE router.entry_points SET body = $3"
                             " WHERE tenant_id = $1 AND entry_point_id = $2 RETURNING 1",
                             tenant, e.entry_point_id(), body);
    if (rows.empty()) {
      return create ? absl::AlreadyExistsError(absl::StrCat("entry_point.entry_point_id: \"",
                                                            e.entry_point_id(), "\" exists"))
                    : absl::NotFoundError(
                          absl::StrCat("entry point \"", e.entry_point_id(), "\" not found"));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<v1::EntryPoint> AdminStore::GetEntryPoint(const std::string& tenant,
                                                         const std::string& id) {
  return GetBody<v1::EntryPoint>(
      pool_, tenant,
      "SELECT body FROM router.entry_points WHERE tenant_id = $1 AND entry_point_id = $2", id,
      "entry point");
}

absl::StatusOr<std::vector<v1::EntryPoint>> AdminStore::ListEntryPoints(const std::string& tenant) {
  return ListBodies<v1::EntryPoint>(
      pool_, tenant,
      "SELECT body FROM router.entry_points WHERE tenant_id = $1 ORDER BY entry_point_id");
}

absl::Status AdminStore::DeleteEntryPoint(const std::string& tenant, const std::string& id) {
  return DeleteRow(pool_, tenant, "entry_points", "entry_point_id", id, "entry point");
}

absl::Status AdminStore::PutRegionStrategy(const std::string& tenant,
                                           const v1::RegionStrategy& r, bool create) {
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::Status {
    const pqxx::binarystring body(r.SerializeAsString());
    auto rows =
        create ? txn.exec_params(
                     "INSERT INTO router.region_strategies (tenant_id, strategy_id, sort_order,"
                     " body) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING 1",
                     tenant, r.strategy_id(), r.sort_order(), body)
               : txn.exec_params(
                     "UPDATE router.region_strategies SET sort_order = $3, body = $4"
                     " WHERE tenant_id = $1 AND strategy_id = $2 RETURNING 1",
                     tenant, r.strategy_id(), r.sort_order(), body);
    if (rows.empty()) {
      return create ? absl::AlreadyExistsError(
                          absl::StrCat("strategy.strategy_id: \"", r.strategy_id(), "\" exists"))
                    : absl::NotFoundError(
                          absl::StrCat("region strategy \"", r.strategy_id(), "\" not found"));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<v1::RegionStrategy> AdminStore::GetRegionStrategy(const std::string& tenant,
                                                                 const std::string& id) {
  return GetBody<v1::RegionStrategy>(
      pool_, tenant,
      "SELECT body FROM router.region_strategies WHERE tenant_id = $1 AND strategy_id = $2", id,
      "region strategy");
}

absl::StatusOr<std::vector<v1::RegionStrategy>> AdminStore::ListRegionStrategies(
    const std::string& tenant) {
  return ListBodies<v1::RegionStrategy>(pool_, tenant,
                                        "SELECT body FROM router.region_strategies WHERE "
                                        "tenant_id = $1 ORDER BY sort_order, strategy_id");
}

absl::Status AdminStore::DeleteRegionStrategy(const std::string& tenant, const std::string& id) {
  return DeleteRow(pool_, tenant, "region_strategies", "strategy_id", id, "region strategy");
}

}  // namespace kefu::router
