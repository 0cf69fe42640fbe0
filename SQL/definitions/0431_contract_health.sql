-- report.contract_health: what is the health of all of the active contracts? Per contract: its engagements'
-- current health (the worst band among them and the mean score), open risks by severity, the commitments (did we
-- deliver?), SLA breaches and credits, and where its renewal stands; and over all of them the count by band and
-- the mean health weighted by contract value, per currency.
-- report.satisfaction: per service (product offering), the distribution of a satisfaction KPI (by name, e.g. NPS
-- or CSAT) over its engagements and months: count, mean, min, quartiles, max, and per month and engagement.

CREATE OR REPLACE FUNCTION api.report_contract_health(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    org uuid := app.current_organisation_id();
    wanted text := coalesce(p ->> 'status', 'active');
BEGIN
    IF p ->> 'contract_id' IS NOT NULL AND NOT EXISTS (SELECT FROM app.contracts WHERE id = (p ->> 'contract_id')::uuid) THEN
        PERFORM api.not_found();
    END IF;
    RETURN (
        WITH contracts AS (
            SELECT k.* FROM app.contracts k
            WHERE k.organisation_id = org
              AND CASE WHEN p ->> 'contract_id' IS NOT NULL THEN k.id = (p ->> 'contract_id')::uuid ELSE k.status = wanted END),
        engagement_health AS (
            SELECT k.id AS contract_id, e.id, e.code, h.score, h.band
            FROM contracts k
            JOIN app.engagements e ON e.organisation_id = k.organisation_id AND e.contract_id = k.id
            LEFT JOIN LATERAL app.current_health(org, e.id, now()) h ON true),
        per_contract AS (
            SELECT k.*,
                   (SELECT CASE WHEN bool_or(h.band = 'red') THEN 'red' WHEN bool_or(h.band = 'amber') THEN 'amber'
                                WHEN bool_or(h.band = 'green') THEN 'green' ELSE 'unknown' END
                    FROM engagement_health h WHERE h.contract_id = k.id) AS band,
                   (SELECT round(avg(h.score), 2) FROM engagement_health h WHERE h.contract_id = k.id) AS mean
            FROM contracts k),
        items AS (
            SELECT c.reference, c.band, c.mean, c.total_value, c.currency, jsonb_build_object(
                'contract', jsonb_build_object(
                    'id', c.id, 'reference', c.reference, 'title', c.title, 'status', c.status, 'value', c.total_value,
                    'currency', c.currency, 'start_date', c.start_date, 'end_date', c.end_date,
                    'customer', (SELECT jsonb_build_object('id', pt.id, 'name', pt.name) FROM app.parties pt
                                 WHERE pt.organisation_id = c.organisation_id AND pt.id = c.customer_party_id)),
                'health', jsonb_build_object(
                    'band', c.band, 'mean', c.mean,
                    'engagements', coalesce((SELECT jsonb_agg(jsonb_build_object('id', h.id, 'code', h.code, 'score', h.score, 'band', h.band)
                                                              ORDER BY h.code)
                                             FROM engagement_health h WHERE h.contract_id = c.id), '[]')),
                'risks', (SELECT jsonb_build_object(
                              'open', count(*),
                              'by_severity', jsonb_build_object('low', count(*) FILTER (WHERE r.severity = 'low'),
                                                                'medium', count(*) FILTER (WHERE r.severity = 'medium'),
                                                                'high', count(*) FILTER (WHERE r.severity = 'high'),
                                                                'critical', count(*) FILTER (WHERE r.severity = 'critical')))
                          FROM app.risk_signals r
                          JOIN app.engagements e ON e.organisation_id = r.organisation_id AND e.id = r.engagement_id
                          WHERE e.organisation_id = c.organisation_id AND e.contract_id = c.id AND r.status IN ('open', 'mitigating')),
                'commitments', (SELECT jsonb_build_object(
                                    'delivered', NOT coalesce(bool_or(s.status = 'lapsed'), false), 'count', count(*),
                                    'by_status', jsonb_build_object('fulfilled', count(*) FILTER (WHERE s.status = 'fulfilled'),
                                                                    'partially_fulfilled', count(*) FILTER (WHERE s.status = 'partially_fulfilled'),
                                                                    'unfulfilled', count(*) FILTER (WHERE s.status = 'unfulfilled'),
                                                                    'not_started', count(*) FILTER (WHERE s.status = 'not_started'),
                                                                    'lapsed', count(*) FILTER (WHERE s.status = 'lapsed')))
                                FROM app.commitment_status s WHERE s.contract_id = c.id),
                'sla', (SELECT jsonb_build_object('breached_periods', count(*) FILTER (WHERE r.status = 'breached'),
                                                  'credits', coalesce(sum(r.credit), 0))
                        FROM app.sla_results r
                        JOIN app.engagements e ON e.organisation_id = r.organisation_id AND e.id = r.engagement_id
                        WHERE e.organisation_id = c.organisation_id AND e.contract_id = c.id),
                'renewal', (SELECT jsonb_build_object('state', r.renewal_state, 'days_to_end', r.end_date - current_date,
                                                      'signal_raised_at', r.signal_raised_at, 'opportunity_id', r.opportunity_id,
                                                      'opportunity_stage', r.stage)
                            FROM app.contract_renewals r WHERE r.contract_id = c.id)) AS item
            FROM per_contract c)
        SELECT jsonb_build_object(
            'contracts', coalesce((SELECT jsonb_agg(i.item ORDER BY i.reference) FROM items i), '[]'),
            'summary', jsonb_build_object(
                'contracts', (SELECT count(*) FROM items),
                'by_band', jsonb_build_object('red', (SELECT count(*) FROM items WHERE band = 'red'),
                                              'amber', (SELECT count(*) FROM items WHERE band = 'amber'),
                                              'green', (SELECT count(*) FROM items WHERE band = 'green'),
                                              'unknown', (SELECT count(*) FROM items WHERE band = 'unknown')),
                'health_weighted_by_value', coalesce((
                    SELECT jsonb_object_agg(w.currency, w.weighted) FROM (
                        SELECT currency, round(sum(mean * total_value) / nullif(sum(total_value), 0), 2) AS weighted
                        FROM items WHERE mean IS NOT NULL AND total_value > 0 GROUP BY currency) w
                    WHERE w.weighted IS NOT NULL), '{}'))));
END
$$;

CREATE OR REPLACE FUNCTION api.report_satisfaction(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    org uuid := app.current_organisation_id();
    from_month date := to_date(p ->> 'from', 'YYYY-MM');
    to_month date := to_date(p ->> 'to', 'YYYY-MM');
BEGIN
    IF p ->> 'service_id' IS NOT NULL AND NOT EXISTS (SELECT FROM app.services WHERE id = (p ->> 'service_id')::uuid) THEN
        PERFORM api.not_found();
    END IF;
    RETURN (
        WITH v AS (
            SELECT s.id AS service_id, s.code AS service_code, s.name AS service_name, e.id AS engagement_id, e.code AS engagement_code,
                   c.period, kv.actual
            FROM app.engagement_kpis k
            JOIN app.kpi_values kv ON kv.organisation_id = k.organisation_id AND kv.engagement_id = k.engagement_id AND kv.kpi_id = k.id
            JOIN app.check_ins c ON c.organisation_id = kv.organisation_id AND c.id = kv.check_in_id
            JOIN app.engagements e ON e.organisation_id = k.organisation_id AND e.id = k.engagement_id
            JOIN app.services s ON s.organisation_id = e.organisation_id AND s.id = e.service_id
            WHERE k.organisation_id = org AND lower(k.name) = lower(p ->> 'kpi')
              AND (from_month IS NULL OR c.period >= from_month) AND (to_month IS NULL OR c.period <= to_month)
              AND (p ->> 'service_id' IS NULL OR s.id = (p ->> 'service_id')::uuid))
        SELECT jsonb_build_object('kpi', p ->> 'kpi', 'services', coalesce(jsonb_agg(x.item ORDER BY x.code), '[]'))
        FROM (
            SELECT v.service_code AS code, jsonb_build_object(
                'service', jsonb_build_object('id', v.service_id, 'code', v.service_code, 'name', min(v.service_name)),
                'engagements', count(DISTINCT v.engagement_id), 'values', count(*),
                'mean', round(avg(v.actual), 2), 'min', min(v.actual),
                'p25', round(percentile_cont(0.25) WITHIN GROUP (ORDER BY v.actual)::numeric, 2),
                'median', round(percentile_cont(0.5) WITHIN GROUP (ORDER BY v.actual)::numeric, 2),
                'p75', round(percentile_cont(0.75) WITHIN GROUP (ORDER BY v.actual)::numeric, 2),
                'max', max(v.actual),
                'by_month', (SELECT jsonb_agg(jsonb_build_object('period', to_char(m.period, 'YYYY-MM'), 'values', m.n, 'mean', m.mean)
                                              ORDER BY m.period)
                             FROM (SELECT w.period, count(*) AS n, round(avg(w.actual), 2) AS mean FROM v w
                                   WHERE w.service_id = v.service_id GROUP BY w.period) m),
                'by_engagement', (SELECT jsonb_agg(jsonb_build_object('engagement_id', g.engagement_id, 'code', g.engagement_code,
                                                                      'values', g.n, 'mean', g.mean, 'latest', g.latest)
                                                   ORDER BY g.engagement_code)
                                  FROM (SELECT w.engagement_id, w.engagement_code, count(*) AS n, round(avg(w.actual), 2) AS mean,
                                               (array_agg(w.actual ORDER BY w.period DESC))[1] AS latest
                                        FROM v w WHERE w.service_id = v.service_id GROUP BY w.engagement_id, w.engagement_code) g)) AS item
            FROM v GROUP BY v.service_id, v.service_code) x);
END
$$;

REVOKE ALL ON FUNCTION api.report_contract_health(jsonb), api.report_satisfaction(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.report_contract_health(jsonb), api.report_satisfaction(jsonb) TO engagement_app;
