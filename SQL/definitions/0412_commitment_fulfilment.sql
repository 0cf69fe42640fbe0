-- Did we deliver? Each commitment's fulfilment per period, computed in one view that the API and the DBAs'
-- reporting views both read (so both say the same):
--
-- * Periods. fte and hours per month or quarter: every calendar month (quarter) the commitment's dates touch, up
--   to its end date or, open-ended, the current month. hours over the contract: one period, the commitment's
--   dates. deliverable: one period, from its start to its due date.
-- * Required. fte: fte × hours_per_fte (the organisation's setting, default 160) per month; hours: the block per
--   period; both prorated by the share of the period's days inside the commitment's dates (a commitment from the
--   16th of a 31-day month requires 16/31 of the month). deliverable: the deliverables linked to it (at least 1).
-- * Delivered. fte and hours: the actual hours of the check-ins whose month lies in the period, of the
--   engagements the commitment applies to (those listed, or all of its contract's), of its role only when it
--   names one. A check-in month counts whole (check-ins are monthly). deliverable: the linked deliverables
--   accepted on or before the due date.
-- * Status per period (app.fulfilment_status): not_applicable (outside the commitment's dates: only in ranges
--   asked for), fulfilled (delivered ≥ required), not_started (the period has not begun), lapsed (the period is
--   over and it was not met), partially_fulfilled (something delivered, the period still running), unfulfilled
--   (nothing yet, the period still running). percent = delivered ÷ required × 100.
-- * A commitment overall: lapsed if any period lapsed; fulfilled if all are; not_started if none has begun;
--   partially_fulfilled if any is fulfilled or partially so; unfulfilled otherwise. Its percent counts the periods
--   begun, each capped at its requirement (hours beyond one month's commitment do not make up for another's).
-- * A contract delivered its commitments ("did we deliver?": yes) when none of them lapsed.

CREATE OR REPLACE FUNCTION app.fulfilment_status(p_required numeric, p_delivered numeric, p_start date, p_end date, p_today date)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN p_required IS NULL THEN 'not_applicable'
                WHEN p_delivered >= p_required THEN 'fulfilled'
                WHEN p_start > p_today THEN 'not_started'
                WHEN p_end < p_today THEN 'lapsed'
                WHEN p_delivered > 0 THEN 'partially_fulfilled'
                ELSE 'unfulfilled' END
$$;
REVOKE ALL ON FUNCTION app.fulfilment_status(numeric, numeric, date, date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.fulfilment_status(numeric, numeric, date, date, date) TO engagement_app, engagement_reporting;

-- The engagements a commitment applies to.
CREATE OR REPLACE VIEW app.commitment_scope WITH (security_barrier) AS
SELECT c.organisation_id, c.id AS commitment_id, e.id AS engagement_id
FROM app.commitments c
JOIN app.engagements e ON e.organisation_id = c.organisation_id AND e.contract_id = c.contract_id
WHERE c.organisation_id = (SELECT app.current_organisation_id())
  AND (NOT EXISTS (SELECT FROM app.commitment_engagements l WHERE l.organisation_id = c.organisation_id AND l.commitment_id = c.id)
       OR EXISTS (SELECT FROM app.commitment_engagements l
                  WHERE l.organisation_id = c.organisation_id AND l.commitment_id = c.id AND l.engagement_id = e.id));

CREATE OR REPLACE VIEW app.commitment_periods WITH (security_barrier) AS
SELECT c.organisation_id, c.id AS commitment_id, c.contract_id, c.kind, p.period_start, p.period_end,
       r.required, d.delivered, round(100 * d.delivered / nullif(r.required, 0), 2) AS percent,
       app.fulfilment_status(r.required, d.delivered, p.period_start, p.period_end, current_date) AS status
FROM app.commitments c
JOIN app.commercial_settings s ON s.organisation_id = c.organisation_id
CROSS JOIN LATERAL (
    SELECT c.start_date AS period_start, c.due_date AS period_end WHERE c.kind = 'deliverable'
    UNION ALL
    SELECT c.start_date, coalesce(c.end_date, (date_trunc('month', current_date) + interval '1 month - 1 day')::date)
    WHERE c.kind <> 'deliverable' AND c.period = 'contract'
    UNION ALL
    SELECT g::date, (g + step - interval '1 day')::date
    FROM (SELECT CASE c.period WHEN 'quarter' THEN interval '3 months' ELSE interval '1 month' END AS step) x,
         generate_series(date_trunc(c.period, c.start_date), coalesce(c.end_date, current_date), x.step) g
    WHERE c.kind <> 'deliverable' AND c.period IN ('month', 'quarter')) p
-- A deliverable commitment's deliverables, counted once: linked, and accepted by the due date.
CROSS JOIN LATERAL (
    SELECT count(*) AS linked, count(*) FILTER (WHERE v.status = 'accepted' AND v.accepted_at::date <= c.due_date) AS on_time
    FROM app.deliverables v
    WHERE c.kind = 'deliverable' AND v.organisation_id = c.organisation_id AND v.commitment_id = c.id) dl
CROSS JOIN LATERAL (
    SELECT CASE WHEN c.kind = 'deliverable' THEN greatest(dl.linked, 1)
                WHEN c.period = 'contract' THEN c.hours
                ELSE round(CASE c.kind WHEN 'fte' THEN c.fte * s.hours_per_fte ELSE c.hours END
                           * (least(p.period_end, coalesce(c.end_date, p.period_end)) - greatest(p.period_start, c.start_date) + 1)
                           / (p.period_end - p.period_start + 1), 2) END::numeric AS required) r
CROSS JOIN LATERAL (
    SELECT CASE WHEN c.kind = 'deliverable' THEN dl.on_time
                ELSE coalesce((
                    SELECT sum(ce.actual_hours) FROM app.commitment_scope cs
                    JOIN app.check_ins ci ON ci.organisation_id = cs.organisation_id AND ci.engagement_id = cs.engagement_id
                    JOIN app.capacity_entries ce ON ce.organisation_id = ci.organisation_id AND ce.check_in_id = ci.id
                    WHERE cs.organisation_id = c.organisation_id AND cs.commitment_id = c.id
                      AND ci.period BETWEEN date_trunc('month', p.period_start) AND p.period_end
                      AND (c.role IS NULL OR lower(ce.role) = lower(c.role))), 0) END::numeric AS delivered) d
WHERE c.organisation_id = (SELECT app.current_organisation_id());

-- Each commitment overall (see the header).
CREATE OR REPLACE VIEW app.commitment_status WITH (security_barrier) AS
SELECT commitment_id, organisation_id, contract_id,
       CASE WHEN bool_or(status = 'lapsed') THEN 'lapsed'
            WHEN bool_and(status = 'fulfilled') THEN 'fulfilled'
            WHEN bool_and(status = 'not_started') THEN 'not_started'
            WHEN bool_or(status IN ('fulfilled', 'partially_fulfilled')) THEN 'partially_fulfilled'
            ELSE 'unfulfilled' END AS status,
       sum(required) FILTER (WHERE period_start <= current_date) AS required_to_date,
       sum(least(delivered, required)) FILTER (WHERE period_start <= current_date) AS delivered_to_date,
       round(100 * sum(least(delivered, required)) FILTER (WHERE period_start <= current_date)
             / nullif(sum(required) FILTER (WHERE period_start <= current_date), 0), 2) AS percent
FROM app.commitment_periods GROUP BY commitment_id, organisation_id, contract_id;
GRANT SELECT ON app.commitment_scope, app.commitment_periods, app.commitment_status TO engagement_app;

CREATE OR REPLACE FUNCTION app.commitment_applies_to(c app.commitments, p_engagement uuid) RETURNS boolean
LANGUAGE sql STABLE
AS $$
    SELECT EXISTS (SELECT FROM app.commitment_scope s WHERE s.commitment_id = c.id AND s.engagement_id = p_engagement)
$$;

-- The commitment with its fulfilment: overall, and per period within from..to (months outside its dates are
-- not_applicable; without a range, its own periods); a deliverable commitment lists its deliverables.
CREATE OR REPLACE FUNCTION app.commitment_with_fulfilment(c app.commitments, p_from date, p_to date) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    periods jsonb;
BEGIN
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'period_start', x.period_start, 'period_end', x.period_end, 'required', x.required, 'delivered', x.delivered,
               'percent', x.percent, 'status', x.status) ORDER BY x.period_start), '[]')
    INTO periods
    FROM (SELECT cp.period_start, cp.period_end, cp.required, cp.delivered, cp.percent, cp.status
          FROM app.commitment_periods cp
          WHERE cp.commitment_id = c.id AND (p_from IS NULL OR cp.period_end >= p_from)
            AND (p_to IS NULL OR cp.period_start <= (p_to + interval '1 month - 1 day')::date)
          UNION ALL
          SELECT m::date, (m + interval '1 month - 1 day')::date, NULL, NULL, NULL, 'not_applicable'
          FROM generate_series(p_from, p_to, interval '1 month') m
          WHERE p_from IS NOT NULL AND p_to IS NOT NULL
            AND NOT EXISTS (SELECT FROM app.commitment_periods cp WHERE cp.commitment_id = c.id
                                                                   AND m::date BETWEEN date_trunc('month', cp.period_start) AND cp.period_end)) x;
    RETURN jsonb_build_object(
        'id', c.id, 'contract_id', c.contract_id, 'kind', c.kind, 'title', c.title, 'fte', c.fte, 'hours', c.hours,
        'period', c.period, 'role', c.role, 'start_date', c.start_date, 'end_date', c.end_date, 'due_date', c.due_date,
        'engagement_ids', coalesce((SELECT jsonb_agg(l.engagement_id ORDER BY l.engagement_id) FROM app.commitment_engagements l
                                    WHERE l.organisation_id = c.organisation_id AND l.commitment_id = c.id), '[]'::jsonb),
        'fulfilment', (SELECT jsonb_build_object('status', s.status, 'percent', s.percent, 'required_to_date', s.required_to_date,
                                                 'delivered_to_date', s.delivered_to_date)
                       FROM app.commitment_status s WHERE s.commitment_id = c.id) || jsonb_build_object('periods', periods),
        'deliverables', coalesce((SELECT jsonb_agg(jsonb_build_object('id', d.id, 'title', d.title, 'engagement_id', d.engagement_id,
                                                                      'status', d.status, 'due_date', d.due_date,
                                                                      'accepted_at', d.accepted_at, 'accepted_by', d.accepted_by)
                                                   ORDER BY d.created_at, d.id)
                                  FROM app.deliverables d WHERE d.organisation_id = c.organisation_id AND d.commitment_id = c.id), '[]'::jsonb),
        'version', c.version, 'created_at', c.created_at, 'updated_at', c.updated_at);
END
$$;

CREATE OR REPLACE FUNCTION app.commitment_json(c app.commitments) RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT app.commitment_with_fulfilment(c, NULL, NULL) $$;

-- report.commitments: per contract in scope, its commitments with their fulfilment and the answer. Scope: one
-- contract; one engagement (its contract's commitments that apply to it) or its subtree (subtree: true); the
-- contracts of a portfolio's services' engagements; or, with none, every contract with commitments.
CREATE OR REPLACE FUNCTION api.report_commitments(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    engagements uuid[];
    contracts uuid[];
    from_month date := to_date(p ->> 'from', 'YYYY-MM');
    to_month date := to_date(p ->> 'to', 'YYYY-MM');
    result jsonb;
BEGIN
    IF p ->> 'engagement_id' IS NOT NULL THEN
        IF NOT EXISTS (SELECT FROM app.engagements WHERE id = (p ->> 'engagement_id')::uuid) THEN
            PERFORM api.not_found();
        END IF;
        engagements := CASE WHEN coalesce((p ->> 'subtree')::boolean, false)
                            THEN ARRAY(SELECT s.descendant_id FROM app.engagement_subtree(app.current_organisation_id(), (p ->> 'engagement_id')::uuid) s)
                            ELSE ARRAY[(p ->> 'engagement_id')::uuid] END;
        contracts := ARRAY(SELECT DISTINCT e.contract_id FROM app.engagements e WHERE e.id = ANY (engagements) AND e.contract_id IS NOT NULL);
    ELSIF p ->> 'contract_id' IS NOT NULL THEN
        contracts := ARRAY(SELECT k.id FROM app.contracts k WHERE k.id = (p ->> 'contract_id')::uuid);
        IF cardinality(contracts) = 0 THEN
            PERFORM api.not_found();
        END IF;
    ELSIF p ->> 'portfolio_id' IS NOT NULL THEN
        IF NOT EXISTS (SELECT FROM app.portfolios WHERE id = (p ->> 'portfolio_id')::uuid) THEN
            PERFORM api.not_found();
        END IF;
        contracts := ARRAY(SELECT DISTINCT e.contract_id FROM app.engagements e
                           JOIN app.portfolio_services ps ON ps.organisation_id = e.organisation_id AND ps.service_id = e.service_id
                           WHERE ps.portfolio_id = (p ->> 'portfolio_id')::uuid AND e.contract_id IS NOT NULL);
    ELSE
        contracts := ARRAY(SELECT DISTINCT c.contract_id FROM app.commitments c WHERE c.organisation_id = app.current_organisation_id());
    END IF;
    SELECT coalesce(jsonb_agg(x.item ORDER BY x.reference), '[]') INTO result
    FROM (SELECT k.reference, jsonb_build_object(
                 'contract', jsonb_build_object('id', k.id, 'reference', k.reference, 'title', k.title, 'status', k.status,
                                                'customer', (SELECT jsonb_build_object('id', pt.id, 'name', pt.name) FROM app.parties pt
                                                             WHERE pt.organisation_id = k.organisation_id AND pt.id = k.customer_party_id)),
                 'delivered', NOT coalesce(bool_or(s.status = 'lapsed'), false),
                 'by_status', '{"fulfilled": 0, "partially_fulfilled": 0, "unfulfilled": 0, "not_started": 0, "lapsed": 0}'::jsonb
                              || coalesce(jsonb_object_agg(s.status, s.n) FILTER (WHERE s.status IS NOT NULL), '{}'),
                 'commitments', coalesce((SELECT jsonb_agg(app.commitment_with_fulfilment(c, from_month, to_month) ORDER BY c.created_at, c.id)
                                          FROM app.commitments c
                                          WHERE c.organisation_id = k.organisation_id AND c.contract_id = k.id
                                            AND (engagements IS NULL OR EXISTS (
                                                SELECT FROM app.commitment_scope cs WHERE cs.commitment_id = c.id AND cs.engagement_id = ANY (engagements)))),
                                         '[]')) AS item
          FROM app.contracts k
          LEFT JOIN LATERAL (
              SELECT st.status, count(*) AS n FROM app.commitment_status st
              JOIN app.commitments c ON c.organisation_id = st.organisation_id AND c.id = st.commitment_id
              WHERE st.contract_id = k.id
                AND (engagements IS NULL OR EXISTS (
                    SELECT FROM app.commitment_scope cs WHERE cs.commitment_id = c.id AND cs.engagement_id = ANY (engagements)))
              GROUP BY st.status) s ON true
          WHERE k.organisation_id = app.current_organisation_id() AND k.id = ANY (contracts)
          GROUP BY k.organisation_id, k.id, k.reference, k.title, k.status, k.customer_party_id) x;
    RETURN jsonb_build_object('delivered', NOT EXISTS (SELECT FROM jsonb_array_elements(result) c WHERE NOT (c ->> 'delivered')::boolean),
                              'contracts', result);
END
$$;

REVOKE ALL ON FUNCTION app.commitment_applies_to(app.commitments, uuid), app.commitment_with_fulfilment(app.commitments, date, date),
    app.commitment_json(app.commitments), api.report_commitments(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.commitment_applies_to(app.commitments, uuid), app.commitment_with_fulfilment(app.commitments, date, date),
    app.commitment_json(app.commitments), api.report_commitments(jsonb) TO engagement_app;

-- For DBAs: the commitments with their overall fulfilment, and each period's evidence.
CREATE OR REPLACE VIEW reporting.commitments WITH (security_barrier) AS
SELECT c.id, c.contract_id, k.reference AS contract_reference, c.kind, c.title, c.fte, c.hours, c.period, c.role, c.start_date,
       c.end_date, c.due_date,
       (SELECT array_agg(e.code ORDER BY e.code) FROM app.commitment_scope cs
        JOIN app.engagements e ON e.organisation_id = cs.organisation_id AND e.id = cs.engagement_id
        WHERE cs.commitment_id = c.id) AS engagement_codes,
       s.status, s.percent, s.required_to_date, s.delivered_to_date, c.created_at, c.updated_at
FROM app.commitments c
JOIN app.contracts k ON k.organisation_id = c.organisation_id AND k.id = c.contract_id
LEFT JOIN app.commitment_status s ON s.organisation_id = c.organisation_id AND s.commitment_id = c.id
WHERE c.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.commitments TO engagement_reporting;

CREATE OR REPLACE VIEW reporting.commitment_fulfilment WITH (security_barrier) AS
SELECT p.commitment_id, c.title AS commitment_title, c.kind, p.contract_id, k.reference AS contract_reference, p.period_start,
       p.period_end, p.required, p.delivered, p.percent, p.status
FROM app.commitment_periods p
JOIN app.commitments c ON c.organisation_id = p.organisation_id AND c.id = p.commitment_id
JOIN app.contracts k ON k.organisation_id = p.organisation_id AND k.id = p.contract_id
WHERE p.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.commitment_fulfilment TO engagement_reporting;
