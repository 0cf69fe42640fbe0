-- opportunity.*: the pipeline in front of delivery. The rules are the triggers' (0400_opportunities.sql); these
-- functions add the params' paths, the versions and idempotency, and opportunity.win's one transaction.

CREATE OR REPLACE FUNCTION api.opportunity_paths() RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT '{"opportunities_customer_fk": "customer_party_id", "opportunities_customer_kind": "customer_party_id",
             "opportunities_customer_links": "customer_party_id", "opportunities_stage_fk": "stage",
             "opportunities_stage_open": "stage", "opportunities_owner_fk": "owner_user_id",
             "opportunities_renews": "kind", "opportunities_renews_engagement_fk": "renews_engagement_id",
             "opportunities_renews_engagement_customer": "renews_engagement_id",
             "opportunities_renews_contract_fk": "renews_contract_id",
             "opportunities_renews_contract_customer": "renews_contract_id",
             "opportunity_contracts_contract_fk": "contract_id", "opportunity_contracts_customer": "contract_id",
             "opportunity_contracts_contract_unique": "contract_id", "opportunity_contracts_pkey": "contract_id",
             "pipeline_stages_name": "stages", "pipeline_stages_closed": "stages"}'::jsonb
$$;

-- Links one contract; refused params keep the caller's path (contract_ids[2] in opportunity.create).
CREATE OR REPLACE FUNCTION api.link_opportunity_contract(p_opportunity app.opportunities, p_contract uuid, p_path text)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    state text;
    failed_constraint text;
    message text;
BEGIN
    INSERT INTO app.opportunity_contracts (organisation_id, opportunity_id, contract_id)
    VALUES (p_opportunity.organisation_id, p_opportunity.id, p_contract);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.opportunity_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, jsonb_build_object(failed_constraint, p_path));
END
$$;

-- Starts in the given open stage or the organisation's first; contract_ids are linked at once.
CREATE OR REPLACE FUNCTION api.opportunity_create(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    reply jsonb := api.replay('opportunity.create', p);
    created app.opportunities;
    contract record;
    state text;
    failed_constraint text;
    message text;
BEGIN
    IF reply IS NOT NULL THEN
        RETURN reply;
    END IF;
    BEGIN
        INSERT INTO app.opportunities (organisation_id, customer_party_id, kind, renews_engagement_id, renews_contract_id, title,
                                       value, currency, expected_close_date, owner_user_id, stage, created_by, updated_by)
        VALUES (app.current_organisation_id(), (p ->> 'customer_party_id')::uuid, coalesce(p ->> 'kind', 'new'),
                (p ->> 'renews_engagement_id')::uuid, (p ->> 'renews_contract_id')::uuid, btrim(p ->> 'title'),
                (p ->> 'value')::numeric, p ->> 'currency', (p ->> 'expected_close_date')::date, (p ->> 'owner_user_id')::uuid,
                coalesce(p ->> 'stage', (SELECT s.name FROM app.pipeline_stages s WHERE s.outcome = 'open'
                                         ORDER BY s.position, s.name LIMIT 1)),
                app.current_user_id(), app.current_user_id())
        RETURNING * INTO created;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
        IF NOT api.opportunity_paths() ? failed_constraint THEN
            RAISE;
        END IF;
        PERFORM api.reraise(state, failed_constraint, message, api.opportunity_paths());
    END;
    FOR contract IN SELECT value::uuid AS id, ordinality - 1 AS index
                    FROM jsonb_array_elements_text(coalesce(p -> 'contract_ids', '[]')) WITH ORDINALITY LOOP
        PERFORM api.link_opportunity_contract(created, contract.id, format('contract_ids[%s]', contract.index));
    END LOOP;
    RETURN api.remember('opportunity.create', p, app.opportunity_json(created));
END
$$;

-- The opportunity `p.id` names, or not found.
CREATE OR REPLACE FUNCTION api.opportunity_for(p jsonb) RETURNS app.opportunities
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    item app.opportunities;
BEGIN
    SELECT * INTO item FROM app.opportunities WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN item;
END
$$;

CREATE OR REPLACE FUNCTION api.opportunity_get(p jsonb) RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT app.opportunity_json(api.opportunity_for(p)) $$;

-- A versioned change of the columns in p_change (absent: unchanged; JSON null: cleared).
CREATE OR REPLACE FUNCTION api.opportunity_change(p jsonb, p_change jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_expected_close_date date := (p_change ->> 'expected_close_date')::date;
    current_version integer;
    updated app.opportunities;
    state text;
    failed_constraint text;
    message text;
BEGIN
    UPDATE app.opportunities row SET
        title = coalesce(btrim(p_change ->> 'title'), row.title),
        value = coalesce((p_change ->> 'value')::numeric, row.value),
        currency = coalesce(p_change ->> 'currency', row.currency),
        expected_close_date = CASE WHEN p_change ? 'expected_close_date' THEN v_expected_close_date
                                   ELSE row.expected_close_date END,
        owner_user_id = CASE WHEN p_change ? 'owner_user_id' THEN (p_change ->> 'owner_user_id')::uuid ELSE row.owner_user_id END,
        stage = coalesce(p_change ->> 'stage', row.stage),
        lost_reason = coalesce(p_change ->> 'lost_reason', row.lost_reason)
    WHERE row.id = (p ->> 'id')::uuid AND row.version = (p ->> 'version')::integer
    RETURNING * INTO updated;
    IF NOT FOUND THEN
        SELECT version INTO current_version FROM app.opportunities WHERE id = (p ->> 'id')::uuid;
        PERFORM api.refuse_versioned_write((p ->> 'version')::integer, current_version);
    END IF;
    RETURN app.opportunity_json(updated);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.opportunity_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.opportunity_paths());
END
$$;

CREATE OR REPLACE FUNCTION api.opportunity_update(p jsonb) RETURNS jsonb
LANGUAGE sql
AS $$
    SELECT api.opportunity_change(p, p - 'id' - 'version' - 'stage' - 'lost_reason')
$$;

-- Another open stage, or closed_lost with the reason; closed_won only through opportunity.win.
CREATE OR REPLACE FUNCTION api.opportunity_move(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    IF EXISTS (SELECT FROM app.opportunities o WHERE o.id = (p ->> 'id')::uuid AND o.stage = p ->> 'stage') THEN
        PERFORM api.invalid_param('stage', 'is the current stage');
    END IF;
    IF p ->> 'stage' = 'closed_won' THEN
        PERFORM api.invalid_param('stage', 'an opportunity is won through opportunity.win, which creates its engagement');
    END IF;
    PERFORM set_config('app.stage_reason', coalesce(p ->> 'reason', ''), true);
    RETURN api.opportunity_change(p, jsonb_build_object('stage', p ->> 'stage')
        || CASE WHEN p ->> 'stage' = 'closed_lost' THEN jsonb_build_object('lost_reason', coalesce(p ->> 'reason', '')) ELSE '{}' END);
END
$$;

-- Closes the opportunity as won and gives it its engagement, in one transaction: links `contract_id` if given,
-- moves the stage (the triggers check the contract rule), then either attaches `engagement_id` (an engagement of
-- the customer without an opportunity) or creates one from `engagement` ({template_id, code, name, dates, owner};
-- a renewal's template defaults to the renewed engagement's). The new engagement's contract: `contract_id`, or
-- the only linked one; its dates default to that contract's. The opportunity is locked first, so of two
-- concurrent wins one goes through and the other finds a stale version.
CREATE OR REPLACE FUNCTION api.opportunity_win(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    reply jsonb := api.replay('opportunity.win', p);
    opportunity app.opportunities;
    spec jsonb := coalesce(p -> 'engagement', '{}');
    template app.engagement_templates;
    contract app.contracts;
    engagement app.engagements;
    engagement_paths jsonb;
    state text;
    failed_constraint text;
    message text;
BEGIN
    IF reply IS NOT NULL THEN
        RETURN reply;
    END IF;
    SELECT * INTO opportunity FROM app.opportunities WHERE id = (p ->> 'id')::uuid FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    IF opportunity.version <> (p ->> 'version')::integer THEN
        PERFORM api.refuse_versioned_write((p ->> 'version')::integer, opportunity.version);
    END IF;
    IF (p ? 'engagement') = (p ? 'engagement_id') THEN
        PERFORM api.invalid_param('engagement', 'give either engagement (to create one) or engagement_id (to attach one)');
    END IF;
    IF p ->> 'contract_id' IS NOT NULL AND NOT EXISTS (
        SELECT FROM app.opportunity_contracts l WHERE l.opportunity_id = opportunity.id AND l.contract_id = (p ->> 'contract_id')::uuid) THEN
        PERFORM api.link_opportunity_contract(opportunity, (p ->> 'contract_id')::uuid, 'contract_id');
    END IF;
    PERFORM set_config('app.stage_reason', coalesce(p ->> 'reason', ''), true);
    PERFORM api.opportunity_change(p, '{"stage": "closed_won"}');
    SELECT * INTO opportunity FROM app.opportunities WHERE id = (p ->> 'id')::uuid;
    SELECT c.* INTO contract FROM app.contracts c
    WHERE c.id = coalesce((p ->> 'contract_id')::uuid,
                          (SELECT min(l.contract_id::text)::uuid FROM app.opportunity_contracts l WHERE l.opportunity_id = opportunity.id
                           HAVING count(*) = 1));
    BEGIN
        IF p ? 'engagement_id' THEN
            UPDATE app.engagements SET opportunity_id = opportunity.id
            WHERE id = (p ->> 'engagement_id')::uuid AND customer_party_id = opportunity.customer_party_id
              AND opportunity_id IS NULL
            RETURNING * INTO engagement;
            IF NOT FOUND THEN
                PERFORM api.invalid_param('engagement_id', 'is not an engagement of the opportunity''s customer without an opportunity');
            END IF;
        ELSE
            SELECT * INTO template FROM app.engagement_templates t
            WHERE t.id = coalesce((spec ->> 'template_id')::uuid,
                                  (SELECT e.template_id FROM app.engagements e WHERE e.id = opportunity.renews_engagement_id));
            IF NOT FOUND THEN
                PERFORM api.invalid_param('engagement.template_id',
                    CASE WHEN spec ? 'template_id' THEN 'does not exist' ELSE 'is required (the renewed engagement has no template)' END);
            END IF;
            INSERT INTO app.engagements (organisation_id, service_id, customer_party_id, code, name, template_id, start_date,
                                         end_date, owner_user_id, contract_id, opportunity_id, created_by, updated_by)
            VALUES (opportunity.organisation_id, template.service_id, opportunity.customer_party_id, spec ->> 'code',
                    coalesce(btrim(spec ->> 'name'), opportunity.title), template.id,
                    coalesce((spec ->> 'start_date')::date, contract.start_date), coalesce((spec ->> 'end_date')::date, contract.end_date),
                    coalesce((spec ->> 'owner_user_id')::uuid, opportunity.owner_user_id), contract.id, opportunity.id,
                    app.current_user_id(), app.current_user_id())
            RETURNING * INTO engagement;
        END IF;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
        SELECT jsonb_object_agg(key, CASE WHEN p ? 'engagement_id' THEN 'engagement_id' ELSE 'engagement.' || value END)
               || '{"engagements_opportunity_unique": "id"}'
        INTO engagement_paths FROM jsonb_each_text(api.engagement_paths());
        IF NOT engagement_paths ? failed_constraint THEN
            RAISE;
        END IF;
        PERFORM api.reraise(state, failed_constraint, message, engagement_paths);
    END;
    RETURN api.remember('opportunity.win', p, jsonb_build_object(
        'opportunity', app.opportunity_json(opportunity), 'engagement', app.engagement_json(engagement)));
END
$$;

CREATE OR REPLACE FUNCTION api.opportunity_link_contract(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    item app.opportunities := api.opportunity_for(p);
BEGIN
    PERFORM api.link_opportunity_contract(item, (p ->> 'contract_id')::uuid, 'contract_id');
    RETURN app.opportunity_json(item);
END
$$;

-- The last contract of a won new opportunity stays (checked at commit: ES017 contract_required).
CREATE OR REPLACE FUNCTION api.opportunity_unlink_contract(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    item app.opportunities := api.opportunity_for(p);
BEGIN
    DELETE FROM app.opportunity_contracts WHERE opportunity_id = item.id AND contract_id = (p ->> 'contract_id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.invalid_param('contract_id', 'is not linked to the opportunity');
    END IF;
    SET CONSTRAINTS app.opportunity_contracts_won_check IMMEDIATE;
    RETURN app.opportunity_json(item);
END
$$;

-- A won opportunity's engagement refers to it: deleting it is refused (in use).
CREATE OR REPLACE FUNCTION api.opportunity_delete(p jsonb) RETURNS jsonb
LANGUAGE sql
AS $$ SELECT api.versioned_delete(p, 'app.opportunities') $$;

CREATE OR REPLACE FUNCTION api.opportunity_list(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN api.list(p, 'app.opportunities', 'app.opportunity_json',
        $filter$
            ($1 ->> 'customer_party_id' IS NULL OR row.customer_party_id = ($1 ->> 'customer_party_id')::uuid)
        AND ($1 ->> 'kind' IS NULL OR row.kind = $1 ->> 'kind')
        AND ($1 ->> 'stage' IS NULL OR row.stage = $1 ->> 'stage')
        AND ($1 ->> 'owner_user_id' IS NULL OR row.owner_user_id = ($1 ->> 'owner_user_id')::uuid)
        AND ($1 ->> 'open' IS NULL OR (row.closed_at IS NULL) = ($1 ->> 'open')::boolean)
        AND ($1 ->> 'closing_before' IS NULL OR row.expected_close_date < ($1 ->> 'closing_before')::date)
        $filter$,
        '{"name": ["title", "text"], "created_at": ["created_at", "timestamptz"], "value": ["value", "numeric"]}', 'created_at');
END
$$;

-- The stages it went through, oldest first, with the time spent in each.
CREATE OR REPLACE FUNCTION api.opportunity_history(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    item app.opportunities := api.opportunity_for(p);
BEGIN
    RETURN jsonb_build_object('stage', item.stage, 'changes', coalesce((
        SELECT jsonb_agg(jsonb_build_object('from', c.from_stage, 'to', c.to_stage, 'changed_by', c.changed_by,
                                            'changed_at', c.changed_at, 'reason', c.reason,
                                            'days_in_previous', round(extract(epoch FROM c.changed_at - c.previous_at) / 86400, 2))
                         ORDER BY c.id)
        FROM (SELECT s.*, lag(s.changed_at) OVER (ORDER BY s.id) AS previous_at FROM app.opportunity_stage_changes s
              WHERE s.organisation_id = item.organisation_id AND s.opportunity_id = item.id) c), '[]'::jsonb));
END
$$;

REVOKE ALL ON FUNCTION api.opportunity_paths(), api.link_opportunity_contract(app.opportunities, uuid, text),
    api.opportunity_create(jsonb), api.opportunity_get(jsonb), api.opportunity_change(jsonb, jsonb), api.opportunity_update(jsonb),
    api.opportunity_move(jsonb), api.opportunity_win(jsonb), api.opportunity_link_contract(jsonb),
    api.opportunity_unlink_contract(jsonb), api.opportunity_delete(jsonb), api.opportunity_list(jsonb),
    api.opportunity_history(jsonb), api.opportunity_for(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.opportunity_paths(), api.link_opportunity_contract(app.opportunities, uuid, text),
    api.opportunity_create(jsonb), api.opportunity_get(jsonb), api.opportunity_change(jsonb, jsonb), api.opportunity_update(jsonb),
    api.opportunity_move(jsonb), api.opportunity_win(jsonb), api.opportunity_link_contract(jsonb),
    api.opportunity_unlink_contract(jsonb), api.opportunity_delete(jsonb), api.opportunity_list(jsonb),
    api.opportunity_history(jsonb), api.opportunity_for(jsonb) TO engagement_app;

-- For DBAs: conversion and velocity are queries over these two.
CREATE OR REPLACE VIEW reporting.opportunities WITH (security_barrier) AS
SELECT o.id, o.kind, o.customer_party_id, p.name AS customer_name, o.title, o.value, o.currency, o.expected_close_date,
       o.owner_user_id, u.email AS owner_email, o.stage, s.position AS stage_position, s.outcome, o.stage_changed_at,
       o.closed_at, o.lost_reason, o.renews_engagement_id, re.code AS renews_engagement_code, o.renews_contract_id,
       rc.reference AS renews_contract_reference, e.id AS engagement_id, e.code AS engagement_code,
       (SELECT count(*) FROM app.opportunity_contracts l WHERE l.organisation_id = o.organisation_id AND l.opportunity_id = o.id) AS contract_count,
       o.created_at, o.updated_at
FROM app.opportunities o
JOIN app.parties p ON p.organisation_id = o.organisation_id AND p.id = o.customer_party_id
JOIN app.pipeline_stages s ON s.organisation_id = o.organisation_id AND s.name = o.stage
LEFT JOIN app.users u ON u.organisation_id = o.organisation_id AND u.id = o.owner_user_id
LEFT JOIN app.engagements re ON re.organisation_id = o.organisation_id AND re.id = o.renews_engagement_id
LEFT JOIN app.contracts rc ON rc.organisation_id = o.organisation_id AND rc.id = o.renews_contract_id
LEFT JOIN app.engagements e ON e.organisation_id = o.organisation_id AND e.opportunity_id = o.id
WHERE o.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.opportunities TO engagement_reporting;

-- Each stage entered, with how long the opportunity had been in the stage it left.
CREATE OR REPLACE VIEW reporting.opportunity_stage_changes WITH (security_barrier) AS
SELECT c.id, c.opportunity_id, o.title AS opportunity_title, c.from_stage, c.to_stage, c.changed_by, u.email AS changed_by_email,
       c.changed_at, c.changed_at - lag(c.changed_at) OVER (PARTITION BY c.opportunity_id ORDER BY c.id) AS time_in_previous_stage,
       c.reason
FROM app.opportunity_stage_changes c
JOIN app.opportunities o ON o.organisation_id = c.organisation_id AND o.id = c.opportunity_id
LEFT JOIN app.users u ON u.organisation_id = c.organisation_id AND u.id = c.changed_by
WHERE c.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.opportunity_stage_changes TO engagement_reporting;
