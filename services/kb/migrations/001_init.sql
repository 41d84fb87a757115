-- kb schema, version 1: the knowledge base, bots and canned phrases (F40-F43).
--
-- Every change to a category, an entry or a bot takes the next value of its tenant's
-- revision counter (tenant_state.revision) in its own transaction, and stamps the row
-- with it. The counter row is locked until commit, so revisions commit in order: a kb
-- replica holding revision R catches up by reading the rows with revision > R, and is
-- fresh when R equals the counter. Deleted categories, entries and bots stay as
-- tombstones (deleted = true) so that catching up sees deletions too.
CREATE TABLE tenant_state (
  tenant_id text PRIMARY KEY,
  revision  bigint NOT NULL DEFAULT 0
);

-- The tenant's revision in one round trip (the check before every Ask and Search): binds
-- the transaction to the tenant exactly as pg::Pool::TransactIn does, so row-level
-- security applies as everywhere else.
CREATE FUNCTION tenant_revision(t text) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('kefu.tenant_id', t, true);
  RETURN COALESCE((SELECT revision FROM kb.tenant_state WHERE tenant_id = t), 0);
END
$$;

-- Knowledge categories; they nest (parent_id '' = top level) (F40).
CREATE TABLE categories (
  tenant_id   text NOT NULL,
  category_id text NOT NULL,
  parent_id   text NOT NULL DEFAULT '',
  name_zh     text NOT NULL DEFAULT '',
  name_en     text NOT NULL DEFAULT '',
  sort_order  integer NOT NULL DEFAULT 0,
  revision    bigint NOT NULL,
  deleted     boolean NOT NULL DEFAULT false,
  create_time timestamptz NOT NULL DEFAULT now(),
  update_time timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, category_id)
);
CREATE INDEX categories_by_revision ON categories (tenant_id, revision);

-- Knowledge entries (F40); only PUBLISHED ones answer.
CREATE TABLE entries (
  tenant_id   text NOT NULL,
  entry_id    text NOT NULL,
  category_id text NOT NULL DEFAULT '',          -- '' = uncategorised
  question    text NOT NULL,
  phrasings   text[] NOT NULL DEFAULT '{}',
  keywords    text[] NOT NULL DEFAULT '{}',
  answer      text NOT NULL,
  status      smallint NOT NULL,                 -- kefu.kb.v1.EntryStatus
  language    smallint NOT NULL,                 -- kefu.common.v1.Language
  revision    bigint NOT NULL,
  deleted     boolean NOT NULL DEFAULT false,
  create_time timestamptz NOT NULL DEFAULT now(),
  update_time timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, entry_id)
);
CREATE INDEX entries_by_revision ON entries (tenant_id, revision);
CREATE INDEX entries_by_category ON entries (tenant_id, category_id) WHERE NOT deleted;

-- Bots (F41, F42).
CREATE TABLE bots (
  tenant_id                text NOT NULL,
  bot_id                   text NOT NULL,
  name                     text NOT NULL,
  online                   boolean NOT NULL DEFAULT false,
  auto_online              boolean NOT NULL DEFAULT false,
  hidden                   boolean NOT NULL DEFAULT false,
  accept_transfer          boolean NOT NULL DEFAULT false,
  category_ids             text[] NOT NULL DEFAULT '{}',  -- memory; '{}' = every category
  answer_threshold         double precision NOT NULL,
  clarify_threshold        double precision NOT NULL,
  max_choices              integer NOT NULL,
  max_low_confidence_turns integer NOT NULL,
  escalation_phrases       text[] NOT NULL DEFAULT '{}',  -- '{}' = the built-in ones
  greeting_zh              text NOT NULL DEFAULT '',
  greeting_en              text NOT NULL DEFAULT '',
  escalation_zh            text NOT NULL DEFAULT '',
  escalation_en            text NOT NULL DEFAULT '',
  language                 smallint NOT NULL DEFAULT 0,
  revision                 bigint NOT NULL,
  deleted                  boolean NOT NULL DEFAULT false,
  create_time              timestamptz NOT NULL DEFAULT now(),
  update_time              timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, bot_id)
);
CREATE INDEX bots_by_revision ON bots (tenant_id, revision);

-- Canned phrases and their categories (F43): PUBLIC ones (owner_id '') for the tenant,
-- PERSONAL ones for their owner.
CREATE TABLE phrase_categories (
  tenant_id   text NOT NULL,
  category_id text NOT NULL,
  scope       smallint NOT NULL,                 -- kefu.kb.v1.PhraseScope
  owner_id    text NOT NULL DEFAULT '',
  name        text NOT NULL,
  sort_order  integer NOT NULL DEFAULT 0,
  create_time timestamptz NOT NULL DEFAULT now(),
  update_time timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, category_id)
);

CREATE TABLE phrases (
  tenant_id   text NOT NULL,
  phrase_id   text NOT NULL,
  scope       smallint NOT NULL,
  owner_id    text NOT NULL DEFAULT '',
  category_id text NOT NULL DEFAULT '',
  title       text NOT NULL DEFAULT '',
  body        text NOT NULL,
  shortcut    text NOT NULL DEFAULT '',
  language    smallint NOT NULL DEFAULT 0,
  sort_order  integer NOT NULL DEFAULT 0,
  create_time timestamptz NOT NULL DEFAULT now(),
  update_time timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, phrase_id)
);
-- "/hi" means one phrase among the public ones and one among each agent's own.
CREATE UNIQUE INDEX phrases_shortcut ON phrases (tenant_id, scope, owner_id, shortcut)
  WHERE shortcut <> '';
CREATE INDEX phrases_by_owner ON phrases (tenant_id, owner_id, sort_order, phrase_id);

-- Retried mutations (docs/API.md "Idempotency"): scope (tenant, caller, RPC, key), the
-- request's fingerprint and the first response; written in the mutation's transaction.
CREATE TABLE idempotency (
  tenant_id    text NOT NULL,
  caller       text NOT NULL,
  rpc          text NOT NULL,
  key          text NOT NULL,
  request_hash text NOT NULL,
  response     bytea,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, caller, rpc, key)
);
CREATE INDEX idempotency_by_age ON idempotency (tenant_id, created_at);

-- Row-level security (F70): defence in depth behind the handlers' tenant checks. The
-- service queries as the non-owner role kefu_app with kefu.tenant_id set per
-- transaction (pg::Pool::TransactIn); FORCE makes the policy bind the owner too.
GRANT USAGE ON SCHEMA kb TO kefu_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA kb GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO kefu_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA kb GRANT USAGE, SELECT ON SEQUENCES TO kefu_app;
GRANT EXECUTE ON FUNCTION tenant_revision(text) TO kefu_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON tenant_state TO kefu_app;
ALTER TABLE tenant_state ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_state FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_state
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));
GRANT SELECT, INSERT, UPDATE, DELETE ON categories TO kefu_app;
ALTER TABLE categories ENABLE ROW LEVEL SECURITY;
ALTER TABLE categories FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON categories
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));
GRANT SELECT, INSERT, UPDATE, DELETE ON entries TO kefu_app;
ALTER TABLE entries ENABLE ROW LEVEL SECURITY;
ALTER TABLE entries FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON entries
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));
GRANT SELECT, INSERT, UPDATE, DELETE ON bots TO kefu_app;
ALTER TABLE bots ENABLE ROW LEVEL SECURITY;
ALTER TABLE bots FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON bots
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));
GRANT SELECT, INSERT, UPDATE, DELETE ON phrase_categories TO kefu_app;
ALTER TABLE phrase_categories ENABLE ROW LEVEL SECURITY;
ALTER TABLE phrase_categories FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON phrase_categories
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));
GRANT SELECT, INSERT, UPDATE, DELETE ON phrases TO kefu_app;
ALTER TABLE phrases ENABLE ROW LEVEL SECURITY;
ALTER TABLE phrases FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON phrases
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));
GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency TO kefu_app;
ALTER TABLE idempotency ENABLE ROW LEVEL SECURITY;
ALTER TABLE idempotency FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON idempotency
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));
