-- reporting schema, version 2: the facts the reports need and their 15-minute rollups
-- (F61-F67, docs/REPORTING.md). Every fact row is keyed by what makes it unique
-- (dialog, rating, session, offer, event), so applying an event twice adds nothing; the
-- rollups are only incremented in the transaction that inserted the fact.
--
-- Slots are 15-minute buckets in UTC: every time zone's offset is a multiple of 15
-- minutes, so a local day or hour is always a whole number of slots.

-- Times cross the wire as microseconds since the epoch, exactly (no float rounding).
CREATE FUNCTION ts(us bigint) RETURNS timestamptz
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN 'epoch'::timestamptz + us * interval '1 microsecond';
CREATE FUNCTION micros(t timestamptz) RETURNS bigint
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN (extract(epoch FROM t) * 1000000)::bigint;
CREATE FUNCTION us(i interval) RETURNS bigint
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN (extract(epoch FROM i) * 1000000)::bigint;

CREATE FUNCTION slot_of(t timestamptz) RETURNS timestamptz
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN date_bin('15 minutes', t, timestamptz '2000-01-01 00:00:00+00');

-- One row per ended dialog (DialogEnded): the dedup key of the dialog rollups.
CREATE TABLE dialogs (
  tenant_id      text NOT NULL,
  dialog_id      text NOT NULL,
  department_id  text NOT NULL,
  start_time     timestamptz NOT NULL,
  end_time       timestamptz NOT NULL,
  valid          boolean NOT NULL,
  connected      boolean NOT NULL,
  end_type       smallint NOT NULL,
  wait_us        bigint NOT NULL,
  talk_us        bigint NOT NULL,
  transfer_count integer NOT NULL,
  resolved       boolean NOT NULL,
  PRIMARY KEY (tenant_id, dialog_id)
);

-- Dialogs of one group (department) that started in one slot, and the ratings given in
-- it (F61-F63).
CREATE TABLE group_slots (
  tenant_id        text NOT NULL,
  slot             timestamptz NOT NULL,
  department_id    text NOT NULL,
  total            bigint NOT NULL DEFAULT 0,
  valid            bigint NOT NULL DEFAULT 0,
  invalid          bigint NOT NULL DEFAULT 0,
  connected        bigint NOT NULL DEFAULT 0,
  abandoned        bigint NOT NULL DEFAULT 0,
  offline_messages bigint NOT NULL DEFAULT 0,
  transferred      bigint NOT NULL DEFAULT 0,
  wait_us          bigint NOT NULL DEFAULT 0,  -- summed over connected dialogs
  talk_us          bigint NOT NULL DEFAULT 0,  -- summed over connected dialogs
  rated            bigint NOT NULL DEFAULT 0,
  score_sum        bigint NOT NULL DEFAULT 0,
  s1 bigint NOT NULL DEFAULT 0, s2 bigint NOT NULL DEFAULT 0, s3 bigint NOT NULL DEFAULT 0,
  s4 bigint NOT NULL DEFAULT 0, s5 bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, slot, department_id)
);

-- One agent's dialog segments that started in one slot, ratings, offers (F61, F64, F67).
-- Offers do not know a department: their rows have department_id ''.
CREATE TABLE agent_slots (
  tenant_id     text NOT NULL,
  slot          timestamptz NOT NULL,
  agent_id      text NOT NULL,
  department_id text NOT NULL,
  consultations bigint NOT NULL DEFAULT 0,
  valid         bigint NOT NULL DEFAULT 0,
  invalid       bigint NOT NULL DEFAULT 0,
  transferred   bigint NOT NULL DEFAULT 0,  -- segments that ended by a transfer
  resolved      bigint NOT NULL DEFAULT 0,  -- last segments of dialogs summarised resolved
  wait_us       bigint NOT NULL DEFAULT 0,  -- first segments: the customer's wait
  waited        bigint NOT NULL DEFAULT 0,
  duration_us   bigint NOT NULL DEFAULT 0,
  rated         bigint NOT NULL DEFAULT 0,
  score_sum     bigint NOT NULL DEFAULT 0,
  s1 bigint NOT NULL DEFAULT 0, s2 bigint NOT NULL DEFAULT 0, s3 bigint NOT NULL DEFAULT 0,
  s4 bigint NOT NULL DEFAULT 0, s5 bigint NOT NULL DEFAULT 0,
  offered       bigint NOT NULL DEFAULT 0,
  answered      bigint NOT NULL DEFAULT 0,
  response_us   bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, slot, agent_id, department_id)
);
CREATE INDEX agent_slots_agent ON agent_slots (tenant_id, agent_id, slot);

-- At most one rating per dialog (F32, F61).
CREATE TABLE ratings (
  tenant_id     text NOT NULL,
  dialog_id     text NOT NULL,
  agent_id      text NOT NULL,
  department_id text NOT NULL,
  score         smallint NOT NULL,
  rated_time    timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, dialog_id)
);

-- Offers seen, so a created or accepted offer counts once even under two event ids.
CREATE TABLE offers (
  tenant_id   text NOT NULL,
  offer_id    text NOT NULL,
  created     boolean NOT NULL DEFAULT false,
  accepted    boolean NOT NULL DEFAULT false,
  PRIMARY KEY (tenant_id, offer_id)
);

-- Offline messages (F66): left and replied may arrive in either order.
CREATE TABLE offline_messages (
  tenant_id          text NOT NULL,
  offline_message_id text NOT NULL,
  department_id      text NOT NULL DEFAULT '',
  left_time          timestamptz,
  replied_time       timestamptz,
  reply_us           bigint,
  PRIMARY KEY (tenant_id, offline_message_id)
);
CREATE INDEX offline_messages_left ON offline_messages (tenant_id, left_time);

-- Agent sessions, login to logout (F65, F67); logout may arrive first.
CREATE TABLE agent_sessions (
  tenant_id   text NOT NULL,
  session_id  text NOT NULL,
  agent_id    text NOT NULL,
  login_time  timestamptz,
  logout_time timestamptz,
  PRIMARY KEY (tenant_id, session_id)
);
CREATE INDEX agent_sessions_login ON agent_sessions (tenant_id, login_time);

-- Finished status intervals from AgentStatusChanged (F65): `status` held from start_time to
-- end_time, then changed to next_status for `reason`.
CREATE TABLE agent_status_intervals (
  tenant_id   text NOT NULL,
  event_id    text NOT NULL,
  agent_id    text NOT NULL,
  status      smallint NOT NULL,
  start_time  timestamptz NOT NULL,
  end_time    timestamptz NOT NULL,
  next_status smallint NOT NULL,
  reason      smallint NOT NULL,
  PRIMARY KEY (tenant_id, event_id)
);
CREATE INDEX agent_status_intervals_end ON agent_status_intervals (tenant_id, end_time);

GRANT SELECT, INSERT, UPDATE, DELETE ON dialogs, group_slots, agent_slots, ratings, offers,
  offline_messages, agent_sessions, agent_status_intervals TO kefu_app;
GRANT EXECUTE ON FUNCTION slot_of(timestamptz), ts(bigint), micros(timestamptz), us(interval)
  TO kefu_app;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['dialogs', 'group_slots', 'agent_slots', 'ratings', 'offers',
                           'offline_messages', 'agent_sessions', 'agent_status_intervals'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I'
                   ' USING (tenant_id = current_setting(''kefu.tenant_id'', true))'
                   ' WITH CHECK (tenant_id = current_setting(''kefu.tenant_id'', true))', t);
  END LOOP;
END $$;
