-- Current definitions (first made by migration 0006_services). Edit them here, never in a migration: every
-- definitions file is re-applied whenever one of them changes or a migration runs (SQL/README.md).

CREATE OR REPLACE FUNCTION app.service_json(s app.services) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT jsonb_build_object(
        'id', s.id, 'code', s.code, 'name', s.name, 'description', s.description,
        'owner_user_id', s.owner_user_id, 'active', s.active, 'version', s.version,
        'created_at', s.created_at, 'updated_at', s.updated_at)
$$;
REVOKE ALL ON FUNCTION app.service_json(s app.services) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.service_json(s app.services) TO engagement_app;
