-- One engagement's monthly scores in a range, oldest first.
CREATE OR REPLACE FUNCTION app.report_health_trend(p_engagement_id uuid, p_from date, p_to date) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object('period', to_char(s.period, 'YYYY-MM'), 'score', s.score, 'band', s.band)
                              ORDER BY s.period), '[]')
    FROM app.health_scores s
    WHERE s.engagement_id = p_engagement_id AND s.period BETWEEN p_from AND p_to
$$;

-- report.engagement: everything the visual engagement report draws (engagementctl report CODE --html), for one
-- engagement or a parent account (its whole subtree), in one answer: what it is, health (the monthly trend, the
-- current score and its metrics), open risks with the probability × impact grid, plan vs actual per month
-- (money per currency, hours), the children with their bands, objectives, initiatives by stage, commitments and
-- SLA credits. Run as the caller: row-level security applies, and an engagement of another organisation is
-- not found, like any other.
--   p: {"engagement_id": uuid} or {"code": text}; "from", "to": YYYY-MM (default: the twelve months to the latest check-in)
CREATE OR REPLACE FUNCTION api.report_engagement(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_engagement app.engagements;
    v_subtree uuid[];
    v_from date;
    v_to date;
    v_explain jsonb;
BEGIN
    IF (p ? 'engagement_id') = (p ? 'code') THEN
        PERFORM api.invalid_param('engagement_id', 'give engagement_id or code, one of them');
    END IF;
    SELECT * INTO v_engagement FROM app.engagements e
    WHERE CASE WHEN p ? 'code' THEN lower(e.code) = lower(p ->> 'code') ELSE e.id = (p ->> 'engagement_id')::uuid END;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    SELECT array_agg(s.descendant_id ORDER BY s.depth) INTO v_subtree
    FROM app.engagement_subtree(v_engagement.organisation_id, v_engagement.id) s;
    v_to := coalesce(to_date(p ->> 'to', 'YYYY-MM'),
                     (SELECT max(c.period) FROM app.check_ins c WHERE c.engagement_id = ANY (v_subtree)),
                     date_trunc('month', now())::date);
    v_from := coalesce(to_date(p ->> 'from', 'YYYY-MM'), (v_to - interval '11 months')::date);
    v_explain := app.health_explain(v_engagement.id, now());
    RETURN jsonb_build_object(
        'engagement', app.engagement_json(v_engagement),
        'from', to_char(v_from, 'YYYY-MM'), 'to', to_char(v_to, 'YYYY-MM'),
        'generated_at', now(),
        'subtree_size', cardinality(v_subtree),
        'health', jsonb_build_object(
            'score', v_explain -> 'score', 'band', v_explain -> 'band',
            -- The model with its bands even before the engagement's first score (they are drawn behind the trends).
            'model', coalesce((SELECT jsonb_build_object('id', m.id, 'name', m.name, 'red_below', m.red_below, 'amber_below', m.amber_below)
                               FROM app.health_models m WHERE m.id = (v_explain #>> '{model,id}')::uuid), v_explain -> 'model'),
            'metrics', coalesce((
                SELECT jsonb_agg(jsonb_build_object('metric', m ->> 'metric', 'kpi', m -> 'kpi', 'normalised', m -> 'normalised',
                                                    'weight', m -> 'effective_weight') ORDER BY n)
                FROM jsonb_array_elements(v_explain -> 'metrics') WITH ORDINALITY AS x(m, n)), '[]'),
            'trend', app.report_health_trend(v_engagement.id, v_from, v_to),
            -- A parent account's own score is often empty (its children are checked in): their trends too.
            'child_trends', coalesce((
                SELECT jsonb_agg(jsonb_build_object('code', e.code, 'trend', app.report_health_trend(e.id, v_from, v_to)) ORDER BY e.code)
                FROM app.engagements e
                WHERE e.parent_id = v_engagement.id
                  AND EXISTS (SELECT FROM app.health_scores s WHERE s.engagement_id = e.id AND s.period BETWEEN v_from AND v_to)), '[]')),
        'risks', coalesce((
            SELECT jsonb_agg(jsonb_build_object('id', r.id, 'engagement_code', e.code, 'title', r.title, 'probability', r.probability,
                                                'impact', r.impact, 'severity', r.severity, 'status', r.status)
                             ORDER BY r.severity_score DESC, r.created_at)
            FROM app.risk_signals r JOIN app.engagements e ON e.organisation_id = r.organisation_id AND e.id = r.engagement_id
            WHERE r.engagement_id = ANY (v_subtree) AND r.status IN ('open', 'mitigating')), '[]'),
        -- Every probability × impact cell with its severity (the matrix is the database's) and its open risks.
        'risk_grid', (
            SELECT jsonb_agg(jsonb_build_object(
                       'probability', pr.p, 'impact', im.i, 'severity', app.severity(app.probability_score(pr.p) * app.impact_score(im.i)),
                       'count', coalesce(open.risks, 0)) ORDER BY pn, iname)
            FROM unnest(ARRAY['very_low', 'low', 'medium', 'high', 'very_high']) WITH ORDINALITY AS pr(p, pn)
            CROSS JOIN unnest(ARRAY['low', 'medium', 'high', 'critical']) WITH ORDINALITY AS im(i, iname)
            LEFT JOIN (SELECT r.probability, r.impact, count(*) AS risks FROM app.risk_signals r
                       WHERE r.engagement_id = ANY (v_subtree) AND r.status IN ('open', 'mitigating')
                       GROUP BY r.probability, r.impact) AS open ON open.probability = pr.p AND open.impact = im.i),
        'months', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'period', to_char(m.period, 'YYYY-MM'),
                       'money', coalesce((
                           SELECT jsonb_agg(money ORDER BY currency) FROM (
                               SELECT f.currency, jsonb_build_object(
                                          'currency', f.currency,
                                          'revenue_plan', sum(f.plan) FILTER (WHERE f.category = 'revenue'),
                                          'revenue_actual', sum(f.actual) FILTER (WHERE f.category = 'revenue'),
                                          'cost_plan', sum(f.plan) FILTER (WHERE f.category <> 'revenue'),
                                          'cost_actual', sum(f.actual) FILTER (WHERE f.category <> 'revenue')) AS money
                               FROM app.finance_lines f
                               JOIN app.check_ins c ON c.organisation_id = f.organisation_id AND c.id = f.check_in_id
                               WHERE c.engagement_id = ANY (v_subtree) AND c.period = m.period
                               GROUP BY f.currency) per_currency), '[]'),
                       'planned_hours', hours.planned, 'actual_hours', hours.actual) ORDER BY m.period)
            FROM generate_series(v_from, v_to, interval '1 month') AS m(period)
            CROSS JOIN LATERAL (
                SELECT sum(h.planned_hours) AS planned, sum(h.actual_hours) AS actual FROM app.capacity_entries h
                JOIN app.check_ins c ON c.organisation_id = h.organisation_id AND c.id = h.check_in_id
                WHERE c.engagement_id = ANY (v_subtree) AND c.period = m.period) AS hours), '[]'),
        'children', coalesce((
            SELECT jsonb_agg(jsonb_build_object('id', e.id, 'code', e.code, 'name', e.name, 'status', e.status,
                                                'score', h.score, 'band', coalesce(h.band, 'unknown')) ORDER BY e.code)
            FROM app.engagements e
            LEFT JOIN LATERAL app.current_health(e.organisation_id, e.id, now()) h ON true
            WHERE e.parent_id = v_engagement.id), '[]'),
        'objectives', coalesce((
            SELECT jsonb_agg(jsonb_build_object('id', o.id, 'title', o.title, 'status', o.status, 'target_date', o.target_date)
                             ORDER BY o.target_date NULLS LAST, o.created_at)
            FROM app.objectives o WHERE o.engagement_id = ANY (v_subtree)), '[]'),
        'initiatives_by_stage', (
            SELECT jsonb_object_agg(stage, (SELECT count(*) FROM app.initiatives i
                                            WHERE i.engagement_id = ANY (v_subtree) AND i.stage = stages.stage))
            FROM unnest(ARRAY['planned', 'in_progress', 'done', 'cancelled']) AS stages(stage)),
        'commitments', (
            SELECT jsonb_build_object('delivered', r -> 'delivered', 'by_status', coalesce((
                       SELECT jsonb_object_agg(key, total) FROM (
                           SELECT s.key, sum(s.value::integer) AS total
                           FROM jsonb_array_elements(r -> 'contracts') AS c(contract), jsonb_each_text(c.contract -> 'by_status') AS s
                           GROUP BY s.key) t), '{}'))
            FROM api.report_commitments(jsonb_build_object('engagement_id', v_engagement.id, 'subtree', true)) AS r),
        'sla_credits', (
            SELECT coalesce(r -> 'totals', '[]')
            FROM api.sla_credits(jsonb_build_object('engagement_id', v_engagement.id, 'subtree', true,
                                                    'from', to_char(v_from, 'YYYY-MM'), 'to', to_char(v_to, 'YYYY-MM'))) AS r));
END
$$;
REVOKE ALL ON FUNCTION app.report_health_trend(uuid, date, date), api.report_engagement(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.report_health_trend(uuid, date, date), api.report_engagement(jsonb) TO engagement_app;
