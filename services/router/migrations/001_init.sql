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
