-- Announcing reminders: when an open reminder comes up (its due time, or the end of its snooze), a `reminder_due`
-- timeline entry is written for its engagement, naming the recipient in `details`, so subscribers receive it as an
-- event. Each coming-up is announced once; changing the due time or snoozing clears the mark. The server's
-- trigger worker calls app.announce_due_reminders whenever it runs (at least every ENGAGEMENT_TRIGGER_POLL_MS).

CREATE OR REPLACE FUNCTION app.rearm_reminder() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF (NEW.due_at, NEW.snoozed_until) IS DISTINCT FROM (OLD.due_at, OLD.snoozed_until) THEN
        NEW.announced_at := NULL;
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS reminders_rearm ON app.reminders;
CREATE TRIGGER reminders_rearm BEFORE UPDATE ON app.reminders FOR EACH ROW EXECUTE FUNCTION app.rearm_reminder();

-- Announces the reminders of every organisation that came up by p_now; returns how many.
CREATE OR REPLACE FUNCTION app.announce_due_reminders(p_now timestamptz DEFAULT now()) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    announced integer;
BEGIN
    PERFORM set_config('app.method', 'reminder', true);
    WITH due AS (
        UPDATE app.reminders r SET announced_at = p_now
        WHERE r.done_at IS NULL AND r.announced_at IS NULL AND greatest(r.due_at, r.snoozed_until) <= p_now
        RETURNING r.*)
    INSERT INTO app.timeline_entries (organisation_id, engagement_id, entry_type, title, body, entity, entity_id, details)
    SELECT d.organisation_id, d.engagement_id, 'reminder_due', left('Reminder: ' || d.title, 500), d.note, 'reminders', d.id,
           jsonb_build_object('reminder_id', d.id, 'recipient_user_id', d.recipient_user_id, 'subject_kind', d.subject_kind,
                              'subject_id', d.subject_id, 'due_at', greatest(d.due_at, d.snoozed_until))
    FROM due d;
    GET DIAGNOSTICS announced = ROW_COUNT;
    RETURN announced;
END
$$;
REVOKE ALL ON FUNCTION app.announce_due_reminders(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.announce_due_reminders(timestamptz) TO engagement_app;
