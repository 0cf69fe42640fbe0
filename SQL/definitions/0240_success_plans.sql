-- Success plans: an engagement's objectives (status, target date, owner), the outcomes that measure them (a target
-- in a unit; bound to one of the engagement's KPIs the actual is its latest checked-in value) and the initiatives
-- that work towards them (a per-organisation list of types; planned, in progress, done, cancelled). Items copied
-- from a blueprint may be mandatory: they cannot be deleted or cancelled (ES015), except when their engagement or
-- objective goes. psql writes obey the same rules. This file: the rules, the renderings and the objectives'
-- methods; the outcomes' and initiatives' methods and views are in 0242_outcomes_and_initiatives.sql.

-- New organisations get the usual initiative types (existing ones got them in migration 0031).
CREATE OR REPLACE FUNCTION app.create_initiative_types() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO app.initiative_types (organisation_id, name)
    SELECT NEW.id, k FROM unnest(ARRAY['onboarding', 'enablement', 'adoption', 'expansion', 'remediation']) AS k;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION app.create_initiative_types() FROM PUBLIC;
DROP TRIGGER IF EXISTS organisations_initiative_types ON app.organisations;
CREATE TRIGGER organisations_initiative_types AFTER INSERT ON app.organisations
    FOR EACH ROW EXECUTE FUNCTION app.create_initiative_types();

-- EV020 naming `p_column` when `p_day` falls outside the engagement's start and end dates (open ends pass).
CREATE OR REPLACE FUNCTION app.require_within_engagement(p_organisation uuid, p_engagement uuid, p_day date, p_column text)
RETURNS void
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    IF p_day IS NOT NULL AND EXISTS (
        SELECT FROM app.engagements e WHERE e.organisation_id = p_organisation AND e.id = p_engagement
          AND (p_day < e.start_date OR p_day > e.end_date)) THEN
        RAISE EXCEPTION 'is outside the engagement''s dates' USING ERRCODE = 'EV020', COLUMN = p_column;
    END IF;
END
$$;

-- Dates within the engagement; a mandatory item is not cancelled.
CREATE OR REPLACE FUNCTION app.check_success_item() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_TABLE_NAME = 'objectives' THEN
        PERFORM app.require_within_engagement(NEW.organisation_id, NEW.engagement_id, NEW.target_date, 'target_date');
        IF NEW.mandatory AND NEW.status = 'cancelled' THEN
            RAISE EXCEPTION 'a mandatory objective cannot be cancelled' USING ERRCODE = 'ES015', HINT = 'mandatory';
        END IF;
    ELSIF TG_TABLE_NAME = 'initiatives' THEN
        PERFORM app.require_within_engagement(NEW.organisation_id, NEW.engagement_id, NEW.due_date, 'due_date');
        IF NEW.mandatory AND NEW.stage = 'cancelled' THEN
            RAISE EXCEPTION 'a mandatory initiative cannot be cancelled' USING ERRCODE = 'ES015', HINT = 'mandatory';
        END IF;
    END IF;
    RETURN NEW;
END
$$;

-- A mandatory item is deleted only with what holds it (its engagement or objective: a cascade runs one trigger
-- level deeper than a statement's own trigger).
CREATE OR REPLACE FUNCTION app.keep_mandatory_item() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF OLD.mandatory AND pg_trigger_depth() = 1 THEN
        RAISE EXCEPTION 'a mandatory item cannot be deleted' USING ERRCODE = 'ES015', HINT = 'mandatory';
    END IF;
    RETURN OLD;
END
$$;

DROP TRIGGER IF EXISTS objectives_check ON app.objectives;
CREATE TRIGGER objectives_check BEFORE INSERT OR UPDATE ON app.objectives FOR EACH ROW EXECUTE FUNCTION app.check_success_item();
DROP TRIGGER IF EXISTS initiatives_check ON app.initiatives;
CREATE TRIGGER initiatives_check BEFORE INSERT OR UPDATE ON app.initiatives FOR EACH ROW EXECUTE FUNCTION app.check_success_item();
DROP TRIGGER IF EXISTS objectives_keep_mandatory ON app.objectives;
CREATE TRIGGER objectives_keep_mandatory BEFORE DELETE ON app.objectives FOR EACH ROW EXECUTE FUNCTION app.keep_mandatory_item();
DROP TRIGGER IF EXISTS outcomes_keep_mandatory ON app.outcomes;
CREATE TRIGGER outcomes_keep_mandatory BEFORE DELETE ON app.outcomes FOR EACH ROW EXECUTE FUNCTION app.keep_mandatory_item();
DROP TRIGGER IF EXISTS initiatives_keep_mandatory ON app.initiatives;
CREATE TRIGGER initiatives_keep_mandatory BEFORE DELETE ON app.initiatives FOR EACH ROW EXECUTE FUNCTION app.keep_mandatory_item();
DROP TRIGGER IF EXISTS objectives_touch ON app.objectives;
CREATE TRIGGER objectives_touch BEFORE UPDATE ON app.objectives FOR EACH ROW EXECUTE FUNCTION app.touch();
DROP TRIGGER IF EXISTS outcomes_touch ON app.outcomes;
CREATE TRIGGER outcomes_touch BEFORE UPDATE ON app.outcomes FOR EACH ROW EXECUTE FUNCTION app.touch();
DROP TRIGGER IF EXISTS initiatives_touch ON app.initiatives;
CREATE TRIGGER initiatives_touch BEFORE UPDATE ON app.initiatives FOR EACH ROW EXECUTE FUNCTION app.touch();
DROP TRIGGER IF EXISTS objectives_audit ON app.objectives;
CREATE TRIGGER objectives_audit AFTER INSERT OR UPDATE OR DELETE ON app.objectives FOR EACH ROW EXECUTE FUNCTION app.audit();
DROP TRIGGER IF EXISTS outcomes_audit ON app.outcomes;
CREATE TRIGGER outcomes_audit AFTER INSERT OR UPDATE OR DELETE ON app.outcomes FOR EACH ROW EXECUTE FUNCTION app.audit();
DROP TRIGGER IF EXISTS initiatives_audit ON app.initiatives;
CREATE TRIGGER initiatives_audit AFTER INSERT OR UPDATE OR DELETE ON app.initiatives FOR EACH ROW EXECUTE FUNCTION app.audit();

-- An outcome's status from its actual: no_data, achieved (target reached in its direction), not_achieved.
-- Touches no table, so the reporting views call it too.
CREATE OR REPLACE FUNCTION app.outcome_status(p_actual numeric, p_target numeric, p_direction text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN p_actual IS NULL THEN 'no_data'
                WHEN (p_direction = 'lower_is_better' AND p_actual <= p_target)
                  OR (p_direction <> 'lower_is_better' AND p_actual >= p_target) THEN 'achieved'
                ELSE 'not_achieved' END
$$;

CREATE OR REPLACE FUNCTION app.outcome_json(o app.outcomes) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object(
        'id', o.id, 'objective_id', o.objective_id, 'engagement_id', o.engagement_id, 'title', o.title, 'unit', o.unit,
        'target', o.target, 'direction', o.direction, 'kpi_id', o.kpi_id,
        'actual', m.actual, 'measured_period', m.period, 'status', app.outcome_status(m.actual, o.target, o.direction),
        'mandatory', o.mandatory, 'blueprint_key', o.blueprint_key,
        'version', o.version, 'created_at', o.created_at, 'updated_at', o.updated_at)
    FROM (SELECT CASE WHEN o.kpi_id IS NULL THEN o.actual ELSE latest.actual END AS actual, latest.period
          FROM (SELECT) one
          LEFT JOIN LATERAL (
              SELECT v.actual, c.period FROM app.kpi_values v
              JOIN app.check_ins c ON c.organisation_id = v.organisation_id AND c.id = v.check_in_id
              WHERE v.organisation_id = o.organisation_id AND v.engagement_id = o.engagement_id AND v.kpi_id = o.kpi_id
              ORDER BY c.period DESC LIMIT 1) latest ON true) m
$$;

CREATE OR REPLACE FUNCTION app.initiative_json(i app.initiatives) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object(
        'id', i.id, 'objective_id', i.objective_id, 'engagement_id', i.engagement_id, 'title', i.title, 'type', i.type,
        'stage', i.stage, 'owner_user_id', i.owner_user_id, 'due_date', i.due_date,
        'overdue', i.stage IN ('planned', 'in_progress') AND coalesce(i.due_date < current_date, false),
        'mandatory', i.mandatory, 'blueprint_key', i.blueprint_key,
        'version', i.version, 'created_at', i.created_at, 'updated_at', i.updated_at)
$$;

CREATE OR REPLACE FUNCTION app.objective_json(o app.objectives) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object(
        'id', o.id, 'engagement_id', o.engagement_id, 'title', o.title, 'description', o.description,
        'status', o.status, 'target_date', o.target_date, 'owner_user_id', o.owner_user_id, 'mandatory', o.mandatory,
        'blueprint_id', o.blueprint_id, 'blueprint_key', o.blueprint_key,
        'outcomes', coalesce((SELECT jsonb_agg(app.outcome_json(x) ORDER BY x.created_at, x.id) FROM app.outcomes x
                              WHERE x.organisation_id = o.organisation_id AND x.objective_id = o.id), '[]'::jsonb),
        'initiatives', coalesce((SELECT jsonb_agg(app.initiative_json(x) ORDER BY x.created_at, x.id) FROM app.initiatives x
                                 WHERE x.organisation_id = o.organisation_id AND x.objective_id = o.id), '[]'::jsonb),
        'version', o.version, 'created_at', o.created_at, 'updated_at', o.updated_at)
$$;

CREATE OR REPLACE FUNCTION api.success_plan_paths() RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT '{"objectives_engagement_fk": "engagement_id", "objectives_owner_fk": "owner_user_id",
             "outcomes_kpi_fk": "kpi_id", "outcomes_actual_source": "actual",
             "initiatives_type_fk": "type", "initiatives_owner_fk": "owner_user_id",
             "initiative_types_pkey": "name", "initiative_types_name": "name"}'::jsonb
$$;

-- An outcome of an objective from params at `p_path` (`outcomes[1].` or ``). Returns the new row.
CREATE OR REPLACE FUNCTION api.add_outcome(p_objective app.objectives, p jsonb, p_path text) RETURNS app.outcomes
LANGUAGE plpgsql
AS $$
DECLARE
    added app.outcomes;
BEGIN
    IF p ->> 'kpi_id' IS NOT NULL AND NOT EXISTS (
        SELECT FROM app.engagement_kpis WHERE id = (p ->> 'kpi_id')::uuid AND engagement_id = p_objective.engagement_id) THEN
        PERFORM api.invalid_param(p_path || 'kpi_id', 'is not a KPI of this engagement');
    END IF;
    IF p ->> 'kpi_id' IS NOT NULL AND p ? 'actual' THEN
        PERFORM api.invalid_param(p_path || 'actual', 'comes from check-ins when the outcome is bound to a KPI');
    END IF;
    INSERT INTO app.outcomes (organisation_id, engagement_id, objective_id, title, unit, target, direction, kpi_id, actual,
                              created_by, updated_by)
    VALUES (p_objective.organisation_id, p_objective.engagement_id, p_objective.id, btrim(p ->> 'title'),
            coalesce(p ->> 'unit', ''), (p ->> 'target')::numeric, coalesce(p ->> 'direction', 'higher_is_better'),
            (p ->> 'kpi_id')::uuid, (p ->> 'actual')::numeric, app.current_user_id(), app.current_user_id())
    RETURNING * INTO added;
    RETURN added;
END
$$;

-- An initiative of an objective from params at `p_path`; type and owner errors name the path.
CREATE OR REPLACE FUNCTION api.add_initiative(p_objective app.objectives, p jsonb, p_path text) RETURNS app.initiatives
LANGUAGE plpgsql
AS $$
DECLARE
    added app.initiatives;
BEGIN
    IF NOT EXISTS (SELECT FROM app.initiative_types WHERE name = p ->> 'type') THEN
        PERFORM api.invalid_param(p_path || 'type', 'is not one of the organisation''s initiative types');
    END IF;
    IF p ->> 'owner_user_id' IS NOT NULL AND NOT EXISTS (SELECT FROM app.users WHERE id = (p ->> 'owner_user_id')::uuid) THEN
        PERFORM api.invalid_param(p_path || 'owner_user_id', 'does not exist');
    END IF;
    BEGIN
        INSERT INTO app.initiatives (organisation_id, engagement_id, objective_id, title, type, stage, owner_user_id, due_date,
                                     created_by, updated_by)
        VALUES (p_objective.organisation_id, p_objective.engagement_id, p_objective.id, btrim(p ->> 'title'), p ->> 'type',
                coalesce(p ->> 'stage', 'planned'), (p ->> 'owner_user_id')::uuid, (p ->> 'due_date')::date,
                app.current_user_id(), app.current_user_id())
        RETURNING * INTO added;
    EXCEPTION WHEN SQLSTATE 'EV020' THEN
        PERFORM api.invalid_param(p_path || 'due_date', 'is outside the engagement''s dates');
    END;
    RETURN added;
END
$$;

CREATE OR REPLACE FUNCTION api.objective_create(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    reply jsonb := api.replay('objective.create', p);
    created app.objectives;
    item record;
    state text;
    failed_constraint text;
    message text;
BEGIN
    IF reply IS NOT NULL THEN
        RETURN reply;
    END IF;
    INSERT INTO app.objectives (organisation_id, engagement_id, title, description, status, target_date, owner_user_id,
                                created_by, updated_by)
    VALUES (app.current_organisation_id(), (p ->> 'engagement_id')::uuid, btrim(p ->> 'title'),
            coalesce(p ->> 'description', ''), coalesce(p ->> 'status', 'not_started'), (p ->> 'target_date')::date,
            (p ->> 'owner_user_id')::uuid, app.current_user_id(), app.current_user_id())
    RETURNING * INTO created;
    FOR item IN SELECT value, ordinality - 1 AS i FROM jsonb_array_elements(coalesce(p -> 'outcomes', '[]')) WITH ORDINALITY LOOP
        PERFORM api.add_outcome(created, item.value, format('outcomes[%s].', item.i));
    END LOOP;
    FOR item IN SELECT value, ordinality - 1 AS i FROM jsonb_array_elements(coalesce(p -> 'initiatives', '[]')) WITH ORDINALITY LOOP
        PERFORM api.add_initiative(created, item.value, format('initiatives[%s].', item.i));
    END LOOP;
    RETURN api.remember('objective.create', p, app.objective_json(created));
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.success_plan_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.success_plan_paths());
END
$$;

CREATE OR REPLACE FUNCTION api.objective_get(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    item app.objectives;
BEGIN
    SELECT * INTO item FROM app.objectives WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN app.objective_json(item);
END
$$;

-- Absent fields stay; target date and owner: null clears them.
CREATE OR REPLACE FUNCTION api.objective_update(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_target_date date := (p ->> 'target_date')::date;
    current_version integer;
    updated app.objectives;
    state text;
    failed_constraint text;
    message text;
BEGIN
    UPDATE app.objectives row SET
        title = coalesce(btrim(p ->> 'title'), row.title),
        description = coalesce(p ->> 'description', row.description),
        status = coalesce(p ->> 'status', row.status),
        target_date = CASE WHEN p ? 'target_date' THEN v_target_date ELSE row.target_date END,
        owner_user_id = CASE WHEN p ? 'owner_user_id' THEN (p ->> 'owner_user_id')::uuid ELSE row.owner_user_id END
    WHERE row.id = (p ->> 'id')::uuid AND row.version = (p ->> 'version')::integer
    RETURNING * INTO updated;
    IF NOT FOUND THEN
        SELECT version INTO current_version FROM app.objectives WHERE id = (p ->> 'id')::uuid;
        PERFORM api.refuse_versioned_write((p ->> 'version')::integer, current_version);
    END IF;
    RETURN app.objective_json(updated);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.success_plan_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.success_plan_paths());
END
$$;

CREATE OR REPLACE FUNCTION api.objective_delete(p jsonb) RETURNS jsonb
LANGUAGE sql
AS $$ SELECT api.versioned_delete(p, 'app.objectives') $$;

-- Objectives of the organisation or one engagement; by status (e.g. at_risk), blueprint, owner.
CREATE OR REPLACE FUNCTION api.objective_list(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN api.list(p, 'app.objectives', 'app.objective_json',
        $filter$
            ($1 ->> 'engagement_id' IS NULL OR row.engagement_id = ($1 ->> 'engagement_id')::uuid)
        AND ($1 ->> 'status' IS NULL OR row.status = $1 ->> 'status')
        AND ($1 ->> 'blueprint_id' IS NULL OR row.blueprint_id = ($1 ->> 'blueprint_id')::uuid)
        AND ($1 ->> 'owner_user_id' IS NULL OR row.owner_user_id = ($1 ->> 'owner_user_id')::uuid)
        $filter$,
        '{"name": ["title", "text"], "created_at": ["created_at", "timestamptz"]}', 'created_at');
END
$$;

REVOKE ALL ON FUNCTION app.require_within_engagement(uuid, uuid, date, text), app.check_success_item(),
    app.keep_mandatory_item(), app.outcome_json(app.outcomes), app.initiative_json(app.initiatives),
    app.objective_json(app.objectives), api.success_plan_paths(), api.add_outcome(app.objectives, jsonb, text),
    api.add_initiative(app.objectives, jsonb, text), api.objective_create(jsonb), api.objective_get(jsonb),
    api.objective_update(jsonb), api.objective_delete(jsonb), api.objective_list(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.require_within_engagement(uuid, uuid, date, text), app.check_success_item(),
    app.keep_mandatory_item(), app.outcome_json(app.outcomes), app.initiative_json(app.initiatives),
    app.objective_json(app.objectives), api.success_plan_paths(), api.add_outcome(app.objectives, jsonb, text),
    api.add_initiative(app.objectives, jsonb, text), api.objective_create(jsonb), api.objective_get(jsonb),
    api.objective_update(jsonb), api.objective_delete(jsonb), api.objective_list(jsonb) TO engagement_app;

-- For DBAs (outcomes and initiatives: 0242_outcomes_and_initiatives.sql).
CREATE OR REPLACE VIEW reporting.objectives WITH (security_barrier) AS
SELECT o.id, o.engagement_id, e.code AS engagement_code, e.name AS engagement_name, o.title, o.description, o.status,
       o.target_date, o.owner_user_id, u.email AS owner_email, o.mandatory, o.blueprint_id, b.name AS blueprint_name,
       o.version, o.created_at, o.updated_at
FROM app.objectives o
JOIN app.engagements e ON e.organisation_id = o.organisation_id AND e.id = o.engagement_id
LEFT JOIN app.users u ON u.organisation_id = o.organisation_id AND u.id = o.owner_user_id
LEFT JOIN app.blueprints b ON b.organisation_id = o.organisation_id AND b.id = o.blueprint_id
WHERE o.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.objectives TO engagement_reporting;
GRANT EXECUTE ON FUNCTION app.outcome_status(numeric, numeric, text) TO engagement_app, engagement_reporting;
