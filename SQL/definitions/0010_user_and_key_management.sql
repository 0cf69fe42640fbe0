-- Current definitions (first made by migration 0010_user_and_key_management). Edit them here, never in a migration: every
-- definitions file is re-applied whenever one of them changes or a migration runs (SQL/README.md).

-- An organisation always keeps an active admin: nobody can lock everyone out by demoting or disabling the last.
CREATE OR REPLACE FUNCTION app.keep_an_admin() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF OLD.role = 'admin' AND OLD.disabled_at IS NULL AND (NEW.role <> 'admin' OR NEW.disabled_at IS NOT NULL)
       AND NOT EXISTS (
           SELECT FROM app.users
           WHERE organisation_id = NEW.organisation_id AND id <> NEW.id AND role = 'admin' AND disabled_at IS NULL) THEN
        RAISE EXCEPTION 'an organisation keeps at least one active admin' USING ERRCODE = 'ES003', HINT = 'last_admin';
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION app.user_json(u app.users) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT jsonb_build_object(
        'id', u.id, 'email', u.email, 'display_name', u.display_name, 'role', u.role,
        'disabled', u.disabled_at IS NOT NULL, 'disabled_at', u.disabled_at, 'version', u.version,
        'created_at', u.created_at, 'updated_at', u.updated_at)
$$;
REVOKE ALL ON FUNCTION app.user_json(u app.users) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.user_json(u app.users) TO engagement_app;
