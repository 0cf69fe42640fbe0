-- Current definitions (first made by migration 0004_domain_foundation). Edit them here, never in a migration: every
-- definitions file is re-applied whenever one of them changes or a migration runs (SQL/README.md).

-- Foundations every domain table uses: role checks in the database, the method name in the call context,
-- the append-only audit log, row versions for optimistic concurrency, and idempotency keys.

-- Roles rank viewer < member < manager < admin. Write policies call app.role_at_least(...), so a session whose
-- role is too low cannot write even if a method forgot to check.
CREATE OR REPLACE FUNCTION app.role_rank(p_role text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE p_role WHEN 'viewer' THEN 1 WHEN 'member' THEN 2 WHEN 'manager' THEN 3 WHEN 'admin' THEN 4 ELSE 0 END
$$;
REVOKE ALL ON FUNCTION app.role_rank(p_role text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.role_rank(p_role text) TO engagement_app;

CREATE OR REPLACE FUNCTION app.role_at_least(p_role text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT app.role_rank(app.current_user_role()) >= app.role_rank(p_role)
$$;
REVOKE ALL ON FUNCTION app.role_at_least(p_role text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.role_at_least(p_role text) TO engagement_app;

-- BEFORE UPDATE trigger for versioned tables: bumps the version and stamps who and when, so clients cannot
-- forge them and psql writes get them too.
CREATE OR REPLACE FUNCTION app.touch() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    NEW.updated_by := app.current_user_id();
    NEW.created_at := OLD.created_at;
    NEW.created_by := OLD.created_by;
    RETURN NEW;
END
$$;

-- The stored response for (key, method) of the current organisation, NULL when there is none (or it is older
-- than a day). A key reused for another method or other params raises EI409.
CREATE OR REPLACE FUNCTION app.idempotent_replay(p_key text, p_method text, p_request_hash text) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    stored record;
BEGIN
    IF p_key IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT method, request_hash, response INTO stored
    FROM app.idempotency_keys
    WHERE organisation_id = app.current_organisation_id() AND key = p_key AND created_at > now() - interval '1 day';
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF stored.method <> p_method OR stored.request_hash <> p_request_hash THEN
        RAISE EXCEPTION 'idempotency key reused for a different request' USING ERRCODE = 'EI409';
    END IF;
    RETURN stored.response;
END
$$;
REVOKE ALL ON FUNCTION app.idempotent_replay(p_key text, p_method text, p_request_hash text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.idempotent_replay(p_key text, p_method text, p_request_hash text) TO engagement_app;

-- One audit trigger function for every table, and one helper for the standard tenant policies of new tables.

-- The entity id column is the trigger's first argument (default `id`), so tables without an id of their own
-- (deliverers, portfolio memberships, contract rates) are filed under their parent without a copy of this
-- function. Key hashes never enter the log.
CREATE OR REPLACE FUNCTION app.audit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    row_image jsonb := to_jsonb(coalesce(NEW, OLD));
    id_column text := coalesce(TG_ARGV[0], 'id');
BEGIN
    INSERT INTO app.audit_log (organisation_id, user_id, method, entity, entity_id, action, before, after)
    VALUES (
        (row_image ->> 'organisation_id')::uuid,
        nullif(current_setting('app.user_id', true), '')::uuid,
        coalesce(nullif(current_setting('app.method', true), ''), 'sql'),
        TG_TABLE_NAME,
        (row_image ->> id_column)::uuid,
        lower(TG_OP),
        CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) - 'key_hash' END,
        CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) - 'key_hash' END);
    RETURN NULL;
END
$$;
