-- Current definitions (first made by migration 0048_distributable_constraints). Edit them here, never in a
-- migration: every definitions file is re-applied whenever one of them changes or a migration runs (SQL/README.md).
--
-- The road onto Citus (issue 16, docs/scaling.md): where every table goes on a distributed cluster, the lint
-- that keeps the schema distributable (run by DistributionLintTests on plain PostgreSQL in CI, and by the
-- distribution step before it starts), and the step itself.

-- A link cleared when what it names is deleted, as `ON DELETE SET NULL (column)` did: a BEFORE DELETE row
-- trigger on the referenced table, bound below with the referencing table and its column. Definer, because a
-- foreign key's action ignores row-level security too (the referencing rows are the same organisation's:
-- OLD.organisation_id). The referencing row's own triggers (version, audit) fire as they did for the action.
CREATE OR REPLACE FUNCTION app.clear_references() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE format('UPDATE %s SET %I = NULL WHERE organisation_id = $1 AND %I = $2', TG_ARGV[0], TG_ARGV[1], TG_ARGV[1])
        USING OLD.organisation_id, OLD.id;
    RETURN OLD;
END
$$;
REVOKE ALL ON FUNCTION app.clear_references() FROM PUBLIC;

DROP TRIGGER IF EXISTS clear_risk_signals ON app.risk_rules;
CREATE TRIGGER clear_risk_signals BEFORE DELETE ON app.risk_rules
    FOR EACH ROW EXECUTE FUNCTION app.clear_references('app.risk_signals', 'rule_id');
DROP TRIGGER IF EXISTS clear_deliverables ON app.commitments;
CREATE TRIGGER clear_deliverables BEFORE DELETE ON app.commitments
    FOR EACH ROW EXECUTE FUNCTION app.clear_references('app.deliverables', 'commitment_id');
DROP TRIGGER IF EXISTS clear_outcomes ON app.engagement_kpis;
CREATE TRIGGER clear_outcomes BEFORE DELETE ON app.engagement_kpis
    FOR EACH ROW EXECUTE FUNCTION app.clear_references('app.outcomes', 'kpi_id');
DROP TRIGGER IF EXISTS clear_follow_ups ON app.touchpoints;
CREATE TRIGGER clear_follow_ups BEFORE DELETE ON app.touchpoints
    FOR EACH ROW EXECUTE FUNCTION app.clear_references('app.touchpoints', 'follow_up_of');
DROP TRIGGER IF EXISTS clear_renewal_signals ON app.opportunities;
CREATE TRIGGER clear_renewal_signals BEFORE DELETE ON app.opportunities
    FOR EACH ROW EXECUTE FUNCTION app.clear_references('app.renewal_signals', 'opportunity_id');

-- Where each table of the service's schemas goes on a Citus cluster:
-- - distributed by organisation, every such table co-located with app.organisations (distributed by its id),
--   so a call's statements, joins and foreign keys stay on the one node holding its organisation;
-- - reference (copied to every node): global rules every organisation shares, and the DBA logins' organisations
--   (read by the shards' policies on every node);
-- - local (the coordinator's own): the coordinator's bookkeeping, never joined with tenant rows.
-- A table not named below is distributed by organisation_id; the lint reports one that cannot be.
CREATE OR REPLACE VIEW meta.distribution_plan AS
SELECT c.oid::regclass AS table_name,
       CASE WHEN c.oid IN ('app.lifecycle_transitions'::regclass, 'app.reporting_roles'::regclass) THEN 'reference'
            WHEN c.oid IN ('app.replica_heartbeat'::regclass, 'rollup.refreshes'::regclass) THEN 'local'
            ELSE 'distributed' END AS placement,
       CASE WHEN c.oid = 'app.organisations'::regclass THEN 'id'
            WHEN c.oid IN ('app.lifecycle_transitions'::regclass, 'app.reporting_roles'::regclass,
                           'app.replica_heartbeat'::regclass, 'rollup.refreshes'::regclass) THEN NULL
            ELSE 'organisation_id' END::name AS distribution_column
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname IN ('app', 'rollup', 'api', 'reporting', 'tenant') AND c.relkind IN ('r', 'p');
REVOKE ALL ON meta.distribution_plan FROM PUBLIC;

-- What would stop the plan on Citus, one row per problem; empty means every table distributes as planned. Each
-- rule is one Citus refuses (measured on Citus 13.2 in issue 16); a new table or constraint that breaks one
-- fails DistributionLintTests in CI, without a Citus cluster.
CREATE OR REPLACE FUNCTION meta.distribution_problems()
RETURNS TABLE (table_name regclass, problem text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH plan AS (
        SELECT p.table_name, p.placement, p.distribution_column, a.attnum AS distribution_attnum, a.attnotnull
        FROM meta.distribution_plan p
        LEFT JOIN pg_catalog.pg_attribute a
            ON a.attrelid = p.table_name AND a.attname = p.distribution_column AND NOT a.attisdropped
    )
    -- The distribution column exists and is never NULL.
    SELECT p.table_name, format('distribution column %s is missing or nullable', p.distribution_column)
    FROM plan p
    WHERE p.placement = 'distributed' AND (p.distribution_attnum IS NULL OR NOT p.attnotnull)
    UNION ALL
    -- Unique keys (primary, unique, exclusion) contain it: a shard can check only its own rows.
    SELECT p.table_name, format('unique index %s lacks %s', i.indexrelid::regclass, p.distribution_column)
    FROM plan p
    JOIN pg_catalog.pg_index i ON i.indrelid = p.table_name
    WHERE p.placement = 'distributed' AND (i.indisunique OR i.indisexclusion)
      AND NOT p.distribution_attnum = ANY (i.indkey::int2[])
    UNION ALL
    -- Foreign keys between distributed tables pair the organisations, so both rows are on one node; a reference
    -- or local table refers to no distributed one.
    SELECT p.table_name, format('foreign key %s does not pair %s with %s of %s', k.conname,
                                p.distribution_column, r.distribution_column, r.table_name)
    FROM plan p
    JOIN pg_catalog.pg_constraint k ON k.conrelid = p.table_name AND k.contype = 'f'
    JOIN plan r ON r.table_name = k.confrelid
    WHERE r.placement = 'distributed'
      AND (p.placement <> 'distributed'
           OR NOT EXISTS (SELECT FROM generate_subscripts(k.conkey, 1) s
                          WHERE k.conkey[s] = p.distribution_attnum AND k.confkey[s] = r.distribution_attnum))
    UNION ALL
    -- Such a key never sets the distribution column (Citus refuses SET NULL and SET DEFAULT on delete even with a
    -- column list that leaves it alone, and every action but NO ACTION and RESTRICT on update).
    SELECT p.table_name, format('foreign key %s: ON DELETE SET NULL/SET DEFAULT or ON UPDATE actions', k.conname)
    FROM plan p
    JOIN pg_catalog.pg_constraint k ON k.conrelid = p.table_name AND k.contype = 'f'
    WHERE p.placement = 'distributed' AND p.distribution_attnum = ANY (k.conkey)
      AND (k.confdeltype IN ('n', 'd') OR k.confupdtype NOT IN ('a', 'r'))
    UNION ALL
    -- Policies on distributed tables hold no sub-select ("Subqueries are not supported in policies on distributed
    -- tables").
    SELECT p.table_name, format('policy %s has a sub-select', pol.polname)
    FROM plan p
    JOIN pg_catalog.pg_policy pol ON pol.polrelid = p.table_name
    WHERE p.placement = 'distributed'
      AND (pol.polqual::text LIKE '%{SUBLINK %' OR pol.polwithcheck::text LIKE '%{SUBLINK %')
    UNION ALL
    -- No materialized views: Citus cannot refresh one over distributed tables.
    SELECT c.oid::regclass, 'materialized view'
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'm' AND n.nspname IN ('app', 'rollup', 'api', 'reporting', 'tenant')
$$;
REVOKE ALL ON FUNCTION meta.distribution_problems() FROM PUBLIC;

-- The distribution step (`engagementctl distribute`, as a superuser on the coordinator, once the workers are
-- added): refuses while the lint finds a problem, then makes every planned table a Citus table: reference tables,
-- app.organisations, and every other tenant table co-located with it. Foreign keys between tenant tables form
-- cycles (an engagement names its opportunity, a won opportunity its engagement), so no order distributes one
-- table after everything it refers to: the step sets those keys aside, distributes, and adds them back (Citus
-- then checks them shard by shard). All in one transaction; re-runnable (a table Citus has is left alone).
CREATE OR REPLACE PROCEDURE meta.distribute(p_shard_count integer DEFAULT 32)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    problems text;
    planned record;
    set_aside record;
    keys text[] := '{}';
    -- What the owner's sessions need on Citus: row triggers run on the shards (all of ours touch only their own
    -- organisation's rows); one connection per worker per transaction, so the schemas, roles and functions Citus
    -- creates on a worker for a table's dependencies are visible to the metadata it records next.
    owner_settings constant text[] := ARRAY['citus.enable_unsafe_triggers', 'on', 'citus.multi_shard_modify_mode', 'sequential'];
BEGIN
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') THEN
        RAISE EXCEPTION 'the citus extension is not installed in database %', current_database()
            USING HINT = 'CREATE EXTENSION citus on the coordinator and the workers, then add the workers';
    END IF;
    SELECT string_agg(format('%s: %s', table_name, problem), '; ') INTO problems FROM meta.distribution_problems();
    IF problems IS NOT NULL THEN
        RAISE EXCEPTION 'the schema does not distribute: %', problems;
    END IF;
    -- For this step, and for the rest of this session (engagementctl re-applies the definitions in it next).
    FOR i IN 1 .. array_length(owner_settings, 1) BY 2 LOOP
        PERFORM set_config(owner_settings[i], owner_settings[i + 1], false);
    END LOOP;

    FOR set_aside IN
        SELECT k.conrelid::regclass AS table_name, k.conname, pg_get_constraintdef(k.oid) AS definition
        FROM pg_constraint k
        JOIN meta.distribution_plan p ON p.table_name = k.conrelid AND p.placement = 'distributed'
        JOIN meta.distribution_plan r ON r.table_name = k.confrelid AND r.placement = 'distributed'
        WHERE k.contype = 'f' AND k.conrelid <> k.confrelid
          AND NOT EXISTS (SELECT FROM pg_dist_partition d WHERE d.logicalrelid = k.conrelid)
    LOOP
        keys := keys || format('ALTER TABLE %s ADD CONSTRAINT %I %s', set_aside.table_name, set_aside.conname, set_aside.definition);
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', set_aside.table_name, set_aside.conname);
    END LOOP;

    FOR planned IN
        SELECT p.table_name, p.placement, p.distribution_column
        FROM meta.distribution_plan p
        WHERE p.placement <> 'local'
          AND NOT EXISTS (SELECT FROM pg_dist_partition d WHERE d.logicalrelid = p.table_name)
        ORDER BY p.placement DESC, p.table_name <> 'app.organisations'::regclass, p.table_name::text
    LOOP
        IF planned.placement = 'reference' THEN
            PERFORM create_reference_table(planned.table_name);
        ELSIF planned.table_name = 'app.organisations'::regclass THEN
            PERFORM create_distributed_table(planned.table_name, planned.distribution_column,
                                             colocate_with => 'none', shard_count => p_shard_count);
        ELSE
            PERFORM create_distributed_table(planned.table_name, planned.distribution_column,
                                             colocate_with => 'app.organisations');
        END IF;
    END LOOP;

    FOR i IN 1 .. coalesce(array_length(keys, 1), 0) LOOP
        EXECUTE keys[i];
    END LOOP;

    -- From now on, in this database: the owner's migrations and definitions may bind triggers on distributed
    -- tables and run their DDL over one connection per worker; the server's calls send their tenant settings on to
    -- the workers (app.begin_call's SET LOCAL form).
    FOR i IN 1 .. array_length(owner_settings, 1) BY 2 LOOP
        EXECUTE format('ALTER ROLE engagement_owner IN DATABASE %I SET %s = %L', current_database(), owner_settings[i], owner_settings[i + 1]);
    END LOOP;
    EXECUTE format('ALTER ROLE engagement_app IN DATABASE %I SET citus.propagate_set_commands = local', current_database());
END
$$;
REVOKE ALL ON PROCEDURE meta.distribute(integer) FROM PUBLIC;

-- What Citus holds of the plan: tables distributed (hash), reference, and the rest (local to the coordinator).
-- PL/pgSQL because pg_dist_partition exists only where the citus extension does.
CREATE OR REPLACE FUNCTION meta.citus_placements(OUT distributed integer, OUT reference integer, OUT local integer)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    SELECT count(*) FILTER (WHERE d.partmethod = 'h'), count(*) FILTER (WHERE d.partmethod = 'n'),
           count(*) FILTER (WHERE d.partmethod IS NULL)
    INTO distributed, reference, local
    FROM meta.distribution_plan p LEFT JOIN pg_dist_partition d ON d.logicalrelid = p.table_name;
END
$$;
REVOKE ALL ON FUNCTION meta.citus_placements() FROM PUBLIC;

-- Tells the listening servers (LISTEN on their own session) that something changed: pg_notify, except on a Citus
-- worker. There a trigger of a distributed table fires on the shard, where no server listens, and a NOTIFY in a
-- transaction that Citus commits on two nodes (two-phase) makes its PREPARE fail ("cannot PREPARE a transaction
-- that has executed LISTEN, UNLISTEN, or NOTIFY"), failing the write. On Citus the servers fall back to their
-- periodic work (rollup refresh, trigger worker poll) until notifications come from an outbox (docs/scaling.md).
CREATE OR REPLACE FUNCTION app.notify_listeners(p_channel text, p_payload text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    on_worker boolean := false;
BEGIN
    -- Dynamic: without Citus the catalog does not exist, and a static query of it would fail to plan.
    IF to_regclass('pg_catalog.pg_dist_local_group') IS NOT NULL THEN
        EXECUTE 'SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_local_group WHERE groupid <> 0)' INTO on_worker;
    END IF;
    IF NOT on_worker THEN
        PERFORM pg_notify(p_channel, p_payload);
    END IF;
END
$$;
REVOKE ALL ON FUNCTION app.notify_listeners(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.notify_listeners(text, text) TO engagement_app;
