#pragma once

#include "libs/pg/pool.h"
#include "services/kb/kb_store.h"

namespace kefu::kb {

// KbStore on PostgreSQL (schema kb, migrations/). Every call runs in a transaction bound
// to its tenant (row-level security); libpqxx errors come back as statuses.
class PgKbStore final : public KbStore {
 public:
  explicit PgKbStore(pg::Pool* pool) : pool_(pool) {}

  // KbSource
  absl::StatusOr<int64_t> CurrentRevision(const std::string& tenant_id) override;
  absl::StatusOr<KbChanges> ChangesSince(const std::string& tenant_id, int64_t revision) override;

  // KbStore
  absl::StatusOr<v1::Category> CreateCategory(const WriteScope& scope,
                                              const v1::Category& category) override;
  absl::StatusOr<v1::Category> UpdateCategory(const WriteScope& scope,
                                              const std::string& category_id,
                                              const Mutator<v1::Category>& mutate) override;
  absl::Status DeleteCategory(const WriteScope& scope, const std::string& category_id) override;
  absl::StatusOr<Page<v1::Category>> ListCategories(const std::string& tenant_id,
                                                    const std::vector<std::string>& after,
                                                    int limit) override;
  absl::StatusOr<v1::Entry> CreateEntry(const WriteScope& scope, const v1::Entry& entry) override;
  absl::StatusOr<v1::Entry> UpdateEntry(const WriteScope& scope, const std::string& entry_id,
                                        int64_t expected_revision,
                                        const Mutator<v1::Entry>& mutate) override;
  absl::StatusOr<v1::Entry> DeleteEntry(const WriteScope& scope,
                                        const std::string& entry_id) override;
  absl::StatusOr<v1::Entry> GetEntry(const std::string& tenant_id,
                                     const std::string& entry_id) override;
  absl::StatusOr<Page<v1::Entry>> ListEntries(const std::string& tenant_id,
                                              const EntryFilter& filter,
                                              const std::string& after_id, int limit) override;
  absl::StatusOr<v1::ImportEntriesResponse> ImportEntries(
      const WriteScope& scope, const v1::ImportEntriesRequest& request,
      std::vector<EntryChange>* changes) override;
  absl::StatusOr<Page<v1::ImportEntry>> ExportEntries(const std::string& tenant_id,
                                                      const EntryFilter& filter,
                                                      const std::string& after_id,
                                                      int limit) override;
  absl::StatusOr<v1::Bot> CreateBot(const WriteScope& scope, const v1::Bot& bot) override;
  absl::StatusOr<v1::Bot> UpdateBot(const WriteScope& scope, const std::string& bot_id,
                                    const Mutator<v1::Bot>& mutate) override;
  absl::StatusOr<v1::Bot> DeleteBot(const WriteScope& scope, const std::string& bot_id) override;
  absl::StatusOr<v1::Bot> GetBot(const std::string& tenant_id, const std::string& bot_id) override;
  absl::StatusOr<Page<v1::Bot>> ListBots(const std::string& tenant_id, bool accept_transfer_only,
                                         const std::string& after_id, int limit) override;

 private:
  pg::Pool* pool_;
};

}  // namespace kefu::kb
