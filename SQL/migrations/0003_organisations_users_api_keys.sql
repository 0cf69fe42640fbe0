-- Organisations (tenants), their users, and the API keys users authenticate with.

CREATE TABLE app.organisations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE app.users (
    organisation_id uuid NOT NULL REFERENCES app.organisations (id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    email text NOT NULL CHECK (email ~ '^[^@\s]+@[^@\s]+$' AND length(email) <= 320),
    display_name text NOT NULL CHECK (length(btrim(display_name)) BETWEEN 1 AND 200),
    role text NOT NULL CHECK (role IN ('admin', 'manager', 'member', 'viewer')),
    created_at timestamptz NOT NULL DEFAULT now(),
    disabled_at timestamptz,
    PRIMARY KEY (organisation_id, id)
);
CREATE UNIQUE INDEX users_email_unique ON app.users (organisation_id, lower(email));

-- An API key is `esk_<key_id>_<secret>`. Only SHA-256 of the whole key is stored.
--
-- key_id is the one deliberately deployment-wide unique column of a tenant table: authentication must find
-- a key before any tenant context exists. It is random, so it says nothing about the organisation.
CREATE TABLE app.api_keys (
    organisation_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL,
    key_id text NOT NULL UNIQUE CHECK (key_id ~ '^[0-9a-f]{16}$'),
    key_hash bytea NOT NULL CHECK (length(key_hash) = 32),
    label text NOT NULL DEFAULT '' CHECK (length(label) <= 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    PRIMARY KEY (organisation_id, id),
    FOREIGN KEY (organisation_id, user_id) REFERENCES app.users (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX api_keys_user ON app.api_keys (organisation_id, user_id);

-- Row-level security, enabled and forced (so even the owner is filtered unless it has BYPASSRLS).
ALTER TABLE app.organisations ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.organisations FORCE ROW LEVEL SECURITY;
ALTER TABLE app.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.users FORCE ROW LEVEL SECURITY;
ALTER TABLE app.api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.api_keys FORCE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON app.organisations
    USING (id = (SELECT app.current_organisation_id()));
CREATE POLICY tenant_isolation ON app.users
    USING (organisation_id = (SELECT app.current_organisation_id()));
CREATE POLICY tenant_isolation ON app.api_keys
    USING (organisation_id = (SELECT app.current_organisation_id()));

-- The server reads its own organisation, users and key metadata; writes to these tables go through the
-- administration paths (engagementctl, and admin-only methods of a later migration).
GRANT SELECT ON app.organisations, app.users TO engagement_app;
GRANT SELECT (organisation_id, id, user_id, key_id, label, created_at, revoked_at) ON app.api_keys TO engagement_app;

-- Authentication: look up a key by its public id before any tenant context exists. Runs as the owner so it
-- can see every organisation's keys, returns only what the server needs to check the hash in constant time.
CREATE OR REPLACE FUNCTION app.find_api_key(p_key_id text)
RETURNS TABLE (organisation_id uuid, organisation_name text, user_id uuid, user_role text, key_hash bytea)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT k.organisation_id, o.name, k.user_id, u.role, k.key_hash
    FROM app.api_keys k
    JOIN app.users u ON u.organisation_id = k.organisation_id AND u.id = k.user_id
    JOIN app.organisations o ON o.id = k.organisation_id
    WHERE k.key_id = p_key_id AND k.revoked_at IS NULL AND u.disabled_at IS NULL
$$;

-- The first statement of every call: re-checks the session's key (so revoking a key or disabling a user takes
-- effect on the very next call, not at the next login) and sets the tenant context transaction-locally.
-- The organisation, user and role come from the database, not from the caller. Raises SQLSTATE EA001 when the
-- key is no longer valid.
CREATE OR REPLACE FUNCTION app.begin_call(p_key_id text)
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
END
$$;

REVOKE ALL ON FUNCTION app.find_api_key(text), app.begin_call(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.find_api_key(text), app.begin_call(text) TO engagement_app;
