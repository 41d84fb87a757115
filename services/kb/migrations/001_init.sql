-- kb schema, version 1: knowledge-base categories (F40). Entries, bots and canned
-- phrases arrive with the knowledge-base issue.
CREATE TABLE categories (
  tenant_id   text NOT NULL,
  category_id text NOT NULL,
  parent_id   text,
  name        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, category_id)
);

-- Row-level security (F70): defence in depth behind the handlers' tenant checks. The
-- service queries as the non-owner role kefu_app with kefu.tenant_id set per
-- transaction (pg::Pool::TransactIn); FORCE makes the policy bind the owner too.
GRANT USAGE ON SCHEMA kb TO kefu_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA kb GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO kefu_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA kb GRANT USAGE, SELECT ON SEQUENCES TO kefu_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON categories TO kefu_app;
ALTER TABLE categories ENABLE ROW LEVEL SECURITY;
ALTER TABLE categories FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON categories
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));
