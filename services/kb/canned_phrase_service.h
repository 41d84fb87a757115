#pragma once

#include "kefu/kb/v1/canned_phrase.grpc.pb.h"
#include "libs/auth/authorize.h"
#include "services/kb/kb_store.h"

namespace kefu::kb {

// kefu.kb.v1.CannedPhraseService (F43): staff read the tenant's PUBLIC phrases and their
// own PERSONAL ones; anyone's personal ones are theirs alone (others get NOT_FOUND, even
// admins); creating, changing or deleting PUBLIC phrases and categories needs ADMIN.
class CannedPhraseServiceImpl final : public v1::CannedPhraseService::Service {
 public:
  CannedPhraseServiceImpl(PhraseStore* store, const auth::Authenticator* authenticator)
      : store_(store), authenticator_(authenticator) {}

  // v1::CannedPhraseService::Service
  grpc::Status CreatePhraseCategory(grpc::ServerContext* context,
                                    const v1::CreatePhraseCategoryRequest* request,
                                    v1::CreatePhraseCategoryResponse* response) override;
  grpc::Status UpdatePhraseCategory(grpc::ServerContext* context,
                                    const v1::UpdatePhraseCategoryRequest* request,
                                    v1::UpdatePhraseCategoryResponse* response) override;
  grpc::Status DeletePhraseCategory(grpc::ServerContext* context,
                                    const v1::DeletePhraseCategoryRequest* request,
                                    v1::DeletePhraseCategoryResponse* response) override;
  grpc::Status ListPhraseCategories(grpc::ServerContext* context,
                                    const v1::ListPhraseCategoriesRequest* request,
                                    v1::ListPhraseCategoriesResponse* response) override;
  grpc::Status CreatePhrase(grpc::ServerContext* context, const v1::CreatePhraseRequest* request,
                            v1::CreatePhraseResponse* response) override;
  grpc::Status UpdatePhrase(grpc::ServerContext* context, const v1::UpdatePhraseRequest* request,
                            v1::UpdatePhraseResponse* response) override;
  grpc::Status DeletePhrase(grpc::ServerContext* context, const v1::DeletePhraseRequest* request,
                            v1::DeletePhraseResponse* response) override;
  grpc::Status ListPhrases(grpc::ServerContext* context, const v1::ListPhrasesRequest* request,
                           v1::ListPhrasesResponse* response) override;

 private:
  absl::StatusOr<auth::Claims> Staff(const grpc::ServerContext& context) const;

  PhraseStore* store_;
  const auth::Authenticator* authenticator_;
};

}  // namespace kefu::kb
