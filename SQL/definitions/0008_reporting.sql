-- Current definitions (first made by migration 0008_reporting). Edit them here, never in a migration: every
-- definitions file is re-applied whenever one of them changes or a migration runs (SQL/README.md).

-- Creating and dropping reporting logins. The *_for variants are the operator's (engagementctl, as the
-- owner); the others are for an organisation's admins through the server, for their own organisation only.
-- The password arrives as a SCRAM verifier computed by the caller, never in clear text.
CREATE OR REPLACE FUNCTION app.create_reporting_role_for(p_organisation_id uuid, p_name text, p_verifier text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_name !~ '^[a-z][a-z0-9_]{2,62}$' THEN
        RAISE EXCEPTION 'a reporting role name is 3-63 lower-case letters, digits or _, starting with a letter'
            USING ERRCODE = 'EV010', CONSTRAINT = 'reporting_roles_name';
    END IF;
    IF p_verifier !~ '^SCRAM-SHA-256\$' THEN
        RAISE EXCEPTION 'the password must be a SCRAM-SHA-256 verifier' USING ERRCODE = 'EV011';
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = p_name) THEN
        RAISE EXCEPTION 'that name is taken' USING ERRCODE = '23505', CONSTRAINT = 'reporting_roles_role_name_key';
    END IF;
    EXECUTE format(
        'CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION INHERIT CONNECTION LIMIT 10 PASSWORD %L IN ROLE engagement_reporting',
        p_name, p_verifier);
    EXECUTE format('ALTER ROLE %I SET search_path = reporting', p_name);
    INSERT INTO app.reporting_roles (organisation_id, role_name, created_by)
    VALUES (p_organisation_id, p_name, nullif(current_setting('app.user_id', true), '')::uuid);
END
$$;
REVOKE ALL ON FUNCTION app.create_reporting_role_for(p_organisation_id uuid, p_name text, p_verifier text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION app.drop_reporting_role_for(p_organisation_id uuid, p_name text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM app.reporting_roles WHERE organisation_id = p_organisation_id AND role_name = p_name;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    EXECUTE format('DROP ROLE IF EXISTS %I', p_name);
    RETURN true;
END
$$;
REVOKE ALL ON FUNCTION app.drop_reporting_role_for(p_organisation_id uuid, p_name text) FROM PUBLIC;

-- The tenant-scoped wrappers: only for the server's role, only for an admin, only for the call's own
-- organisation, which they read from the call context themselves (never from a parameter).
CREATE OR REPLACE FUNCTION app.calling_admin_organisation() RETURNS uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    organisation uuid := nullif(current_setting('app.organisation_id', true), '')::uuid;
BEGIN
    IF session_user::text <> 'engagement_app' OR organisation IS NULL
       OR current_setting('app.user_role', true) IS DISTINCT FROM 'admin' THEN
        RAISE EXCEPTION 'admins only' USING ERRCODE = '42501';
    END IF;
    RETURN organisation;
END
$$;
REVOKE ALL ON FUNCTION app.calling_admin_organisation() FROM PUBLIC;

CREATE OR REPLACE FUNCTION app.create_reporting_role(p_name text, p_verifier text) RETURNS void
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT app.create_reporting_role_for(app.calling_admin_organisation(), p_name, p_verifier)
$$;
REVOKE ALL ON FUNCTION app.create_reporting_role(p_name text, p_verifier text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.create_reporting_role(p_name text, p_verifier text) TO engagement_app;

CREATE OR REPLACE FUNCTION app.drop_reporting_role(p_name text) RETURNS boolean
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT app.drop_reporting_role_for(app.calling_admin_organisation(), p_name)
$$;
REVOKE ALL ON FUNCTION app.drop_reporting_role(p_name text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.drop_reporting_role(p_name text) TO engagement_app;

CREATE OR REPLACE VIEW reporting.organisation WITH (security_barrier) AS
SELECT o.id, o.name, o.created_at
FROM app.organisations o
WHERE o.id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.organisation TO engagement_reporting;

CREATE OR REPLACE VIEW reporting.users WITH (security_barrier) AS
SELECT u.id, u.email, u.display_name, u.role, u.created_at, u.disabled_at
FROM app.users u
WHERE u.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.users TO engagement_reporting;

CREATE OR REPLACE VIEW reporting.parties WITH (security_barrier) AS
SELECT p.id, p.kind, p.name, p.external_ref, p.archived_at, p.version, p.created_at, p.updated_at
FROM app.parties p
WHERE p.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.parties TO engagement_reporting;

CREATE OR REPLACE VIEW reporting.services WITH (security_barrier) AS
SELECT s.id, s.code, s.name, s.description, s.active, s.owner_user_id, u.email AS owner_email,
       s.version, s.created_at, s.updated_at
FROM app.services s
LEFT JOIN app.users u ON u.organisation_id = s.organisation_id AND u.id = s.owner_user_id
WHERE s.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.services TO engagement_reporting;

CREATE OR REPLACE VIEW reporting.engagement_templates WITH (security_barrier) AS
SELECT t.id, t.name, t.service_id, s.code AS service_code, t.default_kpis, t.checkin_cadence, t.archived_at,
       t.version, t.created_at, t.updated_at
FROM app.engagement_templates t
JOIN app.services s ON s.organisation_id = t.organisation_id AND s.id = t.service_id
WHERE t.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.engagement_templates TO engagement_reporting;

CREATE OR REPLACE VIEW reporting.engagement_deliverers WITH (security_barrier) AS
SELECT d.engagement_id, e.code AS engagement_code, d.party_id, p.name AS party_name, p.kind AS party_kind, d.role
FROM app.engagement_deliverers d
JOIN app.engagements e ON e.organisation_id = d.organisation_id AND e.id = d.engagement_id
JOIN app.parties p ON p.organisation_id = d.organisation_id AND p.id = d.party_id
WHERE d.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.engagement_deliverers TO engagement_reporting;

CREATE OR REPLACE VIEW reporting.engagement_transitions WITH (security_barrier) AS
SELECT t.engagement_id, e.code AS engagement_code, t.from_status, t.to_status, t.changed_at,
       t.changed_by, u.email AS changed_by_email, t.reason
FROM app.engagement_transitions t
JOIN app.engagements e ON e.organisation_id = t.organisation_id AND e.id = t.engagement_id
LEFT JOIN app.users u ON u.organisation_id = t.organisation_id AND u.id = t.changed_by
WHERE t.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.engagement_transitions TO engagement_reporting;

CREATE OR REPLACE VIEW reporting.audit_log WITH (security_barrier) AS
SELECT l.id, l.at, l.user_id, u.email AS user_email, l.method, l.entity, l.entity_id, l.action, l.before, l.after
FROM app.audit_log l
LEFT JOIN app.users u ON u.organisation_id = l.organisation_id AND u.id = l.user_id
WHERE l.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.audit_log TO engagement_reporting;

-- reporting.engagements joins the contract in (reference and title), like the service and the customer.
-- CREATE OR REPLACE VIEW may only add columns at the end, which is where they go.
CREATE OR REPLACE VIEW reporting.engagements WITH (security_barrier) AS
SELECT e.id, e.code, e.name, e.status, e.status_changed_at,
       e.service_id, s.code AS service_code, s.name AS service_name,
       e.customer_party_id, c.name AS customer_name,
       e.template_id, t.name AS template_name, e.contract_id,
       e.start_date, e.end_date, e.owner_user_id, u.email AS owner_email,
       e.version, e.created_at, e.updated_at,
       k.reference AS contract_reference, k.title AS contract_title,
       e.journey_stage, e.journey_stage_changed_at
FROM app.engagements e
JOIN app.services s ON s.organisation_id = e.organisation_id AND s.id = e.service_id
JOIN app.parties c ON c.organisation_id = e.organisation_id AND c.id = e.customer_party_id
LEFT JOIN app.engagement_templates t ON t.organisation_id = e.organisation_id AND t.id = e.template_id
LEFT JOIN app.users u ON u.organisation_id = e.organisation_id AND u.id = e.owner_user_id
LEFT JOIN app.contracts k ON k.organisation_id = e.organisation_id AND k.id = e.contract_id
WHERE e.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.engagements TO engagement_reporting;
