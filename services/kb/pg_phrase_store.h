#pragma once

#include "libs/pg/pool.h"
#include "services/kb/kb_store.h"

namespace kefu::kb {

// PhraseStore on PostgreSQL (tables kb.phrase_categories and kb.phrases).
class PgPhraseStore final : public PhraseStore {
 public:
  explicit PgPhraseStore(pg::Pool* pool) : pool_(pool) {}

  // PhraseStore
  absl::StatusOr<v1::PhraseCategory> CreatePhraseCategory(
      const WriteScope& scope, const v1::PhraseCategory& category) override;
  absl::StatusOr<v1::PhraseCategory> GetPhraseCategory(const std::string& tenant_id,
                                                       const std::string& owner_id,
                                                       const std::string& category_id) override;
  absl::StatusOr<v1::PhraseCategory> UpdatePhraseCategory(
      const WriteScope& scope, const std::string& owner_id, const std::string& category_id,
      const Mutator<v1::PhraseCategory>& mutate) override;
  absl::Status DeletePhraseCategory(const WriteScope& scope, const std::string& owner_id,
                                    const std::string& category_id,
                                    const Check<v1::PhraseCategory>& allow) override;
  absl::StatusOr<Page<v1::PhraseCategory>> ListPhraseCategories(
      const std::string& tenant_id, const std::string& owner_id, v1::PhraseScope scope,
      const std::vector<std::string>& after, int limit) override;
  absl::StatusOr<v1::Phrase> CreatePhrase(const WriteScope& scope,
                                          const v1::Phrase& phrase) override;
  absl::StatusOr<v1::Phrase> GetPhrase(const std::string& tenant_id, const std::string& owner_id,
                                       const std::string& phrase_id) override;
  absl::StatusOr<v1::Phrase> UpdatePhrase(const WriteScope& scope, const std::string& owner_id,
                                          const std::string& phrase_id,
                                          const Mutator<v1::Phrase>& mutate) override;
  absl::Status DeletePhrase(const WriteScope& scope, const std::string& owner_id,
                            const std::string& phrase_id, const Check<v1::Phrase>& allow) override;
  absl::StatusOr<Page<v1::Phrase>> ListPhrases(const std::string& tenant_id,
                                               const PhraseFilter& filter,
                                               const std::vector<std::string>& after,
                                               int limit) override;

 private:
  pg::Pool* pool_;
};

}  // namespace kefu::kb
