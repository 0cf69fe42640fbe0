-- SLA credits, computed by the database from each contract's SLA terms and its engagements' KPI actuals, stored
-- per term, engagement and measurement period with the arithmetic (sla.explain), and recomputed whenever an
-- input changes: KPI values, the terms, exclusions, the contract's value or dates, the engagement's contract, the
-- finance plan. For one term and one engagement:
--
-- 1. Values: the engagement's KPI named like the term's metric (case-insensitive), per check-in month.
-- 2. Exclusions: per month, the minutes of the exclusion windows inside it (E of the month's M minutes). For a
--    percentage KPI (unit %), the downtime D = (100 − value) % × M is reduced by the excluded minutes and measured
--    over the rest: adjusted = 100 × (1 − max(0, D − E) ÷ (M − E)). Any KPI: a month wholly excluded is left out.
-- 3. Measurement periods: monthly, quarterly or annual (the term's); the period's measured value is the mean of
--    its months' adjusted values weighted by their minutes not excluded; a period with no month left is
--    `excluded`; periods without any value are not computed.
-- 4. Breach: below the target for ">=", above it for "<=". The tier: the worst one the value is beyond (below a
--    ">=" threshold, above a "<=" one); a breach beyond no tier earns no credit.
-- 5. Fee of the period: penalty.period_fee when given; else, fee_basis finance_plan: the engagement's planned
--    revenue in the period's months (in the contract's currency); fee_basis contract (default): the contract's
--    value × the period's days within the contract ÷ the contract's days, shared equally among its engagements
--    (a contract without an end date or value has no such fee).
-- 6. Credit: the tier's credit_percent × fee ÷ 100, or its credit_amount; then capped at cap_percent × fee ÷ 100,
--    cap_amount and the fee itself (a credit never exceeds the period's fee); below minimum_amount nothing is issued.
--    Rounded to cents, in the contract's currency.

CREATE OR REPLACE FUNCTION app.sla_period_bounds(p_month date, p_measurement text) RETURNS daterange
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT daterange(s, (s + CASE p_measurement WHEN 'quarterly' THEN interval '3 months' WHEN 'annual' THEN interval '1 year'
                                                ELSE interval '1 month' END)::date)
    FROM (SELECT date_trunc(CASE p_measurement WHEN 'quarterly' THEN 'quarter' WHEN 'annual' THEN 'year' ELSE 'month' END,
                            p_month)::date AS s) x
$$;

-- Recomputes every term of the engagement's contract for the engagement (definer: clients read the results but
-- never write them; called by the triggers below only, never granted).
CREATE OR REPLACE FUNCTION app.recompute_sla(p_organisation_id uuid, p_engagement_id uuid) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    engagement app.engagements;
    contract app.contracts;
    term app.contract_sla_terms;
    sharing integer;
BEGIN
    DELETE FROM app.sla_results WHERE organisation_id = p_organisation_id AND engagement_id = p_engagement_id;
    SELECT * INTO engagement FROM app.engagements WHERE organisation_id = p_organisation_id AND id = p_engagement_id;
    IF engagement.contract_id IS NULL THEN
        RETURN;
    END IF;
    SELECT * INTO contract FROM app.contracts WHERE organisation_id = p_organisation_id AND id = engagement.contract_id;
    SELECT count(*) INTO sharing FROM app.engagements WHERE organisation_id = p_organisation_id AND contract_id = contract.id;
    FOR term IN SELECT * FROM app.contract_sla_terms WHERE organisation_id = p_organisation_id AND contract_id = contract.id LOOP
        INSERT INTO app.sla_results (organisation_id, term_id, engagement_id, period_start, period_end, status, measured, adjusted,
                                     excluded_minutes, tier, fee, credit, currency, explanation)
        WITH months AS (
            SELECT c.period AS month, v.actual AS value, k.unit = '%' AS percentage, b.minutes,
                   coalesce((SELECT sum(extract(epoch FROM least(x.ends_at, b.to_at) - greatest(x.starts_at, b.from_at)) / 60)
                             FROM app.sla_exclusions x
                             WHERE x.organisation_id = p_organisation_id AND x.term_id = term.id AND x.engagement_id = p_engagement_id
                               AND tstzrange(x.starts_at, x.ends_at) && tstzrange(b.from_at, b.to_at)), 0) AS excluded
            FROM app.engagement_kpis k
            JOIN app.kpi_values v ON v.organisation_id = k.organisation_id AND v.engagement_id = k.engagement_id AND v.kpi_id = k.id
            JOIN app.check_ins c ON c.organisation_id = v.organisation_id AND c.id = v.check_in_id
            -- A month's bounds in UTC, whatever the session's time zone.
            CROSS JOIN LATERAL (SELECT c.period::timestamp AT TIME ZONE 'UTC' AS from_at,
                                       (c.period + interval '1 month') AT TIME ZONE 'UTC' AS to_at,
                                       ((c.period + interval '1 month')::date - c.period) * 1440 AS minutes) b
            WHERE k.organisation_id = p_organisation_id AND k.engagement_id = p_engagement_id AND lower(k.name) = lower(term.metric)),
        adjusted AS (
            SELECT m.*, least(m.excluded, m.minutes) AS excluded_capped, m.minutes - least(m.excluded, m.minutes) AS counted,
                   CASE WHEN m.excluded >= m.minutes THEN NULL
                        WHEN m.percentage AND m.excluded > 0 THEN
                            100 * (1 - greatest(0, (100 - m.value) / 100 * m.minutes - m.excluded) / (m.minutes - m.excluded))
                        ELSE m.value END AS adjusted_value,
                   app.sla_period_bounds(m.month, term.measurement_period) AS bounds
            FROM months m),
        periods AS (
            SELECT a.bounds, sum(a.excluded_capped) AS excluded_minutes,
                   sum(a.value * a.minutes) / sum(a.minutes) AS measured,
                   sum(a.adjusted_value * a.counted) FILTER (WHERE a.adjusted_value IS NOT NULL)
                       / nullif(sum(a.counted) FILTER (WHERE a.adjusted_value IS NOT NULL), 0) AS adjusted,
                   jsonb_agg(jsonb_build_object('month', to_char(a.month, 'YYYY-MM'), 'value', a.value, 'minutes', round(a.minutes),
                                                'excluded_minutes', round(a.excluded_capped, 2),
                                                'adjusted', round(a.adjusted_value, 4)) ORDER BY a.month) AS month_steps
            FROM adjusted a GROUP BY a.bounds),
        judged AS (
            SELECT p.*, lower(p.bounds) AS period_start, (upper(p.bounds) - 1) AS period_end,
                   p.adjusted IS NOT NULL AND CASE term.comparison WHEN '>=' THEN p.adjusted < term.target ELSE p.adjusted > term.target END AS breached,
                   (SELECT t.tier FROM jsonb_array_elements(term.penalty -> 'tiers') WITH ORDINALITY AS t(tier, n)
                    WHERE p.adjusted IS NOT NULL AND CASE term.comparison WHEN '>=' THEN p.adjusted < (t.tier ->> 'threshold')::numeric
                                                                          ELSE p.adjusted > (t.tier ->> 'threshold')::numeric END
                    ORDER BY t.n DESC LIMIT 1) AS tier
            FROM periods p),
        priced AS (
            SELECT j.*,
                   CASE WHEN term.penalty ? 'period_fee' THEN 'period_fee'
                        ELSE coalesce(term.penalty ->> 'fee_basis', 'contract') END AS fee_basis,
                   CASE WHEN term.penalty ? 'period_fee' THEN (term.penalty ->> 'period_fee')::numeric
                        WHEN term.penalty ->> 'fee_basis' = 'finance_plan' THEN (
                            SELECT sum(f.plan) FROM app.check_ins c
                            JOIN app.finance_lines f ON f.organisation_id = c.organisation_id AND f.check_in_id = c.id
                            WHERE c.organisation_id = p_organisation_id AND c.engagement_id = p_engagement_id
                              AND c.period <@ j.bounds AND f.category = 'revenue' AND f.currency = contract.currency)
                        WHEN contract.end_date IS NOT NULL AND contract.total_value IS NOT NULL THEN
                            contract.total_value
                            * greatest(0, least(upper(j.bounds), contract.end_date + 1) - greatest(lower(j.bounds), contract.start_date))
                            / (contract.end_date + 1 - contract.start_date) / sharing
                   END AS fee
            FROM judged j),
        credited AS (
            SELECT p.*,
                   CASE WHEN NOT p.breached OR p.tier IS NULL THEN 0
                        WHEN p.tier ? 'credit_amount' THEN (p.tier ->> 'credit_amount')::numeric
                        ELSE (p.tier ->> 'credit_percent')::numeric * p.fee / 100 END AS before_limits,
                   least((term.penalty ->> 'cap_percent')::numeric * p.fee / 100, (term.penalty ->> 'cap_amount')::numeric, p.fee) AS cap
            FROM priced p),
        issued AS (
            SELECT c.*, round(CASE WHEN c.before_limits IS NULL THEN 0 ELSE least(c.before_limits, coalesce(c.cap, c.before_limits)) END, 2)
                   AS capped
            FROM credited c)
        SELECT p_organisation_id, term.id, p_engagement_id, i.period_start, i.period_end,
               CASE WHEN i.adjusted IS NULL THEN 'excluded' WHEN i.breached THEN 'breached' ELSE 'met' END,
               round(i.measured, 4), round(i.adjusted, 4), round(i.excluded_minutes, 2), i.tier, round(i.fee, 2),
               CASE WHEN i.capped < coalesce((term.penalty ->> 'minimum_amount')::numeric, 0) THEN 0 ELSE i.capped END,
               contract.currency,
               jsonb_build_object(
                   'metric', term.metric, 'target', term.target, 'comparison', term.comparison,
                   'measurement_period', term.measurement_period, 'months', i.month_steps,
                   'measured', round(i.measured, 4), 'excluded_minutes', round(i.excluded_minutes, 2), 'adjusted', round(i.adjusted, 4),
                   'breached', i.breached, 'tier', i.tier,
                   'fee', jsonb_build_object('basis', i.fee_basis, 'amount', round(i.fee, 2),
                                             'contract_value', contract.total_value, 'engagements_sharing', sharing),
                   'credit', jsonb_build_object(
                       'before_limits', round(i.before_limits, 2), 'cap', round(i.cap, 2), 'capped', i.capped,
                       'minimum_amount', (term.penalty ->> 'minimum_amount')::numeric,
                       'below_minimum', i.capped > 0 AND i.capped < coalesce((term.penalty ->> 'minimum_amount')::numeric, 0),
                       'issued', CASE WHEN i.capped < coalesce((term.penalty ->> 'minimum_amount')::numeric, 0) THEN 0 ELSE i.capped END))
        FROM issued i;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION app.recompute_sla(uuid, uuid) FROM PUBLIC;

-- What changed decides which engagements are recomputed: one engagement, or every engagement of a contract. A
-- contract without SLA terms has nothing to compute (and engagements bulk-loaded onto it cost one lookup each).
CREATE OR REPLACE FUNCTION app.recompute_sla_of_contract(p_organisation_id uuid, p_contract_id uuid) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    engagement uuid;
BEGIN
    IF NOT EXISTS (SELECT FROM app.contract_sla_terms t WHERE t.organisation_id = p_organisation_id AND t.contract_id = p_contract_id) THEN
        RETURN;
    END IF;
    FOR engagement IN SELECT id FROM app.engagements WHERE organisation_id = p_organisation_id AND contract_id = p_contract_id LOOP
        PERFORM app.recompute_sla(p_organisation_id, engagement);
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION app.recompute_sla_of_contract(uuid, uuid) FROM PUBLIC;

-- KPI values, finance lines and exclusions arrive in sets (a check-in's): once per statement and engagement
-- (transition tables); only engagements whose contract has SLA terms cost anything.
CREATE OR REPLACE FUNCTION app.sla_inputs_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    target record;
BEGIN
    FOR target IN
        SELECT DISTINCT r.organisation_id, r.engagement_id FROM changed_rows r
        JOIN app.engagements e ON e.organisation_id = r.organisation_id AND e.id = r.engagement_id
        WHERE EXISTS (SELECT FROM app.contract_sla_terms t WHERE t.organisation_id = e.organisation_id AND t.contract_id = e.contract_id)
    LOOP
        PERFORM app.recompute_sla(target.organisation_id, target.engagement_id);
    END LOOP;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION app.sla_inputs_changed() FROM PUBLIC;

-- One trigger per table and event (a trigger with a transition table names one event).
DO $$
DECLARE
    binding record;
BEGIN
    FOR binding IN SELECT * FROM (VALUES
            ('kpi_values', 'INSERT', 'NEW'), ('kpi_values', 'UPDATE', 'NEW'), ('kpi_values', 'DELETE', 'OLD'),
            ('finance_lines', 'INSERT', 'NEW'), ('finance_lines', 'UPDATE', 'NEW'), ('finance_lines', 'DELETE', 'OLD'),
            ('sla_exclusions', 'INSERT', 'NEW'), ('sla_exclusions', 'DELETE', 'OLD')) AS b(tab, event, image) LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON app.%I', binding.tab || '_sla_' || lower(binding.event), binding.tab);
        EXECUTE format('CREATE TRIGGER %I AFTER %s ON app.%I REFERENCING %s TABLE AS changed_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION app.sla_inputs_changed()',
                       binding.tab || '_sla_' || lower(binding.event), binding.event, binding.tab, binding.image);
    END LOOP;
END
$$;

-- Terms, a contract's value or dates, and which contract an engagement belongs to (its fee share) are rare
-- writes: every engagement of the contract concerned is recomputed.
CREATE OR REPLACE FUNCTION app.sla_contract_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_TABLE_NAME = 'contracts' THEN
        PERFORM app.recompute_sla_of_contract(NEW.organisation_id, NEW.id);
    ELSIF TG_TABLE_NAME = 'contract_sla_terms' THEN
        PERFORM app.recompute_sla_of_contract(NEW.organisation_id, NEW.contract_id);
    ELSE
        IF TG_OP <> 'INSERT' AND OLD.contract_id IS NOT NULL THEN
            PERFORM app.recompute_sla_of_contract(OLD.organisation_id, OLD.contract_id);
        END IF;
        IF TG_OP <> 'DELETE' AND NEW.contract_id IS NOT NULL THEN
            PERFORM app.recompute_sla_of_contract(NEW.organisation_id, NEW.contract_id);
        END IF;
        IF TG_OP = 'UPDATE' THEN
            PERFORM app.recompute_sla(NEW.organisation_id, NEW.id);  -- its own results follow it to its new contract
        END IF;
    END IF;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION app.sla_contract_changed() FROM PUBLIC;
DROP TRIGGER IF EXISTS contracts_sla ON app.contracts;
CREATE TRIGGER contracts_sla AFTER UPDATE OF total_value, currency, start_date, end_date ON app.contracts
    FOR EACH ROW WHEN ((OLD.total_value, OLD.currency, OLD.start_date, OLD.end_date)
                       IS DISTINCT FROM (NEW.total_value, NEW.currency, NEW.start_date, NEW.end_date))
    EXECUTE FUNCTION app.sla_contract_changed();
DROP TRIGGER IF EXISTS contract_sla_terms_sla ON app.contract_sla_terms;
CREATE TRIGGER contract_sla_terms_sla AFTER INSERT OR UPDATE ON app.contract_sla_terms
    FOR EACH ROW EXECUTE FUNCTION app.sla_contract_changed();
DROP TRIGGER IF EXISTS engagements_sla ON app.engagements;
CREATE TRIGGER engagements_sla AFTER INSERT OR DELETE ON app.engagements
    FOR EACH ROW EXECUTE FUNCTION app.sla_contract_changed();
DROP TRIGGER IF EXISTS engagements_sla_moved ON app.engagements;
CREATE TRIGGER engagements_sla_moved AFTER UPDATE OF contract_id ON app.engagements
    FOR EACH ROW WHEN (OLD.contract_id IS DISTINCT FROM NEW.contract_id) EXECUTE FUNCTION app.sla_contract_changed();
