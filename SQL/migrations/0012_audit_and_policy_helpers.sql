-- One audit trigger function for every table, and one helper for the standard tenant policies of new tables.

-- The entity id column is the trigger's first argument (default `id`), so tables without an id of their own
-- (deliverers, portfolio memberships, contract rates) are filed under their parent without a copy of this
-- function. Key hashes never enter the log.
CREATE OR REPLACE FUNCTION app.audit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    row_image jsonb := to_jsonb(coalesce(NEW, OLD));
    id_column text := coalesce(TG_ARGV[0], 'id');
BEGIN
    INSERT INTO app.audit_log (organisation_id, user_id, method, entity, entity_id, action, before, after)
    VALUES (
        (row_image ->> 'organisation_id')::uuid,
        nullif(current_setting('app.user_id', true), '')::uuid,
        coalesce(nullif(current_setting('app.method', true), ''), 'sql'),
        TG_TABLE_NAME,
        (row_image ->> id_column)::uuid,
        lower(TG_OP),
        CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) - 'key_hash' END,
        CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) - 'key_hash' END);
    RETURN NULL;
END
$$;

DROP TRIGGER deliverers_audit ON app.engagement_deliverers;
CREATE TRIGGER deliverers_audit AFTER INSERT OR UPDATE OR DELETE ON app.engagement_deliverers
    FOR EACH ROW EXECUTE FUNCTION app.audit('engagement_id');
DROP TRIGGER portfolio_services_audit ON app.portfolio_services;
CREATE TRIGGER portfolio_services_audit AFTER INSERT OR DELETE ON app.portfolio_services
    FOR EACH ROW EXECUTE FUNCTION app.audit('portfolio_id');
DROP TRIGGER contract_rates_audit ON app.contract_rates;
CREATE TRIGGER contract_rates_audit AFTER INSERT OR UPDATE OR DELETE ON app.contract_rates
    FOR EACH ROW EXECUTE FUNCTION app.audit('contract_id');
DROP FUNCTION app.audit_portfolio_membership();
DROP FUNCTION app.audit_contract_rate();

-- The standard policies of a tenant table: RLS enabled and forced, everyone of the organisation reads, and
-- `writer` (member, manager or admin) and above write. Later migrations call it for each new table:
--   CALL app.apply_tenant_policies('app.check_ins', 'member');
CREATE OR REPLACE PROCEDURE app.apply_tenant_policies(p_table regclass, p_writer text)
LANGUAGE plpgsql
AS $$
BEGIN
    IF app.role_rank(p_writer) < 2 THEN
        RAISE EXCEPTION 'writer must be member, manager or admin, not %', p_writer;
    END IF;
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', p_table);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', p_table);
    EXECUTE format(
        'CREATE POLICY tenant_read ON %s FOR SELECT USING (organisation_id = (SELECT app.current_organisation_id()))',
        p_table);
    EXECUTE format(
        'CREATE POLICY %I ON %s FOR ALL '
        'USING (organisation_id = (SELECT app.current_organisation_id()) AND (SELECT app.role_at_least(%L))) '
        'WITH CHECK (organisation_id = (SELECT app.current_organisation_id()) AND (SELECT app.role_at_least(%L)))',
        p_writer || '_write', p_table, p_writer, p_writer);
END
$$;
REVOKE ALL ON PROCEDURE app.apply_tenant_policies(regclass, text) FROM PUBLIC;
