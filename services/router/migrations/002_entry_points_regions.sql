-- router schema, version 2: entry points (F16) and region strategies (F15), kept as their
-- API messages like the rest of the routing configuration.
CREATE TABLE entry_points (
  tenant_id      text NOT NULL,
  entry_point_id text NOT NULL,
  body           bytea NOT NULL,   -- kefu.router.v1.EntryPoint
  PRIMARY KEY (tenant_id, entry_point_id)
);

CREATE TABLE region_strategies (
  tenant_id   text NOT NULL,
  strategy_id text NOT NULL,
  sort_order  integer NOT NULL DEFAULT 0,
  body        bytea NOT NULL,      -- kefu.router.v1.RegionStrategy
  PRIMARY KEY (tenant_id, strategy_id)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON entry_points TO kefu_app;
ALTER TABLE entry_points ENABLE ROW LEVEL SECURITY;
ALTER TABLE entry_points FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON entry_points
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));
GRANT SELECT, INSERT, UPDATE, DELETE ON region_strategies TO kefu_app;
ALTER TABLE region_strategies ENABLE ROW LEVEL SECURITY;
ALTER TABLE region_strategies FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON region_strategies
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));
