-- Current definitions (first made by migration 0017_check_in_writes_and_reports). Edit them here, never in a migration: every
-- definitions file is re-applied whenever one of them changes or a migration runs (SQL/README.md).

-- Writing check-ins (submit and amend as one function each way, so psql users and the server share the item
-- validation), their JSON rendering, and the plan-vs-actual and showback reports. All run as the caller:
-- row-level security applies.

-- Replaces the sections present in `p_content` (finance, kpis, capacity) with the given items. Each refused
-- item raises EV007 with COLUMN set to its path, e.g. `kpis[1].kpi`.
CREATE OR REPLACE FUNCTION app.replace_check_in_items(p_check_in app.check_ins, p_content jsonb) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    contract_currency text;
    item jsonb;
    i integer;
    path text;
    kpi_id uuid;
    seen text[] := '{}';
    key text;
BEGIN
    SELECT c.currency INTO contract_currency FROM app.engagements e
    JOIN app.contracts c ON c.organisation_id = e.organisation_id AND c.id = e.contract_id
    WHERE e.organisation_id = p_check_in.organisation_id AND e.id = p_check_in.engagement_id;

    IF p_content ? 'finance' THEN
        DELETE FROM app.finance_lines WHERE organisation_id = p_check_in.organisation_id AND check_in_id = p_check_in.id;
        FOR i IN 0 .. jsonb_array_length(p_content -> 'finance') - 1 LOOP
            item := p_content -> 'finance' -> i;
            path := format('finance[%s]', i);
            IF item ->> 'currency' IS NULL AND contract_currency IS NULL THEN
                RAISE EXCEPTION 'is required when the engagement has no contract'
                    USING ERRCODE = 'EV007', COLUMN = path || '.currency';
            ELSIF contract_currency IS NOT NULL AND item ->> 'currency' IS DISTINCT FROM contract_currency
                  AND item ->> 'currency' IS NOT NULL THEN
                RAISE EXCEPTION 'must be the contract''s currency, %', contract_currency
                    USING ERRCODE = 'EV007', COLUMN = path || '.currency';
            END IF;
            IF item ->> 'plan' IS NULL AND item ->> 'actual' IS NULL THEN
                RAISE EXCEPTION 'needs a plan or an actual amount' USING ERRCODE = 'EV007', COLUMN = path;
            END IF;
            PERFORM app.check_item_deliverer(p_check_in, item, path);
            INSERT INTO app.finance_lines (organisation_id, check_in_id, line_no, engagement_id, category, label, plan,
                                           actual, currency, deliverer_party_id)
            VALUES (p_check_in.organisation_id, p_check_in.id, i + 1, p_check_in.engagement_id, item ->> 'category',
                    coalesce(btrim(item ->> 'label'), ''), (item ->> 'plan')::numeric, (item ->> 'actual')::numeric,
                    coalesce(item ->> 'currency', contract_currency), (item ->> 'deliverer_party_id')::uuid);
        END LOOP;
    END IF;

    IF p_content ? 'kpis' THEN
        DELETE FROM app.kpi_values WHERE organisation_id = p_check_in.organisation_id AND check_in_id = p_check_in.id;
        FOR i IN 0 .. jsonb_array_length(p_content -> 'kpis') - 1 LOOP
            item := p_content -> 'kpis' -> i;
            path := format('kpis[%s]', i);
            SELECT k.id INTO kpi_id FROM app.engagement_kpis k
            WHERE k.organisation_id = p_check_in.organisation_id AND k.engagement_id = p_check_in.engagement_id
              AND lower(k.name) = lower(btrim(item ->> 'kpi'));
            IF NOT FOUND THEN
                RAISE EXCEPTION 'is not a KPI of this engagement' USING ERRCODE = 'EV007', COLUMN = path || '.kpi';
            END IF;
            IF kpi_id::text = ANY (seen) THEN
                RAISE EXCEPTION 'is given twice' USING ERRCODE = 'EV007', COLUMN = path || '.kpi';
            END IF;
            seen := seen || kpi_id::text;
            PERFORM app.check_item_deliverer(p_check_in, item, path);
            INSERT INTO app.kpi_values (organisation_id, check_in_id, kpi_id, engagement_id, actual, deliverer_party_id)
            VALUES (p_check_in.organisation_id, p_check_in.id, kpi_id, p_check_in.engagement_id,
                    (item ->> 'actual')::numeric, (item ->> 'deliverer_party_id')::uuid);
        END LOOP;
    END IF;

    IF p_content ? 'capacity' THEN
        DELETE FROM app.capacity_entries WHERE organisation_id = p_check_in.organisation_id AND check_in_id = p_check_in.id;
        seen := '{}';
        FOR i IN 0 .. jsonb_array_length(p_content -> 'capacity') - 1 LOOP
            item := p_content -> 'capacity' -> i;
            path := format('capacity[%s]', i);
            IF (item ->> 'planned_hours')::numeric < 0 OR (item ->> 'actual_hours')::numeric < 0 THEN
                RAISE EXCEPTION 'hours cannot be negative' USING ERRCODE = 'EV007', COLUMN = path;
            ELSIF item ->> 'planned_hours' IS NULL AND item ->> 'actual_hours' IS NULL THEN
                RAISE EXCEPTION 'needs planned or actual hours' USING ERRCODE = 'EV007', COLUMN = path;
            END IF;
            key := lower(btrim(item ->> 'role')) || E'\x1f' || lower(coalesce(btrim(item ->> 'person'), ''));
            IF key = ANY (seen) THEN
                RAISE EXCEPTION 'this role and person are given twice' USING ERRCODE = 'EV007', COLUMN = path || '.role';
            END IF;
            seen := seen || key;
            PERFORM app.check_item_deliverer(p_check_in, item, path);
            INSERT INTO app.capacity_entries (organisation_id, check_in_id, line_no, engagement_id, role, person,
                                              planned_hours, actual_hours, deliverer_party_id)
            VALUES (p_check_in.organisation_id, p_check_in.id, i + 1, p_check_in.engagement_id, btrim(item ->> 'role'),
                    nullif(btrim(item ->> 'person'), ''), (item ->> 'planned_hours')::numeric,
                    (item ->> 'actual_hours')::numeric, (item ->> 'deliverer_party_id')::uuid);
        END LOOP;
    END IF;
END
$$;

-- An item's own delivery party must deliver its engagement (the foreign keys say so too; this names the item).
CREATE OR REPLACE FUNCTION app.check_item_deliverer(p_check_in app.check_ins, p_item jsonb, p_path text) RETURNS void
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    IF p_item ->> 'deliverer_party_id' IS NOT NULL AND NOT EXISTS (
        SELECT FROM app.engagement_deliverers
        WHERE organisation_id = p_check_in.organisation_id AND engagement_id = p_check_in.engagement_id
          AND party_id = (p_item ->> 'deliverer_party_id')::uuid) THEN
        RAISE EXCEPTION 'is not a delivery party of this engagement'
            USING ERRCODE = 'EV007', COLUMN = p_path || '.deliverer_party_id';
    END IF;
END
$$;

-- Submits a month (p_version NULL) or amends an existing check-in at version p_version. Sections absent from
-- p_content are kept on amendment. A submission with p_replace resubmits a month that exists: the whole
-- content is replaced (absent sections become empty) as a new revision of the same check-in. `written` is
-- false when the check-in is missing (current_version NULL) or the version is stale (current_version given);
-- nothing is written then.
CREATE OR REPLACE FUNCTION app.write_check_in(
    p_id uuid, p_engagement_id uuid, p_period date, p_version integer, p_content jsonb, p_replace boolean,
    OUT written boolean, OUT current_version integer)
LANGUAGE plpgsql
AS $$
DECLARE
    check_in app.check_ins;
BEGIN
    IF p_version IS NULL AND p_replace THEN
        INSERT INTO app.check_ins AS c (organisation_id, id, engagement_id, period, notes, created_by, updated_by)
        VALUES (app.current_organisation_id(), p_id, p_engagement_id, p_period, coalesce(p_content ->> 'notes', ''),
                app.current_user_id(), app.current_user_id())
        ON CONFLICT (organisation_id, engagement_id, period) DO UPDATE SET notes = EXCLUDED.notes
        RETURNING * INTO check_in;
        p_content := jsonb_build_object('finance', '[]'::jsonb, 'kpis', '[]'::jsonb, 'capacity', '[]'::jsonb) || p_content;
    ELSIF p_version IS NULL THEN
        INSERT INTO app.check_ins (organisation_id, id, engagement_id, period, notes, created_by, updated_by)
        VALUES (app.current_organisation_id(), p_id, p_engagement_id, p_period, coalesce(p_content ->> 'notes', ''),
                app.current_user_id(), app.current_user_id())
        RETURNING * INTO check_in;
    ELSE
        UPDATE app.check_ins SET notes = coalesce(p_content ->> 'notes', notes)
        WHERE organisation_id = app.current_organisation_id() AND id = p_id AND version = p_version
        RETURNING * INTO check_in;
        IF NOT FOUND THEN
            written := false;
            SELECT version INTO current_version FROM app.check_ins
            WHERE organisation_id = app.current_organisation_id() AND id = p_id;
            RETURN;
        END IF;
    END IF;
    PERFORM app.replace_check_in_items(check_in, p_content);
    written := true;
    current_version := check_in.version;
END
$$;

CREATE OR REPLACE FUNCTION app.check_in_json(c app.check_ins) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object(
        'id', c.id, 'engagement_id', c.engagement_id, 'period', to_char(c.period, 'YYYY-MM'), 'is_final', c.is_final,
        'notes', c.notes,
        'finance', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'category', f.category, 'label', f.label, 'plan', f.plan, 'actual', f.actual,
                'variance', f.actual - f.plan, 'currency', f.currency, 'deliverer_party_id', f.deliverer_party_id,
                'attributed_party_id', app.attributed_party(c.organisation_id, c.engagement_id, c.period, f.deliverer_party_id))
                ORDER BY f.line_no)
            FROM app.finance_lines f WHERE f.organisation_id = c.organisation_id AND f.check_in_id = c.id), '[]'),
        'kpis', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'kpi_id', k.id, 'kpi', k.name, 'unit', k.unit, 'target', k.target, 'direction', k.direction,
                'actual', v.actual, 'deliverer_party_id', v.deliverer_party_id,
                'attributed_party_id', app.attributed_party(c.organisation_id, c.engagement_id, c.period,
                                                            coalesce(v.deliverer_party_id, k.deliverer_party_id)))
                ORDER BY lower(k.name))
            FROM app.kpi_values v
            JOIN app.engagement_kpis k ON k.organisation_id = v.organisation_id AND k.id = v.kpi_id
            WHERE v.organisation_id = c.organisation_id AND v.check_in_id = c.id), '[]'),
        'capacity', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'role', e.role, 'person', e.person, 'planned_hours', e.planned_hours, 'actual_hours', e.actual_hours,
                'deliverer_party_id', e.deliverer_party_id,
                'attributed_party_id', app.attributed_party(c.organisation_id, c.engagement_id, c.period, e.deliverer_party_id))
                ORDER BY e.line_no)
            FROM app.capacity_entries e WHERE e.organisation_id = c.organisation_id AND e.check_in_id = c.id), '[]'),
        'version', c.version, 'created_at', c.created_at, 'created_by', c.created_by,
        'updated_at', c.updated_at, 'updated_by', c.updated_by)
$$;

CREATE OR REPLACE FUNCTION app.engagement_kpi_json(k app.engagement_kpis) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object(
        'id', k.id, 'engagement_id', k.engagement_id, 'name', k.name, 'unit', k.unit, 'target', k.target,
        'direction', k.direction, 'deliverer_party_id', k.deliverer_party_id, 'source', k.source,
        'version', k.version, 'created_at', k.created_at, 'updated_at', k.updated_at)
$$;

-- Every finance line, KPI value and capacity entry with its month and the party it is attributed to: the one
-- place attribution is resolved for reports (and, later, reporting views and rollups).
CREATE OR REPLACE VIEW app.attributed_items WITH (security_invoker = true) AS
SELECT c.organisation_id, c.engagement_id, c.period, 'finance'::text AS kind, f.category AS item,
       f.plan, f.actual, f.currency, NULL::numeric AS planned_hours, NULL::numeric AS actual_hours,
       app.attributed_party(c.organisation_id, c.engagement_id, c.period, f.deliverer_party_id) AS party_id
FROM app.check_ins c
JOIN app.finance_lines f ON f.organisation_id = c.organisation_id AND f.check_in_id = c.id
UNION ALL
SELECT c.organisation_id, c.engagement_id, c.period, 'kpi', k.name, NULL, v.actual, NULL, NULL, NULL,
       app.attributed_party(c.organisation_id, c.engagement_id, c.period, coalesce(v.deliverer_party_id, k.deliverer_party_id))
FROM app.check_ins c
JOIN app.kpi_values v ON v.organisation_id = c.organisation_id AND v.check_in_id = c.id
JOIN app.engagement_kpis k ON k.organisation_id = v.organisation_id AND k.id = v.kpi_id
UNION ALL
SELECT c.organisation_id, c.engagement_id, c.period, 'capacity', e.role, NULL, NULL, NULL, e.planned_hours,
       e.actual_hours, app.attributed_party(c.organisation_id, c.engagement_id, c.period, e.deliverer_party_id)
FROM app.check_ins c
JOIN app.capacity_entries e ON e.organisation_id = c.organisation_id AND e.check_in_id = c.id;
GRANT SELECT ON app.attributed_items TO engagement_app;

-- Plan against actual for one engagement and a range of months: per month, category and currency, with the
-- variance (actual - plan) and its percentage of plan; totals per currency; hours; and, for a time-and-
-- materials contract, revenue derived from capacity hours times the contract's rates (matched on role).
CREATE OR REPLACE FUNCTION app.plan_vs_actual(p_engagement_id uuid, p_from date, p_to date) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN (
        WITH engagement AS (
            SELECT e.organisation_id, e.id, e.contract_id, c.contract_type, c.currency AS contract_currency
            FROM app.engagements e
            LEFT JOIN app.contracts c ON c.organisation_id = e.organisation_id AND c.id = e.contract_id
            WHERE e.organisation_id = app.current_organisation_id() AND e.id = p_engagement_id),
        months AS (
            SELECT c.* FROM app.check_ins c, engagement e
            WHERE c.organisation_id = e.organisation_id AND c.engagement_id = e.id
              AND (p_from IS NULL OR c.period >= p_from) AND (p_to IS NULL OR c.period <= p_to)),
        finance AS (
            SELECT m.period, f.category, f.currency, sum(f.plan) AS plan, sum(f.actual) AS actual
            FROM months m JOIN app.finance_lines f ON f.organisation_id = m.organisation_id AND f.check_in_id = m.id
            GROUP BY m.period, f.category, f.currency),
        hours AS (
            SELECT m.period, x.role, sum(x.planned_hours) AS planned, sum(x.actual_hours) AS actual
            FROM months m JOIN app.capacity_entries x ON x.organisation_id = m.organisation_id AND x.check_in_id = m.id
            GROUP BY m.period, x.role),
        derived AS (
            SELECT h.period, sum(h.planned * r.rate_per_hour) AS plan, sum(h.actual * r.rate_per_hour) AS actual,
                   (SELECT e.contract_currency FROM engagement e) AS currency
            FROM hours h, engagement e
            JOIN app.contract_rates r ON r.organisation_id = e.organisation_id AND r.contract_id = e.contract_id
            WHERE e.contract_type = 'time_and_materials' AND lower(r.rate_key) = lower(h.role)
            GROUP BY h.period)
        SELECT jsonb_build_object(
            'engagement_id', e.id,
            'lines', coalesce((
                SELECT jsonb_agg(jsonb_build_object(
                    'period', to_char(f.period, 'YYYY-MM'), 'category', f.category, 'currency', f.currency,
                    'plan', f.plan, 'actual', f.actual, 'variance', f.actual - f.plan,
                    'variance_percent', round((f.actual - f.plan) / nullif(f.plan, 0) * 100, 2))
                    ORDER BY f.period, f.category, f.currency)
                FROM finance f), '[]'),
            'totals', coalesce((
                SELECT jsonb_agg(jsonb_build_object(
                    'currency', t.currency, 'revenue_plan', t.revenue_plan, 'revenue_actual', t.revenue_actual,
                    'cost_plan', t.cost_plan, 'cost_actual', t.cost_actual, 'cost_variance', t.cost_actual - t.cost_plan,
                    'cost_variance_percent', round((t.cost_actual - t.cost_plan) / nullif(t.cost_plan, 0) * 100, 2))
                    ORDER BY t.currency)
                FROM (SELECT currency,
                             sum(plan) FILTER (WHERE category = 'revenue') AS revenue_plan,
                             sum(actual) FILTER (WHERE category = 'revenue') AS revenue_actual,
                             sum(plan) FILTER (WHERE category <> 'revenue') AS cost_plan,
                             sum(actual) FILTER (WHERE category <> 'revenue') AS cost_actual
                      FROM finance GROUP BY currency) t), '[]'),
            'hours', coalesce((
                SELECT jsonb_agg(jsonb_build_object(
                    'period', to_char(h.period, 'YYYY-MM'), 'role', h.role, 'planned_hours', h.planned,
                    'actual_hours', h.actual, 'variance', h.actual - h.planned,
                    'utilisation_percent', round(h.actual / nullif(h.planned, 0) * 100, 2))
                    ORDER BY h.period, h.role)
                FROM hours h), '[]'),
            'derived_revenue', coalesce((
                SELECT jsonb_agg(jsonb_build_object(
                    'period', to_char(d.period, 'YYYY-MM'), 'currency', d.currency, 'plan', d.plan, 'actual', d.actual,
                    'variance', d.actual - d.plan) ORDER BY d.period)
                FROM derived d), '[]'),
            -- Revenue at risk: the SLA credits computed for the engagement in the range (0421_sla_credits.sql).
            'revenue_at_risk', coalesce((
                SELECT jsonb_agg(jsonb_build_object('currency', x.currency, 'sla_credits', x.credits, 'breached_periods', x.breaches)
                                 ORDER BY x.currency)
                FROM (SELECT r.currency, sum(r.credit) AS credits, count(*) FILTER (WHERE r.status = 'breached') AS breaches
                      FROM app.sla_results r
                      WHERE r.organisation_id = e.organisation_id AND r.engagement_id = e.id
                        AND (p_from IS NULL OR r.period_end >= p_from) AND (p_to IS NULL OR r.period_start <= p_to)
                      GROUP BY r.currency) x), '[]'),
            'unrated_roles', coalesce((
                SELECT jsonb_agg(DISTINCT h.role) FROM hours h
                WHERE e.contract_type = 'time_and_materials' AND NOT EXISTS (
                    SELECT FROM app.contract_rates r WHERE r.organisation_id = e.organisation_id
                      AND r.contract_id = e.contract_id AND lower(r.rate_key) = lower(h.role))), '[]'))
        FROM engagement e);
END
$$;

-- What each delivery party accounts for: costs and revenue per currency, hours, and KPIs owned, per engagement
-- and month. Filters: one engagement, one party, a range of months (NULL: all).
CREATE OR REPLACE FUNCTION app.showback(p_engagement_id uuid, p_party_id uuid, p_from date, p_to date) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN (
        WITH items AS (
            SELECT i.* FROM app.attributed_items i
            WHERE i.organisation_id = app.current_organisation_id()
              AND (p_engagement_id IS NULL OR i.engagement_id = p_engagement_id)
              AND (p_from IS NULL OR i.period >= p_from) AND (p_to IS NULL OR i.period <= p_to)),
        grouped AS (
            SELECT party_id, engagement_id, period,
                   (SELECT jsonb_agg(jsonb_build_object(
                        'currency', m.currency, 'cost_plan', m.cost_plan, 'cost_actual', m.cost_actual,
                        'revenue_plan', m.revenue_plan, 'revenue_actual', m.revenue_actual) ORDER BY m.currency)
                    FROM (SELECT x.currency,
                                 sum(x.plan) FILTER (WHERE x.item <> 'revenue') AS cost_plan,
                                 sum(x.actual) FILTER (WHERE x.item <> 'revenue') AS cost_actual,
                                 sum(x.plan) FILTER (WHERE x.item = 'revenue') AS revenue_plan,
                                 sum(x.actual) FILTER (WHERE x.item = 'revenue') AS revenue_actual
                          FROM items x
                          WHERE x.kind = 'finance' AND x.party_id = g.party_id AND x.engagement_id = g.engagement_id
                            AND x.period = g.period
                          GROUP BY x.currency) m) AS money,
                   sum(planned_hours) AS planned_hours, sum(actual_hours) AS actual_hours,
                   coalesce(jsonb_agg(item ORDER BY item) FILTER (WHERE kind = 'kpi'), '[]') AS kpis
            FROM items g
            WHERE p_party_id IS NULL OR party_id = p_party_id
            GROUP BY party_id, engagement_id, period)
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'party_id', r.party_id, 'party', p.name, 'engagement_id', r.engagement_id,
                   'period', to_char(r.period, 'YYYY-MM'), 'money', coalesce(r.money, '[]'),
                   'planned_hours', r.planned_hours, 'actual_hours', r.actual_hours, 'kpis_owned', r.kpis)
                   ORDER BY p.name, r.party_id, r.engagement_id, r.period), '[]')
        FROM grouped r
        JOIN app.parties p ON p.organisation_id = app.current_organisation_id() AND p.id = r.party_id);
END
$$;
