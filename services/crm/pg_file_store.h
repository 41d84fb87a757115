#pragma once

#include <string>
#include <vector>

#include "libs/pg/pool.h"
#include "services/crm/file_store.h"

namespace kefu::crm {

// FileStore on PostgreSQL (crm.files and crm.file_chunks, migration 002). An upload is one
// short transaction once all its bytes have arrived: nothing waits on the network inside it.
class PgFileStore final : public FileStore {
 public:
  explicit PgFileStore(pg::Pool* pool) : pool_(pool) {}

  // FileStore
  absl::StatusOr<StoredFile> PutFile(const std::string& tenant, StoredFile file,
                                     const std::string& bytes,
                                     const std::string& idempotency_key) override;
  absl::StatusOr<StoredFile> GetFile(const std::string& tenant,
                                     const std::string& file_id) override;
  absl::StatusOr<std::vector<std::string>> ReadChunks(const std::string& tenant,
                                                      const std::string& file_id, int first,
                                                      int count) override;

 private:
  pg::Pool* pool_;
};

}  // namespace kefu::crm
