-- Current definitions (first made by migration 0020_risk). Edit them here, never in a migration: every
-- definitions file is re-applied whenever one of them changes or a migration runs (SQL/README.md).

-- The risk framework: risk signals (manual or raised by threshold rules), severity from probability × impact,
-- and rules evaluated by the database when their inputs change (and by a periodic sweep for time-driven ones).
--
-- SQLSTATEs added here: EV009 an invalid risk signal or rule (COLUMN names the param).
--
-- Severity matrix: score = probability (very_low 1 … very_high 5) × impact (low 1, medium 2, high 3, critical 4);
-- severity low below 4, medium 4–7, high 8–14, critical 15–20.
--
--                 low  medium  high  critical
--   very_high      5    10     15    20
--   high           4     8     12    16
--   medium         3     6      9    12
--   low            2     4      6     8
--   very_low       1     2      3     4
--
-- PL/pgSQL, not SQL, on purpose: risk_signals' CHECK constraints and generated columns call these on every
-- insert and update, and PostgreSQL prepares those expressions per statement; a SQL function there is inlined,
-- i.e. its body parsed again each time (seven parses per risk.raise, `perf`: ExecInitStoredGenerated and
-- ExecConstraints in the parser). Called, they are compiled once per session:
-- risk.raise under load 6–10 % faster (pgbench, 32 connections, alternating).
CREATE OR REPLACE FUNCTION app.probability_score(p text) RETURNS integer
LANGUAGE plpgsql IMMUTABLE
AS $$ BEGIN RETURN array_position(ARRAY['very_low', 'low', 'medium', 'high', 'very_high'], p); END $$;

CREATE OR REPLACE FUNCTION app.impact_score(p text) RETURNS integer
LANGUAGE plpgsql IMMUTABLE
AS $$ BEGIN RETURN array_position(ARRAY['low', 'medium', 'high', 'critical'], p); END $$;

CREATE OR REPLACE FUNCTION app.severity(p_score integer) RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    RETURN CASE WHEN p_score >= 15 THEN 'critical' WHEN p_score >= 8 THEN 'high' WHEN p_score >= 4 THEN 'medium' ELSE 'low' END;
END
$$;

CREATE OR REPLACE FUNCTION app.check_risk_rule() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF (NEW.condition = 'kpi') <> (NEW.kpi IS NOT NULL) THEN
        RAISE EXCEPTION 'names the KPI of a kpi condition, and only there' USING ERRCODE = 'EV009', COLUMN = 'kpi';
    END IF;
    IF NEW.condition = 'kpi' AND NOT EXISTS (
        SELECT FROM app.engagement_kpis WHERE organisation_id = NEW.organisation_id AND lower(name) = lower(btrim(NEW.kpi))
        UNION ALL
        SELECT FROM app.engagement_templates t, jsonb_array_elements(t.default_kpis) k
        WHERE t.organisation_id = NEW.organisation_id AND lower(k ->> 'name') = lower(btrim(NEW.kpi))) THEN
        RAISE EXCEPTION 'is not a KPI of any engagement or template' USING ERRCODE = 'EV009', COLUMN = 'kpi';
    END IF;
    PERFORM app.check_adoption_target(NEW.organisation_id, NEW.condition, NEW.product, NEW.capability, 'EV009', '');
    IF NEW.condition = 'health_band' THEN
        IF NEW.band IS NULL THEN
            RAISE EXCEPTION 'is required for a health_band condition' USING ERRCODE = 'EV009', COLUMN = 'band';
        END IF;
        NEW.comparison := NULL;
        NEW.threshold := NULL;
    ELSE
        IF NEW.comparison IS NULL THEN
            RAISE EXCEPTION 'is required for this condition' USING ERRCODE = 'EV009', COLUMN = 'comparison';
        END IF;
        IF NEW.threshold IS NULL THEN
            RAISE EXCEPTION 'is required for this condition' USING ERRCODE = 'EV009', COLUMN = 'threshold';
        END IF;
        NEW.band := NULL;
    END IF;
    RETURN NEW;
END
$$;

-- A signal's value at risk defaults to the currency of the engagement's contract.
CREATE OR REPLACE FUNCTION app.check_risk_signal() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF NEW.value_at_risk IS NOT NULL AND NEW.currency IS NULL THEN
        SELECT c.currency INTO NEW.currency FROM app.engagements e
        JOIN app.contracts c ON c.organisation_id = e.organisation_id AND c.id = e.contract_id
        WHERE e.organisation_id = NEW.organisation_id AND e.id = NEW.engagement_id;
        IF NEW.currency IS NULL THEN
            RAISE EXCEPTION 'is required when the engagement has no contract' USING ERRCODE = 'EV009', COLUMN = 'currency';
        END IF;
    END IF;
    NEW.resolved_at := CASE WHEN NEW.status IN ('resolved', 'dismissed') THEN coalesce(NEW.resolved_at, now()) END;
    RETURN NEW;
END
$$;

-- What a rule observes for an engagement now (NULL: no data, the rule is not evaluated).
CREATE OR REPLACE FUNCTION app.rule_observation(p_rule app.risk_rules, p_engagement_id uuid, p_as_of timestamptz)
RETURNS numeric
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    -- One statement per condition (not one CASE over all of them): each is planned alone and its plan cached,
    -- where a CASE had every condition's subqueries planned on every call (about 1.4 ms a call, measured while
    -- importing check-ins).
    IF p_rule.condition = 'kpi' THEN
        -- The engagement is stated for every table, so that the KPI and its values can be found by (organisation,
        -- engagement, …). For an organisation that the statistics have not seen yet (a new customer's first
        -- import, every organisation of a seed into a fresh database), the planner expects about one row wherever
        -- the organisation is the condition; joined by KPI id alone, the plan read the organisation's KPI values
        -- again for each of them (RiskTests: 18,341 rows for one observation against fewer than 684; 26 ms per
        -- observation while seeding, growing with the organisation).
        RETURN (
            SELECT v.actual FROM app.kpi_values v
            JOIN app.engagement_kpis k ON k.organisation_id = v.organisation_id AND k.engagement_id = v.engagement_id
                                      AND k.id = v.kpi_id
            JOIN app.check_ins c ON c.organisation_id = v.organisation_id AND c.engagement_id = v.engagement_id
                                AND c.id = v.check_in_id
            WHERE v.organisation_id = p_rule.organisation_id AND v.engagement_id = p_engagement_id
              AND k.organisation_id = p_rule.organisation_id AND k.engagement_id = p_engagement_id
              AND c.organisation_id = p_rule.organisation_id AND c.engagement_id = p_engagement_id
              AND lower(k.name) = lower(btrim(p_rule.kpi))
            ORDER BY c.period DESC LIMIT 1);
    ELSIF p_rule.condition = 'health_score' THEN
        RETURN (SELECT h.score FROM app.current_health(p_rule.organisation_id, p_engagement_id, p_as_of) h);
    ELSIF p_rule.condition = 'health_band' THEN
        -- Band rank: green 0, amber 1, red 2.
        RETURN (SELECT array_position(ARRAY['green', 'amber', 'red'], h.band) - 1
                FROM app.current_health(p_rule.organisation_id, p_engagement_id, p_as_of) h WHERE h.band <> 'unknown');
    ELSIF p_rule.condition = 'finance_variance' THEN
        RETURN (
            SELECT (sum(f.actual) - sum(f.plan)) / nullif(sum(f.plan), 0) * 100
            FROM app.finance_lines f
            WHERE f.organisation_id = p_rule.organisation_id AND f.category <> 'revenue'
              AND f.plan IS NOT NULL AND f.actual IS NOT NULL
              AND f.check_in_id = (SELECT c.id FROM app.check_ins c
                                   WHERE c.organisation_id = p_rule.organisation_id AND c.engagement_id = p_engagement_id
                                   ORDER BY c.period DESC LIMIT 1));
    ELSIF p_rule.condition = 'freshness_days' THEN
        RETURN app.active_days(p_rule.organisation_id, p_engagement_id, coalesce(
            (SELECT (max(c.period) + interval '1 month')::timestamp AT TIME ZONE 'UTC' FROM app.check_ins c
             WHERE c.organisation_id = p_rule.organisation_id AND c.engagement_id = p_engagement_id),
            '-infinity'), p_as_of);
    END IF;
    -- adoption_score, licence_utilisation, capability_coverage, capability_usage
    RETURN app.adoption_measure(p_rule.organisation_id, p_engagement_id, NULL, p_rule.condition, p_rule.product, p_rule.capability);
END
$$;

CREATE OR REPLACE FUNCTION app.rule_breached(p_rule app.risk_rules, p_observed numeric) RETURNS boolean
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE
        WHEN p_observed IS NULL THEN NULL
        WHEN p_rule.condition = 'health_band' THEN p_observed >= CASE p_rule.band WHEN 'red' THEN 2 ELSE 1 END
        WHEN p_rule.comparison = '<' THEN p_observed < p_rule.threshold
        WHEN p_rule.comparison = '<=' THEN p_observed <= p_rule.threshold
        WHEN p_rule.comparison = '>' THEN p_observed > p_rule.threshold
        ELSE p_observed >= p_rule.threshold
    END
$$;

-- Evaluates the organisation's enabled rules (or one rule) for one engagement (or all active and on-hold ones).
-- Edge-triggered: a rule raises a signal when its condition starts to hold (at most one open or mitigating
-- signal per rule and engagement) and resolves that signal when the condition stops holding. A signal dismissed
-- or resolved by hand while the condition holds stays so until the condition clears and breaks again.
-- Completed and archived engagements are not evaluated. Returns the number of signals raised or resolved.
CREATE OR REPLACE FUNCTION app.evaluate_risk_rules(
    p_organisation_id uuid, p_engagement_id uuid, p_rule_id uuid, p_as_of timestamptz) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rule app.risk_rules;
    targets refcursor;
    engagement record;
    observed numeric;
    breached boolean;
    was boolean;
    changed integer := 0;
    touched integer;
BEGIN
    FOR rule IN SELECT * FROM app.risk_rules r WHERE r.organisation_id = p_organisation_id AND r.enabled
                  AND (p_rule_id IS NULL OR r.id = p_rule_id) LOOP
        -- One engagement (after a write) or every one (the sweep, a changed rule): two statements, so that each
        -- keeps its plan. One query with "p_engagement_id IS NULL OR" had a generic plan that reads the whole
        -- organisation, so PostgreSQL planned it anew for every call (0.13 ms, four times its execution).
        IF p_engagement_id IS NULL THEN
            OPEN targets FOR
                SELECT e.id, c.total_value, c.currency FROM app.engagements e
                LEFT JOIN app.contracts c ON c.organisation_id = e.organisation_id AND c.id = e.contract_id
                WHERE e.organisation_id = p_organisation_id AND e.status IN ('active', 'on_hold');
        ELSE
            OPEN targets FOR
                SELECT e.id, c.total_value, c.currency FROM app.engagements e
                LEFT JOIN app.contracts c ON c.organisation_id = e.organisation_id AND c.id = e.contract_id
                WHERE e.organisation_id = p_organisation_id AND e.id = p_engagement_id AND e.status IN ('active', 'on_hold');
        END IF;
        LOOP
            FETCH targets INTO engagement;
            EXIT WHEN NOT FOUND;
            observed := app.rule_observation(rule, engagement.id, p_as_of);
            breached := app.rule_breached(rule, observed);
            CONTINUE WHEN breached IS NULL;
            -- Without a recorded state (new rule or definition), an open signal of the rule counts as breached.
            SELECT coalesce(
                (SELECT s.breached FROM app.risk_rule_states s
                 WHERE s.organisation_id = p_organisation_id AND s.rule_id = rule.id AND s.engagement_id = engagement.id),
                EXISTS (SELECT FROM app.risk_signals s
                        WHERE s.organisation_id = p_organisation_id AND s.rule_id = rule.id
                          AND s.engagement_id = engagement.id AND s.status IN ('open', 'mitigating')))
            INTO was;
            IF breached AND NOT coalesce(was, false) THEN
                INSERT INTO app.risk_signals (organisation_id, engagement_id, title, description, category, probability,
                                              impact, value_at_risk, currency, source, rule_id)
                VALUES (p_organisation_id, engagement.id, rule.title,
                        format('Raised by rule "%s": %s %s (observed %s).', rule.name,
                               CASE rule.condition WHEN 'kpi' THEN 'KPI ' || rule.kpi
                                    ELSE replace(rule.condition, '_', ' ') || coalesce(' of ' || rule.product, '')
                                         || coalesce(' / ' || rule.capability, '') END,
                               CASE WHEN rule.condition = 'health_band' THEN 'is ' || rule.band || CASE WHEN rule.band = 'amber' THEN ' or worse' ELSE '' END
                                    ELSE rule.comparison || ' ' || rule.threshold END,
                               CASE WHEN rule.condition = 'health_band' THEN (ARRAY['green', 'amber', 'red'])[observed::int + 1]
                                    ELSE round(observed, 2)::text END),
                        rule.category, rule.probability, rule.impact, engagement.total_value,
                        CASE WHEN engagement.total_value IS NOT NULL THEN engagement.currency END, 'rule', rule.id)
                ON CONFLICT (organisation_id, rule_id, engagement_id) WHERE rule_id IS NOT NULL AND status IN ('open', 'mitigating')
                DO NOTHING;
                GET DIAGNOSTICS touched = ROW_COUNT;
                changed := changed + touched;
            ELSIF NOT breached AND coalesce(was, false) THEN
                UPDATE app.risk_signals SET status = 'resolved',
                    resolution = format('Condition cleared (observed %s).', round(observed, 2))
                WHERE organisation_id = p_organisation_id AND rule_id = rule.id AND engagement_id = engagement.id
                  AND status IN ('open', 'mitigating');
                GET DIAGNOSTICS touched = ROW_COUNT;
                changed := changed + touched;
            END IF;
            INSERT INTO app.risk_rule_states (organisation_id, rule_id, engagement_id, breached, observed)
            VALUES (p_organisation_id, rule.id, engagement.id, breached, observed)
            ON CONFLICT (organisation_id, rule_id, engagement_id) DO UPDATE SET
                breached = EXCLUDED.breached, observed = EXCLUDED.observed, evaluated_at = now(),
                changed_at = CASE WHEN risk_rule_states.breached <> EXCLUDED.breached THEN now() ELSE risk_rule_states.changed_at END;
        END LOOP;
        CLOSE targets;
    END LOOP;
    RETURN changed;
END
$$;
REVOKE ALL ON FUNCTION app.evaluate_risk_rules(p_organisation_id uuid, p_engagement_id uuid, p_rule_id uuid, p_as_of timestamp with time zone) FROM PUBLIC;

-- Rules that depend on time alone (decay, freshness) change without any write: the server calls this sweep
-- periodically (one instance at a time, under an advisory lock). Returns signals raised or resolved.
CREATE OR REPLACE FUNCTION app.sweep_risk_rules() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    organisation uuid;
    changed integer := 0;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtextextended('risk-rule-sweep', 0)) THEN
        RETURN 0;  -- another instance is sweeping
    END IF;
    FOR organisation IN SELECT DISTINCT organisation_id FROM app.risk_rules WHERE enabled LOOP
        changed := changed + app.evaluate_risk_rules(organisation, NULL, NULL, now());
    END LOOP;
    RETURN changed;
END
$$;
REVOKE ALL ON FUNCTION app.sweep_risk_rules() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.sweep_risk_rules() TO engagement_app;

CREATE OR REPLACE FUNCTION app.evaluate_rules_after_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_TABLE_NAME = 'risk_rules' THEN
        IF TG_OP = 'UPDATE' AND (NEW.condition, NEW.kpi, NEW.product, NEW.capability, NEW.comparison, NEW.threshold, NEW.band)
                                 IS DISTINCT FROM (OLD.condition, OLD.kpi, OLD.product, OLD.capability, OLD.comparison, OLD.threshold, OLD.band) THEN
            -- A new definition starts over: its open signals are judged afresh (see `was` in evaluate_risk_rules).
            DELETE FROM app.risk_rule_states WHERE organisation_id = NEW.organisation_id AND rule_id = NEW.id;
        END IF;
        PERFORM app.evaluate_risk_rules(NEW.organisation_id, NULL, NEW.id, now());
    ELSE
        PERFORM app.evaluate_risk_rules(NEW.organisation_id, NEW.id, NULL, now());
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION app.risk_signal_json(s app.risk_signals) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object(
        'id', s.id, 'engagement_id', s.engagement_id, 'title', s.title, 'description', s.description,
        'category', s.category, 'probability', s.probability, 'impact', s.impact, 'severity', s.severity,
        'severity_score', s.severity_score, 'status', s.status, 'owner_user_id', s.owner_user_id, 'due_date', s.due_date,
        'value_at_risk', s.value_at_risk, 'currency', s.currency, 'source', s.source, 'rule_id', s.rule_id,
        'resolution', s.resolution, 'resolved_at', s.resolved_at, 'version', s.version,
        'created_at', s.created_at, 'created_by', s.created_by, 'updated_at', s.updated_at, 'updated_by', s.updated_by)
$$;

CREATE OR REPLACE FUNCTION app.risk_rule_json(r app.risk_rules) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object(
        'id', r.id, 'name', r.name, 'condition', r.condition, 'kpi', r.kpi, 'product', r.product,
        'capability', r.capability, 'comparison', r.comparison,
        'threshold', r.threshold, 'band', r.band, 'title', r.title, 'category', r.category,
        'probability', r.probability, 'impact', r.impact, 'enabled', r.enabled, 'version', r.version,
        'created_at', r.created_at, 'updated_at', r.updated_at)
$$;

-- Per engagement: counts by status; open signals by severity and probability; open value at risk per currency.
CREATE OR REPLACE FUNCTION app.risk_summary(p_engagement_id uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN (
        WITH signals AS (
            SELECT s.* FROM app.risk_signals s
            WHERE s.organisation_id = app.current_organisation_id() AND s.engagement_id = p_engagement_id),
        open AS (SELECT * FROM signals WHERE status IN ('open', 'mitigating'))
        SELECT jsonb_build_object(
            'engagement_id', e.id,
            'by_status', (SELECT jsonb_object_agg(x, (SELECT count(*) FROM signals WHERE status = x))
                          FROM unnest(ARRAY['open', 'mitigating', 'resolved', 'dismissed']) x),
            'open_by_severity', (SELECT jsonb_object_agg(x, (SELECT count(*) FROM open WHERE severity = x))
                                 FROM unnest(ARRAY['low', 'medium', 'high', 'critical']) x),
            'open_by_probability', (SELECT jsonb_object_agg(x, (SELECT count(*) FROM open WHERE probability = x))
                                    FROM unnest(ARRAY['very_low', 'low', 'medium', 'high', 'very_high']) x),
            'open_value_at_risk', coalesce((SELECT jsonb_agg(jsonb_build_object('currency', currency, 'amount', amount) ORDER BY currency)
                                            FROM (SELECT currency, sum(value_at_risk) AS amount FROM open
                                                  WHERE value_at_risk IS NOT NULL GROUP BY currency) v), '[]'),
            'top_open', coalesce((SELECT jsonb_agg(app.risk_signal_json(o) ORDER BY o.severity_score DESC, o.created_at)
                                  FROM (SELECT * FROM open ORDER BY severity_score DESC, created_at LIMIT 5) o), '[]'))
        FROM app.engagements e
        WHERE e.organisation_id = app.current_organisation_id() AND e.id = p_engagement_id);
END
$$;
