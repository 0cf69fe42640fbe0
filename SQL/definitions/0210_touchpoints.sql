-- Touchpoints: scheduled and held interactions with the customer (a per-organisation list of kinds), with
-- attendees, notes, follow-ups, and action items (owner, due date, done). Missed: scheduled, not held, past. An
-- engagement is quiet when nothing was held with its customer for N days ("how frequently your team is engaging").

-- New organisations get the usual kinds (existing ones got them in migration 0028).
CREATE OR REPLACE FUNCTION app.create_touchpoint_kinds() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO app.touchpoint_kinds (organisation_id, name)
    SELECT NEW.id, k FROM unnest(ARRAY['meeting', 'qbr', 'health_check', 'support', 'renewal_discussion']) AS k;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION app.create_touchpoint_kinds() FROM PUBLIC;
DROP TRIGGER IF EXISTS organisations_touchpoint_kinds ON app.organisations;
CREATE TRIGGER organisations_touchpoint_kinds AFTER INSERT ON app.organisations
    FOR EACH ROW EXECUTE FUNCTION app.create_touchpoint_kinds();

-- A touchpoint happens within its engagement's dates (when it has them), and follows up one of the same
-- engagement. EV errors name the param.
CREATE OR REPLACE FUNCTION app.check_touchpoint() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    engagement app.engagements;
BEGIN
    SELECT * INTO engagement FROM app.engagements WHERE organisation_id = NEW.organisation_id AND id = NEW.engagement_id;
    IF FOUND THEN
        IF (NEW.scheduled_at::date < engagement.start_date OR NEW.scheduled_at::date > engagement.end_date) THEN
            RAISE EXCEPTION 'is outside the engagement''s dates' USING ERRCODE = 'EV020', COLUMN = 'scheduled_at';
        END IF;
        IF (NEW.held_at::date < engagement.start_date OR NEW.held_at::date > engagement.end_date) THEN
            RAISE EXCEPTION 'is outside the engagement''s dates' USING ERRCODE = 'EV020', COLUMN = 'held_at';
        END IF;
    END IF;
    IF NEW.follow_up_of IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.follow_up_of IS DISTINCT FROM OLD.follow_up_of) THEN
        PERFORM FROM app.touchpoints
        WHERE organisation_id = NEW.organisation_id AND id = NEW.follow_up_of AND engagement_id = NEW.engagement_id
          AND id <> NEW.id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'is not another touchpoint of this engagement' USING ERRCODE = 'EV021', COLUMN = 'follow_up_of';
        END IF;
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS touchpoints_check ON app.touchpoints;
CREATE TRIGGER touchpoints_check BEFORE INSERT OR UPDATE ON app.touchpoints FOR EACH ROW EXECUTE FUNCTION app.check_touchpoint();
DROP TRIGGER IF EXISTS touchpoints_touch ON app.touchpoints;
CREATE TRIGGER touchpoints_touch BEFORE UPDATE ON app.touchpoints FOR EACH ROW EXECUTE FUNCTION app.touch();
DROP TRIGGER IF EXISTS touchpoints_audit ON app.touchpoints;
CREATE TRIGGER touchpoints_audit AFTER INSERT OR UPDATE OR DELETE ON app.touchpoints FOR EACH ROW EXECUTE FUNCTION app.audit();
DROP TRIGGER IF EXISTS action_items_touch ON app.action_items;
CREATE TRIGGER action_items_touch BEFORE UPDATE ON app.action_items FOR EACH ROW EXECUTE FUNCTION app.touch();
DROP TRIGGER IF EXISTS action_items_audit ON app.action_items;
CREATE TRIGGER action_items_audit AFTER INSERT OR UPDATE OR DELETE ON app.action_items FOR EACH ROW EXECUTE FUNCTION app.audit();

CREATE OR REPLACE FUNCTION app.action_item_json(a app.action_items) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object(
        'id', a.id, 'touchpoint_id', a.touchpoint_id,
        'engagement_id', (SELECT t.engagement_id FROM app.touchpoints t
                          WHERE t.organisation_id = a.organisation_id AND t.id = a.touchpoint_id),
        'title', a.title, 'owner_user_id', a.owner_user_id, 'due_date', a.due_date, 'done', a.done_at IS NOT NULL,
        'done_at', a.done_at, 'overdue', a.done_at IS NULL AND coalesce(a.due_date < current_date, false),
        'version', a.version, 'created_at', a.created_at, 'updated_at', a.updated_at)
$$;

CREATE OR REPLACE FUNCTION app.touchpoint_json(t app.touchpoints) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object(
        'id', t.id, 'engagement_id', t.engagement_id, 'kind', t.kind, 'title', t.title,
        'scheduled_at', t.scheduled_at, 'held_at', t.held_at,
        'missed', t.held_at IS NULL AND coalesce(t.scheduled_at < now(), false),
        'attendees', t.attendees, 'notes', t.notes, 'follow_up_of', t.follow_up_of,
        'follow_ups', coalesce((SELECT jsonb_agg(f.id ORDER BY coalesce(f.held_at, f.scheduled_at), f.id) FROM app.touchpoints f
                                WHERE f.organisation_id = t.organisation_id AND f.follow_up_of = t.id), '[]'::jsonb),
        'action_items', coalesce((SELECT jsonb_agg(app.action_item_json(a) ORDER BY a.created_at, a.id) FROM app.action_items a
                                  WHERE a.organisation_id = t.organisation_id AND a.touchpoint_id = t.id), '[]'::jsonb),
        'version', t.version, 'created_at', t.created_at, 'updated_at', t.updated_at)
$$;

CREATE OR REPLACE FUNCTION api.touchpoint_paths() RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT '{"touchpoints_engagement_fk": "engagement_id", "touchpoints_kind_fk": "kind",
             "touchpoints_follow_up_fk": "follow_up_of", "touchpoints_when": "scheduled_at",
             "action_items_owner_fk": "owner_user_id", "touchpoint_kinds_pkey": "name"}'::jsonb
$$;

-- An action item of a touchpoint; `p_path` is where the item's params are (`action_items[2].` or ``).
CREATE OR REPLACE FUNCTION api.add_action_item(p_touchpoint app.touchpoints, p_item jsonb, p_path text) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF p_item ->> 'owner_user_id' IS NOT NULL AND NOT EXISTS (
        SELECT FROM app.users WHERE id = (p_item ->> 'owner_user_id')::uuid) THEN
        PERFORM api.invalid_param(p_path || 'owner_user_id', 'does not exist');
    END IF;
    INSERT INTO app.action_items (organisation_id, touchpoint_id, title, owner_user_id, due_date, created_by, updated_by)
    VALUES (p_touchpoint.organisation_id, p_touchpoint.id, btrim(p_item ->> 'title'), (p_item ->> 'owner_user_id')::uuid,
            (p_item ->> 'due_date')::date, app.current_user_id(), app.current_user_id());
END
$$;

CREATE OR REPLACE FUNCTION api.touchpoint_create(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    reply jsonb := api.replay('touchpoint.create', p);
    created app.touchpoints;
    item_index integer := 0;
    state text;
    failed_constraint text;
    message text;
BEGIN
    IF reply IS NOT NULL THEN
        RETURN reply;
    END IF;
    INSERT INTO app.touchpoints (organisation_id, engagement_id, kind, title, scheduled_at, held_at, attendees, notes,
                                 follow_up_of, created_by, updated_by)
    VALUES (app.current_organisation_id(), (p ->> 'engagement_id')::uuid, p ->> 'kind', btrim(p ->> 'title'),
            (p ->> 'scheduled_at')::timestamptz, (p ->> 'held_at')::timestamptz, coalesce(p -> 'attendees', '[]'),
            coalesce(p ->> 'notes', ''), (p ->> 'follow_up_of')::uuid, app.current_user_id(), app.current_user_id())
    RETURNING * INTO created;
    WHILE item_index < coalesce(jsonb_array_length(p -> 'action_items'), 0) LOOP
        PERFORM api.add_action_item(created, p -> 'action_items' -> item_index, format('action_items[%s].', item_index));
        item_index := item_index + 1;
    END LOOP;
    RETURN api.remember('touchpoint.create', p, app.touchpoint_json(created));
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.touchpoint_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.touchpoint_paths());
END
$$;

CREATE OR REPLACE FUNCTION api.touchpoint_get(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    item app.touchpoints;
BEGIN
    SELECT * INTO item FROM app.touchpoints WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN app.touchpoint_json(item);
END
$$;

-- Absent fields stay; scheduled_at, held_at and follow_up_of: null clears them (a touchpoint keeps one of the
-- two times).
CREATE OR REPLACE FUNCTION api.touchpoint_update(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_held_at timestamptz := (p ->> 'held_at')::timestamptz;
    v_scheduled_at timestamptz := (p ->> 'scheduled_at')::timestamptz;
    current_version integer;
    updated app.touchpoints;
    state text;
    failed_constraint text;
    message text;
BEGIN
    UPDATE app.touchpoints row SET
        kind = coalesce(p ->> 'kind', row.kind),
        title = coalesce(btrim(p ->> 'title'), row.title),
        scheduled_at = CASE WHEN p ? 'scheduled_at' THEN v_scheduled_at ELSE row.scheduled_at END,
        held_at = CASE WHEN p ? 'held_at' THEN v_held_at ELSE row.held_at END,
        attendees = coalesce(p -> 'attendees', row.attendees),
        notes = coalesce(p ->> 'notes', row.notes),
        follow_up_of = CASE WHEN p ? 'follow_up_of' THEN (p ->> 'follow_up_of')::uuid ELSE row.follow_up_of END
    WHERE row.id = (p ->> 'id')::uuid AND row.version = (p ->> 'version')::integer
    RETURNING * INTO updated;
    IF NOT FOUND THEN
        SELECT version INTO current_version FROM app.touchpoints WHERE id = (p ->> 'id')::uuid;
        PERFORM api.refuse_versioned_write((p ->> 'version')::integer, current_version);
    END IF;
    RETURN app.touchpoint_json(updated);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.touchpoint_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.touchpoint_paths());
END
$$;

-- With its action items; its follow-ups stay (no longer following up).
CREATE OR REPLACE FUNCTION api.touchpoint_delete(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN api.versioned_delete(p, 'app.touchpoints');
END
$$;

-- Sorted by creation time (default) or title, like every list; order desc for the newest first.
CREATE OR REPLACE FUNCTION api.touchpoint_list(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN api.list(p, 'app.touchpoints', 'app.touchpoint_json',
        $filter$
            ($1 ->> 'engagement_id' IS NULL OR row.engagement_id = ($1 ->> 'engagement_id')::uuid)
        AND ($1 ->> 'kind' IS NULL OR row.kind = $1 ->> 'kind')
        AND ($1 ->> 'from' IS NULL OR coalesce(row.held_at, row.scheduled_at) >= ($1 ->> 'from')::timestamptz)
        AND ($1 ->> 'to' IS NULL OR coalesce(row.held_at, row.scheduled_at) <= ($1 ->> 'to')::timestamptz)
        AND (NOT coalesce(($1 ->> 'missed')::boolean, false) OR (row.held_at IS NULL AND row.scheduled_at < now()))
        $filter$,
        '{"name": ["title", "text"], "created_at": ["created_at", "timestamptz"]}', 'created_at');
END
$$;

CREATE OR REPLACE FUNCTION api.touchpoint_kinds(p jsonb) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT coalesce(jsonb_agg(name ORDER BY name), '[]'::jsonb) FROM app.touchpoint_kinds
    WHERE organisation_id = app.current_organisation_id()
$$;

CREATE OR REPLACE FUNCTION api.touchpoint_add_kind(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    state text;
    failed_constraint text;
    message text;
BEGIN
    INSERT INTO app.touchpoint_kinds (organisation_id, name) VALUES (app.current_organisation_id(), p ->> 'name');
    RETURN api.touchpoint_kinds(p);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.touchpoint_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.touchpoint_paths());
END
$$;

CREATE OR REPLACE FUNCTION api.action_item_add(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    reply jsonb := api.replay('action_item.add', p);
    touchpoint app.touchpoints;
    added app.action_items;
BEGIN
    IF reply IS NOT NULL THEN
        RETURN reply;
    END IF;
    SELECT * INTO touchpoint FROM app.touchpoints WHERE id = (p ->> 'touchpoint_id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    PERFORM api.add_action_item(touchpoint, p, '');
    SELECT * INTO added FROM app.action_items WHERE touchpoint_id = touchpoint.id ORDER BY created_at DESC, id LIMIT 1;
    RETURN api.remember('action_item.add', p, app.action_item_json(added));
END
$$;

-- Absent fields stay; owner and due date: null clears them; done: true stamps done_at, false reopens.
CREATE OR REPLACE FUNCTION api.action_item_update(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_due_date date := (p ->> 'due_date')::date;
    v_now timestamptz := now();
    current_version integer;
    updated app.action_items;
    state text;
    failed_constraint text;
    message text;
BEGIN
    UPDATE app.action_items row SET
        title = coalesce(btrim(p ->> 'title'), row.title),
        owner_user_id = CASE WHEN p ? 'owner_user_id' THEN (p ->> 'owner_user_id')::uuid ELSE row.owner_user_id END,
        due_date = CASE WHEN p ? 'due_date' THEN v_due_date ELSE row.due_date END,
        done_at = CASE WHEN NOT p ? 'done' THEN row.done_at
                       WHEN (p ->> 'done')::boolean THEN coalesce(row.done_at, v_now) END
    WHERE row.id = (p ->> 'id')::uuid AND row.version = (p ->> 'version')::integer
    RETURNING * INTO updated;
    IF NOT FOUND THEN
        SELECT version INTO current_version FROM app.action_items WHERE id = (p ->> 'id')::uuid;
        PERFORM api.refuse_versioned_write((p ->> 'version')::integer, current_version);
    END IF;
    RETURN app.action_item_json(updated);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.touchpoint_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.touchpoint_paths());
END
$$;

-- Open, overdue (open and past due), by owner or engagement.
CREATE OR REPLACE FUNCTION api.action_item_list(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN api.list(p, 'app.action_items', 'app.action_item_json',
        $filter$
            ($1 ->> 'engagement_id' IS NULL OR EXISTS (
                SELECT FROM app.touchpoints t WHERE t.organisation_id = row.organisation_id AND t.id = row.touchpoint_id
                  AND t.engagement_id = ($1 ->> 'engagement_id')::uuid))
        AND ($1 ->> 'owner_user_id' IS NULL OR row.owner_user_id = ($1 ->> 'owner_user_id')::uuid)
        AND (NOT coalesce(($1 ->> 'open')::boolean, false) OR row.done_at IS NULL)
        AND (NOT coalesce(($1 ->> 'overdue')::boolean, false) OR (row.done_at IS NULL AND row.due_date < current_date))
        $filter$,
        '{"name": ["title", "text"], "created_at": ["created_at", "timestamptz"]}', 'created_at');
END
$$;

-- engagement.quiet: active and on-hold engagements with no touchpoint held in the last `days` days, the longest
-- quiet first.
CREATE OR REPLACE FUNCTION api.engagement_quiet(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN coalesce((
        SELECT jsonb_agg(jsonb_build_object('id', q.id, 'code', q.code, 'name', q.name, 'status', q.status,
                                            'last_held_at', q.last_held_at) ORDER BY q.last_held_at NULLS FIRST, q.code)
        FROM (
            SELECT e.id, e.code, e.name, e.status,
                   (SELECT max(t.held_at) FROM app.touchpoints t
                    WHERE t.organisation_id = e.organisation_id AND t.engagement_id = e.id) AS last_held_at
            FROM app.engagements e
            WHERE e.organisation_id = app.current_organisation_id() AND e.status IN ('active', 'on_hold')) q
        WHERE q.last_held_at IS NULL OR q.last_held_at < now() - make_interval(days => (p ->> 'days')::integer)),
        '[]'::jsonb);
END
$$;

REVOKE ALL ON FUNCTION app.action_item_json(app.action_items), app.touchpoint_json(app.touchpoints),
    api.touchpoint_paths(), api.add_action_item(app.touchpoints, jsonb, text), api.touchpoint_create(jsonb),
    api.touchpoint_get(jsonb), api.touchpoint_update(jsonb), api.touchpoint_delete(jsonb), api.touchpoint_list(jsonb),
    api.touchpoint_kinds(jsonb), api.touchpoint_add_kind(jsonb), api.action_item_add(jsonb), api.action_item_update(jsonb),
    api.action_item_list(jsonb), api.engagement_quiet(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.action_item_json(app.action_items), app.touchpoint_json(app.touchpoints),
    api.touchpoint_paths(), api.add_action_item(app.touchpoints, jsonb, text), api.touchpoint_create(jsonb),
    api.touchpoint_get(jsonb), api.touchpoint_update(jsonb), api.touchpoint_delete(jsonb), api.touchpoint_list(jsonb),
    api.touchpoint_kinds(jsonb), api.touchpoint_add_kind(jsonb), api.action_item_add(jsonb), api.action_item_update(jsonb),
    api.action_item_list(jsonb), api.engagement_quiet(jsonb) TO engagement_app;

-- For DBAs.
CREATE OR REPLACE VIEW reporting.touchpoints WITH (security_barrier) AS
SELECT t.id, t.engagement_id, e.code AS engagement_code, t.kind, t.title, t.scheduled_at, t.held_at,
       t.held_at IS NULL AND coalesce(t.scheduled_at < now(), false) AS missed, t.attendees, t.notes, t.follow_up_of,
       t.version, t.created_at, t.updated_at
FROM app.touchpoints t
JOIN app.engagements e ON e.organisation_id = t.organisation_id AND e.id = t.engagement_id
WHERE t.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.touchpoints TO engagement_reporting;

CREATE OR REPLACE VIEW reporting.action_items WITH (security_barrier) AS
SELECT a.id, a.touchpoint_id, t.title AS touchpoint_title, t.engagement_id, e.code AS engagement_code, a.title,
       a.owner_user_id, u.email AS owner_email, a.due_date, a.done_at,
       a.done_at IS NULL AND coalesce(a.due_date < current_date, false) AS overdue, a.created_at, a.updated_at
FROM app.action_items a
JOIN app.touchpoints t ON t.organisation_id = a.organisation_id AND t.id = a.touchpoint_id
JOIN app.engagements e ON e.organisation_id = a.organisation_id AND e.id = t.engagement_id
LEFT JOIN app.users u ON u.organisation_id = a.organisation_id AND u.id = a.owner_user_id
WHERE a.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.action_items TO engagement_reporting;
