-- Work by type and stage over a subtree (the rollups of 0022_rollups.sql, extended): objectives by status,
-- initiatives by type and stage (with open and overdue), playbook tasks by status (overdue: open tasks of running
-- runs past due; running: runs in progress), action items open and overdue, deliverables by status (overdue: not
-- accepted and past due), SLA credits per currency and breached periods, and adoption per product: for each
-- product, the mean over the subtree's engagements of their latest recorded month's scores (as
-- app.adoption_month_json computes them). Live for one root, or for every engagement of the organisation
-- (p_root_id NULL) for the maintained table rollup.engagement_work, refreshed by app.refresh_rollups with the
-- others (one as_of). Every table is read for p_organisation_id only, as in 0022_rollups.sql.
CREATE OR REPLACE FUNCTION app.rollup_work(p_organisation_id uuid, p_root_id uuid)
RETURNS SETOF app.rollup_work_row
LANGUAGE plpgsql STABLE
SET enable_nestloop = off
SET jit = off
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    RETURN QUERY
    WITH closure AS MATERIALIZED (SELECT * FROM app.rollup_closure(p_organisation_id, p_root_id)),
    scope AS MATERIALIZED (SELECT DISTINCT organisation_id, descendant_id AS engagement_id FROM closure),
    objective_counts AS (
        SELECT organisation_id, ancestor_id, jsonb_object_agg(status, n) AS by_status
        FROM (SELECT c.organisation_id, c.ancestor_id, o.status, count(*) AS n
              FROM closure c
              JOIN app.objectives o ON o.organisation_id = c.organisation_id AND o.engagement_id = c.descendant_id AND o.organisation_id = p_organisation_id
              GROUP BY 1, 2, 3) s
        GROUP BY organisation_id, ancestor_id),
    initiative_stages AS (
        SELECT c.organisation_id, c.ancestor_id, i.type, i.stage, count(*) AS n,
               count(*) FILTER (WHERE i.stage IN ('planned', 'in_progress') AND i.due_date < current_date) AS overdue
        FROM closure c
        JOIN app.initiatives i ON i.organisation_id = c.organisation_id AND i.engagement_id = c.descendant_id AND i.organisation_id = p_organisation_id
        GROUP BY 1, 2, 3, 4),
    initiative_types AS (
        SELECT organisation_id, ancestor_id, type,
               '{"planned": 0, "in_progress": 0, "done": 0, "cancelled": 0}'::jsonb || jsonb_object_agg(stage, n) AS stages,
               sum(n) FILTER (WHERE stage IN ('planned', 'in_progress')) AS open, sum(overdue) AS overdue
        FROM initiative_stages GROUP BY organisation_id, ancestor_id, type),
    initiative_counts AS (
        SELECT organisation_id, ancestor_id, jsonb_object_agg(type, stages) AS by_type_and_stage,
               coalesce(sum(open), 0) AS open, sum(overdue) AS overdue
        FROM initiative_types GROUP BY organisation_id, ancestor_id),
    task_counts AS (
        SELECT c.organisation_id, c.ancestor_id,
               jsonb_build_object('todo', count(*) FILTER (WHERE t.status = 'todo'),
                                  'doing', count(*) FILTER (WHERE t.status = 'doing'),
                                  'done', count(*) FILTER (WHERE t.status = 'done'),
                                  'skipped', count(*) FILTER (WHERE t.status = 'skipped')) AS by_status,
               count(*) FILTER (WHERE r.status = 'running' AND t.status IN ('todo', 'doing') AND t.due_date < current_date) AS overdue,
               count(DISTINCT r.id) FILTER (WHERE r.status = 'running') AS running
        FROM closure c
        JOIN app.playbook_runs r ON r.organisation_id = c.organisation_id AND r.engagement_id = c.descendant_id AND r.organisation_id = p_organisation_id
        JOIN app.playbook_tasks t ON t.organisation_id = r.organisation_id AND t.run_id = r.id AND t.organisation_id = p_organisation_id
        GROUP BY c.organisation_id, c.ancestor_id),
    item_counts AS (
        SELECT c.organisation_id, c.ancestor_id, count(*) FILTER (WHERE a.done_at IS NULL) AS open,
               count(*) FILTER (WHERE a.done_at IS NULL AND a.due_date < current_date) AS overdue
        FROM closure c
        JOIN app.touchpoints t ON t.organisation_id = c.organisation_id AND t.engagement_id = c.descendant_id AND t.organisation_id = p_organisation_id
        JOIN app.action_items a ON a.organisation_id = t.organisation_id AND a.touchpoint_id = t.id AND a.organisation_id = p_organisation_id
        GROUP BY c.organisation_id, c.ancestor_id),
    deliverable_counts AS (
        SELECT c.organisation_id, c.ancestor_id,
               jsonb_build_object('planned', count(*) FILTER (WHERE d.status = 'planned'),
                                  'in_progress', count(*) FILTER (WHERE d.status = 'in_progress'),
                                  'submitted', count(*) FILTER (WHERE d.status = 'submitted'),
                                  'accepted', count(*) FILTER (WHERE d.status = 'accepted'),
                                  'rejected', count(*) FILTER (WHERE d.status = 'rejected')) AS by_status,
               count(*) FILTER (WHERE d.status <> 'accepted' AND d.due_date < current_date) AS overdue
        FROM closure c
        JOIN app.deliverables d ON d.organisation_id = c.organisation_id AND d.engagement_id = c.descendant_id AND d.organisation_id = p_organisation_id
        GROUP BY c.organisation_id, c.ancestor_id),
    sla_credits AS (
        SELECT organisation_id, ancestor_id, jsonb_object_agg(currency, credits) FILTER (WHERE credits > 0) AS credits,
               sum(breaches) AS breaches
        FROM (SELECT c.organisation_id, c.ancestor_id, r.currency, sum(r.credit) AS credits,
                     count(*) FILTER (WHERE r.status = 'breached') AS breaches
              FROM closure c
              JOIN app.sla_results r ON r.organisation_id = c.organisation_id AND r.engagement_id = c.descendant_id AND r.organisation_id = p_organisation_id
              GROUP BY 1, 2, 3) s
        GROUP BY organisation_id, ancestor_id),
    -- Each engagement's latest recorded month per product, scored once.
    latest_months AS (
        SELECT m.organisation_id, m.engagement_id, m.product_id, app.adoption_month_json(m) AS j
        FROM app.adoption_months m
        WHERE m.organisation_id = p_organisation_id AND (m.organisation_id, m.id) IN (
            SELECT DISTINCT ON (x.organisation_id, x.engagement_id, x.product_id) x.organisation_id, x.id
            FROM scope s JOIN app.adoption_months x
              ON x.organisation_id = s.organisation_id AND x.engagement_id = s.engagement_id AND x.organisation_id = p_organisation_id
            ORDER BY x.organisation_id, x.engagement_id, x.product_id, x.period DESC)),
    adoption AS (
        SELECT organisation_id, ancestor_id,
               jsonb_agg(jsonb_build_object('product_id', product_id, 'product', product, 'engagements', engagements,
                                            'licence_utilisation', licence_utilisation,
                                            'capability_coverage', capability_coverage, 'adoption_score', adoption_score)
                         ORDER BY lower(product), product_id) AS products
        FROM (SELECT c.organisation_id, c.ancestor_id, l.product_id, min(l.j ->> 'product') AS product,
                     count(*) AS engagements,
                     round(avg((l.j ->> 'licence_utilisation')::numeric), 2) AS licence_utilisation,
                     round(avg((l.j ->> 'capability_coverage')::numeric), 2) AS capability_coverage,
                     round(avg((l.j ->> 'adoption_score')::numeric), 2) AS adoption_score
              FROM closure c
              JOIN latest_months l ON l.organisation_id = c.organisation_id AND l.engagement_id = c.descendant_id
              GROUP BY c.organisation_id, c.ancestor_id, l.product_id) p
        GROUP BY organisation_id, ancestor_id)
    SELECT a.organisation_id, a.ancestor_id, jsonb_build_object(
        'objectives', jsonb_build_object('by_status',
            '{"not_started": 0, "on_track": 0, "at_risk": 0, "achieved": 0, "missed": 0, "cancelled": 0}'::jsonb
                || coalesce(o.by_status, '{}')),
        'initiatives', jsonb_build_object('by_type_and_stage', coalesce(i.by_type_and_stage, '{}'),
                                          'open', coalesce(i.open, 0), 'overdue', coalesce(i.overdue, 0)),
        'playbook_tasks', jsonb_build_object(
            'by_status', coalesce(t.by_status, '{"todo": 0, "doing": 0, "done": 0, "skipped": 0}'),
            'overdue', coalesce(t.overdue, 0), 'running_playbooks', coalesce(t.running, 0)),
        'action_items', jsonb_build_object('open', coalesce(x.open, 0), 'overdue', coalesce(x.overdue, 0)),
        'deliverables', jsonb_build_object(
            'by_status', coalesce(v.by_status, '{"planned": 0, "in_progress": 0, "submitted": 0, "accepted": 0, "rejected": 0}'),
            'overdue', coalesce(v.overdue, 0)),
        'sla', jsonb_build_object('credits', coalesce(l.credits, '{}'), 'breached_periods', coalesce(l.breaches, 0)),
        'adoption', coalesce(d.products, '[]'))
    FROM (SELECT DISTINCT organisation_id, ancestor_id FROM closure) a
    LEFT JOIN objective_counts o ON o.organisation_id = a.organisation_id AND o.ancestor_id = a.ancestor_id
    LEFT JOIN initiative_counts i ON i.organisation_id = a.organisation_id AND i.ancestor_id = a.ancestor_id
    LEFT JOIN task_counts t ON t.organisation_id = a.organisation_id AND t.ancestor_id = a.ancestor_id
    LEFT JOIN item_counts x ON x.organisation_id = a.organisation_id AND x.ancestor_id = a.ancestor_id
    LEFT JOIN adoption d ON d.organisation_id = a.organisation_id AND d.ancestor_id = a.ancestor_id
    LEFT JOIN deliverable_counts v ON v.organisation_id = a.organisation_id AND v.ancestor_id = a.ancestor_id
    LEFT JOIN sla_credits l ON l.organisation_id = a.organisation_id AND l.ancestor_id = a.ancestor_id;
END
$$;

-- Tenant-filtered, for the server's role.
CREATE OR REPLACE VIEW app.engagement_rollup_work WITH (security_barrier) AS
SELECT * FROM rollup.engagement_work WHERE organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON app.engagement_rollup_work TO engagement_app;

-- Writes to the work's inputs mark the rollups stale, as 0022's bindings do for the others.
DROP TRIGGER IF EXISTS objectives_rollup_stale ON app.objectives;
CREATE TRIGGER objectives_rollup_stale AFTER INSERT OR UPDATE OR DELETE ON app.objectives
    FOR EACH STATEMENT EXECUTE FUNCTION app.notify_rollup_stale();
DROP TRIGGER IF EXISTS initiatives_rollup_stale ON app.initiatives;
CREATE TRIGGER initiatives_rollup_stale AFTER INSERT OR UPDATE OR DELETE ON app.initiatives
    FOR EACH STATEMENT EXECUTE FUNCTION app.notify_rollup_stale();
DROP TRIGGER IF EXISTS playbook_tasks_rollup_stale ON app.playbook_tasks;
CREATE TRIGGER playbook_tasks_rollup_stale AFTER INSERT OR UPDATE OR DELETE ON app.playbook_tasks
    FOR EACH STATEMENT EXECUTE FUNCTION app.notify_rollup_stale();
DROP TRIGGER IF EXISTS playbook_runs_rollup_stale ON app.playbook_runs;
CREATE TRIGGER playbook_runs_rollup_stale AFTER INSERT OR UPDATE OR DELETE ON app.playbook_runs
    FOR EACH STATEMENT EXECUTE FUNCTION app.notify_rollup_stale();
DROP TRIGGER IF EXISTS action_items_rollup_stale ON app.action_items;
CREATE TRIGGER action_items_rollup_stale AFTER INSERT OR UPDATE OR DELETE ON app.action_items
    FOR EACH STATEMENT EXECUTE FUNCTION app.notify_rollup_stale();
DROP TRIGGER IF EXISTS adoption_months_rollup_stale ON app.adoption_months;
CREATE TRIGGER adoption_months_rollup_stale AFTER INSERT OR UPDATE OR DELETE ON app.adoption_months
    FOR EACH STATEMENT EXECUTE FUNCTION app.notify_rollup_stale();
DROP TRIGGER IF EXISTS capability_usage_rollup_stale ON app.capability_usage;
CREATE TRIGGER capability_usage_rollup_stale AFTER INSERT OR UPDATE OR DELETE ON app.capability_usage
    FOR EACH STATEMENT EXECUTE FUNCTION app.notify_rollup_stale();

-- For DBAs: the maintained work rollup, as columns.
CREATE OR REPLACE VIEW reporting.engagement_rollup_work WITH (security_barrier) AS
SELECT w.engagement_id, e.code AS engagement_code, e.parent_id,
       w.work -> 'objectives' -> 'by_status' AS objectives_by_status,
       (w.work -> 'objectives' -> 'by_status' ->> 'at_risk')::integer AS objectives_at_risk,
       w.work -> 'initiatives' -> 'by_type_and_stage' AS initiatives_by_type_and_stage,
       (w.work -> 'initiatives' ->> 'open')::integer AS initiatives_open,
       (w.work -> 'initiatives' ->> 'overdue')::integer AS initiatives_overdue,
       w.work -> 'playbook_tasks' -> 'by_status' AS playbook_tasks_by_status,
       (w.work -> 'playbook_tasks' ->> 'overdue')::integer AS playbook_tasks_overdue,
       (w.work -> 'playbook_tasks' ->> 'running_playbooks')::integer AS running_playbooks,
       (w.work -> 'action_items' ->> 'open')::integer AS action_items_open,
       (w.work -> 'action_items' ->> 'overdue')::integer AS action_items_overdue,
       w.work -> 'adoption' AS adoption_by_product, s.as_of,
       w.work -> 'deliverables' -> 'by_status' AS deliverables_by_status,
       (w.work -> 'deliverables' ->> 'overdue')::integer AS deliverables_overdue,
       w.work -> 'sla' -> 'credits' AS sla_credits, (w.work -> 'sla' ->> 'breached_periods')::integer AS sla_breached_periods
FROM rollup.engagement_work w
JOIN app.engagements e ON e.organisation_id = w.organisation_id AND e.id = w.engagement_id
LEFT JOIN rollup.engagement_summary s ON s.organisation_id = w.organisation_id AND s.engagement_id = w.engagement_id
WHERE w.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.engagement_rollup_work TO engagement_reporting;
