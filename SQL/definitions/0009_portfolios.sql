-- Current definitions (first made by migration 0009_portfolios). Edit them here, never in a migration: every
-- definitions file is re-applied whenever one of them changes or a migration runs (SQL/README.md).

CREATE OR REPLACE FUNCTION app.portfolio_json(p app.portfolios) RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
BEGIN
    RETURN (
        SELECT jsonb_build_object(
            'id', p.id, 'name', p.name, 'description', p.description, 'archived', p.archived_at IS NOT NULL,
            'services', coalesce((
                SELECT jsonb_agg(jsonb_build_object('id', s.id, 'code', s.code, 'name', s.name) ORDER BY s.code)
                FROM app.portfolio_services ps
                JOIN app.services s ON s.organisation_id = ps.organisation_id AND s.id = ps.service_id
                WHERE ps.organisation_id = p.organisation_id AND ps.portfolio_id = p.id), '[]'::jsonb),
            'version', p.version, 'created_at', p.created_at, 'updated_at', p.updated_at));
END
$$;
REVOKE ALL ON FUNCTION app.portfolio_json(p app.portfolios) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.portfolio_json(p app.portfolios) TO engagement_app;

CREATE OR REPLACE VIEW reporting.portfolios WITH (security_barrier) AS
SELECT p.id, p.name, p.description, p.archived_at, p.version, p.created_at, p.updated_at
FROM app.portfolios p
WHERE p.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.portfolios TO engagement_reporting;

CREATE OR REPLACE VIEW reporting.portfolio_services WITH (security_barrier) AS
SELECT ps.portfolio_id, p.name AS portfolio_name, ps.service_id, s.code AS service_code, s.name AS service_name,
       ps.added_at
FROM app.portfolio_services ps
JOIN app.portfolios p ON p.organisation_id = ps.organisation_id AND p.id = ps.portfolio_id
JOIN app.services s ON s.organisation_id = ps.organisation_id AND s.id = ps.service_id
WHERE ps.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.portfolio_services TO engagement_reporting;
