#include "services/crm/pg_file_store.h"

#include <sodium.h>

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "libs/common/status.h"
#include "services/crm/pg_support.h"

namespace kefu::crm {
namespace {

namespace cv1 = kefu::common::v1;

// Returns nothing when the key is taken: the caller then reads the first file.
constexpr char kInsertFile[] =
    "INSERT INTO crm.files (tenant_id, file_id, dialog_id, name, content_type, size, sha256,"
    " uploader_type, uploader_id, uploader_name, chunk_count, idempotency_key, created_time)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, crm.from_micros($13))"
    " ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key <> '' DO NOTHING"
    " RETURNING file_id";
constexpr char kInsertChunk[] =
    "INSERT INTO crm.file_chunks (tenant_id, file_id, position, bytes) VALUES ($1, $2, $3, $4)";

#define KEFU_CRM_FILE_SELECT                                                                 \
  "SELECT file_id, dialog_id, name, content_type, size, sha256, uploader_type, uploader_id," \
  " uploader_name, chunk_count, crm.micros(created_time) FROM crm.files"

constexpr char kGetFile[] = KEFU_CRM_FILE_SELECT " WHERE tenant_id = $1 AND file_id = $2";
constexpr char kFileByKey[] =
    KEFU_CRM_FILE_SELECT " WHERE tenant_id = $1 AND idempotency_key = $2 AND idempotency_key <> ''";
constexpr char kReadChunks[] =
    "SELECT bytes FROM crm.file_chunks WHERE tenant_id = $1 AND file_id = $2"
    " AND position >= $3 AND position < $4 ORDER BY position";

StoredFile FileFromRow(const pqxx::row& row) {
  StoredFile f;
  f.attachment.set_file_id(row[0].as<std::string>());
  f.dialog_id = row[1].as<std::string>();
  f.attachment.set_file_name(row[2].as<std::string>());
  f.attachment.set_content_type(row[3].as<std::string>());
  f.attachment.set_size_bytes(row[4].as<int64_t>());
  f.attachment.set_sha256(row[5].as<std::string>());
  f.uploader.set_type(static_cast<cv1::ParticipantType>(row[6].as<int>()));
  f.uploader.set_id(row[7].as<std::string>());
  f.uploader.set_display_name(row[8].as<std::string>());
  f.chunk_count = row[9].as<int>();
  f.created_micros = row[10].as<int64_t>();
  return f;
}

std::string Sha256Hex(const std::string& bytes) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

absl::Status NoFile(const std::string& file_id) {
  return absl::NotFoundError(absl::StrCat("file_id: no file \"", file_id, "\""));
}

}  // namespace

absl::StatusOr<StoredFile> PgFileStore::PutFile(const std::string& tenant, StoredFile file,
                                                const std::string& bytes,
                                                const std::string& idempotency_key) {
  file.attachment.set_file_id(pgsupport::NewId());
  file.attachment.set_size_bytes(static_cast<int64_t>(bytes.size()));
  file.attachment.set_sha256(Sha256Hex(bytes));
  file.chunk_count = static_cast<int>((bytes.size() + kFileChunkBytes - 1) / kFileChunkBytes);
  file.created_micros = pgsupport::NowMicros();
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<StoredFile> {
    const auto& a = file.attachment;
    auto inserted = txn.exec_params(
        kInsertFile, tenant, a.file_id(), file.dialog_id, a.file_name(), a.content_type(),
        a.size_bytes(), a.sha256(), static_cast<int>(file.uploader.type()), file.uploader.id(),
        file.uploader.display_name(), file.chunk_count, idempotency_key, file.created_micros);
    if (inserted.empty()) {
      auto rows = txn.exec_params(kFileByKey, tenant, idempotency_key);
      if (rows.empty()) {
        return absl::AbortedError("idempotency_key: the first upload is still running; retry");
      }
      StoredFile first = FileFromRow(rows[0]);
      if (first.attachment.sha256() != a.sha256() || first.dialog_id != file.dialog_id) {
        return InvalidField("idempotency_key", "reused with a different file");
      }
      return first;
    }
    for (int i = 0; i < file.chunk_count; ++i) {
      const std::string chunk = bytes.substr(i * kFileChunkBytes, kFileChunkBytes);
      txn.exec_params(kInsertChunk, tenant, a.file_id(), i, pqxx::binarystring(chunk));
    }
    return file;
  });
}

absl::StatusOr<StoredFile> PgFileStore::GetFile(const std::string& tenant,
                                                const std::string& file_id) {
  return pool_->TransactIn(tenant, [&](pqxx::work& txn) -> absl::StatusOr<StoredFile> {
    auto rows = txn.exec_params(kGetFile, tenant, file_id);
    if (rows.empty()) return NoFile(file_id);
    return FileFromRow(rows[0]);
  });
}

absl::StatusOr<std::vector<std::string>> PgFileStore::ReadChunks(const std::string& tenant,
                                                                 const std::string& file_id,
                                                                 int first, int count) {
  return pool_->TransactIn(
      tenant, [&](pqxx::work& txn) -> absl::StatusOr<std::vector<std::string>> {
        auto rows = txn.exec_params(kReadChunks, tenant, file_id, first, first + count);
        std::vector<std::string> chunks;
        chunks.reserve(rows.size());
        for (const auto& row : rows) chunks.push_back(pgsupport::Bytes(row[0]));
        return chunks;
      });
}

}  // namespace kefu::crm
