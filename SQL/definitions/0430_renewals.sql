-- Renewals (table: migration 0043_renewals.sql). A contract with an end date is up for renewal; its renewal
-- opportunities are those renewing it or one of its engagements. Its renewal state:
--   retained — a renewal opportunity was won;
--   churned  — the contract was terminated, or its renewal was lost with none still open, or it ended with no
--              renewal won or open;
--   pending  — anything else (not ended yet, or a renewal still open).
-- Retention over a window (report.renewals), per currency: 1 − churned value ÷ value up for renewal, where the
-- value up for renewal is the total value of the contracts ending in the window (an MOU without a value counts
-- 0) and the churned value that of those churned; pending contracts count as not churned (yet), and
-- closed_retention = retained ÷ (retained + churned) leaves them out.

CREATE OR REPLACE VIEW app.contract_renewals WITH (security_barrier) AS
SELECT k.organisation_id, k.id AS contract_id, k.reference, k.title, k.customer_party_id, k.total_value, k.currency,
       k.start_date, k.end_date, k.status, s.raised_at AS signal_raised_at, o.id AS opportunity_id, o.stage,
       o.outcome,
       CASE WHEN coalesce(o.won, false) THEN 'retained'
            WHEN k.status = 'terminated' OR (coalesce(o.lost, false) AND NOT coalesce(o.open, false))
                 OR (k.end_date < current_date AND NOT coalesce(o.open, false)) THEN 'churned'
            ELSE 'pending' END AS renewal_state
FROM app.contracts k
LEFT JOIN app.renewal_signals s ON s.organisation_id = k.organisation_id AND s.contract_id = k.id AND s.ends_on = k.end_date
-- The contract's renewal opportunities, looked at once: whether any was won, lost or is open, and the one to
-- show (a won one, else an open one, else the latest).
LEFT JOIN LATERAL (
    SELECT bool_or(x.outcome = 'won') AS won, bool_or(x.outcome = 'lost') AS lost, bool_or(x.outcome = 'open') AS open,
           (array_agg(x.id ORDER BY x.rank))[1] AS id, (array_agg(x.stage ORDER BY x.rank))[1] AS stage,
           (array_agg(x.outcome ORDER BY x.rank))[1] AS outcome
    FROM (SELECT op.id, op.stage, st.outcome,
                 row_number() OVER (ORDER BY (st.outcome = 'won') DESC, (st.outcome = 'open') DESC, op.created_at DESC) AS rank
          FROM app.opportunities op
          JOIN app.pipeline_stages st ON st.organisation_id = op.organisation_id AND st.name = op.stage
          WHERE op.organisation_id = k.organisation_id AND op.kind = 'renewal'
            AND (op.renews_contract_id = k.id OR op.renews_engagement_id IN (
                SELECT e.id FROM app.engagements e WHERE e.organisation_id = k.organisation_id AND e.contract_id = k.id))) x) o ON true
WHERE k.organisation_id = (SELECT app.current_organisation_id()) AND k.end_date IS NOT NULL;
GRANT SELECT ON app.contract_renewals TO engagement_app;

-- The periodic sweep (MaintenanceService): contracts ending within their organisation's window get their signal
-- once, on the timeline of their engagements (entry renewal_due, so subscribers and trigger rules hear of it),
-- and, when the organisation wants it and no renewal of the contract is open or won, their renewal opportunity.
CREATE OR REPLACE FUNCTION app.sweep_renewals(p_today date DEFAULT current_date) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    due record;
    opportunity uuid;
    raised integer := 0;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtextextended('renewal-sweep', 0)) THEN
        RETURN 0;
    END IF;
    FOR due IN
        SELECT k.*, s.auto_renewal_opportunities AS auto FROM app.contracts k
        JOIN app.commercial_settings s ON s.organisation_id = k.organisation_id
        WHERE k.status = 'active' AND k.end_date IS NOT NULL AND k.end_date BETWEEN p_today AND p_today + s.renewal_window_days
          AND NOT EXISTS (SELECT FROM app.renewal_signals r
                          WHERE r.organisation_id = k.organisation_id AND r.contract_id = k.id AND r.ends_on = k.end_date)
    LOOP
        opportunity := NULL;
        IF due.auto AND NOT EXISTS (
            SELECT FROM app.opportunities op
            JOIN app.pipeline_stages st ON st.organisation_id = op.organisation_id AND st.name = op.stage
            WHERE op.organisation_id = due.organisation_id AND op.kind = 'renewal' AND st.outcome IN ('open', 'won')
              AND (op.renews_contract_id = due.id OR op.renews_engagement_id IN (
                  SELECT e.id FROM app.engagements e WHERE e.organisation_id = due.organisation_id AND e.contract_id = due.id))) THEN
            INSERT INTO app.opportunities (organisation_id, customer_party_id, kind, renews_contract_id, title, value, currency,
                                           expected_close_date, stage)
            VALUES (due.organisation_id, due.customer_party_id, 'renewal', due.id, left('Renewal: ' || due.title, 200),
                    coalesce(due.total_value, 0), due.currency, due.end_date,
                    (SELECT st.name FROM app.pipeline_stages st WHERE st.organisation_id = due.organisation_id AND st.outcome = 'open'
                     ORDER BY st.position, st.name LIMIT 1))
            RETURNING id INTO opportunity;
        END IF;
        INSERT INTO app.renewal_signals (organisation_id, contract_id, ends_on, opportunity_id)
        VALUES (due.organisation_id, due.id, due.end_date, opportunity);
        INSERT INTO app.timeline_entries (organisation_id, engagement_id, entry_type, title, entity, entity_id, details)
        SELECT due.organisation_id, e.id, 'renewal_due', left(format('Contract %s ends on %s: renewal due', due.reference, due.end_date), 500),
               'contracts', due.id, jsonb_build_object('contract_id', due.id, 'ends_on', due.end_date, 'opportunity_id', opportunity)
        FROM app.engagements e WHERE e.organisation_id = due.organisation_id AND e.contract_id = due.id AND e.status <> 'archived';
        raised := raised + 1;
    END LOOP;
    RETURN raised;
END
$$;
REVOKE ALL ON FUNCTION app.sweep_renewals(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.sweep_renewals(date) TO engagement_app;

-- engagement.propose_renewal: delivery starts the renewal conversation. The engagement's open renewal
-- opportunity is returned as it is; otherwise one is opened renewing the engagement (and its contract), with the
-- contract's value, currency and end date unless given.
CREATE OR REPLACE FUNCTION api.engagement_propose_renewal(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    reply jsonb := api.replay('engagement.propose_renewal', p);
    engagement app.engagements;
    contract app.contracts;
    existing app.opportunities;
BEGIN
    IF reply IS NOT NULL THEN
        RETURN reply;
    END IF;
    SELECT * INTO engagement FROM app.engagements WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    SELECT o.* INTO existing FROM app.opportunities o
    WHERE o.kind = 'renewal' AND o.renews_engagement_id = engagement.id AND o.closed_at IS NULL
    ORDER BY o.created_at DESC LIMIT 1;
    IF FOUND THEN
        RETURN api.remember('engagement.propose_renewal', p, app.opportunity_json(existing));
    END IF;
    SELECT * INTO contract FROM app.contracts WHERE id = engagement.contract_id;
    IF coalesce(p ->> 'currency', contract.currency) IS NULL THEN
        PERFORM api.invalid_param('currency', 'is required for an engagement without a contract');
    END IF;
    RETURN api.remember('engagement.propose_renewal', p, api.opportunity_create(jsonb_strip_nulls(jsonb_build_object(
        'customer_party_id', engagement.customer_party_id, 'kind', 'renewal', 'renews_engagement_id', engagement.id,
        'renews_contract_id', contract.id, 'title', coalesce(p ->> 'title', left('Renewal: ' || engagement.name, 200)),
        'value', coalesce((p ->> 'value')::numeric, contract.total_value, 0),
        'currency', coalesce(p ->> 'currency', contract.currency),
        'expected_close_date', coalesce((p ->> 'expected_close_date')::date, contract.end_date, engagement.end_date),
        'owner_user_id', coalesce((p ->> 'owner_user_id')::uuid, engagement.owner_user_id, app.current_user_id())))));
END
$$;

-- report.renewals: the contracts ending in a window of months (default: this month and the next eleven), by
-- month with their value per currency and states, each contract, and retention per currency (see the header).
CREATE OR REPLACE FUNCTION api.report_renewals(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    from_month date := coalesce(to_date(p ->> 'from', 'YYYY-MM'), date_trunc('month', current_date)::date);
    to_month date := coalesce(to_date(p ->> 'to', 'YYYY-MM'), (date_trunc('month', current_date) + interval '11 months')::date);
BEGIN
    IF to_month < from_month THEN
        PERFORM api.invalid_param('to', 'is before from');
    END IF;
    RETURN (
        WITH due AS (
            SELECT r.*, date_trunc('month', r.end_date)::date AS month, coalesce(r.total_value, 0) AS value
            FROM app.contract_renewals r
            WHERE r.end_date >= from_month AND r.end_date < (to_month + interval '1 month')::date)
        SELECT jsonb_build_object(
            'from', to_char(from_month, 'YYYY-MM'), 'to', to_char(to_month, 'YYYY-MM'),
            'months', coalesce((
                SELECT jsonb_agg(jsonb_build_object(
                    'month', to_char(m.month, 'YYYY-MM'), 'contracts', m.contracts,
                    'value', (SELECT jsonb_object_agg(c.currency, c.value) FROM (SELECT currency, sum(value) AS value FROM due d
                                                                                 WHERE d.month = m.month GROUP BY currency) c),
                    'retained', m.retained, 'churned', m.churned, 'pending', m.pending) ORDER BY m.month)
                FROM (SELECT month, count(*) AS contracts, count(*) FILTER (WHERE renewal_state = 'retained') AS retained,
                             count(*) FILTER (WHERE renewal_state = 'churned') AS churned,
                             count(*) FILTER (WHERE renewal_state = 'pending') AS pending
                      FROM due GROUP BY month) m), '[]'),
            'contracts', coalesce((
                SELECT jsonb_agg(jsonb_build_object(
                    'contract_id', d.contract_id, 'reference', d.reference, 'title', d.title,
                    'customer', (SELECT jsonb_build_object('id', pt.id, 'name', pt.name) FROM app.parties pt
                                 WHERE pt.organisation_id = d.organisation_id AND pt.id = d.customer_party_id),
                    'end_date', d.end_date, 'value', d.total_value, 'currency', d.currency, 'status', d.status,
                    'signal_raised_at', d.signal_raised_at, 'opportunity_id', d.opportunity_id, 'opportunity_stage', d.stage,
                    'renewal_state', d.renewal_state) ORDER BY d.end_date, d.reference)
                FROM due d), '[]'),
            'retention', coalesce((
                SELECT jsonb_agg(jsonb_build_object(
                    'currency', t.currency, 'up_for_renewal', t.up, 'retained', t.retained, 'churned', t.churned,
                    'pending', t.pending, 'retention', round(1 - t.churned / nullif(t.up, 0), 4),
                    'closed_retention', round(t.retained / nullif(t.retained + t.churned, 0), 4)) ORDER BY t.currency)
                FROM (SELECT currency, sum(value) AS up, sum(value) FILTER (WHERE renewal_state = 'retained') AS retained,
                             coalesce(sum(value) FILTER (WHERE renewal_state = 'churned'), 0) AS churned,
                             sum(value) FILTER (WHERE renewal_state = 'pending') AS pending
                      FROM due GROUP BY currency) t), '[]')));
END
$$;

REVOKE ALL ON FUNCTION api.engagement_propose_renewal(jsonb), api.report_renewals(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.engagement_propose_renewal(jsonb), api.report_renewals(jsonb) TO engagement_app;

CREATE OR REPLACE VIEW reporting.renewals WITH (security_barrier) AS
SELECT r.contract_id, r.reference AS contract_reference, r.title, r.customer_party_id, p.name AS customer_name, r.total_value,
       r.currency, r.start_date, r.end_date, r.end_date - current_date AS days_to_end, r.status AS contract_status,
       r.signal_raised_at, r.opportunity_id, r.stage AS opportunity_stage, r.outcome AS opportunity_outcome, r.renewal_state
FROM app.contract_renewals r
JOIN app.parties p ON p.organisation_id = r.organisation_id AND p.id = r.customer_party_id
WHERE r.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.renewals TO engagement_reporting;
