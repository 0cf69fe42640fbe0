-- Current definitions (first made by migration 0005_parties). Edit them here, never in a migration: every
-- definitions file is re-applied whenever one of them changes or a migration runs (SQL/README.md).

-- The organisation as a party: for every existing organisation now, and for new ones by trigger.
CREATE OR REPLACE FUNCTION app.create_self_party() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO app.parties (organisation_id, kind, name) VALUES (NEW.id, 'self', NEW.name);
    RETURN NULL;
END
$$;

-- The JSON shape of a party in every reply.
CREATE OR REPLACE FUNCTION app.party_json(p app.parties) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT jsonb_build_object(
        'id', p.id, 'kind', p.kind, 'name', p.name, 'external_ref', p.external_ref,
        'archived', p.archived_at IS NOT NULL, 'archived_at', p.archived_at, 'version', p.version,
        'created_at', p.created_at, 'updated_at', p.updated_at)
$$;
REVOKE ALL ON FUNCTION app.party_json(p app.parties) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.party_json(p app.parties) TO engagement_app;
