#pragma once

#include <vector>

#include "libs/common/embedded.h"
#include "libs/server/service_main.h"

namespace kefu::embedded {
const std::vector<EmbeddedFile>& KbMigrations();
}  // namespace kefu::embedded

namespace kefu::kb {

// The kb service (F40-F44) for ServiceMain or a test's ServiceRuntime: migrations, the
// PostgreSQL stores, the in-memory index cache and its change watcher (a worker), and
// KnowledgeAdminService, BotService and CannedPhraseService.
server::ServiceDefinition Definition();

}  // namespace kefu::kb
