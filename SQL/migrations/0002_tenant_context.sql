-- The tenant context: one schema for the service's objects and one function every policy calls.
CREATE SCHEMA IF NOT EXISTS app;
REVOKE ALL ON SCHEMA app FROM PUBLIC;
GRANT USAGE ON SCHEMA app TO engagement_app;

-- The organisation whose rows the current transaction may see.
--
-- For the server's role it is the transaction-local setting `app.organisation_id`, which the server sets at
-- the start of every call through app.begin_call() and which disappears at commit or rollback. For any other
-- role it is NULL (no rows), so a psql user cannot widen their view with `SET app.organisation_id`; the
-- reporting roles of a later migration map a login role to its organisation here.
--
-- Policies call it as `(SELECT app.current_organisation_id())`, which PostgreSQL evaluates once per query
-- (an InitPlan) rather than once per row.
CREATE OR REPLACE FUNCTION app.current_organisation_id() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN current_user = 'engagement_app'
            THEN nullif(pg_catalog.current_setting('app.organisation_id', true), '')::uuid
    END
$$;

CREATE OR REPLACE FUNCTION app.current_user_id() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN current_user = 'engagement_app'
            THEN nullif(pg_catalog.current_setting('app.user_id', true), '')::uuid
    END
$$;

-- The caller's role within the organisation: admin, manager, member or viewer.
CREATE OR REPLACE FUNCTION app.current_user_role() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN current_user = 'engagement_app'
            THEN nullif(pg_catalog.current_setting('app.user_role', true), '')
    END
$$;

REVOKE ALL ON FUNCTION app.current_organisation_id(), app.current_user_id(), app.current_user_role() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.current_organisation_id(), app.current_user_id(), app.current_user_role()
    TO engagement_app;
