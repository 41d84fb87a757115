#pragma once

#include <string>

#include "libs/pg/pool.h"
#include "services/identity/voiceprint_store.h"

namespace kefu::identity {

// VoiceprintStore on PostgreSQL (schema identity, row-level security per tenant).
// Voiceprint models are sealed with XChaCha20-Poly1305 under `key` (32 bytes), bound to
// their tenant and customer, so a row copied elsewhere or read without the key is noise.
class PgVoiceprintStore final : public VoiceprintStore {
 public:
  PgVoiceprintStore(pg::Pool* pool, std::string key);

  // A short public fingerprint of a key (stored beside each model).
  static std::string KeyId(const std::string& key);

  // VoiceprintStore
  absl::StatusOr<std::optional<VoiceprintRecord>> GetVoiceprint(
      const std::string& tenant_id, const std::string& customer_id) override;
  absl::StatusOr<VoiceprintRecord> PutVoiceprint(const std::string& tenant_id,
                                                 const std::string& customer_id,
                                                 const VoiceprintRecord& record) override;
  absl::StatusOr<bool> DeleteVoiceprint(const std::string& tenant_id,
                                        const std::string& customer_id) override;
  absl::StatusOr<bool> VoiceprintRefreshEnabled(const std::string& tenant_id) override;
  absl::Status SetSecrets(const std::string& tenant_id, const std::string& customer_id,
                          const std::optional<std::string>& pin_hash,
                          const std::optional<std::vector<SecretQuestion>>& questions) override;
  absl::StatusOr<SecretRecord> GetSecrets(const std::string& tenant_id,
                                          const std::string& customer_id) override;
  absl::Status CreateChallenge(const std::string& tenant_id,
                               const ChallengeRecord& challenge) override;
  absl::StatusOr<ChallengeRecord> GetChallenge(const std::string& tenant_id,
                                               const std::string& challenge_id) override;
  absl::StatusOr<LockState> GetLockState(const std::string& tenant_id,
                                         const std::string& customer_id) override;
  absl::StatusOr<LockState> RecordAnswer(const std::string& tenant_id,
                                         const std::string& challenge_id,
                                         const std::string& customer_id, bool passed,
                                         int max_failures, absl::Duration lockout) override;
  absl::StatusOr<std::string> Audit(const std::string& tenant_id, const AuditEntry& entry) override;
  absl::StatusOr<std::optional<std::string>> FindIdempotent(const std::string& tenant_id,
                                                            const std::string& rpc,
                                                            const std::string& key) override;
  absl::Status SaveIdempotent(const std::string& tenant_id, const std::string& rpc,
                              const std::string& key, const std::string& response) override;

  // Sealing, exposed for tests: Open fails (FAILED_PRECONDITION) with another key or
  // another (tenant, customer).
  std::string Seal(const std::string& tenant_id, const std::string& customer_id,
                   const std::string& plain) const;
  absl::StatusOr<std::string> Open(const std::string& tenant_id, const std::string& customer_id,
                                   const std::string& sealed) const;

 private:
  pg::Pool* pool_;
  std::string key_;
  std::string key_id_;
};

}  // namespace kefu::identity
