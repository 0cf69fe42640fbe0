-- template.*: engagement templates (the service they apply to, default KPIs, check-in cadence). An engagement
-- needs one before it can be activated; a template an engagement uses cannot be deleted (archive it).

CREATE OR REPLACE FUNCTION api.template_create(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    reply jsonb := api.replay('template.create', p);
    created app.engagement_templates;
    state text;
    failed_constraint text;
    message text;
BEGIN
    IF reply IS NOT NULL THEN
        RETURN reply;
    END IF;
    INSERT INTO app.engagement_templates (organisation_id, service_id, name, default_kpis, checkin_cadence,
                                          created_by, updated_by)
    VALUES (app.current_organisation_id(), (p ->> 'service_id')::uuid, btrim(p ->> 'name'),
            coalesce(p -> 'default_kpis', '[]'), coalesce(p ->> 'checkin_cadence', 'monthly'),
            app.current_user_id(), app.current_user_id())
    RETURNING * INTO created;
    RETURN api.remember('template.create', p, app.template_json(created));
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT '{"templates_service_fk": "service_id"}'::jsonb ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, '{"templates_service_fk": "service_id"}');
END
$$;

CREATE OR REPLACE FUNCTION api.template_get(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    item app.engagement_templates;
BEGIN
    SELECT * INTO item FROM app.engagement_templates WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN app.template_json(item);
END
$$;

-- Absent fields stay; default_kpis replaces the list; archived: true stamps archived_at, false clears it.
CREATE OR REPLACE FUNCTION api.template_update(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_now timestamptz := now();
    current_version integer;
    updated app.engagement_templates;
    state text;
    failed_constraint text;
    message text;
BEGIN
    UPDATE app.engagement_templates row SET
        service_id = coalesce((p ->> 'service_id')::uuid, row.service_id),
        name = coalesce(btrim(p ->> 'name'), row.name),
        default_kpis = coalesce(p -> 'default_kpis', row.default_kpis),
        checkin_cadence = coalesce(p ->> 'checkin_cadence', row.checkin_cadence),
        archived_at = CASE WHEN NOT p ? 'archived' THEN row.archived_at
                           WHEN (p ->> 'archived')::boolean THEN coalesce(row.archived_at, v_now) END
    WHERE row.id = (p ->> 'id')::uuid AND row.version = (p ->> 'version')::integer
    RETURNING * INTO updated;
    IF NOT FOUND THEN
        SELECT version INTO current_version FROM app.engagement_templates WHERE id = (p ->> 'id')::uuid;
        PERFORM api.refuse_versioned_write((p ->> 'version')::integer, current_version);
    END IF;
    RETURN app.template_json(updated);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT '{"templates_service_fk": "service_id"}'::jsonb ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, '{"templates_service_fk": "service_id"}');
END
$$;

CREATE OR REPLACE FUNCTION api.template_delete(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN api.versioned_delete(p, 'app.engagement_templates');
END
$$;

CREATE OR REPLACE FUNCTION api.template_list(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN api.list(p, 'app.engagement_templates', 'app.template_json',
        $filter$
            ($1 ->> 'service_id' IS NULL OR row.service_id = ($1 ->> 'service_id')::uuid)
        AND ($1 ->> 'q' IS NULL OR row.name ILIKE api.contains_pattern($1 ->> 'q'))
        AND (coalesce(($1 ->> 'include_archived')::boolean, false) OR row.archived_at IS NULL)
        $filter$,
        '{"name": ["name", "text"], "created_at": ["created_at", "timestamptz"]}');
END
$$;

REVOKE ALL ON FUNCTION api.template_create(jsonb), api.template_get(jsonb), api.template_update(jsonb),
    api.template_delete(jsonb), api.template_list(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.template_create(jsonb), api.template_get(jsonb), api.template_update(jsonb),
    api.template_delete(jsonb), api.template_list(jsonb) TO engagement_app;
