-- Current definitions (first made by migration 0019_health_now). Edit them here, never in a migration: every
-- definitions file is re-applied whenever one of them changes or a migration runs (SQL/README.md).

-- The current health of engagements: the latest month's score less freshness decay, which counts only the days
-- an engagement was active (from its status history), for one engagement, a subtree or everything; and
-- health.explain's account of it. The hierarchy closure used here serves the rollups too.

-- Days in [p_from, p_to) during which the engagement was active, from its status history. Freshness decay
-- counts only these: it stops while the engagement is on hold (or completed) and resumes where it stopped.
CREATE OR REPLACE FUNCTION app.active_days(p_organisation_id uuid, p_engagement_id uuid, p_from timestamptz, p_to timestamptz)
RETURNS numeric
LANGUAGE sql STABLE
AS $$
    WITH spans AS (
        SELECT t.to_status, t.changed_at AS since,
               lead(t.changed_at) OVER (ORDER BY t.changed_at, t.id) AS until
        FROM app.engagement_transitions t
        WHERE t.organisation_id = p_organisation_id AND t.engagement_id = p_engagement_id)
    SELECT coalesce(round(sum(extract(epoch FROM least(coalesce(until, p_to), p_to) - greatest(since, p_from))) / 86400, 2), 0)
    FROM spans
    WHERE to_status = 'active' AND since < p_to AND coalesce(until, p_to) > p_from
$$;

-- Every (ancestor, descendant) pair of the hierarchy, each engagement its own ancestor at depth 0: of one
-- engagement's subtree (engagement_subtree), or of every engagement of one organisation (engagement_closure: the
-- maintained rollups refresh an organisation at a time, so its work is that organisation's rows). Two functions,
-- not one with optional arguments, so each keeps a plan that uses its indexes (an "x IS NULL OR" condition
-- defeats them in a generic plan).
CREATE OR REPLACE FUNCTION app.engagement_subtree(p_organisation_id uuid, p_root_id uuid)
RETURNS TABLE (organisation_id uuid, ancestor_id uuid, descendant_id uuid, depth integer)
LANGUAGE sql STABLE
AS $$
    WITH RECURSIVE closure AS (
        SELECT e.organisation_id, e.id AS ancestor_id, e.id AS descendant_id, 0 AS depth
        FROM app.engagements e WHERE e.organisation_id = p_organisation_id AND e.id = p_root_id
        UNION ALL
        SELECT c.organisation_id, closure.ancestor_id, c.id, closure.depth + 1
        FROM closure
        JOIN app.engagements c ON c.organisation_id = closure.organisation_id AND c.parent_id = closure.descendant_id
        -- The depth bound holds even if the data were corrupt (the trigger keeps trees far shallower). The
        -- organisation is stated in the recursive term too: the planner does not carry it over from the first,
        -- and a hashed join (the rollups turn nested loops off) would scan every organisation's engagements.
        WHERE closure.depth < 64 AND c.organisation_id = p_organisation_id
    )
    SELECT * FROM closure
$$;

CREATE OR REPLACE FUNCTION app.engagement_closure(p_organisation_id uuid)
RETURNS TABLE (organisation_id uuid, ancestor_id uuid, descendant_id uuid, depth integer)
LANGUAGE sql STABLE
AS $$
    WITH RECURSIVE closure AS (
        SELECT e.organisation_id, e.id AS ancestor_id, e.id AS descendant_id, 0 AS depth
        FROM app.engagements e WHERE e.organisation_id = p_organisation_id
        UNION ALL
        SELECT c.organisation_id, closure.ancestor_id, c.id, closure.depth + 1
        FROM closure
        JOIN app.engagements c ON c.organisation_id = closure.organisation_id AND c.parent_id = closure.descendant_id
        WHERE closure.depth < 64 AND c.organisation_id = p_organisation_id
    )
    SELECT * FROM closure
$$;

-- The current scores at `p_as_of`: the latest month's score less freshness decay. Decay:
-- overdue = max(0, active days since the end (UTC) of the latest check-in's month − grace_days);
-- score − decay_points_per_30_days × overdue / 30, never below 0. Scope: one engagement (p_engagement_id), its
-- whole subtree (with p_subtree), or every engagement of the organisation (p_engagement_id NULL). Set-based, so
-- rollups over thousands of engagements cost one pass; the scope is joined, never tested row by row, and every
-- table is read for p_organisation_id only (the joins are hashed: without it they would scan every organisation's
-- rows). Engagements without a scored month have no row.
CREATE OR REPLACE FUNCTION app.health_now(
    p_organisation_id uuid, p_engagement_id uuid, p_subtree boolean, p_as_of timestamptz)
RETURNS TABLE (organisation_id uuid, engagement_id uuid, period date, monthly_score numeric, score numeric, band text,
               since timestamptz, age_days numeric, active_days numeric, overdue_days numeric, decay numeric,
               metrics jsonb)
LANGUAGE sql STABLE
AS $$
    WITH scope AS MATERIALIZED (
        SELECT e.organisation_id AS org, e.id AS engagement FROM app.engagements e
        WHERE p_engagement_id IS NULL AND e.organisation_id = p_organisation_id
        UNION ALL
        SELECT p_organisation_id, p_engagement_id WHERE p_engagement_id IS NOT NULL AND NOT p_subtree
        UNION ALL
        SELECT c.organisation_id, c.descendant_id FROM app.engagement_subtree(p_organisation_id, p_engagement_id) c
        WHERE p_engagement_id IS NOT NULL AND p_subtree),
    -- Per engagement of the scope, index lookups (its latest month, its status history): a plan that stays
    -- linear whatever the planner guesses about the size of the scope.
    latest AS (
        SELECT scope.org, scope.engagement, s.period AS month, s.score AS monthly, s.metrics AS detail,
               (s.period + interval '1 month')::timestamp AT TIME ZONE 'UTC' AS month_end
        FROM scope
        CROSS JOIN LATERAL (
            SELECT * FROM app.health_scores s
            WHERE s.organisation_id = scope.org AND s.engagement_id = scope.engagement AND s.period < p_as_of
            ORDER BY s.period DESC LIMIT 1) s),
    -- Active days since the month's end, as app.active_days computes them (inlined: per row, a function call
    -- would cost more than the index lookup). Materialized: inlined, the lookup would run once for each of the
    -- two places below that use `active`.
    aged AS MATERIALIZED (
        SELECT l.*, greatest(0, round(extract(epoch FROM p_as_of - l.month_end) / 86400, 2)) AS age,
               (SELECT coalesce(round(sum(extract(epoch FROM least(coalesce(sp.until_at, p_as_of), p_as_of)
                                                            - greatest(sp.from_at, l.month_end))) / 86400, 2), 0)
                FROM (SELECT t.to_status, t.changed_at AS from_at,
                             lead(t.changed_at) OVER (ORDER BY t.changed_at, t.id) AS until_at
                      FROM app.engagement_transitions t
                      WHERE t.organisation_id = l.org AND t.engagement_id = l.engagement) sp
                WHERE sp.to_status = 'active' AND sp.from_at < p_as_of AND coalesce(sp.until_at, p_as_of) > l.month_end) AS active
        FROM latest l),
    modelled AS (
        SELECT a.*, m.grace_days, m.decay_points_per_30_days, m.red_below, m.amber_below
        FROM aged a
        JOIN app.engagement_health_models x
          ON x.organisation_id = a.org AND x.engagement_id = a.engagement AND x.organisation_id = p_organisation_id
        JOIN app.health_models m ON m.organisation_id = x.organisation_id AND m.id = x.model_id AND m.organisation_id = p_organisation_id),
    decayed AS (
        SELECT x.*, greatest(0, x.active - x.grace_days) AS overdue,
               round(x.decay_points_per_30_days * greatest(0, x.active - x.grace_days) / 30, 2) AS points
        FROM modelled x)
    SELECT d.org, d.engagement, d.month, d.monthly, greatest(0, d.monthly - d.points),
           app.health_band(greatest(0, d.monthly - d.points), d.red_below, d.amber_below),
           d.month_end, d.age, d.active, d.overdue, d.points, d.detail
    FROM decayed d
$$;

-- One engagement's current score (see app.health_now), with its plan kept for the session. Callers ask for one
-- engagement at a time, often in a loop (the risk rules for each check-in, a sweep, health.explain, a report's
-- rows), and health_now's query costs about 2 ms to plan against 0.1 ms to run. Inlined into a PL/pgSQL
-- statement with parameters, PostgreSQL's plan cache never settled on a generic plan (the plan for the actual
-- values always looks cheaper), so every call planned it again: 2.3 ms per health-band rule observation, a third
-- of seeding's time. A PL/pgSQL function with a forced generic plan plans it once per session; the query is the
-- same lookups by organisation and engagement for any arguments.
CREATE OR REPLACE FUNCTION app.current_health(p_organisation_id uuid, p_engagement_id uuid, p_as_of timestamptz)
RETURNS TABLE (period date, monthly_score numeric, score numeric, band text, since timestamptz, age_days numeric,
               active_days numeric, overdue_days numeric, decay numeric, metrics jsonb)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    RETURN QUERY
        SELECT h.period, h.monthly_score, h.score, h.band, h.since, h.age_days, h.active_days, h.overdue_days, h.decay,
               h.metrics
        FROM app.health_now(p_organisation_id, p_engagement_id, false, p_as_of) h;
END
$$;

-- health.explain: the current score with every input and the arithmetic in words.
CREATE OR REPLACE FUNCTION app.health_explain(p_engagement_id uuid, p_as_of timestamptz) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    org uuid := app.current_organisation_id();
    engagement app.engagements;
    model app.health_models;
    current record;
    left_out jsonb;
BEGIN
    SELECT * INTO engagement FROM app.engagements WHERE organisation_id = org AND id = p_engagement_id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    model := app.effective_health_model(org, p_engagement_id);
    SELECT * INTO current FROM app.current_health(org, p_engagement_id, p_as_of);
    IF NOT FOUND THEN
        RETURN jsonb_build_object(
            'engagement_id', engagement.id, 'status', engagement.status, 'as_of', p_as_of,
            'model', jsonb_build_object('id', model.id, 'name', model.name), 'score', NULL, 'band', 'unknown',
            'explanation', 'no check-in yet: nothing to score');
    END IF;
    SELECT jsonb_agg(m ->> 'metric' || coalesce(' ' || (m ->> 'kpi'), '')) INTO left_out
    FROM jsonb_array_elements(current.metrics) m WHERE m ->> 'normalised' IS NULL;
    RETURN jsonb_build_object(
        'engagement_id', engagement.id, 'status', engagement.status, 'as_of', p_as_of,
        'model', jsonb_build_object('id', model.id, 'name', model.name, 'red_below', model.red_below,
                                    'amber_below', model.amber_below),
        'period', to_char(current.period, 'YYYY-MM'), 'monthly_score', current.monthly_score,
        'score', current.score, 'band', current.band,
        'metrics', current.metrics, 'left_out', coalesce(left_out, '[]'),
        'freshness', jsonb_build_object(
            'since', current.since, 'age_days', current.age_days, 'active_days', current.active_days,
            'paused_days', greatest(0, current.age_days - current.active_days), 'grace_days', model.grace_days,
            'overdue_days', current.overdue_days, 'decay_points_per_30_days', model.decay_points_per_30_days,
            'decay', current.decay),
        'explanation', concat_ws(' ',
            CASE WHEN current.monthly_score IS NULL THEN 'No metric of ' || to_char(current.period, 'YYYY-MM') || ' had data.'
                 ELSE format('Score of %s = Σ(normalised × weight) / Σ weight over metrics with data = %s.',
                             to_char(current.period, 'YYYY-MM'), current.monthly_score) END,
            CASE WHEN left_out IS NOT NULL
                 THEN format('Left out for lack of data, weight redistributed: %s.',
                             (SELECT string_agg(x, ', ') FROM jsonb_array_elements_text(left_out) x)) END,
            CASE WHEN engagement.status <> 'active' THEN format('Decay is paused while %s.', replace(engagement.status, '_', ' ')) END,
            format('Decay: %s active of %s days since %s, grace %s, overdue %s, %s points per 30 days: −%s.',
                   current.active_days, current.age_days, to_char(current.since AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
                   model.grace_days, current.overdue_days, model.decay_points_per_30_days, current.decay)));
END
$$;
