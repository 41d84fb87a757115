#include "services/kb/kb_service.h"

#include "libs/common/status_macros.h"

namespace kefu::kb {

absl::Status Setup(server::ServiceContext& ctx) {
  KEFU_RETURN_IF_ERROR(ctx.Migrate({"kb", embedded::KbMigrations()}));
  ctx.AddService(std::make_unique<KnowledgeAdminServiceImpl>(),
                 v1::KnowledgeAdminService::service_full_name());
  ctx.AddService(std::make_unique<BotServiceImpl>(), v1::BotService::service_full_name());
  ctx.AddService(std::make_unique<CannedPhraseServiceImpl>(),
                 v1::CannedPhraseService::service_full_name());
  return absl::OkStatus();
}

}  // namespace kefu::kb
