-- Current definitions (first made by migration 0022_rollups). Edit them here, never in a migration: every
-- definitions file is re-applied whenever one of them changes or a migration runs (SQL/README.md).
-- The maintained rollups: their refresh per organisation, the staleness notice, and the reads over them (the
-- server's and the DBAs'); the arithmetic they are filled with is in 0022_rollups.sql.

-- Replaces one organisation's rows of every maintained rollup, in one transaction: readers see the old rows
-- until it commits, then the new ones (one as_of). The work is the organisation's (Benchmarks/README.md,
-- "Rollups"): nothing of another organisation is read or written. One refresh of an organisation runs at a time
-- across all server instances (a transaction-level advisory lock on the organisation); a caller that finds one
-- running gets false and tries later, so a write committed during that refresh is not missed. With
-- p_unless_since, an organisation refreshed since then (by any instance) is left as it is (true): a server that
-- (re)connects refreshes every organisation once, and several servers starting together share the work.
CREATE OR REPLACE FUNCTION app.refresh_rollups(p_organisation_id uuid, p_unless_since timestamptz DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    started timestamptz := clock_timestamp();
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('engagement-rollup-refresh'), hashtext(p_organisation_id::text)) THEN
        RETURN false;
    END IF;
    IF p_unless_since IS NOT NULL AND EXISTS (
        SELECT FROM rollup.refreshes r WHERE r.organisation_id = p_organisation_id AND r.started_at >= p_unless_since) THEN
        RETURN true;
    END IF;
    DELETE FROM rollup.engagement_summary WHERE organisation_id = p_organisation_id;
    INSERT INTO rollup.engagement_summary SELECT * FROM app.rollup_summary(p_organisation_id, NULL, now());
    DELETE FROM rollup.engagement_monthly WHERE organisation_id = p_organisation_id;
    INSERT INTO rollup.engagement_monthly SELECT * FROM app.rollup_monthly(p_organisation_id, NULL);
    DELETE FROM rollup.engagement_finance WHERE organisation_id = p_organisation_id;
    INSERT INTO rollup.engagement_finance SELECT * FROM app.rollup_finance(p_organisation_id, NULL);
    DELETE FROM rollup.engagement_work WHERE organisation_id = p_organisation_id;
    INSERT INTO rollup.engagement_work SELECT * FROM app.rollup_work(p_organisation_id, NULL);
    INSERT INTO rollup.refreshes (organisation_id, started_at, milliseconds)
    VALUES (p_organisation_id, started, round(extract(epoch FROM clock_timestamp() - started) * 1000, 1));
    -- A week of history; rows without an organisation are the whole-database refreshes before migration 0047.
    DELETE FROM rollup.refreshes
    WHERE (organisation_id = p_organisation_id OR organisation_id IS NULL) AND started_at < now() - interval '7 days';
    RETURN true;
END
$$;
REVOKE ALL ON FUNCTION app.refresh_rollups(uuid, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.refresh_rollups(uuid, timestamptz) TO engagement_app;

-- Every organisation's ids, for the server's refresher (it refreshes each in its own call and transaction).
CREATE OR REPLACE FUNCTION app.rollup_organisations() RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT id FROM app.organisations ORDER BY id $$;
REVOKE ALL ON FUNCTION app.rollup_organisations() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.rollup_organisations() TO engagement_app;

-- Every organisation at once, in one transaction (tests, benchmarks, operators); false when any organisation's
-- refresh was running elsewhere (that one is left to it).
CREATE OR REPLACE FUNCTION app.refresh_rollups() RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    organisation uuid;
    complete boolean := true;
BEGIN
    FOR organisation IN SELECT id FROM app.organisations ORDER BY id LOOP
        complete := app.refresh_rollups(organisation) AND complete;
    END LOOP;
    RETURN complete;
END
$$;
REVOKE ALL ON FUNCTION app.refresh_rollups() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.refresh_rollups() TO engagement_app;

-- Writes that change a rollup's inputs tell listening servers which organisation changed (delivered at commit,
-- once per transaction, channel and payload); the server debounces and refreshes that organisation. A write
-- outside any tenant context (an operator's, a migration's) sends an empty payload: every organisation.
CREATE OR REPLACE FUNCTION app.notify_rollup_stale() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM app.notify_listeners('engagement_rollup_stale', coalesce(app.current_organisation_id()::text, ''));
    RETURN NULL;
END
$$;

-- Tenant-filtered views over the maintained rollups, for the server's role.
CREATE OR REPLACE VIEW app.engagement_rollup_summary WITH (security_barrier) AS
SELECT * FROM rollup.engagement_summary WHERE organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON app.engagement_rollup_summary TO engagement_app;

CREATE OR REPLACE VIEW app.engagement_rollup_monthly WITH (security_barrier) AS
SELECT * FROM rollup.engagement_monthly WHERE organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON app.engagement_rollup_monthly TO engagement_app;

CREATE OR REPLACE VIEW app.engagement_rollup_finance WITH (security_barrier) AS
SELECT * FROM rollup.engagement_finance WHERE organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON app.engagement_rollup_finance TO engagement_app;

-- engagement.rollup: from the maintained tables (source "materialized"), or live (p_fresh, or an engagement newer
-- than its organisation's last refresh). Both sources go through the same rendering.
CREATE OR REPLACE FUNCTION app.engagement_rollup(p_engagement_id uuid, p_fresh boolean, p_as_of timestamptz DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    org uuid := app.current_organisation_id();
    live boolean := p_fresh OR p_as_of IS NOT NULL;
    s record;
    work jsonb;
BEGIN
    IF NOT EXISTS (SELECT FROM app.engagements WHERE organisation_id = org AND id = p_engagement_id) THEN
        RETURN NULL;
    END IF;
    IF NOT live THEN
        SELECT * INTO s FROM app.engagement_rollup_summary m WHERE m.engagement_id = p_engagement_id;
        live := NOT FOUND;
        SELECT w.work INTO work FROM app.engagement_rollup_work w WHERE w.engagement_id = p_engagement_id;
        live := live OR NOT FOUND;
    END IF;
    IF p_as_of IS NOT NULL THEN
        -- Point in time (0340_point_in_time.sql): before the engagement existed there is nothing to roll up.
        IF (app.audit_image(org, 'engagements', p_engagement_id, p_as_of)).id IS NULL THEN
            PERFORM api.invalid_param('as_of', 'is before the engagement existed');
        END IF;
        SELECT * INTO s FROM app.rollup_summary(org, p_engagement_id, p_as_of, true) r WHERE r.engagement_id = p_engagement_id;
        SELECT w.work INTO work FROM app.rollup_work(org, p_engagement_id) w WHERE w.engagement_id = p_engagement_id;
    ELSIF live THEN
        SELECT * INTO s FROM app.rollup_summary(org, p_engagement_id, now()) r WHERE r.engagement_id = p_engagement_id;
        SELECT w.work INTO work FROM app.rollup_work(org, p_engagement_id) w WHERE w.engagement_id = p_engagement_id;
    END IF;
    RETURN jsonb_build_object(
        'engagement_id', p_engagement_id, 'as_of', s.as_of,
        'source', CASE WHEN p_as_of IS NOT NULL THEN 'history' WHEN live THEN 'live' ELSE 'materialized' END,
        'engagements', s.engagements,
        'by_status', jsonb_build_object('draft', s.draft, 'active', s.active, 'on_hold', s.on_hold,
                                        'completed', s.completed, 'archived', s.archived),
        'contract_value', s.contract_value,
        'health', jsonb_build_object(
            'by_band', jsonb_build_object('red', s.health_red, 'amber', s.health_amber, 'green', s.health_green,
                                          'unknown', s.health_unknown),
            'mean', s.health_mean, 'weighted_by_contract_value', s.health_weighted),
        'risks', jsonb_build_object('open', s.open_risks, 'by_probability', s.risks_by_probability,
                                    'by_severity', s.risks_by_severity, 'value_at_risk', s.value_at_risk),
        'work', work,
        'monthly', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'period', to_char(m.period, 'YYYY-MM'), 'check_ins', m.check_ins, 'planned_hours', m.planned_hours,
                       'actual_hours', m.actual_hours, 'health_mean', m.health_mean,
                       'health_by_band', jsonb_build_object('red', m.health_red, 'amber', m.health_amber, 'green', m.health_green))
                       ORDER BY m.period)
            FROM (SELECT * FROM app.rollup_monthly(org, p_engagement_id) WHERE live
                  UNION ALL
                  SELECT * FROM app.engagement_rollup_monthly WHERE NOT live) m
            WHERE m.engagement_id = p_engagement_id AND (p_as_of IS NULL OR m.period < p_as_of)), '[]'),
        'finance', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'period', to_char(f.period, 'YYYY-MM'), 'currency', f.currency,
                       'revenue_plan', f.revenue_plan, 'revenue_actual', f.revenue_actual,
                       'cost_plan', f.cost_plan, 'cost_actual', f.cost_actual, 'cost_variance', f.cost_actual - f.cost_plan)
                       ORDER BY f.period, f.currency)
            FROM (SELECT * FROM app.rollup_finance(org, p_engagement_id) WHERE live
                  UNION ALL
                  SELECT * FROM app.engagement_rollup_finance WHERE NOT live) f
            WHERE f.engagement_id = p_engagement_id AND (p_as_of IS NULL OR f.period < p_as_of)), '[]'))
        || CASE WHEN p_as_of IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('sources', jsonb_build_object(
               'engagements', 'audit_log', 'contract_value', 'audit_log', 'risks', 'audit_log', 'health', 'audit_log',
               'monthly', 'current', 'finance', 'current', 'work', 'current')) END;
END
$$;

-- For DBAs: the same rollups, filtered to the login's organisation.
CREATE OR REPLACE VIEW reporting.engagement_rollup WITH (security_barrier) AS
SELECT s.engagement_id, e.code AS engagement_code, e.name AS engagement_name, e.parent_id, s.engagements,
       s.draft, s.active, s.on_hold, s.completed, s.archived, s.contract_value,
       s.health_red, s.health_amber, s.health_green, s.health_unknown, s.health_mean,
       s.health_weighted AS health_weighted_by_contract_value, s.open_risks, s.risks_by_probability,
       s.risks_by_severity, s.value_at_risk, s.as_of
FROM rollup.engagement_summary s
JOIN app.engagements e ON e.organisation_id = s.organisation_id AND e.id = s.engagement_id
WHERE s.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.engagement_rollup TO engagement_reporting;

CREATE OR REPLACE VIEW reporting.engagement_rollup_monthly WITH (security_barrier) AS
SELECT m.engagement_id, e.code AS engagement_code, m.period, m.check_ins, m.planned_hours, m.actual_hours,
       m.health_mean, m.health_red, m.health_amber, m.health_green
FROM rollup.engagement_monthly m
JOIN app.engagements e ON e.organisation_id = m.organisation_id AND e.id = m.engagement_id
WHERE m.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.engagement_rollup_monthly TO engagement_reporting;

CREATE OR REPLACE VIEW reporting.engagement_rollup_finance WITH (security_barrier) AS
SELECT f.engagement_id, e.code AS engagement_code, f.period, f.currency, f.revenue_plan, f.revenue_actual,
       f.cost_plan, f.cost_actual, f.cost_actual - f.cost_plan AS cost_variance
FROM rollup.engagement_finance f
JOIN app.engagements e ON e.organisation_id = f.organisation_id AND e.id = f.engagement_id
WHERE f.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.engagement_rollup_finance TO engagement_reporting;
