-- Current definitions (first made by migration 0018_health). Edit them here, never in a migration: every
-- definitions file is re-applied whenever one of them changes or a migration runs (SQL/README.md).

CREATE OR REPLACE FUNCTION app.check_health_model() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    metric jsonb;
    i integer;
    total numeric := 0;
BEGIN
    IF jsonb_array_length(NEW.metrics) = 0 THEN
        RAISE EXCEPTION 'needs at least one metric' USING ERRCODE = 'EV008', COLUMN = 'metrics';
    END IF;
    FOR i IN 0 .. jsonb_array_length(NEW.metrics) - 1 LOOP
        metric := NEW.metrics -> i;
        IF metric ->> 'metric' IS NULL OR metric ->> 'metric' NOT IN ('kpi_attainment', 'kpi', 'budget_variance', 'capacity_utilisation', 'checkin_freshness',
                                                                      'adoption_score', 'licence_utilisation', 'capability_coverage', 'capability_usage') THEN
            RAISE EXCEPTION 'is not a known metric' USING ERRCODE = 'EV008', COLUMN = format('metrics[%s].metric', i);
        END IF;
        PERFORM app.check_adoption_target(NEW.organisation_id, metric ->> 'metric', metric ->> 'product', metric ->> 'capability',
                                          'EV008', format('metrics[%s].', i));
        IF (metric ->> 'metric' = 'kpi') <> (coalesce(btrim(metric ->> 'kpi'), '') <> '') THEN
            RAISE EXCEPTION 'names the KPI of a kpi metric, and only there' USING ERRCODE = 'EV008', COLUMN = format('metrics[%s].kpi', i);
        END IF;
        IF jsonb_typeof(metric -> 'weight') IS DISTINCT FROM 'number' OR (metric ->> 'weight')::numeric < 0 THEN
            RAISE EXCEPTION 'must be a number of at least 0' USING ERRCODE = 'EV008', COLUMN = format('metrics[%s].weight', i);
        END IF;
        IF metric ? 'full_at' AND metric ? 'zero_at' AND (metric ->> 'full_at')::numeric = (metric ->> 'zero_at')::numeric THEN
            RAISE EXCEPTION 'must differ from full_at' USING ERRCODE = 'EV008', COLUMN = format('metrics[%s].zero_at', i);
        END IF;
        total := total + (metric ->> 'weight')::numeric;
    END LOOP;
    IF total <= 0 THEN
        RAISE EXCEPTION 'weights must not sum to zero' USING ERRCODE = 'EV008', COLUMN = 'metrics';
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION app.protect_default_health_model() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    -- Removing the organisation itself takes its models along.
    IF OLD.is_default AND EXISTS (SELECT FROM app.organisations WHERE id = OLD.organisation_id) THEN
        RAISE EXCEPTION 'the default model cannot be deleted; make another one the default first'
            USING ERRCODE = 'ES008', HINT = 'default_model', CONSTRAINT = 'health_models_default';
    END IF;
    RETURN OLD;
END
$$;

-- The model each engagement is scored with: its own, else its template's, else the organisation's default. The
-- one statement of that rule: app.effective_health_model reads it for one engagement, app.health_now joins it
-- for thousands. security_invoker: the server's role sees only its organisation's rows.
-- The model that scores an engagement, first found: its own; its template's for its journey stage; its
-- template's; the organisation's for its journey stage; the organisation's default.
CREATE OR REPLACE VIEW app.engagement_health_models WITH (security_invoker = true) AS
SELECT e.organisation_id, e.id AS engagement_id,
       coalesce(e.health_model_id, ts.model_id, t.health_model_id, os.model_id, d.id) AS model_id
FROM app.engagements e
LEFT JOIN app.engagement_templates t ON t.organisation_id = e.organisation_id AND t.id = e.template_id
LEFT JOIN app.stage_health_models ts ON ts.organisation_id = e.organisation_id AND ts.template_id = e.template_id
                                     AND ts.journey_stage = e.journey_stage
LEFT JOIN app.stage_health_models os ON os.organisation_id = e.organisation_id AND os.template_id IS NULL
                                     AND os.journey_stage = e.journey_stage
LEFT JOIN app.health_models d ON d.organisation_id = e.organisation_id AND d.is_default;
GRANT SELECT ON app.engagement_health_models TO engagement_app;

CREATE OR REPLACE FUNCTION app.effective_health_model(p_organisation_id uuid, p_engagement_id uuid)
RETURNS app.health_models
LANGUAGE sql STABLE
AS $$
    SELECT m.* FROM app.engagement_health_models x
    JOIN app.health_models m ON m.organisation_id = x.organisation_id AND m.id = x.model_id
    WHERE x.organisation_id = p_organisation_id AND x.engagement_id = p_engagement_id
$$;

CREATE OR REPLACE FUNCTION app.health_band(p_score numeric, p_red_below numeric, p_amber_below numeric) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN p_score IS NULL THEN 'unknown' WHEN p_score < p_red_below THEN 'red'
                WHEN p_score < p_amber_below THEN 'amber' ELSE 'green' END
$$;

-- Attainment % of one KPI value, capped at 100, never negative.
CREATE OR REPLACE FUNCTION app.kpi_attainment(p_target numeric, p_direction text, p_actual numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE
AS $$
    SELECT greatest(0, least(100, CASE
        WHEN p_direction = 'higher_is_better' THEN
            CASE WHEN p_target <= 0 THEN CASE WHEN p_actual >= p_target THEN 100 ELSE 0 END
                 ELSE p_actual / p_target * 100 END
        ELSE
            CASE WHEN p_actual <= p_target THEN 100 WHEN p_target <= 0 OR p_actual <= 0 THEN 0
                 ELSE p_target / p_actual * 100 END
    END))
$$;

-- Computes and stores (or removes) the score of one engagement and month from its check-in.
CREATE OR REPLACE FUNCTION app.compute_health_score(p_organisation_id uuid, p_engagement_id uuid, p_period date)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    check_in app.check_ins;
    model app.health_models;
    metric jsonb;
    kpi record;
    raw numeric;
    basis numeric;
    full_at numeric;
    zero_at numeric;
    normalised numeric;
    weight numeric;
    available numeric := 0;
    weighted numeric := 0;
    items jsonb := '[]';
    score numeric;
BEGIN
    SELECT * INTO check_in FROM app.check_ins
    WHERE organisation_id = p_organisation_id AND engagement_id = p_engagement_id AND period = p_period;
    model := app.effective_health_model(p_organisation_id, p_engagement_id);
    IF check_in.id IS NULL OR model.id IS NULL THEN
        DELETE FROM app.health_scores
        WHERE organisation_id = p_organisation_id AND engagement_id = p_engagement_id AND period = p_period;
        RETURN;
    END IF;
    FOR metric IN SELECT value FROM jsonb_array_elements(model.metrics) LOOP
        weight := (metric ->> 'weight')::numeric;
        raw := NULL;
        basis := NULL;
        full_at := (metric ->> 'full_at')::numeric;
        zero_at := (metric ->> 'zero_at')::numeric;
        CASE metric ->> 'metric'
        WHEN 'kpi_attainment' THEN
            SELECT avg(app.kpi_attainment(k.target, k.direction, v.actual)) INTO raw
            FROM app.kpi_values v JOIN app.engagement_kpis k ON k.organisation_id = v.organisation_id AND k.id = v.kpi_id
            WHERE v.organisation_id = p_organisation_id AND v.check_in_id = check_in.id;
            basis := raw;
            full_at := coalesce(full_at, 100);
            zero_at := coalesce(zero_at, 50);
        WHEN 'kpi' THEN
            SELECT v.actual, k.target, k.direction INTO kpi
            FROM app.kpi_values v JOIN app.engagement_kpis k ON k.organisation_id = v.organisation_id AND k.id = v.kpi_id
            WHERE v.organisation_id = p_organisation_id AND v.check_in_id = check_in.id
              AND lower(k.name) = lower(btrim(metric ->> 'kpi'));
            IF FOUND THEN
                raw := kpi.actual;
                basis := raw;
                full_at := coalesce(full_at, kpi.target);
                zero_at := coalesce(zero_at, CASE WHEN kpi.direction = 'higher_is_better' THEN 0 ELSE 2 * kpi.target END);
            END IF;
        WHEN 'budget_variance' THEN
            SELECT (sum(f.actual) - sum(f.plan)) / nullif(sum(f.plan), 0) * 100 INTO raw
            FROM app.finance_lines f
            WHERE f.organisation_id = p_organisation_id AND f.check_in_id = check_in.id AND f.category <> 'revenue'
              AND f.plan IS NOT NULL AND f.actual IS NOT NULL;
            basis := raw;
            full_at := coalesce(full_at, 0);
            zero_at := coalesce(zero_at, 25);
        WHEN 'capacity_utilisation' THEN
            SELECT sum(x.actual_hours) / nullif(sum(x.planned_hours), 0) * 100 INTO raw
            FROM app.capacity_entries x
            WHERE x.organisation_id = p_organisation_id AND x.check_in_id = check_in.id
              AND x.planned_hours > 0 AND x.actual_hours IS NOT NULL;
            basis := abs(raw - 100);
            full_at := coalesce(full_at, 0);
            zero_at := coalesce(zero_at, 50);
        WHEN 'adoption_score', 'licence_utilisation', 'capability_coverage', 'capability_usage' THEN
            raw := app.adoption_measure(p_organisation_id, p_engagement_id, p_period, metric ->> 'metric',
                                        metric ->> 'product', metric ->> 'capability');
            basis := raw;
            full_at := coalesce(full_at, 100);
            zero_at := coalesce(zero_at, 0);
        WHEN 'checkin_freshness' THEN
            raw := greatest(0, round(extract(epoch FROM check_in.created_at
                                     - (check_in.period + interval '1 month')::timestamp AT TIME ZONE 'UTC') / 86400, 2));
            basis := raw;
            full_at := coalesce(full_at, 10);
            zero_at := coalesce(zero_at, 60);
        ELSE
            raw := NULL;  -- unreachable: the model's trigger admits only the metrics above
        END CASE;
        normalised := CASE WHEN basis IS NOT NULL AND full_at <> zero_at
                           THEN round(greatest(0, least(100, (basis - zero_at) / (full_at - zero_at) * 100)), 2) END;
        IF normalised IS NOT NULL THEN
            available := available + weight;
            weighted := weighted + weight * normalised;
        END IF;
        items := items || jsonb_build_object(
            'metric', metric ->> 'metric', 'kpi', metric ->> 'kpi', 'product', metric ->> 'product',
            'capability', metric ->> 'capability', 'raw', round(raw, 2), 'basis', round(basis, 2),
            'full_at', full_at, 'zero_at', zero_at, 'normalised', normalised, 'weight', weight);
    END LOOP;
    score := CASE WHEN available > 0 THEN round(weighted / available, 2) END;
    -- Effective weights: the model's weights renormalised over the metrics that had data.
    SELECT jsonb_agg(item || jsonb_build_object('effective_weight',
               CASE WHEN item ->> 'normalised' IS NOT NULL AND available > 0
                    THEN round((item ->> 'weight')::numeric / available, 4) ELSE 0 END) ORDER BY n)
    INTO items FROM jsonb_array_elements(items) WITH ORDINALITY AS x(item, n);
    INSERT INTO app.health_scores (organisation_id, engagement_id, period, model_id, score, band, metrics, computed_at)
    VALUES (p_organisation_id, p_engagement_id, p_period, model.id, score,
            app.health_band(score, model.red_below, model.amber_below), items, now())
    ON CONFLICT (organisation_id, engagement_id, period) DO UPDATE SET
        model_id = EXCLUDED.model_id, score = EXCLUDED.score, band = EXCLUDED.band, metrics = EXCLUDED.metrics,
        computed_at = EXCLUDED.computed_at;
END
$$;
REVOKE ALL ON FUNCTION app.compute_health_score(p_organisation_id uuid, p_engagement_id uuid, p_period date) FROM PUBLIC;

-- Recomputes every stored month of one engagement (after its model, or the model's definition, changed).
CREATE OR REPLACE FUNCTION app.recompute_engagement_health(p_organisation_id uuid, p_engagement_id uuid) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    month date;
BEGIN
    FOR month IN SELECT period FROM app.check_ins
                 WHERE organisation_id = p_organisation_id AND engagement_id = p_engagement_id LOOP
        PERFORM app.compute_health_score(p_organisation_id, p_engagement_id, month);
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION app.recompute_engagement_health(p_organisation_id uuid, p_engagement_id uuid) FROM PUBLIC;

CREATE OR REPLACE FUNCTION app.recompute_health_after_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_TABLE_NAME = 'engagements' THEN
        PERFORM app.recompute_engagement_health(NEW.organisation_id, NEW.id);
    ELSE
        -- A template or a model changed: every engagement that is now scored with it, or was (by model id).
        PERFORM app.recompute_engagement_health(e.organisation_id, e.id)
        FROM app.engagements e
        WHERE e.organisation_id = NEW.organisation_id
          AND (CASE WHEN TG_TABLE_NAME = 'engagement_templates' THEN e.template_id = NEW.id
                    ELSE (app.effective_health_model(e.organisation_id, e.id)).id = NEW.id
                         OR EXISTS (SELECT FROM app.health_scores s WHERE s.organisation_id = e.organisation_id
                                    AND s.engagement_id = e.id AND s.model_id = NEW.id) END);
    END IF;
    RETURN NULL;
END
$$;

-- Every organisation gets a default model.
CREATE OR REPLACE FUNCTION app.create_default_health_model() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO app.health_models (organisation_id, name, is_default, metrics)
    VALUES (NEW.id, 'Standard', true, '[
        {"metric": "kpi_attainment", "weight": 50},
        {"metric": "budget_variance", "weight": 30},
        {"metric": "capacity_utilisation", "weight": 20}]');
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION app.health_model_json(m app.health_models) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object(
        'id', m.id, 'name', m.name, 'is_default', m.is_default, 'metrics', m.metrics, 'grace_days', m.grace_days,
        'decay_points_per_30_days', m.decay_points_per_30_days, 'red_below', m.red_below, 'amber_below', m.amber_below,
        'version', m.version, 'created_at', m.created_at, 'updated_at', m.updated_at)
$$;

-- Evaluation on writes: a check-in (after its score, at commit), an engagement's status or model, a rule.
CREATE OR REPLACE FUNCTION app.score_check_in() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM app.compute_health_score(NEW.organisation_id, NEW.engagement_id, NEW.period);
    -- The rules read the engagement as it is when they run, the same for every month of it this commit scores:
    -- when a later month of the engagement was written in this transaction too, that month's own scoring (at the
    -- same commit) evaluates them, and this one does not. A statement that writes a year of months evaluates the
    -- rules once instead of twelve times (seeding: Benchmarks/README.md, "Data generator"). Only rows of the
    -- top-level transaction count (xmin): months written in subtransactions (the imports, a batch's engagements)
    -- are each evaluated, as before. (Were a later month scored early by SET CONSTRAINTS … IMMEDIATE, which the
    -- server does only inside subtransactions, the periodic sweep, app.sweep_risk_rules, would catch up.)
    IF NOT EXISTS (SELECT FROM app.check_ins c
                   WHERE c.organisation_id = NEW.organisation_id AND c.engagement_id = NEW.engagement_id
                     AND c.period > NEW.period AND c.xmin = pg_current_xact_id()::xid) THEN
        PERFORM app.evaluate_risk_rules(NEW.organisation_id, NEW.engagement_id, NULL, now());
    END IF;
    RETURN NULL;
END
$$;
