-- reporting schema, version 3: per-day rollups of the per-agent figures (F61, F64, F65,
-- F67), so that a month of agent reports reads one row per agent and day instead of up to
-- 96 slot rows (docs/REPORTING.md, "Day rollups").
--
-- A local day depends on the report's time zone, so day rows are kept per (tenant, zone)
-- for the zones listed in day_zones. A zone is listed the first time a report asks for it
-- (ReportStore::EnsureDayZone), which fills its rows from agent_slots and
-- agent_status_intervals in the same transaction; from then on the event apply path adds
-- to them in the statements that add to the slots and insert the intervals. Filling takes
-- the tenant's advisory lock exclusively and applying takes it shared, so an event is in a
-- zone's days through the fill or through its apply: never both, never neither.

-- The local date of an instant in `zone`: the day a slot report groups the slot under.
CREATE FUNCTION local_day(t timestamptz, zone text) RETURNS date
  LANGUAGE sql STABLE PARALLEL SAFE
  RETURN (t AT TIME ZONE zone)::date;

-- The part of [s, e) in each local day of `zone` it overlaps, in microseconds. A day runs
-- from its local midnight to the next, as the online-time report cuts status intervals.
CREATE FUNCTION day_parts(s timestamptz, e timestamptz, zone text)
  RETURNS TABLE (day date, us bigint)
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$
    SELECT d::date, reporting.us(least(e, (d + interval '1 day') AT TIME ZONE zone)
                                 - greatest(s, d AT TIME ZONE zone))
    FROM generate_series(date_trunc('day', s AT TIME ZONE zone), e AT TIME ZONE zone,
                         interval '1 day') AS d
    WHERE least(e, (d + interval '1 day') AT TIME ZONE zone) > greatest(s, d AT TIME ZONE zone)
  $$;

-- Zones whose day rows are kept for a tenant (a few: each one is written by every event).
CREATE TABLE day_zones (
  tenant_id  text NOT NULL,
  time_zone  text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, time_zone)
);

-- agent_slots summed per local day of `time_zone` (the day of each slot's start).
CREATE TABLE agent_days (
  tenant_id     text NOT NULL,
  time_zone     text NOT NULL,
  day           date NOT NULL,
  agent_id      text NOT NULL,
  department_id text NOT NULL,
  consultations bigint NOT NULL DEFAULT 0,
  valid         bigint NOT NULL DEFAULT 0,
  invalid       bigint NOT NULL DEFAULT 0,
  transferred   bigint NOT NULL DEFAULT 0,
  resolved      bigint NOT NULL DEFAULT 0,
  wait_us       bigint NOT NULL DEFAULT 0,
  waited        bigint NOT NULL DEFAULT 0,
  duration_us   bigint NOT NULL DEFAULT 0,
  rated         bigint NOT NULL DEFAULT 0,
  score_sum     bigint NOT NULL DEFAULT 0,
  s1 bigint NOT NULL DEFAULT 0, s2 bigint NOT NULL DEFAULT 0, s3 bigint NOT NULL DEFAULT 0,
  s4 bigint NOT NULL DEFAULT 0, s5 bigint NOT NULL DEFAULT 0,
  offered       bigint NOT NULL DEFAULT 0,
  answered      bigint NOT NULL DEFAULT 0,
  response_us   bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, time_zone, day, agent_id, department_id)
);

-- agent_status_intervals per local day of `time_zone`: the time each status was held in the
-- day (OFFLINE while logged out, ended by a LOGIN, is not counted), and the seat-empty
-- changes that happened in it. A row exists for every agent and day the online-time
-- report has a status row for.
CREATE TABLE agent_status_days (
  tenant_id  text NOT NULL,
  time_zone  text NOT NULL,
  day        date NOT NULL,
  agent_id   text NOT NULL,
  online_us  bigint NOT NULL DEFAULT 0,
  busy_us    bigint NOT NULL DEFAULT 0,
  away_us    bigint NOT NULL DEFAULT 0,
  offline_us bigint NOT NULL DEFAULT 0,
  seat_empty bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, time_zone, day, agent_id)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON day_zones, agent_days, agent_status_days TO kefu_app;
GRANT EXECUTE ON FUNCTION local_day(timestamptz, text), day_parts(timestamptz, timestamptz, text)
  TO kefu_app;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['day_zones', 'agent_days', 'agent_status_days'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I'
                   ' USING (tenant_id = current_setting(''kefu.tenant_id'', true))'
                   ' WITH CHECK (tenant_id = current_setting(''kefu.tenant_id'', true))', t);
  END LOOP;
END $$;
