-- portfolio.*: named groups of services (many-to-many); names unique per organisation, case-insensitive.

CREATE OR REPLACE FUNCTION api.portfolio_create(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    reply jsonb := api.replay('portfolio.create', p);
    created app.portfolios;
    state text;
    failed_constraint text;
    message text;
BEGIN
    IF reply IS NOT NULL THEN
        RETURN reply;
    END IF;
    INSERT INTO app.portfolios (organisation_id, name, description, created_by, updated_by)
    VALUES (app.current_organisation_id(), btrim(p ->> 'name'), coalesce(p ->> 'description', ''),
            app.current_user_id(), app.current_user_id())
    RETURNING * INTO created;
    RETURN api.remember('portfolio.create', p, app.portfolio_json(created));
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT '{"portfolios_name_unique": "name"}'::jsonb ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, '{"portfolios_name_unique": "name"}');
END
$$;

CREATE OR REPLACE FUNCTION api.portfolio_get(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    item app.portfolios;
BEGIN
    SELECT * INTO item FROM app.portfolios WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN app.portfolio_json(item);
END
$$;

-- Absent fields stay; archived: true stamps archived_at (keeping an earlier stamp), false clears it.
CREATE OR REPLACE FUNCTION api.portfolio_update(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_now timestamptz := now();
    current_version integer;
    updated app.portfolios;
    state text;
    failed_constraint text;
    message text;
BEGIN
    UPDATE app.portfolios row SET
        name = coalesce(btrim(p ->> 'name'), row.name),
        description = coalesce(p ->> 'description', row.description),
        archived_at = CASE WHEN NOT p ? 'archived' THEN row.archived_at
                           WHEN (p ->> 'archived')::boolean THEN coalesce(row.archived_at, v_now) END
    WHERE row.id = (p ->> 'id')::uuid AND row.version = (p ->> 'version')::integer
    RETURNING * INTO updated;
    IF NOT FOUND THEN
        SELECT version INTO current_version FROM app.portfolios WHERE id = (p ->> 'id')::uuid;
        PERFORM api.refuse_versioned_write((p ->> 'version')::integer, current_version);
    END IF;
    RETURN app.portfolio_json(updated);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT '{"portfolios_name_unique": "name"}'::jsonb ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, '{"portfolios_name_unique": "name"}');
END
$$;

-- Its services stay; only the memberships go with it.
CREATE OR REPLACE FUNCTION api.portfolio_delete(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN api.versioned_delete(p, 'app.portfolios');
END
$$;

CREATE OR REPLACE FUNCTION api.portfolio_list(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN api.list(p, 'app.portfolios', 'app.portfolio_json',
        $filter$
            ($1 ->> 'q' IS NULL OR row.name ILIKE api.contains_pattern($1 ->> 'q'))
        AND ($1 ->> 'service_id' IS NULL OR EXISTS (
                SELECT FROM app.portfolio_services ps
                WHERE ps.organisation_id = row.organisation_id AND ps.portfolio_id = row.id
                  AND ps.service_id = ($1 ->> 'service_id')::uuid))
        AND (coalesce(($1 ->> 'include_archived')::boolean, false) OR row.archived_at IS NULL)
        $filter$,
        '{"name": ["name", "text"], "created_at": ["created_at", "timestamptz"]}');
END
$$;

-- Membership changes reply with the portfolio; an unknown portfolio is not found, an unknown service a bad
-- param. Adding a member that is there, or removing one that is not, changes nothing.
CREATE OR REPLACE FUNCTION api.portfolio_add_service(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    item app.portfolios;
    state text;
    failed_constraint text;
    message text;
BEGIN
    SELECT * INTO item FROM app.portfolios WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    INSERT INTO app.portfolio_services (organisation_id, portfolio_id, service_id)
    VALUES (item.organisation_id, item.id, (p ->> 'service_id')::uuid)
    ON CONFLICT DO NOTHING;
    RETURN app.portfolio_json(item);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT '{"portfolio_services_service_fk": "service_id"}'::jsonb ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, '{"portfolio_services_service_fk": "service_id"}');
END
$$;

CREATE OR REPLACE FUNCTION api.portfolio_remove_service(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    item app.portfolios;
BEGIN
    SELECT * INTO item FROM app.portfolios WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    DELETE FROM app.portfolio_services WHERE portfolio_id = item.id AND service_id = (p ->> 'service_id')::uuid;
    RETURN app.portfolio_json(item);
END
$$;

REVOKE ALL ON FUNCTION api.portfolio_create(jsonb), api.portfolio_get(jsonb), api.portfolio_update(jsonb),
    api.portfolio_delete(jsonb), api.portfolio_list(jsonb), api.portfolio_add_service(jsonb),
    api.portfolio_remove_service(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.portfolio_create(jsonb), api.portfolio_get(jsonb), api.portfolio_update(jsonb),
    api.portfolio_delete(jsonb), api.portfolio_list(jsonb), api.portfolio_add_service(jsonb),
    api.portfolio_remove_service(jsonb) TO engagement_app;
