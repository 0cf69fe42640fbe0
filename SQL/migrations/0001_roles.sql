-- Roles of the service. Migrations run as the schema owner (the role that owns every object created below,
-- by convention `engagement_owner`, created by `engagementctl bootstrap` or the dev mode); the server logs in
-- as `engagement_app`, which owns nothing and cannot bypass row-level security.
--
-- Roles are cluster-wide while migrations are per database, so creation tolerates a concurrent creator.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'engagement_app') THEN
        CREATE ROLE engagement_app NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL; -- another database's migration created it at the same moment
END
$$;

-- Refuse to go on if someone gave the application role powers that would defeat tenant isolation.
DO $$
BEGIN
    IF EXISTS (
        SELECT FROM pg_catalog.pg_roles
        WHERE rolname = 'engagement_app' AND (rolsuper OR rolbypassrls OR rolcreaterole OR rolcreatedb)
    ) THEN
        RAISE EXCEPTION 'role engagement_app must be NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB';
    END IF;
END
$$;

-- Only the roles we name may connect to this database.
DO $$
BEGIN
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO engagement_app', current_database());
END
$$;

REVOKE ALL ON SCHEMA public FROM PUBLIC;
