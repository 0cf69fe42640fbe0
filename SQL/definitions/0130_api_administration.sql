-- user.*, api_key.*, reporting_role.*: the organisation's users, their API keys and its DBAs' reporting logins.
-- Everyone may read users (to pick owners); admins write (the policies say so too). The last active admin
-- stays (trigger, -32007 last_admin). Secrets never reach these functions: an API key arrives as its key id and
-- SHA-256, a reporting password as a SCRAM verifier, both made by the server, which shows the secret once.

CREATE OR REPLACE FUNCTION api.user_create(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    reply jsonb := api.replay('user.create', p);
    created app.users;
    state text;
    failed_constraint text;
    message text;
BEGIN
    IF reply IS NOT NULL THEN
        RETURN reply;
    END IF;
    INSERT INTO app.users (organisation_id, email, display_name, role, created_by, updated_by)
    VALUES (app.current_organisation_id(), btrim(p ->> 'email'), btrim(p ->> 'display_name'), p ->> 'role',
            app.current_user_id(), app.current_user_id())
    RETURNING * INTO created;
    RETURN api.remember('user.create', p, app.user_json(created));
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT '{"users_email_unique": "email"}'::jsonb ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, '{"users_email_unique": "email"}');
END
$$;

CREATE OR REPLACE FUNCTION api.user_get(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    item app.users;
BEGIN
    SELECT * INTO item FROM app.users WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN app.user_json(item);
END
$$;

-- disabled: true stamps disabled_at (the user's keys stop working at once: begin_call checks it), false clears it.
CREATE OR REPLACE FUNCTION api.user_update(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_now timestamptz := now();
    current_version integer;
    updated app.users;
BEGIN
    UPDATE app.users row SET
        display_name = coalesce(btrim(p ->> 'display_name'), row.display_name),
        role = coalesce(p ->> 'role', row.role),
        disabled_at = CASE WHEN NOT p ? 'disabled' THEN row.disabled_at
                           WHEN (p ->> 'disabled')::boolean THEN coalesce(row.disabled_at, v_now) END
    WHERE row.id = (p ->> 'id')::uuid AND row.version = (p ->> 'version')::integer
    RETURNING * INTO updated;
    IF NOT FOUND THEN
        SELECT version INTO current_version FROM app.users WHERE id = (p ->> 'id')::uuid;
        PERFORM api.refuse_versioned_write((p ->> 'version')::integer, current_version);
    END IF;
    RETURN app.user_json(updated);
END
$$;

-- Sort key "name" is the display name.
CREATE OR REPLACE FUNCTION api.user_list(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN api.list(p, 'app.users', 'app.user_json',
        $filter$
            ($1 ->> 'role' IS NULL OR row.role = $1 ->> 'role')
        AND ($1 ->> 'q' IS NULL OR row.display_name ILIKE api.contains_pattern($1 ->> 'q')
                                OR row.email ILIKE api.contains_pattern($1 ->> 'q'))
        AND (coalesce(($1 ->> 'include_disabled')::boolean, false) OR row.disabled_at IS NULL)
        $filter$,
        '{"name": ["display_name", "text"], "created_at": ["created_at", "timestamptz"]}');
END
$$;

-- Keys: the server's role may read every column but the hash (column privileges), so these functions name
-- their columns. A key's metadata, never the key or its hash; NULL when there is no such key.
CREATE OR REPLACE FUNCTION api.api_key_json(p_id uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN (
        SELECT jsonb_build_object('id', k.id, 'key_id', k.key_id, 'user_id', k.user_id, 'email', u.email,
                                  'label', k.label, 'created_at', k.created_at, 'revoked_at', k.revoked_at)
        FROM app.api_keys k
        JOIN app.users u ON u.organisation_id = k.organisation_id AND u.id = k.user_id
        WHERE k.id = p_id);
END
$$;

-- p: user_id, label, and from the server key_id and key_sha256 (hex) of the key it generated.
CREATE OR REPLACE FUNCTION api.api_key_create(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    owner app.users;
    created_id uuid;
BEGIN
    SELECT * INTO owner FROM app.users WHERE id = (p ->> 'user_id')::uuid AND disabled_at IS NULL;
    IF NOT FOUND THEN
        PERFORM api.invalid_param('user_id', 'does not exist or is disabled');
    END IF;
    INSERT INTO app.api_keys (organisation_id, user_id, key_id, key_hash, label)
    VALUES (owner.organisation_id, owner.id, p ->> 'key_id', decode(p ->> 'key_sha256', 'hex'), coalesce(p ->> 'label', ''))
    RETURNING id INTO created_id;
    RETURN jsonb_build_object('id', created_id, 'key_id', p ->> 'key_id', 'user_id', owner.id,
                              'label', coalesce(p ->> 'label', ''));
END
$$;

CREATE OR REPLACE FUNCTION api.api_key_get(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    reply jsonb := api.api_key_json((p ->> 'id')::uuid);
BEGIN
    IF reply IS NULL THEN
        PERFORM api.not_found();
    END IF;
    RETURN reply;
END
$$;

CREATE OR REPLACE FUNCTION api.api_key_update(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE app.api_keys SET label = p ->> 'label' WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN api.api_key_json((p ->> 'id')::uuid);
END
$$;

-- Newest first.
CREATE OR REPLACE FUNCTION api.api_key_list(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN coalesce((
        SELECT jsonb_agg(api.api_key_json(k.id) ORDER BY k.created_at DESC)
        FROM app.api_keys k
        WHERE k.organisation_id = app.current_organisation_id()
          AND (p ->> 'user_id' IS NULL OR k.user_id = (p ->> 'user_id')::uuid)), '[]'::jsonb);
END
$$;

-- Sessions using the key fail from their next call (begin_call checks it). Revoking twice keeps the first time.
CREATE OR REPLACE FUNCTION api.api_key_revoke(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_now timestamptz := now();
    revoked_id uuid;
    revoked_time timestamptz;
BEGIN
    -- The columns (never the hash, which this role may not read), not a document, come back: Citus refuses a stable
    -- function such as jsonb_build_object in RETURNING.
    UPDATE app.api_keys SET revoked_at = coalesce(revoked_at, v_now) WHERE id = (p ->> 'id')::uuid
    RETURNING id, revoked_at INTO revoked_id, revoked_time;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN jsonb_build_object('id', revoked_id, 'revoked_at', revoked_time);
END
$$;

-- p: name, and from the server the SCRAM verifier of the password it generated.
CREATE OR REPLACE FUNCTION api.reporting_role_create(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    paths constant jsonb := '{"reporting_roles_name": "name", "reporting_roles_role_name_key": "name"}';
    state text;
    failed_constraint text;
    message text;
BEGIN
    PERFORM app.create_reporting_role(p ->> 'name', p ->> 'verifier');
    RETURN jsonb_build_object('name', p ->> 'name');
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT paths ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, paths);
END
$$;

CREATE OR REPLACE FUNCTION api.reporting_role_drop(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    IF NOT app.drop_reporting_role(p ->> 'name') THEN
        PERFORM api.not_found();
    END IF;
    RETURN jsonb_build_object('name', p ->> 'name', 'dropped', true);
END
$$;

CREATE OR REPLACE FUNCTION api.reporting_role_list(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN coalesce((
        SELECT jsonb_agg(jsonb_build_object('name', role_name, 'created_at', created_at) ORDER BY role_name)
        FROM app.reporting_roles WHERE organisation_id = app.current_organisation_id()), '[]'::jsonb);
END
$$;

-- session.whoami: the identity as the database's tenant context sees it (not as the server remembers it).
CREATE OR REPLACE FUNCTION api.session_whoami(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    reply jsonb;
BEGIN
    SELECT jsonb_build_object(
               'organisation', jsonb_build_object('id', o.id, 'name', o.name),
               'user', jsonb_build_object('id', u.id, 'email', u.email, 'display_name', u.display_name),
               'role', app.current_user_role())
    INTO reply
    FROM app.organisations o
    JOIN app.users u ON u.organisation_id = o.id AND u.id = app.current_user_id();
    IF reply IS NULL THEN
        PERFORM api.not_found();
    END IF;
    RETURN reply;
END
$$;

REVOKE ALL ON FUNCTION api.user_create(jsonb), api.user_get(jsonb), api.user_update(jsonb), api.user_list(jsonb),
    api.api_key_json(uuid), api.api_key_create(jsonb), api.api_key_get(jsonb), api.api_key_update(jsonb),
    api.api_key_list(jsonb), api.api_key_revoke(jsonb), api.reporting_role_create(jsonb),
    api.reporting_role_drop(jsonb), api.reporting_role_list(jsonb), api.session_whoami(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.user_create(jsonb), api.user_get(jsonb), api.user_update(jsonb), api.user_list(jsonb),
    api.api_key_json(uuid), api.api_key_create(jsonb), api.api_key_get(jsonb), api.api_key_update(jsonb),
    api.api_key_list(jsonb), api.api_key_revoke(jsonb), api.reporting_role_create(jsonb),
    api.reporting_role_drop(jsonb), api.reporting_role_list(jsonb), api.session_whoami(jsonb) TO engagement_app;
