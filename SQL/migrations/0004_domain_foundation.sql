-- Foundations every domain table uses: role checks in the database, the method name in the call context,
-- the append-only audit log, row versions for optimistic concurrency, and idempotency keys.

-- Roles rank viewer < member < manager < admin. Write policies call app.role_at_least(...), so a session whose
-- role is too low cannot write even if a method forgot to check.
CREATE OR REPLACE FUNCTION app.role_rank(p_role text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE p_role WHEN 'viewer' THEN 1 WHEN 'member' THEN 2 WHEN 'manager' THEN 3 WHEN 'admin' THEN 4 ELSE 0 END
$$;

CREATE OR REPLACE FUNCTION app.role_at_least(p_role text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT app.role_rank(app.current_user_role()) >= app.role_rank(p_role)
$$;

-- begin_call now also records the method, for the audit log. Same checks as before (see 0003).
DROP FUNCTION IF EXISTS app.begin_call(text);
CREATE OR REPLACE FUNCTION app.begin_call(p_key_id text, p_method text)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k record;
BEGIN
    SELECT a.organisation_id, a.user_id, u.role INTO k
    FROM app.api_keys a
    JOIN app.users u ON u.organisation_id = a.organisation_id AND u.id = a.user_id
    WHERE a.key_id = p_key_id AND a.revoked_at IS NULL AND u.disabled_at IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'API key is revoked or unknown' USING ERRCODE = 'EA001';
    END IF;
    PERFORM set_config('app.organisation_id', k.organisation_id::text, true);
    PERFORM set_config('app.user_id', k.user_id::text, true);
    PERFORM set_config('app.user_role', k.role, true);
    PERFORM set_config('app.method', coalesce(p_method, ''), true);
END
$$;
REVOKE ALL ON FUNCTION app.begin_call(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.begin_call(text, text) TO engagement_app;

-- The audit log: one row per written row, with before and after images. Tenants can read their own rows
-- (through RLS) and cannot insert, change or delete any: only the trigger below writes, as the owner.
CREATE TABLE app.audit_log (
    organisation_id uuid NOT NULL REFERENCES app.organisations (id) ON DELETE CASCADE,
    id bigint GENERATED ALWAYS AS IDENTITY,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    user_id uuid,
    method text NOT NULL,
    entity text NOT NULL,
    entity_id uuid NOT NULL,
    action text NOT NULL CHECK (action IN ('insert', 'update', 'delete')),
    before jsonb,
    after jsonb,
    PRIMARY KEY (organisation_id, id)
);
CREATE INDEX audit_log_entity ON app.audit_log (organisation_id, entity, entity_id, at);
ALTER TABLE app.audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_read ON app.audit_log FOR SELECT
    USING (organisation_id = (SELECT app.current_organisation_id()));
GRANT SELECT ON app.audit_log TO engagement_app;

-- AFTER trigger for every audited table. SECURITY DEFINER: it inserts as the owner, so the application role
-- needs (and has) no INSERT on the log. The method comes from the call context; psql writes by the owner are
-- recorded as method 'sql'.
CREATE OR REPLACE FUNCTION app.audit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    row_image jsonb := to_jsonb(coalesce(NEW, OLD));
BEGIN
    INSERT INTO app.audit_log (organisation_id, user_id, method, entity, entity_id, action, before, after)
    VALUES (
        (row_image ->> 'organisation_id')::uuid,
        nullif(current_setting('app.user_id', true), '')::uuid,
        coalesce(nullif(current_setting('app.method', true), ''), 'sql'),
        TG_TABLE_NAME,
        (row_image ->> 'id')::uuid,
        lower(TG_OP),
        CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
        CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END);
    RETURN NULL;
END
$$;

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

-- Idempotency keys: the response of a write, kept for a day, so a retried call returns it instead of writing
-- again. request_hash catches a key reused for a different request.
CREATE TABLE app.idempotency_keys (
    organisation_id uuid NOT NULL REFERENCES app.organisations (id) ON DELETE CASCADE,
    key text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    method text NOT NULL,
    request_hash text NOT NULL,
    response jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, key)
);
CREATE INDEX idempotency_keys_age ON app.idempotency_keys (created_at);
ALTER TABLE app.idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.idempotency_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON app.idempotency_keys
    USING (organisation_id = (SELECT app.current_organisation_id()))
    WITH CHECK (organisation_id = (SELECT app.current_organisation_id()));
GRANT SELECT, INSERT ON app.idempotency_keys TO engagement_app;

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
GRANT EXECUTE ON FUNCTION app.role_rank(text), app.role_at_least(text), app.idempotent_replay(text, text, text)
    TO engagement_app;
