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
