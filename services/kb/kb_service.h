#pragma once

#include <vector>

#include "kefu/kb/v1/bot.grpc.pb.h"
#include "kefu/kb/v1/canned_phrase.grpc.pb.h"
#include "kefu/kb/v1/knowledge_admin.grpc.pb.h"
#include "libs/common/embedded.h"
#include "libs/server/service_main.h"

namespace kefu::embedded {
const std::vector<EmbeddedFile>& KbMigrations();
}  // namespace kefu::embedded

namespace kefu::kb {

// kefu.kb.v1.KnowledgeAdminService. The generated base answers UNIMPLEMENTED for every RPC
// until the issue that builds it overrides them here.
class KnowledgeAdminServiceImpl final : public v1::KnowledgeAdminService::Service {};

// kefu.kb.v1.BotService. The generated base answers UNIMPLEMENTED for every RPC
// until the issue that builds it overrides them here.
class BotServiceImpl final : public v1::BotService::Service {};

// kefu.kb.v1.CannedPhraseService. The generated base answers UNIMPLEMENTED for every RPC
// until the issue that builds it overrides them here.
class CannedPhraseServiceImpl final : public v1::CannedPhraseService::Service {};

// Builds the kb service inside ServiceMain: migrations, stores, gRPC services.
absl::Status Setup(server::ServiceContext& ctx);

}  // namespace kefu::kb
