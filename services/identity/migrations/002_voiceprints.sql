-- identity schema, version 2: customer verification (F3). Voiceprints (the adapted
-- speaker model only, encrypted by the service: never audio), the fixed-information
-- fallback (argon2id hashes of the PIN and security answers), challenges with their
-- attempt counter and lockout, and the audit trail of every verification.
CREATE TABLE voiceprints (
  tenant_id       text NOT NULL REFERENCES tenants (tenant_id),
  customer_id     text NOT NULL,
  voiceprint_id   text NOT NULL,
  -- XChaCha20-Poly1305 of the serialised speaker model: version byte, 24-byte nonce,
  -- ciphertext; the associated data binds it to (tenant_id, customer_id).
  model           bytea NOT NULL,
  key_id          text NOT NULL,      -- which --voiceprint-key sealed it (a fingerprint)
  speech_seconds  double precision NOT NULL,
  utterance_count integer NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, customer_id),
  UNIQUE (tenant_id, voiceprint_id)
);

CREATE TABLE secret_answers (
  tenant_id   text NOT NULL REFERENCES tenants (tenant_id),
  customer_id text NOT NULL,
  pin_hash    text,                   -- argon2id; NULL when no PIN is set
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, customer_id)
);

CREATE TABLE secret_questions (
  tenant_id   text NOT NULL,
  customer_id text NOT NULL,
  question_id text NOT NULL,
  position    integer NOT NULL,
  question_zh text NOT NULL DEFAULT '',
  question_en text NOT NULL DEFAULT '',
  answer_hash text NOT NULL,          -- argon2id of the normalised answer
  PRIMARY KEY (tenant_id, customer_id, question_id),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES secret_answers (tenant_id, customer_id)
    ON DELETE CASCADE
);

-- Wrong answers count per customer across challenges: five in a row lock the
-- fixed-information fallback until locked_until.
CREATE TABLE challenge_locks (
  tenant_id       text NOT NULL REFERENCES tenants (tenant_id),
  customer_id     text NOT NULL,
  failed_attempts integer NOT NULL DEFAULT 0,
  locked_until    timestamptz,
  PRIMARY KEY (tenant_id, customer_id)
);

CREATE TABLE challenges (
  tenant_id      text NOT NULL REFERENCES tenants (tenant_id),
  challenge_id   text NOT NULL,
  customer_id    text NOT NULL,
  contact_id     text NOT NULL DEFAULT '',
  voice_decision integer NOT NULL DEFAULT 0,  -- kefu.common.v1.VerificationDecision
  -- The prompts asked, one per line: "<prompt_id> <PIN|QUESTION> <question_id>".
  prompts        text NOT NULL,
  outcome        integer NOT NULL DEFAULT 0,  -- kefu.common.v1.ChallengeOutcome once final
  created_at     timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, challenge_id)
);

-- One row per enrolment, verification, deletion and challenge answer. Never audio.
CREATE TABLE verification_audit (
  tenant_id       text NOT NULL REFERENCES tenants (tenant_id),
  audit_id        text NOT NULL,
  customer_id     text NOT NULL,
  contact_id      text NOT NULL DEFAULT '',
  actor           text NOT NULL,               -- token subject of the caller
  action          text NOT NULL,               -- enroll | verify | delete | challenge_start | challenge_answer | secrets_set
  voice_decision  integer NOT NULL DEFAULT 0,
  score           double precision,
  speech_seconds  double precision,
  challenge_outcome integer NOT NULL DEFAULT 0,
  detail          text NOT NULL DEFAULT '',
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, audit_id)
);
CREATE INDEX verification_audit_customer ON verification_audit (tenant_id, customer_id, created_at);

GRANT SELECT, INSERT, UPDATE, DELETE ON voiceprints, secret_answers, secret_questions,
  challenge_locks, challenges, verification_audit TO kefu_app;
ALTER TABLE voiceprints ENABLE ROW LEVEL SECURITY;
ALTER TABLE voiceprints FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON voiceprints
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));
ALTER TABLE secret_answers ENABLE ROW LEVEL SECURITY;
ALTER TABLE secret_answers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON secret_answers
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));
ALTER TABLE secret_questions ENABLE ROW LEVEL SECURITY;
ALTER TABLE secret_questions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON secret_questions
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));
ALTER TABLE challenge_locks ENABLE ROW LEVEL SECURITY;
ALTER TABLE challenge_locks FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON challenge_locks
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));
ALTER TABLE challenges ENABLE ROW LEVEL SECURITY;
ALTER TABLE challenges FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON challenges
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));
ALTER TABLE verification_audit ENABLE ROW LEVEL SECURITY;
ALTER TABLE verification_audit FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON verification_audit
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));
