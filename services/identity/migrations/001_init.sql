-- identity schema, version 1: tenants (merchant accounts), staff users and their refresh
-- tokens, and the idempotency record of retried mutations (F70).
CREATE TABLE tenants (
  tenant_id                  text PRIMARY KEY CHECK (tenant_id ~ '^[a-z0-9-]{3,32}$'),
  name                       text NOT NULL,
  time_zone                  text NOT NULL DEFAULT 'Asia/Shanghai',
  default_language           integer NOT NULL DEFAULT 1,     -- LANGUAGE_ZH
  show_last_transcript       boolean NOT NULL DEFAULT true,
  invitations_enabled        boolean NOT NULL DEFAULT true,
  silence_timeout_seconds    integer NOT NULL DEFAULT 360,   -- F31: 6 minutes
  max_file_size_bytes        bigint NOT NULL DEFAULT 10485760,
  voiceprint_refresh_enabled boolean NOT NULL DEFAULT true,
  created_at                 timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
  tenant_id     text NOT NULL REFERENCES tenants (tenant_id),
  user_id       text NOT NULL,
  username      text NOT NULL,
  display_name  text NOT NULL DEFAULT '',
  email         text NOT NULL DEFAULT '',
  role          integer NOT NULL,                -- kefu.common.v1.Role
  password_hash text NOT NULL,                   -- argon2id, libsodium crypto_pwhash_str
  disabled      boolean NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_login_at timestamptz,
  PRIMARY KEY (tenant_id, user_id),
  UNIQUE (tenant_id, username)
);

-- Refresh tokens are JWTs whose id (jti) is kept here: using one revokes it and issues
-- a new pair (rotation), so a stolen refresh token works at most once.
CREATE TABLE refresh_tokens (
  tenant_id  text NOT NULL,
  token_id   text NOT NULL,
  user_id    text NOT NULL,
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  PRIMARY KEY (tenant_id, token_id),
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id)
);

CREATE TABLE idempotency (
  tenant_id  text NOT NULL,
  rpc        text NOT NULL,
  key        text NOT NULL,
  response   bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, rpc, key)
);

-- Row-level security (F70): defence in depth behind the handlers' tenant checks. The
-- service queries as the non-owner role kefu_app with kefu.tenant_id set per
-- transaction (pg::Pool::TransactIn); FORCE makes the policy bind the owner too.
GRANT USAGE ON SCHEMA identity TO kefu_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA identity GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO kefu_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA identity GRANT USAGE, SELECT ON SEQUENCES TO kefu_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON tenants TO kefu_app;
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));
GRANT SELECT, INSERT, UPDATE, DELETE ON users TO kefu_app;
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON users
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));
GRANT SELECT, INSERT, UPDATE, DELETE ON refresh_tokens TO kefu_app;
ALTER TABLE refresh_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE refresh_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON refresh_tokens
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));
GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency TO kefu_app;
ALTER TABLE idempotency ENABLE ROW LEVEL SECURITY;
ALTER TABLE idempotency FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON idempotency
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));
