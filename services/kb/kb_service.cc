#include "services/kb/kb_service.h"

#include <memory>

#include "kefu/kb/v1/bot.grpc.pb.h"
#include "kefu/kb/v1/canned_phrase.grpc.pb.h"
#include "kefu/kb/v1/knowledge_admin.grpc.pb.h"
#include "libs/common/status_macros.h"
#include "libs/events/events.h"
#include "services/kb/bot_service.h"
#include "services/kb/canned_phrase_service.h"
#include "services/kb/change_watcher.h"
#include "services/kb/kb_cache.h"
#include "services/kb/knowledge_admin_service.h"
#include "services/kb/pg_kb_store.h"
#include "services/kb/pg_phrase_store.h"

namespace kefu::kb {
namespace {

absl::Status Setup(server::ServiceContext& ctx) {
  KEFU_RETURN_IF_ERROR(ctx.Migrate({"kb", embedded::KbMigrations()}));
  // Everything below lives as long as the services built on it: ctx keeps it.
  auto store = std::make_shared<PgKbStore>(ctx.pg());
  auto phrases = std::make_shared<PgPhraseStore>(ctx.pg());
  auto publisher = std::make_shared<events::Publisher>(ctx.redis(), "kb");
  auto watcher = std::make_shared<ChangeWatcher>(ctx.redis_url(), ctx.redis());
  KbCache::Options options;
  options.on_first_use = [w = watcher.get()](const std::string& tenant) { w->Watch(tenant); };
  auto cache = std::make_shared<KbCache>(store.get(), std::move(options));
  watcher->Attach(cache.get());
  auto metrics = std::make_shared<KbMetrics>(ctx.registry());

  ctx.AddService(std::make_unique<KnowledgeAdminServiceImpl>(store.get(), cache.get(),
                                                             publisher.get(), &ctx.authenticator()),
                 v1::KnowledgeAdminService::service_full_name());
  ctx.AddService(std::make_unique<BotServiceImpl>(cache.get(), &ctx.authenticator(), metrics.get()),
                 v1::BotService::service_full_name());
  ctx.AddService(std::make_unique<CannedPhraseServiceImpl>(phrases.get(), &ctx.authenticator()),
                 v1::CannedPhraseService::service_full_name());
  ctx.AddWorker("kb-change-watcher",
                [w = watcher.get()](const std::stop_token& stop) { w->Run(stop); });

  ctx.Keep(store);
  ctx.Keep(phrases);
  ctx.Keep(publisher);
  ctx.Keep(watcher);
  ctx.Keep(cache);
  ctx.Keep(metrics);
  return absl::OkStatus();
}

}  // namespace

server::ServiceDefinition Definition() {
  return {.name = "kb", .register_flags = nullptr, .setup = Setup};
}

}  // namespace kefu::kb
