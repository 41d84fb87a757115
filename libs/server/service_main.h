#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/service_type.h>
#include <prometheus/registry.h>

#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "libs/common/config.h"
#include "libs/pg/migrate.h"
#include "libs/pg/pool.h"
#include "libs/redis/client.h"
#include "libs/server/grpc_server.h"
#include "libs/server/health_monitor.h"

namespace kefu::server {

struct ServiceDefinition;

// What a service's setup function gets: its config, its dependencies (already created;
// nullptr when the service does not use one), and places to put what it builds.
class ServiceContext final {
 public:
  const ServiceConfig& config() const { return config_; }
  pg::Pool* pg() { return pg_.get(); }
  redis::Pool* redis() { return redis_.get(); }
  const redis::RedisUrl& redis_url() const { return redis_url_; }
  prometheus::Registry& registry() { return *registry_; }

  // Applies the service's migrations, retrying while PostgreSQL is not reachable yet
  // (containers start together) until --startup-timeout.
  absl::Status Migrate(const pg::MigrationSet& set);

  // Serves `service` (owned here) under its proto full name.
  void AddService(std::unique_ptr<grpc::Service> service, std::string full_name);
  // Extra dependency whose loss turns health NOT_SERVING.
  void AddCheck(DependencyCheck check);
  // A background loop (event consumer, sweeper) started after the server and stopped,
  // through its stop_token, before the process exits.
  void AddWorker(std::string name, std::function<void(std::stop_token)> loop);

 private:
  friend int ServiceMain(int, char**, const ServiceDefinition&);
  ServiceConfig config_;
  std::unique_ptr<pg::Pool> pg_;
  std::unique_ptr<redis::Pool> redis_;
  redis::RedisUrl redis_url_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::vector<std::unique_ptr<grpc::Service>> owned_;
  std::vector<ServedService> services_;
  std::vector<DependencyCheck> checks_;
  std::vector<std::pair<std::string, std::function<void(std::stop_token)>>> workers_;
};

struct ServiceDefinition {
  absl::string_view name;  // key of AllServices(): "router"
  // Registers the service's own flags (optional).
  std::function<void(FlagSet&)> register_flags;
  // Builds the service: migrations, stores, gRPC services, workers.
  std::function<absl::Status(ServiceContext&)> setup;
};

// The whole life of a service process: flags/env -> config -> metrics endpoint ->
// PostgreSQL/Redis pools -> setup -> gRPC server -> health monitor -> wait for
// SIGTERM/SIGINT -> NOT_SERVING, drain, exit 0. A failed start-up logs one line, exits 1.
int ServiceMain(int argc, char** argv, const ServiceDefinition& definition);

}  // namespace kefu::server
