-- Reminders that come up are announced once on the timeline (so subscribers receive them as events); a new due
-- time or snooze announces again. SQL/definitions/0311_reminder_announcements.sql.
ALTER TABLE app.reminders ADD COLUMN announced_at timestamptz;
-- The announcer's queue across organisations (like the trigger outbox's, by time alone).
CREATE INDEX reminders_unannounced ON app.reminders (greatest(due_at, snoozed_until)) WHERE done_at IS NULL AND announced_at IS NULL;
