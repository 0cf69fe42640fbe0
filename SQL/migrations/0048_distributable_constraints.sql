-- Every tenant table distributable by organisation on Citus (issue 16; docs/scaling.md). The plan and its lint
-- are meta.distribution_plan and meta.distribution_problems() (SQL/definitions/0048_distribution.sql); these
-- are the constraints the lint found that Citus refuses.

-- 1. Unique across the deployment: Citus enforces a unique key only when it contains the distribution column.
-- api_keys.key_id: authentication finds a key by its public id alone (session.authenticate, once per
-- connection); it stays indexed for that. A key id is 64 random bits drawn by the server, and the key is accepted
-- only when the SHA-256 of the whole key matches, so two organisations sharing a key id could not use each
-- other's key; every call after authentication passes the organisation to app.begin_call, which finds the key by
-- the unique (organisation_id, key_id). begin_call takes it as a fourth parameter (the definitions re-make it).
ALTER TABLE app.api_keys DROP CONSTRAINT api_keys_key_id_key;
ALTER TABLE app.api_keys ADD CONSTRAINT api_keys_organisation_key_id_key UNIQUE (organisation_id, key_id);
CREATE INDEX api_keys_key_id ON app.api_keys (key_id);
DROP FUNCTION IF EXISTS app.begin_call(text, text, text);  -- made by the definitions, not by a migration

-- 2. app.reporting_roles becomes a reference table (copied to every node): the policies on the workers' shards
-- look a DBA login's organisation up in it, and on the coordinator Citus evaluates every function of an INSERT's
-- values before routing it, the definer lookup of tenant.reporting_organisation_id() included, which may not read
-- a distributed table's placement the same transaction wrote as another role. A reference table keeps its global
-- UNIQUE (role_name) but cannot refer to a distributed table: the foreign key to app.organisations goes.
-- Organisations are never deleted, and rows are written only by app.create_reporting_role_for, with the
-- organisation engagementctl looked up or the server's own.
ALTER TABLE app.reporting_roles DROP CONSTRAINT reporting_roles_organisation_id_fkey;

-- 3. ON DELETE SET NULL (column): Citus refuses SET NULL on a foreign key that contains the distribution column,
-- even with PostgreSQL 15's column list that leaves it alone. The keys become NO ACTION, and a BEFORE DELETE
-- trigger on the referenced table clears the link first (app.clear_references, bound in the definitions),
-- as the foreign key's action did: the referencing row stays, without the link.
ALTER TABLE app.risk_signals DROP CONSTRAINT risk_signals_rule_fk,
    ADD CONSTRAINT risk_signals_rule_fk FOREIGN KEY (organisation_id, rule_id) REFERENCES app.risk_rules (organisation_id, id);
ALTER TABLE app.deliverables DROP CONSTRAINT deliverables_commitment_fk,
    ADD CONSTRAINT deliverables_commitment_fk FOREIGN KEY (organisation_id, commitment_id) REFERENCES app.commitments (organisation_id, id);
ALTER TABLE app.outcomes DROP CONSTRAINT outcomes_kpi_fk,
    ADD CONSTRAINT outcomes_kpi_fk FOREIGN KEY (organisation_id, engagement_id, kpi_id)
        REFERENCES app.engagement_kpis (organisation_id, engagement_id, id);
ALTER TABLE app.touchpoints DROP CONSTRAINT touchpoints_follow_up_fk,
    ADD CONSTRAINT touchpoints_follow_up_fk FOREIGN KEY (organisation_id, follow_up_of) REFERENCES app.touchpoints (organisation_id, id);
ALTER TABLE app.renewal_signals DROP CONSTRAINT renewal_signals_opportunity_fk,
    ADD CONSTRAINT renewal_signals_opportunity_fk FOREIGN KEY (organisation_id, opportunity_id)
        REFERENCES app.opportunities (organisation_id, id);
