#pragma once

#include "kefu/kb/v1/knowledge_admin.grpc.pb.h"
#include "libs/auth/authorize.h"
#include "libs/events/events.h"
#include "services/kb/kb_cache.h"
#include "services/kb/kb_store.h"

namespace kefu::kb {

// kefu.kb.v1.KnowledgeAdminService (F40, F41): categories, entries, import/export, bots.
// Reads: admin, supervisor, agent (bots also service callers). Writes: admin. After
// each write the replica's own index catches up before the RPC returns, and the change
// goes out as KnowledgeEntryChanged / BotChanged for the other replicas, gateways and
// routers.
class KnowledgeAdminServiceImpl final : public v1::KnowledgeAdminService::Service {
 public:
  KnowledgeAdminServiceImpl(KbStore* store, KbCache* cache, events::Publisher* publisher,
                            const auth::Authenticator* authenticator)
      : store_(store), cache_(cache), publisher_(publisher), authenticator_(authenticator) {}

  // v1::KnowledgeAdminService::Service
  grpc::Status CreateCategory(grpc::ServerContext* context,
                              const v1::CreateCategoryRequest* request,
                              v1::CreateCategoryResponse* response) override;
  grpc::Status UpdateCategory(grpc::ServerContext* context,
                              const v1::UpdateCategoryRequest* request,
                              v1::UpdateCategoryResponse* response) override;
  grpc::Status DeleteCategory(grpc::ServerContext* context,
                              const v1::DeleteCategoryRequest* request,
                              v1::DeleteCategoryResponse* response) override;
  grpc::Status ListCategories(grpc::ServerContext* context,
                              const v1::ListCategoriesRequest* request,
                              v1::ListCategoriesResponse* response) override;
  grpc::Status CreateEntry(grpc::ServerContext* context, const v1::CreateEntryRequest* request,
                           v1::CreateEntryResponse* response) override;
  grpc::Status UpdateEntry(grpc::ServerContext* context, const v1::UpdateEntryRequest* request,
                           v1::UpdateEntryResponse* response) override;
  grpc::Status DeleteEntry(grpc::ServerContext* context, const v1::DeleteEntryRequest* request,
                           v1::DeleteEntryResponse* response) override;
  grpc::Status GetEntry(grpc::ServerContext* context, const v1::GetEntryRequest* request,
                        v1::GetEntryResponse* response) override;
  grpc::Status ListEntries(grpc::ServerContext* context, const v1::ListEntriesRequest* request,
                           v1::ListEntriesResponse* response) override;
  grpc::Status ImportEntries(grpc::ServerContext* context, const v1::ImportEntriesRequest* request,
                             v1::ImportEntriesResponse* response) override;
  grpc::Status ExportEntries(grpc::ServerContext* context, const v1::ExportEntriesRequest* request,
                             grpc::ServerWriter<v1::ExportEntriesResponse>* writer) override;
  grpc::Status CreateBot(grpc::ServerContext* context, const v1::CreateBotRequest* request,
                         v1::CreateBotResponse* response) override;
  grpc::Status UpdateBot(grpc::ServerContext* context, const v1::UpdateBotRequest* request,
                         v1::UpdateBotResponse* response) override;
  grpc::Status DeleteBot(grpc::ServerContext* context, const v1::DeleteBotRequest* request,
                         v1::DeleteBotResponse* response) override;
  grpc::Status GetBot(grpc::ServerContext* context, const v1::GetBotRequest* request,
                      v1::GetBotResponse* response) override;
  grpc::Status ListBots(grpc::ServerContext* context, const v1::ListBotsRequest* request,
                        v1::ListBotsResponse* response) override;

 private:
  // The writing replica's index catches up now; failures only delay it to the next Ask.
  void RefreshIndex(const std::string& tenant, int64_t revision);
  void PublishEntry(const auth::Claims& caller, const std::string& tenant,
                    const std::string& entry_id, const std::string& category_id,
                    kefu::events::v1::ChangeType change, int64_t revision);
  void PublishBot(const auth::Claims& caller, const std::string& tenant, const v1::Bot& bot,
                  kefu::events::v1::ChangeType change);

  KbStore* store_;
  KbCache* cache_;
  events::Publisher* publisher_;
  const auth::Authenticator* authenticator_;
};

}  // namespace kefu::kb
