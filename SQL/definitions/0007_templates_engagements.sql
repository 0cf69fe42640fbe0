-- Current definitions (first made by migration 0007_templates_engagements). Edit them here, never in a migration: every
-- definitions file is re-applied whenever one of them changes or a migration runs (SQL/README.md).

-- Custom SQLSTATEs raised by the database. Class EV is invalid input, mapped to -32602 with the constraint
-- name naming the param: EV001 wrong party kind, EV004 new engagements start as drafts. Class ES is a state that
-- forbids the change, mapped to -32007: ES001 illegal lifecycle transition, ES002 activation without a template.
CREATE OR REPLACE FUNCTION app.check_engagement() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'INSERT' AND NEW.status <> 'draft' THEN
        RAISE EXCEPTION 'a new engagement starts as a draft' USING ERRCODE = 'EV004', CONSTRAINT = 'engagements_initial_status';
    END IF;
    IF TG_OP = 'INSERT' OR NEW.customer_party_id IS DISTINCT FROM OLD.customer_party_id THEN
        PERFORM FROM app.parties
        WHERE organisation_id = NEW.organisation_id AND id = NEW.customer_party_id AND kind = 'customer';
        IF NOT FOUND THEN
            -- A missing party is left to the foreign key (same answer as another organisation's party).
            PERFORM FROM app.parties WHERE organisation_id = NEW.organisation_id AND id = NEW.customer_party_id;
            IF FOUND THEN
                RAISE EXCEPTION 'must be a customer party' USING ERRCODE = 'EV001', CONSTRAINT = 'engagements_customer_kind';
            END IF;
        END IF;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.status <> OLD.status THEN
        PERFORM FROM app.lifecycle_transitions WHERE from_status = OLD.status AND to_status = NEW.status;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'cannot go from % to %', OLD.status, NEW.status
                USING ERRCODE = 'ES001', HINT = 'illegal_transition', CONSTRAINT = 'engagements_lifecycle';
        END IF;
        IF OLD.status = 'draft' AND NEW.status = 'active' AND NEW.template_id IS NULL THEN
            RAISE EXCEPTION 'an engagement needs a template before it can be activated'
                USING ERRCODE = 'ES002', HINT = 'template_required', CONSTRAINT = 'engagements_template_required';
        END IF;
        NEW.status_changed_at := now();
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION app.record_engagement_changes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- The organisation itself delivers unless told otherwise.
        INSERT INTO app.engagement_deliverers (organisation_id, engagement_id, party_id, role)
        SELECT NEW.organisation_id, NEW.id, p.id, 'lead' FROM app.parties p
        WHERE p.organisation_id = NEW.organisation_id AND p.kind = 'self';
    ELSIF NEW.status <> OLD.status THEN
        INSERT INTO app.engagement_transitions (organisation_id, engagement_id, from_status, to_status, changed_by, reason)
        VALUES (NEW.organisation_id, NEW.id, OLD.status, NEW.status,
                nullif(current_setting('app.user_id', true), '')::uuid,
                coalesce(current_setting('app.transition_reason', true), ''));
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION app.template_json(t app.engagement_templates) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT jsonb_build_object(
        'id', t.id, 'service_id', t.service_id, 'name', t.name, 'default_kpis', t.default_kpis,
        'checkin_cadence', t.checkin_cadence, 'archived', t.archived_at IS NOT NULL, 'version', t.version,
        'created_at', t.created_at, 'updated_at', t.updated_at)
$$;
REVOKE ALL ON FUNCTION app.template_json(t app.engagement_templates) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.template_json(t app.engagement_templates) TO engagement_app;

-- Cheaper engagement reads, found by the point-read benchmark (Benchmarks/README.md): SQL-language functions
-- with subqueries are not inlined and are planned again on every call, while PL/pgSQL keeps its plans for the
-- session, so the rendering of engagements (every engagement read) is PL/pgSQL. Measured on the server's exact engagement.get SQL: 1,480 → 2,070 pgbench tps.
CREATE OR REPLACE FUNCTION app.engagement_json(e app.engagements) RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
BEGIN
    RETURN (SELECT jsonb_build_object(
        'id', e.id, 'code', e.code, 'name', e.name, 'status', e.status, 'status_changed_at', e.status_changed_at,
        'journey_stage', e.journey_stage, 'journey_stage_changed_at', e.journey_stage_changed_at,
        'service', (SELECT jsonb_build_object('id', s.id, 'code', s.code, 'name', s.name)
                    FROM app.services s WHERE s.organisation_id = e.organisation_id AND s.id = e.service_id),
        'customer', (SELECT jsonb_build_object('id', p.id, 'name', p.name)
                     FROM app.parties p WHERE p.organisation_id = e.organisation_id AND p.id = e.customer_party_id),
        'template_id', e.template_id, 'contract_id', e.contract_id, 'opportunity_id', e.opportunity_id, 'parent_id', e.parent_id,
        'children_count', (SELECT count(*) FROM app.engagements c WHERE c.organisation_id = e.organisation_id AND c.parent_id = e.id),
        'start_date', e.start_date, 'end_date', e.end_date, 'owner_user_id', e.owner_user_id,
        'deliverers', coalesce((
            SELECT jsonb_agg(jsonb_build_object('party_id', d.party_id, 'name', p.name, 'role', d.role) ORDER BY d.role, p.name)
            FROM app.engagement_deliverers d
            JOIN app.parties p ON p.organisation_id = d.organisation_id AND p.id = d.party_id
            WHERE d.organisation_id = e.organisation_id AND d.engagement_id = e.id), '[]'::jsonb),
        'version', e.version, 'created_at', e.created_at, 'updated_at', e.updated_at)
    );
END
$$;
REVOKE ALL ON FUNCTION app.engagement_json(e app.engagements) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.engagement_json(e app.engagements) TO engagement_app;

-- A page of engagements, in order, each as app.engagement_json renders it (a test compares them), in one
-- statement: the per-row function call and its four separately executed lookups become four LATERAL index
-- lookups of one plan (api.list renders the engagements' list pages with it). LATERAL, not joins over the page's
-- ids: a generic plan cannot tell how many rows a page has, and chose to scan the organisation's deliverers.
CREATE OR REPLACE FUNCTION app.engagements_json(p_items app.engagements[]) RETURNS jsonb
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
AS $$
BEGIN
    RETURN (
        SELECT jsonb_agg(jsonb_build_object(
            'id', e.id, 'code', e.code, 'name', e.name, 'status', e.status, 'status_changed_at', e.status_changed_at,
            'journey_stage', e.journey_stage, 'journey_stage_changed_at', e.journey_stage_changed_at,
            'service', service.j, 'customer', customer.j,
            'template_id', e.template_id, 'contract_id', e.contract_id, 'opportunity_id', e.opportunity_id, 'parent_id', e.parent_id,
            'children_count', children.n,
            'start_date', e.start_date, 'end_date', e.end_date, 'owner_user_id', e.owner_user_id,
            'deliverers', coalesce(deliverers.list, '[]'::jsonb),
            'version', e.version, 'created_at', e.created_at, 'updated_at', e.updated_at) ORDER BY e.ordinality)
        FROM unnest(p_items) WITH ORDINALITY AS e
        LEFT JOIN LATERAL (
            SELECT jsonb_build_object('id', s.id, 'code', s.code, 'name', s.name) AS j
            FROM app.services s WHERE s.organisation_id = e.organisation_id AND s.id = e.service_id) service ON true
        LEFT JOIN LATERAL (
            SELECT jsonb_build_object('id', p.id, 'name', p.name) AS j
            FROM app.parties p WHERE p.organisation_id = e.organisation_id AND p.id = e.customer_party_id) customer ON true
        CROSS JOIN LATERAL (
            SELECT count(*) AS n FROM app.engagements c WHERE c.organisation_id = e.organisation_id AND c.parent_id = e.id) children
        CROSS JOIN LATERAL (
            SELECT jsonb_agg(jsonb_build_object('party_id', d.party_id, 'name', p.name, 'role', d.role) ORDER BY d.role, p.name) AS list
            FROM app.engagement_deliverers d
            JOIN app.parties p ON p.organisation_id = d.organisation_id AND p.id = d.party_id
            WHERE d.organisation_id = e.organisation_id AND d.engagement_id = e.id) deliverers);
END
$$;
REVOKE ALL ON FUNCTION app.engagements_json(app.engagements[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.engagements_json(app.engagements[]) TO engagement_app;
