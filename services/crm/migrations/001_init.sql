-- crm schema, version 1: customers and their cards, tier rules, registration forms,
-- visitors and visits, dialogs and transcripts, offline messages, ratings, contact
-- plans (F2, F5, F6, F32, F33, F50-F53). Every table carries tenant_id and row-level
-- security (block at the end).

-- Times cross the wire as microseconds since the epoch, exactly (no float rounding).
CREATE FUNCTION micros(t timestamptz) RETURNS bigint
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN (extract(epoch FROM t) * 1000000)::bigint;
CREATE FUNCTION from_micros(us bigint) RETURNS timestamptz
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN 'epoch'::timestamptz + us * interval '1 microsecond';

-- Per-tenant counters (customer numbers).
CREATE TABLE counters (
  tenant_id text NOT NULL,
  name      text NOT NULL,
  value     bigint NOT NULL,
  PRIMARY KEY (tenant_id, name)
);

-- Customer cards (F50). The identification keys (phones, emails, IM accounts as
-- "platform:account", visitor ids) are also rows of customer_keys, whose primary key
-- makes each key belong to at most one card of a tenant.
CREATE TABLE customers (
  tenant_id           text NOT NULL,
  customer_id         text NOT NULL,
  number_seq          bigint NOT NULL,
  customer_number     text NOT NULL,
  name                text NOT NULL DEFAULT '',
  tier                smallint NOT NULL,
  tier_locked         boolean NOT NULL DEFAULT false,
  phones              text[] NOT NULL DEFAULT '{}',
  emails              text[] NOT NULL DEFAULT '{}',
  im_accounts         text[] NOT NULL DEFAULT '{}',
  visitor_ids         text[] NOT NULL DEFAULT '{}',
  tags                text[] NOT NULL DEFAULT '{}',
  registration_fields jsonb NOT NULL DEFAULT '{}',
  exclusive_agent_id  text NOT NULL DEFAULT '',
  note                text NOT NULL DEFAULT '',
  language            smallint NOT NULL DEFAULT 0,
  dialog_count        integer NOT NULL DEFAULT 0,
  first_contact_time  timestamptz,
  last_contact_time   timestamptz,
  create_time         timestamptz NOT NULL DEFAULT now(),
  update_time         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, customer_id),
  UNIQUE (tenant_id, number_seq),
  UNIQUE (tenant_id, customer_number)
);
CREATE INDEX customers_tags ON customers USING gin (tags);
CREATE INDEX customers_exclusive_agent ON customers (tenant_id, exclusive_agent_id)
  WHERE exclusive_agent_id <> '';

-- kind is kefu.common.v1.IdentificationKey (1 phone, 2 visitor id, 3 email, 4 IM).
CREATE TABLE customer_keys (
  tenant_id   text NOT NULL,
  kind        smallint NOT NULL,
  value       text NOT NULL,
  customer_id text NOT NULL,
  PRIMARY KEY (tenant_id, kind, value),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, customer_id)
    ON DELETE CASCADE
);
CREATE INDEX customer_keys_customer ON customer_keys (tenant_id, customer_id);

-- A tenant's tier rules (F2), kefu.crm.v1.TierRule list as protobuf JSON. No row = the
-- default rules.
CREATE TABLE tier_rules (
  tenant_id   text NOT NULL PRIMARY KEY,
  rules       jsonb NOT NULL,
  update_time timestamptz NOT NULL DEFAULT now()
);

-- Registration form definitions (F6), kefu.crm.v1.RegistrationForm as protobuf JSON.
-- entry_point_id '' is the tenant default.
CREATE TABLE registration_forms (
  tenant_id      text NOT NULL,
  kind           smallint NOT NULL,
  entry_point_id text NOT NULL,
  form           jsonb NOT NULL,
  update_time    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, kind, entry_point_id)
);

-- Website visitors and their visits (F5).
CREATE TABLE visitors (
  tenant_id       text NOT NULL,
  visitor_id      text NOT NULL,
  customer_id     text NOT NULL DEFAULT '',
  first_seen_time timestamptz NOT NULL,
  last_seen_time  timestamptz NOT NULL,
  visit_count     integer NOT NULL DEFAULT 0,
  last_ip         text NOT NULL DEFAULT '',
  country_code    text NOT NULL DEFAULT '',
  province        text NOT NULL DEFAULT '',
  city            text NOT NULL DEFAULT '',
  PRIMARY KEY (tenant_id, visitor_id)
);

CREATE TABLE visits (
  tenant_id       text NOT NULL,
  visit_id        text NOT NULL,
  visitor_id      text NOT NULL,
  customer_id     text NOT NULL DEFAULT '',
  entry_point_id  text NOT NULL DEFAULT '',
  ip              text NOT NULL DEFAULT '',
  country_code    text NOT NULL DEFAULT '',
  province        text NOT NULL DEFAULT '',
  city            text NOT NULL DEFAULT '',
  referrer_url    text NOT NULL DEFAULT '',
  referrer_domain text NOT NULL DEFAULT '',
  search_engine   text NOT NULL DEFAULT '',
  search_keyword  text NOT NULL DEFAULT '',
  user_agent      text NOT NULL DEFAULT '',
  start_time      timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, visit_id)
);
CREATE INDEX visits_visitor ON visits (tenant_id, visitor_id, start_time DESC);

CREATE TABLE visit_pages (
  tenant_id    text NOT NULL,
  visit_id     text NOT NULL,
  url          text NOT NULL,
  title        text NOT NULL DEFAULT '',
  entered_time timestamptz NOT NULL,
  dwell_us     bigint,
  PRIMARY KEY (tenant_id, visit_id, entered_time, url)
);

-- Dialog records (F51, F53), written from the event stream.
CREATE TABLE dialogs (
  tenant_id      text NOT NULL,
  dialog_id      text NOT NULL,
  contact_id     text NOT NULL DEFAULT '',
  customer_id    text NOT NULL DEFAULT '',
  channel        smallint NOT NULL DEFAULT 0,
  entry_point_id text NOT NULL DEFAULT '',
  department_id  text NOT NULL DEFAULT '',
  initiation     smallint NOT NULL DEFAULT 0,
  end_type       smallint NOT NULL DEFAULT 0,
  valid          boolean NOT NULL DEFAULT false,
  connected      boolean NOT NULL DEFAULT false,
  start_time     timestamptz NOT NULL,
  end_time       timestamptz,
  wait_us        bigint NOT NULL DEFAULT 0,
  duration_us    bigint NOT NULL DEFAULT 0,
  -- kefu.common.v1.DialogSummary, protobuf binary; NULL when none.
  summary        bytea,
  message_count  integer NOT NULL DEFAULT 0,
  visitor_id     text NOT NULL DEFAULT '',
  country_code   text NOT NULL DEFAULT '',
  province       text NOT NULL DEFAULT '',
  city           text NOT NULL DEFAULT '',
  tier           smallint NOT NULL DEFAULT 0,
  -- The end was counted on the customer's card (dialog_count, tier rules) once.
  counted        boolean NOT NULL DEFAULT false,
  PRIMARY KEY (tenant_id, dialog_id)
);
CREATE INDEX dialogs_start ON dialogs (tenant_id, start_time DESC, dialog_id);
CREATE INDEX dialogs_customer ON dialogs (tenant_id, customer_id, end_time DESC);

-- The agents of a dialog in order (transfers make several) (F53).
CREATE TABLE dialog_agents (
  tenant_id     text NOT NULL,
  dialog_id     text NOT NULL,
  position      integer NOT NULL,
  agent_id      text NOT NULL,
  department_id text NOT NULL DEFAULT '',
  initiation    smallint NOT NULL DEFAULT 0,
  start_time    timestamptz,
  end_time      timestamptz,
  PRIMARY KEY (tenant_id, dialog_id, position)
);
CREATE INDEX dialog_agents_agent ON dialog_agents (tenant_id, agent_id);

-- Transcript entries, appended idempotently by message id (F51). `message` is the
-- kefu.common.v1.Message in protobuf binary; search_text what full-text search looks at.
CREATE TABLE messages (
  tenant_id   text NOT NULL,
  dialog_id   text NOT NULL,
  message_id  text NOT NULL,
  sequence    bigint NOT NULL,
  sender_type smallint NOT NULL DEFAULT 0,
  sent_time   timestamptz NOT NULL,
  search_text text NOT NULL DEFAULT '',
  message     bytea NOT NULL,
  PRIMARY KEY (tenant_id, dialog_id, message_id)
);
CREATE INDEX messages_order ON messages (tenant_id, dialog_id, sequence, message_id);

-- One rating per dialog (F32).
CREATE TABLE ratings (
  tenant_id        text NOT NULL,
  dialog_id        text NOT NULL,
  customer_id      text NOT NULL DEFAULT '',
  agent_id         text NOT NULL DEFAULT '',
  department_id    text NOT NULL DEFAULT '',
  score            smallint NOT NULL CHECK (score BETWEEN 1 AND 5),
  comment          text NOT NULL DEFAULT '',
  invited_by_agent boolean NOT NULL DEFAULT false,
  create_time      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, dialog_id)
);
CREATE INDEX ratings_time ON ratings (tenant_id, create_time DESC, dialog_id);

-- Offline messages (F33). status is kefu.crm.v1.OfflineMessageStatus.
CREATE TABLE offline_messages (
  tenant_id          text NOT NULL,
  offline_message_id text NOT NULL,
  customer_id        text NOT NULL DEFAULT '',
  contact_id         text NOT NULL DEFAULT '',
  visitor_id         text NOT NULL DEFAULT '',
  entry_point_id     text NOT NULL DEFAULT '',
  department_id      text NOT NULL DEFAULT '',
  channel            smallint NOT NULL DEFAULT 0,
  content            text NOT NULL,
  form_fields        jsonb NOT NULL DEFAULT '{}',
  status             smallint NOT NULL,
  create_time        timestamptz NOT NULL DEFAULT now(),
  reply_text         text NOT NULL DEFAULT '',
  reply_channel      smallint NOT NULL DEFAULT 0,
  replied_by         text NOT NULL DEFAULT '',
  reply_time         timestamptz,
  PRIMARY KEY (tenant_id, offline_message_id)
);
CREATE INDEX offline_messages_time ON offline_messages
  (tenant_id, create_time DESC, offline_message_id);

-- Contact plans / records (F52). method_kind is kefu.crm.v1.ContactMethodKind.
CREATE TABLE contact_plans (
  tenant_id       text NOT NULL,
  contact_plan_id text NOT NULL,
  customer_id     text NOT NULL,
  contact_time    timestamptz NOT NULL,
  method_kind     smallint NOT NULL,
  method_value    text NOT NULL DEFAULT '',
  status          smallint NOT NULL,
  notes           text NOT NULL DEFAULT '',
  owner_id        text NOT NULL DEFAULT '',
  create_time     timestamptz NOT NULL DEFAULT now(),
  update_time     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, contact_plan_id)
);
CREATE INDEX contact_plans_time ON contact_plans (tenant_id, contact_time, contact_plan_id);

-- Results of retried mutations (docs/API.md "Idempotency"), kept at least 24 h.
CREATE TABLE idempotency_keys (
  tenant_id   text NOT NULL,
  caller      text NOT NULL,
  rpc         text NOT NULL,
  key         text NOT NULL,
  request     bytea NOT NULL,
  response    bytea,
  create_time timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, caller, rpc, key)
);
CREATE INDEX idempotency_keys_age ON idempotency_keys (tenant_id, create_time);

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
GRANT USAGE ON SCHEMA crm TO kefu_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA crm GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO kefu_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA crm GRANT USAGE, SELECT ON SEQUENCES TO kefu_app;
GRANT EXECUTE ON FUNCTION micros(timestamptz), from_micros(bigint) TO kefu_app;

GRANT SELECT, INSERT, UPDATE, DELETE ON counters TO kefu_app;
ALTER TABLE counters ENABLE ROW LEVEL SECURITY;
ALTER TABLE counters FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON counters
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));

GRANT SELECT, INSERT, UPDATE, DELETE ON customers TO kefu_app;
ALTER TABLE customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE customers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customers
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));

GRANT SELECT, INSERT, UPDATE, DELETE ON customer_keys TO kefu_app;
ALTER TABLE customer_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE customer_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customer_keys
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));

GRANT SELECT, INSERT, UPDATE, DELETE ON tier_rules TO kefu_app;
ALTER TABLE tier_rules ENABLE ROW LEVEL SECURITY;
ALTER TABLE tier_rules FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tier_rules
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));

GRANT SELECT, INSERT, UPDATE, DELETE ON registration_forms TO kefu_app;
ALTER TABLE registration_forms ENABLE ROW LEVEL SECURITY;
ALTER TABLE registration_forms FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON registration_forms
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));

GRANT SELECT, INSERT, UPDATE, DELETE ON visitors TO kefu_app;
ALTER TABLE visitors ENABLE ROW LEVEL SECURITY;
ALTER TABLE visitors FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON visitors
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));

GRANT SELECT, INSERT, UPDATE, DELETE ON visits TO kefu_app;
ALTER TABLE visits ENABLE ROW LEVEL SECURITY;
ALTER TABLE visits FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON visits
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));

GRANT SELECT, INSERT, UPDATE, DELETE ON visit_pages TO kefu_app;
ALTER TABLE visit_pages ENABLE ROW LEVEL SECURITY;
ALTER TABLE visit_pages FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON visit_pages
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));

GRANT SELECT, INSERT, UPDATE, DELETE ON dialogs TO kefu_app;
ALTER TABLE dialogs ENABLE ROW LEVEL SECURITY;
ALTER TABLE dialogs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON dialogs
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));

GRANT SELECT, INSERT, UPDATE, DELETE ON dialog_agents TO kefu_app;
ALTER TABLE dialog_agents ENABLE ROW LEVEL SECURITY;
ALTER TABLE dialog_agents FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON dialog_agents
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));

GRANT SELECT, INSERT, UPDATE, DELETE ON messages TO kefu_app;
ALTER TABLE messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE messages FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON messages
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));

GRANT SELECT, INSERT, UPDATE, DELETE ON ratings TO kefu_app;
ALTER TABLE ratings ENABLE ROW LEVEL SECURITY;
ALTER TABLE ratings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ratings
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));

GRANT SELECT, INSERT, UPDATE, DELETE ON offline_messages TO kefu_app;
ALTER TABLE offline_messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE offline_messages FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON offline_messages
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));

GRANT SELECT, INSERT, UPDATE, DELETE ON contact_plans TO kefu_app;
ALTER TABLE contact_plans ENABLE ROW LEVEL SECURITY;
ALTER TABLE contact_plans FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON contact_plans
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));

GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO kefu_app;
ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE idempotency_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON idempotency_keys
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));

GRANT SELECT, INSERT, UPDATE, DELETE ON processed_events TO kefu_app;
ALTER TABLE processed_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE processed_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON processed_events
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));
