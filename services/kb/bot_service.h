#pragma once

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include "kefu/kb/v1/bot.grpc.pb.h"
#include "libs/auth/authorize.h"
#include "services/kb/kb_cache.h"

namespace kefu::kb {

// kb's own metrics (STYLE.md section 8).
struct KbMetrics {
  explicit KbMetrics(prometheus::Registry& registry);
  // kefu_kb_ask_decisions_total{decision,reason}
  prometheus::Family<prometheus::Counter>& decisions;
};

// kefu.kb.v1.BotService (F42, F44): Ask for bots (the gateway with a platform token, or
// staff testing a bot) and Search for agents, both from the in-memory index, which is
// brought up to the tenant's latest revision first.
class BotServiceImpl final : public v1::BotService::Service {
 public:
  BotServiceImpl(KbCache* cache, const auth::Authenticator* authenticator, KbMetrics* metrics)
      : cache_(cache), authenticator_(authenticator), metrics_(metrics) {}

  // v1::BotService::Service
  grpc::Status Ask(grpc::ServerContext* context, const v1::AskRequest* request,
                   v1::AskResponse* response) override;
  grpc::Status Search(grpc::ServerContext* context, const v1::SearchRequest* request,
                      v1::SearchResponse* response) override;

 private:
  KbCache* cache_;
  const auth::Authenticator* authenticator_;
  KbMetrics* metrics_;
};

}  // namespace kefu::kb
