-- Every policy of every tenant table, in one place. Re-applied as a whole with the other definitions: each
-- table's block starts from no policies (app.reset_tenant_policies, or the helpers that call it), so what is
-- written here is exactly what the database enforces. RLS is enabled and FORCEd on each table (the owner
-- obeys it too; engagement_owner has BYPASSRLS for operator tasks).
--
-- No sub-selects (Citus refuses them in policies on distributed tables; meta.distribution_problems() checks):
-- app.current_organisation_id() and app.role_at_least() are inlined, so on an index of organisation_id the tenant
-- is an index condition, evaluated once per scan (measured side by side: Benchmarks/README.md, "Policies without
-- sub-selects").

-- The standard shape (app.apply_tenant_policies): everyone of the organisation reads; the named role and
-- above write.
CALL app.apply_tenant_policies('app.attribution_periods', 'member');
CALL app.apply_tenant_policies('app.capacity_entries', 'member');
CALL app.apply_tenant_policies('app.check_ins', 'member');
CALL app.apply_tenant_policies('app.contract_rates', 'manager');
CALL app.apply_tenant_policies('app.contract_sla_terms', 'manager');
CALL app.apply_tenant_policies('app.contracts', 'manager');
CALL app.apply_tenant_policies('app.engagement_deliverers', 'member');
CALL app.apply_tenant_policies('app.engagement_kpis', 'member');
CALL app.apply_tenant_policies('app.engagement_templates', 'manager');
CALL app.apply_tenant_policies('app.engagements', 'member');
CALL app.apply_tenant_policies('app.finance_lines', 'member');
CALL app.apply_tenant_policies('app.health_models', 'manager');
CALL app.apply_tenant_policies('app.kpi_values', 'member');
CALL app.apply_tenant_policies('app.portfolio_services', 'manager');
CALL app.apply_tenant_policies('app.portfolios', 'manager');
CALL app.apply_tenant_policies('app.risk_rules', 'manager');
CALL app.apply_tenant_policies('app.risk_signals', 'member');
CALL app.apply_tenant_policies('app.stage_health_models', 'manager');
CALL app.apply_tenant_policies('app.touchpoints', 'member');
CALL app.apply_tenant_policies('app.action_items', 'member');
CALL app.apply_tenant_policies('app.touchpoint_kinds', 'manager');
CALL app.apply_tenant_policies('app.playbooks', 'manager');
CALL app.apply_tenant_policies('app.playbook_runs', 'member');
CALL app.apply_tenant_policies('app.playbook_tasks', 'member');
CALL app.apply_tenant_policies('app.products', 'manager');
CALL app.apply_tenant_policies('app.capabilities', 'manager');
CALL app.apply_tenant_policies('app.adoption_months', 'member');
CALL app.apply_tenant_policies('app.capability_usage', 'member');
CALL app.apply_tenant_policies('app.initiative_types', 'manager');
CALL app.apply_tenant_policies('app.blueprints', 'manager');
CALL app.apply_tenant_policies('app.blueprint_applications', 'member');
CALL app.apply_tenant_policies('app.objectives', 'member');
CALL app.apply_tenant_policies('app.outcomes', 'member');
CALL app.apply_tenant_policies('app.initiatives', 'member');
CALL app.apply_tenant_policies('app.reminders', 'member');
CALL app.apply_tenant_policies('app.trigger_rules', 'manager');
CALL app.apply_tenant_policies('app.pipeline_stages', 'manager');
CALL app.apply_tenant_policies('app.opportunities', 'member');
CALL app.apply_tenant_policies('app.opportunity_contracts', 'member');
CALL app.apply_tenant_policies('app.commercial_settings', 'manager');
CALL app.apply_tenant_policies('app.projects', 'member');
CALL app.apply_tenant_policies('app.deliverables', 'member');
CALL app.apply_tenant_policies('app.commitments', 'manager');
CALL app.apply_tenant_policies('app.commitment_engagements', 'manager');
CALL app.apply_tenant_policies('app.sla_exclusions', 'manager');

-- Read-only to every client: rows are written by definer triggers or functions, or by the owner.
CALL app.apply_tenant_read_policy('app.audit_log');
CALL app.apply_tenant_read_policy('app.check_in_revisions');
CALL app.apply_tenant_read_policy('app.trigger_firings');
CALL app.apply_tenant_read_policy('app.engagement_stage_changes');
CALL app.apply_tenant_read_policy('app.opportunity_stage_changes');
CALL app.apply_tenant_read_policy('app.sla_results');
CALL app.apply_tenant_read_policy('app.renewal_signals');
CALL app.apply_tenant_read_policy('app.engagement_transitions');
CALL app.apply_tenant_read_policy('app.health_scores');
CALL app.apply_tenant_read_policy('app.reporting_roles');
CALL app.apply_tenant_read_policy('app.risk_rule_states');

-- The maintained rollups: no client role is granted them (the app.engagement_rollup_* and reporting views read
-- them as their owner, filtered by organisation); the policy holds should a grant ever be added.
CALL app.apply_tenant_read_policy('rollup.engagement_summary');
CALL app.apply_tenant_read_policy('rollup.engagement_monthly');
CALL app.apply_tenant_read_policy('rollup.engagement_finance');
CALL app.apply_tenant_read_policy('rollup.engagement_work');

-- The timeline is written by the database; clients add only notes (members and above), in their own name.
CALL app.apply_tenant_read_policy('app.timeline_entries');
CREATE POLICY member_notes ON app.timeline_entries FOR INSERT
    WITH CHECK (organisation_id = app.current_organisation_id() AND app.role_at_least('member')
                AND entry_type = 'note' AND actor_user_id = app.current_user_id());

-- Admins issue keys and revoke or relabel them; nobody deletes one (revoked keys stay for the audit).
CALL app.reset_tenant_policies('app.api_keys');
CREATE POLICY admin_insert ON app.api_keys FOR INSERT
    WITH CHECK (organisation_id = app.current_organisation_id() AND app.role_at_least('admin'));
CREATE POLICY admin_update ON app.api_keys FOR UPDATE
    USING (organisation_id = app.current_organisation_id() AND app.role_at_least('admin'))
    WITH CHECK (organisation_id = app.current_organisation_id());
CREATE POLICY tenant_read ON app.api_keys FOR SELECT
    USING (organisation_id = app.current_organisation_id());

-- Any role that may call a write may remember its reply.
CALL app.reset_tenant_policies('app.idempotency_keys');
CREATE POLICY tenant_isolation ON app.idempotency_keys FOR ALL
    USING (organisation_id = app.current_organisation_id())
    WITH CHECK (organisation_id = app.current_organisation_id());

-- Staged imports: each user stages, reads and commits only their own.
CALL app.reset_tenant_policies('app.import_batches');
CREATE POLICY own_imports ON app.import_batches FOR ALL
    USING (organisation_id = app.current_organisation_id() AND staged_by = app.current_user_id())
    WITH CHECK (organisation_id = app.current_organisation_id() AND staged_by = app.current_user_id());

-- An organisation sees its own row only; clients never write it (engagementctl does, as the owner).
CALL app.reset_tenant_policies('app.organisations');
CREATE POLICY tenant_isolation ON app.organisations FOR ALL
    USING (id = app.current_organisation_id());

-- Managers write parties; the organisation's own party (kind 'self') is maintained from the organisation
-- and no client may create, change or delete one.
CALL app.reset_tenant_policies('app.parties');
CREATE POLICY manager_delete ON app.parties FOR DELETE
    USING (organisation_id = app.current_organisation_id() AND app.role_at_least('manager') AND (kind <> 'self'));
CREATE POLICY manager_insert ON app.parties FOR INSERT
    WITH CHECK (organisation_id = app.current_organisation_id() AND app.role_at_least('manager') AND (kind <> 'self'));
CREATE POLICY manager_update ON app.parties FOR UPDATE
    USING (organisation_id = app.current_organisation_id() AND app.role_at_least('manager') AND (kind <> 'self'))
    WITH CHECK (organisation_id = app.current_organisation_id() AND (kind <> 'self'));
CREATE POLICY tenant_read ON app.parties FOR SELECT
    USING (organisation_id = app.current_organisation_id());

-- Managers write services.
CALL app.reset_tenant_policies('app.services');
CREATE POLICY manager_delete ON app.services FOR DELETE
    USING (organisation_id = app.current_organisation_id() AND app.role_at_least('manager'));
CREATE POLICY manager_insert ON app.services FOR INSERT
    WITH CHECK (organisation_id = app.current_organisation_id() AND app.role_at_least('manager'));
CREATE POLICY manager_update ON app.services FOR UPDATE
    USING (organisation_id = app.current_organisation_id() AND app.role_at_least('manager'))
    WITH CHECK (organisation_id = app.current_organisation_id());
CREATE POLICY tenant_read ON app.services FOR SELECT
    USING (organisation_id = app.current_organisation_id());

-- Admins add and change users; nobody deletes one (they are disabled).
CALL app.reset_tenant_policies('app.users');
CREATE POLICY admin_insert ON app.users FOR INSERT
    WITH CHECK (organisation_id = app.current_organisation_id() AND app.role_at_least('admin'));
CREATE POLICY admin_update ON app.users FOR UPDATE
    USING (organisation_id = app.current_organisation_id() AND app.role_at_least('admin'))
    WITH CHECK (organisation_id = app.current_organisation_id());
CREATE POLICY tenant_read ON app.users FOR SELECT
    USING (organisation_id = app.current_organisation_id());
