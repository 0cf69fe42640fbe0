-- Current definitions (first made by migration 0012_audit_and_policy_helpers). Edit them here, never in a migration: every
-- definitions file is re-applied whenever one of them changes or a migration runs (SQL/README.md).

-- Row-level security of a tenant table starts here: RLS enabled and forced (the owner obeys it too), and every
-- policy the table had dropped, so the policies written after this call are all it has. Used by
-- SQL/definitions/9000_policies.sql, which states every table's policies and is re-applied as a whole.
CREATE OR REPLACE PROCEDURE app.reset_tenant_policies(p_table regclass)
LANGUAGE plpgsql
AS $$
DECLARE
    existing record;
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', p_table);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', p_table);
    FOR existing IN SELECT polname FROM pg_catalog.pg_policy WHERE polrelid = p_table LOOP
        EXECUTE format('DROP POLICY %I ON %s', existing.polname, p_table);
    END LOOP;
END
$$;
REVOKE ALL ON PROCEDURE app.reset_tenant_policies(IN p_table regclass) FROM PUBLIC;

-- The standard policies of a tenant table: everyone of the organisation reads, and `writer` (member, manager
-- or admin) and above write. Replaces whatever policies the table had.
CREATE OR REPLACE PROCEDURE app.apply_tenant_policies(p_table regclass, p_writer text)
LANGUAGE plpgsql
AS $$
BEGIN
    IF app.role_rank(p_writer) < 2 THEN
        RAISE EXCEPTION 'writer must be member, manager or admin, not %', p_writer;
    END IF;
    CALL app.apply_tenant_read_policy(p_table);
    EXECUTE format(
        'CREATE POLICY %I ON %s FOR ALL '
        'USING (organisation_id = app.current_organisation_id() AND app.role_at_least(%L)) '
        'WITH CHECK (organisation_id = app.current_organisation_id() AND app.role_at_least(%L))',
        p_writer || '_write', p_table, p_writer, p_writer);
END
$$;
REVOKE ALL ON PROCEDURE app.apply_tenant_policies(IN p_table regclass, IN p_writer text) FROM PUBLIC;

-- A table clients only read (rows written by definer triggers or the owner): everyone of the organisation
-- reads. Replaces whatever policies the table had.
CREATE OR REPLACE PROCEDURE app.apply_tenant_read_policy(p_table regclass)
LANGUAGE plpgsql
AS $$
BEGIN
    CALL app.reset_tenant_policies(p_table);
    EXECUTE format(
        'CREATE POLICY tenant_read ON %s FOR SELECT USING (organisation_id = app.current_organisation_id())',
        p_table);
END
$$;
REVOKE ALL ON PROCEDURE app.apply_tenant_read_policy(IN p_table regclass) FROM PUBLIC;
