-- The outbox worker and the trigger_rule.* / trigger.firings methods (rules and matching: 0320_trigger_rules.sql).

-- One action of a firing, through the same api functions the methods use, in the firing's organisation (the
-- worker sets the tenant context; the caller is "the system": no user). Returns what it did.
CREATE OR REPLACE FUNCTION app.perform_trigger_action(p_firing app.trigger_firings, p_rule app.trigger_rules, p_action jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    reply jsonb;
    engagement app.engagements;
BEGIN
    SELECT * INTO engagement FROM app.engagements e WHERE e.organisation_id = p_firing.organisation_id AND e.id = p_firing.engagement_id;
    CASE p_action ->> 'action'
    WHEN 'raise_risk' THEN
        reply := api.risk_raise(jsonb_build_object(
            'engagement_id', engagement.id, 'title', p_action ->> 'title',
            'description', format('Raised by trigger rule "%s" on %s.', p_rule.name, p_firing.event),
            'probability', coalesce(p_action ->> 'probability', 'high'), 'impact', coalesce(p_action ->> 'impact', 'medium'),
            'category', coalesce(p_action ->> 'category', 'delivery')));
    WHEN 'start_playbook' THEN
        reply := api.playbook_start(jsonb_build_object('playbook_id', p_action ->> 'playbook_id', 'engagement_id', engagement.id));
    WHEN 'schedule_touchpoint' THEN
        reply := api.touchpoint_create(jsonb_build_object(
            'engagement_id', engagement.id, 'kind', p_action ->> 'kind', 'title', p_action ->> 'title',
            'scheduled_at', now() + make_interval(days => coalesce((p_action ->> 'in_days')::integer, 7))));
    WHEN 'create_reminder' THEN
        reply := api.reminder_create(jsonb_build_object(
            'engagement_id', engagement.id, 'subject_kind', 'free', 'title', p_action ->> 'title',
            'due_at', now() + make_interval(days => coalesce((p_action ->> 'in_days')::integer, 0)),
            'recipient_user_id', coalesce(p_action ->> 'recipient_user_id', p_rule.created_by::text)));
    WHEN 'set_stage' THEN
        reply := api.engagement_set_stage(jsonb_build_object(
            'id', engagement.id, 'version', engagement.version, 'stage', p_action ->> 'stage',
            'reason', format('trigger rule "%s"', p_rule.name)));
    WHEN 'propose_renewal' THEN
        reply := api.engagement_propose_renewal(jsonb_build_object('id', engagement.id));
    WHEN 'notify' THEN
        INSERT INTO app.timeline_entries (organisation_id, engagement_id, entry_type, title, body, entity, entity_id, details)
        VALUES (p_firing.organisation_id, p_firing.engagement_id, 'trigger_fired', left(p_rule.name || ': ' || (p_action ->> 'message'), 500),
                '', 'trigger_firings', p_firing.id, jsonb_build_object('rule_id', p_rule.id, 'event', p_firing.event));
        reply := jsonb_build_object('notified', true);
    END CASE;
    RETURN jsonb_build_object('action', p_action ->> 'action', 'outcome', 'done', 'id', reply -> 'id');
EXCEPTION WHEN OTHERS THEN
    -- Refusals that will not change on retry are the outcome; anything else fails the firing (retried).
    IF SQLSTATE ~ '^E[VSNCF]' OR SQLSTATE LIKE '23%' THEN
        RETURN jsonb_build_object('action', p_action ->> 'action', 'outcome', 'skipped', 'reason', SQLERRM,
                                  'code', coalesce(nullif(SQLSTATE, ''), 'error'));
    END IF;
    RAISE;
END
$$;

-- Performs due firings (at most p_limit), oldest first, each in a subtransaction with marking it done; several
-- workers skip each other's rows. Returns the number done; failures are retried with backoff.
CREATE OR REPLACE FUNCTION app.perform_trigger_firings(p_limit integer DEFAULT 100) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '2s'
AS $$
DECLARE
    firing app.trigger_firings;
    rule app.trigger_rules;
    action jsonb;
    outcomes jsonb;
    performed integer := 0;
    claimed integer := 0;
    due uuid;
BEGIN
    PERFORM set_config('app.method', 'trigger', true);
    PERFORM set_config('app.user_id', '', true);
    -- Claimed one organisation at a time, the one with the oldest due firing first: a row lock is taken on one
    -- organisation's rows (on Citus, one shard: FOR UPDATE across shards is refused there).
    FOR due IN SELECT f.organisation_id FROM app.trigger_firings f
               WHERE f.status = 'pending' AND f.next_attempt_at <= clock_timestamp()
               GROUP BY f.organisation_id ORDER BY min(f.next_attempt_at) LOOP
        EXIT WHEN claimed >= p_limit;
        FOR firing IN SELECT * FROM app.trigger_firings f
                      WHERE f.organisation_id = due AND f.status = 'pending' AND f.next_attempt_at <= clock_timestamp()
                      ORDER BY f.next_attempt_at, f.created_at LIMIT p_limit - claimed FOR UPDATE SKIP LOCKED LOOP
            claimed := claimed + 1;
            BEGIN
                PERFORM set_config('app.organisation_id', firing.organisation_id::text, true);
                SELECT * INTO rule FROM app.trigger_rules r WHERE r.organisation_id = firing.organisation_id AND r.id = firing.rule_id;
                outcomes := '[]';
                FOR action IN SELECT value FROM jsonb_array_elements(rule.actions) LOOP
                    outcomes := outcomes || app.perform_trigger_action(firing, rule, action);
                END LOOP;
                UPDATE app.trigger_firings SET status = 'done', done_at = clock_timestamp(), attempts = attempts + 1,
                                               results = outcomes, last_error = NULL
                WHERE organisation_id = firing.organisation_id AND id = firing.id;
                performed := performed + 1;
            EXCEPTION WHEN OTHERS THEN
                UPDATE app.trigger_firings SET attempts = attempts + 1, last_error = left(SQLSTATE || ': ' || SQLERRM, 1000),
                    next_attempt_at = clock_timestamp() + least(interval '1 hour', interval '10 seconds' * power(2, attempts))
                WHERE organisation_id = firing.organisation_id AND id = firing.id;
            END;
        END LOOP;
    END LOOP;
    PERFORM set_config('app.organisation_id', '', true);
    RETURN performed;
END
$$;
REVOKE ALL ON FUNCTION app.perform_trigger_firings(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.perform_trigger_firings(integer) TO engagement_app;

CREATE OR REPLACE FUNCTION app.trigger_rule_json(r app.trigger_rules) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object('id', r.id, 'name', r.name, 'event', r.event, 'event_params', r.event_params,
                              'condition', r.condition, 'actions', r.actions, 'enabled', r.enabled,
                              'version', r.version, 'created_at', r.created_at, 'updated_at', r.updated_at)
$$;

CREATE OR REPLACE FUNCTION app.trigger_firing_json(f app.trigger_firings) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object('id', f.id, 'rule_id', f.rule_id, 'engagement_id', f.engagement_id, 'event', f.event,
                              'event_key', f.event_key, 'event_details', f.event_details, 'status', f.status,
                              'attempts', f.attempts, 'next_attempt_at', f.next_attempt_at, 'last_error', f.last_error,
                              'results', coalesce(f.results, '[]'), 'created_at', f.created_at, 'done_at', f.done_at)
$$;

CREATE OR REPLACE FUNCTION api.trigger_rule_paths() RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$ SELECT '{"trigger_rules_name_unique": "name"}'::jsonb $$;

CREATE OR REPLACE FUNCTION api.trigger_rule_create(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    reply jsonb := api.replay('trigger_rule.create', p);
    created app.trigger_rules;
    state text;
    failed_constraint text;
    message text;
BEGIN
    IF reply IS NOT NULL THEN
        RETURN reply;
    END IF;
    INSERT INTO app.trigger_rules (organisation_id, name, event, event_params, condition, actions, enabled, created_by, updated_by)
    VALUES (app.current_organisation_id(), btrim(p ->> 'name'), p ->> 'event', coalesce(p -> 'event_params', '{}'),
            coalesce(p -> 'condition', '{}'), p -> 'actions', coalesce((p ->> 'enabled')::boolean, true),
            app.current_user_id(), app.current_user_id())
    RETURNING * INTO created;
    RETURN api.remember('trigger_rule.create', p, app.trigger_rule_json(created));
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.trigger_rule_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.trigger_rule_paths());
END
$$;

CREATE OR REPLACE FUNCTION api.trigger_rule_get(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    item app.trigger_rules;
BEGIN
    SELECT * INTO item FROM app.trigger_rules WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN app.trigger_rule_json(item);
END
$$;

CREATE OR REPLACE FUNCTION api.trigger_rule_update(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    current_version integer;
    updated app.trigger_rules;
    state text;
    failed_constraint text;
    message text;
BEGIN
    UPDATE app.trigger_rules row SET
        name = coalesce(btrim(p ->> 'name'), row.name),
        event = coalesce(p ->> 'event', row.event),
        event_params = coalesce(p -> 'event_params', CASE WHEN p ? 'event' THEN '{}'::jsonb END, row.event_params),
        condition = coalesce(p -> 'condition', row.condition),
        actions = coalesce(p -> 'actions', row.actions),
        enabled = coalesce((p ->> 'enabled')::boolean, row.enabled)
    WHERE row.id = (p ->> 'id')::uuid AND row.version = (p ->> 'version')::integer
    RETURNING * INTO updated;
    IF NOT FOUND THEN
        SELECT version INTO current_version FROM app.trigger_rules WHERE id = (p ->> 'id')::uuid;
        PERFORM api.refuse_versioned_write((p ->> 'version')::integer, current_version);
    END IF;
    RETURN app.trigger_rule_json(updated);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.trigger_rule_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.trigger_rule_paths());
END
$$;

-- Its firings go with it.
CREATE OR REPLACE FUNCTION api.trigger_rule_delete(p jsonb) RETURNS jsonb
LANGUAGE sql
AS $$ SELECT api.versioned_delete(p, 'app.trigger_rules') $$;

CREATE OR REPLACE FUNCTION api.trigger_rule_list(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN api.list(p, 'app.trigger_rules', 'app.trigger_rule_json',
        $filter$ ($1 ->> 'event' IS NULL OR row.event = $1 ->> 'event') $filter$,
        '{"name": ["name", "text"], "created_at": ["created_at", "timestamptz"]}');
END
$$;

CREATE OR REPLACE FUNCTION api.trigger_firings(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN api.list(p, 'app.trigger_firings', 'app.trigger_firing_json',
        $filter$
            ($1 ->> 'rule_id' IS NULL OR row.rule_id = ($1 ->> 'rule_id')::uuid)
        AND ($1 ->> 'engagement_id' IS NULL OR row.engagement_id = ($1 ->> 'engagement_id')::uuid)
        AND ($1 ->> 'status' IS NULL OR row.status = $1 ->> 'status')
        $filter$,
        '{"created_at": ["created_at", "timestamptz"]}', 'created_at');
END
$$;

REVOKE ALL ON FUNCTION app.perform_trigger_action(app.trigger_firings, app.trigger_rules, jsonb),
    app.trigger_rule_json(app.trigger_rules), app.trigger_firing_json(app.trigger_firings), api.trigger_rule_paths(),
    api.trigger_rule_create(jsonb), api.trigger_rule_get(jsonb), api.trigger_rule_update(jsonb),
    api.trigger_rule_delete(jsonb), api.trigger_rule_list(jsonb), api.trigger_firings(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.trigger_rule_json(app.trigger_rules), app.trigger_firing_json(app.trigger_firings),
    api.trigger_rule_paths(), api.trigger_rule_create(jsonb), api.trigger_rule_get(jsonb), api.trigger_rule_update(jsonb),
    api.trigger_rule_delete(jsonb), api.trigger_rule_list(jsonb), api.trigger_firings(jsonb) TO engagement_app;

-- For DBAs: the rules, and the outbox with its state.
CREATE OR REPLACE VIEW reporting.trigger_rules WITH (security_barrier) AS
SELECT r.id, r.name, r.event, r.event_params, r.condition, r.actions, r.enabled, r.version, r.created_at, r.updated_at
FROM app.trigger_rules r
WHERE r.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.trigger_rules TO engagement_reporting;

CREATE OR REPLACE VIEW reporting.trigger_firings WITH (security_barrier) AS
SELECT f.id, f.rule_id, r.name AS rule_name, f.engagement_id, e.code AS engagement_code, f.event, f.event_key,
       f.event_details, f.status, f.attempts, f.next_attempt_at, f.last_error, f.results, f.created_at, f.done_at
FROM app.trigger_firings f
JOIN app.trigger_rules r ON r.organisation_id = f.organisation_id AND r.id = f.rule_id
JOIN app.engagements e ON e.organisation_id = f.organisation_id AND e.id = f.engagement_id
WHERE f.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.trigger_firings TO engagement_reporting;
