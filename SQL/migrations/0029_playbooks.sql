-- Playbooks: ordered steps of guidance ("success cases, internal plays, renewals"); starting one on an engagement
-- instantiates its steps as tasks. Rules, methods and views: SQL/definitions/0220_playbooks.sql.
CREATE TABLE app.playbooks (
    organisation_id uuid NOT NULL REFERENCES app.organisations (id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '',
    -- [{title, owner_role, due_offset_days, stages: [journey stage], bands: [health band]}], in order.
    steps jsonb NOT NULL CHECK (jsonb_typeof(steps) = 'array'),
    archived_at timestamptz,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by uuid,
    PRIMARY KEY (organisation_id, id)
);
CREATE UNIQUE INDEX playbooks_name_unique ON app.playbooks (organisation_id, lower(name));
CREATE INDEX playbooks_by_name ON app.playbooks (organisation_id, name, id);
CREATE INDEX playbooks_by_created ON app.playbooks (organisation_id, created_at, id);

-- One start of a playbook on an engagement.
CREATE TABLE app.playbook_runs (
    organisation_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    playbook_id uuid NOT NULL,
    engagement_id uuid NOT NULL,
    status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'cancelled')),
    started_at timestamptz NOT NULL DEFAULT now(),
    started_by uuid,
    finished_at timestamptz,
    PRIMARY KEY (organisation_id, id),
    CONSTRAINT playbook_runs_playbook_fk FOREIGN KEY (organisation_id, playbook_id) REFERENCES app.playbooks (organisation_id, id),
    CONSTRAINT playbook_runs_engagement_fk FOREIGN KEY (organisation_id, engagement_id)
        REFERENCES app.engagements (organisation_id, id) ON DELETE CASCADE
);
-- At most one running instance of a playbook per engagement.
CREATE UNIQUE INDEX playbook_runs_one_running ON app.playbook_runs (organisation_id, engagement_id, playbook_id)
    WHERE status = 'running';
CREATE INDEX playbook_runs_by_engagement ON app.playbook_runs (organisation_id, engagement_id, started_at);
CREATE INDEX playbook_runs_by_playbook ON app.playbook_runs (organisation_id, playbook_id);

CREATE TABLE app.playbook_tasks (
    organisation_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    run_id uuid NOT NULL,
    position integer NOT NULL CHECK (position >= 0),
    title text NOT NULL,
    owner_role text CHECK (owner_role IN ('viewer', 'member', 'manager', 'admin')),
    owner_user_id uuid,
    due_date date,
    status text NOT NULL DEFAULT 'todo' CHECK (status IN ('todo', 'doing', 'done', 'skipped')),
    done_at timestamptz,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by uuid,
    PRIMARY KEY (organisation_id, id),
    CONSTRAINT playbook_tasks_position_unique UNIQUE (organisation_id, run_id, position),
    CONSTRAINT playbook_tasks_run_fk FOREIGN KEY (organisation_id, run_id)
        REFERENCES app.playbook_runs (organisation_id, id) ON DELETE CASCADE,
    CONSTRAINT playbook_tasks_owner_fk FOREIGN KEY (organisation_id, owner_user_id) REFERENCES app.users (organisation_id, id)
);
CREATE INDEX playbook_tasks_open ON app.playbook_tasks (organisation_id, due_date) WHERE status IN ('todo', 'doing');

ALTER TABLE app.playbooks ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.playbooks FORCE ROW LEVEL SECURITY;
ALTER TABLE app.playbook_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.playbook_runs FORCE ROW LEVEL SECURITY;
ALTER TABLE app.playbook_tasks ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.playbook_tasks FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, DELETE ON app.playbooks TO engagement_app;
GRANT UPDATE (name, description, steps, archived_at) ON app.playbooks TO engagement_app;
GRANT SELECT, INSERT ON app.playbook_runs, app.playbook_tasks TO engagement_app;
GRANT UPDATE (status, finished_at) ON app.playbook_runs TO engagement_app;
GRANT UPDATE (owner_user_id, due_date, status, done_at) ON app.playbook_tasks TO engagement_app;
