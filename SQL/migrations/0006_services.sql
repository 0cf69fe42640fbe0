-- Services: the kinds of offering an organisation delivers ("Managed IT Support"). Every engagement will
-- belong to exactly one service.
CREATE TABLE app.services (
    organisation_id uuid NOT NULL REFERENCES app.organisations (id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    code text NOT NULL CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$'),
    name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 4000),
    owner_user_id uuid,
    active boolean NOT NULL DEFAULT true,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by uuid,
    PRIMARY KEY (organisation_id, id),
    -- The owner must be a user of the same organisation: the composite key makes any other impossible.
    CONSTRAINT services_owner_fk FOREIGN KEY (organisation_id, owner_user_id) REFERENCES app.users (organisation_id, id)
);
-- Codes are unique per organisation regardless of case ("MITS" and "mits" are one code).
CREATE UNIQUE INDEX services_code_unique ON app.services (organisation_id, lower(code));
CREATE INDEX services_by_name ON app.services (organisation_id, name, id);
CREATE INDEX services_by_created ON app.services (organisation_id, created_at, id);
CREATE INDEX services_by_owner ON app.services (organisation_id, owner_user_id);

ALTER TABLE app.services ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.services FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_read ON app.services FOR SELECT
    USING (organisation_id = (SELECT app.current_organisation_id()));
CREATE POLICY manager_insert ON app.services FOR INSERT
    WITH CHECK (organisation_id = (SELECT app.current_organisation_id()) AND (SELECT app.role_at_least('manager')));
CREATE POLICY manager_update ON app.services FOR UPDATE
    USING (organisation_id = (SELECT app.current_organisation_id()) AND (SELECT app.role_at_least('manager')))
    WITH CHECK (organisation_id = (SELECT app.current_organisation_id()));
CREATE POLICY manager_delete ON app.services FOR DELETE
    USING (organisation_id = (SELECT app.current_organisation_id()) AND (SELECT app.role_at_least('manager')));
GRANT SELECT, INSERT, DELETE ON app.services TO engagement_app;
GRANT UPDATE (code, name, description, owner_user_id, active) ON app.services TO engagement_app;

CREATE TRIGGER services_touch BEFORE UPDATE ON app.services FOR EACH ROW EXECUTE FUNCTION app.touch();
CREATE TRIGGER services_audit AFTER INSERT OR UPDATE OR DELETE ON app.services FOR EACH ROW EXECUTE FUNCTION app.audit();

CREATE OR REPLACE FUNCTION app.service_json(s app.services) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT jsonb_build_object(
        'id', s.id, 'code', s.code, 'name', s.name, 'description', s.description,
        'owner_user_id', s.owner_user_id, 'active', s.active, 'version', s.version,
        'created_at', s.created_at, 'updated_at', s.updated_at)
$$;
GRANT EXECUTE ON FUNCTION app.service_json(app.services) TO engagement_app;
