#include "services/crm/crm_service.h"

#include "libs/common/status_macros.h"

namespace kefu::crm {

absl::Status Setup(server::ServiceContext& ctx) {
  KEFU_RETURN_IF_ERROR(ctx.Migrate({"crm", embedded::CrmMigrations()}));
  ctx.AddService(std::make_unique<CustomerServiceImpl>(), v1::CustomerService::service_full_name());
  ctx.AddService(std::make_unique<RecordServiceImpl>(), v1::RecordService::service_full_name());
  return absl::OkStatus();
}

}  // namespace kefu::crm
