-- sla.*: the computed results of 0421_sla_credits.sql, read; and their reporting view.

CREATE OR REPLACE FUNCTION app.sla_result_json(r app.sla_results) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object(
        'term_id', r.term_id, 'metric', r.explanation ->> 'metric', 'engagement_id', r.engagement_id,
        'period_start', r.period_start, 'period_end', r.period_end, 'status', r.status, 'measured', r.measured,
        'adjusted', r.adjusted, 'excluded_minutes', r.excluded_minutes, 'tier', r.tier, 'fee', r.fee, 'credit', r.credit,
        'currency', r.currency, 'computed_at', r.computed_at)
$$;

-- Results of one engagement (or its subtree) or of a contract's engagements, in a range of months; with the
-- credits per currency.
CREATE OR REPLACE FUNCTION api.sla_credits(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    engagements uuid[];
    from_month date := to_date(p ->> 'from', 'YYYY-MM');
    to_month date := to_date(p ->> 'to', 'YYYY-MM');
BEGIN
    IF p ->> 'engagement_id' IS NOT NULL THEN
        IF NOT EXISTS (SELECT FROM app.engagements WHERE id = (p ->> 'engagement_id')::uuid) THEN
            PERFORM api.not_found();
        END IF;
        engagements := CASE WHEN coalesce((p ->> 'subtree')::boolean, false)
                            THEN ARRAY(SELECT s.descendant_id FROM app.engagement_subtree(app.current_organisation_id(), (p ->> 'engagement_id')::uuid) s)
                            ELSE ARRAY[(p ->> 'engagement_id')::uuid] END;
    ELSIF p ->> 'contract_id' IS NOT NULL THEN
        IF NOT EXISTS (SELECT FROM app.contracts WHERE id = (p ->> 'contract_id')::uuid) THEN
            PERFORM api.not_found();
        END IF;
        engagements := ARRAY(SELECT e.id FROM app.engagements e WHERE e.contract_id = (p ->> 'contract_id')::uuid);
    ELSE
        PERFORM api.invalid_param('engagement_id', 'give engagement_id or contract_id');
    END IF;
    RETURN (
        WITH rows AS (
            SELECT r.* FROM app.sla_results r
            WHERE r.organisation_id = app.current_organisation_id() AND r.engagement_id = ANY (engagements)
              AND (from_month IS NULL OR r.period_end >= from_month)
              AND (to_month IS NULL OR r.period_start < (to_month + interval '1 month')::date)
              AND (NOT coalesce((p ->> 'breached')::boolean, false) OR r.status = 'breached'))
        SELECT jsonb_build_object(
            'items', coalesce((SELECT jsonb_agg(app.sla_result_json(r) ORDER BY r.period_start, r.engagement_id, r.term_id) FROM rows r), '[]'),
            'totals', coalesce((SELECT jsonb_agg(jsonb_build_object('currency', t.currency, 'credits', t.credits, 'breaches', t.breaches)
                                                 ORDER BY t.currency)
                                FROM (SELECT currency, sum(credit) AS credits, count(*) FILTER (WHERE status = 'breached') AS breaches
                                      FROM rows GROUP BY currency) t), '[]')));
END
$$;

-- The arithmetic of one term's result for one engagement and period (the month given falls in it).
CREATE OR REPLACE FUNCTION api.sla_explain(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    result app.sla_results;
BEGIN
    SELECT * INTO result FROM app.sla_results r
    WHERE r.engagement_id = (p ->> 'engagement_id')::uuid AND r.term_id = (p ->> 'term_id')::uuid
      AND to_date(p ->> 'period', 'YYYY-MM') BETWEEN r.period_start AND r.period_end;
    IF NOT FOUND THEN
        IF NOT EXISTS (SELECT FROM app.engagements WHERE id = (p ->> 'engagement_id')::uuid)
           OR NOT EXISTS (SELECT FROM app.contract_sla_terms WHERE id = (p ->> 'term_id')::uuid) THEN
            PERFORM api.not_found();
        END IF;
        PERFORM api.invalid_param('period', 'has no measured value for this term and engagement');
    END IF;
    RETURN app.sla_result_json(result) || jsonb_build_object('explanation', result.explanation);
END
$$;

REVOKE ALL ON FUNCTION app.sla_result_json(app.sla_results), api.sla_credits(jsonb), api.sla_explain(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.sla_result_json(app.sla_results), api.sla_credits(jsonb), api.sla_explain(jsonb) TO engagement_app;

CREATE OR REPLACE VIEW reporting.sla_results WITH (security_barrier) AS
SELECT r.term_id, t.metric, t.target, t.comparison, t.measurement_period, k.reference AS contract_reference, r.engagement_id,
       e.code AS engagement_code, r.period_start, r.period_end, r.status, r.measured, r.adjusted, r.excluded_minutes,
       r.tier, r.fee, r.credit, r.currency, r.explanation, r.computed_at
FROM app.sla_results r
JOIN app.contract_sla_terms t ON t.organisation_id = r.organisation_id AND t.id = r.term_id
JOIN app.contracts k ON k.organisation_id = t.organisation_id AND k.id = t.contract_id
JOIN app.engagements e ON e.organisation_id = r.organisation_id AND e.id = r.engagement_id
WHERE r.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.sla_results TO engagement_reporting;
