-- Current definitions (first made by migration 0015_engagement_hierarchy). Edit them here, never in a migration: every
-- definitions file is re-applied whenever one of them changes or a migration runs (SQL/README.md).

-- The deepest a tree may be (a root has depth 1). Default 8; the operator may change it per database:
--   ALTER DATABASE engagement SET engagement.max_hierarchy_depth = 10;
CREATE OR REPLACE FUNCTION app.max_hierarchy_depth() RETURNS integer
LANGUAGE sql STABLE
AS $$
    SELECT coalesce(nullif(current_setting('engagement.max_hierarchy_depth', true), '')::integer, 8)
$$;

-- Rejects cycles and trees that would grow too deep, for API and psql writes alike.
--
-- Concurrency: two moves can each be legal alone and form a cycle together (X under Y while Y goes under X).
-- Every parent change therefore takes a transaction-level advisory lock per organisation first; the second
-- mover waits for the first to commit. The checks below are separate statements of a volatile function, so
-- under READ COMMITTED each takes a fresh snapshot after the lock was granted and sees the first move.
CREATE OR REPLACE FUNCTION app.check_hierarchy() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    parent_depth integer;
    subtree_height integer;
    parent_status text;
BEGIN
    IF NEW.parent_id IS NULL OR (TG_OP = 'UPDATE' AND NEW.parent_id IS NOT DISTINCT FROM OLD.parent_id) THEN
        RETURN NEW;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('engagement-hierarchy:' || NEW.organisation_id::text, 0));
    IF NEW.status = 'archived' THEN
        RAISE EXCEPTION 'archived engagements keep their place in the hierarchy'
            USING ERRCODE = 'ES004', HINT = 'archived_in_hierarchy', CONSTRAINT = 'engagements_parent_archived';
    END IF;
    SELECT status INTO parent_status FROM app.engagements WHERE organisation_id = NEW.organisation_id AND id = NEW.parent_id;
    IF parent_status = 'archived' THEN
        RAISE EXCEPTION 'an archived engagement takes no new children'
            USING ERRCODE = 'ES004', HINT = 'archived_in_hierarchy', CONSTRAINT = 'engagements_parent_archived';
    END IF;
    -- The new parent's ancestors, itself included: NEW must not be among them.
    WITH RECURSIVE up AS (
        SELECT id, parent_id, 1 AS depth FROM app.engagements
        WHERE organisation_id = NEW.organisation_id AND id = NEW.parent_id
        UNION ALL
        SELECT e.id, e.parent_id, up.depth + 1 FROM app.engagements e
        JOIN up ON e.organisation_id = NEW.organisation_id AND e.id = up.parent_id
        WHERE up.depth <= 1000  -- a bound even if the data were already corrupt
    )
    SELECT CASE WHEN bool_or(id = NEW.id) THEN -1 ELSE max(depth) END INTO parent_depth FROM up;
    IF parent_depth = -1 THEN
        RAISE EXCEPTION 'an engagement cannot be placed under itself or its own descendants'
            USING ERRCODE = 'EV006', CONSTRAINT = 'engagements_parent_cycle';
    END IF;
    -- Levels of NEW's own subtree (1 for a leaf) go below the parent's depth.
    WITH RECURSIVE down AS (
        SELECT id, 1 AS height FROM app.engagements WHERE organisation_id = NEW.organisation_id AND id = NEW.id
        UNION ALL
        SELECT e.id, down.height + 1 FROM app.engagements e
        JOIN down ON e.organisation_id = NEW.organisation_id AND e.parent_id = down.id
        WHERE down.height <= 1000
    )
    SELECT coalesce(max(height), 1) INTO subtree_height FROM down;
    IF coalesce(parent_depth, 0) + subtree_height > app.max_hierarchy_depth() THEN
        RAISE EXCEPTION 'the hierarchy would be deeper than % levels', app.max_hierarchy_depth()
            USING ERRCODE = 'EV007', CONSTRAINT = 'engagements_parent_depth';
    END IF;
    RETURN NEW;
END
$$;

-- Every engagement with its root, depth (a root is 1) and path of ids from the root, for tenant DBAs.
CREATE OR REPLACE VIEW reporting.engagement_tree WITH (security_barrier) AS
WITH RECURSIVE tree AS (
    SELECT e.organisation_id, e.id, e.id AS root_id, 1 AS depth, ARRAY[e.id] AS path
    FROM app.engagements e
    WHERE e.organisation_id = (SELECT app.current_organisation_id()) AND e.parent_id IS NULL
    UNION ALL
    SELECT c.organisation_id, c.id, tree.root_id, tree.depth + 1, tree.path || c.id
    FROM app.engagements c
    JOIN tree ON c.organisation_id = tree.organisation_id AND c.parent_id = tree.id
)
SELECT tree.id, e.code, e.name, e.status, e.parent_id, tree.root_id, r.code AS root_code, tree.depth, tree.path
FROM tree
JOIN app.engagements e ON e.organisation_id = tree.organisation_id AND e.id = tree.id
JOIN app.engagements r ON r.organisation_id = tree.organisation_id AND r.id = tree.root_id;
GRANT SELECT ON reporting.engagement_tree TO engagement_reporting;
