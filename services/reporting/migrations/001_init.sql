-- Events this service has applied, keyed by event id: consuming the tenant event
-- streams is at least once, so a replayed event is recognised here and skipped.
CREATE TABLE processed_events (
  tenant_id    text NOT NULL,
  event_id     text NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, event_id)
);

-- Row-level security (F70): defence in depth behind the handlers' tenant checks. The
-- service queries as the non-owner role kefu_app with kefu.tenant_id set per
-- transaction (pg::Pool::TransactIn); FORCE makes the policy bind the owner too.
GRANT USAGE ON SCHEMA reporting TO kefu_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA reporting GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO kefu_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA reporting GRANT USAGE, SELECT ON SEQUENCES TO kefu_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON processed_events TO kefu_app;
ALTER TABLE processed_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE processed_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON processed_events
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));
