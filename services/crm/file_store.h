#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kefu/common/v1/common.pb.h"

namespace kefu::crm {

// A dialog file (F35) as crm keeps it.
struct StoredFile {
  std::string dialog_id;
  // file_id, file_name, content_type, size_bytes, sha256 (hex).
  kefu::common::v1::FileAttachment attachment;
  kefu::common::v1::Participant uploader;
  int64_t created_micros = 0;
  // The content is kept in chunks of at most kFileChunkBytes, numbered from 0.
  int chunk_count = 0;
};

inline constexpr size_t kFileChunkBytes = 64 * 1024;

// Where dialog files live. Every call is scoped to one tenant: another tenant's file is
// NOT_FOUND.
class FileStore {
 public:
  virtual ~FileStore() = default;

  // Stores `bytes` under a new file id (attachment.file_id is set here, sha256 and size from
  // the bytes). A non-empty `idempotency_key` already used for this tenant returns the file
  // stored then when its sha256 matches, INVALID_ARGUMENT idempotency_key otherwise.
  virtual absl::StatusOr<StoredFile> PutFile(const std::string& tenant, StoredFile file,
                                             const std::string& bytes,
                                             const std::string& idempotency_key) = 0;
  virtual absl::StatusOr<StoredFile> GetFile(const std::string& tenant,
                                             const std::string& file_id) = 0;
  // Chunks [first, first + count) in order (fewer at the end of the file).
  virtual absl::StatusOr<std::vector<std::string>> ReadChunks(const std::string& tenant,
                                                              const std::string& file_id, int first,
                                                              int count) = 0;
};

}  // namespace kefu::crm
