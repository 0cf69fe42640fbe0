-- The methods of an objective's outcomes and initiatives, and the initiative types, with their reporting views.
-- The rules, the renderings (app.outcome_json, app.initiative_json) and the helpers that add one
-- (api.add_outcome, api.add_initiative, shared with objective.create and blueprint.apply) are in
-- 0240_success_plans.sql.

CREATE OR REPLACE FUNCTION api.outcome_add(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    reply jsonb := api.replay('outcome.add', p);
    objective app.objectives;
BEGIN
    IF reply IS NOT NULL THEN
        RETURN reply;
    END IF;
    SELECT * INTO objective FROM app.objectives WHERE id = (p ->> 'objective_id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN api.remember('outcome.add', p, app.outcome_json(api.add_outcome(objective, p, '')));
END
$$;

-- Absent fields stay; kpi_id: null unbinds; actual only on an unbound outcome.
CREATE OR REPLACE FUNCTION api.outcome_update(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    current_version integer;
    updated app.outcomes;
    state text;
    failed_constraint text;
    message text;
BEGIN
    UPDATE app.outcomes row SET
        title = coalesce(btrim(p ->> 'title'), row.title),
        unit = coalesce(p ->> 'unit', row.unit),
        target = coalesce((p ->> 'target')::numeric, row.target),
        direction = coalesce(p ->> 'direction', row.direction),
        kpi_id = CASE WHEN p ? 'kpi_id' THEN (p ->> 'kpi_id')::uuid ELSE row.kpi_id END,
        actual = CASE WHEN p ? 'actual' THEN (p ->> 'actual')::numeric
                      WHEN p ->> 'kpi_id' IS NOT NULL THEN NULL ELSE row.actual END
    WHERE row.id = (p ->> 'id')::uuid AND row.version = (p ->> 'version')::integer
    RETURNING * INTO updated;
    IF NOT FOUND THEN
        SELECT version INTO current_version FROM app.outcomes WHERE id = (p ->> 'id')::uuid;
        PERFORM api.refuse_versioned_write((p ->> 'version')::integer, current_version);
    END IF;
    RETURN app.outcome_json(updated);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.success_plan_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.success_plan_paths());
END
$$;

CREATE OR REPLACE FUNCTION api.outcome_delete(p jsonb) RETURNS jsonb
LANGUAGE sql
AS $$ SELECT api.versioned_delete(p, 'app.outcomes') $$;

CREATE OR REPLACE FUNCTION api.initiative_add(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    reply jsonb := api.replay('initiative.add', p);
    objective app.objectives;
BEGIN
    IF reply IS NOT NULL THEN
        RETURN reply;
    END IF;
    SELECT * INTO objective FROM app.objectives WHERE id = (p ->> 'objective_id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN api.remember('initiative.add', p, app.initiative_json(api.add_initiative(objective, p, '')));
END
$$;

-- Absent fields stay; owner and due date: null clears them.
CREATE OR REPLACE FUNCTION api.initiative_update(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_due_date date := (p ->> 'due_date')::date;
    current_version integer;
    updated app.initiatives;
    state text;
    failed_constraint text;
    message text;
BEGIN
    UPDATE app.initiatives row SET
        title = coalesce(btrim(p ->> 'title'), row.title),
        type = coalesce(p ->> 'type', row.type),
        stage = coalesce(p ->> 'stage', row.stage),
        owner_user_id = CASE WHEN p ? 'owner_user_id' THEN (p ->> 'owner_user_id')::uuid ELSE row.owner_user_id END,
        due_date = CASE WHEN p ? 'due_date' THEN v_due_date ELSE row.due_date END
    WHERE row.id = (p ->> 'id')::uuid AND row.version = (p ->> 'version')::integer
    RETURNING * INTO updated;
    IF NOT FOUND THEN
        SELECT version INTO current_version FROM app.initiatives WHERE id = (p ->> 'id')::uuid;
        PERFORM api.refuse_versioned_write((p ->> 'version')::integer, current_version);
    END IF;
    RETURN app.initiative_json(updated);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.success_plan_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.success_plan_paths());
END
$$;

CREATE OR REPLACE FUNCTION api.initiative_delete(p jsonb) RETURNS jsonb
LANGUAGE sql
AS $$ SELECT api.versioned_delete(p, 'app.initiatives') $$;

-- Initiatives of the organisation or one engagement, by type and stage; open (planned or in progress), overdue.
CREATE OR REPLACE FUNCTION api.initiative_list(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN api.list(p, 'app.initiatives', 'app.initiative_json',
        $filter$
            ($1 ->> 'engagement_id' IS NULL OR row.engagement_id = ($1 ->> 'engagement_id')::uuid)
        AND ($1 ->> 'type' IS NULL OR row.type = $1 ->> 'type')
        AND ($1 ->> 'stage' IS NULL OR row.stage = $1 ->> 'stage')
        AND ($1 ->> 'owner_user_id' IS NULL OR row.owner_user_id = ($1 ->> 'owner_user_id')::uuid)
        AND (NOT coalesce(($1 ->> 'overdue')::boolean, false)
             OR (row.stage IN ('planned', 'in_progress') AND row.due_date < current_date))
        $filter$,
        '{"name": ["title", "text"], "created_at": ["created_at", "timestamptz"]}', 'created_at');
END
$$;

CREATE OR REPLACE FUNCTION api.initiative_types(p jsonb) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT coalesce(jsonb_agg(name ORDER BY name), '[]'::jsonb) FROM app.initiative_types
    WHERE organisation_id = app.current_organisation_id()
$$;

CREATE OR REPLACE FUNCTION api.initiative_add_type(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    state text;
    failed_constraint text;
    message text;
BEGIN
    INSERT INTO app.initiative_types (organisation_id, name) VALUES (app.current_organisation_id(), p ->> 'name');
    RETURN api.initiative_types(p);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.success_plan_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.success_plan_paths());
END
$$;

REVOKE ALL ON FUNCTION api.outcome_add(jsonb), api.outcome_update(jsonb), api.outcome_delete(jsonb), api.initiative_add(jsonb),
    api.initiative_update(jsonb), api.initiative_delete(jsonb), api.initiative_list(jsonb), api.initiative_types(jsonb),
    api.initiative_add_type(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.outcome_add(jsonb), api.outcome_update(jsonb), api.outcome_delete(jsonb), api.initiative_add(jsonb),
    api.initiative_update(jsonb), api.initiative_delete(jsonb), api.initiative_list(jsonb), api.initiative_types(jsonb),
    api.initiative_add_type(jsonb) TO engagement_app;

-- For DBAs. An outcome's actual is computed here as in app.outcome_json (a view cannot call app functions that
-- read tables with a DBA's rights); ReportingTests checks that both agree.
CREATE OR REPLACE VIEW reporting.outcomes WITH (security_barrier) AS
SELECT o.id, o.objective_id, ob.title AS objective_title, o.engagement_id, e.code AS engagement_code, o.title, o.unit,
       o.target, o.direction, o.kpi_id, k.name AS kpi_name, m.actual, m.period AS measured_period,
       app.outcome_status(m.actual, o.target, o.direction) AS status, o.mandatory, o.created_at, o.updated_at
FROM app.outcomes o
JOIN app.objectives ob ON ob.organisation_id = o.organisation_id AND ob.id = o.objective_id
JOIN app.engagements e ON e.organisation_id = o.organisation_id AND e.id = o.engagement_id
LEFT JOIN app.engagement_kpis k ON k.organisation_id = o.organisation_id AND k.id = o.kpi_id
LEFT JOIN LATERAL (
    SELECT v.actual, c.period FROM app.kpi_values v
    JOIN app.check_ins c ON c.organisation_id = v.organisation_id AND c.id = v.check_in_id
    WHERE v.organisation_id = o.organisation_id AND v.engagement_id = o.engagement_id AND v.kpi_id = o.kpi_id
    ORDER BY c.period DESC LIMIT 1) latest ON true
CROSS JOIN LATERAL (SELECT CASE WHEN o.kpi_id IS NULL THEN o.actual ELSE latest.actual END AS actual,
                           latest.period) m
WHERE o.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.outcomes TO engagement_reporting;

CREATE OR REPLACE VIEW reporting.initiatives WITH (security_barrier) AS
SELECT i.id, i.objective_id, ob.title AS objective_title, i.engagement_id, e.code AS engagement_code, i.title, i.type,
       i.stage, i.owner_user_id, u.email AS owner_email, i.due_date,
       i.stage IN ('planned', 'in_progress') AND coalesce(i.due_date < current_date, false) AS overdue, i.mandatory,
       i.created_at, i.updated_at
FROM app.initiatives i
JOIN app.objectives ob ON ob.organisation_id = i.organisation_id AND ob.id = i.objective_id
JOIN app.engagements e ON e.organisation_id = i.organisation_id AND e.id = i.engagement_id
LEFT JOIN app.users u ON u.organisation_id = i.organisation_id AND u.id = i.owner_user_id
WHERE i.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.initiatives TO engagement_reporting;
