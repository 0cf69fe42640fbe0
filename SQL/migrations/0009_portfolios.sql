-- Portfolios: named groups of services across organisational lines ("Key Accounts", "Government").
-- A service may be in several portfolios.
CREATE TABLE app.portfolios (
    organisation_id uuid NOT NULL REFERENCES app.organisations (id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 4000),
    archived_at timestamptz,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by uuid,
    PRIMARY KEY (organisation_id, id)
);
CREATE UNIQUE INDEX portfolios_name_unique ON app.portfolios (organisation_id, lower(name));
CREATE INDEX portfolios_by_name ON app.portfolios (organisation_id, name, id);
CREATE INDEX portfolios_by_created ON app.portfolios (organisation_id, created_at, id);

CREATE TABLE app.portfolio_services (
    organisation_id uuid NOT NULL,
    portfolio_id uuid NOT NULL,
    service_id uuid NOT NULL,
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, portfolio_id, service_id),
    CONSTRAINT portfolio_services_portfolio_fk FOREIGN KEY (organisation_id, portfolio_id)
        REFERENCES app.portfolios (organisation_id, id) ON DELETE CASCADE,
    -- Membership never keeps a service alive: deleting the service removes it from its portfolios.
    CONSTRAINT portfolio_services_service_fk FOREIGN KEY (organisation_id, service_id)
        REFERENCES app.services (organisation_id, id) ON DELETE CASCADE
);
-- "Which portfolios is this service in" (the primary key answers the other direction).
CREATE INDEX portfolio_services_by_service ON app.portfolio_services (organisation_id, service_id);

ALTER TABLE app.portfolios ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.portfolios FORCE ROW LEVEL SECURITY;
ALTER TABLE app.portfolio_services ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.portfolio_services FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_read ON app.portfolios FOR SELECT
    USING (organisation_id = (SELECT app.current_organisation_id()));
CREATE POLICY manager_write ON app.portfolios FOR ALL
    USING (organisation_id = (SELECT app.current_organisation_id()) AND (SELECT app.role_at_least('manager')))
    WITH CHECK (organisation_id = (SELECT app.current_organisation_id()) AND (SELECT app.role_at_least('manager')));
CREATE POLICY tenant_read ON app.portfolio_services FOR SELECT
    USING (organisation_id = (SELECT app.current_organisation_id()));
CREATE POLICY manager_write ON app.portfolio_services FOR ALL
    USING (organisation_id = (SELECT app.current_organisation_id()) AND (SELECT app.role_at_least('manager')))
    WITH CHECK (organisation_id = (SELECT app.current_organisation_id()) AND (SELECT app.role_at_least('manager')));
GRANT SELECT, INSERT, DELETE ON app.portfolios, app.portfolio_services TO engagement_app;
GRANT UPDATE (name, description, archived_at) ON app.portfolios TO engagement_app;

CREATE TRIGGER portfolios_touch BEFORE UPDATE ON app.portfolios FOR EACH ROW EXECUTE FUNCTION app.touch();
CREATE TRIGGER portfolios_audit AFTER INSERT OR UPDATE OR DELETE ON app.portfolios
    FOR EACH ROW EXECUTE FUNCTION app.audit();

-- Membership changes are audited under the portfolio.
CREATE OR REPLACE FUNCTION app.audit_portfolio_membership() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    member app.portfolio_services := coalesce(NEW, OLD);
BEGIN
    INSERT INTO app.audit_log (organisation_id, user_id, method, entity, entity_id, action, before, after)
    VALUES (member.organisation_id, nullif(current_setting('app.user_id', true), '')::uuid,
            coalesce(nullif(current_setting('app.method', true), ''), 'sql'), 'portfolio_services',
            member.portfolio_id, lower(TG_OP),
            CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) END, CASE WHEN TG_OP = 'INSERT' THEN to_jsonb(NEW) END);
    RETURN NULL;
END
$$;
CREATE TRIGGER portfolio_services_audit AFTER INSERT OR DELETE ON app.portfolio_services
    FOR EACH ROW EXECUTE FUNCTION app.audit_portfolio_membership();

CREATE OR REPLACE FUNCTION app.portfolio_json(p app.portfolios) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT jsonb_build_object(
        'id', p.id, 'name', p.name, 'description', p.description, 'archived', p.archived_at IS NOT NULL,
        'services', coalesce((
            SELECT jsonb_agg(jsonb_build_object('id', s.id, 'code', s.code, 'name', s.name) ORDER BY s.code)
            FROM app.portfolio_services ps
            JOIN app.services s ON s.organisation_id = ps.organisation_id AND s.id = ps.service_id
            WHERE ps.organisation_id = p.organisation_id AND ps.portfolio_id = p.id), '[]'::jsonb),
        'version', p.version, 'created_at', p.created_at, 'updated_at', p.updated_at)
$$;
GRANT EXECUTE ON FUNCTION app.portfolio_json(app.portfolios) TO engagement_app;

CREATE VIEW reporting.portfolios WITH (security_barrier) AS
SELECT p.id, p.name, p.description, p.archived_at, p.version, p.created_at, p.updated_at
FROM app.portfolios p
WHERE p.organisation_id = (SELECT app.current_organisation_id());

CREATE VIEW reporting.portfolio_services WITH (security_barrier) AS
SELECT ps.portfolio_id, p.name AS portfolio_name, ps.service_id, s.code AS service_code, s.name AS service_name,
       ps.added_at
FROM app.portfolio_services ps
JOIN app.portfolios p ON p.organisation_id = ps.organisation_id AND p.id = ps.portfolio_id
JOIN app.services s ON s.organisation_id = ps.organisation_id AND s.id = ps.service_id
WHERE ps.organisation_id = (SELECT app.current_organisation_id());
