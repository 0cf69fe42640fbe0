-- The tenant context becomes inlinable, found by the point-read benchmark (Benchmarks/README.md).
--
-- Every policy and tenant-filtered view calls app.current_organisation_id(). Since 0008 it was SECURITY DEFINER
-- with a SET search_path, which PostgreSQL never inlines: every query that touches a tenant table paid for a
-- SQL-function call (its body planned again each time) plus a GUC save and restore. A point read runs five such
-- queries. Here the function becomes a plain SQL expression that the planner inlines into each query:
--
-- - for the server's login, the transaction-local setting made by app.begin_call (as before);
-- - for anyone else, tenant.reporting_organisation_id(), the one SECURITY DEFINER part: the organisation a
--   reporting login is mapped to, or NULL.
--
-- Why a schema of its own: an inlined body is parsed with the caller's privileges, so the caller needs USAGE on
-- every schema it names. Reporting logins have no USAGE on schema app (which holds functions they must not
-- even see), so the definer helper lives in schema `tenant`, which holds nothing else and which both client
-- roles may use.
--
-- Why every name is schema-qualified, operators included: the body is parsed under the caller's search_path.
-- Client roles can create no objects anywhere (0001 revokes CREATE on public and TEMP on the database), and
-- qualifying the operator, the cast and the functions keeps it so even if that ever changes: a caller who
-- could redefine `=` for `name` could otherwise take the server's branch and choose its organisation.
--
-- Still keyed on session_user (the authenticated login, unchanged by SET ROLE or SECURITY DEFINER functions),
-- so it means the same inside the owner's functions as in a client's query.

CREATE SCHEMA IF NOT EXISTS tenant;
REVOKE ALL ON SCHEMA tenant FROM PUBLIC;
GRANT USAGE ON SCHEMA tenant TO engagement_app, engagement_reporting;

-- The organisation of a reporting login; NULL for anyone else. Definer so that callers need no access to the
-- mapping table. The server's role may execute it too: PostgreSQL checks EXECUTE on every function of an
-- expression when it starts executing it, including the branch of the CASE below it never takes.
CREATE OR REPLACE FUNCTION tenant.reporting_organisation_id() RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN pg_has_role(session_user, 'engagement_reporting', 'MEMBER')
            THEN (SELECT r.organisation_id FROM app.reporting_roles r WHERE r.role_name = session_user::text)
    END
$$;
REVOKE ALL ON FUNCTION tenant.reporting_organisation_id() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenant.reporting_organisation_id() TO engagement_app, engagement_reporting;

-- Inlinable: LANGUAGE sql, one expression, no sub-select, not SECURITY DEFINER, no SET clause, STABLE.
-- CREATE OR REPLACE resets the attributes 0008 gave it (SECURITY DEFINER and the SET clause).
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
