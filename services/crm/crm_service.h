#pragma once

#include <vector>

#include "kefu/crm/v1/customer.grpc.pb.h"
#include "kefu/crm/v1/record.grpc.pb.h"
#include "libs/common/embedded.h"
#include "libs/server/service_main.h"

namespace kefu::embedded {
const std::vector<EmbeddedFile>& CrmMigrations();
}  // namespace kefu::embedded

namespace kefu::crm {

// kefu.crm.v1.CustomerService. The generated base answers UNIMPLEMENTED for every RPC
// until the issue that builds it overrides them here.
class CustomerServiceImpl final : public v1::CustomerService::Service {};

// kefu.crm.v1.RecordService. The generated base answers UNIMPLEMENTED for every RPC
// until the issue that builds it overrides them here.
class RecordServiceImpl final : public v1::RecordService::Service {};

// Builds the crm service inside ServiceMain: migrations, stores, gRPC services.
absl::Status Setup(server::ServiceContext& ctx);

}  // namespace kefu::crm
