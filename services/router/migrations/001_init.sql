-- router schema, version 1: routing configuration (F10, F11, F13, F16, F54). Each
-- object is kept as its API message (body) with the columns queries need; the live
-- side (queues, offers, agents' slots) is in Redis (lua/route.lua).
CREATE TABLE departments (
  tenant_id     text NOT NULL,
  department_id text NOT NULL,
  parent_id     text NOT NULL DEFAULT '',
  queue_id      text NOT NULL DEFAULT '',
  body          bytea NOT NULL,   -- kefu.router.v1.Department
  PRIMARY KEY (tenant_id, department_id)
);

CREATE TABLE queues (
  tenant_id  text NOT NULL,
  queue_id   text NOT NULL,
  is_default boolean NOT NULL DEFAULT false,
  body       bytea NOT NULL,      -- kefu.router.v1.Queue
  PRIMARY KEY (tenant_id, queue_id)
);

CREATE TABLE agent_profiles (
  tenant_id text NOT NULL,
  agent_id  text NOT NULL,
  body      bytea NOT NULL,       -- kefu.router.v1.AgentProfile
  PRIMARY KEY (tenant_id, agent_id)
);

CREATE TABLE tier_maps (
  tenant_id text PRIMARY KEY,
  body      bytea NOT NULL        -- kefu.router.v1.GetTierMapResponse
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
GRANT SELECT, INSERT, UPDATE, DELETE ON queues TO kefu_app;
ALTER TABLE queues ENABLE ROW LEVEL SECURITY;
ALTER TABLE queues FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON queues
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));
GRANT SELECT, INSERT, UPDATE, DELETE ON agent_profiles TO kefu_app;
ALTER TABLE agent_profiles ENABLE ROW LEVEL SECURITY;
ALTER TABLE agent_profiles FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON agent_profiles
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));
GRANT SELECT, INSERT, UPDATE, DELETE ON tier_maps TO kefu_app;
ALTER TABLE tier_maps ENABLE ROW LEVEL SECURITY;
ALTER TABLE tier_maps FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tier_maps
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));
