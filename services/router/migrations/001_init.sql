-- router schema, version 1: the department tree (F11). Queues, agent routing
-- profiles, tier map, entry points and region strategies arrive with the router issue.
CREATE TABLE departments (
  tenant_id     text NOT NULL,
  department_id text NOT NULL,
  parent_id     text,
  name          text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, department_id),
  FOREIGN KEY (tenant_id, parent_id) REFERENCES departments (tenant_id, department_id)
);

-- Row-level security (F70): defence in depth behind the handlers' tenant checks. The
-- service queries as the non-owner role kefu_app with kefu.tenant_id set per
-- transaction (pg::Pool::TransactIn); FORCE makes the policy bind the owner too.
GRANT USAGE ON SCHEMA router TO kefu_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA router GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO kefu_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA router GRANT USAGE, SELECT ON SEQUENCES TO kefu_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON departments TO kefu_app;
ALTER TABLE departments ENABLE ROW LEVEL SECURITY;
ALTER TABLE departments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON departments
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));
