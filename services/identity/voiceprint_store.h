#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

// What VerificationService keeps (F3): voiceprints, secret answers, challenges with
// their lockout, and the audit trail. Implementations keep voiceprint models encrypted
// at rest; this interface deals in the plain serialised model.
namespace kefu::identity {

struct VoiceprintRecord {
  std::string voiceprint_id;
  std::string model;  // kefu::audio::SerializeSpeaker bytes
  double speech_seconds = 0;
  int utterance_count = 0;
  absl::Time create_time;
  absl::Time update_time;
};

struct SecretQuestion {
  std::string question_id;
  std::string question_zh;
  std::string question_en;
  std::string answer_hash;  // argon2id
};

struct SecretRecord {
  std::string pin_hash;  // empty: no PIN
  std::vector<SecretQuestion> questions;
};

enum class PromptKind { kPin, kQuestion };

struct ChallengePromptRecord {
  std::string prompt_id;
  PromptKind kind = PromptKind::kPin;
  std::string question_id;  // for kQuestion
};

struct ChallengeRecord {
  std::string challenge_id;
  std::string customer_id;
  std::string contact_id;
  int voice_decision = 0;
  std::vector<ChallengePromptRecord> prompts;
  int outcome = 0;  // final ChallengeOutcome (PASSED), 0 while open
  absl::Time expire_time;
};

struct LockState {
  int failed_attempts = 0;
  absl::Time locked_until = absl::InfinitePast();
};

struct AuditEntry {
  std::string customer_id;
  std::string contact_id;
  std::string actor;
  std::string
      action;  // enroll | verify | delete | challenge_start | challenge_answer | secrets_set
  int voice_decision = 0;
  std::optional<double> score;
  std::optional<double> speech_seconds;
  int challenge_outcome = 0;
  std::string detail;
};

class VoiceprintStore {
 public:
  virtual ~VoiceprintStore() = default;

  virtual absl::StatusOr<std::optional<VoiceprintRecord>> GetVoiceprint(
      const std::string& tenant_id, const std::string& customer_id) = 0;
  // Creates or replaces; keeps voiceprint_id and create_time of an existing row.
  virtual absl::StatusOr<VoiceprintRecord> PutVoiceprint(const std::string& tenant_id,
                                                         const std::string& customer_id,
                                                         const VoiceprintRecord& record) = 0;
  // False when there was none.
  virtual absl::StatusOr<bool> DeleteVoiceprint(const std::string& tenant_id,
                                                const std::string& customer_id) = 0;
  // The tenant's opt-in to refresh voiceprints from verified calls; NOT_FOUND: no tenant.
  virtual absl::StatusOr<bool> VoiceprintRefreshEnabled(const std::string& tenant_id) = 0;

  // Sets the PIN hash when `pin_hash` has a value and replaces the questions when
  // `questions` has one.
  virtual absl::Status SetSecrets(const std::string& tenant_id, const std::string& customer_id,
                                  const std::optional<std::string>& pin_hash,
                                  const std::optional<std::vector<SecretQuestion>>& questions) = 0;
  // Empty record when none are set.
  virtual absl::StatusOr<SecretRecord> GetSecrets(const std::string& tenant_id,
                                                  const std::string& customer_id) = 0;

  virtual absl::Status CreateChallenge(const std::string& tenant_id,
                                       const ChallengeRecord& challenge) = 0;
  virtual absl::StatusOr<ChallengeRecord> GetChallenge(const std::string& tenant_id,
                                                       const std::string& challenge_id) = 0;
  virtual absl::StatusOr<LockState> GetLockState(const std::string& tenant_id,
                                                 const std::string& customer_id) = 0;
  // One answer to a challenge, atomically with the customer's lock row: a pass resets the
  // counter and closes the challenge; a failure counts, and the max_failures-th one locks
  // the customer until now + lockout (and resets the counter). Returns the new state.
  // While locked nothing is counted: the state is returned unchanged.
  virtual absl::StatusOr<LockState> RecordAnswer(const std::string& tenant_id,
                                                 const std::string& challenge_id,
                                                 const std::string& customer_id, bool passed,
                                                 int max_failures, absl::Duration lockout) = 0;

  virtual absl::StatusOr<std::string> Audit(const std::string& tenant_id,
                                            const AuditEntry& entry) = 0;

  // Idempotency records (identity.idempotency): the stored response, if any.
  virtual absl::StatusOr<std::optional<std::string>> FindIdempotent(const std::string& tenant_id,
                                                                    const std::string& rpc,
                                                                    const std::string& key) = 0;
  virtual absl::Status SaveIdempotent(const std::string& tenant_id, const std::string& rpc,
                                      const std::string& key, const std::string& response) = 0;
};

}  // namespace kefu::identity
