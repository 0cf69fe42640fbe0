-- Reminders: a due time for one user on an engagement item or a free one. The item must belong to the
-- engagement (EV050 names subject_id); defaults come from the item: its title, and its due time (a touchpoint a
-- day before it is scheduled, an action item or task on its due date, the contract's end and the renewal date
-- `days_before` ahead, 30 and 60 by default). A reminder comes up at its due time, or at the end of its snooze;
-- reminder.due lists the caller's that have come up. psql writes obey the same rules.

CREATE OR REPLACE FUNCTION app.check_reminder() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF (TG_OP = 'INSERT' AND NOT CASE NEW.subject_kind
        WHEN 'touchpoint' THEN EXISTS (
            SELECT FROM app.touchpoints t WHERE t.organisation_id = NEW.organisation_id AND t.id = NEW.subject_id
              AND t.engagement_id = NEW.engagement_id)
        WHEN 'action_item' THEN EXISTS (
            SELECT FROM app.action_items a JOIN app.touchpoints t ON t.organisation_id = a.organisation_id AND t.id = a.touchpoint_id
            WHERE a.organisation_id = NEW.organisation_id AND a.id = NEW.subject_id AND t.engagement_id = NEW.engagement_id)
        WHEN 'playbook_task' THEN EXISTS (
            SELECT FROM app.playbook_tasks k JOIN app.playbook_runs r ON r.organisation_id = k.organisation_id AND r.id = k.run_id
            WHERE k.organisation_id = NEW.organisation_id AND k.id = NEW.subject_id AND r.engagement_id = NEW.engagement_id)
        WHEN 'contract_end' THEN EXISTS (
            SELECT FROM app.engagements e WHERE e.organisation_id = NEW.organisation_id AND e.id = NEW.engagement_id
              AND e.contract_id = NEW.subject_id)
        ELSE true END) THEN
        RAISE EXCEPTION 'is not a % of this engagement', replace(NEW.subject_kind, '_', ' ')
            USING ERRCODE = 'EV050', COLUMN = 'subject_id';
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS reminders_check ON app.reminders;
CREATE TRIGGER reminders_check BEFORE INSERT ON app.reminders FOR EACH ROW EXECUTE FUNCTION app.check_reminder();
DROP TRIGGER IF EXISTS reminders_touch ON app.reminders;
-- Announcing a reminder (announced_at, 0311) is not an edit: it leaves the version the client holds alone. Any
-- other change is one (compared as whole rows, so a column added later counts without touching this).
CREATE TRIGGER reminders_touch BEFORE UPDATE ON app.reminders FOR EACH ROW
    WHEN ((to_jsonb(OLD) - 'announced_at') IS DISTINCT FROM (to_jsonb(NEW) - 'announced_at'))
    EXECUTE FUNCTION app.touch();
DROP TRIGGER IF EXISTS reminders_audit ON app.reminders;
CREATE TRIGGER reminders_audit AFTER INSERT OR UPDATE OR DELETE ON app.reminders FOR EACH ROW EXECUTE FUNCTION app.audit();

CREATE OR REPLACE FUNCTION app.reminder_json(r app.reminders) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object(
        'id', r.id, 'engagement_id', r.engagement_id, 'subject_kind', r.subject_kind, 'subject_id', r.subject_id,
        'title', r.title, 'note', r.note, 'due_at', r.due_at, 'recipient_user_id', r.recipient_user_id,
        'snoozed_until', r.snoozed_until, 'done_at', r.done_at,
        'comes_up_at', greatest(r.due_at, r.snoozed_until),
        'state', CASE WHEN r.done_at IS NOT NULL THEN 'done'
                      WHEN greatest(r.due_at, r.snoozed_until) <= now() THEN 'due'
                      WHEN r.snoozed_until IS NOT NULL THEN 'snoozed' ELSE 'upcoming' END,
        'version', r.version, 'created_at', r.created_at, 'updated_at', r.updated_at)
$$;

CREATE OR REPLACE FUNCTION api.reminder_paths() RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT '{"reminders_recipient_fk": "recipient_user_id", "reminders_engagement_fk": "engagement_id",
             "reminders_subject": "subject_id"}'::jsonb
$$;

CREATE OR REPLACE FUNCTION api.reminder_create(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    engagement app.engagements := api.engagement_of(p);
    reply jsonb := api.replay('reminder.create', p);
    kind constant text := p ->> 'subject_kind';
    subject uuid := (p ->> 'subject_id')::uuid;
    days_before constant integer := (p ->> 'days_before')::integer;
    default_title text;
    default_due timestamptz;
    created app.reminders;
    state text;
    failed_constraint text;
    message text;
BEGIN
    IF reply IS NOT NULL THEN
        RETURN reply;
    END IF;
    IF kind IN ('touchpoint', 'action_item', 'playbook_task') AND subject IS NULL THEN
        PERFORM api.invalid_param('subject_id', 'is required for a ' || replace(kind, '_', ' ') || ' reminder');
    END IF;
    IF kind IN ('renewal', 'free') AND subject IS NOT NULL THEN
        PERFORM api.invalid_param('subject_id', 'is not taken by a ' || kind || ' reminder');
    END IF;
    CASE kind
    WHEN 'touchpoint' THEN
        SELECT t.title, t.scheduled_at - interval '1 day' INTO default_title, default_due FROM app.touchpoints t
        WHERE t.id = subject AND t.engagement_id = engagement.id;
    WHEN 'action_item' THEN
        SELECT 'Action item: ' || a.title, a.due_date::timestamptz INTO default_title, default_due
        FROM app.action_items a JOIN app.touchpoints t ON t.organisation_id = a.organisation_id AND t.id = a.touchpoint_id
        WHERE a.id = subject AND t.engagement_id = engagement.id;
    WHEN 'playbook_task' THEN
        SELECT 'Task: ' || k.title, k.due_date::timestamptz INTO default_title, default_due
        FROM app.playbook_tasks k JOIN app.playbook_runs r ON r.organisation_id = k.organisation_id AND r.id = k.run_id
        WHERE k.id = subject AND r.engagement_id = engagement.id;
    WHEN 'contract_end' THEN
        subject := coalesce(subject, engagement.contract_id);
        IF subject IS NULL THEN
            PERFORM api.invalid_param('subject_kind', 'the engagement has no contract');
        END IF;
        SELECT format('Contract %s ends on %s', k.reference, k.end_date),
               k.end_date::timestamptz - make_interval(days => coalesce(days_before, 30))
        INTO default_title, default_due FROM app.contracts k WHERE k.id = subject;
    WHEN 'renewal' THEN
        default_title := format('Renewal of %s (ends on %s)', engagement.code, engagement.end_date);
        default_due := engagement.end_date::timestamptz - make_interval(days => coalesce(days_before, 60));
    ELSE
        NULL;
    END CASE;
    IF kind IN ('touchpoint', 'action_item', 'playbook_task') AND default_title IS NULL THEN
        PERFORM api.invalid_param('subject_id', 'is not a ' || replace(kind, '_', ' ') || ' of this engagement');
    END IF;
    IF p ->> 'due_at' IS NULL AND default_due IS NULL THEN
        PERFORM api.invalid_param('due_at', 'is required: the ' || replace(kind, '_', ' ') || ' gives no date');
    END IF;
    IF p ->> 'title' IS NULL AND default_title IS NULL THEN
        PERFORM api.invalid_param('title', 'is required for a free reminder');
    END IF;
    INSERT INTO app.reminders (organisation_id, engagement_id, subject_kind, subject_id, title, note, due_at,
                               recipient_user_id, created_by, updated_by)
    VALUES (engagement.organisation_id, engagement.id, kind, subject, coalesce(btrim(p ->> 'title'), default_title),
            coalesce(p ->> 'note', ''), coalesce((p ->> 'due_at')::timestamptz, default_due),
            coalesce((p ->> 'recipient_user_id')::uuid, app.current_user_id()), app.current_user_id(), app.current_user_id())
    RETURNING * INTO created;
    RETURN api.remember('reminder.create', p, app.reminder_json(created));
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.reminder_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.reminder_paths());
END
$$;

CREATE OR REPLACE FUNCTION api.reminder_get(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    item app.reminders;
BEGIN
    SELECT * INTO item FROM app.reminders WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN app.reminder_json(item);
END
$$;

-- Absent fields stay; done: true stamps done_at (false reopens); snoozed_until: null wakes it.
CREATE OR REPLACE FUNCTION api.reminder_update(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_due_at timestamptz := (p ->> 'due_at')::timestamptz;
    v_now timestamptz := now();
    v_snoozed_until timestamptz := (p ->> 'snoozed_until')::timestamptz;
    current_version integer;
    updated app.reminders;
    state text;
    failed_constraint text;
    message text;
BEGIN
    IF (p ->> 'snoozed_until')::timestamptz <= now() THEN
        PERFORM api.invalid_param('snoozed_until', 'must be in the future');
    END IF;
    UPDATE app.reminders row SET
        title = coalesce(btrim(p ->> 'title'), row.title),
        note = coalesce(p ->> 'note', row.note),
        due_at = coalesce(v_due_at, row.due_at),
        recipient_user_id = coalesce((p ->> 'recipient_user_id')::uuid, row.recipient_user_id),
        snoozed_until = CASE WHEN p ? 'snoozed_until' THEN v_snoozed_until ELSE row.snoozed_until END,
        done_at = CASE WHEN NOT p ? 'done' THEN row.done_at
                       WHEN (p ->> 'done')::boolean THEN coalesce(row.done_at, v_now) END
    WHERE row.id = (p ->> 'id')::uuid AND row.version = (p ->> 'version')::integer
    RETURNING * INTO updated;
    IF NOT FOUND THEN
        SELECT version INTO current_version FROM app.reminders WHERE id = (p ->> 'id')::uuid;
        PERFORM api.refuse_versioned_write((p ->> 'version')::integer, current_version);
    END IF;
    RETURN app.reminder_json(updated);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.reminder_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.reminder_paths());
END
$$;

CREATE OR REPLACE FUNCTION api.reminder_delete(p jsonb) RETURNS jsonb
LANGUAGE sql
AS $$ SELECT api.versioned_delete(p, 'app.reminders') $$;

CREATE OR REPLACE FUNCTION api.reminder_list(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN api.list(p, 'app.reminders', 'app.reminder_json',
        $filter$
            ($1 ->> 'engagement_id' IS NULL OR row.engagement_id = ($1 ->> 'engagement_id')::uuid)
        AND ($1 ->> 'recipient_user_id' IS NULL OR row.recipient_user_id = ($1 ->> 'recipient_user_id')::uuid)
        AND (NOT coalesce(($1 ->> 'open')::boolean, false) OR row.done_at IS NULL)
        $filter$,
        '{"name": ["title", "text"], "created_at": ["created_at", "timestamptz"]}', 'created_at');
END
$$;

-- The caller's open reminders that have come up by `until` (default now), soonest first.
CREATE OR REPLACE FUNCTION api.reminder_due(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN (
        SELECT coalesce(jsonb_agg(app.reminder_json(r) ORDER BY greatest(r.due_at, r.snoozed_until), r.id), '[]')
        FROM (SELECT * FROM app.reminders r
              WHERE r.organisation_id = (SELECT app.current_organisation_id()) AND r.recipient_user_id = app.current_user_id()
                AND r.done_at IS NULL
                AND greatest(r.due_at, r.snoozed_until) <= coalesce((p ->> 'until')::timestamptz, now())
              ORDER BY greatest(r.due_at, r.snoozed_until), r.id
              LIMIT 200) r);
END
$$;

REVOKE ALL ON FUNCTION app.reminder_json(app.reminders), api.reminder_paths(), api.reminder_create(jsonb),
    api.reminder_get(jsonb), api.reminder_update(jsonb), api.reminder_delete(jsonb), api.reminder_list(jsonb),
    api.reminder_due(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.reminder_json(app.reminders), api.reminder_paths(), api.reminder_create(jsonb),
    api.reminder_get(jsonb), api.reminder_update(jsonb), api.reminder_delete(jsonb), api.reminder_list(jsonb),
    api.reminder_due(jsonb) TO engagement_app;

-- For DBAs.
CREATE OR REPLACE VIEW reporting.reminders WITH (security_barrier) AS
SELECT r.id, r.engagement_id, e.code AS engagement_code, r.subject_kind, r.subject_id, r.title, r.note, r.due_at,
       r.recipient_user_id, u.email AS recipient_email, r.snoozed_until, r.done_at,
       greatest(r.due_at, r.snoozed_until) AS comes_up_at,
       r.done_at IS NULL AND greatest(r.due_at, r.snoozed_until) <= now() AS due, r.created_at, r.updated_at,
       r.announced_at
FROM app.reminders r
JOIN app.engagements e ON e.organisation_id = r.organisation_id AND e.id = r.engagement_id
LEFT JOIN app.users u ON u.organisation_id = r.organisation_id AND u.id = r.recipient_user_id
WHERE r.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.reminders TO engagement_reporting;
