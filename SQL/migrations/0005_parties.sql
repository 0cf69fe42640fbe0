-- Parties: the organisation's counterparties (customers, delivery partners) and the organisation itself
-- (kind 'self', one per organisation, created automatically: the default deliverer).
CREATE TABLE app.parties (
    organisation_id uuid NOT NULL REFERENCES app.organisations (id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    kind text NOT NULL CHECK (kind IN ('customer', 'delivery_partner', 'self')),
    name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    external_ref text CHECK (length(btrim(external_ref)) BETWEEN 1 AND 100),
    archived_at timestamptz,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by uuid,
    PRIMARY KEY (organisation_id, id),
    CONSTRAINT parties_external_ref_unique UNIQUE (organisation_id, external_ref)
);
-- One 'self' party per organisation.
CREATE UNIQUE INDEX parties_one_self ON app.parties (organisation_id) WHERE kind = 'self';
-- Keyset pagination by name and by creation time, tenant first.
CREATE INDEX parties_by_name ON app.parties (organisation_id, name, id);
CREATE INDEX parties_by_created ON app.parties (organisation_id, created_at, id);

ALTER TABLE app.parties ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.parties FORCE ROW LEVEL SECURITY;
-- Everyone in the organisation reads; managers and admins write. The 'self' party is maintained by the
-- trigger on organisations only: no policy lets a session write it.
CREATE POLICY tenant_read ON app.parties FOR SELECT
    USING (organisation_id = (SELECT app.current_organisation_id()));
CREATE POLICY manager_insert ON app.parties FOR INSERT
    WITH CHECK (organisation_id = (SELECT app.current_organisation_id()) AND (SELECT app.role_at_least('manager'))
                AND kind <> 'self');
CREATE POLICY manager_update ON app.parties FOR UPDATE
    USING (organisation_id = (SELECT app.current_organisation_id()) AND (SELECT app.role_at_least('manager'))
           AND kind <> 'self')
    WITH CHECK (organisation_id = (SELECT app.current_organisation_id()) AND kind <> 'self');
CREATE POLICY manager_delete ON app.parties FOR DELETE
    USING (organisation_id = (SELECT app.current_organisation_id()) AND (SELECT app.role_at_least('manager'))
           AND kind <> 'self');
GRANT SELECT, INSERT, DELETE ON app.parties TO engagement_app;
GRANT UPDATE (kind, name, external_ref, archived_at) ON app.parties TO engagement_app;

CREATE TRIGGER parties_touch BEFORE UPDATE ON app.parties FOR EACH ROW EXECUTE FUNCTION app.touch();
CREATE TRIGGER parties_audit AFTER INSERT OR UPDATE OR DELETE ON app.parties FOR EACH ROW EXECUTE FUNCTION app.audit();

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
CREATE TRIGGER organisations_self_party AFTER INSERT ON app.organisations
    FOR EACH ROW EXECUTE FUNCTION app.create_self_party();
INSERT INTO app.parties (organisation_id, kind, name)
SELECT id, 'self', name FROM app.organisations o
WHERE NOT EXISTS (SELECT FROM app.parties p WHERE p.organisation_id = o.id AND p.kind = 'self');

-- The JSON shape of a party in every reply.
CREATE OR REPLACE FUNCTION app.party_json(p app.parties) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT jsonb_build_object(
        'id', p.id, 'kind', p.kind, 'name', p.name, 'external_ref', p.external_ref,
        'archived', p.archived_at IS NOT NULL, 'archived_at', p.archived_at, 'version', p.version,
        'created_at', p.created_at, 'updated_at', p.updated_at)
$$;
GRANT EXECUTE ON FUNCTION app.party_json(app.parties) TO engagement_app;
