-- Current definitions (first made by migration 0024_inlinable_tenant_context). Edit them here, never in a migration: every
-- definitions file is re-applied whenever one of them changes or a migration runs (SQL/README.md).

-- The organisation of a reporting login; NULL for anyone else. Definer so that callers need no access to the
-- mapping table. The server's role may execute it too: PostgreSQL checks EXECUTE on every function of an
-- expression when it starts executing it, including the branch of the CASE below it never takes.
-- PL/pgSQL rather than SQL: with its SET clause a SQL function is never inlined, and was parsed and planned anew at
-- every call (23 µs against 6.5 µs; an operator's or a seed's session, outside any tenant, calls it once for each
-- statement a rollup-stale trigger sees).
CREATE OR REPLACE FUNCTION tenant.reporting_organisation_id() RETURNS uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF pg_has_role(session_user, 'engagement_reporting', 'MEMBER') THEN
        RETURN (SELECT r.organisation_id FROM app.reporting_roles r WHERE r.role_name = session_user::text);
    END IF;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION tenant.reporting_organisation_id() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenant.reporting_organisation_id() TO engagement_app, engagement_reporting;
