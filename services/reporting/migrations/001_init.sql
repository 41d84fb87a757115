-- Events this service has applied, keyed by event id: consuming the tenant event
-- streams is at least once, so a replayed event is recognised here and skipped.
CREATE TABLE processed_events (
  tenant_id    text NOT NULL,
  event_id     text NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, event_id)
);
