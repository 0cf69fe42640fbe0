-- Work by type and stage in the hierarchy rollups: over each engagement's subtree, objectives by status,
-- initiatives by type and stage, playbook tasks by status, open and overdue action items, and adoption per
-- product. Computed by app.rollup_work (SQL/definitions/0250_rollup_work.sql), live or from the materialized
-- view below, refreshed with the other rollups.
CREATE TYPE app.rollup_work_row AS (
    organisation_id uuid,
    engagement_id uuid,
    work jsonb
);

-- A first body so the materialized view can be made; the definitions replace it in the same run, and the next
-- refresh fills the view.
CREATE FUNCTION app.rollup_work(p_organisation_id uuid, p_root_id uuid) RETURNS SETOF app.rollup_work_row
LANGUAGE sql STABLE
AS $$ SELECT NULL::uuid, NULL::uuid, NULL::jsonb WHERE false $$;

CREATE MATERIALIZED VIEW rollup.engagement_work AS SELECT * FROM app.rollup_work(NULL, NULL);
CREATE UNIQUE INDEX engagement_work_key ON rollup.engagement_work (organisation_id, engagement_id);
