-- Reminders: a due time on an engagement item (a touchpoint, an action item, a playbook task, the contract's
-- end, the renewal date) or a free one, for one user of the organisation; done or snoozed. Rules, methods and
-- views: SQL/definitions/0310_reminders.sql.
CREATE TABLE app.reminders (
    organisation_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    engagement_id uuid NOT NULL,
    subject_kind text NOT NULL
        CHECK (subject_kind IN ('touchpoint', 'action_item', 'playbook_task', 'contract_end', 'renewal', 'free')),
    -- The touchpoint, action item, task or contract; NULL for renewal and free reminders.
    subject_id uuid,
    title text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 300),
    note text NOT NULL DEFAULT '' CHECK (length(note) <= 4000),
    due_at timestamptz NOT NULL,
    recipient_user_id uuid NOT NULL,
    snoozed_until timestamptz,
    done_at timestamptz,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by uuid,
    PRIMARY KEY (organisation_id, id),
    CONSTRAINT reminders_subject CHECK ((subject_id IS NULL) = (subject_kind IN ('renewal', 'free'))),
    CONSTRAINT reminders_engagement_fk FOREIGN KEY (organisation_id, engagement_id)
        REFERENCES app.engagements (organisation_id, id) ON DELETE CASCADE,
    CONSTRAINT reminders_recipient_fk FOREIGN KEY (organisation_id, recipient_user_id)
        REFERENCES app.users (organisation_id, id) ON DELETE CASCADE
);
-- What is due for a user: open reminders by the time they next come up (due, or the end of a snooze).
CREATE INDEX reminders_due ON app.reminders (organisation_id, recipient_user_id, greatest(due_at, snoozed_until))
    WHERE done_at IS NULL;
CREATE INDEX reminders_by_engagement ON app.reminders (organisation_id, engagement_id, due_at);
CREATE INDEX reminders_by_created ON app.reminders (organisation_id, created_at, id);

ALTER TABLE app.reminders ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.reminders FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, DELETE ON app.reminders TO engagement_app;
GRANT UPDATE (title, note, due_at, recipient_user_id, snoozed_until, done_at) ON app.reminders TO engagement_app;
