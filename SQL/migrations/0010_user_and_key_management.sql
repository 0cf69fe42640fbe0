-- Users and API keys managed by an organisation's admins through the server.

ALTER TABLE app.users
    ADD COLUMN version integer NOT NULL DEFAULT 1,
    ADD COLUMN created_by uuid,
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN updated_by uuid;
CREATE INDEX users_by_name ON app.users (organisation_id, display_name, id);
CREATE INDEX users_by_created ON app.users (organisation_id, created_at, id);

-- Reads stay open to the organisation; writes need an admin (0003's policy allowed every command to anyone
-- of the organisation, which was harmless while the server could only SELECT).
DROP POLICY tenant_isolation ON app.users;
CREATE POLICY tenant_read ON app.users FOR SELECT
    USING (organisation_id = (SELECT app.current_organisation_id()));
CREATE POLICY admin_insert ON app.users FOR INSERT
    WITH CHECK (organisation_id = (SELECT app.current_organisation_id()) AND (SELECT app.role_at_least('admin')));
CREATE POLICY admin_update ON app.users FOR UPDATE
    USING (organisation_id = (SELECT app.current_organisation_id()) AND (SELECT app.role_at_least('admin')))
    WITH CHECK (organisation_id = (SELECT app.current_organisation_id()));
GRANT INSERT ON app.users TO engagement_app;
GRANT UPDATE (display_name, role, disabled_at) ON app.users TO engagement_app;

DROP POLICY tenant_isolation ON app.api_keys;
CREATE POLICY tenant_read ON app.api_keys FOR SELECT
    USING (organisation_id = (SELECT app.current_organisation_id()));
CREATE POLICY admin_insert ON app.api_keys FOR INSERT
    WITH CHECK (organisation_id = (SELECT app.current_organisation_id()) AND (SELECT app.role_at_least('admin')));
CREATE POLICY admin_update ON app.api_keys FOR UPDATE
    USING (organisation_id = (SELECT app.current_organisation_id()) AND (SELECT app.role_at_least('admin')))
    WITH CHECK (organisation_id = (SELECT app.current_organisation_id()));
-- The server writes key hashes but still cannot read them back (see 0003's column grant).
GRANT INSERT (organisation_id, user_id, key_id, key_hash, label) ON app.api_keys TO engagement_app;
GRANT UPDATE (revoked_at) ON app.api_keys TO engagement_app;

CREATE TRIGGER users_touch BEFORE UPDATE ON app.users FOR EACH ROW EXECUTE FUNCTION app.touch();

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
        RAISE EXCEPTION 'an organisation keeps at least one active admin' USING ERRCODE = 'ES003';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER users_keep_an_admin BEFORE UPDATE ON app.users FOR EACH ROW EXECUTE FUNCTION app.keep_an_admin();

-- The audit log never keeps key hashes.
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
        coalesce(row_image ->> 'id', row_image ->> 'engagement_id')::uuid,
        lower(TG_OP),
        CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) - 'key_hash' END,
        CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) - 'key_hash' END);
    RETURN NULL;
END
$$;
CREATE TRIGGER users_audit AFTER INSERT OR UPDATE OR DELETE ON app.users FOR EACH ROW EXECUTE FUNCTION app.audit();
CREATE TRIGGER api_keys_audit AFTER INSERT OR UPDATE OR DELETE ON app.api_keys FOR EACH ROW EXECUTE FUNCTION app.audit();

CREATE OR REPLACE FUNCTION app.user_json(u app.users) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT jsonb_build_object(
        'id', u.id, 'email', u.email, 'display_name', u.display_name, 'role', u.role,
        'disabled', u.disabled_at IS NOT NULL, 'disabled_at', u.disabled_at, 'version', u.version,
        'created_at', u.created_at, 'updated_at', u.updated_at)
$$;
GRANT EXECUTE ON FUNCTION app.user_json(app.users) TO engagement_app;
