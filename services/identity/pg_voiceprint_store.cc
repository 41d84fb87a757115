#include "services/identity/pg_voiceprint_store.h"

#include <sodium.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace kefu::identity {
namespace {

constexpr unsigned char kSealVersion = 1;
constexpr int kChallengePassed = 2;  // kefu.common.v1.CHALLENGE_OUTCOME_PASSED

absl::Time FromMicros(const pqxx::field& f) {
  return f.is_null() ? absl::InfinitePast() : absl::FromUnixMicros(f.as<int64_t>());
}

std::string AssociatedData(const std::string& tenant_id, const std::string& customer_id) {
  return absl::StrCat("kefu-voiceprint/v1\n", tenant_id, "\n", customer_id);
}

std::string EncodePrompts(const std::vector<ChallengePromptRecord>& prompts) {
  std::string out;
  for (const auto& p : prompts) {
    absl::StrAppend(&out, p.prompt_id, " ", p.kind == PromptKind::kPin ? "PIN" : "QUESTION", " ",
                    p.question_id, "\n");
  }
  return out;
}

std::vector<ChallengePromptRecord> DecodePrompts(const std::string& text) {
  std::vector<ChallengePromptRecord> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::vector<std::string> parts = absl::StrSplit(line, absl::MaxSplits(' ', 2));
    if (parts.size() < 2) continue;
    ChallengePromptRecord p;
    p.prompt_id = parts[0];
    p.kind = parts[1] == "PIN" ? PromptKind::kPin : PromptKind::kQuestion;
    if (parts.size() > 2) p.question_id = parts[2];
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace

PgVoiceprintStore::PgVoiceprintStore(pg::Pool* pool, std::string key)
    : pool_(pool), key_(std::move(key)), key_id_(KeyId(key_)) {
  if (sodium_init() < 0) std::abort();
}

std::string PgVoiceprintStore::KeyId(const std::string& key) {
  unsigned char hash[8];
  crypto_generichash(hash, sizeof(hash), reinterpret_cast<const unsigned char*>(key.data()),
                     key.size(), nullptr, 0);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(hash), sizeof(hash)));
}

std::string PgVoiceprintStore::Seal(const std::string& tenant_id, const std::string& customer_id,
                                    const std::string& plain) const {
  const std::string ad = AssociatedData(tenant_id, customer_id);
  std::string out(1 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + plain.size() +
                      crypto_aead_xchacha20poly1305_ietf_ABYTES,
                  '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  p[0] = kSealVersion;
  unsigned char* nonce = p + 1;
  randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      nonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &written,
      reinterpret_cast<const unsigned char*>(plain.data()), plain.size(),
      reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nullptr, nonce,
      reinterpret_cast<const unsigned char*>(key_.data()));
  out.resize(1 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + written);
  return out;
}

absl::StatusOr<std::string> PgVoiceprintStore::Open(const std::string& tenant_id,
                                                    const std::string& customer_id,
                                                    const std::string& sealed) const {
  constexpr size_t kOverhead =
      1 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES;
  if (sealed.size() < kOverhead || static_cast<unsigned char>(sealed[0]) != kSealVersion) {
    return absl::FailedPreconditionError("voiceprint: stored model has an unknown format");
  }
  const std::string ad = AssociatedData(tenant_id, customer_id);
  const auto* p = reinterpret_cast<const unsigned char*>(sealed.data());
  const unsigned char* nonce = p + 1;
  const unsigned char* cipher = nonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  const size_t cipher_len = sealed.size() - 1 - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  std::string plain(cipher_len - crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
  unsigned long long plain_len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(plain.data()), &plain_len, nullptr, cipher, cipher_len,
          reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nonce,
          reinterpret_cast<const unsigned char*>(key_.data())) != 0) {
    return absl::FailedPreconditionError(
        "voiceprint: the stored model does not open with the configured --voiceprint-key");
  }
  plain.resize(plain_len);
  return plain;
}

absl::StatusOr<std::optional<VoiceprintRecord>> PgVoiceprintStore::GetVoiceprint(
    const std::string& tenant_id, const std::string& customer_id) {
  auto row = pool_->TransactIn(
      tenant_id,
      [&](pqxx::work& txn)
          -> absl::StatusOr<std::optional<std::pair<VoiceprintRecord, std::string>>> {
        auto rows = txn.exec_params(
            "SELECT voiceprint_id, model, speech_seconds, utterance_count,"
            " (extract(epoch from created_at) * 1000000)::bigint,"
            " (extract(epoch from updated_at) * 1000000)::bigint"
            " FROM identity.voiceprints WHERE tenant_id = $1 AND customer_id = $2",
            tenant_id, customer_id);
        if (rows.empty()) return std::nullopt;
        VoiceprintRecord r;
        r.voiceprint_id = rows[0][0].as<std::string>();
        std::string sealed = pqxx::binarystring(rows[0][1]).str();
        r.speech_seconds = rows[0][2].as<double>();
        r.utterance_count = rows[0][3].as<int>();
        r.create_time = FromMicros(rows[0][4]);
        r.update_time = FromMicros(rows[0][5]);
        return std::make_optional(std::make_pair(std::move(r), std::move(sealed)));
      });
  if (!row.ok()) return row.status();
  if (!row->has_value()) return std::optional<VoiceprintRecord>();
  auto& [record, sealed] = **row;
  auto plain = Open(tenant_id, customer_id, sealed);
  if (!plain.ok()) return plain.status();
  record.model = std::move(*plain);
  return std::optional<VoiceprintRecord>(std::move(record));
}

absl::StatusOr<VoiceprintRecord> PgVoiceprintStore::PutVoiceprint(const std::string& tenant_id,
                                                                  const std::string& customer_id,
                                                                  const VoiceprintRecord& record) {
  const std::string sealed = Seal(tenant_id, customer_id, record.model);
  return pool_->TransactIn(tenant_id, [&](pqxx::work& txn) -> absl::StatusOr<VoiceprintRecord> {
    if (txn.exec_params("SELECT 1 FROM identity.tenants WHERE tenant_id = $1", tenant_id).empty()) {
      return absl::NotFoundError(absl::StrCat("tenant_id: tenant \"", tenant_id, "\" not found"));
    }
    auto rows = txn.exec_params(
        "INSERT INTO identity.voiceprints (tenant_id, customer_id, voiceprint_id, model, key_id,"
        " speech_seconds, utterance_count) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (tenant_id, customer_id) DO UPDATE SET model = EXCLUDED.model,"
        " key_id = EXCLUDED.key_id, speech_seconds = EXCLUDED.speech_seconds,"
        " utterance_count = EXCLUDED.utterance_count, updated_at = now()"
        " RETURNING voiceprint_id, (extract(epoch from created_at) * 1000000)::bigint,"
        " (extract(epoch from updated_at) * 1000000)::bigint",
        tenant_id, customer_id, record.voiceprint_id, pqxx::binarystring(sealed), key_id_,
        record.speech_seconds, record.utterance_count);
    VoiceprintRecord out = record;
    out.voiceprint_id = rows[0][0].as<std::string>();
    out.create_time = FromMicros(rows[0][1]);
    out.update_time = FromMicros(rows[0][2]);
    return out;
  });
}

absl::StatusOr<bool> PgVoiceprintStore::DeleteVoiceprint(const std::string& tenant_id,
                                                         const std::string& customer_id) {
  return pool_->TransactIn(tenant_id, [&](pqxx::work& txn) -> absl::StatusOr<bool> {
    auto result = txn.exec_params(
        "DELETE FROM identity.voiceprints WHERE tenant_id = $1 AND customer_id = $2", tenant_id,
        customer_id);
    return result.affected_rows() > 0;
  });
}

absl::StatusOr<bool> PgVoiceprintStore::VoiceprintRefreshEnabled(const std::string& tenant_id) {
  return pool_->TransactIn(tenant_id, [&](pqxx::work& txn) -> absl::StatusOr<bool> {
    auto rows = txn.exec_params(
        "SELECT voiceprint_refresh_enabled FROM identity.tenants WHERE tenant_id = $1", tenant_id);
    if (rows.empty()) {
      return absl::NotFoundError(absl::StrCat("tenant_id: tenant \"", tenant_id, "\" not found"));
    }
    return rows[0][0].as<bool>();
  });
}

absl::Status PgVoiceprintStore::SetSecrets(
    const std::string& tenant_id, const std::string& customer_id,
    const std::optional<std::string>& pin_hash,
    const std::optional<std::vector<SecretQuestion>>& questions) {
  return pool_->TransactIn(tenant_id, [&](pqxx::work& txn) -> absl::Status {
    if (txn.exec_params("SELECT 1 FROM identity.tenants WHERE tenant_id = $1", tenant_id).empty()) {
      return absl::NotFoundError(absl::StrCat("tenant_id: tenant \"", tenant_id, "\" not found"));
    }
    txn.exec_params(
        "INSERT INTO identity.secret_answers (tenant_id, customer_id) VALUES ($1, $2)"
        " ON CONFLICT DO NOTHING",
        tenant_id, customer_id);
    if (pin_hash.has_value()) {
      txn.exec_params(
          "UPDATE identity.secret_answers SET pin_hash = $3, updated_at = now()"
          " WHERE tenant_id = $1 AND customer_id = $2",
          tenant_id, customer_id, *pin_hash);
    }
    if (questions.has_value()) {
      txn.exec_params(
          "DELETE FROM identity.secret_questions WHERE tenant_id = $1 AND customer_id = $2",
          tenant_id, customer_id);
      int position = 0;
      for (const SecretQuestion& q : *questions) {
        txn.exec_params(
            "INSERT INTO identity.secret_questions (tenant_id, customer_id, question_id,"
            " position, question_zh, question_en, answer_hash) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            tenant_id, customer_id, q.question_id, position++, q.question_zh, q.question_en,
            q.answer_hash);
      }
      txn.exec_params(
          "UPDATE identity.secret_answers SET updated_at = now()"
          " WHERE tenant_id = $1 AND customer_id = $2",
          tenant_id, customer_id);
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<SecretRecord> PgVoiceprintStore::GetSecrets(const std::string& tenant_id,
                                                           const std::string& customer_id) {
  return pool_->TransactIn(tenant_id, [&](pqxx::work& txn) -> absl::StatusOr<SecretRecord> {
    SecretRecord out;
    auto pin = txn.exec_params(
        "SELECT pin_hash FROM identity.secret_answers WHERE tenant_id = $1 AND customer_id = $2",
        tenant_id, customer_id);
    if (!pin.empty() && !pin[0][0].is_null()) out.pin_hash = pin[0][0].as<std::string>();
    auto rows = txn.exec_params(
        "SELECT question_id, question_zh, question_en, answer_hash FROM identity.secret_questions"
        " WHERE tenant_id = $1 AND customer_id = $2 ORDER BY position",
        tenant_id, customer_id);
    for (const auto& row : rows) {
      out.questions.push_back({row[0].as<std::string>(), row[1].as<std::string>(),
                               row[2].as<std::string>(), row[3].as<std::string>()});
    }
    return out;
  });
}

absl::Status PgVoiceprintStore::CreateChallenge(const std::string& tenant_id,
                                                const ChallengeRecord& c) {
  return pool_->TransactIn(tenant_id, [&](pqxx::work& txn) -> absl::Status {
    txn.exec_params(
        "INSERT INTO identity.challenges (tenant_id, challenge_id, customer_id, contact_id,"
        " voice_decision, prompts, expires_at) VALUES ($1, $2, $3, $4, $5, $6,"
        " to_timestamp($7::double precision / 1000000))",
        tenant_id, c.challenge_id, c.customer_id, c.contact_id, c.voice_decision,
        EncodePrompts(c.prompts), absl::ToUnixMicros(c.expire_time));
    return absl::OkStatus();
  });
}

absl::StatusOr<ChallengeRecord> PgVoiceprintStore::GetChallenge(const std::string& tenant_id,
                                                                const std::string& challenge_id) {
  return pool_->TransactIn(tenant_id, [&](pqxx::work& txn) -> absl::StatusOr<ChallengeRecord> {
    auto rows = txn.exec_params(
        "SELECT challenge_id, customer_id, contact_id, voice_decision, prompts, outcome,"
        " (extract(epoch from expires_at) * 1000000)::bigint FROM identity.challenges"
        " WHERE tenant_id = $1 AND challenge_id = $2",
        tenant_id, challenge_id);
    if (rows.empty()) {
      return absl::NotFoundError(
          absl::StrCat("challenge_id: challenge \"", challenge_id, "\" not found"));
    }
    ChallengeRecord c;
    c.challenge_id = rows[0][0].as<std::string>();
    c.customer_id = rows[0][1].as<std::string>();
    c.contact_id = rows[0][2].as<std::string>();
    c.voice_decision = rows[0][3].as<int>();
    c.prompts = DecodePrompts(rows[0][4].as<std::string>());
    c.outcome = rows[0][5].as<int>();
    c.expire_time = FromMicros(rows[0][6]);
    return c;
  });
}

absl::StatusOr<LockState> PgVoiceprintStore::GetLockState(const std::string& tenant_id,
                                                          const std::string& customer_id) {
  return pool_->TransactIn(tenant_id, [&](pqxx::work& txn) -> absl::StatusOr<LockState> {
    auto rows = txn.exec_params(
        "SELECT failed_attempts, (extract(epoch from locked_until) * 1000000)::bigint"
        " FROM identity.challenge_locks WHERE tenant_id = $1 AND customer_id = $2",
        tenant_id, customer_id);
    LockState out;
    if (rows.empty()) return out;
    out.failed_attempts = rows[0][0].as<int>();
    out.locked_until = FromMicros(rows[0][1]);
    return out;
  });
}

absl::StatusOr<LockState> PgVoiceprintStore::RecordAnswer(const std::string& tenant_id,
                                                          const std::string& challenge_id,
                                                          const std::string& customer_id,
                                                          bool passed, int max_failures,
                                                          absl::Duration lockout) {
  return pool_->TransactIn(tenant_id, [&](pqxx::work& txn) -> absl::StatusOr<LockState> {
    txn.exec_params(
        "INSERT INTO identity.challenge_locks (tenant_id, customer_id) VALUES ($1, $2)"
        " ON CONFLICT DO NOTHING",
        tenant_id, customer_id);
    // The row lock serialises concurrent answers of one customer: none is lost.
    auto rows = txn.exec_params(
        "SELECT failed_attempts, (extract(epoch from locked_until) * 1000000)::bigint,"
        " locked_until IS NOT NULL AND locked_until > now()"
        " FROM identity.challenge_locks WHERE tenant_id = $1 AND customer_id = $2 FOR UPDATE",
        tenant_id, customer_id);
    LockState state;
    state.failed_attempts = rows[0][0].as<int>();
    state.locked_until = FromMicros(rows[0][1]);
    if (rows[0][2].as<bool>()) return state;
    if (passed) {
      txn.exec_params(
          "UPDATE identity.challenge_locks SET failed_attempts = 0, locked_until = NULL"
          " WHERE tenant_id = $1 AND customer_id = $2",
          tenant_id, customer_id);
      txn.exec_params(
          "UPDATE identity.challenges SET outcome = $3 WHERE tenant_id = $1 AND challenge_id = $2",
          tenant_id, challenge_id, kChallengePassed);
      return LockState{};
    }
    const int failures = state.failed_attempts + 1;
    if (failures >= max_failures) {
      auto locked = txn.exec_params(
          "UPDATE identity.challenge_locks SET failed_attempts = 0,"
          " locked_until = now() + make_interval(secs => $3)"
          " WHERE tenant_id = $1 AND customer_id = $2"
          " RETURNING (extract(epoch from locked_until) * 1000000)::bigint",
          tenant_id, customer_id, absl::ToDoubleSeconds(lockout));
      LockState out;
      out.failed_attempts = failures;
      out.locked_until = FromMicros(locked[0][0]);
      return out;
    }
    txn.exec_params(
        "UPDATE identity.challenge_locks SET failed_attempts = $3"
        " WHERE tenant_id = $1 AND customer_id = $2",
        tenant_id, customer_id, failures);
    LockState out;
    out.failed_attempts = failures;
    return out;
  });
}

absl::StatusOr<std::string> PgVoiceprintStore::Audit(const std::string& tenant_id,
                                                     const AuditEntry& e) {
  return pool_->TransactIn(tenant_id, [&](pqxx::work& txn) -> absl::StatusOr<std::string> {
    auto rows = txn.exec_params(
        "INSERT INTO identity.verification_audit (tenant_id, audit_id, customer_id, contact_id,"
        " actor, action, voice_decision, score, speech_seconds, challenge_outcome, detail)"
        " VALUES ($1, gen_random_uuid()::text, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        " RETURNING audit_id",
        tenant_id, e.customer_id, e.contact_id, e.actor, e.action, e.voice_decision, e.score,
        e.speech_seconds, e.challenge_outcome, e.detail);
    return rows[0][0].as<std::string>();
  });
}

absl::StatusOr<std::optional<std::string>> PgVoiceprintStore::FindIdempotent(
    const std::string& tenant_id, const std::string& rpc, const std::string& key) {
  return pool_->TransactIn(
      tenant_id, [&](pqxx::work& txn) -> absl::StatusOr<std::optional<std::string>> {
        auto rows = txn.exec_params(
            "SELECT response FROM identity.idempotency WHERE tenant_id = $1 AND rpc = $2"
            " AND key = $3",
            tenant_id, rpc, key);
        if (rows.empty()) return std::optional<std::string>();
        return std::optional<std::string>(pqxx::binarystring(rows[0][0]).str());
      });
}

absl::Status PgVoiceprintStore::SaveIdempotent(const std::string& tenant_id, const std::string& rpc,
                                               const std::string& key,
                                               const std::string& response) {
  return pool_->TransactIn(tenant_id, [&](pqxx::work& txn) -> absl::Status {
    txn.exec_params(
        "INSERT INTO identity.idempotency (tenant_id, rpc, key, response) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT DO NOTHING",
        tenant_id, rpc, key, pqxx::binarystring(response));
    return absl::OkStatus();
  });
}

}  // namespace kefu::identity
