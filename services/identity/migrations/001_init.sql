-- identity schema, version 1: tenants (merchant accounts, F70).
-- Staff accounts, roles and row-level security arrive with the auth issue.
CREATE TABLE tenants (
  tenant_id  text PRIMARY KEY CHECK (tenant_id ~ '^[a-z0-9_-]{1,64}$'),
  name       text NOT NULL,
  time_zone  text NOT NULL DEFAULT 'Asia/Shanghai',
  created_at timestamptz NOT NULL DEFAULT now()
);
