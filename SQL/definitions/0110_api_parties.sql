-- party.*: customers and delivery partners of an organisation, plus the organisation itself (kind 'self',
-- read-only: no policy lets a client write it, and these functions say so with -32002 self_party).

CREATE OR REPLACE FUNCTION api.party_create(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    reply jsonb := api.replay('party.create', p);
    created app.parties;
    state text;
    failed_constraint text;
    message text;
BEGIN
    IF reply IS NOT NULL THEN
        RETURN reply;
    END IF;
    INSERT INTO app.parties (organisation_id, kind, name, external_ref, created_by, updated_by)
    VALUES (app.current_organisation_id(), p ->> 'kind', btrim(p ->> 'name'), p ->> 'external_ref',
            app.current_user_id(), app.current_user_id())
    RETURNING * INTO created;
    RETURN api.remember('party.create', p, app.party_json(created));
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT '{"parties_external_ref_unique": "external_ref"}'::jsonb ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, '{"parties_external_ref_unique": "external_ref"}');
END
$$;

CREATE OR REPLACE FUNCTION api.party_get(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    item app.parties;
BEGIN
    SELECT * INTO item FROM app.parties WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN app.party_json(item);
END
$$;

-- The row as it is now, refusing the organisation's own party; for update and delete.
CREATE OR REPLACE FUNCTION api.party_writable(p jsonb) RETURNS app.parties
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    current app.parties;
BEGIN
    SELECT * INTO current FROM app.parties WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    IF current.kind = 'self' THEN
        PERFORM api.forbidden('self_party', 'the organisation''s own party cannot be changed or deleted');
    END IF;
    RETURN current;
END
$$;

-- Absent fields stay; external_ref: null clears it; archived: true stamps archived_at (keeping an earlier
-- stamp), false clears it.
CREATE OR REPLACE FUNCTION api.party_update(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_now timestamptz := now();
    current app.parties := api.party_writable(p);
    updated app.parties;
    state text;
    failed_constraint text;
    message text;
BEGIN
    UPDATE app.parties row SET
        name = coalesce(btrim(p ->> 'name'), row.name),
        kind = coalesce(p ->> 'kind', row.kind),
        external_ref = CASE WHEN p ? 'external_ref' THEN p ->> 'external_ref' ELSE row.external_ref END,
        archived_at = CASE WHEN NOT p ? 'archived' THEN row.archived_at
                           WHEN (p ->> 'archived')::boolean THEN coalesce(row.archived_at, v_now) END
    WHERE row.id = current.id AND row.version = (p ->> 'version')::integer
    RETURNING * INTO updated;
    IF NOT FOUND THEN
        PERFORM api.refuse_versioned_write((p ->> 'version')::integer, current.version);
    END IF;
    RETURN app.party_json(updated);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT '{"parties_external_ref_unique": "external_ref"}'::jsonb ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, '{"parties_external_ref_unique": "external_ref"}');
END
$$;

-- A party something refers to cannot be deleted (-32004 in_use): archive it instead.
CREATE OR REPLACE FUNCTION api.party_delete(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    current app.parties := api.party_writable(p);
BEGIN
    DELETE FROM app.parties WHERE id = current.id AND version = (p ->> 'version')::integer;
    IF NOT FOUND THEN
        PERFORM api.refuse_versioned_write((p ->> 'version')::integer, current.version);
    END IF;
    RETURN jsonb_build_object('id', current.id, 'deleted', true);
END
$$;

CREATE OR REPLACE FUNCTION api.party_list(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN api.list(p, 'app.parties', 'app.party_json',
        $filter$
            ($1 ->> 'kind' IS NULL OR row.kind = $1 ->> 'kind')
        AND ($1 ->> 'q' IS NULL OR row.name ILIKE api.contains_pattern($1 ->> 'q')
                                OR row.external_ref ILIKE api.contains_pattern($1 ->> 'q'))
        AND (coalesce(($1 ->> 'include_archived')::boolean, false) OR row.archived_at IS NULL)
        $filter$,
        '{"name": ["name", "text"], "created_at": ["created_at", "timestamptz"]}');
END
$$;

REVOKE ALL ON FUNCTION api.party_create(jsonb), api.party_get(jsonb), api.party_writable(jsonb),
    api.party_update(jsonb), api.party_delete(jsonb), api.party_list(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.party_create(jsonb), api.party_get(jsonb), api.party_writable(jsonb),
    api.party_update(jsonb), api.party_delete(jsonb), api.party_list(jsonb) TO engagement_app;
