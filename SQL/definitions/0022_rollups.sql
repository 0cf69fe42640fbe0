-- Current definitions (first made by migration 0022_rollups). Edit them here, never in a migration: every
-- definitions file is re-applied whenever one of them changes or a migration runs (SQL/README.md).

-- The rollup arithmetic; the maintained tables' refresh and the reads over them: 0022_rollups_maintained.sql.
--
-- Subtrees come from app.engagement_subtree (one root, live) or app.engagement_closure (every engagement of one
-- organisation, for the maintained tables), both in 0019_health_now.sql. Every table a rollup reads is read for
-- p_organisation_id only (`x.organisation_id = p_organisation_id` beside each join), so refreshing one
-- organisation costs its rows, whatever the others hold.
--
-- The functions run with enable_nestloop off: the planner cannot estimate a recursive closure (it guesses a
-- handful of rows where a wide tree has thousands) and would otherwise join its thousands of rows by nested
-- loops over other CTEs, quadratically. Hash joins cost a scan of the organisation's rows instead, which stays
-- linear; lookups that must be per row are written as LATERAL subqueries and stay index scans. jit is off as
-- well: disabled paths carry a huge cost penalty, which would otherwise trigger seconds of JIT compilation. And
-- they keep one generic plan per session (PL/pgSQL, plan_cache_mode): with hash joins either way, a plan for the
-- actual arguments is no better, but was made anew on every call, 3.4 ms for the summary and 3.7 ms for the work
-- rollup (pg_stat_statements; a fifth of a 200-engagement organisation's refresh).

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
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
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
    RETURN QUERY
     SELECT * FROM app.rollup_summary(p_organisation_id, p_root_id, p_as_of, false);
END
$$;

CREATE OR REPLACE FUNCTION app.rollup_monthly(p_organisation_id uuid, p_root_id uuid)
RETURNS SETOF app.rollup_monthly_row
LANGUAGE plpgsql STABLE
SET enable_nestloop = off
SET jit = off
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
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
LANGUAGE plpgsql STABLE
SET enable_nestloop = off
SET jit = off
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    RETURN QUERY
    WITH closure AS MATERIALIZED (SELECT * FROM app.rollup_closure(p_organisation_id, p_root_id))
    SELECT cl.organisation_id, cl.ancestor_id, c.period, f.currency,
           sum(f.plan) FILTER (WHERE f.category = 'revenue'), sum(f.actual) FILTER (WHERE f.category = 'revenue'),
           sum(f.plan) FILTER (WHERE f.category <> 'revenue'), sum(f.actual) FILTER (WHERE f.category <> 'revenue')
    FROM closure cl
    JOIN app.check_ins c ON c.organisation_id = cl.organisation_id AND c.engagement_id = cl.descendant_id AND c.organisation_id = p_organisation_id
    JOIN app.finance_lines f ON f.organisation_id = c.organisation_id AND f.check_in_id = c.id AND f.organisation_id = p_organisation_id
    GROUP BY cl.organisation_id, cl.ancestor_id, c.period, f.currency;
END
$$;
