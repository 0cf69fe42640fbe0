-- engagement.*: a service delivered to a customer over a period. Status changes only through
-- engagement.transition; the legal moves, the template needed to activate, the hierarchy's cycles, depth and
-- archived parents are the triggers' rules (0007, 0015), which psql writes obey too.

CREATE OR REPLACE FUNCTION api.engagement_paths() RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT '{"engagements_service_fk": "service_id", "engagements_customer_fk": "customer_party_id",
             "engagements_customer_kind": "customer_party_id", "engagements_template_fk": "template_id",
             "engagements_owner_fk": "owner_user_id", "engagements_dates": "end_date",
             "engagements_contract_fk": "contract_id", "engagements_contract_customer": "contract_id",
             "engagements_code_unique": "code", "engagements_parent_fk": "parent_id",
             "engagements_parent_cycle": "parent_id", "engagements_parent_depth": "parent_id",
             "engagements_opportunity_fk": "opportunity_id", "engagements_opportunity_unique": "opportunity_id",
             "engagements_opportunity_customer": "opportunity_id"}'::jsonb
$$;

-- The organisation delivers a new engagement by default (a trigger adds it as lead); the reply is rendered
-- after the insert, so it shows that deliverer.
CREATE OR REPLACE FUNCTION api.engagement_create(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    reply jsonb := api.replay('engagement.create', p);
    created app.engagements;
    state text;
    failed_constraint text;
    message text;
BEGIN
    IF reply IS NOT NULL THEN
        RETURN reply;
    END IF;
    INSERT INTO app.engagements (organisation_id, service_id, customer_party_id, code, name, template_id, start_date,
                                 end_date, owner_user_id, contract_id, opportunity_id, created_by, updated_by)
    VALUES (app.current_organisation_id(), (p ->> 'service_id')::uuid, (p ->> 'customer_party_id')::uuid,
            p ->> 'code', btrim(p ->> 'name'), (p ->> 'template_id')::uuid, (p ->> 'start_date')::date,
            (p ->> 'end_date')::date, (p ->> 'owner_user_id')::uuid, (p ->> 'contract_id')::uuid,
            (p ->> 'opportunity_id')::uuid, app.current_user_id(), app.current_user_id())
    RETURNING * INTO created;
    RETURN api.remember('engagement.create', p, app.engagement_json(created));
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.engagement_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.engagement_paths());
END
$$;

-- Whatever its status, archived included. The point read the benchmark measures.
CREATE OR REPLACE FUNCTION api.engagement_get(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    item app.engagements;
BEGIN
    SELECT * INTO item FROM app.engagements WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    IF p ->> 'as_of' IS NOT NULL THEN
        RETURN app.engagement_as_of(item, (p ->> 'as_of')::timestamptz);  -- 0340_point_in_time.sql
    END IF;
    RETURN app.engagement_json(item);
END
$$;

-- A versioned change of the engagement `p.id`: `p_change` holds the new column values (the columns absent
-- from it keep theirs). One function for update, transition, set_parent and set_stage, so the version rule is
-- written once. Every change goes through the triggers (lifecycle, hierarchy, audit).
CREATE OR REPLACE FUNCTION api.engagement_change(p jsonb, p_change jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_end_date date := (p_change ->> 'end_date')::date;
    v_start_date date := (p_change ->> 'start_date')::date;
    current_version integer;
    updated app.engagements;
    state text;
    failed_constraint text;
    message text;
BEGIN
    UPDATE app.engagements row SET
        service_id = CASE WHEN p_change ? 'service_id' THEN (p_change ->> 'service_id')::uuid ELSE row.service_id END,
        customer_party_id = CASE WHEN p_change ? 'customer_party_id' THEN (p_change ->> 'customer_party_id')::uuid
                                 ELSE row.customer_party_id END,
        code = CASE WHEN p_change ? 'code' THEN p_change ->> 'code' ELSE row.code END,
        name = CASE WHEN p_change ? 'name' THEN btrim(p_change ->> 'name') ELSE row.name END,
        template_id = CASE WHEN p_change ? 'template_id' THEN (p_change ->> 'template_id')::uuid ELSE row.template_id END,
        start_date = CASE WHEN p_change ? 'start_date' THEN v_start_date ELSE row.start_date END,
        end_date = CASE WHEN p_change ? 'end_date' THEN v_end_date ELSE row.end_date END,
        owner_user_id = CASE WHEN p_change ? 'owner_user_id' THEN (p_change ->> 'owner_user_id')::uuid
                             ELSE row.owner_user_id END,
        contract_id = CASE WHEN p_change ? 'contract_id' THEN (p_change ->> 'contract_id')::uuid ELSE row.contract_id END,
        parent_id = CASE WHEN p_change ? 'parent_id' THEN (p_change ->> 'parent_id')::uuid ELSE row.parent_id END,
        status = CASE WHEN p_change ? 'status' THEN p_change ->> 'status' ELSE row.status END,
        journey_stage = CASE WHEN p_change ? 'journey_stage' THEN p_change ->> 'journey_stage' ELSE row.journey_stage END
    WHERE row.id = (p ->> 'id')::uuid AND row.version = (p ->> 'version')::integer
    RETURNING * INTO updated;
    IF NOT FOUND THEN
        SELECT version INTO current_version FROM app.engagements WHERE id = (p ->> 'id')::uuid;
        PERFORM api.refuse_versioned_write((p ->> 'version')::integer, current_version);
    END IF;
    RETURN app.engagement_json(updated);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.engagement_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.engagement_paths());
END
$$;

-- Details, not status: the fields given (null clears template, dates, owner and contract).
CREATE OR REPLACE FUNCTION api.engagement_update(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN api.engagement_change(p, p - 'id' - 'version' - 'status' - 'parent_id' - 'journey_stage');
END
$$;

-- The reason goes to the setting the transition trigger records, gone at the end of the call.
CREATE OR REPLACE FUNCTION api.engagement_transition(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM set_config('app.transition_reason', coalesce(p ->> 'reason', ''), true);
    RETURN api.engagement_change(p, jsonb_build_object('status', p ->> 'to'));
END
$$;

CREATE OR REPLACE FUNCTION api.engagement_set_parent(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN api.engagement_change(p, jsonb_build_object('parent_id', p -> 'parent_id'));
END
$$;

-- Drafts only: anything that started is kept (complete and archive it instead).
CREATE OR REPLACE FUNCTION api.engagement_delete(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    current app.engagements;
BEGIN
    SELECT * INTO current FROM app.engagements WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    IF current.status <> 'draft' THEN
        RAISE EXCEPTION 'only draft engagements can be deleted; this one is %', current.status
            USING ERRCODE = 'ES009', HINT = 'not_draft';
    END IF;
    DELETE FROM app.engagements WHERE id = current.id AND version = (p ->> 'version')::integer;
    IF NOT FOUND THEN
        PERFORM api.refuse_versioned_write((p ->> 'version')::integer, current.version);
    END IF;
    RETURN jsonb_build_object('id', current.id, 'deleted', true);
END
$$;

-- Archived engagements only when asked for, by status or include_archived.
CREATE OR REPLACE FUNCTION api.engagement_list(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN api.list(p, 'app.engagements', 'app.engagements_json',
        $filter$
            ($1 ->> 'status' IS NULL OR row.status = $1 ->> 'status')
        AND ($1 ->> 'status' IS NOT NULL OR coalesce(($1 ->> 'include_archived')::boolean, false) OR row.status <> 'archived')
        AND ($1 ->> 'service_id' IS NULL OR row.service_id = ($1 ->> 'service_id')::uuid)
        AND ($1 ->> 'customer_party_id' IS NULL OR row.customer_party_id = ($1 ->> 'customer_party_id')::uuid)
        AND ($1 ->> 'owner_user_id' IS NULL OR row.owner_user_id = ($1 ->> 'owner_user_id')::uuid)
        AND ($1 ->> 'starts_from' IS NULL OR row.start_date >= ($1 ->> 'starts_from')::date)
        AND ($1 ->> 'starts_until' IS NULL OR row.start_date <= ($1 ->> 'starts_until')::date)
        AND ($1 ->> 'ends_from' IS NULL OR row.end_date >= ($1 ->> 'ends_from')::date)
        AND ($1 ->> 'ends_until' IS NULL OR row.end_date <= ($1 ->> 'ends_until')::date)
        AND ($1 ->> 'q' IS NULL OR row.name ILIKE api.contains_pattern($1 ->> 'q')
                                OR row.code ILIKE api.contains_pattern($1 ->> 'q'))
        AND ($1 ->> 'portfolio_id' IS NULL OR EXISTS (
                SELECT FROM app.portfolio_services ps
                WHERE ps.organisation_id = row.organisation_id AND ps.service_id = row.service_id
                  AND ps.portfolio_id = ($1 ->> 'portfolio_id')::uuid))
        $filter$,
        '{"name": ["name", "text"], "created_at": ["created_at", "timestamptz"]}');
END
$$;

-- The status history, oldest first.
CREATE OR REPLACE FUNCTION api.engagement_transitions(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    item app.engagements;
BEGIN
    SELECT * INTO item FROM app.engagements WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN coalesce((
        SELECT jsonb_agg(jsonb_build_object(
                   'from', t.from_status, 'to', t.to_status, 'changed_by', t.changed_by,
                   'changed_at', t.changed_at, 'reason', t.reason) ORDER BY t.id)
        FROM app.engagement_transitions t
        WHERE t.organisation_id = item.organisation_id AND t.engagement_id = item.id), '[]'::jsonb);
END
$$;

-- A delivery partner or the organisation itself, with a role; adding one that is there changes its role.
CREATE OR REPLACE FUNCTION api.engagement_add_deliverer(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    item app.engagements;
    party_kind text;
BEGIN
    SELECT * INTO item FROM app.engagements WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    SELECT kind INTO party_kind FROM app.parties WHERE id = (p ->> 'party_id')::uuid;
    IF party_kind IS NULL THEN
        PERFORM api.invalid_param('party_id', 'does not exist');
    ELSIF party_kind NOT IN ('delivery_partner', 'self') THEN
        PERFORM api.invalid_param('party_id', 'must be a delivery partner or the organisation itself');
    END IF;
    INSERT INTO app.engagement_deliverers (organisation_id, engagement_id, party_id, role)
    VALUES (item.organisation_id, item.id, (p ->> 'party_id')::uuid, coalesce(p ->> 'role', 'lead'))
    ON CONFLICT (organisation_id, engagement_id, party_id) DO UPDATE SET role = EXCLUDED.role;
    RETURN app.engagement_json(item);
END
$$;

-- The last deliverer stays (-32007 last_deliverer).
CREATE OR REPLACE FUNCTION api.engagement_remove_deliverer(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    item app.engagements;
    deliverers integer;
BEGIN
    SELECT * INTO item FROM app.engagements WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    IF NOT EXISTS (SELECT FROM app.engagement_deliverers
                   WHERE engagement_id = item.id AND party_id = (p ->> 'party_id')::uuid) THEN
        PERFORM api.invalid_param('party_id', 'does not deliver this engagement');
    END IF;
    SELECT count(*) INTO deliverers FROM app.engagement_deliverers WHERE engagement_id = item.id;
    IF deliverers <= 1 THEN
        RAISE EXCEPTION 'an engagement keeps at least one deliverer' USING ERRCODE = 'ES010', HINT = 'last_deliverer';
    END IF;
    DELETE FROM app.engagement_deliverers WHERE engagement_id = item.id AND party_id = (p ->> 'party_id')::uuid;
    RETURN app.engagement_json(item);
END
$$;

-- Trees: depth first, each node with its depth (0 at the top) and path of ids. The recursive terms filter by
-- the organisation (what Citus needs to keep a recursive query on one shard) and stop at 1000 levels.
CREATE OR REPLACE FUNCTION api.engagement_tree(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    item app.engagements;
BEGIN
    SELECT * INTO item FROM app.engagements WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN coalesce((
        WITH RECURSIVE tree AS (
            SELECT item.id, 0 AS depth, ARRAY[item.id] AS path
            UNION ALL
            SELECT c.id, tree.depth + 1, tree.path || c.id FROM app.engagements c
            JOIN tree ON c.organisation_id = item.organisation_id AND c.parent_id = tree.id
            WHERE tree.depth < 1000)
        SELECT jsonb_agg(jsonb_build_object('id', e.id, 'code', e.code, 'name', e.name, 'status', e.status,
                                            'parent_id', e.parent_id, 'depth', tree.depth, 'path', to_jsonb(tree.path))
                         ORDER BY tree.path)
        FROM tree JOIN app.engagements e ON e.organisation_id = item.organisation_id AND e.id = tree.id
        WHERE p ->> 'status' IS NULL OR e.status = p ->> 'status'), '[]'::jsonb);
END
$$;

-- Parent, grandparent … root, nearest first.
CREATE OR REPLACE FUNCTION api.engagement_ancestors(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    item app.engagements;
BEGIN
    SELECT * INTO item FROM app.engagements WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN coalesce((
        WITH RECURSIVE up AS (
            SELECT item.id, item.parent_id, 0 AS distance
            UNION ALL
            SELECT e.id, e.parent_id, up.distance + 1 FROM app.engagements e
            JOIN up ON e.organisation_id = item.organisation_id AND e.id = up.parent_id
            WHERE up.distance < 1000)
        SELECT jsonb_agg(jsonb_build_object('id', e.id, 'code', e.code, 'name', e.name, 'status', e.status,
                                            'parent_id', e.parent_id, 'distance', up.distance) ORDER BY up.distance)
        FROM up JOIN app.engagements e ON e.organisation_id = item.organisation_id AND e.id = up.id
        WHERE up.distance > 0), '[]'::jsonb);
END
$$;

-- Rollups over the subtree: app.engagement_rollup (0022_rollups_maintained.sql) does the work.
CREATE OR REPLACE FUNCTION api.engagement_rollup(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    reply jsonb := app.engagement_rollup((p ->> 'id')::uuid, coalesce((p ->> 'fresh')::boolean, false), (p ->> 'as_of')::timestamptz);
BEGIN
    IF reply IS NULL THEN
        PERFORM api.not_found();
    END IF;
    RETURN reply;
END
$$;

REVOKE ALL ON FUNCTION api.engagement_paths(), api.engagement_create(jsonb), api.engagement_get(jsonb),
    api.engagement_change(jsonb, jsonb), api.engagement_update(jsonb), api.engagement_transition(jsonb),
    api.engagement_set_parent(jsonb), api.engagement_delete(jsonb), api.engagement_list(jsonb),
    api.engagement_transitions(jsonb), api.engagement_add_deliverer(jsonb), api.engagement_remove_deliverer(jsonb),
    api.engagement_tree(jsonb), api.engagement_ancestors(jsonb), api.engagement_rollup(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.engagement_paths(), api.engagement_create(jsonb), api.engagement_get(jsonb),
    api.engagement_change(jsonb, jsonb), api.engagement_update(jsonb), api.engagement_transition(jsonb),
    api.engagement_set_parent(jsonb), api.engagement_delete(jsonb), api.engagement_list(jsonb),
    api.engagement_transitions(jsonb), api.engagement_add_deliverer(jsonb), api.engagement_remove_deliverer(jsonb),
    api.engagement_tree(jsonb), api.engagement_ancestors(jsonb), api.engagement_rollup(jsonb) TO engagement_app;
