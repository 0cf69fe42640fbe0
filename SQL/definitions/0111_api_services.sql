-- service.*: the kinds of offering an organisation delivers. Retire a service with active = false; delete only
-- one nothing refers to (-32004 in_use otherwise).

CREATE OR REPLACE FUNCTION api.service_create(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    reply jsonb := api.replay('service.create', p);
    created app.services;
    state text;
    failed_constraint text;
    message text;
BEGIN
    IF reply IS NOT NULL THEN
        RETURN reply;
    END IF;
    INSERT INTO app.services (organisation_id, code, name, description, owner_user_id, active, created_by, updated_by)
    VALUES (app.current_organisation_id(), p ->> 'code', btrim(p ->> 'name'), coalesce(p ->> 'description', ''),
            (p ->> 'owner_user_id')::uuid, coalesce((p ->> 'active')::boolean, true),
            app.current_user_id(), app.current_user_id())
    RETURNING * INTO created;
    RETURN api.remember('service.create', p, app.service_json(created));
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT '{"services_owner_fk": "owner_user_id", "services_code_unique": "code"}'::jsonb ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, '{"services_owner_fk": "owner_user_id", "services_code_unique": "code"}');
END
$$;

CREATE OR REPLACE FUNCTION api.service_get(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    item app.services;
BEGIN
    SELECT * INTO item FROM app.services WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN app.service_json(item);
END
$$;

-- Absent fields stay; owner_user_id: null clears it.
CREATE OR REPLACE FUNCTION api.service_update(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    current_version integer;
    updated app.services;
    state text;
    failed_constraint text;
    message text;
BEGIN
    UPDATE app.services row SET
        code = coalesce(p ->> 'code', row.code),
        name = coalesce(btrim(p ->> 'name'), row.name),
        description = coalesce(p ->> 'description', row.description),
        owner_user_id = CASE WHEN p ? 'owner_user_id' THEN (p ->> 'owner_user_id')::uuid ELSE row.owner_user_id END,
        active = coalesce((p ->> 'active')::boolean, row.active)
    WHERE row.id = (p ->> 'id')::uuid AND row.version = (p ->> 'version')::integer
    RETURNING * INTO updated;
    IF NOT FOUND THEN
        SELECT version INTO current_version FROM app.services WHERE id = (p ->> 'id')::uuid;
        PERFORM api.refuse_versioned_write((p ->> 'version')::integer, current_version);
    END IF;
    RETURN app.service_json(updated);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT '{"services_owner_fk": "owner_user_id", "services_code_unique": "code"}'::jsonb ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, '{"services_owner_fk": "owner_user_id", "services_code_unique": "code"}');
END
$$;

CREATE OR REPLACE FUNCTION api.service_delete(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN api.versioned_delete(p, 'app.services');
END
$$;

CREATE OR REPLACE FUNCTION api.service_list(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN api.list(p, 'app.services', 'app.service_json',
        $filter$
            ($1 ->> 'q' IS NULL OR row.name ILIKE api.contains_pattern($1 ->> 'q')
                                OR row.code ILIKE api.contains_pattern($1 ->> 'q'))
        AND ($1 ->> 'owner_user_id' IS NULL OR row.owner_user_id = ($1 ->> 'owner_user_id')::uuid)
        AND (coalesce(($1 ->> 'include_inactive')::boolean, false) OR row.active)
        AND ($1 ->> 'portfolio_id' IS NULL OR EXISTS (
                SELECT FROM app.portfolio_services ps
                WHERE ps.organisation_id = row.organisation_id AND ps.service_id = row.id
                  AND ps.portfolio_id = ($1 ->> 'portfolio_id')::uuid))
        $filter$,
        '{"name": ["name", "text"], "created_at": ["created_at", "timestamptz"]}');
END
$$;

REVOKE ALL ON FUNCTION api.service_create(jsonb), api.service_get(jsonb), api.service_update(jsonb),
    api.service_delete(jsonb), api.service_list(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.service_create(jsonb), api.service_get(jsonb), api.service_update(jsonb),
    api.service_delete(jsonb), api.service_list(jsonb) TO engagement_app;
