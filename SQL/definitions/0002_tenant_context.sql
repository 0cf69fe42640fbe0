-- Current definitions (first made by migration 0002_tenant_context). Edit them here, never in a migration: every
-- definitions file is re-applied whenever one of them changes or a migration runs (SQL/README.md).

CREATE OR REPLACE FUNCTION app.current_user_id() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN current_user = 'engagement_app'
            THEN nullif(pg_catalog.current_setting('app.user_id', true), '')::uuid
    END
$$;
REVOKE ALL ON FUNCTION app.current_user_id() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.current_user_id() TO engagement_app;

-- The caller's role within the organisation: admin, manager, member or viewer.
CREATE OR REPLACE FUNCTION app.current_user_role() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN current_user = 'engagement_app'
            THEN nullif(pg_catalog.current_setting('app.user_role', true), '')
    END
$$;
REVOKE ALL ON FUNCTION app.current_user_role() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.current_user_role() TO engagement_app;

-- Inlinable: LANGUAGE sql, one expression, no sub-select, not SECURITY DEFINER, no SET clause, STABLE.
-- The reporting login's mapping is the one privileged part: tenant.reporting_organisation_id().
CREATE OR REPLACE FUNCTION app.current_organisation_id() RETURNS uuid
LANGUAGE sql STABLE SECURITY INVOKER PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN session_user OPERATOR(pg_catalog.=) 'engagement_app'::pg_catalog.name THEN
            CASE WHEN pg_catalog.length(pg_catalog.current_setting('app.organisation_id', true))
                      OPERATOR(pg_catalog.>) 0
                THEN pg_catalog.current_setting('app.organisation_id', true)::pg_catalog.uuid
            END
        ELSE tenant.reporting_organisation_id()
    END
$$;
REVOKE ALL ON FUNCTION app.current_organisation_id() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.current_organisation_id() TO engagement_app, engagement_reporting;
