#pragma once

#include <vector>

#include "libs/common/embedded.h"
#include "libs/server/service_main.h"
#include "services/crm/customer_service.h"
#include "services/crm/event_consumer.h"
#include "services/crm/record_service.h"

namespace kefu::embedded {
const std::vector<EmbeddedFile>& CrmMigrations();
}  // namespace kefu::embedded

namespace kefu::crm {

struct CrmOptions {
  // How the worker reads the tenant event streams. Tests give each process a group of
  // its own so that crm instances sharing one Redis do not take each other's events.
  EventConsumerOptions events;
  // Dialog files (F35): size limit and accepted content types.
  FileRules files;
};

// Builds the crm service inside ServiceMain: migrations, stores, gRPC services, and the
// event consumer worker.
absl::Status Setup(server::ServiceContext& ctx);
absl::Status SetupWith(server::ServiceContext& ctx, const CrmOptions& options);

// kefu-crm: its flags (--file-max-bytes, --file-content-types) and Setup.
server::ServiceDefinition Definition();

}  // namespace kefu::crm
