-- Current definitions (first made by migration 0022_rollups). Edit them here, never in a migration: every
-- definitions file is re-applied whenever one of them changes or a migration runs (SQL/README.md).

-- Subtrees come from app.engagement_subtree (one root, live) or app.engagement_closure (every engagement of one
-- organisation, for the maintained tables), both in 0019_health_now.sql. Every table a rollup reads is read for
-- p_organisation_id only (`x.organisation_id = p_organisation_id` beside each join), so refreshing one
-- organisation costs its rows, whatever the others hold.
--
-- The functions run with enable_nestloop off: the planner cannot estimate a recursive closure (it guesses a
-- handful of rows where a wide tree has thousands) and would otherwise join its thousands of rows by nested
-- loops over other CTEs, quadratically. Hash joins cost a scan of the organisation's rows instead, which stays
-- linear; lookups that must be per row are written as LATERAL subqueries and stay index scans. jit is off as
-- well: disabled paths carry a huge cost penalty, which would otherwise trigger seconds of JIT compilation.

-- The pairs a rollup aggregates: the subtree of p_root_id (live), or every engagement's of the organisation
-- (p_root_id NULL, for the maintained tables). Each branch runs only when its condition holds.
CREATE OR REPLACE FUNCTION app.rollup_closure(p_organisation_id uuid, p_root_id uuid)
RETURNS TABLE (organisation_id uuid, ancestor_id uuid, descendant_id uuid, depth integer)
LANGUAGE sql STABLE
AS $$
    SELECT * FROM app.engagement_subtree(p_organisation_id, p_root_id) WHERE p_root_id IS NOT NULL
    UNION ALL
    SELECT * FROM app.engagement_closure(p_organisation_id) WHERE p_root_id IS NULL
$$;

-- With p_past (one root only): the subtree, statuses, contracts and open risks as the audit log says they were at
-- p_as_of (the latest image of each row then, unless it was a deletion), health as stored and decayed to then.
-- Each branch runs only when its condition holds.
CREATE OR REPLACE FUNCTION app.rollup_summary(p_organisation_id uuid, p_root_id uuid, p_as_of timestamptz, p_past boolean)
RETURNS SETOF app.rollup_summary_row
LANGUAGE plpgsql STABLE
SET enable_nestloop = off
SET jit = off
AS $$
BEGIN
    -- PL/pgSQL, not SQL: Citus cannot plan a parameterised SQL-language function over distributed tables.
    RETURN QUERY
        WITH RECURSIVE
        past_engagements AS MATERIALIZED (
            SELECT (x.after ->> 'id')::uuid AS id, (x.after ->> 'parent_id')::uuid AS parent_id, x.after ->> 'status' AS status,
                   (x.after ->> 'contract_id')::uuid AS contract_id
            FROM (SELECT DISTINCT ON (a.entity_id) a.after, a.action FROM app.audit_log a
                  WHERE p_past AND a.organisation_id = p_organisation_id AND a.entity = 'engagements' AND a.at <= p_as_of
                  ORDER BY a.entity_id, a.at DESC, a.id DESC) x
            WHERE x.action <> 'delete'),
        past_subtree (descendant_id, depth) AS (
            SELECT id, 0 FROM past_engagements WHERE id = p_root_id
            UNION ALL
            SELECT e.id, s.depth + 1 FROM past_engagements e JOIN past_subtree s ON e.parent_id = s.descendant_id WHERE s.depth < 64),
        past_contracts AS MATERIALIZED (
            SELECT (x.after ->> 'id')::uuid AS id, (x.after ->> 'total_value')::numeric AS total_value, x.after ->> 'currency' AS currency
            FROM (SELECT DISTINCT ON (a.entity_id) a.after, a.action FROM app.audit_log a
                  WHERE p_past AND a.organisation_id = p_organisation_id AND a.entity = 'contracts' AND a.at <= p_as_of
                  ORDER BY a.entity_id, a.at DESC, a.id DESC) x
            WHERE x.action <> 'delete'),
        closure AS MATERIALIZED (
            SELECT * FROM app.rollup_closure(p_organisation_id, p_root_id) WHERE NOT p_past
            UNION ALL
            SELECT p_organisation_id, p_root_id, s.descendant_id, s.depth FROM past_subtree s WHERE p_past),
        health AS MATERIALIZED (
            SELECT h.organisation_id, h.engagement_id, h.score, h.band
            FROM app.health_now(p_organisation_id, p_root_id, true, p_as_of) h WHERE NOT p_past
            UNION ALL
            SELECT p_organisation_id, s.descendant_id, h.score, h.band
            FROM past_subtree s CROSS JOIN LATERAL app.current_health(p_organisation_id, s.descendant_id, p_as_of) h WHERE p_past),
        -- Every engagement of the scope is its own descendant in the closure.
        facts AS MATERIALIZED (
            SELECT e.organisation_id, e.id, e.status, e.contract_id, k.total_value, k.currency, h.score,
                   coalesce(h.band, 'unknown') AS band
            FROM closure d
            JOIN app.engagements e ON e.organisation_id = d.organisation_id AND e.id = d.descendant_id AND e.organisation_id = p_organisation_id
            LEFT JOIN app.contracts k ON k.organisation_id = e.organisation_id AND k.id = e.contract_id AND k.organisation_id = p_organisation_id
            LEFT JOIN health h ON h.organisation_id = e.organisation_id AND h.engagement_id = e.id
            WHERE NOT p_past AND (d.depth = 0 OR p_root_id IS NOT NULL)
            UNION ALL
            SELECT p_organisation_id, e.id, e.status, e.contract_id, k.total_value, k.currency, h.score, coalesce(h.band, 'unknown')
            FROM past_subtree d
            JOIN past_engagements e ON e.id = d.descendant_id
            LEFT JOIN past_contracts k ON k.id = e.contract_id
            LEFT JOIN health h ON h.engagement_id = e.id
            WHERE p_past),
        pairs AS (
            SELECT c.ancestor_id, f.*
            FROM closure c JOIN facts f ON f.organisation_id = c.organisation_id AND f.id = c.descendant_id),
        counts AS (
            SELECT organisation_id, ancestor_id, count(*) AS engagements,
                   count(*) FILTER (WHERE status = 'draft') AS draft, count(*) FILTER (WHERE status = 'active') AS active,
                   count(*) FILTER (WHERE status = 'on_hold') AS on_hold,
                   count(*) FILTER (WHERE status = 'completed') AS completed,
                   count(*) FILTER (WHERE status = 'archived') AS archived,
                   count(*) FILTER (WHERE band = 'red') AS health_red, count(*) FILTER (WHERE band = 'amber') AS health_amber,
                   count(*) FILTER (WHERE band = 'green') AS health_green,
                   count(*) FILTER (WHERE band = 'unknown') AS health_unknown,
                   round(avg(score), 2) AS health_mean
            FROM pairs GROUP BY organisation_id, ancestor_id),
        -- Each contract once per subtree, even when several of its engagements are in it; never across currencies.
        contract_values AS (
            SELECT organisation_id, ancestor_id, jsonb_object_agg(currency, amount ORDER BY currency) AS contract_value
            FROM (SELECT organisation_id, ancestor_id, currency, sum(total_value) AS amount
                  FROM (SELECT DISTINCT organisation_id, ancestor_id, contract_id, currency, total_value FROM pairs
                        WHERE contract_id IS NOT NULL AND total_value IS NOT NULL) d
                  GROUP BY organisation_id, ancestor_id, currency) v
            GROUP BY organisation_id, ancestor_id),
        -- Scores weighted by each engagement's contract value, per currency of that value.
        weighted AS (
            SELECT organisation_id, ancestor_id, jsonb_object_agg(currency, mean ORDER BY currency) AS health_weighted
            FROM (SELECT organisation_id, ancestor_id, currency, round(sum(score * total_value) / sum(total_value), 2) AS mean
                  FROM pairs WHERE score IS NOT NULL AND total_value > 0
                  GROUP BY organisation_id, ancestor_id, currency) w
            GROUP BY organisation_id, ancestor_id),
        open_risks AS (
            SELECT c.organisation_id, c.ancestor_id, s.probability, s.severity, s.value_at_risk, s.currency
            FROM closure c
            JOIN app.risk_signals s ON s.organisation_id = c.organisation_id AND s.engagement_id = c.descendant_id AND s.organisation_id = p_organisation_id
            WHERE NOT p_past AND s.status IN ('open', 'mitigating')
            UNION ALL
            SELECT p_organisation_id, p_root_id, x.after ->> 'probability', x.after ->> 'severity',
                   (x.after ->> 'value_at_risk')::numeric, x.after ->> 'currency'
            FROM (SELECT DISTINCT ON (a.entity_id) a.after, a.action FROM app.audit_log a
                  WHERE p_past AND a.organisation_id = p_organisation_id AND a.entity = 'risk_signals' AND a.at <= p_as_of
                  ORDER BY a.entity_id, a.at DESC, a.id DESC) x
            JOIN past_subtree d ON d.descendant_id = (x.after ->> 'engagement_id')::uuid
            WHERE x.action <> 'delete' AND x.after ->> 'status' IN ('open', 'mitigating')),
        risk_counts AS (
            SELECT organisation_id, ancestor_id, count(*) AS open_risks,
                   jsonb_build_object(
                       'very_low', count(*) FILTER (WHERE probability = 'very_low'), 'low', count(*) FILTER (WHERE probability = 'low'),
                       'medium', count(*) FILTER (WHERE probability = 'medium'), 'high', count(*) FILTER (WHERE probability = 'high'),
                       'very_high', count(*) FILTER (WHERE probability = 'very_high')) AS risks_by_probability,
                   jsonb_build_object(
                       'low', count(*) FILTER (WHERE severity = 'low'), 'medium', count(*) FILTER (WHERE severity = 'medium'),
                       'high', count(*) FILTER (WHERE severity = 'high'),
                       'critical', count(*) FILTER (WHERE severity = 'critical')) AS risks_by_severity
            FROM open_risks GROUP BY organisation_id, ancestor_id),
        risk_values AS (
            SELECT organisation_id, ancestor_id, jsonb_object_agg(currency, amount ORDER BY currency) AS value_at_risk
            FROM (SELECT organisation_id, ancestor_id, currency, sum(value_at_risk) AS amount FROM open_risks
                  WHERE value_at_risk IS NOT NULL GROUP BY organisation_id, ancestor_id, currency) v
            GROUP BY organisation_id, ancestor_id)
        SELECT n.organisation_id, n.ancestor_id, n.engagements, n.draft, n.active, n.on_hold, n.completed, n.archived,
               coalesce(v.contract_value, '{}'), n.health_red, n.health_amber, n.health_green, n.health_unknown,
               n.health_mean, coalesce(w.health_weighted, '{}'), coalesce(r.open_risks, 0),
               coalesce(r.risks_by_probability, '{"very_low": 0, "low": 0, "medium": 0, "high": 0, "very_high": 0}'),
               coalesce(r.risks_by_severity, '{"low": 0, "medium": 0, "high": 0, "critical": 0}'),
               coalesce(x.value_at_risk, '{}'), p_as_of
        FROM counts n
        LEFT JOIN contract_values v ON v.organisation_id = n.organisation_id AND v.ancestor_id = n.ancestor_id
        LEFT JOIN weighted w ON w.organisation_id = n.organisation_id AND w.ancestor_id = n.ancestor_id
        LEFT JOIN risk_counts r ON r.organisation_id = n.organisation_id AND r.ancestor_id = n.ancestor_id
        LEFT JOIN risk_values x ON x.organisation_id = n.organisation_id AND x.ancestor_id = n.ancestor_id;
END
$$;

-- The present (app.refresh_rollups fills the maintained summary with this one).
CREATE OR REPLACE FUNCTION app.rollup_summary(p_organisation_id uuid, p_root_id uuid, p_as_of timestamptz)
RETURNS SETOF app.rollup_summary_row
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    -- PL/pgSQL, not SQL: Citus cannot plan a parameterised SQL-language function over distributed tables.
    RETURN QUERY
     SELECT * FROM app.rollup_summary(p_organisation_id, p_root_id, p_as_of, false);
END
$$;

CREATE OR REPLACE FUNCTION app.rollup_monthly(p_organisation_id uuid, p_root_id uuid)
RETURNS SETOF app.rollup_monthly_row
LANGUAGE plpgsql STABLE
SET enable_nestloop = off
SET jit = off
AS $$
BEGIN
    -- PL/pgSQL, not SQL: Citus cannot plan a parameterised SQL-language function over distributed tables.
    RETURN QUERY
        WITH closure AS MATERIALIZED (SELECT * FROM app.rollup_closure(p_organisation_id, p_root_id)),
        -- Once per check-in (materialized: inlined, its lookup would run once per ancestor of the check-in), both
        -- sums of its capacity in one lookup (a hashed pass over the organisation's entries costs a small subtree more).
        months AS MATERIALIZED (
            SELECT c.organisation_id, c.engagement_id, c.period, s.score, s.band, x.planned_hours, x.actual_hours
            FROM (SELECT DISTINCT organisation_id, descendant_id FROM closure) d
            JOIN app.check_ins c ON c.organisation_id = d.organisation_id AND c.engagement_id = d.descendant_id AND c.organisation_id = p_organisation_id
            LEFT JOIN app.health_scores s
                   ON s.organisation_id = c.organisation_id AND s.engagement_id = c.engagement_id AND s.period = c.period
                  AND s.organisation_id = p_organisation_id
            CROSS JOIN LATERAL (
                SELECT sum(x.planned_hours) AS planned_hours, sum(x.actual_hours) AS actual_hours FROM app.capacity_entries x
                WHERE x.organisation_id = c.organisation_id AND x.check_in_id = c.id) x)
        SELECT cl.organisation_id, cl.ancestor_id, m.period, count(*), sum(m.planned_hours), sum(m.actual_hours),
               round(avg(m.score), 2), count(*) FILTER (WHERE m.band = 'red'), count(*) FILTER (WHERE m.band = 'amber'),
               count(*) FILTER (WHERE m.band = 'green')
        FROM closure cl
        JOIN months m ON m.organisation_id = cl.organisation_id AND m.engagement_id = cl.descendant_id
        GROUP BY cl.organisation_id, cl.ancestor_id, m.period;
END
$$;

CREATE OR REPLACE FUNCTION app.rollup_finance(p_organisation_id uuid, p_root_id uuid)
RETURNS SETOF app.rollup_finance_row
LANGUAGE sql STABLE
SET enable_nestloop = off
SET jit = off
AS $$
    WITH closure AS MATERIALIZED (SELECT * FROM app.rollup_closure(p_organisation_id, p_root_id))
    SELECT cl.organisation_id, cl.ancestor_id, c.period, f.currency,
           sum(f.plan) FILTER (WHERE f.category = 'revenue'), sum(f.actual) FILTER (WHERE f.category = 'revenue'),
           sum(f.plan) FILTER (WHERE f.category <> 'revenue'), sum(f.actual) FILTER (WHERE f.category <> 'revenue')
    FROM closure cl
    JOIN app.check_ins c ON c.organisation_id = cl.organisation_id AND c.engagement_id = cl.descendant_id AND c.organisation_id = p_organisation_id
    JOIN app.finance_lines f ON f.organisation_id = c.organisation_id AND f.check_in_id = c.id AND f.organisation_id = p_organisation_id
    GROUP BY cl.organisation_id, cl.ancestor_id, c.period, f.currency
$$;

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
