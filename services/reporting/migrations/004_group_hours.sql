-- reporting schema, version 4: hour rollups of the group figures (F62, F63), so that a
-- month of the per-group-per-hour report reads one row per group and hour instead of four
-- 15-minute slot rows (docs/MONITORING.md, "Reporting data").
--
-- Unlike a local day, a local hour does not depend on the zone, only on where the zone's
-- hours start within the UTC hour, the "phase": minus its offset, modulo one hour (0 for
-- UTC+8 or UTC-5, 30 for UTC+5:30 or UTC-3:30, 15 for UTC+5:45 or UTC+12:45, whose hours
-- start at a quarter past the UTC hour; no zone in use has 45). Hour rows are kept per
-- (tenant, phase) for the phases listed in hour_phases: one phase serves every zone whose
-- offset has it. A phase is listed the first time a group report asks for it
-- (ReportStore::EnsureHourPhase), which fills its rows from group_slots in the same
-- transaction; from then on the event apply path adds to them in the statement that adds
-- to group_slots. Filling takes the tenant's rollup advisory lock exclusively and applying
-- takes it shared (the lock of 003's day rows), so an event is in a phase's hours through
-- the fill or through its apply: never both, never neither.

-- The start of the hour of `phase` minutes past the UTC hour that holds `t`.
CREATE FUNCTION hour_of(t timestamptz, phase smallint) RETURNS timestamptz
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN date_bin('1 hour', t, timestamptz '2000-01-01 00:00:00+00' + phase * interval '1 minute');

-- Phases whose hour rows are kept for a tenant (at most four: 0, 15, 30, 45).
CREATE TABLE hour_phases (
  tenant_id     text NOT NULL,
  phase_minutes smallint NOT NULL CHECK (phase_minutes IN (0, 15, 30, 45)),
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, phase_minutes)
);

-- group_slots summed per hour starting `phase_minutes` past a UTC hour (the hour of each
-- slot's start): the four slots from `hour` on.
CREATE TABLE group_hours (
  tenant_id        text NOT NULL,
  phase_minutes    smallint NOT NULL,
  hour             timestamptz NOT NULL,
  department_id    text NOT NULL,
  total            bigint NOT NULL DEFAULT 0,
  valid            bigint NOT NULL DEFAULT 0,
  invalid          bigint NOT NULL DEFAULT 0,
  connected        bigint NOT NULL DEFAULT 0,
  abandoned        bigint NOT NULL DEFAULT 0,
  offline_messages bigint NOT NULL DEFAULT 0,
  transferred      bigint NOT NULL DEFAULT 0,
  wait_us          bigint NOT NULL DEFAULT 0,
  talk_us          bigint NOT NULL DEFAULT 0,
  rated            bigint NOT NULL DEFAULT 0,
  score_sum        bigint NOT NULL DEFAULT 0,
  s1 bigint NOT NULL DEFAULT 0, s2 bigint NOT NULL DEFAULT 0, s3 bigint NOT NULL DEFAULT 0,
  s4 bigint NOT NULL DEFAULT 0, s5 bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, phase_minutes, hour, department_id)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON hour_phases, group_hours TO kefu_app;
GRANT EXECUTE ON FUNCTION hour_of(timestamptz, smallint) TO kefu_app;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['hour_phases', 'group_hours'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I'
                   ' USING (tenant_id = current_setting(''kefu.tenant_id'', true))'
                   ' WITH CHECK (tenant_id = current_setting(''kefu.tenant_id'', true))', t);
  END LOOP;
END $$;
