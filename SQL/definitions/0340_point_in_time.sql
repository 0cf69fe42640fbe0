-- Point-in-time reads: what an engagement or a contract was at `as_of`, from the audit log's after-images (every
-- write of these tables and their children is audited, psql's too). A row's image is the latest audit entry at
-- or before as_of; laid over the current row, so a column added since the image was taken reads its current
-- value. Child sets (an engagement's deliverers, a contract's rates and SLA terms) are rebuilt the same way:
-- the latest image per child at as_of, unless that was its deletion. Names of related entities (customer,
-- service) and counts (children, engagements) are current; the reply's `sources` says which part came from where.

-- The latest audit entry of one row at or before p_as_of (NULL: none, the row did not exist yet).
CREATE OR REPLACE FUNCTION app.audit_image(p_organisation_id uuid, p_entity text, p_entity_id uuid, p_as_of timestamptz)
RETURNS app.audit_log
LANGUAGE sql STABLE
AS $$
    SELECT a.* FROM app.audit_log a
    WHERE a.organisation_id = p_organisation_id AND a.entity = p_entity AND a.entity_id = p_entity_id AND a.at <= p_as_of
    ORDER BY a.at DESC, a.id DESC LIMIT 1
$$;

-- The images of the children filed under one entity id (deliverers under their engagement, rates under their
-- contract), one per child key, as they were at p_as_of.
CREATE OR REPLACE FUNCTION app.audit_children(p_organisation_id uuid, p_entity text, p_entity_id uuid, p_key text,
                                              p_as_of timestamptz)
RETURNS SETOF jsonb
LANGUAGE sql STABLE
AS $$
    SELECT x.after FROM (
        SELECT DISTINCT ON (coalesce(a.after, a.before) ->> p_key) a.after, a.action
        FROM app.audit_log a
        WHERE a.organisation_id = p_organisation_id AND a.entity = p_entity AND a.entity_id = p_entity_id AND a.at <= p_as_of
        ORDER BY coalesce(a.after, a.before) ->> p_key, a.at DESC, a.id DESC) x
    WHERE x.action <> 'delete'
$$;

-- An engagement at p_as_of, rendered like engagement.get (-32602 params.as_of before it existed).
CREATE OR REPLACE FUNCTION app.engagement_as_of(p_current app.engagements, p_as_of timestamptz) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    image app.audit_log := app.audit_image(p_current.organisation_id, 'engagements', p_current.id, p_as_of);
    past app.engagements;
BEGIN
    IF image.id IS NULL THEN
        PERFORM api.invalid_param('as_of', 'is before the engagement existed');
    END IF;
    past := jsonb_populate_record(p_current, image.after);
    RETURN app.engagement_json(past) || jsonb_build_object(
        'deliverers', coalesce((
            SELECT jsonb_agg(jsonb_build_object('party_id', d ->> 'party_id', 'name', p.name, 'role', d ->> 'role')
                             ORDER BY d ->> 'role', p.name)
            FROM app.audit_children(p_current.organisation_id, 'engagement_deliverers', p_current.id, 'party_id', p_as_of) d
            JOIN app.parties p ON p.organisation_id = p_current.organisation_id AND p.id = (d ->> 'party_id')::uuid), '[]'::jsonb),
        'as_of', p_as_of,
        'sources', jsonb_build_object('engagement', 'audit_log', 'deliverers', 'audit_log',
                                      'service_customer_and_party_names', 'current', 'children_count', 'current'));
END
$$;

-- A contract at p_as_of, rendered like contract.get.
CREATE OR REPLACE FUNCTION app.contract_as_of(p_current app.contracts, p_as_of timestamptz) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    image app.audit_log := app.audit_image(p_current.organisation_id, 'contracts', p_current.id, p_as_of);
    past app.contracts;
BEGIN
    IF image.id IS NULL THEN
        PERFORM api.invalid_param('as_of', 'is before the contract existed');
    END IF;
    past := jsonb_populate_record(p_current, image.after);
    RETURN app.contract_json(past) || jsonb_build_object(
        'rates', coalesce((
            SELECT jsonb_agg(jsonb_build_object('rate_key', r ->> 'rate_key', 'rate_per_hour', (r ->> 'rate_per_hour')::numeric)
                             ORDER BY r ->> 'rate_key')
            FROM app.audit_children(p_current.organisation_id, 'contract_rates', p_current.id, 'rate_key', p_as_of) r), '[]'::jsonb),
        'sla_terms', coalesce((
            SELECT jsonb_agg(jsonb_build_object('id', t.after ->> 'id', 'metric', t.after ->> 'metric',
                                                'target', (t.after ->> 'target')::numeric, 'comparison', t.after ->> 'comparison',
                                                'measurement_period', t.after ->> 'measurement_period', 'penalty', t.after -> 'penalty',
                                                'exclusions', t.after ->> 'exclusions')
                             ORDER BY t.after ->> 'metric', t.after ->> 'id')
            FROM (SELECT DISTINCT ON (a.entity_id) a.after, a.action FROM app.audit_log a
                  WHERE a.organisation_id = p_current.organisation_id AND a.entity = 'contract_sla_terms' AND a.at <= p_as_of
                    AND coalesce(a.after, a.before) ->> 'contract_id' = p_current.id::text
                  ORDER BY a.entity_id, a.at DESC, a.id DESC) t
            WHERE t.action <> 'delete'), '[]'::jsonb),
        'as_of', p_as_of,
        'sources', jsonb_build_object('contract', 'audit_log', 'rates', 'audit_log', 'sla_terms', 'audit_log',
                                      'customer_name', 'current', 'engagement_count', 'current'));
END
$$;

REVOKE ALL ON FUNCTION app.audit_image(uuid, text, uuid, timestamptz), app.audit_children(uuid, text, uuid, text, timestamptz),
    app.engagement_as_of(app.engagements, timestamptz), app.contract_as_of(app.contracts, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.audit_image(uuid, text, uuid, timestamptz), app.audit_children(uuid, text, uuid, text, timestamptz),
    app.engagement_as_of(app.engagements, timestamptz), app.contract_as_of(app.contracts, timestamptz) TO engagement_app;
